//! One diagnosed request on an origin connection: built as the edge builds a visitor's
//! (Cloudflare's headers, a fresh ray ID), sent through the proxy's own exchange, its body
//! read under the proxy's read timeout, and kept as the edge's record of it ([`Finished`]) for
//! the bundle's HAR.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Request, Response, Version};
use http_body_util::BodyExt;
use tokio::time::Instant;

use super::report::HttpDetails;
use crate::config::SslInForce;
use crate::edge::Visit;
use crate::edge::forward::{origin_request, visitor_response};
use crate::failure::OriginFailure;
use crate::origin::OriginClient;
use crate::origin::body::{BodyAbort, OriginBody};
use crate::origin::exchange::exchange;
use crate::origin::pool::{Conn, Pool};
use crate::origin::upload::RequestBody;
use crate::ray::RayId;
use crate::record::ExchangeFacts;
use crate::record::finished::{Ending, Finished};
use crate::tls::visitor::VisitorTls;

/// The `user-agent` of diagnosed requests.
pub const USER_AGENT: &str = concat!("edgecase-diagnose/", env!("CARGO_PKG_VERSION"));

/// What the diagnosed visitor's request is.
#[derive(Clone, Copy, Debug)]
pub struct Asked<'a> {
    /// The Host.
    pub host: &'a str,
    /// The path and query.
    pub path: &'a str,
    /// Whether the visitor is taken to come over HTTPS.
    pub https: bool,
    /// The address the visitor is taken to come from: ours, as the origin sees it.
    pub from: SocketAddr,
    /// How much of each body to keep for the HAR (`[capture] body_bytes`).
    pub keep_bytes: usize,
    /// The SSL mode walked (for Automatic, with the mode its probe chose).
    pub ssl: SslInForce,
}

/// How one request went.
pub struct Sent {
    /// The request's facts.
    pub details: HttpDetails,
    /// The exchange's timings and addresses.
    pub facts: ExchangeFacts,
    /// From handing the request over to the end of the response (or the failure).
    pub took: Duration,
    /// What happened.
    pub end: End,
}

/// How a request ended.
pub enum End {
    /// The origin answered with this status, and its body arrived whole.
    Answered {
        /// The visitor-facing head (Cloudflare's headers on it).
        head: Response<()>,
        /// The start of the body.
        body: Bytes,
    },
    /// The origin gave no usable response head (or its own 502/504): the edge answers.
    Failed(OriginFailure),
    /// The head came, then the body broke off: the visitor's response is cut short.
    BodyAborted {
        /// The visitor-facing head.
        head: Response<()>,
        /// The start of the body, as far as it came.
        body: Bytes,
        /// Why it broke off.
        abort: BodyAbort,
    },
}

/// Sends `asked` on `conn` as request `ray` and reads the whole response; a complete body
/// hands the connection to `pool` when the origin keeps it open, as the proxy's would.
pub async fn send(
    client: &OriginClient,
    mut conn: Conn,
    pool: &Pool,
    asked: &Asked<'_>,
    ray: RayId,
    timeouts: &crate::config::OriginTimeouts,
) -> Sent {
    let mut facts = ExchangeFacts {
        peer: Some(conn.peer),
        reused: conn.reused,
        ..ExchangeFacts::default()
    };
    let mut details = HttpDetails {
        request: format!("GET {} HTTP/1.1", asked.path),
        ray: ray.to_string(),
        reused_connection: conn.reused,
        read_timeout_ms: Some(timeouts.read),
        head_limit: client.head_limit(),
        ..HttpDetails::default()
    };
    let outgoing = origin_request(
        visitor_head(asked).into_parts().0,
        RequestBody::empty(),
        &visit(asked),
        ray,
        false,
    );
    let started = Instant::now();
    let head_limit = client.head_limit();
    let outcome = exchange(&mut conn, outgoing, timeouts, head_limit, None, &mut facts).await;
    details.time_to_first_byte_ms = facts.wait.map(|wait| wait + facts.send.unwrap_or_default());
    let response = match outcome {
        Ok(response) => response,
        Err(failure) => {
            if conn.wire.head_bytes() > 0 {
                details.head_bytes = Some(conn.wire.head_bytes());
            }
            return Sent {
                details,
                facts,
                took: started.elapsed(),
                end: End::Failed(failure),
            };
        }
    };
    let status = response.status().as_u16();
    details.status = Some(status);
    details.head_bytes = Some(conn.wire.head_bytes());
    details.connection = response
        .headers()
        .get(header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(failure) = OriginFailure::of_origin_status(status) {
        // The edge drops the origin's 502/504 body for its own page; the connection goes too.
        return Sent {
            details,
            facts,
            took: started.elapsed(),
            end: End::Failed(failure),
        };
    }
    let (parts, incoming) = response.into_parts();
    let head = visitor_response(head_only(&parts), ray);
    let mut body = OriginBody::new(incoming, timeouts.read, conn, Some(pool.clone()));
    let mut kept = BytesMut::new();
    let mut received = 0u64;
    let abort = loop {
        match body.frame().await {
            None => break None,
            Some(Err(abort)) => break Some(abort),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    received += data.len() as u64;
                    let room = asked.keep_bytes.saturating_sub(kept.len());
                    kept.extend_from_slice(&data[..room.min(data.len())]);
                }
            }
        }
    };
    details.body_bytes = Some(received);
    details.body_complete = Some(abort.is_none());
    let body = kept.freeze();
    let end = match abort {
        None => End::Answered { head, body },
        Some(abort) => End::BodyAborted { head, body, abort },
    };
    Sent {
        details,
        facts,
        took: started.elapsed(),
        end,
    }
}

/// The request the diagnosed visitor sends: `GET path` with Host, User-Agent and Accept.
pub fn visitor_head(asked: &Asked<'_>) -> Request<()> {
    let mut request = Request::new(());
    *request.method_mut() = Method::GET;
    *request.uri_mut() = asked
        .path
        .parse()
        .unwrap_or_else(|_| "/".parse().expect("/"));
    *request.version_mut() = Version::HTTP_11;
    let headers = request.headers_mut();
    if let Ok(host) = HeaderValue::from_str(asked.host) {
        headers.insert(header::HOST, host);
    }
    headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    request
}

/// The visit the edge would record for the diagnosed visitor.
fn visit(asked: &Asked<'_>) -> Visit {
    Visit {
        peer: asked.from,
        local: asked.from,
        tls: asked.https.then_some(SIMULATED_TLS),
        overloaded: false,
    }
}

/// What the diagnosed visitor's TLS is taken to be, when it comes over HTTPS: a current
/// browser's (nothing was negotiated; this only fills `x-forwarded-proto` and the trace).
pub const SIMULATED_TLS: VisitorTls = VisitorTls {
    version: "TLSv1.3",
    sni: true,
    kex: "X25519",
};

/// A bodiless copy of a response head.
fn head_only(parts: &http::response::Parts) -> Response<()> {
    let mut head = Response::new(());
    *head.status_mut() = parts.status;
    *head.version_mut() = parts.version;
    *head.headers_mut() = parts.headers.clone();
    head
}

/// The edge's record of a diagnosed request, as the access log and HAR capture would have
/// it: `answered` is the response the visitor got (the origin's, or the edge's page) with
/// the start of its body.
pub struct Record<'a> {
    /// The request.
    pub asked: &'a Asked<'a>,
    /// Its ray ID.
    pub ray: RayId,
    /// When it started.
    pub at: SystemTime,
    /// What happened on the way to the origin.
    pub facts: ExchangeFacts,
    /// The origin's status, when it answered.
    pub origin_status: Option<u16>,
    /// Why the edge answered (or how the response broke off).
    pub cause: Option<&'static str>,
    /// How the response ended.
    pub ending: Ending,
    /// From the start to the end of the response.
    pub total: Duration,
}

impl Record<'_> {
    /// The record, with the response the visitor got.
    pub fn finished(self, answered: &Response<()>, body: Bytes, body_bytes: u64) -> Finished {
        let headers: HeaderMap = visitor_head(self.asked).headers().clone();
        Finished {
            ray: self.ray,
            proxy: std::sync::Arc::from(crate::config::OWN_PROXY),
            scenario: None,
            at: self.at,
            method: Method::GET,
            version: Version::HTTP_11,
            https: self.asked.https,
            client_tls: self.asked.https.then_some(SIMULATED_TLS.version),
            host: Arc::from(self.asked.host),
            path: Arc::from(self.asked.path),
            client: self.asked.from,
            edge: self.asked.from,
            request_headers: Arc::new(headers),
            request_bytes: 0,
            request_body: None,
            status: answered.status().as_u16(),
            origin_status: self.origin_status,
            cause: self.cause,
            fault: None,
            ssl: Some(self.asked.ssl),
            origin: self.facts,
            head_after: self.total,
            total: self.total,
            ending: self.ending,
            response_headers: answered.headers().clone(),
            response_bytes: body_bytes,
            response_body: Some(body),
        }
    }
}
