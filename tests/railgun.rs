//! Railgun mode (`[railgun] enabled`, through the library's `EdgeBuilder::railgun`): every
//! failure on the origin link answers 527 "Railgun Listener to origin error" (branded, Host hop
//! failing) with cause `railgun_<inner tag>` and a Railgun-style log line (target
//! `edgecase::railgun`): a refused connect, an unanswered SYN (after the connect timeout), a
//! silent origin (after the LAN timeout, which replaces the read timeout), an empty reply, a
//! failed TLS handshake, and a `refuse` link action. What is not a link failure keeps its own
//! answer: a healthy origin passes through, the origin's own 502 is still the branded 502, a
//! name that does not resolve is still 530. An emulated `status = 527` waits the LAN timeout.
mod support;

use std::time::Duration;

use edgecase::{EdgeBuilder, EdgeHandle, FaultSpec};

use support::faults::{CAUSE, start};
use support::log::CapturedLog;
use support::origins::Origin;
use support::visitor::{Response, get_with_host, within};
use support::{GUARD, assert_branded_host_error, assert_error_page, assert_took, ms};

/// The Host every test sends.
const HOST: &str = "railgun.example.test";

/// The title of the 527 page.
const RAILGUN_TITLE: &str = "Railgun Listener to origin error";

/// The log target of Railgun's lines.
const RAILGUN_TARGET: &str = "edgecase::railgun";

/// Timeouts where a test expects them never to fire.
const LONG: Duration = Duration::from_secs(2);

/// A timeout a test waits for.
const SHORT_MS: u64 = 300;

/// Slack for timing assertions (2 cores, tests in parallel).
const SLACK: Duration = Duration::from_millis(250);

/// How long a test waits for a log line after the response it belongs to.
const LOG_WAIT: Duration = Duration::from_secs(2);

/// What "at once" means for a failure no timer holds back.
const AT_ONCE: Duration = Duration::from_millis(500);

/// An edge in Railgun mode in front of `origin`, explaining its causes; no timeout fires.
fn railgun_edge(origin: &Origin) -> EdgeBuilder {
    EdgeBuilder::new()
        .origin(origin.addr().to_string())
        .connect_timeout(LONG)
        .read_timeout(LONG)
        .railgun(LONG)
        .explain(true)
}

/// A config file's text for an edge in Railgun mode, with hermetic DNS, explaining causes.
fn railgun_toml(origin_address: &str, origin_extra: &str) -> String {
    format!(
        "[edge]\nlisten = \"127.0.0.1:0\"\nshutdown_grace = \"2s\"\n\
         [origin]\naddress = \"{origin_address}\"\n{origin_extra}\
         [timeouts]\nconnect = \"2s\"\nread = \"2s\"\n\
         [dns]\nsystem = false\nhosts = {{ \"origin.test\" = \"127.0.0.1\" }}\n\
         [admin]\nenabled = false\n\
         [emulation]\nexplain = true\n\
         [railgun]\nenabled = true\nlan_timeout = \"2s\"\n"
    )
}

async fn visit(edge: &EdgeHandle) -> Response {
    within(GUARD, get_with_host(edge.addr(), HOST, "/")).await
}

/// Asserts the branded 527 page with `cause`.
#[track_caller]
fn assert_527(res: &Response, cause: &str) {
    assert_branded_host_error(res, HOST, 527, RAILGUN_TITLE);
    assert_eq!(
        res.header(CAUSE),
        Some(cause),
        "cause of a {}",
        res.status()
    );
}

/// The first captured line from Railgun's target that contains `needle`, waiting up to
/// [`LOG_WAIT`] for it to be written.
async fn railgun_line(log: &CapturedLog, needle: &str) -> String {
    let find = async {
        loop {
            let text = log.text();
            if let Some(line) = text
                .lines()
                .find(|line| line.contains(RAILGUN_TARGET) && line.contains(needle))
            {
                return line.to_owned();
            }
            tokio::task::yield_now().await;
        }
    };
    match tokio::time::timeout(LOG_WAIT, find).await {
        Ok(line) => line,
        Err(_) => panic!(
            "no {RAILGUN_TARGET} line with {needle:?} in:\n{}",
            log.text()
        ),
    }
}

#[tokio::test]
async fn a_healthy_origin_passes_through_in_railgun_mode() {
    let origin = Origin::ok("origin body").await;
    let edge = start(railgun_edge(&origin)).await;

    let res = visit(&edge).await;

    assert_eq!(res.status(), 200, "body: {}", res.text());
    assert_eq!(res.text(), "origin body");
    assert_eq!(res.header(CAUSE), None);
}

#[tokio::test]
async fn refused_connect_answers_527_with_railguns_connection_refused_line() {
    let (log, _guard) = CapturedLog::install();
    let origin = Origin::refusing().await;
    let edge = start(railgun_edge(&origin)).await;

    let res = visit(&edge).await;

    assert_527(&res, "railgun_refused");
    assert!(res.elapsed < AT_ONCE, "took {:?}", res.elapsed);
    let addr = origin.addr();
    let line = railgun_line(&log, "connection refused").await;
    assert!(
        line.contains(&format!("connection failed {addr}/")),
        "{line}"
    );
    assert!(
        line.contains(&format!("dial tcp {addr}: connection refused")),
        "{line}"
    );
}

#[tokio::test]
async fn unanswered_syn_answers_527_after_the_connect_timeout_with_an_io_timeout_line() {
    let (log, _guard) = CapturedLog::install();
    let origin = Origin::blackhole().await;
    let edge = start(railgun_edge(&origin).connect_timeout(ms(SHORT_MS))).await;

    let res = visit(&edge).await;

    assert_527(&res, "railgun_connect_timeout");
    assert_took(res.elapsed, ms(SHORT_MS), SLACK);
    let addr = origin.addr();
    let line = railgun_line(&log, "i/o timeout").await;
    assert!(
        line.contains(&format!("connection failed {addr}/")),
        "{line}"
    );
    assert!(
        line.contains(&format!("dial tcp {addr}: i/o timeout")),
        "{line}"
    );
}

#[tokio::test]
async fn silent_origin_answers_527_after_the_lan_timeout_not_the_read_timeout() {
    let (log, _guard) = CapturedLog::install();
    let origin = Origin::silent().await;
    // The read timeout is long; the LAN timeout replaces it.
    let edge = start(
        railgun_edge(&origin)
            .read_timeout(ms(5_000))
            .railgun(ms(SHORT_MS)),
    )
    .await;

    let res = visit(&edge).await;

    assert_527(&res, "railgun_read_timeout");
    assert_took(res.elapsed, ms(SHORT_MS), SLACK);
    railgun_line(&log, "no response from origin (timeout)").await;
    assert_eq!(origin.requests().len(), 1, "the request reached the origin");
}

#[tokio::test]
async fn empty_reply_answers_527() {
    let origin = Origin::hangs_up().await;
    let edge = start(railgun_edge(&origin)).await;

    let res = visit(&edge).await;

    assert_527(&res, "railgun_empty_reply");
    assert!(res.elapsed < AT_ONCE, "took {:?}", res.elapsed);
}

#[tokio::test]
async fn failed_tls_handshake_answers_527_with_railguns_handshake_failure_line() {
    let (log, _guard) = CapturedLog::install();
    let origin = Origin::ok("origin body").await;
    // `strict` sends TLS to the origin whatever the visitor's scheme (`full` would follow the
    // plain-HTTP visitor and pass through); the origin speaks plain HTTP, so the handshake fails.
    let toml = railgun_toml(&origin.addr().to_string(), "ssl = \"strict\"\n");
    let edge = start(EdgeBuilder::from_toml(&toml).expect("the config is valid")).await;

    let res = visit(&edge).await;

    assert_branded_host_error(&res, HOST, 527, RAILGUN_TITLE);
    let cause = res.header(CAUSE).expect("a cause");
    assert!(cause.starts_with("railgun_"), "cause {cause}");
    assert!(res.elapsed < AT_ONCE, "took {:?}", res.elapsed);
    railgun_line(&log, "remote error: handshake failure").await;
}

#[tokio::test]
async fn refuse_link_action_answers_527() {
    let origin = Origin::ok("origin body").await;
    let edge = start(railgun_edge(&origin).fault(FaultSpec::refuse())).await;

    let res = visit(&edge).await;

    assert_527(&res, "railgun_refused");
    assert_eq!(origin.connections(), 0);
}

#[tokio::test]
async fn the_origins_own_502_is_still_the_branded_502() {
    let origin = Origin::status(502, "origin's own 502 body").await;
    let edge = start(railgun_edge(&origin)).await;

    let res = visit(&edge).await;

    assert_branded_host_error(&res, HOST, 502, "Bad gateway");
    assert_eq!(res.header(CAUSE), Some("origin_502"));
    assert!(!res.text().contains("origin's own"), "{}", res.text());
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_still_530() {
    let toml = railgun_toml("nowhere.test:80", "");
    let edge = start(EdgeBuilder::from_toml(&toml).expect("the config is valid")).await;

    let res = visit(&edge).await;

    assert_error_page(&res, 530);
    assert!(
        res.text()
            .contains("<span class=\"cf-error-code\">1016</span></h1>"),
        "{}",
        res.text()
    );
    assert_eq!(res.header(CAUSE), Some("dns_error"));
    assert!(res.elapsed < AT_ONCE, "took {:?}", res.elapsed);
}

#[tokio::test]
async fn emulated_527_waits_the_lan_timeout_by_default() {
    let origin = Origin::ok("origin body").await;
    let edge = start(
        railgun_edge(&origin)
            .railgun(ms(SHORT_MS))
            .fault(FaultSpec::status(527)),
    )
    .await;

    let res = visit(&edge).await;

    // The tag of the real failure it stands for: the LAN timeout (the fault table of docs/failures.md).
    assert_527(&res, "railgun_read_timeout");
    assert_took(res.elapsed, ms(SHORT_MS), SLACK);
    assert_eq!(
        origin.connections(),
        0,
        "an emulated status never contacts the origin"
    );
}
