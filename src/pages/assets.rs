//! The files error pages load from the edge, as Cloudflare's do: the stylesheet at
//! [`STYLESHEET_PATH`] and the icons it draws under `/cdn-cgi/images/`. They are written for
//! edgecase (`src/pages/assets/`), embedded in the binary, and answered by the edge itself on
//! every host, never forwarded and never faulted. This module owns the table of assets and
//! their responses; matching the request path is the edge service's (on the normalized path).
//!
//! A page saved to a file therefore loses its look, as Cloudflare's does: the stylesheet is
//! not in the page.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue, SERVER};
use http::{Response, StatusCode};

use crate::ray::RayId;

/// Where every page links its stylesheet.
pub const STYLESHEET_PATH: &str = "/cdn-cgi/styles/main.css";

/// The path prefixes the edge answers from [`asset`] (an unknown file under them is a 404).
pub const ASSET_PREFIXES: [&str; 2] = ["/cdn-cgi/styles/", "/cdn-cgi/images/"];

/// `cache-control` of the assets: public and long-lived, since they never change within a
/// release. Cloudflare caches its own error page assets too; its exact value is unconfirmed.
const CACHE_FOR_A_DAY: &str = "public, max-age=86400";

/// One file the edge serves for its pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asset {
    /// Its path, e.g. `/cdn-cgi/images/cloud.svg`.
    pub path: &'static str,
    /// Its `content-type`.
    pub content_type: &'static str,
    /// The file itself.
    pub body: &'static [u8],
}

/// `content-type` of the stylesheet.
const CSS: &str = "text/css; charset=utf-8";
/// `content-type` of the icons.
const SVG: &str = "image/svg+xml";

/// Every asset, by path.
const ASSETS: [Asset; 6] = [
    Asset {
        path: STYLESHEET_PATH,
        content_type: CSS,
        body: include_bytes!("assets/main.css"),
    },
    Asset {
        path: "/cdn-cgi/images/browser.svg",
        content_type: SVG,
        body: include_bytes!("assets/browser.svg"),
    },
    Asset {
        path: "/cdn-cgi/images/cloud.svg",
        content_type: SVG,
        body: include_bytes!("assets/cloud.svg"),
    },
    Asset {
        path: "/cdn-cgi/images/server.svg",
        content_type: SVG,
        body: include_bytes!("assets/server.svg"),
    },
    Asset {
        path: "/cdn-cgi/images/ok.svg",
        content_type: SVG,
        body: include_bytes!("assets/ok.svg"),
    },
    Asset {
        path: "/cdn-cgi/images/error.svg",
        content_type: SVG,
        body: include_bytes!("assets/error.svg"),
    },
];

/// Whether `path` (normalized) lies where the edge serves its page assets: the edge answers
/// it itself, with [`asset`]'s file or a 404.
pub fn is_asset_path(path: &str) -> bool {
    ASSET_PREFIXES.iter().any(|prefix| path.starts_with(prefix))
}

/// The asset at `path` (normalized, without a query), if there is one.
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

impl Asset {
    /// The 200 response carrying this file: its type, a long public `cache-control`,
    /// `server: cloudflare` and the request's `cf-ray`.
    pub fn response(&self, ray: RayId) -> Response<Bytes> {
        let mut response = Response::new(Bytes::from_static(self.body));
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        // Invariant: a ray ID displays as 16 hex digits, '-', three uppercase letters.
        let ray = HeaderValue::from_str(&ray.to_string()).expect("a ray ID is a header value");
        headers.insert(HeaderName::from_static("cf-ray"), ray);
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE_FOR_A_DAY));
        headers.insert(SERVER, HeaderValue::from_static("cloudflare"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ray::Colo;

    fn stylesheet() -> &'static str {
        std::str::from_utf8(ASSETS[0].body).expect("the stylesheet is UTF-8")
    }

    #[test]
    fn paths_are_found_and_unknown_files_are_not() {
        assert_eq!(
            asset("/cdn-cgi/styles/main.css").map(|a| a.content_type),
            Some(CSS)
        );
        assert_eq!(
            asset("/cdn-cgi/images/cloud.svg").map(|a| a.content_type),
            Some(SVG)
        );
        for unknown in ["/cdn-cgi/styles/other.css", "/cdn-cgi/images/", "/main.css"] {
            assert_eq!(asset(unknown), None, "{unknown}");
        }
        assert!(is_asset_path("/cdn-cgi/images/nothing.png"));
        assert!(is_asset_path("/cdn-cgi/styles/main.css"));
        assert!(!is_asset_path("/cdn-cgi/trace"));
        assert!(!is_asset_path("/cdn-cgi/stylesheet"));
    }

    #[test]
    fn every_asset_lies_under_a_prefix_and_the_icons_are_svg() {
        for asset in ASSETS {
            assert!(is_asset_path(asset.path), "{}", asset.path);
            if asset.content_type == SVG {
                let svg = std::str::from_utf8(asset.body).expect("SVG is text");
                assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
                assert!(svg.trim_end().ends_with("</svg>"), "{}", asset.path);
            }
        }
    }

    #[test]
    fn every_image_the_stylesheet_names_is_served() {
        let css = stylesheet();
        let mut named = 0;
        for (at, _) in css.match_indices("url(") {
            let rest = &css[at + 4..];
            let path = &rest[..rest.find(')').expect("url() closes")];
            assert!(asset(path).is_some(), "main.css names {path}");
            named += 1;
        }
        assert_eq!(named, 5, "three icons and two badges");
    }

    #[test]
    fn the_stylesheet_styles_the_pages_markup() {
        let css = stylesheet();
        for selector in [
            "#cf-wrapper",
            ".code-label",
            ".cf-hops",
            ".cf-icon-ok",
            ".cf-icon-error",
            ".cf-hop-label",
            ".cf-error-footer",
            ".cf-footer-item",
            ".cf-footer-separator",
            ".cf-footer-ip-reveal-btn",
            ".hidden",
            ".heading-ray-id",
            ".cf-subheadline",
            "@media (max-width: 720px)",
        ] {
            assert!(css.contains(selector), "{selector}");
        }
        assert!(css.contains("background: #ebebeb"), "the hops' band");
    }

    #[test]
    fn responses_carry_type_caching_and_cloudflares_identity() {
        let ray = RayId::new(0x230b_0300_23ae_2822, Colo::DEFAULT);
        let response = asset(STYLESHEET_PATH).expect("served").response(ray);
        assert_eq!(response.status(), StatusCode::OK);
        let header = |name: &str| response.headers()[name].to_str().expect("ASCII");
        assert_eq!(header("content-type"), CSS);
        assert_eq!(header("cache-control"), "public, max-age=86400");
        assert_eq!(header("server"), "cloudflare");
        assert_eq!(header("cf-ray"), "230b030023ae2822-CDG");
        assert_eq!(response.body().len(), ASSETS[0].body.len());
    }
}
