//! Everything that can go wrong, as one enum whose messages say what to do next.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use kling_types::api::JobStatus;
use kling_types::{AssetId, JobId, ValidationError};

/// The client's error. `is_retryable()` says whether trying again can help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client is not set up right: a missing environment variable, a bad base URL,
    /// root certificates that are not PEM, an HTTP stack that cannot start with them.
    /// Only ever the user's or the machine's setup, never what a server did.
    #[error("{message}")]
    Config {
        /// What is wrong, and what to do.
        message: String,
        /// The error behind it, when there is one (the certificate parser's, the TLS
        /// library's).
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The request could not be turned into JSON; it never left the machine.
    #[error("cannot encode the request")]
    Encode(#[source] serde_json::Error),

    /// A JSON request does not fit the model's request type (an unknown parameter, a
    /// value of the wrong type); it never left the machine.
    #[error("the request does not fit {model_id}")]
    Request {
        /// The model.
        model_id: String,
        /// What does not fit.
        #[source]
        source: serde_json::Error,
    },

    /// The API broke its own protocol in a way that would keep the client going round
    /// (pages that promise more and bring nothing).
    #[error("{what}")]
    Protocol {
        /// What the API did.
        what: String,
    },

    /// Something that was to bring news ended first (the job board's task, a job's watch);
    /// waiting again picks the job up.
    #[error("{what}")]
    Ended {
        /// What ended.
        what: &'static str,
    },

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

    /// Too many requests or parallel jobs (429). When the API named the team limit that
    /// was hit, [`Error::team_limit`] has it: then submitting again helps only once one
    /// of the team's jobs has ended, and [`Client::submit`](crate::Client::submit)
    /// returns at once instead of retrying.
    #[error("rate limited by the API: {reason}{}{}{}", limit.as_ref().map(TeamLimit::hint).unwrap_or_default(), retry_after.map(|wait| format!(" (it asked to wait {} s)", wait.as_secs_f64().ceil())).unwrap_or_default(), request_id_suffix(.request_id))]
    RateLimited {
        /// What the API said.
        reason: String,
        /// The team limit that was hit, when the API named it (`details` of its answer).
        limit: Option<TeamLimit>,
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
    #[error("cannot reach {target} (check your network and SCENARIO_BASE_URL)")]
    Connect {
        /// What was being reached (without any query string).
        target: String,
        /// The cause (its URL removed).
        #[source]
        source: reqwest::Error,
    },

    /// The server's TLS certificate is not trusted (self-signed, a TLS-inspecting
    /// proxy's, expired, for another name).
    #[error("the TLS certificate of {target} is not trusted: {problem}")]
    Certificate {
        /// What was being reached (without any query string).
        target: String,
        /// What is wrong with the certificate.
        problem: String,
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
    #[error("the connection broke during {what}")]
    Transport {
        /// What was going on.
        what: String,
        /// The cause (its URL removed).
        #[source]
        source: reqwest::Error,
    },

    /// The API answered something this client cannot read.
    #[error("unexpected answer to {what}: the server answered {answer}{}", request_id_suffix(.request_id))]
    Decode {
        /// The request.
        what: String,
        /// What the answer was: its content type and a short snippet, with URLs' queries
        /// and anything like a secret replaced by `…` (`text/html instead of JSON: <html>…`).
        answer: String,
        /// The request id.
        request_id: Option<String>,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },

    /// A generate request failed in a way that leaves unknown whether it started a job,
    /// and no such job could be found: check the job list before submitting again.
    /// `source` is the submit's last failure; `lookup` what the job list showed.
    #[error(
        "the generate request may or may not have started a job (check `kling jobs list` before submitting again; {lookup})"
    )]
    SubmitUncertain {
        /// What looking for the job in the job list came to.
        lookup: JobLookup,
        /// The submit's last failure (a broken connection, a 5xx, an answer that cannot
        /// be read); `source()` gives it as this `Box<Error>` (downcast to that), whose
        /// own `source()` is the transport's or the decoder's error.
        #[source]
        source: Box<Error>,
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
        /// The error behind it, when there is one (the last cut of the connection, a
        /// failed write).
        #[source]
        source: Option<Box<Error>>,
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
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A [`Error::Config`] with no error behind it.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::Config {
            message: message.into(),
            source: None,
        }
    }

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

    /// The team limit a 429 named (parallel jobs per team), if any.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use kling_sandbox::{Fault, FaultRule, Sandbox, SandboxConfig};
    /// # let full = FaultRule::new(Fault::Status { status: 429, retry_after_secs: None }).on("POST", "/v1/generate/");
    /// # let sandbox = Sandbox::start(SandboxConfig::default().with_fault(full)).await?;
    /// # let client = kling_client::Client::new(kling_client::Credentials::new("sandbox-key", "sandbox-secret")).with_base_url(sandbox.base_url());
    /// let request = kling_types::kling_v1_6_pro::Kling16ProRequest::new("a lighthouse");
    /// match client.submit(&request).await {
    ///     Err(error) if error.team_limit().is_some() => {
    ///         let limit = error.team_limit().unwrap();
    ///         // Submit again once one of the team's jobs has ended.
    ///         assert_eq!(limit.action_limit, 5);
    ///         assert_eq!(limit.action_name.as_deref(), Some("parallelCustomJobs"));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn team_limit(&self) -> Option<&TeamLimit> {
        match self {
            Self::RateLimited { limit, .. } => limit.as_ref(),
            _ => None,
        }
    }

    /// What the server said, for errors that carry it.
    pub(crate) fn reason(&self) -> Option<&str> {
        match self {
            Self::Auth { reason, .. }
            | Self::RateLimited { reason, .. }
            | Self::Api { reason, .. } => Some(reason),
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

/// What looking for a job in the job list came to, after a generate request whose
/// outcome is unknown (see [`Error::SubmitUncertain`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum JobLookup {
    /// The job list was read, and no job of the request is in it (yet).
    NotListed,
    /// Reading the job list failed too: this is its error.
    Failed(Box<Error>),
}

impl JobLookup {
    /// The error of reading the job list, when it failed.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Self::NotListed => None,
            Self::Failed(error) => Some(error),
        }
    }
}

impl fmt::Display for JobLookup {
    /// The lookup's own words: a failed one names its error, not that error's causes
    /// (which the submit's failure, the [`Error::SubmitUncertain`]'s source, often shares).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotListed => f.write_str("no such job is in the job list yet"),
            Self::Failed(error) => write!(f, "looking for it there failed too: {error}"),
        }
    }
}

/// A limit of the team's plan that a request hit: past the number of jobs a team may
/// run at once, a generate gets a 429 whose `details` name the action and the limit
/// (`{"actionName": "generate", "actionLimit": 5}`). Waiting for one of the team's jobs
/// to end, not retrying at once, is what helps. See [`Error::team_limit`].
///
/// ```
/// let error = kling_client::Error::RateLimited {
///     reason: "Too many parallel jobs".to_owned(),
///     limit: Some(kling_client::TeamLimit::new(3).with_action_name("generate")),
///     retry_after: None,
///     request_id: None,
/// };
/// assert_eq!(error.team_limit().map(|limit| limit.action_limit), Some(3));
/// assert!(error.to_string().contains("at most 3 `generate` at once"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TeamLimit {
    /// What is limited (`actionName`; `generate` for parallel generations), when said.
    pub action_name: Option<String>,
    /// How many may run at once (`actionLimit`).
    pub action_limit: u64,
}

impl TeamLimit {
    /// A limit of `action_limit` at once, for an unnamed action.
    pub fn new(action_limit: u64) -> Self {
        Self {
            action_name: None,
            action_limit,
        }
    }

    /// Names the action that is limited.
    #[must_use]
    pub fn with_action_name(mut self, action_name: impl Into<String>) -> Self {
        self.action_name = Some(action_name.into());
        self
    }

    /// The limit in an error body's `details`: `actionLimit` (a whole number, or a string
    /// of digits) and, optionally, `actionName`. The reason's wording is unconfirmed, so
    /// only `details` decide; any other shape is not a team limit.
    pub(crate) fn from_details(details: &serde_json::Value) -> Option<Self> {
        let limit = details.get("actionLimit")?;
        let action_limit = limit
            .as_u64()
            .or_else(|| limit.as_str().and_then(|text| text.trim().parse().ok()))?;
        let action_name = details
            .get("actionName")
            .and_then(serde_json::Value::as_str)
            .map(|name| crate::redact::Redactor::default().clean(name, 60));
        Some(Self {
            action_name,
            action_limit,
        })
    }

    fn hint(&self) -> String {
        let action = self
            .action_name
            .as_ref()
            .map(|name| format!(" `{name}`"))
            .unwrap_or_default();
        format!(
            " (the team's limit: at most {}{action} at once; submit again once one of its jobs has ended)",
            self.action_limit
        )
    }
}

/// An error and its causes, as one line (`error: cause: cause`), for messages that
/// quote another error (whose `Display` names only itself).
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    fn bad_gateway() -> Error {
        Error::Api {
            status: 502,
            reason: "Bad Gateway".to_owned(),
            retry_after: None,
            request_id: None,
        }
    }

    #[test]
    fn an_uncertain_submit_chains_to_its_last_failure_and_names_what_to_do() {
        let list_timeout = Error::Timeout {
            what: "GET /jobs".to_owned(),
            after: Duration::from_secs(1),
        };
        let error = Error::SubmitUncertain {
            lookup: JobLookup::Failed(Box::new(list_timeout)),
            source: Box::new(bad_gateway()),
        };
        assert_eq!(
            error.to_string(),
            "the generate request may or may not have started a job (check `kling jobs list` \
             before submitting again; looking for it there failed too: GET /jobs timed out after 1 s)"
        );
        let cause = error
            .source()
            .and_then(|cause| cause.downcast_ref::<Box<Error>>());
        assert_eq!(
            cause.and_then(|cause| cause.status()),
            Some(502),
            "{error:?}"
        );
        let Error::SubmitUncertain { lookup, .. } = &error else {
            unreachable!("built above");
        };
        assert!(
            matches!(lookup.error(), Some(Error::Timeout { .. })),
            "the job list's own error is kept: {lookup:?}"
        );
        assert!(!error.is_retryable(), "submitting again could pay twice");
    }

    #[test]
    fn an_uncertain_submit_whose_job_is_not_listed_says_so() {
        let error = Error::SubmitUncertain {
            lookup: JobLookup::NotListed,
            source: Box::new(bad_gateway()),
        };
        assert_eq!(
            error.to_string(),
            "the generate request may or may not have started a job (check `kling jobs list` \
             before submitting again; no such job is in the job list yet)"
        );
        assert_eq!(chain(&error), format!("{error}: {}", bad_gateway()));
    }

    #[test]
    fn a_config_error_keeps_its_cause_and_is_not_retryable() {
        let error = Error::Config {
            message: "cannot read the certificates: give a readable file".to_owned(),
            source: Some(Box::new(std::io::Error::from(
                std::io::ErrorKind::PermissionDenied,
            ))),
        };
        assert_eq!(
            error.to_string(),
            "cannot read the certificates: give a readable file"
        );
        assert!(
            error
                .source()
                .and_then(|cause| cause.downcast_ref::<std::io::Error>())
                .is_some_and(|cause| cause.kind() == std::io::ErrorKind::PermissionDenied),
            "{error:?}"
        );
        assert!(!error.is_retryable(), "the setup must change first");
        let plain = Error::config("SCENARIO_BASE_URL is not an http(s) URL");
        assert!(
            plain.source().is_none() && !plain.is_retryable(),
            "{plain:?}"
        );
    }
}
