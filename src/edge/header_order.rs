//! The head of every response edgecase makes itself (error pages in all their forms, the
//! `/cdn-cgi/trace` and `/cdn-cgi/error/` answers, local refusals, the SSL-off redirect): its
//! `date` and `content-length`, and its headers in Cloudflare's wire order. This module does not
//! choose the header values (the pages, the trace and the service do), and it leaves proxied
//! responses alone: those keep the origin's order.
//!
//! Cloudflare's order (REFERENCE.md §3, an HTTP/2 522 of 2026-07) is [`CLOUDFLARE_ORDER`]. The
//! headers it does not list follow it: first [`AFTER_CLOUDFLARES`] in that order, then any
//! other in the order it was set, and `connection` last, where hyper puts the `connection`
//! it adds itself.
//!
//! hyper writes a `HeaderMap` in its iteration order, which is the order in which each name was
//! first inserted, both over HTTP/1.1 (`proto::h1::role`) and h2 (hyper hands the map to the h2
//! crate, whose HPACK encoder takes it in order after the pseudo-headers). Left to itself,
//! hyper adds `date` after every other header (HTTP/1.1) or at the end of the map (h2), and
//! `content-length` likewise; a `date` or `content-length` already in the map is kept where it
//! is. So both are set here, in their places, before hyper sees the response. HTTP/1.1 keeps
//! a `content-length` of the map only when the body is not already over (an empty body makes
//! hyper write its own `content-length: 0` after the other headers), which is why an edge-made
//! empty body is sent as one empty frame ([`crate::edge::body::EdgeBody::sized`]).

use std::time::SystemTime;

use http::HeaderMap;
use http::header::{self, HeaderName, HeaderValue};

use crate::base::time::HttpDate;
use crate::edge::errors::CF_EDGECASE_CAUSE;
use crate::edge::forward::CF_RAY;

/// The headers of an edge-made error page at Cloudflare, in the order it sends them.
pub static CLOUDFLARE_ORDER: [HeaderName; 10] = [
    header::DATE,
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    CF_RAY,
    header::CACHE_CONTROL,
    header::EXPIRES,
    header::RETRY_AFTER,
    header::SERVER,
    header::REFERRER_POLICY,
    header::X_FRAME_OPTIONS,
];

/// Headers some edge-made responses carry beyond Cloudflare's list, in the order they follow
/// it: the redirect's target, the trace's two, and edgecase's own explanation.
pub static AFTER_CLOUDFLARES: [HeaderName; 4] = [
    header::LOCATION,
    header::X_CONTENT_TYPE_OPTIONS,
    header::ACCESS_CONTROL_ALLOW_ORIGIN,
    CF_EDGECASE_CAUSE,
];

/// Sets `date` (`now`) and `content-length` (`body_len` bytes), then puts every header in its
/// place: [`CLOUDFLARE_ORDER`], [`AFTER_CLOUDFLARES`], any other as it was set, `connection`.
pub fn stamp(headers: &mut HeaderMap, now: SystemTime, body_len: usize) {
    let date = HttpDate(now).to_string();
    // Invariant: an HTTP-date is printable ASCII.
    let date = HeaderValue::from_str(&date).expect("an HTTP-date is a header value");
    headers.insert(header::DATE, date);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
    put_in_order(headers);
}

/// Reorders `headers` as [`stamp`] says; the values of one name keep their order.
pub fn put_in_order(headers: &mut HeaderMap) {
    let mut fields: Vec<(HeaderName, HeaderValue)> = Vec::with_capacity(headers.len());
    let mut name = None;
    for (next, value) in std::mem::take(headers) {
        // `None` continues the previous name's values.
        if let Some(next) = next {
            name = Some(next);
        }
        if let Some(name) = &name {
            fields.push((name.clone(), value));
        }
    }
    // Stable: equal ranks (values of one name, or the unlisted names) keep their order.
    fields.sort_by_key(|(name, _)| rank(name));
    headers.reserve(fields.len());
    for (name, value) in fields {
        headers.append(name, value);
    }
}

/// Where a header goes: its index in [`CLOUDFLARE_ORDER`] then [`AFTER_CLOUDFLARES`], then one
/// rank for every other header, and `connection` after them.
fn rank(name: &HeaderName) -> usize {
    let listed = CLOUDFLARE_ORDER.iter().chain(&AFTER_CLOUDFLARES);
    if let Some(at) = listed.clone().position(|known| known == name) {
        return at;
    }
    let others = listed.count();
    if name == header::CONNECTION {
        others + 1
    } else {
        others
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn names(headers: &HeaderMap) -> Vec<&str> {
        headers.keys().map(HeaderName::as_str).collect()
    }

    #[test]
    fn a_page_head_comes_out_in_cloudflares_order() {
        let mut headers = HeaderMap::new();
        // The order pages::render_as inserted them in before this module existed.
        for (name, value) in [
            ("x-frame-options", "SAMEORIGIN"),
            ("content-type", "text/html; charset=UTF-8"),
            ("referrer-policy", "same-origin"),
            ("cache-control", "no-store"),
            ("expires", "Thu, 01 Jan 1970 00:00:01 GMT"),
            ("retry-after", "120"),
            ("server", "cloudflare"),
            ("cf-ray", "a3479b798e7ef260-CDG"),
            ("connection", "close"),
            ("cf-edgecase-cause", "connect_timeout"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        stamp(
            &mut headers,
            UNIX_EPOCH + Duration::from_secs(1_788_300_650),
            7318,
        );
        assert_eq!(
            names(&headers),
            [
                "date",
                "content-type",
                "content-length",
                "cf-ray",
                "cache-control",
                "expires",
                "retry-after",
                "server",
                "referrer-policy",
                "x-frame-options",
                "cf-edgecase-cause",
                "connection",
            ]
        );
        assert_eq!(headers["date"], "Tue, 01 Sep 2026 22:10:50 GMT");
        assert_eq!(headers["content-length"], "7318");
    }

    #[test]
    fn unlisted_headers_keep_their_order_and_repeated_values_stay_together() {
        let mut headers = HeaderMap::new();
        headers.append("x-b", HeaderValue::from_static("1"));
        headers.append("connection", HeaderValue::from_static("close"));
        headers.append("x-a", HeaderValue::from_static("2"));
        headers.append("x-b", HeaderValue::from_static("3"));
        headers.append("location", HeaderValue::from_static("http://site.test/"));
        headers.append("server", HeaderValue::from_static("cloudflare"));
        put_in_order(&mut headers);
        assert_eq!(
            names(&headers),
            ["server", "location", "x-b", "x-a", "connection"]
        );
        let b: Vec<_> = headers.get_all("x-b").iter().collect();
        assert_eq!(b, ["1", "3"]);
    }

    #[test]
    fn stamping_replaces_an_earlier_date_and_length() {
        let mut headers = HeaderMap::new();
        headers.insert("content-length", HeaderValue::from_static("99"));
        headers.insert("date", HeaderValue::from_static("yesterday"));
        stamp(&mut headers, UNIX_EPOCH, 0);
        assert_eq!(headers["content-length"], "0");
        assert_eq!(headers["date"], "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(headers.len(), 2);
    }
}
