//! `[capture] sanitize` through an in-process edge: visitors send every kind of credential (an
//! `Authorization`, a `Cookie`, an `X-Api-Key`, a header named in `redact_headers`, secret
//! query parameters, a form body with a password, a JSON body with a secret) to an origin that
//! sets a cookie; `GET /har` and the `[capture] har` file then hold none of the secret values
//! anywhere in their text, but every name and a `log.comment` saying they were sanitized. With
//! `sanitize = false` both hold the values. An h2 request over HTTPS on a port other than 443
//! is captured with its port in the URL and its `:authority` as `host`. The access log and
//! `/requests` blank the same query parameters.
mod support;

use std::net::SocketAddr;
use std::path::Path;

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::Full;
use serde_json::Value;

use edgecase::EdgeHandle;
use support::har::check_har;
use support::https::{H2, HttpsVisitor};
use support::observe::{admin_get, edge_toml, json_body, poll_file, ray_of, start, toml_path};
use support::origins::Origin;
use support::pki::{TempDir, TestCa};
use support::visitor::{Response, send, within};
use support::{ACK_MS, CONNECT_MS, GUARD, READ_MS, WRITE_MS};

/// The custom header `[capture] redact_headers` names.
const TENANT_HEADER: &str = "x-tenant-secret";
/// The custom query parameter `[capture] redact_query` names.
const OTP_PARAM: &str = "otp";

/// Every secret value the visitors and the origin send. Each is unique, so finding it anywhere
/// in a HAR's text means it leaked.
const SECRETS: [&str; 11] = [
    "authsecret-3f9a",
    "cookiesecret-8c1d",
    "apikeysecret-71be",
    "tenantsecret-0d42",
    "querytoken-5e6f",
    "queryapikey-a913",
    "queryotp-44c2",
    "formpassword-9b07",
    "jsonsecret-c5d8",
    "jsonnested-e2a1",
    "setcookie-6f30",
];

/// What the origin answers: a 200 that sets a cookie.
const SET_COOKIE: &str = "session=setcookie-6f30; Path=/; HttpOnly; Secure";

/// A `[capture]` table capturing 200s into `har`, sanitizing or not.
fn capture_table(har: &Path, sanitize: bool) -> String {
    format!(
        "[capture]\nhar = {}\nstatuses = [\"2xx\"]\nsanitize = {sanitize}\n\
         redact_headers = [\"X-Tenant-Secret\"]\nredact_query = [\"{OTP_PARAM}\"]\n",
        toml_path(har)
    )
}

/// `POST path` to `shop.test` with `content_type` and `body`, and every credential header.
async fn post(edge: SocketAddr, path: &str, content_type: &str, body: &str) -> Response {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, "shop.test")
        .header(header::AUTHORIZATION, "Bearer authsecret-3f9a")
        .header(header::COOKIE, "sid=cookiesecret-8c1d; theme=dark")
        .header("x-api-key", "apikeysecret-71be")
        .header(TENANT_HEADER, "tenantsecret-0d42")
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("a valid test request");
    within(GUARD, send(edge, request)).await
}

/// Sends the two requests that carry every secret; returns their rays.
async fn send_every_secret(edge: &EdgeHandle) -> Vec<String> {
    let form = post(
        edge.addr(),
        "/login?token=querytoken-5e6f&api_key=queryapikey-a913&otp=queryotp-44c2&page=2",
        "application/x-www-form-urlencoded",
        "user=ada&password=formpassword-9b07",
    )
    .await;
    assert_eq!(form.status(), 200, "{}", form.text());
    let json = post(
        edge.addr(),
        "/api/items",
        "application/json",
        r#"{"user":"ada","secret":"jsonsecret-c5d8","auth":{"Password":"jsonnested-e2a1"}}"#,
    )
    .await;
    assert_eq!(json.status(), 200, "{}", json.text());
    vec![ray_of(&form), ray_of(&json)]
}

/// The HAR file's text once it holds `n` entries (checked as HAR 1.2).
async fn file_text(path: &Path, n: usize) -> String {
    poll_file(path, |text| {
        let har: Value = serde_json::from_str(text).ok()?;
        (har["log"]["entries"].as_array()?.len() >= n).then(|| text.to_owned())
    })
    .await
}

/// `GET /har` of the 2xx requests, as text.
async fn har_text(edge: &EdgeHandle) -> String {
    let res = admin_get(edge, "/har?status=2xx").await;
    assert_eq!(res.status(), 200, "{}", res.text());
    res.text().into_owned()
}

/// Parses `text` as a HAR document with exactly the entries of `rays`, in order.
#[track_caller]
fn har_of(text: &str, rays: &[String], what: &str) -> Value {
    let har: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: JSON: {e}"));
    check_har(&har).unwrap_or_else(|why| panic!("{what}: not HAR 1.2: {why}\n{har:#}"));
    let found: Vec<&str> = har["log"]["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| entry["_cfRay"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(found, rays, "{what}: the entries of the requests sent");
    har
}

/// The names of the request headers, cookies and query parameters of `entry`, and of the
/// cookies its response set.
fn names(entry: &Value) -> Vec<String> {
    let listed = |list: &Value| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item["name"].as_str().map(str::to_owned))
            .collect()
    };
    let request = &entry["request"];
    [
        listed(&request["headers"]),
        listed(&request["cookies"]),
        listed(&request["queryString"]),
        listed(&request["postData"]["params"]),
        listed(&entry["response"]["cookies"]),
    ]
    .concat()
}

/// Asserts that `text` (a HAR document's) holds no secret, but every name and the comment.
#[track_caller]
fn assert_sanitized(text: &str, rays: &[String], what: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} leaks {secret}:\n{text}");
    }
    let har = har_of(text, rays, what);
    let comment = har["log"]["comment"].as_str().unwrap_or_default();
    assert!(
        comment.starts_with("sanitized by edgecase") && comment.contains("sanitize = false"),
        "{what}: log.comment says it is sanitized: {comment:?}"
    );
    let form = &har["log"]["entries"][0];
    let form_names = names(form);
    for name in [
        "authorization",
        "cookie",
        "x-api-key",
        TENANT_HEADER,
        "sid",
        "theme",
        "token",
        "api_key",
        OTP_PARAM,
        "page",
        "user",
        "password",
        "session",
    ] {
        assert!(
            form_names.iter().any(|n| n == name),
            "{what}: {name} is kept: {form_names:?}"
        );
    }
    assert_eq!(
        form["request"]["url"],
        "http://shop.test/login?token=[redacted]&api_key=[redacted]&otp=[redacted]&page=2",
        "{what}"
    );
    let content_type = form["request"]["headers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|h| h["name"] == "content-type");
    assert_eq!(
        content_type.map(|h| &h["value"]),
        Some(&Value::from("application/x-www-form-urlencoded")),
        "{what}: other headers are kept"
    );
    let json = &har["log"]["entries"][1];
    let body: Value = serde_json::from_str(
        json["request"]["postData"]["text"]
            .as_str()
            .unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{what}: the JSON body is still JSON: {e}"));
    assert_eq!(
        body,
        serde_json::json!({"user": "ada", "secret": "[redacted]",
                           "auth": {"Password": "[redacted]"}}),
        "{what}"
    );
}

#[tokio::test]
async fn every_kind_of_credential_is_redacted_from_get_har_and_the_har_file() {
    static HEADERS: [(&str, &str); 1] = [("set-cookie", SET_COOKIE)];
    let origin = Origin::with_headers(200, &HEADERS, "welcome").await;
    let dir = TempDir::new("har_sanitized");
    let har = dir.path().join("shared.har");
    let toml = edge_toml(
        origin.addr(),
        2_000,
        2_000,
        "access = \"off\"",
        &capture_table(&har, true),
    );
    let edge = start(&toml).await;
    let rays = send_every_secret(&edge).await;

    assert_sanitized(&har_text(&edge).await, &rays, "GET /har");
    assert_sanitized(&file_text(&har, rays.len()).await, &rays, "the HAR file");
}

#[tokio::test]
async fn sanitize_false_keeps_every_value_in_get_har_and_the_har_file() {
    static HEADERS: [(&str, &str); 1] = [("set-cookie", SET_COOKIE)];
    let origin = Origin::with_headers(200, &HEADERS, "welcome").await;
    let dir = TempDir::new("har_in_clear");
    let har = dir.path().join("clear.har");
    let toml = edge_toml(
        origin.addr(),
        2_000,
        2_000,
        "access = \"off\"",
        &capture_table(&har, false),
    );
    let edge = start(&toml).await;
    let rays = send_every_secret(&edge).await;

    let texts = [
        ("GET /har", har_text(&edge).await),
        ("the HAR file", file_text(&har, rays.len()).await),
    ];
    for (what, text) in texts {
        let document = har_of(&text, &rays, what);
        for secret in SECRETS {
            assert!(text.contains(secret), "{what} keeps {secret}:\n{text}");
        }
        assert!(
            !text.contains("[redacted]"),
            "{what}: nothing is redacted:\n{text}"
        );
        assert_eq!(document["log"]["comment"], Value::Null, "{what}");
    }
}

#[tokio::test]
async fn an_h2_request_over_https_on_its_own_port_is_captured_with_port_and_host() {
    let origin = Origin::ok("over h2").await;
    let ca = TestCa::new("edgecase HAR h2 test CA");
    let identity = ca.issue(&["localhost"]);
    let dir = TempDir::new("har_h2");
    let (cert, key) = identity.write_to(&dir, "edge");
    let toml = format!(
        "[edge]\nlisten = \"127.0.0.1:0\"\ntls_listen = \"127.0.0.1:0\"\n\
         tls_cert = {}\ntls_key = {}\nshutdown_grace = \"1s\"\n\
         [origin]\naddress = \"{}\"\nssl = \"flexible\"\n\
         [timeouts]\nconnect = \"{CONNECT_MS}ms\"\nack = \"{ACK_MS}ms\"\n\
         write = \"{WRITE_MS}ms\"\nread = \"{READ_MS}ms\"\n\
         [dns]\nsystem = false\n[admin]\nlisten = \"127.0.0.1:0\"\n[log]\naccess = \"off\"\n\
         [capture]\nstatuses = [\"2xx\"]\n",
        toml_path(&cert),
        toml_path(&key),
        origin.addr(),
    );
    let edge = start(&toml).await;
    let https = edge.https_addr().expect("tls_listen is set");
    assert_ne!(https.port(), 443, "the port must show in the URL");
    let authority = format!("localhost:{}", https.port());

    let res = within(
        GUARD,
        HttpsVisitor::new(ca.cert_der(), "localhost")
            .alpn(&[H2])
            .host(&authority)
            .get(https, "/h2/page?token=h2token-1b7c&x=1"),
    )
    .await;
    assert_eq!(res.tls.alpn.as_deref(), Some(H2), "negotiated h2");
    assert_eq!(res.response.status(), 200, "{}", res.response.text());

    let ray = ray_of(&res.response);
    let text = admin_get(&edge, &format!("/har?ray={ray}")).await;
    let har = har_of(&text.text(), &[ray], "GET /har");
    let entry = &har["log"]["entries"][0];
    assert_eq!(entry["request"]["httpVersion"], "HTTP/2", "{entry:#}");
    assert_eq!(
        entry["request"]["url"],
        format!("https://{authority}/h2/page?token=[redacted]&x=1"),
        "{entry:#}"
    );
    let headers = entry["request"]["headers"].as_array().expect("headers");
    assert!(
        headers
            .iter()
            .any(|h| h["name"] == "host" && h["value"] == authority.as_str()),
        "the authority is listed as host: {headers:#?}"
    );
    assert!(
        !json_body(&text).to_string().contains("h2token-1b7c"),
        "the token is redacted"
    );
}

#[tokio::test]
async fn secret_query_parameters_are_blanked_in_the_access_log_and_requests_too() {
    for sanitize in [true, false] {
        let origin = Origin::ok("welcome").await;
        let dir = TempDir::new("log_sanitized");
        let log = dir.path().join("access.log");
        let toml = edge_toml(
            origin.addr(),
            2_000,
            2_000,
            &format!("access = {}\nformat = \"json\"", toml_path(&log)),
            &capture_table(&dir.path().join("unused.har"), sanitize),
        );
        let edge = start(&toml).await;
        let rays = send_every_secret(&edge).await;

        let lines = support::observe::log_lines_for(&log, &rays[..1]).await;
        let line = lines[0].to_string();
        let record = support::faults::record_of_ray(&edge, &rays[0]).await;
        let seen = [("the log line", line), ("/requests", record.path)];
        for (what, text) in seen {
            for secret in ["querytoken-5e6f", "queryapikey-a913", "queryotp-44c2"] {
                assert_eq!(
                    text.contains(secret),
                    !sanitize,
                    "{what} with sanitize = {sanitize}: {text}"
                );
            }
            assert!(text.contains("page=2"), "{what} keeps the rest: {text}");
        }
        // The origin still gets the URL as the visitor sent it.
        let sent = origin.requests()[0].uri.to_string();
        assert!(sent.contains("querytoken-5e6f"), "{sent}");
    }
}
