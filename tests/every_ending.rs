//! Every request leaves exactly one record, however its response ends: a chunked body, a large
//! body, a close-delimited HTTP/1.0 body, a body the origin stalls or cuts short, a visitor
//! that leaves mid-body. For each, the JSON access log has one line for the ray with the right
//! ending, `GET /requests?ray=` has its entry, `edgecase_requests_total` counts it, and
//! `edgecase_requests_in_flight` is back to 0.
//!
//! The origins are real sockets on 127.0.0.1:0 writing the bytes each case needs; the edge is
//! in-process with a read timeout of a few hundred ms.
mod support;

use std::net::SocketAddr;
use std::path::Path;

use bytes::Bytes;
use http::{Request, header};
use http_body_util::Empty;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use edgecase::EdgeHandle;
use support::observe::{
    admin_get, edge_toml, json_body, json_lines, log_lines_for, poll_file, ray_hex, scrape, start,
    toml_path,
};
use support::origins::Origin;
use support::pki::TempDir;
use support::visitor::{Response, send, within};
use support::{GUARD, ms};

/// `timeouts.read` of the edge, in ms: how long a stalled body takes to break off.
const READ_MS: u64 = 300;

/// An edge in front of `origin` logging JSON lines to a file in `dir`.
async fn edge_logging(origin: SocketAddr, dir: &TempDir) -> (EdgeHandle, std::path::PathBuf) {
    let access = dir.path().join("access.log");
    let log = format!("format = \"json\"\naccess = {}\n", toml_path(&access));
    let edge = start(&edge_toml(origin, 300, READ_MS, &log, "")).await;
    (edge, access)
}

/// `GET path` through the edge, its body read to the end (or to where it broke off).
async fn visit(edge: &EdgeHandle, path: &str) -> Response {
    let request = Request::get(path)
        .header(header::HOST, "shop.test")
        .body(Empty::<Bytes>::new())
        .expect("a valid request");
    within(GUARD, send(edge.addr(), request)).await
}

/// The one record of `ray`: its log line (exactly one), its `/requests` entry, and the
/// in-flight gauge back at 0 with `edgecase_requests_total` at `total`.
async fn assert_one_record(
    edge: &EdgeHandle,
    access: &Path,
    ray: &str,
    status: u64,
    ending: &str,
    total: f64,
) -> Value {
    let line = log_lines_for(access, &[ray.to_owned()]).await.remove(0);
    assert_eq!(line["EdgeResponseStatus"], status, "{line}");
    assert_eq!(line["EdgecaseEnding"], ending, "{line}");
    let text = std::fs::read_to_string(access).expect("the log file");
    let lines = json_lines(&text).expect("JSON lines");
    let same: Vec<_> = lines
        .iter()
        .filter(|l| l["RayID"].as_str() == Some(ray_hex(ray)))
        .collect();
    assert_eq!(same.len(), 1, "exactly one line for {ray}: {text}");

    let res = admin_get(edge, &format!("/requests?ray={ray}")).await;
    let entries = json_body(&res);
    let entries = entries.as_array().expect("an array of records");
    assert_eq!(
        entries.len(),
        1,
        "one /requests entry for {ray}: {entries:?}"
    );
    assert_eq!(entries[0]["ending"], ending, "{}", entries[0]);
    assert_eq!(entries[0]["status"], status, "{}", entries[0]);

    let metrics = scrape(edge).await;
    assert_eq!(metrics.scalar("edgecase_requests_in_flight"), 0.0);
    assert_eq!(metrics.sum("edgecase_requests_total"), total);
    line
}

#[tokio::test]
async fn a_chunked_answer_is_recorded_once() {
    let origin = Origin::raw(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
          5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"
            .to_vec(),
    )
    .await;
    let dir = TempDir::new("ending_chunked");
    let (edge, access) = edge_logging(origin.addr(), &dir).await;
    let res = visit(&edge, "/chunked").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "helloworld");
    let ray = res.header("cf-ray").expect("cf-ray").to_owned();
    let line = assert_one_record(&edge, &access, &ray, 200, "complete", 1.0).await;
    assert_eq!(
        line["EdgeResponseBytes"].as_u64().map(|b| b >= 10),
        Some(true)
    );
}

#[tokio::test]
async fn a_large_answer_is_recorded_once() {
    const SIZE: usize = 4 * 1024 * 1024;
    let mut raw = format!("HTTP/1.1 200 OK\r\ncontent-length: {SIZE}\r\n\r\n").into_bytes();
    raw.resize(raw.len() + SIZE, b'x');
    let origin = Origin::raw(raw).await;
    let dir = TempDir::new("ending_large");
    let (edge, access) = edge_logging(origin.addr(), &dir).await;
    let res = visit(&edge, "/large").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.body.len(), SIZE);
    let ray = res.header("cf-ray").expect("cf-ray").to_owned();
    assert_one_record(&edge, &access, &ray, 200, "complete", 1.0).await;
}

#[tokio::test]
async fn a_close_delimited_http_1_0_answer_is_recorded_and_spoken_as_1_1() {
    let origin =
        Origin::raw(b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil close".to_vec())
            .await;
    let dir = TempDir::new("ending_http10");
    let (edge, access) = edge_logging(origin.addr(), &dir).await;
    // Raw bytes: the visitor's status line is what is checked.
    let mut stream = within(GUARD, TcpStream::connect(edge.addr()))
        .await
        .expect("connect to the edge");
    stream
        .write_all(b"GET /old HTTP/1.1\r\nhost: shop.test\r\nconnection: close\r\n\r\n")
        .await
        .expect("write the request");
    let mut answer = Vec::new();
    within(GUARD, stream.read_to_end(&mut answer))
        .await
        .expect("read the answer");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    // Re-framed for the visitor (chunked), the body whole.
    assert!(answer.contains("\r\nuntil close\r\n"), "{answer}");
    let ray = answer
        .lines()
        .find_map(|l| l.strip_prefix("cf-ray: "))
        .expect("cf-ray")
        .to_owned();
    assert_one_record(&edge, &access, &ray, 200, "complete", 1.0).await;
}

#[tokio::test]
async fn a_stalled_body_is_recorded_with_its_read_timeout() {
    let origin = Origin::slow_body(b"first part", true).await;
    let dir = TempDir::new("ending_stalled");
    let (edge, access) = edge_logging(origin.addr(), &dir).await;
    let res = visit(&edge, "/slow-body").await;
    assert_eq!(res.status(), 200);
    let ray = res.header("cf-ray").expect("cf-ray").to_owned();
    let line = assert_one_record(&edge, &access, &ray, 200, "body_read_timeout", 1.0).await;
    let total = line["EdgeEndTimestamp"].as_u64().unwrap_or(0)
        - line["EdgeStartTimestamp"].as_u64().unwrap_or(0);
    assert!(total > 0, "{line}");
}

#[tokio::test]
async fn a_body_the_origin_cuts_short_is_recorded_as_such() {
    let origin = Origin::slow_body(b"only this", false).await;
    let dir = TempDir::new("ending_cut");
    let (edge, access) = edge_logging(origin.addr(), &dir).await;
    let res = visit(&edge, "/cut").await;
    assert_eq!(res.status(), 200);
    let ray = res.header("cf-ray").expect("cf-ray").to_owned();
    assert_one_record(&edge, &access, &ray, 200, "body_origin_error", 1.0).await;
}

#[tokio::test]
async fn a_visitor_that_leaves_mid_body_is_recorded_as_gone() {
    let origin = Origin::slow_body(b"first part", true).await;
    let dir = TempDir::new("ending_gone");
    let (edge, access) = edge_logging(origin.addr(), &dir).await;
    let mut stream = within(GUARD, TcpStream::connect(edge.addr()))
        .await
        .expect("connect to the edge");
    stream
        .write_all(b"GET /leave HTTP/1.1\r\nhost: shop.test\r\n\r\n")
        .await
        .expect("write the request");
    // Read until the first part of the body is in, then leave.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("first part") {
        let n = within(GUARD, stream.read(&mut buf))
            .await
            .expect("read the answer");
        assert!(
            n > 0,
            "the edge closed early: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    drop(stream);
    let text = String::from_utf8_lossy(&got).into_owned();
    let ray = text
        .lines()
        .find_map(|l| l.strip_prefix("cf-ray: "))
        .expect("cf-ray")
        .to_owned();
    // Well before the read timeout: the visitor's leaving ends the request, not the origin.
    assert_one_record(&edge, &access, &ray, 200, "visitor_gone", 1.0).await;
}

#[tokio::test]
async fn an_answer_with_both_length_and_chunked_is_a_520() {
    let origin = Origin::raw(
        b"HTTP/1.1 200 OK\r\ncontent-length: 60\r\ntransfer-encoding: chunked\r\n\r\n\
          5\r\nhello\r\n0\r\n\r\n"
            .to_vec(),
    )
    .await;
    let dir = TempDir::new("ending_both");
    let (edge, access) = edge_logging(origin.addr(), &dir).await;
    let res = visit(&edge, "/both").await;
    assert_eq!(res.status(), 520, "{}", res.text());
    let ray = res.header("cf-ray").expect("cf-ray").to_owned();
    let line = assert_one_record(&edge, &access, &ray, 520, "complete", 1.0).await;
    assert_eq!(line["EdgecaseCause"], "ambiguous_origin_framing", "{line}");
}

#[tokio::test]
async fn many_chunked_answers_leave_as_many_records() {
    let origin = Origin::raw(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".to_vec(),
    )
    .await;
    let dir = TempDir::new("ending_many");
    let (edge, access) = edge_logging(origin.addr(), &dir).await;
    let mut rays = Vec::new();
    for _ in 0..20 {
        let res = visit(&edge, "/many").await;
        assert_eq!(res.text(), "abc");
        rays.push(res.header("cf-ray").expect("cf-ray").to_owned());
    }
    log_lines_for(&access, &rays).await;
    let text = poll_file(&access, |text| {
        json_lines(text).filter(|lines| lines.len() >= rays.len())
    })
    .await;
    assert_eq!(text.len(), rays.len());
    within(GUARD, async {
        loop {
            let metrics = scrape(&edge).await;
            if metrics.scalar("edgecase_requests_in_flight") == 0.0 {
                assert_eq!(metrics.sum("edgecase_requests_total"), 20.0);
                return;
            }
            tokio::time::sleep(ms(5)).await;
        }
    })
    .await;
}
