//! Error Analytics in the spirit of Cloudflare's (support portal): errors over time, a table by
//! status code, and for one status the top URLs, origin IPs and data centres, each with the
//! newest ray IDs. [`Analytics`] keeps a sample of the finished requests in memory;
//! [`Analytics::report`] reads it back as a [`Report`] (`GET /analytics.json`) and
//! [`render_page`] draws that as a self-contained HTML page (`GET /analytics`), or
//! [`render_page_with`] with a running scenario's phases ([`PhaseBand`]) as bands on its chart.
//! Serving them is the admin listener's job, deciding what a request's status was is the
//! edge's, and knowing the scenarios is [`crate::scenario`]'s: this module only counts.
//!
//! Like Cloudflare's (which samples about 1% of traffic), it keeps a deterministic sample: a
//! request is kept when a mix of its ray's numeric id falls under `sample × 2^64` (`sample`).
//!
//! # Bounded memory
//!
//! Nothing here grows with traffic. Three tiers, one per [`Range`], each hold a ring of time
//! buckets and a ring of coarser slots (`tier`, `store`):
//!
//! | range | buckets       | slots (top tables) |
//! |-------|---------------|--------------------|
//! | 5m    | 30 × 10 s     | 10 × 30 s          |
//! | 1h    | 60 × 1 min    | 12 × 5 min         |
//! | 24h   | 96 × 15 min   | 24 × 1 h           |
//!
//! - A bucket holds one 16-byte counter per status seen (statuses 100-599 only): at most
//!   186 buckets × 500 statuses = 93,000 counters, 1.5 MB.
//! - A slot holds top tables for at most 32 error statuses (400 and above), three tables each
//!   (URL, origin IP, colo) of at most 20 entries (`topk`): at most 46 slots × 32 × 3 × 20 =
//!   88,320 entries of 152 bytes each (value pointer, count, three 40-byte rays), 13.4 MB,
//!   plus the values themselves: 29,440 URLs of at most 256 bytes (7.5 MB), as many origin
//!   IPs of at most 39 (1.2 MB) and colos of at most 8 (0.2 MB).
//!
//! The worst case is therefore about 24 MB (plus allocator overhead), reached only when every
//! slot sees 32 distinct error statuses each with 20 distinct long URLs and origin IPs; a
//! handful of statuses takes a few hundred kilobytes. [`Analytics::stored_entries`] counts
//! counters and entries: at most [`MAX_STORED_ENTRIES`] (181,320).

pub(crate) mod page;
pub(crate) mod palette;
mod query;
mod report;
mod ring;
mod sample;
mod store;
pub(crate) mod svg;
mod tier;
mod topk;

pub use page::{render_page, render_page_with};
pub use query::{Query, Range};
pub use report::{Report, SelectedStatus, SeriesPoint, StatusRow, TopEntry};

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use sample::Sampler;
use store::{Record, Store};

/// The name a status is shown with on the Error Analytics page and in its JSON: the error page
/// title ([`crate::pages::title`]: Cloudflare's for 5xx, the reason phrase for the 4xx the edge
/// makes), or for the two statuses edgecase answers without a page title of their own, 499 (the
/// visitor closed the connection first, nginx's and Cloudflare's log code) and 530, which is
/// always shown with a 1xxx error. Analytics counts statuses, not 1xxx codes, so 530 is named
/// after the code edgecase sends with it unless a fault rule picks another: 1016.
pub(crate) fn status_name(status: u16) -> Cow<'static, str> {
    match status {
        499 => Cow::Borrowed("Client Closed Request"),
        530 => Cow::Owned(format!(
            "{} (1016) or another 1xxx error",
            crate::pages::numbered_title(1016)
        )),
        _ => Cow::Borrowed(crate::pages::title(status)),
    }
}

/// A phase of a scenario's timeline, drawn as a labelled band behind the "Errors over time"
/// chart. Plain data: whoever runs scenarios hands these over; this module does not know them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseBand {
    /// The scenario's name.
    pub scenario: String,
    /// The phase's name: the band's label.
    pub phase: String,
    /// When the phase started.
    pub started: SystemTime,
    /// When it ended; `None` for the phase in force (the band reaches the report's instant).
    pub ended: Option<SystemTime>,
}

/// The most counters and top-table entries an [`Analytics`] ever holds, whatever the traffic:
/// see the module documentation.
pub const MAX_STORED_ENTRIES: usize = store::MAX_STORED_ENTRIES;

/// One finished request, as analytics sees it.
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    /// When the request arrived.
    pub at: SystemTime,
    /// What the visitor got (e.g. 522).
    pub status: u16,
    /// The origin's own status, if it answered (not stored: the tables are by edge status).
    pub origin_status: Option<u16>,
    /// The Host asked for, without port: `site.test`.
    pub host: &'a str,
    /// The path and query, `/a/b?q=1` (URLs are grouped without the query).
    pub path: &'a str,
    /// The origin address connected to or tried, if any.
    pub origin_ip: Option<IpAddr>,
    /// The data centre (colo) code, `CDG`.
    pub colo: &'a str,
    /// The full `cf-ray` value, `8f3a…-CDG`.
    pub ray: &'a str,
    /// The ray's numeric id: sampling decides on this.
    pub key: u64,
    /// Why edgecase answered instead of the origin, `connect_timeout` (not stored).
    pub cause: Option<&'a str>,
}

/// The sampled requests of the last 24 hours, in fixed-size buckets and top-k tables. Shared
/// between request handlers: every call takes one short lock.
pub struct Analytics {
    sampler: Sampler,
    store: Mutex<Store>,
}

impl Analytics {
    /// An empty store keeping the fraction `sample` of requests (`0 < sample <= 1`; a larger
    /// value keeps every request, and zero, a negative value or NaN keep as good as none).
    pub fn new(sample: f64) -> Self {
        Analytics {
            sampler: Sampler::new(sample),
            store: Mutex::new(Store::new()),
        }
    }

    /// The fraction of requests kept, after clamping.
    pub fn sample(&self) -> f64 {
        self.sampler.rate()
    }

    /// Whether the sampler keeps the request with ray number `key` (so a caller can skip
    /// building an [`Observation`] that would not be counted).
    pub fn keeps(&self, key: u64) -> bool {
        self.sampler.keeps(key)
    }

    /// Counts `obs` if the sampler keeps it, in each tier's bucket for its arrival time. False
    /// when it is not sampled, when its status is outside 100-599, when it arrived before 1970,
    /// or when every tier's ring already holds a later period where it would go (it is older
    /// than the ring remembers). A time far from now is otherwise stored where it says and only
    /// shows in reports whose range covers it.
    pub fn record(&self, obs: &Observation<'_>) -> bool {
        if !self.sampler.keeps(obs.key) || !(100..=599).contains(&obs.status) {
            return false;
        }
        let Ok(since_epoch) = obs.at.duration_since(UNIX_EPOCH) else {
            return false;
        };
        // Strings are built before the lock is taken, so the lock is held for counting only.
        let record = Record::new(obs, since_epoch);
        self.lock().record(&record)
    }

    /// What the store holds for `query`, as seen at `now`.
    pub fn report(&self, query: &Query, now: SystemTime) -> Report {
        let store = self.lock();
        report::build(&store, self.sample(), query, now)
    }

    /// How many per-status counters and top-table entries are held (at most
    /// [`MAX_STORED_ENTRIES`]).
    pub fn stored_entries(&self) -> usize {
        self.lock().stored_entries()
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        // Counting never leaves the store half-updated in a way that matters: a panic elsewhere
        // while holding the lock must not take analytics down with it.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Analytics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Analytics")
            .field("sample", &self.sample())
            .field("stored_entries", &self.stored_entries())
            .finish()
    }
}

#[cfg(test)]
pub(crate) mod tests;
