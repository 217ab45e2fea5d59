use http::Request;

use super::*;

fn limits() -> VisitorLimits {
    VisitorLimits {
        request_header_bytes: 300,
        request_header_field_bytes: 100,
        url_bytes: 50,
        request_body_bytes: 1000,
        ..VisitorLimits::default()
    }
}

/// `builder`'s request, with the `Host` every HTTP/1.1 request must have when it has none.
fn with_host(builder: http::request::Builder) -> Request<()> {
    let mut request = builder.body(()).expect("a request");
    let headers = request.headers_mut();
    if !headers.contains_key(header::HOST) {
        headers.insert(header::HOST, http::HeaderValue::from_static("site.test"));
    }
    request
}

fn check_get(builder: http::request::Builder) -> Option<&'static str> {
    let request = with_host(builder);
    check(&request, "site.test", &limits(), Profile::Classic).map(|r| r.cause)
}

#[test]
fn a_plain_request_passes() {
    assert_eq!(
        check_get(Request::get("/").header("host", "site.test")),
        None
    );
}

#[test]
fn the_url_limit_is_inclusive() {
    let at = format!("/{}", "a".repeat(49));
    let over = format!("/{}", "a".repeat(50));
    assert_eq!(check_get(Request::get(at.as_str())), None);
    assert_eq!(check_get(Request::get(over.as_str())), Some("url_too_long"));
}

#[test]
fn one_header_line_over_its_limit_is_refused() {
    // "x-a: " + value: 5 + 95 = 100 bytes at the limit.
    let at = "v".repeat(95);
    let over = "v".repeat(96);
    assert_eq!(check_get(Request::get("/").header("x-a", at)), None);
    assert_eq!(
        check_get(Request::get("/").header("x-a", over)),
        Some("request_header_too_large")
    );
}

#[test]
fn the_whole_head_is_counted_as_written() {
    // "GET / HTTP/1.1\r\n" = 16, blank line 2, "host: site.test\r\n" 17; four lines of
    // "x-N: " + 59 = 64 (+2) each.
    let value = "v".repeat(59);
    let request = |n: usize| {
        let mut builder = Request::get("/");
        for i in 0..n {
            builder = builder.header(format!("x-{i}"), value.as_str());
        }
        builder
    };
    // 35 + 4 * 66 = 299 <= 300; 35 + 5 * 66 = 365 > 300.
    assert_eq!(check_get(request(4)), None);
    assert_eq!(check_get(request(5)), Some("request_header_too_large"));
    let over = with_host(request(5));
    let refusal = check(&over, "site.test", &limits(), Profile::Current).expect("refused");
    assert_eq!(refusal.kind, PageKind::Unbranded { status: 413 });
}

#[test]
fn forged_identity_gets_error_1000() {
    let refused = |b: http::request::Builder| {
        let request = with_host(b);
        let refusal = check(
            &request,
            "site.test",
            &VisitorLimits::default(),
            Profile::Classic,
        );
        refusal.map(|r| r.cause) == Some("forged_identity")
    };
    assert!(refused(
        Request::get("/").header("cf-connecting-ip", "1.2.3.4")
    ));
    assert!(refused(
        Request::get("/")
            .header("x-forwarded-for", "1.1.1.1")
            .header("x-forwarded-for", "2.2.2.2")
    ));
    assert!(refused(
        Request::get("/").header("x-forwarded-for", "1".repeat(101))
    ));
    assert!(!refused(
        Request::get("/").header("x-forwarded-for", "1".repeat(100))
    ));
}

#[test]
fn framing_and_proxy_abuse_are_refused() {
    assert_eq!(
        check_get(
            Request::post("/")
                .header("content-length", "3")
                .header("transfer-encoding", "chunked")
        ),
        Some("ambiguous_framing")
    );
    assert_eq!(
        check_get(Request::post("/").header("content-length", "1001")),
        Some("request_body_too_large")
    );
    assert_eq!(
        check_get(Request::post("/").header("content-length", "1000")),
        None
    );
    assert_eq!(
        check_get(Request::connect("evil.test:443")),
        Some("connect_refused")
    );
    assert_eq!(
        check_get(Request::get("http://evil.test/")),
        Some("absolute_form_other_host")
    );
    assert_eq!(check_get(Request::get("http://SITE.test/")), None);
    let v6 = with_host(Request::get("http://[::1]:8080/").header("host", "[::1]:8080"));
    assert_eq!(check(&v6, "[::1]", &limits(), Profile::Classic), None);
    assert!(check(&v6, "site.test", &limits(), Profile::Classic).is_some());
}

#[test]
fn transfer_codings_and_hosts_follow_rfc_9112() {
    let post = |te: &str| Request::post("/").header("transfer-encoding", te);
    assert_eq!(check_get(post("chunked")), None);
    assert_eq!(check_get(post("Chunked")), None);
    assert_eq!(
        check_get(post("gzip, chunked")),
        Some("visitor_framing:te_unknown_coding")
    );
    assert_eq!(
        check_get(post("chunked, chunked")),
        Some("visitor_framing:te_chunked_repeated")
    );
    assert_eq!(check_get(post(" , ")), Some("visitor_framing:te_empty"));
    let host = |value: &str| Request::get("/").header("host", value);
    assert_eq!(check_get(host("site.test:8080")), None);
    assert_eq!(
        check_get(host("user@site.test")),
        Some("visitor_framing:host_invalid")
    );
    assert_eq!(
        check_get(host("site.test").header("host", "b.test")),
        Some("visitor_framing:host_repeated")
    );
    let bare = Request::get("/").body(()).expect("a request");
    let missing = check(&bare, "", &limits(), Profile::Classic).map(|r| r.cause);
    assert_eq!(missing, Some("visitor_framing:host_missing"));
    let old = Request::get("/")
        .version(Version::HTTP_10)
        .body(())
        .expect("a request");
    assert_eq!(check(&old, "", &limits(), Profile::Classic), None);
    let h2 = Request::get("https://site.test/")
        .version(Version::HTTP_2)
        .header("host", "other.test")
        .body(())
        .expect("a request");
    let refusal = check(&h2, "site.test", &limits(), Profile::Classic).map(|r| r.cause);
    assert_eq!(refusal, Some("visitor_framing:host_not_authority"));
}
