//! `cargo xtask codegen`: reads `schema/`, writes `crates/kling-types/src/generated/`
//! (and the generator's compiled test fixtures), byte for byte the same on every run.
//! `--check` writes nothing and fails with a diff when a checked-in file is stale.

mod imports;
mod request;
mod rust;
mod table;
// How limits are said in words: kling-types' own file, compiled here too, so that the
// generated docs and `kling generate --help` word them once (the generator cannot depend
// on the crate it writes).
#[path = "../../crates/kling-types/src/wording.rs"]
#[allow(unreachable_pub, reason = "public in kling-types")]
mod wording;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use kling_dialect as schema;
pub use kling_dialect::{Kind, SchemaError};

use self::rust::Runtime;

/// Whether to write the generated files or only compare them with what is checked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Write every file that differs.
    Write,
    /// Write nothing; fail when a file differs.
    Check,
}

/// Something `cargo xtask codegen` could not do.
#[derive(Debug)]
pub enum CodegenError {
    /// A schema the generator refuses.
    Schema(SchemaError),
    /// Reading or writing a file failed.
    Io(PathBuf, std::io::Error),
    /// `--check` found checked-in files that differ from what the schemas generate.
    Stale(Vec<String>),
}

impl std::fmt::Display for CodegenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Schema(error) => write!(f, "{error}"),
            Self::Io(path, error) => write!(f, "{}: {error}", path.display()),
            Self::Stale(files) => write!(
                f,
                "generated code is stale: {}\n  help: run `cargo xtask codegen` and commit the result",
                files.join(", ")
            ),
        }
    }
}

impl std::error::Error for CodegenError {}

impl From<SchemaError> for CodegenError {
    fn from(error: SchemaError) -> Self {
        Self::Schema(error)
    }
}

/// The command that regenerates everything, named in every generated file.
const COMMAND: &str = "cargo xtask codegen";

/// The workspace root (the parent of `xtask/`), as rust-analyzer's `project_root` finds
/// it: from the `CARGO_MANIFEST_DIR` that cargo sets for this run (`cargo xtask` from any
/// checkout), then from the one of the build. A stale xtask binary run from another
/// checkout therefore works on that checkout, never on the one it was built from.
pub fn workspace_root() -> PathBuf {
    root_of(
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        Path::new(env!("CARGO_MANIFEST_DIR")),
    )
}

/// The parent of the xtask manifest folder of this run, or of the build's.
fn root_of(run: Option<PathBuf>, built: &Path) -> PathBuf {
    let manifest_dir = run.unwrap_or_else(|| built.to_path_buf());
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

/// Generates every file and returns the ones it wrote; in [`Mode::Check`], writes
/// nothing and fails naming the stale ones (with a diff of each on stderr).
pub fn run(mode: Mode) -> Result<Vec<String>, CodegenError> {
    run_at(&workspace_root(), mode)
}

/// [`run`] on another tree laid out like the workspace (`schema/`, the kling-types
/// manifest): the benchmark times codegen on synthetic models this way.
pub fn run_at(root: &Path, mode: Mode) -> Result<Vec<String>, CodegenError> {
    let root = root.to_path_buf();
    let mut outputs = Vec::new();

    let models = schema_files(&root, "schema/models")?;
    let apis = schema_files(&root, "schema/api")?;
    let types_dir = "crates/kling-types/src/generated";
    let models = model_files(&root, &models, types_dir, "crate", &mut outputs)?;
    let mut api_modules = Vec::new();
    for file in &apis {
        let text = read(&root, file)?;
        let checked = schema::check(file, &text, Kind::Api, "crate")?;
        let module = format!("api_{}", stem(file).replace('-', "_"));
        outputs.push((
            format!("{types_dir}/{module}.rs"),
            render(&checked, file, &text, Runtime("crate"))?,
        ));
        api_modules.push(module);
    }
    outputs.push((
        format!("{types_dir}/mod.rs"),
        types_mod(&models, &api_modules),
    ));
    let manifest = "crates/kling-types/Cargo.toml";
    outputs.push((
        manifest.to_owned(),
        types_manifest(&read(&root, manifest)?, &models)?,
    ));

    // The generator's own fixtures, compiled into the `tests` package so that every
    // golden of generated code also builds and can be tested against a validator.
    let fixtures_dir = "tests/src/fixtures/generated";
    let fixtures = schema_files(&root, "tests/fixtures/schemas")?;
    let fixtures = model_files(&root, &fixtures, fixtures_dir, "kling_types", &mut outputs)?;
    outputs.push((format!("{fixtures_dir}/mod.rs"), fixtures_mod(&fixtures)));

    let mut stale = Vec::new();
    for (path, text) in &outputs {
        if ensure_file_contents(&root.join(path), text, mode)? {
            stale.push(path.clone());
        }
    }
    for dir in [types_dir, fixtures_dir] {
        stale.extend(remove_orphans(&root, dir, &outputs, mode)?);
    }
    match mode {
        Mode::Check if !stale.is_empty() => Err(CodegenError::Stale(stale)),
        _ => Ok(stale),
    }
}

/// Renders one model schema into a Rust file, as `cargo xtask codegen` would; `runtime`
/// is the path of the kling-types crate from where the file is compiled.
pub fn generate_model(file: &str, text: &str, runtime: &str) -> Result<String, SchemaError> {
    let checked = schema::check(file, text, Kind::Model, runtime)?;
    render(&checked, file, text, Runtime(runtime))
}

/// Renders one api schema (wire types) into a Rust file.
pub fn generate_api(file: &str, text: &str, runtime: &str) -> Result<String, SchemaError> {
    let checked = schema::check(file, text, Kind::Api, runtime)?;
    render(&checked, file, text, Runtime(runtime))
}

/// Generates `<out_dir>/<module>.rs` for each model schema; returns the checked schemas.
fn model_files(
    root: &Path,
    files: &[String],
    out_dir: &str,
    runtime: &str,
    outputs: &mut Vec<(String, String)>,
) -> Result<Vec<schema::Checked>, CodegenError> {
    let mut models = Vec::new();
    for file in files {
        let text = read(root, file)?;
        let checked = schema::check(file, &text, Kind::Model, runtime)?;
        if let Some(model) = &checked.model {
            outputs.push((
                format!("{out_dir}/{}.rs", model.module),
                render(&checked, file, &text, Runtime(runtime))?,
            ));
        }
        models.push(checked);
    }
    Ok(models)
}

fn render(
    checked: &schema::Checked,
    file: &str,
    text: &str,
    runtime: Runtime<'_>,
) -> Result<String, SchemaError> {
    let items = rust::items(checked, file, text, runtime)?;
    let doc = match &checked.model {
        Some(model) => {
            // The description is the request struct's doc: said once.
            let name = &model.rust_name;
            let parts = if checked.objects.is_empty() {
                "its enums"
            } else {
                "its item types and enums"
            };
            if model.title == model.id {
                format!(" `{}`: [`{name}`] and {parts}.", model.id)
            } else {
                format!(" {} (`{}`): [`{name}`] and {parts}.", model.title, model.id)
            }
        }
        None => format!(" Wire types of the Scenario API from `{file}`."),
    };
    let attrs = doc
        .split('\n')
        .map(|line| syn::parse_quote!(#![doc = #line]))
        .collect();
    Ok(format!("{}\n{}", header(file), unparse(attrs, items)))
}

/// The file as prettyplease formats it, with a blank line between items (prettyplease
/// writes them one after the other); `use` items stay together.
fn unparse(attrs: Vec<syn::Attribute>, items: Vec<syn::Item>) -> String {
    let mut out = prettyplease::unparse(&syn::File {
        shebang: None,
        attrs,
        items: Vec::new(),
    });
    let mut previous_was_use = None;
    for item in items {
        let is_use = matches!(item, syn::Item::Use(_));
        if !(is_use && previous_was_use == Some(true)) {
            out.push('\n');
        }
        previous_was_use = Some(is_use);
        let is_impl = matches!(item, syn::Item::Impl(_));
        let text = prettyplease::unparse(&syn::File {
            shebang: None,
            attrs: Vec::new(),
            items: vec![item],
        });
        if is_impl {
            out.push_str(&spaced_impl_items(&text));
        } else {
            out.push_str(&text);
        }
    }
    out
}

/// An `impl` block as prettyplease printed it, with a blank line between its items (it
/// prints them one after the other): before each item that starts at the block's
/// indentation right after the end of another.
fn spaced_impl_items(text: &str) -> String {
    let at_block_indent = |line: &str| line.starts_with("    ") && !line.starts_with("     ");
    let starts_item = |line: &str| {
        let line = line.trim_start();
        ["///", "#[", "pub ", "fn ", "const ", "type ", "async "]
            .iter()
            .any(|start| line.starts_with(start))
    };
    let ends_item = |line: &str| {
        let line = line.trim_start();
        !line.starts_with("///")
            && !line.starts_with("#[")
            && (line.starts_with('}') || line.ends_with(';'))
    };
    let mut out = String::with_capacity(text.len() + 64);
    let mut previous: Option<&str> = None;
    for line in text.lines() {
        if let Some(previous) = previous
            && at_block_indent(line)
            && starts_item(line)
            && at_block_indent(previous)
            && ends_item(previous)
        {
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
        previous = Some(line);
    }
    out
}

fn header(source: &str) -> String {
    format!("// @generated from {source} by `{COMMAND}`. Do not edit by hand.")
}

fn types_mod(models: &[schema::Checked], api_modules: &[String]) -> String {
    let mut out = header("schema/");
    out.push_str("\n//! Everything `cargo xtask codegen` writes from `schema/`.\n\n");
    for model in models.iter().filter_map(|checked| checked.model.as_ref()) {
        let _ = writeln!(
            out,
            "#[cfg(feature = \"{}\")]\npub mod {};",
            feature_name(&model.module),
            model.module
        );
    }
    for module in api_modules {
        let _ = writeln!(out, "mod {module};");
    }
    out.push_str("\n/// The platform's wire types: jobs, assets, errors, generate responses.\npub mod api {\n");
    for module in api_modules {
        let _ = writeln!(out, "    pub use super::{module}::*;");
    }
    out.push_str("}\n\n/// Every model of `schema/models/` this build includes (one cargo feature each), in\n/// the order of their ids.\n");
    registry(&mut out, models, "crate", true);
    out
}

/// `pub static MODELS`: one `ModelInfo` per model, each behind its feature when `features`.
fn registry(out: &mut String, models: &[schema::Checked], runtime: &str, features: bool) {
    let _ = writeln!(out, "pub static MODELS: &[{runtime}::ModelInfo] = &[");
    for model in models.iter().filter_map(|checked| checked.model.as_ref()) {
        if features {
            let _ = writeln!(
                out,
                "    #[cfg(feature = \"{}\")]",
                feature_name(&model.module)
            );
        }
        let _ = writeln!(
            out,
            "    {runtime}::__private::model_info(\n        {id:?},\n        {title:?},\n        {description:?},\n        {module}::SCHEMA,\n        {module}::PARAMS,\n        {runtime}::__private::validate_json::<{module}::{name}>,\n    ),",
            id = model.id,
            title = model.title,
            description = model.description,
            module = model.module,
            name = model.rust_name,
        );
    }
    out.push_str("];\n");
}

/// The cargo feature of a model: its module name in kebab-case (`kling-v1-6-pro`).
fn feature_name(module: &str) -> String {
    module.replace('_', "-")
}

/// Markers around the `[features]` block of kling-types' Cargo.toml, which codegen owns.
const FEATURES_BEGIN: &str = "# BEGIN features written by `cargo xtask codegen` (one per model of schema/models/): do not edit by hand";
const FEATURES_END: &str = "# END features written by `cargo xtask codegen`";

/// kling-types' Cargo.toml with its `[features]` block rewritten for `models`.
fn types_manifest(current: &str, models: &[schema::Checked]) -> Result<String, CodegenError> {
    let (Some(begin), Some(end)) = (current.find(FEATURES_BEGIN), current.find(FEATURES_END))
    else {
        return Err(CodegenError::Io(
            PathBuf::from("crates/kling-types/Cargo.toml"),
            std::io::Error::other(format!(
                "the markers of the generated [features] block are missing: put `{FEATURES_BEGIN}` and `{FEATURES_END}` around it"
            )),
        ));
    };
    let features: Vec<String> = models
        .iter()
        .filter_map(|checked| checked.model.as_ref())
        .map(|model| feature_name(&model.module))
        .collect();
    let mut block = format!(
        "{FEATURES_BEGIN}\n[features]\ndefault = [\"all-models\"]\n# Every model. A dependent that needs one model can use `default-features = false, features = [\"<model>\"]`.\nall-models = ["
    );
    block.push_str(
        &features
            .iter()
            .map(|feature| format!("{feature:?}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    block.push_str("]\n");
    for (feature, model) in features
        .iter()
        .zip(models.iter().filter_map(|checked| checked.model.as_ref()))
    {
        let _ = writeln!(block, "# {} ({})\n{feature} = []", model.title, model.id);
    }
    Ok(format!("{}{block}{}", &current[..begin], &current[end..]))
}

fn fixtures_mod(models: &[schema::Checked]) -> String {
    let mut out = header("tests/fixtures/schemas/");
    out.push_str("\n//! The generator's fixture models, compiled so that their generated code is tested.\n\n");
    for model in models.iter().filter_map(|checked| checked.model.as_ref()) {
        let _ = writeln!(out, "pub mod {};", model.module);
    }
    out.push_str("\n/// The fixture models, as a registry like `kling_types::MODELS`.\n");
    registry(&mut out, models, "kling_types", false);
    out
}

/// Writes `text` to `path` when it differs (or, in check mode, prints the diff).
/// Returns whether the file was stale.
pub fn ensure_file_contents(path: &Path, text: &str, mode: Mode) -> Result<bool, CodegenError> {
    let old = fs::read_to_string(path).unwrap_or_default();
    if old == text {
        return Ok(false);
    }
    match mode {
        Mode::Check => {
            let diff = similar::TextDiff::from_lines(old.as_str(), text);
            #[expect(
                clippy::print_stderr,
                reason = "the diff is the report of `codegen --check`"
            )]
            {
                eprintln!(
                    "{} is stale:\n{}",
                    path.display(),
                    diff.unified_diff()
                        .context_radius(2)
                        .header("checked in", "generated")
                );
            }
        }
        Mode::Write => {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)
                    .map_err(|error| CodegenError::Io(dir.to_path_buf(), error))?;
            }
            fs::write(path, text).map_err(|error| CodegenError::Io(path.to_path_buf(), error))?;
        }
    }
    Ok(true)
}

/// Deletes (or, in check mode, reports) generated files no schema produces any more.
fn remove_orphans(
    root: &Path,
    dir: &str,
    outputs: &[(String, String)],
    mode: Mode,
) -> Result<Vec<String>, CodegenError> {
    let Ok(entries) = fs::read_dir(root.join(dir)) else {
        return Ok(Vec::new());
    };
    let mut orphans = Vec::new();
    for entry in entries.flatten() {
        let relative = format!("{dir}/{}", entry.file_name().to_string_lossy());
        if relative.ends_with(".rs") && !outputs.iter().any(|(path, _)| *path == relative) {
            if mode == Mode::Write {
                fs::remove_file(entry.path())
                    .map_err(|error| CodegenError::Io(entry.path(), error))?;
            }
            orphans.push(relative);
        }
    }
    orphans.sort();
    Ok(orphans)
}

/// The `.json` files of a folder, relative to the root, sorted.
fn schema_files(root: &Path, dir: &str) -> Result<Vec<String>, CodegenError> {
    let entries = match fs::read_dir(root.join(dir)) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(CodegenError::Io(root.join(dir), error)),
    };
    let mut files: Vec<String> = entries
        .flatten()
        .filter(|entry| entry.path().is_file())
        .map(|entry| format!("{dir}/{}", entry.file_name().to_string_lossy()))
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    Ok(files)
}

fn read(root: &Path, file: &str) -> Result<String, CodegenError> {
    fs::read_to_string(root.join(file)).map_err(|error| CodegenError::Io(root.join(file), error))
}

fn stem(file: &str) -> &str {
    Path::new(file)
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_of_an_impl_are_spaced_by_a_blank_line() {
        let printed = "impl X {\n    /// One.\n    pub const A: u8 = 1;\n    /// Two.\n    pub fn two(self) -> u8 {\n        2\n    }\n    fn three() {}\n}\n";
        assert_eq!(
            spaced_impl_items(printed),
            "impl X {\n    /// One.\n    pub const A: u8 = 1;\n\n    /// Two.\n    pub fn two(self) -> u8 {\n        2\n    }\n\n    fn three() {}\n}\n"
        );
    }

    #[test]
    fn the_workspace_is_the_one_cargo_runs_xtask_in_not_the_one_it_was_built_in() {
        let built = Path::new("/checkouts/old/xtask");
        assert_eq!(
            root_of(Some(PathBuf::from("/checkouts/new/xtask")), built),
            Path::new("/checkouts/new")
        );
        assert_eq!(root_of(None, built), Path::new("/checkouts/old"));
    }
}
