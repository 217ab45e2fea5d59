//! TLS from the edge to the origin, over real loopback sockets: which scheme each `ssl` mode
//! uses for HTTP and HTTPS visitors, certificate checks (526 and its causes), failed handshakes
//! (525 and its causes), the SNI sent and checked, and TLS connection reuse.
//!
//! Certificates are made per test (`support/pki.rs`); TLS origins and misbehaving TLS ports
//! come from `support/tls_origins.rs`. Visitors come over plain HTTP where the mode allows
//! (strict sends TLS to the origin for them too), and over HTTPS (`support/https.rs`) where the
//! mode's behaviour depends on it.
mod support;

use std::net::SocketAddr;
use std::ops::Deref;
use std::time::Duration;

use http::Version;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use edgecase::config::Config;
use support::https::{HTTP_1_1, HttpsVisitor};
use support::log::CapturedLog;
use support::origins::Origin;
use support::pki::{Identity, TempDir, TestCa, self_signed};
use support::tls_origins::{
    HANDSHAKE_FAILURE, PROTOCOL_VERSION, RawTlsOrigin, TLS_ORIGIN_BODY, TlsOptions, TlsOrigin,
    TlsVersions, is_client_hello,
};
use support::visitor::{Response, get_with_host, within};
use support::{GUARD, assert_branded_host_error, assert_took, ms, spawn_edge, spawn_edge_tls};

/// The Host visitors send, the default SNI, and the name in the origins' certificates.
const HOST: &str = "site.test";
/// The `[timeouts] connect` of tests that expect no timeout to fire.
const CONNECT_MS: u64 = 2_000;
/// The `[timeouts] connect` of tests that wait for the handshake timeout on purpose.
const SHORT_CONNECT_MS: u64 = 300;
/// Title of the 525 page.
const HANDSHAKE_FAILED: &str = "SSL handshake failed";
/// Title of the 526 page.
const INVALID_CERTIFICATE: &str = "Invalid SSL certificate";

/// An edge config under construction, written as the TOML a user would write.
struct Setup {
    /// The port of `[origin] address` (`origin.test`, mapped to 127.0.0.1).
    port: u16,
    /// Extra `[origin]` lines.
    origin: String,
    connect_ms: u64,
    /// Tables after `[dns]` (routes).
    tail: String,
    /// Files the config points at (CA, CRL, the edge's own certificate).
    files: TempDir,
}

impl Setup {
    fn new(port: u16, ssl: &str) -> Setup {
        Setup {
            port,
            origin: format!("ssl = \"{ssl}\"\n"),
            connect_ms: CONNECT_MS,
            tail: String::new(),
            files: TempDir::new("origin-tls"),
        }
    }

    /// Adds `key = value` (value already TOML) to `[origin]`.
    fn origin(mut self, key: &str, value: &str) -> Setup {
        self.origin.push_str(&format!("{key} = {value}\n"));
        self
    }

    fn tls_port(self, port: u16) -> Setup {
        self.origin("tls_port", &port.to_string())
    }

    /// Trusts `ca` (`[origin] ca`, written to a file).
    fn ca(self, ca: &TestCa) -> Setup {
        let path = self.files.write("origin-ca.pem", &ca.cert_pem());
        self.origin("ca", &format!("{:?}", path.display().to_string()))
    }

    /// Checks revocation against `crl` (`[origin] crl`, written to a file).
    fn crl(self, crl: &str) -> Setup {
        let path = self.files.write("origin-crl.pem", crl);
        self.origin("crl", &format!("{:?}", path.display().to_string()))
    }

    fn connect_ms(mut self, connect_ms: u64) -> Setup {
        self.connect_ms = connect_ms;
        self
    }

    fn tail(mut self, text: &str) -> Setup {
        self.tail.push_str(text);
        self
    }

    fn toml(&self, edge_tls: &str) -> String {
        format!(
            "[edge]\nlisten = \"127.0.0.1:0\"\nshutdown_grace = \"2s\"\n{edge_tls}\
             [origin]\naddress = \"origin.test:{}\"\n{}\
             [timeouts]\nconnect = \"{}ms\"\nack = \"2s\"\nwrite = \"2s\"\nread = \"2s\"\n\
             [dns]\nsystem = false\nhosts = {{ \"origin.test\" = \"127.0.0.1\" }}\n{}",
            self.port, self.origin, self.connect_ms, self.tail
        )
    }

    /// Starts an edge for plain HTTP visitors only.
    async fn spawn(self) -> RunningEdge {
        let text = self.toml("");
        let config = Config::from_toml_str(&text)
            .unwrap_or_else(|e| panic!("config should be valid: {e}\n{text}"));
        RunningEdge {
            edge: spawn_edge(config).await,
            _files: self.files,
        }
    }

    /// Starts an edge for HTTP and HTTPS visitors, serving a certificate for [`HOST`] from
    /// `edge_ca` (which the HTTPS visitor trusts).
    async fn spawn_tls(self, edge_ca: &TestCa) -> RunningEdge {
        let (cert, key) = edge_ca.issue(&[HOST]).write_to(&self.files, "edge");
        let text = self.toml(&format!(
            "tls_listen = \"127.0.0.1:0\"\ntls_cert = {:?}\ntls_key = {:?}\n",
            cert.display().to_string(),
            key.display().to_string()
        ));
        let config = Config::from_toml_str(&text)
            .unwrap_or_else(|e| panic!("config should be valid: {e}\n{text}"));
        RunningEdge {
            edge: spawn_edge_tls(config).await,
            _files: self.files,
        }
    }
}

/// The edge, and the files its config names (removed when it is dropped).
struct RunningEdge {
    edge: support::Edge,
    _files: TempDir,
}

impl Deref for RunningEdge {
    type Target = support::Edge;

    fn deref(&self) -> &support::Edge {
        &self.edge
    }
}

/// `GET path` over HTTPS on a fresh connection to `addr` (SNI and Host [`HOST`], ALPN `h2`
/// and `http/1.1`, so HTTP/2), trusting `edge_ca`. Panics if no head arrives.
async fn get_https(addr: SocketAddr, edge_ca: &TestCa, path: &str) -> Response {
    HttpsVisitor::new(edge_ca.cert_der(), HOST)
        .get(addr, path)
        .await
        .response
}

/// As [`get_https`], offering ALPN `http/1.1` only.
async fn get_https_h1(addr: SocketAddr, edge_ca: &TestCa, path: &str) -> Response {
    HttpsVisitor::new(edge_ca.cert_der(), HOST)
        .alpn(&[HTTP_1_1])
        .get(addr, path)
        .await
        .response
}

/// A plain HTTP visitor's `GET /` with `Host:` [`HOST`].
async fn get_plain(edge: &RunningEdge) -> Response {
    within(GUARD, get_with_host(edge.addr(), HOST, "/")).await
}

/// Asserts the access log line of `ray` names `cause`.
#[track_caller]
fn assert_cause(log: &CapturedLog, ray: &str, cause: &str) {
    let line = log.line_for(ray);
    assert!(
        line.contains(&format!(" cause={cause} ")),
        "expected cause {cause} in: {line}"
    );
}

/// Asserts `res` is a passthrough of the origin's `200` with `body`.
#[track_caller]
fn assert_passthrough(res: &Response, body: &str) {
    assert_eq!(res.status(), 200, "body: {}", res.text());
    assert_eq!(res.text(), body);
    assert_eq!(res.header("server"), Some("cloudflare"));
}

// --- off and flexible ---------------------------------------------------------------------

#[tokio::test]
async fn flexible_https_visitor_reaches_the_plain_origin_marked_https() {
    let edge_ca = TestCa::new("Edge CA");
    let origin = Origin::ok("plain origin").await;
    let edge = Setup::new(origin.addr().port(), "flexible")
        .spawn_tls(&edge_ca)
        .await;

    let res = within(GUARD, get_https(edge.https_addr(), &edge_ca, "/")).await;

    assert_passthrough(&res, "plain origin");
    let seen = origin.last_request().expect("the origin saw the request");
    assert_eq!(seen.header("x-forwarded-proto"), Some("https"));
    assert_eq!(seen.header("cf-visitor"), Some(r#"{"scheme":"https"}"#));
    assert_eq!(seen.header("host"), Some(HOST));
}

#[tokio::test]
async fn off_redirects_https_visitors_to_http_and_never_contacts_the_origin() {
    let edge_ca = TestCa::new("Edge CA");
    let origin = Origin::ok("plain origin").await;
    let edge = Setup::new(origin.addr().port(), "off")
        .spawn_tls(&edge_ca)
        .await;

    let res = within(
        GUARD,
        get_https(edge.https_addr(), &edge_ca, "/a/b?x=1&y=2"),
    )
    .await;

    assert_eq!(res.status(), 301, "body: {}", res.text());
    let port = edge.addr().port();
    assert_eq!(
        res.header("location"),
        Some(format!("http://{HOST}:{port}/a/b?x=1&y=2").as_str())
    );
    assert_eq!(res.header("server"), Some("cloudflare"));
    support::assert_ray_format(res.header("cf-ray").expect("cf-ray on the redirect"));

    let trace = within(
        GUARD,
        get_https(edge.https_addr(), &edge_ca, "/cdn-cgi/trace"),
    )
    .await;
    assert_eq!(trace.status(), 200, "the trace is answered over HTTPS too");
    assert!(
        trace.text().contains("visit_scheme=https"),
        "{}",
        trace.text()
    );
    assert_eq!(
        origin.connections(),
        0,
        "off never forwards an HTTPS visitor"
    );
}

#[tokio::test]
async fn plain_visitors_in_off_and_flexible_send_plain_http_even_to_a_tls_port() {
    for ssl in ["off", "flexible"] {
        let origin = TlsOrigin::ok(&self_signed(&[HOST])).await;
        let edge = Setup::new(origin.port(), ssl).spawn().await;

        let res = get_plain(&edge).await;

        within(GUARD, origin.plain_requests_seen(1)).await;
        let sent = origin.plain_requests().remove(0);
        assert!(
            sent.starts_with(b"GET / HTTP/1.1\r\n"),
            "{ssl}: the edge sent {:?}",
            String::from_utf8_lossy(&sent)
        );
        assert!(origin.hello_snis().is_empty(), "{ssl}: no ClientHello");
        // The TLS port closes on a plain request without a byte: an empty reply, not a 525.
        assert_eq!(res.status(), 520, "{ssl}: body: {}", res.text());
    }
}

// --- full ---------------------------------------------------------------------------------

/// A plain origin answering `plain origin` on `[origin] address`, a TLS origin with a
/// self-signed certificate for [`HOST`], and the edge's config in SSL mode `ssl` naming the TLS
/// one's port as `tls_port`.
async fn plain_and_tls_origins(ssl: &str) -> (Origin, TlsOrigin, Setup) {
    let plain = Origin::ok("plain origin").await;
    let tls = TlsOrigin::ok(&self_signed(&[HOST])).await;
    let setup = Setup::new(plain.addr().port(), ssl).tls_port(tls.port());
    (plain, tls, setup)
}

#[tokio::test]
async fn full_serves_plain_visitors_from_the_address_port_and_https_visitors_over_tls_port() {
    let edge_ca = TestCa::new("Edge CA");
    let (plain, tls, setup) = plain_and_tls_origins("full").await;
    let edge = setup.spawn_tls(&edge_ca).await;

    let res = get_plain(&edge).await;
    assert_passthrough(&res, "plain origin");
    assert_eq!(
        tls.connections(),
        0,
        "a plain visitor never reaches the TLS port"
    );
    let seen = plain
        .last_request()
        .expect("the plain origin saw the request");
    assert_eq!(seen.header("x-forwarded-proto"), Some("http"));

    let res = within(GUARD, get_https(edge.https_addr(), &edge_ca, "/")).await;
    assert_passthrough(&res, TLS_ORIGIN_BODY);
    assert_eq!(
        plain.connections(),
        1,
        "an HTTPS visitor never reaches the plain port"
    );
    let seen = tls.last_request().expect("the TLS origin saw the request");
    assert_eq!(seen.header("x-forwarded-proto"), Some("https"));
    assert_eq!(seen.header("cf-visitor"), Some(r#"{"scheme":"https"}"#));
    assert_eq!(tls.hello_snis(), [Some(HOST.to_owned())]);
}

/// In full mode, an HTTPS visitor gets the TLS origin's answer whatever its certificate.
async fn full_accepts(identity: Identity) {
    let edge_ca = TestCa::new("Edge CA");
    let origin = TlsOrigin::ok(&identity).await;
    // No tls_port: TLS goes to the address's port.
    let edge = Setup::new(origin.port(), "full").spawn_tls(&edge_ca).await;

    let res = within(GUARD, get_https(edge.https_addr(), &edge_ca, "/")).await;

    assert_passthrough(&res, TLS_ORIGIN_BODY);
    assert_eq!(origin.handshakes().len(), 1);
}

#[tokio::test]
async fn full_accepts_a_self_signed_certificate() {
    full_accepts(self_signed(&[HOST])).await;
}

#[tokio::test]
async fn full_accepts_an_expired_certificate() {
    full_accepts(TestCa::new("Origin CA").issue_expired(&[HOST])).await;
}

#[tokio::test]
async fn full_accepts_a_certificate_for_another_name() {
    full_accepts(TestCa::new("Origin CA").issue(&["elsewhere.test"])).await;
}

#[tokio::test(flavor = "current_thread")]
async fn full_https_visitor_gets_525_when_the_origin_refuses_the_handshake() {
    let (log, _guard) = CapturedLog::install();
    let edge_ca = TestCa::new("Edge CA");
    let origin = RawTlsOrigin::alert(HANDSHAKE_FAILURE).await;
    let edge = Setup::new(origin.port(), "full").spawn_tls(&edge_ca).await;

    let res = within(GUARD, get_https(edge.https_addr(), &edge_ca, "/")).await;

    let ray = assert_branded_host_error(&res, HOST, 525, HANDSHAKE_FAILED);
    assert_cause(&log, &ray, "alert:handshake_failure");
}

// --- full_strict and strict: 526 ----------------------------------------------------------

/// Starts `origin_identity` behind full_strict (trusting `ca`, with `crl` if any) and returns
/// what an HTTPS visitor gets.
async fn full_strict_https(origin_identity: &Identity, ca: &TestCa, crl: Option<&str>) -> Response {
    let edge_ca = TestCa::new("Edge CA");
    let origin = TlsOrigin::ok(origin_identity).await;
    let mut setup = Setup::new(origin.port(), "full_strict").ca(ca);
    if let Some(crl) = crl {
        setup = setup.crl(crl);
    }
    let edge = setup.spawn_tls(&edge_ca).await;
    within(GUARD, get_https(edge.https_addr(), &edge_ca, "/")).await
}

/// full_strict with an HTTPS visitor and `origin_identity` yields 526 with `cause`.
async fn full_strict_rejects(
    origin_identity: Identity,
    ca: &TestCa,
    crl: Option<&str>,
    cause: &str,
) {
    let (log, _guard) = CapturedLog::install();
    let res = full_strict_https(&origin_identity, ca, crl).await;
    let ray = assert_branded_host_error(&res, HOST, 526, INVALID_CERTIFICATE);
    assert_cause(&log, &ray, cause);
}

#[tokio::test]
async fn full_strict_accepts_a_certificate_from_the_configured_ca() {
    let ca = TestCa::new("Origin CA");
    let res = full_strict_https(&ca.issue(&[HOST]), &ca, None).await;
    assert_passthrough(&res, TLS_ORIGIN_BODY);
}

#[tokio::test(flavor = "current_thread")]
async fn full_strict_rejects_an_expired_certificate_with_526() {
    let ca = TestCa::new("Origin CA");
    full_strict_rejects(ca.issue_expired(&[HOST]), &ca, None, "expired").await;
}

#[tokio::test(flavor = "current_thread")]
async fn full_strict_rejects_a_not_yet_valid_certificate_with_526() {
    let ca = TestCa::new("Origin CA");
    full_strict_rejects(ca.issue_not_yet_valid(&[HOST]), &ca, None, "not_yet_valid").await;
}

#[tokio::test(flavor = "current_thread")]
async fn full_strict_rejects_a_self_signed_certificate_with_526() {
    let ca = TestCa::new("Origin CA");
    full_strict_rejects(self_signed(&[HOST]), &ca, None, "self_signed").await;
}

#[tokio::test(flavor = "current_thread")]
async fn full_strict_rejects_a_certificate_from_an_untrusted_ca_with_526() {
    let trusted = TestCa::new("Origin CA");
    let untrusted = TestCa::new("Unknown CA");
    full_strict_rejects(untrusted.issue(&[HOST]), &trusted, None, "untrusted").await;
}

#[tokio::test(flavor = "current_thread")]
async fn full_strict_rejects_a_certificate_for_another_name_with_526() {
    let ca = TestCa::new("Origin CA");
    full_strict_rejects(ca.issue(&["elsewhere.test"]), &ca, None, "name_mismatch").await;
}

#[tokio::test(flavor = "current_thread")]
async fn full_strict_rejects_a_revoked_certificate_with_526_given_a_crl() {
    let ca = TestCa::new("Origin CA");
    let revoked = ca.issue(&[HOST]);
    let crl = ca.crl_pem(&[&revoked]);
    full_strict_rejects(revoked, &ca, Some(&crl), "revoked").await;
}

#[tokio::test]
async fn full_strict_accepts_a_certificate_the_crl_does_not_list() {
    let ca = TestCa::new("Origin CA");
    let crl = ca.crl_pem(&[&ca.issue(&[HOST])]);
    let res = full_strict_https(&ca.issue(&[HOST]), &ca, Some(&crl)).await;
    assert_passthrough(&res, TLS_ORIGIN_BODY);
}

#[tokio::test]
async fn full_strict_sends_plain_visitors_plain_without_tls() {
    let (_plain, tls, setup) = plain_and_tls_origins("full_strict").await;
    let edge = setup.spawn().await;

    let res = get_plain(&edge).await;

    assert_passthrough(&res, "plain origin");
    assert_eq!(
        tls.connections(),
        0,
        "a plain visitor never reaches the TLS port"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn strict_sends_plain_visitors_over_validated_tls() {
    let (log, _guard) = CapturedLog::install();
    let ca = TestCa::new("Origin CA");
    let good = TlsOrigin::ok(&ca.issue(&[HOST])).await;
    let bad = TlsOrigin::ok(&self_signed(&[HOST])).await;
    let good_edge = Setup::new(good.port(), "strict").ca(&ca).spawn().await;
    let bad_edge = Setup::new(bad.port(), "strict").ca(&ca).spawn().await;

    let res = get_plain(&good_edge).await;
    assert_passthrough(&res, TLS_ORIGIN_BODY);
    assert_eq!(good.hello_snis(), [Some(HOST.to_owned())]);
    let seen = good.last_request().expect("the TLS origin saw the request");
    assert_eq!(
        seen.header("x-forwarded-proto"),
        Some("http"),
        "the visitor came over HTTP, whatever the origin leg"
    );

    let res = get_plain(&bad_edge).await;
    let ray = assert_branded_host_error(&res, HOST, 526, INVALID_CERTIFICATE);
    assert_cause(&log, &ray, "self_signed");
    assert!(
        bad.requests().is_empty(),
        "no request goes over a rejected connection"
    );
}

// --- SNI and routes -----------------------------------------------------------------------

#[tokio::test(flavor = "current_thread")]
async fn origin_sni_is_the_name_sent_and_the_name_checked() {
    let (log, _guard) = CapturedLog::install();
    let ca = TestCa::new("Origin CA");
    // Valid for other.test only: passes only if other.test is the name checked.
    let other = TlsOrigin::ok(&ca.issue(&["other.test"])).await;
    let edge = Setup::new(other.port(), "strict")
        .ca(&ca)
        .origin("sni", "\"other.test\"")
        .spawn()
        .await;
    let res = get_plain(&edge).await;
    assert_passthrough(&res, TLS_ORIGIN_BODY);
    assert_eq!(other.hello_snis(), [Some("other.test".to_owned())]);
    let seen = other.last_request().expect("the origin saw the request");
    assert_eq!(
        seen.header("host"),
        Some(HOST),
        "the Host header is the visitor's"
    );

    // Valid for the visitor's Host only: other.test is checked, so it fails.
    let site = TlsOrigin::ok(&ca.issue(&[HOST])).await;
    let edge = Setup::new(site.port(), "strict")
        .ca(&ca)
        .origin("sni", "\"other.test\"")
        .spawn()
        .await;
    let res = get_plain(&edge).await;
    let ray = assert_branded_host_error(&res, HOST, 526, INVALID_CERTIFICATE);
    assert_cause(&log, &ray, "name_mismatch");
    assert_eq!(site.hello_snis(), [Some("other.test".to_owned())]);
}

#[tokio::test]
async fn default_sni_is_the_visitors_host_without_its_port() {
    let ca = TestCa::new("Origin CA");
    let origin = TlsOrigin::ok(&ca.issue(&[HOST])).await;
    let edge = Setup::new(origin.port(), "strict").ca(&ca).spawn().await;

    let host = format!("{HOST}:8443");
    let res = within(GUARD, get_with_host(edge.addr(), &host, "/")).await;

    assert_passthrough(&res, TLS_ORIGIN_BODY);
    assert_eq!(origin.hello_snis(), [Some(HOST.to_owned())]);
}

#[tokio::test]
async fn a_routes_ssl_overrides_the_origins() {
    let ca = TestCa::new("Origin CA");
    let plain = Origin::ok("plain origin").await;
    let tls = TlsOrigin::ok(&ca.issue(&["api.test"])).await;
    let edge = Setup::new(plain.addr().port(), "flexible")
        .ca(&ca)
        .tls_port(tls.port())
        .tail("[[route]]\nhost = \"api.test\"\nssl = \"strict\"\n")
        .spawn()
        .await;

    let res = within(GUARD, get_with_host(edge.addr(), "api.test", "/")).await;
    assert_passthrough(&res, TLS_ORIGIN_BODY);
    assert_eq!(tls.hello_snis(), [Some("api.test".to_owned())]);

    let res = get_plain(&edge).await;
    assert_passthrough(&res, "plain origin");
    assert_eq!(tls.connections(), 1, "the flexible default stays plain");
}

// --- 525 and 521 --------------------------------------------------------------------------

/// Sends a plain visitor through strict mode to `port` (TLS port), expects a 525 with `cause`,
/// and returns how long the answer took.
async fn strict_handshake_fails(port: u16, connect_ms: u64, cause: &str) -> Duration {
    let (log, _guard) = CapturedLog::install();
    let edge = Setup::new(port, "strict")
        .connect_ms(connect_ms)
        .spawn()
        .await;
    let res = get_plain(&edge).await;
    let ray = assert_branded_host_error(&res, HOST, 525, HANDSHAKE_FAILED);
    assert_cause(&log, &ray, cause);
    res.elapsed
}

#[tokio::test(flavor = "current_thread")]
async fn plain_http_on_the_tls_port_yields_525_no_tls() {
    let origin = Origin::ok("plain origin").await;
    strict_handshake_fails(origin.addr().port(), CONNECT_MS, "no_tls").await;
}

#[tokio::test(flavor = "current_thread")]
async fn garbage_in_answer_to_the_client_hello_yields_525_no_tls() {
    let origin = RawTlsOrigin::garbage().await;
    strict_handshake_fails(origin.port(), CONNECT_MS, "no_tls").await;
    assert!(is_client_hello(&origin.first_records()[0]));
}

#[tokio::test(flavor = "current_thread")]
async fn origin_closing_during_the_handshake_yields_525_handshake_closed() {
    let origin = RawTlsOrigin::closes_after_hello().await;
    strict_handshake_fails(origin.port(), CONNECT_MS, "handshake_closed").await;
    assert!(is_client_hello(&origin.first_records()[0]));
}

#[tokio::test(flavor = "current_thread")]
async fn origin_resetting_during_the_handshake_yields_525_handshake_reset() {
    let origin = RawTlsOrigin::resets_after_hello().await;
    strict_handshake_fails(origin.port(), CONNECT_MS, "handshake_reset").await;
}

#[tokio::test(flavor = "current_thread")]
async fn silent_origin_yields_525_handshake_timeout_after_the_connect_timeout() {
    let origin = RawTlsOrigin::silent().await;
    let took = strict_handshake_fails(origin.port(), SHORT_CONNECT_MS, "handshake_timeout").await;
    assert_took(took, ms(SHORT_CONNECT_MS), ms(700));
    assert_eq!(origin.connections(), 1, "one connection, not retried");
}

#[tokio::test(flavor = "current_thread")]
async fn origin_alerts_yield_525_naming_the_alert() {
    for (description, name) in [
        (HANDSHAKE_FAILURE, "alert:handshake_failure"),
        (PROTOCOL_VERSION, "alert:protocol_version"),
    ] {
        let origin = RawTlsOrigin::alert(description).await;
        strict_handshake_fails(origin.port(), CONNECT_MS, name).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn tls_1_0_only_origin_yields_525_protocol_version() {
    let origin = RawTlsOrigin::tls10_only().await;
    strict_handshake_fails(origin.port(), CONNECT_MS, "protocol_version").await;
}

#[tokio::test(flavor = "current_thread")]
async fn origin_without_a_certificate_for_the_sni_yields_525_access_denied() {
    let identity = self_signed(&["known.test"]);
    let origin = TlsOrigin::with_options(
        &identity,
        TlsOptions {
            only_sni: Some("known.test".to_owned()),
            ..TlsOptions::default()
        },
    )
    .await;
    // rustls' server answers a ClientHello it has no certificate for with access_denied.
    strict_handshake_fails(origin.port(), CONNECT_MS, "alert:access_denied").await;
    assert_eq!(origin.hello_snis(), [Some(HOST.to_owned())]);
    assert!(origin.handshakes().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn refused_tls_port_yields_521() {
    let (log, _guard) = CapturedLog::install();
    let plain = Origin::ok("plain origin").await;
    let refusing = Origin::refusing().await;
    let edge = Setup::new(plain.addr().port(), "strict")
        .tls_port(refusing.addr().port())
        .spawn()
        .await;

    let res = get_plain(&edge).await;

    let ray = assert_branded_host_error(&res, HOST, 521, "Web server is down");
    assert_cause(&log, &ray, "refused");
    assert_eq!(plain.connections(), 0, "TLS goes to tls_port only");
}

// --- versions and pooling -----------------------------------------------------------------

#[tokio::test]
async fn origins_restricted_to_tls_1_2_or_1_3_both_work() {
    for (versions, expected) in [
        (TlsVersions::Tls12Only, rustls::ProtocolVersion::TLSv1_2),
        (TlsVersions::Tls13Only, rustls::ProtocolVersion::TLSv1_3),
    ] {
        let ca = TestCa::new("Origin CA");
        let options = TlsOptions {
            versions,
            ..TlsOptions::default()
        };
        let origin = TlsOrigin::with_options(&ca.issue(&[HOST]), options).await;
        let edge = Setup::new(origin.port(), "strict").ca(&ca).spawn().await;

        let res = get_plain(&edge).await;

        assert_passthrough(&res, TLS_ORIGIN_BODY);
        let handshakes = origin.handshakes();
        assert_eq!(handshakes.len(), 1);
        assert_eq!(handshakes[0].version, expected);
        assert_eq!(handshakes[0].alpn.as_deref(), Some(&b"http/1.1"[..]));
    }
}

#[tokio::test]
async fn sequential_requests_over_h2_and_http1_reuse_one_tls_connection() {
    let edge_ca = TestCa::new("Edge CA");
    let origin = TlsOrigin::ok(&self_signed(&[HOST])).await;
    let edge = Setup::new(origin.port(), "full").spawn_tls(&edge_ca).await;

    let h2 = within(GUARD, get_https(edge.https_addr(), &edge_ca, "/")).await;
    let h1 = within(GUARD, get_https_h1(edge.https_addr(), &edge_ca, "/")).await;
    let again = within(GUARD, get_https(edge.https_addr(), &edge_ca, "/")).await;

    for (res, version) in [
        (&h2, Version::HTTP_2),
        (&h1, Version::HTTP_11),
        (&again, Version::HTTP_2),
    ] {
        assert_passthrough(res, TLS_ORIGIN_BODY);
        assert_eq!(res.version, version);
    }
    assert_eq!(origin.requests().len(), 3);
    assert_eq!(origin.handshakes().len(), 1, "one handshake for all");
    assert_eq!(origin.connections(), 1);
}

// --- after the handshake ------------------------------------------------------------------

/// A TLS origin that completes the handshake, reads the request, and closes without a byte of
/// response: with a close_notify alert first (`notify`), or by dropping the TCP connection.
async fn closes_after_the_request(identity: &Identity, notify: bool) -> (u16, JoinHandle<()>) {
    let (listener, addr) = support::bind_loopback().await;
    let acceptor = TlsAcceptor::from(identity.server_config(&[b"http/1.1"]));
    let task = tokio::spawn(async move {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let Ok(mut tls) = acceptor.accept(stream).await else {
            return;
        };
        let mut request = [0u8; 4096];
        let _ = tls.read(&mut request).await;
        if notify {
            let _ = tls.shutdown().await;
        }
    });
    (addr.port(), task)
}

#[tokio::test(flavor = "current_thread")]
async fn tls_origin_closing_without_a_response_yields_520_empty_reply_with_or_without_close_notify()
{
    let (log, _guard) = CapturedLog::install();
    let ca = TestCa::new("Origin CA");
    for notify in [true, false] {
        let (port, origin) = closes_after_the_request(&ca.issue(&[HOST]), notify).await;
        let edge = Setup::new(port, "strict").ca(&ca).spawn().await;

        let res = get_plain(&edge).await;

        let ray =
            assert_branded_host_error(&res, HOST, 520, "Web server is returning an unknown error");
        assert_cause(&log, &ray, "empty_reply");
        origin.abort();
    }
}
