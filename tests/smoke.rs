//! The first checks: a healthy origin passes through, a refusing one gives 521.
mod support;

use support::origins::Origin;
use support::visitor::{get, within};
use support::{GUARD, assert_error_page, spawn_edge, test_config};

#[tokio::test]
async fn healthy_origin_passes_through_with_cloudflare_headers() {
    let origin = Origin::ok("hello").await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    let res = within(GUARD, get(edge.addr(), "/x")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "hello");
    assert_eq!(res.header("server"), Some("cloudflare"));
    assert_eq!(res.header("cf-cache-status"), Some("DYNAMIC"));
    let ray = res.header("cf-ray").expect("cf-ray");
    let seen = origin.last_request().expect("origin saw the request");
    assert_eq!(seen.header("cf-ray"), Some(ray));
}

#[tokio::test]
async fn refusing_origin_yields_521() {
    let origin = Origin::refusing().await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    let res = within(GUARD, get(edge.addr(), "/")).await;
    assert_error_page(&res, 521);
}
