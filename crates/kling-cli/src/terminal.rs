//! The terminal conventions ripgrep and gh keep: colour only on a terminal and when
//! `NO_COLOR` is unset (`CLICOLOR_FORCE` forces it), live bars only on a terminal that
//! can move its cursor (not `TERM=dumb`), and diagnostics that never tear a live bar
//! (every line printed while one shows hides it first, then redraws it).

use std::ffi::OsString;
use std::io::Write as _;
use std::sync::OnceLock;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget};

/// What the environment says about colours and cursor movement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Conventions {
    /// `CLICOLOR_FORCE` is set, and not to `0`.
    pub(crate) force_colour: bool,
    /// `NO_COLOR` is set, and not empty.
    pub(crate) no_colour: bool,
    /// `TERM=dumb`: a terminal that cannot move its cursor.
    pub(crate) dumb: bool,
}

impl Conventions {
    /// The conventions of this process's environment.
    pub(crate) fn from_env() -> Self {
        Self::from_vars(|name| std::env::var_os(name))
    }

    /// The conventions of the variables `lookup` gives.
    pub(crate) fn from_vars(lookup: impl Fn(&str) -> Option<OsString>) -> Self {
        let set = |name: &str| lookup(name).filter(|value| !value.is_empty());
        Self {
            force_colour: set("CLICOLOR_FORCE").is_some_and(|value| value != "0"),
            no_colour: set("NO_COLOR").is_some(),
            dumb: lookup("TERM").is_some_and(|term| term == "dumb"),
        }
    }

    /// Whether a stream shows colours: forced, or a terminal (not a dumb one) with
    /// `NO_COLOR` unset.
    pub(crate) fn colour(self, is_terminal: bool) -> bool {
        self.force_colour || (is_terminal && !self.no_colour && !self.dumb)
    }

    /// Whether a stream can show live bars: a terminal that can move its cursor.
    pub(crate) fn live(self, is_terminal: bool) -> bool {
        is_terminal && !self.dumb
    }
}

/// Every live bar, drawn together on stderr.
fn bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
}

/// A new live bar on stderr, drawn with the others (`None`: a length not known yet).
pub(crate) fn bar(length: Option<u64>) -> ProgressBar {
    bars().add(ProgressBar::with_draw_target(
        length,
        ProgressDrawTarget::hidden(),
    ))
}

/// Writes `bytes` to stderr with every live bar hidden meanwhile.
pub(crate) fn write_stderr(bytes: &[u8]) -> std::io::Result<()> {
    bars().suspend(|| {
        let mut stderr = std::io::stderr().lock();
        stderr.write_all(bytes)?;
        stderr.flush()
    })
}

/// Where diagnostics (tracing) go: stderr, with live bars hidden for each line.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Diagnostics;

impl std::io::Write for Diagnostics {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        write_stderr(bytes).map(|()| bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'writer> tracing_subscriber::fmt::MakeWriter<'writer> for Diagnostics {
    type Writer = Self;

    fn make_writer(&'writer self) -> Self::Writer {
        *self
    }
}

#[cfg(test)]
mod tests {
    use super::Conventions;

    #[track_caller]
    fn check(vars: &[(&str, &str)], terminal: bool, colour: bool, live: bool) {
        let conventions = Conventions::from_vars(|name| {
            vars.iter()
                .find(|(var, _)| *var == name)
                .map(|(_, value)| value.into())
        });
        assert_eq!(conventions.colour(terminal), colour, "colour, {vars:?}");
        assert_eq!(conventions.live(terminal), live, "live, {vars:?}");
    }

    #[test]
    fn colour_and_bars_follow_the_terminal_and_the_environment() {
        check(&[], true, true, true);
        check(&[], false, false, false);
        check(&[("NO_COLOR", "1")], true, false, true);
        // An empty NO_COLOR is unset (no-color.org).
        check(&[("NO_COLOR", "")], true, true, true);
        check(&[("CLICOLOR_FORCE", "1")], false, true, false);
        check(
            &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
            false,
            true,
            false,
        );
        check(&[("CLICOLOR_FORCE", "0")], false, false, false);
        check(&[("CLICOLOR_FORCE", "")], false, false, false);
        check(&[("TERM", "dumb")], true, false, false);
        check(&[("TERM", "xterm-256color")], true, true, true);
    }
}
