//! Shared by the fault tests: starting an in-process edge from the library in front of an
//! origin, visiting it, and reading back what it recorded about a request.

use std::time::Duration;

use edgecase::{EdgeBuilder, EdgeHandle, RequestRecord};

use super::GUARD;
use super::origins::Origin;
use super::visitor::{Response, get_with_host, within};

/// The header `[emulation] explain` adds to every edgecase-made response.
pub const CAUSE: &str = "cf-edgecase-cause";

/// Connect and read timeouts where a test expects them never to fire.
pub const LONG: Duration = Duration::from_secs(2);

/// A timeout or delay a test waits for (a default fault delay).
pub const SHORT_MS: u64 = 300;

/// Slack for timing assertions (2 cores, tests in parallel).
pub const SLACK: Duration = Duration::from_millis(250);

/// What "at once" means for an answer no timer holds back: well under [`LONG`].
pub const AT_ONCE: Duration = Duration::from_millis(500);

/// An edge in front of `origin` that explains its causes, with timeouts ([`LONG`]) that do
/// not fire.
pub fn edge_for(origin: &Origin) -> EdgeBuilder {
    EdgeBuilder::new()
        .origin(origin.addr().to_string())
        .connect_timeout(LONG)
        .read_timeout(LONG)
        .explain(true)
}

/// `GET path` with `Host: host` on a fresh connection, bounded by [`GUARD`].
pub async fn visit_host(edge: &EdgeHandle, host: &str, path: &str) -> Response {
    within(GUARD, get_with_host(edge.addr(), host, path)).await
}

/// Starts `builder`'s edge, failing the test if it does not start.
pub async fn start(builder: EdgeBuilder) -> EdgeHandle {
    within(GUARD, builder.start())
        .await
        .expect("the edge starts on 127.0.0.1:0")
}

/// The edge's record of the request that got `res`, waiting (bounded) for it to be written.
pub async fn record_of(edge: &EdgeHandle, res: &Response) -> RequestRecord {
    let ray = res.header("cf-ray").expect("cf-ray on every answer");
    record_of_ray(edge, ray).await
}

/// What the edge recorded about one request, in the terms the fault tests check.
#[derive(Debug)]
pub struct Seen {
    pub status: u16,
    pub cause: Option<String>,
    pub fault: Option<u64>,
    pub origin_contacted: bool,
}

/// The edge's record of the request that got `res` as a [`Seen`], waiting (bounded) for it.
pub async fn seen(edge: &EdgeHandle, res: &Response) -> Seen {
    let record = record_of(edge, res).await;
    Seen {
        status: record.status,
        cause: record.cause,
        fault: record.fault,
        origin_contacted: record.origin.is_some(),
    }
}

/// The edge's record of the request with ray ID `ray`, waiting (bounded) for it to be written.
pub async fn record_of_ray(edge: &EdgeHandle, ray: &str) -> RequestRecord {
    within(GUARD, async {
        loop {
            if let Some(record) = edge.request(ray) {
                return record;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
}

/// Asserts the `cf-edgecase-cause` header.
#[track_caller]
pub fn assert_cause(res: &Response, cause: &str) {
    assert_eq!(
        res.header(CAUSE),
        Some(cause),
        "cause header of a {}",
        res.status()
    );
}

/// Asserts the origin saw neither a connection nor a request.
#[track_caller]
pub fn assert_origin_untouched(origin: &Origin) {
    assert_eq!(origin.connections(), 0, "the origin was connected to");
    assert!(origin.requests().is_empty(), "the origin saw a request");
}

/// Asserts `res` is the healthy origin's `origin body`, proxied, with no cause header.
#[track_caller]
pub fn assert_proxied(res: &Response) {
    assert_eq!(res.status(), 200, "body: {}", res.text());
    assert_eq!(res.text(), "origin body");
    assert_eq!(res.header(CAUSE), None, "a proxied answer has no cause");
}
