//! The clock of a running scenario: one tokio task that puts each phase in force at its due
//! time. Due times are counted from the scenario's start (start + the lengths of the phases
//! before), never from when the previous phase was noticed to end, so lateness does not add
//! up over a long scenario.

use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::Scenarios;
use crate::config::ScenarioSpec;

/// Runs scenario `id` (`spec`) until its phases are over or `stopped` fires (its sender is
/// dropped by [`Scenarios::stop`], which ends the scenario itself). The first phase is in
/// force already, since `started`.
pub(super) async fn run(
    scenarios: Arc<Scenarios>,
    spec: Arc<ScenarioSpec>,
    id: u64,
    started: Instant,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut due = started;
    let mut run = 1;
    loop {
        for (index, phase) in spec.phases.iter().enumerate() {
            if (run, index) != (1, 0) {
                let mut book = scenarios.lock();
                scenarios.begin_phase(&mut book, id, run, index, due);
            }
            due += phase.lasting;
            tokio::select! {
                () = tokio::time::sleep_until(due) => {}
                _ = &mut stopped => return,
            }
        }
        if spec.repeat != 0 && run >= spec.repeat {
            break;
        }
        run += 1;
    }
    let mut book = scenarios.lock();
    scenarios.end(&mut book, id, false);
}
