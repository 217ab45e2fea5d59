//! edgecase: a reverse proxy that fails exactly like Cloudflare's edge.
//!
//! How a request flows:
//!
//! 1. [`edge::listener`] accepts the visitor (HTTP/1.1 or h2c) and hands each request to
//!    [`edge::service`], which gives it a [`ray::RayId`].
//! 2. The path and host are normalized as Cloudflare's rules see them ([`normalize`]).
//!    `/cdn-cgi/trace` is answered at the edge by [`trace`]. Anything else is matched to a
//!    route ([`config::Config::target`]) and fault rules ([`emulation`]), and rewritten for
//!    the origin by [`edge::forward`], which sends the path as the visitor sent it.
//! 3. [`origin::OriginClient`] resolves, connects, pools and exchanges with the origin, each
//!    phase under its own timeout ([`config::OriginTimeouts`]), and classifies whatever goes
//!    wrong into one [`failure::OriginFailure`] where it happens.
//! 4. A response streams back to the visitor; a failure becomes Cloudflare's status and page
//!    ([`pages`]), whose head (like every edge-made one) [`edge::header_order`] puts in
//!    Cloudflare's wire order. Either way, when the response is over, [`edge::access_log`]
//!    makes one [`record::finished::Finished`] record of it, which [`observe`] hands to the
//!    access log, the metrics, Error Analytics ([`analytics`]), HAR capture ([`capture`]) and
//!    the ring of recent requests the control API ([`admin`]) reads.

pub mod admin;
pub mod analytics;
pub mod base;
pub mod capture;
pub mod config;
pub mod demo;
pub mod diagnose;
pub mod edge;
mod embed;
pub mod emulation;
pub mod failure;
pub mod normalize;
pub mod observe;
pub mod origin;
pub mod pages;
pub mod ray;
pub mod record;
pub mod scenario;
pub mod tls;
pub mod trace;

pub use config::{PhaseSpec, ScenarioSpec, ScenarioStart};
pub use embed::{Controls, EdgeBuilder, EdgeHandle, FaultError, StartError};
pub use emulation::{FaultSpec, FaultView};
pub use observe::recent::RequestRecord;
pub use scenario::report::ScenarioReport;
pub use scenario::{ScenarioError, ScenarioView};
