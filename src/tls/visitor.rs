//! The visitor side of TLS: the server config for `edge.tls_listen` (ALPN h2 and http/1.1) and
//! what one visitor's handshake negotiated, for `/cdn-cgi/trace` and the log.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{NamedGroup, ServerConfig, ServerConnection};

/// The server config for visitors: `chain` (leaf first) with `key`, TLS 1.2 and 1.3, ALPN
/// `h2` then `http/1.1`. Fails when the key is of an unsupported type or does not match the
/// certificate.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(super::provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// What a visitor's TLS handshake negotiated, as `/cdn-cgi/trace` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VisitorTls {
    /// `TLSv1.3` or `TLSv1.2`.
    pub version: &'static str,
    /// Whether the visitor sent a server name (SNI).
    pub sni: bool,
    /// The key-exchange group, by its IANA name (`X25519`, `secp256r1`, ...).
    pub kex: &'static str,
}

impl VisitorTls {
    /// The facts of a completed handshake.
    pub fn of(connection: &ServerConnection) -> VisitorTls {
        let version = connection
            .protocol_version()
            .map_or("unknown", super::version_name);
        let kex = connection
            .negotiated_key_exchange_group()
            .map_or("none", |group| group_name(group.name()));
        VisitorTls {
            version,
            sni: connection.server_name().is_some(),
            kex,
        }
    }
}

/// The IANA TLS Supported Groups name of `group`.
fn group_name(group: NamedGroup) -> &'static str {
    match group {
        NamedGroup::X25519 => "X25519",
        NamedGroup::X448 => "X448",
        NamedGroup::secp256r1 => "secp256r1",
        NamedGroup::secp384r1 => "secp384r1",
        NamedGroup::secp521r1 => "secp521r1",
        NamedGroup::X25519MLKEM768 => "X25519MLKEM768",
        NamedGroup::MLKEM768 => "MLKEM768",
        _ => "unknown",
    }
}
