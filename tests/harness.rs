//! Self-test of the test harness: each scripted origin misbehaves as its name claims, seen from a
//! plain loopback socket, and the visitor helpers report what they should. No edge is involved;
//! the edge's own tests rely on these behaviours being true.

#[path = "support/origins.rs"]
mod origins;
#[path = "support/visitor.rs"]
mod visitor;

use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Version};
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use origins::{
    GARBAGE, MALFORMED_STATUS_LINE, ORIGIN_SERVER, Origin, SECOND_REQUEST_DROPPED_BODY,
    SIZED_HEAD_BODY, SLOW_BODY_LENGTH, TRUNCATED_HEAD, raw_cookies_of_size, raw_headers_of_size,
};
use visitor::{
    RawEnd, get, get_h2, get_with_host, raw_exchange, send, send_streaming, still_pending_after,
    streaming_body, within,
};

/// The guard around awaits that should complete at once.
const GUARD: Duration = Duration::from_secs(5);

const GET_ROOT: &[u8] = b"GET / HTTP/1.1\r\nhost: origin.test\r\n\r\n";

async fn connect(addr: std::net::SocketAddr) -> TcpStream {
    within(GUARD, TcpStream::connect(addr))
        .await
        .expect("the origin accepts connections")
}

#[tokio::test]
async fn refusing_origin_refuses_the_connect_at_once() {
    let origin = Origin::refusing().await;
    let error = within(GUARD, TcpStream::connect(origin.addr()))
        .await
        .expect_err("nothing listens on the refusing origin's port");
    assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn blackhole_origin_leaves_the_connect_pending() {
    let origin = Origin::blackhole().await;
    still_pending_after(
        Duration::from_millis(200),
        TcpStream::connect(origin.addr()),
    )
    .await;
}

#[tokio::test]
async fn silent_origin_records_the_request_and_never_answers() {
    let origin = Origin::silent().await;
    let mut stream = connect(origin.addr()).await;
    within(GUARD, stream.write_all(GET_ROOT))
        .await
        .expect("the request is written");
    within(GUARD, origin.request_seen()).await;
    let mut byte = [0u8; 1];
    still_pending_after(Duration::from_millis(100), stream.read(&mut byte)).await;

    let request = origin.last_request().expect("the head was recorded");
    assert_eq!(request.method, Method::GET);
    assert_eq!(request.uri, "/");
    assert_eq!(request.version, Version::HTTP_11);
    assert_eq!(request.header("host"), Some("origin.test"));
    assert_eq!(origin.connections(), 1);
}

#[tokio::test]
async fn hangs_up_origin_closes_cleanly_without_a_byte() {
    let origin = Origin::hangs_up().await;
    let outcome = within(GUARD, raw_exchange(origin.addr(), GET_ROOT)).await;
    assert!(outcome.bytes.is_empty(), "got {:?}", outcome.bytes);
    assert!(outcome.is_clean_eof(), "ended with {:?}", outcome.end);
    assert_eq!(origin.requests().len(), 1);
}

#[tokio::test]
async fn hangs_up_origin_closes_cleanly_even_with_an_unread_body() {
    let origin = Origin::hangs_up().await;
    let body = vec![b'x'; 100_000];
    let mut request = format!(
        "POST /upload HTTP/1.1\r\nhost: origin.test\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let outcome = within(GUARD, raw_exchange(origin.addr(), &request)).await;
    assert!(
        outcome.bytes.is_empty(),
        "got {} bytes",
        outcome.bytes.len()
    );
    assert!(outcome.is_clean_eof(), "ended with {:?}", outcome.end);
}

#[tokio::test]
async fn resets_origin_resets_without_a_byte() {
    let origin = Origin::resets().await;
    let outcome = within(GUARD, raw_exchange(origin.addr(), GET_ROOT)).await;
    assert!(outcome.bytes.is_empty(), "got {:?}", outcome.bytes);
    assert!(
        matches!(outcome.end, RawEnd::Reset),
        "ended with {:?}",
        outcome.end
    );
    assert_eq!(origin.requests().len(), 1);
}

#[test]
fn sized_heads_are_exactly_n_bytes() {
    let builders: [fn(usize) -> Vec<u8>; 2] = [raw_headers_of_size, raw_cookies_of_size];
    for build in builders {
        let sizes = (60..400).chain([16_383, 16_384, 16_385, 32_768, 32_769]);
        for n in sizes {
            let response = build(n);
            let blank = response
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .expect("the head ends with a blank line");
            assert_eq!(blank + 4, n, "head of the {n}-byte response");
            assert_eq!(&response[n..], SIZED_HEAD_BODY);
            assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"));
            let head = std::str::from_utf8(&response[..n]).expect("an ASCII head");
            for line in head.trim_end().split("\r\n").skip(1) {
                let (name, value) = line.split_once(": ").expect("each line is a header field");
                assert!(!name.is_empty() && !value.is_empty(), "line {line:?}");
            }
        }
    }
    let cookies = raw_cookies_of_size(16_385);
    let lines = String::from_utf8(cookies).expect("ASCII");
    assert!(lines.matches("set-cookie: ").count() > 100);
    assert!(lines.split("\r\n").all(|line| line.len() < 220));
}

#[tokio::test]
async fn raw_origin_sends_exactly_its_bytes_then_fin() {
    for bytes in [
        raw_headers_of_size(16_385),
        GARBAGE.to_vec(),
        MALFORMED_STATUS_LINE.to_vec(),
        TRUNCATED_HEAD.to_vec(),
    ] {
        let origin = Origin::raw(bytes.clone()).await;
        let outcome = within(GUARD, raw_exchange(origin.addr(), GET_ROOT)).await;
        assert_eq!(outcome.bytes, bytes);
        assert!(outcome.is_clean_eof(), "ended with {:?}", outcome.end);
        assert_eq!(origin.requests().len(), 1);
    }
}

#[tokio::test]
async fn slow_body_origin_stalls_after_the_first_part() {
    let origin = Origin::slow_body(b"first part", true).await;
    let mut stream = connect(origin.addr()).await;
    within(GUARD, stream.write_all(GET_ROOT))
        .await
        .expect("the request is written");
    let mut received = Vec::new();
    while !received.ends_with(b"first part") {
        let read = within(GUARD, stream.read_buf(&mut received))
            .await
            .expect("the head and first part arrive");
        assert_ne!(read, 0, "closed early after {received:?}");
    }
    let text = String::from_utf8(received).expect("ASCII");
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(text.contains(&format!("content-length: {SLOW_BODY_LENGTH}\r\n")));
    let mut byte = [0u8; 1];
    still_pending_after(Duration::from_millis(100), stream.read(&mut byte)).await;
}

#[tokio::test]
async fn slow_body_origin_without_stall_closes_short_of_its_length() {
    let origin = Origin::slow_body(b"first part", false).await;
    let outcome = within(GUARD, raw_exchange(origin.addr(), GET_ROOT)).await;
    assert_eq!(outcome.status(), Some(200));
    assert_eq!(outcome.body(), b"first part");
    assert!(outcome.is_clean_eof(), "ended with {:?}", outcome.end);
}

#[tokio::test]
async fn second_request_dropped_origin_answers_once_per_connection() {
    let origin = Origin::second_request_dropped().await;
    let mut stream = connect(origin.addr()).await;
    within(GUARD, stream.write_all(GET_ROOT))
        .await
        .expect("the first request is written");
    let mut received = Vec::new();
    while !received.ends_with(SECOND_REQUEST_DROPPED_BODY.as_bytes()) {
        let read = within(GUARD, stream.read_buf(&mut received))
            .await
            .expect("the first response arrives");
        assert_ne!(read, 0, "closed early after {received:?}");
    }
    let text = String::from_utf8(received).expect("ASCII");
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(text.contains("connection: keep-alive\r\n"));

    within(GUARD, stream.write_all(GET_ROOT))
        .await
        .expect("the second request is written");
    let mut rest = Vec::new();
    let read = within(GUARD, stream.read_to_end(&mut rest))
        .await
        .expect("a clean close, not a reset");
    assert_eq!(read, 0, "the second request got {rest:?}");
    assert_eq!(origin.requests().len(), 2);
    assert_eq!(origin.connections(), 1);

    let fresh = within(GUARD, get(origin.addr(), "/again")).await;
    assert_eq!(fresh.status(), 200);
    assert_eq!(fresh.text(), SECOND_REQUEST_DROPPED_BODY);
    assert_eq!(origin.connections(), 2);
    assert_eq!(origin.requests().len(), 3);
}

#[tokio::test]
async fn ok_origin_records_requests_and_counts_connections() {
    let origin = Origin::ok("hello").await;
    let res = within(
        GUARD,
        get_with_host(origin.addr(), "example.com", "/path?q=1"),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "hello");
    assert_eq!(res.header("server"), Some(ORIGIN_SERVER));
    let seen = origin.last_request().expect("the request was recorded");
    assert_eq!(seen.method, Method::GET);
    assert_eq!(seen.uri, "/path?q=1");
    assert_eq!(seen.version, Version::HTTP_11);
    assert_eq!(seen.header("host"), Some("example.com"));

    let post = Request::post("/form")
        .header("x-test", "1")
        .body(Full::new(Bytes::from_static(b"a=b")))
        .expect("a valid request");
    within(GUARD, send(origin.addr(), post)).await;
    let seen = origin.last_request().expect("the request was recorded");
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.body, "a=b");
    assert_eq!(seen.header("x-test"), Some("1"));
    assert_eq!(origin.connections(), 2);

    // Keep-alive: two requests on one connection count one connection.
    let stream = connect(origin.addr()).await;
    let (mut sender, connection) = within(
        GUARD,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .expect("an HTTP/1.1 handshake");
    tokio::spawn(connection);
    for _ in 0..2 {
        within(GUARD, sender.ready())
            .await
            .expect("the connection is reusable");
        let request = Request::get("/again")
            .header("host", "example.com")
            .body(Empty::<Bytes>::new())
            .expect("a valid request");
        let response = within(GUARD, sender.send_request(request))
            .await
            .expect("a response");
        within(GUARD, response.into_body().collect())
            .await
            .expect("the body");
    }
    assert_eq!(origin.connections(), 3);
    assert_eq!(origin.requests().len(), 4);
}

#[tokio::test]
async fn status_origin_answers_its_code() {
    let origin = Origin::status(503, "down").await;
    let res = within(GUARD, get(origin.addr(), "/")).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.text(), "down");
}

#[tokio::test]
async fn delayed_origin_answers_after_its_delay() {
    let delay = Duration::from_millis(50);
    let origin = Origin::delayed(delay, "late").await;
    let res = within(GUARD, get(origin.addr(), "/")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "late");
    assert!(res.elapsed >= delay, "answered after {:?}", res.elapsed);
}

#[tokio::test]
async fn echo_origin_streams_the_body_back_chunk_by_chunk() {
    let origin = Origin::echo_body().await;
    let (chunks, body) = streaming_body();
    let request = Request::post("/upload")
        .body(body)
        .expect("a valid request");
    chunks
        .send(Bytes::from_static(b"one"))
        .await
        .expect("body open");
    let streaming = within(GUARD, send_streaming(origin.addr(), request))
        .await
        .expect("a response head");
    assert_eq!(streaming.response.status(), 200);
    let mut echoed = streaming.response.into_body();
    let first = within(GUARD, echoed.frame())
        .await
        .expect("a frame")
        .expect("no error");
    assert_eq!(first.into_data().expect("a data frame"), "one");
    // The second chunk is sent only after the first came back: the echo streams.
    chunks
        .send(Bytes::from_static(b"two"))
        .await
        .expect("body open");
    let second = within(GUARD, echoed.frame())
        .await
        .expect("a frame")
        .expect("no error");
    assert_eq!(second.into_data().expect("a data frame"), "two");
    drop(chunks);
    let end = within(GUARD, echoed.frame()).await;
    assert!(end.is_none(), "the echo ends with the upload");
    assert_eq!(origin.requests().len(), 1);
}

#[tokio::test]
async fn get_h2_speaks_h2c_with_prior_knowledge() {
    let origin = Origin::ok("over h2").await;
    let res = within(GUARD, get_h2(origin.addr(), "/h2?x=1")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.version, Version::HTTP_2);
    assert_eq!(res.text(), "over h2");
    let seen = origin.last_request().expect("the request was recorded");
    assert_eq!(seen.version, Version::HTTP_2);
    assert_eq!(
        seen.uri.path_and_query().map(|p| p.as_str()),
        Some("/h2?x=1")
    );
}

#[tokio::test]
async fn never_reads_origin_stalls_a_large_write() {
    let origin = Origin::never_reads().await;
    let socket = TcpSocket::new_v4().expect("a socket");
    // A small send buffer keeps the kernel from absorbing the whole write on our side.
    socket.set_send_buffer_size(4096).expect("set SO_SNDBUF");
    let mut stream = within(GUARD, socket.connect(origin.addr()))
        .await
        .expect("the origin accepts");
    within(GUARD, origin.connections_seen(1)).await;
    let payload = vec![0u8; 4 * 1024 * 1024];
    still_pending_after(Duration::from_millis(100), stream.write_all(&payload)).await;
}

#[tokio::test]
#[should_panic(expected = "did not complete within 10ms")]
async fn within_panics_when_the_limit_passes() {
    within(Duration::from_millis(10), std::future::pending::<()>()).await;
}

#[tokio::test]
#[should_panic(expected = "expected it to still be pending")]
async fn still_pending_after_panics_when_the_future_completes() {
    still_pending_after(Duration::from_millis(10), std::future::ready(())).await;
}
