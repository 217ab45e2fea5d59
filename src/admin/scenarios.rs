//! `/scenarios`: the fault timelines an edge knows, starting and stopping them, and their
//! reports (JSON, or the page with the chart when a browser asks for HTML).

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode, header};

use super::observe::body;
use super::reply::{error, json};
use super::{Call, not_allowed};
use crate::config::ScenarioSpec;
use crate::scenario::{ScenarioError, page};

pub(super) fn route(call: &Call<'_>, headers: &HeaderMap) -> Response<Bytes> {
    let scenarios = &call.state.scenarios;
    match (call.method, call.segments) {
        (&Method::GET, ["scenarios"]) => json(StatusCode::OK, &scenarios.list()),
        (&Method::POST, ["scenarios"]) => {
            if call.body.trim_ascii().is_empty() {
                let why = "the body is empty: send one JSON object shaped as a [[scenario]] \
                           table, like {\"name\": \"x\", \"phase\": [{\"name\": \"p\", \"for\": \"1s\"}]}";
                return error(StatusCode::BAD_REQUEST, why);
            }
            let spec = match ScenarioSpec::from_json(call.body) {
                Ok(spec) => spec,
                Err(problems) => return error(StatusCode::BAD_REQUEST, &one_line(&problems)),
            };
            match scenarios.add(spec) {
                Ok(view) => json(StatusCode::CREATED, &view),
                Err(e) => refused(&e),
            }
        }
        (_, ["scenarios"]) => not_allowed(call),
        (&Method::GET | &Method::HEAD, ["scenarios", name]) => match scenarios.report(name) {
            Some(report) if wants_html(headers) => body(
                page::render(&report).into(),
                "text/html; charset=utf-8",
                None,
            ),
            Some(report) => json(StatusCode::OK, &report),
            None => refused(&ScenarioError::NotFound((*name).to_owned())),
        },
        (_, ["scenarios", _]) => not_allowed(call),
        (&Method::POST, ["scenarios", name, "start"]) => match call.state.scenarios.start(name) {
            Ok(view) => json(StatusCode::OK, &view),
            Err(e) => refused(&e),
        },
        (&Method::POST, ["scenarios", name, "stop"]) => match scenarios.stop(name) {
            Ok(view) => json(StatusCode::OK, &view),
            Err(e) => refused(&e),
        },
        (_, ["scenarios", _, "start" | "stop"]) => not_allowed(call),
        _ => error(StatusCode::NOT_FOUND, "no such endpoint"),
    }
}

/// The answer to a refused change: 404, 409 or 400, with the reason.
fn refused(e: &ScenarioError) -> Response<Bytes> {
    let status = match e {
        ScenarioError::NotFound(_) => StatusCode::NOT_FOUND,
        ScenarioError::Exists(_) | ScenarioError::Busy(_) => StatusCode::CONFLICT,
        ScenarioError::Invalid(_) => StatusCode::BAD_REQUEST,
        ScenarioError::NoRuntime => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, &e.to_string())
}

/// Every problem, on one line.
fn one_line(problems: &crate::config::ConfigError) -> String {
    let lines: Vec<String> = problems.problems.iter().map(ToString::to_string).collect();
    lines.join("; ")
}

/// Whether the client prefers HTML to JSON: a browser's `Accept` names `text/html` first.
fn wants_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let html = accept.find("text/html");
    let json = accept.find("application/json");
    match (html, json) {
        (Some(html), Some(json)) => html < json,
        (Some(_), None) => true,
        _ => false,
    }
}
