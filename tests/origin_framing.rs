//! The origin side's own HTTP/1.1 (issue 19), one framing rule at a time, against origins on
//! real loopback sockets that answer with exact bytes: chunked bodies (extensions ignored,
//! trailers read), close-delimited bodies, bodiless statuses, interim 100s skipped, heads
//! trickled a byte at a time, and the heads refused with a 520 and their cause (duplicate or
//! conflicting `Content-Length`, a `Transfer-Encoding` other than chunked, garbage).
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use support::origins::Origin;
use support::visitor::{Response, get_with_host, within};
use support::{GUARD, spawn_edge, test_config};

const HOST: &str = "site.test";

/// The visitor's answer to `GET /` through an edge (explaining its causes) in front of an
/// origin at `addr`.
async fn get(addr: SocketAddr) -> Response {
    let mut config = test_config(addr);
    config.emulation.explain = true;
    let edge = spawn_edge(config).await;
    within(GUARD, get_with_host(edge.addr(), HOST, "/")).await
}

/// The answer through an origin that writes exactly `bytes`, then closes.
async fn through(bytes: &[u8]) -> Response {
    let origin = Origin::raw(bytes.to_vec()).await;
    get(origin.addr()).await
}

#[track_caller]
fn assert_520(res: &Response, cause: &str) {
    assert_eq!(res.status(), 520, "body: {}", res.text());
    assert_eq!(res.header("cf-edgecase-cause"), Some(cause));
}

#[tokio::test]
async fn a_chunked_body_with_extensions_and_trailers_arrives_whole() {
    let res = through(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
          5;name=value\r\nhello\r\n7 \r\n, world\r\n0\r\nx-checksum: 1\r\n\r\n",
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "hello, world");
}

#[tokio::test]
async fn a_body_without_length_runs_to_the_close() {
    let res = through(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "until the end");
}

#[tokio::test]
async fn a_204_has_no_body_whatever_it_announces() {
    let res = through(b"HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n").await;
    assert_eq!(res.status(), 204);
    assert!(res.body.is_empty(), "{:?}", res.text());
}

#[tokio::test]
async fn blank_lines_before_the_status_line_are_skipped() {
    let res = through(b"\r\n\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await;
    assert_eq!(res.status(), 200, "body: {}", res.text());
    assert_eq!(res.text(), "ok");
}

/// Found by the `origin_response` fuzz target: blank lines and a hang-up once sent the head
/// search round the same blank line for ever, one core at 100%, the visitor never answered.
#[tokio::test]
async fn blank_lines_then_a_hang_up_are_a_520() {
    for bytes in [&b"\n\n"[..], b"\r\n\r\n", b"\n\r\n\n"] {
        let res = through(bytes).await;
        assert_520(&res, "closed_mid_head");
    }
}

/// Skipped blank lines still count toward the 16 KB head limit: an origin that sends nothing
/// else cannot keep the edge reading for ever.
#[tokio::test]
async fn endless_blank_lines_hit_the_head_limit() {
    let res = through(&b"\r\n".repeat(9 * 1024)).await;
    assert_520(&res, "headers_too_large");
}

#[tokio::test]
async fn an_interim_100_is_skipped_for_the_real_head() {
    let res =
        through(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "ok");
}

#[tokio::test]
async fn duplicate_content_lengths_are_a_520_even_when_equal() {
    for lengths in [
        "content-length: 2\r\ncontent-length: 2",
        "content-length: 2, 2",
    ] {
        let head = format!("HTTP/1.1 200 OK\r\n{lengths}\r\n\r\nok");
        assert_520(&through(head.as_bytes()).await, "malformed_head");
    }
    let conflicting = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok";
    assert_520(&through(conflicting).await, "malformed_head");
}

#[tokio::test]
async fn a_transfer_coding_other_than_chunked_is_a_520() {
    for coding in ["gzip", "gzip, chunked", "chunked, gzip"] {
        let head = format!("HTTP/1.1 200 OK\r\ntransfer-encoding: {coding}\r\n\r\n0\r\n\r\n");
        assert_520(&through(head.as_bytes()).await, "malformed_head");
    }
}

#[tokio::test]
async fn length_and_chunked_together_are_ambiguous() {
    let head =
        b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_520(&through(head).await, "ambiguous_origin_framing");
}

#[tokio::test]
async fn bad_header_bytes_are_a_malformed_head() {
    assert_520(
        &through(b"HTTP/1.1 200 OK\r\nx-bad: a\x01b\r\ncontent-length: 0\r\n\r\n").await,
        "malformed_head",
    );
    assert_520(&through(b"HTTP/1.1 20 OK\r\n\r\n").await, "malformed_head");
}

#[tokio::test]
async fn a_broken_chunk_cuts_the_response_short() {
    let res = through(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nokzz\r\n").await;
    // The head was good, so it went out as a 200 with what came before the break; the body
    // then broke off, and the visitor's response never ends cleanly.
    assert_eq!(res.status(), 200);
    assert!(
        res.body_error.is_some(),
        "a broken body must not end cleanly: {:?}",
        res.text()
    );
}

/// An origin that sends `response` one byte per write, pausing between them.
async fn trickling(response: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                for byte in response {
                    if stream.write_all(&[*byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_head_and_chunked_body_trickled_byte_by_byte_read_the_same() {
    let res = get(trickling(
        b"HTTP/1.1 200 OK\r\nx-a: b\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    )
    .await)
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("x-a"), Some("b"));
    assert_eq!(res.text(), "abc");
}

/// An origin that answers `413` as soon as it has the request head, then reads (and drops)
/// the rest of the upload until the visitor's side ends it.
async fn answers_before_the_body() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 4\r\n\r\nbig!";
                if stream.write_all(answer).await.is_err() {
                    return;
                }
                while let Ok(1..) = stream.read(&mut buf).await {}
            });
        }
    });
    addr
}

#[tokio::test]
async fn an_answer_before_the_upload_ends_reaches_the_visitor_at_once() {
    let edge = spawn_edge(test_config(answers_before_the_body().await)).await;
    let (tx, body) = support::visitor::streaming_body();
    tx.send(bytes::Bytes::from_static(
        b"the first part of a long upload",
    ))
    .await
    .expect("the body is read");
    let request = http::Request::post("/upload")
        .header("host", HOST)
        .body(body)
        .expect("a request");
    // The upload never ends while the visitor waits: only an answer read while the body is
    // still going up can arrive.
    let res = within(GUARD, support::visitor::send(edge.addr(), request)).await;
    assert_eq!(res.status(), 413);
    assert_eq!(res.text(), "big!");
    drop(tx);
}
