//! HAR capture (`[capture]`) and `GET /har` through an in-process edge: the file is a valid
//! HAR 1.2 document (checked by `support/har.rs`) after every captured exchange, holds exactly
//! the 5xx exchanges in order, each with its ray, origin IP, timings that match the timeout that
//! fired, the visitor's request headers and body, and the response body cut at
//! `[capture] body_bytes`; `GET /har` filters the recent requests by status, limit and ray;
//! and the binary refuses to start on a file that is not HAR.
mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use edgecase::EdgeHandle;
use http::{Method, Request, header};
use http_body_util::Full;
use serde_json::Value;

use support::binary::{Running, assert_no_panic, path_arg};
use support::har::check_har;
use support::observe::{admin_get, edge_toml, json_body, poll_file, ray_of, start, toml_path};
use support::origins::Origin;
use support::pki::TempDir;
use support::visitor::{Response, send, within};
use support::{GUARD, assert_took, ms};

/// `timeouts.connect`, in ms: how long the 522 takes.
const CONNECT_MS: u64 = 200;
/// `timeouts.read`, in ms: how long the 524 takes.
const READ_MS: u64 = 200;
/// How much later than its timeout a timed-out phase may end on a busy machine.
const SLACK: Duration = Duration::from_millis(400);
/// `[capture] body_bytes` here.
const BODY_BYTES: usize = 100;

/// The request header every visitor sends, valued with the case's name.
const TEST_HEADER: &str = "x-har-case";

/// The body of the origin's 503: 300 bytes, so the capture keeps the first 100.
const BUSY_BODY: &str = "0123456789-busy-origin-body-0123456789-busy-origin-body-0123456789-busy-\
                         origin-body-0123456789-busy-origin-body-0123456789-busy-origin-body-012\
                         3456789-busy-origin-body-0123456789-busy-origin-body-0123456789-busy-ori\
                         gin-body-0123456789-busy-origin-body-0123456789-busy-origin-body-012345";

/// The visitor's POST body to the 503: 20 bytes.
const POST_BODY: &str = "name=ada&qty=2&x=yes";

/// `method path` with `x-har-case: case`, and `body` (text/plain) when given.
async fn visit(
    edge: SocketAddr,
    method: Method,
    path: &str,
    case: &str,
    body: Option<&str>,
) -> Response {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "shop.test")
        .header(header::ACCEPT, "text/html")
        .header(TEST_HEADER, case);
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "text/plain");
    }
    let body = Full::new(Bytes::from(body.unwrap_or_default().to_owned()));
    let request = request.body(body).expect("a valid test request");
    within(GUARD, send(edge, request)).await
}

/// The entries of the HAR document `har` (which must pass `check_har`).
#[track_caller]
fn entries(har: &Value) -> Vec<Value> {
    if let Err(why) = check_har(har) {
        panic!("not a valid HAR 1.2 document: {why}\n{har:#}");
    }
    har["log"]["entries"]
        .as_array()
        .expect("check_har saw an entries array")
        .clone()
}

/// Waits until the HAR file at `path` is a document with `n` entries; checks it and returns
/// them.
async fn entries_in_file(path: &Path, n: usize) -> Vec<Value> {
    let har = poll_file(path, |text| {
        // The writer replaces the tail in one write; a read in the middle is simply retried.
        let har: Value = serde_json::from_str(text).ok()?;
        (har["log"]["entries"].as_array()?.len() >= n).then_some(har)
    })
    .await;
    let found = entries(&har);
    assert_eq!(found.len(), n, "exactly {n} entries: {har:#}");
    found
}

/// A number member of an entry.
#[track_caller]
fn number(value: &Value, what: &str) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is a number: {value}"))
}

/// A timing of `entry`, in ms, as a Duration (it must be >= 0).
#[track_caller]
fn timing(entry: &Value, phase: &str) -> Duration {
    let value = number(&entry["timings"][phase], phase);
    assert!(value >= 0.0, "{phase} applies: {value}");
    Duration::from_secs_f64(value / 1000.0)
}

/// The value of the request header `name` in `entry`.
fn request_header<'e>(entry: &'e Value, name: &str) -> Option<&'e str> {
    entry["request"]["headers"]
        .as_array()?
        .iter()
        .find(|h| h["name"].as_str() == Some(name))?
        .get("value")?
        .as_str()
}

/// Asserts what every captured entry says of the exchange that got `res` for `case`.
#[track_caller]
fn assert_entry_of(entry: &Value, res: &Response, case: &str, status: u16) {
    let ray = ray_of(res);
    assert_eq!(entry["_cfRay"], ray.as_str(), "{entry:#}");
    let comment = entry["comment"].as_str().unwrap_or_default();
    assert!(
        comment.contains(&ray),
        "the comment names the ray: {comment}"
    );
    assert_eq!(entry["response"]["status"], status, "{entry:#}");
    assert_eq!(entry["serverIPAddress"], "127.0.0.1", "{entry:#}");
    assert_eq!(request_header(entry, TEST_HEADER), Some(case), "{entry:#}");
    assert_eq!(
        request_header(entry, "host"),
        Some("shop.test"),
        "{entry:#}"
    );
    let url = entry["request"]["url"].as_str().unwrap_or_default();
    assert!(url.starts_with("http://shop.test/"), "{url}");
    for phase in ["send", "wait", "receive"] {
        timing(entry, phase);
    }
    // The response body, as the visitor got it, up to body_bytes.
    let kept = &res.body[..res.body.len().min(BODY_BYTES)];
    assert_eq!(
        entry["response"]["content"]["text"].as_str(),
        Some(String::from_utf8_lossy(kept).as_ref()),
        "the start of the body the visitor got: {entry:#}"
    );
    assert_eq!(
        number(&entry["response"]["content"]["size"], "content.size"),
        res.body.len() as f64,
        "the whole body's size"
    );
    let cut = entry["response"]["content"]["comment"].as_str();
    if res.body.len() > BODY_BYTES {
        let note = cut.unwrap_or_default();
        assert!(
            note.contains(&BODY_BYTES.to_string()) && note.contains(&res.body.len().to_string()),
            "the entry says the body was cut: {note:?}"
        );
    }
}

/// The origins of the capture test: one per captured failure, and one that answers 200.
struct CaptureOrigins {
    /// The default route's origin: a 200, not captured.
    ok: Origin,
    /// `/blackhole`: a 522.
    blackhole: Origin,
    /// `/silent`: a 524.
    silent: Origin,
    /// `/busy`: the origin's own 503 with [`BUSY_BODY`].
    busy: Origin,
}

impl CaptureOrigins {
    /// Starts the four origins.
    async fn start() -> CaptureOrigins {
        CaptureOrigins {
            ok: Origin::ok("a fine page").await,
            blackhole: Origin::blackhole().await,
            silent: Origin::silent().await,
            busy: Origin::status(503, BUSY_BODY).await,
        }
    }
}

/// An edge capturing its 5xx exchanges to `har`, bodies cut at [`BODY_BYTES`], with one route
/// per origin of `origins` and no access log.
async fn start_capturing(origins: &CaptureOrigins, har: &Path) -> EdgeHandle {
    let rest = format!(
        "[capture]\nhar = {}\nstatuses = [\"5xx\"]\nbody_bytes = {BODY_BYTES}\n\
         [[route]]\npath_prefix = \"/blackhole\"\norigin = \"{}\"\n\
         [[route]]\npath_prefix = \"/silent\"\norigin = \"{}\"\n\
         [[route]]\npath_prefix = \"/busy\"\norigin = \"{}\"\n",
        toml_path(har),
        origins.blackhole.addr(),
        origins.silent.addr(),
        origins.busy.addr()
    );
    start(&edge_toml(
        origins.ok.addr(),
        CONNECT_MS,
        READ_MS,
        "access = \"off\"",
        &rest,
    ))
    .await
}

/// The rays of `entries`, in order.
fn rays(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["_cfRay"].as_str().unwrap_or_default())
        .collect()
}

/// The entries of the HAR document a `GET /har` answered with.
#[track_caller]
fn listed(res: &Response) -> Vec<Value> {
    entries(&json_body(res))
}

/// Asserts the entry of the 522 `res`: connect took the connect timeout, nothing waited, and
/// the error page is kept from its start.
#[track_caller]
fn assert_connect_timeout_entry(entry: &Value, res: &Response) {
    assert_entry_of(entry, res, "522", 522);
    assert_took(timing(entry, "connect"), ms(CONNECT_MS), SLACK);
    assert!(
        timing(entry, "wait") < ms(CONNECT_MS),
        "nothing was sent, so nothing waited: {entry:#}"
    );
    assert_eq!(entry["_edgecaseCause"], "connect_timeout");
    assert!(
        res.body.len() > BODY_BYTES,
        "the page is longer than body_bytes, so the entry keeps its start"
    );
    assert!(
        entry["response"]["content"]["text"]
            .as_str()
            .is_some_and(|text| text.starts_with("<!DOCTYPE html>")),
        "the error page: {entry:#}"
    );
}

/// Asserts the entry of the 524 `res`: wait took the read timeout, connect was quick.
#[track_caller]
fn assert_read_timeout_entry(entry: &Value, res: &Response) {
    assert_entry_of(entry, res, "524", 524);
    assert_took(timing(entry, "wait"), ms(READ_MS), SLACK);
    assert!(
        timing(entry, "connect") < ms(CONNECT_MS),
        "the silent origin accepts at once: {entry:#}"
    );
    assert_eq!(entry["_edgecaseCause"], "read_timeout");
}

/// Asserts the entry of the origin's own 503 `res` to the POST: the body cut at
/// [`BODY_BYTES`], the origin's status, and the request's method, body and query.
#[track_caller]
fn assert_origin_503_entry(entry: &Value, res: &Response) {
    assert_entry_of(entry, res, "503", 503);
    assert_eq!(
        entry["response"]["content"]["text"],
        &BUSY_BODY[..BODY_BYTES],
        "the origin's body cut at body_bytes"
    );
    assert_eq!(entry["_originStatus"], 503, "{entry:#}");
    assert_eq!(entry["request"]["method"], "POST");
    assert_eq!(entry["request"]["bodySize"], POST_BODY.len());
    assert_eq!(entry["request"]["postData"]["text"], POST_BODY);
    assert_eq!(entry["request"]["postData"]["mimeType"], "text/plain");
    assert_eq!(
        entry["request"]["queryString"],
        serde_json::json!([{"name": "tab", "value": "2"}])
    );
}

#[tokio::test]
async fn har_file_holds_exactly_the_5xx_exchanges_with_rays_timings_and_bodies() {
    let origins = CaptureOrigins::start().await;
    let dir = TempDir::new("har_capture");
    let har = dir.path().join("failures.har");
    let edge = start_capturing(&origins, &har).await;
    assert!(
        entries_in_file(&har, 0).await.is_empty(),
        "an empty HAR document at start"
    );

    // 522: connect is the connect timeout.
    let timed_out = visit(edge.addr(), Method::GET, "/blackhole/a", "522", None).await;
    assert_eq!(timed_out.status(), 522, "{}", timed_out.text());
    let found = entries_in_file(&har, 1).await;
    assert_connect_timeout_entry(&found[0], &timed_out);

    // 524: wait is the read timeout.
    let silent_res = visit(edge.addr(), Method::GET, "/silent/b", "524", None).await;
    assert_eq!(silent_res.status(), 524, "{}", silent_res.text());
    let found = entries_in_file(&har, 2).await;
    assert_entry_of(&found[0], &timed_out, "522", 522);
    assert_read_timeout_entry(&found[1], &silent_res);

    // A 200 is not captured; the origin's own 503, with a POST body, is.
    let fine = visit(edge.addr(), Method::GET, "/", "200", None).await;
    assert_eq!(fine.status(), 200, "{}", fine.text());
    let busy_res = visit(
        edge.addr(),
        Method::POST,
        "/busy/c?tab=2",
        "503",
        Some(POST_BODY),
    )
    .await;
    assert_eq!(busy_res.status(), 503, "{}", busy_res.text());
    assert_eq!(
        busy_res.text(),
        BUSY_BODY,
        "the origin's body passes through"
    );
    let found = entries_in_file(&har, 3).await;
    assert_eq!(
        rays(&found),
        [ray_of(&timed_out), ray_of(&silent_res), ray_of(&busy_res)],
        "the 5xx exchanges in order, and nothing else"
    );
    assert_origin_503_entry(&found[2], &busy_res);

    // GET /har from the recent requests: filters, newest two 5xx oldest first, one ray.
    let res = admin_get(&edge, "/har?status=5xx&limit=2").await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(
        rays(&listed(&res)),
        [ray_of(&silent_res), ray_of(&busy_res)]
    );

    let res = admin_get(&edge, &format!("/har?ray={}", ray_of(&timed_out))).await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let one = listed(&res);
    assert_eq!(one.len(), 1, "{one:#?}");
    assert_entry_of(&one[0], &timed_out, "522", 522);

    let res = admin_get(&edge, "/har?status=2xx").await;
    let ok_only = listed(&res);
    assert_eq!(
        ok_only.len(),
        1,
        "the ring also holds the 200: {ok_only:#?}"
    );
    assert_eq!(ok_only[0]["_cfRay"], ray_of(&fine).as_str());

    let res = admin_get(&edge, "/har?status=abc").await;
    assert_eq!(res.status(), 400, "{}", res.text());
    let error = json_body(&res);
    assert!(
        error["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{error}"
    );
}

#[tokio::test]
async fn har_file_grows_across_restarts() {
    let refusing = Origin::refusing().await;
    let dir = TempDir::new("har_restart");
    let har = dir.path().join("kept.har");
    let rest = format!("[capture]\nhar = {}\n", toml_path(&har));
    let toml = edge_toml(
        refusing.addr(),
        CONNECT_MS,
        READ_MS,
        "access = \"off\"",
        &rest,
    );
    let mut rays = Vec::new();
    for round in 1..=2 {
        let edge = start(&toml).await;
        let res = visit(edge.addr(), Method::GET, "/", "521", None).await;
        assert_eq!(res.status(), 521);
        rays.push(ray_of(&res));
        let found = entries_in_file(&har, round).await;
        let found: Vec<&str> = found
            .iter()
            .map(|e| e["_cfRay"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(found, rays, "round {round}: the earlier entries are kept");
        within(GUARD, edge.shutdown())
            .await
            .expect("the edge stops cleanly");
    }
}

#[tokio::test]
async fn binary_refuses_to_start_on_a_capture_file_that_is_not_har() {
    let dir = TempDir::new("har_not_har");
    let not_har = dir.write("notes.har", "these are my notes, not a HAR document\n");
    let config = dir.write(
        "edgecase.toml",
        &format!(
            "[edge]\nlisten = \"127.0.0.1:0\"\n[dns]\nsystem = false\n\
             [admin]\nenabled = false\n[log]\naccess = \"off\"\n\
             [capture]\nhar = {}\n",
            toml_path(&not_har)
        ),
    );
    let outcome = Running::spawn(&["--config", path_arg(&config)])
        .finish(GUARD)
        .await;
    assert_no_panic(&outcome);
    assert!(
        outcome.status.code().is_some_and(|code| code != 0),
        "exits with an error status, not a signal: {:?}\n{}",
        outcome.status,
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains(path_arg(&not_har)),
        "the error names the file:\n{}",
        outcome.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&not_har).expect("the file is still there"),
        "these are my notes, not a HAR document\n",
        "the file is left as it was"
    );
}

#[tokio::test]
async fn an_h2_request_keeps_its_port_and_host_and_set_cookie_fills_the_cookies() {
    let origin = Origin::with_headers(
        200,
        &[
            ("set-cookie", "session=abc123; Path=/; HttpOnly; Secure"),
            ("set-cookie", "theme=dark; Domain=shop.test"),
        ],
        "fine",
    )
    .await;
    let toml = edge_toml(
        origin.addr(),
        CONNECT_MS,
        READ_MS,
        "access = \"off\"",
        "[capture]\nstatuses = [\"2xx\"]\n",
    );
    let edge = start(&toml).await;
    let res = within(GUARD, support::visitor::get_h2(edge.addr(), "/h2/page?x=1")).await;
    assert_eq!(res.status(), 200);
    let ray = ray_of(&res);
    let har = json_body(&admin_get(&edge, &format!("/har?ray={ray}")).await);
    check_har(&har).unwrap_or_else(|e| panic!("{e}"));
    let entry = &har["log"]["entries"][0];
    let port = edge.addr().port();
    assert_eq!(
        entry["request"]["url"],
        format!("http://127.0.0.1:{port}/h2/page?x=1"),
        "{entry}"
    );
    let headers = entry["request"]["headers"].as_array().expect("headers");
    assert!(
        headers
            .iter()
            .any(|h| h["name"] == "host" && h["value"] == format!("127.0.0.1:{port}")),
        "the authority is listed as host: {headers:?}"
    );
    let cookies = entry["response"]["cookies"].as_array().expect("cookies");
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert_eq!(cookies[0]["name"], "session");
    assert_eq!(cookies[0]["path"], "/");
    assert_eq!(cookies[0]["httpOnly"], true);
    assert_eq!(cookies[0]["secure"], true);
    assert_eq!(cookies[1]["name"], "theme");
    assert_eq!(cookies[1]["domain"], "shop.test");
}
