//! What the API accepts: each request body and query string, parsed and checked into a
//! typed request, or refused with the API's error (a 4xx and `{"reason": …}`).
//!
//! The handlers in `routes.rs` only call these, so that everything computed from a
//! request's input is here, in plain functions the fuzz targets call directly.

use std::time::SystemTime;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::faults::FaultRule;
use crate::state::{State, parse_iso8601};

/// Largest image `POST /v1/assets` accepts, as the real API.
const MAX_IMAGE_BYTES: usize = 6 * 1024 * 1024;
/// The image types `POST /v1/assets` accepts.
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
/// The kinds of multipart upload the sandbox imports (as assets). The API knows more
/// (`3d`, `model`, …), which the sandbox has no use for.
const UPLOAD_KINDS: &[&str] = &["image", "video", "audio"];
/// Most parts a multipart upload may have.
const MAX_PARTS: u32 = 10_000;

/// The API's error: a status and `{"reason": …}` (with `details` for some).
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) reason: String,
    pub(crate) details: Option<Value>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            details: None,
        }
    }

    pub(crate) fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, reason)
    }

    pub(crate) fn not_found(what: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} {id} not found"))
    }

    /// The error body, as the API writes it.
    pub(crate) fn body(&self) -> Value {
        let mut body = json!({"reason": self.reason});
        if let Some(details) = &self.details {
            body["details"] = details.clone();
        }
        body
    }
}

/// The `reason` of the 429 a team over its limit of parallel jobs gets. Unconfirmed: no
/// captured answer of the live API shows the text; this wording is a guess.
pub(crate) const TEAM_LIMIT_REASON: &str =
    "Too many parallel jobs: your team reached the limit of its plan, retry when a job ends";
/// The `details.actionName` of that 429. Unconfirmed: `parallelCustomJobs` is what the
/// SDK's team limits (`GET /v1/teams/{teamId}/limits`) call the limit on custom-model
/// jobs, which generations are; the live 429 may name it otherwise.
pub(crate) const TEAM_LIMIT_ACTION: &str = "parallelCustomJobs";

impl ApiError {
    /// The 429 of a team with `limit` jobs running (`details` names the limit).
    pub(crate) fn team_limit(limit: u32) -> Self {
        let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, TEAM_LIMIT_REASON);
        error.details = Some(json!({"actionName": TEAM_LIMIT_ACTION, "actionLimit": limit}));
        error
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// A request body as JSON, or the API's 400.
fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("Invalid JSON body: {error}")))
}

/// A query string (without the `?`), or the API's 400.
fn query_of<T: DeserializeOwned>(query: Option<&str>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|error| ApiError::bad_request(format!("Invalid query string: {error}")))
}

/// `POST /v1/generate/custom/{modelId}`, checked against the model's schema.
#[derive(Debug)]
pub(crate) struct Generate {
    pub(crate) model: &'static kling_types::ModelInfo,
    pub(crate) input: Value,
    /// `?dryRun=true` (or `api`): estimate, start nothing.
    pub(crate) dry_run: bool,
    /// `txt2video` or `img2video`: what the output asset's `source` says.
    pub(crate) generation: &'static str,
    pub(crate) aspect_ratio: String,
    pub(crate) duration_secs: u32,
    /// Creative units: 40 per 5 seconds.
    pub(crate) cost: f64,
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

pub(crate) fn generate(
    state: &State,
    model_id: &str,
    query: Option<&str>,
    body: &[u8],
) -> Result<Generate, ApiError> {
    let model =
        kling_types::find_model(model_id).ok_or_else(|| ApiError::not_found("Model", model_id))?;
    let query: GenerateQuery = query_of(query)?;
    let input: Value = json_body(body)?;
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
    if !input.is_object() {
        return Err(ApiError::bad_request(format!(
            "Invalid input for {model_id}: the body must be a JSON object"
        )));
    }
    let dry_run = matches!(query.dry_run.as_deref(), Some("true" | "api"));
    if !dry_run {
        // A job needs the pictures it names: an id no upload (or job) made is refused,
        // as a file path sent where an asset id belongs would be. A dry run only prices.
        let inner = state.lock();
        if let Some(unknown) = model
            .asset_values(&input)
            .into_iter()
            .find(|asset| !inner.assets.contains_key(asset.value))
        {
            let field = unknown.pointer.trim_start_matches('/');
            let mut error = ApiError::bad_request(format!(
                "Invalid input for {model_id}: {field}: no asset `{}`; upload the file first and send the asset id it gets",
                unknown.value
            ));
            error.details =
                Some(json!({"errors": [format!("{field}: no asset `{}`", unknown.value)]}));
            return Err(error);
        }
    }
    // The schema bounds the duration (5 or 10); `as` saturates whatever it lets through.
    let seconds = input["duration"].as_f64().unwrap_or(5.0);
    Ok(Generate {
        model,
        dry_run,
        generation: if input.get("startImage").is_some() {
            "img2video"
        } else {
            "txt2video"
        },
        aspect_ratio: input["aspectRatio"].as_str().unwrap_or("16:9").to_owned(),
        duration_secs: seconds as u32,
        cost: (seconds / 5.0).ceil() * 40.0,
        input,
    })
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

/// `GET /v1/jobs`: which jobs, and which page of them.
#[derive(Debug)]
pub(crate) struct JobQuery {
    pub(crate) page_size: usize,
    /// The page holds jobs created before the job at this index (of all jobs, oldest
    /// first); the first page, all of them. A cursor rather than an offset, so that a
    /// job whose status moves between two pages of a filtered list neither shifts the
    /// rest nor is repeated.
    pub(crate) before: Option<usize>,
    pub(crate) status: Option<String>,
    pub(crate) job_type: Option<String>,
    pub(crate) types: Vec<String>,
    pub(crate) created_after: Option<SystemTime>,
    pub(crate) updated_after: Option<SystemTime>,
    pub(crate) author_id: Option<String>,
}

/// How a job list's `nextPaginationToken` starts; the index of a job follows.
const TOKEN_PREFIX: &str = "jobs-before-";

/// The token of the page of jobs created before the job at `index`.
pub(crate) fn page_token(index: usize) -> String {
    format!("{TOKEN_PREFIX}{index}")
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
    #[serde(rename = "projectId")]
    _project_id: Option<String>,
}

pub(crate) fn job_query(query: Option<&str>) -> Result<JobQuery, ApiError> {
    let query: ListQuery = query_of(query)?;
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
    let date = |text: &Option<String>, name: &str| -> Result<Option<SystemTime>, ApiError> {
        text.as_deref()
            .map(|text| {
                parse_iso8601(text).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "{name} must be an ISO 8601 date (2026-01-31T12:00:00.000Z)"
                    ))
                })
            })
            .transpose()
    };
    let before = query
        .pagination_token
        .as_deref()
        .map(|token| {
            token
                .strip_prefix(TOKEN_PREFIX)
                .and_then(|index| index.parse().ok())
                .ok_or_else(|| ApiError::bad_request("invalid paginationToken"))
        })
        .transpose()?;
    Ok(JobQuery {
        page_size,
        before,
        created_after: date(&query.created_after, "createdAfter")?,
        updated_after: date(&query.updated_after, "updatedAfter")?,
        status: query.status,
        job_type: query.job_type,
        types: query
            .types
            .as_deref()
            .map(|types| types.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
        author_id: query.author_id,
    })
}

#[derive(Deserialize)]
struct ActionBody {
    action: Option<String>,
}

/// `POST /v1/jobs/{jobId}/action`: the action asked for (which the handler refuses:
/// generations cannot be canceled).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JobAction {
    Cancel,
    Other(String),
    Missing,
}

pub(crate) fn job_action(body: &[u8]) -> Result<JobAction, ApiError> {
    let body: ActionBody = json_body(body)?;
    Ok(match body.action {
        Some(action) if action == "cancel" => JobAction::Cancel,
        Some(other) => JobAction::Other(other),
        None => JobAction::Missing,
    })
}

/// `POST /v1/uploads/{uploadId}/action`: `complete` is the only action the SDK knows
/// (and its upload statuses have no `canceled`).
pub(crate) fn upload_action(body: &[u8]) -> Result<(), ApiError> {
    let body: ActionBody = json_body(body)?;
    match body.action.as_deref() {
        Some("complete") => Ok(()),
        _ => Err(ApiError::bad_request("action must be `complete`")),
    }
}

/// `POST /v1/assets`: a small image as a data URL.
#[derive(Debug)]
pub(crate) struct NewImage {
    pub(crate) name: String,
    pub(crate) mime_type: String,
    pub(crate) bytes: Vec<u8>,
}

#[derive(Deserialize)]
struct UploadImageBody {
    name: Option<String>,
    image: Option<String>,
}

pub(crate) fn new_image(body: &[u8]) -> Result<NewImage, ApiError> {
    let body: UploadImageBody = json_body(body)?;
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
            "Unsupported image type {}: use JPEG, PNG, GIF, WebP, AVIF, TIFF, HEIC or SVG",
            mime_type.chars().take(80).collect::<String>()
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
    Ok(NewImage {
        name: body.name.unwrap_or_else(|| "image".to_owned()),
        mime_type: mime_type.to_owned(),
        bytes,
    })
}

/// `POST /v1/uploads`: a multipart upload to be.
#[derive(Debug)]
pub(crate) struct NewUpload {
    pub(crate) file_name: String,
    pub(crate) content_type: String,
    pub(crate) file_size: u64,
    pub(crate) kind: String,
    pub(crate) part_count: u32,
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

pub(crate) fn new_upload(body: &[u8]) -> Result<NewUpload, ApiError> {
    let body: CreateUploadBody = json_body(body)?;
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
            "Unsupported kind `{}`: the sandbox imports {}",
            kind.chars().take(80).collect::<String>(),
            UPLOAD_KINDS.join(", ")
        )));
    }
    let part_count = body.parts.unwrap_or(1);
    if !(1..=MAX_PARTS).contains(&part_count) {
        return Err(ApiError::bad_request(format!(
            "parts must be from 1 to {MAX_PARTS}"
        )));
    }
    Ok(NewUpload {
        file_name,
        content_type,
        file_size,
        kind,
        part_count,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DownloadBody {
    target_format: Option<String>,
}

/// `POST /v1/assets/{assetId}/download`: the format asked for, if any (an empty body
/// or `{}` asks for the file as it is).
pub(crate) fn download_request(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: Value = json_body(body)?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the body must be a JSON object: {} or {\"targetFormat\": \"mp4\"}",
        ));
    }
    let body: DownloadBody = serde_json::from_value(value)
        .map_err(|error| ApiError::bad_request(format!("Invalid body: {error}")))?;
    Ok(body.target_format)
}

/// `POST /_sandbox/faults`: one rule or a list of them, each of which can apply.
pub(crate) fn fault_rules(body: &[u8]) -> Result<Vec<FaultRule>, ApiError> {
    let value: Value = json_body(body)?;
    let rules: Vec<FaultRule> = match value {
        Value::Array(_) => serde_json::from_value(value),
        single => serde_json::from_value(single).map(|rule| vec![rule]),
    }
    .map_err(|error| ApiError::bad_request(format!("Invalid fault rule: {error}")))?;
    for rule in &rules {
        rule.check()
            .map_err(|error| ApiError::bad_request(error.to_string()))?;
    }
    Ok(rules)
}
