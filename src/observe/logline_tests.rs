use std::net::SocketAddr;
use std::time::Duration;

use http::HeaderValue;

use super::*;
use crate::record::finished::Ending;
use crate::record::finished::tests::finished;

fn failed_522() -> Finished {
    let mut f = finished(0x8f3a_0000_0000_0001, 522);
    f.cause = Some("connect_timeout");
    f.origin.peer = Some("192.0.2.1:80".parse::<SocketAddr>().expect("an address"));
    f.origin.dns = Some(Duration::ZERO);
    f.origin.connect = Some(Duration::from_millis(15_000));
    f.head_after = Duration::from_millis(15_001);
    f.total = Duration::from_millis(15_001);
    f.path = "/checkout?step=2".into();
    f.response_bytes = 4200;
    let mut headers = http::HeaderMap::new();
    headers.insert("user-agent", HeaderValue::from_static("curl/8.5.0"));
    f.request_headers = std::sync::Arc::new(headers);
    f
}

#[test]
fn json_uses_logpush_names_and_values() {
    let line = line(&failed_522(), LogFormat::Json, Timestamps::UnixNano);
    let v: serde_json::Value = serde_json::from_str(&line).expect("one JSON object");
    assert_eq!(v["RayID"], "8f3a000000000001");
    assert_eq!(v["EdgeResponseStatus"], 522);
    assert_eq!(v["OriginResponseStatus"], 0);
    assert_eq!(v["OriginIP"], "192.0.2.1");
    assert_eq!(v["OriginTCPHandshakeDurationMs"], 15_000);
    assert_eq!(v["OriginTLSHandshakeDurationMs"], 0);
    assert_eq!(v["OriginSSLProtocol"], "none");
    assert_eq!(v["EdgeColoCode"], "CDG");
    assert_eq!(v["EdgeTimeToFirstByteMs"], 15_001);
    assert_eq!(v["EdgeResponseBytes"], 4200);
    assert_eq!(v["ClientIP"], "192.0.2.7");
    assert_eq!(v["ClientRequestHost"], "site.test");
    assert_eq!(v["ClientRequestURI"], "/checkout?step=2");
    assert_eq!(v["ClientRequestMethod"], "GET");
    assert_eq!(v["ClientRequestProtocol"], "HTTP/1.1");
    assert_eq!(v["ClientRequestScheme"], "http");
    assert_eq!(v["ClientRequestUserAgent"], "curl/8.5.0");
    assert_eq!(v["EdgecaseCause"], "connect_timeout");
    let start = v["EdgeStartTimestamp"]
        .as_u64()
        .expect("unixnano is an integer");
    let end = v["EdgeEndTimestamp"]
        .as_u64()
        .expect("unixnano is an integer");
    assert_eq!(start, 1_790_000_000_000_000_000);
    assert_eq!(end - start, 15_001_000_000);
    assert!(!line.contains('\n'));
}

#[test]
fn json_timestamps_follow_the_setting() {
    let f = failed_522();
    let v: serde_json::Value =
        serde_json::from_str(&line(&f, LogFormat::Json, Timestamps::Rfc3339)).expect("JSON");
    assert_eq!(v["EdgeStartTimestamp"], "2026-09-21T14:13:20.000Z");
    let v: serde_json::Value =
        serde_json::from_str(&line(&f, LogFormat::Json, Timestamps::Unix)).expect("JSON");
    assert_eq!(v["EdgeStartTimestamp"], 1_790_000_000);
}

#[test]
fn a_clean_answer_has_a_null_cause() {
    let mut f = finished(2, 200);
    f.origin_status = Some(200);
    let v: serde_json::Value =
        serde_json::from_str(&line(&f, LogFormat::Json, Timestamps::UnixNano)).expect("JSON");
    assert!(v["EdgecaseCause"].is_null());
    assert_eq!(v["OriginResponseStatus"], 200);
    f.ending = Ending::VisitorGone;
    let v: serde_json::Value =
        serde_json::from_str(&line(&f, LogFormat::Json, Timestamps::UnixNano)).expect("JSON");
    assert_eq!(v["EdgecaseCause"], "visitor_gone");
}

#[test]
fn text_is_one_line_with_quoted_visitor_values() {
    let mut f = failed_522();
    f.path = "/a b\n\"x\"".into();
    let text = line(&f, LogFormat::Text, Timestamps::UnixNano);
    assert!(!text.contains('\n'), "{text}");
    assert!(
        text.starts_with("2026-09-21T14:13:20.000Z ray=8f3a000000000001-CDG "),
        "{text}"
    );
    assert!(text.contains(r#"path="/a b\n\"x\"""#), "{text}");
    assert!(
        text.contains(" status=522 cause=connect_timeout origin=192.0.2.1:80 "),
        "{text}"
    );
    assert!(text.contains(" connect_ms=15000 "), "{text}");
    assert!(
        text.ends_with(" ending=complete proxy=\"edgecase\""),
        "{text}"
    );
}

#[test]
fn a_request_in_a_scenario_names_its_scenario_and_phase() {
    use crate::record::tally::{PhaseTally, ScenarioTag};
    let mut f = finished(2, 521);
    let text = line(&f, LogFormat::Text, Timestamps::Rfc3339);
    assert!(
        !text.contains("scenario="),
        "only while a scenario runs: {text}"
    );
    f.scenario = Some(std::sync::Arc::new(ScenarioTag {
        scenario: "brownout".into(),
        phase: "down \"hard\"".into(),
        tally: PhaseTally::new(f.at, Default::default()),
    }));
    let text = line(&f, LogFormat::Text, Timestamps::Rfc3339);
    assert!(
        text.ends_with(" scenario=\"brownout\" phase=\"down \\\"hard\\\"\""),
        "quoted, as names come from the control API: {text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&line(&f, LogFormat::Json, Timestamps::Rfc3339)).expect("JSON");
    assert_eq!(json["EdgecaseScenario"], "brownout");
    assert_eq!(json["EdgecasePhase"], "down \"hard\"");
    let har = serde_json::to_value(crate::capture::entry::entry(&f)).expect("JSON");
    assert_eq!(har["_edgecaseScenario"], "brownout", "{har}");
    assert_eq!(har["_edgecasePhase"], "down \"hard\"");
}
