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

use tokio::net::TcpListener;

use crate::config::Config;

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
pub struct DemoRoute {
    /// The path to request.
    pub path: &'static str,
    /// What the visitor gets.
    pub expect: &'static str,
    /// What the origin does to cause it.
    pub why: &'static str,
}

/// The routes the demo serves, in the order the table shows them.
pub fn routes(with_523: bool) -> Vec<DemoRoute> {
    let mut routes = vec![
        DemoRoute {
            path: "/",
            expect: "200 (origin's answer)",
            why: "a healthy origin: passed through with server: cloudflare, cf-ray, cf-cache-status",
        },
        DemoRoute {
            path: "/520/empty",
            expect: "520",
            why: "origin closes the connection without a byte",
        },
        DemoRoute {
            path: "/520/reset",
            expect: "520",
            why: "origin resets the connection (RST) after reading the request",
        },
        DemoRoute {
            path: "/520/garbage",
            expect: "520",
            why: "origin answers bytes that are not HTTP",
        },
        DemoRoute {
            path: "/520/headers",
            expect: "520",
            why: "origin's response headers exceed 16 KB",
        },
        DemoRoute {
            path: "/521/",
            expect: "521",
            why: "origin port refuses the TCP connection",
        },
        DemoRoute {
            path: "/522/",
            expect: "522 after 3 s",
            why: "origin never answers the SYN (accept queue full)",
        },
    ];
    if with_523 {
        routes.push(DemoRoute {
            path: "/523/",
            expect: "523",
            why: "no route to the origin's address (private network namespace)",
        });
    }
    routes.extend([
        DemoRoute {
            path: "/524",
            expect: "524 after 4 s",
            why: "origin takes the request and never answers",
        },
        DemoRoute {
            path: "/530/",
            expect: "530 (error 1016)",
            why: "origin's host name does not resolve",
        },
        DemoRoute {
            path: "/502",
            expect: "502 (Cloudflare's page)",
            why: "origin answers 502: Cloudflare shows its own branded page",
        },
        DemoRoute {
            path: "/504",
            expect: "504 (Cloudflare's page)",
            why: "origin answers 504: Cloudflare shows its own branded page",
        },
        DemoRoute {
            path: "/503",
            expect: "503 (origin's answer)",
            why: "origin answers 503: passed through as it is",
        },
        DemoRoute {
            path: "/slow-body",
            expect: "200, then aborted after 4 s",
            why: "origin stalls mid-body: the response breaks off, never ends cleanly",
        },
        DemoRoute {
            path: "/cdn-cgi/trace",
            expect: "200 (trace)",
            why: "answered by the edge itself, never forwarded",
        },
    ]);
    routes
}

/// The demo's config: `listen` for visitors, the origins' addresses, demo timeouts.
pub fn config(
    listen: SocketAddr,
    origin: SocketAddr,
    refusing: SocketAddr,
    blackhole: SocketAddr,
    with_523: bool,
) -> Result<Config, crate::config::ConfigError> {
    let mut toml = format!(
        "[edge]\nlisten = \"{listen}\"\ncolo = \"CDG\"\nshutdown_grace = \"1s\"\n\n\
         [origin]\naddress = \"{origin}\"\n\n[timeouts]\n{DEMO_TIMEOUTS}\n\n\
         [dns]\nsystem = false\n\n\
         [[route]]\npath_prefix = \"/521/\"\norigin = \"{refusing}\"\n\n\
         [[route]]\npath_prefix = \"/522/\"\norigin = \"{blackhole}\"\n\n\
         [[route]]\npath_prefix = \"/530/\"\norigin = \"{UNRESOLVABLE}\"\n"
    );
    if with_523 {
        let _ = write!(
            toml,
            "\n[[route]]\npath_prefix = \"/523/\"\norigin = \"{UNROUTABLE_IN_NAMESPACE}\"\n"
        );
    }
    Config::from_toml_str(&toml)
}

/// The table printed at start.
pub fn table(base: SocketAddr, routes: &[DemoRoute], isolation: &Result<(), io::Error>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "edgecase demo: a Cloudflare-like edge on http://{base}/ in front of a misbehaving origin.\n"
    );
    let width =
        routes.iter().map(|r| r.path.len()).max().unwrap_or(0) + format!("http://{base}").len();
    let _ = writeln!(out, "{:<width$}  {:<28}  why", "try", "you get");
    for route in routes {
        let url = format!("http://{base}{}", route.path);
        let _ = writeln!(out, "{url:<width$}  {:<28}  {}", route.expect, route.why);
    }
    if let Err(e) = isolation {
        let _ = writeln!(
            out,
            "\n523 is not shown: it needs a private network namespace (run as root on Linux): {e}"
        );
    }
    let _ = writeln!(
        out,
        "\nTry: curl -i http://{base}/522/   (Ctrl-C to stop; logs below)"
    );
    out
}

/// Runs the demo: binds `listen` in the current network namespace, then (if it can) moves the
/// edge's origin side into a private one, starts the origins and serves until Ctrl-C.
pub fn run(listen: SocketAddr) -> io::Result<()> {
    let visitors = std::net::TcpListener::bind(listen)?;
    visitors.set_nonblocking(true)?;
    let base = visitors.local_addr()?;
    let worker = std::thread::Builder::new()
        .name("edgecase-demo".into())
        .spawn(move || -> io::Result<()> {
            // Threads the runtime starts from here inherit the namespace.
            let isolation = netns::isolate_this_thread(netns::Loopback::Up);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(serve_demo(visitors, base, isolation))
        })?;
    worker
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the demo thread panicked")))
}

async fn serve_demo(
    visitors: std::net::TcpListener,
    base: SocketAddr,
    isolation: io::Result<()>,
) -> io::Result<()> {
    let origin_listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let origin_addr = origin_listener.local_addr()?;
    let (_refusing, refusing_addr) = origin::refusing()?;
    let (_blackhole, blackhole_addr) = origin::blackhole()?;
    let with_523 = isolation.is_ok();
    let config = config(base, origin_addr, refusing_addr, blackhole_addr, with_523)
        .map_err(|e| io::Error::other(format!("demo config: {e}")))?;
    tokio::spawn(origin::serve(origin_listener));
    // Installed before the table invites Ctrl-C, so an early Ctrl-C is a clean stop.
    let shutdown = crate::edge::shutdown_signal();
    print!("{}", table(base, &routes(with_523), &isolation));
    let listener = TcpListener::from_std(visitors)?;
    crate::edge::serve(listener, config, shutdown).await
}
