//! Toxiproxy's proxy routes: `GET/POST /proxies`, `GET/POST/DELETE /proxies/{name}`,
//! `POST /populate` and `POST /reset`, over the config's own proxy (`edgecase`, the process's
//! listener) and the ones in [`crate::edge::proxies`]. Toxics are `super::toxiproxy`'s.

use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json as value};

use super::Call;
use super::reply::{error, json, parse};
use crate::config::{OWN_PROXY, ProxySpec};
use crate::edge::proxies::{ProxyChange, ProxyError, ProxyView};
use crate::emulation::FaultRules;

/// Where `POST /proxies` listens when the body names no `listen`.
const DEFAULT_LISTEN: &str = "127.0.0.1:0";

/// A proxy as a client sends it. Other keys (`toxics`, which some clients send back on an
/// update) are ignored, as Toxiproxy ignores them.
#[derive(Deserialize)]
struct ProxyInput {
    name: Option<String>,
    listen: Option<String>,
    upstream: Option<String>,
    enabled: Option<bool>,
}

impl ProxyInput {
    fn spec(self) -> Result<ProxySpec, String> {
        Ok(ProxySpec {
            name: self.name.filter(|n| !n.is_empty()).ok_or("name: missing")?,
            listen: self.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            upstream: self.upstream.ok_or("upstream: missing (host:port)")?,
            enabled: self.enabled.unwrap_or(true),
        })
    }

    fn change(self) -> ProxyChange {
        ProxyChange {
            listen: self.listen,
            upstream: self.upstream,
            enabled: self.enabled,
        }
    }
}

/// The toxics and enabled switch of proxy `name`, when there is one.
pub(super) fn faults_of(call: &Call<'_>, name: &str) -> Option<Arc<FaultRules>> {
    match name {
        OWN_PROXY => Some(call.state.faults.clone()),
        name => call
            .state
            .proxies
            .find(name)
            .map(|v| v.state.faults.clone()),
    }
}

/// `GET /proxies`: every proxy by name, the config's own first.
pub(super) fn list(call: &Call<'_>) -> Response<Bytes> {
    let mut all = Map::new();
    all.insert(OWN_PROXY.to_owned(), own(call));
    for view in call.state.proxies.list() {
        all.insert(view.name.clone(), shown(&view));
    }
    json(StatusCode::OK, &all)
}

/// `POST /proxies`: 201 with the new proxy.
pub(super) fn create(call: &Call<'_>) -> Response<Bytes> {
    let spec = match parse::<ProxyInput>(call.body).and_then(ProxyInput::spec) {
        Ok(spec) => spec,
        Err(why) => return error(StatusCode::BAD_REQUEST, &why),
    };
    match call.state.proxies.create(call.state, &spec) {
        Ok(view) => json(StatusCode::CREATED, &shown(&view)),
        Err(e) => refused(&e),
    }
}

/// `GET /proxies/{name}`.
pub(super) fn read(call: &Call<'_>, name: &str) -> Response<Bytes> {
    match name {
        OWN_PROXY => json(StatusCode::OK, &own(call)),
        name => match call.state.proxies.find(name) {
            Some(view) => json(StatusCode::OK, &shown(&view)),
            None => refused(&ProxyError::NotFound(name.to_owned())),
        },
    }
}

/// `POST /proxies/{name}`: `enabled`, `listen` (rebinds), `upstream`. The config's own proxy
/// takes `enabled` only: its listener and origin are the config's.
pub(super) async fn update(call: &Call<'_>, name: &str) -> Response<Bytes> {
    let change = match parse::<ProxyInput>(call.body) {
        Ok(input) => input.change(),
        Err(why) => return error(StatusCode::BAD_REQUEST, &why),
    };
    match apply(call, name, &change).await {
        Ok(shown) => json(StatusCode::OK, &shown),
        Err(e) => refused(&e),
    }
}

/// `DELETE /proxies/{name}`: its listener is closed before the answer, its requests in flight
/// finish.
pub(super) async fn delete(call: &Call<'_>, name: &str) -> Response<Bytes> {
    match call.state.proxies.remove(name) {
        Ok(closing) => {
            closing.done().await;
            super::reply::no_content()
        }
        Err(e) => refused(&e),
    }
}

/// `POST /populate` with an array of proxies: each one made, or kept when one of that name
/// listens and forwards as asked already, or else replaced (its toxics gone), as Toxiproxy
/// does. 201 with `{"proxies": [...]}`; at the first failure, 400 naming the proxy.
pub(super) async fn populate(call: &Call<'_>) -> Response<Bytes> {
    let inputs: Vec<ProxyInput> = match serde_json::from_slice(call.body) {
        Ok(inputs) => inputs,
        Err(e) => {
            let why = format!("the body must be a JSON array of proxies: {e}");
            return error(StatusCode::BAD_REQUEST, &why);
        }
    };
    let mut specs = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.into_iter().enumerate() {
        match input.spec() {
            Ok(spec) => specs.push(spec),
            Err(why) => return error(StatusCode::BAD_REQUEST, &format!("[{index}].{why}")),
        }
    }
    let mut made = Vec::with_capacity(specs.len());
    for spec in &specs {
        match populate_one(call, spec).await {
            Ok(shown) => made.push(shown),
            Err(e) => {
                let why = format!("proxy {:?}: {e}", spec.name);
                let answer = value!({"error": why, "status": 400, "proxies": made});
                return json(StatusCode::BAD_REQUEST, &answer);
            }
        }
    }
    json(StatusCode::CREATED, &value!({ "proxies": made }))
}

/// `POST /reset`: every proxy enabled, without toxics (fault rules stay).
pub(super) fn reset(call: &Call<'_>) -> Response<Bytes> {
    call.state.faults.reset_toxics();
    for view in call.state.proxies.list() {
        view.state.faults.reset_toxics();
    }
    super::reply::no_content()
}

async fn populate_one(call: &Call<'_>, spec: &ProxySpec) -> Result<Value, ProxyError> {
    let proxies = &call.state.proxies;
    if spec.name == OWN_PROXY {
        let change = ProxyChange {
            enabled: Some(spec.enabled),
            ..ProxyChange::default()
        };
        return apply(call, OWN_PROXY, &change).await;
    }
    if let Some(view) = proxies.find(&spec.name) {
        if view.matches(spec) {
            view.state.faults.set_enabled(spec.enabled);
            return Ok(shown(&view));
        }
        // Closed before the new one binds: it may ask for the same port.
        proxies.remove(&spec.name)?.done().await;
    }
    proxies.create(call.state, spec).map(|view| shown(&view))
}

/// `change` applied to proxy `name`; a rebound proxy's old port is closed once it returns.
async fn apply(call: &Call<'_>, name: &str, change: &ProxyChange) -> Result<Value, ProxyError> {
    if name != OWN_PROXY {
        let (view, closing) = call.state.proxies.update(name, change)?;
        if let Some(closing) = closing {
            closing.done().await;
        }
        return Ok(shown(&view));
    }
    if let Some(enabled) = change.enabled {
        call.state.faults.set_enabled(enabled);
    }
    Ok(own(call))
}

fn refused(e: &ProxyError) -> Response<Bytes> {
    let status = match e {
        ProxyError::NoName | ProxyError::Listen { .. } | ProxyError::Upstream { .. } => {
            StatusCode::BAD_REQUEST
        }
        ProxyError::Exists(_) | ProxyError::Own => StatusCode::CONFLICT,
        ProxyError::NotFound(_) => StatusCode::NOT_FOUND,
    };
    error(status, &e.to_string())
}

/// A proxy made by the API or `[[proxy]]`, as Toxiproxy describes one.
fn shown(view: &ProxyView) -> Value {
    value!({
        "name": view.name,
        "listen": view.listen.to_string(),
        "upstream": view.upstream.to_string(),
        "enabled": view.state.faults.enabled(),
        "toxics": view.state.faults.toxics(),
    })
}

/// The config's own proxy, as Toxiproxy describes one.
fn own(call: &Call<'_>) -> Value {
    let config = &call.state.config();
    let listen = std::net::SocketAddr::new(config.edge.listen.ip(), call.state.http_port);
    value!({
        "name": OWN_PROXY,
        "listen": listen.to_string(),
        "upstream": config.origin.address.to_string(),
        "enabled": call.state.faults.enabled(),
        "toxics": call.state.faults.toxics(),
    })
}
