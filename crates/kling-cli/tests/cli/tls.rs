//! HTTPS: `kling` against a sandbox serving TLS with a self-signed certificate. Trusted
//! through `--ca-cert` or `SSL_CERT_FILE`, a generation runs end to end; untrusted, the
//! message names the certificate problem and `--ca-cert`; through a CONNECT proxy
//! (`HTTPS_PROXY`, started here on 127.0.0.1) the same generation works, and `NO_PROXY`
//! bypasses it. No secret and no signed URL appears in any message.

use std::sync::{Arc, Mutex};

use kling_sandbox::SandboxConfig;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::{Scratch, assert_exit, kling, run, sandbox, text};

/// A TLS sandbox whose jobs finish at once, and its certificate written into `scratch`.
async fn tls_sandbox(scratch: &Scratch) -> (kling_sandbox::SandboxHandle, String) {
    let sandbox = sandbox(SandboxConfig::default().with_tls()).await;
    let pem = scratch.path("sandbox.pem");
    std::fs::write(&pem, sandbox.certificate_pem().unwrap()).unwrap();
    (sandbox, pem.to_str().unwrap().to_owned())
}

#[track_caller]
fn assert_no_secret(stderr: &str, sandbox: &kling_sandbox::SandboxHandle) {
    assert!(!stderr.contains(&sandbox.credentials().secret), "{stderr}");
    for signed in ["signature=", "expires=", "Signature=", "X-Amz-"] {
        assert!(!stderr.contains(signed), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generation_over_tls_runs_end_to_end_with_the_sandbox_certificate() {
    let scratch = Scratch::new("tls-ca-cert");
    let (sandbox, pem) = tls_sandbox(&scratch).await;
    assert!(sandbox.base_url().starts_with("https://"));
    let generate = ["generate", "--prompt", "a fox", "-o", "fox.mp4"];

    let mut args = vec!["--ca-cert", pem.as_str()];
    args.extend(generate);
    let output = run(kling(&scratch, Some(&sandbox), &args)).await;
    assert_exit(&output, 0);
    let video = std::fs::read(scratch.path("fox.mp4")).unwrap();
    assert_eq!(&video[4..8], b"ftyp", "an mp4, downloaded over TLS");

    // SSL_CERT_FILE, as OpenSSL, curl and git read it.
    let mut command = kling(&scratch, Some(&sandbox), &generate);
    command.env("SSL_CERT_FILE", &pem);
    let output = run(command).await;
    assert_exit(&output, 0);

    // The `ca_cert` key of the config file.
    let config = scratch.path("tls.toml");
    std::fs::write(&config, format!("ca_cert = {pem:?}\n")).unwrap();
    let mut command = kling(&scratch, Some(&sandbox), &generate);
    command.env("KLING_CONFIG", &config);
    let output = run(command).await;
    assert_exit(&output, 0);
    assert_eq!(sandbox.jobs().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_named_with_the_way_to_trust_it() {
    let scratch = Scratch::new("tls-untrusted");
    let (sandbox, _pem) = tls_sandbox(&scratch).await;
    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &["generate", "--prompt", "a fox", "-o", "fox.mp4"],
    ))
    .await;
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "the TLS certificate of {} is not trusted: it is signed by an authority this machine does not trust",
            sandbox.base_url()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("--ca-cert FILE"), "{stderr}");
    assert_no_secret(&stderr, &sandbox);
    assert!(sandbox.jobs().is_empty(), "nothing was sent");

    // A file that is not a certificate is a usage error that names it.
    std::fs::write(scratch.path("not.pem"), "hello").unwrap();
    let output = run(kling(
        &scratch,
        Some(&sandbox),
        &["--ca-cert", "not.pem", "jobs", "list"],
    ))
    .await;
    assert_exit(&output, 2);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("the CA certificate file not.pem (flag --ca-cert) is not usable"),
        "{stderr}"
    );
}

/// A CONNECT proxy on 127.0.0.1: each tunnel's target is recorded, then bytes flow both
/// ways until either side closes.
async fn connect_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let tunnels = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&tunnels);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut client = BufReader::new(client);
                let mut request = String::new();
                client.read_line(&mut request).await.unwrap();
                // The headers, up to the blank line.
                loop {
                    let mut line = String::new();
                    if client.read_line(&mut line).await.unwrap() == 0 || line == "\r\n" {
                        break;
                    }
                }
                let Some(target) = request
                    .strip_prefix("CONNECT ")
                    .and_then(|rest| rest.split_whitespace().next())
                else {
                    let _ = client
                        .get_mut()
                        .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                        .await;
                    return;
                };
                seen.lock().unwrap().push(target.to_owned());
                let mut upstream = TcpStream::connect(target).await.unwrap();
                client
                    .get_mut()
                    .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (format!("http://{address}"), tunnels)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxy_carries_the_requests_and_no_proxy_bypasses_it() {
    let scratch = Scratch::new("tls-proxy");
    let (sandbox, pem) = tls_sandbox(&scratch).await;
    let (proxy, tunnels) = connect_proxy().await;
    let args = [
        "--ca-cert",
        pem.as_str(),
        "generate",
        "--prompt",
        "a fox",
        "-o",
        "fox.mp4",
    ];

    let mut command = kling(&scratch, Some(&sandbox), &args);
    command.env("HTTPS_PROXY", &proxy);
    let output = run(command).await;
    assert_exit(&output, 0);
    let through = tunnels.lock().unwrap().clone();
    assert!(!through.is_empty(), "no request went through the proxy");
    let address = sandbox.address().to_string();
    assert!(
        through.iter().all(|target| *target == address),
        "{through:?}"
    );
    assert_no_secret(&text(&output.stderr), &sandbox);

    tunnels.lock().unwrap().clear();
    let mut command = kling(&scratch, Some(&sandbox), &args);
    command
        .env("HTTPS_PROXY", &proxy)
        .env("NO_PROXY", "127.0.0.1");
    let output = run(command).await;
    assert_exit(&output, 0);
    assert!(tunnels.lock().unwrap().is_empty());
    assert_eq!(sandbox.jobs().len(), 2);
}
