//! The targets table: each target of issue 7, as issue 19 set them anew where it did (CPU and
//! throughput beside nginx, memory per held request, RSS after release), edgecase's figure, the nginx or HAProxy figure
//! it is compared to (same run, same pinning), the ratio and whether it is met. Only judging;
//! the figures come summarised from [`crate::report`].

use std::fmt::Write as _;

use crate::checks::{FdCheck, TimerCheck};
use crate::report::{Summary, thousands};

/// CPU per keep-alive request must be at most this share of nginx's (issue 19).
const KEEP_ALIVE_CPU_SHARE: f64 = 1.25;
/// Keep-alive throughput must be at least this share of nginx's (issue 19).
const KEEP_ALIVE_RATE_SHARE: f64 = 0.9;
/// Memory per held request at most this, in KiB (issue 19: hyper's visitor side alone is
/// about 16).
const HELD_KIB: f64 = 18.0;
/// Each request held to the fd limit is answered within this of its timeout, in ms.
const HOLD_ERROR_MS: f64 = 20.0;
/// Healthy throughput during the hold, as a share of before.
const HEALTHY_SHARE: f64 = 0.90;
/// Timer accuracy: p99 of |error| at most this, in ms.
const TIMER_P99_MS: f64 = 5.0;
/// RSS after release, at most this percentage of idle (issue 19).
const RSS_AFTER_PCT: f64 = 120.0;

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

/// Figure 1, CPU per keep-alive request.
const KEEP_ALIVE_CPU: Pick = (|s| s.keep_alive_cpu_us, "µs");
/// Figure 4, CPU per request with a new connection each.
const CLOSE_CPU: Pick = (|s| s.close_cpu_us, "µs");
/// Keep-alive throughput.
const RATE: Pick = (|s| s.keep_alive_rate, "req/s");
/// Figure 3's p99 latency.
const P99: Pick = (|s| s.p99_ms, "ms");
/// Figure 5, memory per held request.
const MEMORY: Pick = (|s| s.held_kib, "KiB");

/// The proxy a target compares edgecase to.
#[derive(Clone, Copy)]
enum Versus {
    /// nginx.
    Nginx,
    /// HAProxy.
    Haproxy,
}

/// A target met by the ratio of one of edgecase's figures to the same figure of another
/// proxy: the target, the figure, the proxy, and the bound on the ratio.
type Comparison = (&'static str, Pick, Versus, Bound);

/// The targets judged by comparison, in table order.
const COMPARISONS: [Comparison; 7] = [
    (
        "CPU per keep-alive request ≤ 1.25× nginx",
        KEEP_ALIVE_CPU,
        Versus::Nginx,
        Bound::AtMost(KEEP_ALIVE_CPU_SHARE),
    ),
    (
        "CPU per request, new connection per request ≤ nginx",
        CLOSE_CPU,
        Versus::Nginx,
        Bound::AtMost(1.0),
    ),
    (
        "keep-alive throughput ≥ 0.9× nginx",
        RATE,
        Versus::Nginx,
        Bound::AtLeast(KEEP_ALIVE_RATE_SHARE),
    ),
    (
        "p99 latency at 10 k req/s ≤ nginx",
        P99,
        Versus::Nginx,
        Bound::AtMost(1.0),
    ),
    (
        "p99 latency at 10 k req/s ≤ HAProxy",
        P99,
        Versus::Haproxy,
        Bound::AtMost(1.0),
    ),
    (
        "memory per held request ≤ nginx",
        MEMORY,
        Versus::Nginx,
        Bound::AtMost(1.0),
    ),
    (
        "memory per held request ≤ HAProxy (aim)",
        MEMORY,
        Versus::Haproxy,
        Bound::AtMost(1.0),
    ),
];

/// One row of the table: the target, edgecase's figure, the figure it is compared to, the
/// ratio, and whether the target is met (`None`: it could not be judged).
struct Row {
    /// The target.
    target: String,
    /// edgecase's figure.
    mine: String,
    /// What it is compared to.
    theirs: String,
    /// edgecase's over theirs.
    ratio: String,
    /// Whether the target is met.
    met: Option<bool>,
}

impl Row {
    /// A row with no comparison: "—" for the figure compared to and the ratio.
    fn alone(target: String, mine: String, met: Option<bool>) -> Row {
        Row {
            target,
            mine,
            theirs: "—".to_owned(),
            ratio: "—".to_owned(),
            met,
        }
    }

    /// The row as one markdown line, with ✓, ✗ or – for met.
    fn markdown(&self) -> String {
        let mark = match self.met {
            Some(true) => "✓",
            Some(false) => "✗",
            None => "–",
        };
        let Row {
            target,
            mine,
            theirs,
            ratio,
            ..
        } = self;
        format!("| {target} | {mine} | {theirs} | {ratio} | {mark} |")
    }
}

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
    let mut rows: Vec<Row> = COMPARISONS
        .iter()
        .map(|comparison| {
            let other = match comparison.2 {
                Versus::Nginx => nginx,
                Versus::Haproxy => haproxy,
            };
            compared_row(comparison, edge, other)
        })
        .collect();
    if let Some(fd) = fd {
        rows.extend([fd_hold_row(fd), fd_healthy_row(fd)]);
    }
    rows.push(held_row(edge));
    rows.push(abandoned_row(edge, nginx));
    rows.extend(timers.iter().map(timer_row));
    rows.push(rss_row(edge, nginx));
    for row in rows {
        let _ = writeln!(out, "{}", row.markdown());
    }
    out
}

/// The row of one comparison: edgecase's figure, `other`'s (the proxy compared to, `None`
/// when it was not measured), the ratio and whether it is within the bound.
fn compared_row(
    (target, (pick, unit), versus, bound): &Comparison,
    edge: &Summary,
    other: Option<&Summary>,
) -> Row {
    let name = match versus {
        Versus::Nginx => "nginx",
        Versus::Haproxy => "HAProxy",
    };
    let show = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| number(v, unit));
    let mine = pick(edge);
    let theirs = other.and_then(pick);
    let ratio = mine.zip(theirs).map(|(m, t)| m / t);
    let met = ratio.map(|r| match bound {
        Bound::AtMost(limit) => r <= *limit,
        Bound::AtLeast(limit) => r >= *limit,
    });
    Row {
        target: (*target).to_owned(),
        mine: show(mine),
        theirs: match other {
            Some(_) => format!("{name} {}", show(theirs)),
            None => format!("{name} not measured"),
        },
        ratio: ratio.map_or("n/a".to_owned(), |r| format!("{r:.2}")),
        met,
    }
}

/// ", others [...]" when `others` holds answers besides the expected one, else nothing.
fn others_text(others: &[(String, usize)]) -> String {
    if others.is_empty() {
        String::new()
    } else {
        format!(", others {others:?}")
    }
}

/// Requests held to the fd limit: every one a 524 within [`HOLD_ERROR_MS`] of its timeout.
fn fd_hold_row(fd: &FdCheck) -> Row {
    let within = fd.error_ms.is_some_and(|[_, _, max]| max <= HOLD_ERROR_MS);
    let others = others_text(&fd.others);
    Row::alone(
        "requests held to the fd limit, every one 524 within 20 ms of its 5 s timeout".to_owned(),
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
        Some(fd.answered_524 == fd.n && within),
    )
}

/// Healthy keep-alive throughput during the fd hold, as a share of just before.
fn fd_healthy_row(fd: &FdCheck) -> Row {
    let share = fd.healthy.map(|(before, during)| during / before);
    Row {
        target: "healthy keep-alive throughput during that hold ≥ 0.90 of just before".to_owned(),
        mine: match (fd.healthy, fd.busy) {
            (Some((before, during)), Some((busy_before, busy_during))) => format!(
                "{} req/s, edgecase's core {:.0}% busy (before: {} req/s, {:.0}%)",
                thousands(during),
                busy_during * 100.0,
                thousands(before),
                busy_before * 100.0
            ),
            _ => "n/a (no wrk)".to_owned(),
        },
        theirs: "—".to_owned(),
        ratio: share.map_or("n/a".to_owned(), |s| format!("{s:.3}")),
        met: share.map(|s| s >= HEALTHY_SHARE),
    }
}

/// Memory per held request within [`HELD_KIB`].
fn held_row(edge: &Summary) -> Row {
    Row::alone(
        "memory per held request ≤ 18 KiB".to_owned(),
        edge.held_kib
            .map_or("n/a".to_owned(), |kib| number(kib, "KiB")),
        edge.held_kib.map(|kib| kib <= HELD_KIB),
    )
}

/// An abandoned request closes its origin request, beside nginx's figure.
fn abandoned_row(edge: &Summary, nginx: Option<&Summary>) -> Row {
    Row {
        target: "an abandoned request closes its origin request (as nginx does)".to_owned(),
        mine: edge.abandoned(),
        theirs: format!(
            "nginx {}",
            nginx.map_or("not measured".to_owned(), Summary::abandoned)
        ),
        ratio: "—".to_owned(),
        met: edge.released.map(|(closed, rounds, _)| closed == rounds),
    }
}

/// One timer's accuracy: p99 of |time-to-error − 1 s| within [`TIMER_P99_MS`], no other
/// answers.
fn timer_row(timer: &TimerCheck) -> Row {
    let others = others_text(&timer.others);
    Row::alone(
        format!(
            "{} timer: p99 \\|time-to-error − 1 s\\| ≤ 5 ms, {} in flight",
            timer.timer,
            thousands(timer.n as f64)
        ),
        timer.error_ms.map_or("n/a".to_owned(), |[p50, p99, max]| {
            format!("p50 {p50:.1} / p99 {p99:.1} / max {max:.1} ms")
        }) + &others,
        Some(
            timer
                .error_ms
                .is_some_and(|[_, p99, _]| p99 <= TIMER_P99_MS)
                && others.is_empty(),
        ),
    )
}

/// RSS back near idle after the held requests are released, beside nginx's figure.
fn rss_row(edge: &Summary, nginx: Option<&Summary>) -> Row {
    let pct = |s: &Summary| {
        s.after_pct
            .map_or("n/a".to_owned(), |p| format!("{p:.0}% of idle"))
    };
    Row {
        target: "RSS after the held requests are released ≤ 120% of idle".to_owned(),
        mine: pct(edge),
        theirs: format!("nginx {}", nginx.map_or("not measured".to_owned(), pct)),
        ratio: "—".to_owned(),
        met: edge.after_pct.map(|p| p <= RSS_AFTER_PCT),
    }
}

/// `value` with `unit`, with as many decimals as the unit wants.
fn number(value: f64, unit: &str) -> String {
    match unit {
        "req/s" => format!("{} req/s", thousands(value)),
        "ms" => format!("{value:.3} ms"),
        _ => format!("{value:.1} {unit}"),
    }
}
