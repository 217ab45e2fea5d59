//! Faults on demand: rules that make a request fail the way a real fault would, without
//! breaking the origin. A rule ([`FaultSpec`], from `[[fault]]`, the control API or the
//! library; config's data, checked into a [`Fault`] there and re-exported here) either emulates an outcome (`status`, `edge`: the same failure value the real
//! fault produces, so the same page and log line), or acts on the real origin link (`latency`,
//! `refuse`, `reset_after_bytes`...: the real classification then decides). [`FaultRules`]
//! holds the live rules, Toxiproxy's toxics, and the seeded RNG behind `percent`.
//! [`header`] reads the `cf-edgecase-fault` request header.

pub mod action;
pub mod header;
pub mod rng;
pub mod rules;
pub mod toxics;

pub use crate::config::fault::{
    Action, Fault, FaultSpec, HeaderMatch, LinkFaults, Matcher, SpecProblem,
};
pub use action::{RequestFacts, applies};
pub use rules::{Decision, FaultRules, FaultView, ToxicError};
