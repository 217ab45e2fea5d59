//! Shared by the integration tests: the real edge started in-process on 127.0.0.1:0
//! ([`spawn_edge`]), scripted misbehaving origins ([`origins`]) and visitor-side helpers
//! ([`visitor`]).
#![allow(dead_code)]

pub mod binary;
pub mod chromium;
pub mod diagnose;
pub mod faults;
pub mod har;
pub mod https;
pub mod log;
pub mod observe;
pub mod origins;
pub mod pki;
pub mod raw;
pub mod tls_origins;
pub mod visitor;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use edgecase::config::Config;
use edgecase::edge::Listeners;

/// Test timeouts: tens of milliseconds where a test waits for them on purpose, a couple of
/// seconds where a test expects them never to fire.
pub const CONNECT_MS: u64 = 2_000;
/// See [`CONNECT_MS`].
pub const ACK_MS: u64 = 2_000;
/// See [`CONNECT_MS`].
pub const WRITE_MS: u64 = 2_000;
/// See [`CONNECT_MS`].
pub const READ_MS: u64 = 2_000;

/// Guard for awaits that should complete quickly.
pub const GUARD: Duration = Duration::from_secs(10);

/// The keys of a `/cdn-cgi/trace` body, in Cloudflare's order (REFERENCE.md §5).
pub const TRACE_KEYS: [&str; 16] = [
    "fl",
    "h",
    "ip",
    "ts",
    "visit_scheme",
    "uag",
    "colo",
    "sliver",
    "http",
    "loc",
    "tls",
    "sni",
    "warp",
    "gateway",
    "rbi",
    "kex",
];

/// Milliseconds as a Duration.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A hermetic config forwarding to `origin`: static DNS only, test timeouts.
pub fn test_config(origin: SocketAddr) -> Config {
    test_config_with(origin, "")
}

/// The hermetic [`test_config`] with `extra` TOML appended (e.g. a `[limits]` table).
pub fn test_config_with(origin: SocketAddr, extra: &str) -> Config {
    let text = format!(
        "[edge]\nlisten = \"127.0.0.1:0\"\nshutdown_grace = \"2s\"\n\
         [origin]\naddress = \"{origin}\"\n{}{extra}",
        hermetic_tables()
    );
    Config::from_toml_str(&text).unwrap_or_else(|e| panic!("the test config is valid: {e}\n{text}"))
}

/// A hermetic config serving HTTPS too (for [`spawn_edge_tls`]) with the certificate and key
/// at `cert` and `key`, forwarding to `origin` in SSL mode `ssl`; static DNS, test timeouts.
pub fn tls_test_config(origin: SocketAddr, cert: &Path, key: &Path, ssl: &str) -> Config {
    tls_test_config_with(origin, cert, key, ssl, "")
}

/// The hermetic [`tls_test_config`] with `extra` TOML appended (e.g. a `[limits]` table).
pub fn tls_test_config_with(
    origin: SocketAddr,
    cert: &Path,
    key: &Path,
    ssl: &str,
    extra: &str,
) -> Config {
    let text = format!(
        "[edge]\nlisten = \"127.0.0.1:0\"\ntls_listen = \"127.0.0.1:0\"\n\
         tls_cert = \"{}\"\ntls_key = \"{}\"\nshutdown_grace = \"2s\"\n\
         [origin]\naddress = \"{origin}\"\nssl = \"{ssl}\"\n{}{extra}",
        cert.display(),
        key.display(),
        hermetic_tables()
    );
    Config::from_toml_str(&text)
        .unwrap_or_else(|e| panic!("the TLS test config is valid: {e}\n{text}"))
}

/// The tables every hermetic test config ends with: the test timeouts, no system DNS, no
/// access log.
fn hermetic_tables() -> String {
    format!(
        "[timeouts]\nconnect = \"{CONNECT_MS}ms\"\nack = \"{ACK_MS}ms\"\n\
         write = \"{WRITE_MS}ms\"\nread = \"{READ_MS}ms\"\n\
         [dns]\nsystem = false\n\
         [log]\naccess = \"off\"\n"
    )
}

/// The edge running in-process; shut down (gracefully) when dropped or by [`Edge::shutdown`].
pub struct Edge {
    addr: SocketAddr,
    https: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl Edge {
    /// Where visitors connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where visitors connect over HTTPS (only for an edge from [`spawn_edge_tls`]).
    #[track_caller]
    pub fn https_addr(&self) -> SocketAddr {
        self.https
            .expect("the edge was started with spawn_edge_tls")
    }

    /// Signals shutdown and waits for `serve` to return.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("shutdown runs once");
        task.await.expect("serve did not panic")
    }

    /// Signals shutdown without waiting; returns the join handle.
    pub fn begin_shutdown(mut self) -> JoinHandle<io::Result<()>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.take().expect("shutdown runs once")
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Binds 127.0.0.1:0 and serves `config` there. The listener is bound before this returns,
/// so visitors can connect at once.
pub async fn spawn_edge(config: Config) -> Edge {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the edge on loopback");
    spawn_edge_on(listener, config)
}

/// Binds 127.0.0.1:0 twice, for HTTP and HTTPS, and serves `config` there (its `edge.tls_*`
/// keys must be set; the listen addresses it names are not used).
pub async fn spawn_edge_tls(config: Config) -> Edge {
    let (http, _) = bind_loopback().await;
    let (https, _) = bind_loopback().await;
    serve_on(
        Listeners {
            http,
            https: Some(https),
            admin: None,
            closed: None,
        },
        config,
    )
}

/// Serves `config` on an already-bound listener.
pub fn spawn_edge_on(listener: TcpListener, config: Config) -> Edge {
    serve_on(listener.into(), config)
}

fn serve_on(listeners: Listeners, mut config: Config) -> Edge {
    // Access lines on stdout would only clutter the test output; tests that read them capture
    // tracing (`log::CapturedLog`) or set a file.
    if matches!(config.log.access, edgecase::config::Access::Stdout) {
        config.log.access = edgecase::config::Access::Off;
    }
    let addr = listeners
        .http
        .local_addr()
        .expect("bound listener has an address");
    let https = listeners.https.as_ref().map(|listener| {
        listener
            .local_addr()
            .expect("bound listener has an address")
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(edgecase::edge::serve(listeners, config, async move {
        let _ = stopped.await;
    }));
    Edge {
        addr,
        https,
        stop: Some(stop),
        task: Some(task),
    }
}

/// Asserts the response is an edge-made error page for `status`, with a well-formed ray ID
/// that appears (hex part) in the page footer. Returns the ray ID.
#[track_caller]
pub fn assert_error_page(response: &visitor::Response, status: u16) -> String {
    assert_eq!(
        response.status().as_u16(),
        status,
        "body: {}",
        response.text()
    );
    let ray = response.header("cf-ray").expect("cf-ray header").to_owned();
    assert_ray_format(&ray);
    assert_eq!(response.header("server"), Some("cloudflare"));
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=UTF-8")
    );
    assert!(
        response
            .header("cache-control")
            .is_some_and(|v| v.contains("no-store")),
        "error pages are not cacheable"
    );
    let hex = &ray[..16];
    assert!(
        response.text().contains(hex),
        "the page footer shows the ray ID {hex}"
    );
    ray
}

/// The markup of the error page's diagram box with `id`, from its opening tag to its state
/// label.
#[track_caller]
pub fn hop_box<'p>(page: &'p str, id: &str) -> &'p str {
    let at = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no box {id} in the page"));
    let start = page[..at].rfind('<').expect("the id sits in a tag");
    let state = at
        + page[at..]
            .find("cf-hop-state")
            .expect("the hop has a state");
    let end = state + page[state..].find("</span>").expect("the state closes");
    &page[start..end]
}

/// Asserts the branded page marks the Host hop, alone, as failing and the other two working.
#[track_caller]
pub fn assert_host_hop_failed(page: &str) {
    assert_eq!(
        page.matches("cf-error-source").count(),
        1,
        "exactly one hop is marked as the error source"
    );
    let host = hop_box(page, "cf-host-status");
    assert!(host.contains("cf-error-source"), "host box: {host}");
    assert!(host.contains(">Error"), "host box: {host}");
    for working in ["cf-browser-status", "cf-cloudflare-status"] {
        let hop = hop_box(page, working);
        assert!(!hop.contains("cf-error-source"), "{working}: {hop}");
        assert!(hop.contains(">Working"), "{working}: {hop}");
    }
}

/// Asserts `res` is the branded page for `status` titled `title` for `host`, with the Host hop
/// failing and the ray's hex in the footer. Returns the ray ID.
#[track_caller]
pub fn assert_branded_host_error(
    res: &visitor::Response,
    host: &str,
    status: u16,
    title: &str,
) -> String {
    let ray = assert_error_page(res, status);
    let page = res.text();
    assert!(
        page.contains(&format!("<title>{host} | {status}: {title}</title>")),
        "title of the {status} page: {page}"
    );
    assert!(page.contains(&format!("Error code {status}")));
    assert!(page.contains(&format!(
        "Cloudflare Ray ID: <strong class=\"font-semibold\">{}</strong>",
        &ray[..16]
    )));
    assert_host_hop_failed(&page);
    ray
}

/// A listener on 127.0.0.1:0 for an origin written in a test, and its address.
pub async fn bind_loopback() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    (listener, addr)
}

/// Asserts `ray` is `<16 lowercase hex>-<3 uppercase letters>`.
#[track_caller]
pub fn assert_ray_format(ray: &str) {
    let (hex, colo) = ray.split_once('-').expect("ray has a dash");
    assert_eq!(hex.len(), 16, "{ray}");
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{ray}"
    );
    assert_eq!(colo.len(), 3, "{ray}");
    assert!(colo.bytes().all(|b| b.is_ascii_uppercase()), "{ray}");
}

/// Asserts `elapsed` is within `[expected, expected + slack]`.
#[track_caller]
pub fn assert_took(elapsed: Duration, expected: Duration, slack: Duration) {
    assert!(
        elapsed >= expected && elapsed <= expected + slack,
        "took {elapsed:?}, expected {expected:?} (+{slack:?})"
    );
}
