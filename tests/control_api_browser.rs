//! A hostile web page in a real browser cannot drive the control API. Headless Chromium opens
//! a page served from another loopback port, whose script sends what needs no preflight: a
//! text/plain `fetch` in `no-cors` mode adding a fault rule, and two text/plain `<form>`s, one
//! disabling the Toxiproxy-style proxy and one adding a `reset_peer` toxic. Every attempt
//! reaches the admin listener and is refused with 403 (its log says so), and nothing changes.
//!
//! So that the test cannot pass for the wrong reason, the page reports back to its own server
//! when every attempt has been answered, and sends the same three requests to its own server
//! too: the test replays their bodies without an `Origin` and they do take effect, so only the
//! browser's headers stood in the way. A second test opens the API under a name rebound to
//! 127.0.0.1 (DNS rebinding, with Chromium's `--host-resolver-rules`) and gets only the 403.
//! Without Chromium the tests say so on stderr and pass.
#[path = "control_api/admin.rs"]
mod admin;
mod support;

use std::collections::BTreeMap;

use http::{Method, Request};
use http_body_util::Full;

use admin::{Edgecase, array_of, json_of};
use support::GUARD;
use support::chromium;
use support::origins::{Origin, RecordedRequest};
use support::pki::TempDir;
use support::visitor::{send, within};

/// The fault rule the page tries to add.
const RULE: &str = r#"{"path_prefix": "/", "status": 521}"#;

/// The page's script; `ADMIN` is replaced by the control API's origin. `send(path, copy)`
/// makes each attempt, against the API and against the page's own `/copy/...`.
const SCRIPT: &str = r#"
const admin = 'ADMIN';
// A text/plain form field is sent as `name=value`: the `=` lands inside a JSON string.
const forms = {
  proxy: ['/proxies/edgecase', '{"enabled": false, "name": "edgecase', '"}'],
  toxic: ['/proxies/edgecase/toxics',
          '{"name": "cut', '", "type": "reset_peer", "stream": "downstream", "attributes": {}}'],
};
function submit(action, name, value) {
  return new Promise(resolve => {
    const frame = document.createElement('iframe');
    frame.name = 'sink' + Math.random().toString(36).slice(2);
    document.body.append(frame);
    frame.addEventListener('load', () => resolve('loaded'), {once: true});
    const form = document.createElement('form');
    form.method = 'post';
    form.enctype = 'text/plain';
    form.action = action;
    form.target = frame.name;
    const field = document.createElement('input');
    field.type = 'hidden';
    field.name = name;
    field.value = value;
    form.append(field);
    document.body.append(form);
    form.submit();
  });
}
function post(url, mode) {
  return fetch(url, {method: 'POST', mode, headers: {'Content-Type': 'text/plain'}, body: RULE})
    .then(res => res.type, err => 'error: ' + err);
}
// The page's server answers every path with this page: only the top one attacks.
if (window === window.top) Promise.all([
  post(admin + '/faults', 'no-cors'),
  post('/copy/faults', 'same-origin'),
  ...Object.entries(forms).flatMap(([key, [path, name, value]]) =>
    [submit(admin + path, name, value), submit('/copy/' + key, name, value)]),
]).then(results => fetch('/done?' + new URLSearchParams({
  fetch: results[0], forms: results.slice(2).filter(r => r === 'loaded').length,
})));
"#;

/// The attacker's page for the control API at `admin`.
fn page(admin: &str) -> String {
    let script = SCRIPT
        .replace("ADMIN", admin)
        .replace("RULE", &format!("'{RULE}'"));
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>free coupons</title></head>\
         <body><p>Nothing to see.</p><script>{script}</script></body></html>"
    )
}

/// The request the page made to its own server at `path`.
fn recorded<'r>(requests: &'r [RecordedRequest], path: &str) -> &'r RecordedRequest {
    requests
        .iter()
        .find(|r| r.uri.path() == path)
        .unwrap_or_else(|| {
            let seen: Vec<String> = requests.iter().map(|r| r.uri.to_string()).collect();
            panic!("the page did not request {path}; it requested {seen:?}")
        })
}

/// The recorded requests once one of them is for `path`.
async fn requests_until(server: &Origin, path: &str) -> Vec<RecordedRequest> {
    for n in 1.. {
        within(GUARD, server.requests_seen(n)).await;
        let requests = server.requests();
        if requests.iter().any(|r| r.uri.path() == path) {
            return requests;
        }
    }
    unreachable!("the loop returns or its guard panics")
}

/// The proxy as `GET /proxies/edgecase` describes it, asked without an `Origin`.
async fn proxy(edgecase: &Edgecase) -> serde_json::Value {
    let res = edgecase.get("/proxies/edgecase").await;
    assert_eq!(res.status(), 200, "{}", res.text());
    json_of(&res)
}

#[tokio::test]
async fn a_page_on_another_port_cannot_change_faults_or_the_proxy() {
    let Some(browser) = chromium::find() else {
        chromium::skip_notice();
        return;
    };
    let origin = Origin::ok("fine").await;
    let mut edgecase = Edgecase::start("control_api_browser", origin.addr(), "", "").await;
    let admin = format!("http://{}", edgecase.admin);
    let html: &'static str = Box::leak(page(&admin).into_boxed_str());
    let attacker =
        Origin::with_headers(200, &[("content-type", "text/html; charset=utf-8")], html).await;

    let url = format!("http://{}/", attacker.addr());
    let dir = TempDir::new("control_api_browser");
    // Virtual time stands still while requests are pending, so the page is dumped only once
    // every attempt has been answered and the page has reported back.
    let flags = ["--virtual-time-budget=10000"];
    let dom = tokio::task::spawn_blocking(move || chromium::dump_dom(&browser, &url, &flags, &dir))
        .await
        .expect("the browser thread did not panic");
    assert!(dom.contains("Nothing to see."), "{dom}");

    let requests = requests_until(&attacker, "/done").await;
    let done = recorded(&requests, "/done");
    let report: BTreeMap<String, String> = done
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(
        report.get("fetch").map(String::as_str),
        Some("opaque"),
        "the no-cors fetch reached the API and got an (unreadable) answer: {report:?}"
    );
    assert_eq!(
        report.get("forms").map(String::as_str),
        Some("4"),
        "every form got an answer: {report:?}"
    );

    // Nothing changed.
    assert_eq!(edgecase.faults().await, Vec::<serde_json::Value>::new());
    let untouched = proxy(&edgecase).await;
    assert_eq!(untouched["enabled"], true, "{untouched}");
    assert_eq!(untouched["toxics"], serde_json::json!([]), "{untouched}");

    // Each attempt reached the admin listener and was refused, as coming from the page.
    let page_origin = format!("http://{}", attacker.addr());
    let mut refused = Vec::new();
    while refused.len() < 3 {
        let line = edgecase
            .running
            .stderr_line_containing("control API refused")
            .await;
        assert!(
            line.contains("with 403") && line.contains(&page_origin),
            "{line}"
        );
        refused.push(line);
    }
    for attempt in [
        "POST /faults ",
        "POST /proxies/edgecase ",
        "POST /proxies/edgecase/toxics ",
    ] {
        assert!(
            refused.iter().any(|line| line.contains(attempt)),
            "{attempt}was refused: {refused:#?}"
        );
    }

    // The same bodies, sent without the browser's headers, do what the page wanted.
    for (copy, path, status) in [
        ("/copy/faults", "/faults", 201),
        ("/copy/proxy", "/proxies/edgecase", 200),
        ("/copy/toxic", "/proxies/edgecase/toxics", 200),
    ] {
        replay(&edgecase, path, recorded(&requests, copy), status).await;
    }
    assert_eq!(edgecase.faults().await.len(), 1);
    let after = proxy(&edgecase).await;
    assert_eq!(after["enabled"], false, "{after}");
    let toxics = array_of(&edgecase.get("/proxies/edgecase/toxics").await);
    assert_eq!(toxics.len(), 1, "{toxics:?}");
    assert_eq!(toxics[0]["type"], "reset_peer", "{toxics:?}");

    edgecase.stop().await;
}

#[tokio::test]
async fn a_name_rebound_to_loopback_reads_nothing() {
    let Some(browser) = chromium::find() else {
        chromium::skip_notice();
        return;
    };
    let origin = Origin::ok("fine").await;
    let mut edgecase = Edgecase::start("control_api_rebound", origin.addr(), "", "").await;
    // DNS rebinding: a name the attacker controls now resolves to 127.0.0.1, so the browser
    // treats the control API as that name's site, and sends its name as the Host.
    let url = format!("http://rebound.test:{}/requests", edgecase.admin.port());
    let dir = TempDir::new("control_api_rebound");
    let flags = ["--host-resolver-rules=MAP rebound.test 127.0.0.1"];
    let dom = tokio::task::spawn_blocking(move || chromium::dump_dom(&browser, &url, &flags, &dir))
        .await
        .expect("the browser thread did not panic");
    assert!(
        dom.contains("allowed_hosts") && dom.contains("\"status\":403"),
        "the page under the rebound name is the 403: {dom}"
    );
    let line = edgecase
        .running
        .stderr_line_containing("control API refused")
        .await;
    assert!(
        line.contains("GET /requests with 403") && line.contains("rebound.test"),
        "{line}"
    );
    edgecase.stop().await;
}

/// POSTs the body the page sent to its own server to the API at `path`, as text/plain without
/// an `Origin`, and checks it is answered `status`.
async fn replay(edgecase: &Edgecase, path: &str, copy: &RecordedRequest, status: u16) {
    assert!(
        copy.header("origin").is_some(),
        "the browser sends an Origin with a POST: {copy:?}"
    );
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "text/plain")
        .body(Full::new(copy.body.clone()))
        .expect("a test request is valid");
    let res = within(GUARD, send(edgecase.admin, request)).await;
    let body = String::from_utf8_lossy(&copy.body);
    assert_eq!(res.status(), status, "{path} with {body:?}: {}", res.text());
}
