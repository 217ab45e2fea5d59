//! Graceful shutdown: once signalled, the edge stops accepting at once, lets a request in flight
//! finish, and `serve` returns `Ok` when it has; a request that would outlast
//! `edge.shutdown_grace` does not hold the shutdown past the grace, and its connection is closed.
mod support;

use std::io;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use edgecase::config::Config;
use support::origins::Origin;
use support::visitor::{Response, VisitorError, get, still_pending_after, try_send, within};
use support::{
    ACK_MS, CONNECT_MS, Edge, GUARD, WRITE_MS, assert_took, ms, spawn_edge, test_config,
};

/// What the visitor of a request stuck at a silent origin ends up with.
type StuckOutcome = Result<Response, VisitorError>;

/// How long [`Origin::delayed`] waits before answering the request in flight.
const ORIGIN_DELAY_MS: u64 = 300;

/// `edge.shutdown_grace` for the stuck-request tests.
const GRACE_MS: u64 = 300;

/// A config forwarding to `origin` with a 300 ms shutdown grace and a 10 s read timeout, so
/// only the grace can end a request stuck on a silent origin.
fn short_grace_config(origin: &Origin) -> Config {
    let text = format!(
        "[edge]\nlisten = \"127.0.0.1:0\"\nshutdown_grace = \"{GRACE_MS}ms\"\n\
         [origin]\naddress = \"{}\"\n\
         [timeouts]\nconnect = \"{CONNECT_MS}ms\"\nack = \"{ACK_MS}ms\"\n\
         write = \"{WRITE_MS}ms\"\nread = \"10s\"\n\
         [dns]\nsystem = false\n",
        origin.addr()
    );
    Config::from_toml_str(&text).expect("the short-grace config is valid")
}

#[tokio::test]
async fn request_in_flight_completes_after_shutdown_and_new_connections_are_refused() {
    let origin = Origin::delayed(ms(ORIGIN_DELAY_MS), "late but whole").await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    let addr = edge.addr();
    let mut in_flight = tokio::spawn(async move { get(addr, "/slow").await });
    within(GUARD, origin.request_seen()).await;

    let shutdown_started = Instant::now();
    let serving = edge.begin_shutdown();

    // Still waiting on the origin's delay: shutdown does not cut the request short. Meanwhile
    // the edge has handled the signal and closed its listener.
    still_pending_after(ms(100), &mut in_flight).await;
    let refused = within(GUARD, TcpStream::connect(addr)).await;
    assert!(
        refused.is_err(),
        "a new connection was accepted after shutdown began"
    );
    assert!(
        !in_flight.is_finished(),
        "the request in flight ended early"
    );

    let res: Response = within(GUARD, in_flight)
        .await
        .expect("the visitor task did not panic");
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "late but whole");
    assert!(res.body_error.is_none(), "{:?}", res.body_error);
    assert_eq!(res.header("server"), Some("cloudflare"));
    assert!(res.header("cf-ray").is_some());

    let served = within(GUARD, serving).await.expect("serve did not panic");
    served.expect("serve returns Ok after a graceful shutdown");
    // Done once the request was: not held for the whole 2 s grace of the test config.
    assert_took(
        shutdown_started.elapsed(),
        ms(ORIGIN_DELAY_MS - 100),
        ms(400),
    );
    assert_eq!(origin.requests().len(), 1);
}

/// An origin answering `hello` and the edge (hermetic test config) in front of it.
async fn edge_before_a_hello_origin() -> (Origin, Edge) {
    let origin = Origin::ok("hello").await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    (origin, edge)
}

/// Shuts `edge` down, waiting (bounded) for `serve` to return: what it returned, and how
/// long that took.
async fn timed_shutdown(edge: Edge) -> (io::Result<()>, Duration) {
    let started = Instant::now();
    let served = within(GUARD, edge.shutdown()).await;
    (served, started.elapsed())
}

#[tokio::test]
async fn idle_edge_shuts_down_at_once() {
    let (_origin, edge) = edge_before_a_hello_origin().await;
    let res = within(GUARD, get(edge.addr(), "/")).await;
    assert_eq!(res.status(), 200);

    let (served, took) = timed_shutdown(edge).await;

    served.expect("serve returns Ok");
    assert_took(took, ms(0), ms(150));
}

/// A visitor that connected and sent nothing (or is mid TLS handshake) has no request to let
/// finish: the shutdown does not wait for it.
#[tokio::test]
async fn a_connection_that_never_sent_a_byte_does_not_hold_shutdown() {
    let (_origin, edge) = edge_before_a_hello_origin().await;
    let silent = within(GUARD, TcpStream::connect(edge.addr()))
        .await
        .expect("connect to the edge");
    // Served once, so the edge has certainly accepted the silent connection before it.
    let res = within(GUARD, get(edge.addr(), "/")).await;
    assert_eq!(res.status(), 200);

    let (served, took) = timed_shutdown(edge).await;

    served.expect("serve returns Ok");
    assert_took(took, ms(0), ms(150));
    drop(silent);
}

#[tokio::test]
async fn request_stuck_on_a_silent_origin_does_not_hold_shutdown_past_the_grace() {
    let (_origin, _stuck, edge) = request_stuck_at_a_silent_origin().await;

    let started = Instant::now();
    let served = begin_and_await_shutdown(edge).await;

    served.expect("serve returns Ok when the grace runs out");
    assert_took(started.elapsed(), ms(GRACE_MS), ms(150));
}

#[tokio::test]
async fn request_stuck_past_the_grace_has_its_connection_closed() {
    let (_origin, stuck, edge) = request_stuck_at_a_silent_origin().await;

    let started = Instant::now();
    let served = begin_and_await_shutdown(edge).await;
    served.expect("serve returns Ok when the grace runs out");

    // The config promises that connections still open when the grace runs out are closed: the
    // visitor gets no response head (rather than a 524 at the 10 s read timeout).
    let outcome = within(ms(GRACE_MS + 500), stuck)
        .await
        .expect("the visitor task did not panic");
    assert!(
        outcome.is_err(),
        "the stuck request got an answer: {:?}",
        outcome.map(|r| r.status())
    );
    assert_took(started.elapsed(), ms(GRACE_MS), ms(300));
}

/// A silent origin, an edge with the short grace in front of it, and a `GET /stuck` the
/// origin has received and will never answer (its task yields the visitor's outcome).
async fn request_stuck_at_a_silent_origin() -> (Origin, JoinHandle<StuckOutcome>, Edge) {
    let origin = Origin::silent().await;
    let edge = spawn_edge(short_grace_config(&origin)).await;
    let addr = edge.addr();
    let stuck = tokio::spawn(async move { try_send(addr, empty_get("/stuck")).await });
    within(GUARD, origin.request_seen()).await;
    (origin, stuck, edge)
}

/// Signals `edge` to shut down and waits (bounded) for `serve` to return what it returned.
async fn begin_and_await_shutdown(edge: Edge) -> io::Result<()> {
    within(GUARD, edge.begin_shutdown())
        .await
        .expect("serve did not panic")
}

/// A GET `path` with no body.
fn empty_get(path: &str) -> http::Request<http_body_util::Empty<bytes::Bytes>> {
    http::Request::get(path)
        .body(http_body_util::Empty::new())
        .expect("a valid request")
}
