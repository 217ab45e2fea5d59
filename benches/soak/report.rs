//! The soak's findings: [`Sample`]s of the edgecase process over time, the table they make,
//! and the [`Check`]s that decide the verdict. Nothing here measures; it only judges.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use crate::probe::Probe;
use crate::tally::{Counts, Outcome, total};

/// RSS may grow by less than this share from the reference sample to the end of the load.
pub const RSS_GROWTH_LIMIT: f64 = 0.10;
/// Open descriptors after the load may exceed the baseline by at most this many.
pub const FD_SLACK: usize = 4;
/// The RSS reference is the first sample at or after this point of the load...
pub const RSS_REFERENCE: Duration = Duration::from_secs(60);

/// When a sample was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before the load started: the baseline.
    Before,
    /// This far into the load.
    Load(Duration),
    /// After the load stopped and this long idle.
    After(Duration),
}

/// One reading of the process, with the outcomes counted so far.
#[derive(Clone, Debug)]
pub struct Sample {
    /// When it was taken.
    pub phase: Phase,
    /// The process's figures.
    pub probe: Probe,
    /// Every outcome so far.
    pub counts: Counts,
}

/// One pass/fail line of the verdict.
#[derive(Clone, Debug)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Whether it held.
    pub passed: bool,
    /// The figures behind it.
    pub detail: String,
}

impl Check {
    /// A check named `name`.
    pub fn new(name: &'static str, passed: bool, detail: String) -> Check {
        Check {
            name,
            passed,
            detail,
        }
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn clock(d: Duration) -> String {
    let secs = d.as_secs();
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// The table: time, RSS, fds, threads, then requests so far by outcome.
pub fn table(samples: &[Sample]) -> String {
    let statuses: BTreeSet<u16> = samples
        .iter()
        .flat_map(|s| s.counts.keys())
        .filter_map(|o| match o {
            Outcome::Answered(status) => Some(*status),
            _ => None,
        })
        .collect();
    let mut header = vec![
        "time".to_owned(),
        "RSS MiB".to_owned(),
        "fds".to_owned(),
        "thr".to_owned(),
        "requests".to_owned(),
    ];
    header.extend(statuses.iter().map(u16::to_string));
    header.extend(
        ["cut", "aborted", "gave up", "no conn", "unanswered"]
            .iter()
            .map(|s| (*s).to_owned()),
    );
    let mut rows = vec![header];
    for sample in samples {
        let count = |o: &Outcome| sample.counts.get(o).copied().unwrap_or(0);
        let cut: u64 = sample
            .counts
            .iter()
            .filter(|(o, _)| matches!(o, Outcome::Cut(_)))
            .map(|(_, n)| n)
            .sum();
        let time = match sample.phase {
            Phase::Before => "start".to_owned(),
            Phase::Load(at) => clock(at),
            Phase::After(idle) => format!("idle {}s", idle.as_secs()),
        };
        let mut row = vec![
            time,
            mib(sample.probe.rss_kib),
            sample.probe.fds.to_string(),
            sample.probe.threads.to_string(),
            total(&sample.counts).to_string(),
        ];
        row.extend(
            statuses
                .iter()
                .map(|s| count(&Outcome::Answered(*s)).to_string()),
        );
        row.push(cut.to_string());
        for outcome in [
            Outcome::Aborted,
            Outcome::GaveUp,
            Outcome::NoConnection,
            Outcome::Unanswered,
        ] {
            row.push(count(&outcome).to_string());
        }
        rows.push(row);
    }
    render(&rows)
}

/// Right-aligned columns (the first left-aligned), as a Markdown table.
fn render(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(String::len)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (index, row) in rows.iter().enumerate() {
        out.push('|');
        for (c, cell) in row.iter().enumerate() {
            let width = widths.get(c).copied().unwrap_or(0);
            if c == 0 {
                let _ = write!(out, " {cell:<width$} |");
            } else {
                let _ = write!(out, " {cell:>width$} |");
            }
        }
        out.push('\n');
        if index == 0 {
            out.push('|');
            for (c, width) in widths.iter().enumerate() {
                if c == 0 {
                    let _ = write!(out, " {} |", "-".repeat(*width));
                } else {
                    let _ = write!(out, " {}: |", "-".repeat(width.saturating_sub(1)));
                }
            }
            out.push('\n');
        }
    }
    out
}

/// Outcomes per route, with what each route answers without faults.
pub fn route_table(by_route: &BTreeMap<&'static str, Counts>, expect: &[(&str, &str)]) -> String {
    let mut rows = vec![vec![
        "route".to_owned(),
        "expected".to_owned(),
        "requests".to_owned(),
        "outcomes".to_owned(),
    ]];
    for (name, expected) in expect {
        let Some(counts) = by_route.get(name) else {
            rows.push(vec![
                (*name).to_owned(),
                (*expected).to_owned(),
                "0".into(),
                String::new(),
            ]);
            continue;
        };
        let mut outcomes: Vec<(&Outcome, &u64)> = counts.iter().collect();
        outcomes.sort_by(|a, b| b.1.cmp(a.1));
        let listed = outcomes
            .iter()
            .map(|(o, n)| format!("{o}: {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push(vec![
            (*name).to_owned(),
            (*expected).to_owned(),
            total(counts).to_string(),
            listed,
        ]);
    }
    render(&rows)
}

/// The RSS reference sample (the first under load at [`RSS_REFERENCE`], or half-way for a
/// run shorter than twice that) and the last sample under load.
pub fn rss_window(samples: &[Sample], duration: Duration) -> Option<(&Sample, &Sample)> {
    let reference_at = RSS_REFERENCE.min(duration / 2);
    let under_load = || samples.iter().filter(|s| matches!(s.phase, Phase::Load(_)));
    let reference =
        under_load().find(|s| matches!(s.phase, Phase::Load(at) if at >= reference_at))?;
    let end = under_load().next_back()?;
    Some((reference, end))
}

/// The RSS check: growth from the reference to the end below [`RSS_GROWTH_LIMIT`].
pub fn rss_check(samples: &[Sample], duration: Duration) -> Check {
    let Some((reference, end)) = rss_window(samples, duration) else {
        return Check::new("RSS flat", false, "no samples under load".to_owned());
    };
    let growth = (end.probe.rss_kib as f64 - reference.probe.rss_kib as f64)
        / reference.probe.rss_kib.max(1) as f64;
    let at = |s: &Sample| match s.phase {
        Phase::Load(at) => clock(at),
        _ => String::new(),
    };
    Check::new(
        "RSS flat",
        growth < RSS_GROWTH_LIMIT,
        format!(
            "{} MiB at {} -> {} MiB at {}: {:+.1}% (limit +{:.0}%); peak {} MiB",
            mib(reference.probe.rss_kib),
            at(reference),
            mib(end.probe.rss_kib),
            at(end),
            growth * 100.0,
            RSS_GROWTH_LIMIT * 100.0,
            mib(end.probe.peak_kib),
        ),
    )
}

/// The descriptor check: back within [`FD_SLACK`] of the baseline once the load stopped.
pub fn fd_check(samples: &[Sample]) -> Check {
    let baseline = samples.iter().find(|s| s.phase == Phase::Before);
    let after = samples
        .iter()
        .rev()
        .find(|s| matches!(s.phase, Phase::After(_)));
    let peak = samples.iter().map(|s| s.probe.fds).max().unwrap_or(0);
    match (baseline, after) {
        (Some(baseline), Some(after)) => Check::new(
            "fds back to baseline",
            after.probe.fds <= baseline.probe.fds + FD_SLACK,
            format!(
                "{} before the load, peak {} in the samples, {} after it (slack {FD_SLACK})",
                baseline.probe.fds, peak, after.probe.fds
            ),
        ),
        _ => Check::new("fds back to baseline", false, "missing samples".to_owned()),
    }
}
