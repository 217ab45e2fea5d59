//! Healthy proxying: what the origin receives (Cloudflare's added headers, the visitor's Host,
//! path, query, method and body, no hop-by-hop headers), what the visitor gets back (the origin's
//! answer streamed whole, with Cloudflare's headers and without hop-by-hop ones), over HTTP/1.1
//! and h2c, for bodiless answers (HEAD, 204, 304), through `[[route]]`s, and with one ray ID per
//! request under concurrency.
mod support;

use std::collections::HashSet;

use bytes::Bytes;
use http::{Method, Request, Version};
use http_body_util::{BodyExt, Empty, Full};
use tokio::task::JoinSet;

use edgecase::config::Config;
use support::origins::Origin;
use support::visitor::{
    Response, get, get_h2, get_with_host, raw_exchange, send, send_streaming, streaming_body,
    try_send_h2, within,
};
use support::{
    ACK_MS, CONNECT_MS, GUARD, READ_MS, WRITE_MS, assert_ray_format, spawn_edge, test_config,
};

/// A body of `len` bytes whose content depends on each byte's position, so a lost, repeated or
/// reordered chunk shows up in a comparison.
fn patterned(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 251 % 256) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// Asserts a proxied response carries Cloudflare's passthrough headers and returns its ray.
#[track_caller]
fn assert_passthrough(res: &Response) -> String {
    assert_eq!(res.header("server"), Some("cloudflare"));
    assert_eq!(res.header("cf-cache-status"), Some("DYNAMIC"));
    let ray = res
        .header("cf-ray")
        .expect("a proxied response carries cf-ray");
    assert_ray_format(ray);
    ray.to_owned()
}

#[tokio::test]
async fn origin_receives_cloudflares_headers_and_the_visitors_host() {
    let origin = Origin::ok("hello").await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let res = within(GUARD, get_with_host(edge.addr(), "site.test", "/")).await;

    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "hello");
    let ray = assert_passthrough(&res);
    let seen = origin.last_request().expect("the origin saw the request");
    assert_eq!(seen.header("host"), Some("site.test"));
    assert_eq!(seen.header("cf-connecting-ip"), Some("127.0.0.1"));
    assert_eq!(seen.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(seen.header("x-forwarded-proto"), Some("http"));
    assert_eq!(seen.header("cf-visitor"), Some(r#"{"scheme":"http"}"#));
    assert_eq!(seen.header("cdn-loop"), Some("cloudflare"));
    assert_eq!(seen.header("cf-ipcountry"), Some("XX"));
    assert_eq!(seen.header("cf-ray"), Some(ray.as_str()));
    assert_eq!(seen.version, Version::HTTP_11);
}

#[tokio::test]
async fn incoming_forwarding_headers_are_appended_to_or_overwritten() {
    let origin = Origin::ok("hello").await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    let request = Request::get("/")
        .header("x-forwarded-for", "203.0.113.9")
        .header("x-forwarded-proto", "https")
        .header("cf-visitor", r#"{"scheme":"https"}"#)
        .header("cf-ray", "0123456789abcdef-XXX")
        .body(Empty::<Bytes>::new())
        .expect("a valid request");

    let res = within(GUARD, send(edge.addr(), request)).await;

    assert_eq!(res.status(), 200);
    let ray = assert_passthrough(&res);
    assert_ne!(
        ray, "0123456789abcdef-XXX",
        "the visitor's forged ray came back"
    );
    let seen = origin.last_request().expect("the origin saw the request");
    let all = |name: &str| -> Vec<&str> {
        seen.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().expect("ASCII header"))
            .collect()
    };
    assert_eq!(all("x-forwarded-for"), ["203.0.113.9,127.0.0.1"]);
    assert_eq!(all("x-forwarded-proto"), ["http"]);
    assert_eq!(all("cf-visitor"), [r#"{"scheme":"http"}"#]);
    assert_eq!(
        all("cf-ray"),
        [ray.as_str()],
        "the forged cf-ray is overwritten"
    );
    assert_eq!(all("cdn-loop"), ["cloudflare"]);
}

#[tokio::test]
async fn hop_by_hop_request_headers_do_not_reach_the_origin() {
    let origin = Origin::ok("hello").await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    let request = Request::get("/")
        .header("connection", "keep-alive, x-secret")
        .header("x-secret", "1")
        .header("keep-alive", "5")
        .header("te", "trailers")
        .header("upgrade", "websocket")
        .header("x-kept", "yes")
        .body(Empty::<Bytes>::new())
        .expect("a valid request");

    let res = within(GUARD, send(edge.addr(), request)).await;

    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "hello");
    let seen = origin.last_request().expect("the origin saw the request");
    assert_eq!(
        seen.header("x-kept"),
        Some("yes"),
        "end-to-end headers pass"
    );
    // The edge may speak its own `connection` header to the origin, never the visitor's.
    assert!(
        seen.headers
            .get_all("connection")
            .iter()
            .all(|v| !v.to_str().unwrap_or("").contains("x-secret")),
        "the visitor's connection header reached the origin: {:?}",
        seen.headers
    );
    for gone in ["x-secret", "keep-alive", "te", "upgrade"] {
        assert!(
            !seen.headers.contains_key(gone),
            "{gone} reached the origin: {:?}",
            seen.headers
        );
    }
}

#[tokio::test]
async fn hop_by_hop_response_headers_do_not_reach_the_visitor() {
    const HEADERS: &[(&str, &str)] = &[
        ("content-type", "text/plain"),
        ("keep-alive", "timeout=5"),
        ("connection", "x-drop"),
        ("x-drop", "1"),
        ("proxy-connection", "keep-alive"),
        ("x-app", "kept"),
    ];
    let origin = Origin::with_headers(200, HEADERS, "hello").await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let res = within(GUARD, get(edge.addr(), "/")).await;

    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "hello");
    assert_passthrough(&res);
    assert_eq!(res.header("x-app"), Some("kept"), "end-to-end headers pass");
    for gone in ["keep-alive", "connection", "x-drop", "proxy-connection"] {
        assert!(
            !res.headers().contains_key(gone),
            "{gone} reached the visitor: {:?}",
            res.headers()
        );
    }
}

#[tokio::test]
async fn path_and_query_arrive_unchanged() {
    let origin = Origin::ok("hello").await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let res = within(GUARD, get(edge.addr(), "/a/b?c=d&e=%20f")).await;

    assert_eq!(res.status(), 200);
    let seen = origin.last_request().expect("the origin saw the request");
    assert_eq!(seen.uri, "/a/b?c=d&e=%20f");
}

#[tokio::test]
async fn other_methods_pass_through_with_their_bodies() {
    let origin = Origin::ok("hello").await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    for method in [
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
    ] {
        let body = format!("body of {method}");
        let request = Request::builder()
            .method(method.clone())
            .uri("/m")
            .body(Full::new(Bytes::from(body.clone())))
            .expect("a valid request");

        let res = within(GUARD, send(edge.addr(), request)).await;

        assert_eq!(res.status(), 200, "{method}");
        assert_eq!(res.text(), "hello", "{method}");
        let seen = origin.last_request().expect("the origin saw the request");
        assert_eq!(seen.method, method);
        assert_eq!(seen.uri, "/m", "{method}");
        assert_eq!(seen.body, body.as_bytes(), "{method}");
    }
    assert_eq!(origin.requests().len(), 5);
}

#[tokio::test]
async fn five_mib_upload_with_content_length_arrives_intact() {
    const LEN: usize = 5 * 1024 * 1024;
    let origin = Origin::echo_body().await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    let upload = patterned(LEN);
    let request = Request::post("/upload")
        .body(Full::new(upload.clone()))
        .expect("a valid request");

    let res = within(GUARD, send(edge.addr(), request)).await;

    assert_eq!(res.status(), 200);
    assert!(res.body_error.is_none(), "{:?}", res.body_error);
    assert_passthrough(&res);
    assert_eq!(res.body.len(), LEN);
    assert!(
        res.body == upload,
        "the echoed body differs from the upload"
    );
    let seen = origin.last_request().expect("the origin saw the request");
    assert_eq!(seen.header("content-length"), Some("5242880"));
}

#[tokio::test]
async fn five_mib_chunked_upload_arrives_intact() {
    const CHUNK: usize = 64 * 1024;
    const LEN: usize = 5 * 1024 * 1024;
    let origin = Origin::echo_body().await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    let upload = patterned(LEN);
    let (sender, body) = streaming_body();
    let feeder = {
        let upload = upload.clone();
        tokio::spawn(async move {
            for start in (0..LEN).step_by(CHUNK) {
                let chunk = upload.slice(start..(start + CHUNK).min(LEN));
                if sender.send(chunk).await.is_err() {
                    return;
                }
            }
        })
    };
    let request = Request::post("/upload")
        .body(body)
        .expect("a valid request");

    let res = within(GUARD, send(edge.addr(), request)).await;

    within(GUARD, feeder)
        .await
        .expect("the feeder did not panic");
    assert_eq!(res.status(), 200);
    assert!(res.body_error.is_none(), "{:?}", res.body_error);
    assert_eq!(res.body.len(), LEN);
    assert!(
        res.body == upload,
        "the echoed body differs from the upload"
    );
    let seen = origin.last_request().expect("the origin saw the request");
    assert_eq!(seen.header("transfer-encoding"), Some("chunked"));
    assert_eq!(seen.header("content-length"), None);
}

#[tokio::test]
async fn chunked_upload_streams_through_without_waiting_for_the_whole_body() {
    let origin = Origin::echo_body().await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    let (sender, body) = streaming_body();
    let request = Request::post("/upload")
        .body(body)
        .expect("a valid request");
    let first = Bytes::from_static(b"first chunk;");
    let second = Bytes::from_static(b"second chunk");

    // Queued before the request goes; the rest is sent only once this chunk has come back.
    within(GUARD, sender.send(first.clone()))
        .await
        .expect("the body channel is open");
    // The head comes back while the upload is still open: the origin answers its head at once.
    let streaming = within(GUARD, send_streaming(edge.addr(), request))
        .await
        .expect("a response head while the upload is still open");
    assert_eq!(streaming.response.status(), 200);
    let mut body = streaming.response.into_body();
    let mut echoed = Vec::new();
    while echoed.len() < first.len() {
        let frame = within(GUARD, body.frame())
            .await
            .expect("the first chunk comes back before the upload ends")
            .expect("a body frame");
        if let Some(data) = frame.data_ref() {
            echoed.extend_from_slice(data);
        }
    }
    assert_eq!(echoed, first, "the first chunk came back alone");

    within(GUARD, sender.send(second.clone()))
        .await
        .expect("the request body is still being read");
    drop(sender);
    let rest = within(GUARD, body.collect())
        .await
        .expect("the body ends cleanly")
        .to_bytes();
    assert_eq!(rest, second);
}

#[tokio::test]
async fn eight_mib_response_streams_intact() {
    const LEN: usize = 8 * 1024 * 1024;
    let text: String = (0..LEN)
        .map(|i| {
            let letter = char::from(b'a' + (i % 26) as u8);
            if (i / 26) % 2 == 1 {
                letter.to_ascii_uppercase()
            } else {
                letter
            }
        })
        .collect();
    let text: &'static str = Box::leak(text.into_boxed_str());
    let origin = Origin::ok(text).await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let res = within(GUARD, get(edge.addr(), "/big")).await;

    assert_eq!(res.status(), 200);
    assert!(res.body_error.is_none(), "{:?}", res.body_error);
    assert_passthrough(&res);
    assert_eq!(res.header("content-length"), Some("8388608"));
    assert_eq!(res.body.len(), LEN);
    assert!(
        res.body == text.as_bytes(),
        "the body differs from the origin's"
    );
}

#[tokio::test]
async fn h2c_visitor_gets_the_origin_answer_and_the_origin_sees_the_authority_as_host() {
    let origin = Origin::ok("over h2").await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    let request = Request::get("/h2?x=1")
        .header("host", "h2.test:8443")
        .body(Empty::<Bytes>::new())
        .expect("a valid request");

    let res = within(GUARD, try_send_h2(edge.addr(), request))
        .await
        .expect("an h2 response head");

    assert_eq!(res.status(), 200);
    assert_eq!(res.version, Version::HTTP_2);
    assert_eq!(res.text(), "over h2");
    let ray = assert_passthrough(&res);
    let seen = origin.last_request().expect("the origin saw the request");
    assert_eq!(seen.header("host"), Some("h2.test:8443"));
    assert_eq!(seen.uri, "/h2?x=1");
    assert_eq!(
        seen.version,
        Version::HTTP_11,
        "the origin is spoken to in HTTP/1.1"
    );
    assert_eq!(seen.header("cf-ray"), Some(ray.as_str()));
}

#[tokio::test]
async fn h2c_visitor_with_default_authority_reaches_the_origin() {
    let origin = Origin::ok("over h2").await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let res = within(GUARD, get_h2(edge.addr(), "/")).await;

    assert_eq!(res.status(), 200);
    assert_eq!(res.version, Version::HTTP_2);
    assert_eq!(res.text(), "over h2");
    assert_passthrough(&res);
    let seen = origin.last_request().expect("the origin saw the request");
    let authority = edge.addr().to_string();
    assert_eq!(seen.header("host"), Some(authority.as_str()));
}

#[tokio::test]
async fn head_request_passes_through_without_a_body() {
    let origin = Origin::ok("hello").await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let outcome = within(
        GUARD,
        raw_exchange(
            edge.addr(),
            b"HEAD /h HTTP/1.1\r\nhost: site.test\r\nconnection: close\r\n\r\n",
        ),
    )
    .await;

    assert_eq!(outcome.status(), Some(200));
    assert!(outcome.is_clean_eof(), "{:?}", outcome.end);
    let head = String::from_utf8_lossy(outcome.head().expect("a whole head")).to_lowercase();
    assert!(head.contains("\r\ncontent-length: 5\r\n"), "{head}");
    assert!(head.contains("\r\nserver: cloudflare\r\n"), "{head}");
    assert!(head.contains("\r\ncf-ray: "), "{head}");
    assert_eq!(outcome.body(), b"", "a HEAD response has no body");
    let seen = origin.last_request().expect("the origin saw the request");
    assert_eq!(seen.method, Method::HEAD);
}

/// `GET /` with `connection: close`, read raw to the edge's close, for a bodiless status.
async fn assert_bodiless_status_passes_through(code: u16) {
    let origin = Origin::status(code, "").await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let outcome = within(
        GUARD,
        raw_exchange(
            edge.addr(),
            b"GET / HTTP/1.1\r\nhost: site.test\r\nconnection: close\r\n\r\n",
        ),
    )
    .await;

    assert_eq!(outcome.status(), Some(code));
    assert!(outcome.is_clean_eof(), "{code}: {:?}", outcome.end);
    let head = String::from_utf8_lossy(outcome.head().expect("a whole head")).to_lowercase();
    assert!(head.contains("\r\nserver: cloudflare\r\n"), "{head}");
    assert!(head.contains("\r\ncf-ray: "), "{head}");
    assert!(head.contains("\r\ncf-cache-status: dynamic\r\n"), "{head}");
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert_eq!(outcome.body(), b"", "a {code} has no body");
    assert_eq!(origin.requests().len(), 1);
}

#[tokio::test]
async fn origin_204_passes_through_without_a_body() {
    assert_bodiless_status_passes_through(204).await;
}

#[tokio::test]
async fn origin_304_passes_through_without_a_body() {
    assert_bodiless_status_passes_through(304).await;
}

/// A config forwarding to `default` with two routes: `host = "api.test"` to `api`, then
/// `path_prefix = "/b/"` to `b`.
fn routed_config(default: &Origin, api: &Origin, b: &Origin) -> Config {
    let text = format!(
        "[edge]\nlisten = \"127.0.0.1:0\"\n\
         [origin]\naddress = \"{}\"\n\
         [timeouts]\nconnect = \"{CONNECT_MS}ms\"\nack = \"{ACK_MS}ms\"\n\
         write = \"{WRITE_MS}ms\"\nread = \"{READ_MS}ms\"\n\
         [dns]\nsystem = false\n\
         [[route]]\nhost = \"api.test\"\norigin = \"{}\"\n\
         [[route]]\npath_prefix = \"/b/\"\norigin = \"{}\"\n",
        default.addr(),
        api.addr(),
        b.addr(),
    );
    Config::from_toml_str(&text).expect("the routed config is valid")
}

#[tokio::test]
async fn routes_send_each_request_to_the_first_matching_origin() {
    let api = Origin::ok("A").await;
    let b = Origin::ok("B").await;
    let default = Origin::ok("C").await;
    let edge = spawn_edge(routed_config(&default, &api, &b)).await;

    for (host, path, expected) in [
        ("api.test", "/x", "A"),
        // Host matching ignores case and the port; the host route comes first.
        ("API.Test:8080", "/b/x", "A"),
        ("other.test", "/b/y?q=1", "B"),
        ("other.test:81", "/b/", "B"),
        ("other.test", "/c", "C"),
        ("other.test", "/b", "C"),
        ("api.test.example", "/x", "C"),
    ] {
        let res = within(GUARD, get_with_host(edge.addr(), host, path)).await;
        assert_eq!(res.status(), 200, "{host}{path}");
        assert_eq!(res.text(), expected, "{host}{path}");
    }

    let seen = |origin: &Origin| -> Vec<(String, String)> {
        origin
            .requests()
            .iter()
            .map(|r| {
                let host = r.header("host").expect("a Host header").to_owned();
                (host, r.uri.to_string())
            })
            .collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(h, p)| ((*h).to_owned(), (*p).to_owned()))
            .collect()
    };
    assert_eq!(
        seen(&api),
        pairs(&[("api.test", "/x"), ("API.Test:8080", "/b/x")]),
        "the origin gets the visitor's Host as sent"
    );
    assert_eq!(
        seen(&b),
        pairs(&[("other.test", "/b/y?q=1"), ("other.test:81", "/b/")])
    );
    assert_eq!(
        seen(&default),
        pairs(&[
            ("other.test", "/c"),
            ("other.test", "/b"),
            ("api.test.example", "/x")
        ])
    );
}

#[tokio::test]
async fn fifty_concurrent_requests_each_get_their_own_ray() {
    const N: usize = 50;
    let origin = Origin::ok("hello").await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    let addr = edge.addr();

    let mut requests = JoinSet::new();
    for i in 0..N {
        requests.spawn(async move {
            let path = format!("/r/{i}");
            let res = get(addr, &path).await;
            (path, res)
        });
    }
    let mut rays_by_path = Vec::with_capacity(N);
    while let Some(joined) = within(GUARD, requests.join_next()).await {
        let (path, res) = joined.expect("a request task did not panic");
        assert_eq!(res.status(), 200, "{path}");
        let ray = assert_passthrough(&res);
        rays_by_path.push((path, ray));
    }

    assert_eq!(rays_by_path.len(), N);
    let unique: HashSet<&str> = rays_by_path.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(unique.len(), N, "rays repeat: {rays_by_path:?}");
    let seen = origin.requests();
    assert_eq!(seen.len(), N);
    for (path, ray) in &rays_by_path {
        let request = seen
            .iter()
            .find(|r| r.uri == path.as_str())
            .unwrap_or_else(|| panic!("the origin never saw {path}"));
        assert_eq!(request.header("cf-ray"), Some(ray.as_str()), "{path}");
    }
}
