//! Servers for answers the sandbox cannot give, on 127.0.0.1:0: a [`Proxy`] in front of
//! a sandbox that replaces chosen answers (after forwarding the request, so the sandbox
//! really did the work, or instead of it), and [`serve_raw`], which answers every
//! request with the same bytes (for truncated or garbage answers).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use kling_sandbox::SandboxHandle;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// An answer the proxy gives instead of the sandbox's.
#[derive(Clone, Debug)]
pub(crate) struct Canned {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
}

impl Canned {
    pub(crate) fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![("content-type", content_type.to_owned())],
            body: body.into(),
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// Which requests get a canned answer, and whether the sandbox sees them first.
#[derive(Clone, Debug)]
pub(crate) struct Rewrite {
    method: &'static str,
    path_prefix: &'static str,
    times: usize,
    /// Forward the request (its job is created), then answer `canned` instead.
    after_forwarding: bool,
    canned: Canned,
}

impl Rewrite {
    /// The first `times` requests matching answer `canned` without reaching the sandbox.
    pub(crate) fn instead(
        method: &'static str,
        path_prefix: &'static str,
        times: usize,
        canned: Canned,
    ) -> Self {
        Self {
            method,
            path_prefix,
            times,
            after_forwarding: false,
            canned,
        }
    }

    /// The first `times` requests matching reach the sandbox, then answer `canned`.
    pub(crate) fn after(
        method: &'static str,
        path_prefix: &'static str,
        times: usize,
        canned: Canned,
    ) -> Self {
        Self {
            after_forwarding: true,
            ..Self::instead(method, path_prefix, times, canned)
        }
    }
}

struct ProxyState {
    upstream: SocketAddr,
    http: Client<HttpConnector, Full<Bytes>>,
    rewrites: Mutex<Vec<Rewrite>>,
    log: Mutex<Vec<String>>,
}

/// A proxy in front of a sandbox.
pub(crate) struct Proxy {
    base_url: String,
    state: Arc<ProxyState>,
}

impl Proxy {
    pub(crate) async fn start(upstream: &SandboxHandle, rewrites: Vec<Rewrite>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(ProxyState {
            upstream: upstream.address(),
            http: Client::builder(TokioExecutor::new()).build_http(),
            rewrites: Mutex::new(rewrites),
            log: Mutex::new(Vec::new()),
        });
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, hyper::Error>(handle(&state, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            base_url: format!("http://{address}/v1"),
            state,
        }
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every request the proxy saw, as `METHOD /path`.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.state.log.lock().unwrap().clone()
    }
}

async fn handle(state: &ProxyState, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    state
        .log
        .lock()
        .unwrap()
        .push(format!("{} {path}", parts.method));
    let rewrite = {
        let mut rewrites = state.rewrites.lock().unwrap();
        rewrites
            .iter_mut()
            .find(|rule| {
                rule.times > 0
                    && rule.method == parts.method.as_str()
                    && path.starts_with(rule.path_prefix)
            })
            .map(|rule| {
                rule.times -= 1;
                rule.clone()
            })
    };
    let body = body.collect().await.unwrap().to_bytes();
    if rewrite.as_ref().is_none_or(|rule| rule.after_forwarding) {
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or("/", |value| value.as_str());
        let mut forward = Request::builder()
            .method(parts.method.clone())
            .uri(format!("http://{}{path_and_query}", state.upstream));
        for (name, value) in &parts.headers {
            if name != "host" {
                forward = forward.header(name, value);
            }
        }
        let answer = state
            .http
            .request(forward.body(Full::new(body)).unwrap())
            .await
            .unwrap();
        if rewrite.is_none() {
            let (parts, body) = answer.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            let mut response = Response::builder().status(parts.status);
            for (name, value) in &parts.headers {
                if !matches!(
                    name.as_str(),
                    "content-length" | "transfer-encoding" | "connection"
                ) {
                    response = response.header(name, value);
                }
            }
            return response.body(Full::new(body)).unwrap();
        }
    }
    let canned = rewrite.map(|rule| rule.canned).unwrap();
    let mut response = Response::builder().status(canned.status);
    for (name, value) in &canned.headers {
        response = response.header(*name, value);
    }
    response.body(Full::new(Bytes::from(canned.body))).unwrap()
}

/// A server that answers every request with `answer` (raw HTTP/1.1 bytes, sent as they
/// are, then the connection is closed), after `stall`. Returns its base URL.
pub(crate) async fn serve_raw(answer: Vec<u8>, stall: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let answer = Arc::clone(&answer);
            tokio::spawn(async move {
                // Read the request whole (headers, then Content-Length bytes), so closing
                // after the answer does not reset the connection under the client.
                let mut request = Vec::new();
                let mut buffer = [0; 4096];
                let body_start = loop {
                    let Ok(read) = stream.read(&mut buffer).await else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..read]);
                    if let Some(at) = request.windows(4).position(|window| window == b"\r\n\r\n") {
                        break at + 4;
                    }
                };
                let head = String::from_utf8_lossy(&request[..body_start]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .and_then(|value| value.trim().parse().ok())
                    .unwrap_or(0);
                while request.len() < body_start + length {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => request.extend_from_slice(&buffer[..read]),
                    }
                }
                tokio::time::sleep(stall).await;
                let _ = stream.write_all(&answer).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    format!("http://{address}/v1")
}

/// Raw HTTP/1.1 answer bytes: a status line, headers, and a body with its true
/// `Content-Length` (or another, to cut the answer short).
pub(crate) fn raw(
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    content_length: Option<usize>,
) -> Vec<u8> {
    let mut answer = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in headers {
        answer.push_str(&format!("{name}: {value}\r\n"));
    }
    answer.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        content_length.unwrap_or(body.len())
    ));
    let mut answer = answer.into_bytes();
    answer.extend_from_slice(body);
    answer
}
