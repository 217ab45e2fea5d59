//! Turning a failure into the visitor's answer: Railgun's 527 in front of origin-link
//! failures (with its log line), the page in the negotiated form, and the explain header.
//! Rendering itself is [`crate::pages`]'s; this module decides what to render and logs it.

use std::net::IpAddr;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::HeaderValue;
use http::{HeaderName, Response};

use crate::config::{Config, OriginAddress};
use crate::failure::{OriginFailure, Unknown};
use crate::pages::{self, Form, PageContext, PageKind, RenderTemplates};
use crate::ray::RayId;

/// `cf-edgecase-cause`: why edgecase answered itself (`[emulation] explain = true`).
pub const CF_EDGECASE_CAUSE: HeaderName = HeaderName::from_static("cf-edgecase-cause");

/// What every edge-made answer to one request shares.
#[derive(Clone, Copy, Debug)]
pub struct Answering<'a> {
    /// The config in force.
    pub config: &'a Config,
    /// The request's ray ID.
    pub ray: RayId,
    /// When the request arrived.
    pub at: SystemTime,
    /// The Host asked for, without port.
    pub host: &'a str,
    /// The visitor's IP.
    pub client_ip: IpAddr,
    /// The form the visitor's `Accept` asks for (HTML when structured errors are off).
    pub form: Form,
}

impl Answering<'_> {
    /// The page of `kind` in the negotiated form, with Cloudflare's headers.
    pub fn page(&self, kind: PageKind) -> Response<Bytes> {
        let context = PageContext {
            host: self.host,
            ray: self.ray,
            client_ip: self.client_ip,
            at: self.at,
            retry_after: self.config.edge.structured_errors,
        };
        let mut response = pages::render_as(kind, &context, self.form);
        // The customer's template replaces the built-in HTML where Cloudflare would use it;
        // the JSON and Markdown forms stay Cloudflare's.
        if self.form == Form::Html
            && let Some(custom) = &self.config.pages
            && let Some(html) = custom.pages.render(kind, &context)
        {
            *response.body_mut() = Bytes::from(html);
        }
        response
    }

    /// Adds `cf-edgecase-cause: <cause>` when the config asks for explanations.
    pub fn explain(&self, response: &mut Response<Bytes>, cause: &'static str) {
        if self.config.emulation.explain {
            response
                .headers_mut()
                .insert(CF_EDGECASE_CAUSE, HeaderValue::from_static(cause));
        }
    }
}

/// `failure` as the visitor sees it: behind Railgun, an origin-link failure becomes 527 and
/// the listener's own log line is written, quoting what Railgun logged.
pub fn through_railgun(
    failure: OriginFailure,
    config: &Config,
    origin: &OriginAddress,
    host: &str,
) -> OriginFailure {
    if config.railgun.is_none() || !failure.is_origin_link() {
        return failure;
    }
    let line = railgun_line(&failure, origin, host);
    tracing::warn!(target: "edgecase::railgun", cause = failure.tag(), "{line}");
    OriginFailure::Railgun(Box::new(failure))
}

/// What Railgun's listener logged for `failure`, in its words (the seed article quotes them).
fn railgun_line(failure: &OriginFailure, origin: &OriginAddress, host: &str) -> String {
    let dial = |why: &str| format!("connection failed {origin}/{host}: dial tcp {origin}: {why}");
    match failure {
        OriginFailure::ConnectTimeout { .. } => dial("i/o timeout"),
        OriginFailure::Refused(_) => dial("connection refused"),
        OriginFailure::Unreachable(_) => dial("no route to host"),
        OriginFailure::TlsHandshake(_) => {
            format!("connection failed {origin}/{host}: remote error: handshake failure")
        }
        OriginFailure::InvalidCertificate(_) => {
            format!("connection failed {origin}/{host}: x509: certificate is not valid for {host}")
        }
        OriginFailure::Unknown(Unknown::EmptyReply | Unknown::ClosedMidHead { .. }) => {
            "no response from origin (EOF)".to_owned()
        }
        OriginFailure::Unknown(Unknown::Reset(_)) => {
            "no response from origin (connection reset by peer)".to_owned()
        }
        OriginFailure::Unknown(_) => "malformed HTTP response from origin".to_owned(),
        _ => "no response from origin (timeout)".to_owned(),
    }
}
