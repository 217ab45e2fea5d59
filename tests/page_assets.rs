//! The files the error pages load from the edge (`/cdn-cgi/styles/main.css`, the icons under
//! `/cdn-cgi/images/`): answered by the edge itself on any host, with their type, a public
//! cache lifetime, `server: cloudflare` and a `cf-ray`; found by the normalized path like every
//! `/cdn-cgi/` endpoint; never forwarded and never faulted, even under a catch-all fault rule
//! or a `cf-edgecase-fault` header; an unknown file under those paths is a 404. Every request
//! is written as raw bytes (clients normalize paths themselves).
mod support;

use std::time::Duration;

use edgecase::{EdgeBuilder, EdgeHandle, FaultSpec};

use support::GUARD;
use support::faults::start;
use support::raw::{RawResponse, RecordingOrigin, TomlConfig, exchange};
use support::visitor::within;

/// The Host of every request but the one about hosts.
const HOST: &str = "site.test";

/// Every asset a page uses, with its content type.
const ASSETS: [(&str, &str); 6] = [
    ("/cdn-cgi/styles/main.css", "text/css; charset=utf-8"),
    ("/cdn-cgi/images/browser.svg", "image/svg+xml"),
    ("/cdn-cgi/images/cloud.svg", "image/svg+xml"),
    ("/cdn-cgi/images/server.svg", "image/svg+xml"),
    ("/cdn-cgi/images/ok.svg", "image/svg+xml"),
    ("/cdn-cgi/images/error.svg", "image/svg+xml"),
];

/// `GET target` with `Host: host` and `extra` header lines, as exactly these bytes.
async fn raw_get(edge: &EdgeHandle, host: &str, target: &str, extra: &str) -> RawResponse {
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n");
    within(GUARD, exchange(edge.addr(), request.as_bytes())).await
}

/// An edge in front of `site` with `faults` in force and header faults on.
async fn edge_for(site: &RecordingOrigin, faults: &[FaultSpec]) -> EdgeHandle {
    let text = TomlConfig::new(site.addr()).text();
    let mut builder = EdgeBuilder::from_toml(&text)
        .unwrap_or_else(|e| panic!("the test config is valid: {e}\n{text}"))
        .header_faults(true);
    for fault in faults {
        builder = builder.fault(fault.clone());
    }
    start(builder).await
}

/// Asserts `response` is the asset with `content_type`, as the edge serves it.
#[track_caller]
fn assert_asset(response: &RawResponse, content_type: &str, what: &str) {
    assert_eq!(response.status, 200, "{what}: {}", response.head);
    assert_eq!(
        response.header("content-type"),
        Some(content_type),
        "{what}"
    );
    assert_eq!(
        response.header("cache-control"),
        Some("public, max-age=86400"),
        "{what}"
    );
    assert_eq!(response.header("server"), Some("cloudflare"), "{what}");
    assert!(response.header("cf-ray").is_some(), "{what}");
    assert!(!response.text().is_empty(), "{what}");
}

#[tokio::test]
async fn every_asset_a_page_links_is_served_by_the_edge() {
    let site = RecordingOrigin::start().await;
    let edge = edge_for(&site, &[]).await;
    for (path, content_type) in ASSETS {
        let response = raw_get(&edge, HOST, path, "").await;
        assert_asset(&response, content_type, path);
    }
    let css = raw_get(&edge, "another.test", ASSETS[0].0, "").await;
    assert_asset(&css, ASSETS[0].1, "on another host");
    assert!(css.text().contains("#cf-wrapper"), "{}", css.text());

    // What a page links is what the edge serves.
    let page = raw_get(&edge, HOST, "/cdn-cgi/error/522", "").await;
    assert!(page.text().contains(
        "<link rel=\"stylesheet\" id=\"cf_styles-css\" href=\"/cdn-cgi/styles/main.css\">"
    ));
    for (path, _) in &ASSETS[1..] {
        assert!(
            css.text().contains(&format!("url({path})")),
            "main.css draws {path}"
        );
    }
    site.assert_untouched();
}

#[tokio::test]
async fn assets_are_found_by_their_normalized_path_and_unknown_ones_are_404() {
    let site = RecordingOrigin::start().await;
    let edge = edge_for(&site, &[]).await;
    for target in [
        "/cdn-cgi//styles/main.css",
        "/cdn-cgi/%73tyles/main.css",
        "/x/../cdn-cgi/styles/main.css",
        "/cdn-cgi/styles/main.css?v=2",
    ] {
        let response = raw_get(&edge, HOST, target, "").await;
        assert_asset(&response, "text/css; charset=utf-8", target);
    }
    for target in [
        "/cdn-cgi/styles/other.css",
        "/cdn-cgi/images/logo.png",
        "/cdn-cgi/images/",
    ] {
        let response = raw_get(&edge, HOST, target, "").await;
        assert_eq!(response.status, 404, "{target}: {}", response.head);
        assert_eq!(response.header("server"), Some("cloudflare"), "{target}");
        assert!(response.header("cf-ray").is_some(), "{target}");
    }
    site.assert_untouched();
}

#[tokio::test]
async fn assets_are_never_faulted_nor_forwarded() {
    let site = RecordingOrigin::start().await;
    let edge = edge_for(&site, &[FaultSpec::status(522).delay(Duration::ZERO)]).await;
    let response = raw_get(&edge, HOST, "/cdn-cgi/images/cloud.svg", "").await;
    assert_asset(&response, "image/svg+xml", "under a catch-all 522 rule");
    let response = raw_get(
        &edge,
        HOST,
        "/cdn-cgi/styles/main.css",
        "cf-edgecase-fault: 521\r\n",
    )
    .await;
    assert_asset(&response, "text/css; charset=utf-8", "asking for a 521");
    // The rule still applies to the site's own pages.
    let page = raw_get(&edge, HOST, "/", "").await;
    assert_eq!(page.status, 522, "{}", page.head);
    site.assert_untouched();
}
