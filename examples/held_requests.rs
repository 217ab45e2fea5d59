//! Holds many requests at once on a silent origin and reports how edgecase copes: every one
//! should get its 524 at the read timeout, and memory per held request should stay small.
//!
//! ```sh
//! cargo run --release --example held_requests -- 3000 1000   # requests, read timeout in ms
//! ```
//!
//! Everything runs in this one process on loopback: the silent origin, edgecase, and the
//! visitors. The memory figure is therefore an upper bound for edgecase alone (it includes the
//! visitors' and the origin's sockets and tasks). Each held request uses four file descriptors
//! here (visitor, edge x2, origin), so the request count is bounded by `ulimit -n` / 4.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use edgecase::config::Config;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(Ok(3000), |a| a.parse())?;
    let read_ms: u64 = args.next().map_or(Ok(1000), |a| a.parse())?;
    let read = Duration::from_millis(read_ms);

    let origin = listener(count)?;
    let origin_addr = origin.local_addr()?;
    tokio::spawn(async move {
        // Accepts and reads, never answers: every request waits for the read timeout.
        while let Ok((mut stream, _)) = origin.accept().await {
            tokio::spawn(async move {
                let mut sink = [0u8; 1024];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    let config = Config::from_toml_str(&format!(
        "[origin]\naddress = \"{origin_addr}\"\n[timeouts]\nread = \"{read_ms}ms\"\n\
         connect = \"5s\"\n[edge]\nshutdown_grace = \"0s\"\n"
    ))?;
    let edge = listener(count)?;
    let edge_addr = edge.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(edgecase::edge::serve(edge, config, async {
        let _ = stopped.await;
    }));

    let idle_rss = rss_kib();
    let started = Instant::now();
    let mut visitors = Vec::with_capacity(count);
    for _ in 0..count {
        visitors.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(edge_addr).await.ok()?;
            let sent = Instant::now();
            let request = b"GET /held HTTP/1.1\r\nhost: held.test\r\nconnection: close\r\n\r\n";
            stream.write_all(request).await.ok()?;
            let mut head = [0u8; 12];
            stream.read_exact(&mut head).await.ok()?;
            let status = std::str::from_utf8(&head[9..12])
                .ok()?
                .parse::<u16>()
                .ok()?;
            Some((status, sent.elapsed()))
        }));
    }
    // Halfway through the hold, every request is in flight: measure then.
    tokio::time::sleep_until(started + read / 2).await;
    let held_rss = rss_kib();

    let mut outcomes = Vec::with_capacity(count);
    let mut failed = 0usize;
    for visitor in visitors {
        match visitor.await? {
            Some(outcome) => outcomes.push(outcome),
            None => failed += 1,
        }
    }
    let _ = stop.send(());
    let _ = server.await?;

    let with_524 = outcomes.iter().filter(|(status, _)| *status == 524).count();
    let mut errors: Vec<f64> = outcomes
        .iter()
        .map(|(_, took)| (took.as_secs_f64() - read.as_secs_f64()).abs() * 1000.0)
        .collect();
    errors.sort_by(f64::total_cmp);
    let at = |q: f64| {
        errors
            .get(((errors.len() as f64 - 1.0) * q) as usize)
            .copied()
    };
    println!("held requests:            {count} (read timeout {read_ms} ms)");
    println!(
        "answered 524:             {with_524}; other answers: {}; no answer: {failed}",
        outcomes.len() - with_524
    );
    if let (Some(p50), Some(p99), Some(max)) = (at(0.5), at(0.99), errors.last().copied()) {
        println!("|time-to-error - timeout|: p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms");
    }
    if let (Some(idle), Some(held)) = (idle_rss, held_rss) {
        let per = (held.saturating_sub(idle) as f64) / count as f64;
        println!(
            "RSS: idle {idle} KiB, holding {held} KiB: {per:.1} KiB per held request (visitor + edge + origin)"
        );
    }
    Ok(())
}

/// A loopback listener whose accept queue holds every visitor at once: with the default
/// backlog (1024) a burst of connects overflows it and SYN retries (1 s, 3 s...) would be
/// measured as edgecase's lateness.
fn listener(count: usize) -> std::io::Result<TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind("127.0.0.1:0".parse().expect("literal address"))?;
    socket.listen(u32::try_from(count.max(1024)).unwrap_or(u32::MAX))
}

/// This process's resident set size, in KiB (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
