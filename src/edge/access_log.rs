//! [`AccessLog`]: what is known about one request while it is handled, made into a
//! [`Finished`] record when the response is over and handed to the [`Observers`] (log line,
//! metrics, analytics, HAR, recent requests).
//!
//! For an error page that is at once; for a proxied response it is when the body ends, breaks
//! off, or the visitor goes away, so the record tells how the response really ended.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, Version};
use tokio::time::Instant;

use crate::config::SslInForce;
use crate::edge::Visit;
use crate::observe::Observers;
use crate::origin::body::BodyTap;
use crate::ray::RayId;
use crate::record::ExchangeFacts;
use crate::record::finished::Finished;
use crate::record::tally::ScenarioTag;

pub use crate::record::finished::Ending;

/// Everything the request's record says, gathered as the request goes. Cloned once per
/// request (for the line of a request dropped before its answer), so it holds nothing large by
/// value.
#[derive(Clone)]
pub struct AccessLog {
    /// The request's ray ID.
    pub ray: RayId,
    /// The request method.
    pub method: Method,
    /// The visitor's HTTP version.
    pub version: Version,
    /// The visitor's connection.
    pub visit: Visit,
    /// The Host the visitor asked for (shared: the clone for an unanswered request, the
    /// answering and the record all use this one allocation).
    pub host: Arc<str>,
    /// The path and query (shared, like `host`).
    pub path: Arc<str>,
    /// The visitor's request headers, as received.
    pub request_headers: Arc<HeaderMap>,
    /// Counts (and keeps the start of) the request body on its way to the origin.
    pub request_tap: Option<Arc<BodyTap>>,
    /// When the request arrived.
    pub started: Instant,
    /// The wall-clock time the request arrived.
    pub at: SystemTime,
    /// The status the visitor got.
    pub status: u16,
    /// The origin's status, when it answered.
    pub origin_status: Option<u16>,
    /// Why edgecase answered instead of the origin (a failure's tag).
    pub cause: Option<&'static str>,
    /// The way to the origin, as far as it went.
    pub origin: ExchangeFacts,
    /// From arrival to the response head.
    pub head_after: Duration,
    /// The fault rule that applied, by id.
    pub fault: Option<u64>,
    /// The SSL mode the request went to the origin with; `None` when it was not routed.
    pub ssl: Option<SslInForce>,
    /// The response headers the visitor got.
    pub response_headers: HeaderMap,
    /// Response body bytes sent so far (for an upgraded connection, origin to visitor).
    pub response_bytes: u64,
    /// For an upgraded connection, the bytes the visitor sent through the tunnel.
    pub tunnel_up: u64,
    /// The start of the response body, kept for HAR capture while under `capture_limit`.
    pub response_body: Option<BytesMut>,
    /// A page body edgecase made (kept whole: it is shared, not copied).
    pub page_body: Option<Bytes>,
    /// Where the finished record goes.
    pub observers: Arc<Observers>,
    /// The Toxiproxy name of the proxy that served the request (`edgecase`: the config's own).
    pub proxy: Arc<str>,
    /// The scenario phase the request arrived in, which counts it when it is over.
    pub scenario: Option<Arc<ScenarioTag>>,
}

impl AccessLog {
    /// Notes `chunk` of the response body going to the visitor.
    pub fn sent(&mut self, chunk: &[u8]) {
        self.response_bytes += chunk.len() as u64;
        if let Some(kept) = &mut self.response_body {
            let room = self.observers.capture.body_bytes.saturating_sub(kept.len());
            kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
    }

    /// Starts keeping the response body, when captures want `status`.
    pub fn keep_body_of(&mut self, status: u16) {
        let capture = &self.observers.capture;
        if capture.body_bytes > 0 && capture.wants(status) {
            self.response_body = Some(BytesMut::new());
        }
    }

    /// Hands the record over.
    pub fn finish(self, ending: Ending) {
        let limit = self.observers.capture.body_bytes;
        let response_body = match (self.page_body, self.response_body) {
            (Some(page), _) => Some(page.slice(..page.len().min(limit))),
            (None, Some(kept)) => Some(kept.freeze()),
            (None, None) => None,
        };
        let (request_bytes, request_body) = match &self.request_tap {
            Some(tap) => (tap.bytes(), tap.kept()),
            None => (0, None),
        };
        let request_bytes = request_bytes + self.tunnel_up;
        let finished = Finished {
            ray: self.ray,
            proxy: self.proxy,
            scenario: self.scenario,
            at: self.at,
            method: self.method,
            version: self.version,
            https: self.visit.https(),
            client_tls: self.visit.tls.map(|tls| tls.version),
            host: self.host,
            path: self.path,
            client: self.visit.peer,
            edge: self.visit.local,
            request_headers: self.request_headers,
            request_bytes,
            request_body,
            status: self.status,
            origin_status: self.origin_status,
            cause: self.cause,
            fault: self.fault,
            ssl: self.ssl,
            origin: self.origin,
            head_after: self.head_after,
            total: self.started.elapsed(),
            ending,
            response_headers: self.response_headers,
            response_bytes: self.response_bytes,
            response_body,
        };
        self.observers.finish(finished);
    }
}
