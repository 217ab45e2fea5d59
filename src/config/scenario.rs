//! `[[scenario]]`: an incident written as phases on a clock, each phase a list of fault rules
//! that come first while it runs. This module holds the checked, typed form; the keys are read
//! in `raw` and checked in `validate::scenarios`, which the control API's `POST /scenarios`
//! goes through too, so a scenario is the same whether it came from the file or from JSON.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::duration::format as format_duration;
use super::fault::FaultSpec;
use super::{ConfigError, Problem};

/// One scenario, checked: a name, when it starts, how often its phases run, and the phases.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioSpec {
    /// Its name, unique among the scenarios; the control API's `/scenarios/{name}`.
    pub name: String,
    /// `manual` (the default) or `at_launch`.
    pub start: ScenarioStart,
    /// How many times the phases run, one after the other; 0: until stopped.
    pub repeat: u64,
    /// The phases, in order; never empty.
    #[serde(rename = "phase")]
    pub phases: Vec<PhaseSpec>,
}

/// One phase: a name, how long it lasts, and the fault rules in force meanwhile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PhaseSpec {
    /// Its name, as the report, the log and `/requests` show it.
    pub name: String,
    /// How long it lasts (the `for` key); more than zero.
    #[serde(rename = "for", serialize_with = "text_duration")]
    pub lasting: Duration,
    /// Its fault rules, with exactly the keys of `[[fault]]`; empty: a healthy phase.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
}

impl PhaseSpec {
    /// A healthy phase named `name` lasting `lasting`.
    pub fn new(name: impl Into<String>, lasting: Duration) -> Self {
        PhaseSpec {
            name: name.into(),
            lasting,
            faults: Vec::new(),
        }
    }

    /// Adds `rule` after the phase's other rules.
    pub fn fault(mut self, rule: FaultSpec) -> Self {
        self.faults.push(rule);
        self
    }
}

/// When a scenario starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScenarioStart {
    /// When asked: `POST /scenarios/{name}/start`, `--scenario`, or the library.
    #[default]
    Manual,
    /// As soon as edgecase listens.
    AtLaunch,
}

impl ScenarioSpec {
    /// A manual scenario named `name` that runs once, with no phases yet.
    ///
    /// ```
    /// use std::time::Duration;
    /// use edgecase::{FaultSpec, PhaseSpec, ScenarioSpec};
    ///
    /// let incident = ScenarioSpec::new("brownout")
    ///     .phase(PhaseSpec::new("healthy", Duration::from_secs(1)))
    ///     .phase(PhaseSpec::new("down", Duration::from_secs(1)).fault(FaultSpec::refuse()));
    /// assert!(incident.check().is_ok());
    /// assert!(ScenarioSpec::new("empty").check().is_err());
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        ScenarioSpec {
            name: name.into(),
            start: ScenarioStart::Manual,
            repeat: 1,
            phases: Vec::new(),
        }
    }

    /// Adds `phase` after the others.
    pub fn phase(mut self, phase: PhaseSpec) -> Self {
        self.phases.push(phase);
        self
    }

    /// Runs the phases `times` times (0: until stopped).
    pub fn repeat(mut self, times: u64) -> Self {
        self.repeat = times;
        self
    }

    /// The scenario of a JSON body shaped as a `[[scenario]]` table (`POST /scenarios`), with
    /// every problem found.
    pub fn from_json(body: &[u8]) -> Result<ScenarioSpec, ConfigError> {
        super::validate::scenario_from_json(body).map_err(ConfigError::new)
    }

    /// Checks a scenario built in Rust as the config checks one: a name that fits a URL, at
    /// least one phase, each longer than zero, and fault rules that compile.
    pub fn check(&self) -> Result<(), ConfigError> {
        // Through the same checks as the file and the control API, so the rules cannot drift.
        let json = serde_json::to_vec(self).map_err(|e| {
            ConfigError::new(vec![Problem::new(
                "",
                format!("cannot be written out: {e}"),
            )])
        })?;
        ScenarioSpec::from_json(&json).map(|_| ())
    }

    /// How long one run of the phases lasts.
    pub fn run_length(&self) -> Duration {
        self.phases.iter().map(|phase| phase.lasting).sum()
    }
}

impl ScenarioStart {
    /// `manual` or `at_launch`, as written.
    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioStart::Manual => "manual",
            ScenarioStart::AtLaunch => "at_launch",
        }
    }
}

impl fmt::Display for ScenarioStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ScenarioStart {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A `start` that is neither `manual` nor `at_launch`.
#[derive(Debug)]
pub struct BadStart(String);

impl fmt::Display for BadStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a start; use \"manual\" or \"at_launch\"",
            self.0
        )
    }
}

impl FromStr for ScenarioStart {
    type Err = BadStart;

    fn from_str(text: &str) -> Result<Self, BadStart> {
        match text {
            "manual" => Ok(ScenarioStart::Manual),
            "at_launch" => Ok(ScenarioStart::AtLaunch),
            other => Err(BadStart(other.to_owned())),
        }
    }
}

fn text_duration<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_duration(*value))
}
