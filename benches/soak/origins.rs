//! [`Origins`]: the loopback origins the soak's routes point at, one per way an origin can
//! fail, plus two that answer. They live in the bench process; edgecase reaches them over
//! real sockets. The TLS origin is in [`crate::tls_origin`]; what each route expects is in
//! [`crate::routes`].

use std::convert::Infallible;
use std::io;
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Either, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};

/// How long an answering origin keeps an idle keep-alive connection before closing it (as
/// Node's default does). Closing races edgecase reusing the connection, which edgecase must
/// absorb, and it lets edgecase's pooled connections go once the load stops.
pub const ORIGIN_KEEP_ALIVE: Duration = Duration::from_secs(4);
/// The healthy origin's body size, in bytes: enough for the body faults to bite.
pub const BODY_BYTES: usize = 1024;
/// The slow origin sends its body in this many pieces...
pub const SLOW_PIECES: usize = 4;
/// ...this far apart, well inside the read timeout's gap between body chunks.
pub const SLOW_GAP: Duration = Duration::from_millis(80);
/// The most a raw origin waits for the request head before acting anyway.
const HEAD_WAIT: Duration = Duration::from_secs(1);
/// The longest a silent origin holds a connection edgecase forgot (it never should).
const SILENT_CAP: Duration = Duration::from_secs(120);
/// Response head bytes the oversized origin sends: past edgecase's 16 KB default limit.
const OVERSIZED_HEAD_BYTES: usize = 24 * 1024;

/// Every origin's address, and what keeps them alive. Dropping it stops them.
pub struct Origins {
    /// Answers 200 with a [`BODY_BYTES`] body (and reads any request body first).
    pub healthy: SocketAddr,
    /// Answers 200 at once, then trickles the body in [`SLOW_PIECES`] pieces.
    pub slow_body: SocketAddr,
    /// A bound socket that never listens: connections are refused (521).
    pub refusing: SocketAddr,
    /// Listens with a full accept queue: SYNs go unanswered (522).
    pub blackhole: SocketAddr,
    /// Reads the request and never answers (524).
    pub silent: SocketAddr,
    /// Reads the request and closes without a byte (520).
    pub empty: SocketAddr,
    /// Reads the request and answers bytes that are not HTTP (520).
    pub garbage: SocketAddr,
    /// Reads the request and answers a head larger than edgecase's limit (520).
    pub oversized: SocketAddr,
    /// Answers plain HTTP to anything, including a TLS ClientHello (525 for a TLS route).
    pub plain_http: SocketAddr,
    /// The unlistened socket, the blackhole's listener and the connections filling its queue.
    _held: (Vec<Socket>, Vec<StdTcpStream>),
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Origins {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What a raw (hand-written) origin does with a connection.
#[derive(Clone, Copy, Debug)]
enum Raw {
    Silent,
    Empty,
    Garbage,
    Oversized,
    PlainHttp,
}

impl Origins {
    /// Binds and starts every origin on 127.0.0.1.
    pub async fn start() -> io::Result<Origins> {
        let mut tasks = Vec::new();
        let (healthy, task) = spawn_answering(false).await?;
        tasks.push(task);
        let (slow_body, task) = spawn_answering(true).await?;
        tasks.push(task);
        let mut raw = Vec::new();
        for behaviour in [
            Raw::Silent,
            Raw::Empty,
            Raw::Garbage,
            Raw::Oversized,
            Raw::PlainHttp,
        ] {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            raw.push(listener.local_addr()?);
            tasks.push(tokio::spawn(serve_raw(listener, behaviour)));
        }
        let refusing_socket = loopback_socket()?;
        let refusing = socket_addr(&refusing_socket)?;
        let (blackhole_socket, fillers) = tokio::task::spawn_blocking(full_backlog)
            .await
            .map_err(io::Error::other)??;
        let blackhole = socket_addr(&blackhole_socket)?;
        Ok(Origins {
            healthy,
            slow_body,
            refusing,
            blackhole,
            silent: raw[0],
            empty: raw[1],
            garbage: raw[2],
            oversized: raw[3],
            plain_http: raw[4],
            _held: (vec![refusing_socket, blackhole_socket], fillers),
            tasks,
        })
    }
}

/// A TCP socket bound to 127.0.0.1 on a free port, not listening.
fn loopback_socket() -> io::Result<Socket> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    Ok(socket)
}

fn socket_addr(socket: &Socket) -> io::Result<SocketAddr> {
    socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("a loopback socket without an IP address"))
}

/// A listener with `listen(0)` whose accept queue is already full: connections to it are
/// queued until the queue holds one, then further SYNs are dropped by the kernel (Linux).
/// Blocking: run it off the runtime.
fn full_backlog() -> io::Result<(Socket, Vec<StdTcpStream>)> {
    let listener = loopback_socket()?;
    listener.listen(0)?;
    let addr = socket_addr(&listener)?;
    let mut fillers = Vec::new();
    for _ in 0..8 {
        match StdTcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(stream) => fillers.push(stream),
            Err(e) if e.kind() == io::ErrorKind::TimedOut && !fillers.is_empty() => {
                return Ok((listener, fillers));
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(
        "the blackhole's accept queue never filled: connections kept completing",
    ))
}

/// Starts an origin that answers every request: at once, or with a slow body.
async fn spawn_answering(slow: bool) -> io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(serve_answering(stream, slow));
                }
                // Out of descriptors or an aborted handshake: try again shortly.
                Err(_) => sleep(Duration::from_millis(10)).await,
            }
        }
    });
    Ok((addr, task))
}

type AnswerBody = Either<
    Full<Bytes>,
    StreamBody<futures_util::stream::BoxStream<'static, Result<Frame<Bytes>, Infallible>>>,
>;

/// One keep-alive connection of an answering origin, closed after [`ORIGIN_KEEP_ALIVE`]
/// without a new request.
async fn serve_answering(stream: TcpStream, slow: bool) {
    let started = Instant::now();
    let last_request = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&last_request);
    let service = service_fn(move |request: Request<Incoming>| {
        seen.store(millis_since(started), Ordering::Relaxed);
        answer(request, slow)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    loop {
        let idle_since = last_request.load(Ordering::Relaxed);
        let deadline = started + Duration::from_millis(idle_since) + ORIGIN_KEEP_ALIVE;
        tokio::select! {
            _ = &mut conn => return,
            () = tokio::time::sleep_until(deadline) => {
                if last_request.load(Ordering::Relaxed) == idle_since {
                    // Finishes a response in progress, then closes (at once when idle).
                    conn.as_mut().graceful_shutdown();
                    let _ = timeout(SILENT_CAP, &mut conn).await;
                    return;
                }
            }
        }
    }
}

fn millis_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

async fn answer(
    request: Request<Incoming>,
    slow: bool,
) -> Result<Response<AnswerBody>, Infallible> {
    // Read the whole upload (if any) before answering, as most origins do.
    let uploaded = match request.into_body().collect().await {
        Ok(body) => body.to_bytes().len(),
        Err(_) => 0,
    };
    let builder = Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .header("content-length", BODY_BYTES)
        .header("x-soak-uploaded", uploaded);
    let body = if slow {
        let piece = Bytes::from(vec![b's'; BODY_BYTES / SLOW_PIECES]);
        let pieces = futures_util::stream::unfold(0usize, move |sent| {
            let piece = piece.clone();
            async move {
                if sent == SLOW_PIECES {
                    return None;
                }
                sleep(SLOW_GAP).await;
                Some((Ok(Frame::data(piece)), sent + 1))
            }
        });
        Either::Right(StreamBody::new(Box::pin(pieces) as _))
    } else {
        Either::Left(Full::new(Bytes::from(vec![b'k'; BODY_BYTES])))
    };
    // The builder's parts are all literal or numeric: it cannot fail, but answer 500 if it did.
    Ok(builder.body(body).unwrap_or_else(|_| {
        let mut response = Response::new(Either::Left(Full::new(Bytes::new())));
        *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        response
    }))
}

/// Accepts connections for a raw origin and hands each to `behaviour`.
async fn serve_raw(listener: TcpListener, behaviour: Raw) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(handle_raw(stream, behaviour));
            }
            Err(_) => sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn handle_raw(mut stream: TcpStream, behaviour: Raw) {
    let mut buf = vec![0u8; 16 * 1024];
    match behaviour {
        Raw::Silent => {
            // Read and discard until edgecase closes the connection.
            while let Ok(Ok(n)) = timeout(SILENT_CAP, stream.read(&mut buf)).await {
                if n == 0 {
                    break;
                }
            }
        }
        Raw::Empty => {
            read_head(&mut stream, &mut buf).await;
            let _ = stream.shutdown().await;
        }
        Raw::Garbage => {
            read_head(&mut stream, &mut buf).await;
            let _ = stream
                .write_all(b"SOAK \x00\x01\x02 this is not a status line\r\n\r\n")
                .await;
            let _ = stream.shutdown().await;
        }
        Raw::Oversized => {
            read_head(&mut stream, &mut buf).await;
            let _ = stream.write_all(&oversized_head()).await;
            let _ = stream.shutdown().await;
        }
        Raw::PlainHttp => {
            // Whatever arrives (a TLS ClientHello), answer plain HTTP.
            let _ = timeout(HEAD_WAIT, stream.read(&mut buf)).await;
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
            let _ = stream.shutdown().await;
        }
    }
    // Drain what edgecase still sends, so closing sends FIN rather than RST.
    let _ = timeout(HEAD_WAIT, async {
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// Reads until the end of a request head, the peer closes, or [`HEAD_WAIT`] passes.
async fn read_head(stream: &mut TcpStream, buf: &mut [u8]) {
    let mut seen: Vec<u8> = Vec::new();
    let _ = timeout(HEAD_WAIT, async {
        while let Ok(n) = stream.read(buf).await {
            let Some(read) = buf.get(..n).filter(|r| !r.is_empty()) else {
                return;
            };
            seen.extend_from_slice(read);
            if seen.windows(4).any(|w| w == b"\r\n\r\n") || seen.len() > 64 * 1024 {
                return;
            }
        }
    })
    .await;
}

/// A 200 head of [`OVERSIZED_HEAD_BYTES`] bytes, in filler header lines.
fn oversized_head() -> Vec<u8> {
    let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
    let mut line = 0;
    while head.len() < OVERSIZED_HEAD_BYTES {
        head.extend_from_slice(format!("x-soak-filler-{line}: {}\r\n", "f".repeat(60)).as_bytes());
        line += 1;
    }
    head.extend_from_slice(b"content-length: 0\r\n\r\n");
    head
}
