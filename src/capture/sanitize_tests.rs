//! Tests of [`Redaction`]: an entry carrying every kind of secret, sanitized member by member.

use serde_json::{Value, json};

use super::super::har::{Entry, document};
use super::*;

/// A captured entry: request and response as `request` / `response` say, the rest minimal.
fn entry(request: Value, response: Value) -> Entry {
    let mut request_base = json!({
        "method": "POST", "url": "https://shop.test/", "httpVersion": "HTTP/1.1",
        "cookies": [], "headers": [], "queryString": [], "headersSize": -1, "bodySize": -1,
    });
    let mut response_base = json!({
        "status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "cookies": [],
        "headers": [], "content": {"size": 0, "mimeType": ""}, "redirectURL": "",
        "headersSize": -1, "bodySize": -1,
    });
    merge(&mut request_base, request);
    merge(&mut response_base, response);
    serde_json::from_value(json!({
        "startedDateTime": "2026-11-24T10:00:00.000Z", "time": 0,
        "request": request_base, "response": response_base, "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0}, "comment": "ray 8f3a-LHR",
    }))
    .expect("a valid test entry")
}

fn merge(base: &mut Value, with: Value) {
    if let (Value::Object(base), Value::Object(with)) = (base, with) {
        base.extend(with);
    }
}

fn headers(pairs: &[(&str, &str)]) -> Value {
    pairs
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect()
}

fn post(mime_type: &str, text: &str) -> Value {
    json!({"postData": {"mimeType": mime_type, "text": text}})
}

fn value_of<'a>(list: &'a [Header], name: &str) -> &'a str {
    list.iter()
        .find(|h| h.name == name)
        .map(|h| h.value.as_str())
        .unwrap_or_else(|| panic!("no {name} in {list:?}"))
}

#[test]
fn credential_headers_lose_their_values_whatever_their_case_and_keep_their_names() {
    let redaction = Redaction::new(&["X-Tenant-Secret".to_owned()], &[]);
    let mut entry = entry(
        json!({"headers": headers(&[
            ("Authorization", "Bearer abc"), ("proxy-authorization", "Basic xyz"),
            ("cookie", "sid=s1"), ("X-API-KEY", "k1"), ("x-auth-token", "t1"),
            ("x-csrf-token", "c1"), ("x-tenant-secret", "ts1"), ("accept", "text/html"),
        ])}),
        json!({"headers": headers(&[("set-cookie", "sid=s2; Path=/"), ("server", "cloudflare")])}),
    );
    redaction.entry(&mut entry);
    let sent = &entry.request.headers;
    for name in [
        "Authorization",
        "proxy-authorization",
        "cookie",
        "X-API-KEY",
        "x-auth-token",
        "x-csrf-token",
        "x-tenant-secret",
    ] {
        assert_eq!(value_of(sent, name), REDACTED, "{name}");
    }
    assert_eq!(value_of(sent, "accept"), "text/html");
    let got = &entry.response.headers;
    assert_eq!(value_of(got, "set-cookie"), REDACTED);
    assert_eq!(value_of(got, "server"), "cloudflare");
}

#[test]
fn cookies_keep_their_names_and_attributes_but_not_their_values() {
    let mut entry = entry(
        json!({"cookies": [{"name": "sid", "value": "s1"}]}),
        json!({"cookies": [{"name": "sid", "value": "s2", "path": "/", "httpOnly": true}]}),
    );
    Redaction::default().entry(&mut entry);
    let sent = &entry.request.cookies[0];
    assert_eq!((sent.name.as_str(), sent.value.as_str()), ("sid", REDACTED));
    let set = &entry.response.cookies[0];
    assert_eq!((set.name.as_str(), set.value.as_str()), ("sid", REDACTED));
    assert_eq!(
        (set.path.as_deref(), set.http_only),
        (Some("/"), Some(true))
    );
}

#[test]
fn secret_query_parameters_are_blanked_in_the_url_and_query_string() {
    let redaction = Redaction::new(&[], &["Session".to_owned()]);
    let mut entry = entry(
        json!({
            "url": "https://shop.test/cb?code=c1&state=s&Api_Key=k1&%74oken=t1&session=x1&flag",
            "queryString": [
                {"name": "code", "value": "c1"}, {"name": "state", "value": "s"},
                {"name": "Api_Key", "value": "k1"}, {"name": "%74oken", "value": "t1"},
                {"name": "session", "value": "x1"}, {"name": "flag", "value": ""},
            ],
        }),
        json!({"redirectURL": "https://app.test/done#access_token=a1&expires_in=3600"}),
    );
    redaction.entry(&mut entry);
    assert_eq!(
        entry.request.url,
        "https://shop.test/cb?code=[redacted]&state=s&Api_Key=[redacted]&%74oken=[redacted]\
         &session=[redacted]&flag"
    );
    let values: Vec<&str> = entry
        .request
        .query_string
        .iter()
        .map(|p| p.value.as_str())
        .collect();
    assert_eq!(values, [REDACTED, "s", REDACTED, REDACTED, REDACTED, ""]);
    assert_eq!(
        entry.response.redirect_url,
        "https://app.test/done#access_token=[redacted]&expires_in=3600"
    );
}

#[test]
fn url_headers_have_their_secret_parameters_blanked() {
    let mut entry = entry(
        json!({"headers": headers(&[("referer", "https://a.test/?sig=x1&page=2")])}),
        json!({"headers": headers(&[("location", "/next?password=p1")])}),
    );
    Redaction::default().entry(&mut entry);
    assert_eq!(
        value_of(&entry.request.headers, "referer"),
        "https://a.test/?sig=[redacted]&page=2"
    );
    assert_eq!(
        value_of(&entry.response.headers, "location"),
        "/next?password=[redacted]"
    );
}

#[test]
fn form_bodies_lose_secret_values_in_params_and_text() {
    let mut body = post(
        "application/x-www-form-urlencoded; charset=UTF-8",
        "user=ada&password=p1&SECRET=s1",
    );
    body["postData"]["params"] = json!([
        {"name": "user", "value": "ada"}, {"name": "password", "value": "p1"},
        {"name": "SECRET", "value": "s1"},
    ]);
    let mut entry = entry(body, json!({}));
    Redaction::default().entry(&mut entry);
    let post = entry.request.post_data.expect("the body is kept");
    assert_eq!(
        post.text.as_deref(),
        Some("user=ada&password=[redacted]&SECRET=[redacted]")
    );
    let values: Vec<Option<&str>> = post
        .params
        .iter()
        .flatten()
        .map(|p| p.value.as_deref())
        .collect();
    assert_eq!(values, [Some("ada"), Some(REDACTED), Some(REDACTED)]);
}

#[test]
fn json_bodies_lose_secret_members_at_any_depth() {
    let text = r#"{"user":"ada","Secret":"s1","auth":{"refresh_token":"r1","scopes":["a"]},
                   "items":[{"key":{"nested":"k1"}},{"id":3}]}"#;
    let mut entry = entry(post("application/json; charset=utf-8", text), json!({}));
    Redaction::default().entry(&mut entry);
    let post = entry.request.post_data.expect("the body is kept");
    let body: Value = serde_json::from_str(post.text.as_deref().unwrap_or_default())
        .expect("the text is re-serialised JSON");
    assert_eq!(
        body,
        json!({"user": "ada", "Secret": REDACTED,
               "auth": {"refresh_token": REDACTED, "scopes": ["a"]},
               "items": [{"key": REDACTED}, {"id": 3}]})
    );
}

#[test]
fn a_json_body_cut_short_is_cut_before_its_first_secret() {
    let text = r#"{"user":"ada","password":"p1","more":"#;
    let mut entry = entry(post("application/json", text), json!({}));
    Redaction::default().entry(&mut entry);
    let post = entry.request.post_data.expect("the body is kept");
    assert_eq!(post.text.as_deref(), Some(r#"{"user":"ada",[redacted]"#));
}

#[test]
fn other_bodies_are_kept_as_they_were() {
    let mut entry = entry(post("text/plain", "password=p1"), json!({}));
    Redaction::default().entry(&mut entry);
    let post = entry.request.post_data.expect("the body is kept");
    assert_eq!(post.text.as_deref(), Some("password=p1"));
}

#[test]
fn a_sanitized_document_says_so_and_each_entry_is_marked() {
    let mut har = document(vec![entry(json!({}), json!({}))]);
    Redaction::default().document(&mut har);
    assert_eq!(har.log.comment.as_deref(), Some(COMMENT));
    assert_eq!(
        har.log.entries[0].comment.as_deref(),
        Some("ray 8f3a-LHR, sanitized")
    );
}

#[test]
fn a_file_comment_never_claims_more_than_its_entries_are() {
    let comment = |current: Option<&str>, has_entries, sanitized| {
        file_comment(current, has_entries, sanitized)
    };
    // No entries yet: the comment says how the ones to come are written.
    assert_eq!(comment(None, false, true).as_deref(), Some(COMMENT));
    assert_eq!(comment(Some(COMMENT), false, false), None);
    assert_eq!(
        comment(Some("exported"), false, true),
        Some(format!("exported; {COMMENT}"))
    );
    // Entries written one way, more to come the same way: as it was.
    assert_eq!(comment(Some(COMMENT), true, true).as_deref(), Some(COMMENT));
    assert_eq!(comment(None, true, false), None);
    assert_eq!(
        comment(Some("exported"), true, false).as_deref(),
        Some("exported")
    );
    // Entries that may not be sanitized, or sanitized ones followed by others: mixed.
    assert_eq!(comment(None, true, true).as_deref(), Some(MIXED_COMMENT));
    assert_eq!(
        comment(Some("exported"), true, true),
        Some(format!("exported; {MIXED_COMMENT}"))
    );
    assert_eq!(
        comment(Some(COMMENT), true, false).as_deref(),
        Some(MIXED_COMMENT)
    );
    // Mixed stays mixed.
    for sanitized in [true, false] {
        assert_eq!(
            comment(Some(MIXED_COMMENT), true, sanitized).as_deref(),
            Some(MIXED_COMMENT)
        );
    }
}
