//! SIGINT (Ctrl-C), SIGTERM and SIGHUP, all handled alike. The first asks the command to
//! stop where it is safe: the work in progress is dropped (a started job keeps running on
//! the server, a download removes its partial file), the history keeps what it has, and
//! the error names the command that resumes. A second signal, any of the three, ends the
//! process at once, even when the command's thread is stuck in a blocking call.
//!
//! The signals are watched by a thread of their own (with a small runtime of its own),
//! not by the command's runtime: that is what lets the second signal end a process whose
//! one runtime thread is busy. The first signal is kept in a `watch` channel, so a part of
//! a command that starts listening after it arrived still sees it.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use anyhow::Context as _;
use tokio::sync::watch;

use crate::output::Output;

/// A signal that stops `kling`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: `kill`, a supervisor, a CI runner stopping.
    Terminate,
    /// SIGHUP: the terminal closed.
    HangUp,
}

impl Signal {
    /// Its number on Linux and the BSDs (these three are the same everywhere).
    pub(crate) fn number(self) -> u8 {
        match self {
            Self::HangUp => 1,
            Self::Interrupt => 2,
            Self::Terminate => 15,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::HangUp => "SIGHUP",
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
        }
    }

    /// 128 + its number: what a shell reports for a process the signal ended.
    pub(crate) fn exit_code(self) -> u8 {
        128 + self.number()
    }
}

/// The first signal received, once there was one.
static RECEIVED: OnceLock<watch::Receiver<Option<Signal>>> = OnceLock::new();

/// Starts watching the three signals, once per process. From then on they no longer end
/// the process by themselves: the first is reported by [`received`], the second ends
/// the process (with the exit code of that signal) after a line on stderr.
pub(crate) fn listen(out: Output) -> anyhow::Result<()> {
    if RECEIVED.get().is_some() {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("cannot start the signal watcher")?;
    // Registered here, before this returns: no signal is missed while the thread starts.
    let mut streams = {
        let _entered = runtime.enter();
        Streams::register()?
    };
    let (sender, receiver) = watch::channel(None);
    std::thread::Builder::new()
        .name("kling-signals".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                let first = streams.next().await;
                let _ = sender.send(Some(first));
                let second = streams.next().await;
                out.error(&format!(
                    "{} after {}: stopped at once, without cleaning up (a started job keeps running; `kling jobs history` lists it)",
                    second.name(),
                    first.name()
                ));
                std::process::exit(i32::from(second.exit_code()));
            });
        })
        .context("cannot start the signal watcher")?;
    let _ = RECEIVED.set(receiver);
    Ok(())
}

/// The signals being watched.
#[cfg(unix)]
struct Streams(Vec<(tokio::signal::unix::Signal, Signal)>);

#[cfg(unix)]
impl Streams {
    fn register() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut streams = Vec::new();
        for (kind, which) in [
            (SignalKind::interrupt(), Signal::Interrupt),
            (SignalKind::terminate(), Signal::Terminate),
            (SignalKind::hangup(), Signal::HangUp),
        ] {
            let stream =
                signal(kind).with_context(|| format!("cannot watch for {}", which.name()))?;
            streams.push((stream, which));
        }
        Ok(Self(streams))
    }

    /// The next of the three signals.
    async fn next(&mut self) -> Signal {
        let waits = self.0.iter_mut().map(|(stream, which)| {
            let which = *which;
            Box::pin(async move {
                match stream.recv().await {
                    Some(()) => which,
                    // The stream ended (never while the runtime runs): wait for the others.
                    None => std::future::pending().await,
                }
            })
        });
        futures_util::future::select_all(waits).await.0
    }
}

/// Elsewhere, Ctrl-C only.
#[cfg(not(unix))]
struct Streams;

#[cfg(not(unix))]
impl Streams {
    fn register() -> anyhow::Result<Self> {
        Ok(Self)
    }

    async fn next(&mut self) -> Signal {
        match tokio::signal::ctrl_c().await {
            Ok(()) => Signal::Interrupt,
            Err(_) => std::future::pending().await,
        }
    }
}

/// Resolves with the first signal once one was received (at once if it already was);
/// never, when nothing listens (unit tests).
///
/// Every poll looks at the channel's value first, before anything that tokio's
/// cooperative budget could hold back: so when a command's own `unless_interrupted` and
/// the whole command are polled one after the other, the inner one sees a signal the
/// outer one sees, and stops with its message (which says how to resume).
pub(crate) fn received() -> Received {
    Received {
        receiver: RECEIVED.get().cloned(),
        changed: None,
    }
}

/// The future of [`received`].
pub(crate) struct Received {
    receiver: Option<watch::Receiver<Option<Signal>>>,
    /// Wakes the task once there is a signal.
    changed: Option<Pin<Box<dyn Future<Output = bool> + Send>>>,
}

impl Future for Received {
    type Output = Signal;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Signal> {
        let Some(receiver) = self.receiver.clone() else {
            return Poll::Pending;
        };
        loop {
            if let Some(signal) = *receiver.borrow() {
                return Poll::Ready(signal);
            }
            let changed = self.changed.get_or_insert_with(|| {
                // It looks at the value first too: one sent since the check above counts.
                let mut receiver = receiver.clone();
                Box::pin(async move { receiver.wait_for(Option::is_some).await.is_ok() })
            });
            match changed.as_mut().poll(context) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(true) => self.changed = None,
                // The watcher is gone (it never ends by itself): nothing will come.
                Poll::Ready(false) => {
                    self.receiver = None;
                    return Poll::Pending;
                }
            }
        }
    }
}
