//! edgecase's own target checks, after the comparison: timer accuracy with many requests in
//! flight (connect, read and ACK timers, figure 7) and requests held up to the descriptor
//! limit while healthy traffic runs beside them (figure 8). Judging them against the targets
//! is [`crate::report`]'s business.

use std::io;
use std::time::Duration;

use tokio::time::Instant;

use crate::figures::{self, Bench, GUARD};
use crate::procfs;
use crate::proxies::Proxy;
use crate::tools;
use crate::visitors::{self, Ask, Ended, Schedule, Timed};

/// Every timer under test is configured to this.
const TIMER: Duration = Duration::from_secs(1);
/// The read timeout of the route held to the fd limit.
const HOLD_TIMER: Duration = Duration::from_secs(5);
/// The timed requests of figure 7 are written evenly over this long, so all are in flight
/// together when the first timer fires, and what is measured is each timer rather than the
/// cost of answering them all in the same millisecond.
const SPREAD: Duration = Duration::from_millis(900);
/// The ACK check's request body: far more than the never-reading origin's 4 KiB window, so
/// data stays unacknowledged, yet small enough that 1,000 of them fit in socket buffers.
const ACK_BODY_BYTES: usize = 256 * 1024;
/// Requests held to the fd limit are opened at this many a second (9,000 in 4.5 s): admitting
/// them then costs a small share of the proxy's core beside the healthy traffic, and their
/// timers fire spread out the same way, so what is measured is holding and timing them, not
/// absorbing a burst of admissions (at 10,000 a second a single core saturates for a while,
/// whatever the proxy).
const HOLD_RAMP_RATE: u32 = 2_000;
/// Descriptors left to edgecase beside the held requests (two each) for everything else.
const FD_SPARE: u64 = 2_000;

/// One timer's accuracy.
#[derive(Clone, Debug)]
pub struct TimerCheck {
    /// `connect`, `read` or `ack`.
    pub timer: &'static str,
    /// Requests sent.
    pub n: usize,
    /// p50, p99 and max of |time-to-error − 1 s| in ms, over the requests answered with the
    /// expected status; `None` when none was.
    pub error_ms: Option<[f64; 3]>,
    /// Requests not answered with the expected status, by how they ended.
    pub others: Vec<(String, usize)>,
}

/// Requests held to the descriptor limit.
#[derive(Clone, Debug)]
pub struct FdCheck {
    /// edgecase's soft descriptor limit.
    pub limit: u64,
    /// Requests held.
    pub n: usize,
    /// Answered 524.
    pub answered_524: usize,
    /// p50, p99 and max of |time − 5 s| in ms over the 524s.
    pub error_ms: Option<[f64; 3]>,
    /// Requests not answered 524, by how they ended.
    pub others: Vec<(String, usize)>,
    /// wrk's rate before the hold, and during it (requests per second).
    pub healthy: Option<(f64, f64)>,
    /// The share of its core edgecase used during the wrk run before, and during the hold.
    pub busy: Option<(f64, f64)>,
}

/// A proxy's CPU time against the wall clock, from [`Busy::start`] to [`Busy::share`].
struct Busy {
    pid: u32,
    cpu: Duration,
    wall: Instant,
}

impl Busy {
    fn start(pid: u32) -> io::Result<Busy> {
        Ok(Busy {
            pid,
            cpu: procfs::tree_cpu(pid)?,
            wall: Instant::now(),
        })
    }

    /// CPU time used since the start ÷ wall time: the share of one core.
    fn share(&self) -> io::Result<f64> {
        let used = procfs::tree_cpu(self.pid)?.saturating_sub(self.cpu);
        Ok(used.as_secs_f64() / self.wall.elapsed().as_secs_f64().max(1e-3))
    }
}

/// Figure 7 on `proxy` (edgecase).
pub async fn timers(bench: &Bench, proxy: &mut Proxy) -> io::Result<Vec<TimerCheck>> {
    let n = bench.options.timer_requests;
    let cases = [
        ("connect", Ask::Get("/blackhole-1s"), 522),
        ("read", Ask::Get("/silent-1s"), 524),
        ("ack", Ask::Post("/ack-1s", ACK_BODY_BYTES), 522),
    ];
    let mut checks = Vec::new();
    for (timer, ask, expect) in cases {
        let times = visitors::timed(proxy.addr, ask, n, Schedule::Spread(SPREAD), GUARD).await;
        bench.keep_times(&format!("edgecase-{timer}-timer"), &times);
        let mut errors = errors_ms(&times, expect, TIMER);
        errors.sort_by(f64::total_cmp);
        let error_ms = spread(&errors);
        let others = others(&times, expect);
        eprintln!(
            "    {timer} timer, {n} in flight: |error| p50 / p99 / max {}{}",
            error_ms.map_or("n/a".to_owned(), |[a, b, c]| format!(
                "{a:.1} / {b:.1} / {c:.1} ms"
            )),
            if others.is_empty() {
                String::new()
            } else {
                format!("; not {expect}: {others:?}")
            }
        );
        checks.push(TimerCheck {
            timer,
            n,
            error_ms,
            others,
        });
        proxy.running()?;
    }
    Ok(checks)
}

/// Figure 8 on `proxy` (edgecase).
pub async fn fd_limit(bench: &Bench, proxy: &mut Proxy) -> io::Result<FdCheck> {
    let limit = procfs::soft_fd_limit(proxy.pid())?;
    let n = (bench.options.fd_held as u64).min(limit.saturating_sub(FD_SPARE) / 2) as usize;
    // The hold lasts the ramp and the timer, plus a little for the last answers; wrk runs as
    // long, in whole seconds.
    let ramp = Duration::from_secs_f64(n as f64 / f64::from(HOLD_RAMP_RATE));
    let seconds = (ramp + HOLD_TIMER + Duration::from_millis(1500)).as_secs();
    let wrk = bench.tools.wrk.as_ref();
    let pid = proxy.pid();
    let mut busy = Vec::new();
    let before = match wrk {
        Some(wrk) => {
            let clock = Busy::start(pid)?;
            let run = tools::wrk(&bench.pinning, wrk, proxy.addr, seconds, false).await?;
            busy.push(clock.share()?);
            Some(run)
        }
        None => None,
    };
    let hold = visitors::timed(
        proxy.addr,
        Ask::Get("/silent-5s"),
        n,
        Schedule::AsConnected(HOLD_RAMP_RATE),
        HOLD_TIMER + GUARD,
    );
    let clock = Busy::start(pid)?;
    let (times, during) = match wrk {
        Some(wrk) => {
            let healthy = tools::wrk(&bench.pinning, wrk, proxy.addr, seconds, false);
            let (times, during) = tokio::join!(hold, healthy);
            (times, Some(during?))
        }
        None => (hold.await, None),
    };
    busy.push(clock.share()?);
    proxy.running()?;
    bench.keep_times("edgecase-fd-limit-hold", &times);
    let mut errors = errors_ms(&times, 524, HOLD_TIMER);
    errors.sort_by(f64::total_cmp);
    let error_ms = spread(&errors);
    let check = FdCheck {
        limit,
        n,
        answered_524: errors.len(),
        error_ms,
        others: others(&times, 524),
        healthy: before.zip(during).map(|(b, d)| (b.rate, d.rate)),
        busy: (busy.len() == 2).then(|| (busy[0], busy[1])),
    };
    eprintln!(
        "    held to the fd limit (soft {limit}): {n} held, {} answered 524, |t - 5 s| p50 / p99 / max \
         {}; healthy {}{}",
        check.answered_524,
        error_ms.map_or("n/a".to_owned(), |[p50, p99, max]| format!(
            "{p50:.1} / {p99:.1} / {max:.1} ms"
        )),
        match (check.healthy, check.busy) {
            (Some((b, d)), Some((cb, cd))) => format!(
                "{d:.0} req/s during (edgecase {:.0}% busy), {b:.0} before ({:.0}%)",
                cd * 100.0,
                cb * 100.0
            ),
            _ => "n/a (no wrk)".to_owned(),
        },
        if check.others.is_empty() {
            String::new()
        } else {
            format!("; not 524: {:?}", check.others)
        }
    );
    Ok(check)
}

/// |time − `timer`| in ms for the requests answered `expect`.
fn errors_ms(times: &[Timed], expect: u16, timer: Duration) -> Vec<f64> {
    times
        .iter()
        .filter(|t| t.ended == Ended::Status(expect))
        .map(|t| (t.after.as_secs_f64() - timer.as_secs_f64()).abs() * 1000.0)
        .collect()
}

/// p50, p99 and max of sorted `errors`.
fn spread(errors: &[f64]) -> Option<[f64; 3]> {
    Some([
        figures::percentile(errors, 0.5)?,
        figures::percentile(errors, 0.99)?,
        *errors.last()?,
    ])
}

/// How the requests not answered `expect` ended.
fn others(times: &[Timed], expect: u16) -> Vec<(String, usize)> {
    figures::tally(times)
        .into_iter()
        .filter(|(status, _)| *status != expect.to_string())
        .collect()
}
