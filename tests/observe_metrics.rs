//! `GET /metrics` on the control API after a known sequence of requests: exact counts of
//! `edgecase_requests_total` by status and cause, fault rules applied by rule id, histogram
//! counts that match the connections and exchanges made, the in-flight and open-connection
//! gauges while a request is held and a connection pooled, and the Prometheus text format
//! itself (content type, `# TYPE` lines), read with the small parser of `support/observe.rs`.
mod support;

use std::time::Duration;

use serde_json::Value;

use support::observe::{Exposition, admin_get, admin_post, edge_toml, json_body, scrape, start};
use support::origins::Origin;
use support::visitor::{get, within};
use support::{GUARD, assert_error_page, ms};

/// `timeouts.connect` of the edge, in ms.
const CONNECT_MS: u64 = 300;
/// `timeouts.read` of the edge, in ms: long enough to scrape while a request is held.
const HOLD_MS: u64 = 500;

/// The content type of Prometheus' text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Scrapes until `n` requests are counted (a request is counted when its response is over,
/// just after the visitor has read it).
async fn counted(edge: &edgecase::EdgeHandle, n: usize) -> Exposition {
    within(GUARD, async {
        loop {
            let metrics = scrape(edge).await;
            if metrics.sum("edgecase_requests_total") >= n as f64 {
                return metrics;
            }
            tokio::time::sleep(ms(5)).await;
        }
    })
    .await
}

/// `name_count`, which must be there, checked against its `+Inf` bucket.
#[track_caller]
fn histogram_count(metrics: &Exposition, name: &str) -> f64 {
    let count = metrics.scalar(&format!("{name}_count"));
    assert_eq!(
        metrics.value(&format!("{name}_bucket"), &[("le", "+Inf")]),
        Some(count),
        "{name}: the +Inf bucket holds every observation"
    );
    let sum = metrics.scalar(&format!("{name}_sum"));
    assert!(sum >= 0.0, "{name}_sum {sum}");
    count
}

/// A scrape before any request: every family has its type, and every unlabelled series is at
/// zero. (A labelled family has no line at all until its first series exists.)
#[track_caller]
fn assert_fresh(metrics: &Exposition) {
    for (name, kind) in [
        ("edgecase_log_lines_dropped_total", "counter"),
        ("edgecase_har_entries_dropped_total", "counter"),
        ("edgecase_requests_in_flight", "gauge"),
        ("edgecase_origin_connections_open", "gauge"),
        ("edgecase_origin_dns_seconds", "histogram"),
        ("edgecase_origin_connect_seconds", "histogram"),
        ("edgecase_origin_tls_handshake_seconds", "histogram"),
        ("edgecase_origin_time_to_first_byte_seconds", "histogram"),
        ("edgecase_request_duration_seconds", "histogram"),
    ] {
        assert_eq!(
            metrics.types.get(name).map(String::as_str),
            Some(kind),
            "# TYPE of {name}"
        );
    }
    assert_eq!(metrics.sum("edgecase_requests_total"), 0.0);
    assert_eq!(metrics.scalar("edgecase_requests_in_flight"), 0.0);
    assert_eq!(metrics.scalar("edgecase_origin_connections_open"), 0.0);
    assert_eq!(metrics.scalar("edgecase_log_lines_dropped_total"), 0.0);
    assert_eq!(metrics.scalar("edgecase_har_entries_dropped_total"), 0.0);
    assert_eq!(
        histogram_count(metrics, "edgecase_request_duration_seconds"),
        0.0
    );
}

/// The counters after the sequence: 3 × 200, 2 × 521, 1 × 522 by fault rule `rule`, 1 × 524,
/// and nothing else; nothing in flight.
#[track_caller]
fn assert_counters_after_the_sequence(metrics: &Exposition, rule: &str) {
    let requests = |status: &str, cause: &str| {
        metrics.value(
            "edgecase_requests_total",
            &[("status", status), ("cause", cause), ("proxy", "edgecase")],
        )
    };
    assert_eq!(requests("200", "none"), Some(3.0));
    assert_eq!(requests("521", "refused"), Some(2.0));
    assert_eq!(requests("524", "read_timeout"), Some(1.0));
    assert_eq!(requests("522", "connect_timeout"), Some(1.0));
    assert_eq!(
        metrics.sum("edgecase_requests_total"),
        7.0,
        "no other series: {:#?}",
        metrics.names()
    );
    assert_eq!(
        metrics.all("edgecase_fault_rules_applied_total").len(),
        1,
        "one rule applied"
    );
    assert_eq!(
        metrics.value("edgecase_fault_rules_applied_total", &[("rule", rule)]),
        Some(1.0)
    );
    assert_eq!(metrics.scalar("edgecase_requests_in_flight"), 0.0);
    for name in [
        "edgecase_requests_total",
        "edgecase_fault_rules_applied_total",
    ] {
        assert_eq!(
            metrics.types.get(name).map(String::as_str),
            Some("counter"),
            "# TYPE of {name}"
        );
    }
}

/// The histograms after the sequence of 7 requests, `new_connections` of them opened (the
/// refused attempts included).
#[track_caller]
fn assert_histograms(metrics: &Exposition, new_connections: f64) {
    // Every request has a duration; new connections (the refused attempts
    // included) a resolution and a TCP handshake; only answered exchanges a first byte.
    assert_eq!(
        histogram_count(metrics, "edgecase_request_duration_seconds"),
        7.0
    );
    let held_for = metrics.scalar("edgecase_request_duration_seconds_sum");
    assert!(
        held_for >= Duration::from_millis(HOLD_MS).as_secs_f64(),
        "the 524 alone lasted the read timeout: {held_for}"
    );
    assert_eq!(
        histogram_count(metrics, "edgecase_origin_connect_seconds"),
        new_connections,
        "one TCP handshake (or attempt) per new connection"
    );
    assert_eq!(
        histogram_count(metrics, "edgecase_origin_dns_seconds"),
        new_connections,
        "one resolution per new connection"
    );
    assert_eq!(
        histogram_count(metrics, "edgecase_origin_tls_handshake_seconds"),
        0.0,
        "no TLS origin"
    );
    assert_eq!(
        histogram_count(metrics, "edgecase_origin_time_to_first_byte_seconds"),
        4.0,
        "the 200s waited for a response head, and so did the 524 (until the read timeout)"
    );
    assert!(
        metrics.scalar("edgecase_origin_connect_seconds_sum") < 1.0,
        "loopback handshakes and refusals are quick"
    );
}

#[tokio::test]
async fn metrics_count_a_known_sequence_of_requests_by_status_cause_and_rule() {
    let ok = Origin::ok("fine").await;
    let refusing = Origin::refusing().await;
    let silent = Origin::silent().await;
    let routes = format!(
        "[[route]]\npath_prefix = \"/refused\"\norigin = \"{}\"\n\
         [[route]]\npath_prefix = \"/silent\"\norigin = \"{}\"\n",
        refusing.addr(),
        silent.addr()
    );
    let toml = edge_toml(ok.addr(), CONNECT_MS, HOLD_MS, "access = \"off\"", &routes);
    let edge = start(&toml).await;

    // Before any request: the format, and every series at zero.
    let res = admin_get(&edge, "/metrics").await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.header("content-type"), Some(PROMETHEUS_TEXT));
    assert_fresh(&Exposition::parse(&res.text()));

    // 3 × 200 on one pooled connection.
    for _ in 0..3 {
        let res = within(GUARD, get(edge.addr(), "/ok")).await;
        assert_eq!(res.status(), 200, "{}", res.text());
    }
    let metrics = counted(&edge, 3).await;
    assert_eq!(
        metrics.value(
            "edgecase_requests_total",
            &[("status", "200"), ("cause", "none"), ("proxy", "edgecase")]
        ),
        Some(3.0)
    );
    let open = metrics.scalar("edgecase_origin_connections_open");
    assert!(
        open >= 1.0 && open <= ok.connections() as f64,
        "the pooled connection is open: {open} (origin accepted {})",
        ok.connections()
    );

    // 2 × 521.
    for _ in 0..2 {
        assert_error_page(&within(GUARD, get(edge.addr(), "/refused/x")).await, 521);
    }

    // 1 × a rule added through the control API.
    let added = admin_post(
        &edge,
        "/faults",
        r#"{"status": 522, "delay": "0ms", "path_prefix": "/fault"}"#,
    )
    .await;
    assert_eq!(added.status(), 201, "{}", added.text());
    let rule = json_body(&added)["id"]
        .as_u64()
        .expect("the rule's id")
        .to_string();
    assert_error_page(&within(GUARD, get(edge.addr(), "/fault/y")).await, 522);
    let metrics = counted(&edge, 6).await;
    assert_eq!(
        metrics.value("edgecase_fault_rules_applied_total", &[("rule", &rule)]),
        Some(1.0),
        "{:#?}",
        metrics.names()
    );

    // 1 × 524, scraped while the origin holds it.
    let held = tokio::spawn(get(edge.addr(), "/silent/z"));
    within(GUARD, silent.request_seen()).await;
    let during = scrape(&edge).await;
    assert_eq!(
        during.scalar("edgecase_requests_in_flight"),
        1.0,
        "the held request is in flight"
    );
    let res = within(GUARD, held).await.expect("the visitor task ran");
    assert_error_page(&res, 524);

    let metrics = counted(&edge, 7).await;
    assert_counters_after_the_sequence(&metrics, &rule);

    let new_connections = ok.connections() + 2 + silent.connections();
    assert_histograms(&metrics, new_connections as f64);
}

#[tokio::test]
async fn metrics_answer_only_get_and_head() {
    let ok = Origin::ok("fine").await;
    let edge = start(&edge_toml(
        ok.addr(),
        CONNECT_MS,
        HOLD_MS,
        "access = \"off\"",
        "",
    ))
    .await;
    let res = admin_post(&edge, "/metrics", "{}").await;
    assert_eq!(res.status(), 405, "{}", res.text());
    let body: Value = json_body(&res);
    assert!(body["error"].is_string(), "{body}");
}

#[test]
fn the_exposition_parser_reads_names_labels_values_and_types() {
    let text = "# HELP x_total Things.\n# TYPE x_total counter\n\
                x_total{status=\"522\",cause=\"connect_timeout\"} 3\n\
                y 0.5\nz_bucket{le=\"+Inf\"} 7\nw{a=\"q\\\"x\"} 1 1700000000\n# EOF\n";
    let parsed = Exposition::parse(text);
    assert_eq!(
        parsed.types.get("x_total").map(String::as_str),
        Some("counter")
    );
    assert_eq!(
        parsed.value(
            "x_total",
            &[("cause", "connect_timeout"), ("status", "522")]
        ),
        Some(3.0),
        "label order does not matter"
    );
    assert_eq!(parsed.value("x_total", &[("status", "522")]), None);
    assert_eq!(parsed.scalar("y"), 0.5);
    assert_eq!(parsed.value("z_bucket", &[("le", "+Inf")]), Some(7.0));
    assert_eq!(parsed.value("w", &[("a", "q\"x")]), Some(1.0));
    assert_eq!(parsed.samples.len(), 4);
}
