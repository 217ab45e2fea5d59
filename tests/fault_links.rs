//! Link actions of fault rules, through the library API, against a healthy origin: each acts
//! on the real origin link, so the real classification runs and the visitor gets the core
//! table's status and cause. Latency under and over the read timeout (200 late / a true 524),
//! jitter kept within its bounds, refuse (521, no connection at the origin), blackhole (522
//! after the connect timeout), reset after 0 bytes or mid-head (520 `reset`) and mid-body (200
//! cut short), bandwidth (the body takes len/rate), close before headers (520 `empty_reply`)
//! and slow close (the end of the body is late).
mod support;

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Empty;
use tokio::time::Instant;

use edgecase::{EdgeHandle, FaultSpec};

use support::faults::{
    AT_ONCE, CAUSE, SHORT_MS, SLACK, assert_cause, edge_for, record_of, record_of_ray, start,
    visit_host,
};
use support::origins::Origin;
use support::visitor::{Response, get_with_host, read_body, send_streaming, within};
use support::{GUARD, assert_branded_host_error, assert_took, ms};

/// The Host every test sends.
const HOST: &str = "links.example.test";

/// The title of the 520 page.
const UNKNOWN_ERROR: &str = "Web server is returning an unknown error";

/// A body of `n` bytes for [`Origin::ok`] (leaked: it lives as long as the test binary).
fn body_of(n: usize) -> &'static str {
    Box::leak("0123456789".repeat(n / 10).into_boxed_str())
}

/// `GET /` with `Host: HOST` on a fresh connection.
async fn visit(edge: &EdgeHandle) -> Response {
    visit_host(edge, HOST, "/").await
}

/// The edge's record of the request that got `res`: (cause, rule id), waiting (bounded) for it.
async fn recorded(edge: &EdgeHandle, res: &Response) -> (Option<String>, Option<u64>) {
    let record = record_of(edge, res).await;
    (record.cause, record.fault)
}

/// A streamed `GET /`: the time to the head, then the body read to its end, and the time from
/// sending to the end of the body.
struct Timed {
    status: u16,
    ray: String,
    head_after: Duration,
    body: Bytes,
    body_error: Option<hyper::Error>,
    total: Duration,
}

async fn timed_visit(edge: &EdgeHandle) -> Timed {
    let request = Request::get("/")
        .header("host", HOST)
        .body(Empty::<Bytes>::new())
        .expect("a request");
    let started = Instant::now();
    let streaming = within(GUARD, send_streaming(edge.addr(), request))
        .await
        .expect("a response head");
    let status = streaming.response.status().as_u16();
    let ray = streaming.response.headers()["cf-ray"]
        .to_str()
        .expect("an ASCII cf-ray")
        .to_owned();
    let (body, body_error) = within(GUARD, read_body(streaming.response.into_body())).await;
    Timed {
        status,
        ray,
        head_after: streaming.elapsed,
        body,
        body_error,
        total: started.elapsed(),
    }
}

#[tokio::test]
async fn latency_below_the_read_timeout_delays_the_origins_answer() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).fault(FaultSpec::latency(ms(SHORT_MS)))).await;

    let res = visit(&edge).await;

    assert_eq!(res.status(), 200, "body: {}", res.text());
    assert_eq!(res.text(), "origin body");
    assert_eq!(res.header(CAUSE), None);
    assert_took(res.elapsed, ms(SHORT_MS), SLACK);
    assert_eq!(origin.requests().len(), 1);
    let (cause, fault) = recorded(&edge, &res).await;
    assert_eq!(cause, None);
    assert_eq!(fault, Some(edge.faults().list()[0].id), "the rule applied");
}

#[tokio::test]
async fn latency_above_the_read_timeout_is_a_real_524_at_the_read_timeout() {
    let origin = Origin::ok("origin body").await;
    let edge = start(
        edge_for(&origin)
            .read_timeout(ms(SHORT_MS))
            .fault(FaultSpec::latency(ms(3_000))),
    )
    .await;

    let res = visit(&edge).await;

    assert_branded_host_error(&res, HOST, 524, "A timeout occurred");
    assert_cause(&res, "read_timeout");
    assert_took(res.elapsed, ms(SHORT_MS), SLACK);
    assert_eq!(
        recorded(&edge, &res).await.0.as_deref(),
        Some("read_timeout")
    );
}

#[tokio::test]
async fn jitter_keeps_each_latency_within_its_bounds() {
    const LATENCY_MS: u64 = 200;
    const JITTER_MS: u64 = 100;
    let origin = Origin::ok("origin body").await;
    let edge = start(
        edge_for(&origin)
            .fault_seed(11)
            .fault(FaultSpec::latency(ms(LATENCY_MS)).jitter(ms(JITTER_MS))),
    )
    .await;

    for _ in 0..6 {
        let res = visit(&edge).await;
        assert_eq!(res.status(), 200, "body: {}", res.text());
        assert_took(
            res.elapsed,
            ms(LATENCY_MS - JITTER_MS),
            ms(2 * JITTER_MS) + SLACK,
        );
    }
}

#[tokio::test]
async fn refuse_answers_521_at_once_without_connecting() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).fault(FaultSpec::refuse())).await;

    let res = visit(&edge).await;

    assert_branded_host_error(&res, HOST, 521, "Web server is down");
    assert_cause(&res, "refused");
    assert!(res.elapsed < AT_ONCE, "took {:?}", res.elapsed);
    assert_eq!(origin.connections(), 0, "refuse never connects");
    assert_eq!(recorded(&edge, &res).await.0.as_deref(), Some("refused"));
}

#[tokio::test]
async fn blackhole_answers_522_after_the_connect_timeout() {
    let origin = Origin::ok("origin body").await;
    let edge = start(
        edge_for(&origin)
            .connect_timeout(ms(SHORT_MS))
            .fault(FaultSpec::blackhole()),
    )
    .await;

    let res = visit(&edge).await;

    assert_branded_host_error(&res, HOST, 522, "Connection timed out");
    assert_cause(&res, "connect_timeout");
    // Upper bound well under the 2 s read timeout: it is the connect timeout that fired.
    assert_took(res.elapsed, ms(SHORT_MS), SLACK);
    assert_eq!(
        origin.connections(),
        0,
        "an unanswered SYN makes no connection"
    );
}

#[tokio::test]
async fn reset_after_0_bytes_answers_520_reset() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).fault(FaultSpec::reset_after_bytes(0))).await;

    let res = visit(&edge).await;

    assert_branded_host_error(&res, HOST, 520, UNKNOWN_ERROR);
    assert_cause(&res, "reset");
    assert!(res.elapsed < AT_ONCE, "took {:?}", res.elapsed);
}

#[tokio::test]
async fn reset_mid_head_answers_520() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).fault(FaultSpec::reset_after_bytes(10))).await;

    let res = visit(&edge).await;

    assert_branded_host_error(&res, HOST, 520, UNKNOWN_ERROR);
    // The core table's tag for a head cut short: edgecase counts a reset after part of the
    // head as `closed_mid_head` (origin/exchange.rs), a reset before any byte as `reset`.
    assert_cause(&res, "closed_mid_head");
    assert!(res.elapsed < AT_ONCE, "took {:?}", res.elapsed);
}

#[tokio::test]
async fn reset_inside_the_body_cuts_the_200_short() {
    const BODY: usize = 2_000;
    let origin = Origin::ok(body_of(BODY)).await;
    let edge = start(edge_for(&origin).fault(FaultSpec::reset_after_bytes(1_000))).await;

    let res = timed_visit(&edge).await;

    assert_eq!(res.status, 200, "the head went out before the reset");
    assert!(
        res.body.len() < BODY,
        "got {} of {BODY} body bytes",
        res.body.len()
    );
    assert!(
        res.body_error.is_some(),
        "the body must end in an error, never a clean short end"
    );
}

#[tokio::test]
async fn bandwidth_makes_the_body_take_its_length_over_the_rate() {
    const BODY: usize = 1_000;
    const RATE: u64 = 2_000;
    let origin = Origin::ok(body_of(BODY)).await;
    let edge = start(edge_for(&origin).fault(FaultSpec::bandwidth(RATE))).await;

    let res = timed_visit(&edge).await;

    assert_eq!(res.status, 200);
    assert!(res.body_error.is_none(), "{:?}", res.body_error);
    assert_eq!(res.body.len(), BODY, "the whole body arrives, slowly");
    // 1000 bytes at 2000 B/s: about 500 ms; a little burst at the start is allowed.
    assert_took(res.total, ms(400), ms(600));
    // The pause falls between pieces: the exchange ends with the last one, before the visitor
    // goes.
    assert_eq!(record_of_ray(&edge, &res.ray).await.ending, "complete");
}

#[tokio::test]
async fn close_before_headers_answers_520_empty_reply() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).fault(FaultSpec::close_before_headers())).await;

    let res = visit(&edge).await;

    assert_branded_host_error(&res, HOST, 520, "Web server is returning an unknown error");
    assert_cause(&res, "empty_reply");
    assert!(res.elapsed < AT_ONCE, "took {:?}", res.elapsed);
    assert_eq!(
        recorded(&edge, &res).await.0.as_deref(),
        Some("empty_reply")
    );
}

#[tokio::test]
async fn slow_close_delays_the_end_of_the_body_not_the_head() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).fault(FaultSpec::slow_close(ms(SHORT_MS)))).await;

    let res = timed_visit(&edge).await;

    assert_eq!(res.status, 200);
    assert!(res.head_after < AT_ONCE, "head after {:?}", res.head_after);
    assert!(res.body_error.is_none(), "{:?}", res.body_error);
    assert_eq!(&res.body[..], b"origin body");
    assert_took(res.total, ms(SHORT_MS), SLACK);
}

#[tokio::test]
async fn a_link_action_applies_only_to_requests_its_rule_matches() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).fault(FaultSpec::refuse().path_prefix("/down"))).await;

    let down = within(GUARD, get_with_host(edge.addr(), HOST, "/down")).await;
    assert_branded_host_error(&down, HOST, 521, "Web server is down");
    let up = visit(&edge).await;
    assert_eq!(up.status(), 200, "body: {}", up.text());
    assert_eq!(origin.requests().len(), 1);
}
