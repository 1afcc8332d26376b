//! Terminal conventions, seen from outside: `kling` run under a pseudo-terminal
//! (`script` from util-linux) and through a pipe, and what appears. Colour (SGR escapes)
//! only on a terminal with `NO_COLOR` unset, or with `CLICOLOR_FORCE`; live bars only on
//! a terminal that can move its cursor (`TERM=dumb` gets plain progress lines); a log
//! line never lands inside a bar; help wraps to the terminal's width, up to 100 columns.

use std::process::Command;
use std::time::Duration;

use kling_sandbox::SandboxConfig;

use super::{Scratch, assert_exit, kling, run, sandbox, text};

/// `command` run by `script` on a new pseudo-terminal of `columns` columns: what the
/// terminal showed (stdout and stderr together, with `\r\n` line ends).
pub(super) fn under_pty(command: &Command, columns: u16) -> Command {
    let quote =
        |arg: &std::ffi::OsStr| format!("'{}'", arg.to_string_lossy().replace('\'', "'\\''"));
    let line = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    let mut pty = Command::new("script");
    pty.args([
        "-qec",
        &format!("stty cols {columns} rows 40; exec {line}"),
        "/dev/null",
    ]);
    if let Some(dir) = command.get_current_dir() {
        pty.current_dir(dir);
    }
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => pty.env(key, value),
            None => pty.env_remove(key),
        };
    }
    pty
}

/// Whether `shown` holds a colour (an SGR escape: `ESC [ … m`).
fn has_colour(shown: &str) -> bool {
    shown.match_indices("\x1b[").any(|(at, _)| {
        shown[at + 2..]
            .chars()
            .find(|c| !c.is_ascii_digit() && *c != ';')
            == Some('m')
    })
}

/// `shown` without its escapes (`ESC [` up to the letter that ends one).
fn without_escapes(shown: &str) -> String {
    let mut plain = String::new();
    let mut rest = shown;
    while let Some(at) = rest.find("\x1b[") {
        plain.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after
            .find(|c: char| c.is_ascii_alphabetic())
            .map_or(after.len(), |end| end + 1);
        rest = &after[end..];
    }
    plain.push_str(rest);
    plain
}

/// Whether `shown` draws a live bar (indicatif clears its line with `ESC [ 2K`).
fn has_bar(shown: &str) -> bool {
    shown.contains("\x1b[2K")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colour_and_bars_appear_only_where_the_terminal_conventions_allow() {
    let sandbox = sandbox(SandboxConfig::default().with_job_duration(Duration::from_secs(2))).await;
    let scratch = Scratch::new("terminal");
    let generate = |env: &[(&str, &str)]| {
        let mut command = kling(
            &scratch,
            Some(&sandbox),
            &["-v", "generate", "--prompt", "a fox", "-o", "fox.mp4"],
        );
        command
            .env("TERM", "xterm-256color")
            .envs(env.iter().copied());
        command
    };

    // A terminal: colours in the logs, a live bar, and no log line inside the bar.
    let output = run(under_pty(&generate(&[]), 100)).await;
    assert_exit(&output, 0);
    let shown = text(&output.stdout);
    assert!(has_colour(&shown), "{shown:?}");
    assert!(has_bar(&shown), "{shown:?}");
    for piece in shown.split(['\n', '\r']) {
        // What one line of the screen holds, after the bar was cleared from it.
        let piece = piece.rsplit("\x1b[2K").next().unwrap_or(piece);
        assert!(
            !(piece.contains("INFO") && piece.contains("%  ")),
            "a log line inside a bar: {piece:?}"
        );
    }

    // NO_COLOR: the bar stays, the colours go.
    let output = run(under_pty(&generate(&[("NO_COLOR", "1")]), 100)).await;
    assert_exit(&output, 0);
    let shown = text(&output.stdout);
    assert!(!has_colour(&shown), "{shown:?}");
    assert!(has_bar(&shown), "{shown:?}");

    // TERM=dumb: no escapes at all, progress as plain lines.
    let output = run(under_pty(&generate(&[("TERM", "dumb")]), 100)).await;
    assert_exit(&output, 0);
    let shown = text(&output.stdout);
    assert!(!shown.contains('\x1b'), "{shown:?}");
    assert!(shown.contains(": success 100% after"), "{shown:?}");

    // A pipe: plain text and plain progress lines.
    let output = run(generate(&[])).await;
    assert_exit(&output, 0);
    let stderr = text(&output.stderr);
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
    assert!(stderr.contains(": success 100% after"), "{stderr:?}");
    assert!(stderr.contains("downloaded fox.mp4"), "{stderr:?}");

    // CLICOLOR_FORCE: colours even in a pipe (and still no bar).
    let output = run(generate(&[("CLICOLOR_FORCE", "1")])).await;
    assert_exit(&output, 0);
    let stderr = text(&output.stderr);
    assert!(has_colour(&stderr), "{stderr:?}");
    assert!(!has_bar(&stderr), "{stderr:?}");
}

#[test]
fn help_wraps_to_the_terminal_up_to_100_columns() {
    let scratch = Scratch::new("terminal-help");
    let widest = |columns: u16| {
        let output = under_pty(&kling(&scratch, None, &["generate", "--help"]), columns)
            .output()
            .unwrap();
        assert_exit(&output, 0);
        // On a terminal the help is coloured: count what shows.
        without_escapes(&text(&output.stdout))
            .lines()
            .map(|line| line.trim_end().chars().count())
            .max()
            .unwrap()
    };
    let narrow = widest(60);
    assert!(
        (50..=60).contains(&narrow),
        "{narrow} columns on a 60-column terminal"
    );
    let wide = widest(200);
    assert!(
        (90..=100).contains(&wide),
        "{wide} columns on a 200-column terminal"
    );
}
