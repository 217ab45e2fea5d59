//! [`Finished`]: everything edgecase knows about one request once its response is over. The
//! access log line, the metrics, Error Analytics, HAR capture and `GET /requests` are all
//! made from this one value, so they can never disagree.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method, Version};

use crate::config::SslInForce;
use crate::ray::RayId;
use crate::record::ExchangeFacts;
use crate::record::tally::ScenarioTag;

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

impl Ending {
    /// `complete`, `visitor_gone`, or the abort's tag.
    pub fn tag(self) -> &'static str {
        match self {
            Ending::Complete => "complete",
            Ending::Aborted(tag) => tag,
            Ending::VisitorGone => "visitor_gone",
        }
    }
}

/// One request, over.
#[derive(Clone, Debug)]
pub struct Finished {
    /// The request's ray ID (its colo is the edge's).
    pub ray: RayId,
    /// The Toxiproxy name of the proxy that served it (`edgecase`: the config's own).
    pub proxy: Arc<str>,
    /// The scenario and phase the request arrived in, when a scenario was running.
    pub scenario: Option<Arc<ScenarioTag>>,
    /// When the request arrived (wall clock).
    pub at: SystemTime,
    /// The request method.
    pub method: Method,
    /// The visitor's HTTP version.
    pub version: Version,
    /// Whether the visitor came over HTTPS.
    pub https: bool,
    /// The visitor's TLS version (`TLSv1.3`), when HTTPS.
    pub client_tls: Option<&'static str>,
    /// The Host asked for, lowercase, without port (shared: every observer reads the same).
    pub host: Arc<str>,
    /// The path and query (shared, like `host`).
    pub path: Arc<str>,
    /// The visitor's address.
    pub client: SocketAddr,
    /// The edge address the visitor connected to.
    pub edge: SocketAddr,
    /// The visitor's request headers, as received (before edgecase's own were added).
    pub request_headers: Arc<HeaderMap>,
    /// The visitor's request body bytes that went to the origin (counted as they passed).
    pub request_bytes: u64,
    /// The start of the request body, up to `[capture] body_bytes`; `None` when not kept.
    pub request_body: Option<Bytes>,
    /// The status the visitor got (499: the visitor left before the response head).
    pub status: u16,
    /// The origin's status, when it answered with an HTTP response.
    pub origin_status: Option<u16>,
    /// Why edgecase answered instead of the origin: a failure's tag (`connect_timeout`).
    pub cause: Option<&'static str>,
    /// The fault rule that applied, by id.
    pub fault: Option<u64>,
    /// The SSL mode the request went to the origin with (`automatic:full_strict`); `None`
    /// when edgecase answered before routing it.
    pub ssl: Option<SslInForce>,
    /// What happened on the way to the origin (all empty when it was never contacted).
    pub origin: ExchangeFacts,
    /// From arrival to the response head.
    pub head_after: Duration,
    /// From arrival to the end of the response.
    pub total: Duration,
    /// How the response ended.
    pub ending: Ending,
    /// The response headers the visitor got.
    pub response_headers: HeaderMap,
    /// Response body bytes sent to the visitor.
    pub response_bytes: u64,
    /// The start of the response body, up to `[capture] body_bytes`; `None` when not kept.
    pub response_body: Option<Bytes>,
}

impl Finished {
    /// The wall-clock time the response ended.
    pub fn ended_at(&self) -> SystemTime {
        self.at + self.total
    }

    /// Why the request did not end as the origin meant: the failure's cause, or how the
    /// response broke off (`visitor_gone`, `body_read_timeout`...). `None` for a clean answer.
    pub fn outcome(&self) -> Option<&'static str> {
        self.cause.or(match self.ending {
            Ending::Complete => None,
            other => Some(other.tag()),
        })
    }

    /// The visitor's `User-Agent`, or empty.
    pub fn user_agent(&self) -> &str {
        self.request_headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// `HTTP/1.1`, `HTTP/2`...: the visitor's protocol as Cloudflare logs it.
    pub fn protocol(&self) -> &'static str {
        match self.version {
            Version::HTTP_09 => "HTTP/0.9",
            Version::HTTP_10 => "HTTP/1.0",
            Version::HTTP_2 => "HTTP/2",
            Version::HTTP_3 => "HTTP/3",
            _ => "HTTP/1.1",
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ray::Colo;

    /// A plain finished request: ray `n`, `GET site.test/`, answered `status` by edgecase.
    pub(crate) fn finished(n: u64, status: u16) -> Finished {
        Finished {
            ray: RayId::new(n, Colo::DEFAULT),
            proxy: Arc::from("edgecase"),
            scenario: None,
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000),
            method: Method::GET,
            version: Version::HTTP_11,
            https: false,
            client_tls: None,
            host: "site.test".into(),
            path: "/".into(),
            client: "192.0.2.7:5555".parse().expect("an address"),
            edge: "127.0.0.1:8080".parse().expect("an address"),
            request_headers: Arc::default(),
            request_bytes: 0,
            request_body: None,
            status,
            origin_status: None,
            cause: None,
            fault: None,
            ssl: None,
            origin: ExchangeFacts::default(),
            head_after: Duration::from_millis(2),
            total: Duration::from_millis(3),
            ending: Ending::Complete,
            response_headers: HeaderMap::new(),
            response_bytes: 0,
            response_body: None,
        }
    }

    #[test]
    fn outcome_is_the_cause_or_how_the_response_broke_off() {
        let mut f = finished(1, 200);
        assert_eq!(f.outcome(), None);
        f.ending = Ending::VisitorGone;
        assert_eq!(f.outcome(), Some("visitor_gone"));
        f.cause = Some("read_timeout");
        assert_eq!(f.outcome(), Some("read_timeout"));
        assert_eq!(f.protocol(), "HTTP/1.1");
        assert_eq!(f.ended_at(), f.at + Duration::from_millis(3));
    }
}
