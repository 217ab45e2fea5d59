//! The control API (`[admin] listen`): fault rules, recent requests and health as JSON, the
//! subset of Toxiproxy's HTTP API its clients use ([`toxiproxy`]), and what edgecase observed
//! (`/metrics`, `/analytics`, `/har`: `observe`). Every change goes to the
//! same [`crate::emulation::FaultRules`] the request handler consults, so it applies to the
//! next request. A request that is refused changes nothing. [`ROUTES`] lists every route.

mod faults;
mod guard;
mod observe;
mod proxies;
mod reply;
mod routes;
mod scenarios;
mod toxiproxy;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::edge::AdminPort;
use crate::edge::EdgeState;
use crate::edge::body::EdgeBody;
use crate::edge::reload::ReloadError;
use reply::{error, json};
pub use routes::{ROUTES, Route};

/// The largest request body the control API reads: rules are small.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The control API served on `listener`, for [`crate::edge::Listeners`].
pub fn port(listener: tokio::net::TcpListener) -> AdminPort {
    AdminPort {
        listener,
        answer: |state, request| Box::pin(handle(state, request)),
    }
}

/// Answers one control API request. Never fails: every problem is a JSON error answer.
pub async fn handle(
    state: Arc<EdgeState>,
    request: Request<Incoming>,
) -> Result<Response<EdgeBody>, Infallible> {
    let response = route(&state, request).await;
    Ok(response.map(EdgeBody::full))
}

async fn route(state: &EdgeState, request: Request<Incoming>) -> Response<Bytes> {
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // Before anything else, on every endpoint: a web page must neither drive nor read it.
    if let Some(admin) = state.config().admin.as_ref()
        && let Err(refused) = guard::check(
            request.headers(),
            request.uri().authority().map(|a| a.as_str()),
            admin,
        )
    {
        // Said once per refused request: whoever set up a dashboard sees why it gets 403, and
        // whoever opened a hostile page sees that it tried.
        tracing::warn!(
            target: "edgecase::admin",
            "control API refused {} {path} with 403: {refused}",
            request.method()
        );
        return error(StatusCode::FORBIDDEN, &refused.message());
    }
    if segments != ["healthz"] && !authorized(state, &request) {
        let mut response = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer realm=\"edgecase\""),
        );
        return response;
    }
    let method = request.method().clone();
    let headers = request.headers().clone();
    let query = request.uri().query().unwrap_or("").to_owned();
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let call = Call {
        state,
        method: &method,
        segments: &segments,
        query: &query,
        body: &body,
    };
    match segments.first().copied() {
        Some("healthz") if segments.len() == 1 => match method {
            Method::GET | Method::HEAD => {
                json(StatusCode::OK, &serde_json::json!({"status": "ok"}))
            }
            _ => not_allowed(&call),
        },
        Some("faults" | "requests") => faults::route(&call),
        Some("scenarios") => scenarios::route(&call, &headers),
        Some("version" | "proxies" | "reset" | "populate") => toxiproxy::route(&call).await,
        Some("reload") if segments.len() == 1 => match method {
            Method::POST => match state.reload() {
                Ok(()) => json(StatusCode::OK, &serde_json::json!({"status": "reloaded"})),
                Err(ReloadError::NoFile) => {
                    error(StatusCode::CONFLICT, &ReloadError::NoFile.to_string())
                }
                Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
            },
            _ => not_allowed(&call),
        },
        Some("metrics" | "analytics" | "analytics.json" | "har") if segments.len() == 1 => {
            observe::route(&call)
        }
        _ => error(StatusCode::NOT_FOUND, &format!("no such endpoint: {path}")),
    }
}

/// One parsed control API request.
struct Call<'a> {
    state: &'a EdgeState,
    method: &'a Method,
    segments: &'a [&'a str],
    query: &'a str,
    body: &'a [u8],
}

/// 405 for a known path with the wrong method, `Allow` listing the methods [`ROUTES`] has for it.
fn not_allowed(call: &Call<'_>) -> Response<Bytes> {
    let allow = routes::allow(call.segments);
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method not allowed here; use {allow}"),
    );
    if let Ok(value) = http::HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// Whether the request carries the configured token (always, without one).
fn authorized<B>(state: &EdgeState, request: &Request<B>) -> bool {
    let config = state.config();
    let Some(token) = config.admin.as_ref().and_then(|a| a.token.as_deref()) else {
        return true;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    given.is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes()))
}

/// Compares without stopping at the first difference, so timing does not leak the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The whole request body, at most [`MAX_BODY_BYTES`].
async fn read_body(request: Request<Incoming>) -> Result<Bytes, Response<Bytes>> {
    match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body over {MAX_BODY_BYTES} bytes"),
        )),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            &format!("cannot read the body: {e}"),
        )),
    }
}
