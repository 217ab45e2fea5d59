//! HTTPS for visitors, end to end over real loopback sockets: h2 and http/1.1 chosen by ALPN,
//! `/cdn-cgi/trace` reporting the real TLS version, SNI, HTTP version and key-exchange group,
//! the scheme the origin is told (`x-forwarded-proto`, `cf-visitor`), the `ssl = "off"` redirect
//! to plain HTTP, and the edge's own certificate: a visitor that does not trust it fails alone,
//! and a visitor that says nothing blocks nobody.
//!
//! The edge runs in-process with both listeners ([`spawn_edge_tls`]), its certificate issued by
//! a test CA for `localhost`, `127.0.0.1` and [`HOST`]; the origins are the plain ones.
mod support;

use std::net::SocketAddr;

use http::{StatusCode, Version};
use rustls::crypto::ring::kx_group;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, NamedGroup, ProtocolVersion};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use support::https::{H2, HTTP_1_1, HttpsError, HttpsResponse, HttpsVisitor, TlsVersions};
use support::origins::{Origin, RecordedRequest};
use support::pki::{TempDir, TestCa};
use support::visitor::{Response, get_with_host, raw_exchange, within};
use support::{Edge, GUARD, assert_ray_format, spawn_edge_tls, tls_test_config_with};

/// The Host the tests visit; the edge's certificate covers it.
const HOST: &str = "site.test";

/// What the plain origins answer.
const ORIGIN_BODY: &str = "answered by the origin";

/// An edge with HTTPS and the files and CA behind its certificate (kept alive with it).
struct TlsEdge {
    edge: Edge,
    ca: TestCa,
    _dir: TempDir,
}

impl TlsEdge {
    /// An edge forwarding to `origin` with `ssl` (a mode word), serving HTTPS with a
    /// certificate for `localhost`, `127.0.0.1` and [`HOST`] issued by a fresh test CA.
    async fn start(origin: &Origin, ssl: &str) -> TlsEdge {
        TlsEdge::start_with(origin, ssl, "").await
    }

    /// As [`TlsEdge::start`], with `extra` TOML appended to the config.
    async fn start_with(origin: &Origin, ssl: &str, extra: &str) -> TlsEdge {
        let ca = TestCa::new("edgecase visitor-side test CA");
        let identity = ca.issue(&["localhost", "127.0.0.1", HOST]);
        let dir = TempDir::new("visitor-tls");
        let (cert, key) = identity.write_to(&dir, "edge");
        let config = tls_test_config_with(origin.addr(), &cert, &key, ssl, extra);
        TlsEdge {
            edge: spawn_edge_tls(config).await,
            ca,
            _dir: dir,
        }
    }

    fn root(&self) -> CertificateDer<'static> {
        self.ca.cert_der()
    }

    /// A visitor trusting the edge's CA, expecting `server_name`, sending `Host:` [`HOST`].
    fn visitor(&self, server_name: &str) -> HttpsVisitor {
        HttpsVisitor::new(self.root(), server_name).host(HOST)
    }

    fn https(&self) -> SocketAddr {
        self.edge.https_addr()
    }

    /// `GET path` over HTTPS from `visitor`, within [`GUARD`].
    async fn get_as(&self, visitor: HttpsVisitor, path: &str) -> HttpsResponse {
        within(GUARD, visitor.get(self.https(), path)).await
    }

    /// `GET path` over HTTPS from a visitor expecting `localhost` and offering `alpn`.
    async fn get(&self, alpn: &[&[u8]], path: &str) -> HttpsResponse {
        self.get_as(self.visitor("localhost").alpn(alpn), path)
            .await
    }

    /// `GET path` over plain HTTP with `Host:` [`HOST`], within [`GUARD`].
    async fn get_plain(&self, path: &str) -> Response {
        within(GUARD, get_with_host(self.edge.addr(), HOST, path)).await
    }
}

/// An origin answering [`ORIGIN_BODY`] and an edge in front of it in SSL mode `ssl`.
async fn origin_and_edge(ssl: &str) -> (Origin, TlsEdge) {
    let origin = Origin::ok(ORIGIN_BODY).await;
    let edge = TlsEdge::start(&origin, ssl).await;
    (origin, edge)
}

/// The last request the origin saw, once it has seen `n`.
async fn forwarded(origin: &Origin, n: usize) -> RecordedRequest {
    within(GUARD, origin.requests_seen(n)).await;
    origin
        .last_request()
        .expect("the origin recorded the request")
}

/// The trace body as `(key, value)` pairs, after checking it is a 200 trace.
#[track_caller]
fn trace_fields(res: &Response) -> Vec<(String, String)> {
    assert_eq!(res.status(), 200, "body: {}", res.text());
    assert_eq!(res.header("content-type"), Some("text/plain"));
    assert_ray_format(res.header("cf-ray").expect("the trace carries cf-ray"));
    res.text()
        .lines()
        .map(|line| {
            let (key, value) = line.split_once('=').expect("each line is key=value");
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// Asserts the trace has exactly `expected` for each of those keys.
#[track_caller]
fn assert_trace(res: &Response, expected: &[(&str, &str)]) {
    let fields = trace_fields(res);
    for (key, want) in expected {
        let got = fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {key} in the trace:\n{}", res.text()));
        assert_eq!(got, *want, "{key} in the trace:\n{}", res.text());
    }
}

/// Asserts an origin response passed through: 200, the origin's body, the edge's headers.
#[track_caller]
fn assert_passed_through(res: &Response) {
    assert_eq!(res.status(), 200, "body: {}", res.text());
    assert_eq!(res.text(), ORIGIN_BODY);
    assert_eq!(res.header("server"), Some("cloudflare"));
    assert_ray_format(
        res.header("cf-ray")
            .expect("a passed-through answer carries cf-ray"),
    );
}

// ---------------------------------------------------------------------------------------------
// h2 and http/1.1 over TLS
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn h2_over_tls_reaches_the_origin_and_answers_in_http2() {
    let (origin, edge) = origin_and_edge("flexible").await;

    let res = edge.get(&[H2], "/h2").await;

    assert_eq!(res.tls.alpn.as_deref(), Some(H2));
    assert_eq!(res.response.version, Version::HTTP_2);
    assert_passed_through(&res.response);
    let seen = forwarded(&origin, 1).await;
    assert_eq!(seen.uri.path(), "/h2");
    assert_eq!(seen.header("host"), Some(HOST));
}

#[tokio::test]
async fn http1_over_tls_reaches_the_origin_and_answers_in_http1_1() {
    let (origin, edge) = origin_and_edge("flexible").await;

    let res = edge.get(&[HTTP_1_1], "/h1?q=1").await;

    assert_eq!(res.tls.alpn.as_deref(), Some(HTTP_1_1));
    assert_eq!(res.response.version, Version::HTTP_11);
    assert_passed_through(&res.response);
    let seen = forwarded(&origin, 1).await;
    assert_eq!(
        seen.uri.path_and_query().map(|p| p.as_str()),
        Some("/h1?q=1")
    );
    assert_eq!(seen.header("host"), Some(HOST));
}

#[tokio::test]
async fn a_visitor_offering_h2_and_http1_gets_h2_in_either_order() {
    let (_origin, edge) = origin_and_edge("flexible").await;

    for offer in [[H2, HTTP_1_1], [HTTP_1_1, H2]] {
        let res = edge.get(&offer, "/").await;
        assert_eq!(res.tls.alpn.as_deref(), Some(H2), "offered {offer:?}");
        assert_eq!(res.response.version, Version::HTTP_2, "offered {offer:?}");
        assert_passed_through(&res.response);
    }
}

#[tokio::test]
async fn a_visitor_offering_no_alpn_is_served_http1_1() {
    let (_origin, edge) = origin_and_edge("flexible").await;

    let res = edge.get(&[], "/").await;

    assert_eq!(res.tls.alpn, None);
    assert_eq!(res.response.version, Version::HTTP_11);
    assert_passed_through(&res.response);
}

// ---------------------------------------------------------------------------------------------
// /cdn-cgi/trace over HTTPS
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn trace_over_tls13_h2_with_sni_reports_https_tlsv1_3_sni_plaintext_x25519() {
    let (origin, edge) = origin_and_edge("flexible").await;

    let res = edge.get(&[H2], "/cdn-cgi/trace").await;

    assert_eq!(res.tls.version, Some(ProtocolVersion::TLSv1_3));
    assert_eq!(res.tls.kx_group, Some(NamedGroup::X25519));
    assert_trace(
        &res.response,
        &[
            ("h", HOST),
            ("ip", "127.0.0.1"),
            ("visit_scheme", "https"),
            ("http", "http/2"),
            ("tls", "TLSv1.3"),
            ("sni", "plaintext"),
            ("kex", "X25519"),
        ],
    );
    assert!(origin.requests().is_empty(), "the trace was forwarded");
    assert_eq!(origin.connections(), 0, "the edge connected to the origin");
}

#[tokio::test]
async fn trace_over_http1_reports_http1_1() {
    let (_origin, edge) = origin_and_edge("flexible").await;

    let res = edge.get(&[HTTP_1_1], "/cdn-cgi/trace").await;

    assert_trace(
        &res.response,
        &[
            ("h", HOST),
            ("visit_scheme", "https"),
            ("http", "http/1.1"),
            ("tls", "TLSv1.3"),
            ("sni", "plaintext"),
            ("kex", "X25519"),
        ],
    );
}

#[tokio::test]
async fn trace_from_a_tls12_only_visitor_reports_tlsv1_2() {
    let (_origin, edge) = origin_and_edge("flexible").await;

    let res = edge
        .get_as(
            edge.visitor("localhost")
                .versions(TlsVersions::Tls12Only)
                .alpn(&[H2]),
            "/cdn-cgi/trace",
        )
        .await;

    assert_eq!(res.tls.version, Some(ProtocolVersion::TLSv1_2));
    assert_trace(
        &res.response,
        &[
            ("visit_scheme", "https"),
            ("http", "http/2"),
            ("tls", "TLSv1.2"),
            ("sni", "plaintext"),
            ("kex", "X25519"),
        ],
    );
}

#[tokio::test]
async fn trace_from_a_visitor_without_sni_reports_sni_off() {
    let (_origin, edge) = origin_and_edge("flexible").await;

    // An IP-address server name: rustls sends no SNI and checks the IP SAN.
    let res = edge
        .get_as(
            edge.visitor("127.0.0.1").alpn(&[HTTP_1_1]),
            "/cdn-cgi/trace",
        )
        .await;

    assert_trace(
        &res.response,
        &[
            ("h", HOST),
            ("visit_scheme", "https"),
            ("http", "http/1.1"),
            ("tls", "TLSv1.3"),
            ("sni", "off"),
            ("kex", "X25519"),
        ],
    );
}

#[tokio::test]
async fn trace_reports_the_group_a_restricted_visitor_forced() {
    let (_origin, edge) = origin_and_edge("flexible").await;

    for (group, name, versions) in [
        (kx_group::SECP256R1, "secp256r1", TlsVersions::Tls13Only),
        (kx_group::SECP384R1, "secp384r1", TlsVersions::Tls13Only),
        (kx_group::SECP256R1, "secp256r1", TlsVersions::Tls12Only),
    ] {
        let res = edge
            .get_as(
                edge.visitor("localhost").kx_group(group).versions(versions),
                "/cdn-cgi/trace",
            )
            .await;
        assert_eq!(res.tls.kx_group, Some(group.name()), "{versions:?}");
        assert_trace(&res.response, &[("visit_scheme", "https"), ("kex", name)]);
    }
}

#[tokio::test]
async fn trace_over_plain_http_on_a_tls_edge_reports_tls_off_sni_off_kex_none() {
    let (_origin, edge) = origin_and_edge("flexible").await;

    let res = edge.get_plain("/cdn-cgi/trace").await;

    assert_trace(
        &res,
        &[
            ("h", HOST),
            ("visit_scheme", "http"),
            ("http", "http/1.1"),
            ("tls", "off"),
            ("sni", "off"),
            ("kex", "none"),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// What the origin is told about the visitor's scheme
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn requests_over_tls_reach_the_origin_marked_https_in_flexible_mode() {
    let (origin, edge) = origin_and_edge("flexible").await;

    for (n, alpn) in [H2, HTTP_1_1].into_iter().enumerate() {
        let res = edge.get(&[alpn], "/").await;
        assert_passed_through(&res.response);
        let seen = forwarded(&origin, n + 1).await;
        assert_eq!(seen.header("x-forwarded-proto"), Some("https"), "{alpn:?}");
        assert_eq!(
            seen.header("cf-visitor"),
            Some(r#"{"scheme":"https"}"#),
            "{alpn:?}"
        );
        // Flexible: the origin is reached over plain HTTP whatever the visitor used.
        assert_eq!(seen.version, Version::HTTP_11, "{alpn:?}");
    }
}

#[tokio::test]
async fn requests_over_plain_http_on_a_tls_edge_reach_the_origin_marked_http() {
    let (origin, edge) = origin_and_edge("flexible").await;

    let res = edge.get_plain("/").await;

    assert_passed_through(&res);
    let seen = forwarded(&origin, 1).await;
    assert_eq!(seen.header("x-forwarded-proto"), Some("http"));
    assert_eq!(seen.header("cf-visitor"), Some(r#"{"scheme":"http"}"#));
}

// ---------------------------------------------------------------------------------------------
// ssl = "off": HTTPS visitors are sent to plain HTTP
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ssl_off_redirects_https_visitors_to_http_with_301_keeping_path_and_query() {
    let (origin, edge) = origin_and_edge("off").await;
    let expected = format!("http://{HOST}:{}/a?b=1", edge.edge.addr().port());

    for alpn in [HTTP_1_1, H2] {
        let res = edge.get(&[alpn], "/a?b=1").await;
        let res = res.response;
        assert_eq!(
            res.status(),
            StatusCode::MOVED_PERMANENTLY,
            "{alpn:?}: {}",
            res.text()
        );
        assert_eq!(res.header("location"), Some(expected.as_str()), "{alpn:?}");
        assert_eq!(res.header("server"), Some("cloudflare"), "{alpn:?}");
        assert_ray_format(res.header("cf-ray").expect("the redirect carries cf-ray"));
    }
    assert!(
        origin.requests().is_empty(),
        "a redirected request was forwarded"
    );
    assert_eq!(origin.connections(), 0, "the edge connected to the origin");
}

#[tokio::test]
async fn ssl_off_redirect_names_the_host_without_the_visitors_port() {
    let (origin, edge) = origin_and_edge("off").await;
    let host_with_port = format!("{HOST}:{}", edge.https().port());

    let res = within(
        GUARD,
        HttpsVisitor::new(edge.root(), "localhost")
            .alpn(&[HTTP_1_1])
            .host(&host_with_port)
            .get(edge.https(), "/p"),
    )
    .await;

    assert_eq!(res.response.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        res.response.header("location"),
        Some(format!("http://{HOST}:{}/p", edge.edge.addr().port()).as_str())
    );
    assert!(
        origin.requests().is_empty(),
        "a redirected request was forwarded"
    );
}

#[tokio::test]
async fn ssl_off_still_answers_the_trace_over_https_and_plain_http_still_reaches_the_origin() {
    let (origin, edge) = origin_and_edge("off").await;

    let trace = edge.get(&[HTTP_1_1], "/cdn-cgi/trace").await;
    assert_trace(
        &trace.response,
        &[("visit_scheme", "https"), ("tls", "TLSv1.3")],
    );
    assert!(origin.requests().is_empty(), "the trace was forwarded");

    let plain = edge.get_plain("/a?b=1").await;
    assert_passed_through(&plain);
    within(GUARD, origin.request_seen()).await;
}

// ---------------------------------------------------------------------------------------------
// The edge's own certificate and handshakes that never finish
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_visitor_that_does_not_trust_the_edge_certificate_fails_alone() {
    let (_origin, edge) = origin_and_edge("flexible").await;
    let stranger = TestCa::new("a CA the edge's certificate does not chain to");

    let untrusting = HttpsVisitor::new(stranger.cert_der(), "localhost");
    let error = within(GUARD, untrusting.handshake(edge.https()))
        .await
        .expect_err("a visitor not trusting the edge's CA fails the handshake");
    assert!(matches!(error, HttpsError::Tls(_)), "{error:?}");
    assert!(
        matches!(
            error.tls_error(),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        ),
        "{error:?}"
    );
    let wrong_name = edge.visitor("other.test");
    let error = within(GUARD, wrong_name.handshake(edge.https()))
        .await
        .expect_err("a visitor expecting another name fails the handshake");
    assert!(
        matches!(
            error.tls_error(),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            ))
        ),
        "{error:?}"
    );

    let res = edge.get_as(edge.visitor("localhost"), "/").await;
    assert_passed_through(&res.response);
}

#[tokio::test]
async fn visitors_that_send_nothing_or_half_a_hello_do_not_block_others() {
    let (_origin, edge) = origin_and_edge("flexible").await;

    let silent = within(GUARD, TcpStream::connect(edge.https()))
        .await
        .expect("connect to the TLS listener");
    let mut half = within(GUARD, TcpStream::connect(edge.https()))
        .await
        .expect("connect to the TLS listener");
    // A handshake record header announcing 165 bytes, and none of them.
    within(GUARD, half.write_all(b"\x16\x03\x01\x00\xa5\x01\x00"))
        .await
        .expect("write half a ClientHello");

    for alpn in [H2, HTTP_1_1] {
        let res = edge.get(&[alpn], "/").await;
        assert_passed_through(&res.response);
    }
    let trace = edge
        .get_as(edge.visitor("127.0.0.1"), "/cdn-cgi/trace")
        .await;
    assert_trace(&trace.response, &[("visit_scheme", "https")]);
    drop((silent, half));
}

#[tokio::test]
async fn plain_http_sent_to_the_tls_port_is_dropped_and_others_are_served() {
    let (origin, edge) = origin_and_edge("flexible").await;

    let outcome = within(
        GUARD,
        raw_exchange(
            edge.https(),
            b"GET / HTTP/1.1\r\nhost: site.test\r\nconnection: close\r\n\r\n",
        ),
    )
    .await;
    // The connection ended (the exchange returned); at most a 400 came back, as Cloudflare's
    // "plain HTTP request was sent to HTTPS port" page, never a forwarded answer.
    assert!(
        matches!(outcome.status(), None | Some(400)),
        "the TLS port answered plain HTTP: {:?}",
        String::from_utf8_lossy(&outcome.bytes)
    );
    assert!(
        origin.requests().is_empty(),
        "plain HTTP on the TLS port was forwarded"
    );

    let res = edge.get_as(edge.visitor("localhost"), "/").await;
    assert_passed_through(&res.response);
}

#[tokio::test]
async fn an_https_visitor_silent_after_its_handshake_is_dropped_at_the_header_timeout() {
    use tokio::io::AsyncReadExt;
    let origin = Origin::ok("origin").await;
    let edge = TlsEdge::start_with(
        &origin,
        "flexible",
        "[limits]\nclient_header_timeout = \"300ms\"\n",
    )
    .await;
    let (mut tls, _) = edge
        .visitor(HOST)
        .connect(edge.https())
        .await
        .expect("the handshake completes");
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    // The edge closes the connection (EOF, or a reset some TLS stacks see instead).
    let _ = within(GUARD, tls.read_to_end(&mut rest)).await;
    let after = started.elapsed();
    assert!(rest.is_empty(), "no answer is sent: {rest:?}");
    assert!(
        after >= std::time::Duration::from_millis(250) && after < std::time::Duration::from_secs(3),
        "dropped after {after:?}"
    );
    assert_eq!(origin.connections(), 0, "the origin never heard of it");
}
