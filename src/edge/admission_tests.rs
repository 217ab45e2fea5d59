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

fn check_get(builder: http::request::Builder) -> Option<&'static str> {
    let request = builder.body(()).expect("a request");
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
    // "GET / HTTP/1.1\r\n" = 16, blank line 2; four lines of "x-N: " + 59 = 64 (+2) each.
    let value = "v".repeat(59);
    let request = |n: usize| {
        let mut builder = Request::get("/");
        for i in 0..n {
            builder = builder.header(format!("x-{i}"), value.as_str());
        }
        builder
    };
    // 18 + 4 * 66 = 282 <= 300; 18 + 5 * 66 = 348 > 300.
    assert_eq!(check_get(request(4)), None);
    assert_eq!(check_get(request(5)), Some("request_header_too_large"));
    let over = request(5).body(()).expect("a request");
    let refusal = check(&over, "site.test", &limits(), Profile::Current).expect("refused");
    assert_eq!(refusal.kind, PageKind::Unbranded { status: 413 });
}

#[test]
fn forged_identity_gets_error_1000() {
    let refused = |b: http::request::Builder| {
        let request = b.body(()).expect("a request");
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
    let v6 = Request::get("http://[::1]:8080/")
        .body(())
        .expect("a request");
    assert_eq!(check(&v6, "[::1]", &limits(), Profile::Classic), None);
    assert!(check(&v6, "site.test", &limits(), Profile::Classic).is_some());
}
