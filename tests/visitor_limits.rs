//! Cloudflare's visitor-side limits (`[limits]`): the request head in total and per header
//! line, the URL, the body (by content-length and chunked), the time a visitor has to send its
//! head (`client_header_timeout`, a slowloris included) and `max_connections`. Each size limit
//! is tested at the limit (forwarded: the origin frames exactly one request) and one byte over
//! (Cloudflare's answer, and the origin never contacted).
//!
//! Sizes are counted as the issue 6 contract states them, the head like the origin's response
//! head (`origin_header_bytes`): the request line and every header line, each with its CRLF,
//! and the blank line that ends the head; a header line is `name: value` without its CRLF; the
//! URL is the request-target as sent. Heads are written with one space after each colon, so a
//! count made from the parsed head and one made from the raw bytes agree.
mod support;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use support::raw::{
    ORIGIN_BODY, RawResponse, RawVisitor, RecordingOrigin, TomlConfig, exchange, raise_fd_limit,
};
use support::visitor::{RawEnd, RawOutcome, within};
use support::{Edge, GUARD, assert_ray_format, assert_took, ms, spawn_edge};

/// The Host every request names.
const HOST: &str = "site.test";
/// `[limits] request_header_bytes` in these tests.
const TOTAL: usize = 2048;
/// `[limits] request_header_field_bytes` in these tests.
const FIELD: usize = 1024;
/// `[limits] url_bytes` in these tests.
const URL: usize = 512;
/// `[limits] request_body_bytes` in these tests.
const BODY: usize = 1000;

/// The small limits of this file, classic profile.
fn limited(origin: &RecordingOrigin) -> TomlConfig {
    TomlConfig::new(origin.addr())
        .limit(&format!("request_header_bytes = {TOTAL}"))
        .limit(&format!("request_header_field_bytes = {FIELD}"))
        .limit(&format!("url_bytes = {URL}"))
        .limit(&format!("request_body_bytes = {BODY}"))
}

/// A [`RecordingOrigin`] and an edge in front of it with the small [`limited`] limits.
async fn limited_edge() -> (RecordingOrigin, Edge) {
    let origin = RecordingOrigin::start().await;
    let edge = spawn_edge(limited(&origin).build()).await;
    (origin, edge)
}

/// Writes `request` to `edge` on a fresh connection and reads the one response (bounded).
async fn send_to(edge: &Edge, request: &[u8]) -> RawResponse {
    within(GUARD, exchange(edge.addr(), request)).await
}

/// How many bytes of `head` count against `request_header_bytes`: all of them, from the
/// request line to the end of the blank line.
fn counted(head: &[u8]) -> usize {
    assert!(head.ends_with(b"\r\n\r\n"), "a whole head");
    head.len()
}

/// A `GET target` head with `host` whose counted size ([`counted`]) is exactly `size` bytes,
/// padded with `x-fill-N` headers no longer than `line_max` bytes each (`name: value`).
fn padded_get(target: &str, size: usize, line_max: usize) -> Vec<u8> {
    let mut head = format!("GET {target} HTTP/1.1\r\nhost: {HOST}\r\n");
    assert!(
        head.len() + 2 < size,
        "{size} bytes cannot hold the request line"
    );
    // The blank line that ends the head counts too.
    let mut remaining = size - head.len() - 2;
    let mut index = 0;
    while remaining > 0 {
        let name = format!("x-fill-{index}: ");
        // What the next line (one more digit at most) needs at least, CRLF included.
        let smallest = name.len() + 1 + 1 + 2;
        let full = line_max + 2;
        let cost = if remaining <= full {
            remaining
        } else if remaining >= full + smallest {
            full
        } else {
            remaining - smallest
        };
        assert!(cost >= name.len() + 3, "cannot pad {remaining} bytes");
        head.push_str(&name);
        head.push_str(&"f".repeat(cost - 2 - name.len()));
        head.push_str("\r\n");
        remaining -= cost;
        index += 1;
    }
    head.push_str("\r\n");
    let head = head.into_bytes();
    assert_eq!(counted(&head), size, "padded head built to the wrong size");
    assert!(
        head.split(|&b| b == b'\n')
            .all(|line| line.len() <= line_max + 1),
        "a padding line is over {line_max} bytes"
    );
    head
}

/// A `GET /field` head carrying one `cookie` line of exactly `line` bytes (`name: value`).
fn get_with_cookie_line(line: usize) -> Vec<u8> {
    let name = "cookie: ";
    let value = format!(
        "session={}",
        "c".repeat(line - name.len() - "session=".len())
    );
    let head = format!("GET /field HTTP/1.1\r\nhost: {HOST}\r\n{name}{value}\r\n\r\n");
    assert_eq!(name.len() + value.len(), line);
    head.into_bytes()
}

/// A `GET` whose request-target is exactly `len` bytes.
fn get_with_target_of(len: usize) -> (String, Vec<u8>) {
    let prefix = "/long?q=";
    let target = format!("{prefix}{}", "u".repeat(len - prefix.len()));
    let head = format!("GET {target} HTTP/1.1\r\nhost: {HOST}\r\n\r\n").into_bytes();
    (target, head)
}

/// A body of `len` bytes whose content depends on the position, so a lost or shifted byte shows.
fn patterned(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

/// A `POST /chunked` carrying `body` in chunks of at most `chunk` bytes, terminated.
fn chunked_post(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut request =
        format!("POST /chunked HTTP/1.1\r\nhost: {HOST}\r\ntransfer-encoding: chunked\r\n\r\n")
            .into_bytes();
    for part in body.chunks(chunk) {
        request.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        request.extend_from_slice(part);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

/// A plain `GET path` that any limit lets through.
fn plain_get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nhost: {HOST}\r\n\r\n").into_bytes()
}

/// Asserts the request went through: `200` with the origin's body, and the origin framed
/// exactly one request, which it returns.
#[track_caller]
fn assert_forwarded(res: &RawResponse, origin: &RecordingOrigin) -> support::raw::OriginRequest {
    assert_eq!(res.status, 200, "{}{}", res.head, res.text());
    assert_eq!(res.text(), ORIGIN_BODY);
    let requests = origin.requests();
    assert_eq!(requests.len(), 1, "the origin framed {requests:?}");
    requests.into_iter().next().expect("one request")
}

/// Asserts the edge answered `status` itself with Cloudflare's unbranded page mentioning
/// `words`, and that the origin was never contacted.
#[track_caller]
fn assert_refused(res: &RawResponse, status: u16, words: &str, origin: &RecordingOrigin) {
    assert_eq!(res.status, status, "{}{}", res.head, res.text());
    assert_eq!(res.header("server"), Some("cloudflare"), "{}", res.head);
    assert_ray_format(res.header("cf-ray").expect("the answer carries cf-ray"));
    let page = res.text();
    assert!(page.contains(words), "the page names {words:?}: {page}");
    assert!(
        page.contains("<center>cloudflare</center>"),
        "the unbranded page: {page}"
    );
    origin.assert_untouched();
}

#[tokio::test]
async fn head_at_the_total_limit_is_forwarded() {
    let (origin, edge) = limited_edge().await;
    let head = padded_get("/total", TOTAL, FIELD);

    let res = send_to(&edge, &head).await;

    let seen = assert_forwarded(&res, &origin);
    assert_eq!(seen.target, "/total");
    assert!(
        seen.header("x-fill-0").is_some(),
        "padding reached the origin"
    );
}

#[tokio::test]
async fn head_one_byte_over_the_total_limit_gets_classic_400_header_too_large() {
    let (origin, edge) = limited_edge().await;
    let head = padded_get("/total", TOTAL + 1, FIELD);

    let res = send_to(&edge, &head).await;

    assert_refused(&res, 400, "Request Header Or Cookie Too Large", &origin);
}

#[tokio::test]
async fn current_profile_head_at_the_total_limit_is_forwarded() {
    let origin = RecordingOrigin::start().await;
    let config = TomlConfig::new(origin.addr())
        .profile("current")
        .limit(&format!("request_header_bytes = {TOTAL}"))
        .build();
    let edge = spawn_edge(config).await;
    // Current has no smaller per-line limit: one line may take most of the head.
    let head = padded_get("/total", TOTAL, TOTAL - 100);

    let res = send_to(&edge, &head).await;

    assert_forwarded(&res, &origin);
}

#[tokio::test]
async fn current_profile_head_one_byte_over_the_total_limit_gets_413() {
    let origin = RecordingOrigin::start().await;
    let config = TomlConfig::new(origin.addr())
        .profile("current")
        .limit(&format!("request_header_bytes = {TOTAL}"))
        .build();
    let edge = spawn_edge(config).await;
    let head = padded_get("/total", TOTAL + 1, 200);

    let res = send_to(&edge, &head).await;

    assert_refused(&res, 413, "413", &origin);
}

#[tokio::test]
async fn header_line_at_the_field_limit_is_forwarded() {
    let (origin, edge) = limited_edge().await;

    let res = send_to(&edge, &get_with_cookie_line(FIELD)).await;

    let seen = assert_forwarded(&res, &origin);
    let cookie = seen
        .header("cookie")
        .expect("the cookie reached the origin");
    assert_eq!("cookie: ".len() + cookie.len(), FIELD);
}

#[tokio::test]
async fn header_line_one_byte_over_the_field_limit_gets_400_header_too_large() {
    let (origin, edge) = limited_edge().await;

    let res = send_to(&edge, &get_with_cookie_line(FIELD + 1)).await;

    assert_refused(&res, 400, "Request Header Or Cookie Too Large", &origin);
}

#[tokio::test]
async fn url_at_the_limit_is_forwarded() {
    let (origin, edge) = limited_edge().await;
    let (target, head) = get_with_target_of(URL);

    let res = send_to(&edge, &head).await;

    let seen = assert_forwarded(&res, &origin);
    assert_eq!(seen.target, target);
}

#[tokio::test]
async fn url_one_byte_over_the_limit_gets_414() {
    let (origin, edge) = limited_edge().await;
    let (_, head) = get_with_target_of(URL + 1);

    let res = send_to(&edge, &head).await;

    assert_refused(&res, 414, "414", &origin);
}

#[tokio::test]
async fn body_with_content_length_at_the_limit_is_forwarded_whole() {
    let (origin, edge) = limited_edge().await;
    let body = patterned(BODY);
    let mut request =
        format!("POST /body HTTP/1.1\r\nhost: {HOST}\r\ncontent-length: {BODY}\r\n\r\n")
            .into_bytes();
    request.extend_from_slice(&body);

    let res = send_to(&edge, &request).await;

    let seen = assert_forwarded(&res, &origin);
    assert_eq!(seen.body, body);
}

#[tokio::test]
async fn content_length_one_byte_over_the_body_limit_gets_413_before_the_body_is_sent() {
    let (origin, edge) = limited_edge().await;
    // Only the head: the edge must answer from the announced length alone.
    let head = format!(
        "POST /body HTTP/1.1\r\nhost: {HOST}\r\ncontent-length: {}\r\n\r\n",
        BODY + 1
    );

    let res = send_to(&edge, head.as_bytes()).await;

    assert_refused(&res, 413, "413", &origin);
}

#[tokio::test]
async fn chunked_body_at_the_limit_is_forwarded_whole() {
    let (origin, edge) = limited_edge().await;
    let body = patterned(BODY);

    let res = send_to(&edge, &chunked_post(&body, 300)).await;

    let seen = assert_forwarded(&res, &origin);
    assert_eq!(seen.body, body);
}

#[tokio::test]
async fn chunked_body_growing_one_byte_over_the_limit_gets_413_and_no_request_completes() {
    let (origin, edge) = limited_edge().await;
    let body = patterned(BODY + 1);

    let res = send_to(&edge, &chunked_post(&body, 300)).await;

    assert_eq!(res.status, 413, "{}{}", res.head, res.text());
    assert_eq!(res.header("server"), Some("cloudflare"));
    assert_ray_format(res.header("cf-ray").expect("the answer carries cf-ray"));
    // The head may have been forwarded while the body streamed; the request must have been
    // aborted before the origin could frame it whole.
    assert!(
        origin.requests().is_empty(),
        "the origin framed {:?}",
        origin.requests()
    );
    let received = origin.all_bytes();
    assert!(
        !support::raw::contains(&received, b"\r\n0\r\n\r\n"),
        "the origin got a terminated body: {:?}",
        String::from_utf8_lossy(&received)
    );
}

/// Asserts a connection ended (EOF or reset) without a byte of response.
#[track_caller]
fn assert_dropped_silently(outcome: &RawOutcome) {
    assert!(
        outcome.bytes.is_empty(),
        "the edge answered: {:?}",
        String::from_utf8_lossy(&outcome.bytes)
    );
    assert!(
        matches!(outcome.end, RawEnd::CleanEof | RawEnd::Reset),
        "ended with {:?}",
        outcome.end
    );
}

/// `client_header_timeout` in the timeout tests.
const HEADER_TIMEOUT: Duration = Duration::from_millis(300);
/// How late after [`HEADER_TIMEOUT`] a drop may come.
const HEADER_TIMEOUT_SLACK: Duration = Duration::from_millis(500);
/// How much earlier the edge may start a clock than this side sees the event that starts it
/// (a connect returning, a response arriving).
const CLOCK_SKEW: Duration = Duration::from_millis(100);

/// The `[limits] client_header_timeout` of the timeout tests ([`HEADER_TIMEOUT`]).
fn header_timeout_config(origin: &RecordingOrigin) -> TomlConfig {
    TomlConfig::new(origin.addr()).limit(&format!(
        "client_header_timeout = \"{}ms\"",
        HEADER_TIMEOUT.as_millis()
    ))
}

/// A [`RecordingOrigin`] and an edge in front of it with [`header_timeout_config`].
async fn header_timeout_edge() -> (RecordingOrigin, Edge) {
    let origin = RecordingOrigin::start().await;
    let edge = spawn_edge(header_timeout_config(&origin).build()).await;
    (origin, edge)
}

#[tokio::test]
async fn visitor_stopping_mid_head_is_dropped_after_client_header_timeout_without_an_answer() {
    let (origin, edge) = header_timeout_edge().await;
    let started = Instant::now();
    let mut slow = RawVisitor::connect(edge.addr()).await;
    slow.send(format!("GET /slow HTTP/1.1\r\nhost: {HOST}\r\nx-half: ").as_bytes())
        .await;

    // Meanwhile another visitor is served as usual.
    let res = send_to(&edge, &plain_get("/normal")).await;
    assert_eq!(res.status, 200);
    assert!(
        started.elapsed() < HEADER_TIMEOUT,
        "the normal request took {:?}",
        started.elapsed()
    );

    let outcome = within(GUARD, slow.closed()).await;
    assert_took(started.elapsed(), HEADER_TIMEOUT, HEADER_TIMEOUT_SLACK);
    assert_dropped_silently(&outcome);
    let requests = origin.requests();
    assert_eq!(requests.len(), 1, "only the normal request: {requests:?}");
    assert_eq!(requests[0].target, "/normal");
}

#[tokio::test]
async fn visitor_sending_nothing_is_dropped_after_client_header_timeout() {
    let (origin, edge) = header_timeout_edge().await;
    let started = Instant::now();
    let silent = RawVisitor::connect(edge.addr()).await;

    let outcome = within(GUARD, silent.closed()).await;

    assert_took(started.elapsed(), HEADER_TIMEOUT, HEADER_TIMEOUT_SLACK);
    assert_dropped_silently(&outcome);
    origin.assert_untouched();
}

#[tokio::test]
async fn keep_alive_visitor_stopping_mid_second_head_is_dropped_a_timeout_after_the_response() {
    let (origin, edge) = header_timeout_edge().await;
    let mut visitor = RawVisitor::connect(edge.addr()).await;
    visitor.send(&plain_get("/first")).await;
    let first = within(GUARD, visitor.response())
        .await
        .expect("the first request is answered");
    assert_eq!(first.status, 200);
    let answered = Instant::now();
    visitor
        .send(format!("GET /second HTTP/1.1\r\nhost: {HOST}\r\n").as_bytes())
        .await;

    let outcome = within(GUARD, visitor.closed()).await;

    assert_took(
        answered.elapsed() + CLOCK_SKEW,
        HEADER_TIMEOUT,
        HEADER_TIMEOUT_SLACK,
    );
    assert_dropped_silently(&outcome);
    assert_eq!(origin.requests().len(), 1);
}

/// Slow visitors in the slowloris test.
const SLOW_VISITORS: usize = 5000;
/// How often each slow visitor sends one more header byte. A second, faster than a real
/// slowloris (every 10-15 s) so the edge sees steady progress, yet slow enough that 5,000 of
/// them in this process (5,000 writes a second) leave the CPU to the edge on a busy machine:
/// at 50 ms (100,000 writes a second) this test starved itself under parallel builds.
const TRICKLE: Duration = Duration::from_secs(1);
/// Normal requests made while the slow visitors trickle.
const NORMAL_REQUESTS: usize = 50;
/// `client_header_timeout` in the slowloris test: long enough for every slow visitor to connect
/// and the normal requests to finish while all of them are still trickling.
const SLOWLORIS_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest a normal request may take with the slowloris going on.
const NORMAL_WITHIN: Duration = Duration::from_secs(1);

/// The most memory (this process's RSS, both ends of the connection) one slow visitor may cost.
const MAX_KIB_PER_SLOW_VISITOR: u64 = 64;

/// This process's resident memory, in KiB (Linux; `None` elsewhere).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// How many slow visitors connect at once. Loopback drops SYNs past its backlog in a burst of
/// a thousand (the connect then waits a second for the retransmission), so they come in waves,
/// as a real slowloris ramps up.
const SLOW_WAVE: usize = 100;

/// How one slow visitor's connection ended.
#[derive(Debug)]
struct SlowEnd {
    /// From its connect completing until the edge closed it.
    after: Duration,
    /// Response bytes it received (there should be none).
    bytes: Vec<u8>,
}

/// Connects, starts a head, then sends one more header byte every [`TRICKLE`] until the edge
/// closes the connection. Reports on `ready` once the head has started, and on `closed` when
/// the edge closed it.
async fn trickle(
    addr: std::net::SocketAddr,
    ready: mpsc::Sender<()>,
    closed: mpsc::UnboundedSender<()>,
) -> SlowEnd {
    let stream = TcpStream::connect(addr)
        .await
        .expect("a slow visitor connects");
    // The edge's clock cannot start before the connection exists.
    let connected = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!("GET /slowloris HTTP/1.1\r\nhost: {HOST}\r\nx-trickle: ");
    let _ = writer.write_all(head.as_bytes()).await;
    let _ = ready.send(()).await;
    let mut tick = tokio::time::interval(TRICKLE);
    tick.tick().await;
    let mut bytes = Vec::new();
    loop {
        tokio::select! {
            read = reader.read_buf(&mut bytes) => {
                if !matches!(read, Ok(1..)) {
                    let _ = closed.send(());
                    return SlowEnd { after: connected.elapsed(), bytes };
                }
            }
            _ = tick.tick() => {
                // A write to a connection the edge closed fails; the read then reports it.
                let _ = writer.write_all(b"t").await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_neither_starves_normal_requests_nor_outlives_client_header_timeout() {
    // Both ends of every connection live in this process, plus some for the runtime.
    let needed = (SLOW_VISITORS as u64 + NORMAL_REQUESTS as u64) * 2 + 256;
    match raise_fd_limit() {
        Ok(limit) if limit >= needed => {}
        Ok(limit) => {
            eprintln!("skipped: RLIMIT_NOFILE is {limit}, the slowloris needs {needed}");
            return;
        }
        Err(error) => {
            eprintln!("skipped: cannot read RLIMIT_NOFILE: {error}");
            return;
        }
    }
    let origin = RecordingOrigin::start().await;
    let config = TomlConfig::new(origin.addr())
        .limit(&format!(
            "client_header_timeout = \"{}ms\"",
            SLOWLORIS_TIMEOUT.as_millis()
        ))
        .build();
    let edge = spawn_edge(config).await;
    let addr = edge.addr();

    let (ready_tx, mut ready) = mpsc::channel(SLOW_VISITORS);
    let (closed_tx, mut closed) = mpsc::unbounded_channel();
    let mut slow = JoinSet::new();
    let rss_before = rss_kib();
    let ramp = Instant::now();
    for _ in 0..SLOW_VISITORS / SLOW_WAVE {
        for _ in 0..SLOW_WAVE {
            slow.spawn(trickle(addr, ready_tx.clone(), closed_tx.clone()));
        }
        within(GUARD, async {
            for _ in 0..SLOW_WAVE {
                ready
                    .recv()
                    .await
                    .expect("every slow visitor starts its head");
            }
        })
        .await;
    }
    drop(ready_tx);
    assert!(
        ramp.elapsed() < SLOWLORIS_TIMEOUT / 2,
        "the slow visitors took {:?} to connect",
        ramp.elapsed()
    );
    // Both ends of every connection live in this process; even so, each held slow visitor
    // costs little (the edge keeps no buffer beyond what the bytes so far need).
    if let (Some(before), Some(now)) = (rss_before, rss_kib()) {
        let per_visitor = now.saturating_sub(before) / SLOW_VISITORS as u64;
        assert!(
            per_visitor < MAX_KIB_PER_SLOW_VISITOR,
            "{per_visitor} KiB per slow visitor ({before} KiB -> {now} KiB)"
        );
    }

    let mut normal = JoinSet::new();
    for i in 0..NORMAL_REQUESTS {
        normal.spawn(async move {
            let started = Instant::now();
            let res = exchange(addr, &plain_get(&format!("/normal/{i}"))).await;
            (res.status, started.elapsed())
        });
    }
    let answers = within(GUARD, normal.join_all()).await;
    for (status, took) in &answers {
        assert_eq!(*status, 200);
        assert!(*took <= NORMAL_WITHIN, "a normal request took {took:?}");
    }
    assert!(
        closed.try_recv().is_err(),
        "slow visitors were dropped before the normal requests finished"
    );
    assert_eq!(origin.requests().len(), NORMAL_REQUESTS);

    let ends = within(SLOWLORIS_TIMEOUT + Duration::from_secs(10), slow.join_all()).await;
    assert_eq!(ends.len(), SLOW_VISITORS);
    for end in &ends {
        assert!(
            end.bytes.is_empty(),
            "a slow visitor got an answer: {:?}",
            String::from_utf8_lossy(&end.bytes)
        );
        // The edge may start its clock a moment before this side saw the connect complete.
        assert_took(
            end.after + CLOCK_SKEW,
            SLOWLORIS_TIMEOUT,
            Duration::from_millis(1500),
        );
    }
    assert_eq!(
        origin.requests().len(),
        NORMAL_REQUESTS,
        "no slow request reached the origin"
    );
}

/// `[limits] max_connections` in the connection-limit test.
const MAX_CONNECTIONS: usize = 5;

#[tokio::test]
async fn connection_past_max_connections_gets_503_and_is_closed_until_one_frees_up() {
    let origin = RecordingOrigin::start().await;
    let config = TomlConfig::new(origin.addr())
        .limit(&format!("max_connections = {MAX_CONNECTIONS}"))
        .build();
    let edge = spawn_edge(config).await;
    let mut idle = Vec::new();
    for _ in 0..MAX_CONNECTIONS {
        idle.push(
            TcpStream::connect(edge.addr())
                .await
                .expect("connect an idle visitor"),
        );
    }

    // The edge accepts in order, so this one comes after the five idle ones.
    let started = Instant::now();
    let mut sixth = RawVisitor::connect(edge.addr()).await;
    sixth.send(&plain_get("/sixth")).await;
    let res = within(GUARD, sixth.response())
        .await
        .expect("the sixth connection gets an answer");
    assert!(
        started.elapsed() < ms(1000),
        "answered at once, not queued: {:?}",
        started.elapsed()
    );
    assert_eq!(res.status, 503, "{}{}", res.head, res.text());
    assert_eq!(res.header("server"), Some("cloudflare"));
    assert_eq!(res.header("connection"), Some("close"));
    let page = res.text();
    assert!(page.contains("503"), "{page}");
    assert!(page.contains("<center>cloudflare</center>"), "{page}");
    let rest = within(GUARD, sixth.closed()).await;
    assert!(
        rest.bytes.is_empty(),
        "after the 503: {:?}",
        String::from_utf8_lossy(&rest.bytes)
    );
    origin.assert_untouched();

    drop(idle.pop());
    // The edge frees the slot once it reads the visitor's close, which a new connection may
    // beat: try until one is served.
    let served = within(GUARD, async {
        loop {
            let res = exchange(edge.addr(), &plain_get("/after")).await;
            if res.status == 200 {
                break res;
            }
            assert_eq!(res.status, 503, "{}{}", res.head, res.text());
            tokio::time::sleep(ms(10)).await;
        }
    })
    .await;
    assert_eq!(served.text(), ORIGIN_BODY);
    let requests = origin.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].target, "/after");
}
