//! The load generators, run as child processes on the load core: wrk for throughput
//! ([`wrk`]) and oha for latency at a fixed rate ([`oha`]), with their output parsed. A tool
//! that fails or prints what cannot be parsed is a harness failure (`Err`), never a figure.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread::JoinHandle;

use crate::processes::{self, Guard, LOAD_CORE, Pinning};

/// Connections wrk and oha keep open.
pub const CONNECTIONS: usize = 64;
/// oha's fixed rate, in requests per second.
pub const OHA_RATE: u32 = 10_000;

/// The tools found.
#[derive(Clone, Debug)]
pub struct Tools {
    /// wrk, if installed.
    pub wrk: Option<PathBuf>,
    /// oha, if installed.
    pub oha: Option<PathBuf>,
}

impl Tools {
    /// Looks for wrk and oha.
    pub fn find() -> Tools {
        Tools {
            wrk: processes::which("wrk"),
            oha: processes::which("oha"),
        }
    }
}

/// What one wrk run reported.
#[derive(Clone, Copy, Debug, Default)]
pub struct WrkRun {
    /// Requests completed (`N requests in`).
    pub requests: u64,
    /// `Requests/sec`.
    pub rate: f64,
    /// Socket errors of every kind (connect, read, write, timeout).
    pub errors: u64,
    /// `Non-2xx or 3xx responses`.
    pub non_2xx: u64,
}

/// What one oha run reported.
#[derive(Clone, Copy, Debug)]
pub struct OhaRun {
    /// Median latency, in ms.
    pub p50_ms: f64,
    /// 99th percentile latency, in ms.
    pub p99_ms: f64,
    /// Requests per second achieved.
    pub rate: f64,
    /// Share of requests that succeeded (0 to 1).
    pub success: f64,
}

/// `wrk -t1 -c64 -dDs http://addr/`, with `connection: close` on every request when `close`.
pub async fn wrk(
    pinning: &Pinning,
    wrk: &Path,
    addr: SocketAddr,
    seconds: u64,
    close: bool,
) -> io::Result<WrkRun> {
    let mut cmd = pinning.command(LOAD_CORE, wrk);
    cmd.args(["-t1", &format!("-c{CONNECTIONS}"), &format!("-d{seconds}s")]);
    if close {
        cmd.args(["-H", "Connection: close"]);
    }
    cmd.arg(format!("http://{addr}/"));
    let text = run(cmd, "wrk").await?;
    parse_wrk(&text).ok_or_else(|| io::Error::other(format!("cannot parse wrk's output:\n{text}")))
}

/// `oha -z Ds -q 10000 --latency-correction --no-tui -c 64 --output-format json http://addr/`.
pub async fn oha(
    pinning: &Pinning,
    oha: &Path,
    addr: SocketAddr,
    seconds: u64,
) -> io::Result<OhaRun> {
    let mut cmd = pinning.command(LOAD_CORE, oha);
    cmd.args([
        "-z",
        &format!("{seconds}s"),
        "-q",
        &OHA_RATE.to_string(),
        "--latency-correction",
        "--no-tui",
        "-c",
        &CONNECTIONS.to_string(),
        "--output-format",
        "json",
    ]);
    if pinning.enabled() {
        // One core: one runtime thread, not two taking turns.
        cmd.args(["--worker-threads", "1"]);
    }
    cmd.arg(format!("http://{addr}/"));
    let text = run(cmd, "oha").await?;
    parse_oha(&text).ok_or_else(|| io::Error::other(format!("cannot parse oha's output:\n{text}")))
}

/// Runs a tool to its end (killed if the harness stops waiting) and returns its stdout.
async fn run(mut cmd: std::process::Command, name: &str) -> io::Result<String> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut guard = Guard::spawn(cmd)?;
    let stdout = drain(guard.child().stdout.take());
    let stderr = drain(guard.child().stderr.take());
    let status = guard.finished().await?;
    let stdout = stdout.join().unwrap_or_default();
    if !status.success() {
        return Err(io::Error::other(format!(
            "{name} failed ({status}):\n{stdout}{}",
            stderr.join().unwrap_or_default()
        )));
    }
    Ok(stdout)
}

/// Reads a pipe to its end on a thread of its own, so the child never blocks on a full pipe.
fn drain(pipe: Option<impl Read + std::marker::Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Reads wrk's summary:
///
/// ```text
///   123456 requests in 10.00s, 14.60MB read
///   Socket errors: connect 0, read 0, write 0, timeout 0
///   Non-2xx or 3xx responses: 3
/// Requests/sec:  12345.60
/// ```
fn parse_wrk(text: &str) -> Option<WrkRun> {
    let mut run = WrkRun::default();
    let mut seen = (false, false);
    for line in text.lines().map(str::trim) {
        if let Some((requests, _)) = line.split_once(" requests in ") {
            run.requests = requests.trim().parse().ok()?;
            seen.0 = true;
        } else if let Some(rate) = line.strip_prefix("Requests/sec:") {
            run.rate = rate.trim().parse().ok()?;
            seen.1 = true;
        } else if let Some(errors) = line.strip_prefix("Socket errors:") {
            run.errors = errors
                .split(',')
                .filter_map(|part| part.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum();
        } else if let Some(n) = line.strip_prefix("Non-2xx or 3xx responses:") {
            run.non_2xx = n.trim().parse().ok()?;
        }
    }
    (seen.0 && seen.1).then_some(run)
}

/// Reads oha's JSON: `latencyPercentiles.p50`/`p99` (seconds), `summary.requestsPerSec` and
/// `summary.successRate`.
fn parse_oha(text: &str) -> Option<OhaRun> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    let percentiles = json.get("latencyPercentiles")?;
    let summary = json.get("summary")?;
    Some(OhaRun {
        p50_ms: percentiles.get("p50")?.as_f64()? * 1000.0,
        p99_ms: percentiles.get("p99")?.as_f64()? * 1000.0,
        rate: summary.get("requestsPerSec")?.as_f64()?,
        success: summary.get("successRate")?.as_f64()?,
    })
}
