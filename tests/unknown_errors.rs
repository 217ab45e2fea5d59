//! What the edge makes of an origin that connects but answers badly, over real loopback sockets:
//! every unusable answer (nothing, a reset, garbage, a malformed or cut-off head, a head over
//! `limits.origin_header_bytes`, even one still arriving) is a 520 at once, never a wait for the
//! read timeout; an origin's own 502/504 becomes Cloudflare's branded page; other statuses pass
//! through unchanged.
mod support;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use support::origins::{
    GARBAGE, MALFORMED_STATUS_LINE, ORIGIN_SERVER, Origin, SIZED_HEAD_BODY, TRUNCATED_HEAD,
    raw_cookies_of_size, raw_headers_of_size,
};
use support::visitor::{Response, get_with_host, raw_exchange, within};
use support::{GUARD, assert_ray_format, bind_loopback, ms, spawn_edge, test_config};

/// The Host every test sends; the page shows it in its title and host box.
const HOST: &str = "shop.example.test";

/// The read timeout of these tests: a 520 must come well before it.
const READ: Duration = Duration::from_millis(2_000);

/// What "at once" means here: half the read timeout.
const QUICKLY: Duration = Duration::from_millis(1_000);

/// Cloudflare's title for 520.
const UNKNOWN_TITLE: &str = "Web server is returning an unknown error";

/// The default `limits.origin_header_bytes` (classic profile).
const DEFAULT_HEAD_LIMIT: usize = 16 * 1024;

/// Asserts `res` is the branded page for `status` with `title`, for [`HOST`], with the Host hop
/// (alone) marked as the error, and that it came before half the read timeout.
#[track_caller]
fn assert_branded_host_error_quickly(res: &Response, status: u16, title: &str) {
    support::assert_branded_host_error(res, HOST, status, title);
    assert!(
        res.elapsed < QUICKLY,
        "answered after {:?}, expected well before the {READ:?} read timeout",
        res.elapsed
    );
}

/// Asserts `res` is a 520 page that came at once.
#[track_caller]
fn assert_520_quickly(res: &Response) {
    assert_branded_host_error_quickly(res, 520, UNKNOWN_TITLE);
}

/// An edge forwarding to `origin` with the read timeout [`READ`], and the visitor's answer to
/// `GET /`.
async fn get_through_edge(origin: &Origin, head_limit: Option<usize>) -> Response {
    let mut config = test_config(origin.addr());
    config.timeouts.read = READ;
    if let Some(limit) = head_limit {
        config.limits.origin_header_bytes = limit;
    }
    let edge = spawn_edge(config).await;
    within(GUARD, get_with_host(edge.addr(), HOST, "/")).await
}

/// Asserts a raw origin's head passed through: `200` with [`SIZED_HEAD_BODY`].
#[track_caller]
fn assert_sized_head_passed(res: &Response) {
    assert_eq!(res.status(), 200, "body: {}", res.text());
    assert_eq!(res.body, SIZED_HEAD_BODY);
    assert_eq!(res.header("server"), Some("cloudflare"));
    assert_ray_format(res.header("cf-ray").expect("cf-ray"));
}

#[tokio::test]
async fn origin_closing_without_a_byte_yields_520_at_once() {
    let origin = Origin::hangs_up().await;
    let res = get_through_edge(&origin, None).await;
    assert_520_quickly(&res);
    assert_eq!(origin.requests().len(), 1, "the origin got the request");
}

#[tokio::test]
async fn origin_resetting_the_connection_yields_520_at_once() {
    let origin = Origin::resets().await;
    let res = get_through_edge(&origin, None).await;
    assert_520_quickly(&res);
    assert_eq!(origin.requests().len(), 1, "the origin got the request");
}

#[tokio::test]
async fn origin_sending_garbage_yields_520_at_once() {
    let origin = Origin::raw(GARBAGE.to_vec()).await;
    let res = get_through_edge(&origin, None).await;
    assert_520_quickly(&res);
    assert!(
        !res.text().contains("garbage"),
        "the origin's bytes are not shown"
    );
}

#[tokio::test]
async fn origin_sending_a_malformed_status_line_yields_520_at_once() {
    let origin = Origin::raw(MALFORMED_STATUS_LINE.to_vec()).await;
    let res = get_through_edge(&origin, None).await;
    assert_520_quickly(&res);
}

#[tokio::test]
async fn origin_closing_mid_head_yields_520_at_once() {
    let origin = Origin::raw(TRUNCATED_HEAD.to_vec()).await;
    let res = get_through_edge(&origin, None).await;
    assert_520_quickly(&res);
}

/// Found by the `origin_response` fuzz target: hyper parses any three digits.
#[tokio::test]
async fn origin_status_of_600_or_more_yields_520() {
    let origin = Origin::raw(b"HTTP/1.1 703 X\r\n\r\n".to_vec()).await;
    let res = get_through_edge(&origin, None).await;
    assert_520_quickly(&res);
}

/// Found by the `origin_response` fuzz target: a switch of protocols nobody asked for.
#[tokio::test]
async fn origin_switching_protocols_unasked_yields_520() {
    let origin = Origin::raw(b"HTTP/1.1 101\n\n".to_vec()).await;
    let res = get_through_edge(&origin, None).await;
    assert_520_quickly(&res);
}

#[tokio::test]
async fn origin_response_without_a_status_code_yields_520_at_once() {
    let origin = Origin::raw(b"HTTP/1.1 \r\n\r\n".to_vec()).await;
    let res = get_through_edge(&origin, None).await;
    assert_520_quickly(&res);
}

#[tokio::test]
async fn header_block_exactly_at_the_default_limit_passes_through() {
    let origin = Origin::raw(raw_headers_of_size(DEFAULT_HEAD_LIMIT)).await;
    let res = get_through_edge(&origin, None).await;
    assert_sized_head_passed(&res);
    let fill = res
        .header("x-fill")
        .expect("the padding header passed through");
    assert!(
        fill.len() > DEFAULT_HEAD_LIMIT - 100,
        "{} bytes",
        fill.len()
    );
}

#[tokio::test]
async fn header_block_one_byte_over_the_default_limit_yields_520() {
    let origin = Origin::raw(raw_headers_of_size(DEFAULT_HEAD_LIMIT + 1)).await;
    let res = get_through_edge(&origin, None).await;
    assert_520_quickly(&res);
}

#[tokio::test]
async fn header_block_exactly_at_a_configured_limit_passes_through() {
    let origin = Origin::raw(raw_headers_of_size(4096)).await;
    let res = get_through_edge(&origin, Some(4096)).await;
    assert_sized_head_passed(&res);
}

#[tokio::test]
async fn header_block_one_byte_over_a_configured_limit_yields_520() {
    let origin = Origin::raw(raw_headers_of_size(4097)).await;
    let res = get_through_edge(&origin, Some(4096)).await;
    assert_520_quickly(&res);
}

#[tokio::test]
async fn seventeen_kilobytes_of_cookies_yield_520() {
    let origin = Origin::raw(raw_cookies_of_size(17 * 1024)).await;
    let res = get_through_edge(&origin, None).await;
    assert_520_quickly(&res);
}

/// The seed article's usual cause of a 520 is "too many cookies": a head of cookies right at
/// the limit (about 160 `set-cookie` fields) must still pass, whatever count hyper is given.
#[tokio::test]
async fn sixteen_kilobytes_of_cookies_exactly_pass_through() {
    let origin = Origin::raw(raw_cookies_of_size(DEFAULT_HEAD_LIMIT)).await;
    let mut config = test_config(origin.addr());
    config.timeouts.read = READ;
    let edge = spawn_edge(config).await;

    // Read as bytes: the visitor helper's HTTP client itself stops at 100 headers.
    let request = format!("GET / HTTP/1.1\r\nhost: {HOST}\r\nconnection: close\r\n\r\n");
    let outcome = within(GUARD, raw_exchange(edge.addr(), request.as_bytes())).await;

    assert_eq!(outcome.status(), Some(200));
    let head = String::from_utf8_lossy(outcome.head().expect("a whole head")).into_owned();
    assert!(head.matches("set-cookie: ").count() > 150, "{head}");
}

#[tokio::test]
async fn more_than_a_hundred_short_headers_under_the_byte_limit_pass_through() {
    const HEADERS: usize = 150;
    let mut response = format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n",
        SIZED_HEAD_BODY.len()
    );
    for i in 0..HEADERS {
        response.push_str(&format!("x-h{i}: v{i}\r\n"));
    }
    response.push_str("\r\n");
    assert!(
        response.len() < DEFAULT_HEAD_LIMIT,
        "{} bytes",
        response.len()
    );
    let mut bytes = response.into_bytes();
    bytes.extend_from_slice(SIZED_HEAD_BODY);
    let origin = Origin::raw(bytes).await;
    let mut config = test_config(origin.addr());
    config.timeouts.read = READ;
    let edge = spawn_edge(config).await;

    // Read as bytes: the visitor helper's HTTP client itself stops at 100 headers.
    let request = format!("GET / HTTP/1.1\r\nhost: {HOST}\r\nconnection: close\r\n\r\n");
    let outcome = within(GUARD, raw_exchange(edge.addr(), request.as_bytes())).await;

    assert_eq!(
        outcome.status(),
        Some(200),
        "{:?}",
        String::from_utf8_lossy(&outcome.bytes)
    );
    let head = String::from_utf8_lossy(outcome.head().expect("a whole head")).into_owned();
    let lines: Vec<&str> = head.split("\r\n").collect();
    for i in 0..HEADERS {
        let line = format!("x-h{i}: v{i}");
        assert!(lines.contains(&line.as_str()), "{line} missing from {head}");
    }
    assert!(lines.contains(&"server: cloudflare"), "{head}");
    assert!(lines.contains(&"cf-cache-status: DYNAMIC"), "{head}");
    assert_eq!(outcome.body(), SIZED_HEAD_BODY);
}

/// An origin that reads the request head, then sends `head_bytes` bytes of a response head a
/// kilobyte at a time, without its blank line, and keeps the connection open. The receiver
/// resolves once the edge has closed that connection.
async fn trickling_head_origin(head_bytes: usize) -> (std::net::SocketAddr, oneshot::Receiver<()>) {
    let (listener, addr) = bind_loopback().await;
    let (closed, edge_closed) = oneshot::channel();
    tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let mut request = Vec::new();
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read_buf(&mut request).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        let mut head = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n".to_vec();
        head.extend_from_slice(b"x-fill: ");
        head.resize(head_bytes, b'a');
        for chunk in head.chunks(1024) {
            if stream.write_all(chunk).await.is_err() {
                break;
            }
            // Part of the script: the head arrives over time, as from a slow origin.
            tokio::time::sleep(ms(10)).await;
        }
        // Stall with the head unfinished; report when the edge hangs up.
        let mut scratch = [0u8; 1024];
        while let Ok(1..) = stream.read(&mut scratch).await {}
        let _ = closed.send(());
    });
    (addr, edge_closed)
}

#[tokio::test]
async fn oversized_head_still_arriving_yields_520_not_524() {
    let (origin, edge_closed) = trickling_head_origin(17 * 1024).await;
    let mut config = test_config(origin);
    config.timeouts.read = READ;
    let edge = spawn_edge(config).await;

    let res = within(GUARD, get_with_host(edge.addr(), HOST, "/")).await;

    // The head is counted as it arrives: the 520 comes once it crosses 16 KiB, while the origin
    // still holds the connection open with no blank line in sight.
    assert_520_quickly(&res);
    within(GUARD, edge_closed)
        .await
        .expect("the edge closed the origin connection");
}

#[tokio::test]
async fn origin_502_is_replaced_by_cloudflares_bad_gateway_page() {
    let origin = Origin::status(502, "origin's own 502 body").await;
    let res = get_through_edge(&origin, None).await;
    assert_branded_host_error_quickly(&res, 502, "Bad gateway");
    assert!(!res.text().contains("origin's own"), "{}", res.text());
}

#[tokio::test]
async fn origin_504_is_replaced_by_cloudflares_gateway_timeout_page() {
    let origin = Origin::status(504, "origin's own 504 body").await;
    let res = get_through_edge(&origin, None).await;
    assert_branded_host_error_quickly(&res, 504, "Gateway time-out");
    assert!(!res.text().contains("origin's own"), "{}", res.text());
}

/// Headers of the origins whose answers pass through.
const PASSTHROUGH_HEADERS: &[(&str, &str)] = &[
    ("content-type", "text/plain; charset=utf-8"),
    ("server", ORIGIN_SERVER),
    ("x-origin", "kept"),
];

/// As [`PASSTHROUGH_HEADERS`], with a redirect target.
const REDIRECT_HEADERS: &[(&str, &str)] = &[
    ("content-type", "text/plain; charset=utf-8"),
    ("server", ORIGIN_SERVER),
    ("x-origin", "kept"),
    ("location", "https://shop.example.test/moved"),
];

#[tokio::test]
async fn other_origin_statuses_pass_through_unchanged() {
    let cases = [
        (503, PASSTHROUGH_HEADERS, "origin says 503"),
        (500, PASSTHROUGH_HEADERS, "origin says 500"),
        (404, PASSTHROUGH_HEADERS, "origin says 404"),
        (201, PASSTHROUGH_HEADERS, "origin says 201"),
        (301, REDIRECT_HEADERS, "origin says 301"),
    ];
    for (status, headers, body) in cases {
        let origin = Origin::with_headers(status, headers, body).await;
        let res = get_through_edge(&origin, None).await;

        assert_eq!(res.status(), status, "body: {}", res.text());
        assert_eq!(res.text(), body, "{status}");
        assert_eq!(res.header("server"), Some("cloudflare"), "{status}");
        assert_eq!(res.header("cf-cache-status"), Some("DYNAMIC"), "{status}");
        assert_eq!(res.header("x-origin"), Some("kept"), "{status}");
        assert_eq!(
            res.header("content-type"),
            Some("text/plain; charset=utf-8"),
            "{status}"
        );
        assert_ray_format(res.header("cf-ray").expect("cf-ray"));
        let location = headers
            .iter()
            .find(|(name, _)| *name == "location")
            .map(|(_, value)| *value);
        assert_eq!(res.header("location"), location, "{status}");
    }
}
