//! `edgecase demo`: edgecase in front of a built-in origin with one route per failure class,
//! timeouts shortened to seconds, and a table of URLs to try. A newcomer sees every error in a
//! minute.
//!
//! When the process may create a network namespace (root on Linux), the edge's origin side
//! runs in a private one whose only interface is its own loopback: that is what makes a real
//! 523 possible, and it guarantees the demo's traffic never leaves the machine.

pub mod netns;
pub mod origin;

use std::fmt::Write;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::edge::Listeners;
use crate::tls::pem;
use crate::tls::self_signed::{self, SelfSigned};

/// The demo's timeouts: short enough to see every class quickly, in the classic order.
const DEMO_TIMEOUTS: &str = r#"connect = "3s"
ack = "5s"
write = "5s"
read = "4s""#;

/// An address inside the private namespace with no route to it (TEST-NET-1, RFC 5737). Only
/// used when the namespace was created: there, no interface but `lo` exists.
const UNROUTABLE_IN_NAMESPACE: &str = "192.0.2.1:80";

/// A name no resolver answers: `.invalid` is reserved (RFC 2606), and the demo's DNS is static.
const UNRESOLVABLE: &str = "origin.invalid:80";

/// One line of the demo's table.
#[derive(Clone, Copy)]
pub struct DemoRoute {
    /// Whether the line is about HTTPS (shown with the HTTPS address).
    pub https: bool,
    /// The path to request.
    pub path: &'static str,
    /// What the visitor gets.
    pub expect: &'static str,
    /// What the origin does to cause it.
    pub why: &'static str,
}

/// The table's plain-HTTP lines before the 523: the healthy origin, then 520 to 522.
const HTTP_BEFORE_523: &[DemoRoute] = &[
    DemoRoute {
        https: false,
        path: "/",
        expect: "200 (origin's answer)",
        why: "a healthy origin: passed through with server: cloudflare, cf-ray, cf-cache-status",
    },
    DemoRoute {
        https: false,
        path: "/520/empty",
        expect: "520",
        why: "origin closes the connection without a byte",
    },
    DemoRoute {
        https: false,
        path: "/520/reset",
        expect: "520",
        why: "origin resets the connection (RST) after reading the request",
    },
    DemoRoute {
        https: false,
        path: "/520/garbage",
        expect: "520",
        why: "origin answers bytes that are not HTTP",
    },
    DemoRoute {
        https: false,
        path: "/520/headers",
        expect: "520",
        why: "origin's response headers exceed 16 KB",
    },
    DemoRoute {
        https: false,
        path: "/521/",
        expect: "521",
        why: "origin port refuses the TCP connection",
    },
    DemoRoute {
        https: false,
        path: "/522/",
        expect: "522 after 3 s",
        why: "origin never answers the SYN (accept queue full)",
    },
];

/// The 523 line, shown only when the demo has its private network namespace.
const ROUTE_523: DemoRoute = DemoRoute {
    https: false,
    path: "/523/",
    expect: "523",
    why: "no route to the origin's address (private network namespace)",
};

/// The plain-HTTP lines after the 523: 524 and 530, the origin's own 5xx, a stalled body, the
/// trace.
const HTTP_AFTER_523: &[DemoRoute] = &[
    DemoRoute {
        https: false,
        path: "/524",
        expect: "524 after 4 s",
        why: "origin takes the request and never answers",
    },
    DemoRoute {
        https: false,
        path: "/530/",
        expect: "530 (error 1016)",
        why: "origin's host name does not resolve",
    },
    DemoRoute {
        https: false,
        path: "/502",
        expect: "502 (Cloudflare's page)",
        why: "origin answers 502: Cloudflare shows its own branded page",
    },
    DemoRoute {
        https: false,
        path: "/504",
        expect: "504 (Cloudflare's page)",
        why: "origin answers 504: Cloudflare shows its own branded page",
    },
    DemoRoute {
        https: false,
        path: "/503",
        expect: "503 (origin's answer)",
        why: "origin answers 503: passed through as it is",
    },
    DemoRoute {
        https: false,
        path: "/slow-body",
        expect: "200, then aborted after 4 s",
        why: "origin stalls mid-body: the response breaks off, never ends cleanly",
    },
    DemoRoute {
        https: false,
        path: "/cdn-cgi/trace",
        expect: "200 (trace)",
        why: "answered by the edge itself, never forwarded",
    },
];

/// The HTTPS lines: the SSL modes' answers and the trace of a TLS connection.
const HTTPS_ROUTES: &[DemoRoute] = &[
    DemoRoute {
        https: true,
        path: "/tls/",
        expect: "200 (origin's answer)",
        why: "SSL mode full: TLS to the origin, its self-signed certificate accepted",
    },
    DemoRoute {
        https: true,
        path: "/525/",
        expect: "525 (cause no_tls)",
        why: "SSL mode strict: the origin's port speaks plain HTTP, not TLS",
    },
    DemoRoute {
        https: true,
        path: "/526/",
        expect: "526 (cause self_signed)",
        why: "SSL mode strict: the origin's certificate is self-signed",
    },
    DemoRoute {
        https: true,
        path: "/cdn-cgi/trace",
        expect: "200 (trace)",
        why: "tls, sni, http and kex of your own TLS connection",
    },
];

/// The routes the demo serves, in the order the table shows them.
pub fn routes(with_523: bool) -> Vec<DemoRoute> {
    let mut routes = HTTP_BEFORE_523.to_vec();
    if with_523 {
        routes.push(ROUTE_523);
    }
    routes.extend_from_slice(HTTP_AFTER_523);
    routes.extend_from_slice(HTTPS_ROUTES);
    routes
}

/// Where the demo's HTTPS certificate and key are written.
pub struct DemoCert {
    /// The certificate (give it to `curl --cacert`).
    pub cert: PathBuf,
    /// Its key.
    pub key: PathBuf,
}

/// Writes a fresh self-signed certificate for `localhost`, `127.0.0.1` and `ip` into `dir`.
pub fn write_cert(dir: &Path, ip: std::net::IpAddr) -> io::Result<DemoCert> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    if !ip.is_loopback() {
        names.push(ip.to_string());
    }
    let SelfSigned { cert_pem, key_pem } =
        self_signed::generate(&names).map_err(io::Error::other)?;
    std::fs::create_dir_all(dir)?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, cert_pem)?;
    write_private(&key, &key_pem)?;
    Ok(DemoCert { cert, key })
}

/// Writes a private key readable by its owner only (where the platform allows it).
pub fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    io::Write::write_all(&mut options.open(path)?, contents.as_bytes())
}

/// The demo's addresses: where visitors connect and where each origin listens.
pub struct DemoAddresses {
    /// Plain HTTP for visitors.
    pub listen: SocketAddr,
    /// HTTPS for visitors.
    pub tls_listen: SocketAddr,
    /// The path-driven plain-HTTP origin.
    pub origin: SocketAddr,
    /// The TLS origin with a self-signed certificate.
    pub tls_origin: SocketAddr,
    /// A port that refuses connections.
    pub refusing: SocketAddr,
    /// A port whose SYNs go unanswered.
    pub blackhole: SocketAddr,
}

/// The demo's config: the addresses, the HTTPS certificate, demo timeouts.
pub fn config(
    at: &DemoAddresses,
    cert: &DemoCert,
    with_523: bool,
) -> Result<Config, crate::config::ConfigError> {
    let DemoAddresses {
        listen,
        tls_listen,
        origin,
        tls_origin,
        refusing,
        blackhole,
    } = at;
    let tls_port = tls_origin.port();
    let mut toml = format!(
        "[edge]\nlisten = \"{listen}\"\ntls_listen = \"{tls_listen}\"\n\
         tls_cert = {:?}\ntls_key = {:?}\ncolo = \"CDG\"\nshutdown_grace = \"1s\"\n\n\
         [origin]\naddress = \"{origin}\"\nssl = \"flexible\"\n\n[timeouts]\n{DEMO_TIMEOUTS}\n\n\
         [dns]\nsystem = false\n\n\
         [[route]]\npath_prefix = \"/521/\"\norigin = \"{refusing}\"\n\n\
         [[route]]\npath_prefix = \"/522/\"\norigin = \"{blackhole}\"\n\n\
         [[route]]\npath_prefix = \"/530/\"\norigin = \"{UNRESOLVABLE}\"\n\n\
         [[route]]\npath_prefix = \"/tls/\"\nssl = \"full\"\ntls_port = {tls_port}\n\n\
         [[route]]\npath_prefix = \"/525/\"\nssl = \"strict\"\n\n\
         [[route]]\npath_prefix = \"/526/\"\nssl = \"strict\"\norigin = \"{tls_origin}\"\n",
        cert.cert.display().to_string(),
        cert.key.display().to_string(),
    );
    if with_523 {
        let _ = write!(
            toml,
            "\n[[route]]\npath_prefix = \"/523/\"\norigin = \"{UNROUTABLE_IN_NAMESPACE}\"\n"
        );
    }
    Config::from_toml_str(&toml)
}

/// The table printed at start; `admin` is the control API's address, or why it could not be
/// bound.
pub fn table(
    base: SocketAddr,
    tls_base: SocketAddr,
    admin: Result<SocketAddr, &io::Error>,
    cert: &Path,
    routes: &[DemoRoute],
    isolation: &Result<(), io::Error>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "edgecase demo: a Cloudflare-like edge on http://{base}/ and https://{tls_base}/ in front \
         of a misbehaving origin.\n"
    );
    let url = |route: &DemoRoute| match route.https {
        true => format!("https://localhost:{}{}", tls_base.port(), route.path),
        false => format!("http://{base}{}", route.path),
    };
    let width = routes.iter().map(|r| url(r).len()).max().unwrap_or(0);
    let _ = writeln!(out, "{:<width$}  {:<28}  why", "try", "you get");
    for route in routes {
        let _ = writeln!(
            out,
            "{:<width$}  {:<28}  {}",
            url(route),
            route.expect,
            route.why
        );
    }
    if let Err(e) = isolation {
        let _ = writeln!(
            out,
            "\n523 is not shown: it needs a private network namespace (run as root on Linux): {e}"
        );
    }
    let _ = writeln!(
        out,
        "\nHTTPS uses a self-signed certificate; trust it with:\n  \
         curl -i --cacert {} https://localhost:{}/526/",
        cert.display(),
        tls_base.port()
    );
    match admin {
        Ok(admin) => {
            let _ = writeln!(out, "\nThe control API, on http://{admin}/:");
            let lines = [
                (
                    format!("curl -s http://{admin}/requests"),
                    "the last requests: status, cause, timings, by ray ID",
                ),
                (
                    format!("http://{admin}/analytics"),
                    "Error Analytics in a browser: errors over time, by URL",
                ),
                (
                    format!("curl -s http://{admin}/har -o demo.har"),
                    "the recent requests as a HAR file (credentials redacted)",
                ),
                (
                    format!(
                        "curl -s -X POST http://{admin}/faults -d '{{\"path_prefix\":\"/\",\"status\":522,\"count\":1}}'"
                    ),
                    "the next request, any path, gets a 522 on demand",
                ),
            ];
            let width = lines
                .iter()
                .map(|(try_it, _)| try_it.len())
                .max()
                .unwrap_or(0);
            for (try_it, what) in lines {
                let _ = writeln!(out, "  {try_it:<width$}  {what}");
            }
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "\nThe control API is off: {e} (choose another address with --admin)."
            );
        }
    }
    let _ = writeln!(
        out,
        "\nTry: curl -i http://{base}/522/   (Ctrl-C to stop; logs below)"
    );
    out
}

/// Where the demo listens on the machine.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    /// Visitors over HTTP.
    pub listen: SocketAddr,
    /// Visitors over HTTPS.
    pub tls_listen: SocketAddr,
    /// The control API (skipped when taken).
    pub admin: SocketAddr,
}

/// Runs the demo: binds the visitor ports and the control API in the current network
/// namespace, writes a self-signed certificate into `cert_dir`, then (if it can) moves the
/// edge's origin side into a private namespace, starts the origins and serves until Ctrl-C.
pub fn run(ports: Ports, cert_dir: &Path) -> io::Result<()> {
    let Ports {
        listen,
        tls_listen,
        admin,
    } = ports;
    let bind = |addr: SocketAddr, what: &str| {
        let listener = std::net::TcpListener::bind(addr).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot listen on {addr} ({what}): {e}"))
        })?;
        listener.set_nonblocking(true)?;
        Ok::<_, io::Error>(listener)
    };
    let visitors = bind(listen, "HTTP")?;
    let tls_visitors = bind(tls_listen, "HTTPS")?;
    // The control API on its usual port, when free (the demo works without it), bound here,
    // before the namespace, so it is reachable from the machine like the visitor ports.
    let admin = bind(admin, "control API");
    let cert = write_cert(cert_dir, listen.ip()).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot write the demo certificate into {}: {e}",
                cert_dir.display()
            ),
        )
    })?;
    let worker = std::thread::Builder::new()
        .name("edgecase-demo".into())
        .spawn(move || -> io::Result<()> {
            // Threads the runtime starts from here inherit the namespace.
            let isolation = netns::isolate_this_thread(netns::Loopback::Up);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(serve_demo(visitors, tls_visitors, admin, cert, isolation))
        })?;
    worker
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the demo thread panicked")))
}

async fn serve_demo(
    visitors: std::net::TcpListener,
    tls_visitors: std::net::TcpListener,
    admin: io::Result<std::net::TcpListener>,
    cert: DemoCert,
    isolation: io::Result<()>,
) -> io::Result<()> {
    let origin_listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let tls_origin_listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let (_refusing, refusing) = origin::refusing()?;
    let (_blackhole, blackhole) = origin::blackhole()?;
    let at = DemoAddresses {
        listen: visitors.local_addr()?,
        tls_listen: tls_visitors.local_addr()?,
        origin: origin_listener.local_addr()?,
        tls_origin: tls_origin_listener.local_addr()?,
        refusing,
        blackhole,
    };
    let with_523 = isolation.is_ok();
    let config =
        config(&at, &cert, with_523).map_err(|e| io::Error::other(format!("demo config: {e}")))?;
    tokio::spawn(origin::serve(origin_listener));
    tokio::spawn(origin::serve_tls(tls_origin_listener, tls_origin()?));
    // Installed before the table invites Ctrl-C, so an early Ctrl-C is a clean stop.
    let shutdown = crate::edge::shutdown_signal();
    let routes = routes(with_523);
    let admin = admin.and_then(|admin| admin.local_addr().map(|at| (admin, at)));
    let admin_at = admin.as_ref().map(|(_, at)| *at);
    print!(
        "{}",
        table(
            at.listen,
            at.tls_listen,
            admin_at,
            &cert.cert,
            &routes,
            &isolation
        )
    );
    let admin = admin
        .ok()
        .map(|(admin, _)| TcpListener::from_std(admin).map(crate::admin::port))
        .transpose()?;
    let listeners = Listeners {
        http: TcpListener::from_std(visitors)?,
        https: Some(TcpListener::from_std(tls_visitors)?),
        admin,
        closed: None,
    };
    crate::edge::serve(listeners, config, shutdown).await
}

/// The TLS origin's own certificate: self-signed for `localhost`, made in memory.
fn tls_origin() -> io::Result<TlsAcceptor> {
    let made = self_signed::generate(&["localhost".to_owned()]).map_err(io::Error::other)?;
    let chain = pem::certificates_from(made.cert_pem.as_bytes()).map_err(io::Error::other)?;
    let key = pem::private_key_from(made.key_pem.as_bytes()).map_err(io::Error::other)?;
    let config = crate::tls::visitor::server_config(chain, key).map_err(io::Error::other)?;
    Ok(TlsAcceptor::from(config))
}
