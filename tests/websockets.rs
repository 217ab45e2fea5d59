//! WebSockets through the edge, end to end with a real client and a real origin
//! (tokio-tungstenite on both sides, loopback sockets): the upgrade reaches the origin with the
//! edge's headers, text and binary frames flow both ways in order (a 64 KiB one too), a close
//! from either side reaches the other, and an origin that refuses the connection or answers
//! something other than `101` fails the visitor's handshake with that status.
//!
//! The edge runs in-process ([`spawn_edge`]); the WebSocket origin is written here
//! ([`WsOrigin`]), the refusing and plain-HTTP origins come from `support/origins.rs`.
mod support;

use std::net::SocketAddr;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::HeaderMap;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio_tungstenite::tungstenite::handshake::server::{
    Callback, ErrorResponse, Request, Response,
};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{WebSocketStream, accept_hdr_async, client_async};

use support::origins::Origin;
use support::visitor::within;
use support::{GUARD, assert_ray_format, spawn_edge, test_config};

/// The first message the origin sends on every connection, before the visitor says anything.
const GREETING: &str = "hello from the origin";

/// A text message asking the origin to close the WebSocket with [`ORIGIN_CLOSE_REASON`].
const PLEASE_CLOSE: &str = "please close";

/// A text message asking the origin to drop the TCP connection without a close frame.
const PLEASE_DROP: &str = "please drop";

/// The reason in the origin's close frame (code 1001, going away).
const ORIGIN_CLOSE_REASON: &str = "origin leaving";

/// A visitor's WebSocket through the edge.
type Visitor = WebSocketStream<TcpStream>;

/// A WebSocket origin on 127.0.0.1:0. On each connection it records the upgrade request's
/// headers, sends [`GREETING`], then echoes every text and binary message; [`PLEASE_CLOSE`]
/// makes it close (1001), [`PLEASE_DROP`] makes it drop the TCP connection. Close frames it
/// receives are reported on [`WsOrigin::closes`].
struct WsOrigin {
    addr: SocketAddr,
    /// The headers of each upgrade request, in arrival order.
    upgrades: mpsc::UnboundedReceiver<HeaderMap>,
    /// Each close frame received from the visitor's side.
    closes: mpsc::UnboundedReceiver<Option<CloseFrame>>,
    task: JoinHandle<()>,
}

impl Drop for WsOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl WsOrigin {
    async fn start() -> WsOrigin {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the WebSocket origin");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let (upgrade_tx, upgrades) = mpsc::unbounded_channel();
        let (close_tx, closes) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            // Owned by the accept loop: aborting it ends every connection too.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.spawn(serve_ws(stream, upgrade_tx.clone(), close_tx.clone()));
                while connections.try_join_next().is_some() {}
            }
        });
        WsOrigin {
            addr,
            upgrades,
            closes,
            task,
        }
    }

    /// The headers of the next upgrade request the origin accepted.
    async fn next_upgrade(&mut self) -> HeaderMap {
        within(GUARD, self.upgrades.recv())
            .await
            .expect("the origin accepted an upgrade")
    }

    /// The next close frame the origin received.
    async fn next_close(&mut self) -> Option<CloseFrame> {
        within(GUARD, self.closes.recv())
            .await
            .expect("the origin received a close frame")
    }
}

/// The origin's handshake callback: reports the upgrade request's headers, accepts it.
struct RecordUpgrade(mpsc::UnboundedSender<HeaderMap>);

impl Callback for RecordUpgrade {
    fn on_request(self, request: &Request, response: Response) -> Result<Response, ErrorResponse> {
        let _ = self.0.send(request.headers().clone());
        Ok(response)
    }
}

/// One origin connection: handshake (recording its headers), greeting, echo loop.
async fn serve_ws(
    stream: TcpStream,
    upgrades: mpsc::UnboundedSender<HeaderMap>,
    closes: mpsc::UnboundedSender<Option<CloseFrame>>,
) {
    let Ok(mut ws) = accept_hdr_async(stream, RecordUpgrade(upgrades)).await else {
        return;
    };
    if ws.send(Message::text(GREETING)).await.is_err() {
        return;
    }
    while let Some(Ok(message)) = ws.next().await {
        let reply = match message {
            Message::Text(text) if text.as_str() == PLEASE_CLOSE => {
                Message::Close(Some(CloseFrame {
                    code: CloseCode::Away,
                    reason: ORIGIN_CLOSE_REASON.into(),
                }))
            }
            Message::Text(text) if text.as_str() == PLEASE_DROP => return,
            Message::Text(_) | Message::Binary(_) => message,
            Message::Close(frame) => {
                let _ = closes.send(frame);
                // tungstenite answers the close itself on the next poll.
                continue;
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
        };
        if ws.send(reply).await.is_err() {
            return;
        }
    }
}

/// Opens a WebSocket to `path` through the edge at `edge`.
async fn open(edge: SocketAddr, path: &str) -> Result<Visitor, WsError> {
    let stream = within(GUARD, TcpStream::connect(edge))
        .await
        .expect("connect to the edge");
    let (ws, response) = within(GUARD, client_async(format!("ws://{edge}{path}"), stream)).await?;
    assert_eq!(response.status(), 101);
    Ok(ws)
}

/// Opens a WebSocket that must succeed and reads the origin's greeting off it.
async fn open_greeted(edge: SocketAddr, path: &str) -> Visitor {
    let mut ws = open(edge, path)
        .await
        .unwrap_or_else(|e| panic!("expected the upgrade to succeed: {e}"));
    assert_eq!(next_message(&mut ws).await, Message::text(GREETING));
    ws
}

/// The next message on `ws`, which must arrive.
async fn next_message(ws: &mut Visitor) -> Message {
    match within(GUARD, ws.next()).await {
        Some(Ok(message)) => message,
        Some(Err(e)) => panic!("expected a message, the WebSocket failed: {e}"),
        None => panic!("expected a message, the WebSocket ended"),
    }
}

/// Reads `ws` until it ends (close handshake done, or the connection gone).
async fn until_ended(ws: &mut Visitor) {
    within(GUARD, async { while let Some(Ok(_)) = ws.next().await {} }).await;
}

/// The status and headers of the HTTP answer that failed a visitor's handshake.
async fn refused_handshake(edge: SocketAddr, path: &str) -> http::Response<Option<Vec<u8>>> {
    match open(edge, path).await {
        Ok(_) => panic!("expected the handshake to fail, it upgraded"),
        Err(WsError::Http(response)) => *response,
        Err(other) => panic!("expected an HTTP answer instead of 101, got {other}"),
    }
}

/// `len` bytes of a repeating pattern, so a reordered or truncated echo shows.
fn pattern(len: usize) -> Bytes {
    (0..len)
        .map(|i| u8::try_from(i % 251).expect("below 251"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Frames both ways
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn text_and_binary_frames_flow_both_ways_in_order() {
    let mut origin = WsOrigin::start().await;
    let edge = spawn_edge(test_config(origin.addr)).await;
    // The greeting shows origin-to-visitor frames flow before the visitor sends any.
    let mut ws = open_greeted(edge.addr(), "/chat").await;
    origin.next_upgrade().await;

    let sent = [
        Message::text("one"),
        Message::binary(vec![0u8, 1, 2, 3, 255]),
        Message::text("two"),
        Message::text("three"),
        Message::binary(pattern(1000)),
    ];
    for message in &sent {
        within(GUARD, ws.feed(message.clone()))
            .await
            .expect("queue a frame to the edge");
    }
    within(GUARD, ws.flush()).await.expect("send the frames");
    for message in &sent {
        assert_eq!(&next_message(&mut ws).await, message, "echoed in order");
    }
}

#[tokio::test]
async fn a_64_kib_binary_frame_arrives_whole_both_ways() {
    let origin = WsOrigin::start().await;
    let edge = spawn_edge(test_config(origin.addr)).await;
    let mut ws = open_greeted(edge.addr(), "/big").await;

    let big = pattern(64 * 1024);
    within(GUARD, ws.send(Message::binary(big.clone())))
        .await
        .expect("send 64 KiB");
    match next_message(&mut ws).await {
        Message::Binary(echoed) => {
            assert_eq!(echoed.len(), big.len());
            assert!(echoed == big, "the 64 KiB frame came back unchanged");
        }
        other => panic!("expected the binary echo, got {other:?}"),
    }
    // The connection is still good for more after the big frame.
    within(GUARD, ws.send(Message::text("after")))
        .await
        .expect("send after the big frame");
    assert_eq!(next_message(&mut ws).await, Message::text("after"));
}

// ---------------------------------------------------------------------------------------------
// Closing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_close_from_the_visitor_reaches_the_origin() {
    let mut origin = WsOrigin::start().await;
    let edge = spawn_edge(test_config(origin.addr)).await;
    let mut ws = open_greeted(edge.addr(), "/").await;

    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "visitor done".into(),
    };
    within(GUARD, ws.close(Some(frame)))
        .await
        .expect("send the close frame");

    let seen = origin
        .next_close()
        .await
        .expect("the origin's close frame carries a code");
    assert_eq!(seen.code, CloseCode::Normal);
    assert_eq!(seen.reason.as_str(), "visitor done");
    // The origin's answering close comes back and the WebSocket ends.
    until_ended(&mut ws).await;
}

#[tokio::test]
async fn a_close_from_the_origin_reaches_the_visitor() {
    let origin = WsOrigin::start().await;
    let edge = spawn_edge(test_config(origin.addr)).await;
    let mut ws = open_greeted(edge.addr(), "/").await;

    within(GUARD, ws.send(Message::text(PLEASE_CLOSE)))
        .await
        .expect("ask the origin to close");
    match next_message(&mut ws).await {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::Away);
            assert_eq!(frame.reason.as_str(), ORIGIN_CLOSE_REASON);
        }
        other => panic!("expected the origin's close frame, got {other:?}"),
    }
    until_ended(&mut ws).await;
}

#[tokio::test]
async fn an_origin_dropping_the_connection_ends_the_visitors_websocket() {
    let origin = WsOrigin::start().await;
    let edge = spawn_edge(test_config(origin.addr)).await;
    let mut ws = open_greeted(edge.addr(), "/").await;

    within(GUARD, ws.send(Message::text(PLEASE_DROP)))
        .await
        .expect("ask the origin to drop the connection");
    until_ended(&mut ws).await;
}

// ---------------------------------------------------------------------------------------------
// Failed upgrades
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_refusing_origin_fails_the_handshake_with_521() {
    let origin = Origin::refusing().await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let response = refused_handshake(edge.addr(), "/chat").await;

    assert_eq!(response.status(), 521);
    let ray = response
        .headers()
        .get("cf-ray")
        .and_then(|v| v.to_str().ok())
        .expect("the 521 carries cf-ray");
    assert_ray_format(ray);
    assert_eq!(
        response
            .headers()
            .get("server")
            .and_then(|v| v.to_str().ok()),
        Some("cloudflare")
    );
}

#[tokio::test]
async fn an_origin_answering_403_or_200_instead_of_101_fails_the_handshake_with_that_status() {
    for status in [403, 200] {
        let origin = Origin::status(status, "not a websocket here").await;
        let edge = spawn_edge(test_config(origin.addr())).await;

        let response = refused_handshake(edge.addr(), "/chat").await;

        assert_eq!(response.status(), status, "the origin's status, forwarded");
        within(GUARD, origin.request_seen()).await;
        let seen = origin
            .last_request()
            .expect("the origin recorded the upgrade request");
        assert_eq!(
            seen.header("upgrade")
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("websocket"),
            "the upgrade request is forwarded with its Upgrade header"
        );
        assert!(
            seen.header("connection")
                .is_some_and(|v| v.to_ascii_lowercase().contains("upgrade")),
            "and with Connection: upgrade: {:?}",
            seen.headers
        );
        assert!(
            seen.header("sec-websocket-key").is_some(),
            "and with the key: {:?}",
            seen.headers
        );
    }
}

// ---------------------------------------------------------------------------------------------
// What the origin sees
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_upgrade_request_reaching_the_origin_carries_cf_ray_and_cf_connecting_ip() {
    let mut origin = WsOrigin::start().await;
    let edge = spawn_edge(test_config(origin.addr)).await;
    let _ws = open_greeted(edge.addr(), "/chat").await;

    let headers = origin.next_upgrade().await;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    assert_ray_format(header("cf-ray").expect("the origin sees cf-ray"));
    assert_eq!(header("cf-connecting-ip"), Some("127.0.0.1"));
    assert_eq!(
        header("upgrade").map(str::to_ascii_lowercase).as_deref(),
        Some("websocket")
    );
}

// ---------------------------------------------------------------------------------------------
// The record
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_websocket_leaves_one_record_when_its_tunnel_closes() {
    use support::observe::{admin_get, edge_toml, json_body, log_lines_for, scrape, start};
    use support::pki::TempDir;

    let origin = WsOrigin::start().await;
    let dir = TempDir::new("ws_record");
    let access = dir.path().join("access.log");
    let log = format!(
        "format = \"json\"\naccess = {}\n",
        support::observe::toml_path(&access)
    );
    let edge = start(&edge_toml(origin.addr, 300, 300, &log, "")).await;
    let stream = within(GUARD, TcpStream::connect(edge.addr()))
        .await
        .expect("connect to the edge");
    let (mut ws, response) = within(
        GUARD,
        client_async(format!("ws://{}/chat", edge.addr()), stream),
    )
    .await
    .expect("the upgrade succeeds");
    let ray = response
        .headers()
        .get("cf-ray")
        .and_then(|v| v.to_str().ok())
        .expect("cf-ray on the 101")
        .to_owned();
    assert_eq!(next_message(&mut ws).await, Message::text(GREETING));
    let big = pattern(10_000);
    within(GUARD, ws.send(Message::binary(big.clone())))
        .await
        .expect("send 10 kB");
    assert_eq!(next_message(&mut ws).await, Message::binary(big));

    // While the tunnel is open, the request is in flight and not yet recorded.
    let open = json_body(&admin_get(&edge, &format!("/requests?ray={ray}")).await);
    assert_eq!(open.as_array().map(Vec::len), Some(0), "{open}");
    assert_eq!(
        scrape(&edge).await.scalar("edgecase_requests_in_flight"),
        1.0
    );

    within(GUARD, ws.close(None)).await.expect("close");
    until_ended(&mut ws).await;
    // The tunnel is over once both sides have closed their connection.
    drop(ws);
    let line = log_lines_for(&access, std::slice::from_ref(&ray))
        .await
        .remove(0);
    assert_eq!(line["EdgeResponseStatus"], 101, "{line}");
    assert_eq!(line["EdgecaseEnding"], "complete", "{line}");
    let up = line["ClientRequestBytes"].as_u64().unwrap_or(0);
    let down = line["EdgeResponseBytes"].as_u64().unwrap_or(0);
    assert!(up >= 10_000, "visitor-to-origin bytes counted: {line}");
    assert!(
        down >= 10_000 + GREETING.len() as u64,
        "origin-to-visitor: {line}"
    );
    let start_ns = line["EdgeStartTimestamp"].as_u64().unwrap_or(0);
    let end_ns = line["EdgeEndTimestamp"].as_u64().unwrap_or(0);
    assert!(end_ns > start_ns, "{line}");
    let metrics = scrape(&edge).await;
    assert_eq!(metrics.scalar("edgecase_requests_in_flight"), 0.0);
    assert_eq!(metrics.sum("edgecase_requests_total"), 1.0);
}
