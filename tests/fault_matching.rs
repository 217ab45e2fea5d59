//! Match keys of fault rules, through the library API, in front of a healthy origin: host
//! (case-insensitive, port ignored), path_prefix, method, a request header (name=value, and the
//! name alone from a config file), every given key having to match, percent with a fixed
//! `fault_seed` (same seed, same hits and misses; 0 never, 100 always), count (N times, then
//! proxied), `for` (expiry after its duration), rule order (first match wins), and a request
//! no rule matches being proxied.
mod support;

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Empty;
use tokio::time::Instant;

use edgecase::{EdgeBuilder, EdgeHandle, FaultSpec};

use support::faults::{
    CAUSE, assert_origin_untouched, assert_proxied, edge_for, seen, start, visit_host,
};
use support::origins::Origin;
use support::visitor::{Response, get_with_host, send, within};
use support::{GUARD, ms};

/// The Host every test sends; branded pages show it in their title.
const HOST: &str = "match.example.test";

/// `GET path` with `Host: HOST` on a fresh connection.
async fn visit(edge: &EdgeHandle, path: &str) -> Response {
    visit_host(edge, HOST, path).await
}

/// `request` with `Host: HOST` unless it has one.
async fn visit_with(edge: &EdgeHandle, request: Request<Empty<Bytes>>) -> Response {
    within(GUARD, send(edge.addr(), request)).await
}

fn request(method: &str, path: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", HOST)
}

#[track_caller]
fn assert_faulted(res: &Response) {
    support::assert_branded_host_error(res, HOST, 521, "Web server is down");
    assert_eq!(
        res.header(CAUSE),
        Some("refused"),
        "cause of a {}",
        res.status()
    );
}

#[tokio::test]
async fn a_request_no_rule_matches_is_proxied() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).fault(FaultSpec::status(521).path_prefix("/down"))).await;

    let res = visit(&edge, "/up").await;
    assert_proxied(&res);
    assert_eq!(origin.requests().len(), 1);
    let seen = seen(&edge, &res).await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.cause, None);
    assert_eq!(seen.fault, None);
    assert!(seen.origin_contacted);
}

#[tokio::test]
async fn host_matches_case_insensitively_without_the_port() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).fault(FaultSpec::status(521).host("shop.test"))).await;

    for host in ["shop.test", "SHOP.Test", "shop.test:8080"] {
        let res = within(GUARD, get_with_host(edge.addr(), host, "/")).await;
        assert_eq!(res.status(), 521, "Host {host}: {}", res.text());
        assert_eq!(res.header(CAUSE), Some("refused"), "Host {host}");
    }
    for host in ["other.test", "www.shop.test"] {
        let res = within(GUARD, get_with_host(edge.addr(), host, "/")).await;
        assert_proxied(&res);
    }
}

#[tokio::test]
async fn path_prefix_matches_only_paths_under_it() {
    let origin = Origin::ok("origin body").await;
    let edge =
        start(edge_for(&origin).fault(FaultSpec::status(521).path_prefix("/checkout"))).await;

    assert_faulted(&visit(&edge, "/checkout").await);
    assert_faulted(&visit(&edge, "/checkout/pay?step=2").await);
    assert_proxied(&visit(&edge, "/").await);
    assert_proxied(&visit(&edge, "/cart/checkout").await);
    assert_eq!(origin.requests().len(), 2);
}

#[tokio::test]
async fn method_matches_case_insensitively() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).fault(FaultSpec::status(521).method("post"))).await;

    let post = request("POST", "/").body(Empty::new()).expect("a request");
    assert_faulted(&visit_with(&edge, post).await);
    let get = request("GET", "/").body(Empty::new()).expect("a request");
    assert_proxied(&visit_with(&edge, get).await);
    assert_eq!(origin.requests().len(), 1);
}

#[tokio::test]
async fn header_name_and_value_must_both_match() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).fault(FaultSpec::status(521).header("x-test", "1"))).await;

    let with = |value: Option<&str>| {
        let mut builder = request("GET", "/");
        if let Some(value) = value {
            builder = builder.header("x-test", value);
        }
        builder.body(Empty::new()).expect("a request")
    };
    assert_faulted(&visit_with(&edge, with(Some("1"))).await);
    assert_proxied(&visit_with(&edge, with(Some("2"))).await);
    assert_proxied(&visit_with(&edge, with(Some("10"))).await);
    assert_proxied(&visit_with(&edge, with(None)).await);
}

#[tokio::test]
async fn header_name_alone_matches_any_value_from_the_config_file() {
    let origin = Origin::ok("origin body").await;
    let toml = format!(
        "[edge]\nlisten = \"127.0.0.1:0\"\n\
         [origin]\naddress = \"{}\"\n\
         [dns]\nsystem = false\n\
         [admin]\nenabled = false\n\
         [emulation]\nexplain = true\n\
         [[fault]]\nheader = \"x-test\"\nstatus = 521\n",
        origin.addr()
    );
    let builder = EdgeBuilder::from_toml(&toml).expect("the config is valid");
    let edge = start(builder).await;

    for value in ["1", "anything", ""] {
        let with = request("GET", "/")
            .header("x-test", value)
            .body(Empty::new());
        let res = visit_with(&edge, with.expect("a request")).await;
        assert_faulted(&res);
    }
    let without = request("GET", "/").body(Empty::new()).expect("a request");
    assert_proxied(&visit_with(&edge, without).await);
}

#[tokio::test]
async fn every_given_key_must_match() {
    let origin = Origin::ok("origin body").await;
    let rule = FaultSpec::status(521)
        .host(HOST)
        .path_prefix("/api")
        .method("PUT");
    let edge = start(edge_for(&origin).fault(rule)).await;

    let put = |path: &str| request("PUT", path).body(Empty::new()).expect("a request");
    assert_faulted(&visit_with(&edge, put("/api/items")).await);
    assert_proxied(&visit_with(&edge, put("/web")).await);
    let get = request("GET", "/api/items")
        .body(Empty::new())
        .expect("a request");
    assert_proxied(&visit_with(&edge, get).await);
    let other_host = Request::put("/api/items")
        .header("host", "elsewhere.test")
        .body(Empty::new())
        .expect("a request");
    assert_proxied(&visit_with(&edge, other_host).await);
}

/// Which of `n` sequential requests an edge with `percent = 50` and `seed` faulted.
async fn percent_sequence(origin: &Origin, seed: u64, n: usize) -> Vec<bool> {
    let edge = start(
        edge_for(origin)
            .fault_seed(seed)
            .fault(FaultSpec::status(521).percent(50.0)),
    )
    .await;
    let mut hits = Vec::with_capacity(n);
    for _ in 0..n {
        let res = visit(&edge, "/").await;
        match res.status().as_u16() {
            521 => hits.push(true),
            200 => hits.push(false),
            other => panic!("neither faulted nor proxied: {other}: {}", res.text()),
        }
    }
    hits
}

#[tokio::test]
async fn percent_with_the_same_seed_repeats_the_same_hits_and_misses() {
    const N: usize = 40;
    let origin = Origin::ok("origin body").await;

    let first = percent_sequence(&origin, 7, N).await;
    let second = percent_sequence(&origin, 7, N).await;
    let other_seed = percent_sequence(&origin, 8, N).await;

    assert_eq!(first, second, "same seed, same sequence");
    let hits = first.iter().filter(|&&hit| hit).count();
    assert!(
        (5..=35).contains(&hits),
        "percent = 50 faulted {hits} of {N}: {first:?}"
    );
    assert_ne!(first, other_seed, "another seed, another sequence");
    let proxied = first
        .iter()
        .chain(&second)
        .chain(&other_seed)
        .filter(|&&hit| !hit);
    assert_eq!(origin.requests().len(), proxied.count());
}

#[tokio::test]
async fn percent_0_never_applies_and_percent_100_always_does() {
    const N: usize = 20;
    let origin = Origin::ok("origin body").await;
    let edge = start(
        edge_for(&origin)
            .fault_seed(3)
            .fault(FaultSpec::status(521).path_prefix("/never").percent(0.0))
            .fault(FaultSpec::status(521).path_prefix("/always").percent(100.0)),
    )
    .await;

    for _ in 0..N {
        assert_proxied(&visit(&edge, "/never").await);
        assert_faulted(&visit(&edge, "/always").await);
    }
    assert_eq!(origin.requests().len(), N);
}

#[tokio::test]
async fn count_applies_n_times_then_the_request_is_proxied() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).fault(FaultSpec::status(521).count(2))).await;

    assert_faulted(&visit(&edge, "/").await);
    let rules = edge.faults().list();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].applied, 1);
    assert_eq!(rules[0].remaining, Some(1));

    assert_faulted(&visit(&edge, "/").await);
    assert_proxied(&visit(&edge, "/").await);
    assert_proxied(&visit(&edge, "/").await);
    assert_eq!(origin.requests().len(), 2);
}

#[tokio::test]
async fn count_only_counts_matching_requests() {
    let origin = Origin::ok("origin body").await;
    let edge =
        start(edge_for(&origin).fault(FaultSpec::status(521).path_prefix("/pay").count(1))).await;

    assert_proxied(&visit(&edge, "/").await);
    assert_proxied(&visit(&edge, "/cart").await);
    assert_faulted(&visit(&edge, "/pay").await);
    assert_proxied(&visit(&edge, "/pay").await);
}

#[tokio::test]
async fn lasting_expires_after_its_duration() {
    const LASTING: Duration = Duration::from_millis(300);
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin)).await;

    // The rule's clock starts between these two instants.
    let before = Instant::now();
    edge.faults()
        .add(FaultSpec::status(521).lasting(LASTING))
        .expect("a valid rule");
    let after = Instant::now();

    let res = visit(&edge, "/").await;
    assert!(
        before.elapsed() < LASTING,
        "too slow to test the rule while it lasts"
    );
    assert_faulted(&res);

    // Expiry is the behaviour under test: wait the rule's lifetime out, with a margin.
    within(GUARD, tokio::time::sleep_until(after + LASTING + ms(100))).await;
    assert_proxied(&visit(&edge, "/").await);
    assert_eq!(origin.requests().len(), 1);
}

#[tokio::test]
async fn the_first_matching_rule_wins() {
    let origin = Origin::ok("origin body").await;
    let edge = start(
        edge_for(&origin)
            .fault(FaultSpec::status(521).path_prefix("/a"))
            .fault(FaultSpec::edge(503))
            .fault(FaultSpec::status(520).path_prefix("/b")),
    )
    .await;
    let ids: Vec<u64> = edge.faults().list().iter().map(|rule| rule.id).collect();
    assert_eq!(ids.len(), 3);

    let res = visit(&edge, "/a/x").await;
    assert_faulted(&res);
    assert_eq!(seen(&edge, &res).await.fault, Some(ids[0]));

    // `/b` matches the third rule too, but the catch-all second one comes first.
    let res = visit(&edge, "/b").await;
    assert_eq!(res.status(), 503, "body: {}", res.text());
    assert!(
        res.text().contains("<center>cloudflare</center>"),
        "{}",
        res.text()
    );
    assert_eq!(res.header(CAUSE), Some("edge_503"));
    assert_eq!(seen(&edge, &res).await.fault, Some(ids[1]));
    assert_origin_untouched(&origin);
}
