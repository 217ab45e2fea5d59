//! Shared by the `edgecase diagnose` tests (`diagnose.rs`, `diagnose_tls.rs`,
//! `diagnose_bundle.rs`): the config file a diagnosis reads ([`DiagnoseConfig`], written to a
//! temp dir as a user would write it, with millisecond timeouts and static DNS only), the
//! binary run twice on it, once for the table and once for `--json` ([`diagnose`]), and the
//! assertions that read both outputs the same way ([`Diagnosed`]).
//!
//! This module starts no origin and no edge: the tests make their origins with
//! `support/origins.rs` and `support/tls_origins.rs`, and, where a diagnosis is compared with
//! the proxy, start the edge with `support::spawn_edge` on [`DiagnoseConfig::config`].

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use edgecase::config::{Config, Overrides};

use super::binary::{Outcome, assert_exit_code, assert_no_panic, path_arg, run};
use super::pki::TempDir;

/// A timeout a test waits for on purpose, in milliseconds.
pub const SHORT_MS: u64 = 300;

/// A timeout a test expects never to fire, in milliseconds.
pub const LONG_MS: u64 = 2_000;

/// How late a timeout may fire (debug build, 2 cores, tests and child processes in parallel).
pub const SLACK: Duration = Duration::from_millis(400);

/// The stages of the JSON document, in order.
pub const STAGES: [&str; 5] = ["dns", "connect", "tls", "http", "keep_alive"];

/// The table's name of a JSON stage (`keep_alive` is `keep-alive` in the table).
pub fn label(stage: &str) -> &str {
    match stage {
        "keep_alive" => "keep-alive",
        other => other,
    }
}

/// The title a visitor's page carries for the edge's `status` (with 1xxx `code`), as
/// Cloudflare names them: written out here rather than taken from the crate under test.
#[track_caller]
pub fn expected_title(status: u16, code: Option<u16>) -> &'static str {
    match (status, code) {
        (530, Some(1016)) => "Origin DNS error",
        (502, None) => "Bad gateway",
        (504, None) => "Gateway time-out",
        (520, None) => "Web server is returning an unknown error",
        (521, None) => "Web server is down",
        (522, None) => "Connection timed out",
        (523, None) => "Origin is unreachable",
        (524, None) => "A timeout occurred",
        (525, None) => "SSL handshake failed",
        (526, None) => "Invalid SSL certificate",
        (527, None) => "Railgun Listener to origin error",
        other => panic!("no expected title for {other:?}"),
    }
}

/// An edgecase config file under construction, as a user would write it: `[origin] address`,
/// extra `[origin]` keys, every timeout, `[dns] system = false` with a `hosts` map, explained
/// causes (for the proxy comparison), no admin listener, and any further tables.
pub struct DiagnoseConfig {
    /// Where the file (and any CA or CRL it names) is written.
    pub files: TempDir,
    edge: String,
    address: String,
    origin: String,
    connect_ms: u64,
    ack_ms: u64,
    write_ms: u64,
    read_ms: u64,
    hosts: Vec<String>,
    ssl: String,
    tail: String,
}

impl DiagnoseConfig {
    /// `[origin] address = address`, timeouts that do not fire, no `[dns] hosts`.
    pub fn new(address: impl ToString) -> DiagnoseConfig {
        DiagnoseConfig {
            files: TempDir::new("diagnose"),
            edge: String::new(),
            address: address.to_string(),
            origin: String::new(),
            connect_ms: LONG_MS,
            ack_ms: LONG_MS,
            write_ms: LONG_MS,
            read_ms: LONG_MS,
            hosts: Vec::new(),
            ssl: "off".to_owned(),
            tail: String::new(),
        }
    }

    /// Adds `key = value` (value already TOML) to `[edge]`.
    pub fn edge(mut self, key: &str, value: &str) -> DiagnoseConfig {
        self.edge.push_str(&format!("{key} = {value}\n"));
        self
    }

    /// Adds `key = value` (value already TOML) to `[origin]`.
    pub fn origin(mut self, key: &str, value: &str) -> DiagnoseConfig {
        self.origin.push_str(&format!("{key} = {value}\n"));
        self
    }

    /// `[origin] ssl` (`off` unless set: these tests were written for that mode; the default,
    /// `automatic`, has tests of its own).
    pub fn ssl(mut self, mode: &str) -> DiagnoseConfig {
        self.ssl = mode.to_owned();
        self
    }

    /// Writes `contents` to `name` beside the config and sets `[origin] key` to its path.
    pub fn origin_file(self, key: &str, name: &str, contents: &str) -> DiagnoseConfig {
        let path = self.files.write(name, contents);
        let value = format!("{:?}", path.display().to_string());
        self.origin(key, &value)
    }

    /// `[timeouts] connect`, in ms.
    pub fn connect_ms(mut self, ms: u64) -> DiagnoseConfig {
        self.connect_ms = ms;
        self
    }

    /// `[timeouts] read`, in ms.
    pub fn read_ms(mut self, ms: u64) -> DiagnoseConfig {
        self.read_ms = ms;
        self
    }

    /// `[dns] hosts`: `name` resolves to `ips`, in that order.
    pub fn host(mut self, name: &str, ips: &[&str]) -> DiagnoseConfig {
        let list: Vec<String> = ips.iter().map(|ip| format!("{ip:?}")).collect();
        self.hosts.push(format!("{name:?} = [{}]", list.join(", ")));
        self
    }

    /// Appends TOML after the rest (`[limits]`, `[railgun]`, `[[route]]`...).
    pub fn tail(mut self, text: &str) -> DiagnoseConfig {
        self.tail.push_str(text);
        if !self.tail.ends_with('\n') {
            self.tail.push('\n');
        }
        self
    }

    /// The file's text.
    pub fn toml(&self) -> String {
        format!(
            "[edge]\nlisten = \"127.0.0.1:0\"\nshutdown_grace = \"2s\"\n{}\
             [origin]\naddress = {:?}\nssl = {:?}\n{}\
             [timeouts]\nconnect = \"{}ms\"\nack = \"{}ms\"\nwrite = \"{}ms\"\nread = \"{}ms\"\n\
             [dns]\nsystem = false\nhosts = {{ {} }}\n\
             [emulation]\nexplain = true\n\
             [admin]\nenabled = false\n\
             [log]\naccess = \"off\"\n{}",
            self.edge,
            self.address,
            self.ssl,
            self.origin,
            self.connect_ms,
            self.ack_ms,
            self.write_ms,
            self.read_ms,
            self.hosts.join(", "),
            self.tail
        )
    }

    /// Writes the file (again) and returns its path.
    pub fn write(&self) -> PathBuf {
        self.files.write("edgecase.toml", &self.toml())
    }

    /// The file as the edge loads it (`Config::load`), for the proxy comparison.
    pub fn config(&self) -> Config {
        let path = self.write();
        Config::load(&path, &Overrides::default())
            .unwrap_or_else(|e| panic!("the config should load: {e}\n{}", self.toml()))
    }
}

/// One diagnosis, run twice with the same arguments: for the table, and with `--json`.
pub struct Diagnosed {
    /// The table run.
    pub table_run: Outcome,
    /// The `--json` run.
    pub json_run: Outcome,
    /// The table run's stdout.
    pub table: String,
    /// The `--json` run's document.
    pub json: Value,
}

/// Runs `edgecase diagnose --config FILE args...` for the table and for `--json`, at the same
/// time (two processes), after writing `config`.
pub async fn diagnose(config: &DiagnoseConfig, args: &[&str]) -> Diagnosed {
    let path = config.write();
    let mut table_args = vec!["diagnose", "--config", path_arg(&path)];
    table_args.extend_from_slice(args);
    let mut json_args = table_args.clone();
    json_args.push("--json");
    diagnose_args(&table_args, &json_args).await
}

/// Runs `edgecase diagnose args...` (no config file) for the table and for `--json`.
pub async fn diagnose_without_config(args: &[&str]) -> Diagnosed {
    let mut table_args = vec!["diagnose"];
    table_args.extend_from_slice(args);
    let mut json_args = table_args.clone();
    json_args.push("--json");
    diagnose_args(&table_args, &json_args).await
}

async fn diagnose_args(table_args: &[&str], json_args: &[&str]) -> Diagnosed {
    let (table_run, json_run) = tokio::join!(run(table_args), run(json_args));
    assert_no_panic(&table_run);
    assert_no_panic(&json_run);
    let json = parse_json(&json_run);
    let table = table_run.stdout.clone();
    if std::env::var_os("SHOW_DIAGNOSE").is_some() {
        eprintln!(
            "=== {table_args:?}\n{table}\nexit {:?}",
            table_run.status.code()
        );
    }
    Diagnosed {
        table_run,
        json_run,
        table,
        json,
    }
}

/// The one JSON document on a `--json` run's stdout.
#[track_caller]
pub fn parse_json(outcome: &Outcome) -> Value {
    serde_json::from_str(&outcome.stdout).unwrap_or_else(|e| {
        panic!(
            "--json should print one JSON document ({e}); stdout:\n{}\nstderr:\n{}",
            outcome.stdout, outcome.stderr
        )
    })
}

/// One stage's row of the table.
#[derive(Debug)]
pub struct Row {
    /// The RESULT cell: `✓`, `⚠`, `–`, `✗ 521`, `✗ 530 (1016)`.
    pub result: String,
    /// The TIME cell (`0.21 ms`), empty for a skipped stage.
    pub time: String,
    /// The WHAT WAS SEEN lines, continuation lines included.
    pub seen: Vec<String>,
}

impl Row {
    /// Every "what was seen" line as one text.
    pub fn seen_text(&self) -> String {
        self.seen.join("\n")
    }
}

/// The rows of the table in `text`, by stage label, in order; columns found from the header
/// line's titles.
#[track_caller]
pub fn table_rows(text: &str) -> Vec<(String, Row)> {
    let lines: Vec<&str> = text.lines().collect();
    let header_at = lines
        .iter()
        .position(|line| line.trim_start().starts_with("STAGE") && line.contains("RESULT"))
        .unwrap_or_else(|| panic!("no STAGE RESULT TIME header in the table:\n{text}"));
    let header = lines[header_at];
    let column = |title: &str| {
        let byte = header
            .find(title)
            .unwrap_or_else(|| panic!("no {title} column in {header:?}"));
        header[..byte].chars().count()
    };
    let (stage_col, result_col, time_col, seen_col) = (
        column("STAGE"),
        column("RESULT"),
        column("TIME"),
        column("WHAT WAS SEEN"),
    );
    let cell = |chars: &[char], from: usize, to: usize| -> String {
        let end = to.min(chars.len());
        if from >= end {
            return String::new();
        }
        chars[from..end]
            .iter()
            .collect::<String>()
            .trim()
            .to_owned()
    };
    let mut rows: Vec<(String, Row)> = Vec::new();
    for line in &lines[header_at + 1..] {
        if line.trim().is_empty() {
            break;
        }
        let chars: Vec<char> = line.chars().collect();
        let stage = cell(&chars, stage_col, result_col);
        let seen = cell(&chars, seen_col, usize::MAX);
        if stage.is_empty() {
            let (_, row) = rows
                .last_mut()
                .unwrap_or_else(|| panic!("a continuation line before any row: {line:?}"));
            row.seen.push(seen);
            continue;
        }
        rows.push((
            stage,
            Row {
                result: cell(&chars, result_col, time_col),
                time: cell(&chars, time_col, seen_col),
                seen: vec![seen],
            },
        ));
    }
    rows
}

/// The verdict line of a table: the first line starting with `✓ A visitor` or `✗ A visitor`.
#[track_caller]
pub fn verdict_line(text: &str) -> &str {
    text.lines()
        .find(|line| line.starts_with("✓ A visitor") || line.starts_with("✗ A visitor"))
        .unwrap_or_else(|| panic!("no verdict line in the table:\n{text}"))
}

/// The bullets under `What to check (<stage>, <why>):`, or `None` without that heading.
pub fn checks(text: &str, stage_label: &str, why: &str) -> Option<Vec<String>> {
    let heading = format!("What to check ({stage_label}, {why}):");
    let mut lines = text.lines().skip_while(|line| line.trim() != heading);
    lines.next()?;
    Some(
        lines
            .take_while(|line| line.trim_start().starts_with('•'))
            .map(|line| line.trim_start().trim_start_matches('•').trim().to_owned())
            .collect(),
    )
}

/// A JSON number as milliseconds.
#[track_caller]
pub fn millis(value: &Value) -> Duration {
    let ms = value
        .as_f64()
        .unwrap_or_else(|| panic!("{value} is not a number of milliseconds"));
    Duration::from_secs_f64(ms / 1000.0)
}

impl Diagnosed {
    /// Both outputs, for failure messages.
    pub fn both(&self) -> String {
        format!(
            "table (exit {:?}):\n{}\nstderr:\n{}\njson (exit {:?}):\n{}\nstderr:\n{}",
            self.table_run.status.code(),
            self.table,
            self.table_run.stderr,
            self.json_run.status.code(),
            serde_json::to_string_pretty(&self.json).unwrap_or_default(),
            self.json_run.stderr
        )
    }

    /// The JSON stage named `name`.
    #[track_caller]
    pub fn stage(&self, name: &str) -> &Value {
        self.json["stages"]
            .as_array()
            .and_then(|stages| stages.iter().find(|s| s["stage"] == name))
            .unwrap_or_else(|| panic!("no stage {name} in the JSON:\n{}", self.both()))
    }

    /// The JSON stage's `result`.
    #[track_caller]
    pub fn result(&self, name: &str) -> &str {
        self.stage(name)["result"]
            .as_str()
            .unwrap_or_else(|| panic!("stage {name} has no result:\n{}", self.both()))
    }

    /// The table row of the JSON stage `name`.
    #[track_caller]
    pub fn row(&self, name: &str) -> Row {
        let label = label(name);
        table_rows(&self.table)
            .into_iter()
            .find(|(stage, _)| stage == label)
            .map(|(_, row)| row)
            .unwrap_or_else(|| panic!("no {label} row in the table:\n{}", self.table))
    }

    /// The table's verdict line.
    pub fn verdict_line(&self) -> &str {
        verdict_line(&self.table)
    }

    /// Asserts the exit code of both runs.
    #[track_caller]
    pub fn assert_exit(&self, code: i32) {
        assert_exit_code(&self.table_run, code);
        assert_exit_code(&self.json_run, code);
    }

    /// Asserts the shape both outputs always have: the JSON's top-level members, five stages
    /// in order, and one table row per stage in the same order with the same marks.
    #[track_caller]
    pub fn assert_shape(&self) {
        let json = &self.json;
        for key in ["edgecase", "time", "ray", "subject", "verdict", "stages"] {
            assert!(
                json.get(key).is_some(),
                "no {key} in the JSON:\n{}",
                self.both()
            );
        }
        let names: Vec<&str> = json["stages"]
            .as_array()
            .expect("stages is a list")
            .iter()
            .map(|s| s["stage"].as_str().expect("a stage name"))
            .collect();
        assert_eq!(names, STAGES, "{}", self.both());
        let rows = table_rows(&self.table);
        let labels: Vec<&str> = rows.iter().map(|(stage, _)| stage.as_str()).collect();
        let expected: Vec<&str> = STAGES.iter().map(|s| label(s)).collect();
        assert_eq!(labels, expected, "{}", self.both());
        for (stage, (_, row)) in STAGES.iter().zip(&rows) {
            let mark = match self.result(stage) {
                "passed" => "✓",
                "warning" => "⚠",
                "failed" => "✗",
                "skipped" => "–",
                other => panic!("stage {stage} has result {other:?}:\n{}", self.both()),
            };
            assert!(
                row.result.starts_with(mark),
                "{stage}: the table shows {:?}, the JSON {}:\n{}",
                row.result,
                self.result(stage),
                self.both()
            );
            // The two runs are two processes: whether a stage was timed may differ between
            // them (an origin's FIN seen before or after the pool's checkout), its result not.
            if self.result(stage) == "skipped" {
                assert!(
                    self.stage(stage)["ms"].is_null() && row.time.is_empty(),
                    "{stage}: a skipped stage has no time:\n{}",
                    self.both()
                );
            }
        }
    }

    /// Asserts a visitor would get the edge's `status` (with 1xxx `code`) for `cause`, the
    /// stage `stage` failing: exit 1, in the JSON (verdict, the stage's failure, what to
    /// check, the stages after it skipped) and in the table (the row's `✗ status`, the
    /// verdict line, the "What to check" list).
    #[track_caller]
    pub fn assert_edge_error(&self, stage: &str, status: u16, code: Option<u16>, cause: &str) {
        self.assert_shape();
        self.assert_exit(1);
        let title = expected_title(status, code);
        let v = &self.json["verdict"];
        let all = self.both();
        assert_eq!(v["origin_answer"], false, "{all}");
        assert_eq!(v["status"], status, "{all}");
        assert_eq!(v["code"], code.map_or(Value::Null, Value::from), "{all}");
        assert_eq!(v["cause"], cause, "{all}");
        assert_eq!(v["stage"], stage, "{all}");
        assert_eq!(v["title"], title, "{all}");
        let failed = self.stage(stage);
        assert_eq!(failed["result"], "failed", "{all}");
        let failure = &failed["failure"];
        assert_eq!(failure["status"], status, "{all}");
        assert_eq!(
            failure["code"],
            code.map_or(Value::Null, Value::from),
            "{all}"
        );
        assert_eq!(failure["cause"], cause, "{all}");
        assert!(
            failure["error"].as_str().is_some_and(|e| !e.is_empty()),
            "the failure says what went wrong: {all}"
        );
        assert!(
            failed["check"].as_array().is_some_and(|c| !c.is_empty()),
            "a failed stage says what to check: {all}"
        );
        let at = STAGES
            .iter()
            .position(|s| *s == stage)
            .expect("a known stage");
        for before in &STAGES[..at] {
            assert_ne!(
                self.result(before),
                "failed",
                "{before} before {stage}: {all}"
            );
            assert!(self.stage(before)["failure"].is_null(), "{all}");
        }
        for after in &STAGES[at + 1..] {
            assert_eq!(
                self.result(after),
                "skipped",
                "{after} after {stage}: {all}"
            );
        }
        // The table.
        let row = self.row(stage);
        let cell = match code {
            Some(code) => format!("✗ {status} ({code})"),
            None => format!("✗ {status}"),
        };
        assert_eq!(row.result, cell, "{all}");
        let with_code = code.map(|c| format!(" with error {c}")).unwrap_or_default();
        let expected = format!(
            "✗ A visitor would get {status} {title}{with_code} (cause {cause}, at the {} stage)",
            label(stage)
        );
        assert!(
            self.verdict_line().starts_with(&expected),
            "verdict line {:?} should start with {expected:?}:\n{all}",
            self.verdict_line()
        );
        let listed = checks(&self.table, label(stage), "failed")
            .unwrap_or_else(|| panic!("no \"What to check ({stage}, failed)\" list:\n{all}"));
        assert!(!listed.is_empty(), "{all}");
        assert_eq!(
            listed.len(),
            failed["check"].as_array().map_or(0, Vec::len),
            "the table lists what the JSON says to check: {all}"
        );
    }

    /// Asserts a visitor would get the origin's answer with `status`: exit 0, in the JSON and
    /// in the table's verdict line; no stage failed.
    #[track_caller]
    pub fn assert_origin_answer(&self, status: u16) {
        self.assert_shape();
        self.assert_exit(0);
        let all = self.both();
        let v = &self.json["verdict"];
        assert_eq!(v["origin_answer"], true, "{all}");
        assert_eq!(v["status"], status, "{all}");
        assert!(v["cause"].is_null(), "{all}");
        assert!(v["stage"].is_null(), "{all}");
        for stage in STAGES {
            assert_ne!(self.result(stage), "failed", "{stage}: {all}");
        }
        let warnings = STAGES
            .iter()
            .filter(|s| self.result(s) == "warning")
            .count();
        assert_eq!(v["warnings"], warnings, "{all}");
        let title = v["title"].as_str().expect("a title");
        let expected = format!("✓ A visitor would get the origin's answer: {status} {title}");
        assert!(
            self.verdict_line().starts_with(&expected),
            "verdict line {:?} should start with {expected:?}:\n{all}",
            self.verdict_line()
        );
    }

    /// Asserts the stage `name` ran with a warning, in the JSON and the table (its mark and
    /// its "What to check (<stage>, warning)" list).
    #[track_caller]
    pub fn assert_warning(&self, name: &str) {
        let all = self.both();
        assert_eq!(self.result(name), "warning", "{name}: {all}");
        assert!(
            self.stage(name)["check"]
                .as_array()
                .is_some_and(|c| !c.is_empty()),
            "a warning says what to check: {all}"
        );
        assert_eq!(self.row(name).result, "⚠", "{all}");
        let listed = checks(&self.table, label(name), "warning")
            .unwrap_or_else(|| panic!("no \"What to check ({name}, warning)\" list:\n{all}"));
        assert!(!listed.is_empty(), "{all}");
    }

    /// Asserts the stage `name` passed, in the JSON and the table, with nothing to check.
    #[track_caller]
    pub fn assert_passed(&self, name: &str) {
        let all = self.both();
        assert_eq!(self.result(name), "passed", "{name}: {all}");
        assert_eq!(self.stage(name)["check"], Value::Array(Vec::new()), "{all}");
        assert_eq!(self.row(name).result, "✓", "{all}");
    }
}

/// Starts the real edge on `config` (the same file the diagnosis read), sends it a visitor's
/// `GET path` for `host`, and asserts the visitor gets what the diagnosis said: the same
/// status, and the edge's `cf-edgecase-cause` equal to the diagnosis's cause (none when the
/// origin answered). Returns the visitor's response.
pub async fn assert_proxy_agrees(
    config: &DiagnoseConfig,
    host: &str,
    path: &str,
    diagnosed: &Diagnosed,
) -> super::visitor::Response {
    let edge = super::spawn_edge(config.config()).await;
    let res = super::visitor::within(
        super::GUARD,
        super::visitor::get_with_host(edge.addr(), host, path),
    )
    .await;
    let verdict = &diagnosed.json["verdict"];
    assert_eq!(
        u64::from(res.status().as_u16()),
        verdict["status"].as_u64().expect("a status"),
        "the proxy answered {} ({:?}), the diagnosis said otherwise:\n{}",
        res.status(),
        res.header(super::faults::CAUSE),
        diagnosed.both()
    );
    assert_eq!(
        res.header(super::faults::CAUSE),
        verdict["cause"].as_str(),
        "the proxy's cause differs from the diagnosis's:\n{}",
        diagnosed.both()
    );
    res
}
