//! Faults on demand: rules that make a request fail the way a real fault would, without
//! breaking the origin. A rule ([`FaultSpec`], from `[[fault]]`, the control API or the
//! library) either emulates an outcome (`status`, `edge`: the same failure value the real
//! fault produces, so the same page and log line), or acts on the real origin link (`latency`,
//! `refuse`, `reset_after_bytes`...: the real classification then decides). [`FaultRules`]
//! holds the live rules, Toxiproxy's toxics, and the seeded RNG behind `percent`.
//! [`header`] reads the `cf-edgecase-fault` request header.

pub mod action;
pub mod header;
pub mod rng;
pub mod rules;
pub mod spec;
pub mod toxics;

pub use action::{Action, Fault, LinkFaults, RequestFacts};
pub use rules::{Decision, FaultRules, FaultView, ToxicError};
pub use spec::{FaultSpec, HeaderMatch, SpecProblem};
