//! Scenarios (fault timelines) through the real binary, as a load test drives them: phases of
//! about a second on the clock, a client sending steadily, and each phase's answers and the
//! report's counts checked against what the client saw (by ray, through `GET /requests`);
//! boundaries within 10 ms of their due time; a request held across a boundary keeping its
//! phase; the control API's routes and refusals; and `--scenario`, `--exit-after-scenario`
//! and `--report` from the command line. The library's side is in `scenario_library.rs`.
#[path = "control_api/admin.rs"]
mod admin;
mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use http::{Method, Request};
use serde_json::{Value, json};
use tokio::time::Instant;

use admin::{Edgecase, array_of, error_of, json_of};
use support::binary::{EXIT_BAD_CONFIG, Running, assert_exit_code, assert_no_panic, path_arg, run};
use support::origins::Origin;
use support::pki::TempDir;
use support::visitor::{Response, get, send, within};
use support::{GUARD, ms};

/// A three-phase incident of one second each: healthy, half 524s, refused.
const BROWNOUT: &str = r#"
[emulation]
seed = 7

[[scenario]]
name = "brownout"

[[scenario.phase]]
name = "healthy"
for = "1s"

[[scenario.phase]]
name = "flaky"
for = "1s"
faults = [ { percent = 50.0, status = 524, delay = "20ms" } ]

[[scenario.phase]]
name = "down"
for = "1s"
faults = [ { refuse = true } ]
"#;

/// Seconds since midnight of an RFC 3339 UTC stamp with milliseconds.
#[track_caller]
fn seconds_of_day(stamp: &Value) -> f64 {
    let text = stamp.as_str().unwrap_or_else(|| panic!("a stamp: {stamp}"));
    assert!(
        text.ends_with('Z') && text.len() == 24,
        "RFC 3339 with ms: {text}"
    );
    let time = &text[11..23];
    let h: f64 = time[0..2].parse().expect("hours");
    let m: f64 = time[3..5].parse().expect("minutes");
    let s: f64 = time[6..].parse().expect("seconds");
    h * 3600.0 + m * 60.0 + s
}

/// `b - a` in whole ms (the stamps' precision, so float noise never counts), across midnight too.
fn ms_between(a: &Value, b: &Value) -> f64 {
    let d = seconds_of_day(b) - seconds_of_day(a);
    ((if d < -43_200.0 { d + 86_400.0 } else { d }) * 1000.0).round()
}

#[tokio::test]
async fn each_phase_answers_as_written_and_the_report_counts_what_the_client_saw() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("scenario_phases", origin.addr(), "", BROWNOUT).await;
    let listed = array_of(&edgecase.get("/scenarios").await);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["name"], "brownout");
    assert_eq!(listed[0]["state"], "idle");

    let started = edgecase.post("/scenarios/brownout/start", "").await;
    assert_eq!(started.status(), 200, "{}", started.text());
    let started = json_of(&started);
    assert_eq!(started["state"], "running", "{started}");
    assert_eq!(started["phase"], "healthy", "{started}");
    let left = started["left_ms"].as_u64().expect("time left in the phase");
    assert!((900..=1000).contains(&left), "{started}");

    // A client sending steadily until the scenario is over, and a little after.
    let seen = steady_client(edgecase.edge, ms(3150)).await;
    let report = json_of(&edgecase.get("/scenarios/brownout").await);
    assert_eq!(report["name"], "brownout", "{report}");
    assert_eq!(report["state"], "done", "{report}");
    let runs = report["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "{report}");
    let phases = runs[0]["phases"].as_array().expect("phases");
    let names: Vec<&str> = phases.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["healthy", "flaky", "down"]);

    // Phase boundaries on the clock: each starts within 10 ms of its due time, and ends where
    // the next starts.
    for (index, phase) in phases.iter().enumerate() {
        let late = ms_between(&runs[0]["started"], &phase["started"]) - 1000.0 * index as f64;
        assert!(
            (-1.0..=10.0).contains(&late),
            "phase {index} started {late} ms late: {report}"
        );
        let length = ms_between(&phase["started"], &phase["ended"]);
        assert!(
            (990.0..=1010.0).contains(&length),
            "phase {index} lasted {length} ms"
        );
    }
    assert_eq!(phases[2]["ended"], runs[0]["ended"]);

    // Which phase each of the client's requests arrived in, by its ray.
    let records = array_of(&edgecase.get("/requests?limit=1000").await);
    let (by_phase, after) = tally_by_phase(&records, &seen);
    assert!(
        after.iter().all(|&status| status == 200),
        "after the scenario the edge is healthy again: {after:?}"
    );
    assert!(!after.is_empty(), "the client went on past the end");
    let statuses = |name: &str| by_phase.get(name).cloned().unwrap_or_default();
    assert_eq!(statuses("healthy").keys().collect::<Vec<_>>(), ["200"]);
    assert_eq!(
        statuses("flaky").keys().collect::<Vec<_>>(),
        ["200", "524"],
        "{by_phase:?}"
    );
    assert_eq!(statuses("down").keys().collect::<Vec<_>>(), ["521"]);

    // The report's counts are the client's, phase by phase.
    for phase in phases {
        let name = phase["name"].as_str().expect("a name");
        assert_phase_report(phase, &statuses(name));
    }
    let flaky = &phases[1];
    assert_eq!(
        flaky["causes"]["read_timeout"],
        client_count(&by_phase, "flaky", "524")
    );
    assert!(
        flaky["time_ms"]["max"].as_f64().is_some_and(|t| t >= 20.0),
        "{flaky}"
    );
    assert_eq!(
        phases[2]["causes"]["refused"],
        client_count(&by_phase, "down", "521")
    );
    assert!(
        phases[0]["bytes"].as_u64().is_some_and(|b| b >= 6),
        "{}",
        phases[0]
    );

    // The page for a browser: the same report with its chart.
    let page = edgecase
        .call_with_accept("/scenarios/brownout", "text/html,application/xhtml+xml,*/*")
        .await;
    assert_eq!(page.status(), 200);
    assert!(
        page.header("content-type")
            .unwrap_or_default()
            .starts_with("text/html")
    );
    for name in ["brownout", "healthy", "flaky", "down"] {
        assert!(page.text().contains(name), "{name} on the page");
    }
    edgecase.stop().await;
}

/// One phase of the report: its counts by status are the client's (`client`), it saw many
/// requests and at least one in flight, and its times are positive and ordered.
#[track_caller]
fn assert_phase_report(phase: &Value, client: &BTreeMap<String, u64>) {
    let name = phase["name"].as_str().expect("a name");
    let reported: BTreeMap<String, u64> =
        serde_json::from_value(phase["statuses"].clone()).expect("statuses by code");
    assert_eq!(&reported, client, "phase {name}: {phase}");
    let total: u64 = client.values().sum();
    assert_eq!(phase["requests"], total, "{phase}");
    assert!(
        total >= 40,
        "a steady client sent many requests in {name}: {total}"
    );
    assert!(
        phase["max_in_flight"].as_u64().is_some_and(|n| n >= 1),
        "{phase}"
    );
    let time = &phase["time_ms"];
    for key in ["p50", "p95", "p99", "max"] {
        assert!(
            time[key].as_f64().is_some_and(|t| t > 0.0),
            "{key}: {phase}"
        );
    }
    assert!(time["p50"].as_f64() <= time["max"].as_f64(), "{phase}");
}

/// Sends `GET /` to `edge` every 10 ms for `how_long`: each answer's ray and status, in order.
async fn steady_client(edge: SocketAddr, how_long: Duration) -> Vec<(String, u16)> {
    let begun = Instant::now();
    let mut seen = Vec::new();
    while begun.elapsed() < how_long {
        let res = within(GUARD, get(edge, "/")).await;
        let ray = res
            .header("cf-ray")
            .expect("every answer has a ray")
            .to_owned();
        seen.push((ray, res.status().as_u16()));
        tokio::time::sleep(ms(10)).await;
    }
    seen
}

/// The client's answers `seen` counted by the phase `/requests` (`records`) says each arrived
/// in, then by status; and the statuses of those that arrived in no phase (after the end).
fn tally_by_phase(
    records: &[Value],
    seen: &[(String, u16)],
) -> (BTreeMap<String, BTreeMap<String, u64>>, Vec<u16>) {
    let phase_of: BTreeMap<&str, &Value> = records
        .iter()
        .map(|r| (r["ray"].as_str().unwrap_or_default(), &r["phase"]))
        .collect();
    let mut by_phase: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut after = Vec::new();
    for (ray, status) in seen {
        let phase = phase_of
            .get(ray.as_str())
            .unwrap_or_else(|| panic!("ray {ray} in /requests"));
        match phase.as_str() {
            Some(phase) => {
                *by_phase
                    .entry(phase.to_owned())
                    .or_default()
                    .entry(status.to_string())
                    .or_default() += 1;
            }
            None => after.push(*status),
        }
    }
    (by_phase, after)
}

fn client_count(
    by_phase: &BTreeMap<String, BTreeMap<String, u64>>,
    phase: &str,
    status: &str,
) -> u64 {
    by_phase
        .get(phase)
        .and_then(|s| s.get(status))
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn a_request_held_across_a_boundary_keeps_its_phase() {
    let origin = Origin::ok("origin").await;
    let rest = r#"
[[scenario]]
name = "handover"
[[scenario.phase]]
name = "slow"
for = "1s"
faults = [ { path_prefix = "/held", latency = "600ms" } ]
[[route]]
path_prefix = "/held"
timeouts = { read = "2s" }
[[scenario.phase]]
name = "refusing"
for = "1s"
faults = [ { refuse = true } ]
"#;
    let edgecase = Edgecase::start("scenario_handover", origin.addr(), "", rest).await;
    let started = edgecase.post("/scenarios/handover/start", "").await;
    assert_eq!(started.status(), 200, "{}", started.text());
    tokio::time::sleep(ms(700)).await;
    let edge = edgecase.edge;
    let held = tokio::spawn(async move { within(GUARD, get(edge, "/held")).await });
    tokio::time::sleep(ms(500)).await;
    let refused = edgecase.visit("/").await;
    assert_eq!(refused.status(), 521, "the second phase refuses");
    let held = held.await.expect("the held request's task");
    assert_eq!(
        held.status(),
        200,
        "decided in the first phase, answered in the second"
    );

    let ray = held.header("cf-ray").expect("a ray");
    let record = array_of(&edgecase.get(&format!("/requests?ray={ray}")).await);
    assert_eq!(record.len(), 1, "{record:?}");
    assert_eq!(record[0]["scenario"], "handover");
    assert_eq!(record[0]["phase"], "slow");
    assert!(
        record[0]["total_ms"].as_f64().is_some_and(|t| t >= 600.0),
        "{record:?}"
    );

    let stopped = json_of(&edgecase.post("/scenarios/handover/stop", "").await);
    assert_eq!(stopped["state"], "done", "{stopped}");
    let report = json_of(&edgecase.get("/scenarios/handover").await);
    assert_eq!(report["stopped"], true, "{report}");
    let phases = &report["runs"][0]["phases"];
    assert_eq!(phases[0]["statuses"], json!({"200": 1}), "{report}");
    assert_eq!(phases[1]["statuses"], json!({"521": 1}), "{report}");
    assert!(
        phases[1]["ended"].is_string(),
        "a stop ends the phase in force: {report}"
    );
    edgecase.stop().await;
}

/// `outage`: healthy for 200 ms, then 522s for 300 ms, round and round (`repeat = 0`).
fn outage() -> Value {
    json!({
        "name": "outage",
        "repeat": 0,
        "phase": [
            {"name": "healthy", "for": "200ms"},
            {"name": "down", "for": "300ms", "faults": [{"status": 522, "delay": "0ms"}]}
        ]
    })
}

/// A scenario with three mistakes: a phase of no length, a fault answering 200, and a phase
/// without a name.
fn bad_scenario() -> Value {
    json!({
        "name": "bad",
        "phase": [{"name": "p", "for": "0s", "faults": [{"status": 200}]}, {"for": "1s"}]
    })
}

/// A scenario whose fault misspells `status`.
fn typo_scenario() -> Value {
    json!({"name": "t", "phase": [{"name": "p", "for": "1s", "faults": [{"statuss": 522}]}]})
}

/// The names `GET /scenarios` lists, in order.
async fn scenario_names(edgecase: &Edgecase) -> Vec<Value> {
    array_of(&edgecase.get("/scenarios").await)
        .iter()
        .map(|s| s["name"].clone())
        .collect()
}

/// `POST path` on the control API `admin` as a web page at `https://evil.example` sends it.
async fn post_from_a_web_page(admin: SocketAddr, path: &str) -> Response {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("origin", "https://evil.example")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .expect("a request");
    within(GUARD, send(admin, request)).await
}

/// Asserts `GET /scenarios` (`listed`) shows `outage` running round and round, at least in
/// its second run and within its last phase's length, and `other` idle.
#[track_caller]
fn assert_outage_going_round(listed: &[Value]) {
    assert_eq!(listed[0]["state"], "running", "{listed:?}");
    assert!(
        listed[0]["run"].as_u64().is_some_and(|r| r >= 2),
        "{listed:?}"
    );
    assert!(
        listed[0]["left_ms"].as_u64().is_some_and(|l| l <= 300),
        "{listed:?}"
    );
    assert_eq!(listed[1]["state"], "idle");
}

#[tokio::test]
async fn the_control_api_adds_lists_starts_one_at_a_time_and_stops() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("scenario_api", origin.addr(), "", "").await;
    let body = outage();
    let added = edgecase.post("/scenarios", &body.to_string()).await;
    assert_eq!(added.status(), 201, "{}", added.text());
    assert_eq!(
        json_of(&added)["phases"][1],
        json!({"name": "down", "for": "300ms"})
    );
    let again = edgecase.post("/scenarios", &body.to_string()).await;
    assert!(error_of(&again, 409).contains("outage"));
    let other = json!({"name": "other", "phase": [{"name": "p", "for": "1s"}]});
    assert_eq!(
        edgecase
            .post("/scenarios", &other.to_string())
            .await
            .status(),
        201
    );

    let bad = bad_scenario();
    let why = error_of(&edgecase.post("/scenarios", &bad.to_string()).await, 400);
    for key in ["phase[0].for", "phase[0].faults[0].status", "phase[1].name"] {
        assert!(why.contains(key), "{key} in {why}");
    }
    let typo = typo_scenario();
    let why = error_of(&edgecase.post("/scenarios", &typo.to_string()).await, 400);
    assert!(why.contains("statuss"), "{why}");
    assert_eq!(
        scenario_names(&edgecase).await,
        [json!("outage"), json!("other")],
        "nothing bad was added"
    );

    let running = json_of(&edgecase.post("/scenarios/outage/start", "").await);
    assert_eq!(running["state"], "running");
    assert!(error_of(&edgecase.post("/scenarios/outage/start", "").await, 409).contains("outage"));
    assert!(
        error_of(&edgecase.post("/scenarios/other/start", "").await, 409).contains("one scenario")
    );
    // `repeat = 0`: round and round until stopped.
    tokio::time::sleep(ms(1100)).await;
    assert_outage_going_round(&array_of(&edgecase.get("/scenarios").await));
    let stopped = json_of(&edgecase.post("/scenarios/outage/stop", "").await);
    assert_eq!(stopped["state"], "done");
    assert!(stopped.get("phase").is_none(), "{stopped}");
    assert_eq!(
        edgecase.visit("/").await.status(),
        200,
        "a stop ends the phase's faults"
    );
    let again = json_of(&edgecase.post("/scenarios/outage/stop", "").await);
    assert_eq!(again["state"], "done", "stopping twice is harmless");
    let report = json_of(&edgecase.get("/scenarios/outage").await);
    assert!(
        report["runs"].as_array().is_some_and(|r| r.len() >= 2),
        "{report}"
    );

    assert!(error_of(&edgecase.get("/scenarios/nope").await, 404).contains("nope"));
    assert_eq!(
        edgecase.post("/scenarios/nope/start", "").await.status(),
        404
    );
    assert_eq!(edgecase.delete("/scenarios").await.status(), 405);
    assert_eq!(edgecase.get("/scenarios/outage/start").await.status(), 405);

    // A web page the developer opens must not start one.
    let refused = post_from_a_web_page(edgecase.admin, "/scenarios/other/start").await;
    assert_eq!(refused.status(), 403, "{}", refused.text());
    assert_eq!(
        array_of(&edgecase.get("/scenarios").await)[1]["state"],
        "idle"
    );
    edgecase.stop().await;
}

const QUICK: &str = r#"
[[scenario]]
name = "quick"
[[scenario.phase]]
name = "up"
for = "300ms"
[[scenario.phase]]
name = "refused"
for = "300ms"
faults = [ { refuse = true } ]
"#;

#[tokio::test]
async fn exit_after_scenario_prints_the_table_and_writes_the_report() {
    let origin = Origin::ok("origin").await;
    let dir = TempDir::new("scenario_cli");
    let file = dir.write("incident.toml", &admin::config(origin.addr(), "", QUICK));
    let report = dir.path().join("report.json");
    let mut running = Running::spawn(&[
        "--config",
        path_arg(&file),
        "--scenario",
        "quick",
        "--exit-after-scenario",
        "--report",
        path_arg(&report),
    ]);
    let (_, edge) = running.listening().await;
    let begun = Instant::now();
    let mut statuses = Vec::new();
    while begun.elapsed() < ms(500) {
        statuses.push(within(GUARD, get(edge, "/")).await.status().as_u16());
        tokio::time::sleep(ms(20)).await;
    }
    let outcome = running.finish(GUARD).await;
    assert_exit_code(&outcome, 0);
    assert_no_panic(&outcome);
    assert!(
        statuses.contains(&200) && statuses.contains(&521),
        "{statuses:?}"
    );
    assert!(
        begun.elapsed() < Duration::from_secs(3),
        "exits once the 600 ms are over"
    );
    assert!(
        outcome.stdout.contains("scenario \"quick\": done, 1 run"),
        "{}",
        outcome.stdout
    );
    for phase in ["up", "refused"] {
        assert!(
            outcome
                .stdout
                .lines()
                .any(|l| l.trim_start().starts_with(phase)),
            "{phase}"
        );
    }
    assert!(outcome.stdout.contains("521:"), "{}", outcome.stdout);
    let written: Value =
        serde_json::from_slice(&std::fs::read(&report).expect("the report file")).expect("JSON");
    assert_eq!(written["name"], "quick");
    assert_eq!(written["state"], "done");
    let phases = &written["runs"][0]["phases"];
    let reported_521 = phases[1]["statuses"]["521"].as_u64().unwrap_or(0);
    let seen_521 = statuses.iter().filter(|s| **s == 521).count() as u64;
    assert_eq!(reported_521, seen_521, "{written}");
}

#[tokio::test]
async fn scenario_flags_without_a_scenario_are_refused_before_binding() {
    let origin = Origin::ok("origin").await;
    let dir = TempDir::new("scenario_flags");
    let file = dir.write("incident.toml", &admin::config(origin.addr(), "", QUICK));
    let unknown = run(&["--config", path_arg(&file), "--scenario", "nope"]).await;
    assert_exit_code(&unknown, EXIT_BAD_CONFIG);
    assert!(
        unknown
            .stderr
            .contains("no [[scenario]] named \"nope\"; the config has \"quick\""),
        "{}",
        unknown.stderr
    );
    let alone = run(&["--config", path_arg(&file), "--exit-after-scenario"]).await;
    assert_exit_code(&alone, EXIT_BAD_CONFIG);
    assert!(alone.stderr.contains("--scenario NAME"), "{}", alone.stderr);

    let bad = "[[scenario]]\nname = \"a b\"\nstart = \"soon\"\n[[scenario.phase]]\nfor = \"1x\"\n\
               faults = [ { status = 200, refuse = true } ]\n[[scenario.phase]]\nname = \"p\"\n\
               for = \"1s\"\nfaults = [ { percent = 30.0, statuss = 524 } ]\n";
    let file = dir.write("bad.toml", bad);
    let checked = run(&["--config", path_arg(&file), "--check"]).await;
    assert_exit_code(&checked, EXIT_BAD_CONFIG);
    for key in [
        "scenario[0].name",
        "scenario[0].start",
        "scenario[0].phase[0].name",
        "scenario[0].phase[0].for",
        "scenario[0].phase[0].faults[0]",
        "scenario[0].phase[1].faults[0].statuss",
    ] {
        assert!(checked.stderr.contains(key), "{key} in {}", checked.stderr);
    }
}

#[tokio::test]
async fn an_at_launch_scenario_runs_as_edgecase_starts_and_names_its_requests_in_the_log() {
    let origin = Origin::ok("origin").await;
    let dir = TempDir::new("scenario_launch");
    let text = admin::config(
        origin.addr(),
        "",
        &QUICK.replace(
            "name = \"quick\"",
            "name = \"quick\"\nstart = \"at_launch\"",
        ),
    );
    let file = dir.write("incident.toml", &text);
    let mut running = Running::spawn(&["--config", path_arg(&file), "--exit-after-scenario"]);
    let (_, edge) = running.listening().await;
    assert_eq!(within(GUARD, get(edge, "/")).await.status(), 200);
    tokio::time::sleep(ms(350)).await;
    assert_eq!(within(GUARD, get(edge, "/")).await.status(), 521);
    let outcome = running.finish(GUARD).await;
    assert_exit_code(&outcome, 0);
    let lines: Vec<&str> = outcome
        .stdout
        .lines()
        .filter(|l| l.contains(" ray="))
        .collect();
    assert_eq!(lines.len(), 2, "{}", outcome.stdout);
    assert!(
        lines[0].contains("scenario=\"quick\" phase=\"up\""),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("scenario=\"quick\" phase=\"refused\""),
        "{}",
        lines[1]
    );
    assert!(
        outcome.stderr.contains("phase \"refused\""),
        "phase changes are logged"
    );
}
