//! HTTP semantics the edge must keep while proxying, checked on the raw bytes the visitor
//! receives: HEAD answered without a body but with the GET's `content-length`; 204 and 304
//! without a body (a pipelined request after them still parses); a chunked origin response's
//! trailers reaching an h1 visitor that sent `TE: trailers`, and an h2 visitor; `Expect:
//! 100-continue` answered with `100 Continue` before the body is sent, the body then reaching
//! the origin; an origin's `103 Early Hints` followed by the final `200` the visitor gets.
//!
//! The edge runs in-process ([`spawn_edge`]). Origins are the scripted raw ones of
//! `support/origins.rs`, plus a method-aware one written here ([`HeadAwareOrigin`]).
mod support;

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Request, Version};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use support::origins::Origin;
use support::visitor::{raw_exchange, within};
use support::{GUARD, assert_ray_format, spawn_edge, test_config};

/// The Host every visitor here sends.
const HOST: &str = "site.test";

/// The body [`HeadAwareOrigin`] sends to a GET.
const DOCUMENT: &str = "hello, world";

/// A chunked origin response with the trailer `x-checksum: abc` after two chunks.
const CHUNKED_WITH_TRAILER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\
    transfer-encoding: chunked\r\ntrailer: x-checksum\r\nconnection: close\r\n\r\n\
    5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: abc\r\n\r\n";

/// An origin's `103 Early Hints` with a `link`, then its final `200`.
const EARLY_HINTS_THEN_200: &[u8] = b"HTTP/1.1 103 Early Hints\r\n\
    link: </style.css>; rel=preload; as=style\r\n\r\n\
    HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\
    connection: close\r\n\r\nfinal";

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 on the visitor's side
// ---------------------------------------------------------------------------------------------

/// A request head to the edge with `Host:` [`HOST`], `extra` header lines (each ending in
/// CRLF) and `connection: close`, so the whole answer is read to EOF.
fn raw_request(method: &str, path: &str, extra: &str) -> Vec<u8> {
    format!("{method} {path} HTTP/1.1\r\nhost: {HOST}\r\n{extra}connection: close\r\n\r\n")
        .into_bytes()
}

/// `bytes` split after the first blank line: the head (with its CRLFCRLF) and the rest.
#[track_caller]
fn split_head(bytes: &[u8]) -> (&[u8], &[u8]) {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no whole head in {:?}", String::from_utf8_lossy(bytes)));
    bytes.split_at(end + 4)
}

/// The status code of a response head.
#[track_caller]
fn status_of(head: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(head);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP/1.1 status line: {text:?}"))
}

/// The value of header `name` (any case) in a head or trailer block, if present.
fn header_of(head: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
}

/// Skips informational (1xx) responses at the start of `bytes`; returns their statuses and
/// heads, and the bytes from the final response on.
#[track_caller]
fn skip_informational(mut bytes: &[u8]) -> (Vec<(u16, Vec<u8>)>, &[u8]) {
    let mut interim = Vec::new();
    loop {
        let (head, rest) = split_head(bytes);
        let status = status_of(head);
        if !(100..200).contains(&status) {
            return (interim, bytes);
        }
        interim.push((status, head.to_vec()));
        bytes = rest;
    }
}

/// Decodes a chunked body: its data and its trailer block (`name: value` lines, CRLF each).
#[track_caller]
fn decode_chunked(mut body: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut data = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk-size line");
        let line = String::from_utf8_lossy(&body[..line_end]).into_owned();
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .unwrap_or_else(|e| panic!("chunk size {size_text:?}: {e}"));
        body = &body[line_end + 2..];
        if size == 0 {
            // Trailer lines, then the final CRLF.
            let end = body
                .windows(2)
                .enumerate()
                .find(|&(at, w)| w == b"\r\n" && (at == 0 || body[..at].ends_with(b"\r\n")))
                .map(|(at, _)| at)
                .expect("the chunked body ends with an empty line");
            return (data, body[..end].to_vec());
        }
        data.extend_from_slice(&body[..size]);
        assert_eq!(&body[size..size + 2], b"\r\n", "a chunk ends with CRLF");
        body = &body[size + 2..];
    }
}

/// A plain-HTTP origin answering GET with [`DOCUMENT`] and HEAD with the same head and no body
/// (`content-length` of the document either way), then closing. Reports each method it saw.
struct HeadAwareOrigin {
    addr: SocketAddr,
    methods: mpsc::UnboundedReceiver<String>,
    task: JoinHandle<()>,
}

impl Drop for HeadAwareOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HeadAwareOrigin {
    async fn start() -> HeadAwareOrigin {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the origin");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let (seen, methods) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer_by_method(stream, seen.clone()));
            }
        });
        HeadAwareOrigin {
            addr,
            methods,
            task,
        }
    }

    async fn next_method(&mut self) -> String {
        within(GUARD, self.methods.recv())
            .await
            .expect("the origin saw a request")
    }
}

async fn answer_by_method(mut stream: TcpStream, seen: mpsc::UnboundedSender<String>) {
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read_buf(&mut head).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
    let method = String::from_utf8_lossy(&head)
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        DOCUMENT.len()
    );
    if method != "HEAD" {
        response.push_str(DOCUMENT);
    }
    let _ = seen.send(method);
    if stream.write_all(response.as_bytes()).await.is_ok() {
        let _ = stream.shutdown().await;
    }
}

// ---------------------------------------------------------------------------------------------
// HEAD, 204, 304
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn head_is_answered_with_the_gets_content_length_and_no_body() {
    let mut origin = HeadAwareOrigin::start().await;
    let edge = spawn_edge(test_config(origin.addr)).await;

    let get = within(
        GUARD,
        raw_exchange(edge.addr(), &raw_request("GET", "/doc", "")),
    )
    .await;
    let (get_head, get_body) = split_head(&get.bytes);
    assert_eq!(status_of(get_head), 200);
    assert_eq!(get_body, DOCUMENT.as_bytes());
    let length = header_of(get_head, "content-length").expect("the GET has a content-length");
    assert_eq!(origin.next_method().await, "GET");

    let head = within(
        GUARD,
        raw_exchange(edge.addr(), &raw_request("HEAD", "/doc", "")),
    )
    .await;
    let (head_head, head_body) = split_head(&head.bytes);
    assert_eq!(status_of(head_head), 200);
    assert_eq!(
        header_of(head_head, "content-length"),
        Some(length),
        "HEAD announces the GET's length"
    );
    assert!(
        head_body.is_empty(),
        "no body after a HEAD's head: {:?}",
        String::from_utf8_lossy(head_body)
    );
    assert_ray_format(&header_of(head_head, "cf-ray").expect("cf-ray"));
    assert_eq!(origin.next_method().await, "HEAD", "forwarded as HEAD");
}

/// Sends two pipelined GETs (the second with `connection: close`) and asserts the edge answered
/// each with a bare `status` head and not a byte of body; returns the first head.
async fn assert_two_bodiless_answers(edge: SocketAddr, status: u16, extra: &str) -> Vec<u8> {
    let mut request = format!("GET /first HTTP/1.1\r\nhost: {HOST}\r\n{extra}\r\n").into_bytes();
    request.extend_from_slice(&raw_request("GET", "/second", extra));
    let outcome = within(GUARD, raw_exchange(edge, &request)).await;
    let (first, rest) = split_head(&outcome.bytes);
    assert_eq!(
        status_of(first),
        status,
        "{:?}",
        String::from_utf8_lossy(&outcome.bytes)
    );
    let (second, after) = split_head(rest);
    assert_eq!(
        status_of(second),
        status,
        "the next response starts right after the head: {:?}",
        String::from_utf8_lossy(&outcome.bytes)
    );
    assert!(
        after.is_empty(),
        "no body after either head: {:?}",
        String::from_utf8_lossy(after)
    );
    for head in [first, second] {
        assert_eq!(header_of(head, "transfer-encoding"), None, "not chunked");
    }
    first.to_vec()
}

#[tokio::test]
async fn an_origin_204_reaches_the_visitor_without_a_body() {
    let origin = Origin::raw(
        b"HTTP/1.1 204 No Content\r\nx-origin: yes\r\nconnection: close\r\n\r\n".to_vec(),
    )
    .await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let head = assert_two_bodiless_answers(edge.addr(), 204, "").await;

    assert_eq!(
        header_of(&head, "content-length"),
        None,
        "a 204 has no length"
    );
    assert_eq!(header_of(&head, "x-origin").as_deref(), Some("yes"));
}

#[tokio::test]
async fn an_origin_304_reaches_the_visitor_without_a_body() {
    let origin = Origin::raw(
        b"HTTP/1.1 304 Not Modified\r\netag: \"v1\"\r\nconnection: close\r\n\r\n".to_vec(),
    )
    .await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let head = assert_two_bodiless_answers(edge.addr(), 304, "if-none-match: \"v1\"\r\n").await;

    assert_eq!(header_of(&head, "etag").as_deref(), Some("\"v1\""));
    within(GUARD, origin.request_seen()).await;
    let seen = origin
        .last_request()
        .expect("the origin recorded a request");
    assert_eq!(seen.header("if-none-match"), Some("\"v1\""));
}

// ---------------------------------------------------------------------------------------------
// Trailers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn trailers_of_a_chunked_origin_response_reach_an_h1_visitor_sending_te_trailers() {
    let origin = Origin::raw(CHUNKED_WITH_TRAILER.to_vec()).await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let outcome = within(
        GUARD,
        raw_exchange(edge.addr(), &raw_request("GET", "/sum", "te: trailers\r\n")),
    )
    .await;

    let (head, body) = split_head(&outcome.bytes);
    assert_eq!(status_of(head), 200);
    assert_eq!(
        header_of(head, "transfer-encoding").as_deref(),
        Some("chunked"),
        "trailers need a chunked body: {:?}",
        String::from_utf8_lossy(head)
    );
    let (data, trailers) = decode_chunked(body);
    assert_eq!(data, b"hello world");
    assert_eq!(
        header_of(&trailers, "x-checksum").as_deref(),
        Some("abc"),
        "the trailer block: {:?}",
        String::from_utf8_lossy(&trailers)
    );
}

#[tokio::test]
async fn a_chunked_origin_response_with_trailers_reaches_an_h1_visitor_without_te_whole() {
    let origin = Origin::raw(CHUNKED_WITH_TRAILER.to_vec()).await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let outcome = within(
        GUARD,
        raw_exchange(edge.addr(), &raw_request("GET", "/sum", "")),
    )
    .await;

    let (head, body) = split_head(&outcome.bytes);
    assert_eq!(status_of(head), 200);
    let data = if header_of(head, "transfer-encoding").is_some() {
        decode_chunked(body).0
    } else {
        body.to_vec()
    };
    assert_eq!(data, b"hello world");
}

#[tokio::test]
async fn trailers_of_a_chunked_origin_response_reach_an_h2_visitor() {
    let origin = Origin::raw(CHUNKED_WITH_TRAILER.to_vec()).await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    let tcp = within(GUARD, TcpStream::connect(edge.addr()))
        .await
        .expect("connect to the edge");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("the h2c handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = Request::get(format!("http://{HOST}/sum"))
        .version(Version::HTTP_2)
        .header("te", "trailers")
        .body(Empty::<Bytes>::new())
        .expect("a valid request");

    let response = within(GUARD, sender.send_request(request))
        .await
        .expect("a response head");
    assert_eq!(response.status(), 200);
    let collected = within(GUARD, response.into_body().collect())
        .await
        .expect("the whole body");
    let trailers: HeaderMap = collected.trailers().cloned().unwrap_or_default();
    assert_eq!(collected.to_bytes(), "hello world");
    assert_eq!(
        trailers.get("x-checksum").and_then(|v| v.to_str().ok()),
        Some("abc"),
        "trailers: {trailers:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Informational responses
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn expect_100_continue_gets_100_before_the_body_and_the_body_reaches_the_origin() {
    let origin = Origin::ok("stored").await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    let mut stream = within(GUARD, TcpStream::connect(edge.addr()))
        .await
        .expect("connect to the edge");
    let body = b"hello world";
    let head = raw_request(
        "POST",
        "/upload",
        &format!(
            "content-type: text/plain\r\ncontent-length: {}\r\nexpect: 100-continue\r\n",
            body.len()
        ),
    );
    within(GUARD, stream.write_all(&head))
        .await
        .expect("send the request head");

    // Nothing of the body has been sent: the edge must say 100 Continue first.
    let mut received = Vec::new();
    within(GUARD, async {
        while !received.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream
                .read_buf(&mut received)
                .await
                .expect("read from the edge");
            assert_ne!(n, 0, "the edge closed before answering 100 Continue");
        }
    })
    .await;
    let (interim, _) = split_head(&received);
    assert_eq!(
        status_of(interim),
        100,
        "the first answer: {:?}",
        String::from_utf8_lossy(&received)
    );
    assert!(received.starts_with(b"HTTP/1.1 100 Continue\r\n"));

    within(GUARD, stream.write_all(body))
        .await
        .expect("send the body");
    within(GUARD, stream.read_to_end(&mut received))
        .await
        .expect("read the final answer");
    let (interim, final_response) = skip_informational(&received);
    assert_eq!(interim.len(), 1, "one 100 Continue");
    let (final_head, final_body) = split_head(final_response);
    assert_eq!(status_of(final_head), 200);
    assert_eq!(final_body, b"stored");

    within(GUARD, origin.request_seen()).await;
    let seen = origin.last_request().expect("the origin recorded the POST");
    assert_eq!(seen.method, http::Method::POST);
    assert_eq!(&seen.body[..], body, "the body reached the origin");
}

#[tokio::test]
async fn an_origins_103_early_hints_reaches_the_visitor_before_the_final_200() {
    let origin = Origin::raw(EARLY_HINTS_THEN_200.to_vec()).await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let outcome = within(
        GUARD,
        raw_exchange(edge.addr(), &raw_request("GET", "/", "")),
    )
    .await;

    let (interim, final_response) = skip_informational(&outcome.bytes);
    let (head, body) = split_head(final_response);
    assert_eq!(status_of(head), 200);
    assert_eq!(body, b"final");
    assert_ray_format(&header_of(head, "cf-ray").expect("cf-ray on the final answer"));
    // Cloudflare passes Early Hints on: the 103 comes first, with its link.
    let (status, hints) = interim.first().unwrap_or_else(|| {
        panic!(
            "no 103 before the 200: {:?}",
            String::from_utf8_lossy(&outcome.bytes)
        )
    });
    assert_eq!(*status, 103);
    assert!(
        header_of(hints, "link").is_some(),
        "the 103 keeps its link header"
    );
}

/// The 103 is early: it reaches the visitor while the origin is still working on its answer.
#[tokio::test]
async fn early_hints_arrive_before_the_origin_has_its_final_answer() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = listener.local_addr().expect("an address");
    let (release, mut released) = mpsc::channel::<()>(1);
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("the edge connects");
        let mut head = [0u8; 4096];
        let _ = stream.read(&mut head).await;
        stream
            .write_all(b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n")
            .await
            .expect("write the 103");
        // The final answer waits until the visitor has seen the 103.
        let _ = released.recv().await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .await;
    });
    let edge = spawn_edge(test_config(origin)).await;

    let mut visitor = TcpStream::connect(edge.addr()).await.expect("connect");
    visitor
        .write_all(b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        .await
        .expect("send");
    let mut seen = Vec::new();
    within(GUARD, async {
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut chunk = [0u8; 1024];
            let n = visitor.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed before the 103");
            seen.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(text.starts_with("HTTP/1.1 103 Early Hints\r\n"), "{text}");
    assert!(text.contains("link: </a.css>; rel=preload"), "{text}");
    release.send(()).await.expect("the origin waits");
    let mut rest = Vec::new();
    within(GUARD, visitor.read_to_end(&mut rest))
        .await
        .expect("read");
    let rest = String::from_utf8_lossy(&rest);
    assert!(rest.contains("HTTP/1.1 200 OK"), "{rest}");
}
