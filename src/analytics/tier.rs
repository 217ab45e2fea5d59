//! [`Tier`]: what analytics keeps for one [`Range`]: a ring of [`Bucket`]s (counts per status,
//! for the series and the status table) and a ring of coarser [`Slot`]s (top tables per error
//! status). [`TierSpec`] fixes their sizes. This module does not sample, and does not decide
//! which periods a report covers.

use super::Range;
use super::ring::Ring;
use super::topk::{RaySeen, TopK};

/// At most this many statuses get top tables in one slot; further ones are only counted.
pub(super) const MAX_TABLE_STATUSES: usize = 32;
/// Statuses a bucket can count: 100..=599.
pub(super) const STATUSES: usize = 500;

/// The sizes of one tier. Windows are whole: `buckets × bucket_secs = slots × slot_secs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct TierSpec {
    /// Width of a bucket, in seconds.
    pub(super) bucket_secs: u64,
    /// Buckets in the ring.
    pub(super) buckets: usize,
    /// Width of a top-table slot, in seconds (a multiple of `bucket_secs`).
    pub(super) slot_secs: u64,
    /// Slots in the ring.
    pub(super) slots: usize,
}

impl TierSpec {
    /// The sizes for `range`.
    pub(super) const fn of(range: Range) -> TierSpec {
        match range {
            Range::FiveMinutes => TierSpec {
                bucket_secs: 10,
                buckets: 30,
                slot_secs: 30,
                slots: 10,
            },
            Range::Hour => TierSpec {
                bucket_secs: 60,
                buckets: 60,
                slot_secs: 300,
                slots: 12,
            },
            Range::Day => TierSpec {
                bucket_secs: 900,
                buckets: 96,
                slot_secs: 3600,
                slots: 24,
            },
        }
    }

    /// The most counters and top-table entries this tier holds.
    pub(super) const fn max_entries(self) -> usize {
        self.buckets * STATUSES + self.slots * MAX_TABLE_STATUSES * 3 * super::topk::TRACKED
    }
}

/// The requests of one period: in total and per status.
#[derive(Clone, Debug, Default)]
pub(super) struct Bucket {
    /// Requests counted.
    pub(super) total: u64,
    /// Requests per status, sorted by status.
    pub(super) by_status: Vec<(u16, u64)>,
}

impl Bucket {
    fn add(&mut self, status: u16) {
        self.total += 1;
        match self.by_status.binary_search_by_key(&status, |&(s, _)| s) {
            Ok(found) => self.by_status[found].1 += 1,
            Err(at) => self.by_status.insert(at, (status, 1)),
        }
    }

    /// Requests with status 400 and above.
    pub(super) fn errors(&self) -> u64 {
        self.by_status
            .iter()
            .filter(|&&(status, _)| status >= 400)
            .map(|&(_, count)| count)
            .sum()
    }
}

/// The three top tables of one status.
#[derive(Clone, Debug, Default)]
pub(super) struct Tables {
    /// By host and path without query.
    pub(super) urls: TopK,
    /// By origin IP (`none` when none was tried).
    pub(super) origin_ips: TopK,
    /// By data centre.
    pub(super) colos: TopK,
}

/// The top tables of one period, per error status (at most [`MAX_TABLE_STATUSES`]).
#[derive(Clone, Debug, Default)]
pub(super) struct Slot {
    /// Sorted by status.
    pub(super) by_status: Vec<(u16, Tables)>,
}

impl Slot {
    /// The tables of `status`, if it has some here.
    pub(super) fn tables(&self, status: u16) -> Option<&Tables> {
        self.by_status
            .binary_search_by_key(&status, |(s, _)| *s)
            .ok()
            .map(|found| &self.by_status[found].1)
    }

    fn tables_mut(&mut self, status: u16) -> Option<&mut Tables> {
        let at = match self.by_status.binary_search_by_key(&status, |(s, _)| *s) {
            Ok(found) => found,
            Err(_) if self.by_status.len() >= MAX_TABLE_STATUSES => return None,
            Err(at) => {
                self.by_status.insert(at, (status, Tables::default()));
                at
            }
        };
        Some(&mut self.by_status[at].1)
    }

    fn entries(&self) -> usize {
        self.by_status
            .iter()
            .map(|(_, t)| t.urls.len() + t.origin_ips.len() + t.colos.len())
            .sum()
    }
}

/// What one error request adds to the top tables.
#[derive(Clone, Copy, Debug)]
pub(super) struct Detail<'a> {
    /// Host and path without query, at most 256 bytes.
    pub(super) url: &'a str,
    /// The origin IP as text, or `none`.
    pub(super) origin_ip: &'a str,
    /// The colo, at most 8 bytes.
    pub(super) colo: &'a str,
    /// The ray ID and arrival time.
    pub(super) ray: RaySeen,
}

/// One range's buckets and slots.
#[derive(Debug)]
pub(super) struct Tier {
    /// Its sizes.
    pub(super) spec: TierSpec,
    /// Counts per bucket.
    pub(super) buckets: Ring<Bucket>,
    /// Top tables per slot.
    pub(super) slots: Ring<Slot>,
}

impl Tier {
    /// Empty rings for `range`.
    pub(super) fn new(range: Range) -> Tier {
        let spec = TierSpec::of(range);
        Tier {
            spec,
            buckets: Ring::new(spec.buckets),
            slots: Ring::new(spec.slots),
        }
    }

    /// Counts a request with `status` that arrived `secs` after the Unix epoch, with its top
    /// table `detail` when it is an error. False when its bucket is no longer held.
    pub(super) fn record(&mut self, secs: u64, status: u16, detail: Option<&Detail<'_>>) -> bool {
        let Some(bucket) = self.buckets.slot_mut(secs / self.spec.bucket_secs) else {
            return false;
        };
        bucket.add(status);
        let Some(detail) = detail else {
            return true;
        };
        let tables = self
            .slots
            .slot_mut(secs / self.spec.slot_secs)
            .and_then(|slot| slot.tables_mut(status));
        if let Some(tables) = tables {
            tables.urls.add(detail.url, detail.ray);
            tables.origin_ips.add(detail.origin_ip, detail.ray);
            tables.colos.add(detail.colo, detail.ray);
        }
        true
    }

    /// Counters and top-table entries held, stale periods included (they still take memory).
    pub(super) fn stored_entries(&self) -> usize {
        let counters: usize = self.buckets.held().map(|b| b.by_status.len()).sum();
        let entries: usize = self.slots.held().map(Slot::entries).sum();
        counters + entries
    }
}
