//! [`RecentRequests`]: the last requests the edge handled, kept in a bounded ring so a test
//! (through the control API or the library) can ask why ray X failed. Each entry is written
//! with the access log line, from the same facts.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

use crate::base::time::Rfc3339;
use crate::config::StatusFilter;
use crate::observe::logline::ms;
use crate::record::finished::Finished;

/// How many requests the ring keeps; older ones fall out.
pub const RECENT_CAPACITY: usize = 1000;

/// One handled request, as `GET /requests` shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequestRecord {
    /// The ray ID, as in `cf-ray`.
    pub ray: String,
    /// The Toxiproxy name of the proxy that served it (`edgecase`: the config's own).
    pub proxy: String,
    /// The scenario running when the request arrived, if any.
    pub scenario: Option<String>,
    /// The phase of that scenario the request arrived in (and that decided its fault).
    pub phase: Option<String>,
    /// When the request arrived, RFC 3339 in UTC.
    pub time: String,
    /// The method.
    pub method: String,
    /// The Host asked for, without port.
    pub host: String,
    /// The path and query.
    pub path: String,
    /// The status the visitor got (499: the visitor left first).
    pub status: u16,
    /// The origin's status, when it answered.
    pub origin_status: Option<u16>,
    /// Why edgecase answered instead of the origin, or how a response broke off.
    pub cause: Option<String>,
    /// The fault rule that applied, by id.
    pub fault: Option<u64>,
    /// The SSL mode the request went with: `full`, `automatic:full_strict`, or `automatic`
    /// before Automatic SSL/TLS decided; `None` when edgecase answered before routing.
    pub ssl: Option<String>,
    /// The origin's address, when a connection was made.
    pub origin: Option<SocketAddr>,
    /// Name resolution, for a new connection.
    pub dns_ms: Option<f64>,
    /// The TCP handshake, for a new connection (or the attempt that failed).
    pub connect_ms: Option<f64>,
    /// The origin TLS handshake, for a new TLS connection.
    pub tls_ms: Option<f64>,
    /// From the request being sent to the origin's response head.
    pub wait_ms: Option<f64>,
    /// From arrival to the response head.
    pub head_ms: f64,
    /// From arrival to the end of the response.
    pub total_ms: f64,
    /// How the response ended: `complete`, `visitor_gone`, or the abort's tag.
    pub ending: String,
}

impl RequestRecord {
    /// The record of `finished`.
    pub fn of(finished: &Finished) -> RequestRecord {
        let origin = &finished.origin;
        RequestRecord {
            ray: finished.ray.to_string(),
            proxy: finished.proxy.to_string(),
            scenario: finished
                .scenario
                .as_ref()
                .map(|tag| tag.scenario.to_string()),
            phase: finished.scenario.as_ref().map(|tag| tag.phase.to_string()),
            time: Rfc3339(finished.at).to_string(),
            method: finished.method.to_string(),
            host: finished.host.to_string(),
            path: finished.path.to_string(),
            status: finished.status,
            origin_status: finished.origin_status,
            cause: finished.outcome().map(str::to_owned),
            fault: finished.fault,
            ssl: finished.ssl.map(|ssl| ssl.to_string()),
            origin: origin.peer,
            dns_ms: origin.dns.map(ms),
            connect_ms: origin.connect.map(ms),
            tls_ms: origin.tls_handshake.map(ms),
            wait_ms: origin.wait.map(ms),
            head_ms: ms(finished.head_after),
            total_ms: ms(finished.total),
            ending: finished.ending.tag().to_owned(),
        }
    }
}

/// Which records a query wants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestQuery {
    /// At most this many, newest first.
    pub limit: Option<usize>,
    /// Only this status (`522`) or class (`5xx`).
    pub status: Option<StatusFilter>,
    /// Only this ray ID (with or without its `-COLO`).
    pub ray: Option<String>,
}

/// The ring of recent requests. Shared behind an `Arc`.
#[derive(Debug)]
pub struct RecentRequests {
    ring: Mutex<VecDeque<Arc<Finished>>>,
    capacity: usize,
}

impl Default for RecentRequests {
    fn default() -> Self {
        RecentRequests::new(RECENT_CAPACITY)
    }
}

impl RecentRequests {
    /// An empty ring keeping `capacity` records.
    pub fn new(capacity: usize) -> Self {
        RecentRequests {
            ring: Mutex::new(VecDeque::with_capacity(capacity.min(64))),
            capacity: capacity.max(1),
        }
    }

    /// Records a finished request, dropping the oldest when full.
    pub fn push(&self, finished: Arc<Finished>) {
        let mut ring = self.lock();
        if ring.len() == self.capacity {
            ring.pop_front();
        }
        ring.push_back(finished);
    }

    /// The records `query` selects, newest first (at most 100 without a limit).
    pub fn query(&self, query: &RequestQuery) -> Vec<RequestRecord> {
        self.finished(query)
            .iter()
            .map(|f| RequestRecord::of(f))
            .collect()
    }

    /// The requests `query` selects, whole, newest first (at most 100 without a limit).
    pub fn finished(&self, query: &RequestQuery) -> Vec<Arc<Finished>> {
        // A ray that is not 16 hex digits (with or without its colo) matches nothing.
        let ray = query.ray.as_deref().map(|ray| {
            let hex = ray.split('-').next().unwrap_or(ray);
            u64::from_str_radix(hex, 16)
                .ok()
                .filter(|_| hex.len() == 16)
        });
        self.lock()
            .iter()
            .rev()
            .filter(|f| query.status.is_none_or(|s| s.admits(f.status)))
            .filter(|f| ray.is_none_or(|ray| ray == Some(f.ray.id())))
            .take(query.limit.unwrap_or(100))
            .cloned()
            .collect()
    }

    /// The record of ray `ray` (with or without its colo), if still in the ring.
    pub fn find(&self, ray: &str) -> Option<RequestRecord> {
        let query = RequestQuery {
            limit: Some(1),
            ray: Some(ray.to_owned()),
            ..RequestQuery::default()
        };
        self.query(&query).pop()
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Arc<Finished>>> {
        // A push or pop cannot be left half done: a poisoned lock is still consistent.
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u16, status: u16) -> Arc<Finished> {
        Arc::new(crate::record::finished::tests::finished(
            u64::from(n),
            status,
        ))
    }

    #[test]
    fn the_ring_keeps_the_newest_and_filters() {
        let recent = RecentRequests::new(3);
        for (n, status) in [(1, 200), (2, 522), (3, 200), (4, 524)] {
            recent.push(record(n, status));
        }
        let all = recent.query(&RequestQuery::default());
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].status, 524);
        let errors = RequestQuery {
            status: Some("5xx".parse().unwrap()),
            ..RequestQuery::default()
        };
        assert_eq!(recent.query(&errors).len(), 2);
        assert!(recent.find("0000000000000003").is_some());
        assert!(recent.find("0000000000000001-CDG").is_none());
        assert!("6xx".parse::<StatusFilter>().is_err());
    }
}
