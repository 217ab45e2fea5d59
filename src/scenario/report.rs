//! What a scenario's runs served, phase by phase: [`ScenarioReport`], as `GET /scenarios/{name}`
//! answers it in JSON, `--report FILE` writes it, and [`ScenarioReport::table`] prints it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use serde::{Serialize, Serializer};

use crate::base::time::Rfc3339Millis;
use crate::record::tally::TallySnapshot;

/// A wall-clock instant, written as RFC 3339 with milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp(pub SystemTime);

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&Rfc3339Millis(self.0))
    }
}

/// A scenario's report: its state and every run since it was last started.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: String,
    /// `idle` (never started), `running` or `done`.
    pub state: &'static str,
    /// Whether the last start was stopped before its phases were over.
    pub stopped: bool,
    /// The runs of the last start, in order (one per `repeat`).
    pub runs: Vec<RunReport>,
}

/// One run of the phases.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunReport {
    /// 1, 2, ...
    pub run: u64,
    /// When its first phase started.
    pub started: Stamp,
    /// When its last phase ended; `None` while it runs.
    pub ended: Option<Stamp>,
    /// Its phases so far.
    pub phases: Vec<PhaseReport>,
}

/// One phase of a run: what the requests that arrived in it got.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhaseReport {
    /// The phase's name.
    pub name: String,
    /// When it started.
    pub started: Stamp,
    /// When it ended; `None` while it runs.
    pub ended: Option<Stamp>,
    /// Requests that arrived in it and have finished.
    pub requests: u64,
    /// Those requests by status: `{"200": n, "524": n}`.
    pub statuses: BTreeMap<String, u64>,
    /// Those requests by cause (`read_timeout`, `visitor_gone`...).
    pub causes: BTreeMap<String, u64>,
    /// Their total time, arrival to the end of the response, in milliseconds.
    pub time_ms: TimeMs,
    /// The most requests of the run in flight at once while it ran.
    pub max_in_flight: u64,
    /// Response body bytes sent.
    pub bytes: u64,
    /// Requests by the second of the run they arrived in (0 = the run's first), then by
    /// status: what the report page charts.
    pub per_second: Vec<Second>,
}

/// Percentiles of total time, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct TimeMs {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Longest.
    pub max: f64,
}

/// One second of a run: how many requests of a phase arrived in it, by status.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Second {
    /// Seconds since the run started.
    pub second: u64,
    /// Requests by status.
    pub statuses: BTreeMap<String, u64>,
}

impl PhaseReport {
    /// The report of a phase named `name`, from its counts.
    pub fn new(
        name: &str,
        started: SystemTime,
        ended: Option<SystemTime>,
        seen: TallySnapshot,
    ) -> Self {
        let by_status = |counts: &BTreeMap<u16, u64>| {
            counts
                .iter()
                .map(|(status, n)| (status.to_string(), *n))
                .collect::<BTreeMap<_, _>>()
        };
        PhaseReport {
            name: name.to_owned(),
            started: Stamp(started),
            ended: ended.map(Stamp),
            requests: seen.requests,
            statuses: by_status(&seen.statuses),
            causes: seen
                .causes
                .iter()
                .map(|(cause, n)| ((*cause).to_owned(), *n))
                .collect(),
            time_ms: TimeMs {
                p50: ms(seen.time.p50),
                p95: ms(seen.time.p95),
                p99: ms(seen.time.p99),
                max: ms(seen.time.max),
            },
            max_in_flight: seen.max_in_flight,
            bytes: seen.bytes,
            per_second: seen
                .per_second
                .iter()
                .map(|(second, counts)| Second {
                    second: *second,
                    statuses: by_status(counts),
                })
                .collect(),
        }
    }

    /// How long it lasted (so far, when `now` is given for a running phase).
    pub fn length(&self, now: SystemTime) -> Duration {
        let end = self.ended.map_or(now, |e| e.0);
        end.duration_since(self.started.0).unwrap_or_default()
    }
}

/// Milliseconds to a tenth.
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

impl ScenarioReport {
    /// The report as a text table, one line per phase, as `--exit-after-scenario` prints it.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let runs = match self.runs.len() {
            1 => "1 run".to_owned(),
            n => format!("{n} runs"),
        };
        let stopped = if self.stopped { ", stopped" } else { "" };
        let _ = writeln!(
            out,
            "scenario {:?}: {}{stopped}, {runs}",
            self.name, self.state
        );
        let now = SystemTime::now();
        for run in &self.runs {
            let ended = run
                .ended
                .map_or_else(|| "running".to_owned(), |e| Rfc3339Millis(e.0).to_string());
            let _ = writeln!(
                out,
                "run {}: {} to {ended}",
                run.run,
                Rfc3339Millis(run.started.0)
            );
            let _ = writeln!(
                out,
                "  {:<14} {:>8} {:>9} {:>8} {:>8} {:>8} {:>9} {:>5} {:>11}  statuses; causes",
                "phase",
                "for_s",
                "requests",
                "p50_ms",
                "p95_ms",
                "p99_ms",
                "max_ms",
                "held",
                "bytes"
            );
            for phase in &run.phases {
                let statuses: Vec<String> = phase
                    .statuses
                    .iter()
                    .map(|(status, n)| format!("{status}:{n}"))
                    .collect();
                let causes: Vec<String> = phase
                    .causes
                    .iter()
                    .map(|(cause, n)| format!("{cause}:{n}"))
                    .collect();
                let t = phase.time_ms;
                let _ = writeln!(
                    out,
                    "  {:<14} {:>8.3} {:>9} {:>8.1} {:>8.1} {:>8.1} {:>9.1} {:>5} {:>11}  {}{}{}",
                    phase.name,
                    phase.length(now).as_secs_f64(),
                    phase.requests,
                    t.p50,
                    t.p95,
                    t.p99,
                    t.max,
                    phase.max_in_flight,
                    phase.bytes,
                    if statuses.is_empty() {
                        "-".to_owned()
                    } else {
                        statuses.join(" ")
                    },
                    if causes.is_empty() { "" } else { "; " },
                    causes.join(" "),
                );
            }
        }
        out
    }
}
