//! `edgecase::admin::ROUTES` is what the control API serves, no more and no less: each row,
//! sent to a running edge's control API, gets an answer of its own (neither a 405 nor the
//! router's "no such endpoint" 404); every other method on the same paths is a 405; and paths
//! next to them are 404s. `tests/docs.rs` checks the same table against `docs/control-api.md`.
mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;

use bytes::Bytes;
use edgecase::EdgeBuilder;
use edgecase::admin::ROUTES;
use http::{Method, Request};
use http_body_util::Full;

use support::GUARD;
use support::origins::Origin;
use support::visitor::{Response, send, within};

/// The methods tried on every path of the table.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Paths the router must answer 404, each next to a route of the table.
const UNKNOWN: [&str; 13] = [
    "/",
    "/nope",
    "/healthz/x",
    "/faults/1/x",
    "/requests/x",
    "/metrics/x",
    "/analytics/x",
    "/scenarios/ramp/pause",
    "/scenarios/ramp/start/x",
    "/reload/x",
    "/version/x",
    "/proxies/edgecase/other",
    "/proxies/edgecase/toxics/slow/x",
];

/// A pattern with its placeholders filled with names that exist on the test's edge.
fn concrete(pattern: &str) -> String {
    pattern
        .replace("{id}", "1")
        .replace("{name}/toxics", "edgecase/toxics")
        .replace("{toxic}", "slow")
        .replace("/proxies/{name}", "/proxies/edgecase")
        .replace("{name}", "ramp")
}

async fn call(admin: SocketAddr, method: &str, path: &str, body: &str) -> Response {
    let method = Method::from_bytes(method.as_bytes()).expect("a method of the table");
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("a test request is valid");
    within(GUARD, send(admin, request)).await
}

/// Whether `res` is the router saying it has no such endpoint (a HEAD answer has no body, so
/// any 404 to a HEAD counts).
fn no_such_endpoint(method: &str, res: &Response) -> bool {
    res.status() == 404 && (method == "HEAD" || res.text().contains("no such endpoint"))
}

#[tokio::test]
async fn the_control_api_serves_exactly_the_routes_of_its_table() {
    let origin = Origin::ok("origin").await;
    let admin_addr: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let builder = EdgeBuilder::new().origin(origin.addr().to_string());
    let edge = within(GUARD, builder.admin(admin_addr).start())
        .await
        .expect("starts");
    let admin = edge.admin_addr().expect("the control API was asked for");
    // The things the placeholders name: scenario `ramp`, toxic `slow` on proxy `edgecase`.
    let scenario = r#"{"name": "ramp", "phase": [{"name": "p", "for": "1s"}]}"#;
    let res = call(admin, "POST", "/scenarios", scenario).await;
    assert_eq!(res.status(), 201, "{}", res.text());
    let toxic = r#"{"name": "slow", "type": "latency", "attributes": {"latency": 1}}"#;
    let res = call(admin, "POST", "/proxies/edgecase/toxics", toxic).await;
    assert_eq!(res.status(), 200, "{}", res.text());

    assert!(ROUTES.len() >= 30, "the table reads as {ROUTES:?}");
    let served: BTreeSet<(&str, &str)> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
    assert_eq!(served.len(), ROUTES.len(), "a row is listed twice");
    let paths: BTreeSet<&str> = ROUTES.iter().map(|r| r.path).collect();
    let mut wrong = Vec::new();
    for pattern in &paths {
        let path = concrete(pattern);
        for method in METHODS {
            let res = call(admin, method, &path, "").await;
            let listed = served.contains(&(method, *pattern));
            if listed && (res.status() == 405 || no_such_endpoint(method, &res)) {
                wrong.push(format!(
                    "{method} {path}: listed, answered {}",
                    res.status()
                ));
            }
            if !listed && res.status() != 405 {
                wrong.push(format!(
                    "{method} {path}: not listed, answered {}",
                    res.status()
                ));
            }
            // A 405 names exactly the methods the table lists for the path.
            if res.status() == 405 {
                let allow: BTreeSet<&str> = res
                    .header("allow")
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .collect();
                let want: BTreeSet<&str> = ROUTES
                    .iter()
                    .filter(|r| r.path == *pattern)
                    .map(|r| r.method)
                    .collect();
                if allow != want {
                    wrong.push(format!("{method} {path}: allow {allow:?}, table {want:?}"));
                }
            }
        }
    }
    for path in UNKNOWN {
        for method in ["GET", "POST"] {
            let res = call(admin, method, path, "").await;
            if !no_such_endpoint(method, &res) {
                wrong.push(format!(
                    "{method} {path}: unknown, answered {}",
                    res.status()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the table and the router differ: {wrong:#?}"
    );
    within(GUARD, edge.shutdown())
        .await
        .expect("clean shutdown");
}
