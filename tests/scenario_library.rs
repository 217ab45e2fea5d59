//! Scenarios from the library: an [`EdgeBuilder`] with a scenario added in Rust, started and
//! awaited with `run_scenario` while a client sends steadily; the report's counts are what
//! the client saw, phase by phase (attributed by ray through `EdgeHandle::request`). A bad
//! scenario is refused at `start` with every problem named.
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use edgecase::{EdgeBuilder, FaultSpec, PhaseSpec, ScenarioSpec};

use support::origins::Origin;
use support::visitor::{get, within};
use support::{GUARD, ms};

#[tokio::test]
async fn run_scenario_resolves_with_the_report_of_what_visitors_got() {
    let origin = Origin::ok("origin").await;
    let incident = ScenarioSpec::new("outage")
        .phase(PhaseSpec::new("healthy", ms(400)))
        .phase(PhaseSpec::new("erroring", ms(400)).fault(FaultSpec::status(522).delay(ms(5))))
        .phase(PhaseSpec::new("refusing", ms(400)).fault(FaultSpec::refuse()));
    let edge = EdgeBuilder::new()
        .origin(origin.addr().to_string())
        .scenario(incident)
        .start()
        .await
        .expect("starts");
    assert_eq!(edge.scenarios().list()[0].state, "idle");

    let addr = edge.addr();
    let done = Arc::new(AtomicBool::new(false));
    let client = tokio::spawn({
        let done = done.clone();
        async move {
            let mut seen = Vec::new();
            while !done.load(Ordering::Acquire) {
                let res = within(GUARD, get(addr, "/")).await;
                seen.push((
                    res.header("cf-ray").unwrap_or_default().to_owned(),
                    res.status().as_u16(),
                ));
                tokio::time::sleep(ms(5)).await;
            }
            seen
        }
    });
    let report = within(GUARD, edge.run_scenario("outage"))
        .await
        .expect("runs");
    done.store(true, Ordering::Release);
    let seen = client.await.expect("the client's task");
    assert_eq!(report.state, "done");
    assert!(!report.stopped);

    let mut by_phase: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (ray, status) in &seen {
        let record = edge
            .request(ray)
            .unwrap_or_else(|| panic!("ray {ray} recorded"));
        if let Some(phase) = record.phase {
            assert_eq!(record.scenario.as_deref(), Some("outage"));
            *by_phase
                .entry(phase)
                .or_default()
                .entry(status.to_string())
                .or_default() += 1;
        }
    }
    let phases = &report.runs[0].phases;
    assert_eq!(phases.len(), 3);
    for (phase, expected) in phases.iter().zip(["200", "522", "521"]) {
        let client = by_phase.get(&phase.name).cloned().unwrap_or_default();
        assert_eq!(phase.statuses, client, "phase {}", phase.name);
        assert_eq!(
            client.keys().collect::<Vec<_>>(),
            [expected],
            "phase {}",
            phase.name
        );
        assert_eq!(phase.requests, client.values().sum::<u64>());
        assert!(phase.requests >= 10, "{}: {}", phase.name, phase.requests);
    }
    assert!(report.table().contains("erroring"), "{}", report.table());
    within(GUARD, edge.shutdown())
        .await
        .expect("clean shutdown");
}

#[tokio::test]
async fn a_bad_scenario_is_refused_at_start_with_its_problems() {
    let bad = ScenarioSpec::new("no good")
        .phase(PhaseSpec::new("zero", ms(0)).fault(FaultSpec::status(200)));
    let error = EdgeBuilder::new()
        .scenario(bad)
        .start()
        .await
        .err()
        .expect("refused");
    let shown = error.to_string();
    for key in [
        "scenario[0].name",
        "scenario[0].phase[0].for",
        "scenario[0].phase[0].faults[0].status",
    ] {
        assert!(shown.contains(key), "{key} in {shown}");
    }
}
