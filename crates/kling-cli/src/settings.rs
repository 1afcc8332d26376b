//! Where the API key, secret and base URL come from: flags, then the environment
//! (`SCENARIO_SDK_API_KEY`, `SCENARIO_SDK_API_SECRET`, `SCENARIO_BASE_URL`), then the
//! config file (`config.toml` in the platform's config folder, or `--config` /
//! `KLING_CONFIG`). `kling config` shows each value and its source, secrets masked.

use std::fmt;
use std::path::{Path, PathBuf};

use kling_client::{Client, Credentials, ENV_API_KEY, ENV_API_SECRET, ENV_BASE_URL};
use serde::Deserialize;

use crate::exit::{Exit, Failure};

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Flag(&'static str),
    Env(&'static str),
    File(PathBuf),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag(flag) => write!(f, "flag {flag}"),
            Self::Env(name) => write!(f, "environment {name}"),
            Self::File(path) => write!(f, "config file {}", path.display()),
            Self::Default => f.write_str("default"),
        }
    }
}

/// A value and where it came from.
#[derive(Clone, Debug)]
pub(crate) struct Sourced {
    pub(crate) value: String,
    pub(crate) source: Source,
}

/// The settings `kling` runs with.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) api_key: Option<Sourced>,
    pub(crate) api_secret: Option<Sourced>,
    pub(crate) base_url: Sourced,
    /// The config file looked at, and whether it exists.
    pub(crate) config_file: Option<(PathBuf, bool)>,
    pub(crate) data_dir: PathBuf,
}

/// What the config file may hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    api_key: Option<String>,
    api_secret: Option<String>,
    base_url: Option<String>,
}

/// The flags that override the rest.
#[derive(Debug, Default)]
pub(crate) struct Overrides {
    pub(crate) api_key: Option<String>,
    pub(crate) api_secret: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) config: Option<PathBuf>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("com", "scenario", "kling")
}

impl Settings {
    pub(crate) fn resolve(overrides: Overrides) -> anyhow::Result<Self> {
        let (config_path, explicit) = match (overrides.config, env("KLING_CONFIG")) {
            (Some(path), _) => (Some(path), true),
            (None, Some(path)) => (Some(PathBuf::from(path)), true),
            (None, None) => (
                project_dirs().map(|dirs| dirs.config_dir().join("config.toml")),
                false,
            ),
        };
        let file = match &config_path {
            Some(path) if path.exists() => read_config(path)?,
            Some(path) if explicit => {
                return Err(config_error(format!(
                    "the config file {} does not exist: create it, or point --config or KLING_CONFIG at another",
                    path.display()
                )));
            }
            _ => ConfigFile::default(),
        };
        let file_source = || config_path.clone().map_or(Source::Default, Source::File);
        let pick = |flag: Option<String>,
                    flag_name: &'static str,
                    env_name: &'static str,
                    from_file: Option<String>| {
            flag.map(|value| Sourced {
                value,
                source: Source::Flag(flag_name),
            })
            .or_else(|| {
                env(env_name).map(|value| Sourced {
                    value,
                    source: Source::Env(env_name),
                })
            })
            .or_else(|| {
                from_file.map(|value| Sourced {
                    value,
                    source: file_source(),
                })
            })
        };
        let api_key = pick(overrides.api_key, "--api-key", ENV_API_KEY, file.api_key);
        let api_secret = pick(
            overrides.api_secret,
            "--api-secret",
            ENV_API_SECRET,
            file.api_secret,
        );
        let base_url = pick(
            overrides.base_url,
            "--base-url",
            ENV_BASE_URL,
            file.base_url,
        )
        .unwrap_or_else(|| Sourced {
            value: kling_client::DEFAULT_BASE_URL.to_owned(),
            source: Source::Default,
        });
        let data_dir = env("KLING_DATA_DIR")
            .map(PathBuf::from)
            .or_else(|| project_dirs().map(|dirs| dirs.data_dir().to_path_buf()))
            .unwrap_or_else(|| PathBuf::from(".kling"));
        Ok(Self {
            api_key,
            api_secret,
            base_url,
            config_file: config_path.map(|path| {
                let exists = path.exists();
                (path, exists)
            }),
            data_dir,
        })
    }

    /// A client with these settings; an error says which credential is missing.
    pub(crate) fn client(&self) -> anyhow::Result<Client> {
        let (Some(key), Some(secret)) = (&self.api_key, &self.api_secret) else {
            let missing = if self.api_key.is_none() {
                ENV_API_KEY
            } else {
                ENV_API_SECRET
            };
            return Err(Failure {
                exit: Exit::Auth,
                message: format!(
                    "no {missing}: export {ENV_API_KEY} and {ENV_API_SECRET} (Scenario project settings, API keys), \
                     put them in the config file (`kling config` shows where), or try everything without keys with `kling --sandbox`"
                ),
            }
            .into());
        };
        let base_url = &self.base_url.value;
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(crate::exit::usage(format!(
                "the base URL `{base_url}` ({}) is not an http(s) URL",
                self.base_url.source
            )));
        }
        Ok(
            Client::new(Credentials::new(key.value.clone(), secret.value.clone()))
                .with_base_url(base_url),
        )
    }
}

/// What a config file may hold, for messages.
const CONFIG_KEYS: &str = "it may hold api_key, api_secret and base_url";

/// A config file larger than this is not one: it holds three short strings.
const MAX_CONFIG_BYTES: usize = 64 << 10;

fn read_config(path: &Path) -> anyhow::Result<ConfigFile> {
    let bytes = std::fs::read(path).map_err(|error| {
        config_error(format!(
            "cannot read the config file {}: {error}: point --config or KLING_CONFIG at a file",
            path.display()
        ))
    })?;
    parse_config(path, &bytes)
}

fn config_error(message: String) -> anyhow::Error {
    Failure {
        exit: Exit::Usage,
        message,
    }
    .into()
}

/// The config file's settings from its bytes; anything else is a usage error that names
/// the file (and the line and column of a TOML error).
fn parse_config(path: &Path, bytes: &[u8]) -> anyhow::Result<ConfigFile> {
    let shown = path.display();
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(config_error(format!(
            "the config file {shown} is {} bytes, too large for a config file ({CONFIG_KEYS}, as TOML)",
            bytes.len()
        )));
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        config_error(format!(
            "the config file {shown} is not UTF-8 text (byte {} is not): {CONFIG_KEYS}, as TOML",
            error.valid_up_to()
        ))
    })?;
    toml::from_str(text).map_err(|error| {
        let at = error
            .span()
            .map(|span| {
                let before = text.get(..span.start).unwrap_or(text);
                let line = before.matches('\n').count() + 1;
                let column = before
                    .rsplit('\n')
                    .next()
                    .map_or(0, |line| line.chars().count())
                    + 1;
                format!(" at line {line}, column {column}")
            })
            .unwrap_or_default();
        let reason = error.message().trim().replace('\n', "; ");
        config_error(format!(
            "the config file {shown} is not valid{at}: {reason} ({CONFIG_KEYS})"
        ))
    })
}

/// A secret shown safely: its first three characters.
pub(crate) fn mask(secret: &str) -> String {
    let start: String = secret.chars().take(3).collect();
    format!("{start}… ({} characters)", secret.chars().count())
}
