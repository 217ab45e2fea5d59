//! Checking the visitor-side `[limits]` keys and the pool's `[origin] max_idle` and
//! `idle_timeout`. Sizes are whole bytes within a range that catches unit slips; defaults come
//! from the profile.

use super::super::raw::{RawLimits, RawOrigin};
use super::super::{PoolLimits, Profile, VisitorLimits};
use super::{Check, PHASE_LIMIT};

/// The largest request head or header line accepted: 1 MiB (eight times Cloudflare's largest).
const MAX_HEADER_BYTES: i64 = 1024 * 1024;
/// The smallest: 256 bytes, below which few real request heads fit.
const MIN_HEADER_BYTES: i64 = 256;
/// The longest URL limit accepted: 1 MiB.
const MAX_URL_BYTES: i64 = 1024 * 1024;
/// The largest body limit accepted: 100 GiB.
const MAX_BODY_BYTES: i64 = 100 * 1024 * 1024 * 1024;
/// Most concurrent h2 streams accepted.
const MAX_STREAMS: i64 = 65_536;
/// Most idle connections per origin accepted.
const MAX_IDLE: i64 = 65_536;

impl Check {
    /// A whole number in `min..=max`, or a problem naming `key`.
    fn whole(&mut self, key: &str, value: Option<i64>, min: i64, max: i64) -> Option<i64> {
        let value = value?;
        let fits = (min..=max)
            .contains(&value)
            .then_some(value)
            .ok_or_else(|| format!("{value} is not between {min} and {max}"));
        self.some(key, fits)
    }

    /// The visitor-side keys of `[limits]`, over `profile`'s defaults.
    pub(super) fn visitor(&mut self, raw: &RawLimits, profile: Profile) -> VisitorLimits {
        let defaults = VisitorLimits::of(profile);
        let size = |n: i64| usize::try_from(n).unwrap_or(usize::MAX);
        let total = self.whole(
            "limits.request_header_bytes",
            raw.request_header_bytes,
            MIN_HEADER_BYTES,
            MAX_HEADER_BYTES,
        );
        let field = self.whole(
            "limits.request_header_field_bytes",
            raw.request_header_field_bytes,
            MIN_HEADER_BYTES,
            MAX_HEADER_BYTES,
        );
        let url = self.whole("limits.url_bytes", raw.url_bytes, 1, MAX_URL_BYTES);
        let body = self.whole(
            "limits.request_body_bytes",
            raw.request_body_bytes,
            0,
            MAX_BODY_BYTES,
        );
        let header_timeout = raw
            .client_header_timeout
            .as_ref()
            .and_then(|raw| self.duration("limits.client_header_timeout", raw, &PHASE_LIMIT));
        let connections = self.whole(
            "limits.max_connections",
            raw.max_connections,
            1,
            i64::from(u32::MAX),
        );
        let streams = self.whole(
            "limits.h2_max_concurrent_streams",
            raw.h2_max_concurrent_streams,
            1,
            MAX_STREAMS,
        );
        VisitorLimits {
            request_header_bytes: total.map_or(defaults.request_header_bytes, size),
            request_header_field_bytes: field.map_or(defaults.request_header_field_bytes, size),
            url_bytes: url.map_or(defaults.url_bytes, size),
            request_body_bytes: body.map_or(defaults.request_body_bytes, |b| b as u64),
            client_header_timeout: header_timeout.unwrap_or(defaults.client_header_timeout),
            max_connections: connections.map(size),
            h2_max_concurrent_streams: streams
                .map_or(defaults.h2_max_concurrent_streams, |s| s as u32),
        }
    }

    /// `[origin] max_idle` and `idle_timeout`.
    pub(super) fn pool(&mut self, raw: &RawOrigin) -> PoolLimits {
        let defaults = PoolLimits::default();
        let max_idle = self.whole("origin.max_idle", raw.max_idle, 0, MAX_IDLE);
        let idle_timeout = raw
            .idle_timeout
            .as_ref()
            .and_then(|raw| self.duration("origin.idle_timeout", raw, &PHASE_LIMIT));
        PoolLimits {
            max_idle: max_idle.map_or(defaults.max_idle, |n| n as usize),
            idle_timeout: idle_timeout.unwrap_or(defaults.idle_timeout),
        }
    }
}
