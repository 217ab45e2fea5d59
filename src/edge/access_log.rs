//! [`AccessLog`]: the one log line per request, written when the response is over.
//!
//! For an error page that is at once; for a proxied response it is when the body ends, breaks
//! off, or the visitor goes away, so the line tells how the response really ended.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::Method;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::edge::recent::{RecentRequests, RequestRecord};
use crate::origin::ExchangeFacts;
use crate::pages::time::Rfc3339;
use crate::ray::RayId;

/// How a response ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Sent completely.
    Complete,
    /// Aborted because the origin's body broke off (the tag says how).
    Aborted(&'static str),
    /// The visitor went away before the end.
    VisitorGone,
}

/// Everything the request's log line says, gathered as the request goes.
#[derive(Clone, Debug)]
pub struct AccessLog {
    /// The request's ray ID.
    pub ray: RayId,
    /// The request method.
    pub method: Method,
    /// The Host the visitor asked for.
    pub host: String,
    /// The path and query.
    pub path: String,
    /// When the request arrived.
    pub started: Instant,
    /// The status the visitor got.
    pub status: u16,
    /// The origin's status, when it answered.
    pub origin_status: Option<u16>,
    /// Why edgecase answered instead of the origin (a failure's tag).
    pub cause: Option<&'static str>,
    /// The origin exchange, when there was one.
    pub exchange: Option<ExchangeFacts>,
    /// From arrival to the response head.
    pub head_after: Duration,
    /// The wall-clock time the request arrived.
    pub at: SystemTime,
    /// The fault rule that applied, by id.
    pub fault: Option<u64>,
    /// Where the finished request is also recorded, for the control API.
    pub recent: Arc<RecentRequests>,
}

impl AccessLog {
    /// Writes the line.
    pub fn finish(self, ending: Ending) {
        let total = self.started.elapsed();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let origin = self.exchange.map(|e| e.peer.to_string());
        let connect_ms = self.exchange.and_then(|e| e.connect).map(ms);
        let tls_ms = self.exchange.and_then(|e| e.tls_handshake).map(ms);
        let reused = self.exchange.map(|e| e.reused);
        let retried = self.exchange.is_some_and(|e| e.retried);
        let ending = match ending {
            Ending::Complete => "complete",
            Ending::Aborted(tag) => tag,
            Ending::VisitorGone => "visitor_gone",
        };
        macro_rules! line {
            ($level:ident, $message:literal) => {
                $level!(
                    ray = %self.ray,
                    method = %self.method,
                    host = %self.host,
                    path = %self.path,
                    status = self.status,
                    origin_status = self.origin_status,
                    cause = self.cause,
                    origin = origin.as_deref(),
                    connect_ms,
                    tls_ms,
                    reused,
                    retried,
                    head_ms = ms(self.head_after),
                    total_ms = ms(total),
                    ending,
                    fault = self.fault,
                    $message
                )
            };
        }
        if self.cause.is_some() || ending != "complete" {
            line!(warn, "request failed");
        } else {
            line!(info, "request");
        }
        let cause = self
            .cause
            .or((ending != "complete").then_some(ending))
            .map(str::to_owned);
        self.recent.push(RequestRecord {
            ray: self.ray.to_string(),
            time: Rfc3339(self.at).to_string(),
            method: self.method.to_string(),
            host: self.host,
            path: self.path,
            status: self.status,
            origin_status: self.origin_status,
            cause,
            fault: self.fault,
            origin: self.exchange.map(|e| e.peer),
            connect_ms,
            tls_ms,
            head_ms: ms(self.head_after),
            total_ms: ms(total),
            ending: ending.to_owned(),
        });
    }
}
