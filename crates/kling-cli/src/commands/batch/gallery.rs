//! The batch's `index.html` ([`crate::gallery`]), kept current as lines finish: written
//! again when a line ends, at most once per [`EVERY`] (300 lines ending together do not
//! rewrite it 300 times), and once more when the run ends, whatever the throttle says.
//! A page that takes long to build (10,000 records) waits longer: at least [`SHARE`]
//! times what the last one took, so the page never takes more than 1/`SHARE` of the
//! scheduler's time.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The shortest time between two rewrites of the page during a run.
const EVERY: Duration = Duration::from_secs(2);
/// The wait after a rewrite, in multiples of how long it took (when that is longer).
const SHARE: u32 = 20;

/// The gallery of one output folder.
#[derive(Debug)]
pub(super) struct Gallery {
    dir: PathBuf,
    /// When the page may be written again (`None`: now).
    next: Mutex<Option<Instant>>,
    /// Off (`--no-gallery`, or `--no-record`: the page is made from the records).
    off: bool,
}

impl Gallery {
    pub(super) fn new(dir: PathBuf, off: bool) -> Self {
        Self {
            dir,
            next: Mutex::new(None),
            off,
        }
    }

    /// A line ended: rewrite the page unless it was written less than [`EVERY`] ago.
    pub(super) fn line_ended(&self, out: &crate::output::Output) {
        let started = Instant::now();
        if super::lock(&self.next).is_some_and(|next| started < next) {
            return;
        }
        self.write(out);
        let took = started.elapsed();
        *super::lock(&self.next) = Some(started + EVERY.max(took * SHARE));
    }

    /// Writes the page now. A page that cannot be written is a warning: the videos and
    /// their records, which matter, are saved.
    pub(super) fn write(&self, out: &crate::output::Output) {
        if self.off {
            return;
        }
        if let Err(error) = crate::gallery::write(&self.dir) {
            out.warn(&format!("the gallery was not updated: {error:#}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_written_at_once_then_at_most_every_two_seconds_and_at_the_end() {
        let dir = crate::scratch::Scratch::new("batch-gallery");
        let out = crate::output::Output::new(false, true);
        let page = dir.0.join(crate::gallery::INDEX);
        let gallery = Gallery::new(dir.0.clone(), false);

        gallery.line_ended(&out);
        assert!(page.exists(), "the first line to end writes the page");
        std::fs::remove_file(&page).unwrap();
        gallery.line_ended(&out);
        assert!(
            !page.exists(),
            "a line ending right after waits for the next turn"
        );
        gallery.write(&out);
        assert!(
            page.exists(),
            "the end of the run writes it whatever the throttle"
        );

        std::fs::remove_file(&page).unwrap();
        let off = Gallery::new(dir.0.clone(), true);
        off.line_ended(&out);
        off.write(&out);
        assert!(!page.exists(), "--no-gallery writes nothing");
    }
}
