//! TLS, both sides, with rustls (ring): the visitor-facing server config and what a visitor's
//! handshake negotiated ([`visitor`]), the trust the edge places in origin certificates for
//! each SSL mode ([`trust`]), PEM files ([`pem`]) and self-signed certificates for local use
//! ([`self_signed`]).
//!
//! The handshake to the origin and its classification into 525/526 live with the rest of the
//! origin side, in `origin::handshake`.

pub mod pem;
pub mod self_signed;
pub mod trust;
pub mod visitor;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// The crypto provider every TLS config of edgecase uses: ring, with its default suites and
/// key-exchange groups (TLS 1.2 and 1.3).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS version as Cloudflare writes it in traces and logs (`ClientSSLProtocol`,
/// `OriginSSLProtocol`): `TLSv1.3`.
pub fn version_name(version: rustls::ProtocolVersion) -> &'static str {
    match version {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2",
        rustls::ProtocolVersion::TLSv1_1 => "TLSv1.1",
        rustls::ProtocolVersion::TLSv1_0 => "TLSv1",
        _ => "unknown",
    }
}
