//! TLS to the origin: the handshake on a connected TCP stream, bounded by `timeouts.connect`
//! from the moment TCP is up, and every way it can fail classified into a 525
//! ([`HandshakeFailure`]) or a 526 ([`CertificateFailure`]) with its precise cause.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{
    CertificateError, ClientConfig, PeerIncompatible as Incompatible, PeerMisbehaved as Misbehaved,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::failure::{CertificateFailure, CertificateReason, HandshakeFailure, OriginFailure};
use crate::tls::trust::SelfSignedCertificate;

/// How a connection to the origin is secured: the name sent as SNI and checked, and whether
/// the certificate is validated (Full (strict), Strict) or any is accepted (Full).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TlsTarget {
    /// The SNI, and the name the certificate must carry when validated.
    pub name: ServerName<'static>,
    /// Whether the certificate must be valid.
    pub validate: bool,
}

/// The TLS stream to an origin.
pub type OriginTlsStream = TlsStream<Sniffed<TcpStream>>;

/// Runs the TLS handshake on `stream` within `within`.
pub async fn handshake(
    stream: TcpStream,
    target: &TlsTarget,
    config: Arc<ClientConfig>,
    within: Duration,
) -> Result<OriginTlsStream, OriginFailure> {
    let connector = TlsConnector::from(config);
    let connecting = connector
        .connect(target.name.clone(), Sniffed::new(stream))
        .into_fallible();
    let failure = match tokio::time::timeout(within, connecting).await {
        Ok(Ok(tls)) => return Ok(tls),
        Ok(Err((error, sniffed))) => classify(error, &sniffed, target.validate),
        Err(_elapsed) => HandshakeFailure::Timeout { after: within }.into(),
    };
    Err(failure)
}

impl From<HandshakeFailure> for OriginFailure {
    fn from(failure: HandshakeFailure) -> Self {
        OriginFailure::TlsHandshake(failure)
    }
}

/// What a failed handshake means: first by what the origin sent (not TLS at all), then by
/// rustls's own error, then by the socket's.
fn classify(error: io::Error, sniffed: &Sniffed<TcpStream>, validate: bool) -> OriginFailure {
    if let Some(http) = sniffed.not_tls() {
        return HandshakeFailure::NoTls { http }.into();
    }
    let tls = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    if let Some(tls) = tls {
        return classify_tls(tls.clone(), validate);
    }
    use io::ErrorKind::*;
    match error.kind() {
        UnexpectedEof => HandshakeFailure::Closed,
        ConnectionReset | ConnectionAborted | BrokenPipe => HandshakeFailure::Reset(error),
        _ => HandshakeFailure::Other(error),
    }
    .into()
}

/// What a rustls error during the handshake means.
fn classify_tls(error: rustls::Error, validate: bool) -> OriginFailure {
    use rustls::Error::*;
    let failure = match &error {
        AlertReceived(alert) => HandshakeFailure::Alert(*alert),
        InvalidCertificate(reason) if validate => {
            let reason = certificate_reason(reason);
            return OriginFailure::InvalidCertificate(CertificateFailure {
                reason,
                detail: error,
            });
        }
        NoCertificatesPresented => HandshakeFailure::NoCertificate,
        PeerIncompatible(incompatible) => match incompatible {
            Incompatible::ServerDoesNotSupportTls12Or13
            | Incompatible::ServerTlsVersionIsDisabledByOurConfig
            | Incompatible::SupportedVersionsExtensionRequired => {
                HandshakeFailure::ProtocolVersion(error)
            }
            Incompatible::NoCipherSuitesInCommon => HandshakeFailure::NoSharedCipher(error),
            Incompatible::NoKxGroupsInCommon => HandshakeFailure::NoSharedGroup(error),
            _ => HandshakeFailure::Incompatible(error),
        },
        PeerMisbehaved(Misbehaved::SelectedUnofferedCipherSuite) => {
            HandshakeFailure::NoSharedCipher(error)
        }
        PeerMisbehaved(Misbehaved::SelectedUnofferedKxGroup) => {
            HandshakeFailure::NoSharedGroup(error)
        }
        // A certificate error in Full mode can only be a bad handshake signature.
        PeerMisbehaved(_)
        | InvalidMessage(_)
        | InappropriateMessage { .. }
        | InappropriateHandshakeMessage { .. }
        | InvalidCertificate(_) => HandshakeFailure::Misbehaved(error),
        _ => HandshakeFailure::Other(io::Error::other(error)),
    };
    failure.into()
}

/// The 526 reason for a certificate error.
fn certificate_reason(error: &CertificateError) -> CertificateReason {
    use CertificateError::*;
    match error {
        Expired | ExpiredContext { .. } => CertificateReason::Expired,
        NotValidYet | NotValidYetContext { .. } => CertificateReason::NotYetValid,
        UnknownIssuer => CertificateReason::Untrusted,
        NotValidForName | NotValidForNameContext { .. } => CertificateReason::NameMismatch,
        Revoked => CertificateReason::Revoked,
        BadSignature => CertificateReason::BadSignature,
        Other(other) if other.0.is::<SelfSignedCertificate>() => CertificateReason::SelfSigned,
        _ => CertificateReason::Invalid,
    }
}

/// How many of the origin's first bytes are kept to tell TLS from anything else.
const SNIFF_BYTES: usize = 5;

/// The origin's stream, remembering the first bytes it sent: a TLS server's first record
/// starts with a record type (20 to 23) and version major 3; anything else is not TLS.
#[derive(Debug)]
pub struct Sniffed<S> {
    inner: S,
    first: [u8; SNIFF_BYTES],
    seen: usize,
}

impl<S> Sniffed<S> {
    fn new(inner: S) -> Self {
        Sniffed {
            inner,
            first: [0; SNIFF_BYTES],
            seen: 0,
        }
    }

    /// `Some(looks_like_http)` when the origin's first bytes cannot start a TLS record.
    fn not_tls(&self) -> Option<bool> {
        let first = &self.first[..self.seen];
        let tls = match first {
            [] => return None,
            [kind] => (20..=23).contains(kind),
            [kind, major, ..] => (20..=23).contains(kind) && *major == 3,
        };
        (!tls).then(|| first.starts_with(b"HTTP"))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Sniffed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        if self.seen < SNIFF_BYTES {
            let this = &mut *self;
            let new = &buf.filled()[before..];
            let take = new.len().min(SNIFF_BYTES - this.seen);
            this.first[this.seen..this.seen + take].copy_from_slice(&new[..take]);
            this.seen += take;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Sniffed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniffed(bytes: &[u8]) -> Option<bool> {
        let mut s = Sniffed::new(());
        let n = bytes.len().min(SNIFF_BYTES);
        s.first[..n].copy_from_slice(&bytes[..n]);
        s.seen = n;
        s.not_tls()
    }

    #[test]
    fn tls_records_are_told_from_http_and_garbage() {
        assert_eq!(sniffed(b""), None);
        assert_eq!(sniffed(&[0x16, 0x03, 0x03, 0x00, 0x7a]), None);
        assert_eq!(sniffed(&[0x15, 0x03, 0x01, 0x00, 0x02]), None);
        assert_eq!(sniffed(b"HTTP/1.1 400 Bad Request"), Some(true));
        assert_eq!(sniffed(b"\x00\xffgarbage"), Some(false));
        assert_eq!(sniffed(&[0x16, 0x48]), Some(false));
    }
}
