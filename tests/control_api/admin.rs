//! Shared by `control_api.rs` and `toxiproxy_client.rs` (each includes it with `#[path]`; it is
//! not a test target itself): the `edgecase` binary started from a hermetic config with its
//! edge and control API on 127.0.0.1:0 ([`Edgecase`]), calls to the control API, and the JSON
//! checks on its answers.

#![allow(dead_code)]

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::Full;
use serde_json::Value;

use crate::support::GUARD;
use crate::support::binary::{Running, assert_exit_code, assert_no_panic, path_arg};
use crate::support::observe::json_body;
use crate::support::pki::TempDir;
use crate::support::visitor::{Response, get, send, within};

/// `timeouts.connect` and `timeouts.read` of every edgecase started here, in ms: the default
/// delay of an emulated 522 / 524 and the deadline a `latency` toxic runs into.
pub const TIMEOUT_MS: u64 = 300;

/// The marker of the admin listener's start-up line; its address follows.
pub const CONTROL_ON: &str = "control API on http://";

/// The marker of the edge's start-up line; its address follows.
pub const EDGE_ON: &str = "listening on http://";

/// A running `edgecase` with its edge (visitor) and admin addresses.
pub struct Edgecase {
    pub running: Running,
    pub edge: SocketAddr,
    pub admin: SocketAddr,
    _dir: TempDir,
}

/// The hermetic config every test starts from: `admin` is appended inside `[admin]` (e.g. a
/// token), `rest` after it (e.g. `[[fault]]` tables).
pub fn config(origin: SocketAddr, admin: &str, rest: &str) -> String {
    format!(
        "[edge]\nlisten = \"127.0.0.1:0\"\nshutdown_grace = \"0s\"\n\
         [origin]\naddress = \"{origin}\"\n\
         [timeouts]\nconnect = \"{TIMEOUT_MS}ms\"\nread = \"{TIMEOUT_MS}ms\"\n\
         ack = \"2s\"\nwrite = \"2s\"\n\
         [dns]\nsystem = false\n\
         [admin]\nlisten = \"127.0.0.1:0\"\n{admin}\n{rest}\n"
    )
}

/// Reads `running`'s stderr until both start-up lines have shown (in either order, or both in
/// one line) and returns the edge's and the control API's addresses from them.
pub async fn edge_and_control_addrs(running: &mut Running) -> (SocketAddr, SocketAddr) {
    let (mut edge, mut control) = (None, None);
    while edge.is_none() || control.is_none() {
        let line = running.stderr_line_containing(" on http://").await;
        edge = edge.or(addr_after(&line, EDGE_ON));
        control = control.or(addr_after(&line, CONTROL_ON));
    }
    let both = "the loop ends once both are known";
    (edge.expect(both), control.expect(both))
}

/// The address after `marker` in `line`, up to the URL's `/`.
#[track_caller]
pub fn addr_after(line: &str, marker: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once(marker)?;
    let (addr, _) = rest.split_once('/').expect("the URL ends with /");
    Some(
        addr.parse()
            .unwrap_or_else(|e| panic!("{addr:?} in {line:?} is not an address: {e}")),
    )
}

impl Edgecase {
    /// Starts `edgecase --config FILE` with [`config`] and waits for both start-up lines (in
    /// either order, or both in one line).
    pub async fn start(test: &str, origin: SocketAddr, admin: &str, rest: &str) -> Edgecase {
        Edgecase::start_with(test, &config(origin, admin, rest)).await
    }

    /// As [`Edgecase::start`], with the whole config file `text` (it must set `[edge] listen`
    /// and `[admin] listen`).
    pub async fn start_with(test: &str, text: &str) -> Edgecase {
        let dir = TempDir::new(test);
        let file = dir.write("edgecase.toml", text);
        let mut running = Running::spawn(&["--config", path_arg(&file)]);
        let (edge, admin) = edge_and_control_addrs(&mut running).await;
        assert!(admin.ip().is_loopback(), "{admin}");
        assert_ne!(admin.port(), 0, "the line shows the port the kernel chose");
        Edgecase {
            running,
            edge,
            admin,
            _dir: dir,
        }
    }

    /// `method path` on the admin port, with a JSON `body` and `authorization: auth` if given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        auth: Option<&str>,
    ) -> Response {
        let mut request = Request::builder().method(method).uri(path);
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let body = Full::new(Bytes::from(body.unwrap_or_default().to_owned()));
        let request = request.body(body).expect("a test request is valid");
        within(GUARD, send(self.admin, request)).await
    }

    /// `GET path` on the admin port with `accept`, as a browser asks for a page.
    pub async fn call_with_accept(&self, path: &str, accept: &str) -> Response {
        let request = Request::builder()
            .uri(path)
            .header("accept", accept)
            .body(Full::new(Bytes::new()))
            .expect("a test request is valid");
        within(GUARD, send(self.admin, request)).await
    }

    /// `GET path` on the admin port.
    pub async fn get(&self, path: &str) -> Response {
        self.call(Method::GET, path, None, None).await
    }

    /// `POST path` on the admin port with a JSON body.
    pub async fn post(&self, path: &str, body: &str) -> Response {
        self.call(Method::POST, path, Some(body), None).await
    }

    /// `DELETE path` on the admin port.
    pub async fn delete(&self, path: &str) -> Response {
        self.call(Method::DELETE, path, None, None).await
    }

    /// `POST /faults` that must succeed: returns the rule as answered (201).
    pub async fn add_fault(&self, rule: Value) -> Value {
        let res = self.post("/faults", &rule.to_string()).await;
        assert_eq!(res.status(), 201, "POST /faults {rule}: {}", res.text());
        json_of(&res)
    }

    /// `GET /faults`, answered 200 with an array.
    pub async fn faults(&self) -> Vec<Value> {
        array_of(&self.get("/faults").await)
    }

    /// A visitor's `GET path` on the edge port.
    pub async fn visit(&self, path: &str) -> Response {
        within(GUARD, get(self.edge, path)).await
    }

    /// SIGTERM: edgecase (admin listener included) exits 0 without a panic.
    pub async fn stop(self) {
        let outcome = self.running.stop_with(libc::SIGTERM).await;
        assert_exit_code(&outcome, 0);
        assert_no_panic(&outcome);
    }
}

/// The body as JSON, checking the content type (the same check as `observe::json_body`).
#[track_caller]
pub fn json_of(res: &Response) -> Value {
    json_body(res)
}

/// A 200 answer whose body is a JSON array.
#[track_caller]
pub fn array_of(res: &Response) -> Vec<Value> {
    assert_eq!(res.status(), 200, "{}", res.text());
    match json_of(res) {
        Value::Array(items) => items,
        other => panic!("expected a JSON array, got {other}"),
    }
}

/// The `error` message of a JSON error answer with `status`.
#[track_caller]
pub fn error_of(res: &Response, status: u16) -> String {
    assert_eq!(res.status(), status, "{}", res.text());
    let body = json_of(res);
    let message = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("an \"error\" string: {body}"));
    assert!(!message.trim().is_empty(), "the error says why: {body}");
    message.to_owned()
}

/// The ids of `rules`, in order.
pub fn ids(rules: &[Value]) -> Vec<u64> {
    rules
        .iter()
        .map(|rule| {
            rule["id"]
                .as_u64()
                .unwrap_or_else(|| panic!("an id: {rule}"))
        })
        .collect()
}
