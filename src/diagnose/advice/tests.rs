use std::io;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use rustls::AlertDescription;
use tokio::io::AsyncWriteExt;

use super::*;
use crate::failure::Malformed;
use crate::failure::{CertificateFailure, CertificateReason, HandshakeFailure};
use crate::origin::h1::BodyFault;
use crate::origin::h1::decode::BodyError;

const ORIGIN: &str = "192.0.2.10:8443";
const HOST: &str = "staging.example.test";
const LIMIT: usize = 16384;

fn context(ssl: SslMode) -> Context<'static> {
    Context {
        origin: ORIGIN,
        host: HOST,
        ssl,
        header_limit: LIMIT,
    }
}

fn io(kind: io::ErrorKind) -> io::Error {
    io::Error::from(kind)
}

fn rustls_error() -> rustls::Error {
    rustls::Error::General("x".into())
}

fn alert(byte: u8) -> OriginFailure {
    OriginFailure::TlsHandshake(HandshakeFailure::Alert(AlertDescription::from(byte)))
}

fn certificate(reason: CertificateReason) -> OriginFailure {
    OriginFailure::InvalidCertificate(CertificateFailure {
        reason,
        detail: rustls::Error::InvalidCertificate(rustls::CertificateError::Expired),
    })
}

fn dns(cause: DnsCause) -> OriginFailure {
    OriginFailure::Dns(DnsFailure {
        name: "origin.example.test".into(),
        cause,
    })
}

/// A real `hyper::Error` (it has no public constructor): a client handed bytes that are not
/// an HTTP response.
async fn hyper_error() -> hyper::Error {
    let (ours, mut theirs) = tokio::io::duplex(4096);
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(ours))
            .await
            .expect("a handshake over a duplex needs no bytes");
    tokio::spawn(connection);
    theirs
        .write_all(b"NOT HTTP AT ALL\r\n\r\n")
        .await
        .expect("the duplex takes the bytes");
    sender
        .send_request(http::Request::new(Empty::new()))
        .await
        .expect_err("garbage is not a response")
}

/// One failure of every variant, and of every sub-cause with its own advice.
async fn every_failure() -> Vec<OriginFailure> {
    let after = Duration::from_secs(15);
    let mut failures = vec![
        OriginFailure::Unknown(Unknown::EmptyReply),
        OriginFailure::Unknown(Unknown::ClosedMidHead { received: 10 }),
        OriginFailure::Unknown(Unknown::Reset(io(io::ErrorKind::ConnectionReset))),
        OriginFailure::Unknown(Unknown::MalformedHead(Malformed("invalid status line"))),
        OriginFailure::Unknown(Unknown::BadStatus { status: 600 }),
        OriginFailure::Unknown(Unknown::HeadersTooLarge { limit: LIMIT }),
        OriginFailure::Unknown(Unknown::AmbiguousFraming),
        OriginFailure::Refused(io(io::ErrorKind::ConnectionRefused)),
        OriginFailure::ConnectTimeout { after },
        OriginFailure::AckTimeout { after },
        OriginFailure::Unreachable(io(io::ErrorKind::HostUnreachable)),
        OriginFailure::Unreachable(io(io::ErrorKind::NetworkUnreachable)),
        OriginFailure::ReadTimeout { after },
        OriginFailure::WriteTimeout { after },
        OriginFailure::Gateway { status: 502 },
        OriginFailure::Gateway { status: 504 },
        OriginFailure::VisitorBody(hyper_error().await),
        OriginFailure::BodyTooLarge { limit: 100 },
        OriginFailure::Internal(io::Error::from_raw_os_error(libc::EMFILE)),
        OriginFailure::Internal(io(io::ErrorKind::AddrNotAvailable)),
        OriginFailure::Internal(io(io::ErrorKind::Other)),
        OriginFailure::Edge { status: 503 },
        OriginFailure::Numbered {
            status: 530,
            code: 1033,
        },
        OriginFailure::Numbered {
            status: 403,
            code: 1020,
        },
        OriginFailure::Railgun(Box::new(OriginFailure::Refused(io(
            io::ErrorKind::ConnectionRefused,
        )))),
        OriginFailure::Railgun(Box::new(OriginFailure::ReadTimeout { after })),
        OriginFailure::Railgun(Box::new(OriginFailure::ConnectTimeout { after })),
        OriginFailure::Railgun(Box::new(OriginFailure::TlsHandshake(
            HandshakeFailure::Closed,
        ))),
        OriginFailure::Railgun(Box::new(OriginFailure::Unknown(Unknown::EmptyReply))),
    ];
    let handshakes = [
        HandshakeFailure::NoTls { http: true },
        HandshakeFailure::NoTls { http: false },
        HandshakeFailure::Closed,
        HandshakeFailure::Reset(io(io::ErrorKind::ConnectionReset)),
        HandshakeFailure::Timeout { after },
        HandshakeFailure::ProtocolVersion(rustls_error()),
        HandshakeFailure::NoSharedCipher(rustls_error()),
        HandshakeFailure::NoSharedGroup(rustls_error()),
        HandshakeFailure::NoCertificate,
        HandshakeFailure::Incompatible(rustls_error()),
        HandshakeFailure::Misbehaved(rustls_error()),
        HandshakeFailure::Other(io(io::ErrorKind::Other)),
    ];
    failures.extend(handshakes.into_iter().map(OriginFailure::TlsHandshake));
    failures.extend([112, 70, 40, 71, 116, 80].map(alert));
    failures.extend(
        [
            CertificateReason::Expired,
            CertificateReason::NotYetValid,
            CertificateReason::SelfSigned,
            CertificateReason::Untrusted,
            CertificateReason::NameMismatch,
            CertificateReason::Revoked,
            CertificateReason::BadSignature,
            CertificateReason::Invalid,
        ]
        .map(certificate),
    );
    failures.extend(
        [
            DnsCause::Lookup(io(io::ErrorKind::NotFound)),
            DnsCause::NoAddress,
            DnsCause::NotInStaticHosts,
            DnsCause::Timeout { after },
            DnsCause::Emulated,
        ]
        .map(dns),
    );
    failures
}

/// Every line a check list may print: a sentence, with every placeholder filled in.
fn assert_sentences(what: &str, lines: &[String]) {
    assert!(!lines.is_empty(), "{what}: no checks");
    for line in lines {
        assert!(!line.trim().is_empty(), "{what}: an empty line");
        assert_eq!(line.trim(), line, "{what}: stray whitespace in {line:?}");
        assert!(
            line.ends_with(['.', '!', '?']),
            "{what}: no final punctuation in {line:?}"
        );
        assert!(!line.contains("  "), "{what}: a double space in {line:?}");
        assert!(
            !line.contains("{origin}") && !line.contains("{host}") && !line.contains("{}"),
            "{what}: an unfilled placeholder in {line:?}"
        );
        assert_eq!(
            line.matches('`').count() % 2,
            0,
            "{what}: an unclosed backquote in {line:?}"
        );
    }
    let mut unique = lines.to_vec();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), lines.len(), "{what}: a line repeated");
}

#[tokio::test]
async fn every_failure_has_checks_that_read_as_sentences() {
    for ssl in SslMode::ALL {
        for failure in every_failure().await {
            let what = format!("{failure:?} in {ssl}");
            assert_sentences(&what, &checks(&failure, &context(ssl)));
        }
    }
}

#[tokio::test]
async fn the_other_checks_read_as_sentences() {
    let c = context(SslMode::Full);
    let failed = [
        "192.0.2.9:80 refused".to_owned(),
        "[2001:db8::9]:80 timed out".to_owned(),
    ];
    assert_sentences("keep-alive", &keep_alive_off(&c));
    let stalled = BodyAbort::Stalled {
        after: Duration::from_secs(100),
    };
    assert_sentences("body stalled", &body_aborted(&stalled, &c));
    assert!(body_aborted(&stalled, &c)[0].contains("100s"));
    let broken = BodyAbort::Origin(BodyFault::Framing(BodyError::CutShort));
    assert_sentences("body broke", &body_aborted(&broken, &c));
    assert_sentences("other addresses", &other_addresses_failed(&failed, &c));
    assert_sentences("no other address", &other_addresses_failed(&[], &c));
    for days in [-1, 0, 1, 14] {
        assert_sentences("expires soon", &certificate_expires_soon(days, &c));
    }
    for status in [
        400, 401, 403, 404, 410, 421, 429, 500, 501, 502, 503, 504, 599,
    ] {
        assert_sentences(&status.to_string(), &origin_error_status(status, &c));
    }
}

/// Whether any line says `text`.
fn says(lines: &[String], text: &str) -> bool {
    lines.iter().any(|line| line.contains(text))
}

#[test]
fn connection_checks_name_the_origin_address_and_port() {
    let c = context(SslMode::Off);
    let refused = checks(
        &OriginFailure::Refused(io(io::ErrorKind::ConnectionRefused)),
        &c,
    );
    assert!(refused[0].contains(ORIGIN) && refused[0].contains("port 8443 of 192.0.2.10"));
    assert!(!says(&refused, "tls_port"), "{refused:?}");
    let after = Duration::from_millis(250);
    let timeout = checks(&OriginFailure::ConnectTimeout { after }, &c);
    assert!(timeout[0].contains(ORIGIN) && timeout[0].contains("250ms"));
    assert!(says(&timeout, "`mtr 192.0.2.10`"), "{timeout:?}");
    let read = checks(
        &OriginFailure::ReadTimeout {
            after: Duration::from_secs(100),
        },
        &c,
    );
    assert!(read[0].contains("100s"), "{read:?}");
    assert!(says(&read, "6000s"), "{read:?}");
}

#[test]
fn no_route_to_an_ipv6_origin_points_at_ipv6() {
    let c = Context {
        origin: "[2001:db8::1]:443",
        ..context(SslMode::Off)
    };
    let unreachable = OriginFailure::Unreachable(io(io::ErrorKind::NetworkUnreachable));
    let lines = checks(&unreachable, &c);
    assert!(lines[0].contains("IPv6 route to 2001:db8::1"), "{lines:?}");
    let v4 = checks(&unreachable, &context(SslMode::Off));
    assert!(v4[0].contains("`ip route get 192.0.2.10`"), "{v4:?}");
}

#[test]
fn refused_in_a_tls_mode_asks_for_the_tls_port_too() {
    let refused = OriginFailure::Refused(io(io::ErrorKind::ConnectionRefused));
    let lines = checks(&refused, &context(SslMode::FullStrict));
    assert!(says(&lines, "`[origin] tls_port`"), "{lines:?}");
    assert!(says(&lines, "full_strict"), "{lines:?}");
}

#[tokio::test]
async fn each_520_cause_comes_first_and_the_header_limit_is_named() {
    let lines = |unknown| checks(&OriginFailure::Unknown(unknown), &context(SslMode::Off));
    let empty = lines(Unknown::EmptyReply);
    assert!(empty[0].contains("without a byte"), "{empty:?}");
    assert!(says(&empty, "under 16384 bytes"), "{empty:?}");
    let closed = lines(Unknown::ClosedMidHead { received: 10 });
    assert!(closed[0].contains("after 10 bytes"), "{closed:?}");
    assert!(closed[0].contains("upstream prematurely closed connection"));
    let large = lines(Unknown::HeadersTooLarge { limit: 131072 });
    assert!(large[0].contains("131072 bytes") && large[0].contains("Set-Cookie"));
    assert!(
        !says(&large[1..], "limits.origin_header_bytes"),
        "{large:?}"
    );
    let malformed = lines(Unknown::MalformedHead(Malformed("invalid status line")));
    assert!(
        malformed[0].contains(&format!("http://{ORIGIN}/")),
        "{malformed:?}"
    );
    assert!(
        malformed[0].contains(&format!("Host: {HOST}")),
        "{malformed:?}"
    );
    assert!(lines(Unknown::BadStatus { status: 600 })[0].contains("600"));
}

#[test]
fn handshake_checks_start_with_the_precise_cause() {
    let c = context(SslMode::Full);
    let first = |failure: OriginFailure| checks(&failure, &c).remove(0);
    let plain = first(OriginFailure::TlsHandshake(HandshakeFailure::NoTls {
        http: true,
    }));
    assert!(plain.contains("plain HTTP") && plain.contains("`[origin] tls_port`"));
    assert!(plain.contains("flexible"), "{plain}");
    let not_tls = OriginFailure::TlsHandshake(HandshakeFailure::NoTls { http: false });
    assert_eq!(
        checks(&not_tls, &c).len(),
        2,
        "only the port and the fallback matter"
    );
    let sni = first(alert(112));
    assert!(
        sni.contains(HOST) && sni.contains("`[origin] sni`"),
        "{sni}"
    );
    assert!(first(alert(116)).contains("client certificate"));
    assert!(first(alert(80)).contains("alert `internal_error`"));
    let cipher = first(OriginFailure::TlsHandshake(
        HandshakeFailure::NoSharedCipher(rustls_error()),
    ));
    assert!(cipher.contains("ChaCha20-Poly1305"), "{cipher}");
    let closed = checks(&OriginFailure::TlsHandshake(HandshakeFailure::Closed), &c);
    assert!(says(
        &closed,
        &format!("-connect {ORIGIN} -servername {HOST}")
    ));
    assert!(says(&closed, "the mode here is \"full\""), "{closed:?}");
}

#[test]
fn certificate_checks_follow_the_reason() {
    let c = context(SslMode::Strict);
    let first = |reason| checks(&certificate(reason), &c).remove(0);
    assert!(first(CertificateReason::Expired).contains("renew"));
    assert!(first(CertificateReason::NotYetValid).contains("clock"));
    let self_signed = first(CertificateReason::SelfSigned);
    assert!(self_signed.contains("`[origin] ca`") && self_signed.contains("\"full\""));
    assert!(first(CertificateReason::Untrusted).contains("full chain"));
    let name = first(CertificateReason::NameMismatch);
    assert!(
        name.contains(HOST) && name.contains("`[origin] sni`"),
        "{name}"
    );
    assert!(first(CertificateReason::Revoked).contains("`[origin] crl`"));
    let lines = checks(&certificate(CertificateReason::Invalid), &c);
    assert!(says(&lines, "ssl = \"strict\""), "{lines:?}");
}

#[test]
fn dns_checks_name_the_name_and_the_static_hosts() {
    let c = context(SslMode::Off);
    let missing = checks(&dns(DnsCause::NotInStaticHosts), &c);
    assert!(missing[0].contains("origin.example.test") && missing[0].contains("`[dns] hosts`"));
    let lookup = checks(&dns(DnsCause::Lookup(io(io::ErrorKind::NotFound))), &c);
    assert!(
        lookup[0].contains("`dig origin.example.test`"),
        "{lookup:?}"
    );
    assert!(says(&lookup, "`[dns] hosts`"), "{lookup:?}");
    let emulated = checks(&dns(DnsCause::Emulated), &c);
    assert!(emulated[0].contains("fault rule"), "{emulated:?}");
}

#[test]
fn railgun_checks_come_before_the_inner_failures() {
    let c = context(SslMode::Off);
    let inner = || OriginFailure::Refused(io(io::ErrorKind::ConnectionRefused));
    let lines = checks(&OriginFailure::Railgun(Box::new(inner())), &c);
    assert!(lines[0].contains("listener"), "{lines:?}");
    assert!(lines.ends_with(&checks(&inner(), &c)), "{lines:?}");
    let lan = checks(
        &OriginFailure::Railgun(Box::new(OriginFailure::ReadTimeout {
            after: Duration::from_secs(30),
        })),
        &c,
    );
    assert!(
        lan[0].contains("30s") && lan[0].contains("lan_timeout"),
        "{lan:?}"
    );
}

#[test]
fn internal_failures_blame_edgecase_not_the_origin() {
    let c = context(SslMode::Off);
    let descriptors = checks(
        &OriginFailure::Internal(io::Error::from_raw_os_error(libc::EMFILE)),
        &c,
    );
    assert!(
        descriptors[0].contains("file descriptors"),
        "{descriptors:?}"
    );
    assert!(descriptors[0].contains("not at fault"), "{descriptors:?}");
}

#[test]
fn warnings_name_their_facts() {
    let c = context(SslMode::FullStrict);
    assert!(keep_alive_off(&c)[0].contains(ORIGIN));
    assert!(keep_alive_off(&c)[0].contains("TLS"));
    assert!(!keep_alive_off(&context(SslMode::Off))[0].contains("TLS"));
    let v4 = ["192.0.2.9:80 refused".to_owned()];
    let lines = other_addresses_failed(&v4, &c);
    assert!(lines[0].contains("192.0.2.9:80 refused") && lines[0].contains(ORIGIN));
    assert!(!says(&lines, "IPv6"), "{lines:?}");
    let v6 = ["[2001:db8::9]:80 refused".to_owned()];
    assert!(says(&other_addresses_failed(&v6, &c), "IPv6"));
    let soon = certificate_expires_soon(14, &c);
    assert!(
        soon[0].contains("in 14 days") && soon[0].contains(HOST),
        "{soon:?}"
    );
    assert!(certificate_expires_soon(1, &c)[0].contains("in 1 day:"));
    assert!(certificate_expires_soon(0, &c)[0].contains("within a day"));
    let missing = origin_error_status(404, &c);
    assert!(missing[0].contains(HOST), "{missing:?}");
    assert!(says(&missing, &format!("--connect-to {HOST}:443:{ORIGIN}")));
    assert!(origin_error_status(502, &c)[0].contains("502"));
}

#[test]
fn origin_addresses_split_into_host_and_port() {
    assert_eq!(split("192.0.2.10:8443"), ("192.0.2.10", "8443"));
    assert_eq!(split("[2001:db8::1]:443"), ("2001:db8::1", "443"));
    assert_eq!(split("origin.test"), ("origin.test", ""));
}
