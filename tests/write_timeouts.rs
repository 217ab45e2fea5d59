//! The write side of the origin timeouts, over real loopback sockets: an origin that accepts
//! and never reads while a visitor streams a large upload. Its receive window closes, the
//! edge's writes stall, and which timer fires decides the answer: `timeouts.ack`
//! (TCP_USER_TIMEOUT, Linux) gives 522, `timeouts.write` gives 524. The access log line names
//! the cause, so each test also checks that the other timer was not the one that fired.
//!
//! The read side (524 on a silent origin, mid-body stalls, routes) is in `tests/timeouts.rs`.
mod support;

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use support::log::CapturedLog;
use support::origins::Origin;
use support::visitor::{Response, streaming_body, try_send, within};
use support::{GUARD, assert_error_page, assert_took, ms, spawn_edge, test_config};

/// One chunk of the visitor's upload.
const UPLOAD_CHUNK_BYTES: usize = 64 * 1024;
/// The most the visitor uploads before ending its body: far more than every socket buffer
/// between the visitor and a non-reading origin holds, so the upload is still going when the
/// edge gives up.
const UPLOAD_LIMIT_BYTES: usize = 64 * 1024 * 1024;
/// Slack on the ack timeout: connecting, the first writes and the timer, on a busy machine.
const ACK_SLACK: Duration = Duration::from_millis(120);
/// Slack on the write timeout: the time to fill every socket buffer on the way, plus the timer.
const FILL_SLACK: Duration = Duration::from_millis(300);

/// Feeds 64 KiB chunks into `chunks` until the body is no longer wanted or
/// [`UPLOAD_LIMIT_BYTES`] have gone; returns how many bytes went.
fn upload_until_answered(chunks: mpsc::Sender<Bytes>) -> JoinHandle<usize> {
    tokio::spawn(async move {
        let chunk = Bytes::from(vec![b'u'; UPLOAD_CHUNK_BYTES]);
        let mut sent = 0;
        while sent < UPLOAD_LIMIT_BYTES {
            if chunks.send(chunk.clone()).await.is_err() {
                break;
            }
            sent += UPLOAD_CHUNK_BYTES;
        }
        sent
    })
}

/// POSTs an endless upload to `edge` and returns the answer.
async fn post_endless_upload(edge: std::net::SocketAddr) -> Response {
    let (chunks, body) = streaming_body();
    let uploader = upload_until_answered(chunks);
    let request = Request::post("/upload")
        .body(body)
        .expect("a valid request");
    let outcome = within(GUARD, try_send(edge, request)).await;
    uploader.abort();
    outcome.unwrap_or_else(|error| panic!("expected an error page, got {error}: {error:?}"))
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn origin_leaving_request_data_unacknowledged_yields_522_at_the_ack_timeout() {
    let (log, _guard) = CapturedLog::install();
    let origin = Origin::never_reads().await;
    let mut config = test_config(origin.addr());
    config.timeouts.ack = ms(200);
    config.timeouts.write = ms(5_000);
    let edge = spawn_edge(config).await;

    let res = post_endless_upload(edge.addr()).await;

    let ray = assert_error_page(&res, 522);
    assert!(
        res.text()
            .contains("<title>127.0.0.1 | 522: Connection timed out</title>"),
        "page: {}",
        res.text()
    );
    // The handshake completed: this 522 is not a connect timeout.
    assert_eq!(origin.connections(), 1);
    let line = log.line_for(&ray);
    assert!(line.contains(" cause=ack_timeout "), "log: {line}");
    // On time: edgecase's own ack clock, not the kernel's zero-window probe timer (which
    // backs off from 200 ms and was 270-420 ms late). The slack covers connecting and filling
    // the socket buffers before the first unacknowledged byte.
    assert_took(res.elapsed, ms(200), ACK_SLACK);
}

#[tokio::test]
async fn origin_not_reading_request_data_yields_524_at_the_write_timeout() {
    let (log, _guard) = CapturedLog::install();
    let origin = Origin::never_reads().await;
    let mut config = test_config(origin.addr());
    config.timeouts.ack = ms(10_000);
    config.timeouts.write = ms(200);
    let edge = spawn_edge(config).await;

    let res = post_endless_upload(edge.addr()).await;

    let ray = assert_error_page(&res, 524);
    assert!(
        res.text()
            .contains("<title>127.0.0.1 | 524: A timeout occurred</title>"),
        "page: {}",
        res.text()
    );
    assert_eq!(origin.connections(), 1);
    let line = log.line_for(&ray);
    assert!(line.contains(" cause=write_timeout "), "log: {line}");
    // The socket buffers fill within milliseconds; then the edge's own timer runs.
    assert_took(res.elapsed, ms(200), FILL_SLACK);
}
