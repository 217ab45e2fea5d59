//! The origins, in a process of their own: [`serve`] is what that process runs (the bench
//! binary re-executed with [`SERVE_FLAG`]), [`OriginProcess`] is the harness's handle on it.
//!
//! - fast: HTTP/1.1 keep-alive (hyper), `200` with a fixed [`BODY`] to every request, and
//!   `GET` [`STATS_PATH`]: the silent origin's open and accepted connections;
//! - silent: accepts, reads and discards until EOF, never answers, then closes its side;
//! - blackhole: a listener with backlog 0 whose queue one connection of its own fills, so
//!   SYNs go unanswered (the connect timer);
//! - never-reading: `SO_RCVBUF` [`NEVER_READS_RCVBUF_BYTES`], accepts and never reads (the
//!   ACK timer), dropping each connection after [`NEVER_READS_HOLD`].
//!
//! Everything runs on one current-thread runtime, pinned beside the load generators.

use std::convert::Infallible;
use std::io::{self, BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::os::fd::AsRawFd;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::sleep;

use crate::processes::{Guard, LOAD_CORE, Pinning};
use crate::procfs;
use crate::visitors;

/// The hidden flag that makes the bench binary serve the origins.
pub const SERVE_FLAG: &str = "--serve-origins";
/// The fast origin's body (13 bytes).
pub const BODY: &[u8] = b"hello, world\n";
/// The fast origin's path for the silent origin's counts: `"<open> <accepted>\n"`.
pub const STATS_PATH: &str = "/__stats";
/// The never-reading origin's receive buffer, set before listen (accepted sockets inherit it).
pub const NEVER_READS_RCVBUF_BYTES: u32 = 4096;
/// How long the never-reading origin holds a connection: well past any ACK timeout measured.
const NEVER_READS_HOLD: Duration = Duration::from_secs(30);
/// Listen backlog of the origins that accept (the kernel caps it at somaxconn).
const BACKLOG: i32 = 4096;
/// How long the origin process may take to print its ports.
const STARTUP: Duration = Duration::from_secs(10);

/// The origins' addresses, as the origin process prints them.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    /// The fast origin (and the stats).
    pub fast: SocketAddr,
    /// The silent origin.
    pub silent: SocketAddr,
    /// The blackhole.
    pub blackhole: SocketAddr,
    /// The never-reading origin.
    pub never_reads: SocketAddr,
}

/// The silent origin's connections, as [`STATS_PATH`] reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Open now.
    pub open: u64,
    /// Accepted since the start.
    pub accepted: u64,
}

/// The running origin process.
pub struct OriginProcess {
    /// Where each origin listens.
    pub ports: Ports,
    /// Its process id.
    pub pid: u32,
    _guard: Guard,
}

impl OriginProcess {
    /// Starts `exe --serve-origins` on the load core and reads its ports. Its stdin is a pipe
    /// it watches: when the harness goes, so does it.
    pub fn start(pinning: &Pinning, exe: &std::path::Path) -> io::Result<OriginProcess> {
        let mut cmd = pinning.command(LOAD_CORE, exe);
        cmd.arg(SERVE_FLAG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut guard = Guard::spawn(cmd)?;
        let stdout = guard
            .child()
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("the origin process has no stdout"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            let _ = tx.send(read);
        });
        let line = rx
            .recv_timeout(STARTUP)
            .map_err(|_| io::Error::other("the origin process printed no ports"))??;
        let ports = parse_ports(&line)
            .ok_or_else(|| io::Error::other(format!("origin process said {line:?}")))?;
        Ok(OriginProcess {
            ports,
            pid: guard.pid(),
            _guard: guard,
        })
    }

    /// The silent origin's counts now.
    pub async fn stats(&self) -> io::Result<Stats> {
        let body = visitors::fetch(self.ports.fast, STATS_PATH).await?;
        let mut numbers = body.split_whitespace().map(str::parse::<u64>);
        match (numbers.next(), numbers.next()) {
            (Some(Ok(open)), Some(Ok(accepted))) => Ok(Stats { open, accepted }),
            _ => Err(io::Error::other(format!("bad stats {body:?}"))),
        }
    }
}

/// `fast=ADDR silent=ADDR blackhole=ADDR never_reads=ADDR`.
fn parse_ports(line: &str) -> Option<Ports> {
    let find = |key: &str| {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
    };
    Some(Ports {
        fast: find("fast")?,
        silent: find("silent")?,
        blackhole: find("blackhole")?,
        never_reads: find("never_reads")?,
    })
}

/// The silent origin's counters, shared by its connections and the stats path.
#[derive(Default)]
struct Counters {
    open: AtomicU64,
    accepted: AtomicU64,
}

/// The origin process's whole life: binds, prints the ports, serves until stdin closes.
pub fn serve() -> io::Result<()> {
    procfs::raise_fd_limit()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let counters = Arc::new(Counters::default());
        let fast = listener(None)?;
        let silent = listener(None)?;
        let never_reads = listener(Some(NEVER_READS_RCVBUF_BYTES))?;
        let (blackhole, _held) = blackhole().await?;
        println!(
            "fast={} silent={} blackhole={} never_reads={}",
            fast.local_addr()?,
            silent.local_addr()?,
            blackhole,
            never_reads.local_addr()?
        );
        // The harness holds our stdin; EOF means it is gone, whatever way it went.
        std::thread::spawn(|| {
            let _ = io::stdin().read_to_end(&mut Vec::new());
            std::process::exit(0);
        });
        tokio::spawn(serve_fast(fast, Arc::clone(&counters)));
        tokio::spawn(serve_silent(silent, counters));
        serve_never_reads(never_reads).await;
        Ok(())
    })
}

/// A loopback listener on a free port with [`BACKLOG`], and `rcvbuf` set before listen.
fn listener(rcvbuf: Option<u32>) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    if let Some(bytes) = rcvbuf {
        socket.set_recv_buffer_size(bytes)?;
    }
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    socket.listen(BACKLOG as u32)
}

/// Accepts, skipping errors such as running out of descriptors (after a breath).
async fn accept(listener: &TcpListener) -> TcpStream {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => return stream,
            Err(e) => {
                eprintln!("origin: accept failed: {e}");
                sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn serve_fast(listener: TcpListener, counters: Arc<Counters>) {
    loop {
        let stream = accept(&listener).await;
        let _ = stream.set_nodelay(true);
        let counters = Arc::clone(&counters);
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let reply = answer(&request, &counters);
                async move { Ok::<_, Infallible>(reply) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// `200` with [`BODY`], or the counts on [`STATS_PATH`].
fn answer(request: &Request<Incoming>, counters: &Counters) -> Response<Full<Bytes>> {
    let body = if request.uri().path() == STATS_PATH {
        Bytes::from(format!(
            "{} {}\n",
            counters.open.load(Ordering::SeqCst),
            counters.accepted.load(Ordering::SeqCst)
        ))
    } else {
        Bytes::from_static(BODY)
    };
    Response::new(Full::new(body))
}

async fn serve_silent(listener: TcpListener, counters: Arc<Counters>) {
    loop {
        let mut stream = accept(&listener).await;
        counters.accepted.fetch_add(1, Ordering::SeqCst);
        counters.open.fetch_add(1, Ordering::SeqCst);
        let counters = Arc::clone(&counters);
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            while let Ok(1..) = stream.read(&mut buf).await {}
            drop(stream);
            counters.open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

async fn serve_never_reads(listener: TcpListener) {
    loop {
        let stream = accept(&listener).await;
        tokio::spawn(async move {
            sleep(NEVER_READS_HOLD).await;
            drop(stream);
        });
    }
}

/// A listener with backlog 0 whose queue is already full: it holds one connection the kernel
/// completed, never accepted. Returns the address and the sockets to keep open.
async fn blackhole() -> io::Result<(SocketAddr, (Socket, StdTcpStream))> {
    let listener = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    listener.bind(&SockAddr::from(SocketAddr::from(([127, 0, 0, 1], 0))))?;
    listener.listen(0)?;
    let addr = listener
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("the blackhole has no IP address"))?;
    let filler = StdTcpStream::connect(addr)?;
    // The handshake's last ACK may still be on its way: wait until the kernel has queued it.
    for _ in 0..1000 {
        if accept_queue_len(&listener)? >= 1 {
            return Ok((addr, (listener, filler)));
        }
        sleep(Duration::from_millis(1)).await;
    }
    Err(io::Error::other(
        "the blackhole's accept queue did not fill",
    ))
}

/// Connections waiting in a listener's accept queue (`tcpi_unacked` of a listening socket).
fn accept_queue_len(listener: &Socket) -> io::Result<u32> {
    // SAFETY: tcp_info is plain old data; all zeroes is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: the fd is a live socket owned by `listener`; `info` and `len` describe a
    // writable buffer of the stated size.
    let rc = unsafe {
        libc::getsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(info.tcpi_unacked)
    } else {
        Err(io::Error::last_os_error())
    }
}
