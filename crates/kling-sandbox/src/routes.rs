//! The API surface: every endpoint the client and the CLI use, under `/v1` as on the
//! real host, plus the CDN, the upload part URLs and the `/_sandbox` admin endpoints.
//!
//! One middleware does what a real edge does before a handler runs: it gives each
//! request an id, injects faults, checks credentials, and records the outcome.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::faults::{Fault, FaultRule};
use crate::state::{Asset, Content, Job, Outcome, State, Upload, iso8601, parse_iso8601};
use crate::{cdn, models, views};

/// Marks a response whose connection must be closed without sending it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DropConnection;

/// The request header that injects a fault into one request.
pub(crate) const FAULT_HEADER: &str = "x-sandbox-fault";
const REQUEST_ID: &str = "x-request-id";
/// Largest image `POST /v1/assets` accepts, as the real API.
const MAX_IMAGE_BYTES: usize = 6 * 1024 * 1024;
/// Largest request body the sandbox reads.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// The kinds of multipart upload the sandbox imports (as assets). The API knows more
/// (`3d`, `model`, …), which the sandbox has no use for.
const UPLOAD_KINDS: &[&str] = &["image", "video", "audio"];
const IMAGE_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/avif",
    "image/tiff",
    "image/heic",
    "image/svg+xml",
];

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

/// The API's error: a status and `{"reason": …}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    reason: String,
    details: Option<Value>,
}

impl ApiError {
    fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            details: None,
        }
    }

    fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, reason)
    }

    fn not_found(what: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} {id} not found"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"reason": self.reason});
        if let Some(details) = self.details {
            body["details"] = details;
        }
        (self.status, Json(body)).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

/// A request body as JSON, or the API's 400.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("Invalid JSON body: {error}")))
}

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
    let (request_id, index) = {
        let mut inner = state.lock();
        let request_id = inner.id("req");
        inner.requests.push(crate::RequestRecord {
            request_id: request_id.clone(),
            method: method.clone(),
            path: path.clone(),
            status: None,
            fault: None,
        });
        (request_id, inner.requests.len() - 1)
    };
    let seen = Seen {
        index,
        request_id,
        started: std::time::Instant::now(),
    };

    let from_header = request
        .headers()
        .get(FAULT_HEADER)
        .map(|value| Fault::parse(value.to_str().unwrap_or_default()));
    let fault = match from_header {
        Some(Ok(fault)) => Some(fault),
        Some(Err(message)) => {
            let response = ApiError::bad_request(format!("bad {FAULT_HEADER} header: {message}"))
                .into_response();
            return finish(&state, &seen, None, response);
        }
        None => state.lock().faults.pick(&method, &path),
    };
    if let Some(fault) = &fault {
        tracing::debug!(target: "kling_sandbox", request_id = %seen.request_id, fault = fault.name(), "injecting fault");
        if let Some(stall) = fault.stall() {
            tokio::time::sleep(stall).await;
        }
        match fault {
            Fault::Status {
                status,
                retry_after_secs,
            } => {
                let status =
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let reason = match status.as_u16() {
                    429 => "Too many requests: the limit of parallel jobs was reached".to_owned(),
                    503 => "Service unavailable".to_owned(),
                    _ => status.canonical_reason().unwrap_or("Error").to_owned(),
                };
                let mut error = ApiError::new(status, reason);
                if status == StatusCode::TOO_MANY_REQUESTS {
                    error.details = Some(json!({"actionName": "generate", "actionLimit": 5}));
                }
                let mut response = error.into_response();
                // 429 and 503 always say when to come back (1 s unless the fault says).
                let throttled = matches!(status.as_u16(), 429 | 503);
                if let Some(secs) = retry_after_secs.or(throttled.then_some(1)) {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                return finish(&state, &seen, Some(fault), response);
            }
            Fault::ResetBeforeHandling => {
                let mut response = Response::new(Body::empty());
                response.extensions_mut().insert(DropConnection);
                return finish(&state, &seen, Some(fault), response);
            }
            _ => {}
        }
        request.extensions_mut().insert(fault.clone());
    }

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateQuery {
    dry_run: Option<String>,
    #[serde(rename = "projectId")]
    _project_id: Option<String>,
    #[serde(rename = "ipDetection")]
    _ip_detection: Option<String>,
}

/// A validator's message with a long offending value cut to its start, so that a
/// 3000-character prompt is not echoed back whole.
fn abbreviate(message: &str, instance: &Value) -> String {
    const KEEP: usize = 40;
    let text = instance.to_string();
    if text.chars().count() <= KEEP * 2 {
        return message.to_owned();
    }
    let start: String = text.chars().take(KEEP).collect();
    let short = match instance {
        Value::String(value) => format!("{start}…\" ({} characters)", value.chars().count()),
        _ => format!("{start}… ({} characters of JSON)", text.chars().count()),
    };
    message.replacen(&text, &short, 1)
}

/// What a generation costs, in creative units: 40 per 5 seconds.
fn cost(input: &Value) -> f64 {
    let seconds = input["duration"].as_f64().unwrap_or(5.0);
    (seconds / 5.0).ceil() * 40.0
}

async fn generate(
    AxumState(state): AxumState<Arc<State>>,
    Path(model_id): Path<String>,
    Query(query): Query<GenerateQuery>,
    fault: Option<axum::Extension<Fault>>,
    body: Bytes,
) -> ApiResult {
    let Some(model) = kling_types::find_model(&model_id) else {
        return Err(ApiError::not_found("Model", &model_id));
    };
    let input: Value = json_body(&body)?;
    if let Some(validator) = state.validators.get(model.id) {
        let problems: Vec<String> = validator
            .iter_errors(&input)
            .map(|error| {
                let pointer = error.instance_path().to_string();
                let field = pointer.trim_start_matches('/');
                let message = abbreviate(&error.to_string(), error.instance());
                if field.is_empty() {
                    message
                } else {
                    format!("{field}: {message}")
                }
            })
            .collect();
        if let Some(first) = problems.first() {
            let mut error = ApiError::bad_request(format!("Invalid input for {model_id}: {first}"));
            error.details = Some(json!({"errors": problems}));
            return Err(error);
        }
    }
    let cost = cost(&input);
    if matches!(query.dry_run.as_deref(), Some("true" | "api")) {
        let body = json!({"creativeUnitsCost": cost, "creativeUnitsDiscount": 0, "costDetails": {"custom-generation": cost}, "job": {}});
        let status = StatusCode::from_u16(269).unwrap_or(StatusCode::OK);
        return Ok((status, Json(body)).into_response());
    }
    let fault = fault.map(|axum::Extension(fault)| fault);
    let outcome = match fault_of(fault.as_ref(), |fault| {
        matches!(fault, Fault::JobFailure { .. } | Fault::JobCanceled)
    }) {
        Some(Fault::JobFailure { error, hint }) => Outcome::Failure {
            error: error.clone(),
            hint: hint.clone(),
        },
        Some(_) => Outcome::Canceled,
        None => Outcome::Success,
    };
    let odd_status = match &fault {
        Some(Fault::UnknownStatus { status }) => Some(status.clone()),
        _ => None,
    };
    let aspect_ratio = input["aspectRatio"].as_str().unwrap_or("16:9").to_owned();
    let duration_secs = input["duration"]
        .as_f64()
        .map_or(5, |seconds| seconds as u32);
    let spec = state.video_spec(&aspect_ratio, duration_secs);
    let (width, height) = (spec.width, spec.height);
    let video = crate::mp4::Mp4::new(&spec);
    let generation = if input.get("startImage").is_some() {
        "img2video"
    } else {
        "txt2video"
    };
    let now = SystemTime::now();
    let mut inner = state.lock();
    let job_id = inner.id("job");
    let asset_id = inner.id("asset");
    inner.assets.insert(
        asset_id.clone(),
        Asset {
            id: asset_id.clone(),
            kind: "video",
            mime_type: "video/mp4".to_owned(),
            file_name: format!("{asset_id}.mp4"),
            created_at: now,
            // The SDK's `source` and `metadata.type` name what made the asset.
            source: generation,
            job_id: Some(job_id.clone()),
            content: Content::Video(Arc::new(video)),
            width: Some(width),
            height: Some(height),
            duration_secs: Some(duration_secs),
            metadata: json!({
                "kind": "video",
                "type": generation,
                "modelId": model.id,
                "prompt": input["prompt"],
                "parentJobId": job_id,
            }),
        },
    );
    let job = Job {
        id: job_id,
        model_id: model.id.to_owned(),
        input,
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

async fn get_job(AxumState(state): AxumState<Arc<State>>, Path(job_id): Path<String>) -> ApiResult {
    let inner = state.lock();
    let job = inner
        .jobs
        .iter()
        .find(|job| job.id == job_id)
        .ok_or_else(|| ApiError::not_found("Job", &job_id))?;
    ok(json!({"job": views::job(&state, job)}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    page_size: Option<String>,
    pagination_token: Option<String>,
    status: Option<String>,
    #[serde(rename = "type")]
    job_type: Option<String>,
    types: Option<String>,
    created_after: Option<String>,
    updated_after: Option<String>,
    author_id: Option<String>,
}

async fn list_jobs(
    AxumState(state): AxumState<Arc<State>>,
    Query(query): Query<ListQuery>,
    fault: Option<axum::Extension<Fault>>,
) -> ApiResult {
    let page_size = match &query.page_size {
        None => 50,
        Some(size) => size
            .parse::<usize>()
            .ok()
            .filter(|size| (1..=100).contains(size))
            .ok_or_else(|| ApiError::bad_request("pageSize must be an integer from 1 to 100"))?,
    };
    if query.created_after.is_some()
        && (query.status.is_some() || query.job_type.is_some() || query.types.is_some())
    {
        return Err(ApiError::bad_request(
            "createdAfter cannot be combined with the status or type filters",
        ));
    }
    let parse_date = |text: &Option<String>, name: &str| -> Result<Option<SystemTime>, ApiError> {
        text.as_deref()
            .map(|text| {
                parse_iso8601(text).ok_or_else(|| {
                    ApiError::bad_request(format!("{name} must be an ISO 8601 date"))
                })
            })
            .transpose()
    };
    let created_after = parse_date(&query.created_after, "createdAfter")?;
    let updated_after = parse_date(&query.updated_after, "updatedAfter")?;
    let offset = match &query.pagination_token {
        None => 0,
        Some(token) => token
            .strip_prefix("page-")
            .and_then(|offset| offset.parse().ok())
            .ok_or_else(|| ApiError::bad_request("invalid paginationToken"))?,
    };
    let types: Vec<&str> = query
        .types
        .as_deref()
        .map(|types| types.split(',').collect())
        .unwrap_or_default();
    let inner = state.lock();
    // Newest first, like the real API.
    let matching: Vec<Value> = inner
        .jobs
        .iter()
        .rev()
        .map(|job| views::job(&state, job))
        .filter(|job| {
            query
                .status
                .as_deref()
                .is_none_or(|status| job["status"] == status)
        })
        .filter(|job| {
            query
                .job_type
                .as_deref()
                .is_none_or(|job_type| job["jobType"] == job_type)
        })
        .filter(|job| types.is_empty() || types.iter().any(|job_type| job["jobType"] == *job_type))
        .filter(|job| {
            query
                .author_id
                .as_deref()
                .is_none_or(|author| job["authorId"] == author)
        })
        .filter(|job| {
            created_after.is_none_or(|after| {
                job["createdAt"]
                    .as_str()
                    .and_then(parse_iso8601)
                    .is_some_and(|created| created > after)
            })
        })
        .filter(|job| {
            updated_after.is_none_or(|after| {
                job["updatedAt"]
                    .as_str()
                    .and_then(parse_iso8601)
                    .is_some_and(|updated| updated > after)
            })
        })
        .collect();
    if fault.is_some_and(|axum::Extension(fault)| fault == Fault::EmptyPage) {
        // An empty page that still says more follow: the client must keep paging.
        return ok(json!({"jobs": [], "nextPaginationToken": format!("page-{offset}")}));
    }
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(page_size)
        .cloned()
        .collect();
    let mut body = json!({"jobs": page});
    if offset + page_size < matching.len() {
        body["nextPaginationToken"] = json!(format!("page-{}", offset + page_size));
    }
    ok(body)
}

#[derive(Deserialize)]
struct ActionBody {
    action: Option<String>,
}

async fn job_action(
    AxumState(state): AxumState<Arc<State>>,
    Path(job_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let action: ActionBody = json_body(&body)?;
    let inner = state.lock();
    if !inner.jobs.iter().any(|job| job.id == job_id) {
        return Err(ApiError::not_found("Job", &job_id));
    }
    match action.action.as_deref() {
        // Only inference jobs can be canceled today; every job here is a generation.
        Some("cancel") => Err(ApiError::bad_request(
            "Cannot cancel this type of job. Action not permitted.",
        )),
        Some(other) => Err(ApiError::bad_request(format!("Unknown action `{other}`"))),
        None => Err(ApiError::bad_request("Missing `action`")),
    }
}

/// The asset's status: a generated video is `pending` until its job succeeds.
fn asset_status(state: &State, inner: &crate::state::Inner, asset: &Asset) -> &'static str {
    let Some(job) = asset
        .job_id
        .as_ref()
        .and_then(|job_id| inner.jobs.iter().find(|job| &job.id == job_id))
    else {
        return "success";
    };
    match job
        .progress(
            state.now().saturating_sub(job.created),
            state.config.job_duration,
        )
        .status
    {
        "success" => "success",
        "failure" | "canceled" => "error",
        _ => "pending",
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
    ok(json!({"asset": views::asset(asset, asset_status(&state, &inner, asset), &url)}))
}

async fn download_link(
    AxumState(state): AxumState<Arc<State>>,
    Path(asset_id): Path<String>,
    fault: Option<axum::Extension<Fault>>,
    body: Bytes,
) -> ApiResult {
    let request: Value = if body.is_empty() {
        Value::Null
    } else {
        json_body(&body)?
    };
    let inner = state.lock();
    let asset = inner
        .assets
        .get(&asset_id)
        .ok_or_else(|| ApiError::not_found("Asset", &asset_id))?;
    if let Some(format) = request.get("targetFormat").and_then(Value::as_str)
        && !asset.mime_type.ends_with(format)
    {
        return Err(ApiError::bad_request(format!(
            "Cannot convert {} to {format}",
            asset.mime_type
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

#[derive(Deserialize)]
struct UploadImageBody {
    name: Option<String>,
    image: Option<String>,
}

async fn upload_image(AxumState(state): AxumState<Arc<State>>, body: Bytes) -> ApiResult {
    let body: UploadImageBody = json_body(&body)?;
    let image = body.image.ok_or_else(|| {
        ApiError::bad_request("Missing `image`: send a data URL (data:image/png;base64,…)")
    })?;
    let (mime_type, data) = image
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(";base64,"))
        .ok_or_else(|| {
            ApiError::bad_request("`image` must be a data URL: data:<type>;base64,<data>")
        })?;
    if !IMAGE_TYPES.contains(&mime_type) {
        return Err(ApiError::bad_request(format!(
            "Unsupported image type {mime_type}: use JPEG, PNG, GIF, WebP, AVIF, TIFF, HEIC or SVG"
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| ApiError::bad_request("`image` is not valid base64"))?;
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Image larger than 6 MB: use the multipart upload (/v1/uploads)",
        ));
    }
    let name = body.name.unwrap_or_else(|| "image".to_owned());
    let mut inner = state.lock();
    let asset_id = inner.id("asset");
    let asset = uploaded_asset(asset_id.clone(), name, mime_type.to_owned(), bytes);
    let url = cdn::signed_url(&state, &asset.id, &asset.file_name, false);
    let body = json!({"asset": views::asset(&asset, "success", &url)});
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
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateUploadBody {
    file_name: Option<String>,
    content_type: Option<String>,
    file_size: Option<u64>,
    kind: Option<String>,
    parts: Option<u32>,
}

fn part_urls(state: &State, upload: &Upload) -> Vec<(u32, String, String)> {
    let expires = iso8601(SystemTime::now() + state.real(state.config.url_ttl));
    (1..=upload.part_count)
        .map(|number| {
            (
                number,
                format!("{}/upload-parts/{}/{number}", state.origin, upload.id),
                expires.clone(),
            )
        })
        .collect()
}

async fn create_upload(AxumState(state): AxumState<Arc<State>>, body: Bytes) -> ApiResult {
    let body: CreateUploadBody = json_body(&body)?;
    let (Some(file_name), Some(content_type), Some(file_size)) =
        (body.file_name, body.content_type, body.file_size)
    else {
        return Err(ApiError::bad_request(
            "fileName, contentType and fileSize are required",
        ));
    };
    let kind = body.kind.unwrap_or_else(|| "image".to_owned());
    if !UPLOAD_KINDS.contains(&kind.as_str()) {
        return Err(ApiError::bad_request(format!(
            "Unsupported kind `{kind}`: the sandbox imports {}",
            UPLOAD_KINDS.join(", ")
        )));
    }
    let part_count = body.parts.unwrap_or(1);
    if !(1..=10_000).contains(&part_count) {
        return Err(ApiError::bad_request("parts must be from 1 to 10000"));
    }
    let now = SystemTime::now();
    let mut inner = state.lock();
    let id = inner.id("upload");
    let upload = Upload {
        id: id.clone(),
        file_name,
        content_type,
        file_size,
        kind,
        parts: std::collections::BTreeMap::new(),
        part_count,
        status: "pending",
        error_message: None,
        asset_id: None,
        created_at: now,
        updated_at: now,
    };
    let body = json!({"upload": views::upload(&upload, &part_urls(&state, &upload))});
    inner.uploads.insert(id, upload);
    ok(body)
}

async fn put_part(
    AxumState(state): AxumState<Arc<State>>,
    Path((upload_id, part)): Path<(String, u32)>,
    body: Bytes,
) -> Response {
    let mut inner = state.lock();
    let Some(upload) = inner.uploads.get_mut(&upload_id) else {
        return (StatusCode::NOT_FOUND, "NoSuchUpload").into_response();
    };
    if part == 0 || part > upload.part_count || upload.status != "pending" {
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
    let action: ActionBody = json_body(&body)?;
    let mut inner = state.lock();
    let upload = inner
        .uploads
        .get_mut(&upload_id)
        .ok_or_else(|| ApiError::not_found("Upload", &upload_id))?;
    // `complete` is the only action the SDK knows (and its statuses have no `canceled`).
    if action.action.as_deref() != Some("complete") {
        return Err(ApiError::bad_request("action must be `complete`"));
    }
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
) -> ApiResult {
    let inner = state.lock();
    let upload = inner
        .uploads
        .get(&upload_id)
        .ok_or_else(|| ApiError::not_found("Upload", &upload_id))?;
    let urls = if upload.status == "pending" {
        part_urls(&state, upload)
    } else {
        Vec::new()
    };
    ok(json!({"upload": views::upload(upload, &urls)}))
}

async fn list_models() -> ApiResult {
    let models: Vec<Value> = kling_types::MODELS
        .iter()
        .filter_map(models::describe)
        .collect();
    ok(json!({"models": models}))
}

async fn get_model(Path(model_id): Path<String>) -> ApiResult {
    let model = kling_types::find_model(&model_id)
        .and_then(models::describe)
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
        .map(|job| json!({"jobId": job.id, "modelId": job.model_id, "input": job.input}))
        .collect();
    Json(json!({"requests": requests, "jobs": jobs}))
}

async fn admin_faults(AxumState(state): AxumState<Arc<State>>) -> Json<Value> {
    Json(json!({"faults": state.lock().faults.rules()}))
}

async fn add_faults(
    AxumState(state): AxumState<Arc<State>>,
    method: Method,
    body: Bytes,
) -> ApiResult {
    let _ = method;
    let value: Value = json_body(&body)?;
    let rules: Vec<FaultRule> = match value {
        Value::Array(_) => serde_json::from_value(value),
        single => serde_json::from_value(single).map(|rule| vec![rule]),
    }
    .map_err(|error| ApiError::bad_request(format!("Invalid fault rule: {error}")))?;
    let count = rules.len();
    state.add_faults(rules);
    ok(json!({"added": count}))
}

async fn clear_faults(AxumState(state): AxumState<Arc<State>>) -> StatusCode {
    state.lock().faults.clear();
    StatusCode::NO_CONTENT
}
