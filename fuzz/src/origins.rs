//! The origins behind the fuzzed edges, on `127.0.0.1:0`: [`ScriptedOrigin`] answers every
//! connection with the current fuzz input and hangs up; [`OkOrigin`] answers every request
//! `200 OK`, keeping connections alive as a real application server does.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The most of a request head [`ScriptedOrigin`] reads before answering anyway.
const MAX_REQUEST_HEAD_BYTES: usize = 64 * 1024;

/// How long [`ScriptedOrigin`] waits for the edge's request head before answering anyway.
const REQUEST_HEAD_WAIT: Duration = Duration::from_secs(1);

/// An origin that reads each connection's request head, writes the script (the current fuzz
/// input) whatever was asked, and closes the connection.
pub struct ScriptedOrigin {
    addr: SocketAddr,
    script: Arc<Mutex<Vec<u8>>>,
    connections: Arc<AtomicU64>,
}

impl ScriptedOrigin {
    /// Binds `127.0.0.1:0` and serves in the background of the current runtime, with an
    /// empty script.
    pub async fn start() -> io::Result<ScriptedOrigin> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let script = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicU64::new(0));
        let (serving, counted) = (script.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                counted.fetch_add(1, Ordering::Relaxed);
                let reply = serving
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                tokio::spawn(answer_once(stream, reply));
            }
        });
        Ok(ScriptedOrigin {
            addr,
            script,
            connections,
        })
    }

    /// Where the edge connects.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Makes `bytes` the answer of every connection accepted from now on.
    pub fn set_script(&self, bytes: &[u8]) {
        let mut script = self.script.lock().unwrap_or_else(PoisonError::into_inner);
        script.clear();
        script.extend_from_slice(bytes);
    }

    /// Connections accepted since the start.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}

/// Reads `stream`'s request head (or what comes within [`REQUEST_HEAD_WAIT`]), writes
/// `reply`, and closes. Errors only end the connection: the edge may hang up first.
async fn answer_once(mut stream: TcpStream, reply: Vec<u8>) {
    let _ = tokio::time::timeout(REQUEST_HEAD_WAIT, read_head(&mut stream)).await;
    let _ = stream.write_all(&reply).await;
    let _ = stream.shutdown().await;
}

/// Reads until the blank line that ends a request head, end of stream, or
/// [`MAX_REQUEST_HEAD_BYTES`].
async fn read_head(stream: &mut TcpStream) -> io::Result<()> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while head.len() < MAX_REQUEST_HEAD_BYTES {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..read]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    Ok(())
}

/// The body of every [`OkOrigin`] answer.
pub const OK_BODY: &str = "origin ok\n";

/// An origin answering every request `200 OK` with [`OK_BODY`], after reading the request
/// body the edge forwards, over keep-alive HTTP/1.1.
pub struct OkOrigin {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
}

impl OkOrigin {
    /// Binds `127.0.0.1:0` and serves in the background of the current runtime.
    pub async fn start() -> io::Result<OkOrigin> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicU64::new(0));
        let counted = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let counted = counted.clone();
                let service = service_fn(move |request: Request<Incoming>| {
                    counted.fetch_add(1, Ordering::Relaxed);
                    answer_ok(request)
                });
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(OkOrigin { addr, requests })
    }

    /// Where the edge connects.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests answered (or begun) since the start.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

/// Reads the request body to its end (a visitor that aborts ends it early), then `200 OK`.
async fn answer_ok(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let _ = request.into_body().collect().await;
    Ok(Response::new(Full::new(Bytes::from_static(
        OK_BODY.as_bytes(),
    ))))
}
