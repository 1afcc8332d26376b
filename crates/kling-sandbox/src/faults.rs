//! Fault injection: what can go wrong, and when.
//!
//! A fault comes from a [`FaultRule`] (given in the config, or added at run time with
//! `POST /_sandbox/faults`) or from the request itself, in the `x-sandbox-fault`
//! header (see [`Fault::parse`]). A rule picks requests by method and path (a prefix,
//! or a pattern naming one endpoint); rules are tried in order and the first that
//! applies wins; a rule with `times` stops after that many. Probabilistic rules draw
//! each from a generator of its own, seeded by the config: a run replays, and a rule's
//! draws do not depend on the traffic other rules see.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// One thing that goes wrong with one request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status and the API's error body, without handling the request.
    /// A 429 or 503 always carries `Retry-After` (`retry_after_secs`, or 1 s); other
    /// statuses carry it only when `retry_after_secs` is set.
    Status {
        /// The HTTP status, e.g. 429, 500, 502, 503, 504.
        status: u16,
        /// Seconds for `Retry-After`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
    },
    /// Close the connection without an answer, before handling the request (nothing happened).
    ResetBeforeHandling,
    /// Handle the request (a generate creates its job), then close the connection
    /// before the answer: the client cannot know whether it worked.
    ResetAfterHandling,
    /// Wait this long before sending the answer's headers.
    StallHeaders {
        /// Milliseconds to wait.
        millis: u64,
    },
    /// Send the body at this rate.
    SlowBody {
        /// Bytes per second.
        bytes_per_sec: u64,
    },
    /// Send the headers (with the full `Content-Length`), then only this many bytes of
    /// the body, then close the connection.
    TruncateBody {
        /// Bytes of the body that are sent.
        after_bytes: u64,
    },
    /// The job this request creates ends in `failure`, with this error and hint.
    JobFailure {
        /// `metadata.error`.
        error: String,
        /// `metadata.hint`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hint: Option<String>,
    },
    /// The job this request creates ends `canceled`, as if canceled on the server.
    JobCanceled,
    /// A status no client knows yet, as a newer server might report: on a generate, the
    /// job it creates reports it in place of `in-progress`; on a read of jobs (one job,
    /// a job list), the answer shows it in place of the status of every job not done.
    UnknownStatus {
        /// The status to report.
        status: String,
    },
    /// Signed URLs handed out by this request (an asset, a download link, an upload's
    /// part URLs) have already expired; a request to a signed URL (a file, an upload
    /// part) is refused as expired (403).
    ExpiredUrl,
    /// A job list answers an empty page that still carries a pagination token.
    EmptyPage,
}

impl Fault {
    /// Parses the `x-sandbox-fault` header: a kind, then `key=value` arguments, separated
    /// by `;`. Examples: `status=503;retry-after=2`, `reset-before-handling`,
    /// `reset-after-handling`, `stall-headers=1500`, `slow-body=65536`,
    /// `truncate-body=1000`, `job-failure=out of memory;hint=try a shorter clip`,
    /// `job-canceled`, `unknown-status=thinking`, `expired-url`, `empty-page`.
    ///
    /// ```
    /// use kling_sandbox::{Error, Fault};
    /// assert_eq!(Fault::parse("status=429;retry-after=3"), Ok(Fault::Status { status: 429, retry_after_secs: Some(3) }));
    /// assert!(matches!(Fault::parse("status=200"), Err(Error::InvalidFault { .. })));
    /// assert!(Fault::parse("meteor-strike").is_err());
    /// ```
    pub fn parse(spec: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidFault {
            spec: abbreviate(spec),
            reason,
        };
        let mut parts = spec.split(';').map(str::trim);
        let head = parts.next().unwrap_or_default();
        let (kind, value) = head.split_once('=').map_or((head, None), |(kind, value)| {
            (kind.trim(), Some(value.trim()))
        });
        let mut args = std::collections::BTreeMap::new();
        for part in parts.filter(|part| !part.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| invalid(format!("`{}` is not key=value", abbreviate(part))))?;
            args.insert(key.trim(), value.trim());
        }
        let number = |text: Option<&str>, what: &str| -> Result<u64, Error> {
            text.ok_or_else(|| invalid(format!("`{kind}` needs a value: {kind}=<{what}>")))?
                .parse()
                .map_err(|_| invalid(format!("`{kind}` needs a number of {what}")))
        };
        let fault = match kind {
            "status" => Self::Status {
                status: u16::try_from(number(value, "status code")?)
                    .ok()
                    .filter(|status| ERROR_STATUSES.contains(status))
                    .ok_or_else(|| invalid("the status must be from 400 to 599".to_owned()))?,
                retry_after_secs: args
                    .get("retry-after")
                    .map(|secs| number(Some(secs), "seconds"))
                    .transpose()?,
            },
            "reset-before-handling" => Self::ResetBeforeHandling,
            "reset-after-handling" => Self::ResetAfterHandling,
            "stall-headers" => Self::StallHeaders {
                millis: number(value, "milliseconds")?,
            },
            "slow-body" => Self::SlowBody {
                bytes_per_sec: number(value, "bytes per second")?.max(1),
            },
            "truncate-body" => Self::TruncateBody {
                after_bytes: number(value, "bytes")?,
            },
            "job-failure" => Self::JobFailure {
                error: value.unwrap_or("the generation failed").to_owned(),
                hint: args.get("hint").map(|hint| (*hint).to_owned()),
            },
            "job-canceled" => Self::JobCanceled,
            "unknown-status" => Self::UnknownStatus {
                status: value.unwrap_or("thinking").to_owned(),
            },
            "expired-url" => Self::ExpiredUrl,
            "empty-page" => Self::EmptyPage,
            other => {
                return Err(invalid(format!(
                    "unknown fault `{}`: use one of status, reset-before-handling, reset-after-handling, stall-headers, \
                     slow-body, truncate-body, job-failure, job-canceled, unknown-status, expired-url, empty-page",
                    abbreviate(other)
                )));
            }
        };
        Ok(fault)
    }

    /// The fault's name, as in the header and the log.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Status { .. } => "status",
            Self::ResetBeforeHandling => "reset-before-handling",
            Self::ResetAfterHandling => "reset-after-handling",
            Self::StallHeaders { .. } => "stall-headers",
            Self::SlowBody { .. } => "slow-body",
            Self::TruncateBody { .. } => "truncate-body",
            Self::JobFailure { .. } => "job-failure",
            Self::JobCanceled => "job-canceled",
            Self::UnknownStatus { .. } => "unknown-status",
            Self::ExpiredUrl => "expired-url",
            Self::EmptyPage => "empty-page",
        }
    }

    /// Whether the fault can apply as written (see [`Error::InvalidRule`]).
    fn check(&self) -> Result<(), Error> {
        match self {
            Self::Status { status, .. } if !ERROR_STATUSES.contains(status) => {
                Err(Error::InvalidRule {
                    reason: format!(
                        "status {status} is not an error status: use one from 400 to 599"
                    ),
                })
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn stall(&self) -> Option<Duration> {
        match self {
            Self::StallHeaders { millis } => Some(Duration::from_millis(*millis)),
            _ => None,
        }
    }
}

/// The statuses a `status` fault answers with: errors, which carry the API's error body.
const ERROR_STATUSES: std::ops::RangeInclusive<u16> = 400..=599;

/// `text`, cut to its first 80 characters: what an error message repeats of its input.
fn abbreviate(text: &str) -> String {
    const KEEP: usize = 80;
    match text.char_indices().nth(KEEP) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

/// When a fault applies, and which.
///
/// ```
/// use kling_sandbox::{Fault, FaultRule};
///
/// // The first generate request creates its job, then loses its answer.
/// let rule = FaultRule::new(Fault::ResetAfterHandling).on("POST", "/v1/generate/").times(1);
/// let json = serde_json::to_value(&rule).unwrap();
/// assert_eq!(json["fault"]["kind"], "reset-after-handling");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// Only requests with this method (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Only requests whose path starts with this (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Only requests whose path matches this pattern (any when absent): segments match
    /// as written, `*` matches any one segment, and a last segment `**` matches the
    /// rest (nothing included). `/v1/jobs` is the job list alone, `/v1/jobs/*` one job,
    /// `/v1/jobs/*/action` its action, `/cdn/**` every file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Let this many matching requests through first.
    #[serde(default)]
    pub skip: u32,
    /// Apply to at most this many requests (every one when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Apply to a matching request with this probability (always when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// What goes wrong.
    pub fault: Fault,
}

impl FaultRule {
    /// A rule that applies `fault` to every request.
    pub fn new(fault: Fault) -> Self {
        Self {
            method: None,
            path_prefix: None,
            path: None,
            skip: 0,
            times: None,
            probability: None,
            fault,
        }
    }

    /// Only requests with `method` whose path starts with `path_prefix`.
    #[must_use]
    pub fn on(mut self, method: &str, path_prefix: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self.path_prefix = Some(path_prefix.to_owned());
        self
    }

    /// Only requests with `method` whose path matches `pattern` (see [`FaultRule::path`]):
    /// one endpoint, where [`FaultRule::on`] takes every path under a prefix.
    ///
    /// ```
    /// use kling_sandbox::{Fault, FaultRule};
    ///
    /// // One poll of a job in ten answers 503; the job list and the cancel action never.
    /// let rule = FaultRule::new(Fault::Status { status: 503, retry_after_secs: None })
    ///     .at("GET", "/v1/jobs/*")
    ///     .probability(0.1);
    /// assert!(rule.check().is_ok());
    /// ```
    #[must_use]
    pub fn at(mut self, method: &str, pattern: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self.path = Some(pattern.to_owned());
        self
    }

    /// Let `count` matching requests through before applying.
    #[must_use]
    pub fn skip(mut self, count: u32) -> Self {
        self.skip = count;
        self
    }

    /// Apply to at most `count` requests.
    #[must_use]
    pub fn times(mut self, count: u32) -> Self {
        self.times = Some(count);
        self
    }

    /// Apply with this probability (drawn from the seeded generator).
    #[must_use]
    pub fn probability(mut self, probability: f64) -> Self {
        self.probability = Some(probability);
        self
    }

    /// Whether the rule can apply as written: a probability from 0 to 1, a `status`
    /// fault with an error status (400 to 599), a path prefix that starts with `/`.
    /// The sandbox refuses rules that fail this (`POST /_sandbox/faults` with a 400,
    /// `--faults` at start); one set in [`SandboxConfig`](crate::SandboxConfig) directly
    /// applies as if clamped: a probability below 0 (or NaN) never, above 1 always, a
    /// status that is not an error as 500.
    ///
    /// ```
    /// use kling_sandbox::{Fault, FaultRule};
    /// assert!(FaultRule::new(Fault::EmptyPage).probability(0.25).check().is_ok());
    /// assert!(FaultRule::new(Fault::EmptyPage).probability(1.5).check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), Error> {
        if let Some(probability) = self.probability
            && !(0.0..=1.0).contains(&probability)
        {
            return Err(Error::InvalidRule {
                reason: format!("probability {probability} is not from 0 to 1"),
            });
        }
        if let Some(prefix) = &self.path_prefix
            && !prefix.starts_with('/')
        {
            return Err(Error::InvalidRule {
                reason: format!("pathPrefix `{}` must start with `/`", abbreviate(prefix)),
            });
        }
        if let Some(pattern) = &self.path {
            let segments: Vec<&str> = pattern.split('/').collect();
            let misplaced = segments
                .iter()
                .rev()
                .skip(1)
                .any(|segment| *segment == "**");
            if !pattern.starts_with('/') || misplaced {
                return Err(Error::InvalidRule {
                    reason: format!(
                        "path `{}` must start with `/`, and `**` can only be its last segment",
                        abbreviate(pattern)
                    ),
                });
            }
        }
        self.fault.check()
    }

    /// Whether a request with `method` and `path` (without the query) is one the rule
    /// picks, before `skip`, `times` and `probability` have their say.
    ///
    /// ```
    /// use kling_sandbox::{Fault, FaultRule};
    /// let rule = FaultRule::new(Fault::EmptyPage).at("GET", "/v1/jobs");
    /// assert!(rule.matches("GET", "/v1/jobs"));
    /// assert!(!rule.matches("GET", "/v1/jobs/job_1"));
    /// ```
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|wanted| wanted.eq_ignore_ascii_case(method))
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|prefix| path.starts_with(prefix))
            && self
                .path
                .as_deref()
                .is_none_or(|pattern| path_matches(pattern, path))
    }
}

/// Whether `path` matches `pattern` (see [`FaultRule::path`]).
fn path_matches(pattern: &str, path: &str) -> bool {
    let (mut pattern, mut path) = (pattern.split('/'), path.split('/'));
    loop {
        match (pattern.next(), path.next()) {
            (Some("**"), _) | (None, None) => return true,
            (Some("*"), Some(segment)) if !segment.is_empty() => {}
            (Some(wanted), Some(segment)) if wanted == segment => {}
            _ => return false,
        }
    }
}

/// A rule with its counters and its own seeded generator.
#[derive(Debug)]
pub(crate) struct ActiveRule {
    pub(crate) rule: FaultRule,
    pub(crate) seen: u32,
    pub(crate) applied: u32,
    /// Each rule draws from a generator of its own (seeded by the seed and the rule's
    /// place), so that its n-th match draws the same whatever other requests came in
    /// between: a soak test with concurrent traffic on other endpoints still replays.
    random: SplitMix64,
}

/// The rules of a sandbox and the seed they draw from.
#[derive(Debug)]
pub(crate) struct Faults {
    rules: Vec<ActiveRule>,
    seed: u64,
    /// Rules added so far, cleared ones included: the next rule's place.
    added: u64,
}

impl Faults {
    pub(crate) fn new(rules: Vec<FaultRule>, seed: u64) -> Self {
        let mut faults = Self {
            rules: Vec::new(),
            seed,
            added: 0,
        };
        faults.extend(rules);
        faults
    }

    pub(crate) fn extend(&mut self, rules: impl IntoIterator<Item = FaultRule>) {
        for rule in rules {
            let stream = self.seed ^ self.added.wrapping_mul(0xD1B5_4A32_D192_ED03);
            self.added += 1;
            self.rules.push(ActiveRule {
                rule,
                seen: 0,
                applied: 0,
                random: SplitMix64(stream),
            });
        }
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    pub(crate) fn rules(&self) -> Vec<FaultRule> {
        self.rules
            .iter()
            .map(|active| active.rule.clone())
            .collect()
    }

    /// The fault for a request, if a rule applies; counts the match either way.
    pub(crate) fn pick(&mut self, method: &str, path: &str) -> Option<Fault> {
        for active in self
            .rules
            .iter_mut()
            .filter(|active| active.rule.matches(method, path))
        {
            active.seen = active.seen.saturating_add(1);
            if active.seen <= active.rule.skip
                || active
                    .rule
                    .times
                    .is_some_and(|times| active.applied >= times)
            {
                continue;
            }
            // NaN is never drawn (`>=` is false for it, so it would always apply).
            if let Some(probability) = active.rule.probability
                && (probability.is_nan() || active.random.next_f64() >= probability)
            {
                continue;
            }
            active.applied = active.applied.saturating_add(1);
            return Some(active.rule.fault.clone());
        }
        None
    }
}

/// A small, seedable generator (SplitMix64): reproducible runs need no `rand`.
#[derive(Debug)]
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_parses_from_its_header_form() {
        let cases = [
            (
                "status=503;retry-after=2",
                Fault::Status {
                    status: 503,
                    retry_after_secs: Some(2),
                },
            ),
            (
                "status=500",
                Fault::Status {
                    status: 500,
                    retry_after_secs: None,
                },
            ),
            ("reset-before-handling", Fault::ResetBeforeHandling),
            ("reset-after-handling", Fault::ResetAfterHandling),
            ("stall-headers=1500", Fault::StallHeaders { millis: 1500 }),
            (
                "slow-body=65536",
                Fault::SlowBody {
                    bytes_per_sec: 65536,
                },
            ),
            (
                "truncate-body=1000",
                Fault::TruncateBody { after_bytes: 1000 },
            ),
            (
                "job-failure=out of memory;hint=try 5 seconds",
                Fault::JobFailure {
                    error: "out of memory".into(),
                    hint: Some("try 5 seconds".into()),
                },
            ),
            ("job-canceled", Fault::JobCanceled),
            (
                "unknown-status=thinking",
                Fault::UnknownStatus {
                    status: "thinking".into(),
                },
            ),
            ("expired-url", Fault::ExpiredUrl),
            ("empty-page", Fault::EmptyPage),
        ];
        for (spec, fault) in cases {
            assert_eq!(Fault::parse(spec), Ok(fault.clone()), "{spec}");
            assert!(spec.starts_with(fault.name()));
        }
        assert_eq!(
            Fault::parse("stall-headers").map_err(|error| error.to_string()),
            Err("bad fault `stall-headers`: `stall-headers` needs a value: stall-headers=<milliseconds>".to_owned())
        );
        for bad in [
            "status=200",
            "status=70000",
            "status=abc",
            "slow-body=-1",
            "job-failure=x;hint",
            "",
        ] {
            assert!(
                matches!(Fault::parse(bad), Err(Error::InvalidFault { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn rules_count_skip_and_stop() {
        let rule = FaultRule::new(Fault::EmptyPage)
            .on("get", "/v1/jobs")
            .skip(1)
            .times(2);
        let mut faults = Faults::new(vec![rule], 0);
        let picks: Vec<bool> = (0..5)
            .map(|_| faults.pick("GET", "/v1/jobs").is_some())
            .collect();
        assert_eq!(picks, [false, true, true, false, false]);
        assert_eq!(faults.pick("POST", "/v1/jobs"), None);
    }

    #[test]
    fn path_patterns_match_one_endpoint() {
        let cases = [
            ("/v1/jobs", "/v1/jobs", true),
            ("/v1/jobs", "/v1/jobs/job_1", false),
            ("/v1/jobs/*", "/v1/jobs/job_1", true),
            ("/v1/jobs/*", "/v1/jobs", false),
            ("/v1/jobs/*", "/v1/jobs/", false),
            ("/v1/jobs/*", "/v1/jobs/job_1/action", false),
            ("/v1/jobs/*/action", "/v1/jobs/job_1/action", true),
            ("/cdn/**", "/cdn/assets/a/b.mp4", true),
            ("/cdn/**", "/cdn", true),
            ("/cdn/**", "/v1/cdn", false),
            ("/**", "/anything/at/all", true),
        ];
        for (pattern, path, expected) in cases {
            let rule = FaultRule::new(Fault::EmptyPage).at("get", pattern);
            assert!(rule.check().is_ok(), "{pattern}");
            assert_eq!(rule.matches("GET", path), expected, "{pattern} on {path}");
        }
        assert!(
            !FaultRule::new(Fault::EmptyPage)
                .at("GET", "/v1/jobs")
                .matches("POST", "/v1/jobs")
        );
        for bad in ["v1/jobs", "/**/jobs"] {
            assert!(
                FaultRule::new(Fault::EmptyPage)
                    .at("GET", bad)
                    .check()
                    .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_rule_draws_the_same_whatever_other_rules_see() {
        let rules = || {
            vec![
                FaultRule::new(Fault::ExpiredUrl)
                    .at("GET", "/a")
                    .probability(0.5),
                FaultRule::new(Fault::EmptyPage)
                    .at("GET", "/b")
                    .probability(0.5),
            ]
        };
        let alone: Vec<bool> = {
            let mut faults = Faults::new(rules(), 9);
            (0..32)
                .map(|_| faults.pick("GET", "/b").is_some())
                .collect()
        };
        let interleaved: Vec<bool> = {
            let mut faults = Faults::new(rules(), 9);
            (0..32)
                .map(|n| {
                    for _ in 0..n % 3 {
                        let _ = faults.pick("GET", "/a");
                    }
                    faults.pick("GET", "/b").is_some()
                })
                .collect()
        };
        assert_eq!(alone, interleaved);
    }

    #[test]
    fn probabilistic_rules_are_reproducible() {
        let rule = FaultRule::new(Fault::ExpiredUrl).probability(0.5);
        let run = || {
            let mut faults = Faults::new(vec![rule.clone()], 42);
            (0..64)
                .map(|_| faults.pick("GET", "/").is_some())
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let hits = first.iter().filter(|hit| **hit).count();
        assert!((16..48).contains(&hits), "{hits} of 64");
    }
}
