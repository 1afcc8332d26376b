//! `cargo xtask soak`: the soak test of `kling batch` (`crates/kling-cli/tests/cli/soak.rs`)
//! at a size `cargo test` does not run it: many lines, a random seed, several kills,
//! built in release.

use std::process::{Command, ExitCode};

/// The soak's size when not given.
const DEFAULT_LINES: u64 = 500;
const DEFAULT_ROUNDS: u64 = 5;

const USAGE: &str = "usage: cargo xtask soak [--lines N] [--seed S] [--rounds R]";

/// What to run: the lines of the batch file, the seed, the kills.
#[derive(Debug, PartialEq)]
struct Soak {
    lines: u64,
    seed: u64,
    rounds: u64,
}

fn parse(args: &[&str], random_seed: impl FnOnce() -> u64) -> Result<Soak, String> {
    let (mut lines, mut seed, mut rounds) = (DEFAULT_LINES, None, DEFAULT_ROUNDS);
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let target = match *flag {
            "--lines" => &mut lines,
            "--rounds" => &mut rounds,
            "--seed" => seed.insert(0),
            other => return Err(format!("unknown argument `{other}`")),
        };
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a number"))?;
        *target = value
            .parse()
            .map_err(|_| format!("{flag} needs a number, not `{value}`"))?;
    }
    Ok(Soak {
        lines,
        seed: seed.unwrap_or_else(random_seed),
        rounds,
    })
}

/// A seed no earlier run chose: the process's random hasher keys, and the time.
fn random_seed() -> u64 {
    use std::hash::BuildHasher as _;
    std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now())
        % 1_000_000_000
}

/// Runs `cargo test --release -p kling-cli --test cli -- soak` with the soak's size in
/// its environment, printing the seed first and the command.
#[expect(
    clippy::print_stderr,
    reason = "a command-line tool reports on its streams"
)]
pub fn main(args: &[&str]) -> ExitCode {
    let soak = match parse(args, random_seed) {
        Ok(soak) => soak,
        Err(error) => {
            eprintln!("error: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "soak: seed {}, {} lines, {} kills",
        soak.seed, soak.lines, soak.rounds
    );
    let env = [
        ("KLING_SOAK_LINES", soak.lines),
        ("KLING_SOAK_SEED", soak.seed),
        ("KLING_SOAK_ROUNDS", soak.rounds),
    ];
    let test = [
        "test",
        "--release",
        "-p",
        "kling-cli",
        "--test",
        "cli",
        "--",
        "soak",
        "--nocapture",
    ];
    let shown: Vec<String> = env
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    eprintln!("$ {} cargo {}", shown.join(" "), test.join(" "));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(test)
        .current_dir(crate::codegen::workspace_root());
    for (name, value) in env {
        command.env(name, value.to_string());
    }
    match command.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => {
            eprintln!(
                "soak: failed with seed {}; again: cargo xtask soak --lines {} --seed {} --rounds {}",
                soak.seed, soak.lines, soak.seed, soak.rounds
            );
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: cannot run cargo: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_defaults_and_the_seed_is_random_unless_given() {
        assert_eq!(
            parse(&[], || 7),
            Ok(Soak {
                lines: DEFAULT_LINES,
                seed: 7,
                rounds: DEFAULT_ROUNDS
            })
        );
        assert_eq!(
            parse(&["--seed", "42", "--lines", "80", "--rounds", "1"], || 7),
            Ok(Soak {
                lines: 80,
                seed: 42,
                rounds: 1
            })
        );
        assert_eq!(
            parse(&["--lines"], || 7),
            Err("--lines needs a number".to_owned())
        );
        assert_eq!(
            parse(&["--seed", "x"], || 7),
            Err("--seed needs a number, not `x`".to_owned())
        );
        assert_eq!(
            parse(&["--fast"], || 7),
            Err("unknown argument `--fast`".to_owned())
        );
    }
}
