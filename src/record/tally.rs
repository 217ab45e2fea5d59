//! [`PhaseTally`]: what one phase of a scenario served, counted as its requests finish: how
//! many, by status and by cause, how long they took (p50 to max), the most held at once, the
//! bytes, and a per-second count by status for the report's chart. A request carries its
//! phase's [`ScenarioTag`] from arrival, so a request held across a boundary is counted in
//! the phase that decided its fault.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::record::finished::Finished;

/// The scenario and phase a request arrived in, and where its outcome is counted.
#[derive(Debug)]
pub struct ScenarioTag {
    /// The scenario's name.
    pub scenario: Arc<str>,
    /// The phase's name.
    pub phase: Arc<str>,
    /// The phase's counts.
    pub tally: PhaseTally,
}

/// The requests of one run still in flight, shared by the run's phases.
#[derive(Debug, Default)]
pub struct InFlight(AtomicU64);

impl InFlight {
    /// How many are in flight now.
    pub fn now(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// One phase's counts, updated by each of its requests on arrival and when it finishes.
#[derive(Debug)]
pub struct PhaseTally {
    run_started: SystemTime,
    in_flight: Arc<InFlight>,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    requests: u64,
    statuses: BTreeMap<u16, u64>,
    causes: BTreeMap<&'static str, u64>,
    times: Histogram,
    max_in_flight: u64,
    bytes: u64,
    per_second: BTreeMap<u64, BTreeMap<u16, u64>>,
}

/// A phase's counts at one moment, as the report shows them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TallySnapshot {
    /// Requests that arrived in the phase and have finished.
    pub requests: u64,
    /// Those requests by the status the visitor got.
    pub statuses: BTreeMap<u16, u64>,
    /// Those requests by cause (why edgecase answered, or how the response broke off).
    pub causes: BTreeMap<&'static str, u64>,
    /// p50, p95, p99 and max of their total time, arrival to the end of the response.
    pub time: Percentiles,
    /// The most requests of the run in flight at once while the phase ran.
    pub max_in_flight: u64,
    /// Response body bytes sent to the visitors.
    pub bytes: u64,
    /// Requests by the second of the run they arrived in, then by status.
    pub per_second: BTreeMap<u64, BTreeMap<u16, u64>>,
}

/// Percentiles of a set of durations; all zero for an empty set.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    /// The median.
    pub p50: Duration,
    /// The 95th percentile.
    pub p95: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The longest.
    pub max: Duration,
}

impl PhaseTally {
    /// A tally for a phase of the run that started at `run_started`, with `in_flight` the
    /// run's requests in flight (those of earlier phases still held count toward the most at
    /// once).
    pub fn new(run_started: SystemTime, in_flight: Arc<InFlight>) -> Self {
        let counts = Counts {
            max_in_flight: in_flight.now(),
            ..Counts::default()
        };
        PhaseTally {
            run_started,
            in_flight,
            counts: Mutex::new(counts),
        }
    }

    /// A request arrived in this phase; it is counted when [`PhaseTally::finished`] says so.
    pub fn arrived(&self) {
        let now = self.in_flight.0.fetch_add(1, Ordering::AcqRel) + 1;
        let mut counts = self.lock();
        counts.max_in_flight = counts.max_in_flight.max(now);
    }

    /// The request that arrived in this phase is over.
    pub fn finished(&self, finished: &Finished) {
        let _ = self
            .in_flight
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        let second = finished
            .at
            .duration_since(self.run_started)
            .unwrap_or_default()
            .as_secs();
        let mut counts = self.lock();
        counts.requests += 1;
        *counts.statuses.entry(finished.status).or_default() += 1;
        if let Some(cause) = finished.outcome() {
            *counts.causes.entry(cause).or_default() += 1;
        }
        counts.times.record(finished.total);
        counts.bytes += finished.response_bytes;
        let bucket = counts.per_second.entry(second).or_default();
        *bucket.entry(finished.status).or_default() += 1;
    }

    /// The counts so far.
    pub fn snapshot(&self) -> TallySnapshot {
        let counts = self.lock();
        TallySnapshot {
            requests: counts.requests,
            statuses: counts.statuses.clone(),
            causes: counts.causes.clone(),
            time: counts.times.percentiles(),
            max_in_flight: counts.max_in_flight,
            bytes: counts.bytes,
            per_second: counts.per_second.clone(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        // Each update is a few additions: a panic cannot leave them half done.
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Bits of the value kept exactly: 64 sub-buckets per power of two, so a percentile is
/// within 1/64 (1.6%) of the true value while a phase of any length costs a few KiB.
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;

/// Durations in microseconds, in log-linear buckets.
#[derive(Debug, Default)]
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    max: Duration,
}

impl Histogram {
    fn record(&mut self, value: Duration) {
        let micros = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
        let index = bucket_of(micros);
        if self.buckets.len() <= index {
            self.buckets.resize(index + 1, 0);
        }
        self.buckets[index] += 1;
        self.count += 1;
        self.max = self.max.max(value);
    }

    fn percentiles(&self) -> Percentiles {
        Percentiles {
            p50: self.quantile(0.50),
            p95: self.quantile(0.95),
            p99: self.quantile(0.99),
            max: self.max,
        }
    }

    /// The nearest-rank quantile `q`: the middle of the bucket holding that rank, never more
    /// than the largest value seen.
    fn quantile(&self, q: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        // ceil(q * n), at least 1: the rank of the value at quantile q.
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (index, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (low, high) = bounds_of(index);
                let middle = Duration::from_micros(low + (high - low) / 2);
                return middle.min(self.max);
            }
        }
        self.max
    }
}

/// Values below 2·SUB have a bucket each; above, each power of two splits into SUB buckets.
fn bucket_of(micros: u64) -> usize {
    if micros < 2 * SUB {
        return micros as usize;
    }
    let shift = 63 - micros.leading_zeros() - SUB_BITS;
    (u64::from(shift) * SUB + (micros >> shift)) as usize
}

/// The values bucket `index` holds: `low..high`.
fn bounds_of(index: usize) -> (u64, u64) {
    let index = index as u64;
    if index < 2 * SUB {
        return (index, index + 1);
    }
    let shift = index / SUB - 1;
    let mantissa = index % SUB + SUB;
    (mantissa << shift, (mantissa + 1) << shift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::finished::tests::finished;

    #[test]
    fn buckets_cover_every_value_once_in_order() {
        let mut last = 0;
        for micros in (0..5000).chain([1 << 20, (1 << 20) + 1, u64::MAX / 2, u64::MAX]) {
            let index = bucket_of(micros);
            let (low, high) = bounds_of(index);
            assert!(
                low <= micros && (micros < high || high < low),
                "{micros} in {index}"
            );
            assert!(index >= last);
            last = index;
        }
    }

    #[test]
    fn percentiles_are_within_the_bucket_error() {
        let mut histogram = Histogram::default();
        for ms in 1..=1000 {
            histogram.record(Duration::from_millis(ms));
        }
        let p = histogram.percentiles();
        for (got, want) in [(p.p50, 500.0), (p.p95, 950.0), (p.p99, 990.0)] {
            let got = got.as_secs_f64() * 1000.0;
            assert!((got - want).abs() / want < 0.02, "{got} vs {want}");
        }
        assert_eq!(p.max, Duration::from_millis(1000));
        assert_eq!(Histogram::default().percentiles(), Percentiles::default());
    }

    #[test]
    fn a_tally_counts_what_finished_and_the_most_held() {
        let in_flight = Arc::new(InFlight::default());
        let first = finished(1, 200);
        let tally = PhaseTally::new(first.at - Duration::from_millis(1500), in_flight.clone());
        tally.arrived();
        tally.arrived();
        let mut failed = finished(2, 524);
        failed.cause = Some("read_timeout");
        failed.response_bytes = 10;
        tally.finished(&first);
        tally.finished(&failed);
        let later = PhaseTally::new(first.at, in_flight.clone());
        assert_eq!(in_flight.now(), 0);
        let seen = tally.snapshot();
        assert_eq!(seen.requests, 2);
        assert_eq!(seen.statuses, BTreeMap::from([(200, 1), (524, 1)]));
        assert_eq!(seen.causes, BTreeMap::from([("read_timeout", 1)]));
        assert_eq!(seen.max_in_flight, 2);
        assert_eq!(seen.bytes, 10);
        assert_eq!(seen.per_second[&1], BTreeMap::from([(200, 1), (524, 1)]));
        assert_eq!(later.snapshot().max_in_flight, 0);
    }
}
