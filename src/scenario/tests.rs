//! Unit tests of the scenario book and clock: seeds, one at a time, stop.

use super::*;
use crate::config::PhaseSpec;
use crate::emulation::{FaultSpec, RequestFacts};
use http::{HeaderMap, Method};

fn flaky() -> ScenarioSpec {
    ScenarioSpec::new("flaky")
        .phase(
            PhaseSpec::new("half", Duration::from_secs(60))
                .fault(FaultSpec::status(524).percent(50.0)),
        )
        .phase(PhaseSpec::new("after", Duration::from_secs(60)))
}

/// The rolls of the first 64 requests of a fresh start.
fn rolls(scenarios: &Arc<Scenarios>) -> Vec<bool> {
    scenarios.start("flaky").expect("starts");
    let headers = HeaderMap::new();
    let facts = RequestFacts {
        host: "site.test",
        path: "/",
        method: &Method::GET,
        headers: &headers,
    };
    let phase = scenarios.current().expect("a phase in force");
    let rolls = (0..64)
        .map(|_| phase.rules.decide(&facts).is_some())
        .collect();
    scenarios.stop("flaky").expect("stops");
    rolls
}

#[tokio::test]
async fn the_seed_makes_every_start_roll_the_same() {
    let seeded = Arc::new(Scenarios::new(&[flaky()], Some(7)));
    let first = rolls(&seeded);
    assert_eq!(rolls(&seeded), first, "a second start rolls as the first");
    let again = Arc::new(Scenarios::new(&[flaky()], Some(7)));
    assert_eq!(rolls(&again), first, "another edge with the same seed too");
    let other = Arc::new(Scenarios::new(&[flaky()], Some(8)));
    assert_ne!(rolls(&other), first, "another seed rolls otherwise");
    let hits = first.iter().filter(|hit| **hit).count();
    assert!((16..=48).contains(&hits), "about half: {hits}");
    assert_ne!(phase_seed(7, "flaky", 1, 0), phase_seed(7, "flaky", 1, 1));
    assert_ne!(phase_seed(7, "flaky", 1, 0), phase_seed(7, "flaky", 2, 0));
}

#[tokio::test]
async fn one_runs_at_a_time_and_a_stop_ends_its_phase() {
    let other = ScenarioSpec::new("other").phase(PhaseSpec::new("p", Duration::from_secs(1)));
    let scenarios = Arc::new(Scenarios::new(&[flaky(), other], None));
    assert!(scenarios.current().is_none());
    scenarios.start("flaky").expect("starts");
    assert_eq!(
        scenarios.start("other"),
        Err(ScenarioError::Busy("flaky".into()))
    );
    assert_eq!(
        scenarios.start("nope"),
        Err(ScenarioError::Busy("flaky".into())),
        "busy before unknown: nothing can start now"
    );
    let view = scenarios.stop("flaky").expect("stops");
    assert_eq!(view.state, "done");
    assert!(scenarios.current().is_none());
    assert_eq!(
        scenarios.start("nope"),
        Err(ScenarioError::NotFound("nope".into()))
    );
    let report = scenarios.finished("flaky").await.expect("a report");
    assert!(report.stopped);
    assert_eq!(report.runs[0].phases.len(), 1);
    assert!(report.runs[0].phases[0].ended.is_some());
}

#[tokio::test]
async fn a_scenario_that_skipped_its_checks_does_not_start() {
    let mut empty = ScenarioSpec::new("empty").repeat(0);
    let scenarios = Arc::new(Scenarios::new(std::slice::from_ref(&empty), None));
    assert!(matches!(
        scenarios.start("empty"),
        Err(ScenarioError::Invalid(_))
    ));
    empty.phases.push(PhaseSpec::new("instant", Duration::ZERO));
    let scenarios = Arc::new(Scenarios::new(&[empty], None));
    assert!(matches!(
        scenarios.start("empty"),
        Err(ScenarioError::Invalid(_))
    ));
    assert!(scenarios.current().is_none());
    assert_eq!(scenarios.list()[0].state, "idle");
}
