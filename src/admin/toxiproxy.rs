//! The routes of Toxiproxy's HTTP API that its client libraries use: version, proxies
//! (`super::proxies`: the config's own, named `edgecase`, and the ones made by the API or
//! `[[proxy]]`) and each proxy's toxics. Toxics map onto link actions
//! ([`crate::emulation::toxics`]); a disabled proxy refuses every request (521).

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Response, StatusCode};

use super::proxies::{self, faults_of};
use super::reply::{error, json, no_content, parse};
use super::{Call, not_allowed};
use crate::emulation::toxics::ToxicInput;
use crate::emulation::{FaultRules, ToxicError};

/// The Toxiproxy API version these endpoints follow.
const TOXIPROXY_VERSION: &str = "2.9.0";

pub(super) async fn route(call: &Call<'_>) -> Response<Bytes> {
    match (call.method, call.segments) {
        (&Method::GET, ["version"]) => json(
            StatusCode::OK,
            &serde_json::json!({"version": TOXIPROXY_VERSION, "edgecase": env!("CARGO_PKG_VERSION")}),
        ),
        (&Method::POST, ["reset"]) => proxies::reset(call),
        (&Method::POST, ["populate"]) => proxies::populate(call).await,
        (&Method::GET, ["proxies"]) => proxies::list(call),
        (&Method::POST, ["proxies"]) => proxies::create(call),
        (_, ["version" | "reset" | "populate" | "proxies"]) => not_allowed(call),
        (&Method::GET, ["proxies", name]) => proxies::read(call, name),
        (&Method::POST | &Method::PATCH, ["proxies", name]) => proxies::update(call, name).await,
        (&Method::DELETE, ["proxies", name]) => proxies::delete(call, name).await,
        (_, ["proxies", _]) => not_allowed(call),
        (method, ["proxies", name, "toxics", rest @ ..]) => {
            let Some(faults) = faults_of(call, name) else {
                return error(StatusCode::NOT_FOUND, &format!("proxy not found: {name}"));
            };
            match (method, rest) {
                (&Method::GET, []) => json(StatusCode::OK, &faults.toxics()),
                (&Method::POST, []) => match parse::<ToxicInput>(call.body) {
                    Ok(input) => toxic_answer(faults.add_toxic(input)),
                    Err(why) => error(StatusCode::BAD_REQUEST, &why),
                },
                (_, []) => not_allowed(call),
                (method, [toxic]) => toxic_route(call, &faults, method, toxic),
                _ => error(StatusCode::NOT_FOUND, "no such endpoint"),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "no such endpoint"),
    }
}

fn toxic_route(
    call: &Call<'_>,
    faults: &Arc<FaultRules>,
    method: &Method,
    name: &str,
) -> Response<Bytes> {
    match *method {
        Method::GET => match faults.toxics().into_iter().find(|t| t.name == name) {
            Some(toxic) => json(StatusCode::OK, &toxic),
            None => error(StatusCode::NOT_FOUND, &format!("toxic not found: {name}")),
        },
        Method::POST | Method::PATCH => match parse::<ToxicInput>(call.body) {
            Ok(input) => toxic_answer(faults.update_toxic(name, input)),
            Err(why) => error(StatusCode::BAD_REQUEST, &why),
        },
        Method::DELETE if faults.remove_toxic(name) => no_content(),
        Method::DELETE => error(StatusCode::NOT_FOUND, &format!("toxic not found: {name}")),
        _ => not_allowed(call),
    }
}

fn toxic_answer(result: Result<crate::emulation::toxics::Toxic, ToxicError>) -> Response<Bytes> {
    match result {
        Ok(toxic) => json(StatusCode::OK, &toxic),
        Err(ToxicError::Invalid(why)) => error(StatusCode::BAD_REQUEST, &why),
        Err(ToxicError::NotFound(name)) => {
            error(StatusCode::NOT_FOUND, &format!("toxic not found: {name}"))
        }
        Err(ToxicError::Exists(name)) => error(
            StatusCode::CONFLICT,
            &format!("toxic already exists: {name}"),
        ),
    }
}
