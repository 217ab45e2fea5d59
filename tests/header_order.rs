//! The head of edge-made responses on the wire, in Cloudflare's order (`date`, `content-type`,
//! `content-length`, `cf-ray`, `cache-control`, `expires`, `retry-after`, `server`,
//! `referrer-policy`, `x-frame-options`, then edgecase's others, `connection` last), over real
//! loopback sockets: HTTP/1.1 read as raw bytes from the socket, and h2 through an h2 client,
//! whose header map keeps the order of the HEADERS frame. Covered: a real 522 (blackhole
//! origin), a 1xxx page, a JSON error, `/cdn-cgi/trace` (with its `expires`), a visitor framing
//! refusal and the SSL-off redirect (an empty body, whose `content-length` hyper would otherwise
//! move).
//!
//! The edge runs in-process ([`spawn_edge`], [`spawn_edge_tls`]); the origins are the plain ones
//! of `support/origins.rs`.
mod support;

use std::net::SocketAddr;

use http::Request;
use http_body_util::Empty;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::https::{H2, HTTP_1_1, HttpsVisitor};
use support::origins::Origin;
use support::pki::{TempDir, TestCa};
use support::visitor::{Response, raw_exchange, try_send_h2, within};
use support::{Edge, GUARD, ms, spawn_edge, spawn_edge_tls, tls_test_config};

/// The Host the tests ask for.
const HOST: &str = "site.test";

/// A 5xx page with `retry-after` (522, 521), as Cloudflare sends it over h2.
const PAGE_WITH_RETRY: [&str; 10] = [
    "date",
    "content-type",
    "content-length",
    "cf-ray",
    "cache-control",
    "expires",
    "retry-after",
    "server",
    "referrer-policy",
    "x-frame-options",
];

/// A page without `retry-after` (1016, the 400 refusals).
const PAGE: [&str; 9] = [
    "date",
    "content-type",
    "content-length",
    "cf-ray",
    "cache-control",
    "expires",
    "server",
    "referrer-policy",
    "x-frame-options",
];

/// `/cdn-cgi/trace`: Cloudflare's order, then the trace's own two.
const TRACE: [&str; 10] = [
    "date",
    "content-type",
    "content-length",
    "cf-ray",
    "cache-control",
    "expires",
    "server",
    "x-frame-options",
    "x-content-type-options",
    "access-control-allow-origin",
];

/// One HTTP/1.1 response head as read from the socket.
#[derive(Debug)]
struct RawHead {
    status: u16,
    /// `(name, value)` in wire order, names lowercased.
    fields: Vec<(String, String)>,
    /// The bytes after the head.
    body_len: usize,
}

impl RawHead {
    #[track_caller]
    fn parse(bytes: &[u8]) -> RawHead {
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no whole head in {:?}", String::from_utf8_lossy(bytes)));
        let head = std::str::from_utf8(&bytes[..end]).expect("the head is ASCII");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("a status line");
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("status line {status_line:?}"));
        let fields = lines
            .map(|line| {
                let (name, value) = line.split_once(':').expect("name: value");
                (name.to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        RawHead {
            status,
            fields,
            body_len: bytes.len() - end - 4,
        }
    }

    fn names(&self) -> Vec<&str> {
        self.fields.iter().map(|(name, _)| name.as_str()).collect()
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `GET path` over HTTP/1.1 with `connection: close` and `extra` header lines (each ending in
/// CRLF), read whole from the socket.
async fn h1(addr: SocketAddr, path: &str, extra: &str) -> RawHead {
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: {HOST}\r\n{extra}connection: close\r\n\r\n");
    let outcome = within(GUARD, raw_exchange(addr, request.as_bytes())).await;
    RawHead::parse(&outcome.bytes)
}

/// `GET path` over h2c (prior knowledge) with `accept`, if given.
async fn h2(addr: SocketAddr, path: &str, accept: Option<&str>) -> Response {
    let mut request = Request::get(path).header("host", HOST);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let request = request
        .body(Empty::<bytes::Bytes>::new())
        .expect("a valid request");
    within(GUARD, try_send_h2(addr, request))
        .await
        .expect("an h2 response")
}

/// The header names of an h2 response, in the order of its HEADERS frame.
fn h2_names(res: &Response) -> Vec<&str> {
    res.headers().keys().map(|name| name.as_str()).collect()
}

/// `expected` with `connection` after it: over HTTP/1.1 a `connection: close` request gets
/// `connection: close` back, last.
fn with_connection(expected: &[&'static str]) -> Vec<&'static str> {
    let mut names = expected.to_vec();
    names.push("connection");
    names
}

/// An HTTP/1.1 head's framing and date agree with its body and look like Cloudflare's.
#[track_caller]
fn assert_framed(head: &RawHead) {
    let length = head.value("content-length").expect("content-length");
    assert_eq!(length, head.body_len.to_string(), "{head:?}");
    let date = head.value("date").expect("date");
    assert!(date.ends_with(" GMT") && date.len() == 29, "{date:?}");
}

/// The in-process edge with the hermetic test config, forwarding to `origin`.
async fn edge_before(origin: &Origin) -> Edge {
    spawn_edge(support::test_config(origin.addr())).await
}

/// Asserts an HTTP/1.1 head has `status`, the fields `expected` in that order with
/// `connection` last, and Cloudflare-like framing and date.
#[track_caller]
fn assert_h1_head(head: &RawHead, status: u16, expected: &[&'static str]) {
    assert_eq!(head.status, status, "{head:?}");
    assert_eq!(head.names(), with_connection(expected));
    assert_framed(head);
}

/// Asserts an h2 response has `status` and exactly the fields `expected`, in that order.
#[track_caller]
fn assert_h2_head(res: &Response, status: u16, expected: &[&str]) {
    assert_eq!(res.status(), status);
    assert_eq!(h2_names(res), expected);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_522_page_heads_in_cloudflares_order_over_http1_and_h2() {
    let origin = Origin::blackhole().await;
    let mut config = support::test_config(origin.addr());
    config.timeouts.connect = ms(50);
    let edge = spawn_edge(config).await;

    let head = h1(edge.addr(), "/", "").await;
    assert_h1_head(&head, 522, &PAGE_WITH_RETRY);
    assert_eq!(head.value("connection"), Some("close"));

    let res = h2(edge.addr(), "/", None).await;
    assert_h2_head(&res, 522, &PAGE_WITH_RETRY);
    assert_eq!(
        res.header("content-length"),
        Some(res.body.len().to_string().as_str())
    );
}

#[tokio::test]
async fn a_1xxx_page_heads_in_cloudflares_order_over_http1_and_h2() {
    let origin = Origin::ok("origin").await;
    let edge = edge_before(&origin).await;

    let head = h1(edge.addr(), "/cdn-cgi/error/1016", "").await;
    assert_h1_head(&head, 530, &PAGE);

    let res = h2(edge.addr(), "/cdn-cgi/error/1016", None).await;
    assert_h2_head(&res, 530, &PAGE);
}

#[tokio::test]
async fn a_json_error_heads_in_cloudflares_order_over_http1_and_h2() {
    let origin = Origin::refusing().await;
    let edge = edge_before(&origin).await;

    let head = h1(edge.addr(), "/", "accept: application/json\r\n").await;
    assert_h1_head(&head, 521, &PAGE_WITH_RETRY);
    assert_eq!(
        head.value("content-type"),
        Some("application/json; charset=UTF-8")
    );

    let res = h2(edge.addr(), "/", Some("application/json")).await;
    assert_h2_head(&res, 521, &PAGE_WITH_RETRY);
}

#[tokio::test]
async fn the_trace_heads_in_cloudflares_order_with_its_expires() {
    let origin = Origin::ok("origin").await;
    let edge = edge_before(&origin).await;

    let head = h1(edge.addr(), "/cdn-cgi/trace", "").await;
    assert_h1_head(&head, 200, &TRACE);
    assert_eq!(head.value("expires"), Some("Thu, 01 Jan 1970 00:00:01 GMT"));

    let res = h2(edge.addr(), "/cdn-cgi/trace", None).await;
    assert_h2_head(&res, 200, &TRACE);
    assert_eq!(res.header("expires"), Some("Thu, 01 Jan 1970 00:00:01 GMT"));
    assert!(origin.requests().is_empty(), "the trace was forwarded");
}

#[tokio::test]
async fn a_framing_refusal_heads_in_cloudflares_order_with_connection_last() {
    let origin = Origin::ok("origin").await;
    let edge = edge_before(&origin).await;

    // Two Host fields: refused 400 by edgecase itself, the connection closed after it.
    let head = h1(edge.addr(), "/", "host: other.test\r\n").await;
    assert_h1_head(&head, 400, &PAGE);
    assert!(
        origin.requests().is_empty(),
        "the refused request was forwarded"
    );
}

#[tokio::test]
async fn the_ssl_off_redirect_keeps_its_empty_length_in_place_over_http1_and_h2() {
    let origin = Origin::ok("origin").await;
    let ca = TestCa::new("edgecase header-order test CA");
    let identity = ca.issue(&["localhost", HOST]);
    let dir = TempDir::new("header-order");
    let (cert, key) = identity.write_to(&dir, "edge");
    let config = tls_test_config(origin.addr(), &cert, &key, "off");
    let edge = spawn_edge_tls(config).await;
    let visitor = HttpsVisitor::new(ca.cert_der(), "localhost").host(HOST);
    let redirect = ["date", "content-length", "cf-ray", "server", "location"];

    let (mut tls, _) = within(
        GUARD,
        visitor.clone().alpn(&[HTTP_1_1]).connect(edge.https_addr()),
    )
    .await
    .expect("a TLS connection to the edge");
    let request = format!("GET /p HTTP/1.1\r\nhost: {HOST}\r\nconnection: close\r\n\r\n");
    tls.write_all(request.as_bytes())
        .await
        .expect("the request is written");
    let mut bytes = Vec::new();
    // The edge closes after its answer; a TLS close without close_notify is fine here.
    let _ = within(GUARD, tls.read_to_end(&mut bytes)).await;
    let head = RawHead::parse(&bytes);
    assert_eq!(head.status, 301, "{head:?}");
    assert_eq!(head.names(), with_connection(&redirect));
    assert_eq!(head.value("content-length"), Some("0"));

    let res = within(GUARD, visitor.alpn(&[H2]).get(edge.https_addr(), "/p")).await;
    let res = res.response;
    assert_h2_head(&res, 301, &redirect);
    assert!(origin.requests().is_empty(), "the redirect was forwarded");
}
