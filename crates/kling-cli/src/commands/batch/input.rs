//! The batch file: one request per line, each known by what it asks for, not where it
//! stands. A line's key is the SHA-256 of the canonical JSON of its model, parameters
//! and name, plus its occurrence among identical lines (`…#1`, `…#2`): inserting,
//! deleting or reordering lines changes no key, changing a line makes a new one.
//!
//! An asset parameter may name a local file instead of an asset id (`"startImage":
//! "cat.png"`, also in the items of a list of objects): a relative path is read from the
//! batch file's folder, and the file is checked when the file is read (it exists, is not
//! too large, is of the kind the parameter takes), before anything is paid for; a file
//! that is not fit makes the line bad. Such a line is known by what the file holds: in
//! its key, each file's value is `sha256:` and the SHA-256 of its bytes, so renaming a
//! file changes nothing and changing its content makes a new request (lines without
//! files keep the keys they always had). The run uploads each distinct content once and
//! sends the asset id in its place ([`super::uploads`]).
//!
//! The file may start with a UTF-8 byte-order mark and use CRLF line endings (Windows
//! editors write both). A line over [`MAX_LINE`] bytes is refused by its number without
//! being held in memory.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kling_types::FileKind;
use serde_json::{Map, Value};

use crate::params::ImageRef;

/// The longest line read, in bytes.
pub(crate) const MAX_LINE: usize = 1 << 20;
/// The model of a line that names none.
pub(crate) const DEFAULT_MODEL: &str = "model_kling-v1-6-pro";

/// One request of the batch file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Line {
    /// Where it stands in the file (from 1), for messages.
    pub(crate) number: usize,
    /// What identifies it in the journal: `DIGEST#OCCURRENCE`.
    pub(crate) key: String,
    /// The model's id (from `kling_types::MODELS`: not a copy per line).
    pub(crate) model: &'static str,
    /// Its parameters as canonical JSON ([`write_canonical`]): a few bytes a line where a
    /// parsed map costs hundreds, for files of many thousands of lines.
    params: Box<str>,
    /// The `name` the line gives its output, if any.
    pub(crate) name: Option<String>,
    /// The local files it names where the model takes assets, uploaded before it is
    /// submitted (empty for most lines: no room taken).
    pub(crate) files: Box<[LocalFile]>,
    /// How a journal of format 1 knew the line: `DefaultHasher` of its trimmed text
    /// (written in hex there). Only read, to carry such a journal over
    /// ([`super::journal`]); nothing new is keyed by it.
    pub(crate) v1_hash: u64,
}

impl Line {
    /// A line of `model` with `params` (as the file would give them).
    #[cfg(test)]
    pub(crate) fn new(number: usize, key: &str, model: &'static str, params: &Value) -> Self {
        let mut text = String::new();
        write_canonical(params, &mut text);
        Self {
            number,
            key: key.to_owned(),
            model,
            params: text.into(),
            name: None,
            files: Box::default(),
            v1_hash: 0,
        }
    }

    /// Its parameters as the file gives them: a local file is still its path. What is
    /// sent is [`Self::params_with`] the files' asset ids.
    pub(crate) fn params(&self) -> Value {
        // The text is `write_canonical`'s output of a JSON object: it always parses.
        serde_json::from_str(&self.params).unwrap_or(Value::Null)
    }

    /// Its parameters with each local file replaced by what `asset_of` gives for it (its
    /// asset id once uploaded, a stand-in for an estimate).
    pub(crate) fn params_with(&self, mut asset_of: impl FnMut(&LocalFile) -> String) -> Value {
        let mut params = self.params();
        for file in &self.files {
            if let Some(value) = params.pointer_mut(&file.pointer) {
                *value = Value::from(asset_of(file));
            }
        }
        params
    }

    /// Its parameters as canonical JSON: equal requests, equal text.
    pub(crate) fn params_json(&self) -> &str {
        &self.params
    }
}

/// A local file a line names for an asset parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LocalFile {
    /// Where the line names it, as a JSON pointer into its parameters (`/startImage`).
    pub(crate) pointer: Box<str>,
    /// The file (relative paths joined to the batch file's folder).
    pub(crate) path: PathBuf,
    pub(crate) kind: FileKind,
    /// What it held when the batch file was read: the upload checks it still does.
    pub(crate) sha256: [u8; 32],
}

impl LocalFile {
    /// Its SHA-256 in hex: how the journal knows its upload.
    pub(crate) fn sha256_hex(&self) -> String {
        crate::records::hex(&self.sha256)
    }
}

/// The SHA-256 of the file at `path`, read in pieces.
pub(crate) fn file_sha256(path: &Path) -> std::io::Result<[u8; 32]> {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    let mut file = std::fs::File::open(path)?;
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hasher.finalize().into())
}

/// The SHA-256 of each file read so far (by its path): a file that a thousand lines
/// name is read once.
type Digests = HashMap<PathBuf, Result<[u8; 32], String>>;

/// A line that is not a request, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BadLine {
    pub(crate) number: usize,
    pub(crate) reason: String,
}

/// Every line of the file: the requests, and the lines that are not.
///
/// A folder is read as its records (`NAME.kling.json`), one line each: see
/// [`super::records::folder_as_batch`].
pub(crate) fn read(path: &Path) -> anyhow::Result<(Vec<Line>, Vec<BadLine>)> {
    if path.is_dir() {
        let (text, mut bad) = super::records::folder_as_batch(path)?;
        let (lines, more) = read_from(std::io::Cursor::new(text), path)
            .with_context(|| format!("cannot read the records in {}", path.display()))?;
        bad.extend(more);
        bad.sort_by_key(|bad| bad.number);
        return Ok((lines, bad));
    }
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read the batch file {}", path.display()))?;
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    read_from(std::io::BufReader::new(file), folder)
        .with_context(|| format!("cannot read the batch file {}", path.display()))
}

/// [`read`] from any reader; local files are read from `folder` when relative.
pub(crate) fn read_from(
    mut reader: impl BufRead,
    folder: &Path,
) -> std::io::Result<(Vec<Line>, Vec<BadLine>)> {
    let mut digests = Digests::new();
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    let mut occurrences: HashMap<String, usize> = HashMap::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut buffer = Vec::new();
    let mut number = 0;
    while let Some(fits) = next_line(&mut reader, &mut buffer)? {
        number += 1;
        if !fits {
            bad.push(BadLine {
                number,
                reason: format!("longer than {} MiB: not read", MAX_LINE >> 20),
            });
            continue;
        }
        let mut bytes = buffer.as_slice();
        if number == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let Ok(text) = std::str::from_utf8(bytes) else {
            bad.push(BadLine {
                number,
                reason: "not UTF-8 text".to_owned(),
            });
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let request = match parse(text, folder, &mut digests) {
            Ok(request) => request,
            Err(reason) => {
                bad.push(BadLine { number, reason });
                continue;
            }
        };
        let digest = request.digest();
        if let Some(name) = &request.name {
            let first = *names.entry(name.clone()).or_insert(number);
            // The digest covers the name: an earlier line with this digest is the same
            // request (an identical line), anything else is another request.
            if first != number && !occurrences.contains_key(&digest) {
                bad.push(BadLine {
                    number,
                    reason: format!(
                        "the name `{name}` is taken by line {first}: give each request its own name"
                    ),
                });
                continue;
            }
        }
        let occurrence = occurrences.entry(digest.clone()).or_insert(0);
        *occurrence += 1;
        let mut params = String::new();
        write_canonical(&request.params, &mut params);
        lines.push(Line {
            number,
            key: format!("{digest}#{occurrence}"),
            model: request.model_id,
            params: params.into(),
            name: request.name,
            files: request.files.into(),
            v1_hash: v1_hash(text),
        });
    }
    Ok((lines, bad))
}

/// The key of a line in a journal of format 1: what the kling that wrote it computed,
/// with the same `DefaultHasher` (SipHash-1-3 with fixed keys, the same in every Rust
/// release since 2016). Matching is by text, wherever the line now stands; a format-1
/// record whose text is no longer in the file is listed as removed with its job.
fn v1_hash(text: &str) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.trim().hash(&mut hasher);
    hasher.finish()
}

/// Reads the next line into `buffer` (without its `\n`): `Some(true)`, or `Some(false)`
/// when it is longer than [`MAX_LINE`] (then skipped, not kept), `None` at the end.
fn next_line(reader: &mut impl BufRead, buffer: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    buffer.clear();
    let mut fits = true;
    let mut any = false;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(any.then_some(fits));
        }
        any = true;
        let (chunk, used, ended) = match available.iter().position(|&byte| byte == b'\n') {
            Some(at) => (&available[..at], at + 1, true),
            None => (available, available.len(), false),
        };
        if fits && buffer.len() + chunk.len() <= MAX_LINE {
            buffer.extend_from_slice(chunk);
        } else {
            fits = false;
            buffer.clear();
        }
        reader.consume(used);
        if ended {
            return Ok(Some(fits));
        }
    }
}

/// A line's request, checked against its model.
#[derive(Debug)]
struct Request {
    model: String,
    model_id: &'static str,
    params: Value,
    name: Option<String>,
    files: Vec<LocalFile>,
}

impl Request {
    /// The SHA-256 of the canonical JSON of model, parameters and name, in hex; a local
    /// file's value is `sha256:` and the digest of its bytes (what it holds, not where).
    fn digest(&self) -> String {
        let mut params = self.params.clone();
        for file in &self.files {
            if let Some(value) = params.pointer_mut(&file.pointer) {
                *value = Value::from(format!("sha256:{}", file.sha256_hex()));
            }
        }
        let identity = serde_json::json!({
            "model": self.model,
            "name": self.name,
            "params": params,
        });
        let mut canonical = String::new();
        write_canonical(&identity, &mut canonical);
        crate::records::sha256_hex(canonical.as_bytes())
    }
}

/// JSON with object keys sorted at every depth and no spaces: the same request always
/// gives the same text, whatever the order of its keys in the file.
pub(crate) fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn parse(text: &str, folder: &Path, digests: &mut Digests) -> Result<Request, String> {
    let value: Value = serde_json::from_str(text).map_err(|error| format!("not JSON ({error})"))?;
    let Value::Object(mut fields) = value else {
        return Err(
            "not a JSON object: each line is one request, e.g. {\"prompt\": \"a red fox\"}"
                .to_owned(),
        );
    };
    let model = match fields.remove("model") {
        None => DEFAULT_MODEL.to_owned(),
        Some(Value::String(model)) => model,
        Some(_) => return Err("`model` must be a string".to_owned()),
    };
    let name = match fields.remove("name") {
        None => None,
        Some(Value::String(name)) if is_plain_file_name(&name) => Some(name),
        Some(_) => return Err("`name` must be a plain file name (no folders)".to_owned()),
    };
    let model_info = kling_types::find_model(&model).ok_or_else(|| {
        let known: Vec<&str> = kling_types::MODELS.iter().map(|model| model.id).collect();
        format!("unknown model `{model}`: use one of {}", known.join(", "))
    })?;
    let params = Value::Object(fields.into_iter().collect::<Map<String, Value>>());
    let files = local_files(model_info, &params, folder, digests)?;
    // Validated as it will be sent: each file an asset id.
    let mut sent = params.clone();
    for file in &files {
        if let Some(value) = sent.pointer_mut(&file.pointer) {
            *value = Value::from("asset_to_upload");
        }
    }
    let validation = (model_info.validate_json)(sent).map_err(|error| error.to_string())?;
    if !validation.is_valid() {
        let problems: Vec<String> = validation
            .problems()
            .iter()
            .map(ToString::to_string)
            .collect();
        return Err(problems.join("; "));
    }
    Ok(Request {
        model,
        model_id: model_info.id,
        params,
        name,
        files,
    })
}

/// The local files `params` names for `model`'s assets, each checked and hashed; the
/// first that is not fit, worded for the line (`startImage cat.png: no such file …`).
fn local_files(
    model: &kling_types::ModelInfo,
    params: &Value,
    folder: &Path,
    digests: &mut Digests,
) -> Result<Vec<LocalFile>, String> {
    let mut files = Vec::new();
    for asset in model.asset_values(params) {
        let label = asset.pointer.trim_start_matches('/');
        let ImageRef::File(path) =
            ImageRef::resolve(label, asset.value, asset.param, asset.kind, Some(folder))?
        else {
            continue;
        };
        let sha256 = digests
            .entry(path.clone())
            .or_insert_with(|| {
                file_sha256(&path).map_err(|error| {
                    format!(
                        "{label} {}: cannot read {}: {error}",
                        asset.value,
                        path.display()
                    )
                })
            })
            .clone()?;
        files.push(LocalFile {
            pointer: asset.pointer.into(),
            path,
            kind: asset.kind,
            sha256,
        });
    }
    Ok(files)
}

fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.contains(['/', '\\', '\0'])
        && name != "."
        && name != ".."
        && !name.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> (Vec<Line>, Vec<BadLine>) {
        read_from(text.as_bytes(), Path::new(".")).unwrap()
    }

    fn keys(text: &str) -> Vec<String> {
        read_text(text).0.into_iter().map(|line| line.key).collect()
    }

    #[test]
    fn a_line_is_known_by_its_request_not_its_position() {
        let before = keys("{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n");
        let after = keys("{\"prompt\": \"new\"}\n\n{\"prompt\": \"b\"}\n{\"prompt\": \"a\"}\n");
        assert_eq!(after[1], before[1], "b moved, and is still b");
        assert_eq!(after[2], before[0], "a moved, and is still a");
        assert!(!before.contains(&after[0]), "a new line is new");
    }

    #[test]
    fn key_order_and_spacing_do_not_change_a_request() {
        assert_eq!(
            keys("{\"prompt\": \"a\", \"duration\": 10}"),
            keys("{ \"duration\":10,\"prompt\":\"a\" }")
        );
        assert_ne!(
            keys("{\"prompt\": \"a\", \"duration\": 10}"),
            keys("{\"prompt\": \"a\", \"duration\": 5}"),
            "a changed line is a new request"
        );
        assert_ne!(
            keys("{\"prompt\": \"a\"}"),
            keys("{\"prompt\": \"a\", \"name\": \"fox\"}"),
            "so is a renamed one"
        );
    }

    #[test]
    fn identical_lines_are_told_apart_by_their_occurrence() {
        let keys = keys("{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n{\"prompt\": \"a\"}\n");
        assert!(
            keys[0].ends_with("#1") && keys[2].ends_with("#2"),
            "{keys:?}"
        );
        assert_eq!(
            keys[0].trim_end_matches("#1"),
            keys[2].trim_end_matches("#2")
        );
    }

    #[test]
    fn the_key_is_stable_across_builds() {
        // SHA-256 of {"model":"model_kling-v1-6-pro","name":null,"params":{"prompt":"a"}}:
        // a journal written today is read the same by every later kling.
        assert_eq!(
            keys("{\"prompt\": \"a\"}"),
            ["0fb7f10bc41753e939c28d51e68a0c7fd6fb08000b273826370f682fe14a7e8a#1"]
        );
    }

    #[test]
    fn a_byte_order_mark_and_crlf_endings_are_accepted() {
        let (lines, bad) = read_text("\u{feff}{\"prompt\": \"a\"}\r\n{\"prompt\": \"b\"}\r\n");
        assert_eq!(bad, []);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].params(), serde_json::json!({"prompt": "a"}));
        assert_eq!(keys("{\"prompt\": \"a\"}\n")[0], lines[0].key);
    }

    #[test]
    fn bad_lines_are_named_by_number_and_do_not_stop_the_rest() {
        let long = format!("{{\"prompt\": \"{}\"}}", "x".repeat(MAX_LINE));
        let text = format!(
            "oops\n{long}\n[1]\n{{\"prompt\": \"\"}}\n{{\"prompt\": \"ok\", \"name\": \"../x\"}}\n{{\"prompt\": \"ok\"}}\n{{\"prompt\": \"a\", \"model\": \"model_nope\"}}"
        );
        let (lines, bad) = read_text(&text);
        assert_eq!(
            lines.iter().map(|line| line.number).collect::<Vec<_>>(),
            [6]
        );
        let reasons: Vec<(usize, &str)> = bad
            .iter()
            .map(|bad| (bad.number, bad.reason.split(' ').next().unwrap_or("")))
            .collect();
        assert_eq!(
            reasons,
            [
                (1, "not"),
                (2, "longer"),
                (3, "not"),
                (4, "`prompt`:"),
                (5, "`name`"),
                (7, "unknown")
            ]
        );
        assert!(bad[1].reason.contains("1 MiB"), "{}", bad[1].reason);
    }

    #[test]
    fn two_requests_cannot_share_a_name() {
        let (lines, bad) = read_text(
            "{\"prompt\": \"a\", \"name\": \"fox\"}\n{\"prompt\": \"b\", \"name\": \"fox\"}\n{\"prompt\": \"a\", \"name\": \"fox\"}\n",
        );
        assert_eq!(
            lines.iter().map(|line| line.number).collect::<Vec<_>>(),
            [1, 3]
        );
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].number, 2);
        assert!(
            bad[0].reason.contains("taken by line 1"),
            "{}",
            bad[0].reason
        );
    }

    #[test]
    fn not_utf8_is_a_bad_line() {
        let (lines, bad) = read_from(
            &b"{\"prompt\": \"\xff\"}\n{\"prompt\": \"a\"}"[..],
            Path::new("."),
        )
        .unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(
            bad,
            [BadLine {
                number: 1,
                reason: "not UTF-8 text".to_owned()
            }]
        );
    }

    fn png(text: &str) -> Vec<u8> {
        [b"\x89PNG\r\n\x1a\n".as_slice(), text.as_bytes()].concat()
    }

    fn read_in(folder: &Path, text: &str) -> (Vec<Line>, Vec<BadLine>) {
        read_from(text.as_bytes(), folder).unwrap()
    }

    #[test]
    fn a_line_with_local_files_is_known_by_what_they_hold_not_their_names() {
        let scratch = crate::scratch::Scratch::new("batch-line-files");
        let folder = scratch.0.as_path();
        std::fs::write(folder.join("cat.png"), png("a cat")).unwrap();
        std::fs::write(folder.join("same-cat.png"), png("a cat")).unwrap();
        let (lines, bad) = read_in(
            folder,
            "{\"prompt\": \"a\", \"startImage\": \"cat.png\"}\n{\"prompt\": \"a\", \"startImage\": \"same-cat.png\"}\n{\"prompt\": \"a\", \"startImage\": \"asset_1\"}",
        );
        assert_eq!(bad, []);
        let file = &lines[0].files[0];
        assert_eq!(
            (&*file.pointer, file.path.as_path(), file.kind),
            (
                "/startImage",
                folder.join("cat.png").as_path(),
                FileKind::Image
            )
        );
        assert_eq!(file.sha256_hex(), crate::records::sha256_hex(&png("a cat")));
        // The same bytes under another name: the same request, told apart as identical
        // lines are.
        assert_eq!(
            lines[0].key.trim_end_matches("#1"),
            lines[1].key.trim_end_matches("#2")
        );
        // An asset id is sent as given: no file, and the key a line always had.
        assert!(lines[2].files.is_empty());
        assert_eq!(
            lines[2].key,
            keys("{\"prompt\": \"a\", \"startImage\": \"asset_1\"}")[0]
        );
        // The parameters keep the path; what is sent has the asset id in its place.
        assert_eq!(lines[0].params()["startImage"], "cat.png");
        assert_eq!(
            lines[0].params_with(|_| "asset_9".to_owned()),
            serde_json::json!({"prompt": "a", "startImage": "asset_9"})
        );

        let before = lines[0].key.clone();
        std::fs::write(folder.join("cat.png"), png("another cat")).unwrap();
        let (lines, _) = read_in(folder, "{\"prompt\": \"a\", \"startImage\": \"cat.png\"}");
        assert_ne!(lines[0].key, before, "new bytes, a new request");
    }

    #[test]
    fn files_in_a_list_of_objects_are_found_by_the_models_table() {
        let storyboard = crate::fixture_models::MODELS
            .iter()
            .find(|model| model.id == "model_corpus-storyboard")
            .unwrap();
        let scratch = crate::scratch::Scratch::new("batch-objects-files");
        std::fs::write(scratch.0.join("first.png"), png("first")).unwrap();
        let params = serde_json::json!({"shots": [
            {"prompt": "a", "seconds": 5, "startImage": "asset_7"},
            {"prompt": "b", "seconds": 5, "startImage": "first.png"},
        ]});
        let mut digests = Digests::new();
        let files = local_files(storyboard, &params, &scratch.0, &mut digests).unwrap();
        let found: Vec<(&str, &Path)> = files
            .iter()
            .map(|file| (&*file.pointer, file.path.as_path()))
            .collect();
        assert_eq!(
            found,
            [("/shots/1/startImage", scratch.0.join("first.png").as_path())]
        );
        let missing =
            serde_json::json!({"shots": [{"prompt": "a", "seconds": 5, "startImage": "gone.png"}]});
        let error = local_files(storyboard, &missing, &scratch.0, &mut digests).unwrap_err();
        assert!(
            error.starts_with("shots/0/startImage gone.png: no such file in "),
            "{error}"
        );
    }

    /// A batch file the fuzzer writes: lines that are requests, near misses, junk,
    /// byte-order marks and CRLF endings, sometimes huge.
    fn any_file() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let line = prop_oneof![
            "[a-z ]{1,20}".prop_map(|prompt| format!("{{\"prompt\": \"{prompt}\"}}").into_bytes()),
            ("[a-z ]{1,20}", prop_oneof![Just(5), Just(10), Just(7)], "[a-z-]{0,8}").prop_map(
                |(prompt, duration, name)| {
                    format!("{{\"prompt\": \"{prompt}\", \"duration\": {duration}, \"name\": \"{name}\"}}")
                        .into_bytes()
                }
            ),
            "\\PC{0,60}".prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..80),
            Just(b"\xEF\xBB\xBF{\"prompt\": \"bom\"}".to_vec()),
            Just(b"{\"prompt\": \"crlf\"}\r".to_vec()),
            (1usize..3).prop_map(|mib| vec![b'x'; mib << 20]),
        ];
        proptest::collection::vec(line, 0..12).prop_map(|lines| lines.join(&b'\n'))
    }

    proptest::proptest! {
        #![proptest_config(crate::fuzz::config())]

        /// Whatever the file holds: no panic, and every line with text is either a
        /// request or a bad line named by its number, in order, each number once.
        #[test]
        fn fuzz_batch_lines(file in any_file()) {
            let (lines, bad) = read_from(file.as_slice(), Path::new(".")).expect("reading from memory cannot fail");
            let mut numbers: Vec<usize> = lines.iter().map(|line| line.number).chain(bad.iter().map(|bad| bad.number)).collect();
            let count = numbers.len();
            numbers.sort_unstable();
            numbers.dedup();
            proptest::prop_assert_eq!(numbers.len(), count, "a line is one thing");
            let total = file.split(|&byte| byte == b'\n').count();
            proptest::prop_assert!(numbers.iter().all(|number| (1..=total).contains(number)));
            let mut keys: Vec<&str> = lines.iter().map(|line| line.key.as_str()).collect();
            keys.sort_unstable();
            keys.dedup();
            proptest::prop_assert_eq!(keys.len(), lines.len(), "every request has a key of its own");
        }
    }
}
