//! Figures 1-6 for one proxy (or the origin directly) in one round: CPU per keep-alive
//! request and throughput (wrk), p50/p99 at a fixed rate (oha), CPU per request with a new
//! connection per request (wrk), memory per held request with what happens when the visitors
//! go away, and read-timeout accuracy. Each method is spelled out in `benches/load/README.md`;
//! turning rounds into a table is [`crate::report`]'s business.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::time::{Instant, sleep};

use crate::args::Options;
use crate::origins::OriginProcess;
use crate::processes::Pinning;
use crate::procfs::{self, Snapshot};
use crate::proxies::Proxy;
use crate::tools::{self, OhaRun, Tools, WrkRun};
use crate::visitors::{self, Ask, Ended, Schedule};

/// Other processes using more than this many cores during a run are worth a warning.
pub const FOREIGN_WARNING: f64 = 0.05;
/// The wrk run before the measured ones (connections, pools and caches warm), in seconds.
const WARM_UP_SECONDS: u64 = 1;
/// How long the held requests may take to reach the silent origin.
const REACH_WAIT: Duration = Duration::from_secs(30);
/// How long the origin requests may take to close after their visitors went (figure 5).
pub const RELEASE_WAIT: Duration = Duration::from_secs(10);
/// A pause before reading RSS, so what was just started or freed has settled.
const SETTLE: Duration = Duration::from_secs(1);
/// Requests at once for the read-timeout accuracy (figure 6).
pub const READ_TIMEOUT_REQUESTS: usize = 200;
/// The longest a timed request may take before it counts as unanswered.
pub const GUARD: Duration = Duration::from_secs(10);

/// What every measurement needs.
pub struct Bench {
    /// Where each side runs.
    pub pinning: Pinning,
    /// wrk and oha, when installed.
    pub tools: Tools,
    /// The origins.
    pub origins: OriginProcess,
    /// The command line.
    pub options: Options,
    /// This process's hard fd limit (the proxies' configs are sized for it).
    pub fd_hard: u64,
    /// The temporary directory: configs, proxy logs, and each timed batch as CSV.
    pub dir: PathBuf,
}

impl Bench {
    /// Leaves `times` in the temporary directory as `name.csv` (for `--keep`).
    pub fn keep_times(&self, name: &str, times: &[visitors::Timed]) {
        let _ = std::fs::write(self.dir.join(format!("{name}.csv")), visitors::csv(times));
    }
}

/// One round's figures for one column; `None` where a figure does not apply or a tool is
/// missing.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// The keep-alive wrk run (figures 1 and 2).
    pub keep_alive: Option<WrkRun>,
    /// Proxy CPU per keep-alive request, in µs (figure 1).
    pub keep_alive_cpu_us: Option<f64>,
    /// The oha run (figure 3).
    pub latency: Option<OhaRun>,
    /// The new-connection wrk run (figure 4).
    pub close: Option<WrkRun>,
    /// Proxy CPU per request with a new connection per request, in µs (figure 4).
    pub close_cpu_us: Option<f64>,
    /// Whether the proxy answered `connection: close` and closed (figure 4's premise).
    pub closes: Option<bool>,
    /// Figure 5.
    pub held: Option<Held>,
    /// Figure 6.
    pub read_timeout: Option<Accuracy>,
    /// The most CPU other processes used during one of the wrk/oha runs, in cores.
    pub foreign_cores: Option<f64>,
}

/// Figure 5: requests held on the silent origin, then abandoned.
#[derive(Clone, Copy, Debug)]
pub struct Held {
    /// Requests asked for.
    pub asked: usize,
    /// Requests that reached the silent origin within [`REACH_WAIT`].
    pub reached: u64,
    /// RSS before, in KiB (after the other figures: warm buffers).
    pub idle_kib: u64,
    /// RSS with the requests held, in KiB.
    pub held_kib: u64,
    /// RSS after release, in KiB.
    pub after_kib: u64,
    /// From the visitors closing to the silent origin's connections closing; `None`: not all
    /// within [`RELEASE_WAIT`].
    pub released_in: Option<Duration>,
}

impl Held {
    /// (held − idle) / reached, in KiB.
    pub fn per_request_kib(&self) -> Option<f64> {
        (self.reached > 0)
            .then(|| (self.held_kib as f64 - self.idle_kib as f64) / self.reached as f64)
    }

    /// RSS after release as a percentage of idle.
    pub fn after_pct(&self) -> f64 {
        self.after_kib as f64 / self.idle_kib.max(1) as f64 * 100.0
    }
}

/// Figure 6: times from request to the timeout's error.
#[derive(Clone, Copy, Debug)]
pub struct Accuracy {
    /// Median, in seconds, over the requests answered with the expected status.
    pub median_s: f64,
    /// Maximum, in seconds.
    pub max_s: f64,
    /// Requests not answered with the expected status.
    pub wrong: usize,
}

/// Figures 1-3 straight to the fast origin: the reference for the ratios.
pub async fn direct(bench: &Bench) -> io::Result<Figures> {
    let addr = bench.origins.ports.fast;
    let mut figures = Figures::default();
    throughput(bench, addr, None, &mut figures, "direct").await?;
    Ok(figures)
}

/// Figures 1-6 through `proxy`, in round `round` (counted from 1).
pub async fn proxy(bench: &Bench, proxy: &mut Proxy, round: usize) -> io::Result<Figures> {
    let name = proxy.kind.title();
    let mut figures = Figures::default();
    throughput(bench, proxy.addr, Some(proxy.pid()), &mut figures, name).await?;
    proxy.running()?;
    figures.held = Some(held(bench, proxy).await?);
    proxy.running()?;
    if !proxy.kind.has_read_timeout() {
        eprintln!("    {name}: no read timeout to measure");
        return Ok(figures);
    }
    let expect = proxy.kind.read_timeout_status();
    let times = visitors::timed(
        proxy.addr,
        Ask::Get("/silent-1s"),
        READ_TIMEOUT_REQUESTS,
        Schedule::AtOnce,
        GUARD,
    )
    .await;
    bench.keep_times(
        &format!("{}-read-timeout-round{round}", proxy.kind.name()),
        &times,
    );
    let mut seconds: Vec<f64> = times
        .iter()
        .filter(|t| t.ended == Ended::Status(expect))
        .map(|t| t.after.as_secs_f64())
        .collect();
    seconds.sort_by(f64::total_cmp);
    if let (Some(median), Some(max)) = (percentile(&seconds, 0.5), seconds.last()) {
        figures.read_timeout = Some(Accuracy {
            median_s: median,
            max_s: *max,
            wrong: times.len() - seconds.len(),
        });
        eprintln!("    {name}: read timeout median {median:.3} s, max {max:.3} s");
    }
    if seconds.len() < times.len() {
        eprintln!(
            "    {name}: {} of {} read-timeout requests did not end in {expect}: {:?}",
            times.len() - seconds.len(),
            times.len(),
            tally(&times)
        );
    }
    proxy.running()?;
    Ok(figures)
}

/// Figures 1-4 against `addr`; `pid` is the proxy's (CPU is its tree's), `None` direct.
async fn throughput(
    bench: &Bench,
    addr: SocketAddr,
    pid: Option<u32>,
    figures: &mut Figures,
    name: &str,
) -> io::Result<()> {
    let seconds = bench.options.seconds;
    let mut foreign = Foreign::default();
    if let Some(wrk) = &bench.tools.wrk {
        tools::wrk(&bench.pinning, wrk, addr, WARM_UP_SECONDS, false).await?;
        let cpu = pid.map(procfs::tree_cpu).transpose()?;
        let snapshot = Snapshot::take()?;
        let run = tools::wrk(&bench.pinning, wrk, addr, seconds, false).await?;
        foreign.note(&snapshot)?;
        figures.keep_alive_cpu_us = per_request(pid, cpu, &run)?;
        figures.keep_alive = Some(run);
        eprintln!(
            "    {name}: keep-alive {:.0} req/s{}",
            run.rate,
            cpu_note(figures.keep_alive_cpu_us, &run)
        );
    }
    if let Some(oha) = &bench.tools.oha {
        let snapshot = Snapshot::take()?;
        let run = tools::oha(&bench.pinning, oha, addr, seconds).await?;
        foreign.note(&snapshot)?;
        eprintln!(
            "    {name}: at {} req/s p50 {:.3} ms, p99 {:.3} ms ({:.0} req/s, {:.1}% ok)",
            tools::OHA_RATE,
            run.p50_ms,
            run.p99_ms,
            run.rate,
            run.success * 100.0
        );
        figures.latency = Some(run);
    }
    if let Some(wrk) = &bench.tools.wrk {
        figures.closes = Some(visitors::closes_connection(addr).await?);
        let cpu = pid.map(procfs::tree_cpu).transpose()?;
        let snapshot = Snapshot::take()?;
        let run = tools::wrk(&bench.pinning, wrk, addr, seconds, true).await?;
        foreign.note(&snapshot)?;
        figures.close_cpu_us = per_request(pid, cpu, &run)?;
        figures.close = Some(run);
        eprintln!(
            "    {name}: new connection per request {:.0} req/s{}{}",
            run.rate,
            cpu_note(figures.close_cpu_us, &run),
            if figures.closes == Some(true) {
                ""
            } else {
                " (warning: the connection was not closed)"
            }
        );
    }
    figures.foreign_cores = foreign.most;
    if let Some(cores) = foreign.most.filter(|c| *c > FOREIGN_WARNING) {
        eprintln!("    {name}: warning: other processes used up to {cores:.2} cores meanwhile");
    }
    Ok(())
}

/// The most CPU other processes used during any one run.
#[derive(Default)]
struct Foreign {
    most: Option<f64>,
}

impl Foreign {
    /// Notes the other processes' CPU since `snapshot`.
    fn note(&mut self, snapshot: &Snapshot) -> io::Result<()> {
        let cores = snapshot.foreign_cores()?;
        self.most = Some(self.most.map_or(cores, |most| most.max(cores)));
        Ok(())
    }
}

/// Figure 5 through `proxy`.
async fn held(bench: &Bench, proxy: &Proxy) -> io::Result<Held> {
    let name = proxy.kind.title();
    let pid = proxy.pid();
    let n = bench.options.held;
    sleep(SETTLE).await;
    let base = bench.origins.stats().await?.open;
    let idle_kib = procfs::tree_rss_kib(pid)?;
    let (streams, failed) = visitors::hold(proxy.addr, "/silent", n).await;
    if failed > 0 {
        eprintln!("    {name}: {failed} of {n} held connections failed to open");
    }
    let deadline = Instant::now() + REACH_WAIT;
    let mut open = bench.origins.stats().await?.open;
    while open < base + n as u64 && Instant::now() < deadline {
        sleep(Duration::from_millis(20)).await;
        open = bench.origins.stats().await?.open;
    }
    let reached = open.saturating_sub(base);
    if reached < n as u64 {
        eprintln!("    {name}: only {reached} of {n} held requests reached the origin");
    }
    sleep(SETTLE).await;
    let held_kib = procfs::tree_rss_kib(pid)?;
    drop(streams);
    let closing = Instant::now();
    let mut released_in = None;
    while closing.elapsed() < RELEASE_WAIT {
        if bench.origins.stats().await?.open <= base {
            released_in = Some(closing.elapsed());
            break;
        }
        sleep(Duration::from_millis(5)).await;
    }
    sleep(SETTLE).await;
    let after_kib = procfs::tree_rss_kib(pid)?;
    let held = Held {
        asked: n,
        reached,
        idle_kib,
        held_kib,
        after_kib,
        released_in,
    };
    eprintln!(
        "    {name}: RSS idle {idle_kib} KiB, {reached} held {held_kib} KiB ({:.2} KiB each), \
         origin requests closed {}, after {after_kib} KiB ({:.0}% of idle)",
        held.per_request_kib().unwrap_or(f64::NAN),
        match released_in {
            Some(t) => format!("in {:.0} ms", t.as_secs_f64() * 1000.0),
            None => format!("NOT within {RELEASE_WAIT:?}"),
        },
        held.after_pct()
    );
    Ok(held)
}

/// Proxy CPU between `before` and now, per request of `run`, in µs.
fn per_request(
    pid: Option<u32>,
    before: Option<Duration>,
    run: &WrkRun,
) -> io::Result<Option<f64>> {
    let (Some(pid), Some(before)) = (pid, before) else {
        return Ok(None);
    };
    let used = procfs::tree_cpu(pid)?.saturating_sub(before);
    Ok((run.requests > 0).then(|| used.as_secs_f64() * 1e6 / run.requests as f64))
}

/// `", 20.3 µs/request"` and wrk's complaints, for the progress lines.
fn cpu_note(cpu_us: Option<f64>, run: &WrkRun) -> String {
    let mut note = cpu_us.map_or(String::new(), |us| {
        format!(", {us:.1} µs proxy CPU/request")
    });
    if run.errors > 0 || run.non_2xx > 0 {
        note += &format!(" ({} socket errors, {} non-2xx)", run.errors, run.non_2xx);
    }
    note
}

/// How timed requests ended, counted.
pub fn tally(times: &[visitors::Timed]) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for t in times {
        let key = match t.ended {
            Ended::Status(status) => status.to_string(),
            other => format!("{other:?}"),
        };
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key, 1)),
        }
    }
    counts
}

/// The `q` quantile (0 to 1) of sorted `values`, nearest rank.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}
