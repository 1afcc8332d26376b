//! Where the API key, secret and base URL come from: flags, then the environment
//! (`SCENARIO_SDK_API_KEY`, `SCENARIO_SDK_API_SECRET`, `SCENARIO_BASE_URL`), then the
//! config file (`config.toml` in the platform's config folder, or `--config` /
//! `KLING_CONFIG`). `kling config` shows each value and its source, secrets masked.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
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
    pub(crate) spending: Spending,
}

/// What `kling` may spend, in creative units (CU).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Spending {
    /// Why every paid submit is refused, when it is (`KLING_NO_SPEND=1`, `no_spend = true`).
    pub(crate) no_spend: Option<Source>,
    /// The most a command may spend (`--max-cu`, `max_cu`), and where that came from.
    pub(crate) max_cu: Option<(f64, Source)>,
    /// Above this estimate, `kling batch` on a terminal asks before starting.
    pub(crate) confirm_above_cu: f64,
}

/// Above this many creative units a batch asks first, unless the config says otherwise:
/// about a dozen Kling 1.6 Pro clips, more than anyone starts by mistake without minding.
pub(crate) const DEFAULT_CONFIRM_ABOVE_CU: f64 = 500.0;
/// The environment variable that refuses every paid submit.
pub(crate) const ENV_NO_SPEND: &str = "KLING_NO_SPEND";

impl Default for Spending {
    fn default() -> Self {
        Self {
            no_spend: None,
            max_cu: None,
            confirm_above_cu: DEFAULT_CONFIRM_ABOVE_CU,
        }
    }
}

/// What the config file may hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    api_key: Option<String>,
    api_secret: Option<String>,
    base_url: Option<String>,
    /// `true`: refuse every paid submit (demos, CI).
    no_spend: Option<bool>,
    /// The most one command may spend, in creative units.
    max_cu: Option<f64>,
    /// Above this estimate, a batch asks before starting (on a terminal).
    confirm_above_cu: Option<f64>,
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
                return Err(Failure {
                    exit: Exit::Usage,
                    message: format!("the config file {} does not exist", path.display()),
                }
                .into());
            }
            _ => ConfigFile::default(),
        };
        let file_source = || config_path.clone().map_or(Source::Default, Source::File);
        let spending = spending(&file, file_source())?;
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
            spending,
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

/// The spending settings of the environment and the config file (flags come later, per
/// command).
fn spending(file: &ConfigFile, file_source: Source) -> anyhow::Result<Spending> {
    let no_spend = match env(ENV_NO_SPEND)
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("1" | "true" | "yes" | "on") => Some(Source::Env(ENV_NO_SPEND)),
        Some("0" | "false" | "no" | "off") => None,
        Some(other) => {
            return Err(crate::exit::usage(format!(
                "{ENV_NO_SPEND}=`{other}` is neither 1 nor 0: set it to 1 to refuse every paid submit, or unset it"
            )));
        }
        None => file.no_spend.unwrap_or(false).then(|| file_source.clone()),
    };
    let valid = |value: f64, key: &str| {
        if value.is_finite() && value >= 0.0 {
            Ok(value)
        } else {
            Err(crate::exit::usage(format!(
                "`{key}` ({file_source}) must be a number of creative units, 0 or more"
            )))
        }
    };
    Ok(Spending {
        no_spend,
        max_cu: file
            .max_cu
            .map(|max| valid(max, "max_cu").map(|max| (max, file_source.clone())))
            .transpose()?,
        confirm_above_cu: file
            .confirm_above_cu
            .map(|above| valid(above, "confirm_above_cu"))
            .transpose()?
            .unwrap_or(DEFAULT_CONFIRM_ABOVE_CU),
    })
}

fn read_config(path: &Path) -> anyhow::Result<ConfigFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    toml::from_str(&text).map_err(|error| {
        Failure {
            exit: Exit::Usage,
            message: format!("the config file {} is not valid: {error}(it may hold api_key, api_secret, base_url, no_spend, max_cu and confirm_above_cu)", path.display()),
        }
        .into()
    })
}

/// A secret shown safely: its first three characters.
pub(crate) fn mask(secret: &str) -> String {
    let start: String = secret.chars().take(3).collect();
    format!("{start}… ({} characters)", secret.chars().count())
}
