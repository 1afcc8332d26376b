//! `cargo xtask man [--out DIR]`: the man pages of `kling` (clap_mangen), `kling.1` and
//! one per subcommand (`kling-jobs-wait.1`), written into DIR (default: `man/` in the
//! target folder). They come from the built `kling` itself (its hidden `__man-pages`
//! command), so they hold exactly what `--help` says, model flags included.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use serde_json::Value;

use crate::cargo::{cargo, target_directory};
use crate::codegen::workspace_root;

#[expect(
    clippy::print_stderr,
    reason = "a command-line task reports on its streams"
)]
pub fn main(args: &[&str]) -> ExitCode {
    let out = match args {
        [] => None,
        ["--out", dir] => Some(PathBuf::from(dir)),
        _ => {
            eprintln!(
                "error: unknown arguments `{}`\n\nUsage: cargo xtask man [--out DIR]",
                args.join(" ")
            );
            return ExitCode::from(2);
        }
    };
    match run(out) {
        Ok(dir) => {
            eprintln!(
                "man pages written to {} (read one: man -l {}/kling.1)",
                dir.display(),
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(out: Option<PathBuf>) -> Result<PathBuf, String> {
    let root = workspace_root();
    let kling = build_kling(&root)?;
    let dir = match out {
        Some(dir) => dir,
        None => target_directory(&root)?.join("man"),
    };
    let status = Command::new(&kling)
        .arg("__man-pages")
        .arg(&dir)
        .stdout(Stdio::null())
        .status()
        .map_err(|error| format!("cannot run {}: {error}", kling.display()))?;
    if status.success() {
        Ok(dir)
    } else {
        Err(format!("{} __man-pages failed", kling.display()))
    }
}

/// Builds `kling` (debug) and returns where cargo put it, as its JSON messages say.
fn build_kling(root: &Path) -> Result<PathBuf, String> {
    let output = Command::new(cargo())
        .args([
            "build",
            "--quiet",
            "-p",
            "kling-cli",
            "--bin",
            "kling",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !output.status.success() {
        return Err("cargo build -p kling-cli failed".to_owned());
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == "kling"
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo built no kling executable".to_owned())
}
