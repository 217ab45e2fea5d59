//! `edgecase diagnose`: the support article's troubleshooting, run against a real origin.
//!
//! It walks the stages the edge walks for one request (DNS, TCP connect to each address, TLS
//! per the SSL mode, the HTTP request, a second request on the same connection), each timed,
//! stopping at the first failure, and says what a visitor would get and what to check. It
//! runs the proxy's own code for every stage ([`crate::origin::OriginClient`]'s phases, the
//! exchange and its classification, the body's read timeout, the Railgun and 502/504
//! mapping), so a diagnosis and a proxied request cannot disagree.
//!
//! - [`plan`]: the command line (and config file) settled into what to check;
//! - [`walk`]: the stages, run;
//! - [`report`]: the [`Diagnosis`] they fill in, which is also the JSON document;
//! - [`table`], [`bundle`]: the readable report, and the files for support;
//! - [`advice`]: what to check, per failure, from the article's resolution lists;
//! - [`request`], [`certificate`]: one diagnosed request, and the origin's certificate.

pub mod advice;
pub mod bundle;
pub mod certificate;
mod describe;
pub mod plan;
pub mod report;
pub mod request;
pub mod table;
pub mod walk;

pub use plan::{Args, Plan, PlanError};
pub use report::{Diagnosis, Outcome, StageName};
pub use walk::run;
