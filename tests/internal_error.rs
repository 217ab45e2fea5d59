//! edgecase's own failure: when the edge cannot open a socket to the origin (out of file
//! descriptors), the visitor gets Cloudflare's branded 500 "Internal server error" page with the
//! Cloudflare hop marked Error, and the edge serves normally again once descriptors are back.
//!
//! Its own test binary with a single test, because it lowers the process-wide `RLIMIT_NOFILE`.
//! It runs on the default current-thread runtime, so the edge, the origin and the visitor all
//! run on the test's thread and nothing else opens descriptors while the limit is low.
#![cfg(target_os = "linux")]
mod support;

use std::os::fd::AsRawFd;

use bytes::Bytes;
use http::Request;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use support::origins::Origin;
use support::visitor::{get, read_body, within};
use support::{GUARD, assert_error_page, spawn_edge, test_config};

/// The Host the visitor asks for.
const HOST: &str = "internal.test";

/// Lowers the soft `RLIMIT_NOFILE` while it lives; restores the previous limit when dropped,
/// also when the test panics.
struct LoweredFdLimit {
    previous: libc::rlimit,
}

impl LoweredFdLimit {
    /// Sets the soft limit to `soft`, keeping the hard limit.
    fn to(soft: libc::rlim_t) -> std::io::Result<LoweredFdLimit> {
        let mut previous = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `previous` is a valid, writable rlimit.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut previous) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let lowered = libc::rlimit {
            rlim_cur: soft,
            rlim_max: previous.rlim_max,
        };
        // SAFETY: `lowered` is a valid rlimit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(LoweredFdLimit { previous })
    }
}

impl Drop for LoweredFdLimit {
    fn drop(&mut self) {
        // SAFETY: `previous` is the valid rlimit read before lowering it.
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &self.previous) };
        assert_eq!(
            rc,
            0,
            "restore RLIMIT_NOFILE: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// The lowest descriptor number not in use: the next socket would get it.
fn lowest_free_fd(open: &impl AsRawFd) -> libc::c_int {
    // SAFETY: duplicating a live descriptor; F_DUPFD returns the lowest free number >= 0.
    let fd = unsafe { libc::fcntl(open.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    assert!(fd >= 0, "dup: {}", std::io::Error::last_os_error());
    // SAFETY: `fd` was just opened here and is owned by nothing else.
    unsafe { libc::close(fd) };
    fd
}

/// `GET path` with `Host: internal.test`.
fn request(path: &str) -> Request<Empty<Bytes>> {
    Request::get(path)
        .header("host", HOST)
        .body(Empty::new())
        .expect("a valid request")
}

/// The opening tag of the element with `id`.
fn opening_tag<'a>(page: &'a str, id: &str) -> &'a str {
    let at = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element {id}"));
    let start = page[..at].rfind('<').expect("the id sits in a tag");
    let end = at + page[at..].find('>').expect("the tag closes");
    &page[start..=end]
}

#[tokio::test]
async fn edge_out_of_file_descriptors_answers_500_with_the_cloudflare_hop_in_error() {
    let origin = Origin::ok("hello").await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    // One keep-alive visitor connection, opened while descriptors are plentiful.
    let stream = within(GUARD, TcpStream::connect(edge.addr()))
        .await
        .expect("connect to the edge");
    let (mut sender, connection) = within(
        GUARD,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .expect("an HTTP/1.1 handshake");
    let visitor_connection = tokio::spawn(connection);

    // The edge answers the trace itself: it has accepted the connection, and opened nothing
    // towards the origin.
    let trace = within(GUARD, sender.send_request(request("/cdn-cgi/trace")))
        .await
        .expect("a trace response");
    assert_eq!(trace.status(), 200);
    let (_, error) = within(GUARD, read_body(trace.into_body())).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(origin.connections(), 0);

    // Any open descriptor will do to ask for the lowest free number; kept open to the end so
    // the number it holds stays taken.
    let probe = std::fs::File::open("/dev/null").expect("open /dev/null");
    let lowest = lowest_free_fd(&probe);
    let limit = match LoweredFdLimit::to(lowest as libc::rlim_t) {
        Ok(limit) => limit,
        Err(error) => {
            println!("skipped: cannot lower RLIMIT_NOFILE to {lowest}: {error}");
            return;
        }
    };

    let failed = within(GUARD, sender.send_request(request("/")))
        .await
        .expect("a response head on the open connection");
    let (parts, body) = failed.into_parts();
    let (body, error) = within(GUARD, read_body(body)).await;
    drop(limit);

    assert!(error.is_none(), "{error:?}");
    let res = support::visitor::Response {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body,
        body_error: None,
        elapsed: Default::default(),
    };
    assert_error_page(&res, 500);
    let page = res.text();
    assert!(
        page.contains(&format!(
            "<title>{HOST} | 500: Internal server error</title>"
        )),
        "{page}"
    );
    assert!(page.contains("Error code 500"));
    assert_eq!(page.matches("cf-error-source").count(), 1);
    assert!(
        opening_tag(&page, "cf-cloudflare-status").contains("cf-error-source"),
        "the Cloudflare hop is the one in error"
    );
    assert!(!opening_tag(&page, "cf-host-status").contains("cf-error-source"));
    assert!(!opening_tag(&page, "cf-browser-status").contains("cf-error-source"));
    assert_eq!(origin.connections(), 0, "a socket to the origin was opened");
    assert!(origin.requests().is_empty());

    // Descriptors are back: a new visitor connection and a new origin connection both work.
    let res = within(GUARD, get(edge.addr(), "/")).await;
    assert_eq!(res.status(), 200, "body: {}", res.text());
    assert_eq!(res.text(), "hello");
    assert_eq!(origin.connections(), 1);

    drop(sender);
    let _ = within(GUARD, visitor_connection).await;
    drop(probe);
}
