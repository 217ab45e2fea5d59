//! Rules see the normalized request, the origin the request as sent (REFERENCE.md §10): a
//! `path_prefix = "/admin/"` route and fault rule take `/public/../admin/x`, `/%61dmin/x`,
//! `//admin/x`, `/admin\x` and `/public/%2e%2e/admin/x`, but not `/ADMIN/x` (paths are
//! case-sensitive) nor `/admin%2Fx` (`%2F` is reserved); a host route or rule takes its host
//! in any case, with a port or a trailing dot, whether it came from the config, the library or
//! the control API; `/cdn-cgi/trace` is found the same way. Every
//! request is written as raw bytes (clients normalize paths themselves), and the origin and
//! the request record get the request-target exactly as sent.
mod support;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;

use edgecase::{EdgeBuilder, EdgeHandle, FaultSpec};

use support::GUARD;
use support::faults::{record_of_ray, start};
use support::raw::{RawResponse, RecordingOrigin, TomlConfig, exchange};
use support::visitor::{send, within};

/// The Host of the requests that are not about hosts.
const HOST: &str = "site.test";

/// Request-targets that name `/admin/x` once normalized, each as a visitor may write it.
const ADMIN_SPELLINGS: [&str; 6] = [
    "/admin/x",
    "/public/../admin/x",
    "/%61dmin/x",
    "//admin/x",
    "/admin\\x",
    "/public/%2e%2e/admin/x",
];

/// Request-targets that do not: case matters, and `%2F` is not a slash.
const OTHER_PATHS: [&str; 3] = ["/ADMIN/x", "/admin%2Fx", "/public/admin/x"];

/// `GET target` with `Host: host`, as exactly these bytes on a fresh connection.
async fn raw_get(edge: &EdgeHandle, host: &str, target: &str) -> RawResponse {
    let request = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    within(GUARD, exchange(edge.addr(), request.as_bytes())).await
}

/// The edge's record of the request `response` answered.
async fn record_of(edge: &EdgeHandle, response: &RawResponse) -> edgecase::RequestRecord {
    let ray = response.header("cf-ray").expect("cf-ray on every answer");
    record_of_ray(edge, ray).await
}

/// An edge from the test config for `site`, with `tables` (`[[route]]`, `[[fault]]`) added.
async fn edge_with(site: &RecordingOrigin, tables: &str) -> EdgeHandle {
    let text = TomlConfig::new(site.addr()).text() + tables;
    let builder = EdgeBuilder::from_toml(&text)
        .unwrap_or_else(|e| panic!("the test config is valid: {e}\n{text}"));
    start(builder).await
}

/// The request-targets `origin` got, in order.
fn targets(origin: &RecordingOrigin) -> Vec<String> {
    origin.requests().into_iter().map(|r| r.target).collect()
}

#[tokio::test]
async fn every_spelling_of_an_admin_path_takes_the_admin_route_and_reaches_it_as_sent() {
    let site = RecordingOrigin::start().await;
    let admin = RecordingOrigin::start().await;
    let route = format!(
        "[[route]]\npath_prefix = \"/admin/\"\norigin = \"{}\"\n",
        admin.addr()
    );
    let edge = edge_with(&site, &route).await;

    for (n, target) in ADMIN_SPELLINGS.into_iter().enumerate() {
        let response = raw_get(&edge, HOST, target).await;
        assert_eq!(response.status, 200, "{target}: {}", response.head);
        within(GUARD, admin.requests_seen(n + 1)).await;
        assert_eq!(
            record_of(&edge, &response).await.path,
            target,
            "recorded as sent"
        );
    }
    assert_eq!(
        targets(&admin),
        ADMIN_SPELLINGS,
        "the origin gets each path as sent"
    );
    site.assert_untouched();

    for (n, target) in OTHER_PATHS.into_iter().enumerate() {
        let response = raw_get(&edge, HOST, target).await;
        assert_eq!(response.status, 200, "{target}: {}", response.head);
        within(GUARD, site.requests_seen(n + 1)).await;
    }
    assert_eq!(targets(&site), OTHER_PATHS);
    assert_eq!(admin.requests().len(), ADMIN_SPELLINGS.len());
}

#[tokio::test]
async fn a_host_route_takes_its_host_in_any_case_with_a_port_or_a_trailing_dot() {
    let site = RecordingOrigin::start().await;
    let named = RecordingOrigin::start().await;
    let route = format!(
        "[[route]]\nhost = \"example.com\"\norigin = \"{}\"\n",
        named.addr()
    );
    let edge = edge_with(&site, &route).await;

    let hosts = ["example.com", "Example.COM.", "EXAMPLE.com.:8080"];
    for (n, host) in hosts.into_iter().enumerate() {
        let response = raw_get(&edge, host, "/x").await;
        assert_eq!(response.status, 200, "{host}: {}", response.head);
        within(GUARD, named.requests_seen(n + 1)).await;
        let seen = named.requests().pop().expect("the request just seen");
        assert_eq!(
            seen.header("host"),
            Some(host),
            "the origin gets the Host as sent"
        );
    }
    site.assert_untouched();

    // One trailing dot is the same host; two are another name.
    let response = raw_get(&edge, "example.com..", "/x").await;
    assert_eq!(response.status, 200, "{}", response.head);
    within(GUARD, site.requests_seen(1)).await;
    assert_eq!(named.requests().len(), hosts.len());
}

#[tokio::test]
async fn a_config_fault_on_admin_takes_every_spelling_and_spares_the_rest() {
    let site = RecordingOrigin::start().await;
    let edge = edge_with(&site, "[[fault]]\npath_prefix = \"/admin/\"\nedge = 503\n").await;

    for target in ADMIN_SPELLINGS {
        let response = raw_get(&edge, HOST, target).await;
        assert_eq!(response.status, 503, "{target}: {}", response.head);
        let record = record_of(&edge, &response).await;
        assert_eq!(record.fault, Some(1), "{target}");
        assert_eq!(record.path, target, "recorded as sent");
    }
    site.assert_untouched();

    for (n, target) in OTHER_PATHS.into_iter().enumerate() {
        let response = raw_get(&edge, HOST, target).await;
        assert_eq!(response.status, 200, "{target}: {}", response.head);
        within(GUARD, site.requests_seen(n + 1)).await;
    }
    assert_eq!(
        targets(&site),
        OTHER_PATHS,
        "the origin gets each path as sent"
    );
}

#[tokio::test]
async fn a_library_fault_matches_the_normalized_host_and_path() {
    let site = RecordingOrigin::start().await;
    let edge = edge_with(&site, "").await;
    // The rule's own host is normalized as a request's is.
    let rule = FaultSpec::edge(502)
        .host("Faulty.Test.")
        .path_prefix("/admin/");
    let id = edge.faults().add(rule).expect("a valid rule");

    for (host, target) in [
        ("faulty.test", "/admin/x"),
        ("FAULTY.test.", "/%61dmin/x"),
        ("Faulty.Test.:8080", "//admin\\x"),
    ] {
        let response = raw_get(&edge, host, target).await;
        assert_eq!(response.status, 502, "{host} {target}: {}", response.head);
        assert_eq!(record_of(&edge, &response).await.fault, Some(id));
    }
    site.assert_untouched();

    let response = raw_get(&edge, "other.test", "/admin/x").await;
    assert_eq!(response.status, 200, "{}", response.head);
    let response = raw_get(&edge, "faulty.test", "/ADMIN/x").await;
    assert_eq!(response.status, 200, "{}", response.head);
    assert_eq!(targets(&site), ["/admin/x", "/ADMIN/x"]);
}

#[tokio::test]
async fn a_control_api_fault_matches_the_normalized_path() {
    let site = RecordingOrigin::start().await;
    let text = TomlConfig::new(site.addr()).text();
    let builder = EdgeBuilder::from_toml(&text).expect("the test config is valid");
    let edge = start(builder.admin("127.0.0.1:0".parse().expect("an address"))).await;
    let admin = edge.admin_addr().expect("the control API is on");
    let post = |body: &'static str| {
        let request = Request::post("/faults")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .expect("a valid request");
        within(GUARD, send(admin, request))
    };

    let added = post(r#"{"path_prefix":"/admin/","edge":503}"#).await;
    assert_eq!(added.status(), 201, "{}", added.text());
    for target in ADMIN_SPELLINGS {
        let response = raw_get(&edge, HOST, target).await;
        assert_eq!(response.status, 503, "{target}: {}", response.head);
    }
    site.assert_untouched();

    let refused = post(r#"{"path_prefix":"//admin/","edge":503}"#).await;
    assert_eq!(refused.status(), 400, "{}", refused.text());
    assert!(refused.text().contains("path_prefix"), "{}", refused.text());
}

#[tokio::test]
async fn a_rule_whose_prefix_no_normalized_path_has_is_refused() {
    let site = RecordingOrigin::start().await;
    let text = TomlConfig::new(site.addr()).text() + "[[route]]\npath_prefix = \"/%61dmin/\"\n";
    let refused = EdgeBuilder::from_toml(&text).expect_err("an unmatchable prefix");
    assert!(refused.to_string().contains("\"/admin/\""), "{refused}");

    let edge = edge_with(&site, "").await;
    let added = edge
        .faults()
        .add(FaultSpec::edge(502).path_prefix("//admin/"));
    let problem = added.expect_err("an unmatchable prefix").to_string();
    assert!(problem.contains("path_prefix"), "{problem}");
}

#[tokio::test]
async fn the_trace_endpoint_is_found_by_its_normalized_path() {
    let site = RecordingOrigin::start().await;
    let edge = edge_with(&site, "").await;
    for target in [
        "/cdn-cgi/trace",
        "/cdn-cgi//trace",
        "/cdn-cgi/%74race",
        "/x/../cdn-cgi/trace",
    ] {
        let response = raw_get(&edge, HOST, target).await;
        assert_eq!(response.status, 200, "{target}: {}", response.head);
        assert!(
            response.text().starts_with("fl="),
            "{target}: {}",
            response.text()
        );
    }
    let response = raw_get(&edge, HOST, "/cdn-cgi/error/%35%32%32").await;
    assert_eq!(response.status, 522, "{}", response.head);
    site.assert_untouched();
}
