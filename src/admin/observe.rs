//! What the control API shows of finished requests: `/metrics` (Prometheus), `/analytics`
//! and `/analytics.json` (Error Analytics), and `/har` (a HAR document of recent requests).

use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};

use super::reply::{error, json};
use super::{Call, faults, not_allowed};
use crate::analytics::{self, Query};
use crate::observe::metrics::CONTENT_TYPE as METRICS_CONTENT_TYPE;

pub(super) fn route(call: &Call<'_>) -> Response<Bytes> {
    if !matches!(*call.method, Method::GET | Method::HEAD) {
        return not_allowed(call);
    }
    let observers = &call.state.observers;
    match call.segments {
        ["metrics"] => body(
            observers.metrics.encode().into(),
            METRICS_CONTENT_TYPE,
            None,
        ),
        ["analytics" | "analytics.json"] => {
            let query = match Query::from_query_string(call.query) {
                Ok(query) => query,
                Err(why) => return error(StatusCode::BAD_REQUEST, &why),
            };
            let report = observers.analytics.report(&query, SystemTime::now());
            match call.segments {
                ["analytics.json"] => json(StatusCode::OK, &report),
                _ => body(
                    analytics::render_page_with(&report, &call.state.scenarios.bands()).into(),
                    "text/html; charset=utf-8",
                    None,
                ),
            }
        }
        ["har"] => {
            let query = match faults::query(call.query) {
                Ok(query) => query,
                Err(why) => return error(StatusCode::BAD_REQUEST, &why),
            };
            // Oldest first, as a HAR's entries are.
            let mut finished = observers.recent.finished(&query);
            finished.reverse();
            let entries = finished.iter().map(|f| crate::capture::entry(f)).collect();
            let har = crate::capture::shared(entries, observers.redaction.as_ref());
            // Serialising plain data cannot fail.
            let text = serde_json::to_vec_pretty(&har).unwrap_or_default();
            body(
                text.into(),
                "application/json",
                Some("attachment; filename=\"edgecase.har\""),
            )
        }
        _ => error(StatusCode::NOT_FOUND, "no such endpoint"),
    }
}

/// A 200 with `bytes` of `content_type`.
pub(super) fn body(
    bytes: Bytes,
    content_type: &'static str,
    disposition: Option<&'static str>,
) -> Response<Bytes> {
    let mut response = Response::new(bytes);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(disposition) = disposition {
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static(disposition),
        );
    }
    response
}
