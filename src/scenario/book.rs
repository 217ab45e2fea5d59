//! The book of scenarios: each one's spec, state and the runs of its last start, and the one
//! running. [`super::Scenarios`] keeps it behind one lock; nothing here takes a lock or a
//! clock of its own.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::report::{PhaseReport, RunReport, ScenarioReport, Stamp};
use super::{PhaseLine, ScenarioView};
use crate::config::ScenarioSpec;
use crate::record::tally::{InFlight, ScenarioTag};

/// Every scenario, in the order added, and the one running.
#[derive(Default)]
pub(super) struct Book {
    pub(super) entries: Vec<Entry>,
    pub(super) running: Option<Running>,
    pub(super) next_id: u64,
}

/// One scenario: its spec, its state and the runs of its last start.
pub(super) struct Entry {
    pub(super) spec: Arc<ScenarioSpec>,
    /// From `[[scenario]]` (a reload replaces it), not the control API or the library.
    pub(super) from_config: bool,
    pub(super) state: State,
    pub(super) stopped: bool,
    pub(super) runs: Vec<Run>,
}

/// Where a scenario is: never started, running, or over.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Idle,
    Running,
    Done,
}

/// One run of the phases: its times, its requests in flight, its phases so far.
pub(super) struct Run {
    pub(super) started: SystemTime,
    pub(super) ended: Option<SystemTime>,
    pub(super) in_flight: Arc<InFlight>,
    pub(super) phases: Vec<Phase>,
}

/// One phase of a run: its times and the tag (and counts) of its requests.
pub(super) struct Phase {
    pub(super) started: SystemTime,
    pub(super) ended: Option<SystemTime>,
    pub(super) tag: Arc<ScenarioTag>,
}

/// The scenario running: which one, where it is, and how to stop its clock.
pub(super) struct Running {
    pub(super) id: u64,
    pub(super) name: String,
    pub(super) run: u64,
    pub(super) phase: usize,
    pub(super) phase_ends: Instant,
    /// Dropped to stop the runner.
    pub(super) _stop: oneshot::Sender<()>,
}

impl State {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Running => "running",
            State::Done => "done",
        }
    }
}

impl Book {
    pub(super) fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.spec.name == name)
    }

    pub(super) fn entry_mut(&mut self, name: &str) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.spec.name == name)
    }
}

impl Entry {
    pub(super) fn new(spec: ScenarioSpec, from_config: bool) -> Self {
        Entry {
            spec: Arc::new(spec),
            from_config,
            state: State::Idle,
            stopped: false,
            runs: Vec::new(),
        }
    }

    pub(super) fn view(&self, running: Option<&Running>) -> ScenarioView {
        let running = running.filter(|r| r.name == self.spec.name);
        ScenarioView {
            name: self.spec.name.clone(),
            state: self.state.as_str(),
            start: self.spec.start,
            repeat: self.spec.repeat,
            phases: self
                .spec
                .phases
                .iter()
                .map(|phase| PhaseLine {
                    name: phase.name.clone(),
                    lasting: crate::config::format_duration(phase.lasting),
                })
                .collect(),
            run: running.map(|r| r.run),
            phase: running.and_then(|r| self.spec.phases.get(r.phase).map(|p| p.name.clone())),
            left_ms: running.map(|r| {
                let left = r.phase_ends.saturating_duration_since(Instant::now());
                u64::try_from(left.as_millis()).unwrap_or(u64::MAX)
            }),
        }
    }

    pub(super) fn in_flight(&self) -> u64 {
        self.runs.iter().map(|run| run.in_flight.now()).sum()
    }

    pub(super) fn report(&self) -> ScenarioReport {
        ScenarioReport {
            name: self.spec.name.clone(),
            state: self.state.as_str(),
            stopped: self.stopped,
            runs: self
                .runs
                .iter()
                .zip(1..)
                .map(|(run, number)| RunReport {
                    run: number,
                    started: Stamp(run.started),
                    ended: run.ended.map(Stamp),
                    phases: run
                        .phases
                        .iter()
                        .map(|phase| {
                            PhaseReport::new(
                                &phase.tag.phase,
                                phase.started,
                                phase.ended,
                                phase.tag.tally.snapshot(),
                            )
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}
