//! `edgecase diagnose`'s keep-alive stage against real origins: a working keep-alive (the
//! connection reused), an origin that closes after each answer (`connection: close`, HTTP/1.0),
//! a pooled connection the origin drops, and a second request on the reused connection that
//! goes unanswered or gets garbage (an edge error, checked through the proxy too).
mod support;

use std::net::SocketAddr;

use serde_json::Value;

use support::diagnose::{
    DiagnoseConfig, Diagnosed, LONG_MS, SHORT_MS, assert_proxy_agrees, diagnose,
};
use support::origins::{GARBAGE, Origin};

/// A complete answer that says `connection: close`, then the origin closes (FIN).
const CLOSE_AFTER_ANSWER: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok";

/// The Host of a config's `[origin]` given as an IP address: the address itself.
const LOOPBACK: &str = "127.0.0.1";

/// Diagnoses `origin` (the config's `[origin] address`), no other argument.
async fn diagnose_origin(config: &DiagnoseConfig) -> Diagnosed {
    diagnose(config, &[]).await
}

// ---------------------------------------------------------------------------------------------
// The keep-alive stage
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn working_origin_passes_every_stage_and_reuses_its_connection() {
    let origin = Origin::ok("hello").await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose(&config, &["--path", "/health?x=1"]).await;

    d.assert_origin_answer(200);
    for stage in ["dns", "connect", "http", "keep_alive"] {
        d.assert_passed(stage);
    }
    assert_eq!(d.result("tls"), "skipped", "{}", d.both());
    assert_eq!(d.json["verdict"]["warnings"], 0);
    assert!(
        !d.table.contains("What to check"),
        "nothing to check:\n{}",
        d.table
    );
    let keep_alive = &d.stage("keep_alive")["details"];
    assert_eq!(keep_alive["reused_connection"], true, "{}", d.both());
    assert_eq!(keep_alive["status"], 200, "{}", d.both());
    let first = &d.stage("http")["details"];
    assert_eq!(first["reused_connection"], false, "{}", d.both());
    assert_eq!(first["request"], "GET /health?x=1 HTTP/1.1", "{}", d.both());
    assert_eq!(first["ray"], d.json["ray"], "{}", d.both());
    assert_ne!(keep_alive["ray"], d.json["ray"], "a second ray ID");
    assert_eq!(first["body_complete"], true);
    assert_eq!(first["body_bytes"], 5);
    // Two runs (table and JSON), one connection each, two requests on each.
    origin.requests_seen(4).await;
    assert_eq!(
        origin.connections(),
        2,
        "each run reuses its one connection"
    );
    let rays: Vec<String> = origin
        .requests()
        .iter()
        .map(|r| {
            r.header("cf-ray")
                .expect("cf-ray on every request")
                .to_owned()
        })
        .collect();
    for request in origin.requests() {
        assert_eq!(request.uri, "/health?x=1");
        assert_eq!(request.header("host"), Some(LOOPBACK));
    }
    for ray in [&first["ray"], &keep_alive["ray"]] {
        let ray = ray.as_str().expect("a ray ID");
        assert!(rays.iter().any(|r| r == ray), "{ray} not in {rays:?}");
    }
    // What was diagnosed.
    let subject = &d.json["subject"];
    let port = origin.addr().port();
    assert_eq!(subject["url"], "http://127.0.0.1/health?x=1");
    assert_eq!(subject["origin"], format!("127.0.0.1:{port}"));
    assert_eq!(subject["host"], LOOPBACK);
    assert_eq!(subject["path"], "/health?x=1");
    assert_eq!(subject["ssl"], "off");
    assert_eq!(subject["visitor_scheme"], "http");
    assert_eq!(subject["route"], Value::Null);
    assert_eq!(subject["railgun"], false);
    for key in ["connect", "ack", "write", "read"] {
        assert_eq!(subject["timeouts_ms"][key], LONG_MS, "{key}");
    }
    support::assert_ray_format(d.json["ray"].as_str().expect("a ray"));
    assert!(
        d.table.contains("http://127.0.0.1/health?x=1"),
        "{}",
        d.table
    );
    assert!(d.table.contains("(UTC) · ray "), "{}", d.table);
    assert!(
        d.verdict_line()
            .starts_with("✓ A visitor would get the origin's answer: 200 OK"),
        "{}",
        d.table
    );
    let res = assert_proxy_agrees(&config, LOOPBACK, "/health?x=1", &d).await;
    assert_eq!(res.text(), "hello");
}

#[tokio::test]
async fn origin_that_closes_after_each_answer_warns_at_the_keep_alive_stage() {
    let origin = Origin::raw(CLOSE_AFTER_ANSWER.to_vec()).await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    d.assert_origin_answer(200);
    d.assert_passed("http");
    d.assert_warning("keep_alive");
    assert_eq!(
        d.stage("http")["details"]["connection"],
        "close",
        "{}",
        d.both()
    );
    assert!(
        d.row("keep_alive")
            .seen_text()
            .contains("connection: close"),
        "{}",
        d.both()
    );
    assert!(
        d.verdict_line().contains("(1 warning below)"),
        "{}",
        d.both()
    );
}

#[tokio::test]
async fn origin_dropping_the_kept_alive_connection_warns_at_the_keep_alive_stage() {
    let origin = Origin::second_request_dropped().await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    d.assert_origin_answer(200);
    d.assert_passed("http");
    d.assert_warning("keep_alive");
    assert!(d.stage("keep_alive")["failure"].is_null(), "{}", d.both());
    // The second request went out, on the first one's connection, and was dropped.
    origin.requests_seen(4).await;
    assert_eq!(origin.connections(), 2, "one connection per run");
    assert_eq!(
        d.stage("keep_alive")["details"]["reused_connection"],
        true,
        "{}",
        d.both()
    );
}

// ---------------------------------------------------------------------------------------------
// A failure on the reused connection
// ---------------------------------------------------------------------------------------------

/// What [`keep_alive_then`]'s origin does with the second request on a connection.
#[derive(Clone, Copy)]
enum Second {
    /// Reads it and never answers.
    Silent,
    /// Answers bytes that are not HTTP, then closes.
    Garbage,
}

/// An origin written here: on each connection it answers the first request `200 first`
/// (keep-alive), then treats the second as `second` says.
async fn keep_alive_then(second: Second) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    async fn head(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> bool {
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                buf.drain(..end + 4);
                return true;
            }
            match stream.read_buf(buf).await {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            }
        }
    }
    let (listener, addr) = support::bind_loopback().await;
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            connections.spawn(async move {
                let mut buf = Vec::new();
                if !head(&mut stream, &mut buf).await {
                    return;
                }
                let first = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst";
                if stream.write_all(first).await.is_err() || !head(&mut stream, &mut buf).await {
                    return;
                }
                if let Second::Garbage = second {
                    let _ = stream.write_all(GARBAGE).await;
                    let _ = stream.shutdown().await;
                }
                let mut scratch = [0u8; 1024];
                while let Ok(1..) = stream.read(&mut scratch).await {}
            });
        }
    });
    (addr, task)
}

#[tokio::test]
async fn second_request_unanswered_fails_the_keep_alive_stage_with_524() {
    let (addr, origin) = keep_alive_then(Second::Silent).await;
    let config = DiagnoseConfig::new(addr).read_ms(SHORT_MS);

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("keep_alive", 524, None, "read_timeout");
    d.assert_passed("http");
    assert_eq!(
        d.stage("keep_alive")["details"]["reused_connection"],
        true,
        "{}",
        d.both()
    );
    // Through the edge: the first visitor gets the answer, the next one, on the kept
    // connection, the 524.
    let edge = support::spawn_edge(config.config()).await;
    let first = support::visitor::within(
        support::GUARD,
        support::visitor::get_with_host(edge.addr(), LOOPBACK, "/"),
    )
    .await;
    assert_eq!(first.status(), 200);
    let second = support::visitor::within(
        support::GUARD,
        support::visitor::get_with_host(edge.addr(), LOOPBACK, "/"),
    )
    .await;
    assert_eq!(second.status(), 524);
    assert_eq!(
        second.header(support::faults::CAUSE),
        d.json["verdict"]["cause"].as_str()
    );
    origin.abort();
}

#[tokio::test]
async fn second_request_answered_with_garbage_fails_the_keep_alive_stage_with_520() {
    let (addr, origin) = keep_alive_then(Second::Garbage).await;
    let config = DiagnoseConfig::new(addr);

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("keep_alive", 520, None, "malformed_head");
    d.assert_passed("http");
    origin.abort();
}
