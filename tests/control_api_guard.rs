//! The control API refuses what a web page could send it: a `Host` that is not its own (DNS
//! rebinding), an `Origin` from another site, `Sec-Fetch-Site: cross-site` / `same-site` (the
//! text/plain `fetch` in `no-cors` mode and the `<form>` that need no preflight). Every
//! endpoint answers 403 with a JSON error naming the key to set, and changes nothing; clients
//! that send no `Origin` (curl, the Toxiproxy clients, Prometheus) are served as before, and
//! `[admin] allowed_hosts` / `allowed_origins` let named ones in.
//!
//! Raw bytes over loopback sockets, so the test controls every header a browser would send.
mod support;

use std::net::SocketAddr;

use edgecase::EdgeHandle;
use support::GUARD;
use support::observe::{admin_addr, edge_toml, start};
use support::origins::Origin;
use support::visitor::{raw_exchange, within};

/// Every endpoint of the control API, as `METHOD path`, with a body for those that change.
const ENDPOINTS: [(&str, &str, &str); 12] = [
    ("GET", "/healthz", ""),
    ("GET", "/faults", ""),
    ("POST", "/faults", r#"{"status": 521}"#),
    ("GET", "/requests", ""),
    ("GET", "/har", ""),
    ("GET", "/analytics", ""),
    ("GET", "/analytics.json", ""),
    ("GET", "/metrics", ""),
    ("POST", "/reload", ""),
    ("GET", "/proxies", ""),
    ("POST", "/proxies/edgecase", r#"{"enabled": false}"#),
    ("POST", "/reset", ""),
];

/// Sends one request with `headers` (each `Name: value`) and returns the status and body.
async fn call(
    admin: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    headers: &[&str],
) -> (u16, String) {
    let mut request = format!("{method} {path} HTTP/1.1\r\nconnection: close\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    let outcome = within(GUARD, raw_exchange(admin, request.as_bytes())).await;
    let status = outcome.status().unwrap_or(0);
    let text = String::from_utf8_lossy(outcome.body()).into_owned();
    (status, text)
}

async fn edge(admin_extra: &str) -> (Origin, EdgeHandle) {
    let origin = Origin::ok("fine").await;
    let mut toml = edge_toml(origin.addr(), 300, 300, "access = \"off\"", "");
    toml = toml.replace("[admin]\n", &format!("[admin]\n{admin_extra}\n"));
    let edge = start(&toml).await;
    (origin, edge)
}

/// The rules in force, through a request with the API's own Host.
async fn faults(admin: SocketAddr) -> String {
    let host = format!("host: {admin}");
    let (status, body) = call(admin, "GET", "/faults", "", &[&host]).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_foreign_host_is_refused_on_every_endpoint() {
    let (_origin, edge) = edge("").await;
    let admin = admin_addr(&edge);
    for (method, path, body) in ENDPOINTS {
        for host in ["evil.example", "evil.example:8081", "attacker.test:80"] {
            let header = format!("host: {host}");
            let (status, text) = call(admin, method, path, body, &[&header]).await;
            assert_eq!(status, 403, "{method} {path} with Host {host}: {text}");
            assert!(text.contains("allowed_hosts"), "names the key: {text}");
            assert!(text.contains(host), "names the host: {text}");
        }
    }
    assert!(faults(admin).await.contains("[]"), "nothing was added");
}

#[tokio::test]
async fn a_page_on_another_origin_cannot_drive_or_read_it() {
    let (_origin, edge) = edge("").await;
    let admin = admin_addr(&edge);
    let host = format!("host: {admin}");
    for (method, path, body) in ENDPOINTS {
        for extra in [
            "origin: http://127.0.0.1:5173",
            "origin: null",
            "sec-fetch-site: cross-site",
            "sec-fetch-site: same-site",
        ] {
            let headers = [host.as_str(), extra, "content-type: text/plain"];
            let (status, text) = call(admin, method, path, body, &headers).await;
            assert_eq!(status, 403, "{method} {path} with {extra}: {text}");
            assert!(text.contains("allowed_origins"), "names the key: {text}");
        }
    }
    assert!(faults(admin).await.contains("[]"), "no rule was created");
    // The proxy is still enabled.
    let (status, text) = call(admin, "GET", "/proxies/edgecase", "", &[&host]).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"enabled\":true"), "{text}");
}

#[tokio::test]
async fn clients_without_an_origin_and_the_api_s_own_pages_are_served() {
    let (_origin, edge) = edge("").await;
    let admin = admin_addr(&edge);
    let port = admin.port();
    for host in [
        format!("host: {admin}"),
        format!("host: localhost:{port}"),
        "host: localhost".to_owned(),
        format!("host: [::1]:{port}"),
    ] {
        let (status, text) = call(admin, "GET", "/healthz", "", &[&host]).await;
        assert_eq!(status, 200, "{host}: {text}");
    }
    // curl -d: a form content type, no Origin.
    let host = format!("host: {admin}");
    let form = [
        host.as_str(),
        "content-type: application/x-www-form-urlencoded",
    ];
    let (status, text) = call(admin, "POST", "/faults", r#"{"status": 521}"#, &form).await;
    assert_eq!(status, 201, "{text}");
    // The Error Analytics page calling its own API.
    let own = format!("origin: http://{admin}");
    let headers = [host.as_str(), own.as_str(), "sec-fetch-site: same-origin"];
    let (status, text) = call(admin, "GET", "/analytics.json", "", &headers).await;
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn a_private_network_preflight_gets_no_allow_header() {
    let (_origin, edge) = edge("").await;
    let admin = admin_addr(&edge);
    let host = format!("host: {admin}");
    let request = format!(
        "OPTIONS /faults HTTP/1.1\r\n{host}\r\nconnection: close\r\n\
         origin: http://evil.example\r\naccess-control-request-method: POST\r\n\
         access-control-request-private-network: true\r\n\r\n"
    );
    let outcome = within(GUARD, raw_exchange(admin, request.as_bytes())).await;
    let head = String::from_utf8_lossy(outcome.head().unwrap_or_default()).to_ascii_lowercase();
    assert!(!head.contains("access-control-allow"), "{head}");
    assert_eq!(outcome.status(), Some(403), "{head}");
}

#[tokio::test]
async fn allowed_hosts_and_origins_let_named_ones_in() {
    let extra = "allowed_hosts = [\"edgecase.internal\"]\n\
                 allowed_origins = [\"http://dashboard.test:3000/\"]";
    let (_origin, edge) = edge(extra).await;
    let admin = admin_addr(&edge);
    let named = "host: edgecase.internal:8081";
    let (status, text) = call(admin, "GET", "/healthz", "", &[named]).await;
    assert_eq!(status, 200, "{text}");
    let headers = [
        named,
        "origin: http://dashboard.test:3000",
        "sec-fetch-site: cross-site",
    ];
    let (status, text) = call(admin, "GET", "/requests", "", &headers).await;
    assert_eq!(status, 200, "{text}");
    let (status, _) = call(admin, "GET", "/healthz", "", &["host: other.internal"]).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_bad_allowed_origin_is_a_config_error() {
    let origin = Origin::ok("fine").await;
    let toml = edge_toml(origin.addr(), 300, 300, "access = \"off\"", "").replace(
        "[admin]\n",
        "[admin]\nallowed_origins = [\"dashboard.test\"]\n",
    );
    let error = match edgecase::EdgeBuilder::from_toml(&toml) {
        Ok(_) => panic!("a host name without a scheme is not a web origin"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains("admin.allowed_origins"), "{error}");
}
