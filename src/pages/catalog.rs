//! Facts about each edge-made error that are not words or markup: the HTTP status a 1xxx error
//! is sent with, its category, whether it is retryable and after how long, and the Cloudflare
//! documentation page it links to. Also the `/cdn-cgi/error/<code>` mapping. This module owns
//! those tables; wording is in [`super::text`], rendering in the layouts and
//! [`super::structured`].
//!
//! Where Cloudflare's documentation does not say which status a 1xxx error is sent with, the
//! table below says "unconfirmed" and gives the sensible choice: 530 for errors on the origin's
//! side (Cloudflare: "An HTTP error 530 is returned ... the body of the response contains an
//! 1XXX error code"), 403 for blocks, 429 for the rate limit, 500 for Workers failures.

use super::{Hop, PageKind};
use crate::base::numbered::numbered_status;

/// Where Cloudflare's troubleshooting articles for status codes live.
const DOCS: &str = "https://developers.cloudflare.com/support/troubleshooting/http-status-codes/";

/// What kind of fault an error is, as the structured forms' `error_category` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Category {
    /// The origin web server failed or could not be reached (502, 504, 520-524, 527, 1033).
    Origin,
    /// TLS between Cloudflare and the origin failed (525, 526).
    Ssl,
    /// The zone's DNS settings (1000-1002, 1004, 1014, 1016, 1018, 1023).
    Dns,
    /// Cloudflare itself failed (500, its own 502/503/504).
    Cloudflare,
    /// A deliberate block by the site's security settings (1003, 1005-1012, 1020, ...).
    Access,
    /// The site's rate limiting rules (1015).
    RateLimit,
    /// The visitor's request itself was unusable (400 and other 4xx pages).
    Request,
    /// A Cloudflare Worker of the site failed (1019, 1101, 1102, 1104).
    Worker,
    /// The site's Cloudflare configuration (rewrite and redirect rules, header limits).
    Config,
}

impl Category {
    /// The snake_case name in `error_category`.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Category::Origin => "origin",
            Category::Ssl => "ssl",
            Category::Dns => "dns",
            Category::Cloudflare => "cloudflare",
            Category::Access => "access_denied",
            Category::RateLimit => "rate_limit",
            Category::Request => "request",
            Category::Worker => "worker",
            Category::Config => "configuration",
        }
    }

    /// Whether the site's owner has to act for the error to go away: true for faults in what
    /// the owner runs or configures, false for Cloudflare's own failures, for blocks and rate
    /// limits working as configured, and for a visitor's bad request.
    pub(super) fn owner_action_required(self) -> bool {
        match self {
            Category::Origin
            | Category::Ssl
            | Category::Dns
            | Category::Worker
            | Category::Config => true,
            Category::Cloudflare | Category::Access | Category::RateLimit | Category::Request => {
                false
            }
        }
    }
}

/// The category of a 1xxx error.
fn numbered_category(code: u16) -> Category {
    match code {
        1000..=1002 | 1004 | 1014 | 1016 | 1018 | 1023 => Category::Dns,
        1033 | 1200 => Category::Origin,
        1003 | 1005..=1013 | 1020 | 1034 | 1106 => Category::Access,
        1015 => Category::RateLimit,
        1019 | 1025 | 1101 | 1102 | 1104 => Category::Worker,
        1035..=1038 | 1040 | 1041 | 1205 => Category::Config,
        _ => Category::Cloudflare,
    }
}

/// The 2026 `retry-after` of a 1xxx error, in seconds (Cloudflare changelog, 2026-03-12:
/// "Retry-After HTTP header for retryable 1xxx errors").
pub(super) fn numbered_retry_after(code: u16) -> Option<u32> {
    match code {
        1004 | 1005 | 1033 => Some(120),
        1015 => Some(30),
        1038 | 1200 => Some(60),
        1205 => Some(5),
        _ => None,
    }
}

/// The category of any page.
pub(super) fn category(kind: PageKind) -> Category {
    match kind {
        PageKind::Branded { failing, status } => match failing {
            Hop::Cloudflare => Category::Cloudflare,
            Hop::Browser => Category::Request,
            Hop::Host if matches!(status, 525 | 526) => Category::Ssl,
            Hop::Host => Category::Origin,
        },
        PageKind::Numbered { code, .. } => numbered_category(code),
        PageKind::HeaderTooLarge => Category::Request,
        PageKind::Unbranded { status } if (400..500).contains(&status) => Category::Request,
        PageKind::Unbranded { .. } => Category::Cloudflare,
    }
}

/// Whether retrying the same request later can succeed: where a `retry-after` applies
/// (`retry_after` is the page's value from the 2026 table, whether or not the header is sent),
/// for origin-side failures other than TLS (525/526 need the owner to fix a certificate or
/// configuration first), and for Cloudflare's own "temporarily unavailable" 503.
pub(super) fn retryable(kind: PageKind, retry_after: Option<u32>) -> bool {
    retry_after.is_some()
        || category(kind) == Category::Origin
        || matches!(kind, PageKind::Unbranded { status: 503 })
}

/// The Cloudflare documentation page for the error (RFC 9457 `type`), e.g.
/// `.../cloudflare-5xx-errors/error-522/` or `.../cloudflare-1xxx-errors/error-1016/`.
/// Errors that share an article link to it (502 and 504; 1006-1008 and 1106).
pub(super) fn doc_url(kind: PageKind) -> String {
    match kind {
        PageKind::Numbered { code, .. } => {
            let page = match code {
                1006..=1008 | 1106 => 1006,
                other => other,
            };
            format!("{DOCS}cloudflare-1xxx-errors/error-{page}/")
        }
        PageKind::HeaderTooLarge => format!("{DOCS}4xx-client-error/error-400/"),
        PageKind::Branded { status, .. } | PageKind::Unbranded { status } => match status {
            502 | 504 => format!("{DOCS}cloudflare-5xx-errors/error-502-504/"),
            400..=499 => format!("{DOCS}4xx-client-error/error-{status}/"),
            _ => format!("{DOCS}cloudflare-5xx-errors/error-{status}/"),
        },
    }
}

/// The page `/cdn-cgi/error/<code>` shows, or `None` for a code edgecase does not know.
///
/// 500 is Cloudflare's own failure (branded, the Cloudflare hop failing); 502, 504 and
/// 520-527 are the branded host-error pages; 503 is Cloudflare's unbranded overload page; 530
/// alone is the 1016 page it is most often seen with; a known 1xxx code gets its numbered page
/// with the status from [`numbered_status`].
pub fn cdn_cgi_error(code: u16) -> Option<PageKind> {
    match code {
        500 => Some(PageKind::Branded {
            status: 500,
            failing: Hop::Cloudflare,
        }),
        502 | 504 | 520..=527 => Some(PageKind::Branded {
            status: code,
            failing: Hop::Host,
        }),
        503 => Some(PageKind::Unbranded { status: 503 }),
        530 => Some(PageKind::Numbered {
            status: 530,
            code: 1016,
        }),
        _ => numbered_status(code).map(|status| PageKind::Numbered { status, code }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::text;

    fn branded(status: u16, failing: Hop) -> PageKind {
        PageKind::Branded { status, failing }
    }

    #[test]
    fn cdn_cgi_error_maps_5xx_codes_to_their_pages() {
        assert_eq!(cdn_cgi_error(500), Some(branded(500, Hop::Cloudflare)));
        for status in [502, 504, 520, 521, 522, 523, 524, 525, 526, 527] {
            assert_eq!(cdn_cgi_error(status), Some(branded(status, Hop::Host)));
        }
        assert_eq!(
            cdn_cgi_error(503),
            Some(PageKind::Unbranded { status: 503 })
        );
        assert_eq!(
            cdn_cgi_error(530),
            Some(PageKind::Numbered {
                status: 530,
                code: 1016
            })
        );
    }

    #[test]
    fn cdn_cgi_error_maps_1xxx_codes_to_numbered_pages_with_their_status() {
        for (code, status) in [
            (1000, 403),
            (1006, 403),
            (1007, 403),
            (1008, 403),
            (1009, 403),
            (1010, 403),
            (1011, 403),
            (1012, 403),
            (1020, 403),
            (1015, 429),
            (1016, 530),
            (1033, 530),
            (1001, 530),
            (1038, 530),
            (1200, 530),
            (1205, 530),
            (1101, 500),
        ] {
            assert_eq!(
                cdn_cgi_error(code),
                Some(PageKind::Numbered { status, code }),
                "{code}"
            );
        }
    }

    #[test]
    fn cdn_cgi_error_refuses_unknown_codes() {
        for code in [
            0, 200, 404, 501, 505, 519, 528, 529, 531, 999, 1017, 1999, 10_000,
        ] {
            assert_eq!(cdn_cgi_error(code), None, "{code}");
        }
    }

    #[test]
    fn every_code_with_a_name_has_a_status_and_no_other_does() {
        for code in 1000..=1999 {
            let named = text::numbered_title(code) != "Cloudflare error";
            assert_eq!(numbered_status(code).is_some(), named, "{code}");
        }
    }

    #[test]
    fn retry_after_follows_the_2026_1xxx_table() {
        for (code, secs) in [
            (1004, 120),
            (1005, 120),
            (1015, 30),
            (1033, 120),
            (1038, 60),
            (1200, 60),
            (1205, 5),
        ] {
            assert_eq!(numbered_retry_after(code), Some(secs), "{code}");
        }
        for code in [1000, 1016, 1020, 1101] {
            assert_eq!(numbered_retry_after(code), None, "{code}");
        }
    }

    #[test]
    fn categories_follow_where_the_fault_is() {
        for (kind, expected) in [
            (branded(500, Hop::Cloudflare), "cloudflare"),
            (branded(502, Hop::Host), "origin"),
            (branded(504, Hop::Host), "origin"),
            (branded(520, Hop::Host), "origin"),
            (branded(524, Hop::Host), "origin"),
            (branded(527, Hop::Host), "origin"),
            (branded(525, Hop::Host), "ssl"),
            (branded(526, Hop::Host), "ssl"),
            (PageKind::Unbranded { status: 502 }, "cloudflare"),
            (PageKind::Unbranded { status: 503 }, "cloudflare"),
            (PageKind::Unbranded { status: 400 }, "request"),
            (
                PageKind::Numbered {
                    status: 530,
                    code: 1016,
                },
                "dns",
            ),
            (
                PageKind::Numbered {
                    status: 530,
                    code: 1033,
                },
                "origin",
            ),
            (
                PageKind::Numbered {
                    status: 429,
                    code: 1015,
                },
                "rate_limit",
            ),
            (
                PageKind::Numbered {
                    status: 403,
                    code: 1020,
                },
                "access_denied",
            ),
        ] {
            assert_eq!(category(kind).as_str(), expected, "{kind:?}");
        }
    }

    #[test]
    fn doc_urls_point_at_each_errors_article() {
        assert_eq!(
            doc_url(branded(522, Hop::Host)),
            "https://developers.cloudflare.com/support/troubleshooting/http-status-codes/\
             cloudflare-5xx-errors/error-522/"
        );
        assert_eq!(
            doc_url(PageKind::Unbranded { status: 504 }),
            "https://developers.cloudflare.com/support/troubleshooting/http-status-codes/\
             cloudflare-5xx-errors/error-502-504/"
        );
        assert_eq!(
            doc_url(PageKind::Numbered {
                status: 530,
                code: 1016
            }),
            "https://developers.cloudflare.com/support/troubleshooting/http-status-codes/\
             cloudflare-1xxx-errors/error-1016/"
        );
        assert_eq!(
            doc_url(PageKind::Numbered {
                status: 403,
                code: 1106
            }),
            "https://developers.cloudflare.com/support/troubleshooting/http-status-codes/\
             cloudflare-1xxx-errors/error-1006/"
        );
        assert_eq!(
            doc_url(PageKind::Unbranded { status: 400 }),
            "https://developers.cloudflare.com/support/troubleshooting/http-status-codes/\
             4xx-client-error/error-400/"
        );
    }
}
