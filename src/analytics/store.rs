//! [`Store`]: the three [`Tier`]s every sampled request is counted in, and [`Record`], what is
//! kept of a request (built before the lock is taken). This module does not sample.

use std::time::Duration;

use super::tier::{Detail, Tier, TierSpec};
use super::topk::{RaySeen, cut};
use super::{Observation, Range};

/// The most counters and top-table entries a [`Store`] holds.
pub(super) const MAX_STORED_ENTRIES: usize = TierSpec::of(Range::FiveMinutes).max_entries()
    + TierSpec::of(Range::Hour).max_entries()
    + TierSpec::of(Range::Day).max_entries();

/// Bytes kept of a URL (host and path without query).
pub(super) const URL_BYTES: usize = 256;
/// Bytes kept of a colo code (they are three letters).
const COLO_BYTES: usize = 8;
/// The origin IP value when no origin address was tried.
pub(super) const NO_ORIGIN_IP: &str = "none";

/// One sampled request, ready to count.
#[derive(Debug)]
pub(super) struct Record<'a> {
    /// Whole seconds since the Unix epoch of its arrival.
    secs: u64,
    status: u16,
    /// Top-table values, for errors only.
    detail: Option<OwnedDetail<'a>>,
}

#[derive(Debug)]
struct OwnedDetail<'a> {
    url: String,
    origin_ip: String,
    colo: &'a str,
    ray: RaySeen,
}

impl<'a> Record<'a> {
    /// What is kept of `obs`, which arrived `since_epoch` after the Unix epoch.
    pub(super) fn new(obs: &Observation<'a>, since_epoch: Duration) -> Record<'a> {
        let detail = (obs.status >= 400).then(|| {
            let path = obs.path.split_once('?').map_or(obs.path, |(path, _)| path);
            let mut url = String::with_capacity(obs.host.len() + path.len());
            url.push_str(obs.host);
            url.push_str(path);
            let url = cut(&url, URL_BYTES).to_owned();
            let origin_ip = match obs.origin_ip {
                Some(ip) => ip.to_string(),
                None => NO_ORIGIN_IP.to_owned(),
            };
            let stamp = u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX);
            OwnedDetail {
                url,
                origin_ip,
                colo: cut(obs.colo, COLO_BYTES),
                ray: RaySeen::new(obs.ray, stamp),
            }
        });
        Record {
            secs: since_epoch.as_secs(),
            status: obs.status,
            detail,
        }
    }
}

/// The tiers, indexed like [`Range::ALL`].
#[derive(Debug)]
pub(super) struct Store {
    tiers: [Tier; 3],
}

impl Store {
    /// Empty tiers.
    pub(super) fn new() -> Store {
        Store {
            tiers: Range::ALL.map(Tier::new),
        }
    }

    /// The tier for `range`.
    pub(super) fn tier(&self, range: Range) -> &Tier {
        match range {
            Range::FiveMinutes => &self.tiers[0],
            Range::Hour => &self.tiers[1],
            Range::Day => &self.tiers[2],
        }
    }

    /// Counts `record` in every tier whose ring still holds its period; false when none does.
    pub(super) fn record(&mut self, record: &Record<'_>) -> bool {
        let detail = record.detail.as_ref().map(|d| Detail {
            url: &d.url,
            origin_ip: &d.origin_ip,
            colo: d.colo,
            ray: d.ray,
        });
        let mut counted = false;
        for tier in &mut self.tiers {
            counted |= tier.record(record.secs, record.status, detail.as_ref());
        }
        counted
    }

    /// Counters and top-table entries held over all tiers.
    pub(super) fn stored_entries(&self) -> usize {
        self.tiers.iter().map(Tier::stored_entries).sum()
    }
}
