//! The `kling` command. Not built yet: issue 6 fills it; until then it says so and
//! exits with status 1 rather than pretending to work.

use std::process::ExitCode;

#[expect(
    clippy::print_stderr,
    reason = "the only output of a placeholder binary"
)]
fn main() -> ExitCode {
    eprintln!(
        "error: the kling CLI is not built yet (see issue 6); the types are ready in the kling-types crate"
    );
    ExitCode::FAILURE
}
