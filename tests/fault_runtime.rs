//! Fault rules at run time, through the library API: rules added, listed, removed and cleared
//! on a running edge (`EdgeHandle::faults`); 20 concurrent requests against `percent = 50`
//! each getting their own decision; header faults (`cf-edgecase-fault`) off by default and
//! stripped, and when on: a status, a 1xxx code, a link action, a Cloudflare-side error, and
//! a 400 for a value that does not parse; ray ID sequences reproducible with `ray_seed`; and
//! the library's start / request / graceful shutdown.
mod support;

use bytes::Bytes;
use http::Request;
use http_body_util::Empty;
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use edgecase::{EdgeHandle, FaultSpec};

use support::faults::{
    AT_ONCE, CAUSE, SHORT_MS, SLACK, assert_proxied, edge_for, record_of, start, visit_host,
};
use support::origins::Origin;
use support::visitor::{Response, get, get_with_host, send, within};
use support::{GUARD, assert_branded_host_error, assert_error_page, assert_took, ms};

/// The Host every test sends.
const HOST: &str = "runtime.example.test";

/// The request header that asks for a fault when header faults are on.
const FAULT_HEADER: &str = "cf-edgecase-fault";

/// `GET /` with `Host: HOST` on a fresh connection.
async fn visit(edge: &EdgeHandle) -> Response {
    visit_host(edge, HOST, "/").await
}

/// `GET /` with `cf-edgecase-fault: value`.
async fn visit_asking(edge: &EdgeHandle, value: &str) -> Response {
    let request = Request::get("/")
        .header("host", HOST)
        .header(FAULT_HEADER, value)
        .body(Empty::<Bytes>::new())
        .expect("a request");
    within(GUARD, send(edge.addr(), request)).await
}

/// The rule id the edge recorded for the request that got `res`, waiting (bounded) for it.
async fn recorded_fault(edge: &EdgeHandle, res: &Response) -> Option<u64> {
    record_of(edge, res).await.fault
}

#[track_caller]
fn assert_refused(res: &Response) {
    assert_branded_host_error(res, HOST, 521, "Web server is down");
    assert_eq!(res.header(CAUSE), Some("refused"));
}

// ---------------------------------------------------------------------------------------------
// Rules changed at run time
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rules_added_and_removed_at_run_time_take_effect_at_once() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin)).await;
    assert!(edge.faults().list().is_empty());
    assert_proxied(&visit(&edge).await);

    let id = edge
        .faults()
        .add(FaultSpec::status(521))
        .expect("a valid rule");
    let listed = edge.faults().list();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].applied, 0);
    assert_eq!(listed[0].remaining, None, "no count: unlimited");
    let res = visit(&edge).await;
    assert_refused(&res);
    assert_eq!(recorded_fault(&edge, &res).await, Some(id));
    assert_eq!(edge.faults().list()[0].applied, 1);

    assert!(edge.faults().remove(id), "the rule was there");
    assert!(!edge.faults().remove(id), "the rule is gone");
    assert!(edge.faults().list().is_empty());
    assert_proxied(&visit(&edge).await);
    assert_eq!(origin.requests().len(), 2);
}

#[tokio::test]
async fn added_rules_get_increasing_ids_after_the_configured_ones_and_keep_their_order() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).fault(FaultSpec::status(521).path_prefix("/cfg"))).await;
    let configured = edge.faults().list()[0].id;

    let catch_all = edge
        .faults()
        .add(FaultSpec::edge(503))
        .expect("a valid rule");
    let shadowed = edge
        .faults()
        .add(FaultSpec::status(520))
        .expect("a valid rule");
    assert!(configured < catch_all && catch_all < shadowed);
    let order: Vec<u64> = edge.faults().list().iter().map(|rule| rule.id).collect();
    assert_eq!(order, [configured, catch_all, shadowed]);

    let res = within(GUARD, get_with_host(edge.addr(), HOST, "/cfg")).await;
    assert_refused(&res);
    let res = visit(&edge).await;
    assert_eq!(
        res.status(),
        503,
        "the earlier catch-all wins: {}",
        res.text()
    );
    assert_eq!(recorded_fault(&edge, &res).await, Some(catch_all));

    assert!(edge.faults().remove(catch_all));
    let res = visit(&edge).await;
    assert_eq!(res.status(), 520, "{}", res.text());
    assert_eq!(res.header(CAUSE), Some("empty_reply"));
}

#[tokio::test]
async fn clear_removes_every_rule() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).fault(FaultSpec::status(521))).await;
    edge.faults()
        .add(FaultSpec::status(520))
        .expect("a valid rule");
    assert_eq!(edge.faults().list().len(), 2);
    assert_refused(&visit(&edge).await);

    edge.faults().clear();

    assert!(edge.faults().list().is_empty());
    assert_proxied(&visit(&edge).await);
}

#[tokio::test]
async fn an_invalid_rule_is_refused_and_changes_nothing() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin)).await;

    assert!(
        edge.faults().add(FaultSpec::status(418)).is_err(),
        "418 is no edge status"
    );
    assert!(
        edge.faults()
            .add(FaultSpec::status(521).code(1033))
            .is_err(),
        "code only goes with 530"
    );
    assert!(
        edge.faults().add(FaultSpec::edge(520)).is_err(),
        "edge is 500-504 only"
    );
    assert!(
        edge.faults()
            .add(FaultSpec::status(521).percent(150.0))
            .is_err(),
        "percent is 0-100"
    );
    assert!(edge.faults().list().is_empty());
    assert_proxied(&visit(&edge).await);
}

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn concurrent_requests_each_get_their_own_decision() {
    const N: usize = 20;
    let origin = Origin::ok("origin body").await;
    let edge = start(
        edge_for(&origin)
            .fault_seed(5)
            .fault(FaultSpec::status(524).delay(ms(SHORT_MS)).percent(50.0)),
    )
    .await;
    let rule = edge.faults().list()[0].id;

    let started = Instant::now();
    let mut visitors = JoinSet::new();
    for _ in 0..N {
        visitors.spawn(get_with_host(edge.addr(), HOST, "/"));
    }
    let answers = within(GUARD, visitors.join_all()).await;
    let took = started.elapsed();

    let mut faulted = 0;
    let mut proxied = 0;
    for res in &answers {
        match res.status().as_u16() {
            524 => {
                assert_eq!(res.header(CAUSE), Some("read_timeout"));
                assert_eq!(recorded_fault(&edge, res).await, Some(rule));
                faulted += 1;
            }
            200 => {
                assert_eq!(recorded_fault(&edge, res).await, None);
                proxied += 1;
            }
            other => panic!("neither faulted nor proxied: {other}: {}", res.text()),
        }
    }
    assert_eq!(faulted + proxied, N);
    assert!(
        faulted > 0 && proxied > 0,
        "{faulted} faulted, {proxied} proxied"
    );
    assert_eq!(origin.requests().len(), proxied);
    // The faulted ones waited their 300 ms side by side, not one after another.
    assert_took(took, ms(SHORT_MS), ms(1_000));
}

// ---------------------------------------------------------------------------------------------
// Header faults
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn header_faults_are_off_by_default_and_the_header_is_stripped() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin)).await;

    for value in ["524", "refuse", "not even valid"] {
        let res = visit_asking(&edge, value).await;
        assert_proxied(&res);
        let seen = origin.last_request().expect("the origin saw the request");
        assert_eq!(seen.header(FAULT_HEADER), None, "forwarded {value:?}");
    }
}

#[tokio::test]
async fn header_fault_524_waits_the_read_timeout() {
    let origin = Origin::ok("origin body").await;
    let edge = start(
        edge_for(&origin)
            .read_timeout(ms(SHORT_MS))
            .header_faults(true),
    )
    .await;

    let res = visit_asking(&edge, "524").await;

    assert_branded_host_error(&res, HOST, 524, "A timeout occurred");
    assert_eq!(res.header(CAUSE), Some("read_timeout"));
    assert_took(res.elapsed, ms(SHORT_MS), SLACK);
    assert!(origin.requests().is_empty());
}

#[tokio::test]
async fn header_fault_with_an_explicit_delay_waits_that_long() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).header_faults(true)).await;

    let res = visit_asking(&edge, &format!("521;delay={SHORT_MS}ms")).await;

    assert_refused(&res);
    assert_took(res.elapsed, ms(SHORT_MS), SLACK);
}

#[tokio::test]
async fn header_fault_530_with_code_1033_shows_the_tunnel_error() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).header_faults(true)).await;

    let res = visit_asking(&edge, "530;code=1033").await;

    assert_error_page(&res, 530);
    let page = res.text();
    assert!(
        page.contains("<span class=\"cf-error-code\">1033</span></h1>"),
        "{page}"
    );
    assert!(page.contains("Argo Tunnel error"), "{page}");
    assert_eq!(res.header(CAUSE), Some("error_1033"));
    assert!(origin.requests().is_empty());
}

#[tokio::test]
async fn header_fault_refuse_acts_on_the_link() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).header_faults(true)).await;

    let res = visit_asking(&edge, "refuse").await;

    assert_refused(&res);
    assert!(res.elapsed < AT_ONCE, "took {:?}", res.elapsed);
    assert_eq!(origin.connections(), 0);
}

#[tokio::test]
async fn header_fault_edge_503_answers_the_unbranded_page() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).header_faults(true)).await;

    let res = visit_asking(&edge, "edge=503").await;

    assert_eq!(res.status(), 503, "{}", res.text());
    assert!(
        res.text().contains("<center>cloudflare</center>"),
        "{}",
        res.text()
    );
    assert_eq!(res.header(CAUSE), Some("edge_503"));
    assert!(origin.requests().is_empty());
}

#[tokio::test]
async fn header_fault_latency_reaches_the_origin_without_the_header() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).header_faults(true)).await;

    let res = visit_asking(&edge, &format!("latency={SHORT_MS}ms")).await;

    assert_proxied(&res);
    assert_took(res.elapsed, ms(SHORT_MS), SLACK);
    let seen = origin.last_request().expect("the origin saw the request");
    assert_eq!(
        seen.header(FAULT_HEADER),
        None,
        "the fault header was forwarded"
    );
}

#[tokio::test]
async fn an_unparsable_header_fault_is_a_400_and_the_origin_sees_nothing() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin).header_faults(true)).await;

    for value in ["teapot", "418", "530;code=abc", "524;delay=soon"] {
        let res = visit_asking(&edge, value).await;
        assert_eq!(res.status(), 400, "{value:?}: {}", res.text());
        assert!(
            res.header("content-type")
                .is_some_and(|v| v.starts_with("text/plain")),
            "{value:?}: {:?}",
            res.header("content-type")
        );
        assert!(
            !res.text().trim().is_empty(),
            "{value:?}: the body names the problem"
        );
    }
    let res = visit_asking(&edge, "teapot").await;
    assert!(
        res.text().contains("teapot") || res.text().contains(FAULT_HEADER),
        "the body names the bad value or the header: {}",
        res.text()
    );
    assert_eq!(origin.connections(), 0);
    assert!(origin.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Ray seed
// ---------------------------------------------------------------------------------------------

/// The cf-ray values of the first three requests to a fresh edge with `seed`.
async fn first_rays(origin: &Origin, seed: u64) -> Vec<String> {
    let edge = start(edge_for(origin).ray_seed(seed)).await;
    let mut rays = Vec::new();
    for _ in 0..3 {
        let res = visit(&edge).await;
        assert_eq!(res.status(), 200, "{}", res.text());
        let ray = res.header("cf-ray").expect("cf-ray").to_owned();
        support::assert_ray_format(&ray);
        rays.push(ray);
    }
    rays
}

#[tokio::test]
async fn the_same_ray_seed_gives_the_same_ray_ids() {
    let origin = Origin::ok("origin body").await;

    let first = first_rays(&origin, 42).await;
    let second = first_rays(&origin, 42).await;
    let other = first_rays(&origin, 43).await;

    assert_eq!(first, second);
    assert_ne!(first[0], first[1], "rays within a run still differ");
    assert!(
        first.iter().all(|ray| !other.contains(ray)),
        "another seed, other rays: {first:?} / {other:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Start and shutdown
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_library_starts_serves_and_shuts_down_gracefully() {
    let origin = Origin::ok("origin body").await;
    let edge = start(edge_for(&origin)).await;
    let addr = edge.addr();
    assert!(addr.ip().is_loopback(), "{addr}");
    assert_ne!(addr.port(), 0, "the bound port, not the requested 0");
    assert_eq!(edge.url("/p"), format!("http://{addr}/p"));

    let res = within(GUARD, get(addr, "/")).await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.text(), "origin body");

    within(GUARD, edge.shutdown())
        .await
        .expect("a graceful shutdown");
    let after = within(GUARD, TcpStream::connect(addr)).await;
    assert!(after.is_err(), "the port still accepts after shutdown");
}
