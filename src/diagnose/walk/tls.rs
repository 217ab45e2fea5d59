//! Stage 3, TLS to the origin: the proxy's handshake, what it negotiated, the certificate,
//! and whether the certificate would pass validation (so Full shows what Full (strict) would
//! make of it, and a 526 still shows the certificate it refused).

use std::net::SocketAddr;
use std::time::SystemTime;

use tokio::net::TcpStream;
use tokio::time::Instant;

use super::Walk;
use crate::diagnose::advice;
use crate::diagnose::certificate;
use crate::diagnose::describe::{certificate_lines, name_of, trust_line};
use crate::diagnose::report::{CertificateDetails, Details, StageName, TlsDetails};
use crate::failure::OriginFailure;
use crate::origin::handshake::{OriginTlsStream, TlsTarget};
use crate::origin::pool::Pool;

/// Days before a validated certificate's end that the TLS stage starts to warn.
const EXPIRY_WARNING_DAYS: i64 = 14;

impl Walk<'_> {
    /// Stage 3: the TLS handshake, with what it negotiated and the certificate.
    pub(super) async fn tls(
        &mut self,
        stream: TcpStream,
        peer: SocketAddr,
        tls: &TlsTarget,
    ) -> Option<OriginTlsStream> {
        let timeouts = self.timeouts();
        let started = Instant::now();
        let secured = self.client.secure(stream, tls, &timeouts).await;
        let took = started.elapsed();
        let mut details = TlsDetails {
            sni: name_of(tls),
            validated: tls.validate,
            version: None,
            cipher_suite: None,
            key_exchange: None,
            alpn: None,
            certificate: None,
            trusted: None,
            untrusted_reason: None,
        };
        let secured = match secured {
            Ok(secured) => secured,
            Err(failure) => {
                self.handshake_failed(failure, details, peer, tls, took)
                    .await;
                return None;
            }
        };
        negotiated(secured.get_ref().1, &mut details);
        if tls.validate {
            details.trusted = Some(true);
        } else {
            // Full accepts any certificate; what Full (strict) would make of it is checked
            // once the walk is over, on a connection of its own: an origin serving one
            // connection at a time must not see it while the walk's own is open.
            let strict = TlsTarget {
                name: tls.name.clone(),
                validate: true,
            };
            self.strict_check = Some((peer, strict));
        }
        let mut seen = vec![format!(
            "{}, {}, {}, ALPN {}",
            details.version.unwrap_or("TLS"),
            details.cipher_suite.as_deref().unwrap_or("unknown suite"),
            details.key_exchange.as_deref().unwrap_or("unknown group"),
            details.alpn.as_deref().unwrap_or("none"),
        )];
        seen.extend(certificate_lines(&details));
        let expiring = details
            .certificate
            .as_ref()
            .map(|c| c.days_left)
            .filter(|&days| tls.validate && days < EXPIRY_WARNING_DAYS);
        let check = match expiring {
            Some(days) => advice::certificate_expires_soon(days, &self.context()),
            None => Vec::new(),
        };
        self.push(
            StageName::Tls,
            took,
            seen,
            Details::Tls(Box::new(details)),
            check,
        );
        Some(secured)
    }

    /// The TLS stage failed: what the handshake said, and for a certificate it refused, the
    /// certificate itself, from a second handshake that does not judge it.
    async fn handshake_failed(
        &mut self,
        failure: OriginFailure,
        mut details: TlsDetails,
        peer: SocketAddr,
        tls: &TlsTarget,
        took: std::time::Duration,
    ) {
        let mut seen = vec![format!("handshake with {} failed: {failure}", details.sni)];
        if let OriginFailure::InvalidCertificate(invalid) = &failure {
            details.trusted = Some(false);
            details.untrusted_reason = Some(invalid.reason.tag());
            let lenient = TlsTarget {
                name: tls.name.clone(),
                validate: false,
            };
            if let Some(shown) = self.handshake_with(peer, &lenient).await {
                details.certificate = shown;
            }
        }
        seen.extend(certificate_lines(&details));
        self.fail(
            StageName::Tls,
            took,
            seen,
            Details::Tls(Box::new(details)),
            failure,
        );
    }

    /// The certificate `peer` shows in a handshake under `tls`, on a connection of its own.
    pub(super) async fn handshake_with(
        &self,
        peer: SocketAddr,
        tls: &TlsTarget,
    ) -> Option<Option<CertificateDetails>> {
        let secured = self.side_handshake(peer, tls).await?.ok()?;
        let chain = secured.get_ref().1.peer_certificates()?;
        Some(certificate::describe(chain, SystemTime::now()))
    }

    /// A handshake with `peer` under `tls` on a connection of its own, beside the walk's;
    /// `None` when that connection could not be made.
    async fn side_handshake(
        &self,
        peer: SocketAddr,
        tls: &TlsTarget,
    ) -> Option<Result<OriginTlsStream, OriginFailure>> {
        let timeouts = self.timeouts();
        let stream = self
            .client
            .connect(&[peer], &timeouts, &mut None)
            .await
            .ok()?;
        Some(self.client.secure(stream, tls, &timeouts).await)
    }

    /// After the walk, in SSL mode Full: whether the certificate would pass Full (strict),
    /// added to the TLS stage. The walk's idle connection is closed first.
    pub(super) async fn strict_check_afterwards(&mut self) {
        let Some((peer, strict)) = self.strict_check.take() else {
            return;
        };
        self.pool = Pool::with_limits(self.config.pool);
        let verdict = self.strict_verdict(peer, &strict).await;
        let Some(stage) = self.stages.iter_mut().find(|s| s.stage == StageName::Tls) else {
            return;
        };
        if let Details::Tls(details) = &mut stage.details {
            details.trusted = verdict.map(|reason| reason.is_none());
            details.untrusted_reason = verdict.flatten();
            stage.seen.extend(trust_line(details));
        }
    }

    /// Whether `peer`'s certificate passes validation: `Some(None)` yes, `Some(Some(reason))`
    /// no, `None` when the check could not be made.
    pub(super) async fn strict_verdict(
        &self,
        peer: SocketAddr,
        tls: &TlsTarget,
    ) -> Option<Option<&'static str>> {
        match self.side_handshake(peer, tls).await? {
            Ok(_) => Some(None),
            Err(OriginFailure::InvalidCertificate(invalid)) => Some(Some(invalid.reason.tag())),
            Err(_) => None,
        }
    }
}

/// What the handshake settled on (version, suite, group, ALPN) and the certificate shown.
fn negotiated(connection: &rustls::ClientConnection, details: &mut TlsDetails) {
    details.version = connection.protocol_version().map(crate::tls::version_name);
    details.cipher_suite = connection
        .negotiated_cipher_suite()
        .map(|suite| format!("{:?}", suite.suite()));
    details.key_exchange = connection
        .negotiated_key_exchange_group()
        .map(|group| format!("{:?}", group.name()));
    details.alpn = connection
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    details.certificate = connection
        .peer_certificates()
        .and_then(|chain| certificate::describe(chain, SystemTime::now()));
}
