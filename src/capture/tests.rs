//! Tests of HAR capture: entries made from known requests, checked member by member and
//! against the structural HAR 1.2 check the integration tests use, and the appending file.

#[path = "../../tests/support/har.rs"]
mod har_check;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, HOST, LOCATION, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, Version};
use serde_json::Value;

use super::har::{Entry, Har};
use super::{HarFile, entry};
use crate::ray::{Colo, RayId};
use crate::record::ExchangeFacts;
use crate::record::finished::{Ending, Finished};
use har_check::{check_har, is_iso8601};

/// 2026-11-24T10:00:00Z, in seconds since the epoch.
const NOV_24_2026: u64 = 1_795_514_400;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn headers(pairs: &[(http::header::HeaderName, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(name.clone(), HeaderValue::from_static(value));
    }
    map
}

fn ray(id: u64) -> RayId {
    RayId::new(id, Colo::DEFAULT)
}

/// A GET proxied to a TLS origin that answered 200, over HTTP/2.
fn proxied_ok() -> Finished {
    let body = Bytes::from_static(b"<p>hello</p>");
    Finished {
        ray: ray(0x8f3a_0000_0000_0001),
        proxy: Arc::from("edgecase"),
        scenario: None,
        at: UNIX_EPOCH + Duration::from_secs(NOV_24_2026) + ms(123),
        method: Method::GET,
        version: Version::HTTP_2,
        https: true,
        client_tls: Some("TLSv1.3"),
        host: "example.com".into(),
        path: "/search?q=edge&lang=fr&flag#top".into(),
        client: "203.0.113.7:50123".parse().expect("a socket address"),
        edge: "127.0.0.1:8443".parse().expect("a socket address"),
        request_headers: headers(&[
            (HOST, "example.com:8443"),
            (USER_AGENT, "curl/8.5.0"),
            (COOKIE, "session=abc; theme=dark"),
            (COOKIE, "lang=fr"),
        ])
        .into(),
        request_bytes: 0,
        request_body: None,
        status: 200,
        origin_status: Some(200),
        cause: None,
        fault: None,
        ssl: None,
        origin: ExchangeFacts {
            peer: Some("192.0.2.10:443".parse().expect("a socket address")),
            reused: false,
            dns: Some(us(2_500)),
            connect: Some(ms(10)),
            tls_handshake: Some(us(20_250)),
            tls_protocol: Some("TLSv1.3"),
            send: Some(us(1_125)),
            wait: Some(ms(50)),
            retried: false,
        },
        head_after: ms(90),
        total: ms(100),
        ending: Ending::Complete,
        response_headers: headers(&[
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "max-age=60"),
        ]),
        response_bytes: 12,
        response_body: Some(body),
    }
}

/// A POST whose origin never completed the TCP handshake: edgecase's 522 page.
fn connect_timeout() -> Finished {
    let page = "<!DOCTYPE html><title>example.com | 522: Connection timed out</title>";
    Finished {
        ray: ray(0x0123_4567_89ab_cdef),
        proxy: Arc::from("edgecase"),
        scenario: None,
        at: UNIX_EPOCH + Duration::from_secs(NOV_24_2026),
        method: Method::POST,
        version: Version::HTTP_11,
        https: false,
        client_tls: None,
        host: "example.com".into(),
        path: "/api/orders".into(),
        client: "198.51.100.4:40000".parse().expect("a socket address"),
        edge: "127.0.0.1:8080".parse().expect("a socket address"),
        request_headers: headers(&[(CONTENT_TYPE, "application/json")]).into(),
        request_bytes: 7,
        request_body: Some(Bytes::from_static(b"{\"a\":1}")),
        status: 522,
        origin_status: None,
        cause: Some("connect_timeout"),
        fault: None,
        ssl: None,
        origin: ExchangeFacts {
            connect: Some(ms(15_000)),
            ..ExchangeFacts::default()
        },
        head_after: us(15_001_500),
        total: us(15_002_000),
        ending: Ending::Complete,
        response_headers: headers(&[
            (CONTENT_TYPE, "text/html; charset=UTF-8"),
            (CACHE_CONTROL, "no-store"),
        ]),
        response_bytes: page.len() as u64,
        response_body: Some(Bytes::from_static(page.as_bytes())),
    }
}

/// A response whose body is not UTF-8 and broke off: only its start was kept.
fn binary_body() -> Finished {
    let mut finished = proxied_ok();
    finished.ray = ray(42);
    finished.method = Method::PUT;
    finished.request_headers = headers(&[(CONTENT_TYPE, "application/octet-stream")]).into();
    finished.request_bytes = 3;
    finished.request_body = Some(Bytes::from_static(&[b'a', 0xff, b'b']));
    finished.response_headers = headers(&[(CONTENT_TYPE, "image/png"), (LOCATION, "/moved")]);
    finished.response_bytes = 1000;
    finished.response_body = Some(Bytes::from_static(&[0x89, b'P', b'N', b'G', 0xff, 0x00]));
    finished.ending = Ending::Aborted("body_read_timeout");
    finished
}

/// `entry` wrapped in a document, as JSON, after the structural check.
fn checked(entry: Entry) -> Value {
    let har = serde_json::to_value(super::document(vec![entry])).expect("a document serializes");
    if let Err(problem) = check_har(&har) {
        panic!("not valid HAR 1.2: {problem}\n{har:#}");
    }
    har["log"]["entries"][0].clone()
}

#[test]
fn proxied_200_over_tls_has_its_request_response_and_timings() {
    let finished = proxied_ok();
    let entry = entry(&finished);
    let value = checked(entry.clone());

    assert_eq!(entry.started_date_time, "2026-11-24T10:00:00.123Z");
    let request = &entry.request;
    assert_eq!(request.method, "GET");
    assert_eq!(
        request.url, "https://example.com:8443/search?q=edge&lang=fr&flag",
        "without the fragment"
    );
    assert_eq!(request.http_version, "HTTP/2");
    let query: Vec<_> = request
        .query_string
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(query, [("q", "edge"), ("lang", "fr"), ("flag", "")]);
    let cookies: Vec<_> = request
        .cookies
        .iter()
        .map(|c| (c.name.as_str(), c.value.as_str()))
        .collect();
    assert_eq!(
        cookies,
        [("session", "abc"), ("theme", "dark"), ("lang", "fr")]
    );
    assert_eq!(request.headers.len(), 4);
    assert_eq!(request.headers[1].name, "user-agent");
    assert_eq!(request.headers[1].value, "curl/8.5.0");
    assert_eq!(request.headers_size, -1);
    assert_eq!(request.body_size, 0);
    assert!(request.post_data.is_none());

    let response = &entry.response;
    assert_eq!(response.status, 200);
    assert_eq!(response.status_text, "OK");
    assert_eq!(response.http_version, "HTTP/2");
    assert_eq!(response.headers.len(), 2);
    assert_eq!(response.content.size, 12);
    assert_eq!(response.content.mime_type, "text/html; charset=utf-8");
    assert_eq!(response.content.text.as_deref(), Some("<p>hello</p>"));
    assert_eq!(response.content.encoding, None);
    assert_eq!(response.content.comment, None);
    assert_eq!(response.redirect_url, "");
    assert_eq!(response.body_size, 12);

    let t = &entry.timings;
    assert_eq!(t.blocked, Some(-1.0));
    assert_eq!(t.dns, Some(2.5));
    assert_eq!(t.connect, Some(30.25));
    assert_eq!(t.ssl, Some(20.25));
    assert_eq!(t.send, 1.125);
    assert_eq!(t.wait, 50.0);
    assert_eq!(t.receive, 10.0);
    assert_eq!(entry.time, 2.5 + 30.25 + 1.125 + 50.0 + 10.0);

    assert_eq!(entry.server_ip_address.as_deref(), Some("192.0.2.10"));
    assert_eq!(entry.connection.as_deref(), Some("443"));
    assert_eq!(entry.comment.as_deref(), Some("ray 8f3a000000000001-CDG"));
    assert_eq!(entry.cf_ray.as_deref(), Some("8f3a000000000001-CDG"));
    assert_eq!(entry.edgecase_cause, None);
    assert_eq!(entry.origin_status, Some(200));

    // The spec's spellings, and custom members only with `_`.
    assert_eq!(value["serverIPAddress"], "192.0.2.10");
    assert_eq!(value["_cfRay"], "8f3a000000000001-CDG");
    assert_eq!(value["_originStatus"], 200);
    assert!(value.get("_edgecaseCause").is_none());
    assert_eq!(value["response"]["redirectURL"], "");
    assert_eq!(value["request"]["queryString"][0]["name"], "q");
    assert_eq!(value["request"]["httpVersion"], "HTTP/2");
    assert_eq!(value["cache"], serde_json::json!({}));
}

#[test]
fn connect_timeout_522_has_the_page_and_no_origin_address() {
    let entry = entry(&connect_timeout());
    let value = checked(entry.clone());

    assert_eq!(entry.started_date_time, "2026-11-24T10:00:00.000Z");
    assert_eq!(entry.request.url, "http://example.com/api/orders");
    assert_eq!(entry.request.http_version, "HTTP/1.1");
    assert!(entry.request.query_string.is_empty());
    assert!(entry.request.cookies.is_empty());
    assert_eq!(entry.request.body_size, 7);
    let post = entry.request.post_data.as_ref().expect("the body was kept");
    assert_eq!(post.mime_type, "application/json");
    assert_eq!(post.text.as_deref(), Some("{\"a\":1}"));
    assert_eq!(post.comment, None);

    assert_eq!(entry.response.status, 522);
    assert_eq!(entry.response.status_text, "Origin Connection Time-out");
    assert_eq!(entry.response.http_version, "HTTP/1.1");
    let text = entry.response.content.text.as_deref().expect("the page");
    assert!(text.contains("522: Connection timed out"), "{text}");
    assert_eq!(entry.response.content.mime_type, "text/html; charset=UTF-8");
    assert_eq!(entry.response.content.size, text.len() as i64);

    let t = &entry.timings;
    assert_eq!(t.dns, Some(-1.0));
    assert_eq!(t.connect, Some(15_000.0));
    assert_eq!(t.ssl, Some(-1.0));
    assert_eq!(t.send, 0.0);
    assert_eq!(t.wait, 1.5, "what is left of the time to the head");
    assert_eq!(t.receive, 0.5);
    assert_eq!(entry.time, 15_002.0);

    assert_eq!(entry.server_ip_address, None);
    assert_eq!(entry.connection, None);
    assert_eq!(
        entry.comment.as_deref(),
        Some("ray 0123456789abcdef-CDG, cause connect_timeout")
    );
    assert_eq!(value["_edgecaseCause"], "connect_timeout");
    assert!(value.get("_originStatus").is_none());
    assert!(value.get("serverIPAddress").is_none());
}

#[test]
fn a_body_that_is_not_utf8_is_base64() {
    let entry = entry(&binary_body());
    checked(entry.clone());

    let content = &entry.response.content;
    assert_eq!(content.text.as_deref(), Some("iVBOR/8A"));
    assert_eq!(content.encoding.as_deref(), Some("base64"));
    assert_eq!(content.size, 1000);
    assert_eq!(content.mime_type, "image/png");
    assert_eq!(
        content.comment.as_deref(),
        Some("the first 6 of 1000 bytes")
    );
    assert_eq!(entry.response.redirect_url, "/moved");

    let post = entry.request.post_data.as_ref().expect("the body was kept");
    assert_eq!(post.text.as_deref(), Some("a\u{fffd}b"), "lossy UTF-8");
    assert_eq!(post.mime_type, "application/octet-stream");
    assert_eq!(
        entry.comment.as_deref(),
        Some("ray 000000000000002a-CDG, cause body_read_timeout")
    );
    assert_eq!(entry.edgecase_cause.as_deref(), Some("body_read_timeout"));
}

#[test]
fn a_request_that_never_reached_the_origin_waits_until_its_head() {
    let mut finished = connect_timeout();
    finished.origin = ExchangeFacts::default();
    finished.head_after = us(2_345);
    finished.total = us(2_500);
    finished.request_body = Some(Bytes::new());
    let entry = entry(&finished);
    checked(entry.clone());

    let t = &entry.timings;
    assert_eq!(
        (t.blocked, t.dns, t.connect, t.ssl),
        (Some(-1.0), Some(-1.0), Some(-1.0), Some(-1.0))
    );
    assert_eq!((t.send, t.wait, t.receive), (0.0, 2.345, 0.155));
    assert_eq!(entry.time, 2.5);
    assert!(entry.request.post_data.is_none(), "an empty body has none");
}

#[test]
fn measured_phases_longer_than_the_head_leave_no_negative_wait() {
    let mut finished = connect_timeout();
    finished.origin = ExchangeFacts {
        connect: Some(ms(30)),
        send: Some(ms(5)),
        ..ExchangeFacts::default()
    };
    finished.head_after = ms(20);
    finished.total = ms(10);
    let entry = entry(&finished);
    checked(entry.clone());
    assert_eq!(entry.timings.wait, 0.0);
    assert_eq!(entry.timings.receive, 0.0);
    assert_eq!(entry.time, 35.0);
}

#[test]
fn status_text_is_the_reason_phrase_the_visitor_got() {
    let mut finished = connect_timeout();
    for (status, expected) in [
        (404, "Not Found"),
        (502, "Bad Gateway"),
        (520, "Origin Error"),
        (524, "Origin Time-out"),
        (526, "Origin SSL Certificate Error"),
        (499, ""),
    ] {
        finished.status = status;
        assert_eq!(entry(&finished).response.status_text, expected, "{status}");
    }
}

#[test]
fn query_strings_keep_their_raw_pairs_and_drop_the_fragment() {
    let mut finished = proxied_ok();
    finished.path = "/p?a=1&&b=x%20y&c=d=e&=v#f=g".into();
    let query: Vec<_> = entry(&finished)
        .request
        .query_string
        .into_iter()
        .map(|p| (p.name, p.value))
        .collect();
    let expected = [("a", "1"), ("b", "x%20y"), ("c", "d=e"), ("", "v")];
    assert_eq!(
        query,
        expected.map(|(n, v)| (n.to_owned(), v.to_owned())).to_vec()
    );
}

#[test]
fn a_request_without_host_header_uses_the_host_name() {
    let mut finished = proxied_ok();
    finished.request_headers = HeaderMap::new().into();
    finished.path = "/".into();
    assert_eq!(entry(&finished).request.url, "https://example.com/");
}

#[test]
fn a_binary_body_is_padded_base64_in_the_standard_alphabet() {
    // HAR readers decode RFC 4648 §4: `=` padding after one or two trailing bytes, and `+` and
    // `/` (not the URL alphabet's `-` and `_`).
    for (body, text) in [
        (&[0xff][..], "/w=="),
        (&[0xff, 0xfe][..], "//4="),
        (&[0xfb, 0xff, 0xbf][..], "+/+/"),
        (&[0x80, 0x00, 0x10, 0x83][..], "gAAQgw=="),
    ] {
        let mut finished = binary_body();
        finished.response_body = Some(Bytes::copy_from_slice(body));
        let content = entry(&finished).response.content;
        assert_eq!(content.text.as_deref(), Some(text), "{body:02x?}");
        assert_eq!(content.encoding.as_deref(), Some("base64"));
    }
}

#[test]
fn started_date_time_has_milliseconds_before_the_epoch_too() {
    let mut finished = proxied_ok();
    finished.at = UNIX_EPOCH - ms(250);
    let started = entry(&finished).started_date_time;
    assert_eq!(started, "1969-12-31T23:59:59.750Z");
    assert!(is_iso8601(&started));
}

#[test]
fn the_structural_check_rejects_what_har_does_not_allow() {
    let good = serde_json::to_value(super::document(vec![entry(&proxied_ok())]))
        .expect("a document serializes");
    check_har(&good).expect("a valid document");
    let broken = |path: &[&str], value: Option<Value>| {
        let mut har = good.clone();
        let (last, parents) = path.split_last().expect("a path");
        let mut at = &mut har["log"]["entries"][0];
        for key in parents {
            at = &mut at[*key];
        }
        let object = at.as_object_mut().expect("an object");
        match value {
            Some(value) => object.insert((*last).to_owned(), value),
            None => object.remove(*last),
        };
        check_har(&har).expect_err(&format!("{path:?} should be rejected"))
    };
    assert!(broken(&["timings", "wait"], Some((-2.0).into())).contains("timings.wait"));
    assert!(broken(&["time"], Some(1.0.into())).contains("not the sum"));
    assert!(broken(&["response", "redirectURL"], None).contains("redirectURL: missing"));
    assert!(broken(&["response", "redirectUrl"], Some("".into())).contains("not in HAR 1.2"));
    assert!(broken(&["startedDateTime"], Some("24/11/2026".into())).contains("ISO 8601"));
    assert!(
        broken(
            &["request", "headers"],
            Some(serde_json::json!([{"name": "a"}]))
        )
        .contains("value: missing")
    );
    assert!(broken(&["timings", "dns"], Some((-3.0).into())).contains("below -1"));
    assert!(
        broken(&["request", "url"], Some("/relative".into())).contains("absolute"),
        "a URL must be absolute"
    );
}

#[test]
fn iso8601_accepts_fractions_and_offsets() {
    for good in [
        "2026-11-24T10:00:00Z",
        "2026-11-24T10:00:00.123Z",
        "2009-07-24T19:20:30.45+01:00",
        "2009-07-24T19:20:30-05:30",
    ] {
        assert!(is_iso8601(good), "{good}");
    }
    for bad in [
        "",
        "2026-11-24",
        "2026-11-24 10:00:00Z",
        "2026-13-24T10:00:00Z",
        "2026-11-24T10:00:00.Z",
        "2026-11-24T10:00:00",
        "2026-11-24T10:00:00+0100",
    ] {
        assert!(!is_iso8601(bad), "{bad}");
    }
}

/// A path in the temporary directory, removed when dropped (and before use).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path =
            std::env::temp_dir().join(format!("edgecase-har-{}-{name}.har", std::process::id()));
        let _ = fs::remove_file(&path);
        Scratch(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn read(&self) -> Vec<u8> {
        fs::read(&self.0).expect("the HAR file is readable")
    }

    /// The file parsed, after the structural check.
    fn document(&self) -> Har {
        let bytes = self.read();
        let value: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON: {e}\n{}", String::from_utf8_lossy(&bytes)));
        if let Err(problem) = check_har(&value) {
            panic!("not valid HAR 1.2: {problem}\n{value:#}");
        }
        serde_json::from_value(value).expect("a HAR document")
    }

    fn rays(&self) -> Vec<String> {
        self.document()
            .log
            .entries
            .into_iter()
            .map(|e| e.cf_ray.expect("edgecase entries carry their ray"))
            .collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn entry_with_ray(id: u64) -> Entry {
    let mut finished = proxied_ok();
    finished.ray = ray(id);
    entry(&finished)
}

fn ray_text(id: u64) -> String {
    ray(id).to_string()
}

#[test]
fn a_new_file_is_a_valid_document_after_every_append() {
    let scratch = Scratch::new("new");
    let mut file = HarFile::open(scratch.path(), false).expect("a new HAR file");
    assert_eq!(file.path(), scratch.path());
    let empty = scratch.document();
    assert!(empty.log.entries.is_empty());
    assert_eq!(empty.log.creator.name, "edgecase");
    assert_eq!(empty.log.creator.version, env!("CARGO_PKG_VERSION"));

    let mut expected = Vec::new();
    for id in 1..=3 {
        let before = scratch.read();
        file.append(&entry_with_ray(id)).expect("appended");
        expected.push(ray_text(id));
        assert_eq!(scratch.rays(), expected);
        // Written over the tail only: everything before it is as it was.
        let after = scratch.read();
        let kept = before.len() - b"\n]}}\n".len();
        assert_eq!(after[..kept], before[..kept], "entry {id}");
        assert!(after.ends_with(b"}\n]}}\n"));
    }
    let document = scratch.document();
    let first = &document.log.entries[0];
    assert_eq!(first.request.url, entry_with_ray(1).request.url);
    assert_eq!(first.timings.connect, Some(30.25));
}

#[test]
fn reopening_a_file_appends_after_its_entries() {
    let scratch = Scratch::new("reopen");
    {
        let mut file = HarFile::open(scratch.path(), false).expect("a new HAR file");
        file.append(&entry_with_ray(1)).expect("appended");
        file.append(&entry_with_ray(2)).expect("appended");
    }
    let mut file = HarFile::open(scratch.path(), false).expect("the existing HAR file");
    assert_eq!(scratch.rays(), [ray_text(1), ray_text(2)]);
    file.append(&entry_with_ray(3)).expect("appended");
    assert_eq!(scratch.rays(), [ray_text(1), ray_text(2), ray_text(3)]);
}

#[test]
fn reopening_an_empty_document_appends_without_a_comma() {
    let scratch = Scratch::new("reopen-empty");
    drop(HarFile::open(scratch.path(), false).expect("a new HAR file"));
    let mut file = HarFile::open(scratch.path(), false).expect("the existing HAR file");
    file.append(&entry_with_ray(7)).expect("appended");
    assert_eq!(scratch.rays(), [ray_text(7)]);
}

/// A browser-style export: pretty-printed, a page, an entry with browser-only members.
fn browser_export(entries_last: bool) -> String {
    let entry = serde_json::to_string_pretty(&entry_with_ray(1)).expect("serializes");
    let entries = format!("\"entries\": [\n      {entry}\n    ]");
    let comment = "\"comment\": \"exported\"";
    let (middle, last) = if entries_last {
        (comment, entries.as_str())
    } else {
        (entries.as_str(), comment)
    };
    format!(
        "{{\n  \"log\": {{\n    \"version\": \"1.2\",\n    \"creator\": {{\"name\": \"WebInspector\", \
         \"version\": \"537.36\"}},\n    \"pages\": [{{\"startedDateTime\": \
         \"2026-11-24T09:59:59.000Z\", \"id\": \"page_1\", \"title\": \"t\", \"pageTimings\": \
         {{\"onLoad\": 12.5}}}}],\n    \"_custom\": [1, 2],\n    {middle},\n    {last}\n  }}\n}}\n\n"
    )
}

#[test]
fn a_browser_export_keeps_its_text_and_gets_entries_appended() {
    let scratch = Scratch::new("browser");
    let original = browser_export(true);
    fs::write(scratch.path(), &original).expect("written");
    let mut file = HarFile::open(scratch.path(), false).expect("a browser's HAR file");
    file.append(&entry_with_ray(2)).expect("appended");

    assert_eq!(scratch.rays(), [ray_text(1), ray_text(2)]);
    let after = String::from_utf8(scratch.read()).expect("UTF-8");
    let kept = original.trim_end().trim_end_matches(['}', ']', ' ', '\n']);
    assert!(
        after.starts_with(kept),
        "the export's own text is untouched"
    );
    let document = scratch.document();
    assert_eq!(document.log.creator.name, "WebInspector");
    assert_eq!(document.log.comment.as_deref(), Some("exported"));
    assert_eq!(document.log.pages.map(|p| p.len()), Some(1));
}

#[test]
fn a_document_whose_entries_are_not_last_is_laid_out_again_with_everything_kept() {
    let scratch = Scratch::new("relaid");
    fs::write(scratch.path(), browser_export(false)).expect("written");
    let mut file = HarFile::open(scratch.path(), false).expect("a valid HAR file");
    file.append(&entry_with_ray(2)).expect("appended");

    assert_eq!(scratch.rays(), [ray_text(1), ray_text(2)]);
    let value: Value = serde_json::from_slice(&scratch.read()).expect("JSON");
    assert_eq!(value["log"]["comment"], "exported");
    assert_eq!(value["log"]["_custom"], serde_json::json!([1, 2]));
    assert_eq!(value["log"]["pages"][0]["id"], "page_1");
    assert_eq!(value["log"]["entries"][0]["timings"]["ssl"], 20.25);
    let mut temporary = scratch.path().as_os_str().to_owned();
    temporary.push(".edgecase-tmp");
    assert!(!Path::new(&temporary).exists(), "no temporary file left");
}

#[test]
fn an_empty_file_is_started_as_a_new_document() {
    let scratch = Scratch::new("empty");
    fs::write(scratch.path(), "\n").expect("written");
    let mut file = HarFile::open(scratch.path(), false).expect("an empty file");
    file.append(&entry_with_ray(5)).expect("appended");
    assert_eq!(scratch.rays(), [ray_text(5)]);
}

fn open_error(scratch: &Scratch) -> io::Error {
    HarFile::open(scratch.path(), false).expect_err("the file should be refused")
}

#[test]
fn a_file_that_is_not_har_is_refused_with_its_name() {
    for (name, text) in [
        ("text", "hello, world\n"),
        ("object", "{\"log\": {\"version\": \"1.2\"}}"),
        ("array", "[1, 2, 3]"),
    ] {
        let scratch = Scratch::new(name);
        fs::write(scratch.path(), text).expect("written");
        let error = open_error(&scratch);
        assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{name}");
        let message = error.to_string();
        assert!(
            message.contains(&scratch.path().display().to_string()),
            "{message}"
        );
        assert!(message.contains("not a HAR document"), "{message}");
        assert_eq!(scratch.read(), text.as_bytes(), "{name} is left as it was");
    }
}

#[test]
fn a_truncated_file_is_refused_and_left_as_it_is() {
    let scratch = Scratch::new("truncated");
    {
        let mut file = HarFile::open(scratch.path(), false).expect("a new HAR file");
        file.append(&entry_with_ray(1)).expect("appended");
        file.append(&entry_with_ray(2)).expect("appended");
    }
    let whole = scratch.read();
    // Killed in the middle of writing the second entry.
    let cut = &whole[..whole.len() - 200];
    fs::write(scratch.path(), cut).expect("written");

    let error = open_error(&scratch);
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    let message = error.to_string();
    assert!(
        message.contains(&scratch.path().display().to_string()),
        "{message}"
    );
    assert!(message.contains("cut short"), "{message}");
    assert_eq!(scratch.read(), cut, "the file is not overwritten");
}

#[test]
fn a_path_in_a_missing_directory_fails_with_its_name() {
    let path = std::env::temp_dir()
        .join(format!("edgecase-har-missing-{}", std::process::id()))
        .join("capture.har");
    let error = HarFile::open(&path, false).expect_err("no such directory");
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn a_sanitized_file_says_so_until_entries_written_otherwise_join_it() {
    use super::sanitize::{COMMENT, MIXED_COMMENT};
    let scratch = Scratch::new("sanitized");
    {
        let mut file = HarFile::open(scratch.path(), true).expect("a new HAR file");
        file.append(&entry_with_ray(1)).expect("appended");
    }
    assert_eq!(scratch.document().log.comment.as_deref(), Some(COMMENT));
    drop(HarFile::open(scratch.path(), true).expect("the same file, the same way"));
    assert_eq!(scratch.document().log.comment.as_deref(), Some(COMMENT));

    let mut file = HarFile::open(scratch.path(), false).expect("the file, now in clear");
    file.append(&entry_with_ray(2)).expect("appended");
    let document = scratch.document();
    assert_eq!(document.log.comment.as_deref(), Some(MIXED_COMMENT));
    assert_eq!(scratch.rays(), [ray_text(1), ray_text(2)], "entries kept");
}

#[test]
fn a_new_file_in_clear_has_no_comment() {
    let scratch = Scratch::new("clear");
    drop(HarFile::open(scratch.path(), false).expect("a new HAR file"));
    assert_eq!(scratch.document().log.comment, None);
    drop(HarFile::open(scratch.path(), true).expect("still empty, now sanitized"));
    assert_eq!(
        scratch.document().log.comment.as_deref(),
        Some(super::sanitize::COMMENT)
    );
}
