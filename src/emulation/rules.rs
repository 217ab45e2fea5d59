//! [`FaultRules`]: the live rule list every request consults. Rules are tried in order and
//! the first that matches (and wins its `percent` roll) applies; `count` and `for` expire
//! rules as they go. Toxiproxy's toxics and its enabled switch live here too, and apply to
//! requests no rule took. One lock, held for a few comparisons; a request finds nothing to do
//! without taking it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::action::{RequestFacts, applies};
use super::rng::Rng;
use super::toxics::{Toxic, ToxicInput};
use crate::config::fault::{Action, Fault, FaultSpec, LinkFaults, SpecProblem};

/// What one request gets: the action, and the rule that chose it (`None` for toxics).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The rule's id; `None` when Toxiproxy's toxics or its disabled switch decided.
    pub rule: Option<u64>,
    /// What to do, with any jitter already drawn.
    pub action: Action,
}

/// A rule as the control API and the library show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultView {
    /// Its id: 1, 2, ... in the order rules were added.
    pub id: u64,
    /// The rule as given.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// How many requests it applied to so far.
    pub applied: u64,
    /// How many more it applies to, with `count`.
    pub remaining: Option<u64>,
    /// How long before it expires, with `for`.
    pub expires_in_ms: Option<u64>,
}

/// Why a toxic change was refused, as Toxiproxy answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToxicError {
    /// 400: the toxic is malformed.
    Invalid(String),
    /// 404: no toxic of that name.
    NotFound(String),
    /// 409: a toxic of that name exists.
    Exists(String),
}

struct Rule {
    id: u64,
    spec: FaultSpec,
    fault: Fault,
    applied: u64,
    remaining: Option<u64>,
    expires: Option<Instant>,
}

impl Rule {
    fn live(&self, now: Instant) -> bool {
        self.remaining != Some(0) && self.expires.is_none_or(|at| now < at)
    }

    fn view(&self, now: Instant) -> FaultView {
        FaultView {
            id: self.id,
            spec: self.spec.clone(),
            applied: self.applied,
            remaining: self.remaining,
            expires_in_ms: self.expires.map(|at| {
                u64::try_from(at.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX)
            }),
        }
    }
}

struct State {
    rules: Vec<Rule>,
    next_id: u64,
    rng: Rng,
    toxics: Vec<Toxic>,
    enabled: bool,
}

/// The rules in force. Shared by every request (behind an `Arc`).
pub struct FaultRules {
    state: Mutex<State>,
    /// Whether anything could apply: rules, toxics, or the proxy disabled. Lets the common
    /// case skip the lock.
    armed: AtomicBool,
}

impl FaultRules {
    /// The rules of `specs` (already checked: a spec that does not compile is skipped), with
    /// the RNG seeded by `seed` (random without one).
    pub fn new(specs: &[FaultSpec], seed: Option<u64>) -> Self {
        let rules = FaultRules {
            state: Mutex::new(State {
                rules: Vec::new(),
                next_id: 1,
                rng: seed.map_or_else(Rng::random, Rng::seeded),
                toxics: Vec::new(),
                enabled: true,
            }),
            armed: AtomicBool::new(false),
        };
        for spec in specs {
            // Config validation compiled every spec already.
            let _ = rules.add(spec.clone());
        }
        rules
    }

    /// What `request` gets, if anything: the first live rule that matches and wins its roll,
    /// else the stacked toxics (or refusal, when the Toxiproxy proxy is disabled).
    pub fn decide(&self, request: &RequestFacts<'_>) -> Option<Decision> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let now = Instant::now();
        let mut state = self.lock();
        let State { rules, rng, .. } = &mut *state;
        rules.retain(|rule| rule.live(now));
        let mut chosen = None;
        for rule in rules.iter_mut() {
            let matcher = &rule.fault.matcher;
            if !applies(matcher, request) {
                continue;
            }
            if let Some(percent) = matcher.percent
                && !rng.chance(percent)
            {
                continue;
            }
            rule.applied += 1;
            if let Some(remaining) = &mut rule.remaining {
                *remaining -= 1;
            }
            chosen = Some(Decision {
                rule: Some(rule.id),
                action: rule.fault.action.clone(),
            });
            break;
        }
        let decision = chosen.or_else(|| state.toxic_decision());
        let mut decision = decision?;
        if let Action::Link(link) = &mut decision.action {
            state.draw_jitter(link);
        }
        self.rearm(&state);
        Some(decision)
    }

    /// Adds a rule at the end; returns it with its id.
    pub fn add(&self, spec: FaultSpec) -> Result<FaultView, SpecProblem> {
        let fault = spec.compile()?;
        let now = Instant::now();
        let mut state = self.lock();
        let id = state.next_id;
        state.next_id += 1;
        let rule = Rule {
            id,
            remaining: fault.count,
            expires: fault.lasting.map(|d| now + d),
            spec,
            fault,
            applied: 0,
        };
        let view = rule.view(now);
        state.rules.push(rule);
        self.rearm(&state);
        Ok(view)
    }

    /// Removes rule `id`; whether it was there.
    pub fn remove(&self, id: u64) -> bool {
        let mut state = self.lock();
        let before = state.rules.len();
        state.rules.retain(|rule| rule.id != id);
        let removed = state.rules.len() != before;
        self.rearm(&state);
        removed
    }

    /// Removes every rule (toxics stay).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.rules.clear();
        self.rearm(&state);
    }

    /// The live rules, in evaluation order.
    pub fn list(&self) -> Vec<FaultView> {
        let now = Instant::now();
        let mut state = self.lock();
        state.rules.retain(|rule| rule.live(now));
        self.rearm(&state);
        state.rules.iter().map(|rule| rule.view(now)).collect()
    }

    /// The toxics, in the order they were added.
    pub fn toxics(&self) -> Vec<Toxic> {
        self.lock().toxics.clone()
    }

    /// Adds a toxic.
    pub fn add_toxic(&self, input: ToxicInput) -> Result<Toxic, ToxicError> {
        let toxic = Toxic::create(input).map_err(ToxicError::Invalid)?;
        let mut state = self.lock();
        if state.toxics.iter().any(|t| t.name == toxic.name) {
            return Err(ToxicError::Exists(toxic.name));
        }
        state.toxics.push(toxic.clone());
        self.rearm(&state);
        Ok(toxic)
    }

    /// Changes toxic `name`.
    pub fn update_toxic(&self, name: &str, input: ToxicInput) -> Result<Toxic, ToxicError> {
        let mut state = self.lock();
        let slot = state
            .toxics
            .iter_mut()
            .find(|t| t.name == name)
            .ok_or_else(|| ToxicError::NotFound(name.to_owned()))?;
        let updated = slot.updated(input).map_err(ToxicError::Invalid)?;
        *slot = updated.clone();
        Ok(updated)
    }

    /// Removes toxic `name`; whether it was there.
    pub fn remove_toxic(&self, name: &str) -> bool {
        let mut state = self.lock();
        let before = state.toxics.len();
        state.toxics.retain(|t| t.name != name);
        let removed = state.toxics.len() != before;
        self.rearm(&state);
        removed
    }

    /// Whether the Toxiproxy proxy is enabled (disabled: every request acts as refused).
    pub fn enabled(&self) -> bool {
        self.lock().enabled
    }

    /// Enables or disables the Toxiproxy proxy.
    pub fn set_enabled(&self, enabled: bool) {
        let mut state = self.lock();
        state.enabled = enabled;
        self.rearm(&state);
    }

    /// Toxiproxy's reset: enabled again, no toxics (fault rules stay).
    pub fn reset_toxics(&self) {
        let mut state = self.lock();
        state.enabled = true;
        state.toxics.clear();
        self.rearm(&state);
    }

    fn rearm(&self, state: &State) {
        let armed = !state.rules.is_empty() || !state.toxics.is_empty() || !state.enabled;
        self.armed.store(armed, Ordering::Release);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change is a single push, retain or field write: a panic elsewhere cannot leave
        // the state half-changed, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    fn toxic_decision(&mut self) -> Option<Decision> {
        let mut link = LinkFaults::default();
        if !self.enabled {
            link.refuse = true;
        }
        for toxic in &self.toxics {
            if self.rng.chance(toxic.toxicity * 100.0) {
                link.stack(&toxic.link_faults());
            }
        }
        (!link.is_empty()).then_some(Decision {
            rule: None,
            action: Action::Link(link),
        })
    }

    /// Turns `latency ± jitter` into one latency for this request.
    fn draw_jitter(&mut self, link: &mut LinkFaults) {
        if link.jitter.is_zero() {
            return;
        }
        let base = link.latency.unwrap_or_default().as_secs_f64();
        let swing = link.jitter.as_secs_f64() * (self.rng.unit() * 2.0 - 1.0);
        link.latency = Some(Duration::from_secs_f64((base + swing).max(0.0)));
        link.jitter = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, Method};

    fn facts<'a>(path: &'a str, headers: &'a HeaderMap) -> RequestFacts<'a> {
        RequestFacts {
            host: "site.test",
            path,
            method: &Method::GET,
            headers,
        }
    }

    #[test]
    fn first_match_wins_and_count_expires() {
        let rules = FaultRules::new(
            &[
                FaultSpec::status(524).path_prefix("/checkout").count(1),
                FaultSpec::status(522),
            ],
            Some(1),
        );
        let headers = HeaderMap::new();
        let first = rules.decide(&facts("/checkout/pay", &headers)).unwrap();
        assert_eq!(first.rule, Some(1));
        let second = rules.decide(&facts("/checkout/pay", &headers)).unwrap();
        assert_eq!(second.rule, Some(2));
        assert_eq!(rules.list().len(), 1);
        assert!(rules.remove(2));
        assert_eq!(rules.decide(&facts("/", &headers)), None);
    }

    #[test]
    fn the_same_seed_makes_the_same_rolls() {
        let run = |seed| {
            let rules = FaultRules::new(&[FaultSpec::status(522).percent(50.0)], Some(seed));
            let headers = HeaderMap::new();
            (0..40)
                .map(|_| rules.decide(&facts("/", &headers)).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let hits = run(7).into_iter().filter(|hit| *hit).count();
        assert!((8..=32).contains(&hits), "{hits}");
    }

    #[test]
    fn disabled_proxy_refuses_and_toxics_stack() {
        let rules = FaultRules::new(&[], Some(1));
        let headers = HeaderMap::new();
        assert_eq!(rules.decide(&facts("/", &headers)), None);
        rules.set_enabled(false);
        let refused = rules.decide(&facts("/", &headers)).unwrap();
        assert!(matches!(refused.action, Action::Link(l) if l.refuse));
        rules.reset_toxics();
        let input = |json| serde_json::from_str::<ToxicInput>(json).unwrap();
        rules
            .add_toxic(input(r#"{"type":"latency","attributes":{"latency":100}}"#))
            .unwrap();
        rules
            .add_toxic(input(
                r#"{"type":"latency","name":"more","attributes":{"latency":50}}"#,
            ))
            .unwrap();
        assert_eq!(
            rules.add_toxic(input(r#"{"type":"latency","name":"more"}"#)),
            Err(ToxicError::Exists("more".into()))
        );
        let decision = rules.decide(&facts("/", &headers)).unwrap();
        assert!(matches!(decision.action,
            Action::Link(l) if l.latency == Some(Duration::from_millis(150))));
    }
}
