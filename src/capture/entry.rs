//! One [`Finished`] request as a HAR [`Entry`]: the request line and headers the visitor sent,
//! the response the visitor got, and the time split into HAR's phases. This module decides
//! what each HAR member holds; the format itself is [`super::har`], and which requests are
//! captured is the caller's business.

use std::borrow::Cow;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use http::header::{CONTENT_TYPE, HOST, LOCATION};

use super::har::{
    Cache, Content, Entry, Header, Param, PostData, QueryParam, Request, Response, Timings,
};
use super::{cookies, pairs};
use crate::base::time::Rfc3339Millis;
use crate::pages;
use crate::record::ExchangeFacts;
use crate::record::finished::Finished;

/// HAR's value for a phase that does not apply, and for an unknown size.
const NOT_APPLICABLE: f64 = -1.0;

/// `finished` as a HAR entry.
pub fn entry(finished: &Finished) -> Entry {
    let timings = timings(finished);
    let outcome = finished.outcome();
    let ray = finished.ray.to_string();
    let comment = match outcome {
        Some(cause) => format!("ray {ray}, cause {cause}"),
        None => format!("ray {ray}"),
    };
    Entry {
        pageref: None,
        started_date_time: Rfc3339Millis(finished.at).to_string(),
        time: total_time(&timings),
        request: request(finished),
        response: response(finished),
        cache: Cache::default(),
        timings,
        server_ip_address: finished.origin.peer.map(|peer| peer.ip().to_string()),
        connection: finished.origin.peer.map(|peer| peer.port().to_string()),
        comment: Some(comment),
        cf_ray: Some(ray),
        edgecase_cause: outcome.map(str::to_owned),
        origin_status: finished.origin_status,
        edgecase_proxy: Some(finished.proxy.to_string()),
        edgecase_scenario: finished
            .scenario
            .as_ref()
            .map(|tag| tag.scenario.to_string()),
        edgecase_phase: finished.scenario.as_ref().map(|tag| tag.phase.to_string()),
    }
}

/// The request as the visitor sent it.
fn request(finished: &Finished) -> Request {
    let headers = &finished.request_headers;
    let post_data = finished
        .request_body
        .as_ref()
        .filter(|body| !body.is_empty())
        .map(|body| {
            let mime_type = header_text(headers, CONTENT_TYPE).unwrap_or_default();
            let text = String::from_utf8_lossy(body).into_owned();
            PostData {
                params: pairs::is_form(&mime_type).then(|| form_params(&text)),
                mime_type,
                text: Some(text),
                comment: truncation(body.len(), finished.request_bytes),
            }
        });
    Request {
        method: finished.method.as_str().to_owned(),
        url: url(finished),
        http_version: finished.protocol().to_owned(),
        cookies: cookies::sent(headers),
        headers: header_list(headers),
        query_string: query_string(&finished.path),
        post_data,
        headers_size: -1,
        body_size: size(finished.request_bytes),
        comment: None,
    }
}

/// The response as the visitor got it.
fn response(finished: &Finished) -> Response {
    let headers = &finished.response_headers;
    let (text, encoding) = match &finished.response_body {
        Some(body) => match std::str::from_utf8(body) {
            Ok(text) => (Some(text.to_owned()), None),
            Err(_) => (Some(STANDARD.encode(body)), Some("base64".to_owned())),
        },
        None => (None, None),
    };
    let comment = finished
        .response_body
        .as_ref()
        .and_then(|body| truncation(body.len(), finished.response_bytes));
    Response {
        status: finished.status,
        status_text: status_text(finished.status).to_owned(),
        http_version: finished.protocol().to_owned(),
        cookies: cookies::set(headers),
        headers: header_list(headers),
        content: Content {
            size: size(finished.response_bytes),
            compression: None,
            mime_type: header_text(headers, CONTENT_TYPE).unwrap_or_default(),
            text,
            encoding,
            comment,
        },
        redirect_url: header_text(headers, LOCATION).unwrap_or_default(),
        headers_size: -1,
        body_size: size(finished.response_bytes),
        comment: None,
    }
}

/// The time split into HAR's phases, each rounded to the microsecond.
///
/// The origin's phases come from [`ExchangeFacts`]; `connect` includes the TLS handshake, as
/// HAR defines it. Without a measured `wait`, it is what is left of the time to the response
/// head after the phases before it. `receive` runs from the response head to the end.
fn timings(finished: &Finished) -> Timings {
    let ExchangeFacts {
        dns,
        connect,
        tls_handshake,
        send,
        wait,
        ..
    } = finished.origin;
    let dns_ms = dns.map(millis);
    let connect_ms = match (connect, tls_handshake) {
        (None, None) => None,
        (tcp, tls) => Some(millis(tcp.unwrap_or_default() + tls.unwrap_or_default())),
    };
    let send_ms = send.map(millis).unwrap_or(0.0);
    let wait_ms = match wait {
        Some(wait) => millis(wait),
        None => {
            let before = dns_ms.unwrap_or(0.0) + connect_ms.unwrap_or(0.0) + send_ms;
            let left = round(millis(finished.head_after) - before);
            // Never negative, nor -0.0.
            if left > 0.0 { left } else { 0.0 }
        }
    };
    let receive_ms = millis(finished.total.saturating_sub(finished.head_after));
    Timings {
        blocked: Some(NOT_APPLICABLE),
        dns: Some(dns_ms.unwrap_or(NOT_APPLICABLE)),
        connect: Some(connect_ms.unwrap_or(NOT_APPLICABLE)),
        send: send_ms,
        wait: wait_ms,
        receive: receive_ms,
        ssl: Some(tls_handshake.map(millis).unwrap_or(NOT_APPLICABLE)),
        comment: None,
    }
}

/// HAR's `time`: the sum of the phases that apply (`ssl` is part of `connect`, not added).
fn total_time(timings: &Timings) -> f64 {
    let phases = [
        timings.blocked,
        timings.dns,
        timings.connect,
        Some(timings.send),
        Some(timings.wait),
        Some(timings.receive),
    ];
    round(phases.into_iter().flatten().filter(|ms| *ms >= 0.0).sum())
}

/// A duration in milliseconds, rounded to 3 decimals.
fn millis(duration: Duration) -> f64 {
    round(duration.as_secs_f64() * 1000.0)
}

/// `ms` rounded to 3 decimals.
fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// A byte count as a HAR size.
fn size(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

/// A note that a captured body holds only the start of the body, when it does.
fn truncation(kept: usize, total: u64) -> Option<String> {
    let kept_bytes = u64::try_from(kept).unwrap_or(u64::MAX);
    (kept_bytes < total).then(|| format!("the first {kept} of {total} bytes"))
}

/// The reason phrase the visitor got with `status` (Cloudflare's own for 520-526).
fn status_text(status: u16) -> &'static str {
    pages::reason(status)
}

/// The request's absolute URL, without fragment (HAR leaves fragments out). The authority is
/// the `Host` header when there is one (it keeps the port), else the host name.
fn url(finished: &Finished) -> String {
    let scheme = if finished.https { "https" } else { "http" };
    let authority = header_text(&finished.request_headers, HOST)
        .filter(|host| !host.is_empty())
        .map_or(Cow::Borrowed(&*finished.host), Cow::Owned);
    let path = finished
        .path
        .split_once('#')
        .map_or(&*finished.path, |(path, _)| path);
    let slash = if path.starts_with('/') { "" } else { "/" };
    format!("{scheme}://{authority}{slash}{path}")
}

/// The parameters of `path`'s query string, in order and as written (not percent-decoded).
fn query_string(path: &str) -> Vec<QueryParam> {
    let Some((_, query)) = path.split_once('?') else {
        return Vec::new();
    };
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    pairs::split(query)
        .map(|(name, value)| QueryParam {
            name: name.to_owned(),
            value: value.to_owned(),
            comment: None,
        })
        .collect()
}

/// The parameters of a URL-encoded form body, in order and as written.
fn form_params(text: &str) -> Vec<Param> {
    pairs::split(text)
        .map(|(name, value)| Param {
            name: name.to_owned(),
            value: Some(value.to_owned()),
            file_name: None,
            content_type: None,
            comment: None,
        })
        .collect()
}

/// Every header of `headers`, in order, values that are not UTF-8 converted lossily.
fn header_list(headers: &HeaderMap) -> Vec<Header> {
    headers
        .iter()
        .map(|(name, value)| Header {
            name: name.as_str().to_owned(),
            value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
            comment: None,
        })
        .collect()
}

/// The first `name` header's value as text (lossily), if any.
fn header_text(headers: &HeaderMap, name: http::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}
