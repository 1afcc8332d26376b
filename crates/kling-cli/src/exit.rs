//! Exit codes, documented in `kling --help` and the README, and how errors map to them.

use std::fmt;

use crate::signals::Signal;

/// How `kling` ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    Success,
    Failure,
    Usage,
    Auth,
    JobFailed,
    Timeout,
    /// Stopped by the spending limit (`--max-cu`): some requests were not started.
    Budget,
    /// Refused by the drift check (`--strict-schema`): the model's live description
    /// breaks the built-in schema, or could not be checked. Nothing was sent.
    Drift,
    /// Stopped by a signal (SIGINT, SIGTERM, SIGHUP), cleanly.
    Interrupted(Signal),
}

impl Exit {
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Usage => 2,
            Self::Auth => 3,
            Self::JobFailed => 4,
            Self::Timeout => 5,
            Self::Budget => 6,
            Self::Drift => 7,
            // 128 + the signal's number: what a shell reports when that signal ends a
            // process, so callers read the same code as for a program that does not catch
            // it, and can tell the three apart.
            Self::Interrupted(signal) => signal.exit_code(),
        }
    }
}

/// The exit codes as `--help` shows them.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    any other error
  2    usage or validation error (nothing was sent)
  3    authentication failed (check SCENARIO_SDK_API_KEY and SCENARIO_SDK_API_SECRET)
  4    the job failed or was canceled
  5    timed out (the job may still be running: `kling jobs wait ID`)
  6    stopped by the spending limit (--max-cu): some requests were not started
  7    refused by --strict-schema: the model's live description drifted from the built-in
       schema (or could not be checked); nothing was sent
  129  hung up (SIGHUP: the terminal closed)
  130  interrupted (Ctrl-C, SIGINT)
  143  terminated (SIGTERM)

On SIGINT, SIGTERM or SIGHUP a started job keeps running, no partial file is left, and the
command that picks the job up again is printed; a second signal stops at once.";

/// An error the CLI raises itself, with the exit code it stands for.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) exit: Exit,
    pub(crate) message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// A usage or validation error: nothing was sent.
pub(crate) fn usage(message: impl Into<String>) -> anyhow::Error {
    Failure {
        exit: Exit::Usage,
        message: message.into(),
    }
    .into()
}

/// A usage or validation error caused by `source` (a file that cannot be read, a
/// certificate that cannot be parsed): the message says what is wrong and what to do,
/// the source stays the error's cause (`message: source`), not text inside it.
pub(crate) fn usage_because(
    message: impl Into<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> anyhow::Error {
    anyhow::Error::new(source).context(Failure {
        exit: Exit::Usage,
        message: message.into(),
    })
}

/// Stopped by a signal (see `signals`).
pub(crate) fn interrupted(signal: Signal, message: impl Into<String>) -> anyhow::Error {
    Failure {
        exit: Exit::Interrupted(signal),
        message: message.into(),
    }
    .into()
}

/// The message `kling` ends with: the error and its causes, each said once. A library
/// error that shows its source in its own text (`cannot reach …: error sending request`)
/// and also gives it as its `source()` would otherwise print it twice, as `{:#}` does.
pub(crate) fn message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        let text = text.trim();
        if text.is_empty() || message.contains(text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(text);
    }
    let untrusted = error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<kling_client::Error>(),
            Some(kling_client::Error::Certificate { .. })
        )
    });
    if untrusted {
        message.push_str(
            " (to trust its certificate authority: --ca-cert FILE, SSL_CERT_FILE=FILE, \
             or ca_cert in the config file)",
        );
    }
    message
}

/// The exit code an error stands for: the first cause that says (a [`Failure`] given
/// as context, as [`usage_because`] gives it, is the outermost).
pub(crate) fn exit_for(error: &anyhow::Error) -> Exit {
    if let Some(failure) = error.downcast_ref::<Failure>() {
        return failure.exit;
    }
    for cause in error.chain() {
        if let Some(failure) = cause.downcast_ref::<Failure>() {
            return failure.exit;
        }
        if let Some(error) = cause.downcast_ref::<kling_client::Error>() {
            return match error {
                kling_client::Error::Validation(_) => Exit::Usage,
                kling_client::Error::Auth { .. } => Exit::Auth,
                kling_client::Error::JobFailed { .. } | kling_client::Error::JobCanceled { .. } => {
                    Exit::JobFailed
                }
                kling_client::Error::Deadline { .. } | kling_client::Error::Timeout { .. } => {
                    Exit::Timeout
                }
                _ => Exit::Failure,
            };
        }
    }
    Exit::Failure
}

/// Whether the error is stdout having been closed (`kling jobs list | head`): not an error.
pub(crate) fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|error| error.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that shows its source in its text, as `kling_client::Error::Io` does.
    #[derive(Debug)]
    struct Shows(std::io::Error);

    impl fmt::Display for Shows {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "clip.mp4: {}", self.0)
        }
    }

    impl std::error::Error for Shows {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn each_cause_is_said_once() {
        let io = || std::io::Error::from_raw_os_error(17);
        let error = anyhow::Error::new(Shows(io()));
        assert_eq!(
            format!("{error:#}"),
            "clip.mp4: File exists (os error 17): File exists (os error 17)",
            "what anyhow prints"
        );
        assert_eq!(message(&error), "clip.mp4: File exists (os error 17)");
        let error = anyhow::Error::new(Shows(io())).context("cannot save the video");
        assert_eq!(
            message(&error),
            "cannot save the video: clip.mp4: File exists (os error 17)"
        );
        let error = anyhow::Error::new(io()).context("cannot read the config file x.toml");
        assert_eq!(
            message(&error),
            "cannot read the config file x.toml: File exists (os error 17)"
        );
    }

    #[test]
    fn a_usage_error_with_a_cause_keeps_it_and_its_exit_code() {
        let io = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let error = usage_because(
            "cannot read the CA certificate file ca.pem (flag --ca-cert)",
            io,
        )
        .context("cannot start");
        assert_eq!(exit_for(&error), Exit::Usage, "{error:#}");
        assert!(
            error.chain().any(|cause| cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)),
            "the io error is a cause, not text: {error:?}"
        );
        assert_eq!(
            message(&error),
            "cannot start: cannot read the CA certificate file ca.pem (flag --ca-cert): permission denied"
        );
    }

    #[test]
    fn every_exit_code_is_documented() {
        let exits = [
            Exit::Success,
            Exit::Failure,
            Exit::Usage,
            Exit::Auth,
            Exit::JobFailed,
            Exit::Timeout,
            Exit::Budget,
            Exit::Interrupted(Signal::HangUp),
            Exit::Interrupted(Signal::Interrupt),
            Exit::Interrupted(Signal::Terminate),
        ];
        for exit in exits {
            let code = exit.code();
            assert!(
                EXIT_CODES
                    .lines()
                    .any(|line| line.starts_with(&format!("  {code} "))),
                "{exit:?} ({code}) is not in EXIT_CODES"
            );
        }
        assert_eq!(
            Exit::Interrupted(Signal::Interrupt).code(),
            130,
            "as before"
        );
    }
}
