//! Scenarios: an incident written as phases on a clock ([`crate::config::ScenarioSpec`]).
//! [`Scenarios`] holds every scenario an edge knows (from `[[scenario]]`, `POST /scenarios`
//! or the library), runs one at a time on a tokio task ([`runner`]), and keeps the report of
//! each one's last start ([`report`]).
//!
//! While a phase runs, its fault rules come before every other rule: a request takes the
//! phase in force when it arrives ([`Scenarios::current`]) and decides its fault against it
//! once, so a request held across a boundary keeps its phase's decision and is counted in that
//! phase's report. Each phase's `percent` rolls draw from an RNG of its own, seeded from
//! `[emulation] seed`, the scenario's name, the run and the phase, so the same seed gives the
//! same rolls in every phase, whatever else the edge served meanwhile.

mod book;
pub mod page;
pub mod report;
mod runner;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use crate::analytics::PhaseBand;
use crate::config::{ScenarioSpec, ScenarioStart};
use crate::emulation::FaultRules;
use crate::record::tally::{InFlight, PhaseTally, ScenarioTag};
use book::{Book, Entry, Phase, Run, Running, State};
use report::ScenarioReport;

/// The phase in force: its rules, and the tag its requests carry.
pub struct PhaseRun {
    /// The scenario and phase names, and the phase's counts.
    pub tag: Arc<ScenarioTag>,
    /// The phase's fault rules, consulted before every other rule.
    pub rules: FaultRules,
}

/// Why a scenario could not be added, started or stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// No scenario has that name (404).
    #[error("no scenario named {0:?}")]
    NotFound(String),
    /// A scenario of that name exists already (409).
    #[error("a scenario named {0:?} exists already")]
    Exists(String),
    /// Another scenario is running: one runs at a time (409).
    #[error("scenario {0:?} is running; stop it first (one scenario runs at a time)")]
    Busy(String),
    /// The scenario is not valid (400).
    #[error("{0}")]
    Invalid(String),
    /// Starting needs a tokio runtime, and there is none on this thread.
    #[error("a scenario runs on the tokio runtime, and there is none here")]
    NoRuntime,
}

/// A scenario as `GET /scenarios` lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScenarioView {
    /// Its name.
    pub name: String,
    /// `idle`, `running` or `done`.
    pub state: &'static str,
    /// `manual` or `at_launch`.
    pub start: ScenarioStart,
    /// How many times the phases run; 0: until stopped.
    pub repeat: u64,
    /// The phases' names and lengths, in order.
    pub phases: Vec<PhaseLine>,
    /// While running: the run, counting from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
    /// While running: the phase in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// While running: milliseconds left in that phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_ms: Option<u64>,
}

/// A phase as the list shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhaseLine {
    /// Its name.
    pub name: String,
    /// Its length, as the config writes it.
    #[serde(rename = "for")]
    pub lasting: String,
}

/// Every scenario an edge knows, and the one running.
pub struct Scenarios {
    seed: Option<u64>,
    /// Whether a phase is in force: lets a request skip the lock when none runs.
    active: AtomicBool,
    current: RwLock<Option<Arc<PhaseRun>>>,
    book: Mutex<Book>,
    /// Bumped at every change of state, for [`Scenarios::finished`].
    changes: watch::Sender<u64>,
}

impl Scenarios {
    /// The scenarios `specs` (checked by the config), with phase RNGs seeded from `seed`.
    pub fn new(specs: &[ScenarioSpec], seed: Option<u64>) -> Self {
        let book = Book {
            entries: specs
                .iter()
                .cloned()
                .map(|spec| Entry::new(spec, true))
                .collect(),
            ..Book::default()
        };
        Scenarios {
            seed,
            active: AtomicBool::new(false),
            current: RwLock::new(None),
            book: Mutex::new(book),
            changes: watch::Sender::new(0),
        }
    }

    /// The phase in force now, if a scenario runs.
    pub fn current(&self) -> Option<Arc<PhaseRun>> {
        if !self.active.load(Ordering::Acquire) {
            return None;
        }
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Adds `spec`, checked as a `[[scenario]]` is.
    pub fn add(&self, spec: ScenarioSpec) -> Result<ScenarioView, ScenarioError> {
        spec.check()
            .map_err(|e| ScenarioError::Invalid(e.to_string()))?;
        let mut book = self.lock();
        if book.entry(&spec.name).is_some() {
            return Err(ScenarioError::Exists(spec.name));
        }
        book.entries.push(Entry::new(spec, false));
        let view = book.entries.last().map(|e| e.view(None));
        view.ok_or_else(|| ScenarioError::Invalid("not added".into()))
    }

    /// Every scenario, in the order they were added.
    pub fn list(&self) -> Vec<ScenarioView> {
        let book = self.lock();
        book.entries
            .iter()
            .map(|entry| entry.view(book.running.as_ref()))
            .collect()
    }

    /// After a reload: the file's scenarios replace those it had before. A changed scenario
    /// starts over as idle; the one running keeps its phases to its end (said in a warning);
    /// those added by the control API or the library stay.
    pub fn reconfigure(&self, specs: &[ScenarioSpec]) {
        let mut book = self.lock();
        let running = book.running.as_ref().map(|r| r.name.clone());
        let (kept, gone): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut book.entries)
            .into_iter()
            .partition(|entry| {
                !entry.from_config
                    || running.as_deref() == Some(entry.spec.name.as_str())
                    || specs.iter().any(|s| s.name == entry.spec.name)
            });
        drop(gone);
        book.entries = kept;
        for spec in specs {
            match book.entry_mut(&spec.name) {
                Some(entry) if *entry.spec == *spec => {}
                Some(_) if running.as_deref() == Some(spec.name.as_str()) => tracing::warn!(
                    scenario = %spec.name,
                    "reload: scenario {:?} is running and keeps its phases until it ends",
                    spec.name
                ),
                Some(entry) => *entry = Entry::new(spec.clone(), true),
                None => book.entries.push(Entry::new(spec.clone(), true)),
            }
        }
    }

    /// The name of the scenario that starts at launch, if one does.
    pub fn at_launch(&self) -> Option<String> {
        let book = self.lock();
        let entry = book
            .entries
            .iter()
            .find(|e| e.spec.start == ScenarioStart::AtLaunch);
        entry.map(|e| e.spec.name.clone())
    }

    /// Starts scenario `name` now (its earlier report is replaced).
    pub fn start(self: &Arc<Self>, name: &str) -> Result<ScenarioView, ScenarioError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| ScenarioError::NoRuntime)?;
        let mut book = self.lock();
        if let Some(running) = &book.running {
            return Err(ScenarioError::Busy(running.name.clone()));
        }
        let spec = match book.entry(name) {
            Some(entry) => entry.spec.clone(),
            None => return Err(ScenarioError::NotFound(name.to_owned())),
        };
        // A spec put in a config by hand (`EdgeBuilder::config_mut`) skipped the checks: one
        // without phases, or with a zero-length one, would spin the clock.
        spec.check()
            .map_err(|e| ScenarioError::Invalid(e.to_string()))?;
        book.next_id += 1;
        let id = book.next_id;
        let (stop, stopped) = oneshot::channel();
        let first = spec.phases.first().map_or(Duration::ZERO, |p| p.lasting);
        book.running = Some(Running {
            id,
            name: spec.name.clone(),
            run: 1,
            phase: 0,
            phase_ends: Instant::now() + first,
            _stop: stop,
        });
        if let Some(entry) = book.entry_mut(name) {
            entry.state = State::Running;
            entry.stopped = false;
            entry.runs.clear();
        }
        // The first phase is in force before this returns: a request sent right after the
        // start gets it.
        let started = Instant::now();
        self.begin_phase(&mut book, id, 1, 0, started);
        let view = book.entry(name).map(|e| e.view(book.running.as_ref()));
        drop(book);
        runtime.spawn(runner::run(self.clone(), spec, id, started, stopped));
        view.ok_or_else(|| ScenarioError::NotFound(name.to_owned()))
    }

    /// Stops scenario `name` if it runs (its phase in force ends now); its state either way.
    pub fn stop(&self, name: &str) -> Result<ScenarioView, ScenarioError> {
        let mut book = self.lock();
        if book.entry(name).is_none() {
            return Err(ScenarioError::NotFound(name.to_owned()));
        }
        if let Some(id) = book
            .running
            .as_ref()
            .filter(|r| r.name == name)
            .map(|r| r.id)
        {
            self.end(&mut book, id, true);
        }
        let view = book.entry(name).map(|e| e.view(book.running.as_ref()));
        view.ok_or_else(|| ScenarioError::NotFound(name.to_owned()))
    }

    /// The report of scenario `name`'s last start.
    pub fn report(&self, name: &str) -> Option<ScenarioReport> {
        let book = self.lock();
        book.entry(name).map(Entry::report)
    }

    /// The report of scenario `name` once its last start is over: its clock has ended and
    /// every request that arrived in it has finished. `None` if there is no such scenario.
    pub async fn finished(&self, name: &str) -> Option<ScenarioReport> {
        let mut changes = self.changes.subscribe();
        loop {
            {
                let book = self.lock();
                let entry = book.entry(name)?;
                if entry.state != State::Running && entry.in_flight() == 0 {
                    return Some(entry.report());
                }
            }
            // A state change wakes this at once; requests finishing are polled.
            let _ = tokio::time::timeout(Duration::from_millis(20), changes.changed()).await;
        }
    }

    /// Once scenario `name`'s clock is over (its phases ran, or it was stopped); at once if
    /// it does not run. Requests still in flight may finish later: see
    /// [`Scenarios::finished`].
    pub async fn ended(&self, name: &str) {
        let mut changes = self.changes.subscribe();
        loop {
            let running = self
                .lock()
                .entry(name)
                .is_some_and(|e| e.state == State::Running);
            if !running || changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// The phases of the running scenario's current run, for the analytics chart's bands;
    /// empty when none runs.
    pub fn bands(&self) -> Vec<PhaseBand> {
        let book = self.lock();
        let Some(running) = book.running.as_ref() else {
            return Vec::new();
        };
        let Some(run) = book
            .entry(&running.name)
            .and_then(|entry| entry.runs.last())
        else {
            return Vec::new();
        };
        run.phases
            .iter()
            .map(|phase| PhaseBand {
                scenario: running.name.clone(),
                phase: phase.tag.phase.to_string(),
                started: phase.started,
                ended: phase.ended,
            })
            .collect()
    }

    /// Puts phase `phase` of run `run` in force, ending the one before; due to end at
    /// `started + its length`. Nothing when scenario `id` no longer runs.
    fn begin_phase(&self, book: &mut Book, id: u64, run: u64, phase: usize, started: Instant) {
        let Some(running) = book.running.as_mut().filter(|r| r.id == id) else {
            return;
        };
        let name = running.name.clone();
        let now = SystemTime::now();
        let Some(entry) = book.entry_mut(&name) else {
            return;
        };
        let spec = entry.spec.clone();
        let Some(phase_spec) = spec.phases.get(phase) else {
            return;
        };
        if let Some(last) = entry.runs.last_mut().and_then(|r| r.phases.last_mut()) {
            last.ended.get_or_insert(now);
        }
        if phase == 0 {
            if let Some(last) = entry.runs.last_mut() {
                last.ended.get_or_insert(now);
            }
            entry.runs.push(Run {
                started: now,
                ended: None,
                in_flight: Arc::new(InFlight::default()),
                phases: Vec::new(),
            });
        }
        let Some(current_run) = entry.runs.last_mut() else {
            return;
        };
        let tag = Arc::new(ScenarioTag {
            scenario: Arc::from(spec.name.as_str()),
            phase: Arc::from(phase_spec.name.as_str()),
            tally: PhaseTally::new(current_run.started, current_run.in_flight.clone()),
        });
        current_run.phases.push(Phase {
            started: now,
            ended: None,
            tag: tag.clone(),
        });
        tracing::info!(
            scenario = %spec.name,
            phase = %phase_spec.name,
            run,
            "scenario {:?}: phase {:?} for {} (run {run})",
            spec.name,
            phase_spec.name,
            crate::config::format_duration(phase_spec.lasting)
        );
        let seed = self
            .seed
            .map(|seed| phase_seed(seed, &spec.name, run, phase));
        let rules = FaultRules::new(&phase_spec.faults, seed);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) =
            Some(Arc::new(PhaseRun { tag, rules }));
        self.active.store(true, Ordering::Release);
        if let Some(running) = book.running.as_mut() {
            running.run = run;
            running.phase = phase;
            running.phase_ends = started + phase_spec.lasting;
        }
        self.changes.send_modify(|n| *n += 1);
    }

    /// Ends scenario `id`: no phase in force, its last phase and run ended now.
    fn end(&self, book: &mut Book, id: u64, stopped: bool) {
        let Some(running) = book.running.take_if(|r| r.id == id) else {
            return;
        };
        self.active.store(false, Ordering::Release);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = None;
        let now = SystemTime::now();
        tracing::info!(
            scenario = %running.name,
            "scenario {:?} {}",
            running.name,
            if stopped { "stopped" } else { "done" }
        );
        if let Some(entry) = book.entry_mut(&running.name) {
            entry.state = State::Done;
            entry.stopped = stopped;
            if let Some(run) = entry.runs.last_mut() {
                run.ended.get_or_insert(now);
                if let Some(phase) = run.phases.last_mut() {
                    phase.ended.get_or_insert(now);
                }
            }
        }
        self.changes.send_modify(|n| *n += 1);
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        // Every change keeps the book whole at each step: a poisoned lock is still usable.
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The seed of one phase's RNG: the same for the same seed, scenario, run and phase.
fn phase_seed(seed: u64, scenario: &str, run: u64, phase: usize) -> u64 {
    let mut h = seed ^ 0x9e37_79b9_7f4a_7c15;
    for byte in scenario.bytes() {
        h = (h ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    h ^= run.rotate_left(32) ^ phase as u64;
    // splitmix64's finalizer: nearby inputs give unrelated seeds.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests;
