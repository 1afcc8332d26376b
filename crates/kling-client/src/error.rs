//! Everything that can go wrong, as one enum whose messages say what to do next.

use std::path::PathBuf;
use std::time::Duration;

use kling_types::api::JobStatus;
use kling_types::{AssetId, JobId, ValidationError};

/// The client's error. `is_retryable()` says whether trying again can help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client is not set up right (a missing environment variable, a bad base URL).
    #[error("{0}")]
    Config(String),

    /// The request breaks the model's rules; it never left the machine.
    #[error(transparent)]
    Validation(#[from] ValidationError),

    /// The API refused the credentials (401).
    #[error("the API refused the credentials ({status}: {reason}): check SCENARIO_SDK_API_KEY and SCENARIO_SDK_API_SECRET{}", request_id_suffix(.request_id))]
    Auth {
        /// The HTTP status.
        status: u16,
        /// What the API said.
        reason: String,
        /// The request id, for Scenario's support.
        request_id: Option<String>,
    },

    /// Too many requests or parallel jobs (429).
    #[error("rate limited by the API: {reason}{}{}", retry_after.map(|wait| format!(" (it asked to wait {} s)", wait.as_secs_f64().ceil())).unwrap_or_default(), request_id_suffix(.request_id))]
    RateLimited {
        /// What the API said.
        reason: String,
        /// How long the API asked to wait, when it said.
        retry_after: Option<Duration>,
        /// The request id.
        request_id: Option<String>,
    },

    /// Any other error answer of the API.
    #[error("the API answered {status}: {reason}{}{}", status_hint(*.status), request_id_suffix(.request_id))]
    Api {
        /// The HTTP status.
        status: u16,
        /// What the API said (`reason` of its error body, or the start of the body).
        reason: String,
        /// How long the API asked to wait (`Retry-After`), when it said.
        retry_after: Option<Duration>,
        /// The request id.
        request_id: Option<String>,
    },

    /// The server could not be reached.
    #[error("cannot reach {target}: {source}: check your network and SCENARIO_BASE_URL")]
    Connect {
        /// What was being reached (without any query string).
        target: String,
        /// The cause (its URL removed).
        #[source]
        source: reqwest::Error,
    },

    /// A request took longer than its timeout.
    #[error("{what} timed out after {} s", after.as_secs_f64())]
    Timeout {
        /// What timed out.
        what: String,
        /// The timeout.
        after: Duration,
    },

    /// The connection broke while a request or its answer was on the way.
    #[error("the connection broke during {what}: {source}")]
    Transport {
        /// What was going on.
        what: String,
        /// The cause (its URL removed).
        #[source]
        source: reqwest::Error,
    },

    /// The API answered something this client cannot read.
    #[error("unexpected answer to {what}: {source}{}", request_id_suffix(.request_id))]
    Decode {
        /// The request.
        what: String,
        /// The request id.
        request_id: Option<String>,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },

    /// A generate request failed in a way that leaves unknown whether it started a job,
    /// and no such job could be found: check the job list before submitting again.
    #[error(
        "the generate request may or may not have started a job ({cause}), and none was found: check `kling jobs list` before submitting again"
    )]
    SubmitUncertain {
        /// The last failure.
        cause: String,
    },

    /// The job ended in failure.
    #[error("job {job_id} failed: {reason}{}", hint.as_ref().map(|hint| format!(" (hint: {hint})")).unwrap_or_default())]
    JobFailed {
        /// The job.
        job_id: JobId,
        /// The server's reason (`metadata.error`).
        reason: String,
        /// What the user can do about it (`metadata.hint`).
        hint: Option<String>,
    },

    /// The job was canceled.
    #[error("job {job_id} was canceled")]
    JobCanceled {
        /// The job.
        job_id: JobId,
    },

    /// The wait's deadline passed; the job goes on, and waiting can resume with its id.
    #[error("job {job_id} is still {status} after {} s: it keeps running on the server; wait again with its id", waited.as_secs())]
    Deadline {
        /// The job, to resume waiting.
        job_id: JobId,
        /// Its last status.
        status: JobStatus,
        /// How long the wait lasted.
        waited: Duration,
    },

    /// The API refused to cancel (generation jobs cannot be canceled today).
    #[error(
        "the API refused to cancel job {job_id}: {reason} (the job keeps running and will be charged)"
    )]
    CancelRefused {
        /// The job.
        job_id: JobId,
        /// What the API said.
        reason: String,
    },

    /// A download could not be completed; nothing was left at the target path.
    #[error("download of asset {asset_id} failed: {reason}")]
    Download {
        /// The asset.
        asset_id: AssetId,
        /// What went wrong.
        reason: String,
    },

    /// A file could not be uploaded.
    #[error("cannot upload {}: {reason}", path.display())]
    Upload {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },

    /// Reading or writing a local file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Whether trying the same thing again can succeed: broken connections, timeouts,
    /// 408, 429, 500, 502, 503 and 504. A wait that passed its deadline is not retryable
    /// as such, but can be resumed with the job id it carries.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Connect { .. }
            | Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::RateLimited { .. } => true,
            Self::Api { status, .. } => matches!(status, 408 | 429 | 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Auth { status, .. } | Self::Api { status, .. } => Some(*status),
            Self::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// The request id of an error answer, for Scenario's support.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Auth { request_id, .. }
            | Self::RateLimited { request_id, .. }
            | Self::Api { request_id, .. }
            | Self::Decode { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The job an error is about, when there is one (to resume or inspect it).
    pub fn job_id(&self) -> Option<&JobId> {
        match self {
            Self::JobFailed { job_id, .. }
            | Self::JobCanceled { job_id }
            | Self::Deadline { job_id, .. }
            | Self::CancelRefused { job_id, .. } => Some(job_id),
            _ => None,
        }
    }

    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

fn request_id_suffix(request_id: &Option<String>) -> String {
    request_id
        .as_ref()
        .map(|id| format!(" [request id {id}]"))
        .unwrap_or_default()
}

fn status_hint(status: u16) -> &'static str {
    match status {
        403 => " (your plan may not include this model, or the key lacks access to the project)",
        404 => " (check the id)",
        500..=599 => " (a server problem: try again later)",
        _ => "",
    }
}
