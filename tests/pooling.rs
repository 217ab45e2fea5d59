//! Origin connection pooling: keep-alive connections are reused, a pooled connection the origin
//! closed while idle is retried once on a new connection for idempotent bodiless requests (and
//! only for those), and a connection whose last answer was an unread 502 body or carried
//! `connection: close` is never reused.
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use support::origins::{Origin, SECOND_REQUEST_DROPPED_BODY};
use support::visitor::{get, send, within};
use support::{GUARD, assert_error_page, spawn_edge, test_config};

/// The size of the body [`ScriptedOrigin`] sends with its 502, larger than any read the edge
/// would do by chance before dropping it.
const BODY_502_BYTES: usize = 64 * 1024;

/// A raw HTTP/1.1 origin that keeps every connection open for as long as the peer does and
/// answers each bodiless request with the bytes `script` returns for its index (counted over
/// all connections, from 0). It records how many requests each connection carried and how many
/// connections the peer closed, so a test can tell which connection a request went on.
struct ScriptedOrigin {
    addr: SocketAddr,
    seen: Arc<Seen>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct Seen {
    /// Requests answered on each connection, in accept order.
    per_connection: Mutex<Vec<usize>>,
    /// How many connections the peer has closed.
    closed: watch::Sender<usize>,
}

impl ScriptedOrigin {
    async fn start(script: fn(usize) -> Vec<u8>) -> ScriptedOrigin {
        let (listener, addr) = support::bind_loopback().await;
        let seen = Arc::new(Seen::default());
        let task_seen = seen.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            let served = Arc::new(AtomicUsize::new(0));
            while let Ok((stream, _)) = listener.accept().await {
                let index = {
                    let mut per = task_seen.per_connection.lock().expect("not poisoned");
                    per.push(0);
                    per.len() - 1
                };
                connections.spawn(serve_scripted(
                    stream,
                    index,
                    task_seen.clone(),
                    served.clone(),
                    script,
                ));
            }
        });
        ScriptedOrigin { addr, seen, task }
    }

    fn per_connection(&self) -> Vec<usize> {
        self.seen
            .per_connection
            .lock()
            .expect("not poisoned")
            .clone()
    }

    async fn closed_seen(&self, n: usize) {
        let mut closed = self.seen.closed.subscribe();
        closed
            .wait_for(|&count| count >= n)
            .await
            .expect("the origin outlives the test");
    }
}

impl Drop for ScriptedOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_scripted(
    mut stream: TcpStream,
    connection: usize,
    seen: Arc<Seen>,
    served: Arc<AtomicUsize>,
    script: fn(usize) -> Vec<u8>,
) {
    let mut buf = Vec::new();
    'requests: loop {
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => break 'requests,
                Ok(_) => {}
            }
        };
        buf.drain(..end);
        let index = served.fetch_add(1, Ordering::SeqCst);
        seen.per_connection.lock().expect("not poisoned")[connection] += 1;
        if stream.write_all(&script(index)).await.is_err() {
            break;
        }
    }
    seen.closed.send_modify(|n| *n += 1);
}

fn ok_keep_alive() -> Vec<u8> {
    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok".to_vec()
}

#[tokio::test]
async fn sequential_requests_reuse_one_origin_connection() {
    let origin = Origin::ok("hello").await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    for i in 0..5 {
        let res = within(GUARD, get(edge.addr(), &format!("/{i}"))).await;
        assert_eq!(res.status(), 200, "request {i}");
        assert_eq!(res.text(), "hello", "request {i}");
    }

    assert_eq!(origin.requests().len(), 5);
    assert_eq!(
        origin.connections(),
        1,
        "every request went on the first connection"
    );
}

#[tokio::test]
async fn stale_pooled_connection_is_retried_on_a_new_one_for_a_get() {
    let origin = Origin::second_request_dropped().await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let first = within(GUARD, get(edge.addr(), "/first")).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.text(), SECOND_REQUEST_DROPPED_BODY);

    let second = within(GUARD, get(edge.addr(), "/second")).await;

    assert_eq!(second.status(), 200, "body: {}", second.text());
    assert_eq!(second.text(), SECOND_REQUEST_DROPPED_BODY);
    assert_eq!(origin.connections(), 2);
    let paths: Vec<String> = origin
        .requests()
        .iter()
        .map(|r| r.uri.to_string())
        .collect();
    assert_eq!(
        paths,
        ["/first", "/second", "/second"],
        "the second request went on the stale connection, then once on a new one"
    );
}

/// Sends `method` with `body` on the pooled connection [`Origin::second_request_dropped`] closes,
/// and asserts the visitor gets the 520 with no second attempt.
async fn assert_not_retried(method: Method, body: &'static str) {
    let origin = Origin::second_request_dropped().await;
    let edge = spawn_edge(test_config(origin.addr())).await;
    let first = within(GUARD, get(edge.addr(), "/first")).await;
    assert_eq!(first.status(), 200);
    let request = Request::builder()
        .method(method.clone())
        .uri("/second")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a valid request");

    let res = within(GUARD, send(edge.addr(), request)).await;

    assert_error_page(&res, 520);
    assert_eq!(
        origin.connections(),
        1,
        "{method} was retried on a new connection"
    );
    let seen: Vec<(Method, String)> = origin
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.uri.to_string()))
        .collect();
    assert_eq!(
        seen,
        [
            (Method::GET, "/first".to_owned()),
            (method, "/second".to_owned())
        ]
    );
}

/// The body was streamed from the visitor to the (stale) connection as it arrived, and edgecase
/// keeps no copy of it, so it cannot be sent again: the failure is the visitor's answer.
#[tokio::test]
async fn stale_pooled_connection_is_not_retried_for_a_post_with_a_body() {
    assert_not_retried(Method::POST, "form=data").await;
}

/// PUT is idempotent, but its streamed body cannot be replayed either.
#[tokio::test]
async fn stale_pooled_connection_is_not_retried_for_a_put_with_a_body() {
    assert_not_retried(Method::PUT, "new contents").await;
}

/// Without a body, a POST could be replayed, but it is not idempotent: the origin may have
/// acted on it before closing.
#[tokio::test]
async fn stale_pooled_connection_is_not_retried_for_a_bodiless_post() {
    assert_not_retried(Method::POST, "").await;
}

#[tokio::test]
async fn connection_after_an_origin_502_is_not_reused() {
    let origin = ScriptedOrigin::start(|index| match index {
        1 => {
            let mut bytes = format!(
                "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\n\
                 content-length: {BODY_502_BYTES}\r\n\r\n"
            )
            .into_bytes();
            bytes.resize(bytes.len() + BODY_502_BYTES, b'x');
            bytes
        }
        _ => ok_keep_alive(),
    })
    .await;
    let edge = spawn_edge(test_config(origin.addr)).await;

    let first = within(GUARD, get(edge.addr(), "/")).await;
    assert_eq!(first.status(), 200);
    let gateway = within(GUARD, get(edge.addr(), "/")).await;
    assert_error_page(&gateway, 502);
    assert!(
        !gateway.text().contains("xxxx"),
        "the origin's 502 body reached the visitor"
    );

    let after = within(GUARD, get(edge.addr(), "/")).await;

    assert_eq!(after.status(), 200, "body: {}", after.text());
    assert_eq!(after.text(), "ok");
    assert_eq!(
        origin.per_connection(),
        [2, 1],
        "the request after the 502 went on a new connection"
    );
    within(GUARD, origin.closed_seen(1)).await;
    let again = within(GUARD, get(edge.addr(), "/")).await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        origin.per_connection(),
        [2, 2],
        "the new connection is pooled"
    );
}

#[tokio::test]
async fn connection_the_origin_marked_close_is_not_reused() {
    // The origin says `connection: close` but leaves the socket open and would answer more
    // requests on it: only the header tells the edge not to reuse it.
    let origin = ScriptedOrigin::start(|_| {
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\
          content-length: 2\r\n\r\nok"
            .to_vec()
    })
    .await;
    let edge = spawn_edge(test_config(origin.addr)).await;

    for i in 0..2 {
        let res = within(GUARD, get(edge.addr(), "/")).await;
        assert_eq!(res.status(), 200, "request {i}, body: {}", res.text());
        assert_eq!(res.text(), "ok");
        assert_eq!(
            res.header("connection"),
            None,
            "hop-by-hop header forwarded"
        );
    }

    assert_eq!(origin.per_connection(), [1, 1]);
    within(GUARD, origin.closed_seen(1)).await;
}

#[tokio::test]
async fn hyper_origin_answering_connection_close_gets_a_new_connection_each_time() {
    const CLOSE: &[(&str, &str)] = &[("content-type", "text/plain"), ("connection", "close")];
    let origin = Origin::with_headers(200, CLOSE, "ok").await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    for i in 0..3 {
        let res = within(GUARD, get(edge.addr(), "/")).await;
        assert_eq!(res.status(), 200, "request {i}, body: {}", res.text());
        assert_eq!(res.text(), "ok");
    }

    assert_eq!(origin.requests().len(), 3);
    assert_eq!(origin.connections(), 3);
}

#[tokio::test]
async fn max_idle_zero_keeps_no_connection_for_reuse() {
    let origin = Origin::ok("hello").await;
    let mut config = test_config(origin.addr());
    config.pool.max_idle = 0;
    let edge = spawn_edge(config).await;

    for i in 0..3 {
        let res = within(GUARD, get(edge.addr(), &format!("/{i}"))).await;
        assert_eq!(res.status(), 200, "request {i}");
    }

    assert_eq!(origin.connections(), 3, "no connection was kept idle");
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_idle_timeout() {
    let origin = ScriptedOrigin::start(|_| ok_keep_alive()).await;
    let mut config = test_config(origin.addr);
    config.pool.idle_timeout = std::time::Duration::from_millis(100);
    let edge = spawn_edge(config).await;

    let res = within(GUARD, get(edge.addr(), "/")).await;
    assert_eq!(res.status(), 200);
    // Nobody asks for this origin again: the sweep closes the idle connection on its own.
    within(GUARD, origin.closed_seen(1)).await;
    let res = within(GUARD, get(edge.addr(), "/again")).await;
    assert_eq!(
        res.status(),
        200,
        "a new connection serves the next request"
    );
}
