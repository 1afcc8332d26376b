//! `JobBoard`: many jobs waited for with one job-list request per tick. Each test
//! checks the outcome a lone wait would give, and how many requests it took.

use std::time::Duration;

use kling_client::{Error, JobBoard, WaitOptions};
use kling_sandbox::{Fault, FaultRule, Sandbox, SandboxConfig, SandboxHandle};
use kling_types::kling_v1_6_pro::Kling16ProRequest;

use crate::client::client_for;

/// Requests the sandbox saw: job lists, and looks at single jobs.
fn status_requests(sandbox: &SandboxHandle) -> (usize, usize) {
    let requests = sandbox.requests();
    let lists = requests
        .iter()
        .filter(|request| request.method == "GET" && request.path == "/v1/jobs")
        .count();
    let singles = requests
        .iter()
        .filter(|request| request.method == "GET" && request.path.starts_with("/v1/jobs/"))
        .count();
    (lists, singles)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_jobs_cost_one_list_per_tick_and_end_as_a_lone_wait_would() {
    let sandbox =
        Sandbox::start(SandboxConfig::default().with_job_duration(Duration::from_millis(1500)))
            .await
            .unwrap();
    let client = client_for(&sandbox);
    let mut jobs = Vec::new();
    for n in 0..24 {
        let submitted = client
            .submit(&Kling16ProRequest::new(format!("clip {n}")))
            .await
            .unwrap();
        jobs.push(submitted.job);
    }
    let board = client.job_board(WaitOptions::default());
    let ended = futures_util::future::join_all(jobs.iter().map(|job| board.wait_for(job))).await;
    for job in ended {
        let job = job.unwrap();
        assert_eq!(job.status.as_str(), "success");
        assert_eq!(job.metadata.unwrap().asset_ids.len(), 1);
    }
    let (lists, singles) = status_requests(&sandbox);
    assert_eq!(singles, 0, "every job was seen in the lists");
    assert_eq!(u64::try_from(lists).unwrap(), board.requests());
    // Waiting alone, each of the 24 jobs takes several looks of its own.
    assert!(lists < 24, "{lists} lists for 24 jobs");

    // The same 24 waited alone, for comparison.
    let before = status_requests(&sandbox);
    let alone =
        Sandbox::start(SandboxConfig::default().with_job_duration(Duration::from_millis(1500)))
            .await
            .unwrap();
    let lone_client = client_for(&alone);
    let mut ids = Vec::new();
    for n in 0..24 {
        ids.push(
            lone_client
                .submit(&Kling16ProRequest::new(format!("clip {n}")))
                .await
                .unwrap()
                .job_id()
                .clone(),
        );
    }
    futures_util::future::join_all(
        ids.iter()
            .map(|id| lone_client.wait(id, WaitOptions::default())),
    )
    .await;
    let (_, lone_singles) = status_requests(&alone);
    assert!(
        lone_singles >= 5 * lists,
        "a board made {lists} requests where lone waits made {lone_singles} (before: {before:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_fails_its_wait_with_the_reason() {
    let sandbox = Sandbox::start(
        SandboxConfig::default().with_fault(
            FaultRule::new(Fault::JobFailure {
                error: "out of memory".to_owned(),
                hint: Some("try a shorter clip".to_owned()),
            })
            .on("POST", "/v1/generate/")
            .times(1),
        ),
    )
    .await
    .unwrap();
    let client = client_for(&sandbox);
    let failing = client.submit(&Kling16ProRequest::new("a")).await.unwrap();
    let fine = client.submit(&Kling16ProRequest::new("b")).await.unwrap();
    let board = client.job_board(WaitOptions::default());
    let (failed, succeeded) = tokio::join!(board.wait_for(&failing.job), board.wait_for(&fine.job));
    match failed {
        Err(Error::JobFailed { reason, hint, .. }) => {
            assert_eq!(reason, "out of memory");
            assert_eq!(hint.as_deref(), Some("try a shorter clip"));
        }
        other => panic!("expected a job failure, got {other:?}"),
    }
    assert!(succeeded.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_known_only_by_id_is_looked_at_alone_first() {
    // A job that ended before the board knew of it changes no more: no list shows it.
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client_for(&sandbox);
    let submitted = client.submit(&Kling16ProRequest::new("a")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let board = client.job_board(WaitOptions::default());
    let job = tokio::time::timeout(Duration::from_secs(5), board.wait(submitted.job_id()))
        .await
        .expect("seen at once, not after JobBoard::STALE_AFTER")
        .unwrap();
    assert_eq!(job.status.as_str(), "success");
    assert!(JobBoard::STALE_AFTER > Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_gives_the_job_id_to_resume() {
    let sandbox =
        Sandbox::start(SandboxConfig::default().with_job_duration(Duration::from_secs(60)))
            .await
            .unwrap();
    let client = client_for(&sandbox);
    let submitted = client.submit(&Kling16ProRequest::new("a")).await.unwrap();
    let board = client.job_board(WaitOptions::default().with_deadline(Duration::from_millis(300)));
    match board.wait_for(&submitted.job).await {
        Err(Error::Deadline { job_id, .. }) => assert_eq!(&job_id, submitted.job_id()),
        other => panic!("expected the deadline, got {other:?}"),
    }
}
