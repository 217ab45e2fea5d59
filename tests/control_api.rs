//! The control API through the real binary, as a user drives it with curl: `/healthz`; fault
//! rules added, listed, applied to visitors on the edge port, expired by count and deleted;
//! every bad request answered 400 naming the problem with nothing changed; the request ring
//! (`GET /requests` and its filters); 404 and 405; the bearer token; `--check` on the admin
//! and `[[fault]]` keys; header faults off by default. The Toxiproxy subset of the same API is
//! in `toxiproxy_client.rs`.
//!
//! Each test starts its own `edgecase` (edge and admin on 127.0.0.1:0, millisecond timeouts,
//! static DNS only) from a config written to a temp dir, and stops it with SIGTERM at the end.
#[path = "control_api/admin.rs"]
mod admin;
mod support;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::Full;
use serde_json::{Value, json};

use admin::{Edgecase, TIMEOUT_MS, array_of, error_of, ids, json_of};
use support::binary::{EXIT_BAD_CONFIG, Outcome, assert_exit_code, assert_no_panic, path_arg, run};
use support::origins::Origin;
use support::pki::TempDir;
use support::visitor::{Response, get_with_host, send, within};
use support::{GUARD, assert_error_page, ms};

// ---------------------------------------------------------------------------------------------
// Health and fault rules
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn healthz_answers_200_status_ok() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("api_healthz", origin.addr(), "", "").await;
    let res = edgecase.get("/healthz").await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(json_of(&res), json!({"status": "ok"}));
    edgecase.stop().await;
}

#[tokio::test]
async fn posted_fault_answers_201_with_its_id_and_keys_and_then_applies_to_visitors() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("api_post", origin.addr(), "", "").await;
    assert_eq!(
        edgecase.visit("/checkout").await.status(),
        200,
        "no rule yet"
    );

    let rule = edgecase
        .add_fault(json!({"status": 522, "delay": "0ms", "path_prefix": "/checkout"}))
        .await;
    assert!(rule["id"].as_u64().is_some_and(|id| id >= 1), "{rule}");
    assert_eq!(rule["status"], 522, "{rule}");
    assert_eq!(rule["path_prefix"], "/checkout", "{rule}");
    assert!(
        rule["delay"].is_string(),
        "the delay given, as a duration: {rule}"
    );
    assert_eq!(rule["applied"], 0, "{rule}");
    assert_eq!(rule["remaining"], Value::Null, "no count: {rule}");
    assert_eq!(rule["expires_in_ms"], Value::Null, "no `for`: {rule}");

    let res = edgecase.visit("/checkout/pay").await;
    assert_error_page(&res, 522);
    assert!(
        res.elapsed < ms(TIMEOUT_MS),
        "delay 0ms: took {:?}",
        res.elapsed
    );
    assert_eq!(
        edgecase.visit("/").await.status(),
        200,
        "the rule only matches /checkout"
    );
    let listed = edgecase.faults().await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["applied"], 1, "{listed:?}");

    let lasting = edgecase
        .add_fault(json!({"status": 521, "for": "5m"}))
        .await;
    let expires_in = lasting["expires_in_ms"]
        .as_u64()
        .expect("`for` sets expires_in_ms");
    assert!((290_000..=300_000).contains(&expires_in), "{lasting}");
    edgecase.stop().await;
}

#[tokio::test]
async fn get_faults_lists_config_rules_first_then_posted_ones_in_evaluation_order() {
    let origin = Origin::ok("origin").await;
    let from_config = "[[fault]]\npath_prefix = \"/cfg\"\nstatus = 521\n";
    let edgecase = Edgecase::start("api_order", origin.addr(), "", from_config).await;
    let listed = edgecase.faults().await;
    assert_eq!(
        ids(&listed),
        [1],
        "config rules take the first ids: {listed:?}"
    );
    assert_eq!(listed[0]["path_prefix"], "/cfg");

    let first = edgecase
        .add_fault(json!({"status": 523, "path_prefix": "/a"}))
        .await;
    let second = edgecase
        .add_fault(json!({"status": 520, "path_prefix": "/"}))
        .await;
    assert_eq!(ids(&[first, second]), [2, 3]);
    let listed = edgecase.faults().await;
    assert_eq!(ids(&listed), [1, 2, 3], "{listed:?}");
    assert_eq!(listed[1]["status"], 523);
    assert_eq!(listed[2]["status"], 520);

    // First match wins: /cfg and /a match the catch-all too.
    assert_error_page(&edgecase.visit("/cfg").await, 521);
    assert_error_page(&edgecase.visit("/a").await, 523);
    assert_error_page(&edgecase.visit("/other").await, 520);
    edgecase.stop().await;
}

#[tokio::test]
async fn delete_one_fault_answers_204_then_it_is_gone_and_requests_are_proxied_again() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("api_delete", origin.addr(), "", "").await;
    let kept = edgecase
        .add_fault(json!({"status": 521, "path_prefix": "/kept"}))
        .await;
    let doomed = edgecase
        .add_fault(json!({"status": 522, "delay": "0ms"}))
        .await;
    assert_error_page(&edgecase.visit("/").await, 522);

    let res = edgecase.delete(&format!("/faults/{}", doomed["id"])).await;
    assert_eq!(res.status(), 204, "{}", res.text());
    assert_eq!(ids(&edgecase.faults().await), ids(&[kept]));
    let res = edgecase.visit("/").await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.text(), "origin");

    let again = edgecase.delete(&format!("/faults/{}", doomed["id"])).await;
    error_of(&again, 404);
    error_of(&edgecase.delete("/faults/999").await, 404);
    assert_eq!(edgecase.faults().await.len(), 1, "a 404 removes nothing");
    edgecase.stop().await;
}

#[tokio::test]
async fn delete_all_faults_answers_204_and_empties_the_list() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("api_clear", origin.addr(), "", "").await;
    for prefix in ["/a", "/b", "/"] {
        edgecase
            .add_fault(json!({"status": 521, "path_prefix": prefix}))
            .await;
    }
    assert_error_page(&edgecase.visit("/b").await, 521);

    let res = edgecase.delete("/faults").await;
    assert_eq!(res.status(), 204, "{}", res.text());
    assert!(edgecase.faults().await.is_empty());
    assert_eq!(edgecase.visit("/b").await.status(), 200);
    edgecase.stop().await;
}

#[tokio::test]
async fn a_counted_fault_expires_after_its_count_and_get_faults_shows_it() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("api_count", origin.addr(), "", "").await;
    let rule = edgecase.add_fault(json!({"status": 521, "count": 2})).await;
    assert_eq!(rule["remaining"], 2, "{rule}");

    assert_error_page(&edgecase.visit("/").await, 521);
    let listed = edgecase.faults().await;
    assert_eq!(listed[0]["remaining"], 1, "{listed:?}");
    assert_eq!(listed[0]["applied"], 1, "{listed:?}");
    assert_error_page(&edgecase.visit("/").await, 521);

    let listed = edgecase.faults().await;
    assert!(
        listed.is_empty() || listed[0]["remaining"] == 0,
        "the spent rule is gone or shows remaining 0: {listed:?}"
    );
    assert_eq!(
        edgecase.visit("/").await.status(),
        200,
        "the third request is proxied"
    );
    edgecase.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Bad requests
// ---------------------------------------------------------------------------------------------

/// Rules the API must refuse: what is wrong, the body, and a word the error must contain.
const BAD_RULES: &[(&str, &str, &str)] = &[
    ("unknown field", r#"{"stauts": 524}"#, "stauts"),
    (
        "bad duration",
        r#"{"status": 524, "delay": "2 seconds"}"#,
        "delay",
    ),
    ("status not emulated", r#"{"status": 418}"#, "status"),
    ("wrong type", r#"{"status": "524"}"#, "status"),
    (
        "percent over 100",
        r#"{"status": 521, "percent": 150.0}"#,
        "percent",
    ),
    (
        "code without 530",
        r#"{"status": 522, "code": 1033}"#,
        "code",
    ),
    ("edge not 50x", r#"{"edge": 520}"#, "edge"),
    ("two actions", r#"{"status": 522, "refuse": true}"#, ""),
    ("no action", r#"{"path_prefix": "/x"}"#, ""),
    ("not an object", r#"[{"status": 524}]"#, ""),
];

#[tokio::test]
async fn bad_rules_answer_400_naming_the_problem_and_change_nothing() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("api_bad", origin.addr(), "", "").await;
    edgecase
        .add_fault(json!({"status": 521, "path_prefix": "/existing"}))
        .await;
    let before = edgecase.faults().await;

    for (what, body, needle) in BAD_RULES {
        let res = edgecase.post("/faults", body).await;
        let message = error_of(&res, 400);
        assert!(
            message.contains(needle),
            "{what}: {body} -> {message:?} names {needle:?}"
        );
        assert_eq!(edgecase.faults().await, before, "{what}: nothing changed");
    }

    let res = edgecase.post("/faults", r#"{"status": 522,"#).await;
    let message = error_of(&res, 400).to_lowercase();
    assert!(
        ["json", "eof", "line", "expected"]
            .iter()
            .any(|w| message.contains(w)),
        "truncated JSON: {message:?}"
    );
    assert_eq!(edgecase.faults().await, before, "bad JSON: nothing changed");
    assert_eq!(
        edgecase.visit("/").await.status(),
        200,
        "no refused rule slipped in"
    );
    edgecase.stop().await;
}

#[tokio::test]
async fn unknown_path_answers_404_and_wrong_method_405_with_allow() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("api_404_405", origin.addr(), "", "").await;
    error_of(&edgecase.get("/nope").await, 404);
    error_of(&edgecase.get("/faults/1/extra").await, 404);
    for (method, path, allowed) in [
        (Method::PUT, "/faults", &["GET", "POST", "DELETE"][..]),
        (Method::POST, "/healthz", &["GET"]),
        (Method::PATCH, "/requests", &["GET"]),
        (Method::POST, "/requests", &["GET"]),
    ] {
        let res = edgecase.call(method.clone(), path, Some("{}"), None).await;
        error_of(&res, 405);
        // RFC 9110 section 15.5.6: a 405 carries `allow`, listing what the resource supports.
        let allow = res.header("allow").unwrap_or_default();
        for expected in allowed {
            assert!(allow.contains(expected), "{method} {path}: allow {allow:?}");
        }
    }
    assert!(edgecase.faults().await.is_empty());
    edgecase.stop().await;
}

// ---------------------------------------------------------------------------------------------
// GET /requests
// ---------------------------------------------------------------------------------------------

/// Every key of a request record.
const RECORD_KEYS: &[&str] = &[
    "ray",
    "time",
    "method",
    "host",
    "path",
    "status",
    "origin_status",
    "cause",
    "fault",
    "origin",
    "dns_ms",
    "connect_ms",
    "tls_ms",
    "wait_ms",
    "head_ms",
    "total_ms",
    "ending",
];

#[tokio::test]
async fn get_requests_lists_recent_requests_newest_first_with_filters() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("api_requests", origin.addr(), "", "").await;
    let rule = edgecase
        .add_fault(json!({"status": 521, "path_prefix": "/broken"}))
        .await;

    let first = within(GUARD, get_with_host(edgecase.edge, "shop.test", "/a")).await;
    let broken = within(
        GUARD,
        get_with_host(edgecase.edge, "shop.test", "/broken?x=1"),
    )
    .await;
    let last = within(GUARD, get_with_host(edgecase.edge, "shop.test", "/b")).await;
    assert_eq!(first.status(), 200);
    assert_error_page(&broken, 521);
    let ray_of = |res: &Response| res.header("cf-ray").expect("cf-ray").to_owned();

    // The record is written as the response ends, which the visitor cannot observe exactly:
    // ask again until all three are in (each ask is a round trip, so this does not spin).
    let records = within(GUARD, async {
        loop {
            let records = array_of(&edgecase.get("/requests").await);
            if records.len() >= 3 {
                break records;
            }
        }
    })
    .await;
    assert_eq!(
        records.len(),
        3,
        "only visitor requests are recorded: {records:?}"
    );
    let paths: Vec<&str> = records
        .iter()
        .map(|r| r["path"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        paths,
        ["/b", "/broken?x=1", "/a"],
        "newest first, query kept"
    );
    for record in &records {
        for key in RECORD_KEYS {
            assert!(record.get(key).is_some(), "{key} in {record}");
        }
        assert_eq!(record["method"], "GET", "{record}");
        assert_eq!(record["host"], "shop.test", "{record}");
        let time = record["time"].as_str().expect("time is a string");
        assert!(
            time.contains('T') && (time.ends_with('Z') || time.ends_with("+00:00")),
            "{time}"
        );
        assert!(
            record["total_ms"].as_f64().is_some_and(|t| t >= 0.0),
            "{record}"
        );
    }
    let (proxied, failed) = (&records[2], &records[1]);
    assert_eq!(proxied["ray"], ray_of(&first));
    assert_eq!(proxied["status"], 200);
    assert_eq!(proxied["origin_status"], 200);
    assert_eq!(proxied["cause"], Value::Null);
    assert_eq!(proxied["fault"], Value::Null);
    assert_eq!(proxied["origin"], origin.addr().to_string());
    assert_eq!(failed["ray"], ray_of(&broken));
    assert_eq!(failed["status"], 521);
    assert_eq!(failed["origin_status"], Value::Null);
    assert_eq!(
        failed["cause"], "refused",
        "an emulated 521 has the real cause: {failed}"
    );
    assert_eq!(failed["fault"], rule["id"]);

    let five_xx = array_of(&edgecase.get("/requests?status=5xx").await);
    assert_eq!(five_xx, std::slice::from_ref(failed));
    let exact = array_of(&edgecase.get("/requests?status=521").await);
    assert_eq!(exact, std::slice::from_ref(failed));
    assert!(array_of(&edgecase.get("/requests?status=4xx").await).is_empty());
    let newest = array_of(&edgecase.get("/requests?limit=1").await);
    assert_eq!(newest, [records[0].clone()]);
    assert_eq!(newest[0]["ray"], ray_of(&last));
    let by_ray = array_of(
        &edgecase
            .get(&format!("/requests?ray={}", ray_of(&first)))
            .await,
    );
    assert_eq!(by_ray, std::slice::from_ref(proxied));
    edgecase.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The token
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn with_a_token_every_endpoint_but_healthz_needs_the_bearer() {
    let origin = Origin::ok("origin").await;
    let token = "token = \"s3cret\"";
    let edgecase = Edgecase::start("api_token", origin.addr(), token, "").await;
    let rule = r#"{"status": 521}"#;
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("s3cret"),
        Some("Basic s3cret"),
    ] {
        for (method, path, body) in [
            (Method::GET, "/faults", None),
            (Method::POST, "/faults", Some(rule)),
            (Method::DELETE, "/faults", None),
            (Method::GET, "/requests", None),
            (Method::GET, "/proxies", None),
        ] {
            let res = edgecase.call(method.clone(), path, body, auth).await;
            assert_eq!(
                res.status(),
                401,
                "{method} {path} with {auth:?}: {}",
                res.text()
            );
        }
    }
    let healthz = edgecase.get("/healthz").await;
    assert_eq!(healthz.status(), 200, "/healthz needs no token");

    let right = Some("Bearer s3cret");
    let listed = edgecase.call(Method::GET, "/faults", None, right).await;
    assert!(
        array_of(&listed).is_empty(),
        "the refused POSTs added nothing"
    );
    let added = edgecase
        .call(Method::POST, "/faults", Some(rule), right)
        .await;
    assert_eq!(added.status(), 201, "{}", added.text());
    assert_error_page(&edgecase.visit("/").await, 521);
    edgecase.stop().await;
}

// ---------------------------------------------------------------------------------------------
// --check
// ---------------------------------------------------------------------------------------------

/// `edgecase --check --config FILE` on `toml`: the exit status and the output.
async fn check(test: &str, toml: &str) -> (Outcome, PathBuf, TempDir) {
    let dir = TempDir::new(test);
    let file = dir.write("edgecase.toml", toml);
    let outcome = run(&["--check", "--config", path_arg(&file)]).await;
    (outcome, file, dir)
}

/// Asserts exit 2 and one stderr line per key, `edgecase: FILE: KEY: why`, in order.
#[track_caller]
fn assert_rejected(outcome: &Outcome, file: &Path, keys: &[&str]) {
    assert_exit_code(outcome, EXIT_BAD_CONFIG);
    assert_no_panic(outcome);
    let lines: Vec<&str> = outcome
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        keys.len(),
        "one line per problem:\n{}",
        outcome.stderr
    );
    for (line, key) in lines.iter().zip(keys) {
        let prefix = format!("edgecase: {}: {key}: ", file.display());
        assert!(line.starts_with(&prefix), "{line:?} starts with {prefix:?}");
        assert!(line.len() > prefix.len(), "{line:?} says why");
    }
}

#[tokio::test]
async fn check_refuses_a_non_loopback_admin_listen_without_a_token_naming_admin_listen() {
    let toml = "[admin]\nlisten = \"0.0.0.0:0\"\n";
    let (outcome, file, _dir) = check("admin_open", toml).await;
    assert_rejected(&outcome, &file, &["admin.listen"]);
    assert!(
        outcome.stderr.contains("token"),
        "says what would allow it: {}",
        outcome.stderr
    );

    let (outcome, file, _dir) = check("admin_token", &format!("{toml}token = \"s3cret\"\n")).await;
    assert_exit_code(&outcome, 0);
    assert_eq!(
        outcome.stdout.trim(),
        format!("edgecase: {}: config is valid", file.display())
    );
}

#[tokio::test]
async fn check_rejects_bad_fault_tables_naming_fault_index_and_key() {
    for (test, toml, keys) in [
        (
            "fault_key",
            "[[fault]]\nstauts = 524\n",
            &["fault[0].stauts"][..],
        ),
        (
            "fault_status",
            "[[fault]]\nstatus = 418\n",
            &["fault[0].status"],
        ),
        (
            "fault_second",
            "[[fault]]\nstatus = 521\n[[fault]]\nstatus = 524\ndelay = \"2 seconds\"\n",
            &["fault[1].delay"],
        ),
        (
            "fault_percent",
            "[[fault]]\nrefuse = true\npercent = 101.0\n",
            &["fault[0].percent"],
        ),
    ] {
        let (outcome, file, _dir) = check(test, toml).await;
        assert_rejected(&outcome, &file, keys);
    }
}

// ---------------------------------------------------------------------------------------------
// Header faults
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn header_faults_are_off_by_default_and_the_header_never_reaches_the_origin() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("api_header_off", origin.addr(), "", "").await;
    let request = Request::get("/")
        .header("cf-edgecase-fault", "524")
        .body(Full::new(Bytes::new()))
        .expect("a valid request");
    let res = within(GUARD, send(edgecase.edge, request)).await;
    assert_eq!(
        res.status(),
        200,
        "the header asks for nothing: {}",
        res.text()
    );
    assert_eq!(res.text(), "origin");
    let seen = origin.last_request().expect("the origin saw the request");
    assert_eq!(
        seen.header("cf-edgecase-fault"),
        None,
        "stripped: {:?}",
        seen.headers
    );
    edgecase.stop().await;
}
