//! [`Report`]: what the store holds for one [`Query`], as `GET /analytics.json` serves it and
//! [`super::render_page`] draws it. Built by [`build`] from the store at a given instant, so the
//! same store and instant always give the same report. This module does not count requests.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::store::Store;
use super::tier::Tables;
use super::topk::{self, Merged, TopK};
use super::{Query, Range};
use crate::base::time::Rfc3339;

/// Error Analytics for one range (and optionally one status), serialized in snake_case.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The range covered: `5m`, `1h` or `24h`.
    pub range: Range,
    /// The fraction of requests sampled (1.0: all of them).
    pub sample: f64,
    /// When the report was made, RFC 3339 UTC.
    pub generated_at: String,
    /// The start of the oldest bucket, RFC 3339 UTC.
    pub from: String,
    /// The end of the newest bucket (the one holding `generated_at`), RFC 3339 UTC.
    pub to: String,
    /// [`Report::from`] as an instant, for placing other times on the chart (not serialized).
    #[serde(skip)]
    pub from_instant: SystemTime,
    /// [`Report::generated_at`] as an instant: where a band still open ends (not serialized).
    #[serde(skip)]
    pub generated_instant: SystemTime,
    /// The width of a bucket, in seconds.
    pub bucket_seconds: u64,
    /// Sampled requests in range.
    pub requests: u64,
    /// Sampled requests in range with status 400 and above.
    pub errors: u64,
    /// Every bucket in range, oldest first, empty ones included.
    pub series: Vec<SeriesPoint>,
    /// Every status seen in range, count descending then status ascending.
    pub statuses: Vec<StatusRow>,
    /// The status the query named, with its top tables; `None` when it named none.
    pub selected: Option<SelectedStatus>,
}

/// One bucket of the series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SeriesPoint {
    /// The bucket's start, RFC 3339 UTC.
    pub start: String,
    /// Sampled requests in the bucket.
    pub requests: u64,
    /// Of which status 400 and above.
    pub errors: u64,
    /// Requests per error status (400 and above; the chart's stacks), keyed by status.
    pub by_status: BTreeMap<u16, u64>,
}

/// One row of the table by status.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatusRow {
    /// The status the visitor got.
    pub status: u16,
    /// Cloudflare's title for it (`Connection timed out`), else its reason phrase.
    pub title: String,
    /// Sampled requests with this status in range.
    pub count: u64,
    /// `count` over all sampled requests in range, 0 to 1, to four decimals.
    pub share: f64,
}

/// The detail of the status the query named. The top tables add up whole slots (30 s, 5 min
/// or 1 h), so their oldest slot may reach up to one slot width before [`Report::from`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SelectedStatus {
    /// The status.
    pub status: u16,
    /// Sampled requests with this status in range (as in [`Report::statuses`]).
    pub count: u64,
    /// Top URLs (host and path, without query). Empty below 400: only errors get top tables.
    pub urls: Vec<TopEntry>,
    /// Top origin IPs (`none` when no origin address was tried).
    pub origin_ips: Vec<TopEntry>,
    /// Top data centres.
    pub colos: Vec<TopEntry>,
}

/// One row of a top table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TopEntry {
    /// The URL, origin IP or colo.
    pub value: String,
    /// How many sampled requests had it (space-saving: exact unless more than 20 distinct
    /// values came in one slot, then possibly over).
    pub count: u64,
    /// The newest ray IDs (full `cf-ray` values) that had it, newest first, at most 3.
    pub rays: Vec<String>,
}

impl From<Merged> for TopEntry {
    fn from(merged: Merged) -> TopEntry {
        TopEntry {
            value: merged.value,
            count: merged.count,
            rays: merged.rays,
        }
    }
}

/// The report for `query` from `store` as seen at `now` (an instant before 1970 is taken as
/// 1970-01-01T00:00:00Z).
pub(super) fn build(store: &Store, sample: f64, query: &Query, now: SystemTime) -> Report {
    let tier = store.tier(query.range);
    let spec = tier.spec;
    let now_secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let newest = now_secs / spec.bucket_secs;
    let oldest = newest.saturating_sub(spec.buckets as u64 - 1);

    let mut series = Vec::with_capacity(spec.buckets);
    let mut totals: BTreeMap<u16, u64> = BTreeMap::new();
    let (mut requests, mut errors) = (0, 0);
    for epoch in oldest..=newest {
        let mut point = SeriesPoint {
            start: timestamp(epoch * spec.bucket_secs),
            requests: 0,
            errors: 0,
            by_status: BTreeMap::new(),
        };
        if let Some(bucket) = tier.buckets.get(epoch) {
            point.requests = bucket.total;
            point.errors = bucket.errors();
            for &(status, count) in &bucket.by_status {
                *totals.entry(status).or_default() += count;
                if status >= 400 {
                    point.by_status.insert(status, count);
                }
            }
        }
        requests += point.requests;
        errors += point.errors;
        series.push(point);
    }

    let mut statuses: Vec<StatusRow> = totals
        .iter()
        .map(|(&status, &count)| StatusRow {
            status,
            title: super::status_name(status).into_owned(),
            count,
            share: share(count, requests),
        })
        .collect();
    // `totals` is sorted by status, and the sort is stable: equal counts stay status-ascending.
    statuses.sort_by_key(|row| Reverse(row.count));

    let selected = query.status.map(|status| {
        let newest_slot = now_secs / spec.slot_secs;
        let oldest_slot = newest_slot.saturating_sub(spec.slots as u64 - 1);
        // Newest slot first, so that rays with equal stamps keep their order.
        let tables: Vec<&Tables> = (oldest_slot..=newest_slot)
            .rev()
            .filter_map(|epoch| tier.slots.get(epoch))
            .filter_map(|slot| slot.tables(status))
            .collect();
        let top = |pick: fn(&Tables) -> &TopK| -> Vec<TopEntry> {
            topk::merge(tables.iter().map(|t| pick(t)))
                .into_iter()
                .map(TopEntry::from)
                .collect()
        };
        SelectedStatus {
            status,
            count: totals.get(&status).copied().unwrap_or(0),
            urls: top(|t| &t.urls),
            origin_ips: top(|t| &t.origin_ips),
            colos: top(|t| &t.colos),
        }
    });

    Report {
        range: query.range,
        sample,
        generated_at: Rfc3339(now).to_string(),
        from: timestamp(oldest * spec.bucket_secs),
        to: timestamp((newest + 1) * spec.bucket_secs),
        from_instant: instant(oldest * spec.bucket_secs),
        generated_instant: now.max(UNIX_EPOCH),
        bucket_seconds: spec.bucket_secs,
        requests,
        errors,
        series,
        statuses,
        selected,
    }
}

/// `secs` after the Unix epoch, RFC 3339 UTC (the epoch itself past what `SystemTime` holds,
/// which no real `now` comes near).
fn timestamp(secs: u64) -> String {
    Rfc3339(instant(secs)).to_string()
}

/// `secs` after the Unix epoch (the epoch itself past what `SystemTime` holds).
fn instant(secs: u64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .unwrap_or(UNIX_EPOCH)
}

/// `part / whole`, to four decimals (0 when `whole` is 0).
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    // Counts stay far below 2^53, where f64 is exact.
    (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
}
