//! `cargo xtask`: the workspace's tasks (see `cargo xtask help`).

use std::process::ExitCode;

use xtask::codegen::{self, Mode};

const HELP: &str = "\
cargo xtask: tasks of the kling workspace

USAGE:
    cargo xtask codegen [--check]

COMMANDS:
    codegen          write crates/kling-types/src/generated/ from schema/
    codegen --check  write nothing; fail with a diff when the checked-in code is stale
";

#[expect(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a command-line tool reports on its streams"
)]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["codegen"] => codegen::run(Mode::Write),
        ["codegen", "--check"] => codegen::run(Mode::Check),
        [] | ["help" | "--help" | "-h"] => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("error: unknown arguments `{}`\n\n{HELP}", args.join(" "));
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(written) if written.is_empty() => ExitCode::SUCCESS,
        Ok(written) => {
            eprintln!("wrote {}", written.join(", "));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
