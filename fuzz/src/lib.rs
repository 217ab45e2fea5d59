//! What edgecase's fuzz targets share: one current-thread runtime and a hang deadline
//! ([`rig`]), origins the edge forwards to ([`origins`]), raw-socket visitors ([`visitor`]),
//! a reader that judges the HTTP/1.1 bytes a visitor got ([`reply`]), and running counts of
//! outcomes printed while a target runs ([`tally`]).
//!
//! The targets themselves live in `fuzz_targets/`; this crate holds no target and never
//! touches edgecase's internals, only its public API.

pub mod origins;
pub mod reply;
pub mod rig;
pub mod tally;
pub mod visitor;
