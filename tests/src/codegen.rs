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

/// A model that exists nowhere else: added by the test below as a maintainer would.
const NEW_MODEL: &str = r#"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "x-model-id": "model_fixture-hyper",
  "title": "Fixture Hyper",
  "description": "A model added by a test, to prove a new model costs one file.",
  "type": "object",
  "additionalProperties": false,
  "required": ["prompt"],
  "properties": {
    "prompt": { "type": "string", "description": "What to film.", "minLength": 1, "maxLength": 300 },
    "seed": { "type": "integer", "description": "Fixes the randomness.", "minimum": 0, "maximum": 4294967295 },
    "style": { "type": "string", "description": "The look.", "enum": ["noir", "pastel"], "default": "noir" },
    "loop": { "type": "boolean", "description": "End where it starts." }
  }
}
"#;

/// Copies `from` into `to`, writing only files whose content differs (so that a rerun
/// rebuilds only what changed) and deleting files `from` no longer has.
fn sync_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let mut kept = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        kept.insert(name.clone());
        let (source, target) = (entry.path(), to.join(&name));
        if entry.file_type().unwrap().is_dir() {
            sync_tree(&source, &target);
        } else {
            let bytes = std::fs::read(&source).unwrap();
            if std::fs::read(&target).ok().as_deref() != Some(&bytes[..]) {
                std::fs::write(&target, bytes).unwrap();
            }
        }
    }
    for entry in std::fs::read_dir(to).unwrap() {
        let entry = entry.unwrap();
        if !kept.contains(&entry.file_name()) {
            let path = entry.path();
            if path.is_dir() {
                std::fs::remove_dir_all(path).unwrap()
            } else {
                std::fs::remove_file(path).unwrap()
            }
        }
    }
}

/// The corpus models (`tests/fixtures/import/NAME.json`, imported into
/// `tests/fixtures/schemas/model_NAME.json`) that a maintainer would add the same way.
const CORPUS: [&str; 4] = [
    "corpus-video-edit",
    "corpus-lora-image",
    "corpus-reserved-names",
    "corpus-storyboard",
];

/// Adding a schema under `schema/models/` and running `cargo xtask codegen` is all it
/// takes: typed requests, validation, a registry entry and `kling generate --model` flags,
/// with no hand-written code. Proven on a copy of the workspace (built offline into its
/// own target folder, which stays between runs so that reruns are incremental).
#[test]
fn a_new_model_costs_one_file() {
    let root = codegen::workspace_root();
    let base = root.join("target").join("new-model");
    let copy = base.join("workspace");
    std::fs::create_dir_all(&copy).unwrap();
    for item in [
        "Cargo.toml",
        "Cargo.lock",
        ".cargo",
        "clippy.toml",
        "crates",
        "xtask",
        "tests",
        "schema",
    ] {
        let (source, target) = (root.join(item), copy.join(item));
        if source.is_dir() {
            sync_tree(&source, &target);
        } else {
            let bytes = std::fs::read(&source).unwrap();
            if std::fs::read(&target).ok().as_deref() != Some(&bytes[..]) {
                std::fs::write(&target, bytes).unwrap();
            }
        }
    }
    // The one file a maintainer adds.
    let schema = copy.join("schema/models/model_fixture-hyper.json");
    if std::fs::read_to_string(&schema).ok().as_deref() != Some(NEW_MODEL) {
        std::fs::write(&schema, NEW_MODEL).unwrap();
    }
    // And the corpus: Scenario-shaped descriptions, each one file once imported.
    for name in CORPUS {
        let imported = root.join(format!("tests/fixtures/schemas/model_{name}.json"));
        let bytes = std::fs::read(&imported).unwrap();
        let target = copy.join(format!("schema/models/model_{name}.json"));
        if std::fs::read(&target).ok().as_deref() != Some(&bytes[..]) {
            std::fs::write(&target, bytes).unwrap();
        }
    }
    let cargo = |args: &[&str]| {
        // `cargo <command> --offline --locked --quiet <the rest>`: flags before any `--`.
        let (command, rest) = args.split_first().unwrap();
        let output =
            std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
                .arg(command)
                .args(["--offline", "--locked", "--quiet"])
                .args(rest)
                .current_dir(&copy)
                .env("CARGO_TARGET_DIR", base.join("target"))
                .env_remove("CARGO_MANIFEST_DIR")
                .output()
                .unwrap();
        assert!(
            output.status.success(),
            "cargo {}:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    };
    cargo(&["run", "-p", "xtask", "--", "codegen"]);
    let generated =
        std::fs::read_to_string(copy.join("crates/kling-types/src/generated/fixture_hyper.rs"))
            .unwrap();
    for expected in [
        "pub struct FixtureHyperRequest",
        "pub fn with_seed(",
        "pub enum Style",
        "fn validate(",
    ] {
        assert!(generated.contains(expected), "missing `{expected}`");
    }
    let manifest = std::fs::read_to_string(copy.join("crates/kling-types/Cargo.toml")).unwrap();
    assert!(
        manifest.contains("fixture-hyper = []"),
        "a cargo feature for the new model"
    );
    cargo(&["build", "-p", "kling-cli"]);

    let kling = |args: &[&str]| {
        std::process::Command::new(base.join("target/debug/kling"))
            .args(args)
            .env("KLING_DATA_DIR", base.join("data"))
            .output()
            .unwrap()
    };
    let models = kling(&["models"]);
    let listed = String::from_utf8_lossy(&models.stdout).into_owned();
    assert!(
        listed.contains("model_fixture-hyper  Fixture Hyper"),
        "{listed}"
    );
    for name in CORPUS {
        assert!(listed.contains(&format!("model_{name}")), "{listed}");
    }
    let video = |args: &[&str]| {
        let mut all = vec!["generate", "--model", "model_corpus-video-edit"];
        all.extend_from_slice(args);
        kling(&all)
    };
    let help = String::from_utf8_lossy(&video(&["--help"]).stdout).into_owned();
    assert!(
        help.contains("--video <FILE|ASSET_ID>")
            && help.contains("A local video file (uploaded first)")
            && help.contains("--duration <VALUE>")
            && help.contains("Required when --mode is lipsync"),
        "{help}"
    );
    // Inputs named like kling's own flags get flags of their own: no clap panic.
    let reserved = kling(&[
        "generate",
        "--model",
        "model_corpus-reserved-names",
        "--help",
    ]);
    let help = String::from_utf8_lossy(&reserved.stdout).into_owned();
    assert!(
        reserved.status.success()
            && help.contains("--model-version <VALUE>")
            && help.contains("--model-output <VALUE>")
            && help.contains("--model-model <MODEL_ID>"),
        "{help}{}",
        String::from_utf8_lossy(&reserved.stderr)
    );
    let described =
        String::from_utf8_lossy(&kling(&["models", "model_corpus-lora-image"]).stdout).into_owned();
    assert!(
        described.contains("Models of type flux.1-lora, flux.1-kontext-lora.")
            && described.contains("Required when --inference-type is img2img or inpaint.")
            && described.contains("Changes the price."),
        "{described}"
    );
    // The sandbox serves the new models' descriptions in Scenario's vocabulary.
    let served = kling(&["--sandbox", "models", "schema", "model_corpus-video-edit"]);
    let served = String::from_utf8_lossy(&served.stdout).into_owned();
    for expected in [
        "\"kind\": \"video\"",
        "\"maxSize\": 104857600",
        "\"ifNotDefined\"",
        "\"allowedValues\": [\n",
        "\"costImpact\": true",
    ] {
        assert!(served.contains(expected), "missing {expected} in {served}");
    }
    // A file over x-max-size is refused before anything is uploaded (a sparse file: no
    // 11 MB written), and a rule of `allOf` is checked naming both flags.
    let big = base.join("big.png");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(11_000_000)
        .unwrap();
    let clip = base.join("clip.mp4");
    std::fs::write(&clip, b"\0\0\0\x18ftypisom").unwrap();
    let refused = kling(&[
        "--sandbox",
        "generate",
        "--model",
        "model_corpus-video-edit",
        "--video",
        clip.to_str().unwrap(),
        "--style-image",
        big.to_str().unwrap(),
        "--mode",
        "lipsync",
        "--dry-run",
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is 11000000 bytes but may be at most 10485760")
            && stderr.contains("--soundtrack is required when --mode is"),
        "{stderr}"
    );
    // A list of objects (Scenario's `inputs_array`) is one flag of JSON: its items' fields
    // are in the help and in `kling models ID`, each misfit is named by its item path, and
    // a local file of an item is uploaded first, as an asset flag's is.
    let storyboard = |args: &[&str]| {
        let mut all = vec![
            "--sandbox",
            "generate",
            "--model",
            "model_corpus-storyboard",
        ];
        all.extend_from_slice(args);
        kling(&all)
    };
    // The help as one line: clap wraps it at any word.
    let help = String::from_utf8_lossy(&storyboard(&["--help"]).stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        help.contains("--shots <JSON>")
            && help.contains("A JSON array of objects, 1 to 6 items")
            && help.contains("Each item: prompt (required): text, 1 to 500 characters;"),
        "{help}"
    );
    let described =
        String::from_utf8_lossy(&kling(&["models", "model_corpus-storyboard"]).stdout).into_owned();
    assert!(
        described.contains("shots (required): a JSON array of objects, 1 to 6 items")
            && described.contains("Each item's seconds (required): one of -1, 5, 10")
            && described.contains("Length of the shot; -1 lets the model choose."),
        "{described}"
    );
    let shot = |prompt: &str, seconds: i64, image: &std::path::Path| {
        serde_json::json!([{"prompt": prompt, "seconds": seconds, "startImage": image}]).to_string()
    };
    let refused = storyboard(&["--shots", &shot("", 7, &big), "--dry-run"]);
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--shots[0].seconds is 7 but must be one of -1, 5, 10")
            && stderr.contains("is 11000000 bytes but may be at most 10485760"),
        "{stderr}"
    );
    let small = base.join("shot.png");
    std::fs::write(&small, b"\x89PNG\r\n\x1a\n").unwrap();
    let refused = storyboard(&["--shots", &shot("", 5, &small), "--dry-run"]);
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(
        stderr.contains("--shots[0].prompt is empty but needs at least 1 character"),
        "{stderr}"
    );
    let estimate = storyboard(&["--shots", &shot("a cat", 5, &small), "--dry-run"]);
    let stderr = String::from_utf8_lossy(&estimate.stderr).into_owned();
    assert!(estimate.status.success(), "{stderr}");
    assert!(
        stderr.contains("would be uploaded first (/shots/0/startImage)"),
        "{stderr}"
    );
    let help = String::from_utf8_lossy(
        &kling(&["generate", "--model", "model_fixture-hyper", "--help"]).stdout,
    )
    .into_owned();
    assert!(
        help.contains("--seed <INTEGER>")
            && help.contains("--style <VALUE>")
            && help.contains("[possible values: noir, pastel]"),
        "{help}"
    );
    let refused = kling(&[
        "generate",
        "--model",
        "model_fixture-hyper",
        "--prompt",
        "x",
        "--seed",
        "-1",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("--seed is -1 but must be between 0 and 4294967295")
    );
    let estimate = kling(&[
        "--sandbox",
        "generate",
        "--model",
        "model_fixture-hyper",
        "--prompt",
        "a new model",
        "--style",
        "pastel",
        "--loop",
        "--dry-run",
    ]);
    assert!(
        estimate.status.success(),
        "{}",
        String::from_utf8_lossy(&estimate.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&estimate.stdout),
        "40 creative units\n"
    );
}
