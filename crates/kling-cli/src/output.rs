//! Everything `kling` prints, and nothing else prints: results on stdout (paths, ids,
//! or JSON with `--json`), everything else on stderr (progress, notes, warnings,
//! errors), nothing but results with `--quiet`. Progress is animated when stderr is a
//! terminal that can move its cursor (not `TERM=dumb`) and plain lines otherwise; a
//! line printed while a bar is live hides the bar first (see `terminal`).

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use kling_client::{DownloadProgress, JobUpdate};

use crate::terminal::{self, Conventions};

/// One line on stderr, live bars hidden meanwhile. A stderr that cannot be written
/// to has no one to tell.
fn eprint_line(line: &str) {
    let _ = terminal::write_stderr(format!("{line}\n").as_bytes());
}

/// How to print.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Output {
    pub(crate) json: bool,
    pub(crate) quiet: bool,
    /// stderr is a terminal (someone may answer a question).
    tty: bool,
    /// stderr shows live bars: a terminal that can move its cursor.
    live: bool,
}

impl Output {
    pub(crate) fn new(json: bool, quiet: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        Self {
            json,
            quiet,
            tty,
            live: Conventions::from_env().live(tty),
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
        self.live && !self.quiet
    }

    /// One line of result on stdout (a path, an id).
    pub(crate) fn result(&self, line: &str) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}")?;
        stdout.flush()
    }

    /// A JSON result on stdout.
    pub(crate) fn json(&self, value: &impl serde::Serialize) -> std::io::Result<()> {
        let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
        serde_json::to_writer_pretty(&mut stdout, value).map_err(std::io::Error::other)?;
        writeln!(stdout)?;
        stdout.flush()
    }

    /// A note for the person at the terminal (stderr; not with `--quiet`).
    pub(crate) fn note(&self, line: &str) {
        if !self.quiet {
            eprint_line(line);
        }
    }

    /// A warning (stderr; not with `--quiet`).
    pub(crate) fn warn(&self, line: &str) {
        if !self.quiet {
            eprint_line(&format!("warning: {line}"));
        }
    }

    /// The error `kling` ends with (stderr, always).
    pub(crate) fn error(&self, message: &str) {
        eprint_line(&format!("error: {message}"));
    }

    /// Asks a yes/no question on the terminal; `false` unless the answer is yes. Only
    /// when both stdin and stderr are terminals ([`Self::can_ask`]).
    pub(crate) fn ask(&self, question: &str) -> std::io::Result<bool> {
        terminal::write_stderr(format!("{question} [y/N] ").as_bytes())?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        Ok(matches!(
            answer.trim().to_ascii_lowercase().as_str(),
            "y" | "yes"
        ))
    }

    /// Whether a question can be asked: someone at a terminal reads and answers.
    pub(crate) fn can_ask(&self) -> bool {
        self.tty && std::io::stdin().is_terminal()
    }

    /// Progress of a whole batch.
    pub(crate) fn batch_progress(&self, total: usize) -> BatchProgress {
        let bar = self.animated().then(|| {
            let bar = terminal::bar(Some(total as u64));
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{bar:30}] {pos}/{len} done  {msg}  {elapsed}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        BatchProgress {
            bar,
            quiet: self.quiet,
            started: Instant::now(),
        }
    }

    /// Progress of a job being waited for.
    pub(crate) fn job_progress(&self, job_id: &str) -> JobProgress {
        let bar = self.animated().then(|| {
            let bar = terminal::bar(Some(100));
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
            plain: !self.live && !self.quiet,
            job_id: job_id.to_owned(),
        }
    }

    /// Progress of a download.
    pub(crate) fn download_progress(&self, name: &str) -> DownloadBar {
        let bar = self.animated().then(|| {
            let bar = terminal::bar(None);
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
            plain: !self.live && !self.quiet,
            name: name.to_owned(),
            started: Instant::now(),
        }
    }
}

/// What a batch has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct BatchCounts {
    /// Lines that are finished one way or another (done, failed, given up).
    pub(crate) finished: usize,
    pub(crate) failed: usize,
    pub(crate) in_flight: usize,
    pub(crate) queued: usize,
    /// Creative units spent or committed to jobs in flight.
    pub(crate) spent_cu: f64,
}

/// A batch's progress: one bar on a terminal (done / in flight / queued / failed,
/// creative units, ETA), a line per finished line otherwise; failures shown in both.
pub(crate) struct BatchProgress {
    bar: Option<ProgressBar>,
    quiet: bool,
    started: Instant,
}

impl BatchProgress {
    pub(crate) fn update(&self, counts: BatchCounts) {
        let Some(bar) = &self.bar else {
            return;
        };
        bar.set_position(counts.finished as u64);
        let remaining = counts.in_flight + counts.queued;
        let eta = if counts.finished > 0 && remaining > 0 {
            let per_line = self.started.elapsed().as_secs_f64() / counts.finished as f64;
            format!("  ETA {}", clock(per_line * remaining as f64))
        } else {
            String::new()
        };
        bar.set_message(format!(
            "{} in flight, {} queued, {} failed, {} CU{eta}",
            counts.in_flight, counts.queued, counts.failed, counts.spent_cu
        ));
    }

    /// What became of a line: above the bar on a terminal (failures only: the bar counts
    /// the rest), or a line of its own otherwise.
    pub(crate) fn line(&self, message: &str, failure: bool) {
        match &self.bar {
            Some(_) if failure => eprint_line(message),
            Some(_) => {}
            None if !self.quiet => eprint_line(message),
            None => {}
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Seconds as `1h02m`, `3m05s` or `12s`.
fn clock(seconds: f64) -> String {
    let seconds = if seconds.is_finite() {
        seconds.max(0.0) as u64
    } else {
        0
    };
    match (seconds / 3600, seconds % 3600 / 60, seconds % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
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
            eprint_line(&format!(
                "{}: {} {percent}% after {:.1} s",
                self.job_id,
                update.status(),
                update.elapsed.as_secs_f64()
            ));
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
            eprint_line(&format!(
                "downloaded {} ({bytes} bytes, {:.1} MB/s)",
                self.name,
                bytes as f64 / seconds / 1e6
            ));
        }
    }
}
