//! The drift check: before the first paid submit of a model in a day, the API's own
//! description of the model (`GET /v1/models/{id}`) is compared with the schema built into
//! this kling, with the importer's reading and schema-diff's rules (`kling_dialect`).
//!
//! The description is imported, merged over the built-in schema (so that what only a
//! person writes — docs, flags, enum names — does not count), both are checked against
//! the dialect, and the built-in schema is diffed against the merge. A breaking (major)
//! change is a warning naming each change and the commands that update the schema;
//! `--strict-schema` (`strict_schema = true`) refuses to submit instead, and also when the
//! check could not run (a strict user wants no unchecked payment). Minor and patch changes
//! are one line under `-v`. `--no-drift-check` (`drift_check = false`) skips it all.
//!
//! The result is kept in `drift-check.json` in the data folder for 24 hours, keyed by the
//! base URL's host (and port), the model id and the SHA-256 of the built-in schema (a
//! kling with another schema checks again). The file is versioned and written atomically;
//! a file that does not read (corrupt, another version) is ignored and written anew. Two
//! processes at once each write a whole file: the later one wins, and a lost entry only
//! costs a check. A check that could not run is not kept.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use kling_dialect::{Bump, Change, SchemaError, Version};
use kling_types::{ModelId, ModelInfo};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::exit::{Exit, Failure};
use crate::output::Output;

/// How long a check holds.
const FRESH_FOR: Duration = Duration::from_secs(24 * 3600);
/// The longest the description may take to arrive (retries included).
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);
/// The cache file's name in the data folder.
const CACHE_FILE: &str = "drift-check.json";
/// The cache file's format.
const CACHE_VERSION: u32 = 1;

/// Whether and how strictly to check (flags over the config file).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Check at all (`--no-drift-check`, `drift_check = false` turn it off).
    pub(crate) check: bool,
    /// Refuse to submit on a breaking drift, or when the check could not run.
    pub(crate) strict: bool,
}

/// The drift check of one command: where its results are kept and for which API.
pub(crate) struct DriftCheck {
    cache: PathBuf,
    host: String,
    policy: Policy,
}

/// What a check found for one model.
#[derive(Debug)]
enum Finding {
    /// The description matches the built-in schema, up to these minor and patch changes.
    Compatible(Vec<Change>),
    /// These changes break requests (the minor and patch ones come with them).
    Breaking(Vec<Change>),
    /// The check could not run, and why.
    Unchecked(String),
}

impl DriftCheck {
    /// The check for the API at `base_url`, its results kept in `data_dir`.
    pub(crate) fn new(data_dir: &Path, base_url: &str, policy: Policy) -> Self {
        Self {
            cache: data_dir.join(CACHE_FILE),
            host: host_of(base_url),
            policy,
        }
    }

    /// Checks each of `models` (once each) before anything paid is sent: warns of a
    /// breaking drift, or refuses it (exit 7) when strict.
    pub(crate) async fn before_paying(
        &self,
        out: &Output,
        client: &kling_client::Client,
        models: &[&'static ModelInfo],
    ) -> anyhow::Result<()> {
        if !self.policy.check {
            return Ok(());
        }
        let mut seen: Vec<&str> = Vec::new();
        for model in models {
            if seen.contains(&model.id) {
                continue;
            }
            seen.push(model.id);
            let finding = self.finding(client, model).await;
            self.tell(out, model, &finding)?;
        }
        Ok(())
    }

    /// The cached finding, or a fresh one (then cached).
    async fn finding(&self, client: &kling_client::Client, model: &ModelInfo) -> Finding {
        let key = Key::of(&self.host, model);
        let mut cache = Cache::read(&self.cache);
        if let Some(changes) = cache.fresh(&key, SystemTime::now()) {
            tracing::info!("drift check of {}: from {}", model.id, self.cache.display());
            return classify(changes);
        }
        let fetched = tokio::time::timeout(
            FETCH_TIMEOUT,
            client.model_description(&ModelId::new(model.id)),
        )
        .await;
        let description = match fetched {
            Ok(Ok(description)) => description,
            Ok(Err(error)) => {
                return Finding::Unchecked(crate::exit::message(&anyhow::Error::new(error)));
            }
            Err(_) => {
                return Finding::Unchecked(format!(
                    "the description took longer than {} s",
                    FETCH_TIMEOUT.as_secs()
                ));
            }
        };
        match compare(model, &description) {
            Ok(changes) => {
                cache.put(key, &changes, SystemTime::now());
                if let Err(error) = cache.write(&self.cache) {
                    tracing::info!(
                        "cannot keep the drift check in {}: {error}",
                        self.cache.display()
                    );
                }
                classify(changes)
            }
            Err(reason) => Finding::Unchecked(reason),
        }
    }

    /// Says what was found; an `Err` when strict refuses it.
    fn tell(&self, out: &Output, model: &ModelInfo, finding: &Finding) -> anyhow::Result<()> {
        match finding {
            Finding::Compatible(changes) if changes.is_empty() => {
                tracing::info!(
                    "drift check of {}: the API describes the built-in schema",
                    model.id
                );
                Ok(())
            }
            Finding::Compatible(changes) => {
                tracing::info!(
                    "drift check of {}: {} compatible change(s) in the API's description (semver {}), none breaking",
                    model.id,
                    changes.len(),
                    kling_dialect::verdict(changes).map_or("none", Bump::name)
                );
                Ok(())
            }
            Finding::Breaking(changes) => {
                let message = breaking_message(model.id, changes);
                if self.policy.strict {
                    return Err(refusal(format!(
                        "{message}\nnothing was sent (--strict-schema; --no-drift-check skips the check)"
                    )));
                }
                out.warn(&format!(
                    "{message}\nsubmitting anyway (--strict-schema refuses instead)"
                ));
                Ok(())
            }
            Finding::Unchecked(reason) => {
                let message = format!("the drift check of {} could not run: {reason}", model.id);
                if self.policy.strict {
                    return Err(refusal(format!(
                        "{message}; nothing was sent (--strict-schema refuses what it could not check; \
                         --no-drift-check skips the check)"
                    )));
                }
                out.warn(&format!("{message}; submitting anyway"));
                Ok(())
            }
        }
    }
}

fn refusal(message: String) -> anyhow::Error {
    Failure {
        exit: Exit::Drift,
        message,
    }
    .into()
}

/// The warning of a breaking drift: each breaking change, and how to update the schema.
fn breaking_message(model_id: &str, changes: &[Change]) -> String {
    let mut message = format!(
        "the API's description of {model_id} differs from the schema built into this kling in a way that breaks requests:"
    );
    for change in changes.iter().filter(|change| change.bump == Bump::Major) {
        let at = if change.pointer.is_empty() {
            "(the model)"
        } else {
            &change.pointer
        };
        message.push_str(&format!("\n  {at}: {}", change.what));
    }
    message.push_str(&format!(
        "\nto update the schema (in a checkout of kling): kling models schema {model_id} > NEW.json, \
         then cargo xtask import-model NEW.json and cargo xtask codegen (README, \"After a schema change\")"
    ));
    message
}

fn classify(changes: Vec<Change>) -> Finding {
    if kling_dialect::verdict(&changes) == Some(Bump::Major) {
        Finding::Breaking(changes)
    } else {
        Finding::Compatible(changes)
    }
}

/// Every change from the built-in schema of `model` to what `description` says of it:
/// imported, merged over the built-in schema, both checked, then diffed. An `Err` says why
/// the comparison could not be made.
fn compare(model: &ModelInfo, description: &Value) -> Result<Vec<Change>, String> {
    let file = format!("the built-in schema of {}", model.id);
    let built_in: Value = serde_json::from_str(model.schema)
        .map_err(|error| format!("{file} is not JSON: {error}"))?;
    let imported = kling_dialect::import(description)
        .map_err(|error| format!("the API's description does not import: {error}"))?;
    if imported["x-model-id"] != built_in["x-model-id"] {
        return Err(format!(
            "the API described another model ({})",
            imported["x-model-id"]
        ));
    }
    let (mut merged, _) = kling_dialect::merge(&built_in, &imported);
    kling_dialect::carry_enum_names(&built_in, &mut merged);
    // The diff checks both versions against the dialect first.
    kling_dialect::diff_model(
        &format!("schema/models/{}.json", model.id),
        &built_in,
        &merged,
    )
    .map_err(|refused| match refused.version {
        Version::Old => format!(
            "the dialect refuses {}",
            SchemaError {
                file,
                ..refused.error
            }
        ),
        Version::New => format!(
            "the dialect refuses the API's description as imported: {}",
            SchemaError {
                file: "the API's description".to_owned(),
                ..refused.error
            }
        ),
    })
}

/// `https://api.cloud.scenario.com/v1` → `api.cloud.scenario.com`; a port that is not the
/// scheme's default stays (`127.0.0.1:8080`). Read by the `url` crate (reqwest's), as the
/// client reads it; a base URL it cannot read is cached under its own text (the client
/// refuses such a URL before any check runs).
fn host_of(base_url: &str) -> String {
    url::Url::parse(base_url)
        .ok()
        .and_then(|url| {
            let host = url.host_str()?.to_owned();
            Some(match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .unwrap_or_else(|| base_url.to_owned())
}

/// What a cached check is of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Key {
    host: String,
    model: String,
    schema_sha256: String,
}

impl Key {
    fn of(host: &str, model: &ModelInfo) -> Self {
        Self {
            host: host.to_owned(),
            model: model.id.to_owned(),
            schema_sha256: crate::records::schema_digest(model.id).unwrap_or_default(),
        }
    }
}

/// One change, as the cache keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct KeptChange {
    bump: String,
    pointer: String,
    what: String,
}

/// One model's check.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(flatten)]
    key: Key,
    /// When it was checked, in seconds since the Unix epoch.
    checked_at: u64,
    changes: Vec<KeptChange>,
}

/// The cache file: `{"version": 1, "checks": [...]}`.
#[derive(Debug, Serialize, Deserialize)]
struct Cache {
    version: u32,
    checks: Vec<Entry>,
}

impl Cache {
    /// The cache at `path`; an empty one when it is missing or does not read (corrupt,
    /// another version): it is written anew, never fatal.
    fn read(path: &Path) -> Self {
        let read = std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Self>(&bytes).ok())
            .filter(|cache| cache.version == CACHE_VERSION);
        read.unwrap_or(Self {
            version: CACHE_VERSION,
            checks: Vec::new(),
        })
    }

    /// The changes of `key`'s check when it is fresh at `now` (a check from the future,
    /// after the clock was set back, is not).
    fn fresh(&self, key: &Key, now: SystemTime) -> Option<Vec<Change>> {
        let now = seconds(now);
        let entry = self.checks.iter().find(|entry| entry.key == *key)?;
        let age = now.checked_sub(entry.checked_at)?;
        if age >= FRESH_FOR.as_secs() {
            return None;
        }
        entry
            .changes
            .iter()
            .map(|kept| {
                let bump = Bump::from_name(&kept.bump)?;
                Some(Change {
                    bump,
                    file: format!("schema/models/{}.json", key.model),
                    pointer: kept.pointer.clone(),
                    what: kept.what.clone(),
                })
            })
            .collect()
    }

    /// Keeps `changes` as `key`'s check at `now`, dropping checks older than a day.
    fn put(&mut self, key: Key, changes: &[Change], now: SystemTime) {
        let now = seconds(now);
        self.checks.retain(|entry| {
            entry.key != key
                && now
                    .checked_sub(entry.checked_at)
                    .is_some_and(|age| age < FRESH_FOR.as_secs())
        });
        self.checks.push(Entry {
            key,
            checked_at: now,
            changes: changes
                .iter()
                .map(|change| KeptChange {
                    bump: change.bump.name().to_owned(),
                    pointer: change.pointer.clone(),
                    what: change.what.clone(),
                })
                .collect(),
        });
    }

    /// Writes the cache whole or not at all.
    fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        text.push(b'\n');
        crate::records::write_atomically(path, &text)
    }
}

fn seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kling() -> &'static ModelInfo {
        kling_types::find_model("model_kling-v1-6-pro").unwrap()
    }

    #[test]
    fn the_sandboxs_description_of_a_model_is_no_drift() {
        for model in kling_types::MODELS {
            let description = serde_json::json!({"model": kling_sandbox::describe_model(model)});
            let changes = compare(model, &description).unwrap();
            assert_ne!(
                kling_dialect::verdict(&changes),
                Some(Bump::Major),
                "{}: {changes:#?}",
                model.id
            );
        }
    }

    #[test]
    fn a_removed_duration_is_a_breaking_drift() {
        let mut description = serde_json::json!({"model": kling_sandbox::describe_model(kling())});
        let inputs = description["model"]["inputs"].as_array_mut().unwrap();
        let duration = inputs
            .iter_mut()
            .find(|input| input["name"] == "duration")
            .unwrap();
        duration["allowedValues"] = serde_json::json!([5]);
        let changes = compare(kling(), &description).unwrap();
        let message = breaking_message(kling().id, &changes);
        assert!(
            message.contains("/properties/duration: enum value removed: 10"),
            "{message}"
        );
        assert!(message.contains("kling models schema model_kling-v1-6-pro > NEW.json"));
        assert!(message.contains("cargo xtask import-model NEW.json"));
    }

    #[test]
    fn a_cached_check_is_fresh_for_a_day_and_not_from_the_future() {
        let key = Key::of("api.example", kling());
        let mut cache = Cache::read(Path::new("/nonexistent/drift-check.json"));
        let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        cache.put(key.clone(), &[], then);
        assert_eq!(
            cache
                .fresh(&key, then + Duration::from_secs(3600))
                .map(|c| c.len()),
            Some(0)
        );
        assert!(cache.fresh(&key, then + FRESH_FOR).is_none());
        assert!(cache.fresh(&key, then - Duration::from_secs(1)).is_none());
        let other = Key {
            schema_sha256: "another schema".to_owned(),
            ..key
        };
        assert!(
            cache.fresh(&other, then).is_none(),
            "a rebuilt kling checks again"
        );
    }

    #[test]
    fn hosts_are_read_from_base_urls() {
        assert_eq!(
            host_of("https://api.cloud.scenario.com/v1"),
            "api.cloud.scenario.com"
        );
        assert_eq!(host_of("http://127.0.0.1:8080/v1"), "127.0.0.1:8080");
        assert_eq!(
            host_of("https://example.org:443/v1"),
            "example.org",
            "the default port is the host's"
        );
        assert_eq!(
            host_of("http://user:secret@example.org"),
            "example.org",
            "no credentials in the cache"
        );
        assert_eq!(host_of("http://[::1]:9/v1"), "[::1]:9");
        assert_eq!(host_of("not a url"), "not a url");
    }
}
