//! `edgecase diagnose` run as a user runs it, against the proxy tests' misbehaving origins over
//! real loopback sockets: for each fault, the right stage fails with the right status and cause
//! in both the table and the `--json` document, with the right exit code (1 for an edge
//! error or a body cut short, 0 for the origin's answer, warnings or not). Connect: refused,
//! unanswered SYN. HTTP: silent, empty reply, reset, garbage, cut-off and malformed heads, odd
//! statuses, a head over (and exactly at) the limit, the origin's own 502/504/500/404. The
//! body stalling or cut short. Railgun. Every fault the proxy can meet is also sent through the
//! real edge on the same config file, which must give the same status and cause.
//!
//! Every config sets millisecond timeouts and `[dns] system = false`; a timeout a test waits
//! for is [`SHORT_MS`]. Keep-alive is in `diagnose_keep_alive.rs`; DNS, routes, arguments and
//! the 523 in `diagnose_config.rs`; TLS in `diagnose_tls.rs`; the bundle in
//! `diagnose_bundle.rs`.
mod support;

use serde_json::Value;

use support::assert_took;
use support::diagnose::{
    DiagnoseConfig, Diagnosed, SHORT_MS, SLACK, assert_proxy_agrees, diagnose, millis,
};
use support::ms;
use support::origins::{
    GARBAGE, MALFORMED_STATUS_LINE, Origin, TRUNCATED_HEAD, raw_headers_of_size,
};

/// `[limits] origin_header_bytes` of the oversized-head tests.
const HEAD_LIMIT: usize = 4096;

/// The Host of a config's `[origin]` given as an IP address: the address itself.
const LOOPBACK: &str = "127.0.0.1";

/// Diagnoses `origin` (the config's `[origin] address`), no other argument.
async fn diagnose_origin(config: &DiagnoseConfig) -> Diagnosed {
    diagnose(config, &[]).await
}

// ---------------------------------------------------------------------------------------------
// The connect stage
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn refusing_origin_fails_the_connect_stage_with_521_refused() {
    let origin = Origin::refusing().await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("connect", 521, None, "refused");
    d.assert_passed("dns");
    let attempts = &d.stage("connect")["details"]["addresses"];
    assert_eq!(
        attempts[0]["address"],
        origin.addr().to_string(),
        "{}",
        d.both()
    );
    assert_eq!(attempts[0]["outcome"], "refused", "{}", d.both());
    assert_eq!(attempts[0]["status"], 521, "{}", d.both());
    assert!(
        d.row("connect")
            .seen_text()
            .contains(&origin.addr().to_string()),
        "{}",
        d.both()
    );
    assert!(
        d.stage("tls")["seen"][0]
            .as_str()
            .is_some_and(|s| s.contains("not reached")),
        "{}",
        d.both()
    );
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn unanswered_syn_fails_the_connect_stage_with_522_after_the_connect_timeout() {
    let origin = Origin::blackhole().await;
    let config = DiagnoseConfig::new(origin.addr()).connect_ms(SHORT_MS);

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("connect", 522, None, "connect_timeout");
    assert_took(millis(&d.stage("connect")["ms"]), ms(SHORT_MS), SLACK);
    assert_eq!(d.json["subject"]["timeouts_ms"]["connect"], SHORT_MS);
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

// ---------------------------------------------------------------------------------------------
// The http stage
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn silent_origin_fails_the_http_stage_with_524_after_the_read_timeout() {
    let origin = Origin::silent().await;
    let config = DiagnoseConfig::new(origin.addr()).read_ms(SHORT_MS);

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("http", 524, None, "read_timeout");
    d.assert_passed("connect");
    assert_eq!(d.result("tls"), "skipped", "{}", d.both());
    assert_took(millis(&d.stage("http")["ms"]), ms(SHORT_MS), SLACK);
    assert_eq!(
        d.stage("http")["details"]["read_timeout_ms"],
        SHORT_MS as f64
    );
    // The origin did get the request, as the edge builds it.
    let request = origin
        .last_request()
        .expect("the origin recorded the request");
    assert_eq!(request.uri.path(), "/");
    assert_eq!(request.header("host"), Some(LOOPBACK));
    assert!(request.header("cf-ray").is_some(), "{request:?}");
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn origin_closing_without_a_byte_fails_the_http_stage_with_520_empty_reply() {
    let origin = Origin::hangs_up().await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("http", 520, None, "empty_reply");
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn origin_resetting_fails_the_http_stage_with_520_reset() {
    let origin = Origin::resets().await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("http", 520, None, "reset");
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn garbage_instead_of_http_fails_the_http_stage_with_520_malformed_head() {
    let origin = Origin::raw(GARBAGE.to_vec()).await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("http", 520, None, "malformed_head");
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn head_cut_off_before_its_end_fails_the_http_stage_with_520_closed_mid_head() {
    let origin = Origin::raw(TRUNCATED_HEAD.to_vec()).await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("http", 520, None, "closed_mid_head");
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn status_line_without_a_code_fails_the_http_stage_with_520_malformed_head() {
    let origin = Origin::raw(MALFORMED_STATUS_LINE.to_vec()).await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("http", 520, None, "malformed_head");
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn status_outside_http_fails_the_http_stage_with_520_and_agrees_with_the_proxy() {
    let origin = Origin::raw(b"HTTP/1.1 600 Beyond\r\ncontent-length: 0\r\n\r\n".to_vec()).await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    d.assert_shape();
    d.assert_exit(1);
    assert_eq!(d.json["verdict"]["status"], 520, "{}", d.both());
    assert_eq!(d.json["verdict"]["stage"], "http", "{}", d.both());
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn switching_protocols_unasked_fails_the_http_stage_with_520_bad_status() {
    let origin = Origin::raw(
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"
            .to_vec(),
    )
    .await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("http", 520, None, "bad_status");
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn http_1_0_origin_closing_after_its_body_reaches_the_visitor_with_a_keep_alive_warning() {
    let origin =
        Origin::raw(b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nold school".to_vec())
            .await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    d.assert_origin_answer(200);
    d.assert_warning("keep_alive");
    assert_eq!(d.stage("http")["details"]["body_bytes"], 10, "{}", d.both());
    assert_eq!(
        d.stage("http")["details"]["body_complete"],
        true,
        "{}",
        d.both()
    );
    let res = assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
    assert_eq!(res.text(), "old school");
}

#[tokio::test]
async fn head_one_byte_over_the_limit_fails_the_http_stage_with_520_headers_too_large() {
    let origin = Origin::raw(raw_headers_of_size(HEAD_LIMIT + 1)).await;
    let config = DiagnoseConfig::new(origin.addr())
        .tail(&format!("[limits]\norigin_header_bytes = {HEAD_LIMIT}"));

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("http", 520, None, "headers_too_large");
    assert_eq!(d.json["subject"]["origin_header_bytes"], HEAD_LIMIT);
    assert_eq!(
        d.stage("http")["details"]["head_limit"],
        HEAD_LIMIT,
        "{}",
        d.both()
    );
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn head_exactly_at_the_limit_reaches_the_visitor() {
    let origin = Origin::raw(raw_headers_of_size(HEAD_LIMIT)).await;
    let config = DiagnoseConfig::new(origin.addr())
        .tail(&format!("[limits]\norigin_header_bytes = {HEAD_LIMIT}"));

    let d = diagnose_origin(&config).await;

    d.assert_origin_answer(200);
    d.assert_passed("http");
    let http = &d.stage("http")["details"];
    assert_eq!(http["head_bytes"], HEAD_LIMIT, "{}", d.both());
    assert_eq!(http["head_limit"], HEAD_LIMIT, "{}", d.both());
    assert!(
        d.row("http").seen_text().contains(&format!(
            "response head {HEAD_LIMIT} bytes of the {HEAD_LIMIT} allowed"
        )),
        "{}",
        d.both()
    );
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn origins_own_502_becomes_the_edges_502_at_the_http_stage() {
    let origin = Origin::status(502, "origin's bad gateway").await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("http", 502, None, "origin_502");
    assert_eq!(d.stage("http")["details"]["status"], 502, "{}", d.both());
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn origins_own_504_becomes_the_edges_504_at_the_http_stage() {
    let origin = Origin::status(504, "origin's gateway timeout").await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("http", 504, None, "origin_504");
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn origins_500_reaches_the_visitor_with_a_warning_at_the_http_stage() {
    let origin = Origin::status(500, "origin's own error").await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    d.assert_origin_answer(500);
    d.assert_warning("http");
    assert_eq!(d.json["verdict"]["warnings"], 1, "{}", d.both());
    assert!(
        d.verdict_line().contains("(1 warning below)"),
        "{}",
        d.both()
    );
    assert_eq!(d.stage("http")["details"]["status"], 500, "{}", d.both());
    assert!(d.stage("http")["failure"].is_null(), "{}", d.both());
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn origins_404_reaches_the_visitor_with_a_warning() {
    let origin = Origin::status(404, "no such page").await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose(&config, &["--path", "/missing"]).await;

    d.assert_origin_answer(404);
    d.assert_warning("http");
    assert_proxy_agrees(&config, LOOPBACK, "/missing", &d).await;
}

// ---------------------------------------------------------------------------------------------
// The body
// ---------------------------------------------------------------------------------------------

/// Asserts the response head reached the visitor but its body was cut short for `cause`:
/// exit 1, the http stage failed with that cause, in the JSON and the table.
#[track_caller]
fn assert_body_cut_short(d: &Diagnosed, cause: &str) {
    d.assert_shape();
    d.assert_exit(1);
    let all = d.both();
    let v = &d.json["verdict"];
    assert_eq!(v["origin_answer"], false, "{all}");
    assert_eq!(v["cause"], cause, "{all}");
    assert_eq!(v["stage"], "http", "{all}");
    let http = d.stage("http");
    assert_eq!(http["result"], "failed", "{all}");
    assert_eq!(http["failure"]["cause"], cause, "{all}");
    assert_eq!(http["details"]["status"], 200, "{all}");
    assert_eq!(http["details"]["body_complete"], false, "{all}");
    assert_eq!(http["details"]["body_bytes"], 1, "{all}");
    assert_eq!(d.result("keep_alive"), "skipped", "{all}");
    assert!(d.row("http").result.starts_with('✗'), "{all}");
    assert!(
        d.verdict_line().starts_with("✗ A visitor would get")
            && d.verdict_line()
                .contains(&format!("(cause {cause}, at the http stage)")),
        "{all}"
    );
    assert!(
        d.row("http")
            .seen_text()
            .contains("body 1 bytes, cut short"),
        "{all}"
    );
    let listed = support::diagnose::checks(&d.table, "http", "failed")
        .unwrap_or_else(|| panic!("no \"What to check (http, failed)\" list: {all}"));
    assert!(
        listed.iter().any(|line| line.contains("body")),
        "what to check is about the body that broke off: {all}"
    );
}

#[tokio::test]
async fn body_stalling_after_the_head_fails_the_http_stage_with_body_read_timeout() {
    let origin = Origin::slow_body(b"x", true).await;
    let config = DiagnoseConfig::new(origin.addr()).read_ms(SHORT_MS);

    let d = diagnose_origin(&config).await;

    assert_body_cut_short(&d, "body_read_timeout");
    // The head came at once; the stage lasted the read timeout, waiting for the rest.
    assert_took(millis(&d.stage("http")["ms"]), ms(SHORT_MS), SLACK);
}

#[tokio::test]
async fn body_closed_short_of_its_length_fails_the_http_stage_with_body_origin_error() {
    let origin = Origin::slow_body(b"x", false).await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    assert_body_cut_short(&d, "body_origin_error");
}

#[tokio::test]
async fn body_cut_short_shows_the_origins_status_as_what_the_visitor_gets() {
    // The visitor gets the origin's 200 head, then a body cut short: the verdict's status and
    // title are the origin's, and the table's row shows that status.
    let origin = Origin::slow_body(b"x", false).await;
    let config = DiagnoseConfig::new(origin.addr());

    let d = diagnose_origin(&config).await;

    let all = d.both();
    assert_eq!(d.json["verdict"]["status"], 200, "{all}");
    assert_eq!(d.json["verdict"]["title"], "OK", "{all}");
    assert_eq!(d.stage("http")["failure"]["status"], 200, "{all}");
    assert_eq!(d.row("http").result, "✗ 200", "{all}");
    assert_eq!(d.json["verdict"]["cut_short"], true, "{all}");
    assert_eq!(d.stage("http")["failure"]["cut_short"], true, "{all}");
    assert!(
        d.verdict_line().starts_with(
            "✗ A visitor would get 200 OK from the origin, with its body cut short \
             (cause body_origin_error"
        ),
        "{all}"
    );
}

// ---------------------------------------------------------------------------------------------
// Railgun
// ---------------------------------------------------------------------------------------------

/// `[railgun]` on, with the LAN timeout a test waits for.
fn railgun(config: DiagnoseConfig) -> DiagnoseConfig {
    config.tail(&format!(
        "[railgun]\nenabled = true\nlan_timeout = \"{SHORT_MS}ms\""
    ))
}

#[tokio::test]
async fn refusing_origin_behind_railgun_fails_the_connect_stage_with_527() {
    let origin = Origin::refusing().await;
    let config = railgun(DiagnoseConfig::new(origin.addr()));

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("connect", 527, None, "railgun_refused");
    assert_eq!(d.json["subject"]["railgun"], true);
    assert_eq!(d.json["subject"]["timeouts_ms"]["read"], SHORT_MS);
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn silent_origin_behind_railgun_fails_the_http_stage_with_527_after_the_lan_timeout() {
    let origin = Origin::silent().await;
    let config = railgun(DiagnoseConfig::new(origin.addr()));

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("http", 527, None, "railgun_read_timeout");
    assert_took(millis(&d.stage("http")["ms"]), ms(SHORT_MS), SLACK);
    assert_proxy_agrees(&config, LOOPBACK, "/", &d).await;
}

#[tokio::test]
async fn missing_name_behind_railgun_is_still_530() {
    let config = railgun(DiagnoseConfig::new("missing.test:80"));

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("dns", 530, Some(1016), "dns_error");
    assert_proxy_agrees(&config, "missing.test", "/", &d).await;
}

// ---------------------------------------------------------------------------------------------
// What to check names the settings that apply
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn railgun_read_timeout_advice_names_the_lan_timeout_not_timeouts_read() {
    // Behind Railgun, `lan_timeout` replaces `timeouts.read` (the config's read timeout here
    // is 2 s and plays no part): advice to raise `timeouts.read` would change nothing.
    let origin = Origin::silent().await;
    let config = railgun(DiagnoseConfig::new(origin.addr()));

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("http", 527, None, "railgun_read_timeout");
    let check: Vec<&str> = d.stage("http")["check"]
        .as_array()
        .expect("a check list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        check.iter().any(|line| line.contains("lan_timeout")),
        "{check:#?}"
    );
    let misleading: Vec<&&str> = check
        .iter()
        .filter(|line| line.contains("timeouts.read"))
        .collect();
    assert!(
        misleading.is_empty(),
        "behind Railgun the read timeout is `[railgun] lan_timeout`; these lines name \
         `timeouts.read` instead:\n{misleading:#?}"
    );
}
