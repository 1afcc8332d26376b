//! Helpers more than one test module needs.

use std::path::PathBuf;

/// The settings of this crate's fuzz targets (the `fuzz_*` proptest tests):
/// `KLING_FUZZ_CASES` cases (2000 unless set; `cargo xtask fuzz` sets 100000), and no
/// failure files (a failure prints its minimal input, which becomes a unit test).
pub(crate) fn fuzz_config() -> proptest::test_runner::Config {
    let cases = std::env::var("KLING_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.trim().parse().ok())
        .unwrap_or(2000);
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..Default::default()
    }
}

/// The statuses a job goes through, in order.
pub(crate) const LIFE: [&str; 5] = [
    "queued",
    "warming-up",
    "in-progress",
    "finalizing",
    "success",
];

/// Checks that `seen` (each status once, in the order first seen) follows a job's life:
/// some steps may be missed between two looks, none may come back or come out of order.
#[track_caller]
pub(crate) fn assert_in_life_order(seen: &[String]) {
    let positions: Vec<usize> = seen
        .iter()
        .map(|status| {
            LIFE.iter()
                .position(|known| known == status)
                .unwrap_or_else(|| panic!("`{status}` is not a status of a job's life"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "out of order: {seen:?}"
    );
    assert_eq!(seen.last().map(String::as_str), Some("success"), "{seen:?}");
}

/// A folder of its own for a test's files, removed at the end.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kling-tests-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The names of the files in it, sorted.
    pub(crate) fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
