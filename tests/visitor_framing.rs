//! RFC 9112's framing rules where hyper lets more through than nginx: transfer codings other
//! than one final `chunked` (501 for an unknown coding, 400 for `chunked` repeated or on
//! HTTP/1.0), a missing, repeated, listed or malformed `Host` (400). Each is answered with
//! Cloudflare's unbranded page, `server: cloudflare` and a `cf-ray`, the connection closes, the
//! origin (a raw socket recording every byte) gets nothing, and the next connection is served.
//! And `Connection: host` no longer strips the Host the origin needs.
mod support;

use support::raw::{RawVisitor, RecordingOrigin, TomlConfig};
use support::visitor::{RawEnd, within};
use support::{Edge, GUARD, spawn_edge};

/// A recording origin and an edge forwarding to it.
async fn start() -> (RecordingOrigin, Edge) {
    let origin = RecordingOrigin::start().await;
    let edge = spawn_edge(TomlConfig::new(origin.addr()).build()).await;
    (origin, edge)
}

/// Sends `head` (and nothing else) and asserts `status` with Cloudflare's shape, the close,
/// nothing at the origin, then a normal request served on a new connection.
async fn assert_refused(head: &str, status: u16) {
    let (origin, edge) = start().await;
    let mut visitor = RawVisitor::connect(edge.addr()).await;
    visitor.send(head.as_bytes()).await;
    let res = within(GUARD, visitor.response())
        .await
        .unwrap_or_else(|| panic!("expected an answer to {head:?}"));
    assert_eq!(
        res.status,
        status,
        "to {head:?}: {}{}",
        res.head,
        res.text()
    );
    assert_eq!(res.header("server"), Some("cloudflare"), "{}", res.head);
    assert!(res.header("cf-ray").is_some(), "{}", res.head);
    assert_eq!(res.header("connection"), Some("close"), "{}", res.head);
    let rest = within(GUARD, visitor.closed()).await;
    assert!(rest.bytes.is_empty(), "more after the refusal");
    assert!(matches!(rest.end, RawEnd::CleanEof | RawEnd::Reset));
    origin.assert_untouched();

    let mut next = RawVisitor::connect(edge.addr()).await;
    next.send(b"GET /next HTTP/1.1\r\nhost: site.test\r\n\r\n")
        .await;
    let res = within(GUARD, next.response()).await.expect("an answer");
    assert_eq!(
        res.status, 200,
        "the next connection is served: {}",
        res.head
    );
}

fn post(te_lines: &str) -> String {
    format!("POST /te HTTP/1.1\r\nhost: site.test\r\n{te_lines}\r\n5\r\nhello\r\n0\r\n\r\n")
}

#[tokio::test]
async fn an_unknown_coding_before_chunked_is_501() {
    for coding in ["gzip", "deflate", "compress", "identity", "x-custom"] {
        assert_refused(
            &post(&format!("transfer-encoding: {coding}, chunked\r\n")),
            501,
        )
        .await;
    }
}

#[tokio::test]
async fn two_te_fields_with_an_unknown_coding_are_501() {
    assert_refused(
        &post("transfer-encoding: gzip\r\ntransfer-encoding: chunked\r\n"),
        501,
    )
    .await;
}

#[tokio::test]
async fn chunked_twice_is_400() {
    assert_refused(&post("transfer-encoding: chunked, chunked\r\n"), 400).await;
    assert_refused(
        &post("transfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n"),
        400,
    )
    .await;
}

#[tokio::test]
async fn transfer_encoding_on_http_1_0_is_400() {
    // hyper's parser refuses this head itself, with a bare 400 (no Cloudflare headers): the
    // edge never sees the request. What matters holds: 400, closed, the origin untouched.
    let (origin, edge) = start().await;
    let mut visitor = RawVisitor::connect(edge.addr()).await;
    visitor
        .send(
            b"POST /old HTTP/1.0\r\nhost: site.test\r\ntransfer-encoding: chunked\r\n\r\n\
                5\r\nhello\r\n0\r\n\r\n",
        )
        .await;
    let res = within(GUARD, visitor.response()).await.expect("an answer");
    assert_eq!(res.status, 400, "{}", res.head);
    let rest = within(GUARD, visitor.closed()).await;
    assert!(rest.bytes.is_empty(), "more after the refusal");
    origin.assert_untouched();
}

#[tokio::test]
async fn an_http_1_1_request_without_host_is_400() {
    assert_refused("GET /nohost HTTP/1.1\r\n\r\n", 400).await;
}

#[tokio::test]
async fn two_hosts_or_a_list_is_400() {
    assert_refused(
        "GET / HTTP/1.1\r\nhost: site.test\r\nhost: other.test\r\n\r\n",
        400,
    )
    .await;
    assert_refused("GET / HTTP/1.1\r\nhost: site.test, other.test\r\n\r\n", 400).await;
}

#[tokio::test]
async fn a_host_that_is_not_host_and_port_is_400() {
    for host in [
        "evil.example/x?",
        "user@evil.example",
        "evil.example\\x",
        "",
        "site.test:80x",
        "[::1",
    ] {
        assert_refused(&format!("GET / HTTP/1.1\r\nhost: {host}\r\n\r\n"), 400).await;
    }
}

#[tokio::test]
async fn valid_hosts_are_forwarded() {
    let (origin, edge) = start().await;
    for host in [
        "site.test",
        "site.test:8080",
        "127.0.0.1:80",
        "[::1]:8080",
        "my_host.test.",
    ] {
        let mut visitor = RawVisitor::connect(edge.addr()).await;
        visitor
            .send(format!("GET / HTTP/1.1\r\nhost: {host}\r\n\r\n").as_bytes())
            .await;
        let res = within(GUARD, visitor.response()).await.expect("an answer");
        assert_eq!(res.status, 200, "{host}: {}", res.head);
    }
    origin.requests_seen(5).await;
}

#[tokio::test]
async fn connection_naming_host_keeps_the_host() {
    let (origin, edge) = start().await;
    let mut visitor = RawVisitor::connect(edge.addr()).await;
    visitor
        .send(b"GET /site HTTP/1.1\r\nhost: shop.test\r\nconnection: host, x-drop\r\nx-drop: 1\r\n\r\n")
        .await;
    let res = within(GUARD, visitor.response()).await.expect("an answer");
    assert_eq!(res.status, 200, "{}", res.head);
    origin.requests_seen(1).await;
    let seen = origin.requests().remove(0);
    assert_eq!(seen.header("host"), Some("shop.test"));
    assert_eq!(seen.header("x-drop"), None, "other listed headers still go");
}
