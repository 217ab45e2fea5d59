//! The answers the edge makes itself, before any fault rule or origin: refusals (too many
//! connections, a request the admission rules turn away) and the pages it serves on its own
//! paths (`/cdn-cgi/trace`, the error pages' assets, `/cdn-cgi/error/<code>`). Each becomes a
//! [`Local`], finished into the visitor's response and its record in one place.

use std::time::SystemTime;

use bytes::Bytes;
use http::header::HeaderValue;
use http::{Request, Response, header};
use hyper::body::Incoming;

use super::access_log::{AccessLog, Ending};
use super::body::EdgeBody;
use super::errors::Answering;
use super::{EdgeState, Visit, admission, header_order};
use crate::pages::{self, PageKind};
use crate::trace::{TRACE_PATH, Trace};

/// The prefix of Cloudflare's test endpoint for error pages: `/cdn-cgi/error/522`.
const CDN_CGI_ERROR: &str = "/cdn-cgi/error/";

/// A response the edge made itself, with why.
pub(super) struct Local {
    response: Response<Bytes>,
    /// The `cf-edgecase-cause` it is explained with (`[emulation] explain`).
    explained: &'static str,
    /// The cause the record keeps: set for refusals, `None` for the edge's own pages.
    cause: Option<&'static str>,
}

impl Local {
    /// One of the edge's own pages, answered as asked.
    pub(super) fn page(response: Response<Bytes>, explained: &'static str) -> Local {
        Local {
            response,
            explained,
            cause: None,
        }
    }

    /// An answer with a cause (a refusal, a failure), explained and recorded with it.
    pub(super) fn caused(response: Response<Bytes>, cause: &'static str) -> Local {
        Local {
            response,
            explained: cause,
            cause: Some(cause),
        }
    }

    /// The same, ending the connection after it.
    fn closing(mut self) -> Local {
        self.response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        self
    }

    /// The visitor's response, with its record written.
    pub(super) fn finish(
        mut self,
        answering: &Answering<'_>,
        log: AccessLog,
    ) -> Response<EdgeBody> {
        answering.explain(&mut self.response, self.explained);
        finish_local(self.response, log, self.cause)
    }
}

/// A refusal of this request before anything else is done with it: 503 when the edge holds
/// `max_connections`, or what the admission rules answer.
pub(super) fn refusal(
    answering: &Answering<'_>,
    visit: &Visit,
    request: &Request<Incoming>,
) -> Option<Local> {
    let config = answering.config;
    if visit.overloaded {
        let page = answering.page(PageKind::Unbranded { status: 503 });
        return Some(Local::caused(page, "max_connections").closing());
    }
    let refusal = admission::check(request, answering.host, &config.visitor, config.profile)?;
    let refused = Local::caused(answering.page(refusal.kind), refusal.cause);
    // `closes`: its framing cannot be trusted, nothing more is read from this connection.
    Some(match refusal.closes {
        true => refused.closing(),
        false => refused,
    })
}

/// The edge's own page for `path`, if it is one of the edge's paths: never forwarded, never
/// faulted.
pub(super) fn own_page(
    state: &EdgeState,
    answering: &Answering<'_>,
    visit: &Visit,
    request: &Request<Incoming>,
    path: &str,
) -> Option<Local> {
    if path == TRACE_PATH {
        let trace = Trace {
            instance: &state.instance,
            host: answering.host,
            ip: visit.peer.ip(),
            at: answering.at,
            tls: visit.tls,
            user_agent: request
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
            version: request.version(),
            ray: answering.ray,
        };
        return Some(Local::page(trace.response(), "trace"));
    }
    if pages::assets::is_asset_path(path) {
        // The stylesheet and icons of the edge's own pages.
        let response = match pages::assets::asset(path) {
            Some(asset) => asset.response(answering.ray),
            None => answering.page(PageKind::Unbranded { status: 404 }),
        };
        return Some(Local::page(response, "cdn_cgi_asset"));
    }
    let code = path.strip_prefix(CDN_CGI_ERROR)?;
    let kind = code.parse().ok().and_then(pages::cdn_cgi_error);
    let page = answering.page(kind.unwrap_or(PageKind::Unbranded { status: 404 }));
    Some(Local::page(page, "cdn_cgi_error"))
}

/// Sends a body edgecase made itself, its head stamped and in Cloudflare's order, and writes
/// the log line at once.
fn finish_local(
    mut response: Response<Bytes>,
    mut log: AccessLog,
    cause: Option<&'static str>,
) -> Response<EdgeBody> {
    let body_len = response.body().len();
    header_order::stamp(response.headers_mut(), SystemTime::now(), body_len);
    log.status = response.status().as_u16();
    log.cause = cause;
    log.head_after = log.started.elapsed();
    log.response_headers = response.headers().clone();
    log.response_bytes = response.body().len() as u64;
    log.page_body = Some(response.body().clone());
    log.finish(Ending::Complete);
    response.map(EdgeBody::sized)
}
