//! The visitor-side limits (`[limits]` keys about what visitors send) and the origin pool's
//! bounds (`[origin] max_idle`, `idle_timeout`). Their defaults copy Cloudflare's (REFERENCE.md
//! §6), per profile where the profiles differ.

use std::time::Duration;

use super::Profile;

/// Classic: a request head over 32 KB in all is refused (400 "Request Header Or Cookie Too
/// Large").
pub const CLASSIC_REQUEST_HEADER_BYTES: usize = 32 * 1024;
/// Classic: one request header line over 16 KB is refused the same way.
pub const CLASSIC_REQUEST_HEADER_FIELD_BYTES: usize = 16 * 1024;
/// Current: 128 KB of request head in all (and no smaller per-header limit); over → 413.
pub const CURRENT_REQUEST_HEADER_BYTES: usize = 128 * 1024;
/// Both profiles: a URL over 16 KB → 414.
pub const DEFAULT_URL_BYTES: usize = 16 * 1024;
/// Both profiles: a body over 100 MB (the Free and Pro plans' limit) → 413.
pub const DEFAULT_REQUEST_BODY_BYTES: u64 = 100 * 1024 * 1024;
/// How long a visitor may take to send a whole request head before it is dropped. edgecase's
/// choice: Cloudflare does not publish its value.
pub const DEFAULT_CLIENT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The concurrent streams an h2 visitor may open on one connection.
pub const DEFAULT_H2_MAX_CONCURRENT_STREAMS: u32 = 256;
/// Idle pooled connections kept per origin.
pub const DEFAULT_MAX_IDLE: usize = 512;
/// How long an idle origin connection is kept for reuse (Cloudflare's idle reuse window).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(900);

/// Limits on what visitors send and how many may connect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VisitorLimits {
    /// The largest request head (request line and header lines with their line ends).
    pub request_header_bytes: usize,
    /// The largest single header line (`name: value`).
    pub request_header_field_bytes: usize,
    /// The longest request-target.
    pub url_bytes: usize,
    /// The largest request body.
    pub request_body_bytes: u64,
    /// How long a visitor may take to send a request head.
    pub client_header_timeout: Duration,
    /// Visitor connections served at once; `None`: no limit.
    pub max_connections: Option<usize>,
    /// SETTINGS_MAX_CONCURRENT_STREAMS for h2 visitors.
    pub h2_max_concurrent_streams: u32,
}

impl VisitorLimits {
    /// `profile`'s defaults.
    pub const fn of(profile: Profile) -> VisitorLimits {
        let (total, field) = match profile {
            Profile::Classic => (
                CLASSIC_REQUEST_HEADER_BYTES,
                CLASSIC_REQUEST_HEADER_FIELD_BYTES,
            ),
            Profile::Current => (CURRENT_REQUEST_HEADER_BYTES, CURRENT_REQUEST_HEADER_BYTES),
        };
        VisitorLimits {
            request_header_bytes: total,
            request_header_field_bytes: field,
            url_bytes: DEFAULT_URL_BYTES,
            request_body_bytes: DEFAULT_REQUEST_BODY_BYTES,
            client_header_timeout: DEFAULT_CLIENT_HEADER_TIMEOUT,
            max_connections: None,
            h2_max_concurrent_streams: DEFAULT_H2_MAX_CONCURRENT_STREAMS,
        }
    }
}

impl Default for VisitorLimits {
    fn default() -> Self {
        VisitorLimits::of(Profile::Classic)
    }
}

/// Bounds on the origin connection pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolLimits {
    /// Idle connections kept per origin.
    pub max_idle: usize,
    /// How long an idle connection is kept.
    pub idle_timeout: Duration,
}

impl Default for PoolLimits {
    fn default() -> Self {
        PoolLimits {
            max_idle: DEFAULT_MAX_IDLE,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}
