//! Structured errors through the real edge: an edge-made error negotiated on `Accept` (JSON with
//! RFC 9457 and Cloudflare's fields, Markdown, or the HTML page for browsers), the 2026
//! `retry-after` header, Cloudflare's `/cdn-cgi/error/<code>` test endpoint answered without
//! touching the origin, and `[edge] structured_errors = false` restoring the pre-2026 HTML-only
//! answers without `retry-after`.
mod support;

use bytes::Bytes;
use edgecase::config::Config;
use http::{Request, header};
use http_body_util::Empty;
use serde_json::{Map, Value};

use support::origins::Origin;
use support::visitor::{Response, send, within};
use support::{
    GUARD, assert_branded_host_error, assert_error_page, assert_ray_format, spawn_edge, test_config,
};

/// The Host every test sends; the structured forms name it as the `zone`.
const HOST: &str = "shop.example.test";

/// What Chrome sends for a page load.
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,\
                              image/avif,image/webp,image/apng,*/*;q=0.8,\
                              application/signed-exchange;v=b3;q=0.7";

/// Where Cloudflare's troubleshooting articles live; every `type` is under it.
const DOCS: &str = "https://developers.cloudflare.com/support/troubleshooting/http-status-codes/";

/// The seventeen fields of Cloudflare's JSON error, RFC 9457's first.
const FIELDS: [&str; 17] = [
    "type",
    "title",
    "status",
    "detail",
    "instance",
    "error_code",
    "error_name",
    "error_category",
    "ray_id",
    "timestamp",
    "zone",
    "cloudflare_error",
    "retryable",
    "retry_after",
    "owner_action_required",
    "what_you_should_do",
    "footer",
];

/// `GET path` with `Host: HOST` and, if given, `Accept: accept`.
async fn get_accepting(edge: &support::Edge, path: &str, accept: Option<&str>) -> Response {
    let mut builder = Request::get(path).header(header::HOST, HOST);
    if let Some(accept) = accept {
        builder = builder.header(header::ACCEPT, accept);
    }
    let request = builder
        .body(Empty::<Bytes>::new())
        .expect("a valid test request");
    within(GUARD, send(edge.addr(), request)).await
}

/// `config` with `[edge] structured_errors = false`, parsed as the config file would be.
fn structured_errors_off(mut config: Config) -> Config {
    let parsed =
        Config::from_toml_str("[edge]\nstructured_errors = false\n[dns]\nsystem = false\n")
            .expect("the [edge] table is valid");
    assert!(
        !parsed.edge.structured_errors,
        "the TOML key turns structured errors off"
    );
    config.edge.structured_errors = parsed.edge.structured_errors;
    config
}

/// Asserts `res` carries Cloudflare's error headers with `content_type`, and returns its ray.
#[track_caller]
fn assert_edge_error_headers(res: &Response, status: u16, content_type: &str) -> String {
    assert_eq!(res.status().as_u16(), status, "body: {}", res.text());
    assert_eq!(res.header("content-type"), Some(content_type));
    assert_eq!(res.header("server"), Some("cloudflare"));
    assert_eq!(
        res.header("cache-control"),
        Some(
            "private, max-age=0, no-store, no-cache, must-revalidate, post-check=0, \
             pre-check=0"
        )
    );
    assert_eq!(res.header("expires"), Some("Thu, 01 Jan 1970 00:00:01 GMT"));
    assert_eq!(res.header("referrer-policy"), Some("same-origin"));
    assert_eq!(res.header("x-frame-options"), Some("SAMEORIGIN"));
    let ray = res.header("cf-ray").expect("cf-ray header").to_owned();
    assert_ray_format(&ray);
    ray
}

/// The body of `res` as a JSON object, with exactly [`FIELDS`].
#[track_caller]
fn json_object(res: &Response) -> Map<String, Value> {
    let value: Value = serde_json::from_slice(&res.body)
        .unwrap_or_else(|e| panic!("the body is JSON ({e}): {}", res.text()));
    let Value::Object(map) = value else {
        panic!("the body is a JSON object: {}", res.text());
    };
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    let mut expected = FIELDS.to_vec();
    keys.sort_unstable();
    expected.sort_unstable();
    assert_eq!(keys, expected, "the fields of Cloudflare's JSON error");
    map
}

/// The `key: value` lines of a Markdown body's front matter.
fn front_matter(markdown: &str) -> Vec<(String, String)> {
    let rest = markdown
        .strip_prefix("---\n")
        .unwrap_or_else(|| panic!("front matter opens the document: {markdown}"));
    let end = rest.find("\n---\n").expect("the front matter closes");
    rest[..end]
        .lines()
        .map(|line| {
            let (key, value) = line.split_once(": ").expect("key: value");
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn json_accept_gets_the_structured_521_with_the_ray_of_the_header() {
    let origin = Origin::refusing().await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let res = get_accepting(&edge, "/checkout", Some("application/json")).await;

    let ray = assert_edge_error_headers(&res, 521, "application/json; charset=UTF-8");
    assert_eq!(res.header("retry-after"), Some("120"));
    let json = json_object(&res);
    assert_eq!(json["ray_id"], ray.as_str(), "ray_id is the cf-ray header");
    assert_eq!(
        json["instance"],
        ray.as_str(),
        "RFC 9457 instance is the ray ID"
    );
    assert_eq!(json["status"], 521);
    assert_eq!(json["error_code"], 521);
    assert_eq!(json["title"], "Error 521: Web server is down");
    assert_eq!(json["error_name"], "Web server is down");
    assert_eq!(json["error_category"], "origin");
    assert_eq!(
        json["type"],
        format!("{DOCS}cloudflare-5xx-errors/error-521/").as_str()
    );
    assert_eq!(json["zone"], HOST);
    assert_eq!(json["cloudflare_error"], true);
    assert_eq!(json["retryable"], true);
    assert_eq!(json["retry_after"], 120);
    assert_eq!(json["owner_action_required"], true);
    for text in ["detail", "what_you_should_do"] {
        assert!(
            json[text].as_str().is_some_and(|t| !t.is_empty()),
            "{text}: {}",
            json[text]
        );
    }
    let timestamp = json["timestamp"].as_str().expect("timestamp is a string");
    assert_eq!(timestamp.len(), "2024-09-05T16:16:38Z".len(), "{timestamp}");
    assert!(timestamp.ends_with('Z') && timestamp.as_bytes()[10] == b'T');
    let footer = json["footer"].as_str().expect("footer is a string");
    assert!(
        footer.starts_with(&format!(
            "Cloudflare Ray ID: {} \u{2022} Your IP: 127.0.0.1",
            &ray[..16]
        )),
        "{footer}"
    );
    assert!(footer.ends_with("Performance & security by Cloudflare"));
    let text = res.text();
    assert!(
        !text.contains("<html") && !text.contains("<!DOCTYPE"),
        "{text}"
    );
}

#[tokio::test]
async fn problem_json_accept_gets_json_too() {
    let origin = Origin::refusing().await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let res = get_accepting(&edge, "/", Some("application/problem+json")).await;

    assert_edge_error_headers(&res, 521, "application/json; charset=UTF-8");
    assert_eq!(json_object(&res)["status"], 521);
}

#[tokio::test]
async fn markdown_accept_gets_the_markdown_521() {
    let origin = Origin::refusing().await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let res = get_accepting(&edge, "/", Some("text/markdown")).await;

    let ray = assert_edge_error_headers(&res, 521, "text/markdown; charset=UTF-8");
    assert_eq!(res.header("retry-after"), Some("120"));
    let markdown = res.text();
    let front = front_matter(&markdown);
    for (key, value) in [
        ("error_code", "521".to_owned()),
        ("status", "521".to_owned()),
        ("error_category", "\"origin\"".to_owned()),
        ("ray_id", format!("\"{ray}\"")),
        ("zone", format!("\"{HOST}\"")),
        ("retry_after", "120".to_owned()),
        ("owner_action_required", "true".to_owned()),
    ] {
        assert!(
            front.contains(&(key.to_owned(), value.clone())),
            "front matter lacks {key}: {value}: {front:?}"
        );
    }
    for part in [
        "\n# Error 521: Web server is down\n",
        "\n## What happened\n",
        "\n## What you should do\n",
        &format!("- Ray ID: {ray}\n"),
        &format!("- Zone: {HOST}\n"),
        " UTC\n",
    ] {
        assert!(markdown.contains(part), "missing {part:?} in:\n{markdown}");
    }
    assert!(!markdown.contains("<html"), "{markdown}");
}

#[tokio::test]
async fn a_browser_and_a_client_without_accept_get_the_html_page() {
    let origin = Origin::refusing().await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    for accept in [Some(BROWSER_ACCEPT), Some("*/*"), None] {
        let res = get_accepting(&edge, "/", accept).await;
        assert_branded_host_error(&res, HOST, 521, "Web server is down");
        assert_eq!(res.header("retry-after"), Some("120"), "{accept:?}");
    }
}

#[tokio::test]
async fn q_values_decide_between_the_forms() {
    let origin = Origin::refusing().await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    for (accept, content_type) in [
        (
            "text/html;q=0.9, application/json",
            "application/json; charset=UTF-8",
        ),
        (
            "application/json;q=0.5, text/html",
            "text/html; charset=UTF-8",
        ),
        (
            "text/markdown, application/json",
            "text/markdown; charset=UTF-8",
        ),
        (
            "application/json, text/markdown;q=0.9",
            "application/json; charset=UTF-8",
        ),
        ("*/*;q=0.1", "text/html; charset=UTF-8"),
        ("not a media type;q=x", "text/html; charset=UTF-8"),
    ] {
        let res = get_accepting(&edge, "/", Some(accept)).await;
        assert_eq!(res.status().as_u16(), 521, "{accept}");
        assert_eq!(res.header("content-type"), Some(content_type), "{accept}");
    }
}

#[tokio::test]
async fn cdn_cgi_error_522_answers_without_contacting_the_origin() {
    let origin = Origin::ok("must not be seen").await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let html = get_accepting(&edge, "/cdn-cgi/error/522", None).await;
    assert_branded_host_error(&html, HOST, 522, "Connection timed out");
    assert_eq!(html.header("retry-after"), Some("120"));

    let json = get_accepting(&edge, "/cdn-cgi/error/522", Some("application/json")).await;
    let ray = assert_edge_error_headers(&json, 522, "application/json; charset=UTF-8");
    let fields = json_object(&json);
    assert_eq!(fields["error_code"], 522);
    assert_eq!(fields["title"], "Error 522: Connection timed out");
    assert_eq!(fields["ray_id"], ray.as_str());
    assert_ne!(
        html.header("cf-ray"),
        Some(ray.as_str()),
        "each request has its own ray ID"
    );

    assert_eq!(origin.connections(), 0, "the origin was never connected to");
    assert!(origin.requests().is_empty());
}

#[tokio::test]
async fn cdn_cgi_error_1033_is_a_530_with_retry_after_120() {
    let origin = Origin::ok("must not be seen").await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let json = get_accepting(&edge, "/cdn-cgi/error/1033", Some("application/json")).await;
    assert_edge_error_headers(&json, 530, "application/json; charset=UTF-8");
    assert_eq!(json.header("retry-after"), Some("120"));
    let fields = json_object(&json);
    assert_eq!(fields["status"], 530);
    assert_eq!(fields["error_code"], 1033);
    assert_eq!(fields["title"], "Error 1033: Argo Tunnel error");
    assert_eq!(fields["retry_after"], 120);
    assert_eq!(fields["retryable"], true);
    assert_eq!(
        fields["type"],
        format!("{DOCS}cloudflare-1xxx-errors/error-1033/").as_str()
    );

    let html = get_accepting(&edge, "/cdn-cgi/error/1033", Some(BROWSER_ACCEPT)).await;
    assert_error_page(&html, 530);
    assert_eq!(html.header("retry-after"), Some("120"));
    assert!(
        html.text()
            .contains("<span class=\"cf-error-code\">1033</span></h1>"),
        "{}",
        html.text()
    );

    assert_eq!(origin.connections(), 0, "the origin was never connected to");
    assert!(origin.requests().is_empty());
}

#[tokio::test]
async fn cdn_cgi_error_1015_is_a_rate_limit_429_with_retry_after_30() {
    let origin = Origin::ok("must not be seen").await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let res = get_accepting(&edge, "/cdn-cgi/error/1015", Some("text/markdown")).await;

    assert_edge_error_headers(&res, 429, "text/markdown; charset=UTF-8");
    assert_eq!(res.header("retry-after"), Some("30"));
    let markdown = res.text();
    assert!(markdown.contains("\n# Error 1015: You are being rate limited\n"));
    let front = front_matter(&markdown);
    assert!(front.contains(&("error_category".to_owned(), "\"rate_limit\"".to_owned())));
    assert!(front.contains(&("owner_action_required".to_owned(), "false".to_owned())));
    assert_eq!(origin.connections(), 0);
}

#[tokio::test]
async fn cdn_cgi_error_with_an_unknown_code_is_404_without_contacting_the_origin() {
    let origin = Origin::ok("must not be seen").await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    for path in [
        "/cdn-cgi/error/999",
        "/cdn-cgi/error/1999",
        "/cdn-cgi/error/abc",
        "/cdn-cgi/error/",
        "/cdn-cgi/error/522/x",
    ] {
        let res = get_accepting(&edge, path, Some("application/json")).await;
        assert_edge_error_headers(&res, 404, "application/json; charset=UTF-8");
        assert_eq!(json_object(&res)["status"], 404, "{path}");
    }
    assert_eq!(origin.connections(), 0);
}

#[tokio::test]
async fn structured_errors_off_sends_html_for_json_and_no_retry_after() {
    let origin = Origin::refusing().await;
    let edge = spawn_edge(structured_errors_off(test_config(origin.addr()))).await;

    for accept in ["application/json", "text/markdown", BROWSER_ACCEPT] {
        let res = get_accepting(&edge, "/", Some(accept)).await;
        assert_branded_host_error(&res, HOST, 521, "Web server is down");
        assert_eq!(res.header("retry-after"), None, "{accept}");
    }
}

#[tokio::test]
async fn structured_errors_off_keeps_cdn_cgi_error_in_html() {
    let origin = Origin::ok("must not be seen").await;
    let edge = spawn_edge(structured_errors_off(test_config(origin.addr()))).await;

    let res = get_accepting(&edge, "/cdn-cgi/error/1033", Some("application/json")).await;

    assert_error_page(&res, 530);
    assert_eq!(res.header("retry-after"), None);
    assert_eq!(origin.connections(), 0);
}

#[tokio::test]
async fn the_origins_own_errors_pass_through_whatever_the_accept() {
    let origin = Origin::status(503, "origin says busy").await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let res = get_accepting(&edge, "/", Some("application/json")).await;

    assert_eq!(res.status().as_u16(), 503);
    assert_eq!(res.text(), "origin says busy");
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(res.header("retry-after"), None);
}
