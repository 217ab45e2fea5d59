//! The benchmark's findings as markdown: each column's rounds reduced to medians
//! ([`Summary`]), the comparison table (the rows, one column per proxy plus
//! "direct"), then the targets table ([`crate::targets`]). Nothing here measures.

use std::fmt::Write as _;

use crate::checks::{FdCheck, TimerCheck};
use crate::figures::{FOREIGN_WARNING, Figures, Held, RELEASE_WAIT};
use crate::proxies::Kind;
use crate::targets;

/// Everything measured in one run.
#[derive(Debug, Default)]
pub struct Results {
    /// Figures straight to the origin, one per round.
    pub direct: Vec<Figures>,
    /// Each proxy asked for, with its figures per round (empty when skipped).
    pub proxies: Vec<(Kind, Vec<Figures>)>,
    /// Why a proxy or tool was left out.
    pub skipped: Vec<String>,
    /// Requests held for figure 5.
    pub held: usize,
    /// Figure 7, when edgecase was measured.
    pub timers: Vec<TimerCheck>,
    /// Figure 8, when edgecase was measured.
    pub fd: Option<FdCheck>,
    /// Whether oha was there.
    pub oha: bool,
    /// Whether wrk was there.
    pub wrk: bool,
}

/// One column's figures, the median over its rounds; `None` where not measured.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Figure 1, µs.
    pub keep_alive_cpu_us: Option<f64>,
    /// Keep-alive requests per second.
    pub keep_alive_rate: Option<f64>,
    /// Figure 2: the median of each round's rate over that round's direct rate.
    pub keep_alive_ratio: Option<f64>,
    /// Figure 3, ms.
    pub p50_ms: Option<f64>,
    /// Figure 3, ms.
    pub p99_ms: Option<f64>,
    /// Figure 4, µs.
    pub close_cpu_us: Option<f64>,
    /// New-connection requests per second.
    pub close_rate: Option<f64>,
    /// Whether some round's proxy kept the connection open despite `connection: close`.
    pub kept_open: bool,
    /// Figure 5, KiB.
    pub held_kib: Option<f64>,
    /// A round where fewer requests reached the origin than were held: (reached, asked).
    pub short: Option<(u64, usize)>,
    /// Figure 6: median and max time-to-error, s.
    pub read_timeout_s: Option<(f64, f64)>,
    /// Figure 6: answers other than the timeout's status, over all rounds.
    pub read_timeout_wrong: usize,
    /// Rounds whose abandoned origin requests all closed, rounds measured, and the median
    /// time they took in ms.
    pub released: Option<(usize, usize, Option<f64>)>,
    /// RSS after release, % of idle.
    pub after_pct: Option<f64>,
    /// The most CPU other processes used during one of the column's runs, in cores.
    pub foreign_cores: Option<f64>,
}

impl Summary {
    /// The medians over `rounds`; `direct` gives each round's reference rate.
    pub fn of(rounds: &[Figures], direct: &[Figures]) -> Summary {
        let pick = |f: &dyn Fn(&Figures) -> Option<f64>| median(rounds.iter().filter_map(f));
        let held: Vec<Held> = rounds.iter().filter_map(|f| f.held).collect();
        let closed: Vec<f64> = held
            .iter()
            .filter_map(|h| Some(h.released_in?.as_secs_f64() * 1000.0))
            .collect();
        let read: Vec<_> = rounds.iter().filter_map(|f| f.read_timeout).collect();
        Summary {
            keep_alive_cpu_us: pick(&|f| f.keep_alive_cpu_us),
            keep_alive_rate: pick(&|f| Some(f.keep_alive?.rate)),
            keep_alive_ratio: median(
                rounds
                    .iter()
                    .zip(direct)
                    .filter_map(|(f, d)| Some(f.keep_alive?.rate / d.keep_alive?.rate)),
            ),
            p50_ms: pick(&|f| Some(f.latency?.p50_ms)),
            p99_ms: pick(&|f| Some(f.latency?.p99_ms)),
            close_cpu_us: pick(&|f| f.close_cpu_us),
            close_rate: pick(&|f| Some(f.close?.rate)),
            kept_open: rounds.iter().any(|f| f.closes == Some(false)),
            held_kib: median(held.iter().filter_map(Held::per_request_kib)),
            short: held
                .iter()
                .find(|h| h.reached < h.asked as u64)
                .map(|h| (h.reached, h.asked)),
            read_timeout_s: median(read.iter().map(|a| a.median_s))
                .zip(median(read.iter().map(|a| a.max_s))),
            read_timeout_wrong: read.iter().map(|a| a.wrong).sum(),
            released: (!held.is_empty())
                .then(|| (closed.len(), held.len(), median(closed.into_iter()))),
            after_pct: median(held.iter().map(Held::after_pct)),
            foreign_cores: rounds
                .iter()
                .filter_map(|f| f.foreign_cores)
                .max_by(f64::total_cmp),
        }
    }

    /// "yes, 12 ms" when every round's abandoned origin requests closed, else "no (...)".
    pub fn abandoned(&self) -> String {
        match self.released {
            Some((all, rounds, ms)) if all == rounds => {
                format!("yes, {:.0} ms", ms.unwrap_or(0.0))
            }
            Some((closed, rounds, _)) => format!(
                "no ({} of {rounds} rounds still open after {RELEASE_WAIT:?})",
                rounds - closed
            ),
            None => "n/a".to_owned(),
        }
    }
}

/// The comparison table, the targets table and the notes, as markdown.
pub fn render(results: &Results) -> String {
    let direct = Summary::of(&results.direct, &results.direct);
    let columns = columns(results);
    let mut out = comparison_table(&columns, &rows(results, &direct));
    let _ = writeln!(out, "\n{}", targets_table(&columns, results));
    if !results.skipped.is_empty() {
        let _ = writeln!(out, "Skipped:");
        for why in &results.skipped {
            let _ = writeln!(out, "- {why}");
        }
    }
    out
}

/// One proxy column of the comparison table: its summary, `None` when it was skipped.
type Column = (Kind, Option<Summary>);

/// How a proxy column's cell reads its summary.
type Cell = Box<dyn Fn(&Summary) -> String>;

/// One row of the comparison table: the figure, the direct column, and the proxies' cell.
type Row = (String, String, Cell);

/// What a cell says for a figure its tool was not there to measure.
#[derive(Clone, Copy)]
struct NotMeasured {
    /// For a wrk figure.
    wrk: &'static str,
    /// For an oha figure.
    oha: &'static str,
}

impl NotMeasured {
    /// Plain "n/a" for a tool that was there, else why not.
    fn of(results: &Results) -> NotMeasured {
        NotMeasured {
            wrk: if results.wrk { "n/a" } else { "n/a (no wrk)" },
            oha: if results.oha {
                "n/a"
            } else {
                "n/a (cargo install oha)"
            },
        }
    }
}

/// Each proxy asked for, with the summary of its rounds (none when it was skipped).
fn columns(results: &Results) -> Vec<Column> {
    results
        .proxies
        .iter()
        .map(|(kind, rounds)| {
            (
                *kind,
                (!rounds.is_empty()).then(|| Summary::of(rounds, &results.direct)),
            )
        })
        .collect()
}

/// The comparison table's rows, figures 1-6 and the foreign-CPU warning; `direct` is the
/// direct column's summary.
fn rows(results: &Results, direct: &Summary) -> Vec<Row> {
    let na = NotMeasured::of(results);
    let dash = "—".to_owned();
    vec![
        (
            "proxy CPU per keep-alive request (64 connections, wrk)".to_owned(),
            dash.clone(),
            Box::new(move |s| keep_alive_cpu(s, na)),
        ),
        (
            "keep-alive throughput as a ratio of direct-to-origin".to_owned(),
            rate(direct.keep_alive_rate).map_or(na.wrk.to_owned(), |r| format!("1 ({r})")),
            Box::new(move |s| keep_alive_ratio(s, na)),
        ),
        (
            "p50 / p99 latency at a fixed 10 k req/s (oha, latency-corrected)".to_owned(),
            latency(direct, na),
            Box::new(move |s| latency(s, na)),
        ),
        (
            "proxy CPU per request, new connection per request".to_owned(),
            rate(direct.close_rate).map_or(na.wrk.to_owned(), |r| format!("— ({r})")),
            Box::new(move |s| close_cpu(s, na)),
        ),
        (
            format!(
                "memory per held request ({} requests held on a silent origin, RSS delta)",
                thousands(results.held as f64)
            ),
            dash.clone(),
            Box::new(held_memory),
        ),
        (
            "read-timeout accuracy (200 concurrent, 1 s timeout): median / max time-to-error"
                .to_owned(),
            dash.clone(),
            Box::new(read_timeout),
        ),
        (
            format!("abandoned requests close the origin request (within {RELEASE_WAIT:?}; time)"),
            dash.clone(),
            Box::new(Summary::abandoned),
        ),
        (
            "RSS after the held requests are released, % of idle".to_owned(),
            dash,
            Box::new(after_release),
        ),
        (
            "other processes' CPU during a wrk/oha run, worst run (cores; above 0.05 moves \
             the figures)"
                .to_owned(),
            foreign(direct),
            Box::new(foreign),
        ),
    ]
}

/// A rate, "45,123 req/s".
fn rate(rate: Option<f64>) -> Option<String> {
    rate.map(|r| format!("{} req/s", thousands(r)))
}

/// Figure 1: CPU per keep-alive request.
fn keep_alive_cpu(s: &Summary, na: NotMeasured) -> String {
    s.keep_alive_cpu_us
        .map_or(na.wrk.to_owned(), |us| format!("{us:.1} µs"))
}

/// Figure 2: keep-alive throughput over direct's, with the rate.
fn keep_alive_ratio(s: &Summary, na: NotMeasured) -> String {
    match (s.keep_alive_ratio, rate(s.keep_alive_rate)) {
        (Some(ratio), Some(r)) => format!("{ratio:.3} ({r})"),
        _ => na.wrk.to_owned(),
    }
}

/// Figure 3: p50 / p99 latency.
fn latency(s: &Summary, na: NotMeasured) -> String {
    s.p50_ms
        .zip(s.p99_ms)
        .map_or(na.oha.to_owned(), |(p50, p99)| {
            format!("{p50:.3} / {p99:.3} ms")
        })
}

/// Figure 4: CPU per request with a new connection each, the rate, and a warning when the
/// proxy kept connections open.
fn close_cpu(s: &Summary, na: NotMeasured) -> String {
    match (s.close_cpu_us, rate(s.close_rate)) {
        (Some(us), Some(r)) => format!(
            "{us:.1} µs ({r}){}",
            if s.kept_open {
                " ⚠ kept connections open"
            } else {
                ""
            }
        ),
        _ => na.wrk.to_owned(),
    }
}

/// Figure 5: memory per held request, and how many fell short of the origin.
fn held_memory(s: &Summary) -> String {
    match (s.held_kib, s.short) {
        (Some(kib), None) => format!("{kib:.1} KiB"),
        (Some(kib), Some((reached, asked))) => {
            format!("{kib:.1} KiB (only {reached} of {asked} reached the origin)")
        }
        (None, _) => "n/a".to_owned(),
    }
}

/// Figure 6: median / max time-to-error, and the other answers.
fn read_timeout(s: &Summary) -> String {
    match s.read_timeout_s {
        Some((median, max)) if s.read_timeout_wrong > 0 => format!(
            "{median:.3} / {max:.3} s ({} other answers)",
            s.read_timeout_wrong
        ),
        Some((median, max)) => format!("{median:.3} / {max:.3} s"),
        None => "n/a".to_owned(),
    }
}

/// RSS after the held requests are released, % of idle.
fn after_release(s: &Summary) -> String {
    s.after_pct.map_or("n/a".to_owned(), |p| format!("{p:.0}%"))
}

/// The comparison table: one line per row, one cell per column ("skipped" for a skipped
/// proxy).
fn comparison_table(columns: &[Column], rows: &[Row]) -> String {
    let mut out = String::from("| figure | direct |");
    for (kind, _) in columns {
        out += &format!(" {} |", kind.title());
    }
    out += &format!("\n|---|---|{}\n", "---|".repeat(columns.len()));
    for (name, direct_cell, cell) in rows {
        let _ = write!(out, "| {name} | {direct_cell} |");
        for (_, summary) in columns {
            let text = summary.as_ref().map_or("skipped".to_owned(), cell);
            let _ = write!(out, " {text} |");
        }
        out.push('\n');
    }
    out
}

/// The targets table, from edgecase's, nginx's and HAProxy's columns and edgecase's checks.
fn targets_table(columns: &[Column], results: &Results) -> String {
    let summary = |kind: Kind| {
        columns
            .iter()
            .find(|(k, _)| *k == kind)
            .and_then(|(_, s)| s.clone())
    };
    targets::table(
        summary(Kind::Edgecase).as_ref(),
        summary(Kind::Nginx).as_ref(),
        summary(Kind::Haproxy).as_ref(),
        &results.timers,
        results.fd.as_ref(),
    )
}

/// The worst share of other processes' CPU, flagged when it matters.
fn foreign(summary: &Summary) -> String {
    match summary.foreign_cores {
        Some(cores) if cores > FOREIGN_WARNING => format!("{cores:.2} ⚠"),
        Some(cores) => format!("{cores:.2}"),
        None => "n/a".to_owned(),
    }
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut all: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    if all.is_empty() {
        return None;
    }
    all.sort_by(f64::total_cmp);
    let mid = all.len() / 2;
    Some(if all.len().is_multiple_of(2) {
        (all[mid - 1] + all[mid]) / 2.0
    } else {
        all[mid]
    })
}

/// A whole number with thousands separators: 45123.4 -> "45,123".
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
