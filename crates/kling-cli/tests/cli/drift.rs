//! The drift check before paying: `kling generate`, `kling batch` (and `kling rerun`)
//! compare the API's description of the model with the built-in schema once a day, warn
//! of a breaking difference (or refuse it with `--strict-schema`), and keep the result in
//! the data folder. The sandbox serves a drifted description (`--model-description`).

use kling_sandbox::{Fault, FaultRule, SandboxConfig, SandboxHandle};
use serde_json::{Value, json};

use super::{Scratch, assert_exit, batch_file, kling, run, run_batch, sandbox, text};

const KLING: &str = "model_kling-v1-6-pro";
const DESCRIPTION: &str = "/v1/models/model_kling-v1-6-pro";

/// The sandbox's own description of Kling, changed by `edit`.
fn drifted(edit: impl FnOnce(&mut Vec<Value>)) -> Value {
    let model = kling_types::find_model(KLING).unwrap();
    let mut description = kling_sandbox::describe_model(model);
    edit(description["inputs"].as_array_mut().unwrap());
    json!({ "model": description })
}

/// Kling without `10` among the durations it allows: a breaking drift.
fn without_ten_seconds() -> Value {
    drifted(|inputs| {
        let duration = inputs
            .iter_mut()
            .find(|input| input["name"] == "duration")
            .unwrap();
        duration["allowedValues"] = json!([5]);
    })
}

async fn serving(description: Value) -> SandboxHandle {
    sandbox(
        SandboxConfig::default()
            .with_model_description(description)
            .unwrap(),
    )
    .await
}

/// How many times the sandbox was asked for Kling's description.
fn description_requests(sandbox: &SandboxHandle) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|request| request.method == "GET" && request.path == DESCRIPTION)
        .count()
}

/// `kling generate --prompt … -o NAME.mp4` plus `extra`, to its end.
async fn generate(
    scratch: &Scratch,
    sandbox: &SandboxHandle,
    name: &str,
    extra: &[&str],
) -> std::process::Output {
    let output = format!("{name}.mp4");
    let mut args = vec!["generate", "--prompt", "a fox", "-o", &output];
    args.extend_from_slice(extra);
    run(kling(scratch, Some(sandbox), &args)).await
}

fn cache(scratch: &Scratch) -> std::path::PathBuf {
    scratch.path("data/drift-check.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_drift_warns_nothing_and_asks_once_a_day() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("drift-none");
    for name in ["one", "two"] {
        let output = generate(&scratch, &sandbox, name, &[]).await;
        assert_exit(&output, 0);
        let stderr = text(&output.stderr);
        assert!(!stderr.contains("warning"), "{stderr}");
    }
    assert_eq!(
        description_requests(&sandbox),
        1,
        "the second generate uses the cache"
    );
    assert_eq!(sandbox.jobs().len(), 2);
    let kept: Value = serde_json::from_slice(&std::fs::read(cache(&scratch)).unwrap()).unwrap();
    assert_eq!(kept["version"], 1);
    assert_eq!(kept["checks"][0]["model"], KLING);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaking_drift_warns_before_paying() {
    let sandbox = serving(without_ten_seconds()).await;
    let scratch = Scratch::new("drift-breaking");
    let output = generate(&scratch, &sandbox, "fox", &[]).await;
    assert_exit(&output, 0);
    let stderr = text(&output.stderr);
    for says in [
        "warning: the API's description of model_kling-v1-6-pro differs from the schema built into this kling",
        "/properties/duration: enum value removed: 10",
        "kling models schema model_kling-v1-6-pro > NEW.json",
        "cargo xtask import-model NEW.json",
        "cargo xtask codegen",
        "submitting anyway",
    ] {
        assert!(stderr.contains(says), "{says:?} in:\n{stderr}");
    }
    assert_eq!(sandbox.jobs().len(), 1, "the job is still submitted");
    // The cached result warns again, without asking the API.
    let again = generate(&scratch, &sandbox, "fox-2", &[]).await;
    assert_exit(&again, 0);
    assert!(text(&again.stderr).contains("enum value removed: 10"));
    assert_eq!(description_requests(&sandbox), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_schema_refuses_a_breaking_drift_and_sends_nothing() {
    let sandbox = serving(without_ten_seconds()).await;
    let scratch = Scratch::new("drift-strict");
    let output = generate(&scratch, &sandbox, "fox", &["--strict-schema"]).await;
    assert_exit(&output, 7);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("enum value removed: 10"), "{stderr}");
    assert!(
        stderr.contains("nothing was sent (--strict-schema"),
        "{stderr}"
    );
    assert!(sandbox.jobs().is_empty());
    assert!(!scratch.path("fox.mp4").exists());

    // The config key says the same.
    std::fs::write(scratch.path("strict.toml"), "strict_schema = true\n").unwrap();
    let output = generate(&scratch, &sandbox, "fox", &["--config", "strict.toml"]).await;
    assert_exit(&output, 7);
    assert!(sandbox.jobs().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_drift_check_asks_nothing() {
    let sandbox = serving(without_ten_seconds()).await;
    let scratch = Scratch::new("drift-off");
    let output = generate(&scratch, &sandbox, "fox", &["--no-drift-check"]).await;
    assert_exit(&output, 0);
    assert!(!text(&output.stderr).contains("warning"));
    std::fs::write(scratch.path("unchecked.toml"), "drift_check = false\n").unwrap();
    let output = generate(&scratch, &sandbox, "fox-2", &["--config", "unchecked.toml"]).await;
    assert_exit(&output, 0);
    assert_eq!(description_requests(&sandbox), 0);
    assert_eq!(sandbox.jobs().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_optional_input_is_no_warning() {
    let sandbox = serving(drifted(|inputs| {
        inputs.push(
            json!({"name": "seed", "type": "number", "description": "Same seed, same video."}),
        );
    }))
    .await;
    let scratch = Scratch::new("drift-minor");
    let output = generate(&scratch, &sandbox, "fox", &[]).await;
    assert_exit(&output, 0);
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");
    assert_eq!(description_requests(&sandbox), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_corrupt_cache_is_checked_again() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let scratch = Scratch::new("drift-cache");
    assert_exit(&generate(&scratch, &sandbox, "one", &[]).await, 0);
    // A day old: checked again.
    let mut kept: Value = serde_json::from_slice(&std::fs::read(cache(&scratch)).unwrap()).unwrap();
    kept["checks"][0]["checkedAt"] = json!(0);
    std::fs::write(cache(&scratch), kept.to_string()).unwrap();
    assert_exit(&generate(&scratch, &sandbox, "two", &[]).await, 0);
    assert_eq!(description_requests(&sandbox), 2);
    // Corrupt, or of another version: ignored and written anew.
    for broken in ["{ not json", r#"{"version": 99, "checks": []}"#] {
        std::fs::write(cache(&scratch), broken).unwrap();
        let output = generate(&scratch, &sandbox, "three", &[]).await;
        assert_exit(&output, 0);
        assert!(
            !text(&output.stderr).contains("warning"),
            "{}",
            text(&output.stderr)
        );
        let kept: Value = serde_json::from_slice(&std::fs::read(cache(&scratch)).unwrap()).unwrap();
        assert_eq!(kept["version"], 1);
    }
    assert_eq!(description_requests(&sandbox), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_description_that_cannot_be_fetched_warns_and_pays() {
    let config = SandboxConfig::default().with_fault(
        FaultRule::new(Fault::Status {
            status: 404,
            retry_after_secs: None,
        })
        .on("GET", "/v1/models/"),
    );
    let sandbox = sandbox(config).await;
    let scratch = Scratch::new("drift-unfetched");
    let output = generate(&scratch, &sandbox, "fox", &[]).await;
    assert_exit(&output, 0);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("warning: the drift check of model_kling-v1-6-pro could not run: ")
            && stderr.contains("submitting anyway"),
        "{stderr}"
    );
    assert_eq!(sandbox.jobs().len(), 1);
    assert!(
        !cache(&scratch).exists(),
        "a check that did not run is not kept"
    );
    // Strict refuses what it could not check.
    let output = generate(&scratch, &sandbox, "fox-2", &["--strict-schema"]).await;
    assert_exit(&output, 7);
    assert!(text(&output.stderr).contains("refuses what it could not check"));
    assert_eq!(sandbox.jobs().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_asks_for_the_description_once() {
    let sandbox = serving(without_ten_seconds()).await;
    let scratch = Scratch::new("drift-batch");
    batch_file(&scratch, &["a", "b", "c", "d", "e"]);
    let (output, report) = run_batch(&scratch, &sandbox, &[]).await;
    assert_exit(&output, 0);
    assert_eq!(report["done"], 5, "{report:#}");
    let stderr = text(&output.stderr);
    assert_eq!(
        stderr.matches("enum value removed: 10").count(),
        1,
        "{stderr}"
    );
    assert_eq!(description_requests(&sandbox), 1);

    let (output, _) = run_batch(&scratch, &sandbox, &["--strict-schema"]).await;
    assert_exit(&output, 0);
    // Nothing new to submit: a rerun of a finished batch pays nothing, checks nothing.
    batch_file(&scratch, &["f"]);
    let (output, _) = run_batch(&scratch, &sandbox, &["--strict-schema"]).await;
    assert_exit(&output, 7);
    assert_eq!(sandbox.jobs().len(), 5);
}
