//! The demo's misbehaving origins: one HTTP origin that misbehaves by path, plus the sockets
//! that fail before HTTP starts (a refusing port, a listener whose SYNs go unanswered).
//!
//! Written on raw sockets on purpose: a real web server would not misbehave on request.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// The most request-head bytes the demo origin reads before giving up on a request.
const MAX_REQUEST_HEAD: usize = 64 * 1024;

/// Size of the header block the `/520/headers` path answers with (over the 16 KB limit).
const OVERSIZED_HEAD: usize = 20 * 1024;

/// Runs the path-driven demo origin on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(handle(stream));
    }
}

/// Answers requests on one connection, each by its path.
async fn handle(mut stream: TcpStream) {
    loop {
        let Some(path) = read_request_path(&mut stream).await else {
            return;
        };
        let keep_going = match path.as_str() {
            p if p.starts_with("/520/empty") => false,
            p if p.starts_with("/520/reset") => {
                // Linger 0: close() sends RST instead of FIN.
                let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                false
            }
            p if p.starts_with("/520/garbage") => {
                let _ = stream.write_all(b"this is not HTTP at all\r\n\r\n").await;
                false
            }
            p if p.starts_with("/520/headers") => {
                let filler = "a".repeat(OVERSIZED_HEAD);
                let head =
                    format!("HTTP/1.1 200 OK\r\nx-filler: {filler}\r\ncontent-length: 0\r\n\r\n");
                let _ = stream.write_all(head.as_bytes()).await;
                false
            }
            p if p.starts_with("/524") => {
                // Hold the request until the edge gives up and closes.
                let mut sink = [0u8; 1024];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
                false
            }
            p if p.starts_with("/502") => {
                respond(
                    &mut stream,
                    502,
                    "Bad Gateway",
                    "the origin's own 502 page, which Cloudflare replaces\n",
                )
                .await
            }
            p if p.starts_with("/504") => {
                respond(
                    &mut stream,
                    504,
                    "Gateway Timeout",
                    "the origin's own 504 page, which Cloudflare replaces\n",
                )
                .await
            }
            p if p.starts_with("/503") => {
                respond(
                    &mut stream,
                    503,
                    "Service Unavailable",
                    "the origin's own 503: Cloudflare passes it through\n",
                )
                .await
            }
            p if p.starts_with("/slow-body") => {
                let head =
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\n";
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream
                    .write_all(b"the first 40 bytes arrive, then nothing\n")
                    .await;
                std::future::pending::<()>().await;
                false
            }
            _ => {
                respond(
                    &mut stream,
                    200,
                    "OK",
                    "Hello from the demo origin: this passed through edgecase untouched.\n",
                )
                .await
            }
        };
        if !keep_going {
            return;
        }
    }
}

/// Runs a well-behaved origin over TLS on `listener`: every request gets a 200. Its
/// certificate (in `acceptor`) is what the demo's 526 route refuses and its Full route accepts.
pub async fn serve_tls(listener: TcpListener, acceptor: TlsAcceptor) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(mut stream) = acceptor.accept(stream).await else {
                return;
            };
            while read_request_path(&mut stream).await.is_some() {
                let body = "Hello over TLS from the demo origin (self-signed certificate).\n";
                if !respond(&mut stream, 200, "OK", body).await {
                    return;
                }
            }
        });
    }
}

/// Writes a complete keep-alive response; returns whether the connection is still usable.
async fn respond<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    reason: &str,
    body: &str,
) -> bool {
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nserver: demo-origin\r\ncontent-type: text/plain\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await.is_ok()
}

/// Reads one request head and returns its path; `None` at EOF or on a bad request. Bytes that
/// cannot start an HTTP request (a TLS ClientHello, say) get a 400 at once, as a real web
/// server answers them, and `None`.
async fn read_request_path<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || head.len() + n > MAX_REQUEST_HEAD {
            return None;
        }
        if head.is_empty() && !chunk[0].is_ascii_uppercase() {
            let _ = respond(stream, 400, "Bad Request", "this port speaks plain HTTP\n").await;
            return None;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let line = head.split(|&b| b == b'\r').next()?;
    let path = line.split(|&b| b == b' ').nth(1)?;
    Some(String::from_utf8_lossy(path).into_owned())
}

/// A port that refuses connections: bound, never listening. Keep the socket to keep the port.
pub fn refusing() -> io::Result<(Socket, SocketAddr)> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    let addr = local(&socket)?;
    Ok((socket, addr))
}

/// A listener whose accept queue is full, so new SYNs are dropped and connects hang: what
/// a firewall that drops the edge's packets looks like. Keep all three sockets alive.
pub fn blackhole() -> io::Result<(Vec<Socket>, SocketAddr)> {
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    listener.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    // Backlog 0: Linux queues one connection, then drops further SYNs.
    listener.listen(0)?;
    let addr = local(&listener)?;
    let mut sockets = vec![listener];
    for _ in 0..2 {
        let filler = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        filler.set_nonblocking(true)?;
        // In progress or done: either way the queue fills.
        let _ = filler.connect(&addr.into());
        sockets.push(filler);
    }
    Ok((sockets, addr))
}

fn local(socket: &Socket) -> io::Result<SocketAddr> {
    socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("not an IP socket"))
}
