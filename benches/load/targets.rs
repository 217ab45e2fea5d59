//! The targets table: each target of issue 7, edgecase's figure, the nginx or HAProxy figure
//! it is compared to (same run, same pinning), the ratio and whether it is met. Only judging;
//! the figures come summarised from [`crate::report`].

use std::fmt::Write as _;

use crate::checks::{FdCheck, TimerCheck};
use crate::report::{Summary, thousands};

/// CPU per keep-alive request must be at most this share of nginx's.
const KEEP_ALIVE_CPU_SHARE: f64 = 0.8;
/// Each request held to the fd limit is answered within this of its timeout, in ms.
const HOLD_ERROR_MS: f64 = 20.0;
/// Healthy throughput during the hold, as a share of before.
const HEALTHY_SHARE: f64 = 0.90;
/// Timer accuracy: p99 of |error| at most this, in ms.
const TIMER_P99_MS: f64 = 5.0;
/// RSS after release, at most this percentage of idle.
const RSS_AFTER_PCT: f64 = 110.0;

/// Which way a ratio must go.
#[derive(Clone, Copy)]
enum Bound {
    /// edgecase ÷ other at most this.
    AtMost(f64),
    /// edgecase ÷ other at least this.
    AtLeast(f64),
}

/// A figure of a [`Summary`], with its unit.
type Pick = (fn(&Summary) -> Option<f64>, &'static str);

/// The table, as markdown.
pub fn table(
    edge: Option<&Summary>,
    nginx: Option<&Summary>,
    haproxy: Option<&Summary>,
    timers: &[TimerCheck],
    fd: Option<&FdCheck>,
) -> String {
    let mut out =
        "| target | edgecase | compared to | ratio | met |\n|---|---|---|---|---|\n".to_owned();
    let Some(edge) = edge else {
        return out + "| (edgecase not measured) | | | | |\n";
    };
    let mut row = |target: &str, mine: String, theirs: String, ratio: String, met: Option<bool>| {
        let mark = match met {
            Some(true) => "✓",
            Some(false) => "✗",
            None => "–",
        };
        let _ = writeln!(out, "| {target} | {mine} | {theirs} | {ratio} | {mark} |");
    };

    let ka_cpu: Pick = (|s| s.keep_alive_cpu_us, "µs");
    let close_cpu: Pick = (|s| s.close_cpu_us, "µs");
    let rate: Pick = (|s| s.keep_alive_rate, "req/s");
    let p99: Pick = (|s| s.p99_ms, "ms");
    let memory: Pick = (|s| s.held_kib, "KiB");
    let compared = [
        (
            "CPU per keep-alive request ≤ 0.8× nginx",
            ka_cpu,
            ("nginx", nginx),
            Bound::AtMost(KEEP_ALIVE_CPU_SHARE),
        ),
        (
            "CPU per request, new connection per request ≤ nginx",
            close_cpu,
            ("nginx", nginx),
            Bound::AtMost(1.0),
        ),
        (
            "keep-alive throughput ≥ nginx",
            rate,
            ("nginx", nginx),
            Bound::AtLeast(1.0),
        ),
        (
            "p99 latency at 10 k req/s ≤ nginx",
            p99,
            ("nginx", nginx),
            Bound::AtMost(1.0),
        ),
        (
            "p99 latency at 10 k req/s ≤ HAProxy",
            p99,
            ("HAProxy", haproxy),
            Bound::AtMost(1.0),
        ),
        (
            "memory per held request ≤ nginx",
            memory,
            ("nginx", nginx),
            Bound::AtMost(1.0),
        ),
        (
            "memory per held request ≤ HAProxy (aim)",
            memory,
            ("HAProxy", haproxy),
            Bound::AtMost(1.0),
        ),
    ];
    for (target, (pick, unit), (name, other), bound) in compared {
        let show = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| number(v, unit));
        let mine = pick(edge);
        let theirs = other.and_then(pick);
        let ratio = mine.zip(theirs).map(|(m, t)| m / t);
        let met = ratio.map(|r| match bound {
            Bound::AtMost(limit) => r <= limit,
            Bound::AtLeast(limit) => r >= limit,
        });
        let theirs_text = match other {
            Some(_) => format!("{name} {}", show(theirs)),
            None => format!("{name} not measured"),
        };
        let ratio_text = ratio.map_or("n/a".to_owned(), |r| format!("{r:.2}"));
        row(target, show(mine), theirs_text, ratio_text, met);
    }

    if let Some(fd) = fd {
        let within = fd.error_ms.is_some_and(|[_, _, max]| max <= HOLD_ERROR_MS);
        let others = if fd.others.is_empty() {
            String::new()
        } else {
            format!(", others {:?}", fd.others)
        };
        row(
            "requests held to the fd limit, every one 524 within 20 ms of its 5 s timeout",
            format!(
                "{} held (edgecase's soft fd limit {}), {} × 524, \\|t − 5 s\\| p50 / p99 / max \
                 {}{others}",
                thousands(fd.n as f64),
                fd.limit,
                thousands(fd.answered_524 as f64),
                fd.error_ms.map_or("n/a".to_owned(), |[p50, p99, max]| {
                    format!("{p50:.1} / {p99:.1} / {max:.1} ms")
                }),
            ),
            "—".to_owned(),
            "—".to_owned(),
            Some(fd.answered_524 == fd.n && within),
        );
        let share = fd.healthy.map(|(before, during)| during / before);
        row(
            "healthy keep-alive throughput during that hold ≥ 0.90 of just before",
            match (fd.healthy, fd.busy) {
                (Some((before, during)), Some((busy_before, busy_during))) => format!(
                    "{} req/s, edgecase's core {:.0}% busy (before: {} req/s, {:.0}%)",
                    thousands(during),
                    busy_during * 100.0,
                    thousands(before),
                    busy_before * 100.0
                ),
                _ => "n/a (no wrk)".to_owned(),
            },
            "—".to_owned(),
            share.map_or("n/a".to_owned(), |s| format!("{s:.3}")),
            share.map(|s| s >= HEALTHY_SHARE),
        );
    }
    row(
        "an abandoned request closes its origin request (as nginx does)",
        edge.abandoned(),
        format!(
            "nginx {}",
            nginx.map_or("not measured".to_owned(), Summary::abandoned)
        ),
        "—".to_owned(),
        edge.released.map(|(closed, rounds, _)| closed == rounds),
    );
    for timer in timers {
        let others = if timer.others.is_empty() {
            String::new()
        } else {
            format!(", others {:?}", timer.others)
        };
        row(
            &format!(
                "{} timer: p99 \\|time-to-error − 1 s\\| ≤ 5 ms, {} in flight",
                timer.timer,
                thousands(timer.n as f64)
            ),
            timer.error_ms.map_or("n/a".to_owned(), |[p50, p99, max]| {
                format!("p50 {p50:.1} / p99 {p99:.1} / max {max:.1} ms")
            }) + &others,
            "—".to_owned(),
            "—".to_owned(),
            Some(
                timer
                    .error_ms
                    .is_some_and(|[_, p99, _]| p99 <= TIMER_P99_MS)
                    && others.is_empty(),
            ),
        );
    }
    let pct = |s: &Summary| {
        s.after_pct
            .map_or("n/a".to_owned(), |p| format!("{p:.0}% of idle"))
    };
    row(
        "RSS back within 10% of idle after the held requests are released",
        pct(edge),
        format!("nginx {}", nginx.map_or("not measured".to_owned(), pct)),
        "—".to_owned(),
        edge.after_pct.map(|p| p <= RSS_AFTER_PCT),
    );
    out
}

/// `value` with `unit`, with as many decimals as the unit wants.
fn number(value: f64, unit: &str) -> String {
    match unit {
        "req/s" => format!("{} req/s", thousands(value)),
        "ms" => format!("{value:.3} ms"),
        _ => format!("{value:.1} {unit}"),
    }
}
