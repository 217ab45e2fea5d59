//! Issue 19's design study: what edgecase would cost with a visitor side of its own as well
//! (HTTP/1.1 read and written by hand on `httparse`, hyper kept for h2). Not edgecase: a
//! prototype of the request path only, for `benches/load` to measure beside nginx, HAProxy and
//! edgecase itself. It reads the config the load bench writes (`[edge] listen`,
//! `[origin] address`, `[[route]]` prefixes with `timeouts.connect`/`timeouts.read`) and does
//! what those figures exercise: keep-alive HTTP/1.1 GETs relayed to one origin connection per
//! visitor connection (Content-Length bodies), 522 on a connect timeout, 524 on a read timeout,
//! a `cf-ray` on every answer, `x-forwarded-for` to the origin. No pages, faults, TLS, record
//! or observers: so its figures are the floor of that design, not what edgecase would measure.
//!
//! ```sh
//! cargo bench --bench visitor_prototype --no-run     # prints the binary's path
//! cargo bench --bench load -- --quick --proxies edgecase,nginx --edgecase <that path>
//! ```
//!
//! A request waiting on its origin holds its task (the future below), the two sockets and the
//! request head it read (sized to the head); reads go through the stack only once the socket is
//! readable, so no read buffer is held while waiting.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// The largest request or response head read, as edgecase's limit.
const HEAD_LIMIT: usize = 16 * 1024;
/// Headers parsed per head at most.
const MAX_HEADERS: usize = 64;

/// One `[[route]]`: requests whose path starts with `prefix` go to `origin`.
struct Route {
    prefix: String,
    origin: SocketAddr,
    connect: Duration,
    read: Duration,
}

/// What the prototype reads of an edgecase config.
struct Config {
    listen: SocketAddr,
    routes: Vec<Route>,
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--version") {
        println!("edgecase-visitor-prototype 0.0.0 (issue 19 design study)");
        return Ok(());
    }
    let Some(path) = args
        .iter()
        .position(|a| a == "--config")
        .and_then(|i| args.get(i + 1))
    else {
        // `cargo bench` runs every bench target with `--bench`: nothing to do without a config.
        eprintln!("visitor_prototype: needs --config FILE (see the file's doc comment)");
        return Ok(());
    };
    let config = read_config(&std::fs::read_to_string(path)?)?;
    let config: &'static Config = Box::leak(Box::new(config));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(serve(config))
}

/// Accepts visitors until the process is killed.
async fn serve(config: &'static Config) -> io::Result<()> {
    let listener = TcpListener::bind(config.listen).await?;
    eprintln!("visitor_prototype listening on {}", config.listen);
    loop {
        let (visitor, peer) = listener.accept().await?;
        let _ = visitor.set_nodelay(true);
        tokio::spawn(async move {
            let _ = relay(config, visitor, peer).await;
        });
    }
}

/// Serves one visitor connection: each request relayed in turn until either side closes.
async fn relay(config: &Config, mut visitor: TcpStream, peer: SocketAddr) -> io::Result<()> {
    let mut origin: Option<(SocketAddr, TcpStream)> = None;
    let mut pending = Vec::new();
    loop {
        let Some(head_len) = read_head(&mut visitor, &mut pending, is_request_head).await? else {
            return Ok(());
        };
        let head: Vec<u8> = pending.drain(..head_len).collect();
        let ray = next_ray();
        let Some((outgoing, route)) = rewrite_request(config, &head, peer) else {
            return answer(&mut visitor, 400, &ray).await;
        };
        let reused = matches!(&origin, Some((addr, _)) if *addr == route.origin);
        if !reused {
            let connecting = tokio::time::timeout(route.connect, TcpStream::connect(route.origin));
            match connecting.await {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    origin = Some((route.origin, stream));
                }
                Ok(Err(_)) => return answer(&mut visitor, 521, &ray).await,
                Err(_) => return answer(&mut visitor, 522, &ray).await,
            }
        }
        let Some((_, upstream)) = origin.as_mut() else {
            return Ok(());
        };
        upstream.write_all(&outgoing).await?;
        let mut body = Vec::new();
        let reading = read_head(upstream, &mut body, is_response_head);
        let head_len = match tokio::time::timeout(route.read, reading).await {
            Ok(Ok(Some(len))) => len,
            Ok(_) => return answer(&mut visitor, 520, &ray).await,
            Err(_) => return answer(&mut visitor, 524, &ray).await,
        };
        let Some((response, length)) = rewrite_response(&body[..head_len], &ray) else {
            return answer(&mut visitor, 520, &ray).await;
        };
        visitor.write_all(&response).await?;
        relay_body(upstream, &mut visitor, &body[head_len..], length).await?;
    }
}

/// Reads until `buf` holds a whole head (by `complete`), returning its length; `None` when the
/// peer closed before sending anything more. Reads go through a stack buffer only once the
/// socket is readable, so a wait holds no buffer.
async fn read_head(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    complete: fn(&[u8]) -> Option<usize>,
) -> io::Result<Option<usize>> {
    loop {
        if let Some(len) = complete(buf) {
            return Ok(Some(len));
        }
        if buf.len() > HEAD_LIMIT {
            return Err(io::Error::other("head too large"));
        }
        stream.readable().await?;
        let mut chunk = [0u8; 4096];
        match stream.try_read(&mut chunk) {
            Ok(0) => return Ok(None),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
}

/// The length of the request head at the start of `buf`, once it is all there.
fn is_request_head(buf: &[u8]) -> Option<usize> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match httparse::Request::new(&mut headers).parse(buf) {
        Ok(httparse::Status::Complete(len)) => Some(len),
        _ => None,
    }
}

/// The length of the response head at the start of `buf`, once it is all there.
fn is_response_head(buf: &[u8]) -> Option<usize> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match httparse::Response::new(&mut headers).parse(buf) {
        Ok(httparse::Status::Complete(len)) => Some(len),
        _ => None,
    }
}

/// The request head as it goes to the origin (hop-by-hop headers dropped, `x-forwarded-for`
/// added), and the route it takes. Bodies are not relayed: the load bench sends GETs.
fn rewrite_request<'c>(
    config: &'c Config,
    head: &[u8],
    peer: SocketAddr,
) -> Option<(Vec<u8>, &'c Route)> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    request.parse(head).ok()?;
    let (method, path) = (request.method?, request.path?);
    let route = config.routes.iter().find(|r| path.starts_with(&r.prefix))?;
    let mut out = Vec::with_capacity(head.len() + 40);
    out.extend_from_slice(format!("{method} {path} HTTP/1.1\r\n").as_bytes());
    forward_headers(&mut out, request.headers);
    out.extend_from_slice(format!("x-forwarded-for: {}\r\n\r\n", peer.ip()).as_bytes());
    Some((out, route))
}

/// The response head as the visitor gets it (`cf-ray` added, hop-by-hop dropped, kept alive),
/// and its Content-Length; `None` for a head without one (the prototype relays no other body).
fn rewrite_response(head: &[u8], ray: &str) -> Option<(Vec<u8>, u64)> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    response.parse(head).ok()?;
    let code = response.code?;
    let mut length = None;
    let mut out = Vec::with_capacity(head.len() + 40);
    out.extend_from_slice(
        format!("HTTP/1.1 {code} {}\r\n", response.reason.unwrap_or("")).as_bytes(),
    );
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            length = std::str::from_utf8(header.value).ok()?.trim().parse().ok();
        }
    }
    forward_headers(&mut out, response.headers);
    out.extend_from_slice(format!("cf-ray: {ray}\r\n\r\n").as_bytes());
    Some((out, length?))
}

/// Appends `headers` to a head being written, leaving out the hop-by-hop ones.
fn forward_headers(out: &mut Vec<u8>, headers: &[httparse::Header<'_>]) {
    for header in headers.iter().filter(|h| !is_hop_by_hop(h.name)) {
        out.extend_from_slice(header.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(header.value);
        out.extend_from_slice(b"\r\n");
    }
}

/// Whether `name` is a hop-by-hop header (RFC 9110 §7.6.1), which a proxy does not forward.
fn is_hop_by_hop(name: &str) -> bool {
    [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "transfer-encoding",
        "upgrade",
    ]
    .iter()
    .any(|hop| name.eq_ignore_ascii_case(hop))
}

/// Copies `length` body bytes to the visitor: those already read (`first`), then the rest.
async fn relay_body(
    upstream: &mut TcpStream,
    visitor: &mut TcpStream,
    first: &[u8],
    length: u64,
) -> io::Result<()> {
    let first = &first[..first.len().min(length as usize)];
    visitor.write_all(first).await?;
    let mut left = length - first.len() as u64;
    // On the heap, and only for a body longer than the first read: a stack buffer held across
    // the write below would size every connection's task for it.
    let mut chunk = Vec::new();
    while left > 0 {
        upstream.readable().await?;
        chunk.resize(8192.min(left as usize), 0);
        match upstream.try_read(&mut chunk) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                left -= n as u64;
                visitor.write_all(&chunk[..n]).await?;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Answers `status` with a one-line body and closes: the prototype's stand-in for a page.
async fn answer(visitor: &mut TcpStream, status: u16, ray: &str) -> io::Result<()> {
    let body = format!("error {status}\n");
    let head = format!(
        "HTTP/1.1 {status} \r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
         cf-ray: {ray}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    visitor.write_all(head.as_bytes()).await?;
    visitor.write_all(body.as_bytes()).await?;
    visitor.shutdown().await
}

/// A ray ID in Cloudflare's shape: 16 hex digits and the colo.
fn next_ray() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0x8f3a_0000_0000_0000);
    format!("{:016x}-CDG", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The parts of an edgecase config the prototype uses; the default route (`""`) last.
fn read_config(text: &str) -> io::Result<Config> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let value: toml::Table = text.parse().map_err(|e| bad(&format!("config: {e}")))?;
    let address = |v: Option<&toml::Value>| -> io::Result<SocketAddr> {
        v.and_then(toml::Value::as_str)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("an address"))
    };
    let listen = address(value.get("edge").and_then(|e| e.get("listen")))?;
    let fallback = address(value.get("origin").and_then(|o| o.get("address")))?;
    let mut routes = Vec::new();
    for route in value
        .get("route")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
    {
        let timeouts = route.get("timeouts");
        let timeout = |key: &str, default: Duration| {
            timeouts
                .and_then(|t| t.get(key))
                .and_then(toml::Value::as_str)
                .and_then(duration)
                .unwrap_or(default)
        };
        routes.push(Route {
            prefix: route
                .get("path_prefix")
                .and_then(toml::Value::as_str)
                .ok_or_else(|| bad("a route's path_prefix"))?
                .to_owned(),
            origin: address(route.get("origin"))?,
            connect: timeout("connect", Duration::from_secs(15)),
            read: timeout("read", Duration::from_secs(100)),
        });
    }
    routes.push(Route {
        prefix: String::new(),
        origin: fallback,
        connect: Duration::from_secs(15),
        read: Duration::from_secs(100),
    });
    Ok(Config { listen, routes })
}

/// `"1s"`, `"300ms"`: the config's durations, as far as the bench writes them.
fn duration(text: &str) -> Option<Duration> {
    if let Some(ms) = text.strip_suffix("ms") {
        return ms.parse().ok().map(Duration::from_millis);
    }
    text.strip_suffix('s')?
        .parse()
        .ok()
        .map(Duration::from_secs)
}
