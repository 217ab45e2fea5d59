//! The read side of the origin timeouts, over real loopback sockets: 524 when no response head
//! arrives within `timeouts.read` (the clock starting once the request body is handed over),
//! 522 at `timeouts.connect` kept apart from it, route overrides, the idle limit between two
//! reads of a response body (a stall aborts the visitor's response, a slow steady flow does
//! not), and the origin connection closed when the visitor leaves mid-request.
//!
//! The write side (ack and write timeouts on a stalled upload) is in `tests/write_timeouts.rs`.
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::Request;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use edgecase::config::Config;
use support::log::CapturedLog;
use support::origins::{ORIGIN_SERVER, Origin, SLOW_BODY_LENGTH};
use support::visitor::{
    RawEnd, Response, get, raw_exchange, send, send_streaming, still_pending_after, streaming_body,
    within,
};
use support::{GUARD, assert_error_page, assert_took, ms, spawn_edge, test_config};

/// Slack on timings driven by a tokio timer in the edge.
const TIMER_SLACK: Duration = Duration::from_millis(150);
/// Slack on timings driven by the kernel (SYN retries, socket close).
const KERNEL_SLACK: Duration = Duration::from_millis(300);

/// What the branded page's `<title>` reads for a request to the edge at 127.0.0.1.
#[track_caller]
fn assert_page_title(response: &Response, status: u16, title: &str) {
    let expected = format!("<title>127.0.0.1 | {status}: {title}</title>");
    assert!(
        response.text().contains(&expected),
        "expected {expected} in the page:\n{}",
        response.text()
    );
}

/// Reads a request head (through the blank line) from `stream`; `false` if the peer went away
/// first.
async fn read_request_head(stream: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1..) => head.push(byte[0]),
            Ok(0) | Err(_) => return false,
        }
    }
    true
}

#[tokio::test]
async fn silent_origin_yields_524_at_the_read_timeout_not_the_connect_timeout() {
    let origin = Origin::silent().await;
    let mut config = test_config(origin.addr());
    config.timeouts.connect = ms(2_000);
    config.timeouts.read = ms(150);
    let edge = spawn_edge(config).await;

    let res = within(GUARD, get(edge.addr(), "/quiet")).await;

    assert_error_page(&res, 524);
    assert_page_title(&res, 524, "A timeout occurred");
    // The edge waited the whole read timeout, and not much longer.
    assert_took(res.elapsed, ms(150), TIMER_SLACK);
    within(ms(100), origin.request_seen()).await;
    let seen = origin
        .last_request()
        .expect("the origin recorded the request");
    assert_eq!(seen.uri, "/quiet");
    assert_eq!(origin.connections(), 1);
}

#[tokio::test]
async fn origin_answering_just_inside_the_read_timeout_passes_through() {
    let origin = Origin::delayed(ms(200), "late but in time").await;
    let mut config = test_config(origin.addr());
    config.timeouts.read = ms(300);
    let edge = spawn_edge(config).await;

    let res = within(GUARD, get(edge.addr(), "/")).await;

    assert_eq!(res.status(), 200, "body: {}", res.text());
    assert_eq!(res.text(), "late but in time");
    assert_eq!(res.header("server"), Some("cloudflare"));
    assert_eq!(res.header("cf-cache-status"), Some("DYNAMIC"));
    assert!(res.header("cf-ray").is_some(), "passthrough carries cf-ray");
    // The origin's delay was really waited out, and no timeout cut in.
    assert_took(res.elapsed, ms(200), TIMER_SLACK);
}

#[tokio::test]
async fn slow_upload_is_not_counted_against_the_read_timeout() {
    // Origin::ok reads the whole request body, then answers at once.
    let origin = Origin::ok("got it").await;
    let mut config = test_config(origin.addr());
    config.timeouts.read = ms(300);
    let edge = spawn_edge(config).await;

    let (chunks, body) = streaming_body();
    let uploader: JoinHandle<Bytes> = tokio::spawn(async move {
        let mut sent = BytesMut::new();
        for i in 0..5 {
            let chunk = Bytes::from(format!("chunk {i};"));
            sent.extend_from_slice(&chunk);
            chunks.send(chunk).await.expect("the body is still wanted");
            tokio::time::sleep(ms(100)).await;
        }
        // Dropping `chunks` ends the body.
        sent.freeze()
    });
    let request = Request::post("/upload")
        .body(body)
        .expect("a valid request");
    let res = within(GUARD, send(edge.addr(), request)).await;
    let sent = within(GUARD, uploader).await.expect("the uploader ran");

    assert_eq!(res.status(), 200, "body: {}", res.text());
    assert_eq!(res.text(), "got it");
    assert_eq!(res.header("server"), Some("cloudflare"));
    // The upload alone outlasted the read timeout by far; the answer came right after it.
    assert_took(res.elapsed, ms(500), TIMER_SLACK);
    let seen = origin
        .last_request()
        .expect("the origin recorded the request");
    assert_eq!(seen.body, sent, "the origin got the whole body");
}

#[tokio::test]
async fn response_body_stalling_mid_way_is_aborted_after_the_read_timeout() {
    let origin = Origin::slow_body(b"first part", true).await;
    let mut config = test_config(origin.addr());
    config.timeouts.read = ms(200);
    let edge = spawn_edge(config).await;

    let request = Request::get("/stall")
        .body(http_body_util::Empty::<Bytes>::new())
        .expect("a valid request");
    let head = within(GUARD, send_streaming(edge.addr(), request))
        .await
        .expect("the 200 head arrives before the stall");
    let head_at = Instant::now();
    let (parts, mut body) = head.response.into_parts();
    assert_eq!(parts.status, 200);
    assert_eq!(parts.headers["server"], "cloudflare");
    assert_eq!(
        parts.headers["content-length"],
        SLOW_BODY_LENGTH.to_string().as_str()
    );
    assert!(
        head.elapsed < ms(200),
        "the head came at once: {:?}",
        head.elapsed
    );

    let mut received = BytesMut::new();
    let error = within(GUARD, async {
        loop {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        received.extend_from_slice(data);
                    }
                }
                Some(Err(error)) => break Some(error),
                None => break None,
            }
        }
    })
    .await;

    assert_eq!(&received[..], b"first part");
    assert!(
        error.is_some(),
        "the response must be cut off, not ended cleanly, after {} of {SLOW_BODY_LENGTH} bytes",
        received.len()
    );
    assert_took(head_at.elapsed(), ms(200), TIMER_SLACK);
}

#[tokio::test]
async fn response_body_stalling_mid_way_never_ends_cleanly_on_the_wire() {
    let origin = Origin::slow_body(b"first part", true).await;
    let mut config = test_config(origin.addr());
    config.timeouts.read = ms(200);
    let edge = spawn_edge(config).await;

    let started = Instant::now();
    let outcome = within(
        GUARD,
        raw_exchange(
            edge.addr(),
            b"GET /stall HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n",
        ),
    )
    .await;
    let elapsed = started.elapsed();

    assert_eq!(outcome.status(), Some(200));
    assert_eq!(outcome.body(), b"first part");
    let complete = outcome.body().len() == SLOW_BODY_LENGTH;
    assert!(
        !(outcome.is_clean_eof() && complete),
        "a stalled body must not look complete: {:?}",
        outcome.end
    );
    assert!(
        !matches!(outcome.end, RawEnd::Error(_)),
        "expected the edge to close or reset the connection, got {:?}",
        outcome.end
    );
    assert_took(elapsed, ms(200), KERNEL_SLACK);
}

/// An origin that answers `200` with `content-length` and sends its body in `chunks` parts,
/// `gap` apart (the first with the head).
async fn trickling_origin(chunks: usize, gap: Duration) -> (SocketAddr, Bytes, JoinHandle<()>) {
    let (listener, addr) = support::bind_loopback().await;
    let parts: Vec<String> = (0..chunks)
        .map(|i| format!("part {i} of the body\n"))
        .collect();
    let body = Bytes::from(parts.concat());
    let length = body.len();
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("the edge connects");
        if !read_request_head(&mut stream).await {
            return;
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nserver: {ORIGIN_SERVER}\r\n\
             content-length: {length}\r\n\r\n"
        );
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(gap).await;
            }
            if stream.write_all(part.as_bytes()).await.is_err() {
                return;
            }
        }
        // Hold the connection until the edge lets go of it.
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest).await;
    });
    (addr, body, task)
}

#[tokio::test]
async fn slowly_flowing_response_body_is_not_aborted_by_the_read_timeout() {
    // Each gap (100 ms) is under the read timeout; the whole body (400 ms) is over it.
    let (addr, expected, _origin) = trickling_origin(5, ms(100)).await;
    let mut config = test_config(addr);
    config.timeouts.read = ms(250);
    let edge = spawn_edge(config).await;

    let started = Instant::now();
    let res = within(GUARD, get(edge.addr(), "/trickle")).await;
    let elapsed = started.elapsed();

    assert_eq!(res.status(), 200);
    assert_eq!(res.header("server"), Some("cloudflare"));
    assert!(
        res.body_error.is_none(),
        "the body was cut off: {:?}",
        res.body_error
    );
    assert_eq!(res.body, expected);
    assert_took(elapsed, ms(400), TIMER_SLACK);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn blackhole_origin_yields_522_at_the_connect_timeout_not_the_read_timeout() {
    let origin = Origin::blackhole().await;
    let mut config = test_config(origin.addr());
    config.timeouts.connect = ms(150);
    config.timeouts.read = ms(2_000);
    let edge = spawn_edge(config).await;

    let res = within(GUARD, get(edge.addr(), "/")).await;

    assert_error_page(&res, 522);
    assert_page_title(&res, 522, "Connection timed out");
    assert_took(res.elapsed, ms(150), KERNEL_SLACK);
}

#[tokio::test]
async fn route_read_timeout_overrides_the_global_one_for_its_paths_only() {
    let origin = Origin::silent().await;
    let mut config = test_config(origin.addr());
    config.timeouts.read = ms(2_000);
    config.routes = Config::from_toml_str(
        "[[route]]\npath_prefix = \"/slow/\"\ntimeouts = { read = \"100ms\" }\n",
    )
    .expect("the route is valid")
    .routes;
    let edge = spawn_edge(config).await;

    // Unrouted first: it must still be waiting when the routed one has long timed out.
    let unrouted = tokio::spawn(get(edge.addr(), "/other"));
    within(GUARD, origin.request_seen()).await;
    let routed = within(GUARD, get(edge.addr(), "/slow/x")).await;

    assert_error_page(&routed, 524);
    assert_page_title(&routed, 524, "A timeout occurred");
    assert_took(routed.elapsed, ms(100), TIMER_SLACK);
    still_pending_after(ms(300), unrouted).await;
    let paths: Vec<String> = origin
        .requests()
        .iter()
        .map(|r| r.uri.to_string())
        .collect();
    assert_eq!(paths, ["/other", "/slow/x"], "both reached the origin");
}

#[tokio::test]
async fn visitor_leaving_while_the_origin_is_silent_closes_the_origin_connection() {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the origin on loopback");
    let origin_addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let (seen_tx, seen_rx) = oneshot::channel::<()>();
    let (eof_tx, eof_rx) = oneshot::channel::<Instant>();
    let _origin = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("the edge connects");
        if !read_request_head(&mut stream).await {
            return;
        }
        let _ = seen_tx.send(());
        // Silent: never answer; note when the edge lets go of the connection.
        let mut scratch = [0u8; 1024];
        while let Ok(1..) = stream.read(&mut scratch).await {}
        let _ = eof_tx.send(Instant::now());
    });
    let (log, _guard) = CapturedLog::install();
    let mut config = test_config(origin_addr);
    // Far longer than the wait below: the read timeout must not be what closes the connection.
    config.timeouts.read = ms(5_000);
    let edge = spawn_edge(config).await;

    let mut visitor = within(GUARD, TcpStream::connect(edge.addr()))
        .await
        .expect("the edge accepts");
    within(
        GUARD,
        visitor.write_all(b"GET /wait HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"),
    )
    .await
    .expect("the request is written");
    within(GUARD, seen_rx)
        .await
        .expect("the origin got the request");
    let left_at = Instant::now();
    drop(visitor);

    let closed_at = within(GUARD, eof_rx)
        .await
        .expect("the origin saw its connection end");
    assert!(
        closed_at >= left_at,
        "the origin connection closed before the visitor left"
    );
    let after = closed_at - left_at;
    assert!(
        after < ms(1_000),
        "the origin connection stayed open {after:?} after the visitor left"
    );
    // The request still gets its one log line, with Cloudflare's status for a visitor that
    // closed first.
    let text = log.text();
    let line = text
        .lines()
        .find(|line| line.contains("path=\"/wait\""))
        .unwrap_or_else(|| panic!("no log line for the abandoned request in:\n{text}"));
    assert!(line.contains("status=499"), "{line}");
    assert!(line.contains("ending=visitor_gone"), "{line}");
}
