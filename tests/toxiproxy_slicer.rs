//! Toxiproxy's `slicer` toxic, on real sockets: downstream, the response body reaches the
//! visitor in pieces with the delay between them, whole; upstream, the request body reaches
//! the origin the same way (the origin echoes it back); `toxicity: 0` leaves a body alone.
#[path = "control_api/admin.rs"]
mod admin;
mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use admin::{Edgecase, array_of};
use support::origins::Origin;
use support::visitor::{get, send, within};
use support::{GUARD, assert_took, ms};

/// 200 bytes: 10 pieces of 20.
const BODY: &str = "0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij\
                    0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij\
                    0123456789abcdefghij0123456789abcdefghij";

/// 20 ms after each piece: the last byte arrives 9 pauses (180 ms) after the first.
const SLICER: &str = r#"{"type": "slicer", "attributes": {"average_size": 20, "size_variation": 0, "delay": 20000}}"#;

/// The lengths of the reads that brought a whole `GET /` response from `edge`.
async fn reads_of_one_response(edge: SocketAddr) -> Vec<usize> {
    let mut stream = TcpStream::connect(edge).await.expect("the edge accepts");
    let request = format!("GET / HTTP/1.1\r\nHost: {edge}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut reads = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await.expect("the response reads") {
            0 => return reads,
            n => reads.push(n),
        }
    }
}

#[tokio::test]
async fn a_downstream_slicer_sends_the_body_in_delayed_pieces_whole() {
    assert_eq!(BODY.len(), 200);
    let origin = Origin::ok(BODY).await;
    let edgecase = Edgecase::start("slicer_down", origin.addr(), "", "").await;
    let res = edgecase.post("/proxies/edgecase/toxics", SLICER).await;
    assert_eq!(res.status(), 200, "{}", res.text());

    let started = Instant::now();
    let res = within(GUARD, get(edgecase.edge, "/")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), BODY, "the body arrives whole");
    assert_took(started.elapsed(), ms(180), ms(2000));
    // The exchange ends with the last piece: no pause after it holds the record open until
    // the visitor has gone.
    let ending = within(GUARD, async {
        loop {
            if let Some(record) = array_of(&edgecase.get("/requests").await).first() {
                return record["ending"].clone();
            }
            tokio::time::sleep(ms(10)).await;
        }
    })
    .await;
    assert_eq!(ending, "complete");

    // On the socket: the head, then the pieces, each in its own read.
    let reads = within(GUARD, reads_of_one_response(edgecase.edge)).await;
    assert!(reads.len() >= 6, "the body came in pieces: {reads:?}");
    edgecase.stop().await;
}

#[tokio::test]
async fn an_upstream_slicer_sends_the_request_body_to_the_origin_in_pieces() {
    let origin = Origin::echo_body().await;
    let edgecase = Edgecase::start("slicer_up", origin.addr(), "", "").await;
    let upstream = SLICER.replacen('{', r#"{"stream": "upstream", "#, 1);
    let res = edgecase.post("/proxies/edgecase/toxics", &upstream).await;
    assert_eq!(res.status(), 200, "{}", res.text());

    let started = Instant::now();
    let request = Request::post("/upload")
        .body(Full::new(Bytes::from_static(BODY.as_bytes())))
        .expect("a test request is valid");
    let res = within(GUARD, send(edgecase.edge, request)).await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.text(), BODY, "the origin got the body whole");
    assert_took(started.elapsed(), ms(180), ms(2000));
    edgecase.stop().await;
}

#[tokio::test]
async fn a_slicer_with_toxicity_zero_leaves_the_body_alone() {
    let origin = Origin::ok(BODY).await;
    let edgecase = Edgecase::start("slicer_never", origin.addr(), "", "").await;
    let never = SLICER.replacen('{', r#"{"toxicity": 0, "#, 1);
    let res = edgecase.post("/proxies/edgecase/toxics", &never).await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let started = Instant::now();
    let res = within(GUARD, get(edgecase.edge, "/")).await;
    assert_eq!(res.text(), BODY);
    assert!(
        started.elapsed() < Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    edgecase.stop().await;
}
