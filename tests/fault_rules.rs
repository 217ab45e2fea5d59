//! Emulated statuses of fault rules, through the library API (`EdgeBuilder`, `FaultSpec`,
//! `EdgeHandle`), in front of a healthy origin: every `status = ...` (520-527, 530 with 1016
//! and 1033, 500, 502, 503, 504) and every `edge = ...` answers the real failure's page, cause
//! tag and status line, after its explicit or default delay (522: the connect timeout, 524:
//! the read timeout), and never contacts the origin.
//!
//! Match keys are in `fault_matching.rs`; link actions in `fault_links.rs`; run-time changes,
//! header faults, ray seeds and the library's start/shutdown in `fault_runtime.rs`; Railgun in
//! `railgun.rs`.
mod support;

use std::time::Duration;

use edgecase::{EdgeHandle, FaultSpec};

use support::faults::{
    AT_ONCE, SHORT_MS, SLACK, assert_cause, assert_origin_untouched, edge_for, seen, start,
    visit_host,
};
use support::origins::Origin;
use support::visitor::{Response, raw_exchange, within};
use support::{GUARD, assert_error_page, assert_took, hop_box, ms};

/// The Host every test sends; branded pages show it in their title.
const HOST: &str = "faults.example.test";

/// `GET path` with `Host: HOST` on a fresh connection.
async fn visit(edge: &EdgeHandle, path: &str) -> Response {
    visit_host(edge, HOST, path).await
}

/// Starts an edge in front of a healthy origin whose only rule is `spec`, and visits `/` once.
async fn emulate(spec: FaultSpec) -> (Origin, EdgeHandle, Response) {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).fault(spec)).await;
    let res = visit(&edge, "/").await;
    (origin, edge, res)
}

#[track_caller]
fn assert_at_once(res: &Response) {
    assert!(
        res.elapsed < AT_ONCE,
        "a fault without delay took {:?}",
        res.elapsed
    );
}

#[track_caller]
fn assert_branded(res: &Response, status: u16, title: &str) -> String {
    support::assert_branded_host_error(res, HOST, status, title)
}

/// Asserts the branded page for `status` marks the Cloudflare hop, alone, as failing.
#[track_caller]
fn assert_branded_cloudflare_error(res: &Response, status: u16, title: &str) {
    assert_error_page(res, status);
    let page = res.text();
    assert!(
        page.contains(&format!("<title>{HOST} | {status}: {title}</title>")),
        "{page}"
    );
    assert_eq!(page.matches("cf-error-source").count(), 1, "{page}");
    let cloudflare = hop_box(&page, "cf-cloudflare-status");
    assert!(cloudflare.contains("cf-error-source"), "{cloudflare}");
    assert!(!hop_box(&page, "cf-host-status").contains("cf-error-source"));
}

/// Asserts the nginx-style page Cloudflare serves for its own 502/503/504.
#[track_caller]
fn assert_unbranded(res: &Response, status: u16, reason: &str) {
    assert_eq!(res.status().as_u16(), status, "body: {}", res.text());
    support::assert_ray_format(res.header("cf-ray").expect("cf-ray on an unbranded page"));
    assert_eq!(res.header("server"), Some("cloudflare"));
    let page = res.text();
    assert!(
        page.contains(&format!("<title>{status} {reason}</title>")),
        "{page}"
    );
    assert!(page.contains("<center>cloudflare</center>"), "{page}");
    assert!(
        !page.contains("cf-error-source"),
        "not the branded page: {page}"
    );
}

/// Asserts the 1xxx page for `code` named `name`.
#[track_caller]
fn assert_numbered(res: &Response, code: u16, name: &str) {
    let ray = assert_error_page(res, 530);
    let page = res.text();
    assert!(
        page.contains(&format!("<title>{name} | {HOST} | Cloudflare</title>")),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "<h1><span class=\"cf-error-type\" data-translate=\"error\">Error</span> \
             <span class=\"cf-error-code\">{code}</span></h1>"
        )),
        "{page}"
    );
    assert!(page.contains(&format!("Ray ID: {}", &ray[..16])), "{page}");
    assert!(
        !page.contains("cf-host-status"),
        "the 1xxx layout has no diagram"
    );
}

// ---------------------------------------------------------------------------------------------
// Emulated statuses
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn status_520_answers_the_empty_reply_page_at_once_without_the_origin() {
    let (origin, edge, res) = emulate(FaultSpec::status(520)).await;
    assert_branded(&res, 520, "Web server is returning an unknown error");
    assert_cause(&res, "empty_reply");
    assert_at_once(&res);
    assert_origin_untouched(&origin);
    let seen = seen(&edge, &res).await;
    assert_eq!(seen.status, 520);
    assert_eq!(seen.cause.as_deref(), Some("empty_reply"));
    assert!(!seen.origin_contacted, "{seen:?}");
}

#[tokio::test]
async fn status_521_answers_the_refused_page_and_records_the_rule() {
    let (origin, edge, res) = emulate(FaultSpec::status(521)).await;
    assert_branded(&res, 521, "Web server is down");
    assert_cause(&res, "refused");
    assert_at_once(&res);
    assert_origin_untouched(&origin);
    let rule = edge.faults().list()[0].id;
    let seen = seen(&edge, &res).await;
    assert_eq!(seen.status, 521);
    assert_eq!(seen.cause.as_deref(), Some("refused"));
    assert_eq!(
        seen.fault,
        Some(rule),
        "the record names the rule that applied"
    );
}

#[tokio::test]
async fn status_522_waits_the_connect_timeout_by_default() {
    let origin = Origin::ok("origin body").await;
    let edge = start(
        edge_for(&origin)
            .connect_timeout(ms(SHORT_MS))
            .fault(FaultSpec::status(522)),
    )
    .await;
    let res = visit(&edge, "/").await;
    assert_branded(&res, 522, "Connection timed out");
    assert_cause(&res, "connect_timeout");
    assert_took(res.elapsed, ms(SHORT_MS), SLACK);
    assert_origin_untouched(&origin);
}

#[tokio::test]
async fn status_523_answers_the_unreachable_page_at_once() {
    let (origin, _edge, res) = emulate(FaultSpec::status(523)).await;
    assert_branded(&res, 523, "Origin is unreachable");
    assert_cause(&res, "unreachable");
    assert_at_once(&res);
    assert_origin_untouched(&origin);
}

#[tokio::test]
async fn status_524_waits_the_read_timeout_by_default() {
    let origin = Origin::ok("origin body").await;
    let edge = start(
        edge_for(&origin)
            .read_timeout(ms(SHORT_MS))
            .fault(FaultSpec::status(524)),
    )
    .await;
    let res = visit(&edge, "/").await;
    assert_branded(&res, 524, "A timeout occurred");
    assert_cause(&res, "read_timeout");
    assert_took(res.elapsed, ms(SHORT_MS), SLACK);
    assert_origin_untouched(&origin);
}

#[tokio::test]
async fn status_525_answers_the_handshake_failed_page_at_once() {
    let (origin, _edge, res) = emulate(FaultSpec::status(525)).await;
    assert_branded(&res, 525, "SSL handshake failed");
    assert_cause(&res, "handshake_error");
    assert_at_once(&res);
    assert_origin_untouched(&origin);
}

#[tokio::test]
async fn status_526_answers_the_invalid_certificate_page_at_once() {
    let (origin, _edge, res) = emulate(FaultSpec::status(526)).await;
    assert_branded(&res, 526, "Invalid SSL certificate");
    assert_cause(&res, "untrusted");
    assert_at_once(&res);
    assert_origin_untouched(&origin);
}

#[tokio::test]
async fn status_527_with_an_explicit_delay_answers_the_railgun_page() {
    // Without Railgun the default delay would be 30 s; railgun.rs checks the lan_timeout one.
    let (origin, _edge, res) = emulate(FaultSpec::status(527).delay(ms(SHORT_MS))).await;
    assert_branded(&res, 527, "Railgun Listener to origin error");
    // The tag of the real failure it stands for: the LAN timeout (the fault table of docs/failures.md).
    assert_cause(&res, "railgun_read_timeout");
    assert_took(res.elapsed, ms(SHORT_MS), SLACK);
    assert_origin_untouched(&origin);
}

#[tokio::test]
async fn status_530_shows_error_1016_by_default() {
    let (origin, _edge, res) = emulate(FaultSpec::status(530)).await;
    assert_numbered(&res, 1016, "Origin DNS error");
    assert_cause(&res, "dns_error");
    assert_at_once(&res);
    assert_origin_untouched(&origin);
}

#[tokio::test]
async fn status_530_with_code_1033_shows_the_tunnel_error() {
    let (origin, _edge, res) = emulate(FaultSpec::status(530).code(1033)).await;
    assert_numbered(&res, 1033, "Argo Tunnel error");
    assert_cause(&res, "error_1033");
    assert_at_once(&res);
    assert_origin_untouched(&origin);
}

#[tokio::test]
async fn status_500_marks_the_cloudflare_hop_as_failing() {
    let (origin, _edge, res) = emulate(FaultSpec::status(500)).await;
    assert_branded_cloudflare_error(&res, 500, "Internal server error");
    assert_cause(&res, "internal");
    assert_at_once(&res);
    assert_origin_untouched(&origin);
}

#[tokio::test]
async fn status_502_answers_the_branded_bad_gateway_page() {
    let (origin, _edge, res) = emulate(FaultSpec::status(502)).await;
    assert_branded(&res, 502, "Bad gateway");
    assert_cause(&res, "origin_502");
    assert_at_once(&res);
    assert_origin_untouched(&origin);
}

#[tokio::test]
async fn status_504_answers_the_branded_gateway_timeout_page() {
    let (origin, _edge, res) = emulate(FaultSpec::status(504)).await;
    assert_branded(&res, 504, "Gateway time-out");
    assert_cause(&res, "origin_504");
    assert_at_once(&res);
    assert_origin_untouched(&origin);
}

#[tokio::test]
async fn status_503_answers_the_unbranded_page() {
    let (origin, _edge, res) = emulate(FaultSpec::status(503)).await;
    assert_unbranded(&res, 503, "Service Unavailable");
    assert_cause(&res, "edge_503");
    assert_at_once(&res);
    assert_origin_untouched(&origin);
}

#[tokio::test]
async fn edge_500_marks_the_cloudflare_hop_as_failing() {
    let (origin, edge, res) = emulate(FaultSpec::edge(500)).await;
    assert_branded_cloudflare_error(&res, 500, "Internal server error");
    assert_cause(&res, "edge_500");
    assert_at_once(&res);
    assert_origin_untouched(&origin);
    assert_eq!(seen(&edge, &res).await.cause.as_deref(), Some("edge_500"));
}

#[tokio::test]
async fn edge_502_503_504_answer_cloudflares_unbranded_pages() {
    let origin = Origin::ok("origin body").await;
    let edge = start(
        edge_for(&origin)
            .fault(FaultSpec::edge(502).path_prefix("/502"))
            .fault(FaultSpec::edge(503).path_prefix("/503"))
            .fault(FaultSpec::edge(504).path_prefix("/504")),
    )
    .await;
    for (status, reason) in [
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
        (504, "Gateway Timeout"),
    ] {
        let res = visit(&edge, &format!("/{status}")).await;
        assert_unbranded(&res, status, reason);
        assert_cause(&res, &format!("edge_{status}"));
        assert_at_once(&res);
    }
    assert_origin_untouched(&origin);
}

#[tokio::test]
async fn an_explicit_delay_holds_the_answer_that_long() {
    let origin = Origin::ok("origin body").await;
    let edge = start(
        edge_for(&origin)
            .fault(
                FaultSpec::status(521)
                    .delay(ms(SHORT_MS))
                    .path_prefix("/status"),
            )
            .fault(
                FaultSpec::edge(503)
                    .delay(ms(SHORT_MS))
                    .path_prefix("/edge"),
            )
            .fault(
                FaultSpec::status(524)
                    .delay(Duration::ZERO)
                    .path_prefix("/zero"),
            ),
    )
    .await;

    let res = visit(&edge, "/status").await;
    assert_branded(&res, 521, "Web server is down");
    assert_took(res.elapsed, ms(SHORT_MS), SLACK);

    let res = visit(&edge, "/edge").await;
    assert_unbranded(&res, 503, "Service Unavailable");
    assert_took(res.elapsed, ms(SHORT_MS), SLACK);

    // A zero delay overrides 524's default (the 2 s read timeout).
    let res = visit(&edge, "/zero").await;
    assert_branded(&res, 524, "A timeout occurred");
    assert_at_once(&res);
    assert_origin_untouched(&origin);
}

#[tokio::test]
async fn emulated_statuses_carry_cloudflares_reason_phrases() {
    let origin = Origin::ok("origin body").await;
    let mut builder = edge_for(&origin);
    for status in [520, 521, 522, 523, 524, 525] {
        builder = builder.fault(
            FaultSpec::status(status)
                .delay(Duration::ZERO)
                .path_prefix(&format!("/{status}")),
        );
    }
    let edge = start(builder).await;
    for (status, reason) in [
        (520, "Origin Error"),
        (521, "Origin Down"),
        (522, "Origin Connection Time-out"),
        (523, "Origin Unreachable"),
        (524, "Origin Time-out"),
        (525, "Origin SSL Handshake Error"),
    ] {
        let request =
            format!("GET /{status} HTTP/1.1\r\nhost: {HOST}\r\nconnection: close\r\n\r\n");
        let outcome = within(GUARD, raw_exchange(edge.addr(), request.as_bytes())).await;
        let expected = format!("HTTP/1.1 {status} {reason}\r\n");
        assert!(
            outcome.bytes.starts_with(expected.as_bytes()),
            "status line for {status}: {:?}",
            String::from_utf8_lossy(&outcome.bytes[..outcome.bytes.len().min(60)])
        );
    }
    assert_origin_untouched(&origin);
}
