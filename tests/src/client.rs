//! `kling-client` against the sandbox, through every fault the sandbox can inject. Each
//! test checks the outcome and that nothing was lost: no paid job started twice, no
//! half-written file at a target, the job id always recoverable, no secret shown.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt as _;
use kling_client::{
    Client, Credentials, Error, JobFilter, JobLookup, RetryPolicy, Timeouts, WaitOptions,
};
use kling_sandbox::{Fault, FaultRule, Sandbox, SandboxConfig, SandboxHandle};
use kling_types::api::JobStatus;
use kling_types::kling_v1_6_pro::{AspectRatio, DurationValue as Seconds, Kling16ProRequest};
use kling_types::{AssetId, JobId};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::stand_in::{Canned, Proxy, Rewrite};
use crate::support::Scratch;

const KLING: &str = "model_kling-v1-6-pro";

/// Retries that wait milliseconds, not seconds: the behaviour is the same.
fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_delays(Duration::from_millis(5), Duration::from_millis(40))
        .with_reconcile_grace(Duration::from_millis(30))
}

pub(crate) fn client_for(sandbox: &SandboxHandle) -> Client {
    let credentials = sandbox.credentials();
    Client::new(Credentials::new(
        credentials.key.clone(),
        credentials.secret.clone(),
    ))
    .with_base_url(sandbox.base_url())
    .with_retry_policy(fast_retries())
    .with_timeouts(
        Timeouts::default()
            .with_request(Duration::from_secs(5))
            .with_read(Duration::from_secs(5)),
    )
}

async fn start(config: SandboxConfig) -> (SandboxHandle, Client) {
    let sandbox = Sandbox::start(config).await.unwrap();
    let client = client_for(&sandbox);
    (sandbox, client)
}

fn on_generate(fault: Fault) -> FaultRule {
    FaultRule::new(fault).on("POST", "/v1/generate/")
}

async fn output_of(client: &Client, request: &Kling16ProRequest) -> (JobId, AssetId) {
    let submitted = client.submit(request).await.unwrap();
    let job = client
        .wait(submitted.job_id(), WaitOptions::default())
        .await
        .unwrap();
    (job.job_id, job.metadata.unwrap().asset_ids[0].clone())
}

#[tokio::test]
async fn a_whole_generation_end_to_end() {
    let (sandbox, client) = start(SandboxConfig::default()).await;
    let scratch = Scratch::new("e2e");
    let request = Kling16ProRequest::new("a red fox running through snow")
        .with_aspect_ratio(AspectRatio::Portrait9x16)
        .with_duration(Seconds::Seconds10);
    let files = client.generate(&request, &scratch.0).await.unwrap();
    let job_id = &sandbox.jobs()[0].id;
    assert_eq!(files, [scratch.0.join(format!("{job_id}.mp4"))]);
    let bytes = std::fs::read(&files[0]).unwrap();
    assert_eq!(&bytes[4..8], b"ftyp");
    assert_eq!(
        scratch.files(),
        [format!("{job_id}.mp4")],
        "no partial file left behind"
    );
    assert_eq!(
        sandbox.jobs()[0].input,
        json!({"prompt": "a red fox running through snow", "aspectRatio": "9:16", "duration": 10})
    );
}

#[tokio::test]
async fn a_request_with_problems_never_leaves_the_machine() {
    let (sandbox, client) = start(SandboxConfig::default()).await;
    let request = Kling16ProRequest::new("")
        .with_cfg_scale(2.0)
        .with_end_image("asset_end");
    let Err(Error::Validation(error)) = client.submit(&request).await else {
        panic!("expected a validation error")
    };
    assert_eq!(error.problems().len(), 3);
    assert!(sandbox.requests().is_empty());

    let Err(Error::Validation(error)) = client
        .submit_json(KLING, json!({"prompt": "x", "seed": 1}))
        .await
    else {
        panic!("unknown field")
    };
    assert!(
        error.to_string().contains("unknown field `seed`"),
        "{error}"
    );
    let Err(Error::Validation(_)) = client.estimate(&request).await else {
        panic!("estimate validates too")
    };
    assert!(sandbox.requests().is_empty());
}

#[tokio::test]
async fn warnings_come_back_with_the_job() {
    let (_sandbox, client) = start(SandboxConfig::default()).await;
    let scratch = Scratch::new("warnings");
    let cat = scratch.0.join("cat.png");
    std::fs::write(&cat, b"\x89PNG\r\n\x1a\na sleeping cat").unwrap();
    let cat = client.upload_image(&cat).await.unwrap();
    let request = Kling16ProRequest::new("the cat wakes")
        .with_start_image(cat)
        .with_aspect_ratio(AspectRatio::Square1x1);
    let submitted = client.submit(&request).await.unwrap();
    assert_eq!(submitted.warnings.len(), 1);
    assert_eq!(submitted.warnings[0].field, "aspectRatio");
    assert_eq!(submitted.cost, Some(40.0));
    assert!(!submitted.recovered);
}

#[tokio::test]
async fn a_job_naming_an_asset_no_upload_made_is_refused_naming_the_field() {
    let (sandbox, client) = start(SandboxConfig::default()).await;
    let request = Kling16ProRequest::new("the cat wakes").with_start_image("cat.png");
    let error = client.submit(&request).await.unwrap_err();
    let Error::Api { status: 400, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(
        error.to_string().contains("startImage: no asset `cat.png`"),
        "{error}"
    );
    assert!(
        sandbox.jobs().is_empty(),
        "nothing started, nothing charged"
    );
    // A price does not depend on the picture: a dry run prices it.
    assert_eq!(
        client.estimate(&request).await.unwrap().creative_units_cost,
        Some(40.0)
    );
}

#[tokio::test]
async fn a_lost_answer_is_recovered_without_a_second_job() {
    let (sandbox, client) =
        start(SandboxConfig::default().with_fault(on_generate(Fault::ResetAfterHandling).times(1)))
            .await;
    let submitted = client
        .submit(&Kling16ProRequest::new("paid once"))
        .await
        .unwrap();
    assert!(submitted.recovered, "the job was found in the job list");
    let jobs = sandbox.jobs();
    assert_eq!(jobs.len(), 1, "exactly one paid job");
    assert_eq!(submitted.job_id().as_str(), jobs[0].id);
    let paths: Vec<String> = sandbox
        .requests()
        .iter()
        .map(|record| format!("{} {}", record.method, record.path))
        .collect();
    assert_eq!(
        paths,
        [
            format!("POST /v1/generate/custom/{KLING}"),
            "GET /v1/jobs".to_owned()
        ]
    );
}

#[tokio::test]
async fn an_identical_earlier_job_is_not_mistaken_for_a_lost_one() {
    let (sandbox, client) = start(SandboxConfig::default()).await;
    let request = Kling16ProRequest::new("twice on purpose");
    let first = client.submit(&request).await.unwrap();
    sandbox.add_fault(on_generate(Fault::ResetAfterHandling).times(1));
    let second = client.submit(&request).await.unwrap();
    assert_ne!(
        first.job_id(),
        second.job_id(),
        "the lost job is the new one, not the one this client already had"
    );
    assert!(second.recovered);
    assert_eq!(sandbox.jobs().len(), 2);
}

#[tokio::test]
async fn an_unknown_outcome_is_reconciled_before_submitting_again() {
    for fault in [
        "status=500",
        "status=502",
        "status=504",
        "reset-before-handling",
    ] {
        let (sandbox, client) = start(
            SandboxConfig::default().with_fault(on_generate(Fault::parse(fault).unwrap()).times(1)),
        )
        .await;
        let submitted = client
            .submit(&Kling16ProRequest::new("once"))
            .await
            .unwrap();
        assert!(
            !submitted.recovered,
            "{fault}: nothing to recover, so submitted again"
        );
        assert_eq!(sandbox.jobs().len(), 1, "{fault}");
        let paths: Vec<String> = sandbox
            .requests()
            .iter()
            .map(|record| record.path.clone())
            .collect();
        assert!(
            paths.iter().filter(|path| *path == "/v1/jobs").count() >= 1,
            "{fault}: looked before submitting again: {paths:?}"
        );
    }
}

#[tokio::test]
async fn a_refused_submit_is_retried_blindly() {
    // The sandbox's 429 names a team limit (see below); a 503 never does.
    for fault in ["status=503;retry-after=0"] {
        let (sandbox, client) = start(
            SandboxConfig::default().with_fault(on_generate(Fault::parse(fault).unwrap()).times(2)),
        )
        .await;
        client
            .submit(&Kling16ProRequest::new("once"))
            .await
            .unwrap();
        assert_eq!(sandbox.jobs().len(), 1, "{fault}");
        assert!(
            sandbox
                .requests()
                .iter()
                .all(|record| record.path != "/v1/jobs"),
            "{fault}: no need to look for a job"
        );
    }
}

#[tokio::test]
async fn a_submit_whose_outcome_stays_unknown_says_so() {
    let rule = on_generate(Fault::Status {
        status: 502,
        retry_after_secs: None,
    });
    let (sandbox, client) = start(SandboxConfig::default().with_fault(rule)).await;
    let client = client.with_retry_policy(fast_retries().with_max_retries(2));
    let error = client
        .submit(&Kling16ProRequest::new("x"))
        .await
        .unwrap_err();
    let Error::SubmitUncertain { lookup, source } = &error else {
        panic!("{error:?}");
    };
    assert!(
        error.to_string().contains("check `kling jobs list`"),
        "{error}"
    );
    assert!(
        matches!(lookup, JobLookup::NotListed),
        "the job list was read: {lookup:?}"
    );
    assert_eq!(source.status(), Some(502), "the last failure is the cause");
    assert!(
        std::error::Error::source(&error)
            .and_then(|cause| cause.downcast_ref::<Box<Error>>())
            .is_some_and(|cause| cause.status() == Some(502)),
        "`source()` is the 502: {error:?}"
    );
    assert!(!error.is_retryable(), "only the user can tell: {error}");
    assert!(sandbox.jobs().is_empty());
}

#[tokio::test]
async fn a_429_without_a_team_limit_is_retried_blindly() {
    let (sandbox, client) = start(SandboxConfig::default()).await;
    let busy = Canned::new(
        429,
        "application/json",
        r#"{"reason": "Too many requests"}"#,
    )
    .with_header("retry-after", "0");
    let proxy = Proxy::start(
        &sandbox,
        vec![Rewrite::instead("POST", "/v1/generate/", 2, busy)],
    )
    .await;
    let client = client.with_base_url(proxy.base_url());
    let submitted = client
        .submit(&Kling16ProRequest::new("once"))
        .await
        .unwrap();
    assert!(!submitted.recovered);
    assert_eq!(sandbox.jobs().len(), 1);
    let generates = format!("POST /v1/generate/custom/{KLING}");
    assert_eq!(
        proxy.requests(),
        [generates.as_str(); 3],
        "two refusals, then the job; no need to look for one"
    );
}

#[tokio::test]
async fn a_team_limit_returns_at_once_without_spending_the_retry_budget() {
    let full = on_generate(Fault::Status {
        status: 429,
        retry_after_secs: Some(0),
    })
    .times(1);
    let (sandbox, client) = start(SandboxConfig::default().with_fault(full)).await;
    // One retry token in all: a team limit must leave it for what retrying can fix.
    let client = client.with_retry_policy(fast_retries().with_budget(1));
    let error = client
        .submit(&Kling16ProRequest::new("one too many"))
        .await
        .unwrap_err();
    let limit = error.team_limit().expect("the 429 named the team's limit");
    assert_eq!(
        (limit.action_name.as_deref(), limit.action_limit),
        (Some("parallelCustomJobs"), 5)
    );
    assert!(error.is_retryable(), "the scheduler above requeues it");
    assert_eq!(error.status(), Some(429));
    assert!(
        error
            .to_string()
            .contains("at most 5 `parallelCustomJobs` at once"),
        "{error}"
    );
    assert_eq!(
        sandbox.requests().len(),
        1,
        "no retry, no look at the job list"
    );
    assert!(sandbox.jobs().is_empty());

    sandbox.add_fault(
        FaultRule::new(Fault::Status {
            status: 502,
            retry_after_secs: None,
        })
        .on("GET", "/v1/jobs/")
        .times(1),
    );
    let later = client
        .submit(&Kling16ProRequest::new("later"))
        .await
        .unwrap();
    client
        .job(later.job_id())
        .await
        .expect("the retry token is still there for the 502");
}

#[tokio::test]
async fn a_yes_that_cannot_be_read_is_reconciled_not_resubmitted() {
    for (name, answer) in [
        (
            "truncated JSON",
            Canned::new(200, "application/json", r#"{"job": {"jobId": "job_"#),
        ),
        (
            "an HTML page",
            Canned::new(200, "text/html", "<html><body>OK</body></html>"),
        ),
        (
            "no job",
            Canned::new(200, "application/json", r#"{"creativeUnitsCost": 40}"#),
        ),
        (
            "an empty job id",
            Canned::new(
                200,
                "application/json",
                r#"{"job": {"jobId": "", "status": "queued"}}"#,
            ),
        ),
    ] {
        let (sandbox, client) = start(SandboxConfig::default()).await;
        let proxy = Proxy::start(
            &sandbox,
            vec![Rewrite::after("POST", "/v1/generate/", 1, answer)],
        )
        .await;
        let client = client.with_base_url(proxy.base_url());
        let submitted = client
            .submit(&Kling16ProRequest::new("paid once"))
            .await
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        let jobs = sandbox.jobs();
        assert_eq!(jobs.len(), 1, "{name}: exactly one paid job");
        assert!(submitted.recovered, "{name}: adopted from the job list");
        assert_eq!(submitted.job_id().as_str(), jobs[0].id, "{name}");
        assert_eq!(
            proxy.requests(),
            [
                format!("POST /v1/generate/custom/{KLING}"),
                "GET /v1/jobs".to_owned()
            ],
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_yes_that_cannot_be_read_and_no_job_to_be_found_is_uncertain() {
    let (sandbox, client) = start(SandboxConfig::default()).await;
    let garbage = Canned::new(200, "text/html", "<html><body>Accepted</body></html>");
    let proxy = Proxy::start(
        &sandbox,
        vec![Rewrite::instead("POST", "/v1/generate/", 1, garbage)],
    )
    .await;
    let client = client.with_base_url(proxy.base_url());
    let error = client
        .submit(&Kling16ProRequest::new("x"))
        .await
        .unwrap_err();
    let Error::SubmitUncertain { lookup, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(matches!(lookup, JobLookup::NotListed), "{lookup:?}");
    // The cause is the answer that could not be read, and beneath it serde's error.
    let answer = std::error::Error::source(&error)
        .and_then(|cause| cause.downcast_ref::<Box<Error>>())
        .expect("the submit's failure is the source");
    assert!(matches!(&**answer, Error::Decode { .. }), "{answer:?}");
    assert!(
        answer
            .to_string()
            .contains("text/html instead of JSON: <html><body>Accepted</body></html>"),
        "{answer}"
    );
    assert!(
        std::error::Error::source(&**answer).is_some_and(|cause| cause.is::<serde_json::Error>()),
        "{answer:?}"
    );
    assert!(sandbox.jobs().is_empty());
    let generates = proxy
        .requests()
        .iter()
        .filter(|request| request.starts_with("POST /v1/generate/"))
        .count();
    assert_eq!(
        generates,
        1,
        "never submitted blindly again: {:?}",
        proxy.requests()
    );
    assert_eq!(
        proxy
            .requests()
            .iter()
            .filter(|request| *request == "GET /v1/jobs")
            .count(),
        2,
        "looked at once and after the grace pause"
    );
}

#[tokio::test]
async fn a_yes_cut_short_is_reconciled_too() {
    let (sandbox, client) = start(
        SandboxConfig::default()
            .with_fault(on_generate(Fault::TruncateBody { after_bytes: 20 }).times(1)),
    )
    .await;
    let submitted = client.submit(&Kling16ProRequest::new("cut")).await.unwrap();
    assert!(submitted.recovered);
    assert_eq!(sandbox.jobs().len(), 1);
    assert_eq!(submitted.job_id().as_str(), sandbox.jobs()[0].id);
}

#[tokio::test]
async fn a_long_retry_after_fails_at_once_with_the_wait() {
    let (sandbox, client) = start(SandboxConfig::default().with_fault(on_generate(
        Fault::Status {
            status: 429,
            retry_after_secs: Some(3600),
        },
    )))
    .await;
    let started = Instant::now();
    let error = client
        .submit(&Kling16ProRequest::new("x"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "must not hang for an hour"
    );
    let Error::RateLimited { retry_after, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*retry_after, Some(Duration::from_secs(3600)));
    assert!(
        error.to_string().contains("it asked to wait 3600 s"),
        "{error}"
    );
    assert!(error.is_retryable());
    assert_eq!(sandbox.requests().len(), 1);
}

#[tokio::test]
async fn answers_retrying_cannot_fix_are_not_retried() {
    let (sandbox, client) = start(SandboxConfig::default()).await;
    let error = client.job(&JobId::new("job_nope")).await.unwrap_err();
    assert_eq!(error.status(), Some(404));
    assert!(!error.is_retryable());
    assert!(error.request_id().is_some_and(|id| id.starts_with("req_")));

    let wrong = Client::new(Credentials::new("sandbox-key", "wrong"))
        .with_base_url(sandbox.base_url())
        .with_retry_policy(fast_retries());
    let error = wrong
        .submit(&Kling16ProRequest::new("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Auth { status: 401, .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("check SCENARIO_SDK_API_KEY and SCENARIO_SDK_API_SECRET"),
        "{error}"
    );
    assert_eq!(sandbox.requests().len(), 2, "one attempt each");
}

#[tokio::test]
async fn reads_are_retried_through_server_errors_cuts_and_timeouts() {
    let (sandbox, client) = start(SandboxConfig::default()).await;
    let submitted = client.submit(&Kling16ProRequest::new("x")).await.unwrap();
    let job_path = format!("/v1/jobs/{}", submitted.job_id());
    for (fault, times) in [
        ("status=502", 2),
        ("status=500", 1),
        ("status=504", 1),
        ("truncate-body=5", 1),
        ("reset-before-handling", 1),
        ("stall-headers=1500", 1),
    ] {
        sandbox.clear_faults();
        sandbox.add_fault(
            FaultRule::new(Fault::parse(fault).unwrap())
                .on("GET", &job_path)
                .times(times),
        );
        let before = sandbox.requests().len();
        let client = client
            .clone()
            .with_timeouts(Timeouts::default().with_request(Duration::from_millis(500)));
        let job = client
            .job(submitted.job_id())
            .await
            .unwrap_or_else(|error| panic!("{fault}: {error}"));
        assert_eq!(job.status, JobStatus::Success, "{fault}");
        assert_eq!(
            sandbox.requests().len() - before,
            times as usize + 1,
            "{fault}"
        );
    }
}

#[tokio::test]
async fn the_retry_budget_stops_hammering_a_failing_server() {
    let rule = FaultRule::new(Fault::Status {
        status: 500,
        retry_after_secs: None,
    })
    .on("GET", "/v1/jobs/");
    let (sandbox, client) = start(SandboxConfig::default().with_fault(rule)).await;
    let client = client.with_retry_policy(fast_retries().with_max_retries(10).with_budget(3));
    assert_eq!(
        client.job(&JobId::new("job_1")).await.unwrap_err().status(),
        Some(500)
    );
    assert_eq!(
        sandbox.requests().len(),
        4,
        "the first attempt and the 3 retries the budget allows"
    );
    assert!(client.job(&JobId::new("job_1")).await.is_err());
    assert_eq!(
        sandbox.requests().len(),
        5,
        "an empty budget: no retry at all"
    );
}

#[tokio::test]
async fn waiting_reports_every_change_and_ends_in_success() {
    let (_sandbox, client) =
        start(SandboxConfig::default().with_job_duration(Duration::from_millis(400))).await;
    let submitted = client
        .submit(&Kling16ProRequest::new("slow"))
        .await
        .unwrap();
    let options = WaitOptions::default().with_polling(
        Duration::from_millis(10),
        Duration::from_millis(40),
        1.5,
    );
    let mut statuses: Vec<String> = Vec::new();
    let job = client
        .wait_with(submitted.job_id(), options, |update| {
            let status = update.status().to_string();
            if statuses.last() != Some(&status) {
                statuses.push(status);
            }
        })
        .await
        .unwrap();
    assert_eq!(job.status, JobStatus::Success);
    assert_eq!(statuses.first().map(String::as_str), Some("queued"));
    assert_eq!(statuses.last().map(String::as_str), Some("success"));
    crate::support::assert_in_life_order(&statuses);
}

#[tokio::test]
async fn failed_and_canceled_jobs_are_typed_errors() {
    let failure = Fault::JobFailure {
        error: "The model could not render this prompt".into(),
        hint: Some("Try a simpler prompt".into()),
    };
    let (_sandbox, client) = start(
        SandboxConfig::default()
            .with_fault(on_generate(failure).times(1))
            .with_fault(on_generate(Fault::JobCanceled).times(1)),
    )
    .await;
    let failed = client.submit(&Kling16ProRequest::new("x")).await.unwrap();
    let error = client
        .wait(failed.job_id(), WaitOptions::default())
        .await
        .unwrap_err();
    assert_eq!(error.job_id(), Some(failed.job_id()));
    assert_eq!(
        error.to_string(),
        format!(
            "job {} failed: The model could not render this prompt (hint: Try a simpler prompt)",
            failed.job_id()
        )
    );
    let canceled = client.submit(&Kling16ProRequest::new("y")).await.unwrap();
    let error = client
        .wait(canceled.job_id(), WaitOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::JobCanceled { .. }), "{error:?}");
}

#[tokio::test]
async fn a_deadline_leaves_the_job_running_and_names_it() {
    let (sandbox, client) =
        start(SandboxConfig::default().with_job_duration(Duration::from_secs(3600))).await;
    let submitted = client
        .submit(&Kling16ProRequest::new("a long one"))
        .await
        .unwrap();
    let options = WaitOptions::default()
        .with_deadline(Duration::from_millis(150))
        .with_polling(Duration::from_millis(20), Duration::from_millis(50), 2.0);
    let error = client.wait(submitted.job_id(), options).await.unwrap_err();
    let Error::Deadline { job_id, status, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(job_id, submitted.job_id());
    assert_eq!(*status, JobStatus::Queued);
    assert!(
        error.to_string().contains("wait again with its id"),
        "{error}"
    );
    assert_eq!(sandbox.jobs().len(), 1);
    let polls = sandbox
        .requests()
        .iter()
        .filter(|record| record.path.starts_with("/v1/jobs/"))
        .count();
    assert!(
        (2..=12).contains(&polls),
        "polling backs off: {polls} looks in 150 ms"
    );
}

#[tokio::test]
async fn cancel_tells_the_truth() {
    let (_sandbox, client) = start(SandboxConfig::default()).await;
    let submitted = client.submit(&Kling16ProRequest::new("x")).await.unwrap();
    let error = client.cancel(submitted.job_id()).await.unwrap_err();
    let Error::CancelRefused { reason, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        reason,
        "Cannot cancel this type of job. Action not permitted."
    );
    assert!(
        error
            .to_string()
            .contains("the job keeps running and will be charged")
    );
}

#[tokio::test]
async fn listing_follows_tokens_through_short_and_empty_pages() {
    let (sandbox, client) = start(SandboxConfig::default()).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            client
                .submit(&Kling16ProRequest::new(format!("job {n}")))
                .await
                .unwrap()
                .job
                .job_id,
        );
    }
    sandbox.add_fault(
        FaultRule::new(Fault::EmptyPage)
            .on("GET", "/v1/jobs")
            .times(2),
    );
    let listed: Vec<JobId> = client
        .jobs(JobFilter::default().with_page_size(2))
        .map_ok(|job| job.job_id)
        .try_collect()
        .await
        .unwrap();
    ids.reverse();
    assert_eq!(listed, ids);
    let done: Vec<_> = client
        .jobs(JobFilter::default().with_status(JobStatus::Success))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(done.len(), 5);
}

#[tokio::test]
async fn downloads_resume_after_a_cut_and_finish_whole() {
    let size = 2 * 1024 * 1024;
    let (sandbox, client) = start(SandboxConfig::default().with_output_size(size)).await;
    let scratch = Scratch::new("resume");
    let (_, asset_id) = output_of(&client, &Kling16ProRequest::new("x")).await;
    client
        .download(&asset_id, &scratch.0.join("whole.mp4"))
        .await
        .unwrap();

    sandbox.add_fault(
        FaultRule::new(Fault::TruncateBody {
            after_bytes: 300_000,
        })
        .on("GET", "/cdn/")
        .times(2),
    );
    let mut progress = Vec::new();
    let downloaded = client
        .download_with(&asset_id, &scratch.0.join("cut.mp4"), |step| {
            progress.push(step)
        })
        .await
        .unwrap();
    let (cut, whole) = (
        std::fs::read(scratch.0.join("cut.mp4")).unwrap(),
        std::fs::read(scratch.0.join("whole.mp4")).unwrap(),
    );
    assert_eq!(cut, whole);
    assert_eq!(
        downloaded,
        kling_client::Downloaded::of(&whole),
        "the size and SHA-256 taken while writing are the whole file's, across the cuts"
    );
    assert_eq!(downloaded.bytes, size);
    assert_eq!(scratch.files(), ["cut.mp4", "whole.mp4"]);
    let last = progress.last().unwrap();
    assert_eq!((last.bytes, last.total), (size, Some(size)));
    assert!(
        progress
            .windows(2)
            .all(|pair| pair[0].bytes <= pair[1].bytes),
        "progress never goes back"
    );
    let cdn = sandbox
        .requests()
        .into_iter()
        .filter(|record| record.path.starts_with("/cdn/"))
        .count();
    assert_eq!(cdn, 4, "one whole download, then one cut twice and resumed");
}

#[tokio::test]
async fn expired_urls_are_renewed() {
    let (sandbox, client) = start(SandboxConfig::default()).await;
    let scratch = Scratch::new("expired");
    let (_, asset_id) = output_of(&client, &Kling16ProRequest::new("x")).await;
    sandbox.add_fault(
        FaultRule::new(Fault::ExpiredUrl)
            .on("GET", "/v1/assets/")
            .times(1),
    );
    client
        .download(&asset_id, &scratch.0.join("fresh.mp4"))
        .await
        .unwrap();
    let paths: Vec<String> = sandbox
        .requests()
        .iter()
        .map(|record| {
            format!(
                "{} {} {:?}",
                record.method,
                record.path.split('/').take(3).collect::<Vec<_>>().join("/"),
                record.status
            )
        })
        .collect();
    assert!(
        paths.contains(&"GET /cdn/assets Some(403)".to_owned()),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|path| path.starts_with("POST /v1/assets")),
        "asked for a fresh link: {paths:?}"
    );
}

#[tokio::test]
async fn a_failed_download_leaves_nothing_at_the_target() {
    let (sandbox, client) = start(SandboxConfig::default().with_output_size(100_000)).await;
    let scratch = Scratch::new("failed");
    let (_, asset_id) = output_of(&client, &Kling16ProRequest::new("x")).await;
    sandbox.add_fault(FaultRule::new(Fault::TruncateBody { after_bytes: 0 }).on("GET", "/cdn/"));
    let target = scratch.0.join("clip.mp4");
    let error = client.download(&asset_id, &target).await.unwrap_err();
    assert!(matches!(error, Error::Download { .. }), "{error:?}");
    assert!(error.to_string().contains("gave up after"), "{error}");
    assert!(
        scratch.files().is_empty(),
        "neither the target nor a partial file: {:?}",
        scratch.files()
    );
}

#[tokio::test]
async fn slow_bodies_are_waited_for() {
    let (sandbox, client) = start(SandboxConfig::default().with_output_size(200_000)).await;
    let scratch = Scratch::new("slow");
    let (_, asset_id) = output_of(&client, &Kling16ProRequest::new("x")).await;
    sandbox.add_fault(
        FaultRule::new(Fault::SlowBody {
            bytes_per_sec: 1_000_000,
        })
        .on("GET", "/cdn/"),
    );
    assert_eq!(
        client
            .download(&asset_id, &scratch.0.join("slow.mp4"))
            .await
            .unwrap()
            .bytes,
        200_000
    );
}

#[tokio::test]
async fn images_upload_small_and_in_parts() {
    let (sandbox, client) = start(SandboxConfig::default()).await;
    let scratch = Scratch::new("upload");
    let small = scratch.0.join("cat.png");
    std::fs::write(&small, b"\x89PNG\r\n\x1a\nsmall").unwrap();
    let cat = client.upload_image(&small).await.unwrap();
    let job = client
        .submit(&Kling16ProRequest::new("the cat wakes").with_start_image(cat.clone()))
        .await
        .unwrap();
    assert_eq!(sandbox.jobs()[0].input["startImage"], cat.as_str());
    assert_eq!(
        client
            .wait(job.job_id(), WaitOptions::default())
            .await
            .unwrap()
            .status,
        JobStatus::Success
    );

    let large = scratch.0.join("big.jpg");
    let mut content = vec![0xFF, 0xD8, 0xFF, 0xE0];
    content.resize(kling_client::MAX_INLINE_IMAGE_BYTES as usize + 1_234_567, 7);
    std::fs::write(&large, &content).unwrap();
    let big = client.upload_image(&large).await.unwrap();
    client
        .download(&big, &scratch.0.join("back.jpg"))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(scratch.0.join("back.jpg")).unwrap(),
        content,
        "the parts add up to the file"
    );
    assert!(
        sandbox
            .requests()
            .iter()
            .any(|record| record.path.starts_with("/upload-parts/"))
    );

    let pdf = scratch.0.join("doc.pdf");
    std::fs::write(&pdf, b"%PDF-1.7").unwrap();
    let error = client.upload_image(&pdf).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("not an image the API accepts (JPEG, PNG"),
        "{error}"
    );
    let error = client
        .upload_image(&scratch.0.join("missing.png"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Io { .. }), "{error:?}");
}

#[tokio::test]
async fn an_estimate_costs_nothing_and_starts_nothing() {
    let (sandbox, client) = start(SandboxConfig::default()).await;
    let estimate = client
        .estimate(&Kling16ProRequest::new("x").with_duration(Seconds::Seconds10))
        .await
        .unwrap();
    assert_eq!(estimate.creative_units_cost, Some(80.0));
    assert!(sandbox.jobs().is_empty());
}

#[tokio::test]
async fn any_model_can_be_submitted_as_json() {
    let (sandbox, client) = start(SandboxConfig::default()).await;
    let submitted = client
        .submit_json(KLING, json!({"prompt": "from a batch file", "duration": 5}))
        .await
        .unwrap();
    assert_eq!(sandbox.jobs()[0].id, submitted.job_id().as_str());
    let error = client
        .submit_json("model_not-here", json!({"prompt": "x"}))
        .await
        .unwrap_err();
    assert_eq!(
        error.status(),
        Some(404),
        "unknown models are the server's to refuse"
    );
}

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Self;

    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

/// Every log line of the client and the sandbox, from every test of this binary.
///
/// One subscriber for the whole process: a thread-scoped one (`set_default`) misses
/// events whose callsites other threads registered first.
fn captured_logs() -> Captured {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(captured.clone())
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .finish()
                .with(
                    tracing_subscriber::filter::Targets::new()
                        .with_target("kling_client", tracing::Level::TRACE)
                        .with_target("kling_sandbox", tracing::Level::TRACE),
                );
            tracing::subscriber::set_global_default(subscriber)
                .expect("the only global subscriber of the test binary");
            captured
        })
        .clone()
}

#[tokio::test]
async fn secrets_and_signed_urls_never_show() {
    let secret = "s3cr3t-that-must-not-leak";
    let credentials = kling_sandbox::Credentials {
        key: "key-that-must-not-leak".into(),
        secret: secret.into(),
    };
    let config = SandboxConfig::default()
        .with_credentials(credentials)
        .with_output_size(50_000)
        .with_fault(on_generate(Fault::ResetAfterHandling).times(1))
        .with_fault(
            FaultRule::new(Fault::TruncateBody {
                after_bytes: 10_000,
            })
            .on("GET", "/cdn/")
            .times(1),
        )
        .with_fault(
            FaultRule::new(Fault::Status {
                status: 503,
                retry_after_secs: Some(0),
            })
            .on("GET", "/v1/jobs/")
            .times(1),
        );
    let sandbox = Sandbox::start(config).await.unwrap();
    let captured = captured_logs();

    let client = Client::new(Credentials::new("key-that-must-not-leak", secret))
        .with_base_url(sandbox.base_url())
        .with_retry_policy(fast_retries());
    let scratch = Scratch::new("secrets");
    let mut shown = vec![format!("{client:?}")];
    let files = client
        .generate(&Kling16ProRequest::new("x"), &scratch.0)
        .await
        .unwrap();
    assert_eq!(files.len(), 1);
    let (_, asset_id) = output_of(&client, &Kling16ProRequest::new("y")).await;
    sandbox.add_fault(FaultRule::new(Fault::TruncateBody { after_bytes: 0 }).on("GET", "/cdn/"));
    shown.push(
        client
            .download(&asset_id, &scratch.0.join("z.mp4"))
            .await
            .unwrap_err()
            .to_string(),
    );
    let wrong = Client::new(Credentials::new(
        "key-that-must-not-leak",
        "wrong-secret-also-private",
    ))
    .with_base_url(sandbox.base_url());
    let error = wrong.job(&JobId::new("job_x")).await.unwrap_err();
    shown.push(error.to_string());
    shown.push(format!("{error:?}"));
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("retrying") && logs.contains("resuming the download"),
        "the flow was logged:\n{logs}"
    );
    shown.push(logs);
    for text in shown {
        for private in [
            secret,
            "wrong-secret-also-private",
            "key-that-must-not-leak",
            "Signature=",
            "Expires=",
        ] {
            assert!(!text.contains(private), "`{private}` shows in:\n{text}");
        }
    }
}

#[test]
fn missing_credentials_name_the_variable() {
    let from = |vars: &[(&str, &str)]| {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Client::from_vars(move |name| {
            vars.iter()
                .find(|(var, _)| var == name)
                .map(|(_, value)| value.clone())
        })
    };
    let error = from(&[]).unwrap_err();
    assert!(error.to_string().starts_with("SCENARIO_SDK_API_KEY is not set: export SCENARIO_SDK_API_KEY and SCENARIO_SDK_API_SECRET"), "{error}");
    let error = from(&[
        ("SCENARIO_SDK_API_KEY", "a-key"),
        ("SCENARIO_SDK_API_SECRET", "  "),
    ])
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("SCENARIO_SDK_API_SECRET is not set"),
        "{error}"
    );
    let keys = [
        ("SCENARIO_SDK_API_KEY", "a-key"),
        ("SCENARIO_SDK_API_SECRET", "a-secret"),
    ];
    assert_eq!(
        from(&[keys[0], keys[1]]).unwrap().base_url(),
        kling_client::DEFAULT_BASE_URL
    );
    let error = from(&[keys[0], keys[1], ("SCENARIO_BASE_URL", "ftp://example")]).unwrap_err();
    assert!(
        error.to_string().contains("is not an http(s) URL"),
        "{error}"
    );
    assert_eq!(
        from(&[
            keys[0],
            keys[1],
            ("SCENARIO_BASE_URL", "http://127.0.0.1:9/v1/")
        ])
        .unwrap()
        .base_url(),
        "http://127.0.0.1:9/v1"
    );
}

#[tokio::test]
async fn an_unknown_status_is_reported_and_waiting_goes_on() {
    let rule = on_generate(Fault::UnknownStatus {
        status: "rendering-frames".into(),
    });
    let (_sandbox, client) = start(
        SandboxConfig::default()
            .with_job_duration(Duration::from_millis(300))
            .with_fault(rule),
    )
    .await;
    let submitted = client
        .submit(&Kling16ProRequest::new("from the future"))
        .await
        .unwrap();
    let options = WaitOptions::default().with_polling(
        Duration::from_millis(10),
        Duration::from_millis(30),
        1.5,
    );
    let mut seen = Vec::new();
    let job = client
        .wait_with(submitted.job_id(), options, |update| {
            seen.push(update.status().clone())
        })
        .await
        .unwrap();
    assert_eq!(job.status, JobStatus::Success);
    assert!(
        seen.contains(&JobStatus::Other("rendering-frames".to_owned())),
        "{seen:?}"
    );
}

#[tokio::test]
async fn an_abandoned_download_leaves_nothing_behind() {
    let (sandbox, client) = start(SandboxConfig::default().with_output_size(1_000_000)).await;
    let scratch = Scratch::new("abandoned");
    let (_, asset_id) = output_of(&client, &Kling16ProRequest::new("x")).await;
    sandbox.add_fault(
        FaultRule::new(Fault::SlowBody {
            bytes_per_sec: 100_000,
        })
        .on("GET", "/cdn/"),
    );
    let target = scratch.0.join("clip.mp4");
    let download = client.download(&asset_id, &target);
    // As Ctrl-C does: the download's future is dropped half-way.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), download)
            .await
            .is_err()
    );
    assert!(scratch.files().is_empty(), "{:?}", scratch.files());
}

#[tokio::test]
async fn a_lost_answer_is_matched_to_the_job_of_exactly_its_request_before_a_wider_one() {
    let (sandbox, client) = start(SandboxConfig::default()).await;
    let started = std::time::SystemTime::now() - Duration::from_secs(5);
    // Another request that says more (older), then this one's own job (newer).
    let wider = client
        .submit_json(KLING, json!({"prompt": "a fox", "duration": 10}))
        .await
        .unwrap();
    let own = client
        .submit_json(KLING, json!({"prompt": "a fox"}))
        .await
        .unwrap();
    // A new process (a rerun) knows neither.
    let rerun = client_for(&sandbox);
    let found = rerun
        .recover_submitted(KLING, &json!({"prompt": "a fox"}), started)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        &found.job_id,
        own.job_id(),
        "not the wider {}",
        wider.job_id()
    );
    // The wider request finds its own too.
    let found = rerun
        .recover_submitted(KLING, &json!({"prompt": "a fox", "duration": 10}), started)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&found.job_id, wider.job_id());
}

#[tokio::test]
async fn a_lost_answer_never_adopts_a_job_that_asked_for_something_else() {
    let (sandbox, client) = start(SandboxConfig::default()).await;
    let started = std::time::SystemTime::now() - Duration::from_secs(5);
    // Another request, with a duration that is not the default: the only job there is.
    let other = client
        .submit_json(KLING, json!({"prompt": "a fox", "duration": 10}))
        .await
        .unwrap();
    // A rerun looks for the job of `{"prompt": "a fox"}`, whose submit never arrived.
    let rerun = client_for(&sandbox);
    let found = rerun
        .recover_submitted(KLING, &json!({"prompt": "a fox"}), started)
        .await
        .unwrap();
    assert!(
        found.is_none(),
        "{:?} is the job of {}",
        found.map(|job| job.job_id),
        other.job_id()
    );
    // A job whose input only adds defaults (as a server may) is the same request.
    let with_defaults = client
        .submit_json(
            KLING,
            json!({"prompt": "a hare", "duration": 5, "aspectRatio": "16:9"}),
        )
        .await
        .unwrap();
    let found = rerun
        .recover_submitted(KLING, &json!({"prompt": "a hare"}), started)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&found.job_id, with_defaults.job_id());
}
