//! Handling one visitor request: assign its ray ID, answer `/cdn-cgi/trace`, the error pages'
//! assets (`/cdn-cgi/styles/`, `/cdn-cgi/images/`) and `/cdn-cgi/error/<code>` at the edge, or
//! forward it to the origin its route names and turn any failure into Cloudflare's answer.
//! Each failure is logged once, here, through the request's [`AccessLog`]. Routes, fault rules
//! and the `/cdn-cgi/` endpoints see the request's [`Normalized`] path and host; the origin
//! and the log get them as the visitor sent them.

use std::borrow::Cow;
use std::convert::Infallible;
use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::FutureExt;
use http::header::HeaderValue;
use http::{HeaderMap, Request, Response, StatusCode, Uri, header};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use tokio::time::Instant;

use crate::config::{Config, SslInForce, SslMode, Target};
use crate::edge::access_log::{AccessLog, Ending};
use crate::edge::body::EdgeBody;
use crate::edge::detach::detach;
use crate::edge::errors::{Answering, through_railgun};
use crate::edge::forward::{CF_RAY, origin_request, visitor_response};
use crate::edge::framing::Interim;
use crate::edge::local::{self, Local};
use crate::edge::tunnel;
use crate::edge::{EdgeState, Live, Visit};
use crate::emulation::action::{default_delay, edge_failure, emulated_failure};
use crate::emulation::header::{self as fault_header, FAULT_HEADER};
use crate::emulation::{Action, Decision, LinkFaults, RequestFacts};
use crate::failure::{OriginFailure, Unknown};
use crate::normalize::{Normalized, strip_port};
use crate::origin::body::{BodyTap, OriginBody, RequestBody};
use crate::origin::h1::OnInterim;
use crate::origin::upload::failure_of_body;
use crate::origin::{Forwarded, Visitor};
use crate::pages::{Form, PageKind};
use crate::ray::RayId;
use crate::record::ExchangeFacts;
use crate::scenario::PhaseRun;

/// Answers one visitor request. Never fails: every failure becomes a response, and even a
/// panic while handling it becomes Cloudflare's 500 rather than a dropped connection.
pub async fn handle(
    state: Arc<EdgeState>,
    visit: Visit,
    mut request: Request<Incoming>,
) -> Result<Response<EdgeBody>, Infallible> {
    let started = Instant::now();
    // Before anything keeps a header: hyper's read buffer is then free for its next read.
    detach(&mut request);
    let at = SystemTime::now();
    // This request's config to the end, whatever a reload does meanwhile.
    let live = state.live();
    let ray = state.rays.next_at(live.config.edge.colo, at);
    let host: Arc<str> = Arc::from(request_host(&request));
    let path: Arc<str> = Arc::from(request.uri().path_and_query().map_or("/", |pq| pq.as_str()));
    state.observers.metrics.request_started();
    // The scenario phase in force on arrival decides this request's fault and counts it,
    // whenever it ends.
    let phase = state.scenarios.current();
    if let Some(phase) = &phase {
        phase.tag.tally.arrived();
    }
    let log = AccessLog {
        scenario: phase.as_ref().map(|phase| phase.tag.clone()),
        at,
        fault: None,
        ssl: None,
        observers: state.observers.clone(),
        proxy: state.proxy.clone(),
        ray,
        method: request.method().clone(),
        version: request.version(),
        visit,
        host,
        path,
        request_headers: Arc::new(recorded_headers(&request)),
        request_tap: None,
        started,
        status: 0,
        origin_status: None,
        cause: None,
        origin: ExchangeFacts::default(),
        head_after: Default::default(),
        response_headers: HeaderMap::new(),
        response_bytes: 0,
        tunnel_up: 0,
        response_body: None,
        page_body: None,
    };
    // Kept for the two ways `respond` can end without writing the line itself: a panic, or
    // the visitor going away before the response head (hyper then drops this future).
    let mut unanswered = Unanswered(Some(log.clone()));
    // Boxed: hyper keeps a connection's request future in a box from the start, as large as
    // the largest state; this keeps that box small and sizes the rest to the request.
    let responding = Box::pin(respond(&state, &live, visit, request, log, at, phase));
    let response = unless_panicking(responding, || {
        let failure = OriginFailure::Internal(io::Error::other("request handler panicked"));
        // Invariant: the line is taken only here or after the await, which a panic skips.
        let log = unanswered
            .0
            .take()
            .expect("the unanswered line is still there");
        let host = log.host.clone();
        let answering = Answering {
            config: &live.config,
            ray,
            at,
            host: &host,
            client_ip: visit.peer.ip(),
            form: Form::Html,
        };
        error_page(&failure, &answering, log)
    })
    .await;
    unanswered.0 = None;
    Ok(response)
}

/// Cloudflare's log status for a request whose visitor closed the connection first.
const VISITOR_CLOSED: u16 = 499;

/// Writes the log line of a request dropped before it had a response (the visitor left), as
/// Cloudflare logs it: status 499.
struct Unanswered(Option<AccessLog>);

impl Drop for Unanswered {
    fn drop(&mut self) {
        if let Some(mut log) = self.0.take() {
            log.status = VISITOR_CLOSED;
            log.head_after = log.started.elapsed();
            log.finish(Ending::VisitorGone);
        }
    }
}

/// The response `responding` makes or, if it panics, the one `on_panic` makes: a bug in
/// edgecase must cost the visitor a 500, as at Cloudflare, not a dropped connection.
///
/// A combinator, not an `async fn`: an `async fn` would keep `responding` twice in its state
/// (the argument and the future it awaits).
fn unless_panicking<F>(
    responding: F,
    on_panic: impl FnOnce() -> Response<EdgeBody>,
) -> impl Future<Output = Response<EdgeBody>>
where
    F: Future<Output = Response<EdgeBody>>,
{
    // Nothing `responding` borrows is used after a panic, so no broken state is observed.
    AssertUnwindSafe(responding)
        .catch_unwind()
        .map(|outcome| outcome.unwrap_or_else(|_| on_panic()))
}

/// The response to one request, with its log line under way.
async fn respond(
    state: &EdgeState,
    live: &Live,
    visit: Visit,
    mut request: Request<Incoming>,
    mut log: AccessLog,
    at: SystemTime,
    phase: Option<Arc<PhaseRun>>,
) -> Response<EdgeBody> {
    let config = &live.config;
    let host = log.host.clone();
    let answering = Answering {
        config,
        ray: log.ray,
        at,
        host: &host,
        client_ip: visit.peer.ip(),
        form: form_for(config, request.headers()),
    };

    // 1. The edge's own answers: refusals, then the pages it serves itself.
    if let Some(local) = local::refusal(&answering, &visit, &request) {
        return local.finish(&answering, log);
    }
    let websocket = tunnel::is_websocket(request.method(), request.version(), request.headers());
    let visitor_upgrade = websocket.then(|| hyper::upgrade::on(&mut request));
    // Computed once, for everything that matches the request (a `Uri` clone shares its bytes).
    let uri = request.uri().clone();
    let normalized = Normalized::new(&host, uri.path());
    if let Some(local) = local::own_page(state, &answering, &visit, &request, &normalized.path) {
        return local.finish(&answering, log);
    }

    // 2. Which fault, if any, this request meets.
    let (mut parts, body) = request.into_parts();
    let mut decision = match asked_fault(config, &mut parts.headers) {
        Ok(asked) => asked,
        Err(why) => return bad_fault_header(&answering, why, log),
    };
    let mut target = config.target(&normalized);
    if let Some(railgun) = &config.railgun {
        target.timeouts.read = railgun.lan_timeout;
    }
    if target.ssl == SslMode::Off && visit.https() {
        let response = to_plain_http(&host, state.http_port, &parts.uri, log.ray);
        return Local::page(response, "ssl_off_redirect").finish(&answering, log);
    }
    if decision.is_none() {
        // Only past the refusals and the redirect: a rule limited in number spends one on this
        // request, and a percentage draws.
        decision = rule_decision(state, phase.as_deref(), &normalized, &parts);
    }
    log.fault = decision.as_ref().and_then(|d| d.rule);
    let link = match emulate(decision.map(|d| d.action), config, &target, &host).await {
        Ok(link) => link,
        Err(failure) => return error_page(&failure, &answering, log),
    };

    // 3. The request as it goes to the origin.
    let body = match prepared_body(body, state, config, &link, &mut log).await {
        Ok(body) => body,
        Err(failure) => return error_page(&failure, &answering, log),
    };
    let interim = parts.extensions.get::<Arc<Interim>>().cloned();
    let mut outgoing = origin_request(parts, body, &visit, log.ray, websocket);
    if let Some(interim) = interim {
        pass_early_hints(&mut outgoing, interim);
    }
    log.ssl = Some(ssl_in_force(live, &mut target, &visit, &host).await);

    // 4. The origin's answer, or the failure that stands for it.
    let visitor = Visitor {
        https: visit.https(),
        host: &host,
        upgrade: websocket,
    };
    let forwarded = live
        .origins
        .forward(&target, visitor, outgoing, &link, &mut log.origin)
        .await;
    match forwarded {
        Ok(forwarded) => answer_forwarded(forwarded, visitor_upgrade, &answering, log),
        Err(failure) => {
            let failure = through_railgun(failure, config, target.address, &host);
            error_page(&failure, &answering, log)
        }
    }
}

/// The form error pages take for this request: negotiated on `Accept` when
/// `[edge] structured_errors` is on, HTML otherwise.
fn form_for(config: &Config, headers: &HeaderMap) -> Form {
    match config.edge.structured_errors {
        true => Form::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())),
        false => Form::Html,
    }
}

/// What the fault rule decided, acted on: the link faults to forward with, or (after the
/// rule's delay) the failure to answer instead of forwarding.
async fn emulate(
    action: Option<Action>,
    config: &Config,
    target: &Target<'_>,
    host: &str,
) -> Result<LinkFaults, OriginFailure> {
    let lan_timeout = config.railgun.map(|r| r.lan_timeout);
    match action {
        None => Ok(LinkFaults::default()),
        Some(Action::Link(link)) => Ok(link),
        Some(Action::Status {
            status,
            code,
            delay,
        }) => {
            let wait =
                delay.unwrap_or_else(|| default_delay(status, &target.timeouts, lan_timeout));
            tokio::time::sleep(wait).await;
            let failure = emulated_failure(status, code, &target.timeouts, lan_timeout);
            Err(through_railgun(failure, config, target.address, host))
        }
        Some(Action::Edge { status, delay }) => {
            tokio::time::sleep(delay.unwrap_or_default()).await;
            Err(edge_failure(status))
        }
    }
}

/// The visitor's body as it goes up: tapped for the record, held to the size limit, sliced
/// by a link fault, and primed, so a body broken from its first byte never reaches the origin.
async fn prepared_body(
    body: Incoming,
    state: &EdgeState,
    config: &Config,
    link: &LinkFaults,
    log: &mut AccessLog,
) -> Result<RequestBody, OriginFailure> {
    let mut body = RequestBody::streaming(body);
    if http_body::Body::is_end_stream(&body) {
        return Ok(body);
    }
    let tap = Arc::new(BodyTap::new(state.observers.capture.body_bytes));
    log.request_tap = Some(tap.clone());
    body = body.tapped(tap).limited(config.visitor.request_body_bytes);
    if let Some(slice) = link.upstream_slice {
        body = body.sliced(slice);
    }
    body.prime(config.visitor.client_header_timeout)
        .await
        .map_err(failure_of_body)?;
    Ok(body)
}

/// Cloudflare passes an origin's 103 Early Hints on to the visitor.
fn pass_early_hints(outgoing: &mut Request<RequestBody>, interim: Arc<Interim>) {
    let pass_on = move |status: StatusCode, headers: &HeaderMap| {
        if status == StatusCode::EARLY_HINTS {
            interim.send(&early_hints(headers));
        }
    };
    outgoing
        .extensions_mut()
        .insert(OnInterim(Arc::new(pass_on)));
}

/// The SSL mode this request meets the origin with; Automatic picks one (and sets it on
/// `target`).
async fn ssl_in_force(
    live: &Live,
    target: &mut Target<'_>,
    visit: &Visit,
    host: &str,
) -> SslInForce {
    match target.ssl {
        SslMode::Automatic => {
            let chosen = if visit.https() {
                Some(live.automatic.decide(target, host).await)
            } else {
                // Every mode Automatic can choose is plain HTTP to the origin for this visitor.
                live.automatic.known(target, host)
            };
            target.ssl = chosen.unwrap_or(SslMode::Flexible);
            SslInForce {
                configured: SslMode::Automatic,
                chosen,
            }
        }
        configured => SslInForce {
            configured,
            chosen: None,
        },
    }
}

/// The visitor's response to what the origin answered: passed on (or tunnelled after a 101),
/// or Cloudflare's page for the origin's own 502/504.
fn answer_forwarded(
    mut forwarded: Forwarded,
    visitor_upgrade: Option<OnUpgrade>,
    answering: &Answering<'_>,
    mut log: AccessLog,
) -> Response<EdgeBody> {
    let (ray, started) = (log.ray, log.started);
    let status = forwarded.response.status().as_u16();
    log.origin_status = Some(status);
    if let Some(visitor_upgrade) = visitor_upgrade
        && status == 101
    {
        // The record is the tunnel's, written when it closes.
        let Some(origin_upgrade) = forwarded.upgraded.take() else {
            let failure = OriginFailure::Unknown(Unknown::BadStatus { status });
            return error_page(&failure, answering, log);
        };
        let response = passed_on(&mut log, started, forwarded.response, ray);
        tunnel::spawn(visitor_upgrade, origin_upgrade, log);
        return response.map(|body| EdgeBody::Origin { body, log: None });
    }
    if let Some(failure) = OriginFailure::of_origin_status(status) {
        // Cloudflare drops the origin's own 502/504 body for its branded page. The
        // unread body goes with the connection, which is not reused.
        return error_page(&failure, answering, log);
    }
    let response = passed_on(&mut log, started, forwarded.response, ray);
    log.keep_body_of(status);
    response.map(|body| EdgeBody::Origin {
        body,
        log: Some(Box::new(log)),
    })
}

/// The origin's response head as the visitor gets it, noted in the record: its status, when
/// it came, and the headers sent.
fn passed_on(
    log: &mut AccessLog,
    started: Instant,
    origin: Response<OriginBody>,
    ray: RayId,
) -> Response<OriginBody> {
    log.status = origin.status().as_u16();
    log.head_after = started.elapsed();
    let response = visitor_response(origin, ray);
    log.response_headers = response.headers().clone();
    response
}

/// The `103 Early Hints` head a visitor gets for the origin's, with its headers (`link`...).
fn early_hints(headers: &http::HeaderMap) -> Vec<u8> {
    let mut head = b"HTTP/1.1 103 Early Hints\r\n".to_vec();
    for (name, value) in headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// The fault asked for in the request's `cf-edgecase-fault` header, when `header_faults` is on;
/// the header is taken out either way, so it never reaches the origin. `Err` says what is wrong
/// with a header that does not parse.
fn asked_fault(config: &Config, headers: &mut HeaderMap) -> Result<Option<Decision>, String> {
    let asked = headers.remove(FAULT_HEADER);
    match asked {
        Some(value) if config.emulation.header_faults => {
            let action = fault_header::parse(value.as_bytes())?;
            Ok(Some(Decision { rule: None, action }))
        }
        _ => Ok(None),
    }
}

/// The first configured or API rule that `request` meets; a running scenario phase's rules come
/// before every other rule.
fn rule_decision(
    state: &EdgeState,
    phase: Option<&PhaseRun>,
    normalized: &Normalized,
    request: &http::request::Parts,
) -> Option<Decision> {
    let facts = RequestFacts {
        host: &normalized.host,
        path: &normalized.path,
        method: &request.method,
        headers: &request.headers,
    };
    phase
        .and_then(|phase| phase.rules.decide(&facts))
        .or_else(|| state.faults.decide(&facts))
}

/// A `cf-edgecase-fault` header edgecase cannot read: 400, saying why, origin untouched.
fn bad_fault_header(answering: &Answering<'_>, why: String, log: AccessLog) -> Response<EdgeBody> {
    let mut response = Response::new(Bytes::from(why + "\n"));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    headers.insert(header::SERVER, HeaderValue::from_static("cloudflare"));
    if let Ok(ray) = HeaderValue::from_str(&answering.ray.to_string()) {
        headers.insert(CF_RAY, ray);
    }
    Local::caused(response, "bad_fault_header").finish(answering, log)
}

/// SSL mode Off "redirects any HTTPS request to plaintext HTTP" (Cloudflare's words): a 301 to
/// the same host, path and query on the edge's HTTP port.
fn to_plain_http(host: &str, http_port: u16, uri: &Uri, ray: RayId) -> Response<Bytes> {
    let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let location = match http_port {
        80 => format!("http://{host}{path}"),
        port => format!("http://{host}:{port}{path}"),
    };
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::MOVED_PERMANENTLY;
    let headers = response.headers_mut();
    // The host and path were valid in the request, so the URL is a valid header value; a
    // request without a Host still gets its 301, with `location` left out.
    if let Ok(location) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(header::SERVER, HeaderValue::from_static("cloudflare"));
    if let Ok(ray) = HeaderValue::from_str(&ray.to_string()) {
        headers.insert(CF_RAY, ray);
    }
    response
}

/// The visitor's answer for `failure`, logged.
fn error_page(
    failure: &OriginFailure,
    answering: &Answering<'_>,
    log: AccessLog,
) -> Response<EdgeBody> {
    let response = answering.page(PageKind::of(failure));
    let source = std::error::Error::source(failure);
    tracing::debug!(ray = %answering.ray, error = %failure, source = ?source, "origin failure");
    Local::caused(response, failure.tag()).finish(answering, log)
}

/// The host the visitor asked for, lowercase and without a port: the Host header, or the
/// URI's authority (HTTP/2), or empty.
fn request_host<B>(request: &Request<B>) -> Cow<'_, str> {
    let raw = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().host())
        .unwrap_or("");
    let host = strip_port(raw);
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

/// The request headers as a record keeps them: as received, plus, for an h2 request that
/// named its host only in `:authority`, that authority (port kept) as `host`, so captures show
/// the URL the visitor asked for.
fn recorded_headers<B>(request: &Request<B>) -> HeaderMap {
    let mut headers = request.headers().clone();
    if !headers.contains_key(header::HOST)
        && let Some(authority) = request.uri().authority()
        && let Ok(value) = HeaderValue::from_str(authority.as_str())
    {
        headers.insert(header::HOST, value);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::{Hop, PageContext, PageKind};
    use crate::ray::{Colo, RayId};

    #[tokio::test]
    async fn a_panicking_handler_still_answers_500() {
        let responding = async { panic!("a bug while handling the request") };
        let response = unless_panicking(responding, || {
            let context = PageContext {
                host: "site.test",
                ray: RayId::new(9, Colo::DEFAULT),
                client_ip: "127.0.0.1".parse().unwrap(),
                at: SystemTime::now(),
                retry_after: false,
            };
            let page = PageKind::Branded {
                status: 500,
                failing: Hop::Cloudflare,
            };
            crate::pages::render(page, &context).map(EdgeBody::full)
        })
        .await;
        assert_eq!(response.status(), 500);
    }

    #[test]
    fn host_is_lowercased_without_its_port() {
        let request = |host: &str| Request::get("/").header("host", host).body(()).unwrap();
        assert_eq!(request_host(&request("Site.Test:8080")), "site.test");
        assert_eq!(request_host(&request("[::1]:8080")), "[::1]");
        assert_eq!(request_host(&request("plain")), "plain");
        let h2 = Request::get("http://h2.test:99/").body(()).unwrap();
        assert_eq!(request_host(&h2), "h2.test");
    }
}
