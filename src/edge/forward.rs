//! Rewriting heads as they cross the edge: the visitor's request into what the origin gets
//! (Cloudflare's added headers, hop-by-hop headers removed, origin-form URI), and the origin's
//! response into what the visitor gets (`server: cloudflare`, `cf-ray`, `cf-cache-status`).

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::uri::PathAndQuery;
use http::{Request, Response, Uri, Version};

use crate::edge::Visit;
use crate::ray::RayId;

/// Headers that describe one hop, never forwarded (RFC 9110 §7.6.1, plus the legacy ones).
const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// `cf-connecting-ip`: the visitor's IP, as Cloudflare tells the origin.
pub const CF_CONNECTING_IP: HeaderName = HeaderName::from_static("cf-connecting-ip");
/// `cf-ray`: the request's ray ID, on both the origin request and the visitor response.
pub const CF_RAY: HeaderName = HeaderName::from_static("cf-ray");
/// `cf-visitor`: the visitor's scheme as JSON.
pub const CF_VISITOR: HeaderName = HeaderName::from_static("cf-visitor");
/// `cf-ipcountry`: the visitor's country; `XX` when unknown.
pub const CF_IPCOUNTRY: HeaderName = HeaderName::from_static("cf-ipcountry");
/// `cdn-loop`: marks the request as having passed Cloudflare.
pub const CDN_LOOP: HeaderName = HeaderName::from_static("cdn-loop");
/// `cf-cache-status`: always `DYNAMIC`, since edgecase caches nothing.
pub const CF_CACHE_STATUS: HeaderName = HeaderName::from_static("cf-cache-status");
/// `x-forwarded-for`: the chain of client IPs.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `x-forwarded-proto`: the visitor's scheme.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// The request head the origin gets for the visitor's `parts`. A WebSocket upgrade
/// (`upgrade` true) keeps `connection: upgrade` and the visitor's `upgrade` header.
pub fn origin_request<B>(
    mut parts: Parts,
    body: B,
    visit: &Visit,
    ray: RayId,
    upgrade: bool,
) -> Request<B> {
    // Origin-form: keep the parsed path and query, drop scheme and authority (no re-parse).
    let mut uri = std::mem::take(&mut parts.uri).into_parts();
    let authority = uri.authority.take();
    uri.scheme = None;
    if uri.path_and_query.is_none() {
        uri.path_and_query = Some(PathAndQuery::from_static("/"));
    }
    // A URI with only a path and query is always valid origin-form.
    parts.uri = Uri::from_parts(uri).unwrap_or_else(|_| Uri::from_static("/"));
    parts.version = Version::HTTP_11;

    let headers = &mut parts.headers;
    let upgrade_to = upgrade
        .then(|| headers.get(header::UPGRADE).cloned())
        .flatten();
    strip_hop_by_hop(headers);
    if let Some(protocol) = upgrade_to {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, protocol);
    }
    if !headers.contains_key(header::HOST) {
        // HTTP/2 visitors name the host in :authority; HTTP/1.1 origins need a Host header.
        if let Some(value) = authority.and_then(|a| HeaderValue::from_str(a.as_str()).ok()) {
            headers.insert(header::HOST, value);
        }
    }
    let ip = visit.peer.ip().to_string();
    let forwarded_for = match joined_values(headers, &X_FORWARDED_FOR) {
        Some(previous) => format!("{previous},{ip}"),
        None => ip.clone(),
    };
    let scheme = if visit.https() { "https" } else { "http" };
    insert(headers, CF_CONNECTING_IP, &ip);
    insert(headers, X_FORWARDED_FOR, &forwarded_for);
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(scheme));
    headers.insert(
        CF_VISITOR,
        HeaderValue::from_static(if visit.https() {
            r#"{"scheme":"https"}"#
        } else {
            r#"{"scheme":"http"}"#
        }),
    );
    // The edge's own mark, never the visitor's: a visitor cannot make the origin believe the
    // request passed other CDNs.
    headers.insert(CDN_LOOP, HeaderValue::from_static("cloudflare"));
    headers.insert(CF_IPCOUNTRY, HeaderValue::from_static("XX"));
    headers.insert(CF_RAY, ray.header_value());
    Request::from_parts(parts, body)
}

/// The origin's response head made into the visitor's: hop-by-hop headers removed (but a
/// `101 Switching Protocols` keeps `connection` and `upgrade`), and Cloudflare's `server`,
/// `cf-ray` and `cf-cache-status` set.
pub fn visitor_response<B>(mut response: Response<B>, ray: RayId) -> Response<B> {
    // The visitor hears the edge's protocol, not the origin's: an HTTP/1.0 origin's answer
    // still goes out as HTTP/1.1 (keeping the visitor's connection alive). h2 ignores it.
    *response.version_mut() = http::Version::HTTP_11;
    let switching = response.status() == http::StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    let upgrade_to = switching
        .then(|| headers.get(header::UPGRADE).cloned())
        .flatten();
    // `trailer` names the trailer fields to come; hyper sends a response's trailers only when
    // the head declares them, so this one is kept (RFC 9110 §6.6.2 makes it end-to-end).
    let trailer = headers.remove(header::TRAILER);
    strip_hop_by_hop(headers);
    if let Some(trailer) = trailer {
        headers.insert(header::TRAILER, trailer);
    }
    if let Some(protocol) = upgrade_to {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, protocol);
    }
    headers.insert(header::SERVER, HeaderValue::from_static("cloudflare"));
    headers.insert(CF_RAY, ray.header_value());
    headers.insert(CF_CACHE_STATUS, HeaderValue::from_static("DYNAMIC"));
    response
}

/// Removes hop-by-hop headers, every `proxy-*` header, and any header the `Connection` header
/// names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // One pass of cheap comparisons finds what is there, so only present names are looked up
    // (each removal hashes its name); most heads carry none, or only `connection`.
    let mut doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| HOP_BY_HOP.contains(name) || name.as_str().starts_with("proxy-"))
        .cloned()
        .collect();
    if doomed.is_empty() {
        return;
    }
    let listed = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        // The usual tokens, which name no header to remove.
        .filter(|token| {
            !token.eq_ignore_ascii_case("keep-alive") && !token.eq_ignore_ascii_case("close")
        })
        .filter_map(|token| HeaderName::from_bytes(token.as_bytes()).ok())
        // `Connection: host` must not send a request to the origin without its Host (a
        // multi-site origin would serve its default site); nor strip the body's length.
        .filter(|name| *name != header::HOST && *name != header::CONTENT_LENGTH);
    doomed.extend(listed.collect::<Vec<_>>());
    for name in &doomed {
        headers.remove(name);
    }
}

/// All values of `name` joined with commas, if any.
fn joined_values(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut values = headers.get_all(name).iter().filter_map(|v| v.to_str().ok());
    let first = values.next()?.to_owned();
    Some(values.fold(first, |mut all, v| {
        all.push(',');
        all.push_str(v);
        all
    }))
}

/// Sets `name` to `value`, which edgecase built from parts that are valid header text.
fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ray::Colo;

    fn visit() -> Visit {
        Visit {
            peer: "192.0.2.7:5555".parse().unwrap(),
            local: "127.0.0.1:8080".parse().unwrap(),
            tls: None,
            overloaded: false,
        }
    }

    #[test]
    fn origin_request_carries_cloudflares_headers_and_no_hop_by_hop_ones() {
        let (parts, ()) = Request::get("http://site.test/a?b=c")
            .header("host", "site.test")
            .header("connection", "keep-alive, x-private")
            .header("x-private", "secret")
            .header("keep-alive", "timeout=5")
            .header("upgrade", "websocket")
            .header("x-forwarded-for", "203.0.113.1")
            .header("cf-ray", "forged")
            .header("cdn-loop", "fastly")
            .body(())
            .unwrap()
            .into_parts();
        let ray = RayId::new(0xabc, Colo::DEFAULT);
        let request = origin_request(parts, (), &visit(), ray, false);
        let h = request.headers();
        assert_eq!(request.uri(), "/a?b=c");
        assert_eq!(h["host"], "site.test");
        for gone in ["connection", "x-private", "keep-alive", "upgrade"] {
            assert!(!h.contains_key(gone), "{gone} was forwarded");
        }
        assert_eq!(h["cf-connecting-ip"], "192.0.2.7");
        assert_eq!(h["x-forwarded-for"], "203.0.113.1,192.0.2.7");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["cf-visitor"], r#"{"scheme":"http"}"#);
        assert_eq!(h["cdn-loop"], "cloudflare");
        assert_eq!(h["cf-ipcountry"], "XX");
        assert_eq!(h["cf-ray"], "0000000000000abc-CDG");
    }

    #[test]
    fn h2_authority_becomes_the_host_header() {
        let (parts, ()) = Request::get("http://site.test:8080/")
            .version(Version::HTTP_2)
            .body(())
            .unwrap()
            .into_parts();
        let request = origin_request(parts, (), &visit(), RayId::new(1, Colo::DEFAULT), false);
        assert_eq!(request.headers()["host"], "site.test:8080");
        assert_eq!(request.version(), Version::HTTP_11);
    }

    #[test]
    fn visitor_response_says_cloudflare() {
        let response = Response::builder()
            .header("server", "nginx")
            .header("transfer-encoding", "chunked")
            .header("x-app", "1")
            .body(())
            .unwrap();
        let response = visitor_response(response, RayId::new(2, Colo::DEFAULT));
        let h = response.headers();
        assert_eq!(h["server"], "cloudflare");
        assert_eq!(h["cf-ray"], "0000000000000002-CDG");
        assert_eq!(h["cf-cache-status"], "DYNAMIC");
        assert_eq!(h["x-app"], "1");
        assert!(!h.contains_key("transfer-encoding"));
    }
}
