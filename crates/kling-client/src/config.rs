//! How a client connects: credentials, base URL, timeouts and retry policy.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};

use crate::Error;

/// The API's address, as the official SDKs use it.
pub const DEFAULT_BASE_URL: &str = "https://api.cloud.scenario.com/v1";

/// The environment variables the official SDKs read, and so do we.
pub const ENV_API_KEY: &str = "SCENARIO_SDK_API_KEY";
/// See [`ENV_API_KEY`].
pub const ENV_API_SECRET: &str = "SCENARIO_SDK_API_SECRET";
/// See [`ENV_API_KEY`].
pub const ENV_BASE_URL: &str = "SCENARIO_BASE_URL";

/// An API key and its secret (HTTP Basic). The secret never shows in `Debug`.
///
/// ```
/// let credentials = kling_client::Credentials::new("key_123456", "very-secret");
/// let shown = format!("{credentials:?}");
/// assert!(!shown.contains("very-secret"));
/// assert!(!shown.contains("key_123456"));
/// ```
#[derive(Clone)]
pub struct Credentials {
    key: String,
    secret: SecretString,
}

impl Credentials {
    /// Credentials from a key and a secret (Scenario's project settings, API keys).
    pub fn new(key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            secret: SecretString::from(secret.into()),
        }
    }

    /// Reads `SCENARIO_SDK_API_KEY` and `SCENARIO_SDK_API_SECRET`; an error names the one missing.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] with the variables looked up in `lookup` instead (a config
    /// file, a test).
    ///
    /// ```
    /// let error = kling_client::Credentials::from_vars(|_| None).unwrap_err();
    /// assert!(error.to_string().starts_with("SCENARIO_SDK_API_KEY is not set"));
    /// ```
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let read = |name: &'static str| match lookup(name) {
            Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
            _ => Err(Error::config(format!(
                "{name} is not set: export {ENV_API_KEY} and {ENV_API_SECRET} (Scenario project settings, API keys), \
                 or try everything without keys on the sandbox"
            ))),
        };
        Ok(Self::new(read(ENV_API_KEY)?, read(ENV_API_SECRET)?))
    }

    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    pub(crate) fn secret(&self) -> &str {
        self.secret.expose_secret()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Even the key is an identifier worth keeping out of logs: show its start only.
        let key: String = self.key.chars().take(3).collect();
        f.debug_struct("Credentials")
            .field("key", &format_args!("{key}…"))
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// How long to wait. The defaults are the official SDK's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Connecting to the server (default 5 s).
    pub connect: Duration,
    /// One API request, from sending to the end of the answer (default 60 s).
    pub request: Duration,
    /// The longest pause between two pieces of a download before it counts as
    /// stalled and is resumed (default 30 s). A download as a whole has no limit.
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(60),
            read: Duration::from_secs(30),
        }
    }
}

impl Timeouts {
    /// Sets the connect timeout.
    #[must_use]
    pub fn with_connect(mut self, timeout: Duration) -> Self {
        self.connect = timeout;
        self
    }

    /// Sets the per-request timeout.
    #[must_use]
    pub fn with_request(mut self, timeout: Duration) -> Self {
        self.request = timeout;
        self
    }

    /// Sets the download stall timeout.
    #[must_use]
    pub fn with_read(mut self, timeout: Duration) -> Self {
        self.read = timeout;
        self
    }
}

/// When and how to try again.
///
/// Retried: connection failures, timeouts, broken connections, 408, 429, 500, 502, 503,
/// 504. Never retried: 400, 401, 403, 404, 409, 422 and other answers retrying cannot fix.
/// A generate request is special (a paid job must never start twice): see
/// [`Client::submit`](crate::Client::submit).
///
/// ```
/// use std::time::Duration;
/// let policy = kling_client::RetryPolicy::default().with_max_retries(5).with_max_retry_after(Duration::from_secs(10));
/// assert_eq!(policy.max_retries, 5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries of one request after its first attempt (default 3).
    pub max_retries: u32,
    /// The first backoff delay (default 500 ms); it doubles each time, with jitter.
    pub min_delay: Duration,
    /// The longest backoff delay (default 8 s).
    pub max_delay: Duration,
    /// The longest `Retry-After` the client waits for; beyond it a request fails at
    /// once with the wait the server asked for, instead of hanging (default 60 s).
    pub max_retry_after: Duration,
    /// Retries the client as a whole may spend before it stops retrying (each success
    /// earns a tenth of one back), so that a failing server is not hammered (default 20).
    pub budget: u32,
    /// After a generate request failed in a way that leaves its outcome unknown, how
    /// long to look for the job it may have created before submitting again (default 3 s).
    pub reconcile_grace: Duration,
    /// How far before a submit to look for the job it may have created, for clocks
    /// that disagree between client and server (default 30 s).
    pub clock_skew: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            budget: 20,
            reconcile_grace: Duration::from_secs(3),
            clock_skew: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries at all (every failure is returned as it happens).
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Sets [`Self::max_retries`].
    #[must_use]
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets the backoff bounds.
    #[must_use]
    pub fn with_delays(mut self, min: Duration, max: Duration) -> Self {
        self.min_delay = min;
        self.max_delay = max.max(min);
        self
    }

    /// Sets [`Self::max_retry_after`].
    #[must_use]
    pub fn with_max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// Sets [`Self::budget`].
    #[must_use]
    pub fn with_budget(mut self, retries: u32) -> Self {
        self.budget = retries;
        self
    }

    /// Sets [`Self::reconcile_grace`].
    #[must_use]
    pub fn with_reconcile_grace(mut self, grace: Duration) -> Self {
        self.reconcile_grace = grace;
        self
    }
}
