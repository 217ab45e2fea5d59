//! Tests of the structured forms: every field of the JSON with its type and value for every
//! page kind, the Markdown's front matter and sections, the headers shared with the HTML page,
//! and escaping of a hostile Host in both formats.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::Response;
use hyper::ext::ReasonPhrase;
use serde_json::Value;

use super::*;
use crate::pages::{Form, Hop, render, render_as};
use crate::ray::{Colo, RayId};

const RAY: u64 = 0x230b_0300_23ae_2822;
const DOCS: &str = "https://developers.cloudflare.com/support/troubleshooting/http-status-codes/";
const FOOTER: &str = "Cloudflare Ray ID: 230b030023ae2822 \u{2022} Your IP: 203.0.113.7 \u{2022} \
                      Performance & security by Cloudflare";

/// The request of every test: 2024-09-05 16:16:38 UTC, retry-after on (the 2026 edge).
fn ctx(host: &str) -> PageContext<'_> {
    PageContext {
        host,
        ray: RayId::new(RAY, Colo::DEFAULT),
        client_ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
        at: UNIX_EPOCH + Duration::from_secs(1_725_552_998),
        retry_after: true,
    }
}

fn branded(status: u16, failing: Hop) -> PageKind {
    PageKind::Branded { status, failing }
}

fn numbered(status: u16, code: u16) -> PageKind {
    PageKind::Numbered { status, code }
}

fn body(response: &Response<Bytes>) -> &str {
    std::str::from_utf8(response.body()).expect("bodies are UTF-8")
}

fn header<'r>(response: &'r Response<Bytes>, name: &str) -> Option<&'r str> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("header values are ASCII"))
}

fn json(
    kind: PageKind,
    ctx: &PageContext<'_>,
) -> (Response<Bytes>, serde_json::Map<String, Value>) {
    let response = render_as(kind, ctx, Form::Json);
    let value: Value = serde_json::from_slice(response.body()).expect("the body is JSON");
    match value {
        Value::Object(map) => (response, map),
        other => panic!("not an object: {other}"),
    }
}

/// The `key: value` lines of the Markdown's front matter.
fn front_matter(markdown: &str) -> Vec<(&str, &str)> {
    let rest = markdown
        .strip_prefix("---\n")
        .expect("front matter opens the document");
    let end = rest.find("\n---\n").expect("front matter closes");
    rest[..end]
        .lines()
        .map(|line| line.split_once(": ").expect("key: value"))
        .collect()
}

/// One page kind and its expected JSON facts: (kind, error_code, category, retryable,
/// retry_after, owner_action_required).
type Case = (PageKind, u16, &'static str, bool, Option<u64>, bool);

/// A branded page with the Host hop failing.
fn host(status: u16) -> PageKind {
    branded(status, Hop::Host)
}

/// A branded page with the Cloudflare hop failing.
fn cloudflare(status: u16) -> PageKind {
    branded(status, Hop::Cloudflare)
}

/// Cloudflare's own unbranded page.
fn bare(status: u16) -> PageKind {
    PageKind::Unbranded { status }
}

/// Every page kind the edge can send, with its expected JSON facts.
fn cases() -> Vec<Case> {
    vec![
        (cloudflare(500), 500, "cloudflare", true, Some(30), false),
        (host(502), 502, "origin", true, Some(60), true),
        (host(504), 504, "origin", true, Some(120), true),
        (host(520), 520, "origin", true, Some(60), true),
        (host(521), 521, "origin", true, Some(120), true),
        (host(522), 522, "origin", true, Some(120), true),
        (host(523), 523, "origin", true, Some(120), true),
        (host(524), 524, "origin", true, Some(120), true),
        (host(525), 525, "ssl", false, None, true),
        (host(526), 526, "ssl", false, None, true),
        (host(527), 527, "origin", true, None, true),
        (numbered(530, 1016), 1016, "dns", false, None, true),
        (numbered(530, 1033), 1033, "origin", true, Some(120), true),
        (
            numbered(429, 1015),
            1015,
            "rate_limit",
            true,
            Some(30),
            false,
        ),
        (
            numbered(403, 1020),
            1020,
            "access_denied",
            false,
            None,
            false,
        ),
        (numbered(403, 1000), 1000, "dns", false, None, true),
        (
            numbered(530, 1205),
            1205,
            "configuration",
            true,
            Some(5),
            true,
        ),
        (bare(502), 502, "cloudflare", true, Some(60), false),
        (bare(503), 503, "cloudflare", true, None, false),
        (bare(504), 504, "cloudflare", true, Some(120), false),
        (bare(400), 400, "request", false, None, false),
        (bare(404), 404, "request", false, None, false),
    ]
}

fn escaped(text: &str) -> String {
    let mut out = String::new();
    push_markdown_escaped(&mut out, text);
    out
}

fn yaml(value: &str) -> String {
    let mut out = String::new();
    push_yaml_field(&mut out, "k", value);
    out
}

#[test]
fn markdown_escaping_neutralises_links_html_and_line_breaks() {
    assert_eq!(escaped("example.com"), "example.com");
    assert_eq!(
        escaped("shop-1.example.com:8080"),
        "shop-1.example.com:8080"
    );
    assert_eq!(
        escaped("[x](http://evil)<b>&"),
        "\\[x\\]\\(http://evil\\)\\<b\\>\\&"
    );
    assert_eq!(escaped("a\r\n# b"), "a\u{fffd}\u{fffd}\\# b");
}

#[test]
fn yaml_scalars_escape_quotes_backslashes_and_controls() {
    assert_eq!(yaml("example.com"), "k: \"example.com\"\n");
    assert_eq!(yaml("a\"b\\c"), "k: \"a\\\"b\\\\c\"\n");
    assert_eq!(yaml("a\nb\u{0}\u{85}"), "k: \"a\\u000Ab\\u0000\\u0085\"\n");
    assert_eq!(yaml("café: #x"), "k: \"café: #x\"\n");
    assert_eq!(yaml("<a>&"), "k: \"\\u003Ca\\u003E\\u0026\"\n");
}

#[test]
fn json_has_every_field_with_the_right_type_and_value() {
    let fields = [
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
    for (kind, code, category, retryable, retry_after, owner) in cases() {
        let (response, map) = json(kind, &ctx("example.com"));
        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
        assert_eq!(keys.len(), fields.len(), "{kind:?}: {keys:?}");
        for field in fields {
            assert!(map.contains_key(field), "{kind:?} lacks {field}");
        }
        let text = |key: &str| {
            map[key]
                .as_str()
                .unwrap_or_else(|| panic!("{kind:?}: {key} is not a string"))
        };
        let flag = |key: &str| {
            map[key]
                .as_bool()
                .unwrap_or_else(|| panic!("{kind:?}: {key} is not a bool"))
        };
        let name = match kind {
            PageKind::Numbered { code, .. } => text::numbered_title(code),
            other => text::title(other.status()),
        };
        assert!(text("type").starts_with(DOCS), "{kind:?}");
        assert!(text("type").ends_with('/'), "{kind:?}");
        assert_eq!(text("title"), format!("Error {code}: {name}"), "{kind:?}");
        assert_eq!(map["status"].as_u64(), Some(u64::from(kind.status())));
        assert_eq!(response.status().as_u16(), kind.status());
        assert!(!text("detail").is_empty(), "{kind:?}");
        assert_eq!(Some(text("instance")), header(&response, "cf-ray"));
        assert_eq!(
            map["error_code"].as_u64(),
            Some(u64::from(code)),
            "{kind:?}"
        );
        assert_eq!(text("error_name"), name);
        assert_eq!(text("error_category"), category, "{kind:?}");
        assert_eq!(text("ray_id"), "230b030023ae2822-CDG");
        assert_eq!(text("timestamp"), "2024-09-05T16:16:38Z");
        assert_eq!(text("zone"), "example.com");
        assert!(flag("cloudflare_error"));
        assert_eq!(flag("retryable"), retryable, "{kind:?}");
        match retry_after {
            Some(secs) => {
                assert_eq!(map["retry_after"].as_u64(), Some(secs), "{kind:?}");
                assert_eq!(
                    header(&response, "retry-after"),
                    Some(secs.to_string().as_str())
                );
            }
            None => {
                assert!(map["retry_after"].is_null(), "{kind:?}");
                assert_eq!(header(&response, "retry-after"), None, "{kind:?}");
            }
        }
        assert_eq!(flag("owner_action_required"), owner, "{kind:?}");
        assert!(!text("what_you_should_do").is_empty(), "{kind:?}");
        assert_eq!(text("footer"), FOOTER);
    }
}

#[test]
fn json_for_522_says_what_the_page_says() {
    let (_, map) = json(branded(522, Hop::Host), &ctx("shop.example.com"));
    let advice = text::branded_advice(522);
    let WhatToDo::Split { owner, .. } = advice.what_to_do else {
        panic!("522 has owner advice");
    };
    assert_eq!(
        map["type"],
        format!("{DOCS}cloudflare-5xx-errors/error-522/").as_str()
    );
    assert_eq!(map["title"], "Error 522: Connection timed out");
    assert_eq!(map["error_name"], "Connection timed out");
    assert_eq!(map["detail"], advice.what_happened);
    assert_eq!(map["what_you_should_do"], owner);
    assert_eq!(map["zone"], "shop.example.com");
    // The HTML page shows the same explanation.
    let page = render(branded(522, Hop::Host), &ctx("shop.example.com"));
    assert!(body(&page).contains(advice.what_happened));
}

#[test]
fn what_you_should_do_is_for_whoever_can_act() {
    let (_, cloudflare) = json(branded(500, Hop::Cloudflare), &ctx("example.com"));
    assert_eq!(cloudflare["what_you_should_do"], text::TRY_AGAIN);
    let (_, blocked) = json(numbered(403, 1020), &ctx("example.com"));
    assert!(
        blocked["what_you_should_do"]
            .as_str()
            .is_some_and(|t| t.contains("will not help")),
        "{blocked:?}"
    );
    let (_, limited) = json(numbered(429, 1015), &ctx("example.com"));
    assert!(
        limited["what_you_should_do"]
            .as_str()
            .is_some_and(|t| t.contains("30 seconds")),
        "{limited:?}"
    );
    let (_, dns) = json(numbered(530, 1016), &ctx("example.com"));
    assert_eq!(
        dns["what_you_should_do"],
        "Check that the DNS settings for this host hold an A or AAAA record with a valid IP \
         address, or a CNAME record whose target resolves."
    );
    assert_eq!(dns["title"], "Error 1016: Origin DNS error");
    assert_eq!(
        dns["type"],
        format!("{DOCS}cloudflare-1xxx-errors/error-1016/").as_str()
    );
}

#[test]
fn all_three_forms_carry_the_same_headers_but_content_type() {
    for (kind, ..) in cases() {
        let html = render_as(kind, &ctx("example.com"), Form::Html);
        for (form, content_type) in [
            (Form::Json, "application/json; charset=UTF-8"),
            (Form::Markdown, "text/markdown; charset=UTF-8"),
        ] {
            let other = render_as(kind, &ctx("example.com"), form);
            assert_eq!(other.status(), html.status(), "{kind:?} {form:?}");
            assert_eq!(
                other.extensions().get::<ReasonPhrase>(),
                html.extensions().get::<ReasonPhrase>(),
                "{kind:?} {form:?}"
            );
            assert_eq!(header(&other, "content-type"), Some(content_type));
            let mut expected = html.headers().clone();
            let mut got = other.headers().clone();
            expected.remove("content-type");
            got.remove("content-type");
            assert_eq!(got, expected, "{kind:?} {form:?}");
            assert!(got.contains_key("cf-ray") && got.contains_key("cache-control"));
        }
    }
}

#[test]
fn render_is_render_as_html() {
    for (kind, ..) in cases() {
        for retry_after in [false, true] {
            let ctx = PageContext {
                retry_after,
                ..ctx("example.com")
            };
            let plain = render(kind, &ctx);
            let html = render_as(kind, &ctx, Form::Html);
            assert_eq!(plain.body(), html.body(), "{kind:?}");
            assert_eq!(plain.headers(), html.headers(), "{kind:?}");
            assert_eq!(plain.status(), html.status(), "{kind:?}");
            assert_eq!(
                header(&html, "content-type"),
                Some("text/html; charset=UTF-8")
            );
        }
    }
}

#[test]
fn without_retry_after_the_json_says_null_but_keeps_retryable() {
    let off = PageContext {
        retry_after: false,
        ..ctx("example.com")
    };
    let (response, map) = json(branded(522, Hop::Host), &off);
    assert_eq!(header(&response, "retry-after"), None);
    assert!(map["retry_after"].is_null());
    assert_eq!(map["retryable"], true);
    let markdown = render_as(branded(522, Hop::Host), &off, Form::Markdown);
    assert!(front_matter(body(&markdown)).contains(&("retry_after", "null")));
}

#[test]
fn hostile_hosts_stay_data_in_json_and_markdown() {
    for host in [
        "<script>alert(\"x\")</script>&'",
        "evil\"}, \"status\": 200, \"x\": {\"",
        "back\\slash\u{0}\u{1f}\u{7f}caf\u{e9}",
        "a\r\n# Injected heading\n[link](http://evil.test)",
        "---\nstatus: 200",
    ] {
        let (_, map) = json(branded(520, Hop::Host), &ctx(host));
        assert_eq!(map["zone"], host, "the zone round-trips exactly");
        assert_eq!(map["status"], 520);

        let response = render_as(branded(520, Hop::Host), &ctx(host), Form::Markdown);
        let markdown = body(&response);
        let front = front_matter(markdown);
        assert_eq!(front.len(), 11, "{host:?}: {front:?}");
        assert!(front.contains(&("status", "520")), "{host:?}");
        assert!(
            markdown.lines().all(|line| !line.starts_with("# Injected")),
            "{host:?}: {markdown}"
        );
        let prose = &markdown[markdown.find("\n# ").expect("a heading")..];
        assert!(!prose.contains("[link](http"), "{host:?}");
        // Every `<` is escaped, except the autolink to the documentation.
        for (at, _) in markdown.match_indices('<') {
            assert!(
                markdown[..at].ends_with('\\') || markdown[at..].starts_with("<https://"),
                "{host:?}: raw < at {at} in {markdown}"
            );
        }
        assert_eq!(
            markdown.matches("\n# ").count(),
            1,
            "one heading: {markdown}"
        );
    }
}

#[test]
fn markdown_is_a_short_document_with_front_matter_and_sections() {
    let response = render_as(branded(522, Hop::Host), &ctx("example.com"), Form::Markdown);
    let markdown = body(&response);
    assert_eq!(
        front_matter(markdown),
        vec![
            ("error_code", "522"),
            ("error_name", "\"Connection timed out\""),
            ("error_category", "\"origin\""),
            ("status", "522"),
            ("ray_id", "\"230b030023ae2822-CDG\""),
            ("timestamp", "\"2024-09-05T16:16:38Z\""),
            ("zone", "\"example.com\""),
            ("cloudflare_error", "true"),
            ("retryable", "true"),
            ("retry_after", "120"),
            ("owner_action_required", "true"),
        ]
    );
    let advice = text::branded_advice(522);
    for part in [
        "\n# Error 522: Connection timed out\n",
        "\n## What happened\n",
        advice.what_happened,
        "\n## What you should do\n",
        "- If you are a visitor of this website: Please try again in a few minutes.\n",
        "- If you are the owner of this website: ",
        "- Ray ID: 230b030023ae2822-CDG\n",
        "- Time: 2024-09-05 16:16:38 UTC\n",
        "- Zone: example.com\n",
        "cloudflare-5xx-errors/error-522/>",
        FOOTER,
    ] {
        assert!(markdown.contains(part), "missing {part:?} in:\n{markdown}");
    }
    assert!(markdown.len() < 2048, "{} bytes", markdown.len());
}

#[test]
fn markdown_for_numbered_and_unbranded_pages() {
    let dns = render_as(numbered(530, 1016), &ctx(""), Form::Markdown);
    let markdown = body(&dns);
    assert!(markdown.contains("\n# Error 1016: Origin DNS error\n"));
    assert!(front_matter(markdown).contains(&("status", "530")));
    assert!(front_matter(markdown).contains(&("zone", "\"\"")));
    assert!(markdown.contains("- Zone: unknown host\n"));

    let overloaded = render_as(
        PageKind::Unbranded { status: 503 },
        &ctx("a.test"),
        Form::Markdown,
    );
    let markdown = body(&overloaded);
    assert!(markdown.contains("\n# Error 503: Service temporarily unavailable\n"));
    assert!(front_matter(markdown).contains(&("error_category", "\"cloudflare\"")));
    assert!(front_matter(markdown).contains(&("owner_action_required", "false")));
    assert!(markdown.contains("\n\nPlease try again in a few minutes.\n"));
}

#[test]
fn an_invalid_status_becomes_500_in_every_form() {
    let (response, map) = json(branded(42, Hop::Host), &ctx("example.com"));
    assert_eq!(response.status().as_u16(), 500);
    assert_eq!(map["status"], 500);
    assert_eq!(map["error_code"], 500);
}
