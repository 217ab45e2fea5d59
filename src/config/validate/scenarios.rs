//! Checking `[[scenario]]` tables, and the JSON body of `POST /scenarios` the same way. A
//! problem names its key path down to the fault rule's key (`scenario[0].phase[1].faults[0].
//! status`), and the scenario and phase by name when they have one, all problems at once.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use super::super::error::{Problem, push_index};
use super::super::raw::{RawPhase, RawScenario};
use super::super::{ScenarioSpec, ScenarioStart};
use super::Check;

/// The longest phase accepted: a week. A phase is a stretch of an incident under load.
const MAX_PHASE: Duration = Duration::from_secs(7 * 24 * 3600);

impl Check {
    /// Every `[[scenario]]`: a unique name, a known start, phases with names and lengths, and
    /// fault rules that compile. At most one starts at launch: one scenario runs at a time.
    pub(super) fn scenarios(&mut self, raw: Vec<RawScenario>) -> Vec<ScenarioSpec> {
        let mut names = HashSet::new();
        let mut specs = Vec::with_capacity(raw.len());
        let mut at_launch: Option<String> = None;
        for (index, scenario) in raw.into_iter().enumerate() {
            let mut key = String::from("scenario");
            push_index(&mut key, index);
            let duplicate = scenario
                .name
                .as_ref()
                .is_some_and(|name| !name.is_empty() && !names.insert(name.clone()));
            if duplicate {
                let why = "names an earlier scenario too; each scenario needs its own name";
                self.problems.push(Problem::new(format!("{key}.name"), why));
            }
            let Some(spec) = self.scenario(&key, scenario) else {
                continue;
            };
            if spec.start == ScenarioStart::AtLaunch {
                if let Some(first) = &at_launch {
                    let why =
                        format!("{first:?} starts at launch already; one scenario runs at a time");
                    self.problems
                        .push(Problem::new(format!("{key}.start"), why));
                }
                at_launch.get_or_insert_with(|| spec.name.clone());
            }
            if !duplicate {
                specs.push(spec);
            }
        }
        specs
    }

    /// One scenario under `key` (`scenario[N]`, or empty for a JSON body).
    fn scenario(&mut self, key: &str, raw: RawScenario) -> Option<ScenarioSpec> {
        let at = |field: &str| join(key, field);
        let name = match raw.name {
            Some(name) if valid_name(&name) => Some(name),
            Some(name) => {
                let why = format!(
                    "{name:?} is not a scenario name; use letters, digits, '-', '_' or '.' \
                     (it goes in the URL /scenarios/{{name}})"
                );
                self.problems.push(Problem::new(at("name"), why));
                None
            }
            None => {
                self.problems.push(Problem::new(
                    at("name"),
                    "missing: every scenario needs a name",
                ));
                None
            }
        };
        // Named in what follows, so a problem says which scenario it is in.
        let label = whereabouts(name.as_deref(), None);
        let label = label.as_str();
        let start = match raw.start {
            Some(text) => self.some(&at("start"), text.parse::<ScenarioStart>()),
            None => Some(ScenarioStart::Manual),
        };
        let repeat = match raw.repeat {
            None => Some(1),
            Some(n) => self.some(
                &at("repeat"),
                u64::try_from(n)
                    .map_err(|_| format!("{n} is negative; repeat is a count, 0 = until stopped")),
            ),
        };
        if raw.phase.is_empty() {
            let why = format!("missing{label}: a scenario needs at least one [[scenario.phase]]");
            self.problems.push(Problem::new(at("phase"), why));
        }
        let mut phases = Vec::with_capacity(raw.phase.len());
        let mut complete = true;
        for (index, phase) in raw.phase.into_iter().enumerate() {
            let mut phase_key = at("phase");
            push_index(&mut phase_key, index);
            match self.phase(&phase_key, name.as_deref(), phase) {
                Some(phase) => phases.push(phase),
                None => complete = false,
            }
        }
        match (name, start, repeat) {
            (Some(name), Some(start), Some(repeat)) if complete && !phases.is_empty() => {
                Some(ScenarioSpec {
                    name,
                    start,
                    repeat,
                    phases,
                })
            }
            _ => None,
        }
    }

    fn phase(
        &mut self,
        key: &str,
        scenario: Option<&str>,
        raw: RawPhase,
    ) -> Option<super::super::PhaseSpec> {
        let label = whereabouts(scenario, None);
        let name = match raw.name.filter(|n| !n.trim().is_empty()) {
            Some(name) => Some(name),
            None => {
                let why = format!("missing{label}: every phase needs a name");
                self.problems.push(Problem::new(join(key, "name"), why));
                None
            }
        };
        let where_ = whereabouts(scenario, name.as_deref());
        let lasting = match raw.lasting {
            None => {
                let why = format!("missing{where_}: how long the phase lasts, like \"30s\"");
                self.problems.push(Problem::new(join(key, "for"), why));
                None
            }
            Some(text) => match text.parse() {
                Err(why) => {
                    self.problems
                        .push(Problem::new(join(key, "for"), format!("{why}{where_}")));
                    None
                }
                Ok(d) if d.is_zero() => {
                    let why = format!("{text} is zero{where_}; a phase lasts at least 1ms");
                    self.problems.push(Problem::new(join(key, "for"), why));
                    None
                }
                Ok(d) if d > MAX_PHASE => {
                    let why = format!("{text} is more than 168h{where_}, the longest phase");
                    self.problems.push(Problem::new(join(key, "for"), why));
                    None
                }
                Ok(d) => Some(d),
            },
        };
        let mut faults_ok = true;
        for (index, spec) in raw.faults.iter().enumerate() {
            if let Err(problem) = spec.compile() {
                let mut at = join(key, "faults");
                push_index(&mut at, index);
                at.push('.');
                at.push_str(problem.key);
                let why = format!("{}{where_}", problem.message);
                self.problems.push(Problem::new(at, why));
                faults_ok = false;
            }
        }
        Some(super::super::PhaseSpec {
            name: name?,
            lasting: lasting?,
            faults: if faults_ok { raw.faults } else { return None },
        })
    }
}

/// A scenario from the JSON body of `POST /scenarios`, checked as a `[[scenario]]` is; the
/// problems' key paths start inside the scenario (`phase[0].for`).
pub(crate) fn scenario_from_json(body: &[u8]) -> Result<ScenarioSpec, Vec<Problem>> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let raw: RawScenario = match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(raw) => raw,
        Err(error) => {
            let path = error.path().to_string();
            let key = if path == "." { String::new() } else { path };
            return Err(vec![Problem::new(key, error.inner().to_string())]);
        }
    };
    let mut check = Check {
        problems: Vec::new(),
        base: PathBuf::new(),
    };
    let spec = check.scenario("", raw);
    match spec {
        Some(spec) if check.problems.is_empty() => Ok(spec),
        _ => Err(check.problems),
    }
}

/// Where a problem is, by name, to follow its sentence: ` (scenario "a", phase "b")`, either
/// part alone, or nothing when neither is named.
fn whereabouts(scenario: Option<&str>, phase: Option<&str>) -> String {
    match (scenario, phase) {
        (Some(s), Some(p)) => format!(" (scenario {s:?}, phase {p:?})"),
        (Some(s), None) => format!(" (scenario {s:?})"),
        (None, Some(p)) => format!(" (phase {p:?})"),
        (None, None) => String::new(),
    }
}

/// `key.field`, or `field` alone at the top.
fn join(key: &str, field: &str) -> String {
    if key.is_empty() {
        field.to_owned()
    } else {
        format!("{key}.{field}")
    }
}

/// A name that can stand in a URL path segment as it is.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}
