//! The API surface: every endpoint the client and the CLI use, under `/v1` as on the
//! real host, plus the CDN, the upload part URLs and the `/_sandbox` admin endpoints.
//!
//! One middleware does what a real edge does before a handler runs: it gives each
//! request an id, injects faults, checks credentials, and records the outcome.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::faults::Fault;
use crate::requests::{self, ApiError, JobAction};
use crate::state::{Asset, Content, Job, JobNow, Outcome, State, Upload, millis};
use crate::views::JOB_TYPE;
use crate::{cdn, models, views};

/// The id the edge gave a request, for the handlers that record it.
#[derive(Clone, Debug)]
pub(crate) struct RequestId(pub(crate) String);

/// Marks a response whose connection must be closed without sending it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DropConnection;

/// The request header that injects a fault into one request.
pub(crate) const FAULT_HEADER: &str = "x-sandbox-fault";
const REQUEST_ID: &str = "x-request-id";
/// Largest request body the sandbox reads.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
pub(crate) fn router(state: Arc<State>) -> Router {
    let api = Router::new()
        .route("/v1/generate/custom/{model_id}", post(generate))
        .route("/v1/jobs", get(list_jobs))
        .route("/v1/jobs/{job_id}", get(get_job))
        .route("/v1/jobs/{job_id}/action", post(job_action))
        .route("/v1/assets", post(upload_image))
        .route("/v1/assets/{asset_id}", get(get_asset))
        .route("/v1/assets/{asset_id}/download", post(download_link))
        .route("/v1/uploads", post(create_upload))
        .route("/v1/uploads/{upload_id}", get(get_upload))
        .route("/v1/uploads/{upload_id}/action", post(upload_action))
        .route("/v1/models", get(list_models))
        .route("/v1/models/{model_id}", get(get_model))
        .route("/cdn/assets/{asset_id}/{file_name}", get(cdn::download))
        .route("/upload-parts/{upload_id}/{part}", put(put_part))
        .fallback(not_found);
    let admin = Router::new().route("/_sandbox/log", get(admin_log)).route(
        "/_sandbox/faults",
        get(admin_faults).post(add_faults).delete(clear_faults),
    );
    api.layer(middleware::from_fn_with_state(Arc::clone(&state), edge))
        // Room for a 6 MB image as base64 and for upload parts; larger images get the
        // API's own 413 from `upload_image`.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .merge(admin)
        .with_state(state)
}

type ApiResult = Result<Response, ApiError>;

fn ok(body: Value) -> ApiResult {
    Ok(Json(body).into_response())
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not Found")
}

/// The edge: request id, faults, credentials, record.
async fn edge(
    AxumState(state): AxumState<Arc<State>>,
    mut request: Request,
    next: Next,
) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let seen = record(&state, &method, &path);
    let fault = match picked_fault(&state, &request, &method, &path) {
        Ok(fault) => fault,
        Err(error) => return finish(&state, &seen, None, error.into_response()),
    };
    if let Some(fault) = &fault {
        tracing::debug!(target: "kling_sandbox", request_id = %seen.request_id, fault = fault.name(), "injecting fault");
        if let Some(stall) = fault.stall() {
            tokio::time::sleep(stall).await;
        }
        if let Some(response) = answer_instead(&state, fault) {
            return finish(&state, &seen, Some(fault), response);
        }
        request.extensions_mut().insert(fault.clone());
    }
    request
        .extensions_mut()
        .insert(RequestId(seen.request_id.clone()));

    if path.starts_with("/v1/") && !authorized(&state, request.headers()) {
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: invalid API key or secret",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Scenario API\""),
        );
        return finish(&state, &seen, fault.as_ref(), response);
    }

    let mut response = next.run(request).await;
    if path.starts_with("/v1/") {
        response = with_error_body(response).await;
    }
    match &fault {
        Some(Fault::ResetAfterHandling) => {
            response.extensions_mut().insert(DropConnection);
        }
        Some(Fault::SlowBody { bytes_per_sec }) => response = throttle(response, *bytes_per_sec),
        Some(Fault::TruncateBody { after_bytes }) => response = truncate(response, *after_bytes),
        _ => {}
    }
    finish(&state, &seen, fault.as_ref(), response)
}

/// A request, entered in the log with a new request id.
fn record(state: &State, method: &str, path: &str) -> Seen {
    let mut inner = state.lock();
    let request_id = inner.id("req");
    inner.requests.push(crate::RequestRecord {
        request_id: request_id.clone(),
        method: method.to_owned(),
        path: path.to_owned(),
        status: None,
        fault: None,
    });
    Seen {
        index: inner.requests.len() - 1,
        request_id,
        started: std::time::Instant::now(),
    }
}

/// The fault a request gets: from its header, or from the rules; the API's 400 for a
/// header that does not parse.
fn picked_fault(
    state: &State,
    request: &Request,
    method: &str,
    path: &str,
) -> Result<Option<Fault>, ApiError> {
    let from_header = request
        .headers()
        .get(FAULT_HEADER)
        .map(|value| Fault::parse(value.to_str().unwrap_or_default()));
    match from_header {
        Some(Ok(fault)) => Ok(Some(fault)),
        Some(Err(message)) => Err(ApiError::bad_request(format!(
            "bad {FAULT_HEADER} header: {message}"
        ))),
        None => Ok(state.lock().faults.pick(method, path)),
    }
}

/// The answer a fault gives instead of the endpoint's (an error status, a reset before
/// handling), or `None` when the endpoint answers and the fault acts on its answer.
fn answer_instead(state: &State, fault: &Fault) -> Option<Response> {
    match fault {
        Fault::Status {
            status,
            retry_after_secs,
        } => {
            // A rule set in the config directly may hold any number: not an error, 500.
            let status = StatusCode::from_u16(*status)
                .ok()
                .filter(|status| status.is_client_error() || status.is_server_error())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let error = match status.as_u16() {
                // The team limit's answer, with the configured limit (or a plan's 5).
                429 => ApiError::team_limit(state.config.parallel_jobs.unwrap_or(5)),
                503 => ApiError::new(status, "Service unavailable"),
                _ => ApiError::new(status, status.canonical_reason().unwrap_or("Error")),
            };
            let mut response = error.into_response();
            // 429 and 503 always say when to come back (1 s unless the fault says).
            let throttled = matches!(status.as_u16(), 429 | 503);
            if let Some(secs) = retry_after_secs.or(throttled.then_some(1)) {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            Some(response)
        }
        Fault::ResetBeforeHandling => {
            let mut response = Response::new(Body::empty());
            response.extensions_mut().insert(DropConnection);
            Some(response)
        }
        _ => None,
    }
}

/// An error answer of the API as the API writes it: axum's own refusals (a path id that
/// does not decode, a body over the limit, a method a path does not take) carry plain
/// text or nothing, which becomes `{"reason": …}`.
async fn with_error_body(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // axum's refusals are a line of text; more than this is not one of them.
    let text = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let reason = if text.is_empty() {
        status.canonical_reason().unwrap_or("Error").to_owned()
    } else {
        text
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let mut response = ApiError::new(status, reason).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

/// A request the edge is handling: where its record is, and since when.
struct Seen {
    index: usize,
    request_id: String,
    started: std::time::Instant,
}

/// Records how the request ended, logs one line for it, and adds the request id.
fn finish(state: &State, seen: &Seen, fault: Option<&Fault>, mut response: Response) -> Response {
    let dropped = response.extensions().get::<DropConnection>().is_some();
    let status = (!dropped).then(|| response.status().as_u16());
    let fault_name = fault.map(Fault::name);
    if let Some(record) = state.lock().requests.get_mut(seen.index) {
        record.status = status;
        record.fault = fault_name.map(str::to_owned);
        let outcome = status.map_or_else(|| "dropped".to_owned(), |status| status.to_string());
        tracing::info!(
            target: "kling_sandbox",
            "{} {} -> {outcome} in {} ms{} [{}]",
            record.method,
            record.path,
            seen.started.elapsed().as_millis(),
            fault_name.map(|name| format!(" (fault: {name})")).unwrap_or_default(),
            seen.request_id,
        );
    }
    if let Ok(value) = HeaderValue::from_str(&seen.request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

fn authorized(state: &State, headers: &HeaderMap) -> bool {
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let credentials = &state.config.credentials;
    decoded == format!("{}:{}", credentials.key, credentials.secret).as_bytes()
}

/// The body in chunks at `bytes_per_sec`, keeping the headers (and `Content-Length`).
fn throttle(response: Response, bytes_per_sec: u64) -> Response {
    let (parts, body) = response.into_parts();
    let chunk = usize::try_from(bytes_per_sec / 10)
        .unwrap_or(usize::MAX)
        .clamp(1, 64 * 1024);
    let pause = Duration::from_secs_f64(chunk as f64 / bytes_per_sec.max(1) as f64);
    let stream = futures_util::StreamExt::flat_map(body.into_data_stream(), move |piece| {
        let pieces: Vec<Result<Bytes, axum::Error>> = match piece {
            Ok(bytes) => (0..bytes.len())
                .step_by(chunk)
                .map(|at| Ok(bytes.slice(at..(at + chunk).min(bytes.len()))))
                .collect(),
            Err(error) => vec![Err(error)],
        };
        futures_util::stream::iter(pieces)
    });
    let stream = futures_util::StreamExt::then(stream, move |piece| async move {
        tokio::time::sleep(pause).await;
        piece
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// The headers as they are, then `after_bytes` of the body, then a broken connection.
fn truncate(response: Response, after_bytes: u64) -> Response {
    let (mut parts, body) = response.into_parts();
    if !parts.headers.contains_key(header::CONTENT_LENGTH)
        && let Some(exact) = hyper::body::Body::size_hint(&body).exact()
    {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(exact));
    }
    let stream = futures_util::stream::unfold(
        (body.into_data_stream(), after_bytes, false),
        |(mut body, left, done)| async move {
            if done {
                return None;
            }
            if left == 0 {
                // Pending once, so hyper flushes the headers and the bytes sent so far
                // before the connection breaks: the client must see a body cut short.
                tokio::time::sleep(Duration::from_millis(20)).await;
                return Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "sandbox: truncated body",
                    )),
                    (body, 0, true),
                ));
            }
            match futures_util::StreamExt::next(&mut body).await {
                Some(Ok(bytes)) => {
                    let keep = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
                    Some((Ok(bytes.slice(..keep)), (body, left - keep as u64, false)))
                }
                Some(Err(error)) => Some((Err(std::io::Error::other(error)), (body, 0, true))),
                None => None,
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

fn fault_of(request_fault: Option<&Fault>, wanted: fn(&Fault) -> bool) -> Option<&Fault> {
    request_fault.filter(|fault| wanted(fault))
}

async fn generate(
    AxumState(state): AxumState<Arc<State>>,
    Path(model_id): Path<String>,
    uri: Uri,
    fault: Option<axum::Extension<Fault>>,
    request_id: Option<axum::Extension<RequestId>>,
    body: Bytes,
) -> ApiResult {
    let request = requests::generate(&state, &model_id, uri.query(), &body)?;
    let cost = request.cost;
    if request.dry_run {
        let body = json!({"creativeUnitsCost": cost, "creativeUnitsDiscount": 0, "costDetails": {"custom-generation": cost}, "job": {}});
        let status = StatusCode::from_u16(269).unwrap_or(StatusCode::OK);
        return Ok((status, Json(body)).into_response());
    }
    let fault = fault.map(|axum::Extension(fault)| fault);
    let outcome = planned_outcome(fault.as_ref());
    let odd_status = match &fault {
        Some(Fault::UnknownStatus { status }) => Some(status.clone()),
        _ => None,
    };
    let spec = state.video_spec(&request.aspect_ratio, request.duration_secs);
    let (width, height) = (spec.width, spec.height);
    let video = crate::mp4::Mp4::new(&spec);
    let generation = request.generation;
    let mut inner = state.lock();
    // Taken under the lock: jobs are kept in the order of their creation moments.
    let now = SystemTime::now();
    // The team's limit, counted on the sandbox clock under the lock that adds the job.
    let running = state.running_jobs(&inner);
    if let Some(limit) = state.config.parallel_jobs
        && running.count >= limit
    {
        inner.team_limit_refusals += 1;
        return Ok(team_limit_refusal(&state, limit, &running));
    }
    inner.max_running_jobs = inner.max_running_jobs.max(running.count.saturating_add(1));
    let job_id = inner.id("job");
    let asset_id = inner.id("asset");
    let poster_id = inner.id("asset");
    let poster = poster_of(
        request.input["prompt"].as_str().unwrap_or_default(),
        width,
        height,
    );
    inner.assets.insert(
        poster_id.clone(),
        poster_asset(&poster_id, &job_id, generation, now, poster),
    );
    let asset = Asset {
        created_at: now,
        width: Some(width),
        height: Some(height),
        duration_secs: Some(request.duration_secs),
        poster: Some(poster_id),
        ..output_asset(&asset_id, &job_id, generation, video, &request)
    };
    inner.assets.insert(asset_id.clone(), asset);
    let job = Job {
        id: job_id,
        request_id: request_id
            .map(|axum::Extension(RequestId(id))| id)
            .unwrap_or_default(),
        fault: fault.as_ref().map(|fault| fault.name()),
        model_id: request.model.id.to_owned(),
        input: request.input,
        created: state.now(),
        created_at: now,
        outcome,
        odd_status,
        output_asset: asset_id,
        cost,
    };
    let body = json!({"job": views::job(&state, &job), "creativeUnitsCost": cost, "creativeUnitsDiscount": 0, "costDetails": {"custom-generation": cost}});
    inner.jobs.push(job);
    ok(body)
}

/// How a new job ends, as the request's fault (if any) says: in failure
/// (`job-failure`), canceled (`job-canceled`), or with its video.
fn planned_outcome(fault: Option<&Fault>) -> Outcome {
    match fault_of(fault, |fault| {
        matches!(fault, Fault::JobFailure { .. } | Fault::JobCanceled)
    }) {
        Some(Fault::JobFailure { error, hint }) => Outcome::Failure {
            error: error.clone(),
            hint: hint.clone(),
        },
        Some(_) => Outcome::Canceled,
        None => Outcome::Success,
    }
}

/// A video's poster: the video's look, its colours turned by the prompt (cards differ).
fn poster_of(prompt: &str, width: u32, height: u32) -> crate::png::Poster {
    let hue = prompt.bytes().fold(0u32, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u32::from(byte))
    });
    crate::png::Poster {
        width,
        height,
        hue: (hue % 360) as f32 / 360.0,
    }
}

/// The image asset of a job's poster, created with the job at `created_at`.
fn poster_asset(
    poster_id: &str,
    job_id: &str,
    generation: &'static str,
    created_at: SystemTime,
    poster: crate::png::Poster,
) -> Asset {
    Asset {
        id: poster_id.to_owned(),
        kind: "image",
        mime_type: "image/png".to_owned(),
        file_name: format!("{poster_id}.png"),
        created_at,
        source: generation,
        job_id: Some(job_id.to_owned()),
        content: Content::Poster(poster),
        width: None,
        height: None,
        duration_secs: None,
        metadata: json!({"kind": "image", "type": generation, "parentJobId": job_id}),
        poster: None,
    }
}

/// The team limit's 429, saying when the first running job ends (in real seconds, at
/// least 1).
fn team_limit_refusal(state: &State, limit: u32, running: &crate::state::Running) -> Response {
    let mut response = ApiError::team_limit(limit).into_response();
    let wait = running.first_end.map_or(1, |end| {
        state
            .real(end.saturating_sub(state.now()))
            .as_secs_f64()
            .ceil()
            .max(1.0) as u64
    });
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    response
}

/// The video a generate request makes, as an asset of its job.
fn output_asset(
    asset_id: &str,
    job_id: &str,
    generation: &'static str,
    video: crate::mp4::Mp4,
    request: &requests::Generate,
) -> Asset {
    Asset {
        id: asset_id.to_owned(),
        kind: "video",
        mime_type: "video/mp4".to_owned(),
        file_name: format!("{asset_id}.mp4"),
        created_at: SystemTime::UNIX_EPOCH,
        // The SDK's `source` and `metadata.type` name what made the asset.
        source: generation,
        job_id: Some(job_id.to_owned()),
        content: Content::Video(Arc::new(video)),
        width: None,
        height: None,
        duration_secs: None,
        metadata: json!({
            "kind": "video",
            "type": generation,
            "modelId": request.model.id,
            "prompt": request.input["prompt"],
            "parentJobId": job_id,
        }),
        poster: None,
    }
}

/// The status an `unknown-status` fault on a read shows in place of `in-progress`.
fn odd_status(fault: Option<&axum::Extension<Fault>>) -> Option<&str> {
    match fault {
        Some(axum::Extension(Fault::UnknownStatus { status })) => Some(status),
        _ => None,
    }
}

async fn get_job(
    AxumState(state): AxumState<Arc<State>>,
    Path(job_id): Path<String>,
    fault: Option<axum::Extension<Fault>>,
) -> ApiResult {
    let inner = state.lock();
    let job = inner
        .jobs
        .iter()
        .find(|job| job.id == job_id)
        .ok_or_else(|| ApiError::not_found("Job", &job_id))?;
    let now = state.job_now(job);
    ok(json!({"job": views::job_as(&state, job, &now, odd_status(fault.as_ref()))}))
}

async fn list_jobs(
    AxumState(state): AxumState<Arc<State>>,
    uri: Uri,
    fault: Option<axum::Extension<Fault>>,
) -> ApiResult {
    let query = requests::job_query(uri.query())?;
    let inner = state.lock();
    let before = query
        .before
        .unwrap_or(inner.jobs.len())
        .min(inner.jobs.len());
    if fault
        .as_ref()
        .is_some_and(|axum::Extension(fault)| *fault == Fault::EmptyPage)
    {
        // An empty page that still says more follow: the client must keep paging.
        return ok(json!({"jobs": [], "nextPaginationToken": requests::page_token(before)}));
    }
    let matches = |job: &Job, now: &JobNow| {
        query
            .status
            .as_deref()
            .is_none_or(|status| views::shown_status(job, now.status, None) == status)
            && query
                .job_type
                .as_deref()
                .is_none_or(|job_type| job_type == JOB_TYPE)
            && (query.types.is_empty() || query.types.iter().any(|job_type| job_type == JOB_TYPE))
            && query
                .author_id
                .as_deref()
                .is_none_or(|author| author == views::AUTHOR_ID)
            && query
                .created_after
                .is_none_or(|after| millis(job.created_at) > millis(after))
            && query
                .updated_after
                .is_none_or(|after| millis(now.updated_at) > millis(after))
    };
    // Newest first, like the real API; one job past the page says whether more follow.
    let mut page = Vec::new();
    let mut next = None;
    for (index, job) in inner.jobs[..before].iter().enumerate().rev() {
        let now = state.job_now(job);
        if !matches(job, &now) {
            continue;
        }
        if page.len() == query.page_size {
            next = page.last().map(|(index, _)| requests::page_token(*index));
            break;
        }
        page.push((
            index,
            views::job_as(&state, job, &now, odd_status(fault.as_ref())),
        ));
    }
    let mut body = json!({"jobs": page.into_iter().map(|(_, job)| job).collect::<Vec<_>>()});
    if let Some(token) = next {
        body["nextPaginationToken"] = json!(token);
    }
    ok(body)
}

async fn job_action(
    AxumState(state): AxumState<Arc<State>>,
    Path(job_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let action = requests::job_action(&body)?;
    let inner = state.lock();
    if !inner.jobs.iter().any(|job| job.id == job_id) {
        return Err(ApiError::not_found("Job", &job_id));
    }
    match action {
        // Only inference jobs can be canceled today; every job here is a generation.
        JobAction::Cancel => Err(ApiError::bad_request(
            "Cannot cancel this type of job. Action not permitted.",
        )),
        JobAction::Other(other) => Err(ApiError::bad_request(format!(
            "Unknown action `{}`",
            other.chars().take(80).collect::<String>()
        ))),
        JobAction::Missing => Err(ApiError::bad_request("Missing `action`")),
    }
}

/// The asset's status: a generated video is `pending` until its job succeeds.
/// The asset's status and when it last changed: a generated video is `pending` until
/// its job succeeds (`error` if it does not), and changes when the job ends.
fn asset_status(
    state: &State,
    inner: &crate::state::Inner,
    asset: &Asset,
) -> (&'static str, SystemTime) {
    let Some(job) = asset
        .job_id
        .as_ref()
        .and_then(|job_id| inner.jobs.iter().find(|job| &job.id == job_id))
    else {
        return ("success", asset.created_at);
    };
    let now = state.job_now(job);
    match now.status {
        "success" => ("success", now.updated_at),
        "failure" | "canceled" => ("error", now.updated_at),
        _ => ("pending", asset.created_at),
    }
}

fn expired_url_fault(fault: Option<&axum::Extension<Fault>>) -> bool {
    fault.is_some_and(|axum::Extension(fault)| *fault == Fault::ExpiredUrl)
}

async fn get_asset(
    AxumState(state): AxumState<Arc<State>>,
    Path(asset_id): Path<String>,
    fault: Option<axum::Extension<Fault>>,
) -> ApiResult {
    let inner = state.lock();
    let asset = inner
        .assets
        .get(&asset_id)
        .ok_or_else(|| ApiError::not_found("Asset", &asset_id))?;
    let url = cdn::signed_url(
        &state,
        &asset.id,
        &asset.file_name,
        expired_url_fault(fault.as_ref()),
    );
    let (status, updated_at) = asset_status(&state, &inner, asset);
    // A video's frames are there once it is: the poster's own link, signed like any.
    let poster = asset
        .poster
        .as_ref()
        .filter(|_| status == "success")
        .and_then(|poster_id| inner.assets.get(poster_id))
        .map(|poster| {
            let url = cdn::signed_url(
                &state,
                &poster.id,
                &poster.file_name,
                expired_url_fault(fault.as_ref()),
            );
            (poster.id.as_str(), url)
        });
    let poster = poster.as_ref().map(|(id, url)| (*id, url.as_str()));
    ok(json!({"asset": views::asset(asset, status, updated_at, &url, poster)}))
}

async fn download_link(
    AxumState(state): AxumState<Arc<State>>,
    Path(asset_id): Path<String>,
    fault: Option<axum::Extension<Fault>>,
    body: Bytes,
) -> ApiResult {
    let target_format = requests::download_request(&body)?;
    let inner = state.lock();
    let asset = inner
        .assets
        .get(&asset_id)
        .ok_or_else(|| ApiError::not_found("Asset", &asset_id))?;
    if let Some(format) = target_format
        && !asset.mime_type.ends_with(&format)
    {
        return Err(ApiError::bad_request(format!(
            "Cannot convert {} to {}",
            asset.mime_type,
            format.chars().take(80).collect::<String>()
        )));
    }
    let url = cdn::signed_url(
        &state,
        &asset.id,
        &asset.file_name,
        expired_url_fault(fault.as_ref()),
    );
    ok(json!({"url": url, "mimeType": asset.mime_type}))
}

async fn upload_image(AxumState(state): AxumState<Arc<State>>, body: Bytes) -> ApiResult {
    let image = requests::new_image(&body)?;
    let mut inner = state.lock();
    let asset_id = inner.id("asset");
    let asset = uploaded_asset(asset_id.clone(), image.name, image.mime_type, image.bytes);
    let url = cdn::signed_url(&state, &asset.id, &asset.file_name, false);
    let body = json!({"asset": views::asset(&asset, "success", asset.created_at, &url, None)});
    inner.assets.insert(asset_id, asset);
    ok(body)
}

fn uploaded_asset(id: String, name: String, mime_type: String, bytes: Vec<u8>) -> Asset {
    // `kind`, and `source` (also `metadata.type`) as the SDK's types name uploads.
    let (kind, source) = if mime_type.starts_with("video/") {
        ("video", "uploaded-video")
    } else if mime_type.starts_with("audio/") {
        ("audio", "uploaded-audio")
    } else {
        ("image", "uploaded")
    };
    Asset {
        id,
        kind,
        metadata: json!({"kind": kind, "type": source, "name": name}),
        file_name: name,
        mime_type,
        created_at: SystemTime::now(),
        source,
        job_id: None,
        content: Content::Uploaded(Arc::new(bytes)),
        width: None,
        height: None,
        duration_secs: None,
        poster: None,
    }
}

/// The signed URLs of an upload's parts, already expired when a fault says so.
fn part_urls(state: &State, upload: &Upload, expired: bool) -> Vec<(u32, String, String)> {
    (1..=upload.part_count)
        .map(|number| {
            let (url, expires) = cdn::signed_part_url(state, &upload.id, number, expired);
            (number, url, expires)
        })
        .collect()
}

async fn create_upload(
    AxumState(state): AxumState<Arc<State>>,
    fault: Option<axum::Extension<Fault>>,
    body: Bytes,
) -> ApiResult {
    let request = requests::new_upload(&body)?;
    let now = SystemTime::now();
    let mut inner = state.lock();
    let id = inner.id("upload");
    let upload = Upload {
        id: id.clone(),
        file_name: request.file_name,
        content_type: request.content_type,
        file_size: request.file_size,
        kind: request.kind,
        parts: std::collections::BTreeMap::new(),
        part_count: request.part_count,
        status: "pending",
        error_message: None,
        asset_id: None,
        created_at: now,
        updated_at: now,
    };
    let urls = part_urls(&state, &upload, expired_url_fault(fault.as_ref()));
    let body = json!({"upload": views::upload(&upload, &urls)});
    inner.uploads.insert(id, upload);
    ok(body)
}

async fn put_part(
    AxumState(state): AxumState<Arc<State>>,
    Path((upload_id, part)): Path<(String, String)>,
    uri: Uri,
    fault: Option<axum::Extension<Fault>>,
    body: Bytes,
) -> Response {
    let resource = format!("{upload_id}/{part}");
    if let Some(refused) = cdn::refusal(&state, &resource, &uri, expired_url_fault(fault.as_ref()))
    {
        return refused;
    }
    let mut inner = state.lock();
    let Some(upload) = inner.uploads.get_mut(&upload_id) else {
        return (StatusCode::NOT_FOUND, "NoSuchUpload").into_response();
    };
    let Some(part) = part
        .parse::<u32>()
        .ok()
        .filter(|part| (1..=upload.part_count).contains(part))
    else {
        return (StatusCode::BAD_REQUEST, "InvalidPart").into_response();
    };
    if upload.status != "pending" {
        return (StatusCode::BAD_REQUEST, "InvalidPart").into_response();
    }
    let etag = format!("\"{upload_id}-{part}-{}\"", body.len());
    upload.parts.insert(part, body.to_vec());
    let mut response = StatusCode::OK.into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

async fn upload_action(
    AxumState(state): AxumState<Arc<State>>,
    Path(upload_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    requests::upload_action(&body)?;
    let mut inner = state.lock();
    let upload = inner
        .uploads
        .get_mut(&upload_id)
        .ok_or_else(|| ApiError::not_found("Upload", &upload_id))?;
    let missing: Vec<u32> = (1..=upload.part_count)
        .filter(|number| !upload.parts.contains_key(number))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Parts not uploaded: {missing:?}"
        )));
    }
    let bytes: Vec<u8> = std::mem::take(&mut upload.parts)
        .into_values()
        .flatten()
        .collect();
    upload.updated_at = SystemTime::now();
    if bytes.len() as u64 != upload.file_size {
        upload.status = "failed";
        upload.error_message = Some(format!(
            "Received {} bytes, expected fileSize {}",
            bytes.len(),
            upload.file_size
        ));
        let body = json!({"upload": views::upload(upload, &[])});
        return ok(body);
    }
    let (name, mime_type) = (upload.file_name.clone(), upload.content_type.clone());
    let asset_id = {
        upload.status = "imported";
        let id = format!("asset_{}", upload.id.trim_start_matches("upload_"));
        upload.asset_id = Some(id.clone());
        id
    };
    let body = json!({"upload": views::upload(upload, &[])});
    inner.assets.insert(
        asset_id.clone(),
        uploaded_asset(asset_id, name, mime_type, bytes),
    );
    ok(body)
}

async fn get_upload(
    AxumState(state): AxumState<Arc<State>>,
    Path(upload_id): Path<String>,
    fault: Option<axum::Extension<Fault>>,
) -> ApiResult {
    let inner = state.lock();
    let upload = inner
        .uploads
        .get(&upload_id)
        .ok_or_else(|| ApiError::not_found("Upload", &upload_id))?;
    let urls = if upload.status == "pending" {
        part_urls(&state, upload, expired_url_fault(fault.as_ref()))
    } else {
        Vec::new()
    };
    ok(json!({"upload": views::upload(upload, &urls)}))
}

async fn list_models(AxumState(state): AxumState<Arc<State>>) -> ApiResult {
    let served = &state.config.model_descriptions;
    let mut models: Vec<Value> = kling_types::MODELS
        .iter()
        .filter_map(|model| match served.get(model.id) {
            Some(description) => Some(description.clone()),
            None => models::describe(model),
        })
        .collect();
    models.extend(
        served
            .iter()
            .filter(|(id, _)| kling_types::find_model(id).is_none())
            .map(|(_, description)| description.clone()),
    );
    ok(json!({"models": models}))
}

async fn get_model(
    AxumState(state): AxumState<Arc<State>>,
    Path(model_id): Path<String>,
) -> ApiResult {
    let model = match state.config.model_descriptions.get(&model_id) {
        Some(description) => Some(description.clone()),
        None => kling_types::find_model(&model_id).and_then(models::describe),
    }
    .ok_or_else(|| ApiError::not_found("Model", &model_id))?;
    ok(json!({"model": model}))
}

async fn admin_log(AxumState(state): AxumState<Arc<State>>) -> Json<Value> {
    let inner = state.lock();
    let requests: Vec<Value> = inner
        .requests
        .iter()
        .map(|record| json!({"requestId": record.request_id, "method": record.method, "path": record.path, "status": record.status, "fault": record.fault}))
        .collect();
    let jobs: Vec<Value> = inner
        .jobs
        .iter()
        .map(|job| {
            json!({
                "jobId": job.id,
                "modelId": job.model_id,
                "input": job.input,
                "requestId": job.request_id,
                "fault": job.fault,
                "createdAt": crate::state::iso8601(job.created_at),
                "status": state.job_now(job).status,
            })
        })
        .collect();
    let running = state.running_jobs(&inner).count;
    Json(json!({
        "requests": requests,
        "jobs": jobs,
        "teamLimitRefusals": inner.team_limit_refusals,
        "maxRunningJobs": inner.max_running_jobs,
        "runningJobs": running,
    }))
}

async fn admin_faults(AxumState(state): AxumState<Arc<State>>) -> Json<Value> {
    Json(json!({"faults": state.lock().faults.rules()}))
}

async fn add_faults(AxumState(state): AxumState<Arc<State>>, body: Bytes) -> ApiResult {
    let rules = requests::fault_rules(&body)?;
    let count = rules.len();
    state.add_faults(rules);
    ok(json!({"added": count}))
}

async fn clear_faults(AxumState(state): AxumState<Arc<State>>) -> StatusCode {
    state.lock().faults.clear();
    StatusCode::NO_CONTENT
}
