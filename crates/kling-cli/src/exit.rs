//! Exit codes, documented in `kling --help` and the README, and how errors map to them.

use std::fmt;

/// How `kling` ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    Success,
    Failure,
    Usage,
    Auth,
    JobFailed,
    Timeout,
    Budget,
    Interrupted,
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
            Self::Interrupted => 130,
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
  130  interrupted (Ctrl-C; a started job keeps running)";

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

/// Ctrl-C.
pub(crate) fn interrupted(message: impl Into<String>) -> anyhow::Error {
    Failure {
        exit: Exit::Interrupted,
        message: message.into(),
    }
    .into()
}

/// The exit code an error stands for: the first cause that says.
pub(crate) fn exit_for(error: &anyhow::Error) -> Exit {
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
