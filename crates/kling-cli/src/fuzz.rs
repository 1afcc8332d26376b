//! What the `fuzz_*` property tests of this crate share: how many cases they run.
//! `KLING_FUZZ_CASES` sets it (`cargo xtask fuzz` runs them long); the default keeps
//! `cargo test` quick.

/// Cases per `fuzz_*` test when `KLING_FUZZ_CASES` is not set.
const DEFAULT_CASES: u32 = 2000;

/// The proptest config of every `fuzz_*` test: `KLING_FUZZ_CASES` cases (default 2000),
/// and no failure files written into the source tree (a failure prints its input).
pub(crate) fn config() -> proptest::test_runner::Config {
    let cases = match std::env::var("KLING_FUZZ_CASES") {
        Ok(cases) => cases.trim().parse().unwrap_or_else(|_| {
            panic!("KLING_FUZZ_CASES must be a number of cases, not `{cases}`")
        }),
        Err(_) => DEFAULT_CASES,
    };
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..Default::default()
    }
}
