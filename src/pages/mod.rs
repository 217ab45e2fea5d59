//! Edge-made error responses: a [`PageKind`] and the request's [`PageContext`] in, the whole
//! response out (status, reason phrase, Cloudflare's headers, body). Rendering is pure: it
//! neither logs nor decides which error happened (that is the failure module's mapping), and a
//! page never shows a cause or an origin address.
//!
//! Forms ([`Form`], negotiated on `Accept` in `negotiate`): the HTML page, or since 2026 its
//! JSON and Markdown forms (`structured`). HTML layouts: `branded` (the three-box 5xx page),
//! `numbered` (the 1xxx page used with 530), `unbranded` (nginx-style). Shared markup is in
//! `shell`, words in `text`, the stylesheet and icons the pages load from the edge in
//! [`assets`], per-error facts (1xxx statuses, categories, doc links, the
//! `/cdn-cgi/error/<code>` mapping) in `catalog`, data-centre cities in `colo`, timestamps in
//! [`crate::base::time`]. A customer's own templates (`[pages] dir`, Cloudflare's custom error pages) are
//! loaded and filled in by `custom`.

pub mod assets;
mod branded;
mod catalog;
mod colo;
mod custom;
mod negotiate;
mod numbered;
mod of_failure;
mod shell;
mod structured;
mod text;
mod unbranded;

pub use crate::base::numbered::numbered_status;
pub use catalog::cdn_cgi_error;
pub use custom::{CustomPages, CustomPagesError, RenderTemplates};
pub use negotiate::Form;

use std::net::IpAddr;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_TYPE, EXPIRES, HeaderName, HeaderValue, REFERRER_POLICY, RETRY_AFTER,
    SERVER, X_FRAME_OPTIONS,
};
use http::{Response, StatusCode};
use hyper::ext::ReasonPhrase;

use crate::ray::{Colo, RayId};

/// Which hop of the three-box diagram failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hop {
    /// The visitor's browser ("You").
    Browser,
    /// The Cloudflare data centre (edgecase itself).
    Cloudflare,
    /// The origin web server.
    Host,
}

/// What kind of page an error gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    /// Cloudflare's branded 5xx page (500, 502, 504, 520-527): three hops, `failing` marked Error.
    Branded {
        /// The HTTP status, e.g. 522.
        status: u16,
        /// The hop whose box says "Error".
        failing: Hop,
    },
    /// The 1xxx layout (e.g. 530 with code 1016 "Origin DNS error", 1033 "Argo Tunnel error";
    /// 403 with 1000).
    Numbered {
        /// The HTTP status, e.g. 530.
        status: u16,
        /// The Cloudflare error number the page shows, e.g. 1016.
        code: u16,
    },
    /// nginx-style page Cloudflare serves for its own 502/503/504, malformed requests, etc.
    Unbranded {
        /// The HTTP status, e.g. 502.
        status: u16,
    },
    /// The unbranded 400 "Request Header Or Cookie Too Large" (the classic answer to a request
    /// head over Cloudflare's limits).
    HeaderTooLarge,
}

impl PageKind {
    /// The HTTP status this page is sent with.
    pub fn status(&self) -> u16 {
        match *self {
            PageKind::Branded { status, .. }
            | PageKind::Numbered { status, .. }
            | PageKind::Unbranded { status } => status,
            PageKind::HeaderTooLarge => 400,
        }
    }

    /// The same page with its status replaced by 500 when it is not a valid HTTP status
    /// (100-999), so that a caller's mistake still yields a well-formed response.
    fn with_valid_status(self) -> PageKind {
        if StatusCode::from_u16(self.status()).is_ok() {
            return self;
        }
        match self {
            PageKind::Branded { failing, .. } => PageKind::Branded {
                status: 500,
                failing,
            },
            PageKind::Numbered { code, .. } => PageKind::Numbered { status: 500, code },
            PageKind::Unbranded { .. } => PageKind::Unbranded { status: 500 },
            PageKind::HeaderTooLarge => PageKind::HeaderTooLarge,
        }
    }

    /// Seconds for the `retry-after` header (REFERENCE.md §3, since 2026), if this page has one.
    /// The structured forms' `retry_after` field says the same.
    fn retry_after_secs(&self) -> Option<u32> {
        match *self {
            PageKind::Branded { status, .. } | PageKind::Unbranded { status } => match status {
                500 => Some(30),
                502 | 520 => Some(60),
                504 | 521..=524 => Some(120),
                _ => None,
            },
            // Cloudflare changelog 2026-03-12: the seven retryable 1xxx errors.
            PageKind::Numbered { code, .. } => catalog::numbered_retry_after(code),
            PageKind::HeaderTooLarge => None,
        }
    }
}

/// Everything about the request a page shows.
#[derive(Clone, Copy, Debug)]
pub struct PageContext<'a> {
    /// The Host the visitor asked for, without port. Shown HTML-escaped; when empty, the
    /// titles leave the host out and the host box reads "unknown host".
    pub host: &'a str,
    /// The request's ray ID: full in the `cf-ray` header, hex only in the page.
    pub ray: RayId,
    /// The visitor's address, shown in the footer.
    pub client_ip: IpAddr,
    /// When the error happened; pages show it to the second, in UTC.
    pub at: SystemTime,
    /// Add the 2026 `retry-after` header where REFERENCE.md §3 gives one (`current` profile).
    pub retry_after: bool,
}

/// `cache-control` of every edge-made error page.
const NO_STORE: &str = "private, max-age=0, no-store, no-cache, must-revalidate, post-check=0, \
pre-check=0";
/// `expires` of every edge-made error page: long past, so nothing caches it.
const EXPIRED: &str = "Thu, 01 Jan 1970 00:00:01 GMT";

/// The whole response for an edge-made error: status, reason phrase, headers, HTML body.
/// The same as [`render_as`] with [`Form::Html`].
pub fn render(kind: PageKind, ctx: &PageContext<'_>) -> Response<Bytes> {
    render_as(kind, ctx, Form::Html)
}

/// Like [`render`], in `form`: the HTML page, or its JSON (`application/json; charset=UTF-8`,
/// RFC 9457 problem details plus Cloudflare's fields) or Markdown (`text/markdown;
/// charset=UTF-8`) form. Status, reason phrase and every other header are the same in all three.
pub fn render_as(kind: PageKind, ctx: &PageContext<'_>, form: Form) -> Response<Bytes> {
    let kind = kind.with_valid_status();
    let retry_after = if ctx.retry_after {
        kind.retry_after_secs()
    } else {
        None
    };
    let (body, content_type) = match form {
        Form::Html => (html_body(kind, ctx), "text/html; charset=UTF-8"),
        Form::Json => (
            structured::Problem::new(kind, ctx, retry_after).to_json(),
            "application/json; charset=UTF-8",
        ),
        Form::Markdown => (
            structured::Problem::new(kind, ctx, retry_after).to_markdown(),
            "text/markdown; charset=UTF-8",
        ),
    };

    let mut response = Response::new(Bytes::from(body));
    let status = kind.status();
    // Invariant: `with_valid_status` left a status in 100..=999.
    *response.status_mut() = StatusCode::from_u16(status).expect("status was validated");
    if let Some(reason) = reason_phrase(status) {
        response.extensions_mut().insert(reason);
    }

    let headers = response.headers_mut();
    headers.reserve(8);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    headers.insert(EXPIRES, HeaderValue::from_static(EXPIRED));
    if let Some(secs) = retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    headers.insert(SERVER, HeaderValue::from_static("cloudflare"));
    headers.insert(HeaderName::from_static("cf-ray"), ray_header(ctx.ray));
    response
}

/// The HTML page for `kind` (whose status is valid).
fn html_body(kind: PageKind, ctx: &PageContext<'_>) -> String {
    match kind {
        PageKind::Branded { status, failing } => {
            let mut out = String::with_capacity(branded::CAPACITY);
            branded::write(&mut out, status, failing, ctx);
            out
        }
        PageKind::Numbered { code, .. } => {
            let mut out = String::with_capacity(numbered::CAPACITY);
            numbered::write(&mut out, code, ctx);
            out
        }
        PageKind::Unbranded { status } => {
            let mut out = String::with_capacity(unbranded::CAPACITY);
            unbranded::write(&mut out, status);
            out
        }
        PageKind::HeaderTooLarge => {
            let mut out = String::with_capacity(unbranded::CAPACITY);
            unbranded::write_reason(&mut out, 400, unbranded::HEADER_TOO_LARGE);
            out
        }
    }
}

/// The title after "NNN: " for a status (REFERENCE.md §1), e.g. 522 -> "Connection timed out".
/// Statuses outside the table get their standard reason phrase, or "Unknown error".
pub fn title(status: u16) -> &'static str {
    text::title(status)
}

/// Name of a 1xxx error, e.g. 1016 -> "Origin DNS error", 1033 -> "Argo Tunnel error",
/// 1000 -> "DNS points to prohibited IP"; unknown codes -> "Cloudflare error".
pub fn numbered_title(code: u16) -> &'static str {
    text::numbered_title(code)
}

/// City for a colo, e.g. CDG -> Some("Paris"); `None` when the table does not know the code.
pub fn colo_city(colo: Colo) -> Option<&'static str> {
    colo::city(colo)
}

/// The HTTP/1.1 reason phrase sent with `status`: Cloudflare's own for 520-526 ("Origin
/// Connection Time-out"), else the standard one, else empty.
pub fn reason(status: u16) -> &'static str {
    text::cloudflare_reason(status)
        .or_else(|| {
            StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
        })
        .unwrap_or("")
}

/// The HTTP/1.1 reason phrase to write instead of the standard one, if any.
///
/// Cloudflare's own phrases for 520-526; an empty phrase for other statuses without a standard
/// one (527, 530: what Cloudflare writes there is unconfirmed), because hyper would otherwise
/// write `<none>`.
fn reason_phrase(status: u16) -> Option<ReasonPhrase> {
    if let Some(phrase) = text::cloudflare_reason(status) {
        // Invariant: the phrases are printable ASCII (a unit test checks every one).
        return Some(ReasonPhrase::from_static(phrase.as_bytes()));
    }
    let standard = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason());
    match standard {
        Some(_) => None,
        None => Some(ReasonPhrase::from_static(b"")),
    }
}

/// The `cf-ray` header value, e.g. `230b030023ae2822-CDG`.
fn ray_header(ray: RayId) -> HeaderValue {
    let text = ray.to_string();
    // Invariant: a ray ID displays as 16 hex digits, '-', three uppercase letters.
    HeaderValue::from_str(&text).expect("a ray ID is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::{Duration, UNIX_EPOCH};

    const RAY: u64 = 0x230b_0300_23ae_2822;

    fn ctx(host: &str) -> PageContext<'_> {
        PageContext {
            host,
            ray: RayId::new(RAY, Colo::DEFAULT),
            client_ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
            at: UNIX_EPOCH + Duration::from_secs(1_725_552_998),
            retry_after: false,
        }
    }

    fn body(response: &Response<Bytes>) -> &str {
        std::str::from_utf8(response.body()).expect("pages are UTF-8")
    }

    fn header<'r>(response: &'r Response<Bytes>, name: &str) -> Option<&'r str> {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().expect("header values are ASCII"))
    }

    fn branded(status: u16, failing: Hop) -> PageKind {
        PageKind::Branded { status, failing }
    }

    /// The opening tag of the element with `id`.
    fn opening_tag<'b>(body: &'b str, id: &str) -> &'b str {
        let at = body
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no element {id}"));
        let start = body[..at].rfind('<').expect("id sits in a tag");
        let end = at + body[at..].find('>').expect("tag closes");
        &body[start..=end]
    }

    /// The markup of the hop with `id`, from its id to the end of its state.
    fn hop_box<'b>(body: &'b str, id: &str) -> &'b str {
        let start = body.find(&format!("id=\"{id}\"")).expect("hop present");
        let state = start + body[start..].find("cf-hop-state").expect("hop has a state");
        let end = state + body[state..].find("</span>").expect("state closes");
        &body[start..end + "</span>".len()]
    }

    /// The markup between `open` (an opening tag or its start) and the next `close`.
    fn element<'b>(body: &'b str, open: &str, close: &str) -> &'b str {
        let start = body
            .find(open)
            .unwrap_or_else(|| panic!("no {open} in {body}"));
        let len = body[start..].find(close).expect("element closes");
        &body[start..start + len + close.len()]
    }

    #[test]
    fn every_page_carries_cloudflares_headers() {
        for kind in [
            branded(522, Hop::Host),
            PageKind::Numbered {
                status: 530,
                code: 1016,
            },
            PageKind::Unbranded { status: 502 },
        ] {
            let response = render(kind, &ctx("example.com"));
            assert_eq!(response.status().as_u16(), kind.status());
            assert_eq!(
                header(&response, "content-type"),
                Some("text/html; charset=UTF-8")
            );
            assert_eq!(header(&response, "server"), Some("cloudflare"));
            assert_eq!(header(&response, "cf-ray"), Some("230b030023ae2822-CDG"));
            assert_eq!(
                header(&response, "cache-control"),
                Some(
                    "private, max-age=0, no-store, no-cache, must-revalidate, post-check=0, \
                     pre-check=0"
                )
            );
            assert_eq!(
                header(&response, "expires"),
                Some("Thu, 01 Jan 1970 00:00:01 GMT")
            );
            assert_eq!(header(&response, "referrer-policy"), Some("same-origin"));
            assert_eq!(header(&response, "x-frame-options"), Some("SAMEORIGIN"));
            assert_eq!(header(&response, "retry-after"), None);
            assert!(!response.headers().contains_key("content-length"));
        }
    }

    #[test]
    fn retry_after_follows_the_2026_table_only_when_asked() {
        let cases = [
            (branded(500, Hop::Cloudflare), Some("30")),
            (branded(502, Hop::Host), Some("60")),
            (branded(504, Hop::Host), Some("120")),
            (branded(520, Hop::Host), Some("60")),
            (branded(521, Hop::Host), Some("120")),
            (branded(522, Hop::Host), Some("120")),
            (branded(523, Hop::Host), Some("120")),
            (branded(524, Hop::Host), Some("120")),
            (branded(525, Hop::Host), None),
            (branded(526, Hop::Host), None),
            (branded(527, Hop::Host), None),
            (PageKind::Unbranded { status: 502 }, Some("60")),
            (PageKind::Unbranded { status: 503 }, None),
            (
                PageKind::Numbered {
                    status: 530,
                    code: 1033,
                },
                Some("120"),
            ),
            (
                PageKind::Numbered {
                    status: 530,
                    code: 1016,
                },
                None,
            ),
        ];
        for (kind, expected) in cases {
            let on = PageContext {
                retry_after: true,
                ..ctx("example.com")
            };
            assert_eq!(
                header(&render(kind, &on), "retry-after"),
                expected,
                "{kind:?}"
            );
            assert_eq!(
                header(&render(kind, &ctx("example.com")), "retry-after"),
                None
            );
        }
    }

    #[test]
    fn origin_statuses_carry_cloudflares_reason_phrases() {
        for (status, expected) in [
            (520, "Origin Error"),
            (521, "Origin Down"),
            (522, "Origin Connection Time-out"),
            (523, "Origin Unreachable"),
            (524, "Origin Time-out"),
            (525, "Origin SSL Handshake Error"),
            (526, "Origin SSL Certificate Error"),
        ] {
            let response = render(branded(status, Hop::Host), &ctx("example.com"));
            let reason = response
                .extensions()
                .get::<ReasonPhrase>()
                .expect("phrase set");
            assert_eq!(reason.as_bytes(), expected.as_bytes());
        }
        let standard = render(branded(502, Hop::Host), &ctx("example.com"));
        assert!(standard.extensions().get::<ReasonPhrase>().is_none());
        let numbered = render(
            PageKind::Numbered {
                status: 530,
                code: 1016,
            },
            &ctx("example.com"),
        );
        let reason = numbered
            .extensions()
            .get::<ReasonPhrase>()
            .expect("no <none>");
        assert_eq!(reason.as_bytes(), b"");
    }

    #[test]
    fn branded_page_names_status_title_and_host() {
        for (status, expected) in [
            (500, "Internal server error"),
            (502, "Bad gateway"),
            (504, "Gateway time-out"),
            (520, "Web server is returning an unknown error"),
            (521, "Web server is down"),
            (522, "Connection timed out"),
            (523, "Origin is unreachable"),
            (524, "A timeout occurred"),
            (525, "SSL handshake failed"),
            (526, "Invalid SSL certificate"),
            (527, "Railgun Listener to origin error"),
        ] {
            assert_eq!(title(status), expected);
            let response = render(branded(status, Hop::Host), &ctx("example.com"));
            let page = body(&response);
            assert!(
                page.contains(&format!(
                    "<title>example.com | {status}: {expected}</title>"
                )),
                "{status}"
            );
            assert!(page.contains(&format!("Error code {status}")));
            assert!(page.contains("class=\"code-label\""));
            assert!(page.contains("What happened?"));
            assert!(page.contains("What can I do?"));
        }
        assert_eq!(title(503), "Service temporarily unavailable");
    }

    #[test]
    fn branded_page_has_the_reference_structure() {
        let response = render(branded(522, Hop::Host), &ctx("example.com"));
        let page = body(&response);
        assert!(page.starts_with("<!DOCTYPE html>"));
        for id in [
            "cf-wrapper",
            "cf-error-details",
            "cf-browser-status",
            "cf-cloudflare-status",
            "cf-host-status",
            "cf-footer-item-ip",
            "cf-footer-ip-reveal",
            "cf-footer-ip",
            "brand_link",
        ] {
            assert_eq!(page.matches(&format!("id=\"{id}\"")).count(), 1, "{id}");
        }
        let wrapper = page.find("<div id=\"cf-wrapper\">\n<div id=\"cf-error-details\">");
        assert!(wrapper.is_some(), "#cf-error-details sits in #cf-wrapper");
        assert!(page.contains(
            "<h1><span class=\"inline-block\">Connection timed out</span> \
             <span class=\"code-label\">Error code 522</span></h1>"
        ));
        let landing = "https://www.cloudflare.com/5xx-error-landing?utm_source=errorcode_522\
                       &utm_campaign=example.com";
        assert!(page.contains(&format!("Visit <a href=\"{landing}\"")));
        assert!(page.contains(">cloudflare.com</a> for more information."));
        assert!(page.contains("<div class=\"mt-3\">2024-09-05 16:16:38 UTC</div>"));
        assert!(page.contains("If you are a visitor of this website"));
        assert!(page.contains("If you are the owner of this website"));
        assert!(page.contains(
            "<a rel=\"noopener noreferrer\" href=\"https://developers.cloudflare.com/support/\
             troubleshooting/http-status-codes/cloudflare-5xx-errors/error-522/\">\
             Additional troubleshooting information here.</a></p>"
        ));

        let footer = element(page, "<div class=\"cf-error-footer\">", "</p>");
        assert!(footer.starts_with("<div class=\"cf-error-footer\">\n<p class=\"text-13\">"));
        assert!(footer.contains(
            "<span class=\"cf-footer-item\">Cloudflare Ray ID: \
             <strong class=\"font-semibold\">230b030023ae2822</strong></span>"
        ));
        assert!(
            !page.contains("230b030023ae2822-CDG"),
            "footer shows the hex only"
        );
        assert!(footer.contains("<span class=\"cf-footer-separator\">&bull;</span>"));
        let ip = element(footer, "<span id=\"cf-footer-item-ip\"", "</span>\n</span>");
        assert!(ip.contains(
            "<button type=\"button\" id=\"cf-footer-ip-reveal\" \
             class=\"cf-footer-ip-reveal-btn\">Click to reveal</button>"
        ));
        assert!(ip.contains("<span class=\"hidden\" id=\"cf-footer-ip\">203.0.113.7</span>"));
        assert!(footer.contains(&format!(
            "<span>Performance &amp; security by</span> <a rel=\"noopener noreferrer\" \
             href=\"{landing}\" id=\"brand_link\" target=\"_blank\">Cloudflare</a>"
        )));

        // The look comes from the edge: one stylesheet link, no CSS in the page, one script
        // (the IP reveal), no images of its own.
        assert_eq!(
            page.matches("<link").count(),
            1,
            "only the stylesheet is linked"
        );
        assert!(page.contains(
            "<link rel=\"stylesheet\" id=\"cf_styles-css\" href=\"/cdn-cgi/styles/main.css\">"
        ));
        assert!(!page.contains("<style"));
        assert!(!page.contains("style="));
        assert_eq!(page.matches("<script").count(), 1);
        assert!(!page.contains("src="));
        assert!(
            (2 * 1024..=branded::CAPACITY).contains(&page.len()),
            "page is {} bytes (capacity {})",
            page.len(),
            branded::CAPACITY
        );
    }

    #[test]
    fn the_cloudflare_hop_links_its_icon_and_its_name() {
        let response = render(branded(525, Hop::Host), &ctx("example.com"));
        let page = body(&response);
        let landing = "https://www.cloudflare.com/5xx-error-landing?utm_source=errorcode_525\
                       &utm_campaign=example.com";
        let link = format!("<a href=\"{landing}\" target=\"_blank\" rel=\"noopener noreferrer\">");
        let edge = hop_box(page, "cf-cloudflare-status");
        assert!(edge.contains(&format!(
            "{link}\n<span class=\"cf-icon-cloud\"></span>\n\
             <span class=\"cf-icon-ok\"></span>\n</a>"
        )));
        assert!(edge.contains(&format!(
            "<h3 class=\"cf-hop-label\">{link}Cloudflare</a></h3>"
        )));
        for (id, icon, label) in [
            ("cf-browser-status", "cf-icon-browser", "Browser"),
            ("cf-host-status", "cf-icon-server", "Host"),
        ] {
            let hop = hop_box(page, id);
            assert!(!hop.contains("<a "), "{id}");
            assert!(
                hop.contains(&format!("<span class=\"{icon}\"></span>")),
                "{id}"
            );
            assert!(
                hop.contains(&format!("<h3 class=\"cf-hop-label\">{label}</h3>")),
                "{id}"
            );
        }
        assert!(hop_box(page, "cf-host-status").contains("<span class=\"cf-icon-error\">"));
        assert!(hop_box(page, "cf-browser-status").contains("<span class=\"cf-icon-ok\">"));
    }

    #[test]
    fn a_try_again_page_has_no_owner_part() {
        let response = render(branded(500, Hop::Cloudflare), &ctx("example.com"));
        let page = body(&response);
        assert!(
            page.contains("<h2>What can I do?</h2>\n<p>Please try again in a few minutes.</p>")
        );
        assert!(!page.contains("If you are the owner"));
        assert!(!page.contains("Additional troubleshooting information here."));
    }

    #[test]
    fn exactly_the_failing_hop_is_marked_error() {
        for (failing, id) in [
            (Hop::Browser, "cf-browser-status"),
            (Hop::Cloudflare, "cf-cloudflare-status"),
            (Hop::Host, "cf-host-status"),
        ] {
            let response = render(branded(500, failing), &ctx("example.com"));
            let page = body(&response);
            assert_eq!(page.matches("cf-error-source").count(), 1, "{failing:?}");
            assert!(
                opening_tag(page, id).contains("cf-error-source"),
                "{failing:?}"
            );
            for other in [
                "cf-browser-status",
                "cf-cloudflare-status",
                "cf-host-status",
            ] {
                let state = if other == id { ">Error<" } else { ">Working<" };
                assert!(
                    hop_box(page, other).contains(state),
                    "{other} for {failing:?}"
                );
            }
        }
    }

    #[test]
    fn boxes_name_you_the_colo_city_and_the_host() {
        let response = render(branded(521, Hop::Host), &ctx("shop.example.com"));
        let page = body(&response);
        let browser = hop_box(page, "cf-browser-status");
        assert!(browser.contains(">You<") && browser.contains(">Browser<"));
        let edge = hop_box(page, "cf-cloudflare-status");
        assert!(edge.contains(">Paris<") && edge.contains(">Cloudflare<"));
        let host = hop_box(page, "cf-host-status");
        assert!(host.contains(">shop.example.com<") && host.contains(">Host<"));
        assert!(host.contains(">Error<"));

        let elsewhere = PageContext {
            ray: RayId::new(RAY, "ZZZ".parse().expect("valid colo")),
            ..ctx("example.com")
        };
        let response = render(branded(521, Hop::Host), &elsewhere);
        assert!(hop_box(body(&response), "cf-cloudflare-status").contains(">ZZZ<"));
        assert_eq!(header(&response, "cf-ray"), Some("230b030023ae2822-ZZZ"));
    }

    #[test]
    fn visitor_supplied_host_is_escaped_everywhere() {
        let host = "<script>alert(\"x\")</script>&'";
        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;";
        for kind in [
            branded(520, Hop::Host),
            PageKind::Numbered {
                status: 530,
                code: 1033,
            },
        ] {
            let response = render(kind, &ctx(host));
            let page = body(&response);
            assert_eq!(
                page.matches("<script").count(),
                1,
                "only the IP reveal: {kind:?}"
            );
            assert!(!page.contains("alert(\"x\")"), "{kind:?}");
            assert!(page.contains(escaped), "{kind:?}");
        }
    }

    #[test]
    fn empty_host_is_left_out_of_titles() {
        let response = render(branded(524, Hop::Host), &ctx(""));
        let page = body(&response);
        assert!(page.contains("<title>524: A timeout occurred</title>"));
        assert!(hop_box(page, "cf-host-status").contains(">unknown host<"));
        let response = render(
            PageKind::Numbered {
                status: 530,
                code: 1016,
            },
            &ctx(""),
        );
        assert!(body(&response).contains("<title>Origin DNS error | Cloudflare</title>"));
    }

    #[test]
    fn numbered_pages_for_1016_and_1033() {
        for (code, name) in [(1016, "Origin DNS error"), (1033, "Argo Tunnel error")] {
            assert_eq!(numbered_title(code), name);
            let response = render(
                PageKind::Numbered { status: 530, code },
                &ctx("example.com"),
            );
            assert_eq!(response.status().as_u16(), 530);
            let page = body(&response);
            assert!(page.contains(&format!("<title>{name} | example.com | Cloudflare</title>")));
            assert!(page.contains("<div id=\"cf-wrapper\">\n<div id=\"cf-error-details\">"));
            assert!(page.contains(&format!(
                "<h1><span class=\"cf-error-type\" data-translate=\"error\">Error</span> \
                 <span class=\"cf-error-code\">{code}</span></h1>"
            )));
            assert!(page.contains(
                "<span class=\"heading-ray-id\">Ray ID: 230b030023ae2822 &bull;</span>\n\
                 <span class=\"heading-ray-id\">2024-09-05 16:16:38 UTC</span>"
            ));
            assert_eq!(page.matches("class=\"heading-ray-id\"").count(), 2);
            assert!(page.contains(&format!("<h2 class=\"cf-subheadline\">{name}</h2>")));
            let happened = element(page, "<div id=\"what-happened-section\">", "</div>");
            assert_eq!(happened.matches("example.com").count(), 2, "{happened}");
            assert!(happened.contains("You asked for a page of a website (example.com)"));
            let resolution = element(page, "<div id=\"resolution-copy-section\">", "</div>");
            assert!(resolution.contains("<strong>If you are a visitor of this website:</strong>"));
            assert!(resolution.contains("<strong>If you are the owner of this website:</strong>"));
            assert!(page.contains("What happened?") && page.contains("What can I do?"));
            assert!(page.contains(
                "Cloudflare Ray ID: <strong class=\"font-semibold\">230b030023ae2822</strong>"
            ));
            assert!(page.contains("<span class=\"hidden\" id=\"cf-footer-ip\">203.0.113.7<"));
            assert!(page.contains(&format!(
                "utm_source=errorcode_{code}&utm_campaign=example.com"
            )));
            assert!(page.contains("href=\"/cdn-cgi/styles/main.css\""));
            assert!(!page.contains("<style") && !page.contains("style="));
            assert!(!page.contains("cf-browser-status"), "no three-hop diagram");
            assert!(!page.contains("cf-error-source"));
            assert!(
                page.len() <= numbered::CAPACITY,
                "capacity too small: {}",
                page.len()
            );
        }
        let dns = render(
            PageKind::Numbered {
                status: 530,
                code: 1016,
            },
            &ctx("example.com"),
        );
        assert!(body(&dns).contains("Cloudflare cannot resolve the name asked for (example.com)"));
        assert_eq!(numbered_title(1000), "DNS points to prohibited IP");
        let forbidden = render(
            PageKind::Numbered {
                status: 403,
                code: 1000,
            },
            &ctx("example.com"),
        );
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        assert!(body(&forbidden).contains("<span class=\"cf-error-code\">1000</span>"));
    }

    #[test]
    fn the_1020_page_is_what_cloudscraper_calls_a_firewall_block() {
        // cloudscraper 1.2.71, `Cloudflare.is_Firewall_Blocked`: `Server` starting with
        // "cloudflare", status 403 and this exact span.
        let response = render(
            PageKind::Numbered {
                status: 403,
                code: 1020,
            },
            &ctx("example.com"),
        );
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(header(&response, "server").is_some_and(|s| s.starts_with("cloudflare")));
        assert!(body(&response).contains("<span class=\"cf-error-code\">1020</span>"));
    }

    #[test]
    fn a_numbered_page_without_host_names_none() {
        let response = render(
            PageKind::Numbered {
                status: 530,
                code: 1016,
            },
            &ctx(""),
        );
        let happened = element(
            body(&response),
            "<div id=\"what-happened-section\">",
            "</div>",
        );
        assert!(happened.contains("You asked for a page of a website on the Cloudflare network."));
        assert!(!happened.contains("()"), "{happened}");
    }

    #[test]
    fn unbranded_page_is_nginx_shaped() {
        let response = render(PageKind::Unbranded { status: 502 }, &ctx("example.com"));
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(
            body(&response),
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
             <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n\
             </body>\r\n</html>\r\n"
        );
        assert_eq!(header(&response, "cf-ray"), Some("230b030023ae2822-CDG"));
        for (status, line) in [
            (503, "503 Service Unavailable"),
            (504, "504 Gateway Timeout"),
            (400, "400 Bad Request"),
            (520, "520 Origin Error"),
        ] {
            let response = render(PageKind::Unbranded { status }, &ctx("example.com"));
            assert!(
                body(&response).contains(&format!("<title>{line}</title>")),
                "{status}"
            );
        }
    }

    #[test]
    fn invalid_status_becomes_500() {
        let response = render(branded(42, Hop::Host), &ctx("example.com"));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body(&response).contains("500: Internal server error"));
    }

    #[test]
    fn colo_city_looks_up_the_table() {
        assert_eq!(colo_city(Colo::DEFAULT), Some("Paris"));
        assert_eq!(
            colo_city("SJC".parse().expect("valid colo")),
            Some("San Jose")
        );
        assert_eq!(colo_city("QQQ".parse().expect("valid colo")), None);
    }
}
