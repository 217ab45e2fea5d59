//! The visitor's side over HTTPS: requests to the edge's TLS listener with a rustls client whose
//! trusted root, server name (and so SNI), ALPN list, TLS versions and key-exchange groups a
//! test chooses, and a bare handshake for tests that only care whether TLS comes up.
//!
//! Each request opens a fresh TCP and TLS connection with a fresh client config, so no session
//! is resumed and every request's handshake is a full one. HTTP/2 is spoken when ALPN settles
//! on `h2`, HTTP/1.1 otherwise. Responses come back as [`visitor::Response`], with what the TLS
//! session negotiated beside them ([`Negotiated`]).
//!
//! This module does not start the edge and makes no certificates; see `support/mod.rs` and
//! `support/pki.rs`.

#![allow(dead_code)]

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderValue, Request, header};
use http_body::Body;
use http_body_util::Empty;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::crypto::{SupportedKxGroup, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, NamedGroup, ProtocolVersion, RootCertStore, SupportedProtocolVersion};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::visitor::{self, Response};

/// The ALPN id of HTTP/2.
pub const H2: &[u8] = b"h2";

/// The ALPN id of HTTP/1.1.
pub const HTTP_1_1: &[u8] = b"http/1.1";

static TLS13_ONLY: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
static TLS12_ONLY: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS12];

/// Which TLS versions the visitor offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsVersions {
    /// TLS 1.3 and TLS 1.2, as a browser does.
    Both,
    /// TLS 1.3 alone.
    Tls13Only,
    /// TLS 1.2 alone.
    Tls12Only,
}

impl TlsVersions {
    fn offered(self) -> &'static [&'static SupportedProtocolVersion] {
        match self {
            Self::Both => rustls::ALL_VERSIONS,
            Self::Tls13Only => &TLS13_ONLY,
            Self::Tls12Only => &TLS12_ONLY,
        }
    }
}

/// What a completed TLS handshake settled on.
#[derive(Clone, Debug)]
pub struct Negotiated {
    /// The TLS version (`TLSv1_3`, `TLSv1_2`).
    pub version: Option<ProtocolVersion>,
    /// The ALPN protocol the edge picked, if any.
    pub alpn: Option<Vec<u8>>,
    /// The key-exchange group used (`X25519`, `secp256r1`, ...).
    pub kx_group: Option<NamedGroup>,
}

impl Negotiated {
    fn of(connection: &rustls::ClientConnection) -> Negotiated {
        Negotiated {
            version: connection.protocol_version(),
            alpn: connection.alpn_protocol().map(<[u8]>::to_vec),
            kx_group: connection
                .negotiated_key_exchange_group()
                .map(|group| group.name()),
        }
    }

    /// Whether ALPN settled on HTTP/2.
    pub fn is_h2(&self) -> bool {
        self.alpn.as_deref() == Some(H2)
    }
}

/// A response over HTTPS and the TLS session it came on.
#[derive(Debug)]
pub struct HttpsResponse {
    /// The response, read to its end.
    pub response: Response,
    /// What the TLS handshake settled on.
    pub tls: Negotiated,
}

/// Why an HTTPS request got no response head.
#[derive(Debug)]
pub enum HttpsError {
    /// The TCP connect failed.
    Connect(io::Error),
    /// The TLS handshake failed (a rustls error inside, see [`HttpsError::tls_error`]).
    Tls(io::Error),
    /// The HTTP handshake on the TLS connection failed (h2 preface).
    Handshake(hyper::Error),
    /// The request was sent, or tried, and no response head came back.
    Request(hyper::Error),
}

impl HttpsError {
    /// The rustls error that failed the handshake, if that is what happened.
    pub fn tls_error(&self) -> Option<&rustls::Error> {
        match self {
            Self::Tls(error) => error.get_ref()?.downcast_ref::<rustls::Error>(),
            _ => None,
        }
    }
}

impl fmt::Display for HttpsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(_) => f.write_str("HTTPS visitor could not connect"),
            Self::Tls(_) => f.write_str("HTTPS visitor's TLS handshake failed"),
            Self::Handshake(_) => f.write_str("HTTPS visitor's HTTP handshake failed"),
            Self::Request(_) => f.write_str("HTTPS visitor got no response head"),
        }
    }
}

impl StdError for HttpsError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Connect(e) | Self::Tls(e) => Some(e),
            Self::Handshake(e) | Self::Request(e) => Some(e),
        }
    }
}

/// An HTTPS visitor: which root it trusts, which name it expects, what it offers.
#[derive(Clone, Debug)]
pub struct HttpsVisitor {
    root: CertificateDer<'static>,
    server_name: ServerName<'static>,
    alpn: Vec<Vec<u8>>,
    versions: TlsVersions,
    kx_group: Option<&'static dyn SupportedKxGroup>,
    host: Option<String>,
}

impl HttpsVisitor {
    /// A visitor trusting `root` alone and expecting `server_name`: a DNS name is sent as SNI,
    /// an IP literal sends no SNI (and is checked against the certificate's IP SANs). It offers
    /// ALPN `h2, http/1.1`, TLS 1.3 and 1.2, and the ring provider's default groups.
    #[track_caller]
    pub fn new(root: CertificateDer<'static>, server_name: &str) -> HttpsVisitor {
        let server_name = ServerName::try_from(server_name.to_owned())
            .unwrap_or_else(|e| panic!("{server_name:?} is not a server name: {e}"));
        HttpsVisitor {
            root,
            server_name,
            alpn: vec![H2.to_vec(), HTTP_1_1.to_vec()],
            versions: TlsVersions::Both,
            kx_group: None,
            host: None,
        }
    }

    /// Offers these ALPN protocols, in this order (none: no ALPN extension).
    pub fn alpn(mut self, protocols: &[&[u8]]) -> Self {
        self.alpn = protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// Offers these TLS versions.
    pub fn versions(mut self, versions: TlsVersions) -> Self {
        self.versions = versions;
        self
    }

    /// Offers this key-exchange group alone, e.g. `rustls::crypto::ring::kx_group::SECP256R1`.
    pub fn kx_group(mut self, group: &'static dyn SupportedKxGroup) -> Self {
        self.kx_group = Some(group);
        self
    }

    /// Sends `Host: host` (the `:authority` over h2) instead of the server name.
    pub fn host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
        self
    }

    /// The rustls client config these options make (ring provider, fresh each call).
    pub fn client_config(&self) -> Arc<ClientConfig> {
        let mut provider = ring::default_provider();
        if let Some(group) = self.kx_group {
            provider.kx_groups = vec![group];
        }
        let mut roots = RootCertStore::empty();
        roots
            .add(self.root.clone())
            .expect("the test root is a well-formed certificate");
        let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(self.versions.offered())
            .expect("the ring provider supports the offered versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = self.alpn.clone();
        Arc::new(config)
    }

    /// Opens a TCP connection to `addr` and completes the TLS handshake on it.
    pub async fn connect(
        &self,
        addr: SocketAddr,
    ) -> Result<(TlsStream<TcpStream>, Negotiated), HttpsError> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(HttpsError::Connect)?;
        let tls = TlsConnector::from(self.client_config())
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(HttpsError::Tls)?;
        let negotiated = Negotiated::of(tls.get_ref().1);
        Ok((tls, negotiated))
    }

    /// Completes a TLS handshake with `addr`, reports what it settled on and closes.
    pub async fn handshake(&self, addr: SocketAddr) -> Result<Negotiated, HttpsError> {
        let (_tls, negotiated) = self.connect(addr).await?;
        Ok(negotiated)
    }

    /// `GET path` on a fresh connection. Panics if no head arrives.
    pub async fn get(&self, addr: SocketAddr, path: &str) -> HttpsResponse {
        match self.try_get(addr, path).await {
            Ok(response) => response,
            Err(error) => {
                panic!("expected an HTTPS response head from {addr}: {error}: {error:?}")
            }
        }
    }

    /// As [`HttpsVisitor::get`], returning why no head arrived instead of panicking.
    pub async fn try_get(&self, addr: SocketAddr, path: &str) -> Result<HttpsResponse, HttpsError> {
        let request = Request::get(path)
            .body(Empty::<bytes::Bytes>::new())
            .expect("a test path makes a valid request");
        self.try_send(addr, request).await
    }

    /// Sends `request` on a fresh connection and reads the whole response. Over HTTP/1.1 the
    /// `Host` header is set (when the request has none) to the [`HttpsVisitor::host`] or the
    /// server name; over h2 that authority (or the request's `Host`, then removed) goes in an
    /// absolute `https` URI.
    pub async fn try_send<B>(
        &self,
        addr: SocketAddr,
        mut request: Request<B>,
    ) -> Result<HttpsResponse, HttpsError>
    where
        B: Body + Send + Unpin + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let (tls, negotiated) = self.connect(addr).await?;
        let io = TokioIo::new(tls);
        let (response, elapsed) = if negotiated.is_h2() {
            visitor::as_h2(&mut request, "https", || self.authority());
            let (mut sender, connection) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                    .await
                    .map_err(HttpsError::Handshake)?;
            visitor::drive(connection);
            visitor::timed(sender.send_request(request)).await
        } else {
            if !request.headers().contains_key(header::HOST) {
                let host = HeaderValue::from_str(&self.authority())
                    .expect("a server name or test host is a valid header value");
                request.headers_mut().insert(header::HOST, host);
            }
            let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(HttpsError::Handshake)?;
            visitor::drive(connection);
            visitor::timed(sender.send_request(request)).await
        };
        let response = response.map_err(HttpsError::Request)?;
        Ok(HttpsResponse {
            response: visitor::whole_response(response, elapsed).await,
            tls: negotiated,
        })
    }

    /// The Host (or `:authority`) sent when the request names none.
    fn authority(&self) -> String {
        match &self.host {
            Some(host) => host.clone(),
            None => match &self.server_name {
                ServerName::DnsName(name) => name.as_ref().to_owned(),
                ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
                other => panic!("unexpected server name {other:?}"),
            },
        }
    }
}

/// The first certificate in `pem` (a PEM file's text).
#[track_caller]
pub fn certificate_from_pem(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap_or_else(|e| panic!("no PEM certificate in the text: {e:?}\n{pem}"))
}
