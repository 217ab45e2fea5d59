//! The harness's own visitors, on raw HTTP/1.1 over loopback sockets: requests held open
//! ([`hold`]), requests timed from their first byte written to their response head
//! ([`timed`]), and small one-off requests ([`fetch`], [`closes_connection`]). Load at full
//! speed is wrk's and oha's job ([`crate::tools`]); judging the times is the figures'.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until, timeout};

/// Connections opened a second while ramping up, unless a schedule says otherwise.
pub const RAMP_RATE: u32 = 10_000;
/// Connections opened together in one ramp step: few enough that no listen backlog overflows
/// and that requests timed from their first byte do not time out in bursts of hundreds (which
/// would measure the cost of answering a burst, not the timer).
const RAMP_STEP: usize = 10;
/// The longest a one-off request or a connect may take.
const ONE_OFF: Duration = Duration::from_secs(5);
/// The largest response head read.
const HEAD_LIMIT: usize = 64 * 1024;

/// What a visitor sends.
#[derive(Clone, Copy, Debug)]
pub enum Ask {
    /// `GET path`.
    Get(&'static str),
    /// `POST path` with a body of this many bytes, declared with `content-length`.
    Post(&'static str, usize),
}

/// When the visitors of a [`timed`] batch write their requests.
#[derive(Clone, Copy, Debug)]
pub enum Schedule {
    /// Each as soon as its connection is up, the connections ramped at this many a second.
    AsConnected(u32),
    /// Every connection opened first, then all requests at the same instant.
    AtOnce,
    /// Every connection opened first, then the requests evenly over this long.
    Spread(Duration),
}

/// How one timed request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// A response head with this status.
    Status(u16),
    /// The connection could not be opened.
    NoConnection,
    /// The connection closed (or failed) before a response head.
    Closed,
    /// No response head within the guard.
    Unanswered,
}

/// One timed request: how it ended, and the time from its first byte written to the end of
/// its response head (or to the failure).
#[derive(Clone, Copy, Debug)]
pub struct Timed {
    /// How it ended.
    pub ended: Ended,
    /// From the first byte written to the end of the response head.
    pub after: Duration,
}

/// Opens `n` connections to `addr`, ramped, each sending `GET path` and then holding still.
/// Returns the open connections (dropping them closes every one) and how many failed.
pub async fn hold(addr: SocketAddr, path: &'static str, n: usize) -> (Vec<TcpStream>, usize) {
    let mut set = JoinSet::new();
    let begin = Instant::now();
    for i in 0..n {
        if i > 0 && i % RAMP_STEP == 0 {
            sleep_until(ramp_at(begin, i, RAMP_RATE)).await;
        }
        set.spawn(async move {
            let mut stream = timeout(ONE_OFF, TcpStream::connect(addr)).await??;
            stream
                .write_all(head(addr, Ask::Get(path)).as_bytes())
                .await?;
            Ok::<_, io::Error>(stream)
        });
    }
    let mut held = Vec::with_capacity(n);
    let mut failed = 0;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(stream)) => held.push(stream),
            _ => failed += 1,
        }
    }
    (held, failed)
}

/// `n` requests `ask` to `addr`, each on its own connection, written on `schedule` and timed until
/// their response head (or `guard`, then [`Ended::Unanswered`]).
pub async fn timed(
    addr: SocketAddr,
    ask: Ask,
    n: usize,
    schedule: Schedule,
    guard: Duration,
) -> Vec<Timed> {
    let rate = match schedule {
        Schedule::AsConnected(rate) => rate,
        Schedule::AtOnce | Schedule::Spread(_) => RAMP_RATE,
    };
    // Opening every connection first takes one ramp; the requests start half a second after.
    let begin = Instant::now();
    let start = ramp_at(begin, n, rate) + Duration::from_millis(500);
    let mut set = JoinSet::new();
    for i in 0..n {
        if i > 0 && i % RAMP_STEP == 0 {
            sleep_until(ramp_at(begin, i, rate)).await;
        }
        let at = match schedule {
            Schedule::AsConnected(_) => None,
            Schedule::AtOnce => Some(start),
            Schedule::Spread(over) => Some(start + over.mul_f64(i as f64 / n as f64)),
        };
        set.spawn(visit(addr, ask, at, guard));
    }
    let mut all = Vec::with_capacity(n);
    while let Some(joined) = set.join_next().await {
        all.push(joined.unwrap_or(Timed {
            ended: Ended::Closed,
            after: Duration::ZERO,
        }));
    }
    all
}

/// When the `i`th connection of a ramp at `per_second` starting at `begin` opens.
pub fn ramp_at(begin: Instant, i: usize, per_second: u32) -> Instant {
    begin + Duration::from_secs_f64(i as f64 / f64::from(per_second.max(1)))
}

/// One timed visitor.
async fn visit(addr: SocketAddr, ask: Ask, at: Option<Instant>, guard: Duration) -> Timed {
    let failed = |ended| Timed {
        ended,
        after: Duration::ZERO,
    };
    let stream = match timeout(ONE_OFF, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => stream,
        _ => return failed(Ended::NoConnection),
    };
    let _ = stream.set_nodelay(true);
    if let Some(at) = at {
        sleep_until(at).await;
    }
    let (mut read, mut write) = stream.into_split();
    let started = Instant::now();
    if write.write_all(head(addr, ask).as_bytes()).await.is_err() {
        return failed(Ended::Closed);
    }
    let body = match ask {
        Ask::Get(_) => None,
        Ask::Post(_, bytes) => Some(tokio::spawn(write_body(write, bytes))),
    };
    let mut buf = Vec::with_capacity(1024);
    let ended = match timeout(guard, read_head(&mut read, &mut buf)).await {
        Ok(Ok(status)) => Ended::Status(status),
        Ok(Err(_)) => Ended::Closed,
        Err(_) => Ended::Unanswered,
    };
    let after = started.elapsed();
    if let Some(body) = body {
        body.abort();
    }
    // `write` (a GET's) is dropped only now, after the head: no FIN while waiting.
    Timed { ended, after }
}

/// Writes `bytes` zero bytes: a body the origin never takes, so it only has to be larger than
/// what the path's buffers absorb. Hands the write half back, so the caller keeps it open:
/// dropping it would send a FIN, which a proxy takes as the visitor leaving.
async fn write_body(mut write: OwnedWriteHalf, mut bytes: usize) -> io::Result<OwnedWriteHalf> {
    static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];
    while bytes > 0 {
        let n = bytes.min(ZEROS.len());
        write.write_all(&ZEROS[..n]).await?;
        bytes -= n;
    }
    Ok(write)
}

/// The request head for `ask`.
fn head(addr: SocketAddr, ask: Ask) -> String {
    match ask {
        Ask::Get(path) => format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\n\r\n"),
        Ask::Post(path, bytes) => format!(
            "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {bytes}\r\n\
             content-type: application/octet-stream\r\n\r\n"
        ),
    }
}

/// Reads until the end of a response head; returns its status (the head stays in `buf`).
async fn read_head(read: &mut (impl AsyncReadExt + Unpin), buf: &mut Vec<u8>) -> io::Result<u16> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let line = String::from_utf8_lossy(&buf[..end]);
            return line
                .split_whitespace()
                .nth(1)
                .and_then(|status| status.parse().ok())
                .ok_or_else(|| io::Error::other(format!("bad status line in {line:?}")));
        }
        if buf.len() > HEAD_LIMIT {
            return Err(io::Error::other("response head too large"));
        }
        match read.read(&mut chunk).await? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// `GET path` on a connection of its own (`connection: close`); the body of a `200`.
pub async fn fetch(addr: SocketAddr, path: &str) -> io::Result<String> {
    let (status, head, body) = one_off(addr, path).await?;
    if status != 200 {
        return Err(io::Error::other(format!("GET {path}: {status}\n{head}")));
    }
    Ok(body)
}

/// Whether `GET /` with `connection: close` is answered `200` with `connection: close` and the
/// connection then closed by the other side (what wrk's new-connection run relies on).
pub async fn closes_connection(addr: SocketAddr) -> io::Result<bool> {
    let (status, head, _) = match one_off(addr, "/").await {
        Ok(answer) => answer,
        // Answered, but the connection stayed open until the guard.
        Err(e) if e.kind() == io::ErrorKind::TimedOut => return Ok(false),
        Err(e) => return Err(e),
    };
    let says_close = head
        .lines()
        .any(|l| l.to_ascii_lowercase().replace(' ', "") == "connection:close");
    Ok(status == 200 && says_close)
}

/// `GET path` with `connection: close`, read to EOF: status, head and body.
async fn one_off(addr: SocketAddr, path: &str) -> io::Result<(u16, String, String)> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut all = Vec::new();
        stream.read_to_end(&mut all).await?;
        let end = find(&all, b"\r\n\r\n").ok_or_else(|| io::Error::other("no response head"))?;
        let head = String::from_utf8_lossy(&all[..end]).into_owned();
        let body = String::from_utf8_lossy(&all[end + 4..]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad status line in {head:?}")))?;
        Ok::<_, io::Error>((status, head, body))
    };
    timeout(ONE_OFF, exchange)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("GET {path} on {addr}")))?
}

/// One line per request, `outcome,seconds`, for the files a `--keep` run leaves behind.
pub fn csv(times: &[Timed]) -> String {
    let mut out = String::from("outcome,seconds\n");
    for t in times {
        let outcome = match t.ended {
            Ended::Status(status) => status.to_string(),
            other => format!("{other:?}"),
        };
        out += &format!("{outcome},{:.6}\n", t.after.as_secs_f64());
    }
    out
}

/// Where `needle` starts in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
