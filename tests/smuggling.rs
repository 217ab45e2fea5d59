//! Request smuggling and proxy abuse: requests whose framing two parsers could read two ways
//! (Content-Length with Transfer-Encoding, differing lengths, codings other than chunked, bad
//! chunk sizes, obs-fold, bare CR) are answered 400 and never forwarded, checked on a raw
//! socket origin that records every byte; what does reach the origin is exactly what the edge
//! parsed, framed anew. The edge is no open proxy: absolute-form URIs naming another host and
//! CONNECT never reach any socket but the configured origin.
mod support;

use support::raw::{
    ORIGIN_BODY, RawResponse, RawVisitor, RecordingOrigin, TomlConfig, contains, exchange,
};
use support::visitor::{RawEnd, within};
use support::{Edge, GUARD, spawn_edge};

/// The Host every request names.
const HOST: &str = "site.test";

/// What a smuggler hides behind the first request: a request of its own.
const SMUGGLED: &str = "GET /admin HTTP/1.1\r\nhost: site.test\r\n\r\n";

/// A recording origin and an edge forwarding to it.
async fn start() -> (RecordingOrigin, Edge) {
    let origin = RecordingOrigin::start().await;
    let edge = spawn_edge(TomlConfig::new(origin.addr()).build()).await;
    (origin, edge)
}

/// Sends `request` on a fresh connection and asserts: a 400 comes back, the edge then closes
/// the connection without answering anything else, and the origin never got a byte.
async fn assert_refused_unforwarded(request: &[u8]) {
    let (origin, edge) = start().await;
    let mut visitor = RawVisitor::connect(edge.addr()).await;
    visitor.send(request).await;

    let res = within(GUARD, visitor.response())
        .await
        .unwrap_or_else(|| panic!("expected a 400 to {:?}", String::from_utf8_lossy(request)));
    assert_eq!(
        res.status,
        400,
        "to {:?}: {}{}",
        String::from_utf8_lossy(request),
        res.head,
        res.text()
    );
    // Whatever followed the refused head cannot be trusted as a next request.
    let rest = within(GUARD, visitor.closed()).await;
    assert!(
        rest.bytes.is_empty(),
        "answered more after the 400: {:?}",
        String::from_utf8_lossy(&rest.bytes)
    );
    assert!(matches!(rest.end, RawEnd::CleanEof | RawEnd::Reset));
    origin.assert_untouched();
}

/// A `POST /smuggle` with `headers` (whole lines) and `body`.
fn post(headers: &str, body: &str) -> Vec<u8> {
    format!("POST /smuggle HTTP/1.1\r\nhost: {HOST}\r\n{headers}\r\n{body}").into_bytes()
}

/// A chunked body that ends at once, then the smuggled request: read by Transfer-Encoding it is
/// two requests, by a Content-Length covering it all, one.
fn terminated_then_smuggled() -> String {
    format!("0\r\n\r\n{SMUGGLED}")
}

#[tokio::test]
async fn content_length_then_transfer_encoding_is_refused_with_400() {
    let body = terminated_then_smuggled();
    let headers = format!(
        "content-length: {}\r\ntransfer-encoding: chunked\r\n",
        body.len()
    );
    assert_refused_unforwarded(&post(&headers, &body)).await;
}

#[tokio::test]
async fn transfer_encoding_then_content_length_is_refused_with_400() {
    let body = terminated_then_smuggled();
    let headers = format!(
        "transfer-encoding: chunked\r\ncontent-length: {}\r\n",
        body.len()
    );
    assert_refused_unforwarded(&post(&headers, &body)).await;
}

#[tokio::test]
async fn content_length_with_transfer_encoding_never_smuggles_the_hidden_request() {
    let body = terminated_then_smuggled();
    let length = format!("content-length: {}\r\n", body.len());
    let chunked = "transfer-encoding: chunked\r\n";
    for headers in [format!("{length}{chunked}"), format!("{chunked}{length}")] {
        let (origin, edge) = start().await;
        let mut visitor = RawVisitor::connect(edge.addr()).await;
        visitor.send(&post(&headers, &body)).await;

        // Whatever the answer to the ambiguous request, it is the only one: the connection
        // then closes, so the hidden request is never read as a second one.
        let res = within(GUARD, visitor.response())
            .await
            .expect("the ambiguous request is answered");
        let rest = within(GUARD, visitor.closed()).await;
        assert!(
            rest.bytes.is_empty(),
            "{headers:?}: a second answer after the {}: {:?}",
            res.status,
            String::from_utf8_lossy(&rest.bytes)
        );
        let received = origin.all_bytes();
        assert!(
            !contains(&received, b"/admin"),
            "{headers:?}: the hidden request reached the origin: {:?}",
            String::from_utf8_lossy(&received)
        );
        for request in origin.requests() {
            assert_eq!(request.target, "/smuggle", "{headers:?}");
            assert!(
                request.header("content-length").is_none()
                    || request.header("transfer-encoding").is_none(),
                "{headers:?}: forwarded with both framings: {:?}",
                request.headers
            );
        }
    }
}

#[tokio::test]
async fn two_differing_content_lengths_are_refused_with_400() {
    assert_refused_unforwarded(&post(
        "content-length: 5\r\ncontent-length: 6\r\n",
        "hello!",
    ))
    .await;
}

#[tokio::test]
async fn transfer_encoding_gzip_is_refused_with_400() {
    assert_refused_unforwarded(&post("transfer-encoding: gzip\r\n", "0\r\n\r\n")).await;
}

#[tokio::test]
async fn transfer_encoding_not_ending_in_chunked_is_refused_with_400() {
    assert_refused_unforwarded(&post("transfer-encoding: chunked, gzip\r\n", "0\r\n\r\n")).await;
}

#[tokio::test]
async fn transfer_encoding_lines_ending_in_gzip_are_refused_with_400() {
    assert_refused_unforwarded(&post(
        "transfer-encoding: chunked\r\ntransfer-encoding: gzip\r\n",
        "0\r\n\r\n",
    ))
    .await;
}

#[tokio::test]
async fn invalid_chunk_size_at_the_start_of_the_body_is_refused_with_400() {
    assert_refused_unforwarded(&post(
        "transfer-encoding: chunked\r\n",
        "zz\r\nhello\r\n0\r\n\r\n",
    ))
    .await;
}

#[tokio::test]
async fn obs_fold_continuation_with_a_space_is_refused_with_400() {
    assert_refused_unforwarded(
        format!("GET /fold HTTP/1.1\r\nhost: {HOST}\r\nx-folded: first\r\n second\r\n\r\n")
            .as_bytes(),
    )
    .await;
}

#[tokio::test]
async fn obs_fold_continuation_with_a_tab_is_refused_with_400() {
    assert_refused_unforwarded(
        format!("GET /fold HTTP/1.1\r\nhost: {HOST}\r\nx-folded: first\r\n\tsecond\r\n\r\n")
            .as_bytes(),
    )
    .await;
}

#[tokio::test]
async fn bare_cr_in_a_header_value_is_refused_with_400() {
    assert_refused_unforwarded(
        format!("GET /cr HTTP/1.1\r\nhost: {HOST}\r\nx-bad: a\rb\r\n\r\n").as_bytes(),
    )
    .await;
}

#[tokio::test]
async fn two_identical_content_lengths_are_forwarded_once_with_one_content_length() {
    let (origin, edge) = start().await;
    let request = post("content-length: 5\r\ncontent-length: 5\r\n", "hello");

    let res = within(GUARD, exchange(edge.addr(), &request)).await;

    assert_eq!(res.status, 200, "{}{}", res.head, res.text());
    assert_eq!(res.text(), ORIGIN_BODY);
    let requests = origin.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let seen = &requests[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.target, "/smuggle");
    assert_eq!(seen.body, b"hello");
    assert_eq!(seen.header_all("content-length"), ["5"]);
    assert!(seen.header("transfer-encoding").is_none());
}

/// Reads `n` responses off `visitor`, in order.
async fn responses(visitor: &mut RawVisitor, n: usize) -> Vec<RawResponse> {
    let mut all = Vec::new();
    for i in 0..n {
        let res = within(GUARD, visitor.response())
            .await
            .unwrap_or_else(|| panic!("expected response {i} of {n}"));
        all.push(res);
    }
    all
}

#[tokio::test]
async fn pipelined_requests_reach_the_origin_as_parsed_and_framed_anew() {
    let (origin, edge) = start().await;
    // The first request's body looks like a request; the second is a real one.
    let first = format!(
        "POST /first HTTP/1.1\r\nhost: {HOST}\r\ncontent-length: {}\r\n\r\n{SMUGGLED}",
        SMUGGLED.len()
    );
    let second = format!("GET /second HTTP/1.1\r\nhost: {HOST}\r\n\r\n");
    let mut visitor = RawVisitor::connect(edge.addr()).await;
    visitor.send(format!("{first}{second}").as_bytes()).await;

    let answers = responses(&mut visitor, 2).await;

    for res in &answers {
        assert_eq!(res.status, 200, "{}{}", res.head, res.text());
        assert_eq!(res.text(), ORIGIN_BODY);
    }
    let requests = origin.requests();
    let seen: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.target.as_str()))
        .collect();
    assert_eq!(seen, [("POST", "/first"), ("GET", "/second")]);
    assert_eq!(requests[0].body, SMUGGLED.as_bytes());
    assert_eq!(
        requests[0].header_all("content-length"),
        [SMUGGLED.len().to_string().as_str()]
    );
    assert!(!requests[0].chunked);
    assert!(requests[1].body.is_empty());
    assert!(
        requests[1]
            .header("content-length")
            .is_none_or(|length| length == "0")
    );
    for request in &requests {
        assert!(
            request.header("cf-ray").is_some(),
            "each request was made by the edge"
        );
        assert!(request.header("transfer-encoding").is_none());
    }
    let received = origin.all_bytes();
    for visitor_head in [&first[..first.len() - SMUGGLED.len()], &second[..]] {
        assert!(
            !contains(&received, visitor_head.as_bytes()),
            "the visitor's bytes reached the origin as sent: {visitor_head:?}"
        );
    }
}

#[tokio::test]
async fn pipelined_valid_request_then_smuggling_one_forwards_only_the_valid_one() {
    let (origin, edge) = start().await;
    let body = terminated_then_smuggled();
    let hostile = format!(
        "POST /second HTTP/1.1\r\nhost: {HOST}\r\ncontent-length: {}\r\n\
         transfer-encoding: chunked\r\n\r\n{body}",
        body.len()
    );
    let mut visitor = RawVisitor::connect(edge.addr()).await;
    visitor
        .send(format!("GET /first HTTP/1.1\r\nhost: {HOST}\r\n\r\n{hostile}").as_bytes())
        .await;

    let answers = responses(&mut visitor, 2).await;

    assert_eq!(answers[0].status, 200);
    assert_eq!(answers[1].status, 400, "{}", answers[1].head);
    let rest = within(GUARD, visitor.closed()).await;
    assert!(
        rest.bytes.is_empty(),
        "answered more after the 400: {:?}",
        String::from_utf8_lossy(&rest.bytes)
    );
    let targets: Vec<String> = origin.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(targets, ["/first"]);
    let received = origin.all_bytes();
    for never in ["/second", "/admin"] {
        assert!(
            !contains(&received, never.as_bytes()),
            "{never} reached the origin"
        );
    }
}

/// An origin, an "evil" listener that `evil.test` resolves to, and an edge that knows both
/// names but forwards only to the origin.
async fn start_with_evil() -> (RecordingOrigin, RecordingOrigin, Edge) {
    let origin = RecordingOrigin::start().await;
    let evil = RecordingOrigin::start().await;
    let config = TomlConfig::new(origin.addr())
        .host("evil.test", "127.0.0.1")
        .build();
    let edge = spawn_edge(config).await;
    (origin, evil, edge)
}

#[tokio::test]
async fn absolute_form_naming_another_host_is_refused_with_400() {
    let (origin, evil, edge) = start_with_evil().await;
    let request = format!(
        "GET http://evil.test:{}/steal HTTP/1.1\r\nhost: {HOST}\r\n\r\n",
        evil.port()
    );

    let res = within(GUARD, exchange(edge.addr(), request.as_bytes())).await;

    assert_eq!(res.status, 400, "{}{}", res.head, res.text());
    assert_eq!(res.header("server"), Some("cloudflare"));
    assert!(res.header("cf-ray").is_some());
    evil.assert_untouched();
    origin.assert_untouched();
}

#[tokio::test]
async fn absolute_form_naming_the_host_is_forwarded_in_origin_form() {
    let (origin, evil, edge) = start_with_evil().await;
    let request = format!("GET http://{HOST}/same?x=1 HTTP/1.1\r\nhost: {HOST}\r\n\r\n");

    let res = within(GUARD, exchange(edge.addr(), request.as_bytes())).await;

    assert_eq!(res.status, 200, "{}{}", res.head, res.text());
    let requests = origin.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].target, "/same?x=1");
    assert_eq!(requests[0].header("host"), Some(HOST));
    evil.assert_untouched();
}

#[tokio::test]
async fn absolute_form_and_host_both_naming_another_host_still_go_to_the_configured_origin() {
    let (origin, evil, edge) = start_with_evil().await;
    let evil_host = format!("evil.test:{}", evil.port());
    let request = format!("GET http://{evil_host}/steal HTTP/1.1\r\nhost: {evil_host}\r\n\r\n");

    let res = within(GUARD, exchange(edge.addr(), request.as_bytes())).await;

    // The Host header only picks among configured routes; there is none for it, so the
    // default origin gets the request.
    assert_eq!(res.status, 200, "{}{}", res.head, res.text());
    let requests = origin.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].target, "/steal");
    evil.assert_untouched();
}

#[tokio::test]
async fn connect_is_refused_with_405() {
    let (origin, evil, edge) = start_with_evil().await;
    let authority = format!("evil.test:{}", evil.port());
    let request = format!("CONNECT {authority} HTTP/1.1\r\nhost: {authority}\r\n\r\n");

    let res = within(GUARD, exchange(edge.addr(), request.as_bytes())).await;

    assert_eq!(res.status, 405, "{}{}", res.head, res.text());
    assert_eq!(res.header("server"), Some("cloudflare"));
    assert!(res.header("cf-ray").is_some());
    evil.assert_untouched();
    origin.assert_untouched();
}
