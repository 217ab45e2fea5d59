//! Automatic SSL/TLS, the default SSL mode, against real origins on loopback: a plain origin is
//! flexible, a self-signed TLS origin full, a certificate valid under `[origin] ca` full_strict,
//! and a certificate that breaks after being seen valid stays strict (526) however often the
//! origin is probed again. The chosen mode shows in `/requests`, in
//! `edgecase_origin_ssl_mode` and, when `[origin] sni` names the host, in the start-up line.
mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use edgecase::EdgeHandle;
use support::GUARD;
use support::binary::Running;
use support::faults::record_of;
use support::https::{HTTP_1_1, HttpsVisitor};
use support::observe::{scrape, start, toml_path};
use support::origins::Origin;
use support::pki::{TempDir, TestCa, self_signed};
use support::tls_origins::{TLS_ORIGIN_BODY, TlsOptions, TlsOrigin};
use support::visitor::{Response, get_with_host, within};

/// The Host visitors send, and the name in the origins' certificates.
const HOST: &str = "site.test";

/// An edge with an HTTPS listener (certificate for [`HOST`] from `edge_ca`) in front of
/// `origin.test:port`, no `ssl` key (so Automatic), plus `origin` lines in `[origin]`.
async fn edge(port: u16, edge_ca: &TestCa, files: &TempDir, origin: &str) -> EdgeHandle {
    let (cert, key) = edge_ca.issue(&[HOST]).write_to(files, "edge");
    start(&format!(
        "[edge]\nlisten = \"127.0.0.1:0\"\ntls_listen = \"127.0.0.1:0\"\n\
         tls_cert = {}\ntls_key = {}\nshutdown_grace = \"1s\"\n\
         [origin]\naddress = \"origin.test:{port}\"\nmax_idle = 0\n{origin}\n\
         [timeouts]\nconnect = \"2s\"\nack = \"2s\"\nwrite = \"2s\"\nread = \"2s\"\n\
         [dns]\nsystem = false\nhosts = {{ \"origin.test\" = \"127.0.0.1\" }}\n\
         [admin]\nlisten = \"127.0.0.1:0\"\n\
         [log]\naccess = \"off\"\n",
        toml_path(&cert),
        toml_path(&key)
    ))
    .await
}

/// `GET /` over HTTPS (HTTP/1.1) with Host [`HOST`], trusting `edge_ca`.
async fn https_get(edge: &EdgeHandle, edge_ca: &TestCa) -> Response {
    let addr = edge.https_addr().expect("the config sets tls_listen");
    let visitor = HttpsVisitor::new(edge_ca.cert_der(), HOST).alpn(&[HTTP_1_1]);
    within(GUARD, visitor.get(addr, "/")).await.response
}

/// `GET /` over plain HTTP with Host [`HOST`].
async fn http_get(edge: &EdgeHandle) -> Response {
    within(GUARD, get_with_host(edge.addr(), HOST, "/")).await
}

/// The `ssl` of the request that got `res`, as `GET /requests` has it.
async fn ssl_of(edge: &EdgeHandle, res: &Response) -> Option<String> {
    record_of(edge, res).await.ssl
}

/// `edgecase_origin_ssl_mode{origin="origin.test:port", mode}`.
async fn mode_metric(edge: &EdgeHandle, port: u16, mode: &str) -> Option<f64> {
    let origin = format!("origin.test:{port}");
    scrape(edge).await.value(
        "edgecase_origin_ssl_mode",
        &[("origin", &origin), ("mode", mode)],
    )
}

#[tokio::test]
async fn a_plain_origin_is_flexible_for_https_and_http_visitors() {
    let edge_ca = TestCa::new("Edge CA");
    let files = TempDir::new("automatic-plain");
    let origin = Origin::ok("plain origin").await;
    let port = origin.addr().port();
    let edge = edge(port, &edge_ca, &files, "").await;

    let before = http_get(&edge).await;
    assert_eq!(before.status(), 200, "{}", before.text());
    assert_eq!(before.text(), "plain origin");
    assert_eq!(
        ssl_of(&edge, &before).await.as_deref(),
        Some("automatic"),
        "an HTTP visitor never waits for a probe"
    );
    assert_eq!(mode_metric(&edge, port, "flexible").await, None);

    let secure = https_get(&edge, &edge_ca).await;
    assert_eq!(secure.status(), 200, "{}", secure.text());
    assert_eq!(secure.text(), "plain origin");
    assert_eq!(
        ssl_of(&edge, &secure).await.as_deref(),
        Some("automatic:flexible")
    );
    let after = http_get(&edge).await;
    assert_eq!(after.text(), "plain origin");
    assert_eq!(
        ssl_of(&edge, &after).await.as_deref(),
        Some("automatic:flexible")
    );
    assert_eq!(mode_metric(&edge, port, "flexible").await, Some(1.0));
    // The probe's ClientHello reached the plain port; every request went in plain, the
    // second as the HTTPS visitor's.
    let requests = origin.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1].header("x-forwarded-proto"), Some("https"));
}

#[tokio::test]
async fn a_self_signed_origin_is_full_and_sees_tls() {
    let edge_ca = TestCa::new("Edge CA");
    let files = TempDir::new("automatic-full");
    let origin = TlsOrigin::ok(&self_signed(&[HOST])).await;
    let edge = edge(origin.port(), &edge_ca, &files, "").await;

    let res = https_get(&edge, &edge_ca).await;

    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.text(), TLS_ORIGIN_BODY);
    assert_eq!(ssl_of(&edge, &res).await.as_deref(), Some("automatic:full"));
    assert_eq!(mode_metric(&edge, origin.port(), "full").await, Some(1.0));
    assert_eq!(
        origin.requests().len(),
        1,
        "the request itself went over TLS"
    );
    assert_eq!(origin.hello_snis().last(), Some(&Some(HOST.to_owned())));
}

#[tokio::test]
async fn a_certificate_valid_under_the_configured_ca_is_strict() {
    let edge_ca = TestCa::new("Edge CA");
    let origin_ca = TestCa::new("Origin CA");
    let files = TempDir::new("automatic-strict");
    let ca = files.write("origin-ca.pem", &origin_ca.cert_pem());
    let origin = TlsOrigin::ok(&origin_ca.issue(&[HOST])).await;
    let trust = format!("ca = {}\n", toml_path(&ca));
    let edge = edge(origin.port(), &edge_ca, &files, &trust).await;

    let res = https_get(&edge, &edge_ca).await;

    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.text(), TLS_ORIGIN_BODY);
    assert_eq!(
        ssl_of(&edge, &res).await.as_deref(),
        Some("automatic:full_strict")
    );
    assert_eq!(
        mode_metric(&edge, origin.port(), "full_strict").await,
        Some(1.0)
    );
    assert_eq!(mode_metric(&edge, origin.port(), "full").await, None);
}

#[tokio::test]
async fn a_certificate_broken_after_being_seen_valid_stays_strict_and_answers_526() {
    let edge_ca = TestCa::new("Edge CA");
    let origin_ca = TestCa::new("Origin CA");
    let files = TempDir::new("automatic-broken");
    let ca = files.write("origin-ca.pem", &origin_ca.cert_pem());
    let valid = TlsOrigin::ok(&origin_ca.issue(&[HOST])).await;
    let broken = TlsOrigin::ok(&self_signed(&[HOST])).await;
    let switch = Switch::to(valid.addr()).await;
    let origin = format!("ca = {}\nssl_probe_interval = \"50ms\"\n", toml_path(&ca));
    let edge = edge(switch.port(), &edge_ca, &files, &origin).await;

    let first = https_get(&edge, &edge_ca).await;
    assert_eq!(first.status(), 200, "{}", first.text());
    assert_eq!(
        ssl_of(&edge, &first).await.as_deref(),
        Some("automatic:full_strict")
    );

    switch.send_to(broken.addr());
    // Two periodic probes reach the broken origin: each fails validation and completes an
    // unvalidated handshake, which would mean full.
    broken.handshakes_seen(2).await;
    let after = https_get(&edge, &edge_ca).await;

    assert_eq!(after.status(), 526, "{}", after.text());
    assert!(after.text().contains("Invalid SSL certificate"));
    assert_eq!(
        ssl_of(&edge, &after).await.as_deref(),
        Some("automatic:full_strict")
    );
    assert_eq!(
        mode_metric(&edge, switch.port(), "full_strict").await,
        Some(1.0)
    );
    assert_eq!(mode_metric(&edge, switch.port(), "full").await, None);
}

#[tokio::test]
async fn with_sni_set_the_start_up_line_names_the_mode_chosen() {
    let origin_ca = TestCa::new("Origin CA");
    let files = TempDir::new("automatic-start");
    let ca = files.write("origin-ca.pem", &origin_ca.cert_pem());
    let origin = TlsOrigin::ok(&origin_ca.issue(&[HOST])).await;
    let config = files.write(
        "edgecase.toml",
        &format!(
            "[edge]\nlisten = \"127.0.0.1:0\"\n\
             [origin]\naddress = \"origin.test:{}\"\nsni = \"{HOST}\"\nca = {}\n\
             [dns]\nsystem = false\nhosts = {{ \"origin.test\" = \"127.0.0.1\" }}\n\
             [admin]\nenabled = false\n",
            origin.port(),
            toml_path(&ca)
        ),
    );
    let config = config.to_str().expect("temp paths are UTF-8");
    let mut edgecase = Running::spawn(&["--config", config]);

    let line = edgecase.stderr_line_containing("listening on").await;

    assert!(
        line.contains("ssl=automatic:full_strict"),
        "start-up line: {line}"
    );
    origin.handshakes_seen(1).await;
    assert_eq!(origin.requests().len(), 0, "a probe sends no request");
}

#[tokio::test]
async fn an_unreachable_origin_is_flexible_until_a_probe_reaches_it() {
    let edge_ca = TestCa::new("Edge CA");
    let files = TempDir::new("automatic-unreachable");
    // A port nothing listens on, kept to be bound later.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.local_addr().expect("a bound address").port()
    };
    let interval = "ssl_probe_interval = \"50ms\"\n";
    let edge = edge(port, &edge_ca, &files, interval).await;

    let refused = https_get(&edge, &edge_ca).await;
    assert_eq!(refused.status(), 521, "{}", refused.text());
    assert_eq!(
        ssl_of(&edge, &refused).await.as_deref(),
        Some("automatic:flexible")
    );

    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the port is still free");
    let origin = TlsOrigin::on(listener, &self_signed(&[HOST]), TlsOptions::default());
    // A periodic probe reaches it.
    origin.handshakes_seen(1).await;
    let reached = within(GUARD, async {
        loop {
            let res = https_get(&edge, &edge_ca).await;
            if ssl_of(&edge, &res).await.as_deref() == Some("automatic:full") {
                return res;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(reached.status(), 200, "{}", reached.text());
    assert_eq!(reached.text(), TLS_ORIGIN_BODY);
}

#[tokio::test]
async fn a_reload_starts_automatic_over() {
    let edge_ca = TestCa::new("Edge CA");
    let origin_ca = TestCa::new("Origin CA");
    let files = TempDir::new("automatic-reload");
    let ca = files.write("origin-ca.pem", &origin_ca.cert_pem());
    let valid = TlsOrigin::ok(&origin_ca.issue(&[HOST])).await;
    let broken = TlsOrigin::ok(&self_signed(&[HOST])).await;
    let switch = Switch::to(valid.addr()).await;
    let (cert, key) = edge_ca.issue(&[HOST]).write_to(&files, "edge");
    let config = files.write(
        "edgecase.toml",
        &format!(
            "[edge]\nlisten = \"127.0.0.1:0\"\ntls_listen = \"127.0.0.1:0\"\n\
             tls_cert = {}\ntls_key = {}\n\
             [origin]\naddress = \"origin.test:{}\"\nca = {}\nmax_idle = 0\n\
             [dns]\nsystem = false\nhosts = {{ \"origin.test\" = \"127.0.0.1\" }}\n\
             [admin]\nenabled = false\n[log]\naccess = \"off\"\n",
            toml_path(&cert),
            toml_path(&key),
            switch.port(),
            toml_path(&ca)
        ),
    );
    let mut edgecase = Running::spawn(&["--config", config.to_str().expect("UTF-8 path")]);
    let line = edgecase.stderr_line_containing("listening on").await;
    let https = line
        .split("https://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|addr| addr.parse::<SocketAddr>().ok())
        .unwrap_or_else(|| panic!("no https:// address in: {line}"));
    let get = || async {
        let visitor = HttpsVisitor::new(edge_ca.cert_der(), HOST).alpn(&[HTTP_1_1]);
        within(GUARD, visitor.get(https, "/")).await.response
    };

    assert_eq!(get().await.status(), 200);
    switch.send_to(broken.addr());
    assert_eq!(get().await.status(), 526, "strict once seen valid");
    edgecase.signal(libc::SIGHUP);
    // The reload probes the origin again from scratch: now full.
    let after = within(GUARD, async {
        loop {
            let res = get().await;
            if res.status() != 526 {
                return res;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(after.status(), 200, "{}", after.text());
    assert_eq!(after.text(), TLS_ORIGIN_BODY);
}

/// A TCP forwarder on 127.0.0.1 whose backend can be changed: each new connection goes to
/// the backend of the moment, so one origin address can change its certificate.
struct Switch {
    port: u16,
    backend: Arc<AtomicU16>,
    task: JoinHandle<()>,
}

impl Switch {
    async fn to(backend: SocketAddr) -> Switch {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("a bound address").port();
        let to = Arc::new(AtomicU16::new(backend.port()));
        let chosen = to.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut visitor, _)) = listener.accept().await {
                let port = chosen.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(mut origin) = TcpStream::connect(("127.0.0.1", port)).await {
                        let _ = tokio::io::copy_bidirectional(&mut visitor, &mut origin).await;
                    }
                });
            }
        });
        Switch {
            port,
            backend: to,
            task,
        }
    }

    fn port(&self) -> u16 {
        self.port
    }

    fn send_to(&self, backend: SocketAddr) {
        self.backend.store(backend.port(), Ordering::SeqCst);
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
