//! The `kling-sandbox` binary's log, seen from outside: coloured under a pseudo-terminal
//! (`script` from util-linux), plain through a pipe, plain with `NO_COLOR`, coloured
//! with `CLICOLOR_FORCE` even through a pipe. The log line asked for is the error of a
//! port already taken, after which the sandbox exits by itself.
#![expect(
    clippy::unwrap_used,
    reason = "a test: a failed step stops it with its message"
)]

use std::process::{Command, Output};

/// `kling-sandbox` on a port another listener holds; `pty` runs it under `script`.
fn sandbox_on_a_taken_port(pty: bool, env: &[(&str, &str)]) -> (Output, String) {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let program = env!("CARGO_BIN_EXE_kling-sandbox");
    let mut command = if pty {
        let mut command = Command::new("script");
        command.args([
            "-qec",
            &format!("exec '{program}' --port {port}"),
            "/dev/null",
        ]);
        command
    } else {
        let mut command = Command::new(program);
        command.args(["--port", &port]);
        command
    };
    command
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("RUST_LOG")
        .env("TERM", "xterm-256color")
        .envs(env.iter().copied());
    let output = command.output().unwrap();
    drop(taken);
    // Under `script` the log arrives on its stdout (the terminal's screen).
    let shown =
        String::from_utf8_lossy(if pty { &output.stdout } else { &output.stderr }).into_owned();
    (output, shown)
}

#[track_caller]
fn check(pty: bool, env: &[(&str, &str)], coloured: bool) {
    let (output, shown) = sandbox_on_a_taken_port(pty, env);
    assert!(!output.status.success(), "{shown}");
    assert!(shown.contains("cannot listen on 127.0.0.1:"), "{shown:?}");
    // An SGR escape (`ESC [ … m`), as tracing writes its levels and fields.
    assert_eq!(
        shown.contains("\x1b["),
        coloured,
        "pty {pty}, {env:?}: {shown:?}"
    );
}

#[test]
fn the_log_is_coloured_only_where_the_conventions_allow() {
    check(true, &[], true);
    check(true, &[("NO_COLOR", "1")], false);
    check(true, &[("TERM", "dumb")], false);
    check(false, &[], false);
    check(false, &[("CLICOLOR_FORCE", "1")], true);
}
