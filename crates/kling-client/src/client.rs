//! The client and its request engine: one attempt (`attempt`), and attempts with
//! retries (`send`) following the [`RetryPolicy`]: backoff with jitter, `Retry-After`
//! up to a cap, and a budget shared by every clone of the client.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use backon::BackoffBuilder as _;
use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tracing::Instrument as _;

use crate::config::{Credentials, DEFAULT_BASE_URL, ENV_BASE_URL, RetryPolicy, Timeouts};
use crate::error::{Error, TeamLimit};
use crate::redact::{REASON_CHARS, Redactor, SNIPPET_CHARS, redact};

/// The client for the Scenario API. Cheap to clone; clones share the retry budget and
/// the record of jobs this process submitted.
///
/// ```
/// use std::time::Duration;
/// use kling_client::{Client, Credentials, RetryPolicy, Timeouts};
///
/// let client = Client::new(Credentials::new("key", "secret"))
///     .with_base_url("http://127.0.0.1:8080/v1")
///     .with_timeouts(Timeouts::default().with_request(Duration::from_secs(30)))
///     .with_retry_policy(RetryPolicy::default().with_max_retries(5))
///     .with_user_agent("my-app/1.0");
/// assert_eq!(client.base_url(), "http://127.0.0.1:8080/v1");
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) base_url: String,
    pub(crate) credentials: Credentials,
    /// Hides the credentials (and other secrets) in what servers answer.
    pub(crate) redactor: Arc<Redactor>,
    pub(crate) timeouts: Timeouts,
    pub(crate) retry: RetryPolicy,
    user_agent: String,
    /// Built on first use, so that building a client cannot fail.
    http: Arc<OnceLock<Result<reqwest::Client, Arc<reqwest::Error>>>>,
    /// The connections of downloads, apart from the API's (see [`Self::transfer_http`]).
    transfer_http: Arc<OnceLock<Result<reqwest::Client, Arc<reqwest::Error>>>>,
    custom_http: bool,
    /// Certificate authorities trusted besides the system's.
    extra_roots: Vec<reqwest::Certificate>,
    /// Whether downloads reach the disk before they are renamed into place.
    pub(crate) durable_downloads: bool,
    /// Whether downloads take the SHA-256 of their bytes.
    pub(crate) download_digests: bool,
    pub(crate) shared: Arc<Shared>,
}

/// State every clone of a client shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Retry tokens left (a success earns a tenth back, up to the policy's budget).
    budget: Mutex<f64>,
    /// Jobs this process submitted or adopted: reconciliation never adopts one twice.
    pub(crate) claimed: Mutex<HashSet<String>>,
}

/// Downloads worth running at once, and the idle connections the transfer pool (a pool
/// of its own, apart from the API requests') keeps per host: callers that download many
/// files at once (`kling batch`) run at most this many, so each reuses a kept connection
/// instead of opening one. A few fill any link (each is fetched at the link's speed); each
/// connection keeps a read buffer of up to about 400 KiB once it has carried a large
/// answer, so more would cost memory and gain nothing.
///
/// ```
/// assert!(kling_client::TRANSFER_CONNECTIONS >= 1);
/// ```
pub const TRANSFER_CONNECTIONS: usize = 4;

/// A lazily built HTTP client, or why it could not be built (shared by every request
/// that asks for it, hence the `Arc`).
fn built(http: &Result<reqwest::Client, Arc<reqwest::Error>>) -> Result<&reqwest::Client, Error> {
    http.as_ref().map_err(|error| Error::Config {
        message:
            "cannot set up HTTP (check the certificates given to trust: `with_root_certificates`)"
                .to_owned(),
        source: Some(Box::new(Arc::clone(error))),
    })
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the real API (`https://api.cloud.scenario.com/v1`) with these credentials.
    pub fn new(credentials: Credentials) -> Self {
        let retry = RetryPolicy::default();
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            redactor: Arc::new(Redactor::new(&credentials)),
            credentials,
            timeouts: Timeouts::default(),
            retry,
            user_agent: format!("kling-client/{} (Rust)", env!("CARGO_PKG_VERSION")),
            http: Arc::new(OnceLock::new()),
            transfer_http: Arc::new(OnceLock::new()),
            custom_http: false,
            extra_roots: Vec::new(),
            durable_downloads: true,
            download_digests: true,
            shared: Arc::new(Shared {
                budget: Mutex::new(f64::from(retry.budget)),
                claimed: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// A client from `SCENARIO_SDK_API_KEY`, `SCENARIO_SDK_API_SECRET` and, when set,
    /// `SCENARIO_BASE_URL`; the error names the variable that is missing.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] with the variables looked up in `lookup` instead.
    ///
    /// ```
    /// let vars = [("SCENARIO_SDK_API_KEY", "key"), ("SCENARIO_SDK_API_SECRET", "secret"), ("SCENARIO_BASE_URL", "http://127.0.0.1:8080/v1")];
    /// let lookup = |name: &str| vars.iter().find(|(var, _)| *var == name).map(|(_, value)| value.to_string());
    /// let client = kling_client::Client::from_vars(lookup)?;
    /// assert_eq!(client.base_url(), "http://127.0.0.1:8080/v1");
    /// # Ok::<(), kling_client::Error>(())
    /// ```
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let client = Self::new(Credentials::from_vars(&lookup)?);
        match lookup(ENV_BASE_URL) {
            Some(url) if !url.trim().is_empty() => {
                let url = url.trim();
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(Error::config(format!(
                        "{ENV_BASE_URL}=`{url}` is not an http(s) URL: use e.g. {DEFAULT_BASE_URL}"
                    )));
                }
                Ok(client.with_base_url(url))
            }
            _ => Ok(client),
        }
    }

    /// Talks to another server (the sandbox, a proxy), `/v1` included.
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Sets the timeouts.
    #[must_use]
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self.rebuild_http();
        self
    }

    /// Sets the retry policy (and refills the retry budget to its size).
    #[must_use]
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self.shared = Arc::new(Shared {
            budget: Mutex::new(f64::from(retry.budget)),
            claimed: Mutex::new(HashSet::new()),
        });
        self
    }

    /// Sets the `User-Agent` (default `kling-client/VERSION (Rust)`).
    #[must_use]
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self.rebuild_http();
        self
    }

    /// Uses the caller's reqwest client (proxies, TLS roots, …). Its own settings then
    /// decide connect timeouts and the `User-Agent`; per-request timeouts still apply.
    #[must_use]
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.transfer_http = Arc::new(OnceLock::from(Ok(http.clone())));
        self.http = Arc::new(OnceLock::from(Ok(http)));
        self.custom_http = true;
        self
    }

    /// Also trusts the certificate authorities of `pem` (one or more PEM certificates),
    /// besides the system's: a corporate TLS-inspecting proxy's CA, or the sandbox's
    /// self-signed certificate. An error if `pem` holds no certificate.
    ///
    /// ```
    /// let client = kling_client::Client::new(kling_client::Credentials::new("key", "secret"));
    /// let error = client.with_root_certificates(b"not a certificate").unwrap_err();
    /// assert!(error.to_string().contains("no PEM certificate"));
    /// ```
    pub fn with_root_certificates(mut self, pem: &[u8]) -> Result<Self, Error> {
        let certificates =
            reqwest::Certificate::from_pem_bundle(pem).map_err(|error| Error::Config {
                message:
                    "not a PEM certificate: give one or more -----BEGIN CERTIFICATE----- blocks"
                        .to_owned(),
                source: Some(Box::new(error)),
            })?;
        if certificates.is_empty() {
            return Err(Error::config(
                "no PEM certificate (-----BEGIN CERTIFICATE-----) found",
            ));
        }
        self.extra_roots.extend(certificates);
        self.rebuild_http();
        Ok(self)
    }

    /// Whether a download is flushed to disk (`fsync`) before it is renamed into place
    /// (default `true`): then a power cut never leaves an empty or partial file under
    /// the final name. `false` is faster on slow disks (about 0.3 s per GiB here) and
    /// keeps the rest: the file still appears only once complete.
    #[must_use]
    pub fn with_durable_downloads(mut self, durable: bool) -> Self {
        self.durable_downloads = durable;
        self
    }

    /// Whether a download takes the SHA-256 of its bytes as it writes them (default
    /// `true`): [`Downloaded::sha256`](crate::Downloaded::sha256). It costs about 0.7 s of
    /// CPU per GiB here, on the download's own thread; `false` makes a download only move
    /// bytes, for callers that keep no digest.
    ///
    /// ```
    /// let client = kling_client::Client::new(kling_client::Credentials::new("key", "secret"))
    ///     .with_download_digests(false);
    /// # let _ = client;
    /// ```
    #[must_use]
    pub fn with_download_digests(mut self, digests: bool) -> Self {
        self.download_digests = digests;
        self
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn rebuild_http(&mut self) {
        if !self.custom_http {
            self.http = Arc::new(OnceLock::new());
            self.transfer_http = Arc::new(OnceLock::new());
        }
    }

    /// The connections of API requests: small JSON bodies.
    pub(crate) fn http(&self) -> Result<&reqwest::Client, Error> {
        built(self.http.get_or_init(|| self.build_http(None)))
    }

    /// The connections of downloads and of lists (large answers): a pool of its own, of at most
    /// [`TRANSFER_CONNECTIONS`] idle ones. hyper grows a connection's read buffer to
    /// the size of the reads it sees (up to about 400 KiB) and keeps it while the
    /// connection lives, so a download over an API connection would leave it that large,
    /// and a batch of 256 lines then held tens of MiB of buffers for polls of a few
    /// hundred bytes. Apart, the API's connections stay small and the large ones are
    /// bounded in number whatever `--concurrency` is.
    pub(crate) fn transfer_http(&self) -> Result<&reqwest::Client, Error> {
        built(
            self.transfer_http
                .get_or_init(|| self.build_http(Some(TRANSFER_CONNECTIONS))),
        )
    }

    fn build_http(&self, max_idle: Option<usize>) -> Result<reqwest::Client, Arc<reqwest::Error>> {
        // rustls' process-wide provider, ring (reqwest is built without one of its own);
        // an application that installed another keeps it.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(self.timeouts.connect)
            .read_timeout(self.timeouts.read)
            .user_agent(self.user_agent.clone())
            .tls_certs_merge(self.extra_roots.iter().cloned());
        if let Some(max_idle) = max_idle {
            builder = builder.pool_max_idle_per_host(max_idle);
        }
        builder
            .build()
            .map_err(|error| Arc::new(error.without_url()))
    }

    /// The URL of an API path (`/jobs/…`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Spends one retry token, if any is left.
    fn spend_retry(&self) -> bool {
        let mut budget = self
            .shared
            .budget
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *budget >= 1.0 {
            *budget -= 1.0;
            true
        } else {
            false
        }
    }

    fn earn_retry(&self) {
        let mut budget = self
            .shared
            .budget
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *budget = (*budget + 0.1).min(f64::from(self.retry.budget));
    }

    /// The backoff delays of one request's retries.
    pub(crate) fn backoff(&self) -> backon::ExponentialBackoff {
        backon::ExponentialBuilder::new()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
    }

    /// How long to wait before retry `retry` (from 1) after `error`, or `None` when the
    /// error must be returned now: not retryable, retries or budget spent, or a
    /// `Retry-After` longer than the policy's cap.
    pub(crate) fn retry_delay(
        &self,
        retry: u32,
        error: &Error,
        backoff: &mut backon::ExponentialBackoff,
    ) -> Option<Duration> {
        if !error.is_retryable() || retry > self.retry.max_retries {
            return None;
        }
        let asked = error.retry_after();
        if asked.is_some_and(|asked| asked > self.retry.max_retry_after) {
            tracing::warn!(
                wait_secs = asked.map(|asked| asked.as_secs()),
                "the server asked to wait longer than the retry policy allows; giving up"
            );
            return None;
        }
        if !self.spend_retry() {
            tracing::warn!("retry budget spent: not retrying, to spare a failing server");
            return None;
        }
        let backoff = backoff.next().unwrap_or(self.retry.max_delay);
        Some(asked.unwrap_or(backoff))
    }

    /// Sends a request, retrying what the policy allows. Only for requests that may be
    /// repeated safely (everything but generate).
    pub(crate) async fn send(&self, call: &Call<'_>) -> Result<Reply, Error> {
        let mut backoff = self.backoff();
        let mut retry = 0;
        loop {
            match self.attempt(call, retry).await {
                Ok(reply) => {
                    self.earn_retry();
                    return Ok(reply);
                }
                Err(error) => {
                    retry += 1;
                    let Some(delay) = self.retry_delay(retry, &error, &mut backoff) else {
                        return Err(error);
                    };
                    tracing::info!(request = %call.what, retry, delay_ms = millis(delay), error = %crate::error::chain(&error), "retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// One attempt: `Ok` for a 2xx answer, the error otherwise.
    pub(crate) async fn attempt(&self, call: &Call<'_>, retry: u32) -> Result<Reply, Error> {
        let span = tracing::debug_span!("kling_request", method = %call.method, request = %call.what, retry);
        async {
            let started = Instant::now();
            let http = if call.large_answer {
                self.transfer_http()?
            } else {
                self.http()?
            };
            let mut request = match &call.target {
                Target::Api(path) => http
                    .request(call.method.clone(), self.url(path))
                    .basic_auth(self.credentials.key(), Some(self.credentials.secret()))
                    .header(ACCEPT, "application/json")
                    .timeout(self.timeouts.request),
                Target::Url(url) => http
                    .request(call.method.clone(), *url)
                    .timeout(self.timeouts.request),
            };
            if !call.query.is_empty() {
                request = request.query(&call.query);
            }
            request = match &call.body {
                Some(Payload::Json(body)) => request.json(body),
                Some(Payload::Bytes(bytes)) => request.body(bytes.clone()),
                None => request,
            };
            let response = request
                .send()
                .await
                .map_err(|error| self.transport_error(error, &call.what))?;
            let status = response.status();
            let headers = response.headers().clone();
            let request_id = headers
                .get("x-request-id")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let body = response
                .bytes()
                .await
                .map_err(|error| self.transport_error(error, &call.what))?;
            tracing::debug!(
                status = status.as_u16(),
                elapsed_ms = millis(started.elapsed()),
                request_id = request_id.as_deref(),
                "answered"
            );
            let reply = Reply {
                status,
                headers,
                body,
                request_id,
                redactor: Arc::clone(&self.redactor),
            };
            if status.is_success() {
                Ok(reply)
            } else {
                Err(reply.into_error())
            }
        }
        .instrument(span)
        .await
    }

    /// A transport failure as an [`Error`], without the URL (it may be a signed one).
    pub(crate) fn transport_error(&self, error: reqwest::Error, what: &str) -> Error {
        let error = error.without_url();
        if error.is_timeout() {
            Error::Timeout {
                what: what.to_owned(),
                after: self.timeouts.request,
            }
        } else if let Some(problem) = certificate_problem(&error) {
            Error::Certificate {
                target: redact(&self.base_url),
                problem,
                source: error,
            }
        } else if error.is_connect() {
            Error::Connect {
                target: redact(&self.base_url),
                source: error,
            }
        } else {
            Error::Transport {
                what: what.to_owned(),
                source: error,
            }
        }
    }
}

/// What is wrong with the server's certificate, when that is why a request failed: a
/// `rustls` certificate error somewhere in its causes (inside `io::Error`s, whose
/// `source()` skips the error they wrap).
fn certificate_problem(error: &reqwest::Error) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(rustls::Error::InvalidCertificate(problem)) =
            current.downcast_ref::<rustls::Error>()
        {
            return Some(describe_certificate_problem(problem));
        }
        cause = match current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(wrapped) => Some(wrapped as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}

fn describe_certificate_problem(problem: &rustls::CertificateError) -> String {
    match problem {
        rustls::CertificateError::UnknownIssuer => {
            "it is signed by an authority this machine does not trust (self-signed, or a TLS-inspecting proxy's)".to_owned()
        }
        rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. } => {
            "it has expired".to_owned()
        }
        rustls::CertificateError::NotValidForName
        | rustls::CertificateError::NotValidForNameContext { .. } => {
            "it is not valid for this host name".to_owned()
        }
        other => format!("{other:?}"),
    }
}

/// Where a request goes.
#[derive(Debug)]
pub(crate) enum Target<'a> {
    /// An API path under the base URL, sent with credentials.
    Api(String),
    /// An absolute URL handed out by the API (signed CDN or upload URLs): no credentials.
    Url(&'a str),
}

/// A request body.
#[derive(Debug)]
pub(crate) enum Payload {
    Json(Value),
    Bytes(Bytes),
}

/// One request, described once and sent as many times as needed.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) target: Target<'a>,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<Payload>,
    /// What the request is, for messages and logs (`GET /jobs/job_1`); never a signed URL.
    pub(crate) what: String,
    /// Whether its answer may be large (a page of 100 jobs is about 170 KiB): it then
    /// goes over the transfer connections ([`Client::transfer_http`]), so the API's
    /// many connections keep small read buffers.
    pub(crate) large_answer: bool,
}

impl<'a> Call<'a> {
    pub(crate) fn api(method: Method, path: String) -> Self {
        let what = format!("{method} {path}");
        Self {
            method,
            target: Target::Api(path),
            query: Vec::new(),
            body: None,
            what,
            large_answer: false,
        }
    }

    pub(crate) fn url(method: Method, url: &'a str) -> Self {
        Self {
            what: format!("{method} {}", redact(url)),
            method,
            target: Target::Url(url),
            query: Vec::new(),
            body: None,
            large_answer: false,
        }
    }

    /// Marks a request whose answer may be large (a page of a list).
    pub(crate) fn with_large_answer(mut self) -> Self {
        self.large_answer = true;
        self
    }

    pub(crate) fn json(mut self, body: Value) -> Self {
        self.body = Some(Payload::Json(body));
        self
    }

    pub(crate) fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }
}

/// A complete 2xx answer (or, inside `into_error`, any answer).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) request_id: Option<String>,
    /// What must not show of the body in an error.
    pub(crate) redactor: Arc<Redactor>,
}

impl Reply {
    /// Decodes the body as `T`; [`Error::Decode`] says what the body was instead.
    pub(crate) fn decode<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|source| Error::Decode {
            what: what.to_owned(),
            answer: self.describe("JSON of another shape"),
            request_id: self.request_id.clone(),
            source,
        })
    }

    /// What the body is, for an error: its content type, and a short redacted snippet
    /// (`text/html instead of JSON: <html>…`); `json` names valid JSON.
    fn describe(&self, json: &str) -> String {
        let content_type = self
            .headers
            .get(CONTENT_TYPE)
            .map(|value| match value.to_str() {
                Ok(text) => self
                    .redactor
                    .clean(text.split(';').next().unwrap_or_default(), 60),
                Err(_) => "an unreadable content type".to_owned(),
            })
            .filter(|content_type| !content_type.is_empty());
        let text = String::from_utf8_lossy(&self.body);
        if text.trim().is_empty() {
            return match content_type {
                Some(content_type) => format!("an empty body ({content_type})"),
                None => "an empty body".to_owned(),
            };
        }
        let binary = text.chars().any(|char| {
            char == char::REPLACEMENT_CHARACTER || (char.is_control() && !char.is_whitespace())
        });
        let snippet = if binary {
            format!("{} bytes that are not text", self.body.len())
        } else {
            self.redactor.clean(&text, SNIPPET_CHARS)
        };
        let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(&self.body).is_ok();
        match content_type {
            _ if is_json => format!("{json}: {snippet}"),
            Some(content_type) if content_type.contains("json") => {
                format!("invalid JSON ({content_type}): {snippet}")
            }
            Some(content_type) => format!("{content_type} instead of JSON: {snippet}"),
            None => format!("a body without a content type instead of JSON: {snippet}"),
        }
    }

    /// The error an answer stands for: the API's reason, status, request id and wait
    /// (and, on a 429, the team limit it names).
    pub(crate) fn into_error(self) -> Error {
        let parsed = serde_json::from_slice::<kling_types::api::ErrorBody>(&self.body).ok();
        let limit = parsed
            .as_ref()
            .and_then(|body| body.details.as_ref())
            .and_then(TeamLimit::from_details);
        let reason = match parsed.and_then(|body| body.reason) {
            Some(reason) if !reason.trim().is_empty() => self.redactor.clean(&reason, REASON_CHARS),
            _ if self.body.iter().all(u8::is_ascii_whitespace) => self
                .status
                .canonical_reason()
                .unwrap_or("no reason given")
                .to_owned(),
            _ => self.describe("JSON without a reason"),
        };
        let retry_after = retry_after(&self.headers);
        let request_id = self.request_id;
        match self.status.as_u16() {
            401 => Error::Auth {
                status: 401,
                reason,
                request_id,
            },
            429 => Error::RateLimited {
                reason,
                limit,
                retry_after,
                request_id,
            },
            status => Error::Api {
                status,
                reason,
                retry_after,
                request_id,
            },
        }
    }
}

/// The longest wait a `Retry-After` or `retry-after-ms` is read as: anything longer
/// (a date years ahead, `99999999999999999999`) is capped here, and the retry policy's
/// own cap ([`RetryPolicy::max_retry_after`]) then decides whether to wait at all.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// How long the server asked to wait: `retry-after-ms` (milliseconds, as OpenAI-style
/// APIs send it), else `Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP date in
/// any of the three formats of §5.6.7). A value that is neither is ignored (`None`), a
/// date in the past is no wait, and a huge value is capped to [`MAX_RETRY_AFTER`].
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, SystemTime::now())
}

/// [`retry_after`] as seen at `now`.
fn retry_after_at(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
    };
    if let Some(wait) = text("retry-after-ms").and_then(parse_retry_after_ms) {
        return Some(wait);
    }
    parse_retry_after(text("retry-after")?, now)
}

/// `retry-after-ms`: a non-negative decimal number of milliseconds (`250`, `1500.5`).
/// No sign, exponent, `NaN` or `inf`: those are not a number of milliseconds a server
/// means.
fn parse_retry_after_ms(text: &str) -> Option<Duration> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || text.ends_with('.') {
        return None;
    }
    // Only digits and one dot: the parse succeeds, and is at worst `inf` (capped below).
    let millis: f64 = text.parse().ok()?;
    Some(
        Duration::try_from_secs_f64(millis / 1000.0)
            .unwrap_or(MAX_RETRY_AFTER)
            .min(MAX_RETRY_AFTER),
    )
}

/// `Retry-After`: delay-seconds (`1*DIGIT`, so no sign and no fraction) or an HTTP date
/// (IMF-fixdate, obsolete RFC 850 or asctime), read relative to `now`.
fn parse_retry_after(text: &str, now: SystemTime) -> Option<Duration> {
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
        // Too many digits for a u64 is still a number of seconds: a very long one.
        let seconds = text.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER));
    }
    let date = httpdate::parse_http_date(text).ok()?;
    Some(
        date.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// A duration in whole milliseconds, for logs (saturating: no `as` cast truncates).
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What [`segment`] encodes: every byte but RFC 3986's unreserved ones, the dot too (a
/// segment `..` must not climb the path).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment (an id), so that no id can change the path.
pub(crate) fn segment(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    /// 2026-11-25T09:46:40Z, a Wednesday.
    const NOW: u64 = 1_795_600_000;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[track_caller]
    fn check(pairs: &[(&'static str, &str)], expected: Option<Duration>) {
        assert_eq!(
            retry_after_at(&headers(pairs), at(NOW)),
            expected,
            "{pairs:?}"
        );
    }

    /// A PEM block whose base64 does not decode.
    const NOT_BASE64: &[u8] = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    /// A PEM block of valid base64 that is no certificate (`AAAA`: three zero bytes).
    const NOT_DER: &[u8] = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

    fn client() -> Client {
        Client::new(Credentials::new("key", "secret"))
    }

    /// The `reqwest::Error` behind a [`Error::Config`], and the message.
    #[track_caller]
    fn config_cause(error: &Error) -> (&str, &reqwest::Error) {
        let Error::Config { message, source } = error else {
            panic!("not a configuration error: {error:?}");
        };
        let cause = source
            .as_deref()
            .and_then(|cause| {
                cause.downcast_ref::<reqwest::Error>().or_else(|| {
                    cause
                        .downcast_ref::<Arc<reqwest::Error>>()
                        .map(|cause| &**cause)
                })
            })
            .unwrap_or_else(|| panic!("no reqwest error behind {error:?}"));
        (message, cause)
    }

    #[test]
    fn certificates_that_do_not_parse_keep_the_parser_error() {
        let error = client().with_root_certificates(NOT_BASE64).unwrap_err();
        let (message, _) = config_cause(&error);
        assert!(
            message.starts_with(
                "not a PEM certificate: give one or more -----BEGIN CERTIFICATE----- blocks"
            ),
            "{message}"
        );
        assert!(!error.is_retryable(), "{error}");
    }

    #[test]
    fn an_http_stack_that_cannot_start_keeps_its_cause_and_names_what_to_check() {
        let client = client()
            .with_root_certificates(NOT_DER)
            .expect("the block decodes: it is read when HTTP is set up");
        let error = client.http().unwrap_err();
        let (message, cause) = config_cause(&error);
        assert!(message.starts_with("cannot set up HTTP"), "{message}");
        assert!(message.contains("with_root_certificates"), "{message}");
        assert!(cause.is_builder(), "{cause:?}");
        assert!(!error.is_retryable(), "{error}");
        // Every request that asks for the connections gets the same error.
        assert!(client.transfer_http().is_err());
    }

    #[test]
    fn retry_after_reads_every_form() {
        let secs = |secs| Some(Duration::from_secs(secs));
        check(&[("retry-after", "3")], secs(3));
        check(&[("retry-after", " 0 ")], secs(0));
        check(
            &[("retry-after", "3"), ("retry-after-ms", "250")],
            Some(Duration::from_millis(250)),
        );
        check(
            &[("retry-after-ms", "1500.5")],
            Some(Duration::from_micros(1_500_500)),
        );
        // The three date formats of RFC 9110, two minutes from now.
        check(
            &[("retry-after", "Wed, 25 Nov 2026 09:48:40 GMT")],
            secs(120),
        );
        check(
            &[("retry-after", "Wednesday, 25-Nov-26 09:48:40 GMT")],
            secs(120),
        );
        check(&[("retry-after", "Wed Nov 25 09:48:40 2026")], secs(120));
        // A date in the past: no wait.
        check(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")], secs(0));
        check(&[], None);
    }

    #[test]
    fn huge_waits_are_capped_and_nonsense_is_ignored() {
        let day = Some(MAX_RETRY_AFTER);
        for huge in [
            "99999999999",
            "1234567890123456789012345",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            check(&[("retry-after", huge)], day);
        }
        check(&[("retry-after-ms", "1e400")], None);
        check(&[("retry-after-ms", &"9".repeat(400))], day);
        check(&[("retry-after-ms", "99999999999999999999")], day);
        for nonsense in [
            "1e20",
            "-1",
            "+5",
            "NaN",
            "inf",
            "-inf",
            "0x10",
            "",
            "soon",
            "3 s",
            "Wed, 31 Feb 2026 09:48:40 GMT",
            "Wed, 25 Nov 2026 25:00:00 GMT",
            "Wed, 25 Nov 1969 09:48:40 GMT",
        ] {
            check(&[("retry-after", nonsense)], None);
            check(&[("retry-after-ms", nonsense)], None);
        }
        // Delay-seconds are whole (RFC 9110); milliseconds may have a fraction.
        check(&[("retry-after", "1.5")], None);
        check(&[("retry-after-ms", "1.")], None);
        // A junk `retry-after-ms` leaves `Retry-After` to decide.
        check(
            &[("retry-after-ms", "NaN"), ("retry-after", "7")],
            Some(Duration::from_secs(7)),
        );
    }

    /// A moment as each of RFC 9110's three HTTP-date formats writes it.
    fn http_dates(moment: u64) -> [String; 3] {
        const DAYS: [&str; 7] = [
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
        ];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        // `YYYY-MM-DDTHH:MM:SS.mmmZ`
        let iso = kling_types::__private::time::format_iso8601(at(moment));
        let (year, month, day, time) = (&iso[..4], &iso[5..7], &iso[8..10], &iso[11..19]);
        let weekday = DAYS[(moment / 86_400 % 7) as usize];
        let month = MONTHS[month.parse::<usize>().unwrap() - 1];
        let day_number: u32 = day.parse().unwrap();
        [
            format!("{}, {day} {month} {year} {time} GMT", &weekday[..3]),
            format!("{weekday}, {day}-{month}-{} {time} GMT", &year[2..]),
            format!("{} {month} {day_number:>2} {time} {year}", &weekday[..3]),
        ]
    }

    proptest! {
        #![proptest_config(crate::fuzz_config())]

        #[test]
        fn fuzz_retry_after_survives_any_text(value in any::<String>(), ms in any::<String>()) {
            let mut map = HeaderMap::new();
            for (name, text) in [("retry-after", &value), ("retry-after-ms", &ms)] {
                if let Ok(value) = text.parse() {
                    map.insert(name, value);
                }
            }
            let wait = retry_after_at(&map, at(NOW));
            prop_assert!(wait.is_none_or(|wait| wait <= MAX_RETRY_AFTER));
        }

        #[test]
        fn fuzz_retry_after_survives_any_bytes(value in proptest::collection::vec(any::<u8>(), 0..40)) {
            for name in ["retry-after", "retry-after-ms"] {
                let Ok(value) = reqwest::header::HeaderValue::from_bytes(&value) else { continue };
                let mut map = HeaderMap::new();
                map.insert(name, value);
                let wait = retry_after_at(&map, at(NOW));
                prop_assert!(wait.is_none_or(|wait| wait <= MAX_RETRY_AFTER));
            }
        }

        #[test]
        fn fuzz_retry_after_numbers_are_read_exactly_or_ignored(
            text in "[-+]?[0-9]{0,25}(\\.[0-9]{0,4})?([eE][-+]?[0-9]{1,3})?|NaN|-?inf|infinity"
        ) {
            let seconds = retry_after_at(&headers(&[("retry-after", &text)]), at(NOW));
            let is_digits = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
            let expected = is_digits.then(|| {
                text.parse::<u64>().map_or(MAX_RETRY_AFTER, |secs| Duration::from_secs(secs).min(MAX_RETRY_AFTER))
            });
            prop_assert_eq!(seconds, expected);
            if let Some(millis) = retry_after_at(&headers(&[("retry-after-ms", &text)]), at(NOW)) {
                prop_assert!(!text.contains(['-', '+', 'e', 'E', 'n', 'N']), "{text} was read as {millis:?}");
                prop_assert!(millis <= MAX_RETRY_AFTER);
            }
        }

        /// Every moment RFC 850's two-digit years can name (1970 to 2069), written in each
        /// format, is read as that moment, and as the right wait from `now`.
        #[test]
        fn fuzz_retry_after_dates_parse_to_their_instant(
            moment in 0u64..3_155_760_000,
            ahead in -200_000i64..200_000,
        ) {
            let now = moment.saturating_add_signed(-ahead);
            let expected = Duration::from_secs(moment.saturating_sub(now)).min(MAX_RETRY_AFTER);
            for date in http_dates(moment) {
                prop_assert_eq!(httpdate::parse_http_date(&date).ok(), Some(at(moment)), "{}", date);
                prop_assert_eq!(parse_retry_after(&date, at(now)), Some(expected), "{}", date);
            }
        }

        /// IMF-fixdate and asctime have four-digit years: up to the end of 9999.
        #[test]
        fn fuzz_retry_after_far_dates_are_capped(moment in 0u64..253_402_300_800) {
            for date in http_dates(moment).into_iter().step_by(2) {
                prop_assert_eq!(httpdate::parse_http_date(&date).ok(), Some(at(moment)), "{}", date);
                let wait = parse_retry_after(&date, at(NOW));
                prop_assert_eq!(wait, Some(at(moment).duration_since(at(NOW)).unwrap_or_default().min(MAX_RETRY_AFTER)));
            }
        }
    }

    /// JSON of any shape, with the field names and values of the API's bodies more
    /// often than chance would give them, so decoding goes deep into the wire types.
    fn json() -> impl Strategy<Value = Value> {
        const WORDS: [&str; 30] = [
            "jobId",
            "status",
            "progress",
            "metadata",
            "assetIds",
            "error",
            "hint",
            "input",
            "statusHistory",
            "createdAt",
            "jobs",
            "nextPaginationToken",
            "job",
            "asset",
            "id",
            "url",
            "kind",
            "mimeType",
            "properties",
            "size",
            "reason",
            "details",
            "actionName",
            "actionLimit",
            "creativeUnitsCost",
            "billing",
            "success",
            "in-progress",
            "video",
            "2026-02-31T00:00:00Z",
        ];
        let word = proptest::sample::select(&WORDS[..]).prop_map(str::to_owned);
        let text = prop_oneof![3 => word.clone(), 1 => any::<String>()];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text.clone().prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 64, 8, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((text.clone(), inner), 0..8)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
    }

    fn content_type() -> impl Strategy<Value = Option<&'static str>> {
        proptest::option::of(proptest::sample::select(
            &[
                "application/json",
                "application/json; charset=utf-8",
                "text/html",
                "text/plain",
                "application/octet-stream",
                "",
            ][..],
        ))
    }

    fn reply(status: u16, content_type: Option<&str>, body: Vec<u8>) -> Reply {
        let mut headers = HeaderMap::new();
        if let Some(value) = content_type.and_then(|value| value.parse().ok()) {
            headers.insert(CONTENT_TYPE, value);
        }
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: body.into(),
            request_id: Some("req_1".to_owned()),
            redactor: Arc::new(Redactor::new(&Credentials::new(
                "key_live_1234",
                "s3cr3t-value",
            ))),
        }
    }

    /// Every decoder the client uses on `body`, as a 2xx and as an error answer: `Ok`
    /// or the typed error, a message that names the request and shows no secret.
    fn decode_everything(
        content_type: Option<&str>,
        body: Vec<u8>,
        status: u16,
    ) -> Result<(), TestCaseError> {
        use kling_types::api::{
            AssetResponse, GenerateResponse, JobList, JobResponse, UploadResponse,
        };

        let ok = reply(200, content_type, body.clone());
        let errors = [
            ok.decode::<JobResponse>("GET /jobs/job_1").err(),
            ok.decode::<AssetResponse>("GET /assets/asset_1").err(),
            ok.decode::<JobList>("GET /jobs").err(),
            ok.decode::<GenerateResponse>("POST /generate").err(),
            ok.decode::<UploadResponse>("GET /uploads/up_1").err(),
            ok.decode::<kling_types::api::ErrorBody>("GET /x").err(),
        ];
        for error in errors.into_iter().flatten() {
            let Error::Decode {
                what,
                answer,
                request_id,
                ..
            } = &error
            else {
                return Err(TestCaseError::fail(format!(
                    "not a decode error: {error:?}"
                )));
            };
            let shown = error.to_string();
            prop_assert!(
                shown.starts_with(&format!(
                    "unexpected answer to {what}: the server answered "
                )),
                "{}",
                shown
            );
            prop_assert!(answer.chars().count() < SNIPPET_CHARS + 100, "{}", answer);
            prop_assert_eq!(request_id.as_deref(), Some("req_1"));
            prop_assert!(
                !shown.contains("s3cr3t-value") && !shown.contains("key_live_1234"),
                "{}",
                shown
            );
        }
        let error = reply(status, content_type, body).into_error();
        prop_assert_eq!(error.status(), Some(status));
        let expected_kind = match (&error, status) {
            (Error::Auth { .. }, 401) | (Error::RateLimited { .. }, 429) => true,
            (Error::Api { .. }, status) => !matches!(status, 401 | 429),
            _ => false,
        };
        prop_assert!(expected_kind, "{:?}", error);
        prop_assert!(error.team_limit().is_none() || status == 429);
        let shown = error.to_string();
        prop_assert!(shown.chars().count() < REASON_CHARS + 400, "{}", shown);
        prop_assert!(
            !shown.contains("s3cr3t-value") && !shown.contains("key_live_1234"),
            "{}",
            shown
        );
        Ok(())
    }

    proptest! {
        #![proptest_config(crate::fuzz_config())]

        #[test]
        fn fuzz_decode_survives_any_json_shape(
            value in json(),
            wrap in proptest::sample::select(&["", "job", "asset", "upload", "jobs", "details", "reason"][..]),
            content_type in content_type(),
            status in 400u16..=599,
        ) {
            let value = match wrap {
                "" => value,
                "jobs" => serde_json::json!({"jobs": [value], "nextPaginationToken": "t"}),
                "details" => serde_json::json!({"reason": "Too many jobs", "details": value}),
                key => serde_json::json!({ key: value }),
            };
            decode_everything(content_type, serde_json::to_vec(&value).unwrap(), status)?;
        }

        #[test]
        fn fuzz_decode_survives_any_bytes(
            body in proptest::collection::vec(any::<u8>(), 0..300),
            content_type in content_type(),
            status in 400u16..=599,
        ) {
            decode_everything(content_type, body, status)?;
        }

        #[test]
        fn fuzz_decode_survives_any_text_with_secrets(
            before in any::<String>(),
            secret in proptest::sample::select(&["key_live_1234", "s3cr3t-value", "a2V5X2xpdmVfMTIzNDpzM2NyM3QtdmFsdWU="][..]),
            after in any::<String>(),
            content_type in content_type(),
            status in 400u16..=599,
        ) {
            decode_everything(content_type, format!("{before}{secret}{after}").into_bytes(), status)?;
            let reason = serde_json::json!({"reason": format!("{before}{secret}{after}")});
            decode_everything(content_type, serde_json::to_vec(&reason).unwrap(), status)?;
        }
    }

    #[test]
    fn team_limits_come_from_the_details_only() {
        let limit_of = |body: Value| {
            reply(
                429,
                Some("application/json"),
                serde_json::to_vec(&body).unwrap(),
            )
            .into_error()
            .team_limit()
            .cloned()
        };
        let limit = TeamLimit::new(5).with_action_name("generate");
        assert_eq!(
            limit_of(
                serde_json::json!({"reason": "x", "details": {"actionName": "generate", "actionLimit": 5}})
            ),
            Some(limit)
        );
        assert_eq!(
            limit_of(serde_json::json!({"details": {"actionLimit": "3"}})),
            Some(TeamLimit::new(3))
        );
        for other in [
            serde_json::json!({"reason": "Too many requests"}),
            serde_json::json!({"reason": "x", "details": {"actionName": "generate"}}),
            serde_json::json!({"reason": "x", "details": {"actionLimit": -1}}),
            serde_json::json!({"reason": "x", "details": {"actionLimit": 2.5}}),
            serde_json::json!({"reason": "x", "details": "parallel jobs"}),
            serde_json::json!({"reason": "x", "details": [5]}),
        ] {
            assert_eq!(limit_of(other.clone()), None, "{other}");
        }
        let other = reply(
            503,
            Some("application/json"),
            br#"{"details": {"actionLimit": 5}}"#.to_vec(),
        )
        .into_error();
        assert_eq!(other.team_limit(), None, "only a 429 is a team limit");
    }

    #[test]
    fn ids_cannot_escape_their_path_segment() {
        assert_eq!(segment("job_abc-123"), "job_abc-123");
        assert_eq!(segment("../admin?x=1"), "%2E%2E%2Fadmin%3Fx%3D1");
        assert_eq!(segment("."), "%2E");
        assert_eq!(segment("a b%#"), "a%20b%25%23");
        assert_eq!(segment("été"), "%C3%A9t%C3%A9");
        assert_eq!(segment(""), "");
    }
}
