//! `/faults` and `/requests`: the rules in force, and why recent requests failed.

use bytes::Bytes;
use http::{Method, Response, StatusCode};

use super::reply::{error, json, no_content, parse};
use super::{Call, not_allowed};
use crate::emulation::FaultSpec;
use crate::observe::recent::RequestQuery;

pub(super) fn route(call: &Call<'_>) -> Response<Bytes> {
    let faults = &call.state.faults;
    match (call.method, call.segments) {
        (&Method::GET, ["faults"]) => json(StatusCode::OK, &faults.list()),
        (&Method::POST, ["faults"]) => {
            let spec: FaultSpec = match parse(call.body) {
                Ok(spec) => spec,
                Err(why) => return error(StatusCode::BAD_REQUEST, &why),
            };
            match faults.add(spec) {
                Ok(view) => json(StatusCode::CREATED, &view),
                Err(problem) => error(StatusCode::BAD_REQUEST, &problem.to_string()),
            }
        }
        (&Method::DELETE, ["faults"]) => {
            faults.clear();
            no_content()
        }
        (method, ["faults", id]) => {
            let Ok(id) = id.parse::<u64>() else {
                return error(StatusCode::NOT_FOUND, &format!("no fault rule {id:?}"));
            };
            match *method {
                Method::GET => match faults.list().into_iter().find(|v| v.id == id) {
                    Some(view) => json(StatusCode::OK, &view),
                    None => error(StatusCode::NOT_FOUND, &format!("no fault rule {id}")),
                },
                Method::DELETE if faults.remove(id) => no_content(),
                Method::DELETE => error(StatusCode::NOT_FOUND, &format!("no fault rule {id}")),
                _ => not_allowed(call),
            }
        }
        (&Method::GET, ["requests"]) => match query(call.query) {
            Ok(query) => json(StatusCode::OK, &call.state.observers.recent.query(&query)),
            Err(why) => error(StatusCode::BAD_REQUEST, &why),
        },
        (_, ["faults" | "requests"]) => not_allowed(call),
        _ => error(StatusCode::NOT_FOUND, "no such endpoint"),
    }
}

/// `limit=N&status=5xx&ray=...`.
pub(super) fn query(text: &str) -> Result<RequestQuery, String> {
    let mut query = RequestQuery::default();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "limit" => {
                let limit = value
                    .parse()
                    .map_err(|_| format!("limit: {value:?} is not a whole number"))?;
                query.limit = Some(limit);
            }
            "status" => query.status = Some(value.parse()?),
            "ray" => query.ray = Some(value.to_owned()),
            other => return Err(format!("{other}: not a filter (limit, status, ray)")),
        }
    }
    Ok(query)
}
