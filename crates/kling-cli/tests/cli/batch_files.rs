//! Local files in a batch: a line may name a picture on disk where the model takes an
//! asset. Each distinct content is uploaded once, the job gets its asset id (never the
//! path), a file that is not fit makes its line bad before anything is paid for, and a
//! rerun neither uploads nor pays again unless a file's content changed.

use std::collections::BTreeSet;
use std::path::Path;

use kling_sandbox::{Fault, FaultRule, SandboxConfig, SandboxHandle};
use serde_json::Value;

use super::{Scratch, assert_exit, kling, run, sandbox, statuses};

fn png(text: &str) -> Vec<u8> {
    [b"\x89PNG\r\n\x1a\n".as_slice(), text.as_bytes()].concat()
}

/// A batch in `shots/` (not the working directory), naming its pictures relative to it.
fn shots(scratch: &Scratch, lines: &[&str]) {
    std::fs::create_dir_all(scratch.path("shots")).unwrap();
    std::fs::write(scratch.path("shots/batch.jsonl"), lines.join("\n")).unwrap();
}

async fn run_shots(
    scratch: &Scratch,
    sandbox: &SandboxHandle,
    extra: &[&str],
) -> (std::process::Output, Value) {
    let mut args = vec!["batch", "shots/batch.jsonl", "--out", "out", "--json"];
    args.extend_from_slice(extra);
    let output = run(kling(scratch, Some(sandbox), &args)).await;
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output, report)
}

fn uploads(sandbox: &SandboxHandle) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|request| {
            request.method == "POST" && request.path == "/v1/assets" && request.status == Some(200)
        })
        .count()
}

/// The bytes of the uploads each job's input names at `pointer`, by prompt.
fn pictures(sandbox: &SandboxHandle, pointer: &str) -> Vec<(String, Vec<u8>)> {
    sandbox
        .jobs()
        .iter()
        .filter_map(|job| {
            let id = job.input.pointer(pointer)?.as_str()?;
            assert!(id.starts_with("asset_"), "{pointer} sent as {id}");
            let bytes = sandbox
                .uploaded_bytes(id)
                .unwrap_or_else(|| panic!("{id} is no upload"));
            Some((job.input["prompt"].as_str().unwrap().to_owned(), bytes))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_files_are_uploaded_once_per_content_and_sent_as_asset_ids() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("batch-files");
    shots(&scratch, &[]);
    std::fs::write(scratch.path("shots/cat.png"), png("a cat")).unwrap();
    std::fs::write(scratch.path("shots/dog.png"), png("a dog")).unwrap();
    // The same bytes under another name: one upload serves both.
    std::fs::write(scratch.path("shots/cat-copy.png"), png("a cat")).unwrap();
    shots(
        &scratch,
        &[
            r#"{"prompt": "1", "startImage": "cat.png"}"#,
            r#"{"prompt": "2", "startImage": "cat.png", "endImage": "dog.png"}"#,
            r#"{"prompt": "3", "startImage": "cat-copy.png"}"#,
            r#"{"prompt": "4", "referenceImages": ["dog.png", "cat.png"]}"#,
            r#"{"prompt": "5", "startImage": "cat.png", "name": "five"}"#,
        ],
    );

    let (output, report) = run_shots(&scratch, &sandbox, &["--dry-run"]).await;
    assert_exit(&output, 0);
    assert_eq!(sandbox.jobs().len(), 0);
    assert_eq!(uploads(&sandbox), 0, "a dry run uploads nothing");
    let listed: Vec<(String, Value)> = report["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|upload| {
            let file = upload["file"].as_str().unwrap();
            let name = Path::new(file).file_name().unwrap().to_string_lossy();
            (name.into_owned(), upload["lines"].clone())
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("cat.png".to_owned(), serde_json::json!([1, 2, 3, 4, 5])),
            ("dog.png".to_owned(), serde_json::json!([2, 4])),
        ],
        "each content once, with the lines that name it: {report:#}"
    );

    let (output, report) = run_shots(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 0);
    assert_eq!(report["done"], 5, "{report:#}");
    assert_eq!(uploads(&sandbox), 2, "one upload per distinct content");
    let cat = png("a cat");
    let dog = png("a dog");
    let mut starts = pictures(&sandbox, "/startImage");
    starts.sort();
    assert_eq!(
        starts,
        [
            ("1".to_owned(), cat.clone()),
            ("2".to_owned(), cat.clone()),
            ("3".to_owned(), cat.clone()),
            ("5".to_owned(), cat.clone()),
        ]
    );
    assert_eq!(
        pictures(&sandbox, "/endImage"),
        [("2".to_owned(), dog.clone())]
    );
    assert_eq!(
        pictures(&sandbox, "/referenceImages/0"),
        [("4".to_owned(), dog.clone())]
    );
    assert_eq!(
        pictures(&sandbox, "/referenceImages/1"),
        [("4".to_owned(), cat.clone())]
    );
    // The record keeps what was sent: the asset id, which a rerun can send again.
    let record: Value =
        serde_json::from_slice(&std::fs::read(scratch.path("out/five.kling.json")).unwrap())
            .unwrap();
    let five = sandbox
        .jobs()
        .into_iter()
        .find(|job| job.input["prompt"] == "5")
        .unwrap();
    assert_eq!(record["request"]["startImage"], five.input["startImage"]);

    // The same again: nothing uploaded, nothing paid.
    let (output, report) = run_shots(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 0);
    assert!(
        statuses(&report)
            .iter()
            .all(|(_, status)| status == "already done"),
        "{report:#}"
    );
    assert_eq!((uploads(&sandbox), sandbox.jobs().len()), (2, 5));

    // A renamed file with the same bytes is the same request; a file whose bytes
    // changed makes a new one, for the lines that name it only.
    std::fs::rename(
        scratch.path("shots/cat-copy.png"),
        scratch.path("shots/kitten.png"),
    )
    .unwrap();
    std::fs::write(scratch.path("shots/dog.png"), png("a dog, later")).unwrap();
    shots(
        &scratch,
        &[
            r#"{"prompt": "1", "startImage": "cat.png"}"#,
            r#"{"prompt": "2", "startImage": "cat.png", "endImage": "dog.png"}"#,
            r#"{"prompt": "3", "startImage": "kitten.png"}"#,
            r#"{"prompt": "4", "referenceImages": ["dog.png", "cat.png"]}"#,
            r#"{"prompt": "5", "startImage": "cat.png", "name": "five"}"#,
        ],
    );
    let (output, report) = run_shots(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 0);
    assert_eq!(
        statuses(&report)
            .into_iter()
            .filter(|(_, status)| status == "done")
            .map(|(line, _)| line)
            .collect::<Vec<_>>(),
        [Some(2), Some(4)],
        "{report:#}"
    );
    assert_eq!(uploads(&sandbox), 3, "the changed dog only");
    let later: BTreeSet<Vec<u8>> = pictures(&sandbox, "/endImage")
        .into_iter()
        .map(|(_, bytes)| bytes)
        .collect();
    assert!(later.contains(&png("a dog, later")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_fit_makes_its_line_bad_before_anything_is_paid() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("batch-bad-files");
    shots(&scratch, &[]);
    std::fs::write(scratch.path("shots/cat.png"), png("a cat")).unwrap();
    std::fs::write(scratch.path("shots/notes.png"), "not a picture").unwrap();
    std::fs::write(scratch.path("shots/empty.png"), "").unwrap();
    std::fs::create_dir_all(scratch.path("shots/folder.png")).unwrap();
    // In the working directory, not beside the batch file: not what the line names.
    std::fs::write(scratch.path("here.png"), png("here")).unwrap();
    shots(
        &scratch,
        &[
            r#"{"prompt": "ok", "startImage": "cat.png"}"#,
            r#"{"prompt": "missing", "startImage": "nowhere.png"}"#,
            r#"{"prompt": "text", "startImage": "notes.png"}"#,
            r#"{"prompt": "empty", "referenceImages": ["cat.png", "empty.png"]}"#,
            r#"{"prompt": "folder", "endImage": "folder.png"}"#,
            r#"{"prompt": "cwd", "startImage": "here.png"}"#,
        ],
    );
    let (output, report) = run_shots(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 2);
    let errors: Vec<(Option<u64>, String)> = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line["status"] == "bad")
        .map(|line| {
            (
                line["line"].as_u64(),
                line["error"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            (Some(2), "startImage nowhere.png: no such file in shots (the batch file's folder), and not an asset id (asset_…): give a local image or an asset id".to_owned()),
            (Some(3), "startImage notes.png: not an image the API accepts (JPEG, PNG, GIF, WebP, AVIF, TIFF, HEIC or SVG)".to_owned()),
            (Some(4), "referenceImages/1 empty.png: the file is empty".to_owned()),
            (Some(5), "endImage folder.png: that is a folder, not an image file".to_owned()),
            (Some(6), "startImage here.png: no such file in shots (the batch file's folder), and not an asset id (asset_…): give a local image or an asset id".to_owned()),
        ]
    );
    assert_eq!(sandbox.jobs().len(), 1, "only the good line was paid for");
    assert_eq!(uploads(&sandbox), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upload_ends_its_line_before_the_submit_and_a_rerun_finishes_it() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("batch-upload-fault");
    shots(&scratch, &[]);
    std::fs::write(scratch.path("shots/cat.png"), png("a cat")).unwrap();
    shots(
        &scratch,
        &[
            r#"{"prompt": "cat", "startImage": "cat.png"}"#,
            r#"{"prompt": "plain"}"#,
        ],
    );
    sandbox.add_fault(
        FaultRule::new(Fault::Status {
            status: 400,
            retry_after_secs: None,
        })
        .on("POST", "/v1/assets")
        .times(1),
    );
    let (output, report) = run_shots(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 1);
    assert_eq!(
        statuses(&report),
        [(Some(1), "error".to_owned()), (Some(2), "done".to_owned())],
        "{report:#}"
    );
    assert_eq!(sandbox.jobs().len(), 1, "nothing was submitted for the cat");

    let (output, report) = run_shots(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 0);
    assert_eq!(
        statuses(&report),
        [
            (Some(1), "done".to_owned()),
            (Some(2), "already done".to_owned())
        ],
        "{report:#}"
    );
    assert_eq!(pictures(&sandbox, "/startImage").len(), 1);
    assert_eq!(sandbox.jobs().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_gone_since_an_earlier_run_is_made_again_not_sent_dangling() {
    let scratch = Scratch::new("batch-upload-gone");
    shots(&scratch, &[r#"{"prompt": "one", "startImage": "cat.png"}"#]);
    std::fs::write(scratch.path("shots/cat.png"), png("a cat")).unwrap();
    let first = sandbox(SandboxConfig::default()).await;
    let (output, _) = run_shots(&scratch, &first, &[]).await;
    assert_exit(&output, 0);
    assert_eq!(uploads(&first), 1);

    // Another server (an account where that asset was deleted, say): the journal's
    // asset id is asked for, found missing, and the file uploaded again.
    let second = sandbox(SandboxConfig::default()).await;
    shots(
        &scratch,
        &[
            r#"{"prompt": "one", "startImage": "cat.png"}"#,
            r#"{"prompt": "two", "startImage": "cat.png"}"#,
        ],
    );
    let (output, report) = run_shots(&scratch, &second, &[]).await;
    assert_exit(&output, 0);
    assert_eq!(
        statuses(&report),
        [
            (Some(1), "already done".to_owned()),
            (Some(2), "done".to_owned())
        ],
        "{report:#}"
    );
    assert_eq!(uploads(&second), 1);
    assert_eq!(
        pictures(&second, "/startImage"),
        [("two".to_owned(), png("a cat"))]
    );

    // On the same server, the asset is there: asked for once, not uploaded.
    shots(
        &scratch,
        &[
            r#"{"prompt": "one", "startImage": "cat.png"}"#,
            r#"{"prompt": "two", "startImage": "cat.png"}"#,
            r#"{"prompt": "three", "startImage": "cat.png"}"#,
            r#"{"prompt": "four", "startImage": "cat.png"}"#,
        ],
    );
    let (output, _) = run_shots(&scratch, &second, &[]).await;
    assert_exit(&output, 0);
    assert_eq!(uploads(&second), 1);
    let cat = second.jobs()[0].input["startImage"]
        .as_str()
        .unwrap()
        .to_owned();
    let asked = second
        .requests()
        .iter()
        .filter(|request| request.method == "GET" && request.path == format!("/v1/assets/{cat}"))
        .count();
    assert_eq!(asked, 1, "one look per content, not per line");
    assert_eq!(pictures(&second, "/startImage").len(), 3);
}
