//! The subset of Toxiproxy's HTTP API that its client libraries use to manage toxics on one
//! proxy, with edgecase as that proxy, named `edgecase`. Toxics map onto link actions
//! ([`crate::emulation::toxics`]); a disabled proxy refuses every request (521).

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::json as value;

use super::reply::{error, json, no_content, parse};
use super::{Call, not_allowed};
use crate::emulation::ToxicError;
use crate::emulation::toxics::ToxicInput;

/// The one proxy's name.
pub const PROXY_NAME: &str = "edgecase";

/// The Toxiproxy API version these endpoints follow.
const TOXIPROXY_VERSION: &str = "2.9.0";

pub(super) fn route(call: &Call<'_>) -> Response<Bytes> {
    match (call.method, call.segments) {
        (&Method::GET, ["version"]) => json(
            StatusCode::OK,
            &value!({"version": TOXIPROXY_VERSION, "edgecase": env!("CARGO_PKG_VERSION")}),
        ),
        (&Method::POST, ["reset"]) => {
            call.state.faults.reset_toxics();
            no_content()
        }
        (&Method::GET, ["proxies"]) => json(StatusCode::OK, &value!({ PROXY_NAME: proxy(call) })),
        (&Method::POST, ["proxies"]) => create(call),
        (_, ["version"]) => not_allowed("GET"),
        (_, ["reset"]) => not_allowed("POST"),
        (_, ["proxies"]) => not_allowed("GET, POST"),
        (_, ["proxies", name, ..]) if *name != PROXY_NAME => error(
            StatusCode::NOT_FOUND,
            &format!("proxy not found: edgecase exposes one proxy, named {PROXY_NAME:?}"),
        ),
        (&Method::GET, ["proxies", _]) => json(StatusCode::OK, &proxy(call)),
        (&Method::POST | &Method::PATCH, ["proxies", _]) => update_proxy(call),
        (&Method::GET, ["proxies", _, "toxics"]) => {
            json(StatusCode::OK, &call.state.faults.toxics())
        }
        (&Method::POST, ["proxies", _, "toxics"]) => match parse::<ToxicInput>(call.body) {
            Ok(input) => toxic_answer(call.state.faults.add_toxic(input)),
            Err(why) => error(StatusCode::BAD_REQUEST, &why),
        },
        (method, ["proxies", _, "toxics", toxic]) => toxic_route(call, method, toxic),
        (_, ["proxies", _]) => not_allowed("GET, POST"),
        (_, ["proxies", _, "toxics"]) => not_allowed("GET, POST"),
        _ => error(StatusCode::NOT_FOUND, "no such endpoint"),
    }
}

fn toxic_route(call: &Call<'_>, method: &Method, name: &str) -> Response<Bytes> {
    let faults = &call.state.faults;
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
        _ => not_allowed("GET, POST, DELETE"),
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

/// `POST /proxies`: the one proxy exists already; no other can be made.
fn create(call: &Call<'_>) -> Response<Bytes> {
    #[derive(Deserialize)]
    struct NewProxy {
        name: Option<String>,
    }
    match parse::<NewProxy>(call.body) {
        Ok(NewProxy { name }) if name.as_deref() == Some(PROXY_NAME) => {
            error(StatusCode::CONFLICT, "proxy already exists")
        }
        Ok(_) => error(
            StatusCode::BAD_REQUEST,
            &format!("edgecase exposes one proxy, named {PROXY_NAME:?}, and cannot make others"),
        ),
        Err(why) => error(StatusCode::BAD_REQUEST, &why),
    }
}

/// `POST /proxies/edgecase` with `{"enabled": bool}` (other keys are ignored).
fn update_proxy(call: &Call<'_>) -> Response<Bytes> {
    #[derive(Deserialize)]
    struct Update {
        enabled: Option<bool>,
    }
    match parse::<Update>(call.body) {
        Ok(update) => {
            if let Some(enabled) = update.enabled {
                call.state.faults.set_enabled(enabled);
            }
            json(StatusCode::OK, &proxy(call))
        }
        Err(why) => error(StatusCode::BAD_REQUEST, &why),
    }
}

/// The proxy as Toxiproxy describes one.
fn proxy(call: &Call<'_>) -> serde_json::Value {
    let config = &call.state.config();
    let listen = std::net::SocketAddr::new(config.edge.listen.ip(), call.state.http_port);
    value!({
        "name": PROXY_NAME,
        "listen": listen.to_string(),
        "upstream": config.origin.address.to_string(),
        "enabled": call.state.faults.enabled(),
        "toxics": call.state.faults.toxics(),
    })
}
