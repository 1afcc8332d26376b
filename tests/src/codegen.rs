//! The generator: what it writes for every schema (snapshotted here, and compiled in
//! `crate::fixtures` or kling-types), what it refuses and how it says so, and whether
//! the checked-in code is fresh.

use std::path::Path;

use xtask::codegen::{self, Mode};

/// The path of a file relative to the workspace root, as the generator names files.
fn relative(path: &Path) -> String {
    let root = codegen::workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Snapshots `text` under the file's name, so that adding a schema never renames the
/// snapshot of another (insta's glob drops the name when one file matches).
macro_rules! assert_snapshot_of_file {
    ($path:expr, $text:expr) => {
        let name = $path.file_name().unwrap().to_string_lossy().into_owned();
        insta::with_settings!({ snapshot_suffix => name }, { insta::assert_snapshot!($text) });
    };
}

/// Generates the file for the schema at `path`, checking what every generated file must be.
#[track_caller]
fn generated(
    path: &Path,
    generate: fn(&str, &str, &str) -> Result<String, codegen::SchemaError>,
    runtime: &str,
) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let code = generate(&relative(path), &text, runtime).unwrap_or_else(|error| panic!("{error}"));
    assert!(
        code.starts_with("// @generated from "),
        "every generated file opens with its @generated header"
    );
    assert_eq!(
        generate(&relative(path), &text, runtime).unwrap(),
        code,
        "output must be deterministic"
    );
    code
}

#[test]
fn checked_in_generated_code_is_fresh() {
    if let Err(error) = codegen::run(Mode::Check) {
        panic!("{error}");
    }
}

#[test]
fn kling_types_models() {
    insta::glob!("../../schema", "models/*.json", |path| {
        assert_snapshot_of_file!(path, generated(path, codegen::generate_model, "crate"));
    });
}

#[test]
fn kling_types_wire_types() {
    insta::glob!("../../schema", "api/*.json", |path| {
        assert_snapshot_of_file!(path, generated(path, codegen::generate_api, "crate"));
    });
}

#[test]
fn fixture_models() {
    insta::glob!("../fixtures", "schemas/*.json", |path| {
        assert_snapshot_of_file!(
            path,
            generated(path, codegen::generate_model, "kling_types")
        );
    });
}

/// Each file under `fixtures/broken/` breaks one rule of the dialect; the generator must
/// refuse it, naming the file, the JSON pointer and what to do.
#[test]
fn broken_schemas_are_refused_with_a_fix() {
    insta::glob!("../fixtures", "broken/*.json", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let file = relative(path);
        let api = path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("api-"));
        let generate = if api {
            codegen::generate_api
        } else {
            codegen::generate_model
        };
        let error = match generate(&file, &text, "kling_types") {
            Ok(_) => panic!("{file} was accepted, but it breaks the dialect"),
            Err(error) => error,
        };
        assert_eq!(error.file, file);
        assert!(
            error.help.len() > 10,
            "{file}: the error must say what to do"
        );
        assert_snapshot_of_file!(path, error.to_string());
    });
}

/// A schema with only standard draft-07 keywords (and `x-model-id`) needs no extension.
#[test]
fn standard_draft_07_needs_no_extension() {
    let schema = r#"{
        "$schema": "http://json-schema.org/draft-07/schema#",
        "x-model-id": "model_minimal",
        "type": "object",
        "required": ["prompt"],
        "properties": {
            "prompt": {"type": "string", "maxLength": 10},
            "size": {"type": "string", "enum": ["small", "large", "x-large", "2:1"]},
            "steps": {"type": "integer", "enum": [10, 20]}
        }
    }"#;
    let code = codegen::generate_model("minimal.json", schema, "kling_types").unwrap();
    for expected in [
        "pub struct MinimalRequest",
        "Small,",
        "XLarge,",
        "V2_1,",
        "V10,",
        "fn validate(",
    ] {
        assert!(code.contains(expected), "missing `{expected}` in:\n{code}");
    }
}
