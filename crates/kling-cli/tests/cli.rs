//! The `kling` binary, run as a user runs it, against a sandbox this test process
//! starts: help texts, validation, `--json` output, every command, exit codes, Ctrl-C
//! and resume, a batch rerun after a crash.
//!
//! These tests live here rather than in the workspace's `tests` package because they
//! need the built `kling` binary (`CARGO_BIN_EXE_kling`), which Cargo gives only to a
//! package's own integration tests.
#![expect(
    clippy::unwrap_used,
    reason = "a test file: a failed step should stop the test with its message"
)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kling_sandbox::{Fault, FaultRule, Sandbox, SandboxConfig, SandboxHandle};

#[path = "cli/batch_files.rs"]
mod batch_files;
#[path = "cli/drift.rs"]
mod drift;
#[path = "cli/install.rs"]
mod install;
#[path = "cli/kept.rs"]
mod kept;
#[path = "cli/soak.rs"]
mod soak;
#[path = "cli/terminal.rs"]
mod terminal;
#[path = "cli/tls.rs"]
mod tls;

/// A folder for one test: the working directory and the data folder of `kling`.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kling-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `kling` with a clean environment: no credentials unless a sandbox is given.
fn kling(scratch: &Scratch, sandbox: Option<&SandboxHandle>, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kling"));
    command
        .args(args)
        .current_dir(&scratch.0)
        .env_remove("SCENARIO_SDK_API_KEY")
        .env_remove("SCENARIO_SDK_API_SECRET")
        .env_remove("SCENARIO_BASE_URL")
        .env_remove("RUST_LOG")
        // What the machine running the tests may have set: proxies, trusted roots, colours.
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env_remove("SSL_CERT_FILE")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("COLUMNS")
        .env("KLING_DATA_DIR", scratch.path("data"))
        .env("KLING_CONFIG", scratch.path("no-config.toml"))
        .env("HOME", &scratch.0);
    // An explicit config file that does not exist is an error: point at an empty one.
    std::fs::write(scratch.path("no-config.toml"), "").unwrap();
    if let Some(sandbox) = sandbox {
        let credentials = sandbox.credentials();
        command
            .env("SCENARIO_BASE_URL", sandbox.base_url())
            .env("SCENARIO_SDK_API_KEY", &credentials.key)
            .env("SCENARIO_SDK_API_SECRET", &credentials.secret);
    }
    command
}

/// Runs a command to its end without blocking the sandbox's runtime.
async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

async fn sandbox(config: SandboxConfig) -> SandboxHandle {
    Sandbox::start(config).await.unwrap()
}

#[test]
fn every_help_text() {
    let scratch = Scratch::new("help");
    let commands: &[&[&str]] = &[
        &[],
        &["generate"],
        &["jobs"],
        &["jobs", "get"],
        &["jobs", "wait"],
        &["jobs", "list"],
        &["jobs", "cancel"],
        &["jobs", "history"],
        &["assets"],
        &["assets", "get"],
        &["assets", "download"],
        &["upload"],
        &["batch"],
        &["rerun"],
        &["spend"],
        &["gallery"],
        &["models"],
        &["models", "schema"],
        &["config"],
        &["completions"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let output = kling(&scratch, None, &args).output().unwrap();
        assert_exit(&output, 0);
        let name = if command.is_empty() {
            "kling".to_owned()
        } else {
            format!("kling {}", command.join(" "))
        };
        insta::with_settings!({ snapshot_suffix => name.replace(' ', "_") }, {
            insta::assert_snapshot!(text(&output.stdout));
        });
    }
}

#[test]
fn validation_shows_every_problem_before_anything_is_sent() {
    let scratch = Scratch::new("validation");
    let cases: &[&[&str]] = &[
        &[
            "generate",
            "--prompt",
            "",
            "--cfg-scale",
            "3",
            "--end-image",
            "asset_end",
        ],
        &["generate", "--cfg-scale", "0.5"],
        &["generate", "--prompt", "x", "--start-image", "missing.png"],
        &["generate", "--prompt", "x", "--duration", "7"],
        &["generate", "--prompt", "x", "--cfg-scale", "-0.5"],
        &["generate", "--prompt", "x", "--model", "model_nope"],
        &[
            "generate",
            "--prompt",
            "x",
            "--reference-image",
            "asset_1",
            "--reference-image",
            "asset_2",
            "--reference-image",
            "asset_3",
            "--reference-image",
            "asset_4",
            "--reference-image",
            "asset_5",
        ],
    ];
    let mut report = String::new();
    for args in cases {
        // No credentials and no sandbox: nothing could be sent, and nothing must be needed.
        let output = kling(&scratch, None, args).output().unwrap();
        assert_exit(&output, 2);
        assert!(output.stdout.is_empty());
        let shown: Vec<&str> = args
            .iter()
            .map(|arg| if arg.is_empty() { "\"\"" } else { arg })
            .collect();
        report.push_str(&format!(
            "$ kling {}\n{}\n",
            shown.join(" "),
            text(&output.stderr)
        ));
    }
    insta::assert_snapshot!(report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_command_makes_a_playable_video() {
    let scratch = Scratch::new("readme");
    let output = run(kling(
        &scratch,
        None,
        &[
            "--sandbox",
            "generate",
            "--prompt",
            "a red fox running through snow",
            "-o",
            "fox.mp4",
        ],
    ))
    .await;
    assert_exit(&output, 0);
    assert_eq!(
        text(&output.stdout),
        "fox.mp4\n",
        "stdout carries only the result"
    );
    let stderr = text(&output.stderr);
    assert!(stderr.contains("success 100%"), "{stderr}");
    let video = std::fs::read(scratch.path("fox.mp4")).unwrap();
    assert_eq!(&video[4..8], b"ftyp");
    assert!(
        video.windows(4).any(|window| window == b"moov")
            && video.windows(4).any(|window| window == b"mdat")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_flags_work_before_or_after_the_command() {
    let scratch = Scratch::new("global");
    for args in [
        [
            "--sandbox",
            "--quiet",
            "generate",
            "--prompt",
            "x",
            "--dry-run",
        ],
        [
            "generate",
            "--prompt",
            "x",
            "--dry-run",
            "--sandbox",
            "--quiet",
        ],
    ] {
        let output = run(kling(&scratch, None, &args)).await;
        assert_exit(&output, 0);
        assert_eq!(text(&output.stdout), "40 creative units\n");
        assert!(
            output.stderr.is_empty(),
            "--quiet: {}",
            text(&output.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output() {
    let scratch = Scratch::new("json");
    let mut shown = String::new();
    for args in [
        &["--sandbox", "--json", "generate", "--prompt", "x", "-q"][..],
        &[
            "--sandbox",
            "--json",
            "generate",
            "--prompt",
            "x",
            "--duration",
            "10",
            "--dry-run",
        ],
        &[
            "--sandbox",
            "--json",
            "generate",
            "--prompt",
            "x",
            "--no-wait",
        ],
        &["--json", "models"],
    ] {
        let output = run(kling(&scratch, None, args)).await;
        assert_exit(&output, 0);
        let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        shown.push_str(&format!(
            "$ kling {}\n{}\n",
            args.join(" "),
            serde_json::to_string_pretty(&value).unwrap()
        ));
    }
    insta::assert_snapshot!(shown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_against_the_api() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("commands");
    let png = scratch.path("cat.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\nnot really").unwrap();

    // A local image is uploaded on the way.
    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &[
            "generate",
            "--prompt",
            "the cat wakes",
            "--start-image",
            png.to_str().unwrap(),
            "-o",
            "clips/",
        ],
    ))
    .await;
    assert_exit(&output, 0);
    let job_id = sandbox.jobs()[0].id.clone();
    assert!(
        sandbox.jobs()[0].input["startImage"]
            .as_str()
            .unwrap()
            .starts_with("asset_")
    );
    assert_eq!(
        text(&output.stdout).trim(),
        Path::new("clips")
            .join(format!("{job_id}.mp4"))
            .display()
            .to_string()
    );

    let output = run(kling(&scratch, Some(&sandbox), &["jobs", "get", &job_id])).await;
    assert_exit(&output, 0);
    assert!(text(&output.stdout).starts_with(&format!("{job_id}  success 100%")));

    let output = run(kling(&scratch, Some(&sandbox), &["jobs", "list", "--json"])).await;
    let jobs: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(jobs[0]["jobId"], job_id.as_str());

    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &["jobs", "wait", &job_id, "-o", "again.mp4"],
    ))
    .await;
    assert_exit(&output, 0);
    assert!(scratch.path("again.mp4").exists());

    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &["jobs", "cancel", &job_id],
    ))
    .await;
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("refused to cancel")
            && text(&output.stderr).contains("keeps running"),
        "{}",
        text(&output.stderr)
    );

    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &["upload", png.to_str().unwrap(), "-q"],
    ))
    .await;
    assert_exit(&output, 0);
    let asset_id = text(&output.stdout).trim().to_owned();
    assert!(asset_id.starts_with("asset_"));

    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &["assets", "get", &asset_id],
    ))
    .await;
    assert_exit(&output, 0);
    assert!(
        !text(&output.stdout).contains("Signature="),
        "the signed URL is redacted in human output"
    );
    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &["assets", "download", &asset_id, "-o", "back.png"],
    ))
    .await;
    assert_exit(&output, 0);
    assert_eq!(
        std::fs::read(scratch.path("back.png")).unwrap(),
        std::fs::read(&png).unwrap()
    );
    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &["assets", "download", "--job", &job_id, "-o", "by-job/"],
    ))
    .await;
    assert_exit(&output, 0);
    assert!(
        scratch
            .path("by-job")
            .join(format!("{job_id}.mp4"))
            .exists()
    );

    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &["jobs", "history", "--json"],
    ))
    .await;
    let history: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(history[0]["jobId"], job_id.as_str());
    assert_eq!(history[0]["status"], "success");
    assert_eq!(history[0]["params"]["prompt"], "the cat wakes");
    assert_eq!(sandbox.jobs().len(), 1, "one paid job in all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_tell_what_happened() {
    let failing = Fault::JobFailure {
        error: "The model could not render this prompt".into(),
        hint: Some("Try a simpler prompt".into()),
    };
    let sandbox = sandbox(
        SandboxConfig::default()
            .with_fault(FaultRule::new(failing).on("POST", "/v1/generate/").times(1)),
    )
    .await;
    let scratch = Scratch::new("exits");

    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &["generate", "--prompt", "x"],
    ))
    .await;
    assert_exit(&output, 4);
    assert!(
        text(&output.stderr).contains(
            "failed: The model could not render this prompt (hint: Try a simpler prompt)"
        ),
        "{}",
        text(&output.stderr)
    );

    let mut wrong = kling(&scratch, Some(&sandbox), &["jobs", "list"]);
    wrong.env("SCENARIO_SDK_API_SECRET", "wrong-secret");
    let output = run(wrong).await;
    assert_exit(&output, 3);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("check SCENARIO_SDK_API_KEY and SCENARIO_SDK_API_SECRET")
            && !stderr.contains("wrong-secret"),
        "{stderr}"
    );

    let output = run(kling(&scratch, None, &["jobs", "list"])).await;
    assert_exit(&output, 3);
    assert!(
        text(&output.stderr).contains("no SCENARIO_SDK_API_KEY")
            && text(&output.stderr).contains("--sandbox")
    );

    let slow =
        self::sandbox(SandboxConfig::default().with_job_duration(Duration::from_secs(3600))).await;
    let output = run(kling(
        &scratch,
        Some(&slow),
        &["generate", "--prompt", "x", "--timeout", "1"],
    ))
    .await;
    assert_exit(&output, 5);
    assert!(
        text(&output.stderr).contains("keeps running on the server"),
        "{}",
        text(&output.stderr)
    );

    let output = run(kling(&scratch, None, &["jobs", "frobnicate"])).await;
    assert_exit(&output, 2);
}

/// Starts `kling`, waits for a line of its stderr containing `marker`, then sends a
/// signal; returns the process's output.
async fn interrupt_when(
    mut command: Command,
    marker: &'static str,
    signal: &'static str,
) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = command
            .stderr(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (seen, seen_lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains(marker) {
                    let _ = seen.send(None);
                }
                lines.push(line);
            }
            let _ = seen.send(Some(lines));
        });
        let started = Instant::now();
        assert!(
            matches!(seen_lines.recv_timeout(Duration::from_secs(30)), Ok(None)),
            "never saw `{marker}`"
        );
        assert!(started.elapsed() < Duration::from_secs(30));
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        let lines = loop {
            match seen_lines.recv_timeout(Duration::from_secs(10)) {
                Ok(Some(lines)) => break lines,
                Ok(None) => continue,
                Err(_) => break Vec::new(),
            }
        };
        Output {
            status: output.status,
            stdout: output.stdout,
            stderr: lines.join("\n").into_bytes(),
        }
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_leaves_the_job_running_and_says_how_to_resume() {
    let sandbox = sandbox(SandboxConfig::default().with_job_duration(Duration::from_secs(3))).await;
    let scratch = Scratch::new("ctrl-c");
    let command = kling(
        &scratch,
        Some(&sandbox),
        &["generate", "--prompt", "interrupted", "-o", "clip.mp4"],
    );
    let output = interrupt_when(command, "started job_", "-INT").await;
    assert_exit(&output, 130);
    let stderr = text(&output.stderr);
    let job_id = sandbox.jobs()[0].id.clone();
    assert!(
        stderr.contains(&format!(
            "pick it up with: kling jobs wait {job_id} -o clip.mp4"
        )),
        "{stderr}"
    );
    assert!(
        !scratch.path("clip.mp4").exists() && !scratch.path(".clip.mp4.part").exists(),
        "no partial file"
    );

    let output = run(kling(&scratch, Some(&sandbox), &["jobs", "wait", "--last"])).await;
    assert_exit(&output, 0);
    assert_eq!(
        text(&output.stdout),
        "clip.mp4\n",
        "the output remembered from the submit"
    );
    assert!(scratch.path("clip.mp4").exists());
    assert_eq!(sandbox.jobs().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_lost_to_a_crash_is_found_again() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("lost");
    // The history says a submit was on its way when the process died; the job exists.
    let client = kling_client::Client::new(kling_client::Credentials::new(
        "sandbox-key",
        "sandbox-secret",
    ))
    .with_base_url(sandbox.base_url());
    let params = serde_json::json!({"prompt": "lost in a crash"});
    let history = format!(
        "{}\n{{\"entry\":\"torn",
        serde_json::json!({"entry": "e1", "at": kling_types::__private::time::format_iso8601(std::time::SystemTime::now()), "event": "submitting", "model": "model_kling-v1-6-pro", "params": params, "output": "lost.mp4"})
    );
    std::fs::write(scratch.path("data").join("history.jsonl"), history).unwrap();
    client
        .submit_json("model_kling-v1-6-pro", params)
        .await
        .unwrap();

    let output = run(kling(&scratch, Some(&sandbox), &["jobs", "history"])).await;
    assert!(
        text(&output.stdout).contains("answer lost"),
        "{}",
        text(&output.stdout)
    );
    let output = run(kling(&scratch, Some(&sandbox), &["jobs", "wait", "--last"])).await;
    assert_exit(&output, 0);
    assert!(
        text(&output.stderr).contains("found job_"),
        "{}",
        text(&output.stderr)
    );
    assert!(scratch.path("lost.mp4").exists());
    assert_eq!(sandbox.jobs().len(), 1, "found, not submitted again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_rerun_after_a_crash_submits_nothing_twice() {
    let sandbox =
        sandbox(SandboxConfig::default().with_job_duration(Duration::from_millis(1500))).await;
    let scratch = Scratch::new("batch");
    let lines: Vec<String> = (1..=6)
        .map(|n| format!("{{\"prompt\": \"clip {n}\", \"name\": \"clip-{n}\"}}"))
        .chain(["{\"prompt\": \"\"}".to_owned(), "oops".to_owned()])
        .collect();
    std::fs::write(scratch.path("batch.jsonl"), lines.join("\n")).unwrap();

    // Killed without warning while the first jobs run.
    let command = kling(
        &scratch,
        Some(&sandbox),
        &["batch", "batch.jsonl", "--out", "out", "--concurrency", "2"],
    );
    let crashed = interrupt_when(command, "requests from", "-KILL").await;
    assert_eq!(crashed.status.code(), None, "killed by a signal");

    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &[
            "batch",
            "batch.jsonl",
            "--out",
            "out",
            "--concurrency",
            "3",
            "--json",
        ],
    ))
    .await;
    assert_exit(&output, 2);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (
            report["total"].clone(),
            report["done"].clone(),
            report["bad"].clone()
        ),
        (8.into(), 6.into(), 2.into()),
        "{report:#}"
    );
    let bad: Vec<u64> = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line["status"] == "bad")
        .map(|line| line["line"].as_u64().unwrap())
        .collect();
    assert_eq!(bad, [7, 8], "bad lines are named by number");
    for n in 1..=6 {
        assert!(
            scratch.path("out").join(format!("clip-{n}.mp4")).exists(),
            "clip {n}"
        );
    }
    let mut prompts: Vec<String> = sandbox
        .jobs()
        .iter()
        .map(|job| job.input["prompt"].as_str().unwrap().to_owned())
        .collect();
    prompts.sort();
    assert_eq!(
        prompts,
        (1..=6).map(|n| format!("clip {n}")).collect::<Vec<_>>(),
        "each line submitted exactly once"
    );
    assert!(scratch.path("out").join("report.json").exists());
    let leftovers: Vec<_> = std::fs::read_dir(scratch.path("out"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn config_shows_sources_and_masks_secrets() {
    let scratch = Scratch::new("config");
    std::fs::write(
        scratch.path("kling.toml"),
        "api_key = \"key-from-file\"\napi_secret = \"secret-from-file\"\n",
    )
    .unwrap();
    let mut command = kling(
        &scratch,
        None,
        &["config", "--base-url", "http://127.0.0.1:9/v1"],
    );
    command
        .env("KLING_CONFIG", scratch.path("kling.toml"))
        .env("SCENARIO_SDK_API_SECRET", "secret-from-env");
    let output = command.output().unwrap();
    assert_exit(&output, 0);
    let shown = text(&output.stdout);
    assert!(
        shown.contains("api key     key… (13 characters)  [config file"),
        "{shown}"
    );
    assert!(
        shown.contains("api secret  sec… (15 characters)  [environment SCENARIO_SDK_API_SECRET]"),
        "{shown}"
    );
    assert!(
        shown.contains("base URL    http://127.0.0.1:9/v1  [flag --base-url]"),
        "{shown}"
    );
    assert!(
        !shown.contains("secret-from") && !shown.contains("key-from-file"),
        "{shown}"
    );

    // The spending controls and the drift check show as the config file sets them.
    std::fs::write(
        scratch.path("spend.toml"),
        "max_cu = 1200\nstrict_schema = true\n",
    )
    .unwrap();
    let mut command = kling(&scratch, None, &["config"]);
    command
        .env("KLING_CONFIG", scratch.path("spend.toml"))
        .env("KLING_NO_SPEND", "1");
    let output = command.output().unwrap();
    assert_exit(&output, 0);
    let shown = text(&output.stdout);
    assert!(
        shown.contains("spending    no paid submit [environment KLING_NO_SPEND]; at most 1200 CU a command [config file"),
        "{shown}"
    );
    assert!(
        shown.contains("drift check on, strict: refuses a breaking drift"),
        "{shown}"
    );

    std::fs::write(scratch.path("bad.toml"), "api_token = 1\n").unwrap();
    let mut command = kling(&scratch, None, &["config"]);
    command.env("KLING_CONFIG", scratch.path("bad.toml"));
    let output = command.output().unwrap();
    assert_exit(&output, 2);
    assert!(
        text(&output.stderr).contains("is not valid"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn completions_for_every_shell() {
    let scratch = Scratch::new("completions");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = kling(&scratch, None, &["completions", shell])
            .output()
            .unwrap();
        assert_exit(&output, 0);
        let script = text(&output.stdout);
        assert!(
            script.contains("generate") && script.contains("reference-image"),
            "{shell}"
        );
    }
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let scratch = Scratch::new("pipe");
    let mut child = kling(&scratch, None, &["completions", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_exit(&output, 0);
    assert!(output.stderr.is_empty(), "{}", text(&output.stderr));
}

#[test]
fn models_show_their_parameters() {
    let scratch = Scratch::new("models");
    let output = kling(&scratch, None, &["models", "model_kling-v1-6-pro"])
        .output()
        .unwrap();
    assert_exit(&output, 0);
    insta::assert_snapshot!(text(&output.stdout));
    let output = kling(&scratch, None, &["models", "model_nope"])
        .output()
        .unwrap();
    assert_exit(&output, 2);
    let output = kling(
        &scratch,
        None,
        &["models", "model_kling-v1-6-pro", "--json"],
    )
    .output()
    .unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(schema["x-model-id"], "model_kling-v1-6-pro");
}

#[test]
fn models_schema_prints_the_api_description() {
    let scratch = Scratch::new("models-schema");
    let output = kling(
        &scratch,
        None,
        &["--sandbox", "models", "schema", "model_kling-v1-6-pro"],
    )
    .output()
    .unwrap();
    assert_exit(&output, 0);
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with("{\n  \"model\": {"),
        "pretty JSON: {stdout}"
    );
    let description: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(description["model"]["id"], "model_kling-v1-6-pro");
    let names: Vec<&str> = description["model"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|input| input["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "prompt",
            "startImage",
            "endImage",
            "negativePrompt",
            "referenceImages",
            "aspectRatio",
            "cfgScale",
            "duration"
        ]
    );
    // Untouched: the fields a model description has beyond what kling uses are there.
    assert_eq!(description["model"]["inputs"][6]["min"], 0);
    assert_eq!(
        description["model"]["inputs"][0]["required"],
        serde_json::json!({"always": true})
    );

    let output = kling(
        &scratch,
        None,
        &["--sandbox", "models", "schema", "model_nope"],
    )
    .output()
    .unwrap();
    assert_exit(&output, 1);
    assert!(output.stdout.is_empty());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot fetch the description of model_nope")
            && stderr.contains("404")
            && stderr.contains("check the id"),
        "{stderr}"
    );

    let output = kling(&scratch, None, &["models", "schema"])
        .output()
        .unwrap();
    assert_exit(&output, 2);
    assert!(text(&output.stderr).contains("<ID>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_and_models_id_still_need_no_api() {
    let scratch = Scratch::new("models-local");
    // No credentials, no sandbox: the built-in models are listed and shown.
    let output = run(kling(&scratch, None, &["models"])).await;
    assert_exit(&output, 0);
    assert!(text(&output.stdout).contains("model_kling-v1-6-pro"));
    let output = run(kling(&scratch, None, &["models", "model_kling-v1-6-pro"])).await;
    assert_exit(&output, 0);
    assert!(text(&output.stdout).contains("--cfg-scale"));
    // `models schema` asks the API given by the environment.
    let api = sandbox(SandboxConfig::default()).await;
    let output = run(kling(
        &scratch,
        Some(&api),
        &["models", "schema", "model_kling-v1-6-pro"],
    ))
    .await;
    assert_exit(&output, 0);
    let description: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(description["model"]["inputs"].as_array().unwrap().len(), 8);
}

// ---------------------------------------------------------------------------------------
// CLI hardening (issue 12): signals, the output check before anything is paid, jobs that
// succeed without outputs, every problem at once, error texts, checked conversions.
// These tests are plain blocking code: the sandbox runs on a runtime of its own.
// ---------------------------------------------------------------------------------------

/// A sandbox served by a runtime of its own thread.
struct Served {
    // Dropped first: the server stops, then its runtime.
    sandbox: SandboxHandle,
    _runtime: tokio::runtime::Runtime,
}

impl std::ops::Deref for Served {
    type Target = SandboxHandle;

    fn deref(&self) -> &SandboxHandle {
        &self.sandbox
    }
}

fn served(config: SandboxConfig) -> Served {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sandbox = runtime.block_on(Sandbox::start(config)).unwrap();
    Served {
        sandbox,
        _runtime: runtime,
    }
}

/// A `kling` running in the background, its stderr read line by line as it comes.
struct Running {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (30 s at most) for a line of stderr containing `marker`.
    #[track_caller]
    fn wait_for(&mut self, marker: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(marker);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("never saw `{marker}` in:\n{}", self.seen.join("\n"));
    }

    /// Waits (30 s at most) until `done` holds.
    #[track_caller]
    fn wait_until(&mut self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < deadline, "never {what}");
            assert!(self.is_running(), "kling ended before {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, signal).unwrap();
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits (`within` at most) for the end: the output, with every line of stderr.
    #[track_caller]
    fn finish(mut self, within: Duration) -> Output {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "kling still ran after {within:?}:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stdout = Vec::new();
        std::io::Read::read_to_end(&mut self.child.stdout.take().unwrap(), &mut stdout).unwrap();
        // The reader ends with the pipe.
        self.seen.extend(self.lines.iter());
        Output {
            status,
            stdout,
            stderr: self.seen.join("\n").into_bytes(),
        }
    }
}

/// The events of the ledger, in order.
#[track_caller]
fn history_events(scratch: &Scratch) -> Vec<String> {
    let ledger = rusqlite::Connection::open(scratch.path("data").join("history.sqlite3")).unwrap();
    let mut statement = ledger
        .prepare("SELECT kind FROM events ORDER BY id")
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Files whose name ends with `.part` in `dir` and below.
fn partial_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            found.extend(partial_files(&path));
        } else if path.to_string_lossy().ends_with(".part") {
            found.push(path);
        }
    }
    found
}

#[test]
fn sigterm_and_sighup_stop_like_ctrl_c_with_the_exit_code_of_the_signal() {
    use nix::sys::signal::Signal;
    let sandbox = served(SandboxConfig::default().with_job_duration(Duration::from_secs(2)));
    for (signal, code) in [
        (Signal::SIGTERM, 143),
        (Signal::SIGHUP, 129),
        (Signal::SIGINT, 130),
    ] {
        let scratch = Scratch::new(&format!("signal-{signal}"));
        let jobs_before = sandbox.jobs().len();
        let mut running = Running::start(kling(
            &scratch,
            Some(&sandbox),
            &["generate", "--prompt", "stopped", "-o", "clip.mp4"],
        ));
        running.wait_for("started job_");
        running.signal(signal);
        let output = running.finish(Duration::from_secs(10));
        assert_exit(&output, code);
        let job_id = sandbox.jobs()[jobs_before].id.clone();
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "error: interrupted: job {job_id} keeps running on the server; pick it up with: kling jobs wait {job_id} -o clip.mp4"
            )),
            "{signal}: {stderr}"
        );
        assert!(!scratch.path("clip.mp4").exists(), "{signal}");
        assert_eq!(partial_files(&scratch.0), Vec::<PathBuf>::new(), "{signal}");
        assert_eq!(
            history_events(&scratch),
            ["submitting", "submitted", "cost"],
            "{signal}"
        );

        // The history is enough to pick the job up.
        let output = kling(&scratch, Some(&sandbox), &["jobs", "wait", "--last"])
            .output()
            .unwrap();
        assert_exit(&output, 0);
        assert_eq!(text(&output.stdout), "clip.mp4\n", "{signal}");
        assert_eq!(sandbox.jobs().len(), jobs_before + 1, "{signal}: one job");
    }
}

#[test]
fn a_signal_during_a_download_leaves_no_partial_file() {
    // kling_client streams into `.clip.mp4.part` and removes it when the download's future
    // is dropped: the signal drops it halfway.
    let sandbox = served(
        SandboxConfig::default()
            .with_job_duration(Duration::from_millis(200))
            .with_output_size(4 << 20)
            .with_fault(
                FaultRule::new(Fault::SlowBody {
                    bytes_per_sec: 256 << 10,
                })
                .on("GET", "/cdn/"),
            ),
    );
    let scratch = Scratch::new("signal-download");
    let part = scratch.path(".clip.mp4.part");
    let mut running = Running::start(kling(
        &scratch,
        Some(&sandbox),
        &["generate", "--prompt", "cut short", "-o", "clip.mp4"],
    ));
    running.wait_until("saw the partial file grow", || {
        std::fs::metadata(&part).is_ok_and(|meta| meta.len() > 0)
    });
    running.signal(nix::sys::signal::Signal::SIGTERM);
    let output = running.finish(Duration::from_secs(10));
    assert_exit(&output, 143);
    let job_id = sandbox.jobs()[0].id.clone();
    assert!(
        text(&output.stderr).contains(&format!(
            "error: interrupted: nothing was left at clip.mp4; job {job_id} keeps running on the server; pick it up with: kling jobs wait {job_id} -o clip.mp4"
        )),
        "{}",
        text(&output.stderr)
    );
    assert!(!part.exists() && !scratch.path("clip.mp4").exists());
    assert_eq!(partial_files(&scratch.0), Vec::<PathBuf>::new());
    assert_eq!(
        history_events(&scratch),
        ["submitting", "submitted", "cost", "finished", "cost"],
        "the job ended, nothing was downloaded"
    );

    sandbox.clear_faults();
    let output = kling(&scratch, Some(&sandbox), &["jobs", "wait", "--last"])
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert_eq!(
        std::fs::metadata(scratch.path("clip.mp4")).unwrap().len(),
        4 << 20
    );
    assert_eq!(
        history_events(&scratch),
        [
            "submitting",
            "submitted",
            "cost",
            "finished",
            "cost",
            "finished",
            "cost",
            "downloaded"
        ]
    );
}

#[test]
fn a_second_signal_stops_at_once_even_when_kling_is_stuck() {
    use std::os::unix::fs::OpenOptionsExt as _;

    use nix::sys::signal::Signal;
    let scratch = Scratch::new("second-signal");
    // Reading a config file that is a FIFO nobody writes to blocks the command's thread.
    let fifo = scratch.path("config.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let mut command = kling(&scratch, None, &["jobs", "list"]);
    command.env("KLING_CONFIG", &fifo);
    let mut running = Running::start(command);
    // Once kling has the FIFO open for reading (the signal watcher is up by then), hold
    // its other end open without writing: kling's one runtime thread waits in `read`.
    let mut writer = None;
    running.wait_until("opened the FIFO", || {
        writer = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&fifo)
            .ok();
        writer.is_some()
    });
    running.signal(Signal::SIGTERM);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        running.is_running(),
        "the first signal waits for a safe point"
    );
    running.signal(Signal::SIGINT);
    let output = running.finish(Duration::from_secs(5));
    drop(writer);
    assert_exit(&output, 130);
    assert!(
        text(&output.stderr).contains("error: SIGINT after SIGTERM: stopped at once"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn nothing_is_paid_for_that_cannot_be_saved() {
    let sandbox = served(SandboxConfig::default().with_job_duration(Duration::ZERO));
    let scratch = Scratch::new("unsaveable");
    std::fs::write(scratch.path("afile"), "a regular file").unwrap();
    let png = scratch.path("cat.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let png = png.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "generate",
                "--prompt",
                "x",
                "--start-image",
                png,
                "-o",
                "afile/x.mp4",
            ],
            "cannot save to afile/x.mp4: afile is a file, not a folder: give -o a path in a folder you can write to",
        ),
        (
            &["generate", "--prompt", "x", "-o", "afile/"],
            "cannot save to afile/: afile is a file, not a folder",
        ),
        (
            &[
                "generate",
                "--prompt",
                "x",
                "--no-wait",
                "-o",
                "afile/deeper/x.mp4",
            ],
            "cannot save to afile/deeper/x.mp4: afile is a file, not a folder",
        ),
        (
            &["jobs", "wait", "job_x", "-o", "afile/x.mp4"],
            "cannot save to afile/x.mp4: afile is a file",
        ),
        (
            &["assets", "download", "asset_x", "-o", "afile/x.png"],
            "cannot save to afile/x.png: afile is a file",
        ),
        (
            &["assets", "download", "--job", "job_x", "-o", "afile/clips/"],
            "cannot save to afile/clips/: afile is a file",
        ),
    ];
    for (args, message) in cases {
        let output = kling(&scratch, Some(&sandbox), args).output().unwrap();
        assert_exit(&output, 2);
        assert!(
            text(&output.stderr).contains(message),
            "{args:?}: {}",
            text(&output.stderr)
        );
        assert_eq!(sandbox.requests(), [], "{args:?}: nothing is sent");
    }

    // A history that cannot be written stops a generate before anything is sent.
    let mut command = kling(&scratch, Some(&sandbox), &["generate", "--prompt", "x"]);
    command.env("KLING_DATA_DIR", scratch.path("afile").join("kling"));
    let output = command.output().unwrap();
    assert_exit(&output, 2);
    let history = scratch.path("afile").join("kling").join("history.sqlite3");
    assert!(
        text(&output.stderr).contains(&format!(
            "cannot write the job history {}: {} is a file, not a folder: set KLING_DATA_DIR to a folder you can write to",
            history.display(),
            scratch.path("afile").display()
        )),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(sandbox.requests(), []);

    // A folder that cannot be written to (unless this runs as root, who writes anywhere).
    let locked = scratch.path("locked");
    std::fs::create_dir(&locked).unwrap();
    let mut permissions = std::fs::metadata(&locked).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o555);
    std::fs::set_permissions(&locked, permissions).unwrap();
    if std::fs::write(locked.join("root-writes-anyway"), "").is_err() {
        let output = kling(
            &scratch,
            Some(&sandbox),
            &["generate", "--prompt", "x", "-o", "locked/x.mp4"],
        )
        .output()
        .unwrap();
        assert_exit(&output, 2);
        assert!(
            text(&output.stderr).contains(
                "cannot save to locked/x.mp4: cannot create a file in locked (give -o a path in a folder you can write to): Permission denied"
            ),
            "{}",
            text(&output.stderr)
        );
        assert_eq!(sandbox.requests(), []);
    }

    // Missing folders are made, and the check leaves nothing behind.
    let output = kling(
        &scratch,
        Some(&sandbox),
        &["generate", "--prompt", "x", "-o", "new/deeper/clip.mp4"],
    )
    .output()
    .unwrap();
    assert_exit(&output, 0);
    let mut made: Vec<_> = std::fs::read_dir(scratch.path("new/deeper"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    made.sort();
    assert_eq!(
        made,
        ["clip.kling.json", "clip.mp4", "clip.poster.png"],
        "the video, its record and its poster, and no probe"
    );
    assert_eq!(sandbox.jobs().len(), 1);
}

/// A stand-in of the API on 127.0.0.1:0 that answers canned JSON by method and path, for
/// answers the sandbox does not give: a job that succeeds without outputs, an asset in
/// error. Everything else is a 404. Returns the base URL (with `/v1`).
fn canned_api(answers: &[(&str, serde_json::Value)]) -> String {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    let answers: Vec<(String, String)> = answers
        .iter()
        .map(|(route, body)| ((*route).to_owned(), body.to_string()))
        .collect();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            let _ = stream.read_exact(&mut vec![0; length]);
            let mut words = head.split_whitespace();
            let request = format!(
                "{} {}",
                words.next().unwrap_or(""),
                words.next().unwrap_or("").split('?').next().unwrap_or("")
            );
            let (status, body) = answers.iter().find(|(route, _)| *route == request).map_or(
                ("404 Not Found", r#"{"reason": "not here"}"#),
                |(_, body)| ("200 OK", body.as_str()),
            );
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base_url
}

#[test]
fn a_job_that_succeeds_without_outputs_or_with_one_in_error_is_an_error() {
    let job = |id: &str, assets: &[&str]| serde_json::json!({"job": {"jobId": id, "status": "success", "progress": 1, "metadata": {"assetIds": assets}}});
    let api = canned_api(&[
        (
            "POST /v1/generate/custom/model_kling-v1-6-pro",
            serde_json::json!({"job": {"jobId": "job_empty", "status": "queued"}, "creativeUnitsCost": 40}),
        ),
        ("GET /v1/jobs/job_empty", job("job_empty", &[])),
        (
            "GET /v1/jobs/job_broken",
            job("job_broken", &["asset_broken"]),
        ),
        (
            "GET /v1/assets/asset_broken",
            serde_json::json!({"asset": {"id": "asset_broken", "status": "error"}}),
        ),
    ]);
    let scratch = Scratch::new("no-outputs");
    let empty = "job job_empty succeeded but has no outputs to download: the API lists no asset for it; `kling jobs get job_empty` shows the job";
    let broken = "asset asset_broken of job job_broken is in error on the server: there is no file to download; `kling assets get asset_broken` shows it";
    let cases: &[(&[&str], &str)] = &[
        (&["generate", "--prompt", "x", "-o", "clip.mp4"], empty),
        (&["jobs", "wait", "job_empty"], empty),
        (&["assets", "download", "--job", "job_empty"], empty),
        (&["jobs", "wait", "job_broken", "-o", "clips/"], broken),
        (&["assets", "download", "--job", "job_broken"], broken),
        (
            &["assets", "download", "asset_broken"],
            "asset asset_broken is in error on the server: there is no file to download; `kling assets get asset_broken` shows it",
        ),
    ];
    for (args, message) in cases {
        let mut command = kling(&scratch, None, args);
        command
            .env("SCENARIO_BASE_URL", &api)
            .env("SCENARIO_SDK_API_KEY", "key")
            .env("SCENARIO_SDK_API_SECRET", "secret");
        let output = command.output().unwrap();
        assert_exit(&output, 1);
        assert!(
            text(&output.stderr).contains(&format!("error: {message}")),
            "{args:?}: {}",
            text(&output.stderr)
        );
        assert!(output.stdout.is_empty(), "{args:?}: no file to show");
    }
    // The history says how the job ended (once for the generate, once for `jobs wait`),
    // and that nothing was downloaded.
    assert_eq!(
        history_events(&scratch),
        ["submitting", "submitted", "cost", "finished", "finished"]
    );
}

#[test]
fn bad_values_of_any_kind_are_listed_with_every_other_problem() {
    let scratch = Scratch::new("all-problems");
    let cases: &[&[&str]] = &[
        &["generate", "--cfg-scale", "1.5", "--duration", "7"],
        &[
            "generate",
            "--prompt",
            "x",
            "--aspect-ratio",
            "4:3",
            "--cfg-scale",
            "nan",
            "--duration",
            "",
        ],
        &[
            "generate",
            "--prompt",
            "x",
            "--cfg-scale",
            "high",
            "--start-image",
            "missing.png",
            "--end-image",
            "asset_end",
        ],
        &[
            "generate",
            "--prompt",
            "x",
            "--reference-image",
            "missing.png",
            "--reference-image",
            "asset_2",
            "--reference-image",
            "asset_3",
            "--reference-image",
            "asset_4",
            "--reference-image",
            "asset_5",
        ],
    ];
    let mut report = String::new();
    for args in cases {
        // No credentials and no sandbox: nothing could be sent, and nothing must be needed.
        let output = kling(&scratch, None, args).output().unwrap();
        assert_exit(&output, 2);
        let shown: Vec<&str> = args
            .iter()
            .map(|arg| if arg.is_empty() { "\"\"" } else { arg })
            .collect();
        report.push_str(&format!(
            "$ kling {}\n{}\n",
            shown.join(" "),
            text(&output.stderr)
        ));
    }
    insta::assert_snapshot!(report);
}

#[test]
fn error_messages_say_each_cause_once() {
    let sandbox = served(SandboxConfig::default().with_job_duration(Duration::ZERO));
    let canned = canned_api(&[
        (
            "GET /v1/jobs/job_empty",
            serde_json::json!({"job": {"jobId": "job_empty", "status": "success", "metadata": {"assetIds": []}}}),
        ),
        (
            "GET /v1/assets/asset_broken",
            serde_json::json!({"asset": {"id": "asset_broken", "status": "error"}}),
        ),
    ]);
    // A port nobody listens on any more.
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", listener.local_addr().unwrap())
    };
    let scratch = Scratch::new("messages");
    std::fs::write(scratch.path("afile"), "a regular file").unwrap();
    std::fs::write(scratch.path("not-an-image.png"), "plain text").unwrap();
    std::fs::write(scratch.path("unknown-key.toml"), "api_token = \"x\"\n").unwrap();
    std::fs::write(
        scratch.path("syntax.toml"),
        "api_key = \"k\"\nbase_url = \n",
    )
    .unwrap();
    std::fs::write(scratch.path("binary.toml"), b"api_key = \"\xff\"\n").unwrap();
    let scratch_dir = scratch.0.display().to_string();
    let afile_history = format!("{scratch_dir}/afile/kling");

    /// A command line, with the API it talks to (if any) and more environment.
    struct Case<'a> {
        api: Option<&'a str>,
        env: Vec<(&'a str, &'a str)>,
        args: &'a [&'a str],
    }
    let at = |api, args| Case {
        api: Some(api),
        env: Vec::new(),
        args,
    };
    let config = |file| Case {
        api: None,
        env: vec![("KLING_CONFIG", file)],
        args: &["config"],
    };
    let at_sandbox = sandbox.base_url();
    let cases = [
        at(
            at_sandbox,
            &["generate", "--prompt", "x", "-o", "afile/x.mp4"],
        ),
        at(at_sandbox, &["generate", "--prompt", "x", "-o", "afile/"]),
        at(at_sandbox, &["jobs", "wait", "job_x", "-o", "afile/x.mp4"]),
        at(
            at_sandbox,
            &["assets", "download", "asset_x", "-o", "afile/x.png"],
        ),
        Case {
            api: Some(at_sandbox),
            env: vec![("KLING_DATA_DIR", &afile_history)],
            args: &["generate", "--prompt", "x"],
        },
        at(at_sandbox, &["upload", "missing.png"]),
        at(at_sandbox, &["upload", "."]),
        at(
            at_sandbox,
            &[
                "generate",
                "--prompt",
                "x",
                "--start-image",
                "not-an-image.png",
            ],
        ),
        at(at_sandbox, &["assets", "download", "asset_nope"]),
        at(at_sandbox, &["jobs", "get", "job_nope"]),
        at(&canned, &["jobs", "wait", "job_empty"]),
        at(&canned, &["assets", "download", "asset_broken"]),
        at(&refused, &["jobs", "list"]),
        config("unknown-key.toml"),
        config("syntax.toml"),
        config("binary.toml"),
        config("."),
        config("missing.toml"),
    ];
    let normalize = |text: &str| {
        let text = text
            .replace(sandbox.base_url(), "[sandbox]")
            .replace(&canned, "[canned api]")
            .replace(&refused, "[nobody listening]")
            .replace(&scratch_dir, "[scratch]");
        // Request ids count the sandbox's requests.
        let mut words: Vec<String> = Vec::new();
        for word in text.split(' ') {
            match word.strip_prefix("req_") {
                Some(rest) => words.push(format!(
                    "req_[id]{}",
                    rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric())
                )),
                None => words.push(word.to_owned()),
            }
        }
        words.join(" ")
    };
    let mut report = String::new();
    for Case { api, env, args } in cases {
        let mut command = kling(&scratch, None, args);
        let mut shown_env = String::new();
        if let Some(base_url) = api {
            command
                .env("SCENARIO_BASE_URL", base_url)
                .env("SCENARIO_SDK_API_KEY", &sandbox.credentials().key)
                .env("SCENARIO_SDK_API_SECRET", &sandbox.credentials().secret);
            shown_env.push_str(&format!("SCENARIO_BASE_URL={base_url} "));
        }
        for (name, value) in env {
            command.env(name, value);
            shown_env.push_str(&format!("{name}={value} "));
        }
        let output = command.output().unwrap();
        let errors: Vec<&str> = std::str::from_utf8(&output.stderr)
            .unwrap()
            .lines()
            .filter(|line| line.starts_with("error:") || line.starts_with("warning:"))
            .collect();
        assert_eq!(errors.len(), 1, "{args:?}: {}", text(&output.stderr));
        // The error, and the problems it lists below it (indented).
        let stderr = text(&output.stderr);
        let message: Vec<&str> = stderr
            .lines()
            .skip_while(|line| *line != errors[0])
            .take_while(|line| *line == errors[0] || line.starts_with("  "))
            .collect();
        // Each cause once: no part of a line (between `: `) comes twice in a row.
        for line in &message {
            let parts: Vec<&str> = line.split(": ").collect();
            assert!(
                parts.windows(2).all(|pair| pair[0] != pair[1]),
                "{args:?}: {line}"
            );
        }
        let message = message.join("\n");
        report.push_str(&normalize(&format!(
            "$ {shown_env}kling {}\n{message}\n(exit {})\n\n",
            args.join(" "),
            output.status.code().unwrap()
        )));
    }
    insta::assert_snapshot!(report);
}

#[test]
fn extreme_values_from_flags_env_and_files_do_not_panic() {
    use std::os::unix::ffi::OsStrExt as _;
    let sandbox = served(SandboxConfig::default().with_job_duration(Duration::ZERO));
    let scratch = Scratch::new("extremes");
    let huge = u64::MAX.to_string();
    let output = kling(
        &scratch,
        Some(&sandbox),
        &[
            "generate",
            "--prompt",
            "x",
            "--timeout",
            &huge,
            "-o",
            "a.mp4",
        ],
    )
    .output()
    .unwrap();
    assert_exit(&output, 0);
    let job_id = sandbox.jobs()[0].id.clone();
    let usize_max = usize::MAX.to_string();
    let runs: &[(&[&str], i32)] = &[
        (
            &["jobs", "wait", &job_id, "--timeout", &huge, "-o", "b.mp4"],
            0,
        ),
        (&["jobs", "list", "--limit", &usize_max], 0),
        (&["jobs", "history", "--limit", &usize_max], 0),
        (&["generate", "--prompt", "x", "--cfg-scale", "1e400"], 2),
        (&["generate", "--prompt", "x", "--timeout", "-1"], 2),
        (
            &[
                "generate",
                "--prompt",
                "x",
                "--timeout",
                "18446744073709551616",
            ],
            2,
        ),
    ];
    for (args, code) in runs {
        let output = kling(&scratch, Some(&sandbox), args).output().unwrap();
        assert_exit(&output, *code);
        assert!(!text(&output.stderr).contains("panicked"), "{args:?}");
    }

    // A history date no clock can hold (a hand-edited or corrupted file).
    let params = serde_json::json!({"prompt": "from the far future"});
    let line = serde_json::json!({"entry": "e1", "at": "9223372036854775807-12-31T23:59:59Z", "event": "submitting", "model": "model_kling-v1-6-pro", "params": params, "output": null});
    std::fs::write(
        scratch.path("data").join("history.jsonl"),
        format!("{line}\n"),
    )
    .unwrap();
    let output = kling(&scratch, Some(&sandbox), &["jobs", "wait", "--last"])
        .output()
        .unwrap();
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("started no job the API knows of"),
        "{}",
        text(&output.stderr)
    );

    // A credential that is not text is named, not taken for a missing one.
    let mut command = kling(&scratch, Some(&sandbox), &["jobs", "list"]);
    command.env(
        "SCENARIO_SDK_API_KEY",
        std::ffi::OsStr::from_bytes(b"key-\xff"),
    );
    let output = command.output().unwrap();
    assert_exit(&output, 2);
    assert!(
        text(&output.stderr)
            .contains("SCENARIO_SDK_API_KEY is not valid UTF-8: set it to text, or unset it"),
        "{}",
        text(&output.stderr)
    );
    // A data folder whose name is not UTF-8 is still a folder.
    let odd = scratch.0.join(std::ffi::OsStr::from_bytes(b"data-\xff"));
    let mut command = kling(
        &scratch,
        Some(&sandbox),
        &["generate", "--prompt", "x", "-o", "c.mp4"],
    );
    command.env("KLING_DATA_DIR", &odd);
    let output = command.output().unwrap();
    assert_exit(&output, 0);
    assert!(odd.join("history.sqlite3").exists());
}

// ---------------------------------------------------------------------------------
// `kling batch` at scale: edits of the file, two runs at once, spending controls,
// retries within the run.
// ---------------------------------------------------------------------------------

/// Writes a batch file of one request per prompt.
fn batch_file(scratch: &Scratch, prompts: &[&str]) {
    let lines: Vec<String> = prompts
        .iter()
        .map(|prompt| format!("{{\"prompt\": \"{prompt}\"}}"))
        .collect();
    std::fs::write(scratch.path("batch.jsonl"), lines.join("\n")).unwrap();
}

/// Runs `kling batch batch.jsonl --out out --json` (plus `extra`) to its end.
async fn run_batch(
    scratch: &Scratch,
    sandbox: &SandboxHandle,
    extra: &[&str],
) -> (Output, serde_json::Value) {
    let mut args = vec!["batch", "batch.jsonl", "--out", "out", "--json"];
    if !extra.contains(&"--concurrency") {
        args.extend(["--concurrency", "8"]);
    }
    args.extend_from_slice(extra);
    let output = run(kling(scratch, Some(sandbox), &args)).await;
    let report = serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null);
    (output, report)
}

/// How many jobs the sandbox started for each prompt.
fn jobs_per_prompt(sandbox: &SandboxHandle) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for job in sandbox.jobs() {
        *counts
            .entry(job.input["prompt"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    counts
}

fn statuses(report: &serde_json::Value) -> Vec<(Option<u64>, String)> {
    report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (
                line["line"].as_u64(),
                line["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_the_batch_file_never_pays_for_a_request_twice() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("batch-edits");
    batch_file(&scratch, &["a", "b", "c", "d"]);
    let (output, _) = run_batch(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 0);

    // Two new lines at the top: the four old ones are where they were in the journal.
    batch_file(&scratch, &["new 1", "new 2", "a", "b", "c", "d"]);
    let (output, report) = run_batch(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 0);
    assert_eq!(sandbox.jobs().len(), 6, "{report:#}");
    assert_eq!(
        statuses(&report),
        [
            (Some(1), "done".to_owned()),
            (Some(2), "done".to_owned()),
            (Some(3), "already done".to_owned()),
            (Some(4), "already done".to_owned()),
            (Some(5), "already done".to_owned()),
            (Some(6), "already done".to_owned()),
        ]
    );
    // Moved lines keep their files: "a" was line 1 and is still line-0001.mp4.
    assert_eq!(report["lines"][2]["name"], "line-0001");
    assert_eq!(
        report["lines"][0]["name"], "line-0001-2",
        "a new line never takes an old file"
    );

    // Reordered, one deleted, one changed.
    batch_file(&scratch, &["d", "c", "new 1", "a", "b changed"]);
    let (output, report) = run_batch(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 0);
    let counts = jobs_per_prompt(&sandbox);
    assert_eq!(
        counts.values().copied().max(),
        Some(1),
        "each request paid once: {counts:?}"
    );
    assert_eq!(counts.len(), 7, "only the changed line is new: {counts:?}");
    let removed: Vec<&serde_json::Value> = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line["status"] == "removed")
        .collect();
    assert_eq!(
        removed.len(),
        2,
        "`b` and `new 2` left the file: {report:#}"
    );
    assert!(
        removed
            .iter()
            .all(|line| line["jobId"].as_str().unwrap().starts_with("job_"))
    );
    assert!(
        removed
            .iter()
            .all(|line| !line["files"].as_array().unwrap().is_empty())
    );
    assert_eq!(report["removed"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_lines_are_requests_of_their_own() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("batch-identical");
    batch_file(&scratch, &["same", "other", "same", "same"]);
    let (output, report) = run_batch(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 0);
    assert_eq!(jobs_per_prompt(&sandbox)["same"], 3, "{report:#}");
    // One of them goes away: the other two are still done, nothing is submitted.
    batch_file(&scratch, &["same", "other", "same"]);
    let (output, report) = run_batch(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 0);
    assert_eq!(sandbox.jobs().len(), 4);
    assert_eq!(report["removed"], 1, "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_the_same_folder_is_refused_and_nothing_is_paid_twice() {
    let sandbox =
        sandbox(SandboxConfig::default().with_job_duration(Duration::from_millis(1500))).await;
    let scratch = Scratch::new("batch-two-runs");
    batch_file(&scratch, &["a", "b", "c", "d", "e", "f"]);
    let args = ["batch", "batch.jsonl", "--out", "out", "--concurrency", "8"];
    let (first, second) = tokio::join!(
        run(kling(&scratch, Some(&sandbox), &args)),
        run(kling(&scratch, Some(&sandbox), &args))
    );
    let (winner, loser) = if first.status.code() == Some(0) {
        (first, second)
    } else {
        (second, first)
    };
    assert_exit(&winner, 0);
    assert_exit(&loser, 2);
    let message = text(&loser.stderr);
    assert!(
        message.contains("another kling batch is running on out"),
        "{message}"
    );
    assert_eq!(sandbox.jobs().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_stops_starting_jobs_and_counts_every_run_on_the_folder() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("batch-budget");
    // 40 CU each (5 s clips): 100 CU pay for two.
    batch_file(&scratch, &["a", "b", "c", "d"]);
    let (output, report) = run_batch(&scratch, &sandbox, &["--max-cu", "100"]).await;
    assert_exit(&output, 6);
    assert_eq!(sandbox.jobs().len(), 2, "{report:#}");
    assert_eq!(report["notStarted"], 2);
    assert_eq!(report["chargedCu"], 80.0);
    let line = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| line["status"] == "not started: budget")
        .unwrap();
    assert!(
        line["error"]
            .as_str()
            .unwrap()
            .contains("would take the spending to 120 of the 100 CU"),
        "{line:#}"
    );
    // The same limit on a rerun: what the first run spent counts.
    let (output, _) = run_batch(&scratch, &sandbox, &["--max-cu", "100"]).await;
    assert_exit(&output, 6);
    assert_eq!(sandbox.jobs().len(), 2);
    // A higher one lets the rest start.
    let (output, report) = run_batch(&scratch, &sandbox, &["--max-cu", "160"]).await;
    assert_exit(&output, 0);
    assert_eq!(sandbox.jobs().len(), 4, "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_every_cost_and_starts_nothing() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("batch-dry-run");
    std::fs::write(
        scratch.path("batch.jsonl"),
        "{\"prompt\": \"a\"}\n{\"prompt\": \"b\", \"duration\": 10}\n{\"prompt\": \"a\"}\n",
    )
    .unwrap();
    let (output, report) = run_batch(&scratch, &sandbox, &["--dry-run"]).await;
    assert_exit(&output, 0);
    assert_eq!(sandbox.jobs().len(), 0);
    assert_eq!(report["wouldStart"], 3);
    assert_eq!(report["estimatedCu"], 160.0, "{report:#}");
    let estimates = sandbox
        .requests()
        .iter()
        .filter(|request| request.path.starts_with("/v1/generate/"))
        .count();
    assert_eq!(estimates, 2, "each distinct request is estimated once");
    assert!(
        !scratch.path("out").exists(),
        "a dry run writes nothing: no folder, no journal, no lock"
    );

    // On a folder with a journal, while another run holds its lock: the journal is read,
    // left as it was, and the lock is not needed.
    batch_file(&scratch, &["a"]);
    let (output, _) = run_batch(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 0);
    let journal = std::fs::read(scratch.path("out/.kling-batch.jsonl")).unwrap();
    let holder = std::fs::File::open(scratch.path("out/.kling-batch.lock")).unwrap();
    holder.lock().unwrap();
    std::fs::write(
        scratch.path("batch.jsonl"),
        "{\"prompt\": \"a\"}\n{\"prompt\": \"c\"}\n",
    )
    .unwrap();
    let (output, report) = run_batch(&scratch, &sandbox, &["--dry-run"]).await;
    assert_exit(&output, 0);
    assert_eq!(report["wouldStart"], 1, "{report:#}");
    assert_eq!(
        std::fs::read(scratch.path("out/.kling-batch.jsonl")).unwrap(),
        journal
    );
    drop(holder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_spend_refuses_every_paid_submit_and_sends_nothing() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("batch-no-spend");
    batch_file(&scratch, &["a", "b"]);
    let mut command = kling(
        &scratch,
        Some(&sandbox),
        &["batch", "batch.jsonl", "--out", "out"],
    );
    command.env("KLING_NO_SPEND", "1");
    let output = run(command).await;
    assert_exit(&output, 2);
    let message = text(&output.stderr);
    assert!(
        message.contains("spending is off (environment KLING_NO_SPEND)"),
        "{message}"
    );
    let mut command = kling(&scratch, Some(&sandbox), &["generate", "--prompt", "a fox"]);
    command.env("KLING_NO_SPEND", "1");
    let output = run(command).await;
    assert_exit(&output, 2);
    assert!(sandbox.requests().is_empty(), "nothing was sent");
    // Free things still work.
    let mut command = kling(
        &scratch,
        Some(&sandbox),
        &["batch", "batch.jsonl", "--out", "out", "--dry-run"],
    );
    command.env("KLING_NO_SPEND", "1");
    assert_exit(&run(command).await, 0);
    assert_eq!(sandbox.jobs().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_server_does_not_end_lines_a_retry_can_finish() {
    // About a third of every request fails (5xx or a reset), on every endpoint.
    let config = SandboxConfig::default()
        .with_seed(7)
        .with_fault(
            FaultRule::new(Fault::Status {
                status: 503,
                retry_after_secs: None,
            })
            .probability(0.2),
        )
        .with_fault(
            FaultRule::new(Fault::Status {
                status: 500,
                retry_after_secs: None,
            })
            .probability(0.1),
        )
        .with_fault(
            FaultRule::new(Fault::ResetAfterHandling)
                .on("POST", "/v1/generate/")
                .probability(0.1),
        );
    let sandbox = sandbox(config).await;
    let scratch = Scratch::new("batch-flaky");
    let prompts: Vec<String> = (1..=20).map(|n| format!("clip {n}")).collect();
    let prompts: Vec<&str> = prompts.iter().map(String::as_str).collect();
    batch_file(&scratch, &prompts);
    let (output, report) = run_batch(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 0);
    assert_eq!(report["done"], 20, "{report:#}");
    let counts = jobs_per_prompt(&sandbox);
    assert_eq!(counts.len(), 20);
    assert!(
        counts.values().all(|count| *count == 1),
        "each line exactly one job: {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_limit_under_a_large_concurrency_is_learned_not_fought() {
    let sandbox = sandbox(
        SandboxConfig::default()
            .with_job_duration(Duration::from_millis(800))
            .with_parallel_jobs(5),
    )
    .await;
    let scratch = Scratch::new("batch-team-limit");
    let prompts: Vec<String> = (1..=40).map(|n| format!("clip {n}")).collect();
    let prompts: Vec<&str> = prompts.iter().map(String::as_str).collect();
    batch_file(&scratch, &prompts);
    let (output, report) = run_batch(&scratch, &sandbox, &["--concurrency", "32"]).await;
    assert_exit(&output, 0);
    assert_eq!(report["done"], 40, "{report:#}");
    let counts = jobs_per_prompt(&sandbox);
    assert_eq!(counts.len(), 40);
    assert!(
        counts.values().all(|count| *count == 1),
        "one job per line: {counts:?}"
    );
    assert_eq!(
        sandbox.max_running_jobs(),
        5,
        "the team's limit held, and was used"
    );
    let refusals = sandbox.team_limit_refusals();
    assert!(
        refusals <= 4,
        "{refusals} refusals for 40 jobs: the limit is learned, not fought"
    );
}

/// The journal an earlier run left: its header, then `records` (each given its `at`).
fn write_journal(scratch: &Scratch, records: &[serde_json::Value]) {
    let at = kling_types::__private::time::format_iso8601(std::time::SystemTime::now());
    let mut text = String::from("{\"journal\":\"kling-batch\",\"version\":2}\n");
    for record in records {
        let mut record = record.clone();
        record["at"] = at.as_str().into();
        text.push_str(&format!("{record}\n"));
    }
    std::fs::create_dir_all(scratch.path("out")).unwrap();
    std::fs::write(scratch.path("out").join(".kling-batch.jsonl"), text).unwrap();
}

/// The key of the `occurrence`th line `{"prompt": "a"}` (see `input.rs`).
fn key_of_a(occurrence: usize) -> String {
    format!("0fb7f10bc41753e939c28d51e68a0c7fd6fb08000b273826370f682fe14a7e8a#{occurrence}")
}

/// The job ids the report gives the lines, in line order.
fn job_ids(report: &serde_json::Value) -> Vec<String> {
    report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["jobId"].as_str().unwrap_or("none").to_owned())
        .collect()
}

/// An earlier run started a job for the second of two identical lines. The first one's
/// lost answer must not be "found" in that job: the search for it skips the jobs the
/// journal gives to other requests (found by the soak, seed 12).
async fn identical_line_with_a_job(sandbox: &SandboxHandle, scratch: &Scratch) -> String {
    batch_file(scratch, &["a", "a"]);
    let credentials = sandbox.credentials();
    let client = kling_client::Client::new(kling_client::Credentials::new(
        credentials.key.clone(),
        credentials.secret.clone(),
    ))
    .with_base_url(sandbox.base_url());
    let earlier = client
        .submit_json("model_kling-v1-6-pro", serde_json::json!({"prompt": "a"}))
        .await
        .unwrap();
    earlier.job_id().as_str().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_never_found_in_the_job_of_an_identical_line() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("batch-lost-identical");
    let theirs = identical_line_with_a_job(&sandbox, &scratch).await;
    let submitting = |occurrence: usize| serde_json::json!({"key": key_of_a(occurrence), "event": "submitting", "line": occurrence, "name": format!("line-000{occurrence}"), "model": "model_kling-v1-6-pro", "params": {"prompt": "a"}});
    // The first line's submit was on its way when the run died; it never arrived.
    write_journal(
        &scratch,
        &[
            submitting(2),
            serde_json::json!({"key": key_of_a(2), "event": "submitted", "jobId": theirs}),
            submitting(1),
        ],
    );
    let (output, report) = run_batch(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 0);
    let ids = job_ids(&report);
    assert_eq!(ids[1], theirs, "{report:#}");
    assert_ne!(ids[0], theirs, "each line its own job: {report:#}");
    assert_eq!(sandbox.jobs().len(), 2, "the first line's job was started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_whose_answer_is_lost_never_adopts_the_job_of_an_identical_line() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("batch-reset-identical");
    let theirs = identical_line_with_a_job(&sandbox, &scratch).await;
    // The batch's generate request breaks before reaching the handler: no job, and the
    // client looks for one in the job list, where the other line's job is.
    sandbox.add_fault(
        FaultRule::new(Fault::ResetBeforeHandling)
            .on("POST", "/v1/generate/")
            .times(1),
    );
    write_journal(
        &scratch,
        &[
            serde_json::json!({"key": key_of_a(2), "event": "submitting", "line": 2, "name": "line-0002", "model": "model_kling-v1-6-pro", "params": {"prompt": "a"}}),
            serde_json::json!({"key": key_of_a(2), "event": "submitted", "jobId": theirs}),
        ],
    );
    let (output, report) = run_batch(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 0);
    assert_eq!(
        sandbox.faults_injected().len(),
        1,
        "the submit lost its answer"
    );
    let ids = job_ids(&report);
    assert_eq!(ids[1], theirs, "{report:#}");
    assert_ne!(ids[0], theirs, "each line its own job: {report:#}");
    assert_eq!(sandbox.jobs().len(), 2, "the first line's job was started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_submit_that_started_nothing_is_paid_for_once_in_the_budget() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("batch-lost-budget");
    batch_file(&scratch, &["a", "b"]);
    // A run died with line 1's submit (quoted 40 CU) on its way; it never arrived.
    write_journal(
        &scratch,
        &[
            serde_json::json!({"key": key_of_a(1), "event": "submitting", "line": 1, "name": "line-0001", "model": "model_kling-v1-6-pro", "params": {"prompt": "a"}, "quotedCu": 40.0}),
        ],
    );
    // 80 CU pay for both lines: the lost submit, found nowhere, is not a third.
    let (output, report) = run_batch(&scratch, &sandbox, &["--max-cu", "80"]).await;
    assert_exit(&output, 0);
    assert_eq!(sandbox.jobs().len(), 2, "{report:#}");
    assert_eq!(report["chargedCu"], 80.0, "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_stop_the_batch_instead_of_failing_every_line() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("batch-refused");
    let prompts: Vec<String> = (1..=40).map(|n| format!("clip {n}")).collect();
    batch_file(
        &scratch,
        &prompts.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let mut command = kling(
        &scratch,
        Some(&sandbox),
        &[
            "batch",
            "batch.jsonl",
            "--out",
            "out",
            "--json",
            "--concurrency",
            "8",
        ],
    );
    command.env("SCENARIO_SDK_API_SECRET", "not-the-secret");
    let output = run(command).await;
    assert_exit(&output, 3);
    let submits = sandbox
        .requests()
        .iter()
        .filter(|request| request.method == "POST" && request.path.starts_with("/v1/generate/"))
        .count();
    assert!(
        (1..=8).contains(&submits),
        "{submits} submits were refused, not one burst"
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["lines"].as_array().unwrap().len(),
        40,
        "every line is reported"
    );
    assert_eq!(
        report["notStarted"].as_u64().unwrap() as usize,
        40 - submits,
        "{report:#}"
    );
    let line = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| line["status"] == "not started")
        .unwrap();
    let error = line["error"].as_str().unwrap();
    assert!(
        error.contains("refused the credentials") && error.contains("run the same command again"),
        "{error}"
    );
    assert!(!error.contains("not-the-secret"));
}

/// Runs `kling ARGS` under a pseudo-terminal (`script`, from util-linux), typing `typed`.
/// `None` (with the reason printed) where `script` cannot be run.
#[expect(clippy::print_stderr, reason = "a skipped test says why")]
async fn on_a_terminal(
    scratch: &Scratch,
    sandbox: &SandboxHandle,
    args: &[&str],
    typed: &str,
) -> Option<Output> {
    let mut command = terminal::under_pty(&kling(scratch, Some(sandbox), args), 100);
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            eprintln!("skipped: `script` (util-linux) cannot be run here: {error}");
            return None;
        }
    };
    let mut stdin = child.stdin.take().unwrap();
    let typed = typed.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::Write as _;
        // The terminal keeps what is typed until kling reads it, whenever that is.
        stdin.write_all(typed.as_bytes()).unwrap();
    });
    Some(
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_a_costly_batch_asks_first_and_no_means_nothing_starts() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("batch-confirm");
    // 13 × 40 CU = 520, above the default confirm_above_cu (500).
    let prompts: Vec<String> = (1..=13).map(|n| format!("clip {n}")).collect();
    batch_file(
        &scratch,
        &prompts.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let args = ["batch", "batch.jsonl", "--out", "out"];
    let Some(output) = on_a_terminal(&scratch, &sandbox, &args, "n\n").await else {
        return;
    };
    let shown = text(&output.stdout);
    assert!(
        shown.contains("13 new jobs for about 520 creative units") && shown.contains("[y/N]"),
        "{shown}"
    );
    assert!(
        shown.contains("nothing was started (answered no)"),
        "{shown}"
    );
    assert_eq!(output.status.code(), Some(2), "{shown}");
    assert_eq!(sandbox.jobs().len(), 0);

    // Yes starts them; --yes, or no terminal, asks nothing.
    let Some(output) = on_a_terminal(&scratch, &sandbox, &args, "y\n").await else {
        return;
    };
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    assert_eq!(sandbox.jobs().len(), 13);
    let more: Vec<String> = (1..=13).map(|n| format!("more {n}")).collect();
    batch_file(
        &scratch,
        &more.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let (output, _) = run_batch(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 0);
    assert!(!text(&output.stderr).contains("[y/N]"));
    assert_eq!(
        sandbox.jobs().len(),
        26,
        "520 CU more, started without a question"
    );
}
