//! Shared by the observability tests (`observe_logs.rs`, `observe_metrics.rs`,
//! `observe_har.rs`, `custom_pages.rs`): an in-process edge started from a TOML text with its
//! control API on 127.0.0.1:0 ([`start`]), calls to that control API ([`admin_get`],
//! [`admin_post`]), a small parser for Prometheus' text exposition ([`Exposition`]), and reading
//! files that a background writer fills ([`poll_file`], [`json_lines`]).
//!
//! The access log and HAR writers are threads behind queues, so a line or entry appears some
//! time after its response: tests poll the file, each poll a few milliseconds apart, until what
//! they expect is there or [`GUARD`] has passed. Polling is the only way to see a file grow; it
//! never stands in for a readiness signal.
//!
//! This module starts no origin and judges no answer beyond the parsing itself.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use edgecase::{EdgeBuilder, EdgeHandle};
use http::{Method, Request, header};
use http_body_util::Full;
use serde_json::Value;

use super::GUARD;
use super::visitor::{Response, send, within};

/// The pause between two reads of a file a background writer fills.
pub const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// A hermetic config for an in-process edge in front of `origin`: listeners and control API on
/// 127.0.0.1:0, static DNS only, `connect_ms` / `read_ms` as `timeouts.connect` /
/// `timeouts.read` (ack and write 2 s). `log` is the body of the `[log]` table (it must say
/// where lines go: the library keeps a config's default `stdout`); `rest` follows it (more
/// tables, `[[route]]`s).
pub fn edge_toml(
    origin: SocketAddr,
    connect_ms: u64,
    read_ms: u64,
    log: &str,
    rest: &str,
) -> String {
    format!(
        "[edge]\nlisten = \"127.0.0.1:0\"\nshutdown_grace = \"1s\"\n\
         [origin]\naddress = \"{origin}\"\n\
         [timeouts]\nconnect = \"{connect_ms}ms\"\nread = \"{read_ms}ms\"\n\
         ack = \"2s\"\nwrite = \"2s\"\n\
         [dns]\nsystem = false\n\
         [admin]\nlisten = \"127.0.0.1:0\"\n\
         [log]\n{log}\n\
         {rest}\n"
    )
}

/// A TOML basic string holding `path` (quotes and backslashes escaped).
pub fn toml_path(path: &Path) -> String {
    let text = path.to_str().expect("temp paths are UTF-8");
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Starts an in-process edge from `toml` (checked as the binary checks a config file).
pub async fn start(toml: &str) -> EdgeHandle {
    let builder = EdgeBuilder::from_toml(toml)
        .unwrap_or_else(|e| panic!("the test config is valid: {e}\n{toml}"));
    within(GUARD, builder.start())
        .await
        .unwrap_or_else(|e| panic!("the edge starts: {e}"))
}

/// The control API's address of an edge from [`start`].
#[track_caller]
pub fn admin_addr(edge: &EdgeHandle) -> SocketAddr {
    edge.admin_addr()
        .expect("the config sets [admin] listen, so the control API runs")
}

/// `GET path` on the control API.
pub async fn admin_get(edge: &EdgeHandle, path: &str) -> Response {
    admin_call(edge, Method::GET, path, None).await
}

/// `POST path` on the control API with a JSON body.
pub async fn admin_post(edge: &EdgeHandle, path: &str, json: &str) -> Response {
    admin_call(edge, Method::POST, path, Some(json)).await
}

async fn admin_call(edge: &EdgeHandle, method: Method, path: &str, json: Option<&str>) -> Response {
    let mut request = Request::builder().method(method).uri(path);
    if json.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let body = Full::new(Bytes::from(json.unwrap_or_default().to_owned()));
    let request = request.body(body).expect("a valid control API request");
    within(GUARD, send(admin_addr(edge), request)).await
}

/// The body of a JSON answer, checking its content type.
#[track_caller]
pub fn json_body(res: &Response) -> Value {
    let content_type = res.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type:?}; body: {}",
        res.text()
    );
    serde_json::from_slice(&res.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", res.text()))
}

/// The `cf-ray` header of an answer.
#[track_caller]
pub fn ray_of(res: &Response) -> String {
    res.header("cf-ray")
        .unwrap_or_else(|| panic!("cf-ray on every answer; got {}", res.status()))
        .to_owned()
}

/// The hex part of a `cf-ray` value (what Logpush calls `RayID`).
#[track_caller]
pub fn ray_hex(ray: &str) -> &str {
    ray.split_once('-').map_or(ray, |(hex, _)| hex)
}

// ---------------------------------------------------------------------------------------------
// Files filled by a background writer
// ---------------------------------------------------------------------------------------------

/// Reads `path` until `ready` returns `Some` for its text, at most [`GUARD`]; a missing file
/// reads as empty. Panics with the last text read if the deadline passes.
#[track_caller]
pub fn poll_file<T>(
    path: &Path,
    mut ready: impl FnMut(&str) -> Option<T>,
) -> impl Future<Output = T> {
    let caller = std::panic::Location::caller();
    let path = path.to_owned();
    async move {
        let deadline = tokio::time::Instant::now() + GUARD;
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if let Some(found) = ready(&text) {
                return found;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "{caller}: {} never became what the test waits for within {GUARD:?}; it \
                     holds:\n{text}",
                    path.display()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// Each complete line of `text` (one ending in `\n`) parsed as JSON; `None` if a complete line
/// is not JSON. A last line without its newline is still being written and is left out.
pub fn json_lines(text: &str) -> Option<Vec<Value>> {
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => return Some(Vec::new()),
    };
    complete
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Waits until the JSON access log at `path` has a line whose `RayID` is each of `rays` (hex
/// parts or whole cf-ray values), and returns those lines in the order of `rays`.
pub async fn log_lines_for(path: &Path, rays: &[String]) -> Vec<Value> {
    let hexes: Vec<String> = rays.iter().map(|ray| ray_hex(ray).to_owned()).collect();
    poll_file(path, |text| {
        let lines = json_lines(text)?;
        hexes
            .iter()
            .map(|hex| {
                lines
                    .iter()
                    .find(|line| line["RayID"].as_str() == Some(hex.as_str()))
                    .cloned()
            })
            .collect()
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Prometheus text exposition
// ---------------------------------------------------------------------------------------------

/// One sample line: `name{labels} value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The series name, with its `_total`, `_count`... suffix.
    pub name: String,
    /// The labels, by name.
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: f64,
}

/// A parsed `GET /metrics` answer: its samples, and the `# TYPE` of each metric family.
#[derive(Clone, Debug, Default)]
pub struct Exposition {
    /// Every sample, in order.
    pub samples: Vec<Sample>,
    /// `# TYPE name type` lines, by family name.
    pub types: BTreeMap<String, String>,
}

impl Exposition {
    /// Parses the text format (version 0.0.4). Panics, naming the line, on one it cannot read.
    #[track_caller]
    pub fn parse(text: &str) -> Exposition {
        let mut exposition = Exposition::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(comment) = line.strip_prefix('#') {
                let mut words = comment.split_whitespace();
                if words.next() == Some("TYPE") {
                    let name = words.next().expect("# TYPE names a metric");
                    let kind = words.next().expect("# TYPE gives a type");
                    exposition.types.insert(name.to_owned(), kind.to_owned());
                }
                continue;
            }
            exposition.samples.push(
                parse_sample(line).unwrap_or_else(|why| panic!("metrics line {line:?}: {why}")),
            );
        }
        exposition
    }

    /// The value of the sample `name` whose labels are exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
    }

    /// The value of the unlabelled sample `name`, which must be there.
    #[track_caller]
    pub fn scalar(&self, name: &str) -> f64 {
        self.value(name, &[])
            .unwrap_or_else(|| panic!("no sample {name} in:\n{}", self.names().join("\n")))
    }

    /// Every sample named `name`, whatever its labels.
    pub fn all(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }

    /// The sum of every sample named `name`.
    pub fn sum(&self, name: &str) -> f64 {
        self.all(name).iter().map(|s| s.value).sum()
    }

    /// Every sample name, for failure messages.
    pub fn names(&self) -> Vec<String> {
        self.samples
            .iter()
            .map(|s| format!("{}{:?} {}", s.name, s.labels, s.value))
            .collect()
    }
}

/// `name{a="x",b="y"} value` (labels optional; a timestamp after the value is ignored).
fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or("no value")?;
    let name = &line[..name_end];
    if name.is_empty() {
        return Err("no name".into());
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        let mut key = String::new();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '}' => {
                    end = Some(i + 1);
                    break;
                }
                ',' => {}
                '=' => {
                    if chars.next().map(|(_, c)| c) != Some('"') {
                        return Err("a label value is not quoted".into());
                    }
                    let mut value = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '\\')) => match chars.next() {
                                Some((_, 'n')) => value.push('\n'),
                                Some((_, other)) => value.push(other),
                                None => return Err("unterminated escape".into()),
                            },
                            Some((_, '"')) => break,
                            Some((_, other)) => value.push(other),
                            None => return Err("unterminated label value".into()),
                        }
                    }
                    labels.insert(std::mem::take(&mut key).trim().to_owned(), value);
                }
                other => key.push(other),
            }
        }
        let end = end.ok_or("unterminated label set")?;
        rest = &inner[end..];
    }
    let value = rest.split_whitespace().next().ok_or("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        number => number
            .parse()
            .map_err(|e| format!("value {number:?}: {e}"))?,
    };
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// `GET /metrics`, answered 200 in the Prometheus text format, parsed.
pub async fn scrape(edge: &EdgeHandle) -> Exposition {
    let res = admin_get(edge, "/metrics").await;
    assert_eq!(res.status(), 200, "{}", res.text());
    Exposition::parse(&res.text())
}
