//! [`churn`]: fault rules added and removed at random through the control API (`POST
//! /faults`, `DELETE /faults/{id}`, now and then `DELETE /faults`) while the load runs. It
//! owns what a random rule looks like; edgecase decides what each one does to a request.

use std::net::SocketAddr;
use std::time::Duration;

use http::Method;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::{Instant, sleep};

use crate::control;
use crate::rng::Rng;
use crate::routes::FAULTABLE_HEADER;

/// At most this many rules are in force at once (rules that expire on their own may make it
/// fewer).
const MAX_RULES: usize = 8;
/// Every so often all rules go at once.
const CLEAR_EVERY: Duration = Duration::from_secs(60);
/// A few of the control API's refusals are kept for the report.
const KEPT_ERRORS: usize = 5;

/// What the churn did.
#[derive(Clone, Debug, Default)]
pub struct ChurnStats {
    /// Rules added (201).
    pub added: u64,
    /// Rules removed by id (204).
    pub removed: u64,
    /// Removals of rules that had already expired (404).
    pub expired: u64,
    /// `DELETE /faults` calls.
    pub cleared: u64,
    /// Calls that failed or got an unexpected status.
    pub failed: u64,
    /// The first few failures, for the report.
    pub errors: Vec<String>,
}

impl ChurnStats {
    fn fail(&mut self, what: String) {
        self.failed += 1;
        if self.errors.len() < KEPT_ERRORS {
            self.errors.push(what);
        }
    }
}

/// Adds and removes rules at `admin` every 0.3-1.5 s until `stop` turns true, then removes
/// every rule.
pub async fn churn(admin: SocketAddr, seed: u64, mut stop: watch::Receiver<bool>) -> ChurnStats {
    let mut rng = Rng::new(seed, 0xFA17);
    let mut stats = ChurnStats::default();
    let mut live: Vec<u64> = Vec::new();
    let mut last_clear = Instant::now();
    loop {
        let pause = Duration::from_millis(rng.between(300, 1500));
        tokio::select! {
            () = sleep(pause) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        if last_clear.elapsed() >= CLEAR_EVERY {
            last_clear = Instant::now();
            clear(admin, &mut stats).await;
            live.clear();
        } else if live.len() < 2 || (live.len() < MAX_RULES && rng.chance(0.55)) {
            let rule = random_rule(&mut rng);
            match control::call(admin, Method::POST, "/faults", Some(rule.to_string())).await {
                Ok((201, body)) => {
                    let id = serde_json::from_slice::<Value>(&body)
                        .ok()
                        .and_then(|v| v.get("id").and_then(Value::as_u64));
                    match id {
                        Some(id) => {
                            stats.added += 1;
                            live.push(id);
                        }
                        None => stats.fail(format!("POST /faults {rule}: 201 without an id")),
                    }
                }
                Ok((status, body)) => stats.fail(format!(
                    "POST /faults {rule}: {status} {}",
                    String::from_utf8_lossy(&body)
                )),
                Err(e) => stats.fail(format!("POST /faults: {e}")),
            }
        } else {
            let index = usize::try_from(rng.between(0, live.len() as u64 - 1)).unwrap_or(0);
            let id = live.swap_remove(index.min(live.len() - 1));
            match control::call(admin, Method::DELETE, &format!("/faults/{id}"), None).await {
                Ok((204, _)) => stats.removed += 1,
                Ok((404, _)) => stats.expired += 1,
                Ok((status, _)) => stats.fail(format!("DELETE /faults/{id}: {status}")),
                Err(e) => stats.fail(format!("DELETE /faults/{id}: {e}")),
            }
        }
    }
    clear(admin, &mut stats).await;
    stats
}

async fn clear(admin: SocketAddr, stats: &mut ChurnStats) {
    match control::call(admin, Method::DELETE, "/faults", None).await {
        Ok((204, _)) => stats.cleared += 1,
        Ok((status, _)) => stats.fail(format!("DELETE /faults: {status}")),
        Err(e) => stats.fail(format!("DELETE /faults: {e}")),
    }
}

/// A random rule: what it matches, for how long, and one action, with every wait short
/// enough that no answer takes more than a couple of seconds.
pub fn random_rule(rng: &mut Rng) -> Value {
    let mut rule = serde_json::Map::new();
    // Most rules aim at the route kept for them, some at the slow one, a few (rarely firing)
    // at every route but the control one (see `routes::Route::faultable`).
    match rng.between(0, 9) {
        0..=4 => {
            rule.insert("path_prefix".into(), json!("/faulted/"));
            rule.insert("percent".into(), json!(rng.between(20, 100)));
        }
        5 | 6 => {
            rule.insert("path_prefix".into(), json!("/slow-body/"));
            rule.insert("percent".into(), json!(rng.between(10, 60)));
        }
        7 => {
            rule.insert("path_prefix".into(), json!("/faulted/"));
            rule.insert("method".into(), json!("POST"));
        }
        _ => {
            rule.insert("header".into(), json!(FAULTABLE_HEADER));
            rule.insert("percent".into(), json!(rng.between(1, 8)));
        }
    }
    match rng.between(0, 2) {
        0 => {
            rule.insert("count".into(), json!(rng.between(1, 40)));
        }
        1 => {
            rule.insert("for".into(), json!(format!("{}s", rng.between(2, 20))));
        }
        _ => {}
    }
    let ms = |n: u64| json!(format!("{n}ms"));
    match rng.between(0, 11) {
        0..=2 => {
            let statuses = [
                520, 521, 522, 523, 524, 525, 526, 527, 530, 500, 502, 503, 504,
            ];
            let status = rng.pick(&statuses).copied().unwrap_or(520);
            rule.insert("status".into(), json!(status));
            rule.insert("delay".into(), ms(rng.between(1, 300)));
            if status == 530 && rng.chance(0.5) {
                rule.insert("code".into(), json!(1033));
            }
        }
        3 => {
            let edge = rng.pick(&[500, 502, 503, 504]).copied().unwrap_or(503);
            rule.insert("edge".into(), json!(edge));
        }
        4 => {
            let latency = rng.between(20, 450);
            rule.insert("latency".into(), ms(latency));
            if rng.chance(0.5) {
                rule.insert("jitter".into(), ms(rng.between(1, latency / 2 + 1)));
            }
        }
        5 => {
            rule.insert("refuse".into(), json!(true));
        }
        6 => {
            rule.insert("blackhole".into(), json!(true));
        }
        7 => {
            rule.insert("close_before_headers".into(), json!(true));
        }
        8 | 9 => {
            rule.insert("reset_after_bytes".into(), json!(rng.between(0, 1500)));
        }
        10 => {
            rule.insert("bandwidth".into(), json!(rng.between(2000, 50_000)));
        }
        _ => {
            rule.insert("slow_close".into(), ms(rng.between(20, 250)));
        }
    }
    Value::Object(rule)
}
