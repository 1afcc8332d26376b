//! A local stand-in of the Scenario API, with fault injection: every test, benchmark
//! and first try runs against it, with no keys and no network.
//!
//! It serves the same paths (under `/v1`), auth, JSON shapes, status codes and error
//! bodies as the real API for everything `kling-client` and the `kling` CLI use.
//! Requests are validated against the model schemas with an independent validator;
//! jobs move through their statuses on a configurable clock; outputs are real, playable
//! mp4 files behind signed URLs that expire; downloads honour `Range`. Faults (429,
//! 5xx, connection resets before or after handling, stalls, slow or truncated bodies,
//! failed or canceled jobs, expired URLs, empty pages) are injected by rule or per
//! request, and everything that happened is recorded for tests to inspect.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use kling_sandbox::{Fault, FaultRule, Sandbox, SandboxConfig};
//!
//! let config = SandboxConfig::default()
//!     .with_fault(FaultRule::new(Fault::Status { status: 503, retry_after_secs: Some(1) }).on("POST", "/v1/generate/").times(1));
//! let sandbox = Sandbox::start(config).await?;
//! assert!(sandbox.base_url().starts_with("http://127.0.0.1:"));
//! assert!(sandbox.base_url().ends_with("/v1"));
//! assert_eq!(sandbox.jobs().len(), 0);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod cdn;
mod config;
mod error;
mod faults;
#[cfg(test)]
mod fuzz;
mod models;
mod mp4;
mod png;
mod requests;
mod routes;
mod state;
mod tls;
mod views;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt as _;

pub use config::{Credentials, SandboxConfig};
pub use error::Error;
pub use faults::{Fault, FaultRule};
pub use state::{JobRecord, RequestRecord};

/// The model description the sandbox serves at `GET /v1/models/{modelId}` (the `model`
/// object, without its `{"model": …}` envelope), derived from the model's parameter table
/// the way Scenario describes models: tests import it back with `cargo xtask import-model`.
///
/// ```
/// let kling = kling_types::find_model("model_kling-v1-6-pro").unwrap();
/// let description = kling_sandbox::describe_model(kling);
/// assert_eq!(description["inputs"][0]["name"], "prompt");
/// ```
pub fn describe_model(model: &kling_types::ModelInfo) -> serde_json::Value {
    models::describe(model).unwrap_or_default()
}

use crate::routes::DropConnection;
use crate::state::State;

/// The name of the request header that injects a fault into one request
/// (see [`Fault::parse`] for its syntax).
pub const FAULT_HEADER: &str = routes::FAULT_HEADER;

/// Starts sandboxes.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Starts a sandbox on `127.0.0.1`, on a port the system picks: the way tests use it.
    pub async fn start(config: SandboxConfig) -> std::io::Result<SandboxHandle> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts a sandbox on `address` (port 0 picks a free one).
    pub async fn bind(
        address: SocketAddr,
        config: SandboxConfig,
    ) -> std::io::Result<SandboxHandle> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let tls = if config.tls {
            Some(tls::self_signed(address.ip())?)
        } else {
            None
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let origin = format!("{scheme}://{address}");
        let state = Arc::new(State::new(config, origin.clone()));
        let router = routes::router(Arc::clone(&state));
        let (stop, stopped) = watch::channel(false);
        let acceptor = tls.as_ref().map(|tls| tls.acceptor.clone());
        let task = tokio::spawn(serve(listener, acceptor, router, stopped));
        Ok(SandboxHandle {
            base_url: format!("{origin}/v1"),
            address,
            certificate_pem: tls.map(|tls| tls.pem),
            state,
            stop,
            task: Some(task),
        })
    }
}

/// A running sandbox. Dropping it stops the server.
#[derive(Debug)]
pub struct SandboxHandle {
    base_url: String,
    address: SocketAddr,
    certificate_pem: Option<String>,
    state: Arc<State>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SandboxHandle {
    /// The base URL to give a client, `/v1` included (`http://127.0.0.1:PORT/v1`), as
    /// `SCENARIO_BASE_URL` would hold.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// With [`SandboxConfig::with_tls`], the sandbox's self-signed certificate, PEM-encoded:
    /// what a client must trust (`kling --ca-cert FILE`, `SSL_CERT_FILE`); `None` over
    /// plain HTTP.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use kling_sandbox::{Sandbox, SandboxConfig};
    ///
    /// let sandbox = Sandbox::start(SandboxConfig::default().with_tls()).await?;
    /// assert!(sandbox.base_url().starts_with("https://127.0.0.1:"));
    /// assert!(sandbox.certificate_pem().is_some_and(|pem| pem.starts_with("-----BEGIN CERTIFICATE-----")));
    /// # Ok(())
    /// # }
    /// ```
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// The address the sandbox listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The credentials requests must carry.
    pub fn credentials(&self) -> &Credentials {
        &self.state.config.credentials
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state.lock().requests.clone()
    }

    /// Every job created so far, oldest first, with its input, the request that created
    /// it and its status now: a paid job started twice shows here.
    pub fn jobs(&self) -> Vec<JobRecord> {
        let inner = self.state.lock();
        inner
            .jobs
            .iter()
            .map(|job| JobRecord {
                id: job.id.clone(),
                model_id: job.model_id.clone(),
                input: job.input.clone(),
                request_id: job.request_id.clone(),
                fault: job.fault.map(str::to_owned),
                created_at: job.created_at,
                status: self.state.job_now(job).status.to_owned(),
                output_asset_id: job.output_asset.clone(),
            })
            .collect()
    }

    /// The bytes someone uploaded as the asset `asset_id` (`None` for an asset that no
    /// upload made): a test can check that a job names the very file it was given.
    pub fn uploaded_bytes(&self, asset_id: &str) -> Option<Vec<u8>> {
        match &self.state.lock().assets.get(asset_id)?.content {
            state::Content::Uploaded(bytes) => Some(bytes.to_vec()),
            _ => None,
        }
    }

    /// How many generates were refused with a 429 for the team's limit of parallel
    /// jobs ([`SandboxConfig::with_parallel_jobs`]): a benchmark can check that few
    /// submits were.
    pub fn team_limit_refusals(&self) -> u64 {
        self.state.lock().team_limit_refusals
    }

    /// The most jobs that were ever running (created, not yet terminal) at once, on the
    /// sandbox clock.
    pub fn max_running_jobs(&self) -> u32 {
        self.state.lock().max_running_jobs
    }

    /// The jobs running (created, not yet terminal) now.
    pub fn running_jobs(&self) -> u32 {
        let inner = self.state.lock();
        self.state.running_jobs(&inner).count
    }

    /// The requests a fault was injected into.
    pub fn faults_injected(&self) -> Vec<RequestRecord> {
        self.requests()
            .into_iter()
            .filter(|record| record.fault.is_some())
            .collect()
    }

    /// Adds a fault rule, after the existing ones.
    pub fn add_fault(&self, rule: FaultRule) {
        self.state.add_faults(vec![rule]);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.state.lock().faults.clear();
    }

    /// Stops accepting connections, closes the open ones and waits for the server to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// The error a connection ends with when a fault drops it: hyper then closes the
/// connection without writing a response.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: axum::Router,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors or a connection reset while queued: keep serving.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                let tls = tls.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                        let router = router.clone();
                        async move {
                            let response = match router.oneshot(request.map(Body::new)).await {
                                Ok(response) => response,
                                Err(never) => match never {},
                            };
                            if response.extensions().get::<DropConnection>().is_some() {
                                return Err(Dropped);
                            }
                            Ok(response)
                        }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        None => {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                        // A client that gives up during the handshake (it does not trust
                        // the certificate) only ends its own connection.
                        Some(tls) => {
                            if let Ok(stream) = tls.accept(stream).await {
                                let _ = http.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
}
