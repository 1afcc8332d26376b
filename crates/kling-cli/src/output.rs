//! Everything `kling` prints, and nothing else prints: results on stdout (paths, ids,
//! or JSON with `--json`), everything else on stderr (progress, notes, warnings,
//! errors), nothing but results with `--quiet`. Progress is animated when stderr is a
//! terminal and plain lines otherwise.
#![expect(clippy::print_stderr, reason = "this module is where the CLI prints")]

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kling_client::{DownloadProgress, JobUpdate};
use serde_json::Value;

/// How to print.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Output {
    pub(crate) json: bool,
    pub(crate) quiet: bool,
    tty: bool,
}

impl Output {
    pub(crate) fn new(json: bool, quiet: bool) -> Self {
        Self {
            json,
            quiet,
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// The same, printing nothing but results (for work inside a batch).
    pub(crate) fn silent(&self) -> Self {
        Self {
            quiet: true,
            ..*self
        }
    }

    /// Whether stderr is a terminal that shows animated progress.
    pub(crate) fn animated(&self) -> bool {
        self.tty && !self.quiet
    }

    /// One line of result on stdout (a path, an id).
    pub(crate) fn result(&self, line: &str) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}")?;
        stdout.flush()
    }

    /// A JSON result on stdout.
    pub(crate) fn json(&self, value: &Value) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
        self.result(&text)
    }

    /// A note for the person at the terminal (stderr; not with `--quiet`).
    pub(crate) fn note(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// A warning (stderr; not with `--quiet`).
    pub(crate) fn warn(&self, line: &str) {
        if !self.quiet {
            eprintln!("warning: {line}");
        }
    }

    /// The error `kling` ends with (stderr, always).
    pub(crate) fn error(&self, message: &str) {
        eprintln!("error: {message}");
    }

    /// Progress of a job being waited for.
    pub(crate) fn job_progress(&self, job_id: &str) -> JobProgress {
        let bar = (self.tty && !self.quiet).then(|| {
            let bar = ProgressBar::with_draw_target(Some(100), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix} {msg:<12} [{bar:30}] {pos:>3}%  {elapsed}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(job_id.to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        JobProgress {
            bar,
            plain: !self.tty && !self.quiet,
            job_id: job_id.to_owned(),
        }
    }

    /// Progress of a download.
    pub(crate) fn download_progress(&self, name: &str) -> DownloadBar {
        let bar = (self.tty && !self.quiet).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "  {prefix} [{bar:30}] {bytes}/{total_bytes}  {bytes_per_sec}  {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(name.to_owned());
            bar
        });
        DownloadBar {
            bar,
            plain: !self.tty && !self.quiet,
            name: name.to_owned(),
            started: Instant::now(),
        }
    }
}

/// A job's progress: a bar on a terminal, a line per change otherwise.
pub(crate) struct JobProgress {
    bar: Option<ProgressBar>,
    plain: bool,
    job_id: String,
}

impl JobProgress {
    pub(crate) fn update(&self, update: &JobUpdate) {
        let percent = (update.progress().unwrap_or(0.0) * 100.0).round() as u64;
        if let Some(bar) = &self.bar {
            bar.set_message(update.status().to_string());
            bar.set_position(percent);
        } else if self.plain {
            eprintln!(
                "{}: {} {percent}% after {:.1} s",
                self.job_id,
                update.status(),
                update.elapsed.as_secs_f64()
            );
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A download's progress.
pub(crate) struct DownloadBar {
    bar: Option<ProgressBar>,
    plain: bool,
    name: String,
    started: Instant,
}

impl DownloadBar {
    pub(crate) fn update(&self, progress: DownloadProgress) {
        if let Some(bar) = &self.bar {
            if let Some(total) = progress.total {
                bar.set_length(total);
            }
            bar.set_position(progress.bytes);
        }
    }

    pub(crate) fn finish(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.plain {
            let seconds = self.started.elapsed().as_secs_f64().max(0.001);
            eprintln!(
                "downloaded {} ({bytes} bytes, {:.1} MB/s)",
                self.name,
                bytes as f64 / seconds / 1e6
            );
        }
    }
}
