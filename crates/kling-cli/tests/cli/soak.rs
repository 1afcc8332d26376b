//! The soak: `kling batch` against a sandbox where every endpoint fails now and then,
//! killed with SIGKILL at seeded moments and run again until it ends. Then whatever
//! happened, what the batch promises must hold: each line has exactly one job, every
//! line done has its files, whole; no partial or temporary file is left; no secret or
//! signed-URL parameter is written or printed; the reruns converge.
//!
//! Its size comes from the environment, small by default so that `cargo test` runs it
//! in seconds: `KLING_SOAK_LINES` (30 lines), `KLING_SOAK_SEED` (fixed), `KLING_SOAK_ROUNDS`
//! (2 kills). `cargo xtask soak` runs a large one in release with a random seed. The
//! seed decides the faults' draws, which lines fail and when each kill comes; the
//! moment each request arrives still depends on the machine, so a seed reproduces a
//! soak's mix, not every request of it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use kling_sandbox::{Credentials, Fault, FaultRule, SandboxConfig, SandboxHandle};
use serde_json::{Value, json};

use super::{Scratch, kling, sandbox};

/// Reruns allowed after the kills before the soak counts as not converging.
const MAX_RERUNS: usize = 5;
/// Jobs in flight at once.
const CONCURRENCY: &str = "8";
/// The exit code of a batch with failed lines (`kling --help`, exit codes).
const EXIT_JOB_FAILED: i32 = 4;

/// The soak's size and seed, from the environment.
#[derive(Clone, Copy, Debug)]
struct Settings {
    lines: usize,
    seed: u64,
    rounds: usize,
}

impl Settings {
    fn from_env() -> Self {
        fn var<T: std::str::FromStr>(name: &str, default: T) -> T {
            match std::env::var(name) {
                Ok(value) => value
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
                Err(_) => default,
            }
        }
        Self {
            lines: var("KLING_SOAK_LINES", 30_usize).max(10),
            seed: var("KLING_SOAK_SEED", 20_260_412_u64),
            rounds: var("KLING_SOAK_ROUNDS", 2_usize),
        }
    }

    /// What to put in front of a failure: the seed, and how to run this soak again.
    fn tag(&self) -> String {
        format!(
            "soak seed {} (again: cargo xtask soak --lines {} --seed {} --rounds {})",
            self.seed, self.lines, self.seed, self.rounds
        )
    }

    /// The longest a run may take before it counts as hanging.
    fn run_bound(&self) -> Duration {
        Duration::from_secs(120 + self.lines as u64 / 2)
    }
}

/// SplitMix64: the soak's own choices (which lines fail, when to kill) from its seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[low, high)`.
    fn between(&mut self, low: usize, high: usize) -> usize {
        low + (self.next() % (high.max(low + 1) - low) as u64) as usize
    }
}

/// A rule for every request whose path starts with `prefix`, whatever its method.
fn under(prefix: &str, fault: Fault) -> FaultRule {
    FaultRule {
        path_prefix: Some(prefix.to_owned()),
        ..FaultRule::new(fault)
    }
}

fn status(status: u16) -> Fault {
    Fault::Status {
        status,
        retry_after_secs: None,
    }
}

/// The faults of the soak, each with where it applies: at least once, at a seeded
/// request among the first `lines × share` it could apply to, and then at random with
/// probability `p`.
fn faults(lines: usize) -> Vec<(FaultRule, f64, f64)> {
    let generate = |fault| FaultRule::new(fault).on("POST", "/v1/generate/");
    let everywhere = |fault| under("/", fault);
    vec![
        (
            generate(Fault::UnknownStatus {
                status: "pondering".to_owned(),
            }),
            0.5,
            0.15,
        ),
        (generate(Fault::ResetAfterHandling), 0.5, 0.04),
        (
            everywhere(Fault::Status {
                status: 429,
                retry_after_secs: Some(1),
            }),
            2.0,
            0.015,
        ),
        (everywhere(status(500)), 2.0, 0.012),
        (everywhere(status(502)), 2.0, 0.012),
        (everywhere(status(503)), 2.0, 0.012),
        (everywhere(status(504)), 2.0, 0.012),
        (everywhere(Fault::ResetBeforeHandling), 2.0, 0.015),
        (everywhere(Fault::ResetAfterHandling), 2.0, 0.015),
        // Stalls under the client's timeouts (a stall past its 30 s read timeout would
        // cost the soak 30 s each, and the CLI has no flag to shorten it).
        (everywhere(Fault::StallHeaders { millis: 150 }), 2.0, 0.03),
        (everywhere(Fault::StallHeaders { millis: 700 }), 2.0, 0.01),
        (
            under("/v1/", Fault::TruncateBody { after_bytes: 24 }),
            2.0,
            0.015,
        ),
        (
            FaultRule::new(Fault::TruncateBody {
                after_bytes: 60 * 1024,
            })
            .on("GET", "/cdn/"),
            0.5,
            0.12,
        ),
        (
            FaultRule::new(Fault::ExpiredUrl).on("GET", "/v1/assets/"),
            0.5,
            0.12,
        ),
        // A fresh link is asked for only after an expired one: its first request.
        (
            FaultRule::new(Fault::ExpiredUrl).on("POST", "/v1/assets/"),
            0.0,
            0.1,
        ),
        (
            FaultRule::new(Fault::EmptyPage).on("GET", "/v1/jobs"),
            3.0 / lines as f64,
            0.08,
        ),
    ]
}

/// A sandbox with non-default credentials and faults on every endpoint, drawn from the
/// seed. A rule applies to a request only when no earlier rule did; the probabilities
/// add up to about one request in six. Returns how many lines are made to fail.
fn faulty_sandbox(settings: &Settings, random: &mut Random) -> (SandboxConfig, usize) {
    let mut config = SandboxConfig::default()
        .with_seed(settings.seed)
        .with_credentials(Credentials {
            key: "soak-key-4f1c9a".to_owned(),
            secret: "soak-secret-8d2e7b31".to_owned(),
        })
        // Long enough for a job to be seen in progress (and in an unknown status).
        .with_job_duration(Duration::from_millis(600))
        // Large enough for a download to be cut and resumed, and killed in the middle.
        .with_output_size(192 * 1024);
    // A few lines fail: the first generate requests past these counts create failed jobs.
    let failures = (settings.lines / 15).max(1);
    for _ in 0..failures {
        let skip = random.between(0, settings.lines / 2);
        config = config.with_fault(
            FaultRule::new(Fault::JobFailure {
                error: "the soak fails this one".to_owned(),
                hint: Some("it is meant to".to_owned()),
            })
            .on("POST", "/v1/generate/")
            .skip(u32::try_from(skip).unwrap())
            .times(1),
        );
    }
    let faults = faults(settings.lines);
    for (rule, share, _) in &faults {
        let skip = random.between(0, (settings.lines as f64 * share) as usize);
        config = config.with_fault(rule.clone().skip(u32::try_from(skip).unwrap()).times(1));
    }
    for (rule, _, probability) in faults {
        config = config.with_fault(rule.probability(probability));
    }
    (config, failures)
}

/// One request line of the batch file.
#[derive(Debug)]
struct Request {
    line: usize,
    params: Value,
}

/// The batch file: plain lines, some longer, some portrait and named, identical pairs
/// (one every 20 lines, and two more), a line that asks for a superset of another's
/// parameters, and three bad lines.
/// Returns its text, its requests and the numbers of its bad lines.
fn batch_file(settings: &Settings) -> (String, Vec<Request>, Vec<usize>) {
    let mut lines: Vec<Result<Value, &str>> = (1..=settings.lines)
        .map(|n| {
            Ok(match n % 20 {
                3 | 13 => json!({"prompt": format!("soak clip {n}"), "duration": 10}),
                6 | 16 => json!({"prompt": format!("soak clip {n}"), "aspectRatio": "9:16", "name": format!("portrait-{n}")}),
                // The same request as the line before.
                9 => json!({"prompt": format!("soak clip {}", n - 1)}),
                _ => json!({"prompt": format!("soak clip {n}")}),
            })
        })
        .collect();
    // Identical lines are requests of their own; so is one that asks for more.
    lines.insert(5, lines[1].clone());
    lines.push(lines[7].clone());
    lines.insert(9, Ok(json!({"prompt": "soak clip 4", "duration": 10})));
    lines.insert(12, Err("oops, not JSON"));
    lines.insert(13, Err("{\"prompt\": \"soak bad\", \"duration\": 7}"));
    lines.push(Err("{\"prompt\": \"\"}"));
    let mut text = String::new();
    let mut requests = Vec::new();
    let mut bad = Vec::new();
    for (index, line) in lines.into_iter().enumerate() {
        match line {
            Ok(line) => {
                writeln!(text, "{line}").unwrap();
                let mut params = line;
                params.as_object_mut().unwrap().remove("name");
                requests.push(Request {
                    line: index + 1,
                    params,
                });
            }
            Err(line) => {
                writeln!(text, "{line}").unwrap();
                bad.push(index + 1);
            }
        }
    }
    (text, requests, bad)
}

/// How one run of `kling batch` ended.
struct Run {
    /// `None`: killed.
    code: Option<i32>,
    took: Duration,
    stdout: String,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        match self.code {
            Some(code) => format!("exit {code} after {:.1} s", self.took.as_secs_f64()),
            None => format!("killed after {:.1} s", self.took.as_secs_f64()),
        }
    }

    /// The end of stderr, for a failure message.
    fn tail(&self) -> String {
        let lines: Vec<&str> = self.stderr.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// Runs `kling -vv batch` once: killed with SIGKILL once the sandbox has seen
/// `kill_after` more requests (if it has not ended by then); failed when it takes
/// longer than the settings allow.
async fn run_batch(
    settings: &Settings,
    scratch: &Scratch,
    sandbox: &SandboxHandle,
    number: usize,
    kill_after: Option<usize>,
) -> Run {
    let logs = scratch.path("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let stdout_path = logs.join(format!("run-{number}.stdout"));
    let stderr_path = logs.join(format!("run-{number}.stderr"));
    let mut command: Command = kling(
        scratch,
        Some(sandbox),
        &[
            "-vv",
            "batch",
            "batch.jsonl",
            "--out",
            "out",
            "--json",
            "--concurrency",
            CONCURRENCY,
        ],
    );
    command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    let before = sandbox.requests().len();
    let started = Instant::now();
    let mut child: Child = command.spawn().unwrap();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        let seen = sandbox.requests().len() - before;
        if kill_after.is_some_and(|limit| seen >= limit) {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        if started.elapsed() > settings.run_bound() {
            child.kill().unwrap();
            child.wait().unwrap();
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
            panic!(
                "{}: run {number} did not end within {:?} (a hang?); the end of its stderr:\n{}",
                settings.tag(),
                settings.run_bound(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    Run {
        code,
        took: started.elapsed(),
        stdout: String::from_utf8_lossy(&std::fs::read(&stdout_path).unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&std::fs::read(&stderr_path).unwrap()).into_owned(),
    }
}

/// Whether the report says the batch is over: every request done or failed.
fn finished(report: &Value) -> bool {
    report["lines"].as_array().is_some_and(|lines| {
        lines.iter().all(|line| {
            matches!(
                line["status"].as_str(),
                Some("done" | "already done" | "failed" | "bad")
            )
        })
    })
}

/// Every file under `dir`, at any depth.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The first of `needles` (each case-sensitive or not) found in `haystack`, and where.
fn find_any<'a>(haystack: &[u8], needles: &'a [(String, bool)]) -> Option<(&'a str, usize)> {
    needles.iter().find_map(|(needle, ignore_case)| {
        let at = haystack.windows(needle.len()).position(|window| {
            if *ignore_case {
                window.eq_ignore_ascii_case(needle.as_bytes())
            } else {
                window == needle.as_bytes()
            }
        })?;
        Some((needle.as_str(), at))
    })
}

/// `text` without its terminal colours (`ESC [ … letter`): `-vv` colours field names
/// even when stderr is not a terminal, and a colour code may split what is looked for.
fn without_colours(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// The line of `text` around byte `at`.
fn line_around(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |newline| newline + 1);
    let end = text[at..]
        .find('\n')
        .map_or(text.len(), |newline| at + newline);
    &text[start..end]
}

/// Keeps the soak's folder (logs, journal, report, videos) when the soak fails.
struct KeepOnFailure(Scratch);

impl Drop for KeepOnFailure {
    #[expect(
        clippy::print_stderr,
        reason = "where the folder is kept is for the person reading the failure"
    )]
    fn drop(&mut self) {
        if std::thread::panicking() {
            let kept = self.0.0.with_extension("kept");
            let _ = std::fs::remove_dir_all(&kept);
            if std::fs::rename(&self.0.0, &kept).is_ok() {
                eprintln!("the soak's folder is kept in {}", kept.display());
            }
        }
    }
}

#[expect(
    clippy::print_stderr,
    reason = "the seed and the runs, for whoever reads a failure"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_a_faulty_server_and_kills_lose_nothing_and_leak_nothing() {
    let settings = Settings::from_env();
    let tag = settings.tag();
    eprintln!("{tag}");
    let mut random = Random(settings.seed ^ 0x50A4);
    let (config, failures) = faulty_sandbox(&settings, &mut random);
    let credentials = config.credentials.clone();
    let sandbox = sandbox(config).await;
    let folder = KeepOnFailure(Scratch::new("soak"));
    let scratch = &folder.0;
    let (text, requests, bad) = batch_file(&settings);
    std::fs::write(scratch.path("batch.jsonl"), text).unwrap();

    // Killed at seeded moments: after some number of requests. A line costs about 7
    // requests, so the kills share about the work of one run between them and each
    // lands while lines are submitted, waited for and downloaded.
    let mut runs: Vec<Run> = Vec::new();
    let mut partial_files: HashSet<PathBuf> = HashSet::new();
    for round in 0..settings.rounds {
        let most = settings.lines * 7 / (settings.rounds + 1);
        let kill_after = random.between(settings.lines / 2, most);
        let run = run_batch(&settings, scratch, &sandbox, round + 1, Some(kill_after)).await;
        let left: Vec<PathBuf> = files_under(&scratch.path("out"))
            .into_iter()
            .filter(|path| {
                path.extension()
                    .is_some_and(|extension| extension == "part")
            })
            .collect();
        let left_count = left.len();
        partial_files.extend(left);
        eprintln!(
            "run {}: kill after {kill_after} requests: {}, {left_count} partial downloads left",
            round + 1,
            run.describe()
        );
        runs.push(run);
    }
    // Then run again until the batch is over.
    let mut report = Value::Null;
    for rerun in 1..=MAX_RERUNS {
        let number = runs.len() + 1;
        let run = run_batch(&settings, scratch, &sandbox, number, None).await;
        eprintln!("run {number} (rerun {rerun}): {}", run.describe());
        report = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
        let code = run.code;
        runs.push(run);
        if finished(&report) {
            assert_eq!(
                code,
                Some(EXIT_JOB_FAILED),
                "{tag}: the batch ended with failed lines, so its exit code is {EXIT_JOB_FAILED}; stderr:\n{}",
                runs.last().unwrap().tail()
            );
            break;
        }
    }
    let summary: Vec<String> = runs
        .iter()
        .enumerate()
        .map(|(index, run)| format!("run {}: {}", index + 1, run.describe()))
        .collect();
    let summary = summary.join(", ");
    assert!(
        finished(&report),
        "{tag}: not over after {MAX_RERUNS} reruns ({summary}); last report:\n{report:#}\nstderr:\n{}",
        runs.last().unwrap().tail()
    );

    // What the server knows, asked without faults.
    sandbox.clear_faults();
    let client = kling_client::Client::new(kling_client::Credentials::new(
        credentials.key.clone(),
        credentials.secret.clone(),
    ))
    .with_base_url(sandbox.base_url());
    let mut server: HashMap<String, kling_types::api::Job> = HashMap::new();
    for job in sandbox.jobs() {
        let id = kling_types::JobId::new(job.id.clone());
        server.insert(job.id.clone(), client.job(&id).await.unwrap());
    }

    // Exactly one job per line, none for bad lines.
    let jobs = sandbox.jobs();
    let mut wanted: Vec<(&Value, usize)> = Vec::new();
    for request in &requests {
        match wanted
            .iter_mut()
            .find(|(params, _)| **params == request.params)
        {
            Some((_, count)) => *count += 1,
            None => wanted.push((&request.params, 1)),
        }
    }
    for (params, count) in &wanted {
        let started: Vec<&str> = jobs
            .iter()
            .filter(|job| job.input == **params)
            .map(|job| job.id.as_str())
            .collect();
        assert_eq!(
            started.len(),
            *count,
            "{tag}: {count} line(s) ask for {params}, and the server has {} job(s) for it: {started:?}",
            started.len()
        );
    }
    let for_bad: Vec<&str> = jobs
        .iter()
        .filter(|job| matches!(job.input["prompt"].as_str(), Some("soak bad" | "")))
        .map(|job| job.id.as_str())
        .collect();
    assert!(for_bad.is_empty(), "{tag}: jobs for bad lines: {for_bad:?}");
    assert_eq!(
        jobs.len(),
        requests.len(),
        "{tag}: {} jobs for {} lines (bad lines: {bad:?})",
        jobs.len(),
        requests.len()
    );

    // The report: every line, each with a job of its own, and failed exactly where the
    // server says its job failed.
    let lines = report["lines"].as_array().unwrap();
    let by_line: BTreeMap<u64, &Value> = lines
        .iter()
        .filter_map(|line| Some((line["line"].as_u64()?, line)))
        .collect();
    assert_eq!(
        by_line.len(),
        requests.len() + bad.len(),
        "{tag}: the report has a line for each line of the file:\n{report:#}"
    );
    for number in &bad {
        assert_eq!(
            by_line[&(*number as u64)]["status"],
            "bad",
            "{tag}: line {number} is not a request"
        );
    }
    let mut owners: HashMap<&str, usize> = HashMap::new();
    let mut failed = 0;
    let mut done = Vec::new();
    for request in &requests {
        let entry = by_line[&(request.line as u64)];
        let job_id = entry["jobId"].as_str().unwrap_or_else(|| {
            panic!(
                "{tag}: line {} has no job in the report: {entry:#}",
                request.line
            )
        });
        if let Some(other) = owners.insert(job_id, request.line) {
            panic!(
                "{tag}: lines {other} and {} both claim job {job_id} (report:\n{report:#})",
                request.line
            );
        }
        let job = server.get(job_id).unwrap_or_else(|| {
            panic!(
                "{tag}: line {}'s job {job_id} is not on the server",
                request.line
            )
        });
        let input = job
            .metadata
            .as_ref()
            .map(|metadata| Value::Object(metadata.input.clone().into_iter().collect()));
        assert_eq!(
            input.as_ref(),
            Some(&request.params),
            "{tag}: line {}'s job {job_id} is another request's",
            request.line
        );
        let server_status = job.status.to_string();
        match entry["status"].as_str() {
            Some("failed") => {
                failed += 1;
                assert_eq!(
                    server_status, "failure",
                    "{tag}: line {} ended failed, but its job {job_id} did not fail",
                    request.line
                );
            }
            Some("done" | "already done") => {
                assert_eq!(
                    server_status, "success",
                    "{tag}: line {} ended done, but its job {job_id} is {server_status}",
                    request.line
                );
                done.push((request.line, entry, job));
            }
            other => panic!("{tag}: line {} ended {other:?}: {entry:#}", request.line),
        }
    }
    assert_eq!(
        failed, failures,
        "{tag}: {failures} jobs were made to fail, and {failed} lines ended failed"
    );
    assert_eq!(
        report["failed"], failures,
        "{tag}: the report's count of failed lines"
    );
    assert_eq!(
        report["done"],
        requests.len() - failures,
        "{tag}: the report's count of lines done"
    );

    // Every line done has its files, whole: the asset's size, and an mp4.
    let mut expected_files: Vec<PathBuf> = Vec::new();
    for (line, entry, job) in &done {
        let files = entry["files"].as_array().cloned().unwrap_or_default();
        let assets = &job.metadata.as_ref().unwrap().asset_ids;
        assert_eq!(
            files.len(),
            assets.len(),
            "{tag}: line {line} has {} files for {} outputs",
            files.len(),
            assets.len()
        );
        for (file, asset_id) in files.iter().zip(assets) {
            let path = scratch.0.join(file.as_str().unwrap());
            let bytes = std::fs::read(&path).unwrap_or_else(|error| {
                panic!("{tag}: line {line}'s file {file} is missing: {error}")
            });
            let size = client
                .asset(asset_id)
                .await
                .unwrap()
                .properties
                .and_then(|properties| properties.size)
                .unwrap();
            assert_eq!(
                bytes.len() as i64,
                size,
                "{tag}: line {line}'s file {file} is not whole ({} of {size} bytes)",
                bytes.len()
            );
            assert!(
                bytes.len() > 8 && &bytes[4..8] == b"ftyp",
                "{tag}: line {line}'s file {file} is not an mp4 (no ftyp box at its start)"
            );
            expected_files.push(path);
        }
    }

    // Nothing else in the folder: no partial download, no temporary file.
    let out = scratch.path("out");
    let known = [
        ".kling-batch.jsonl",
        ".kling-batch.lock",
        "report.json",
        "index.html",
    ];
    // Each video's record is whole and describes the file as it is (it is written
    // only once the file is); a poster may sit beside it, and a failed line has a
    // record of its own.
    for video in &expected_files {
        let record = video.with_extension("kling.json");
        let record: Value =
            serde_json::from_slice(&std::fs::read(&record).unwrap_or_else(|error| {
                panic!("{tag}: no record beside {}: {error}", video.display())
            }))
            .unwrap_or_else(|error| {
                panic!("{tag}: a torn record beside {}: {error}", video.display())
            });
        let bytes = std::fs::read(video).unwrap();
        assert_eq!(
            record["file"]["size"],
            bytes.len(),
            "{tag}: {}",
            video.display()
        );
        assert_eq!(record["status"], "success", "{tag}: {}", video.display());
    }
    let kept = |path: &Path| {
        path.file_name()
            .map(|name| name.to_string_lossy())
            .is_some_and(|name| {
                !name.starts_with('.')
                    && (name.ends_with(".kling.json") || name.ends_with(".poster.png"))
            })
    };
    let left: Vec<PathBuf> = files_under(&out)
        .into_iter()
        .filter(|path| {
            !expected_files.contains(path)
                && !kept(path)
                && !known
                    .iter()
                    .any(|name| path.file_name().is_some_and(|file| file == *name))
        })
        .collect();
    assert!(
        left.is_empty(),
        "{tag}: left in the output folder, beside the videos, journal and report: {left:?}"
    );
    let on_disk: Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap())
        .unwrap_or_else(|error| panic!("{tag}: report.json is not JSON: {error}"));
    assert_eq!(
        on_disk, report,
        "{tag}: report.json says what the last run printed"
    );

    // The ledger survived every SIGKILL whole, and knows every job the runs started.
    let ledger = rusqlite::Connection::open(scratch.path("data").join("history.sqlite3")).unwrap();
    let integrity: String = ledger
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok", "{tag}: the ledger after the kills");
    let mut statement = ledger
        .prepare("SELECT job_id FROM entries WHERE job_id IS NOT NULL")
        .unwrap();
    let in_ledger: HashSet<String> = statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for job in sandbox.jobs() {
        assert!(
            in_ledger.contains(&job.id),
            "{tag}: job {} was started but the ledger does not know it",
            job.id
        );
    }

    // No secret anywhere: not in what any run printed, not in any file it wrote.
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", credentials.key, credentials.secret));
    let needles: Vec<(String, bool)> = [
        (credentials.secret.clone(), false),
        (credentials.key.clone(), false),
        (basic, false),
        ("Signature=".to_owned(), true),
        ("Key-Pair-Id=".to_owned(), true),
        ("Policy=".to_owned(), true),
        ("Expires=".to_owned(), true),
        ("Authorization".to_owned(), true),
        ("Basic ".to_owned(), false),
    ]
    .into();
    for (index, run) in runs.iter().enumerate() {
        for (stream, shown) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            let shown = without_colours(shown);
            if let Some((needle, at)) = find_any(shown.as_bytes(), &needles) {
                panic!(
                    "{tag}: run {} printed `{needle}` on {stream}: {}",
                    index + 1,
                    line_around(&shown, at)
                );
            }
        }
    }
    for path in files_under(&out)
        .into_iter()
        .chain(files_under(&scratch.path("data")))
    {
        let bytes = std::fs::read(&path).unwrap();
        if let Some((needle, at)) = find_any(&bytes, &needles) {
            panic!(
                "{tag}: {} holds `{needle}`: …{}…",
                path.display(),
                String::from_utf8_lossy(&bytes[at.saturating_sub(80)..(at + 80).min(bytes.len())])
            );
        }
    }
    // And it did soak: every fault was injected, where it was meant to be.
    let injected = sandbox.faults_injected();
    for (kind, prefix) in [
        ("status", "/"),
        ("reset-before-handling", "/"),
        ("reset-after-handling", "/v1/generate/"),
        ("stall-headers", "/"),
        ("truncate-body", "/v1/"),
        ("truncate-body", "/cdn/"),
        ("expired-url", "/v1/assets/"),
        ("unknown-status", "/v1/generate/"),
        ("empty-page", "/v1/jobs"),
        ("job-failure", "/v1/generate/"),
    ] {
        assert!(
            injected
                .iter()
                .any(|record| record.fault.as_deref() == Some(kind)
                    && record.path.starts_with(prefix)),
            "{tag}: no {kind} was injected on {prefix}"
        );
    }
    let mut faults: BTreeMap<String, usize> = BTreeMap::new();
    for record in injected {
        *faults.entry(record.fault.unwrap_or_default()).or_default() += 1;
    }
    eprintln!(
        "soak: {} lines ({failed} failed, {} bad), {} jobs, {} requests, faults {faults:?}, {} partial downloads left by the kills; {summary}",
        requests.len() + bad.len(),
        bad.len(),
        jobs.len(),
        sandbox.requests().len(),
        partial_files.len(),
    );
}
