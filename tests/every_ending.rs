//! Every request leaves exactly one record, however its response ends: a chunked body, a large
//! body, a close-delimited HTTP/1.0 body, a body the origin stalls, cuts short or resets, an
//! origin that resets before answering, a visitor that leaves mid-body, an upgraded connection.
//! For each, the JSON access log has one line for the ray with the right ending,
//! `GET /requests?ray=` has its entry, `edgecase_requests_total` counts it,
//! `edgecase_requests_in_flight` is back to 0, and the HAR capture (its file, which captures
//! every status here, and `GET /har?ray=`) holds exactly one entry for it.
//!
//! The origins are real sockets on 127.0.0.1:0 writing the bytes each case needs; the edge is
//! in-process with a read timeout of a few hundred ms.
mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::{Request, header};
use http_body_util::Empty;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use edgecase::EdgeHandle;
use support::har::check_har;
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

/// An edge and the files it records requests in.
struct Recording {
    edge: EdgeHandle,
    /// The JSON access log.
    access: PathBuf,
    /// The HAR capture, of every status the cases here end with.
    har: PathBuf,
}

/// An edge in front of `origin` logging JSON lines to a file in `dir`, and capturing every
/// exchange (1xx, 2xx, 5xx) to a HAR file there.
async fn edge_logging(origin: SocketAddr, dir: &TempDir) -> Recording {
    let access = dir.path().join("access.log");
    let har = dir.path().join("capture.har");
    let log = format!("format = \"json\"\naccess = {}\n", toml_path(&access));
    let capture = format!(
        "[capture]\nhar = {}\nstatuses = [\"1xx\", \"2xx\", \"5xx\"]\n",
        toml_path(&har)
    );
    let edge = start(&edge_toml(origin, 300, READ_MS, &log, &capture)).await;
    Recording { edge, access, har }
}

/// `GET path` through the edge, its body read to the end (or to where it broke off).
async fn visit(edge: &EdgeHandle, path: &str) -> Response {
    let request = Request::get(path)
        .header(header::HOST, "shop.test")
        .body(Empty::<Bytes>::new())
        .expect("a valid request");
    within(GUARD, send(edge.addr(), request)).await
}

/// The one record of `ray`: its log line (exactly one), its `/requests` entry, its HAR entry
/// (exactly one in the file and in `GET /har`), and the in-flight gauge back at 0 with
/// `edgecase_requests_total` at `total`.
async fn assert_one_record(
    recording: &Recording,
    ray: &str,
    status: u64,
    ending: &str,
    total: f64,
) -> Value {
    let Recording { edge, access, har } = recording;
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

    let res = admin_get(edge, &format!("/har?ray={ray}")).await;
    let listed = har_entries(&json_body(&res), ray);
    assert_eq!(listed.len(), 1, "one GET /har entry for {ray}: {listed:#?}");
    assert_eq!(listed[0]["response"]["status"], status, "{}", listed[0]);
    let captured = har_file_entries(har, std::slice::from_ref(&ray.to_owned())).await;
    assert_eq!(
        captured.len(),
        1,
        "one entry for {ray} in the HAR file: {captured:#?}"
    );
    assert_eq!(captured[0]["response"]["status"], status, "{}", captured[0]);
    line
}

/// The entries of the HAR document `har` (checked as HAR 1.2) whose ray is `ray`.
#[track_caller]
fn har_entries(har: &Value, ray: &str) -> Vec<Value> {
    check_har(har).unwrap_or_else(|why| panic!("not HAR 1.2: {why}\n{har:#}"));
    har["log"]["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["_cfRay"] == ray)
        .cloned()
        .collect()
}

/// The entries of the HAR file at `path` for `rays`, once each ray has one there.
async fn har_file_entries(path: &Path, rays: &[String]) -> Vec<Value> {
    poll_file(path, |text| {
        // The writer replaces the tail in one write; a read in the middle is simply retried.
        let har: Value = serde_json::from_str(text).ok()?;
        let mine: Vec<Value> = rays.iter().flat_map(|ray| har_entries(&har, ray)).collect();
        let all_in = rays
            .iter()
            .all(|ray| mine.iter().any(|e| e["_cfRay"] == *ray));
        all_in.then_some(mine)
    })
    .await
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
    let recording = edge_logging(origin.addr(), &dir).await;
    let res = visit(&recording.edge, "/chunked").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "helloworld");
    let ray = res.header("cf-ray").expect("cf-ray").to_owned();
    let line = assert_one_record(&recording, &ray, 200, "complete", 1.0).await;
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
    let recording = edge_logging(origin.addr(), &dir).await;
    let res = visit(&recording.edge, "/large").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.body.len(), SIZE);
    let ray = res.header("cf-ray").expect("cf-ray").to_owned();
    assert_one_record(&recording, &ray, 200, "complete", 1.0).await;
}

#[tokio::test]
async fn a_close_delimited_http_1_0_answer_is_recorded_and_spoken_as_1_1() {
    let origin =
        Origin::raw(b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil close".to_vec())
            .await;
    let dir = TempDir::new("ending_http10");
    let recording = edge_logging(origin.addr(), &dir).await;
    // Raw bytes: the visitor's status line is what is checked.
    let mut stream = within(GUARD, TcpStream::connect(recording.edge.addr()))
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
    assert_one_record(&recording, &ray, 200, "complete", 1.0).await;
}

#[tokio::test]
async fn a_stalled_body_is_recorded_with_its_read_timeout() {
    let origin = Origin::slow_body(b"first part", true).await;
    let dir = TempDir::new("ending_stalled");
    let recording = edge_logging(origin.addr(), &dir).await;
    let res = visit(&recording.edge, "/slow-body").await;
    assert_eq!(res.status(), 200);
    let ray = res.header("cf-ray").expect("cf-ray").to_owned();
    let line = assert_one_record(&recording, &ray, 200, "body_read_timeout", 1.0).await;
    let total = line["EdgeEndTimestamp"].as_u64().unwrap_or(0)
        - line["EdgeStartTimestamp"].as_u64().unwrap_or(0);
    assert!(total > 0, "{line}");
}

#[tokio::test]
async fn a_body_the_origin_cuts_short_is_recorded_as_such() {
    let origin = Origin::slow_body(b"only this", false).await;
    let dir = TempDir::new("ending_cut");
    let recording = edge_logging(origin.addr(), &dir).await;
    let res = visit(&recording.edge, "/cut").await;
    assert_eq!(res.status(), 200);
    let ray = res.header("cf-ray").expect("cf-ray").to_owned();
    assert_one_record(&recording, &ray, 200, "body_origin_error", 1.0).await;
}

#[tokio::test]
async fn a_visitor_that_leaves_mid_body_is_recorded_as_gone() {
    let origin = Origin::slow_body(b"first part", true).await;
    let dir = TempDir::new("ending_gone");
    let recording = edge_logging(origin.addr(), &dir).await;
    let mut stream = within(GUARD, TcpStream::connect(recording.edge.addr()))
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
    assert_one_record(&recording, &ray, 200, "visitor_gone", 1.0).await;
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
    let recording = edge_logging(origin.addr(), &dir).await;
    let res = visit(&recording.edge, "/both").await;
    assert_eq!(res.status(), 520, "{}", res.text());
    let ray = res.header("cf-ray").expect("cf-ray").to_owned();
    let line = assert_one_record(&recording, &ray, 520, "complete", 1.0).await;
    assert_eq!(line["EdgecaseCause"], "ambiguous_origin_framing", "{line}");
}

#[tokio::test]
async fn many_chunked_answers_leave_as_many_records() {
    let origin = Origin::raw(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".to_vec(),
    )
    .await;
    let dir = TempDir::new("ending_many");
    let recording = edge_logging(origin.addr(), &dir).await;
    let mut rays = Vec::new();
    for _ in 0..20 {
        let res = visit(&recording.edge, "/many").await;
        assert_eq!(res.text(), "abc");
        rays.push(res.header("cf-ray").expect("cf-ray").to_owned());
    }
    let Recording { edge, access, har } = &recording;
    log_lines_for(access, &rays).await;
    let text = poll_file(access, |text| {
        json_lines(text).filter(|lines| lines.len() >= rays.len())
    })
    .await;
    assert_eq!(text.len(), rays.len());
    let captured = har_file_entries(har, &rays).await;
    let captured: Vec<&str> = captured
        .iter()
        .map(|entry| entry["_cfRay"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(captured, rays, "one HAR entry per request, in order");
    within(GUARD, async {
        loop {
            let metrics = scrape(edge).await;
            if metrics.scalar("edgecase_requests_in_flight") == 0.0 {
                assert_eq!(metrics.sum("edgecase_requests_total"), 20.0);
                return;
            }
            tokio::time::sleep(ms(5)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_body_the_origin_resets_is_recorded_once() {
    let origin = Origin::resets_mid_body(b"only this").await;
    let dir = TempDir::new("ending_reset_body");
    let recording = edge_logging(origin.addr(), &dir).await;
    let res = visit(&recording.edge, "/reset-body").await;
    assert_eq!(res.status(), 200);
    let ray = res.header("cf-ray").expect("cf-ray").to_owned();
    assert_one_record(&recording, &ray, 200, "body_origin_error", 1.0).await;
}

#[tokio::test]
async fn an_origin_that_resets_before_answering_is_a_520_recorded_once() {
    let origin = Origin::resets().await;
    let dir = TempDir::new("ending_reset_head");
    let recording = edge_logging(origin.addr(), &dir).await;
    let res = visit(&recording.edge, "/reset-head").await;
    assert_eq!(res.status(), 520, "{}", res.text());
    let ray = res.header("cf-ray").expect("cf-ray").to_owned();
    assert_one_record(&recording, &ray, 520, "complete", 1.0).await;
}

#[tokio::test]
async fn an_upgraded_connection_is_recorded_once_when_its_tunnel_closes() {
    // A 101, a few bytes through the tunnel, then the origin closes.
    let origin = Origin::raw(
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\
          sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nfrom the origin"
            .to_vec(),
    )
    .await;
    let dir = TempDir::new("ending_upgraded");
    let recording = edge_logging(origin.addr(), &dir).await;
    let mut stream = within(GUARD, TcpStream::connect(recording.edge.addr()))
        .await
        .expect("connect to the edge");
    stream
        .write_all(
            b"GET /chat HTTP/1.1\r\nhost: shop.test\r\nconnection: upgrade\r\n\
              upgrade: websocket\r\nsec-websocket-version: 13\r\n\
              sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        )
        .await
        .expect("write the upgrade request");
    // The 101, then the tunnel's bytes until the origin's close reaches the visitor.
    let mut answer = Vec::new();
    within(GUARD, stream.read_to_end(&mut answer))
        .await
        .expect("read the answer");
    drop(stream);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(answer.starts_with("HTTP/1.1 101 "), "{answer}");
    assert!(answer.ends_with("from the origin"), "{answer}");
    let ray = answer
        .lines()
        .find_map(|l| l.strip_prefix("cf-ray: "))
        .expect("cf-ray")
        .to_owned();
    assert_one_record(&recording, &ray, 101, "complete", 1.0).await;
}
