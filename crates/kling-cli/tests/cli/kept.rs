//! What kling keeps of what was paid for, as a user meets it: the record beside each
//! output and `kling rerun`, a folder of records as a batch, the ledger under two
//! processes at once with its queries, and the gallery, checked as HTML and as a real
//! headless browser renders it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use kling_sandbox::{Fault, FaultRule, SandboxConfig};
use serde_json::Value;
use sha2::Digest as _;

use super::{Scratch, assert_exit, kling, run, sandbox, text};

fn json_of(path: &Path) -> Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display())),
    )
    .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn sha256(path: &Path) -> String {
    sha2::Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Checks a record against the documented format (`docs/kling-record.schema.json`)
/// and against the file it describes.
#[track_caller]
fn check_record(record_path: &Path) -> Value {
    let schema: Value =
        json_of(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/kling-record.schema.json"));
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let record = json_of(record_path);
    let problems: Vec<String> = validator
        .iter_errors(&record)
        .map(|error| error.to_string())
        .collect();
    assert!(
        problems.is_empty(),
        "{}: {problems:?}",
        record_path.display()
    );
    if let Some(name) = record["file"]["name"].as_str() {
        let file = record_path.with_file_name(name);
        assert_eq!(
            record["file"]["sha256"],
            sha256(&file),
            "{}",
            file.display()
        );
        assert_eq!(
            record["file"]["size"],
            std::fs::metadata(&file).unwrap().len()
        );
    }
    if let Some(poster) = record["poster"].as_str() {
        let poster = record_path.with_file_name(poster);
        assert_eq!(
            &std::fs::read(&poster).unwrap()[..8],
            b"\x89PNG\r\n\x1a\n",
            "{} is a PNG",
            poster.display()
        );
    }
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_beside_each_output_makes_it_again() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("records");
    let prompt = "a <fox> & its \"den\"";
    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &[
            "generate",
            "--prompt",
            prompt,
            "--duration",
            "10",
            "-o",
            "clips/fox.mp4",
        ],
    ))
    .await;
    assert_exit(&output, 0);
    let record = check_record(&scratch.path("clips/fox.kling.json"));
    let jobs = sandbox.jobs();
    assert_eq!(record["request"], jobs[0].input, "the exact request sent");
    assert_eq!(record["jobId"], jobs[0].id.as_str());
    assert_eq!(record["model"]["id"], "model_kling-v1-6-pro");
    assert_eq!(record["cost"]["chargedCu"], record["cost"]["quotedCu"]);
    for time in ["submitted", "started", "finished", "downloaded"] {
        assert!(record["times"][time].is_string(), "{time}: {record}");
    }
    assert_eq!(record["poster"], "fox.poster.png");

    // --no-record: the video (and its poster), no record.
    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &[
            "generate",
            "--prompt",
            "plain",
            "--no-record",
            "-o",
            "clips/plain.mp4",
        ],
    ))
    .await;
    assert_exit(&output, 0);
    assert!(scratch.path("clips/plain.mp4").exists());
    assert!(!scratch.path("clips/plain.kling.json").exists());

    // `jobs wait` and `assets download` write records too.
    let job_id = jobs[0].id.clone();
    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &["assets", "download", "--job", &job_id, "-o", "again/"],
    ))
    .await;
    assert_exit(&output, 0);
    let again = check_record(&scratch.path(&format!("again/{job_id}.kling.json")));
    assert_eq!(again["request"], record["request"]);

    // The cost first; the spending controls stop it before anything is paid.
    let fox = "clips/fox.kling.json";
    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &["rerun", fox, "--dry-run"],
    ))
    .await;
    assert_exit(&output, 0);
    assert!(
        text(&output.stdout).contains("1 jobs would start for 80 creative units"),
        "{}",
        text(&output.stdout)
    );
    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &["rerun", fox, "--max-cu", "10"],
    ))
    .await;
    assert_exit(&output, 6);
    let mut no_spend = kling(&scratch, Some(&sandbox), &["rerun", fox]);
    no_spend.env("KLING_NO_SPEND", "1");
    assert_exit(&run(no_spend).await, 2);
    assert_eq!(sandbox.jobs().len(), 2, "nothing was started");

    // A rerun: a new job with the same request, beside its record.
    let output = run(kling(&scratch, Some(&sandbox), &["rerun", fox, "--yes"])).await;
    assert_exit(&output, 0);
    let jobs = sandbox.jobs();
    assert_eq!(jobs.len(), 3);
    assert_eq!(jobs[2].input, jobs[0].input);
    let rerun = check_record(&scratch.path(&format!("clips/fox-{}.kling.json", jobs[2].id)));
    assert_eq!(rerun["request"], record["request"]);
    assert_ne!(rerun["jobId"], record["jobId"]);

    // A folder of records is a batch: each record one line, its request as sent.
    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &["batch", "clips", "-o", "batch-again"],
    ))
    .await;
    assert_exit(&output, 0);
    let jobs = sandbox.jobs();
    assert_eq!(jobs.len(), 5, "fox and its rerun, not plain (no record)");
    assert_eq!(jobs[3].input, jobs[0].input);
    assert_eq!(jobs[4].input, jobs[0].input);
    check_record(&scratch.path("batch-again/fox.kling.json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_takes_two_processes_at_once_and_answers_queries() {
    let failing = Fault::JobFailure {
        error: "The model could not render this prompt".into(),
        hint: None,
    };
    let sandbox = sandbox(
        SandboxConfig::default()
            .with_fault(FaultRule::new(failing).on("POST", "/v1/generate/").times(1)),
    )
    .await;
    let scratch = Scratch::new("ledger");
    for batch in ["a", "b"] {
        let lines: String = (1..=6)
            .map(|n| format!("{{\"prompt\": \"{batch} {n}\"}}\n"))
            .collect();
        std::fs::write(scratch.path(&format!("{batch}.jsonl")), lines).unwrap();
    }
    // Two processes write the ledger at once, each event a transaction.
    let batches: Vec<Command> = ["a", "b"]
        .iter()
        .map(|batch| {
            kling(
                &scratch,
                Some(&sandbox),
                &[
                    "batch",
                    &format!("{batch}.jsonl"),
                    "-o",
                    &format!("out-{batch}"),
                    "--concurrency",
                    "6",
                ],
            )
        })
        .collect();
    let outputs = futures_util::future::join_all(batches.into_iter().map(run)).await;
    let exits: Vec<Option<i32>> = outputs.iter().map(|output| output.status.code()).collect();
    let mut sorted = exits.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [Some(0), Some(4)],
        "one job of the two batches failed: {exits:?}"
    );

    let history = |args: &[&str]| {
        let mut all = vec!["jobs", "history", "--json", "--limit", "100"];
        all.extend_from_slice(args);
        kling(&scratch, Some(&sandbox), &all)
    };
    let output = run(history(&[])).await;
    assert_exit(&output, 0);
    let entries: Value = serde_json::from_slice(&output.stdout).unwrap();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 12, "every submit of both processes");
    let job_ids: HashSet<&str> = entries
        .iter()
        .map(|entry| entry["jobId"].as_str().unwrap())
        .collect();
    let started: HashSet<String> = sandbox.jobs().into_iter().map(|job| job.id).collect();
    assert_eq!(job_ids.len(), 12);
    assert!(job_ids.iter().all(|id| started.contains(*id)));

    let output = run(history(&["--status", "failure"])).await;
    let failures: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(failures.as_array().unwrap().len(), 1);
    let output = run(history(&[
        "--since",
        "1d",
        "--model",
        "model_kling-v1-6-pro",
        "--status",
        "success",
    ]))
    .await;
    let done: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(done.as_array().unwrap().len(), 11);
    let output = run(history(&["--model", "model_other"])).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&output.stdout).unwrap(),
        Value::Array(Vec::new())
    );
    let output = run(kling(
        &scratch,
        None,
        &["jobs", "history", "--since", "seven days"],
    ))
    .await;
    assert_exit(&output, 2);

    // `kling spend` needs no API: quoted against charged, per day and model.
    let output = run(kling(
        &scratch,
        None,
        &["spend", "--since", "30d", "--json"],
    ))
    .await;
    assert_exit(&output, 0);
    let spend: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(spend["jobs"], 12);
    assert_eq!(spend["quotedCu"], 12.0 * 40.0);
    let charged: f64 = entries
        .iter()
        .filter_map(|entry| entry["chargedCu"].as_f64())
        .sum();
    assert!(charged >= 11.0 * 40.0, "{charged}");
    assert_eq!(spend["chargedCu"], charged);
    assert_eq!(spend["days"][0]["model"], "model_kling-v1-6-pro");
    let output = run(kling(&scratch, None, &["spend"])).await;
    assert!(
        text(&output.stdout).contains("model_kling-v1-6-pro"),
        "{}",
        text(&output.stdout)
    );
}

/// Every `src="…"` and `poster="…"` of the page, decoded.
fn referenced_files(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in [" src=\"", " poster=\"", " href=\""] {
        for piece in html.split(attribute).skip(1) {
            let value = piece.split('"').next().unwrap_or_default();
            found.push(percent_decode(&value.replace("&amp;", "&")));
        }
    }
    found
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            out.push(u8::from_str_radix(&text[index + 1..index + 3], 16).unwrap());
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_gallery_shows_every_line_offline_and_escaped() {
    let failing = Fault::JobFailure {
        error: "<b>could not</b> render & 'gave up'".into(),
        hint: Some("Try a <i>simpler</i> prompt".into()),
    };
    let sandbox = sandbox(
        SandboxConfig::default()
            .with_fault(FaultRule::new(failing).on("POST", "/v1/generate/").times(1)),
    )
    .await;
    let scratch = Scratch::new("gallery");
    std::fs::write(
        scratch.path("lines.jsonl"),
        concat!(
            "{\"prompt\": \"a heron that fails\", \"name\": \"heron\"}\n",
            "{\"prompt\": \"a <script>alert(1)</script> fox\", \"name\": \"fox #1 & co\"}\n",
            "{\"prompt\": \"a hare\", \"aspectRatio\": \"9:16\", \"duration\": 10}\n",
        ),
    )
    .unwrap();
    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &["batch", "lines.jsonl", "-o", "out", "--concurrency", "1"],
    ))
    .await;
    assert_exit(&output, 4);
    let out = scratch.path("out");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();

    assert_eq!(html.matches("<article").count(), 3, "one card per line");
    assert!(
        html.contains("2 done") && html.contains("1 failed"),
        "{html}"
    );
    assert!(html.contains("&lt;b&gt;could not&lt;/b&gt; render &amp; &#39;gave up&#39;"));
    assert!(html.contains("Try a &lt;i&gt;simpler&lt;/i&gt; prompt"));
    for raw in ["<script", "<b>", "<i>"] {
        assert!(!html.contains(raw), "{raw} reached the page: {html}");
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from the network"
    );
    let files = referenced_files(&html);
    assert_eq!(files.len(), 4, "two videos and their posters: {files:?}");
    for file in &files {
        assert!(!file.contains('/'), "{file}: relative, in the folder");
        assert!(out.join(file).is_file(), "{file} is referenced and exists");
    }
    assert!(files.contains(&"fox #1 & co.mp4".to_owned()), "{files:?}");
    check_record(&out.join("heron.kling.json"));

    // `kling gallery DIR` builds the same page from the records alone.
    std::fs::remove_file(out.join("index.html")).unwrap();
    let output = run(kling(&scratch, None, &["gallery", "out"])).await;
    assert_exit(&output, 0);
    assert_eq!(
        std::fs::read_to_string(out.join("index.html")).unwrap(),
        html
    );

    render_in_a_browser(&scratch, &out.join("index.html"));
}

/// The system's Chromium, if there is one.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

#[expect(
    clippy::print_stderr,
    reason = "a skipped check says why, where the test's output is read"
)]
/// Renders the page at a desktop and a phone width and checks, on the screenshots,
/// that the cards show: two posters (bright, saturated colours on the page's grey),
/// side by side on a desktop, one above the other on a phone.
fn render_in_a_browser(scratch: &Scratch, page: &Path) {
    let Some(chromium) = chromium() else {
        eprintln!(
            "skipped the browser check of the gallery: no chromium on PATH (apt-get install chromium; .ci/run installs it)"
        );
        return;
    };
    for (width, height, side_by_side) in [(1280, 800, true), (390, 1600, false)] {
        let shot = scratch.path(&format!("gallery-{width}.png"));
        let output = Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--mute-audio",
                "--virtual-time-budget=3000",
                &format!("--user-data-dir={}", scratch.path("chromium").display()),
                &format!("--window-size={width},{height}"),
                &format!("--screenshot={}", shot.display()),
            ])
            .arg(format!("file://{}", page.canonicalize().unwrap().display()))
            .output()
            .unwrap();
        assert!(
            shot.exists(),
            "chromium made no screenshot: {}",
            text(&output.stderr)
        );
        if let Ok(keep) = std::env::var("KLING_GALLERY_SCREENSHOTS") {
            std::fs::copy(&shot, Path::new(&keep).join(format!("gallery-{width}.png"))).unwrap();
        }
        let (columns, rows) = poster_bands(&shot);
        if side_by_side {
            assert_eq!(
                (columns, rows),
                (2, 1),
                "{width} px: two posters side by side"
            );
        } else {
            assert_eq!(
                (columns, rows),
                (1, 2),
                "{width} px: two posters one above the other"
            );
        }
    }
}

/// How many separate bands of columns and of rows hold poster pixels (strongly
/// saturated colours; the page itself is grey, white and dark text), ignoring bands
/// thinner than 40 px (a failed card's red border).
fn poster_bands(shot: &Path) -> (usize, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let channels = info.color_type.samples();
    let (width, height) = (info.width as usize, info.height as usize);
    let mut by_column = vec![0usize; width];
    let mut by_row = vec![0usize; height];
    let rows = pixels[..width * height * channels].chunks(width * channels);
    for (row, in_row) in rows.zip(by_row.iter_mut()) {
        for (pixel, in_column) in row.chunks(channels).zip(by_column.iter_mut()) {
            let [r, g, b] = [pixel[0], pixel[1], pixel[2]].map(i32::from);
            let spread = r.max(g).max(b) - r.min(g).min(b);
            if spread > 120 {
                *in_column += 1;
                *in_row += 1;
            }
        }
    }
    let bands = |counts: &[usize]| {
        let mut bands = 0;
        let mut run = 0;
        for &count in counts.iter().chain([&0]) {
            if count > 20 {
                run += 1;
            } else {
                if run >= 40 {
                    bands += 1;
                }
                run = 0;
            }
        }
        bands
    };
    (bands(&by_column), bands(&by_row))
}
