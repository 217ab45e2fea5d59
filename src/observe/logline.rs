//! The access log line of a [`Finished`] request, in the two `[log] format`s: `text` (one
//! `key=value` line, for people) and `json` (one object with Cloudflare's Logpush
//! `http_requests` field names, for the tooling that already reads Logpush).

use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::base::time::Rfc3339Millis;
use crate::config::{LogFormat, Timestamps};
use crate::record::finished::Finished;

/// The line for `finished` in `format`, without its newline.
pub fn line(finished: &Finished, format: LogFormat, timestamps: Timestamps) -> String {
    match format {
        LogFormat::Text => text(finished),
        LogFormat::Json => json(finished, timestamps),
    }
}

/// Milliseconds with a tenth of a microsecond's resolution, as the text line and
/// `GET /requests` show durations.
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000_000.0).round() / 10_000.0
}

/// `2026-11-24T10:00:00.123Z ray=... status=522 cause=connect_timeout ...`
fn text(f: &Finished) -> String {
    let mut out = String::with_capacity(256);
    let origin = &f.origin;
    // Writing into a String cannot fail. Visitor-controlled values (host, path) are quoted
    // with escapes, so a line is always one line.
    let _ = write!(
        out,
        "{} ray={} method={} host={:?} path={:?} status={}",
        Rfc3339Millis(f.at),
        f.ray,
        f.method,
        f.host,
        f.path,
        f.status
    );

    if let Some(status) = f.origin_status {
        let _ = write!(out, " origin_status={status}");
    }
    if let Some(cause) = f.cause {
        let _ = write!(out, " cause={cause}");
    }
    if let Some(peer) = origin.peer {
        let _ = write!(out, " origin={peer}");
    }
    for (key, value) in [
        ("dns_ms", origin.dns),
        ("connect_ms", origin.connect),
        ("tls_ms", origin.tls_handshake),
        ("wait_ms", origin.wait),
    ] {
        if let Some(value) = value {
            let _ = write!(out, " {key}={}", ms(value));
        }
    }
    if origin.peer.is_some() {
        let _ = write!(out, " reused={} retried={}", origin.reused, origin.retried);
    }
    let _ = write!(
        out,
        " head_ms={} total_ms={} bytes={} ending={}",
        ms(f.head_after),
        ms(f.total),
        f.response_bytes,
        f.ending.tag()
    );
    if let Some(rule) = f.fault {
        let _ = write!(out, " fault={rule}");
    }
    // Quoted: a name comes from the control API.
    let _ = write!(out, " proxy={:?}", &*f.proxy);
    if let Some(tag) = &f.scenario {
        let _ = write!(
            out,
            " scenario={:?} phase={:?}",
            &*tag.scenario, &*tag.phase
        );
    }
    out
}

/// A Logpush timestamp.
#[derive(Serialize)]
#[serde(untagged)]
enum Stamp {
    Integer(u128),
    Text(String),
}

fn stamp(at: SystemTime, timestamps: Timestamps) -> Stamp {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    match timestamps {
        Timestamps::UnixNano => Stamp::Integer(since.as_nanos()),
        Timestamps::Unix => Stamp::Integer(u128::from(since.as_secs())),
        Timestamps::Rfc3339 => Stamp::Text(Rfc3339Millis(at).to_string()),
    }
}

/// Whole milliseconds, as Logpush's `...Ms` fields are integers.
fn whole_ms(d: Option<Duration>) -> u64 {
    d.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One Logpush `http_requests` record. Field names are Cloudflare's; `Edgecase*` are ours.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Record<'a> {
    #[serde(rename = "RayID")]
    ray_id: String,
    edge_start_timestamp: Stamp,
    edge_end_timestamp: Stamp,
    edge_response_status: u16,
    edge_colo_code: &'a str,
    edge_time_to_first_byte_ms: u64,
    edge_response_bytes: u64,
    #[serde(rename = "EdgeServerIP")]
    edge_server_ip: String,
    #[serde(rename = "ClientIP")]
    client_ip: String,
    client_request_host: &'a str,
    client_request_method: &'a str,
    #[serde(rename = "ClientRequestURI")]
    client_request_uri: &'a str,
    client_request_protocol: &'static str,
    client_request_scheme: &'static str,
    client_request_user_agent: &'a str,
    client_request_bytes: u64,
    #[serde(rename = "ClientSSLProtocol")]
    client_ssl_protocol: &'static str,
    client_country: &'static str,
    origin_response_status: u16,
    #[serde(rename = "OriginIP")]
    origin_ip: String,
    #[serde(rename = "OriginDNSResponseTimeMs")]
    origin_dns_response_time_ms: u64,
    #[serde(rename = "OriginTCPHandshakeDurationMs")]
    origin_tcp_handshake_duration_ms: u64,
    #[serde(rename = "OriginTLSHandshakeDurationMs")]
    origin_tls_handshake_duration_ms: u64,
    origin_request_header_send_duration_ms: u64,
    origin_response_header_receive_duration_ms: u64,
    origin_response_duration_ms: u64,
    #[serde(rename = "OriginSSLProtocol")]
    origin_ssl_protocol: &'static str,
    cache_cache_status: &'static str,
    edgecase_cause: Option<&'static str>,
    edgecase_ending: &'static str,
    edgecase_fault_rule: Option<u64>,
    edgecase_retried: bool,
    edgecase_proxy: &'a str,
    edgecase_scenario: Option<&'a str>,
    edgecase_phase: Option<&'a str>,
}

fn json(f: &Finished, timestamps: Timestamps) -> String {
    let origin = &f.origin;
    let origin_total = [
        origin.dns,
        origin.connect,
        origin.tls_handshake,
        origin.send,
        origin.wait,
    ]
    .into_iter()
    .flatten()
    .sum::<Duration>();
    let colo = f.ray.colo();
    let record = Record {
        ray_id: f.ray.hex().to_string(),
        edge_start_timestamp: stamp(f.at, timestamps),
        edge_end_timestamp: stamp(f.ended_at(), timestamps),
        edge_response_status: f.status,
        edge_colo_code: colo.as_str(),
        edge_time_to_first_byte_ms: whole_ms(Some(f.head_after)),
        edge_response_bytes: f.response_bytes,
        edge_server_ip: f.edge.ip().to_string(),
        client_ip: f.client.ip().to_string(),
        client_request_host: &f.host,
        client_request_method: f.method.as_str(),
        client_request_uri: &f.path,
        client_request_protocol: f.protocol(),
        client_request_scheme: if f.https { "https" } else { "http" },
        client_request_user_agent: f.user_agent(),
        client_request_bytes: f.request_bytes,
        client_ssl_protocol: f.client_tls.unwrap_or("none"),
        // Cloudflare's country of the visitor; edgecase has no geolocation (cf-ipcountry: XX).
        client_country: "xx",
        origin_response_status: f.origin_status.unwrap_or(0),
        origin_ip: origin.peer.map(|p| p.ip().to_string()).unwrap_or_default(),
        origin_dns_response_time_ms: whole_ms(origin.dns),
        origin_tcp_handshake_duration_ms: whole_ms(origin.connect),
        origin_tls_handshake_duration_ms: whole_ms(origin.tls_handshake),
        origin_request_header_send_duration_ms: whole_ms(origin.send),
        origin_response_header_receive_duration_ms: whole_ms(origin.wait),
        origin_response_duration_ms: whole_ms(Some(origin_total)),
        origin_ssl_protocol: origin.tls_protocol.unwrap_or("none"),
        cache_cache_status: "dynamic",
        edgecase_cause: f.outcome(),
        edgecase_ending: f.ending.tag(),
        edgecase_fault_rule: f.fault,
        edgecase_retried: origin.retried,
        edgecase_proxy: &f.proxy,
        edgecase_scenario: f.scenario.as_ref().map(|tag| &*tag.scenario),
        edgecase_phase: f.scenario.as_ref().map(|tag| &*tag.phase),
    };
    // Serialising plain strings and numbers cannot fail.
    serde_json::to_string(&record).unwrap_or_default()
}

#[cfg(test)]
#[path = "logline_tests.rs"]
mod tests;
