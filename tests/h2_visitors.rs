//! HTTP/2 from visitors, over real loopback sockets: h2c with prior knowledge and h2 over TLS
//! (ALPN), many concurrent streams on one connection each answered with its own ray ID, the
//! `SETTINGS_MAX_CONCURRENT_STREAMS` the edge advertises (`[limits] h2_max_concurrent_streams`),
//! and a rapid-reset flood (CVE-2023-44487: HEADERS then RST_STREAM, thousands of times) that
//! must leave the edge answering other visitors.
//!
//! The edge runs in-process ([`spawn_edge`], [`spawn_edge_tls`]); the origins are the plain ones
//! of `support/origins.rs`. Visitors use hyper's HTTP/2 client, or the h2 crate where a test
//! needs the frames themselves (settings, resets).
mod support;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Version};
use http_body_util::Empty;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use support::https::{H2, HttpsVisitor};
use support::origins::Origin;
use support::pki::{TempDir, TestCa};
use support::visitor::{Response, drive, get_h2, whole_response, within};
use support::{
    GUARD, assert_ray_format, ms, spawn_edge, spawn_edge_tls, test_config, test_config_with,
    tls_test_config,
};

/// What the origins answer.
const ORIGIN_BODY: &str = "answered by the origin";

/// Streams opened at once on one connection.
const STREAMS: usize = 100;

/// How long the delayed origin holds each answer, so the streams overlap at the edge.
const ORIGIN_DELAY_MS: u64 = 200;

/// HEADERS + RST_STREAM pairs in the rapid-reset flood.
const FLOOD: usize = 5000;

/// Cloudflare's default `SETTINGS_MAX_CONCURRENT_STREAMS`, which the edge advertises unless
/// `[limits] h2_max_concurrent_streams` says otherwise.
const DEFAULT_MAX_STREAMS: usize = 256;

/// Sends `n` GETs (`{base}/stream/{i}`) at once on one HTTP/2 connection over `io` and reads
/// every response whole; returns them with their index, and how long they all took.
async fn concurrent_gets<T>(io: T, base: &str, n: usize) -> (Vec<(usize, Response)>, Duration)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .expect("the h2 handshake with the edge");
    drive(connection);
    let started = Instant::now();
    let mut streams = JoinSet::new();
    for i in 0..n {
        let mut sender = sender.clone();
        let uri = format!("{base}/stream/{i}");
        streams.spawn(async move {
            let request = Request::get(uri)
                .version(Version::HTTP_2)
                .body(Empty::<Bytes>::new())
                .expect("a test URI makes a valid request");
            let sent = Instant::now();
            let response = sender
                .send_request(request)
                .await
                .unwrap_or_else(|e| panic!("stream {i} got no response head: {e}"));
            (i, whole_response(response, sent.elapsed()).await)
        });
    }
    let responses = within(GUARD, streams.join_all()).await;
    (responses, started.elapsed())
}

/// Asserts every response is the origin's 200 over HTTP/2 with a well-formed ray ID of its
/// own; returns the ray ID of each index.
#[track_caller]
fn assert_distinct_rays(responses: &[(usize, Response)], n: usize) -> HashMap<usize, String> {
    assert_eq!(responses.len(), n);
    let mut rays = HashMap::new();
    for (i, res) in responses {
        assert_eq!(res.status(), 200, "stream {i}: {}", res.text());
        assert_eq!(res.version, Version::HTTP_2, "stream {i}");
        assert_eq!(res.text(), ORIGIN_BODY, "stream {i}");
        assert!(res.body_error.is_none(), "stream {i}: {:?}", res.body_error);
        let ray = res.header("cf-ray").expect("every stream carries cf-ray");
        assert_ray_format(ray);
        rays.insert(*i, ray.to_owned());
    }
    let distinct: HashSet<&String> = rays.values().collect();
    assert_eq!(distinct.len(), n, "each stream has its own ray ID");
    rays
}

/// Opens an h2c connection with the h2 crate, completes one request (so the edge's SETTINGS
/// have been received and applied) and returns the `SETTINGS_MAX_CONCURRENT_STREAMS` it
/// advertised.
async fn advertised_max_streams(edge: SocketAddr) -> usize {
    let tcp = within(GUARD, TcpStream::connect(edge))
        .await
        .expect("connect to the edge");
    let (client, connection) = within(GUARD, h2::client::handshake(tcp))
        .await
        .expect("the h2 handshake with the edge");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut client = within(GUARD, client.ready())
        .await
        .expect("the connection accepts a stream");
    let request = Request::get(format!("http://{edge}/settings"))
        .body(())
        .expect("a test URI makes a valid request");
    let (response, _) = client.send_request(request, true).expect("open a stream");
    let response = within(GUARD, response)
        .await
        .expect("a response head on the stream");
    assert_eq!(response.status(), 200);
    client.current_max_send_streams()
}

// ---------------------------------------------------------------------------------------------
// Concurrent streams
// ---------------------------------------------------------------------------------------------

/// Found by the `visitor_request` fuzz target: a visitor that sends a prefix of the h2 preface
/// ("P") and closes its side was kept until the header timeout, as if more could come.
#[tokio::test]
async fn a_visitor_that_closes_after_a_prefix_of_the_preface_is_not_kept_waiting() {
    let origin = Origin::ok(ORIGIN_BODY).await;
    let mut config = test_config(origin.addr());
    config.visitor.client_header_timeout = Duration::from_secs(30);
    let edge = spawn_edge(config).await;
    for prefix in [&b"P"[..], b"PR", b"PRI"] {
        let mut visitor = TcpStream::connect(edge.addr()).await.expect("connects");
        visitor.write_all(prefix).await.expect("sends");
        visitor.shutdown().await.expect("half-closes");
        let started = Instant::now();
        let mut answer = Vec::new();
        within(GUARD, visitor.read_to_end(&mut answer))
            .await
            .expect("the edge closes the connection");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{prefix:?}: closed after {:?}, not at once",
            started.elapsed()
        );
        assert_eq!(origin.requests().len(), 0, "nothing reached the origin");
    }
}

#[tokio::test]
async fn a_hundred_concurrent_h2c_streams_are_all_answered_each_with_its_own_ray() {
    let origin = Origin::delayed(ms(ORIGIN_DELAY_MS), ORIGIN_BODY).await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    let tcp = within(GUARD, TcpStream::connect(edge.addr()))
        .await
        .expect("connect to the edge");

    let (responses, took) = concurrent_gets(tcp, &format!("http://{}", edge.addr()), STREAMS).await;

    let rays = assert_distinct_rays(&responses, STREAMS);
    // One after the other they would take STREAMS x ORIGIN_DELAY_MS = 20 s.
    assert!(
        took < Duration::from_secs(5),
        "the streams were served concurrently: took {took:?}"
    );
    within(GUARD, origin.requests_seen(STREAMS)).await;
    let seen = origin.requests();
    assert_eq!(seen.len(), STREAMS, "one origin request per stream");
    for request in &seen {
        let i: usize = request
            .uri
            .path()
            .strip_prefix("/stream/")
            .and_then(|i| i.parse().ok())
            .unwrap_or_else(|| panic!("an origin request for /stream/<i>: {}", request.uri));
        assert_eq!(
            request.header("cf-ray"),
            rays.get(&i).map(String::as_str),
            "the origin sees the ray ID the visitor gets, stream {i}"
        );
    }
}

#[tokio::test]
async fn the_edge_advertises_256_concurrent_streams_by_default() {
    let origin = Origin::ok(ORIGIN_BODY).await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    assert_eq!(
        advertised_max_streams(edge.addr()).await,
        DEFAULT_MAX_STREAMS
    );
}

#[tokio::test]
async fn h2_max_concurrent_streams_from_limits_is_advertised_in_settings() {
    let origin = Origin::ok(ORIGIN_BODY).await;
    let edge = spawn_edge(test_config_with(
        origin.addr(),
        "[limits]\nh2_max_concurrent_streams = 10\n",
    ))
    .await;

    assert_eq!(advertised_max_streams(edge.addr()).await, 10);
}

// ---------------------------------------------------------------------------------------------
// Rapid reset
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_rapid_reset_flood_does_not_stop_the_edge_answering_other_visitors() {
    let origin = Origin::ok(ORIGIN_BODY).await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    let tcp = within(GUARD, TcpStream::connect(edge.addr()))
        .await
        .expect("connect to the edge");
    let (client, connection) = within(GUARD, h2::client::handshake(tcp))
        .await
        .expect("the h2 handshake with the edge");
    let flooded = tokio::spawn(connection);

    // HEADERS immediately followed by RST_STREAM(CANCEL), as fast as the edge takes them. The
    // edge may cut the connection part way (GOAWAY or close): that ends the flood early.
    let addr = edge.addr();
    let (client, sent, cut_short) = within(GUARD, async move {
        let mut client = client;
        for i in 0..FLOOD {
            client = match client.ready().await {
                Ok(ready) => ready,
                Err(e) => return (None, i, Some(e)),
            };
            let request = Request::get(format!("http://{addr}/flood/{i}"))
                .body(())
                .expect("a test URI makes a valid request");
            match client.send_request(request, true) {
                Ok((response, mut stream)) => {
                    stream.send_reset(h2::Reason::CANCEL);
                    drop(response);
                }
                Err(e) => return (None, i, Some(e)),
            }
        }
        (Some(client), FLOOD, None)
    })
    .await;
    eprintln!(
        "rapid reset: sent {sent} HEADERS+RST_STREAM pairs; cut short by the edge: {:?}",
        cut_short.as_ref().map(ToString::to_string)
    );

    // Another visitor is still served promptly.
    let res = within(
        Duration::from_secs(1),
        get_h2(edge.addr(), "/after-the-flood"),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.text(), ORIGIN_BODY);
    assert_ray_format(res.header("cf-ray").expect("cf-ray"));

    // The flooding connection was told to go away or closed; `client` is still held here, so
    // the connection cannot have ended on the visitor's own initiative.
    let ended = within(GUARD, flooded)
        .await
        .expect("the connection task did not panic");
    match &ended {
        Ok(()) => eprintln!("rapid reset: the edge closed the flooding connection gracefully"),
        Err(e) if e.is_go_away() || e.is_remote() => {
            eprintln!("rapid reset: the edge sent GOAWAY / reset: {e}");
        }
        Err(e) if e.is_io() => eprintln!("rapid reset: the edge dropped the connection: {e}"),
        Err(e) => panic!("the flooding connection ended on a local error: {e}"),
    }
    drop(client);
}

// ---------------------------------------------------------------------------------------------
// h2 over TLS
// ---------------------------------------------------------------------------------------------

/// An edge with HTTPS (certificate for `localhost` from a fresh test CA) forwarding to
/// `origin`, and what keeps its files alive.
async fn tls_edge(origin: &Origin) -> (support::Edge, TestCa, TempDir) {
    let ca = TestCa::new("edgecase h2 test CA");
    let identity = ca.issue(&["localhost", "127.0.0.1"]);
    let dir = TempDir::new("h2-visitors");
    let (cert, key) = identity.write_to(&dir, "edge");
    let config = tls_test_config(origin.addr(), &cert, &key, "flexible");
    (spawn_edge_tls(config).await, ca, dir)
}

#[tokio::test]
async fn h2_over_tls_with_alpn_h2_answers_in_http2() {
    let origin = Origin::ok(ORIGIN_BODY).await;
    let (edge, ca, _dir) = tls_edge(&origin).await;

    let res = within(
        GUARD,
        HttpsVisitor::new(ca.cert_der(), "localhost")
            .alpn(&[H2])
            .get(edge.https_addr(), "/over-tls"),
    )
    .await;

    assert_eq!(res.tls.alpn.as_deref(), Some(H2));
    assert_eq!(res.response.version, Version::HTTP_2);
    assert_eq!(res.response.status(), 200, "{}", res.response.text());
    assert_eq!(res.response.text(), ORIGIN_BODY);
    assert_ray_format(res.response.header("cf-ray").expect("cf-ray"));
    within(GUARD, origin.request_seen()).await;
    assert_eq!(
        origin.last_request().map(|r| r.uri.path().to_owned()),
        Some("/over-tls".to_owned())
    );
}

#[tokio::test]
async fn concurrent_streams_over_tls_each_get_their_own_ray() {
    let origin = Origin::ok(ORIGIN_BODY).await;
    let (edge, ca, _dir) = tls_edge(&origin).await;
    let visitor = HttpsVisitor::new(ca.cert_der(), "localhost").alpn(&[H2]);
    let (tls, negotiated) = within(GUARD, visitor.connect(edge.https_addr()))
        .await
        .expect("the TLS handshake with the edge");
    assert!(negotiated.is_h2(), "ALPN settled on h2: {negotiated:?}");

    let (responses, _) = concurrent_gets(tls, "https://localhost", 20).await;

    assert_distinct_rays(&responses, 20);
}
