//! How a sandbox behaves: credentials, how long jobs take, when URLs expire, how large
//! outputs are, which faults to inject, and which model descriptions to serve instead of
//! its own.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::error::Error;
use crate::faults::FaultRule;

/// The key and secret the sandbox accepts (HTTP Basic, as the real API).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The API key (`SCENARIO_SDK_API_KEY`).
    pub key: String,
    /// The API secret (`SCENARIO_SDK_API_SECRET`).
    pub secret: String,
}

impl Credentials {
    /// The fixed credentials a sandbox uses when none are given.
    ///
    /// ```
    /// let credentials = kling_sandbox::Credentials::sandbox();
    /// assert_eq!(credentials.key, "sandbox-key");
    /// ```
    pub fn sandbox() -> Self {
        Self {
            key: "sandbox-key".to_owned(),
            secret: "sandbox-secret".to_owned(),
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("key", &self.key)
            .field("secret", &"***")
            .finish()
    }
}

/// Everything a sandbox can be told. `Default` suits tests: jobs finish at once,
/// URLs live an hour, videos are tiny, no faults.
///
/// ```
/// use std::time::Duration;
/// use kling_sandbox::SandboxConfig;
///
/// let config = SandboxConfig::default()
///     .with_job_duration(Duration::from_secs(8))
///     .with_url_ttl(Duration::from_secs(60))
///     .with_output_size(1 << 20);
/// assert_eq!(config.job_duration, Duration::from_secs(8));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SandboxConfig {
    /// The credentials requests must carry.
    pub credentials: Credentials,
    /// How long a job takes from creation to success, in sandbox time (any duration:
    /// moments past a century from now are read as a century).
    pub job_duration: Duration,
    /// How many times faster than real time the sandbox clock runs (jobs and URL
    /// expiry); 1.0 is real time. Read as if clamped to
    /// [`MIN_CLOCK_SPEED`](Self::MIN_CLOCK_SPEED)..=[`MAX_CLOCK_SPEED`](Self::MAX_CLOCK_SPEED),
    /// NaN as 1.0.
    pub clock_speed: f64,
    /// How long a signed asset URL stays valid.
    pub url_ttl: Duration,
    /// Pad generated videos to this many bytes (streamed, never held in memory).
    pub output_size: Option<u64>,
    /// Seed of the randomness of probabilistic fault rules.
    pub seed: u64,
    /// Faults to inject, tried in order; the first rule that matches a request applies.
    pub faults: Vec<FaultRule>,
    /// The team's limit of parallel jobs: a generate (not a dry run) while this many
    /// jobs are not yet terminal is refused with a 429 (none when absent; 0 refuses
    /// every generate).
    pub parallel_jobs: Option<u32>,
    /// Serve HTTPS with a self-signed certificate made at start
    /// ([`SandboxHandle::certificate_pem`](crate::SandboxHandle::certificate_pem)).
    pub tls: bool,
    /// Model descriptions served at `GET /v1/models/{id}` (and in the model list) instead
    /// of the one the sandbox derives from the model's schema, by model id: the bare
    /// `model` object (see [`SandboxConfig::with_model_description`]).
    pub model_descriptions: BTreeMap<String, Value>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            credentials: Credentials::sandbox(),
            job_duration: Duration::ZERO,
            clock_speed: 1.0,
            url_ttl: Duration::from_secs(3600),
            output_size: None,
            seed: 0,
            faults: Vec::new(),
            parallel_jobs: None,
            tls: false,
            model_descriptions: BTreeMap::new(),
        }
    }
}

impl SandboxConfig {
    /// The slowest clock speed: a thousandth of real time.
    pub const MIN_CLOCK_SPEED: f64 = 0.001;
    /// The fastest clock speed: a million times real time.
    pub const MAX_CLOCK_SPEED: f64 = 1_000_000.0;

    /// Accepts these credentials instead of the sandbox's own.
    #[must_use]
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Jobs take this long (sandbox time) to succeed.
    #[must_use]
    pub fn with_job_duration(mut self, duration: Duration) -> Self {
        self.job_duration = duration;
        self
    }

    /// Runs the sandbox clock this many times faster than real time, kept from
    /// [`MIN_CLOCK_SPEED`](Self::MIN_CLOCK_SPEED) to
    /// [`MAX_CLOCK_SPEED`](Self::MAX_CLOCK_SPEED); NaN is read as real time.
    ///
    /// ```
    /// use kling_sandbox::SandboxConfig;
    /// assert_eq!(SandboxConfig::default().with_clock_speed(60.0).clock_speed, 60.0);
    /// assert_eq!(SandboxConfig::default().with_clock_speed(-1.0).clock_speed, SandboxConfig::MIN_CLOCK_SPEED);
    /// assert_eq!(SandboxConfig::default().with_clock_speed(f64::NAN).clock_speed, 1.0);
    /// ```
    #[must_use]
    pub fn with_clock_speed(mut self, speed: f64) -> Self {
        self.clock_speed = clamp_speed(speed);
        self
    }

    /// Signed URLs expire this long after they are handed out.
    #[must_use]
    pub fn with_url_ttl(mut self, ttl: Duration) -> Self {
        self.url_ttl = ttl;
        self
    }

    /// Generated videos are padded to this many bytes.
    #[must_use]
    pub fn with_output_size(mut self, bytes: u64) -> Self {
        self.output_size = Some(bytes);
        self
    }

    /// Seeds probabilistic fault rules.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Caps the team's parallel jobs, as Scenario does per plan: a generate while
    /// `jobs` jobs are not yet terminal (on the sandbox clock) answers 429 with
    /// `Retry-After` (when the first of them ends) and `details` naming the limit.
    ///
    /// ```
    /// let config = kling_sandbox::SandboxConfig::default().with_parallel_jobs(5);
    /// assert_eq!(config.parallel_jobs, Some(5));
    /// ```
    #[must_use]
    pub fn with_parallel_jobs(mut self, jobs: u32) -> Self {
        self.parallel_jobs = Some(jobs);
        self
    }

    /// Serves HTTPS instead of HTTP, with a self-signed certificate for `localhost` and
    /// the address it listens on, made when the sandbox starts.
    ///
    /// ```
    /// assert!(kling_sandbox::SandboxConfig::default().with_tls().tls);
    /// ```
    #[must_use]
    pub fn with_tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Serves `description` for the model it names instead of the sandbox's own (a model
    /// whose live description drifted from the built-in schema, for `kling`'s drift
    /// check). `description` is what `GET /v1/models/{id}` answers, `{"model": {"id": …}}`,
    /// or the bare model object; an `Err` when it is neither.
    ///
    /// ```
    /// use serde_json::json;
    /// let drifted = json!({"model": {"id": "model_kling-v1-6-pro", "inputs": []}});
    /// let config = kling_sandbox::SandboxConfig::default().with_model_description(drifted)?;
    /// assert!(config.model_descriptions.contains_key("model_kling-v1-6-pro"));
    /// assert!(kling_sandbox::SandboxConfig::default().with_model_description(json!([])).is_err());
    /// # Ok::<(), kling_sandbox::Error>(())
    /// ```
    pub fn with_model_description(mut self, description: Value) -> Result<Self, Error> {
        let refuse = |reason: &str| Error::InvalidModelDescription {
            reason: reason.to_owned(),
        };
        let model = match description {
            Value::Object(mut object) if object.contains_key("model") => object
                .remove("model")
                .ok_or_else(|| refuse("no `model` object"))?,
            other => other,
        };
        if !model.is_object() {
            return Err(refuse(
                "expected a JSON object: `{\"model\": {\"id\": …, \"inputs\": […]}}`, as `GET /v1/models/{id}` answers",
            ));
        }
        let id = model
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                refuse("the model has no `id` (a string such as `model_kling-v1-6-pro`)")
            })?
            .to_owned();
        if !model.get("inputs").is_none_or(Value::is_array) {
            return Err(refuse("the model's `inputs` is not a list"));
        }
        self.model_descriptions.insert(id, model);
        Ok(self)
    }

    /// Adds a fault rule (after the ones already there).
    #[must_use]
    pub fn with_fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }
}

/// A clock speed the sandbox can run at (see [`SandboxConfig::with_clock_speed`]).
pub(crate) fn clamp_speed(speed: f64) -> f64 {
    if speed.is_nan() {
        1.0
    } else {
        speed.clamp(
            SandboxConfig::MIN_CLOCK_SPEED,
            SandboxConfig::MAX_CLOCK_SPEED,
        )
    }
}
