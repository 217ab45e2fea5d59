//! `/cdn-cgi/trace`: answered by the edge itself on any Host, over HTTP/1.1 and h2c, with
//! Cloudflare's headers and its keys in Cloudflare's order, and never forwarded to the origin,
//! not even when the origin is down.
mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Version};
use http_body_util::Empty;

use support::origins::Origin;
use support::visitor::{Response, get, send, try_send_h2, within};
use support::{GUARD, assert_ray_format, spawn_edge, test_config};

/// A colo other than the default, so the trace's `colo` must come from the config.
const COLO: &str = "SIN";

const USER_AGENT: &str = "trace-test/1.0 (edgecase)";

/// `GET /cdn-cgi/trace` with this Host and User-Agent over HTTP/1.1.
fn trace_request(host: &str, user_agent: &str) -> Request<Empty<Bytes>> {
    Request::get("/cdn-cgi/trace")
        .header("host", host)
        .header("user-agent", user_agent)
        .body(Empty::new())
        .expect("a valid request")
}

/// Asserts the trace's headers and returns its body as `(key, value)` pairs, in order.
#[track_caller]
fn trace_fields(res: &Response) -> Vec<(String, String)> {
    assert_eq!(res.status(), 200, "body: {}", res.text());
    assert_eq!(res.header("content-type"), Some("text/plain"));
    assert_eq!(res.header("cache-control"), Some("no-cache"));
    assert_eq!(res.header("x-frame-options"), Some("DENY"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    assert_eq!(res.header("server"), Some("cloudflare"));
    let ray = res.header("cf-ray").expect("the trace carries cf-ray");
    assert_ray_format(ray);
    assert!(ray.ends_with(&format!("-{COLO}")), "{ray}");
    let text = res.text();
    assert!(
        text.ends_with('\n'),
        "every line ends with a newline: {text:?}"
    );
    let fields: Vec<(String, String)> = text
        .lines()
        .map(|line| {
            let (key, value) = line.split_once('=').expect("each line is key=value");
            (key.to_owned(), value.to_owned())
        })
        .collect();
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, support::TRACE_KEYS, "{text}");
    fields
}

fn value<'a>(fields: &'a [(String, String)], key: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in the trace"))
}

/// Asserts `ts` is Unix time with a fraction, within a few seconds of now.
#[track_caller]
fn assert_ts_is_now(ts: &str) {
    let (_, fraction) = ts.split_once('.').expect("ts has a fraction");
    assert!(
        !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit()),
        "{ts}"
    );
    let ts: f64 = ts.parse().expect("ts is a number");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs_f64();
    assert!((now - ts).abs() < 5.0, "ts {ts} is not close to now {now}");
}

async fn edge_with_colo(origin: &Origin) -> support::Edge {
    let mut config = test_config(origin.addr());
    config.edge.colo = COLO.parse().expect("a valid colo");
    spawn_edge(config).await
}

#[tokio::test]
async fn trace_reports_the_visit_over_http1_and_never_reaches_the_origin() {
    let origin = Origin::ok("origin").await;
    let edge = edge_with_colo(&origin).await;

    let res = within(
        GUARD,
        send(edge.addr(), trace_request("trace.example", USER_AGENT)),
    )
    .await;

    let fields = trace_fields(&res);
    let fl = value(&fields, "fl");
    assert!(
        !fl.is_empty() && fl.bytes().all(|b| b.is_ascii_hexdigit()),
        "fl={fl}"
    );
    assert_eq!(value(&fields, "h"), "trace.example");
    assert_eq!(value(&fields, "ip"), "127.0.0.1");
    assert_ts_is_now(value(&fields, "ts"));
    assert_eq!(value(&fields, "visit_scheme"), "http");
    assert_eq!(value(&fields, "uag"), USER_AGENT);
    assert_eq!(value(&fields, "colo"), COLO);
    assert_eq!(value(&fields, "sliver"), "none");
    assert_eq!(value(&fields, "http"), "http/1.1");
    assert_eq!(value(&fields, "loc"), "XX");
    assert_eq!(value(&fields, "tls"), "off");
    assert_eq!(value(&fields, "sni"), "off");
    assert_eq!(value(&fields, "warp"), "off");
    assert_eq!(value(&fields, "gateway"), "off");
    assert_eq!(value(&fields, "rbi"), "off");
    assert_eq!(value(&fields, "kex"), "none");
    assert!(origin.requests().is_empty(), "the trace was forwarded");
    assert_eq!(origin.connections(), 0, "the edge connected to the origin");
}

#[tokio::test]
async fn trace_answers_on_any_host_with_that_host_and_user_agent() {
    let origin = Origin::ok("origin").await;
    let edge = edge_with_colo(&origin).await;

    for (host, user_agent) in [
        ("a.example", "curl/8.5.0"),
        ("shop.other.test", "Mozilla/5.0 (X11; Linux x86_64)"),
    ] {
        let res = within(GUARD, send(edge.addr(), trace_request(host, user_agent))).await;
        let fields = trace_fields(&res);
        assert_eq!(value(&fields, "h"), host);
        assert_eq!(value(&fields, "uag"), user_agent);
    }

    // Without a User-Agent the key is still there, empty.
    let res = within(GUARD, get(edge.addr(), "/cdn-cgi/trace?x=1")).await;
    let fields = trace_fields(&res);
    assert_eq!(value(&fields, "uag"), "");
    assert!(origin.requests().is_empty(), "a trace was forwarded");
}

#[tokio::test]
async fn each_trace_gets_its_own_ray() {
    let origin = Origin::ok("origin").await;
    let edge = edge_with_colo(&origin).await;

    let first = within(GUARD, get(edge.addr(), "/cdn-cgi/trace")).await;
    let second = within(GUARD, get(edge.addr(), "/cdn-cgi/trace")).await;

    trace_fields(&first);
    trace_fields(&second);
    assert_ne!(first.header("cf-ray"), second.header("cf-ray"));
    let fl = |res: &Response| value(&trace_fields(res), "fl").to_owned();
    assert_eq!(
        fl(&first),
        fl(&second),
        "fl names the instance, not the request"
    );
}

#[tokio::test]
async fn trace_over_h2c_reports_http2() {
    let origin = Origin::ok("origin").await;
    let edge = edge_with_colo(&origin).await;
    let request = Request::get("/cdn-cgi/trace")
        .header("host", "h2.example")
        .header("user-agent", USER_AGENT)
        .body(Empty::<Bytes>::new())
        .expect("a valid request");

    let res = within(GUARD, try_send_h2(edge.addr(), request))
        .await
        .expect("an h2 response head");

    assert_eq!(res.version, Version::HTTP_2);
    let fields = trace_fields(&res);
    assert_eq!(value(&fields, "http"), "http/2");
    assert_eq!(value(&fields, "h"), "h2.example");
    assert_eq!(value(&fields, "uag"), USER_AGENT);
    assert_eq!(value(&fields, "ip"), "127.0.0.1");
    assert!(origin.requests().is_empty(), "the trace was forwarded");
}

#[tokio::test]
async fn trace_answers_while_the_origin_refuses_connections() {
    let origin = Origin::refusing().await;
    let edge = edge_with_colo(&origin).await;

    let res = within(
        GUARD,
        send(edge.addr(), trace_request("down.example", USER_AGENT)),
    )
    .await;

    let fields = trace_fields(&res);
    assert_eq!(value(&fields, "h"), "down.example");
    // The same edge does try the origin for anything else.
    let other = within(GUARD, get(edge.addr(), "/")).await;
    assert_eq!(other.status(), 521);
}
