//! Reloading the config file in a running `edgecase`: `SIGHUP` and `POST /reload` on the
//! control API apply new faults, routes and timeouts to requests that start afterwards; a file
//! that fails validation is refused (logged, `POST /reload` answers 400 naming the problem) and
//! the old config keeps serving; a request in flight finishes on the config it started with;
//! rules added through the API are dropped; listen addresses stay as they were, with a warning.
//!
//! Each test starts its own `edgecase` binary from a config file in a temp dir (edge and
//! control API on 127.0.0.1:0, the hermetic config of `control_api/admin.rs`), rewrites that
//! file and reloads it, and stops the binary with SIGTERM at the end (exit 0, no panic).
#[path = "control_api/admin.rs"]
mod admin;
mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Empty;
use serde_json::json;
use tokio::time::Instant;

use admin::{array_of, config, edge_and_control_addrs, error_of, json_of};
use support::binary::{Running, assert_exit_code, assert_no_panic, path_arg};
use support::origins::Origin;
use support::pki::TempDir;
use support::visitor::{Response, get, send, within};
use support::{GUARD, assert_error_page, assert_ray_format, ms};

/// How long a SIGHUP may take to apply.
const SIGHUP_APPLIES_WITHIN: Duration = Duration::from_secs(2);

/// A `[[fault]]` answering Cloudflare's own 503 under `/x`.
const FAULT_X_503: &str = "[[fault]]\npath_prefix = \"/x\"\nedge = 503\n";

/// A route whose `path_prefix` does not start with `/`: fails validation at this key.
const BAD_ROUTE: &str = "[[route]]\npath_prefix = \"no-slash\"\n";

/// The key path a config with [`BAD_ROUTE`] is refused at.
const BAD_ROUTE_KEY: &str = "route[0].path_prefix";

/// A running `edgecase` started from a config file it can be told to reload.
struct Reloadable {
    running: Running,
    edge: SocketAddr,
    admin: SocketAddr,
    file: PathBuf,
    _dir: TempDir,
}

impl Reloadable {
    /// Writes `text` to `edgecase.toml` in a fresh temp dir, starts `edgecase --config` on it
    /// and waits for both start-up lines (edge and control API).
    async fn start(test: &str, text: &str) -> Reloadable {
        let dir = TempDir::new(test);
        let file = dir.write("edgecase.toml", text);
        let mut running = Running::spawn(&["--config", path_arg(&file)]);
        let (edge, admin) = edge_and_control_addrs(&mut running).await;
        Reloadable {
            running,
            edge,
            admin,
            file,
            _dir: dir,
        }
    }

    /// Replaces the config file's contents with `text` (not reloaded yet).
    fn rewrite(&self, text: &str) {
        std::fs::write(&self.file, text)
            .unwrap_or_else(|e| panic!("rewrite {}: {e}", self.file.display()));
    }

    /// Sends SIGHUP to the binary.
    fn sighup(&self) {
        self.running.signal(libc::SIGHUP);
    }

    /// `POST /reload` on the control API.
    async fn post_reload(&self) -> Response {
        let request = Request::post("/reload")
            .body(Empty::<Bytes>::new())
            .expect("a valid request");
        within(GUARD, send(self.admin, request)).await
    }

    /// `method path` on the control API with a JSON body.
    async fn post_json(&self, path: &str, body: &serde_json::Value) -> Response {
        let request = Request::post(path)
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(Bytes::from(body.to_string())))
            .expect("a valid request");
        within(GUARD, send(self.admin, request)).await
    }

    /// A visitor's `GET path` on the edge port.
    async fn visit(&self, path: &str) -> Response {
        within(GUARD, get(self.edge, path)).await
    }

    /// Visits `path` until the answer has `status` (a SIGHUP is applied asynchronously, with
    /// nothing to wait on but its effect), at most `limit`; returns that answer.
    async fn visit_until_status(&self, path: &str, status: u16, limit: Duration) -> Response {
        let deadline = Instant::now() + limit;
        loop {
            let res = self.visit(path).await;
            if res.status() == status {
                return res;
            }
            assert!(
                Instant::now() < deadline,
                "{path} still answers {} after {limit:?}, expected {status}: {}",
                res.status(),
                res.text()
            );
            tokio::time::sleep(ms(20)).await;
        }
    }

    /// SIGTERM: the binary exits 0 without a panic.
    async fn stop(self) {
        let outcome = self.running.stop_with(libc::SIGTERM).await;
        assert_exit_code(&outcome, 0);
        assert_no_panic(&outcome);
    }
}

/// A `[[route]]` sending `path_prefix` to `origin`, with `read` as its read timeout if given.
fn route(path_prefix: &str, origin: SocketAddr, read: Option<&str>) -> String {
    let timeouts = read.map_or(String::new(), |read| {
        format!("timeouts = {{ read = \"{read}\" }}\n")
    });
    format!("[[route]]\npath_prefix = \"{path_prefix}\"\norigin = \"{origin}\"\n{timeouts}")
}

/// Asserts Cloudflare's own (unbranded) 503 with a ray ID.
#[track_caller]
fn assert_edge_503(res: &Response) {
    assert_eq!(res.status(), 503, "{}", res.text());
    assert_ray_format(res.header("cf-ray").expect("cf-ray on the 503"));
    assert_eq!(res.header("server"), Some("cloudflare"));
}

// ---------------------------------------------------------------------------------------------
// SIGHUP
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sighup_applies_a_fault_added_to_the_file_to_new_requests() {
    let origin = Origin::ok("origin").await;
    let edgecase = Reloadable::start("reload_sighup", &config(origin.addr(), "", "")).await;
    assert_eq!(edgecase.visit("/x/before").await.status(), 200);

    edgecase.rewrite(&config(origin.addr(), "", FAULT_X_503));
    edgecase.sighup();

    let res = edgecase
        .visit_until_status("/x/after", 503, SIGHUP_APPLIES_WITHIN)
        .await;
    assert_edge_503(&res);
    let other = edgecase.visit("/y").await;
    assert_eq!(other.status(), 200, "the rule matches /x only");
    assert_eq!(other.text(), "origin");
    edgecase.stop().await;
}

#[tokio::test]
async fn sighup_with_an_invalid_file_logs_the_problem_and_keeps_the_old_config() {
    let origin = Origin::ok("origin").await;
    let mut edgecase = Reloadable::start("reload_sighup_bad", &config(origin.addr(), "", "")).await;

    // The fault would apply if any of the bad file were taken.
    edgecase.rewrite(&config(
        origin.addr(),
        "",
        &format!("{FAULT_X_503}{BAD_ROUTE}"),
    ));
    edgecase.sighup();

    let line = edgecase.running.stderr_line_containing(BAD_ROUTE_KEY).await;
    assert!(!line.contains("panicked"), "{line}");
    let res = edgecase.visit("/x/after").await;
    assert_eq!(
        res.status(),
        200,
        "the old config still serves: {}",
        res.text()
    );
    assert_eq!(res.text(), "origin");

    // A later valid file is taken as usual.
    edgecase.rewrite(&config(origin.addr(), "", FAULT_X_503));
    edgecase.sighup();
    let res = edgecase
        .visit_until_status("/x/later", 503, SIGHUP_APPLIES_WITHIN)
        .await;
    assert_edge_503(&res);
    edgecase.stop().await;
}

// ---------------------------------------------------------------------------------------------
// POST /reload
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn post_reload_applies_a_changed_route_origin_and_answers_200_reloaded() {
    let first = Origin::ok("origin A").await;
    let second = Origin::ok("origin B").await;
    let edgecase = Reloadable::start(
        "reload_post",
        &config(first.addr(), "", &route("/api", first.addr(), None)),
    )
    .await;
    assert_eq!(edgecase.visit("/api/before").await.text(), "origin A");

    edgecase.rewrite(&config(
        first.addr(),
        "",
        &route("/api", second.addr(), None),
    ));
    let res = edgecase.post_reload().await;

    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(json_of(&res), json!({"status": "reloaded"}));
    let res = edgecase.visit("/api/after").await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.text(), "origin B", "the new route applies at once");
    assert_eq!(
        edgecase.visit("/").await.text(),
        "origin A",
        "[origin] unchanged"
    );
    edgecase.stop().await;
}

#[tokio::test]
async fn post_reload_of_an_invalid_file_answers_400_naming_the_problem_and_keeps_the_old_config() {
    let first = Origin::ok("origin A").await;
    let second = Origin::ok("origin B").await;
    let mut edgecase = Reloadable::start(
        "reload_post_bad",
        &config(first.addr(), "", &route("/api", first.addr(), None)),
    )
    .await;

    // A valid route to the new origin, then the invalid one (so the problem is at route[1]).
    edgecase.rewrite(&config(
        first.addr(),
        "",
        &format!("{}{BAD_ROUTE}", route("/api", second.addr(), None)),
    ));
    let res = edgecase.post_reload().await;

    let error = error_of(&res, 400);
    assert!(
        error.contains("route[1].path_prefix"),
        "the error names the bad key: {error}"
    );
    assert_eq!(json_of(&res)["status"], 400);
    edgecase
        .running
        .stderr_line_containing("route[1].path_prefix")
        .await;
    let res = edgecase.visit("/api/after").await;
    assert_eq!(res.text(), "origin A", "the old route still applies");
    edgecase.stop().await;
}

#[tokio::test]
async fn a_request_in_flight_during_a_reload_finishes_on_the_timeout_it_started_with() {
    let slow = Origin::delayed(ms(500), "slow answer").await;
    let edgecase = Reloadable::start(
        "reload_in_flight",
        &config(slow.addr(), "", &route("/slow", slow.addr(), Some("3s"))),
    )
    .await;
    let edge = edgecase.edge;
    let in_flight = tokio::spawn(async move { within(GUARD, get(edge, "/slow/old")).await });
    within(GUARD, slow.request_seen()).await;

    edgecase.rewrite(&config(
        slow.addr(),
        "",
        &route("/slow", slow.addr(), Some("100ms")),
    ));
    let res = edgecase.post_reload().await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert!(
        !in_flight.is_finished(),
        "the reload happened while the first request was still waiting on the origin"
    );

    let res = edgecase.visit("/slow/new").await;
    assert_error_page(&res, 524);
    let res = within(GUARD, in_flight)
        .await
        .expect("the in-flight visitor did not panic");
    assert_eq!(
        res.status(),
        200,
        "the old read timeout (3s): {}",
        res.text()
    );
    assert_eq!(res.text(), "slow answer");
    edgecase.stop().await;
}

#[tokio::test]
async fn a_reload_drops_rules_added_through_the_api_and_keeps_those_of_the_file() {
    let origin = Origin::ok("origin").await;
    let edgecase =
        Reloadable::start("reload_api_rules", &config(origin.addr(), "", FAULT_X_503)).await;
    let added = edgecase
        .post_json(
            "/faults",
            &json!({"status": 522, "delay": "0ms", "path_prefix": "/api"}),
        )
        .await;
    assert_eq!(added.status(), 201, "{}", added.text());
    assert_error_page(&edgecase.visit("/api").await, 522);

    let res = edgecase.post_reload().await;
    assert_eq!(res.status(), 200, "{}", res.text());

    assert_eq!(
        edgecase.visit("/api").await.status(),
        200,
        "the API's rule is gone"
    );
    assert_edge_503(&edgecase.visit("/x").await);
    let listed = array_of(&within(GUARD, get(edgecase.admin, "/faults")).await);
    assert_eq!(listed.len(), 1, "only the file's rule: {listed:?}");
    assert_eq!(listed[0]["path_prefix"], "/x", "{listed:?}");
    edgecase.stop().await;
}

#[tokio::test]
async fn a_reload_changing_the_listen_address_warns_and_keeps_the_listener() {
    let origin = Origin::ok("origin").await;
    let text = config(origin.addr(), "", "");
    let mut edgecase = Reloadable::start("reload_listen", &text).await;
    let moved = text.replacen(
        "[edge]\nlisten = \"127.0.0.1:0\"",
        "[edge]\nlisten = \"127.0.0.1:9\"",
        1,
    );
    assert_ne!(moved, text, "the edge's listen key was changed");

    edgecase.rewrite(&moved);
    let res = edgecase.post_reload().await;

    assert_eq!(res.status(), 200, "the rest applies: {}", res.text());
    let warning = edgecase.running.stderr_line_containing("restart").await;
    assert!(
        warning.contains("listen"),
        "the warning names the key: {warning}"
    );
    let res = edgecase.visit("/").await;
    assert_eq!(
        res.status(),
        200,
        "still served where it was: {}",
        res.text()
    );
    edgecase.stop().await;
}
