//! Where the API key, secret and base URL come from: flags, then the environment
//! (`SCENARIO_SDK_API_KEY`, `SCENARIO_SDK_API_SECRET`, `SCENARIO_BASE_URL`), then the
//! config file (`config.toml` in the platform's config folder, or `--config` /
//! `KLING_CONFIG`). `kling config` shows each value and its source, secrets masked.
//! Extra certificate authorities come the same way: `--ca-cert`, `SSL_CERT_FILE`, the
//! `ca_cert` key; proxies from `HTTPS_PROXY` / `NO_PROXY` (reqwest reads them).

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
    /// A PEM file of certificate authorities to trust besides the system's.
    pub(crate) ca_cert: Option<Sourced>,
    /// The config file looked at, and whether it exists.
    pub(crate) config_file: Option<(PathBuf, bool)>,
    pub(crate) data_dir: PathBuf,
    pub(crate) spending: Spending,
    /// The drift check as the config file sets it (`drift_check`, `strict_schema`); the
    /// paid commands' flags come on top.
    pub(crate) drift: crate::drift::Policy,
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
    /// A PEM file of certificate authorities to trust besides the system's.
    ca_cert: Option<String>,
    /// `true`: refuse every paid submit (demos, CI).
    no_spend: Option<bool>,
    /// The most one command may spend, in creative units.
    max_cu: Option<f64>,
    /// Above this estimate, a batch asks before starting (on a terminal).
    confirm_above_cu: Option<f64>,
    /// `false`: no drift check before paying (`--no-drift-check`).
    drift_check: Option<bool>,
    /// `true`: refuse to submit on a breaking drift (`--strict-schema`).
    strict_schema: Option<bool>,
}

/// The flags that override the rest.
#[derive(Debug, Default)]
pub(crate) struct Overrides {
    pub(crate) api_key: Option<String>,
    pub(crate) api_secret: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) ca_cert: Option<String>,
    pub(crate) config: Option<PathBuf>,
}

/// The variable OpenSSL, curl and git read for a file of trusted certificates.
pub(crate) const ENV_CA_CERT: &str = "SSL_CERT_FILE";

/// A setting from the environment, trimmed; unset or empty is `None`. A value that is not
/// UTF-8 is a usage error naming the variable: ignored, it would leave the next source to
/// answer without a word.
fn env(name: &str) -> anyhow::Result<Option<String>> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(value.trim().to_owned()).filter(|value| !value.is_empty())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(crate::exit::usage(format!(
            "{name} is not valid UTF-8: set it to text, or unset it"
        ))),
    }
}

/// A path from the environment: paths need not be UTF-8 (trimmed when they are, as
/// [`env()`]); unset or empty is `None`.
fn env_path(name: &str) -> Option<PathBuf> {
    let value = std::env::var_os(name)?;
    let path = match value.to_str() {
        Some(text) => PathBuf::from(text.trim()),
        None => PathBuf::from(value),
    };
    (!path.as_os_str().is_empty()).then_some(path)
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("com", "scenario", "kling")
}

impl Settings {
    pub(crate) fn resolve(overrides: Overrides) -> anyhow::Result<Self> {
        let (config_path, explicit) = match (overrides.config, env_path("KLING_CONFIG")) {
            (Some(path), _) => (Some(path), true),
            (None, Some(path)) => (Some(path), true),
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
        let spending = spending(&file, file_source())?;
        let pick = |flag: Option<String>,
                    flag_name: &'static str,
                    env_name: &'static str,
                    from_file: Option<String>|
         -> anyhow::Result<Option<Sourced>> {
            if let Some(value) = flag {
                return Ok(Some(Sourced {
                    value,
                    source: Source::Flag(flag_name),
                }));
            }
            if let Some(value) = env(env_name)? {
                return Ok(Some(Sourced {
                    value,
                    source: Source::Env(env_name),
                }));
            }
            Ok(from_file.map(|value| Sourced {
                value,
                source: file_source(),
            }))
        };
        let api_key = pick(overrides.api_key, "--api-key", ENV_API_KEY, file.api_key)?;
        let api_secret = pick(
            overrides.api_secret,
            "--api-secret",
            ENV_API_SECRET,
            file.api_secret,
        )?;
        let base_url = pick(
            overrides.base_url,
            "--base-url",
            ENV_BASE_URL,
            file.base_url,
        )?
        .unwrap_or_else(|| Sourced {
            value: kling_client::DEFAULT_BASE_URL.to_owned(),
            source: Source::Default,
        });
        let ca_cert = pick(overrides.ca_cert, "--ca-cert", ENV_CA_CERT, file.ca_cert)?;
        let data_dir = env_path("KLING_DATA_DIR")
            .or_else(|| project_dirs().map(|dirs| dirs.data_dir().to_path_buf()))
            .unwrap_or_else(|| PathBuf::from(".kling"));
        Ok(Self {
            api_key,
            api_secret,
            base_url,
            ca_cert,
            config_file: config_path.map(|path| {
                let exists = path.exists();
                (path, exists)
            }),
            data_dir,
            spending,
            drift: crate::drift::Policy {
                check: file.drift_check.unwrap_or(true),
                strict: file.strict_schema.unwrap_or(false),
            },
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
        let client = Client::new(Credentials::new(key.value.clone(), secret.value.clone()))
            .with_base_url(base_url);
        match &self.ca_cert {
            Some(ca_cert) => trust(client, ca_cert),
            None => Ok(client),
        }
    }
}

/// `client`, also trusting the certificate authorities of the PEM file `ca_cert` names.
fn trust(client: Client, ca_cert: &Sourced) -> anyhow::Result<Client> {
    let path = Path::new(&ca_cert.value);
    let pem = std::fs::read(path).map_err(|error| {
        crate::exit::usage_because(
            format!(
                "cannot read the CA certificate file {} ({})",
                path.display(),
                ca_cert.source
            ),
            error,
        )
    })?;
    client.with_root_certificates(&pem).map_err(|error| {
        crate::exit::usage_because(
            format!(
                "the CA certificate file {} ({}) is not usable",
                path.display(),
                ca_cert.source
            ),
            error,
        )
    })
}

/// The spending settings of the environment and the config file (flags come later, per
/// command).
fn spending(file: &ConfigFile, file_source: Source) -> anyhow::Result<Spending> {
    let no_spend = match env(ENV_NO_SPEND)?
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

/// What a config file may hold, for messages.
pub(crate) const CONFIG_KEYS: &str = "it may hold api_key, api_secret, base_url, ca_cert, no_spend, max_cu, confirm_above_cu, drift_check and strict_schema";

/// A config file larger than this is not one: it holds a few short settings.
const MAX_CONFIG_BYTES: usize = 64 << 10;

fn read_config(path: &Path) -> anyhow::Result<ConfigFile> {
    let bytes = std::fs::read(path).map_err(|error| {
        crate::exit::usage_because(
            format!(
                "cannot read the config file {} (point --config or KLING_CONFIG at a file)",
                path.display()
            ),
            error,
        )
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A config file the fuzzer writes: its bytes, and what reading it must give when
    /// that is known (`None`: anything but a panic or an untyped error).
    #[derive(Clone, Debug)]
    struct Case {
        bytes: Vec<u8>,
        expected: Option<Result<[Option<String>; 3], ()>>,
    }

    /// One line of a near-valid config, and whether (and how) it keeps the file valid.
    #[derive(Clone, Debug)]
    enum Line {
        /// Valid: a known key (by index in `KEYS`) set to a string.
        Setting {
            key: usize,
            value: String,
            written: String,
        },
        /// Valid: nothing.
        Blank(String),
        /// Anything that makes the file invalid.
        Wrong(String),
    }

    const KEYS: [&str; 3] = ["api_key", "api_secret", "base_url"];

    /// Text a basic string may hold without escapes, a few accents and emoji included.
    fn plain_text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 ./:_=#@-]{0,24}|[éß漢字🙂]{1,4}"
    }

    fn line() -> impl Strategy<Value = Line> {
        let key = 0..KEYS.len();
        prop_oneof![
            4 => (key, plain_text(), any::<bool>()).prop_map(|(key, value, literal)| {
                // A literal string holds no `'`, a basic one no `"` or `\`: the plain text
                // has none.
                let written = if literal {
                    format!("{} = '{value}'", KEYS[key])
                } else {
                    format!("{} = \"{value}\"", KEYS[key])
                };
                Line::Setting { key, value, written }
            }),
            1 => prop_oneof![Just(String::new()), "# [ -~]{0,20}", "[ \t]{1,4}"].prop_map(Line::Blank),
            2 => (
                prop_oneof![
                    Just("api_token"), Just("API_KEY"), Just("api-key"), Just("\"api_key\""),
                    Just("api_key.x"), Just(""), Just("base_url")
                ],
                prop_oneof![
                    Just("42".to_owned()), Just("true".to_owned()), Just("1979-05-27".to_owned()),
                    Just("[\"a\", \"b\"]".to_owned()), Just("{ a = 1 }".to_owned()), Just("\"open".to_owned()),
                    Just("'''multi".to_owned()), Just(String::new()), Just("\"\\q\"".to_owned()),
                    (1..3000_usize).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
                    (1..3000_usize).prop_map(|depth| "{ a = ".repeat(depth)),
                ],
            )
                .prop_map(|(key, value)| Line::Wrong(format!("{key} = {value}"))),
            1 => prop_oneof![
                Just("[section]".to_owned()), Just("[[items]]".to_owned()), Just("=".to_owned()),
                Just("api_key".to_owned()), "[a-z]{1,10}".prop_map(|word| format!("{word} {word}")),
            ]
            .prop_map(Line::Wrong),
        ]
    }

    /// A config file made of near-valid lines, with LF or CRLF, and what it must give.
    fn near_valid() -> impl Strategy<Value = Case> {
        (proptest::collection::vec(line(), 0..8), any::<bool>()).prop_map(|(lines, crlf)| {
            let mut values: [Option<String>; 3] = [None, None, None];
            let mut valid = true;
            let mut text = Vec::new();
            for line in lines {
                match line {
                    Line::Setting {
                        key,
                        value,
                        written,
                    } => {
                        // A key set twice is an error in TOML.
                        valid &= values[key].replace(value).is_none();
                        text.push(written);
                    }
                    Line::Blank(written) => text.push(written),
                    Line::Wrong(written) => {
                        valid = false;
                        text.push(written);
                    }
                }
            }
            let newline = if crlf { "\r\n" } else { "\n" };
            Case {
                bytes: text.join(newline).into_bytes(),
                expected: Some(if valid { Ok(values) } else { Err(()) }),
            }
        })
    }

    fn any_input() -> impl Strategy<Value = Case> {
        prop_oneof![
            any::<String>().prop_map(|text| Case {
                bytes: text.into_bytes(),
                expected: None
            }),
            proptest::collection::vec(any::<u8>(), 0..512).prop_map(|bytes| Case {
                bytes,
                expected: None
            }),
            near_valid(),
        ]
    }

    proptest! {
        #![proptest_config(crate::fuzz::config())]

        /// Whatever the config file holds, reading it does not panic: it gives the
        /// settings, or a usage error that names the file.
        #[test]
        fn fuzz_config_file(case in any_input()) {
            let path = Path::new("/somewhere/kling/config.toml");
            match (parse_config(path, &case.bytes), &case.expected) {
                (Ok(file), expected) => {
                    let got = [file.api_key, file.api_secret, file.base_url];
                    if let Some(expected) = expected {
                        prop_assert_eq!(Ok(&got), expected.as_ref());
                    }
                }
                (Err(error), expected) => {
                    let failure = error.downcast_ref::<Failure>();
                    prop_assert!(failure.is_some(), "an untyped error: {error:#}");
                    let failure = failure.unwrap();
                    prop_assert_eq!(failure.exit, Exit::Usage);
                    prop_assert!(
                        failure.message.contains("/somewhere/kling/config.toml"),
                        "the file is not named: {}", failure.message
                    );
                    prop_assert!(!failure.message.contains('\n'), "one line: {}", failure.message);
                    if let Some(expected) = expected {
                        prop_assert!(expected.is_err(), "refused a valid file: {}", failure.message);
                    }
                }
            }
        }
    }

    #[test]
    fn a_config_file_too_large_or_nested_too_deep_is_refused_without_a_crash() {
        let path = Path::new("config.toml");
        let deep = format!("api_key = {}{}", "[".repeat(30_000), "]".repeat(30_000));
        let error = parse_config(path, deep.as_bytes())
            .err()
            .map(|error| error.to_string());
        assert!(
            error
                .is_some_and(|error| error.starts_with("the config file config.toml is not valid"))
        );
        let large = format!("api_key = \"{}\"", "k".repeat(MAX_CONFIG_BYTES));
        let error = parse_config(path, large.as_bytes())
            .err()
            .map(|error| error.to_string());
        assert!(error.is_some_and(|error| error.contains("too large for a config file")));
    }
}
