//! How far the edge trusts an origin's certificate, per SSL mode: `full` accepts any
//! certificate (as Cloudflare's Full does), `full_strict` and `strict` validate it against
//! webpki-roots plus `[origin] ca`, with `[origin] crl` for revocation.
//!
//! Validation failures keep rustls's own error variants so `origin::handshake` can name the
//! precise reason; the one reason rustls cannot tell apart (a self-signed certificate, which it
//! reports as an unknown issuer) is marked here with [`SelfSignedCertificate`].

use std::fmt;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error, OtherError, RootCertStore,
    SignatureScheme,
};

/// The client configs for TLS to origins, built once per process.
#[derive(Clone, Debug)]
pub struct OriginTls {
    any_certificate: Arc<ClientConfig>,
    validating: Arc<ClientConfig>,
}

/// Why the trust settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// A certificate of `[origin] ca` cannot be a trust anchor.
    #[error("certificate {index} cannot be a trust anchor: {source}")]
    BadRoot {
        /// Its position in the file, from 1.
        index: usize,
        /// What rustls said.
        source: Error,
    },
    /// The CRLs of `[origin] crl` were refused.
    #[error("the revocation lists cannot be used: {0}")]
    Crl(#[from] rustls::client::VerifierBuilderError),
}

impl OriginTls {
    /// Configs trusting webpki-roots plus `extra_roots`, checking revocation against `crls`
    /// (for the origin's own certificate; a certificate no CRL speaks for is accepted).
    pub fn new(
        extra_roots: &[CertificateDer<'static>],
        crls: Vec<CertificateRevocationListDer<'static>>,
    ) -> Result<OriginTls, TrustError> {
        let provider = super::provider();
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for (index, root) in extra_roots.iter().enumerate() {
            roots
                .add(root.clone())
                .map_err(|source| TrustError::BadRoot {
                    index: index + 1,
                    source,
                })?;
        }
        let mut webpki =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone());
        if !crls.is_empty() {
            webpki = webpki
                .with_crls(crls)
                .only_check_end_entity_revocation()
                .allow_unknown_revocation_status();
        }
        let validating = Validating {
            inner: webpki.build()?,
        };
        Ok(OriginTls {
            any_certificate: client_config(AnyCertificate { provider }),
            validating: client_config(validating),
        })
    }

    /// The config for a mode that validates the certificate (`true`) or accepts any (`false`).
    pub fn config(&self, validate: bool) -> &Arc<ClientConfig> {
        if validate {
            &self.validating
        } else {
            &self.any_certificate
        }
    }
}

impl Default for OriginTls {
    /// webpki-roots only, no CRLs.
    fn default() -> Self {
        OriginTls::new(&[], Vec::new()).expect("webpki-roots alone always build a verifier")
    }
}

/// A client config with `verifier`, TLS 1.2 and 1.3, ALPN http/1.1 (edgecase speaks HTTP/1.1
/// to origins) and session resumption.
fn client_config(verifier: impl ServerCertVerifier + 'static) -> Arc<ClientConfig> {
    let mut config = ClientConfig::builder_with_provider(super::provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Marker inside a [`CertificateError::Other`]: the certificate is self-signed, and nothing
/// trusted vouches for it.
#[derive(Debug)]
pub struct SelfSignedCertificate;

impl fmt::Display for SelfSignedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the certificate is self-signed and not trusted")
    }
}

impl std::error::Error for SelfSignedCertificate {}

/// Full (strict): webpki validation, with self-signed certificates named as such.
#[derive(Debug)]
struct Validating {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for Validating {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|error| match error {
                Error::InvalidCertificate(ref reason)
                    if chain_problem(reason)
                        && intermediates.is_empty()
                        && is_self_issued(end_entity) =>
                {
                    Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
                        SelfSignedCertificate,
                    ))))
                }
                other => other,
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Whether `reason` is about who issued the certificate (rather than its dates, names or
/// revocation, which keep their own cause even on a self-signed certificate).
fn chain_problem(reason: &CertificateError) -> bool {
    matches!(
        reason,
        CertificateError::UnknownIssuer | CertificateError::Other(_)
    )
}

/// Whether the certificate names itself as its issuer.
fn is_self_issued(der: &CertificateDer<'_>) -> bool {
    x509_parser::parse_x509_certificate(der)
        .is_ok_and(|(_, cert)| cert.issuer().as_raw() == cert.subject().as_raw())
}

/// Full: any certificate is accepted, but the handshake signatures are still checked, so the
/// origin must hold the key of the certificate it shows.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
