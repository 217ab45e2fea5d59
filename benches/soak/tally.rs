//! [`Tally`]: what became of every request the load sent, counted as it happens, overall, per
//! route and per cause (edgecase's `cf-edgecase-cause` header). It does not decide what is a
//! failure of the soak; the report does.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

/// How one request ended, as the visitor saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// A complete response, head and whole body, with this status.
    Answered(u16),
    /// A response head with this status, then the body broke off: an abort the visitor saw.
    Cut(u16),
    /// The connection closed or reset before any response head: an abort the visitor saw.
    Aborted,
    /// The visitor gave up on purpose before the answer came (part of the traffic mix).
    GaveUp,
    /// The visitor could not connect to the edge at all.
    NoConnection,
    /// Neither an answer nor an abort within the guard timeout.
    Unanswered,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Answered(status) => write!(f, "{status}"),
            Outcome::Cut(status) => write!(f, "{status} cut"),
            Outcome::Aborted => f.write_str("aborted"),
            Outcome::GaveUp => f.write_str("gave up"),
            Outcome::NoConnection => f.write_str("no connection"),
            Outcome::Unanswered => f.write_str("unanswered"),
        }
    }
}

/// Counts of outcomes.
pub type Counts = BTreeMap<Outcome, u64>;

/// Every outcome so far; shared by the visitor tasks.
#[derive(Debug, Default)]
pub struct Tally {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    overall: Counts,
    by_route: BTreeMap<&'static str, Counts>,
    by_cause: BTreeMap<(u16, String), u64>,
}

impl Tally {
    /// Counts one request to `route` that ended in `outcome`; `cause` is the response's
    /// `cf-edgecase-cause`, when it had one.
    pub fn record(&self, route: &'static str, outcome: Outcome, cause: Option<String>) {
        let mut inner = self.lock();
        *inner.overall.entry(outcome).or_default() += 1;
        *inner
            .by_route
            .entry(route)
            .or_default()
            .entry(outcome)
            .or_default() += 1;
        if let (Outcome::Answered(status) | Outcome::Cut(status), Some(cause)) = (outcome, cause) {
            *inner.by_cause.entry((status, cause)).or_default() += 1;
        }
    }

    /// The overall counts so far.
    pub fn overall(&self) -> Counts {
        self.lock().overall.clone()
    }

    /// The counts so far for each route.
    pub fn by_route(&self) -> BTreeMap<&'static str, Counts> {
        self.lock().by_route.clone()
    }

    /// How many answers carried each (status, cause) pair.
    pub fn by_cause(&self) -> BTreeMap<(u16, String), u64> {
        self.lock().by_cause.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means a visitor task panicked mid-count; the counts stay usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The number of requests in `counts`.
pub fn total(counts: &Counts) -> u64 {
    counts.values().sum()
}
