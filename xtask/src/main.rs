//! `cargo xtask`: the workspace's tasks (see `cargo xtask help`).

use std::process::ExitCode;

use xtask::codegen::{self, Mode};

const HELP: &str = "\
cargo xtask: tasks of the kling workspace

USAGE:
    cargo xtask codegen [--check]
    cargo xtask import-model FILE [-o OUT] [--force]
    cargo xtask schema-diff [--markdown] [--allow-breaking] OLD.json NEW.json
    cargo xtask schema-diff [--markdown] [--allow-breaking] --against GIT_REV
    cargo xtask bench [SECTION...]
    cargo xtask fuzz [--cases N]
    cargo xtask soak [--lines N] [--seed S] [--rounds R]
    cargo xtask man [--out DIR]

COMMANDS:
    codegen          write crates/kling-types/src/generated/ from schema/
    codegen --check  write nothing; fail with a diff when the checked-in code is stale
    import-model     turn a model description (`kling models schema ID > FILE`; `-` reads
                     stdin) into schema/models/<model id>.json, refusing what the dialect
                     cannot say; -o OUT writes elsewhere (`-` prints it), --force overwrites
                     a different file. Then run `cargo xtask codegen`
    schema-diff      what a schema change means for users of kling-types, and the semver
                     bump it needs: one line per change (major first), then the verdict.
                     OLD.json NEW.json compares two files (an api schema when under
                     schema/api/, or with `definitions` and no `x-model-id`);
                     --against GIT_REV compares schema/models/*.json and schema/api/*.json
                     at GIT_REV with the working tree (files added and removed included);
                     --markdown prints a Markdown table (for a GitHub job summary);
                     --allow-breaking exits 0 even with a major change.
                     Exit codes: 0 fine, 1 breaking change, 2 bad usage or unreadable file
    bench            measure kling against the official Python SDK and curl (release
                     build, sandboxes on 127.0.0.1; installs scenario-sdk into a venv in
                     target/bench); writes target/bench/report.json and BENCHMARKS.md.
                     Sections (generate, download, cold-start, codegen, batch,
                     batch-scale, polling, packaging: clean release builds, sizes and build
                     times; micro: the criterion benches of kling-types) run alone when
                     named, and merge their rows into the report
    fuzz             run every fuzz target (the `fuzz_*` proptest tests) with N cases
                     each (default 100000; `cargo test` runs 2000): optimised, but with
                     overflow checks and debug assertions on (the `fuzz` profile), so an
                     overflow panics as it would in a debug build
    soak             the soak test of `kling batch` in release, at scale: a batch of N
                     lines (500) against a sandbox with faults on every endpoint, killed
                     R times (5) with SIGKILL and rerun until it ends, from seed S (random,
                     printed first); runs `cargo test --release -p kling-cli --test cli
                     -- soak` with KLING_SOAK_LINES, KLING_SOAK_SEED, KLING_SOAK_ROUNDS
    man              the man pages of kling (clap_mangen): kling.1 and one page per
                     subcommand (kling-jobs-wait.1, ...), into DIR (default: man/ in the
                     target folder; `man -l DIR/kling.1` reads one)
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
        ["import-model", rest @ ..] => return xtask::import::main(rest),
        ["schema-diff", rest @ ..] => return xtask::schema_diff::main(rest),
        ["bench", rest @ ..] => return bench(rest),
        ["fuzz"] => return fuzz(DEFAULT_FUZZ_CASES),
        ["fuzz", "--cases", cases] => match cases.parse::<u32>() {
            Ok(cases) if cases > 0 => return fuzz(cases),
            _ => {
                eprintln!("error: --cases needs a positive number, not `{cases}`");
                return ExitCode::from(2);
            }
        },
        ["soak", rest @ ..] => return xtask::soak::main(rest),
        ["man", rest @ ..] => return xtask::man::main(rest),
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

/// `cargo xtask bench`: built with the `bench` feature, it runs; otherwise it rebuilds
/// xtask in release with it and runs that (codegen never needs the runtime crates).
#[cfg(feature = "bench")]
fn bench(args: &[&str]) -> ExitCode {
    xtask::bench::main(args)
}

#[cfg(not(feature = "bench"))]
#[expect(
    clippy::print_stderr,
    reason = "a command-line tool reports on its streams"
)]
fn bench(args: &[&str]) -> ExitCode {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "xtask",
            "--features",
            "bench",
            "--",
            "bench",
        ])
        .args(args)
        .current_dir(xtask::codegen::workspace_root())
        .status();
    match status {
        Ok(status) => ExitCode::from(
            status
                .code()
                .and_then(|code| u8::try_from(code).ok())
                .unwrap_or(1),
        ),
        Err(error) => {
            eprintln!("error: cannot run cargo: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Cases per fuzz target for `cargo xtask fuzz` without `--cases`.
const DEFAULT_FUZZ_CASES: u32 = 100_000;

/// `cargo xtask fuzz`: `cargo test` of every fuzz target (test names contain `fuzz_`)
/// with `KLING_FUZZ_CASES` cases each, in the `fuzz` profile (release with overflow
/// checks and debug assertions: an overflow these targets hunt for must panic, not
/// wrap). `--tests` leaves the doctests out: a filter does not spare their build.
#[expect(
    clippy::print_stderr,
    reason = "a command-line tool reports on its streams"
)]
fn fuzz(cases: u32) -> ExitCode {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let args = [
        "test",
        "--profile",
        "fuzz",
        "--workspace",
        "--tests",
        "--",
        "fuzz_",
    ];
    eprintln!("running: KLING_FUZZ_CASES={cases} cargo {}", args.join(" "));
    let started = std::time::Instant::now();
    let status = std::process::Command::new(cargo)
        .args(args)
        .env("KLING_FUZZ_CASES", cases.to_string())
        .current_dir(xtask::codegen::workspace_root())
        .status();
    eprintln!("fuzzing took {:.0} s", started.elapsed().as_secs_f64());
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => ExitCode::from(
            status
                .code()
                .and_then(|code| u8::try_from(code).ok())
                .unwrap_or(1),
        ),
        Err(error) => {
            eprintln!("error: cannot run cargo: {error}");
            ExitCode::FAILURE
        }
    }
}
