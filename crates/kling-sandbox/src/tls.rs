//! HTTPS for the sandbox ([`SandboxConfig::with_tls`](crate::SandboxConfig::with_tls)):
//! a self-signed certificate made at start with rcgen, for `localhost` and the address
//! it listens on, served with rustls (the ring provider, the one the client uses).

use std::net::IpAddr;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// A certificate the sandbox serves, and what clients must trust to accept it.
#[derive(Clone)]
pub(crate) struct SelfSigned {
    pub(crate) acceptor: TlsAcceptor,
    /// The certificate, PEM-encoded: the only root a client needs.
    pub(crate) pem: String,
}

impl std::fmt::Debug for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfSigned").finish_non_exhaustive()
    }
}

/// Makes a certificate for `localhost`, `127.0.0.1` and `ip`, and the acceptor that
/// serves it.
pub(crate) fn self_signed(ip: IpAddr) -> std::io::Result<SelfSigned> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    if !ip.is_unspecified() && !names.contains(&ip.to_string()) {
        names.push(ip.to_string());
    }
    let certified = rcgen::generate_simple_self_signed(names).map_err(std::io::Error::other)?;
    let chain = vec![CertificateDer::from(certified.cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(std::io::Error::other)?;
    // The sandbox speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(SelfSigned {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        pem: certified.cert.pem(),
    })
}
