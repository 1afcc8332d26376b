//! `kling-sandbox` over real HTTP: every endpoint, auth, validation, the life of a job,
//! expiring URLs, `Range`, uploads, and every fault it can inject. A raw hyper client
//! is used so that resets and truncated bodies show as what they are.

use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::http::{HeaderMap, Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kling_sandbox::{Fault, FaultRule, Sandbox, SandboxConfig, SandboxHandle};
use kling_types::api::{
    AssetResponse, DownloadLink, ErrorBody, EstimateResponse, GenerateResponse, JobList,
    JobResponse, JobStatus,
};
use serde_json::{Value, json};

const KLING: &str = "model_kling-v1-6-pro";

/// A sandbox and a plain HTTP client that speaks to it.
struct Api {
    sandbox: SandboxHandle,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// A complete answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "not JSON ({error}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn decode<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "does not decode ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// What went wrong below HTTP: no answer at all, or an answer cut short.
#[derive(Debug, PartialEq)]
enum Broken {
    NoAnswer,
    CutShort { status: u16, received: usize },
}

impl Api {
    async fn start(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::start(config).await.unwrap();
        Self {
            sandbox,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    async fn new() -> Self {
        Self::start(SandboxConfig::default()).await
    }

    /// An absolute URL for an API path (`/jobs`) or an URL handed out by the sandbox.
    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.sandbox.base_url())
        }
    }

    /// An absolute URL for an admin path (`/_sandbox/…`), beside `/v1`.
    fn admin(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.base_url().trim_end_matches("/v1"))
    }

    fn auth(&self) -> String {
        let credentials = self.sandbox.credentials();
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", credentials.key, credentials.secret))
        )
    }

    async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, Broken> {
        let mut request = Request::builder()
            .method(method)
            .uri(self.url(path))
            .header("authorization", self.auth())
            .header("accept", "application/json");
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = body
            .map(|body| Bytes::from(body.to_string()))
            .unwrap_or_default();
        let response = self
            .client
            .request(request.body(Full::new(body)).unwrap())
            .await
            .map_err(|_| Broken::NoAnswer)?;
        let (parts, mut body) = response.into_parts();
        let mut received = Vec::new();
        // Bounded by the body's length: each frame carries at least one byte or ends it.
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    received.extend_from_slice(frame.data_ref().map_or(&[][..], |data| &data[..]))
                }
                Err(_) => {
                    return Err(Broken::CutShort {
                        status: parts.status.as_u16(),
                        received: received.len(),
                    });
                }
            }
        }
        Ok(Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: received.into(),
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.try_send(method, path, body, headers)
            .await
            .unwrap_or_else(|broken| panic!("{path}: {broken:?}"))
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, &[]).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    async fn generate(&self, body: Value) -> Reply {
        self.post(&format!("/generate/custom/{KLING}"), body).await
    }

    /// Generates and returns the job id.
    async fn submit(&self, prompt: &str) -> String {
        let reply = self.generate(json!({"prompt": prompt})).await;
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        reply.decode::<GenerateResponse>().job.job_id.into_string()
    }

    async fn job(&self, job_id: &str) -> Value {
        self.get(&format!("/jobs/{job_id}")).await.json()["job"].clone()
    }
}

/// The fields the official Python SDK's types require (`scenario-api.md`).
#[track_caller]
fn assert_has_fields(value: &Value, fields: &[&str]) {
    for field in fields {
        assert!(value.get(*field).is_some(), "missing `{field}` in {value}");
    }
}

const JOB_FIELDS: &[&str] = &[
    "jobId",
    "jobType",
    "status",
    "progress",
    "metadata",
    "statusHistory",
    "createdAt",
    "updatedAt",
];
const ASSET_FIELDS: &[&str] = &[
    "id",
    "authorId",
    "collectionIds",
    "createdAt",
    "updatedAt",
    "editCapabilities",
    "kind",
    "metadata",
    "mimeType",
    "ownerId",
    "privacy",
    "properties",
    "source",
    "status",
    "tags",
    "url",
];

#[tokio::test]
async fn text_to_video_from_submit_to_playable_file() {
    let api = Api::new().await;
    let reply = api.generate(json!({"prompt": "A fantasy landscape", "negativePrompt": "", "aspectRatio": "16:9", "cfgScale": 0.5, "duration": 5})).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("x-request-id")
            .is_some_and(|id| id.starts_with("req_"))
    );
    let generated: GenerateResponse = reply.decode();
    assert_has_fields(&reply.json()["job"], JOB_FIELDS);
    assert_eq!(generated.creative_units_cost, Some(40.0));

    // Zero-second jobs (the default) have already succeeded.
    let reply = api.get(&format!("/jobs/{}", generated.job.job_id)).await;
    assert_has_fields(&reply.json()["job"], JOB_FIELDS);
    let job = reply.decode::<JobResponse>().job;
    assert_eq!(job.status, JobStatus::Success);
    assert_eq!(job.progress, Some(1.0));
    let history: Vec<String> = job
        .status_history
        .iter()
        .map(|change| change.status.to_string())
        .collect();
    assert_eq!(
        history,
        [
            "queued",
            "warming-up",
            "in-progress",
            "finalizing",
            "success"
        ]
    );
    let metadata = job.metadata.unwrap();
    assert_eq!(metadata.input["prompt"], "A fantasy landscape");
    let asset_id = &metadata.asset_ids[0];

    let reply = api.get(&format!("/assets/{asset_id}")).await;
    assert_has_fields(&reply.json()["asset"], ASSET_FIELDS);
    let asset = reply.decode::<AssetResponse>().asset;
    assert_eq!(asset.mime_type.as_deref(), Some("video/mp4"));
    let properties = asset.properties.unwrap();
    assert_eq!(
        (properties.width, properties.height, properties.duration),
        (Some(64), Some(36), Some(5.0))
    );
    let url = asset.url.unwrap();
    assert!(url.contains("Signature="), "{url}");

    let file = api.get(&url).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.header("content-type"), Some("video/mp4"));
    assert_eq!(file.body.len() as i64, properties.size.unwrap());
    assert_eq!(
        file.header("content-length"),
        Some(file.body.len().to_string().as_str())
    );
    assert!(file.header("etag").is_some());
    assert_eq!(&file.body[4..8], b"ftyp", "an mp4 opens with its ftyp box");
    assert_eq!(api.sandbox.jobs().len(), 1);

    // Its poster: `thumbnail` and `firstFrame` name one image asset, a real PNG.
    let thumbnail = asset.thumbnail.unwrap();
    assert_eq!(asset.first_frame, Some(thumbnail.clone()));
    let poster_id = thumbnail.asset_id.unwrap();
    let reply = api.get(&format!("/assets/{poster_id}")).await;
    let poster = reply.decode::<AssetResponse>().asset;
    assert_eq!(poster.mime_type.as_deref(), Some("image/png"));
    let image = api.get(&thumbnail.url.unwrap()).await;
    assert_eq!(image.status, 200);
    assert_eq!(image.header("content-type"), Some("image/png"));
    assert_eq!(&image.body[..8], b"\x89PNG\r\n\x1a\n");
}

#[tokio::test]
async fn aspect_ratio_and_duration_shape_the_video() {
    let api = Api::new().await;
    for (aspect_ratio, duration, width, height) in [("9:16", 10, 36, 64), ("1:1", 5, 64, 64)] {
        let job_id = api
            .submit_with(json!({"prompt": "x", "aspectRatio": aspect_ratio, "duration": duration}))
            .await;
        let asset_id = api.job(&job_id).await["metadata"]["assetIds"][0]
            .as_str()
            .unwrap()
            .to_owned();
        let properties =
            api.get(&format!("/assets/{asset_id}")).await.json()["asset"]["properties"].clone();
        assert_eq!(
            (properties["width"].as_u64(), properties["height"].as_u64()),
            (Some(width), Some(height)),
            "{aspect_ratio}"
        );
        assert_eq!(properties["duration"], duration);
    }
}

impl Api {
    /// The ids of the jobs of one page of a job list.
    async fn job_ids(&self, path: &str) -> Vec<String> {
        let page: JobList = self.get(path).await.decode();
        page.jobs
            .into_iter()
            .map(|job| job.job_id.into_string())
            .collect()
    }

    async fn submit_with(&self, body: Value) -> String {
        let reply = self.generate(body).await;
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        reply.json()["job"]["jobId"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn a_job_lives_through_every_status_in_order() {
    let api =
        Api::start(SandboxConfig::default().with_job_duration(Duration::from_millis(400))).await;
    let job_id = api.submit("slow").await;
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..200 {
        let job = api.job(&job_id).await;
        let status = job["status"].as_str().unwrap().to_owned();
        let progress = job["progress"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&progress));
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "success" {
            assert!(job["metadata"]["assetIds"][0].is_string());
            let history: Vec<&str> = job["statusHistory"]
                .as_array()
                .unwrap()
                .iter()
                .map(|change| change["status"].as_str().unwrap())
                .collect();
            assert_eq!(history, crate::support::LIFE);
            break;
        }
        assert_eq!(
            job["metadata"]["assetIds"],
            json!([]),
            "no output before success"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    crate::support::assert_in_life_order(&seen);
    assert!(
        seen.len() >= 3,
        "saw too few statuses to be a life: {seen:?}"
    );
}

#[tokio::test]
async fn the_sandbox_clock_can_run_faster_than_real_time() {
    let config = SandboxConfig::default()
        .with_job_duration(Duration::from_secs(300))
        .with_clock_speed(3000.0);
    let api = Api::start(config).await;
    let job_id = api.submit("five minutes").await;
    let mut status = String::new();
    for _ in 0..100 {
        status = api.job(&job_id).await["status"]
            .as_str()
            .unwrap()
            .to_owned();
        if status == "success" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(status, "success", "a 5-minute job at 3000x takes 100 ms");
}

#[tokio::test]
async fn dry_run_answers_269_with_the_cost_and_starts_nothing() {
    let api = Api::new().await;
    let reply = api
        .send(
            Method::POST,
            &format!("/generate/custom/{KLING}?dryRun=true"),
            Some(json!({"prompt": "x", "duration": 10})),
            &[],
        )
        .await;
    assert_eq!(reply.status, 269);
    let estimate: EstimateResponse = reply.decode();
    assert_eq!(estimate.creative_units_cost, Some(80.0));
    assert_eq!(estimate.cost_details["custom-generation"], 80.0);
    assert!(api.sandbox.jobs().is_empty());
}

/// The bodies of the 400s a bad request gets, as a user would read them.
#[tokio::test]
async fn bad_requests_get_the_api_400_naming_the_field() {
    let api = Api::new().await;
    let cases = [
        json!({}),
        json!({"prompt": ""}),
        json!({"prompt": "x".repeat(2501)}),
        json!({"prompt": "x", "cfgScale": 1.5}),
        json!({"prompt": "x", "duration": 7}),
        json!({"prompt": "x", "aspectRatio": "4:3"}),
        json!({"prompt": "x", "endImage": "asset_end"}),
        json!({"prompt": "x", "referenceImages": ["a", "b", "c", "d", "e"]}),
        json!({"prompt": "x", "seed": 1}),
    ];
    let mut report = String::new();
    for body in cases {
        let reply = api.generate(body.clone()).await;
        assert_eq!(reply.status, 400);
        let error: ErrorBody = reply.decode();
        assert!(error.reason.is_some());
        let shown = if body.to_string().len() > 80 {
            "{\"prompt\": <2501 characters>}".to_owned()
        } else {
            body.to_string()
        };
        report.push_str(&format!("{shown}\n  => {}\n", reply.json()));
    }
    let reply = api
        .send(
            Method::POST,
            &format!("/generate/custom/{KLING}"),
            None,
            &[],
        )
        .await;
    report.push_str(&format!("<no body>\n  => {}\n", reply.json()));
    assert_eq!(reply.status, 400);
    insta::assert_snapshot!(report);
    assert!(api.sandbox.jobs().is_empty(), "no bad request starts a job");
}

#[tokio::test]
async fn unknown_ids_are_404_with_the_error_body() {
    let api = Api::new().await;
    for path in [
        "/generate/custom/model_nope",
        "/jobs/job_nope",
        "/assets/asset_nope",
        "/models/model_nope",
        "/uploads/upload_nope",
        "/nowhere",
    ] {
        let reply = if path.starts_with("/generate") {
            api.post(path, json!({"prompt": "x"})).await
        } else {
            api.get(path).await
        };
        assert_eq!(reply.status, 404, "{path}");
        assert!(reply.decode::<ErrorBody>().reason.is_some(), "{path}");
    }
}

#[tokio::test]
async fn credentials_are_checked_on_every_api_path() {
    let api = Api::new().await;
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("sandbox-key:wrong")
    );
    for (path, headers) in [
        ("/jobs", vec![("authorization", wrong.as_str())]),
        ("/models", vec![("authorization", "Bearer nope")]),
    ] {
        // Replace the good credentials with bad ones.
        let mut request = Request::builder().uri(api.url(path));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = api
            .client
            .request(request.body(Full::new(Bytes::new())).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
        assert!(response.headers().contains_key("www-authenticate"));
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            json!({"reason": "Unauthorized: invalid API key or secret"})
        );
    }
    assert_eq!(api.get("/jobs").await.status, 200);
}

#[tokio::test]
async fn job_lists_page_newest_first_and_filter() {
    let api =
        Api::start(SandboxConfig::default().with_job_duration(Duration::from_secs(3600))).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(api.submit(&format!("job {n}")).await);
    }
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let path = match &token {
            Some(token) => format!("/jobs?pageSize=2&paginationToken={token}"),
            None => "/jobs?pageSize=2".to_owned(),
        };
        let page: JobList = api.get(&path).await.decode();
        assert!(page.jobs.len() <= 2);
        listed.extend(page.jobs.into_iter().map(|job| job.job_id.into_string()));
        token = page.next_pagination_token;
        if token.is_none() {
            break;
        }
    }
    ids.reverse();
    assert_eq!(listed, ids, "every job once, newest first");

    assert_eq!(
        api.get("/jobs?status=queued")
            .await
            .decode::<JobList>()
            .jobs
            .len(),
        5
    );
    assert_eq!(
        api.get("/jobs?status=success")
            .await
            .decode::<JobList>()
            .jobs
            .len(),
        0
    );
    assert_eq!(
        api.get("/jobs?types=custom,upscale")
            .await
            .decode::<JobList>()
            .jobs
            .len(),
        5
    );
    assert_eq!(
        api.get("/jobs?createdAfter=2000-01-01T00:00:00.000Z")
            .await
            .decode::<JobList>()
            .jobs
            .len(),
        5
    );
    assert_eq!(
        api.get("/jobs?createdAfter=2999-01-01T00:00:00.000Z")
            .await
            .decode::<JobList>()
            .jobs
            .len(),
        0
    );
    for bad in [
        "/jobs?createdAfter=2000-01-01T00:00:00.000Z&status=queued",
        "/jobs?pageSize=0",
        "/jobs?pageSize=101",
        "/jobs?paginationToken=bogus",
    ] {
        assert_eq!(api.get(bad).await.status, 400, "{bad}");
    }
}

/// A job's life as the sandbox shows it: each state (status, progress) with the share
/// of the job's duration, in hundredths, after which it is reached.
const STEPS: [(&str, f64, u64); 14] = [
    ("queued", 0.0, 0),
    ("warming-up", 0.0, 10),
    ("in-progress", 0.0, 20),
    ("in-progress", 0.1, 27),
    ("in-progress", 0.2, 34),
    ("in-progress", 0.3, 41),
    ("in-progress", 0.4, 48),
    ("in-progress", 0.5, 55),
    ("in-progress", 0.6, 62),
    ("in-progress", 0.7, 69),
    ("in-progress", 0.8, 76),
    ("in-progress", 0.9, 83),
    ("finalizing", 1.0, 90),
    ("success", 1.0, 100),
];

/// The index in [`STEPS`] of a job's state.
#[track_caller]
fn step_of(job: &Value) -> usize {
    let state = (
        job["status"].as_str().unwrap(),
        job["progress"].as_f64().unwrap(),
    );
    STEPS
        .iter()
        .position(|(status, progress, _)| (*status, *progress) == state)
        .unwrap_or_else(|| panic!("{state:?} is not a step of a job's life"))
}

/// Milliseconds since the epoch of an API date.
#[track_caller]
fn millis(date: &Value) -> i64 {
    let moment = kling_types::__private::time::parse_iso8601(date.as_str().unwrap()).unwrap();
    moment
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A job's `updatedAt` is the moment of its last change of status or progress: it
/// moves exactly when they do, to `createdAt` plus the step's share of the duration,
/// and `statusHistory` dates each status at the moment of the step that entered it.
#[tokio::test]
async fn a_jobs_updated_at_moves_exactly_when_its_status_or_progress_moves() {
    let duration_ms = 1400;
    let api =
        Api::start(SandboxConfig::default().with_job_duration(Duration::from_millis(duration_ms)))
            .await;
    let job_id = api.submit("step by step").await;
    let mut seen: Vec<Value> = Vec::new();
    for _ in 0..2000 {
        let job = api.job(&job_id).await;
        let done = job["status"] == "success";
        seen.push(job);
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let at = |step: usize| STEPS[step].2 as i64 * duration_ms as i64 / 100;
    let created = millis(&seen[0]["createdAt"]);
    for pair in seen.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        let moved = step_of(before) != step_of(after);
        assert_eq!(
            before["updatedAt"] != after["updatedAt"],
            moved,
            "updatedAt moves exactly when status or progress does:\n{before}\n{after}"
        );
        assert!(step_of(before) <= step_of(after), "a job never goes back");
    }
    for job in &seen {
        let step = step_of(job);
        // Both dates are cut to the millisecond: they may differ by one more.
        let offset = millis(&job["updatedAt"]) - created;
        assert!(
            (offset - at(step)).abs() <= 1,
            "{:?} is reached {} ms after creation, not {offset}",
            STEPS[step],
            at(step)
        );
        let history = job["statusHistory"].as_array().unwrap();
        let last = history.last().unwrap();
        assert_eq!(
            last["status"], job["status"],
            "the history ends with the status"
        );
        assert!(millis(&last["date"]) <= millis(&job["updatedAt"]));
        for change in history {
            let first = STEPS
                .iter()
                .position(|(status, ..)| change["status"] == *status)
                .unwrap();
            assert!(
                (millis(&change["date"]) - created - at(first)).abs() <= 1,
                "{change}"
            );
        }
    }
    let states: std::collections::BTreeSet<usize> = seen.iter().map(step_of).collect();
    assert!(
        states.len() >= 4,
        "too few states seen to judge: {states:?}"
    );
    assert_eq!(seen.last().unwrap()["status"], "success");
}

/// Polling with `updatedAfter` set to the last `updatedAt` seen returns the job once
/// per change of its status or progress, and nothing once it is done.
#[tokio::test]
async fn updated_after_returns_a_job_once_per_change() {
    let api =
        Api::start(SandboxConfig::default().with_job_duration(Duration::from_millis(1400))).await;
    let reply = api.generate(json!({"prompt": "polled"})).await;
    let job_id = reply.json()["job"]["jobId"].as_str().unwrap().to_owned();
    let created = reply.json()["job"]["createdAt"]
        .as_str()
        .unwrap()
        .to_owned();
    // Just before the job was created: its first state is a change too.
    let mut after = kling_types::__private::time::format_iso8601(
        kling_types::__private::time::parse_iso8601(&created).unwrap() - Duration::from_millis(1),
    );
    let mut returned: Vec<usize> = Vec::new();
    for _ in 0..2000 {
        let page = api.get(&format!("/jobs?updatedAfter={after}")).await.json();
        let jobs = page["jobs"].as_array().unwrap();
        assert!(jobs.len() <= 1, "{page}");
        match jobs.first() {
            Some(job) => {
                assert_eq!(job["jobId"], job_id.as_str());
                let step = step_of(job);
                assert!(
                    returned.last().is_none_or(|last| *last < step),
                    "returned twice for one change, or out of order: {returned:?} then {step}"
                );
                returned.push(step);
                after = job["updatedAt"].as_str().unwrap().to_owned();
            }
            None if returned.last() == Some(&(STEPS.len() - 1)) => break,
            None => {}
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        returned.first(),
        Some(&0),
        "the job is returned from its creation on"
    );
    assert_eq!(returned.last(), Some(&(STEPS.len() - 1)), "{returned:?}");
    assert!(
        api.get(&format!("/jobs?updatedAfter={after}")).await.json()["jobs"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing changes after success"
    );
}

/// `createdAfter` and `updatedAfter` keep exactly the jobs after the moment, and a
/// filtered list pages through every match once, newest first.
#[tokio::test]
async fn filtered_job_lists_keep_exactly_the_jobs_after_the_moment_and_page_through_them() {
    let api =
        Api::start(SandboxConfig::default().with_job_duration(Duration::from_secs(3600))).await;
    let mut jobs: Vec<(String, String)> = Vec::new();
    for n in 0..5 {
        let reply = api.generate(json!({"prompt": format!("job {n}")})).await;
        let job = reply.json()["job"].clone();
        jobs.push((
            job["jobId"].as_str().unwrap().to_owned(),
            job["createdAt"].as_str().unwrap().to_owned(),
        ));
        // Each job in a millisecond of its own.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    for (k, (_, created)) in jobs.iter().enumerate() {
        let newer: Vec<String> = jobs[k + 1..]
            .iter()
            .rev()
            .map(|(id, _)| id.clone())
            .collect();
        // Queued jobs have not changed since their creation: updatedAt == createdAt.
        assert_eq!(
            api.job_ids(&format!("/jobs?createdAfter={created}")).await,
            newer,
            "createdAfter"
        );
        assert_eq!(
            api.job_ids(&format!("/jobs?updatedAfter={created}")).await,
            newer,
            "updatedAfter"
        );
    }
    let mut listed = Vec::new();
    let mut path = format!("/jobs?updatedAfter={}&pageSize=2", jobs[0].1);
    let mut tokens = 0;
    loop {
        let page: JobList = api.get(&path).await.decode();
        listed.extend(page.jobs.into_iter().map(|job| job.job_id.into_string()));
        let Some(token) = page.next_pagination_token else {
            break;
        };
        tokens += 1;
        path = format!(
            "/jobs?updatedAfter={}&pageSize=2&paginationToken={token}",
            jobs[0].1
        );
    }
    let newer: Vec<String> = jobs[1..].iter().rev().map(|(id, _)| id.clone()).collect();
    assert_eq!(listed, newer);
    assert_eq!(
        tokens, 1,
        "a token on every page but the last (4 jobs, 2 a page)"
    );

    // A status filter pages through its matches, the others left out.
    let api = Api::new().await;
    let mut failed = Vec::new();
    for n in 0..7 {
        let fault = if n % 2 == 0 {
            "job-failure=no"
        } else {
            "empty-page"
        };
        let reply = api
            .send(
                Method::POST,
                &format!("/generate/custom/{KLING}"),
                Some(json!({"prompt": format!("job {n}")})),
                &[("x-sandbox-fault", fault)],
            )
            .await;
        let id = reply.json()["job"]["jobId"].as_str().unwrap().to_owned();
        if n % 2 == 0 {
            failed.push(id);
        }
    }
    failed.reverse();
    let mut listed = Vec::new();
    let mut path = "/jobs?status=failure&pageSize=3".to_owned();
    for _ in 0..5 {
        let page: JobList = api.get(&path).await.decode();
        assert!(page.jobs.iter().all(|job| job.status == JobStatus::Failure));
        listed.extend(page.jobs.into_iter().map(|job| job.job_id.into_string()));
        match page.next_pagination_token {
            Some(token) => {
                path = format!("/jobs?status=failure&pageSize=3&paginationToken={token}")
            }
            None => break,
        }
    }
    assert_eq!(listed, failed, "every failed job once, newest first");
}

/// Scenario caps a team's parallel jobs: at the limit a generate answers 429, naming
/// the limit in `details`, with `Retry-After` until the first running job ends. A dry
/// run is no job and is never refused.
#[tokio::test]
async fn a_team_at_its_parallel_job_limit_gets_429_until_a_job_ends() {
    let config = SandboxConfig::default()
        .with_job_duration(Duration::from_millis(800))
        .with_parallel_jobs(2);
    let api = Api::start(config).await;
    api.submit("one").await;
    api.submit("two").await;
    let refused = api.generate(json!({"prompt": "three"})).await;
    assert_eq!(refused.status, 429);
    assert_eq!(
        refused.header("retry-after"),
        Some("1"),
        "the first job ends within 1 s"
    );
    let error: ErrorBody = refused.decode();
    assert!(error.reason.is_some());
    assert_eq!(
        error.details.unwrap(),
        json!({"actionName": "parallelCustomJobs", "actionLimit": 2})
    );
    let estimate = api
        .send(
            Method::POST,
            &format!("/generate/custom/{KLING}?dryRun=true"),
            Some(json!({"prompt": "three"})),
            &[],
        )
        .await;
    assert_eq!(estimate.status, 269);
    assert_eq!(
        api.sandbox.jobs().len(),
        2,
        "the refused generate started nothing"
    );
    assert_eq!(api.sandbox.running_jobs(), 2);

    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(api.sandbox.running_jobs(), 0);
    api.submit("three").await;
    assert_eq!(api.sandbox.team_limit_refusals(), 1);
    assert_eq!(api.sandbox.max_running_jobs(), 2);
    let log = api.get(&api.admin("/_sandbox/log")).await.json();
    assert_eq!(
        (
            log["teamLimitRefusals"].clone(),
            log["maxRunningJobs"].clone(),
            log["runningJobs"].clone()
        ),
        (json!(1), json!(2), json!(1))
    );
}

/// The most jobs ever running at once, counted on the sandbox clock from the jobs'
/// ages, with no limit set.
#[tokio::test]
async fn the_most_jobs_running_at_once_is_counted() {
    let api =
        Api::start(SandboxConfig::default().with_job_duration(Duration::from_millis(300))).await;
    for n in 0..3 {
        api.submit(&format!("at once {n}")).await;
    }
    assert_eq!(api.sandbox.running_jobs(), 3);
    tokio::time::sleep(Duration::from_millis(400)).await;
    api.submit("alone").await;
    assert_eq!(api.sandbox.running_jobs(), 1);
    assert_eq!(api.sandbox.max_running_jobs(), 3);
    assert_eq!(api.sandbox.team_limit_refusals(), 0);
}

#[tokio::test]
async fn canceling_a_generation_is_refused_as_by_the_real_api() {
    let api = Api::new().await;
    let job_id = api.submit("keep going").await;
    let reply = api
        .post(
            &format!("/jobs/{job_id}/action"),
            json!({"action": "cancel"}),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json(),
        json!({"reason": "Cannot cancel this type of job. Action not permitted."})
    );
    assert_eq!(api.job(&job_id).await["status"], "success");
}

async fn output_url(api: &Api) -> (String, String) {
    let job_id = api.submit("a file").await;
    let asset_id = api.job(&job_id).await["metadata"]["assetIds"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let url = api.get(&format!("/assets/{asset_id}")).await.json()["asset"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    (asset_id, url)
}

#[tokio::test]
async fn downloads_honour_range() {
    let api = Api::start(SandboxConfig::default().with_output_size(300_000)).await;
    let (_, url) = output_url(&api).await;
    let whole = api.get(&url).await;
    assert_eq!(whole.body.len(), 300_000);
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let etag = whole.header("etag").unwrap().to_owned();

    let part = api
        .send(Method::GET, &url, None, &[("range", "bytes=100-199")])
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-range"), Some("bytes 100-199/300000"));
    assert_eq!(part.body, whole.body.slice(100..200));
    let tail = api
        .send(Method::GET, &url, None, &[("range", "bytes=-10")])
        .await;
    assert_eq!(tail.body, whole.body.slice(299_990..));
    let resume = api
        .send(
            Method::GET,
            &url,
            None,
            &[("range", "bytes=123456-"), ("if-range", &etag)],
        )
        .await;
    assert_eq!((resume.status, resume.body.len()), (206, 300_000 - 123_456));
    let changed = api
        .send(
            Method::GET,
            &url,
            None,
            &[("range", "bytes=10-"), ("if-range", "\"another\"")],
        )
        .await;
    assert_eq!(
        (changed.status, changed.body.len()),
        (200, 300_000),
        "a stale If-Range gets the whole file"
    );
    let beyond = api
        .send(Method::GET, &url, None, &[("range", "bytes=300000-")])
        .await;
    assert_eq!(beyond.status, 416);
    assert_eq!(beyond.header("content-range"), Some("bytes */300000"));
}

/// RFC 9110 §14.2: a range unit the server does not know MUST be ignored, and a range
/// that does not parse or asks for several parts may be: the whole file, never a 416.
#[tokio::test]
async fn ranges_the_sandbox_does_not_serve_get_the_whole_file() {
    let api = Api::start(SandboxConfig::default().with_output_size(100_000)).await;
    let (_, url) = output_url(&api).await;
    for range in [
        "items=0-99",
        "bytes=99-0",
        "bytes=abc",
        "bytes=0-9,20-29",
        "bytes=0-9;x",
    ] {
        let reply = api.send(Method::GET, &url, None, &[("range", range)]).await;
        assert_eq!((reply.status, reply.body.len()), (200, 100_000), "{range}");
        assert_eq!(reply.header("content-range"), None, "{range}");
    }
}

/// Whatever a request carries, the API answers a refusal with its error body: axum's
/// own refusals (a method a path does not take, an id that does not decode, a repeated
/// query key) included.
#[tokio::test]
async fn malformed_requests_get_the_api_error_body() {
    let api = Api::new().await;
    type Case<'a> = (
        Method,
        &'a str,
        Option<Value>,
        &'a [(&'a str, &'a str)],
        u16,
    );
    let cases: [Case<'_>; 9] = [
        (Method::DELETE, "/jobs", None, &[], 405),
        (Method::GET, "/jobs/%FF", None, &[], 400),
        (Method::GET, "/jobs?pageSize=1&pageSize=2", None, &[], 400),
        (
            Method::GET,
            "/jobs?updatedAfter=99999999999999999-01-01T00:00:00Z",
            None,
            &[],
            400,
        ),
        (
            Method::POST,
            "/assets/asset_x/download",
            Some(json!([1])),
            &[],
            400,
        ),
        (
            Method::POST,
            "/uploads",
            Some(json!({"fileName": "a", "contentType": "a/b", "fileSize": -1})),
            &[],
            400,
        ),
        (
            Method::GET,
            "/jobs",
            None,
            &[("x-sandbox-fault", "status=200")],
            400,
        ),
        (
            Method::GET,
            "/jobs",
            None,
            &[("x-sandbox-fault", "stall-headers=soon")],
            400,
        ),
        (
            Method::POST,
            &format!("/generate/custom/{KLING}?dryRun=true"),
            Some(json!([])),
            &[],
            400,
        ),
    ];
    for (method, path, body, headers, status) in cases {
        let reply = api.send(method, path, body, headers).await;
        assert_eq!(
            reply.status,
            status,
            "{path}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert!(reply.decode::<ErrorBody>().reason.is_some(), "{path}");
    }
    let part = api
        .client
        .request(
            Request::put(api.admin("/upload-parts/upload_x/first"))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(part.status(), 403, "an unsigned part URL");
    for rule in [
        json!({"probability": 1.5, "fault": {"kind": "empty-page"}}),
        json!({"probability": -0.1, "fault": {"kind": "empty-page"}}),
        json!({"fault": {"kind": "status", "status": 200}}),
        json!({"pathPrefix": "v1/jobs", "fault": {"kind": "empty-page"}}),
        json!({"fault": {"kind": "stall-headers", "millis": -1}}),
    ] {
        let reply = api
            .send(
                Method::POST,
                &api.admin("/_sandbox/faults"),
                Some(rule.clone()),
                &[],
            )
            .await;
        assert_eq!(reply.status, 400, "{rule}");
        assert!(reply.decode::<ErrorBody>().reason.is_some(), "{rule}");
    }
    assert!(api.sandbox.jobs().is_empty());
}

/// Settings at the ends of their ranges (a job that takes forever, a clock slower than
/// the slowest, URLs that never expire) give answers, never a panic.
#[tokio::test]
async fn extreme_settings_still_answer() {
    let config = SandboxConfig::default()
        .with_job_duration(Duration::MAX)
        .with_clock_speed(1e-300)
        .with_url_ttl(Duration::MAX)
        .with_output_size(u64::MAX);
    let api = Api::start(config).await;
    let job_id = api.submit("forever").await;
    let job = api.job(&job_id).await;
    assert_eq!(job["status"], "queued");
    assert!(
        kling_types::__private::time::parse_iso8601(job["updatedAt"].as_str().unwrap()).is_some()
    );
    assert_eq!(api.get("/jobs").await.status, 200);
    // The output's id, which the job shows only once it succeeds.
    let asset_id = api.sandbox.jobs()[0].output_asset_id.clone();
    let asset = api.get(&format!("/assets/{asset_id}")).await;
    assert_eq!(
        asset.status,
        200,
        "{}",
        String::from_utf8_lossy(&asset.body)
    );
    assert_eq!(asset.json()["asset"]["properties"]["size"], u64::MAX);
    let part = api
        .send(
            Method::GET,
            asset.json()["asset"]["url"].as_str().unwrap(),
            None,
            &[("range", "bytes=-100")],
        )
        .await;
    assert_eq!((part.status, part.body.len()), (206, 100));
    let upload = api
        .post(
            "/uploads",
            json!({"fileName": "a.png", "contentType": "image/png", "fileSize": 1}),
        )
        .await;
    assert_eq!(upload.status, 200);
}

#[tokio::test]
async fn signed_urls_expire_and_a_fresh_one_can_be_had() {
    let api = Api::start(SandboxConfig::default().with_url_ttl(Duration::ZERO)).await;
    let (asset_id, url) = output_url(&api).await;
    let expired = api.get(&url).await;
    assert_eq!(expired.status, 403);
    assert!(String::from_utf8_lossy(&expired.body).contains("AccessDenied"));

    let api = Api::new().await;
    let (asset_id_2, url) = output_url(&api).await;
    let _ = asset_id;
    let tampered = url.replace("Signature=", "Signature=0");
    assert_eq!(api.get(&tampered).await.status, 403);
    let link: DownloadLink = api
        .post(&format!("/assets/{asset_id_2}/download"), json!({}))
        .await
        .decode();
    assert_eq!(link.mime_type.as_deref(), Some("video/mp4"));
    assert_eq!(api.get(&link.url).await.status, 200);
    let bad_format = api
        .post(
            &format!("/assets/{asset_id_2}/download"),
            json!({"targetFormat": "gif"}),
        )
        .await;
    assert_eq!(bad_format.status, 400);
}

#[tokio::test]
async fn large_outputs_are_streamed_at_their_full_size() {
    let size = 8 * 1024 * 1024 + 17;
    let api = Api::start(SandboxConfig::default().with_output_size(size)).await;
    let (_, url) = output_url(&api).await;
    let file = api.get(&url).await;
    assert_eq!(
        file.header("content-length"),
        Some(size.to_string().as_str())
    );
    assert_eq!(file.body.len() as u64, size);
}

fn data_url(mime_type: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime_type};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[tokio::test]
async fn small_images_upload_as_data_urls() {
    let api = Api::new().await;
    let png = b"\x89PNG\r\n\x1a\n-not-really-a-png";
    let reply = api
        .post(
            "/assets",
            json!({"name": "cat.png", "image": data_url("image/png", png)}),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_has_fields(&reply.json()["asset"], ASSET_FIELDS);
    let asset = reply.decode::<AssetResponse>().asset;
    assert!(asset.id.as_str().starts_with("asset_"));
    assert_eq!(&api.get(&asset.url.unwrap()).await.body[..], png);
    // The uploaded image can be a first frame.
    let job_id = api
        .submit_with(json!({"prompt": "the cat wakes", "startImage": asset.id.as_str()}))
        .await;
    assert_eq!(api.job(&job_id).await["status"], "success");

    let cases = [
        (json!({"name": "x"}), 400),
        (json!({"image": "iVBORw0KGgo="}), 400),
        (json!({"image": data_url("application/pdf", b"%PDF")}), 400),
        (json!({"image": "data:image/png;base64,!!!"}), 400),
        (
            json!({"image": data_url("image/png", &vec![0; 6 * 1024 * 1024 + 1])}),
            413,
        ),
    ];
    for (body, status) in cases {
        let reply = api.post("/assets", body).await;
        assert_eq!(reply.status, status, "{}", reply.json());
        assert!(reply.decode::<ErrorBody>().reason.is_some());
    }
}

#[tokio::test]
async fn large_files_upload_in_parts() {
    let api = Api::new().await;
    let content = vec![7u8; 10_000];
    let upload = api.post("/uploads", json!({"fileName": "big.png", "contentType": "image/png", "fileSize": 10_000, "kind": "image", "parts": 2})).await.json()["upload"].clone();
    assert_eq!(upload["status"], "pending");
    let upload_id = upload["id"].as_str().unwrap().to_owned();
    for (part, chunk) in upload["parts"]
        .as_array()
        .unwrap()
        .iter()
        .zip(content.chunks(5000))
    {
        let url = part["url"].as_str().unwrap();
        let put = api
            .client
            .request(
                Request::put(url)
                    .body(Full::new(Bytes::copy_from_slice(chunk)))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(put.status(), 200);
        assert!(put.headers().contains_key("etag"));
    }
    let done = api
        .post(
            &format!("/uploads/{upload_id}/action"),
            json!({"action": "complete"}),
        )
        .await
        .json()["upload"]
        .clone();
    assert_eq!(done["status"], "imported");
    let asset_id = done["entityId"].as_str().unwrap();
    assert_eq!(
        api.get(&format!("/uploads/{upload_id}")).await.json()["upload"]["status"],
        "imported"
    );
    let url = api.get(&format!("/assets/{asset_id}")).await.json()["asset"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(&api.get(&url).await.body[..], &content[..]);

    // A size that does not add up fails, with a message.
    let upload = api
        .post(
            "/uploads",
            json!({"fileName": "b.png", "contentType": "image/png", "fileSize": 99, "parts": 1}),
        )
        .await
        .json()["upload"]
        .clone();
    let url = upload["parts"][0]["url"].as_str().unwrap();
    api.client
        .request(
            Request::put(url)
                .body(Full::new(Bytes::from_static(b"short")))
                .unwrap(),
        )
        .await
        .unwrap();
    let failed = api
        .post(
            &format!("/uploads/{}/action", upload["id"].as_str().unwrap()),
            json!({"action": "complete"}),
        )
        .await
        .json()["upload"]
        .clone();
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["errorMessage"]
            .as_str()
            .unwrap()
            .contains("expected fileSize 99")
    );
    let incomplete = api
        .post(
            "/uploads",
            json!({"fileName": "c.png", "contentType": "image/png", "fileSize": 1, "parts": 1}),
        )
        .await
        .json()["upload"]["id"]
        .clone();
    assert_eq!(
        api.post(
            &format!("/uploads/{}/action", incomplete.as_str().unwrap()),
            json!({"action": "complete"})
        )
        .await
        .status,
        400
    );
}

#[tokio::test]
async fn a_model_description_given_replaces_the_sandboxs_own() {
    let drifted = json!({"model": {"id": KLING, "name": "Kling 1.6 Pro", "inputs": [
        {"name": "prompt", "type": "string", "required": {"always": true}}
    ]}});
    let api = Api::start(
        SandboxConfig::default()
            .with_model_description(drifted)
            .unwrap(),
    )
    .await;
    let model = api.get(&format!("/models/{KLING}")).await.json()["model"].clone();
    assert_eq!(model["inputs"].as_array().unwrap().len(), 1, "{model}");
    let listed = api.get("/models").await.json()["models"].clone();
    let kling = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|model| model["id"] == KLING)
        .unwrap()
        .clone();
    assert_eq!(kling, model, "the list serves the same description");
}

#[test]
fn a_model_description_without_an_id_is_refused() {
    for (description, says) in [
        (json!([1]), "expected a JSON object"),
        (json!({"model": {"inputs": []}}), "has no `id`"),
        (json!({"id": KLING, "inputs": {}}), "`inputs` is not a list"),
    ] {
        let error = SandboxConfig::default()
            .with_model_description(description)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("bad model description: ") && error.contains(says),
            "{error}"
        );
    }
}

#[tokio::test]
async fn models_are_described_from_our_schema() {
    let api = Api::new().await;
    let model = api.get(&format!("/models/{KLING}")).await.json()["model"].clone();
    assert_has_fields(
        &model,
        &[
            "id",
            "capabilities",
            "collectionIds",
            "createdAt",
            "updatedAt",
            "custom",
            "exampleAssetIds",
            "privacy",
            "source",
            "status",
            "tags",
            "trainingImagesNumber",
            "type",
        ],
    );
    let inputs = model["inputs"].as_array().unwrap();
    let input = |name: &str| {
        inputs
            .iter()
            .find(|input| input["name"] == name)
            .unwrap()
            .clone()
    };
    let names: Vec<&str> = inputs
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
        ],
        "the schema's order"
    );
    assert!(
        inputs
            .iter()
            .all(|input| input["name"].is_string() && input["type"].is_string())
    );
    assert_eq!(input("prompt")["required"], json!({"always": true}));
    assert_eq!(input("prompt")["maxLength"], 2500);
    assert_eq!(input("startImage")["type"], "file");
    assert_eq!(
        input("startImage")["required"]["ifDefined"]["endImage"]["message"],
        "`startImage` is required when `endImage` is set."
    );
    assert_eq!(
        (
            input("referenceImages")["type"].clone(),
            input("referenceImages")["maxLength"].clone()
        ),
        (json!("file_array"), json!(4))
    );
    assert_eq!(
        input("aspectRatio")["allowedValues"],
        json!(["16:9", "9:16", "1:1"])
    );
    assert_eq!(
        (
            input("cfgScale")["min"].clone(),
            input("cfgScale")["max"].clone(),
            input("cfgScale")["default"].clone()
        ),
        (json!(0), json!(1), json!(0.5))
    );
    assert_eq!(input("duration")["allowedValues"], json!([5, 10]));
    let models = api.get("/models").await.json()["models"].clone();
    assert_eq!(models[0]["id"], KLING);
}

#[tokio::test]
async fn status_faults_answer_the_error_body_with_retry_after() {
    let api = Api::new().await;
    for status in [429u16, 500, 502, 503, 504] {
        let header = format!("status={status};retry-after=2");
        let reply = api
            .send(
                Method::POST,
                &format!("/generate/custom/{KLING}"),
                Some(json!({"prompt": "x"})),
                &[("x-sandbox-fault", &header)],
            )
            .await;
        assert_eq!(reply.status, status);
        assert_eq!(reply.header("retry-after"), Some("2"));
        let error: ErrorBody = reply.decode();
        assert!(error.reason.is_some());
        let bare = api
            .send(
                Method::GET,
                "/models",
                None,
                &[("x-sandbox-fault", &format!("status={status}"))],
            )
            .await;
        let expected = if status == 429 || status == 503 {
            Some("1")
        } else {
            None
        };
        assert_eq!(
            bare.header("retry-after"),
            expected,
            "{status} without a given Retry-After"
        );
        if status == 429 {
            assert_eq!(
                error.details.unwrap(),
                json!({"actionName": "parallelCustomJobs", "actionLimit": 5})
            );
        }
    }
    assert!(
        api.sandbox.jobs().is_empty(),
        "a request answered with an error started nothing"
    );
    assert_eq!(api.sandbox.faults_injected().len(), 10);
    let bad = api
        .send(Method::GET, "/jobs", None, &[("x-sandbox-fault", "meteor")])
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn a_reset_before_handling_starts_nothing() {
    let api = Api::new().await;
    let outcome = api
        .try_send(
            Method::POST,
            &format!("/generate/custom/{KLING}"),
            Some(json!({"prompt": "x"})),
            &[("x-sandbox-fault", "reset-before-handling")],
        )
        .await;
    assert_eq!(outcome.unwrap_err(), Broken::NoAnswer);
    assert!(api.sandbox.jobs().is_empty());
    let record = api.sandbox.requests().pop().unwrap();
    assert_eq!(
        (record.status, record.fault.as_deref()),
        (None, Some("reset-before-handling"))
    );
}

#[tokio::test]
async fn a_reset_after_handling_leaves_a_job_the_client_never_heard_of() {
    let rule = FaultRule::new(Fault::ResetAfterHandling)
        .on("POST", "/v1/generate/")
        .times(1);
    let api = Api::start(SandboxConfig::default().with_fault(rule)).await;
    let outcome = api
        .try_send(
            Method::POST,
            &format!("/generate/custom/{KLING}"),
            Some(json!({"prompt": "paid once"})),
            &[],
        )
        .await;
    assert_eq!(outcome.unwrap_err(), Broken::NoAnswer);
    let jobs = api.sandbox.jobs();
    assert_eq!(jobs.len(), 1, "the job exists although the answer was lost");
    assert_eq!(jobs[0].input, json!({"prompt": "paid once"}));
    // The job can be found again by listing, with its input: how a client reconciles.
    let listed: JobList = api.get("/jobs").await.decode();
    assert_eq!(
        listed.jobs[0].metadata.as_ref().unwrap().input["prompt"],
        "paid once"
    );
    // The rule applied once.
    assert_eq!(api.generate(json!({"prompt": "second"})).await.status, 200);
}

#[tokio::test]
async fn stalled_headers_arrive_late_but_whole() {
    let api = Api::new().await;
    let started = Instant::now();
    let reply = api
        .send(
            Method::GET,
            "/jobs",
            None,
            &[("x-sandbox-fault", "stall-headers=300")],
        )
        .await;
    assert_eq!(reply.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn slow_bodies_arrive_whole() {
    let api = Api::start(SandboxConfig::default().with_output_size(100_000)).await;
    let (_, url) = output_url(&api).await;
    let started = Instant::now();
    let reply = api
        .send(
            Method::GET,
            &url,
            None,
            &[("x-sandbox-fault", "slow-body=400000")],
        )
        .await;
    assert_eq!(reply.body.len(), 100_000);
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "100 kB at 400 kB/s takes about 250 ms"
    );
}

#[tokio::test]
async fn truncated_bodies_break_off_after_the_given_bytes() {
    let api = Api::start(SandboxConfig::default().with_output_size(100_000)).await;
    let (_, url) = output_url(&api).await;
    let outcome = api
        .try_send(
            Method::GET,
            &url,
            None,
            &[("x-sandbox-fault", "truncate-body=1000")],
        )
        .await;
    assert_eq!(
        outcome.unwrap_err(),
        Broken::CutShort {
            status: 200,
            received: 1000
        }
    );
    let json = api
        .try_send(
            Method::GET,
            "/jobs",
            None,
            &[("x-sandbox-fault", "truncate-body=5")],
        )
        .await;
    assert_eq!(
        json.unwrap_err(),
        Broken::CutShort {
            status: 200,
            received: 5
        }
    );
}

#[tokio::test]
async fn jobs_can_fail_or_end_canceled_on_the_server() {
    let api = Api::new().await;
    let header = "job-failure=The model could not render this prompt;hint=Try a simpler prompt";
    let reply = api
        .send(
            Method::POST,
            &format!("/generate/custom/{KLING}"),
            Some(json!({"prompt": "x"})),
            &[("x-sandbox-fault", header)],
        )
        .await;
    let job_id = reply.json()["job"]["jobId"].as_str().unwrap().to_owned();
    let job = api
        .get(&format!("/jobs/{job_id}"))
        .await
        .decode::<JobResponse>()
        .job;
    assert_eq!(job.status, JobStatus::Failure);
    let metadata = job.metadata.unwrap();
    assert_eq!(
        metadata.error.as_deref(),
        Some("The model could not render this prompt")
    );
    assert_eq!(metadata.hint.as_deref(), Some("Try a simpler prompt"));
    assert!(metadata.asset_ids.is_empty());

    let rule = FaultRule::new(Fault::JobCanceled).on("POST", "/v1/generate/");
    api.sandbox.add_fault(rule);
    let job_id = api.submit("x").await;
    assert_eq!(api.job(&job_id).await["status"], "canceled");
}

#[tokio::test]
async fn urls_can_be_handed_out_already_expired() {
    let api = Api::new().await;
    let job_id = api.submit("x").await;
    let asset_id = api.job(&job_id).await["metadata"]["assetIds"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let asset = api
        .send(
            Method::GET,
            &format!("/assets/{asset_id}"),
            None,
            &[("x-sandbox-fault", "expired-url")],
        )
        .await
        .json();
    assert_eq!(
        api.get(asset["asset"]["url"].as_str().unwrap())
            .await
            .status,
        403
    );
    let fresh = api.get(&format!("/assets/{asset_id}")).await.json();
    assert_eq!(
        api.get(fresh["asset"]["url"].as_str().unwrap())
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn an_empty_page_still_says_more_follow() {
    let api = Api::new().await;
    api.submit("x").await;
    let page = api
        .send(
            Method::GET,
            "/jobs",
            None,
            &[("x-sandbox-fault", "empty-page")],
        )
        .await
        .decode::<JobList>();
    assert!(page.jobs.is_empty());
    let token = page.next_pagination_token.unwrap();
    let next: JobList = api
        .get(&format!("/jobs?paginationToken={token}"))
        .await
        .decode();
    assert_eq!(next.jobs.len(), 1);
}

#[tokio::test]
async fn rules_can_be_added_inspected_and_cleared_over_http() {
    let api = Api::new().await;
    let rules = json!([{"method": "GET", "pathPrefix": "/v1/jobs", "times": 2, "fault": {"kind": "status", "status": 503, "retrySecs": null}}]);
    let added = api
        .send(
            Method::POST,
            &api.admin("/_sandbox/faults"),
            Some(rules),
            &[],
        )
        .await;
    assert_eq!(
        added.status,
        200,
        "{}",
        String::from_utf8_lossy(&added.body)
    );
    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(api.get("/jobs").await.status);
        }
        statuses
    };
    assert_eq!(statuses, [503, 503, 200]);
    let listed = api.get(&api.admin("/_sandbox/faults")).await.json();
    assert_eq!(listed["faults"][0]["fault"]["kind"], "status");
    let log = api.get(&api.admin("/_sandbox/log")).await.json();
    assert_eq!(log["requests"][0]["status"], 503);
    let cleared = api
        .send(Method::DELETE, &api.admin("/_sandbox/faults"), None, &[])
        .await;
    assert_eq!(cleared.status, 204);
    let bad = api
        .send(
            Method::POST,
            &api.admin("/_sandbox/faults"),
            Some(json!({"fault": {"kind": "meteor"}})),
            &[],
        )
        .await;
    assert_eq!(bad.status, 400);
}

/// The faults a soak test draws on every endpoint, each on one endpoint (a method and a
/// path pattern) with a probability, and where the requests go.
fn soak_rules() -> Vec<FaultRule> {
    let status = |status| Fault::Status {
        status,
        retry_after_secs: None,
    };
    let half = |fault, method, pattern| FaultRule::new(fault).at(method, pattern).probability(0.5);
    vec![
        half(status(503), "GET", "/v1/jobs/*"),
        half(
            Fault::UnknownStatus {
                status: "thinking".into(),
            },
            "GET",
            "/v1/jobs/*",
        ),
        half(Fault::EmptyPage, "GET", "/v1/jobs"),
        half(Fault::ResetAfterHandling, "POST", "/v1/generate/custom/*"),
        half(status(429), "GET", "/v1/models"),
        half(Fault::StallHeaders { millis: 20 }, "GET", "/v1/models/*"),
        half(
            Fault::TruncateBody { after_bytes: 10 },
            "GET",
            "/v1/assets/*",
        ),
        half(Fault::ExpiredUrl, "POST", "/v1/assets/*/download"),
        half(Fault::ResetBeforeHandling, "GET", "/v1/uploads/*"),
        half(Fault::ExpiredUrl, "GET", "/cdn/**"),
    ]
}

/// What a soak test's traffic met: for each request, its method and path and the fault
/// injected, if any; and what the answers showed.
async fn soak(seed: u64) -> (Vec<(String, String, Option<String>)>, usize) {
    let config = soak_rules().into_iter().fold(
        SandboxConfig::default()
            .with_job_duration(Duration::from_secs(3600))
            .with_seed(seed),
        SandboxConfig::with_fault,
    );
    let api = Api::start(config).await;
    for n in 0..12 {
        let _ = api
            .try_send(
                Method::POST,
                &format!("/generate/custom/{KLING}"),
                Some(json!({"prompt": format!("soak {n}")})),
                &[],
            )
            .await;
    }
    // The reads, interleaved; the rules draw the same whatever the order.
    let jobs = api.sandbox.jobs();
    let upload = api
        .post(
            "/uploads",
            json!({"fileName": "a.png", "contentType": "image/png", "fileSize": 1}),
        )
        .await
        .json()["upload"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut thinking = 0;
    for job in jobs.iter().cycle().take(16) {
        if let Ok(reply) = api
            .try_send(Method::GET, &format!("/jobs/{}", job.id), None, &[])
            .await
            && reply.status == 200
            && reply.json()["job"]["status"] == "thinking"
        {
            thinking += 1;
        }
        let _ = api.try_send(Method::GET, "/jobs", None, &[]).await;
        let _ = api.try_send(Method::GET, "/models", None, &[]).await;
        let _ = api
            .try_send(Method::GET, &format!("/models/{KLING}"), None, &[])
            .await;
        let asset = format!("/assets/{}", job.output_asset_id);
        let _ = api.try_send(Method::GET, &asset, None, &[]).await;
        let _ = api
            .try_send(
                Method::POST,
                &format!("{asset}/download"),
                Some(json!({})),
                &[],
            )
            .await;
        let _ = api
            .try_send(Method::GET, &format!("/uploads/{upload}"), None, &[])
            .await;
    }
    // A signed URL, from the first asset answer that is not cut short.
    let mut url = None;
    for job in &jobs {
        if let Ok(reply) = api
            .try_send(
                Method::GET,
                &format!("/assets/{}", job.output_asset_id),
                None,
                &[],
            )
            .await
        {
            url = reply.json()["asset"]["url"].as_str().map(str::to_owned);
            break;
        }
    }
    let url = url.expect("one asset answer in twelve arrives whole");
    for _ in 0..8 {
        let _ = api.try_send(Method::GET, &url, None, &[]).await;
    }
    let met = api
        .sandbox
        .requests()
        .into_iter()
        .map(|record| (record.method, record.path, record.fault))
        .collect();
    (met, thinking)
}

/// A soak test draws probabilistic faults on every endpoint: each of them can be put on
/// one endpoint (method and path pattern) and drawn with a probability, and the same
/// seed replays the same faults.
#[tokio::test]
async fn every_fault_can_be_drawn_on_one_endpoint_and_replays_with_its_seed() {
    let (met, thinking) = soak(11).await;
    let rules = soak_rules();
    let mut injected = std::collections::BTreeMap::<String, usize>::new();
    for (method, path, fault) in &met {
        let Some(fault) = fault else { continue };
        *injected.entry(fault.clone()).or_default() += 1;
        assert!(
            rules
                .iter()
                .any(|rule| rule.fault.name() == fault && rule.matches(method, path)),
            "{fault} on {method} {path}, which no rule of it names"
        );
    }
    for rule in &rules {
        assert!(
            injected.contains_key(rule.fault.name()),
            "{} never drawn: {injected:?}",
            rule.fault.name()
        );
    }
    assert!(
        thinking > 0,
        "the unknown status shows on reads of queued jobs"
    );
    let (again, _) = soak(11).await;
    let faults = |met: &[(String, String, Option<String>)]| -> Vec<Option<String>> {
        met.iter().map(|(.., fault)| fault.clone()).collect()
    };
    assert_eq!(
        faults(&again),
        faults(&met),
        "the same seed, the same faults"
    );
    assert_ne!(
        faults(&soak(12).await.0),
        faults(&met),
        "another seed, other faults"
    );
}

/// The README's example of soak rules is rules the sandbox takes.
#[test]
fn the_readmes_soak_rules_apply() {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("every fault on every endpoint:\n\n```json\n")
        .unwrap();
    let block = &readme[start..];
    let json = &block[block.find("[").unwrap()..block.find("\n```\n").unwrap()];
    let rules: Vec<FaultRule> = serde_json::from_str(json).unwrap();
    assert_eq!(rules.len(), 3);
    assert!(rules.iter().all(|rule| rule.check().is_ok()));
    assert!(rules[0].matches("GET", "/v1/jobs/job_1") && !rules[0].matches("GET", "/v1/jobs"));
}

/// The sandbox's record of the jobs a soak test created: each with its input, the
/// request that created it (and the fault that lost its answer), its status.
#[tokio::test]
async fn jobs_record_the_request_that_created_them_and_their_status() {
    let rule = FaultRule::new(Fault::ResetAfterHandling)
        .at("POST", "/v1/generate/custom/*")
        .times(1);
    let api = Api::start(
        SandboxConfig::default()
            .with_job_duration(Duration::from_secs(3600))
            .with_fault(rule),
    )
    .await;
    let lost = api
        .try_send(
            Method::POST,
            &format!("/generate/custom/{KLING}"),
            Some(json!({"prompt": "line 1"})),
            &[],
        )
        .await;
    assert_eq!(lost.unwrap_err(), Broken::NoAnswer);
    let answered = api.generate(json!({"prompt": "line 2"})).await;
    let jobs = api.sandbox.jobs();
    let requests = api.sandbox.requests();
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        (
            jobs[0].input.clone(),
            jobs[0].fault.as_deref(),
            jobs[0].request_id.as_str()
        ),
        (
            json!({"prompt": "line 1"}),
            Some("reset-after-handling"),
            requests[0].request_id.as_str()
        )
    );
    assert_eq!(
        (jobs[1].fault.as_deref(), Some(jobs[1].request_id.as_str())),
        (None, answered.header("x-request-id"))
    );
    assert!(jobs.iter().all(|job| job.status == "queued"));
    assert!(jobs[0].created_at <= jobs[1].created_at);
    assert_eq!(
        api.get(&format!("/assets/{}", jobs[1].output_asset_id))
            .await
            .json()["asset"]["status"],
        "pending"
    );
    let log = api.get(&api.admin("/_sandbox/log")).await.json();
    assert_eq!(log["jobs"][0]["fault"], "reset-after-handling");
    assert_eq!(log["jobs"][1]["status"], "queued");
}

/// Upload part URLs are signed and expire like the files' (the real ones are presigned
/// storage URLs), and an `expired-url` fault hands them out already expired.
#[tokio::test]
async fn upload_part_urls_are_signed_and_expire() {
    let api = Api::new().await;
    let put = |url: String, body: &'static [u8]| {
        api.client.request(
            Request::put(url)
                .body(Full::new(Bytes::from_static(body)))
                .unwrap(),
        )
    };
    let create = json!({"fileName": "a.png", "contentType": "image/png", "fileSize": 3});
    let expired = api
        .send(
            Method::POST,
            "/uploads",
            Some(create.clone()),
            &[("x-sandbox-fault", "expired-url")],
        )
        .await;
    let upload = expired.json()["upload"].clone();
    let url = upload["parts"][0]["url"].as_str().unwrap().to_owned();
    assert_eq!(put(url.clone(), b"abc").await.unwrap().status(), 403);
    assert_eq!(
        put(url.replace("Signature=", "Signature=0"), b"abc")
            .await
            .unwrap()
            .status(),
        403
    );
    // A fresh look at the upload gives fresh URLs.
    let fresh = api
        .get(&format!("/uploads/{}", upload["id"].as_str().unwrap()))
        .await
        .json();
    let url = fresh["upload"]["parts"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(put(url, b"abc").await.unwrap().status(), 200);

    let api = Api::start(SandboxConfig::default().with_url_ttl(Duration::ZERO)).await;
    let upload = api.post("/uploads", create).await.json()["upload"].clone();
    let url = upload["parts"][0]["url"].as_str().unwrap().to_owned();
    let response = api
        .client
        .request(
            Request::put(url)
                .body(Full::new(Bytes::from_static(b"abc")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        403,
        "a part URL of no lifetime has expired"
    );
}

#[tokio::test]
async fn probabilistic_rules_replay_the_same_with_the_same_seed() {
    let run = |seed| async move {
        let rule = FaultRule::new(Fault::Status {
            status: 500,
            retry_after_secs: None,
        })
        .on("GET", "/v1/models")
        .probability(0.5);
        let api = Api::start(SandboxConfig::default().with_seed(seed).with_fault(rule)).await;
        let mut statuses = Vec::new();
        for _ in 0..24 {
            statuses.push(api.get("/models").await.status);
        }
        statuses
    };
    let first = run(7).await;
    assert_eq!(first, run(7).await);
    assert!(first.contains(&500) && first.contains(&200), "{first:?}");
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let api = Api::new().await;
    let url = api.url("/jobs");
    assert_eq!(api.get("/jobs").await.status, 200);
    let Api { sandbox, client } = api;
    sandbox.shutdown().await;
    let request = Request::get(url).body(Full::new(Bytes::new())).unwrap();
    assert!(client.request(request).await.is_err());
}

/// Numbers as `f64`, with `null`, `[]` and `{}` left out: what a decode and re-encode
/// through the wire types may change without losing anything.
fn normalize(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::Number(number) => Some(json!(number.as_f64())),
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .map(|item| normalize(item).unwrap_or(Value::Null))
                .collect(),
        )),
        Value::Object(fields) => {
            let fields: serde_json::Map<String, Value> = fields
                .iter()
                .filter_map(|(key, value)| Some((key.clone(), normalize(value)?)))
                .collect();
            (!fields.is_empty()).then_some(Value::Object(fields))
        }
        other => Some(other.clone()),
    }
}

/// Decodes `reply` into `T` and checks that encoding it again gives the same JSON: the
/// generated types know every field the sandbox sends.
#[track_caller]
fn check_conforms<T: serde::de::DeserializeOwned + serde::Serialize>(what: &str, reply: &Reply) {
    let mut original = reply.json();
    // Fields the official SDK requires of an upload that `schema/api/uploads.json` does
    // not have yet (the wire types drop them): left out until the schema has them.
    if let Some(upload) = original.get_mut("upload").and_then(Value::as_object_mut) {
        for missing in ["updatedAt", "source"] {
            upload.remove(missing);
        }
    }
    let decoded: T = reply.decode();
    let again = serde_json::to_value(&decoded).unwrap();
    assert_eq!(
        normalize(&again),
        normalize(&original),
        "{what}: the wire types drop or change fields"
    );
}

#[tokio::test]
async fn every_response_decodes_into_the_wire_types_losing_nothing() {
    use kling_types::api::{ModelList, ModelResponse, UploadResponse};

    let api =
        Api::start(SandboxConfig::default().with_job_duration(Duration::from_millis(50))).await;
    let generated = api
        .generate(json!({"prompt": "conformance", "duration": 10, "aspectRatio": "1:1"}))
        .await;
    check_conforms::<GenerateResponse>("generate", &generated);
    let job_id = generated.json()["job"]["jobId"]
        .as_str()
        .unwrap()
        .to_owned();
    check_conforms::<JobResponse>(
        "job while queued",
        &api.get(&format!("/jobs/{job_id}")).await,
    );
    let mut asset_id = String::new();
    for _ in 0..100 {
        let job = api.get(&format!("/jobs/{job_id}")).await;
        if job.json()["job"]["status"] == "success" {
            check_conforms::<JobResponse>("job when done", &job);
            asset_id = job.json()["job"]["metadata"]["assetIds"][0]
                .as_str()
                .unwrap()
                .to_owned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    check_conforms::<JobList>("job list", &api.get("/jobs?pageSize=1").await);
    check_conforms::<AssetResponse>(
        "generated asset",
        &api.get(&format!("/assets/{asset_id}")).await,
    );
    check_conforms::<DownloadLink>(
        "download link",
        &api.post(&format!("/assets/{asset_id}/download"), json!({}))
            .await,
    );
    let uploaded = api
        .post(
            "/assets",
            json!({"name": "cat.png", "image": data_url("image/png", b"png")}),
        )
        .await;
    check_conforms::<AssetResponse>("uploaded asset", &uploaded);
    let estimate = api
        .send(
            Method::POST,
            &format!("/generate/custom/{KLING}?dryRun=true"),
            Some(json!({"prompt": "x"})),
            &[],
        )
        .await;
    let mut without_job = estimate.json();
    without_job.as_object_mut().unwrap().remove("job");
    let estimate = Reply {
        body: without_job.to_string().into(),
        ..estimate
    };
    check_conforms::<EstimateResponse>("dry run (its `job` is `{}`)", &estimate);

    let upload = api
        .post(
            "/uploads",
            json!({"fileName": "a.png", "contentType": "image/png", "fileSize": 3, "parts": 1}),
        )
        .await;
    check_conforms::<UploadResponse>("new upload", &upload);
    let url = upload.json()["upload"]["parts"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    api.client
        .request(
            Request::put(url)
                .body(Full::new(Bytes::from_static(b"abc")))
                .unwrap(),
        )
        .await
        .unwrap();
    let upload_id = upload.json()["upload"]["id"].as_str().unwrap().to_owned();
    check_conforms::<UploadResponse>(
        "imported upload",
        &api.post(
            &format!("/uploads/{upload_id}/action"),
            json!({"action": "complete"}),
        )
        .await,
    );
    check_conforms::<UploadResponse>(
        "upload by id",
        &api.get(&format!("/uploads/{upload_id}")).await,
    );

    check_conforms::<ModelResponse>("model", &api.get(&format!("/models/{KLING}")).await);
    check_conforms::<ModelList>("models", &api.get("/models").await);

    for (what, reply) in [
        ("400", api.generate(json!({"prompt": ""})).await),
        ("404", api.get("/jobs/job_nope").await),
        (
            "429",
            api.send(
                Method::GET,
                "/jobs",
                None,
                &[("x-sandbox-fault", "status=429")],
            )
            .await,
        ),
    ] {
        check_conforms::<ErrorBody>(what, &reply);
    }
}
