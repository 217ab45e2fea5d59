//! Routing: which origin and timeouts one request gets. This module owns the matching rule
//! (first match wins, exact host, path by prefix, both in their normal form); routes are read
//! from `[[route]]` by `validate`, and requests are normalized by [`crate::normalize`].

use super::{Config, OriginAddress, OriginTimeouts, PartialTimeouts, SslMode};
use crate::normalize::Normalized;

/// One `[[route]]`: requests it matches go to its origin, with its timeouts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route {
    /// Matches this Host only: a lowercase name (no trailing dot), an IPv4 literal or a
    /// bracketed IPv6 literal. `None` matches every host.
    pub host: Option<String>,
    /// Matches normalized paths starting with this (always begins with `/`). `None` matches
    /// every path.
    pub path_prefix: Option<String>,
    /// Replaces [`OriginConfig::address`](super::OriginConfig::address); `None` keeps it.
    /// A route with its own origin does not inherit `[origin]`'s `sni` and `tls_port`.
    pub origin: Option<OriginAddress>,
    /// Replaces [`OriginConfig::ssl`](super::OriginConfig::ssl).
    pub ssl: Option<SslMode>,
    /// Replaces [`OriginConfig::sni`](super::OriginConfig::sni).
    pub sni: Option<String>,
    /// Replaces [`OriginConfig::tls_port`](super::OriginConfig::tls_port).
    pub tls_port: Option<u16>,
    /// Replaces some of [`Config::timeouts`].
    pub timeouts: PartialTimeouts,
}

impl Route {
    /// Whether a request, by its normalized host and path, falls under this route.
    pub fn matches(&self, request: &Normalized<'_>) -> bool {
        self.host.as_deref().is_none_or(|want| want == request.host)
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|prefix| request.path.starts_with(prefix))
    }
}

/// Where one request goes: the chosen route's origin and timeouts merged over the globals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target<'a> {
    /// The index in [`Config::routes`] of the route that matched; `None` for the `[origin]`
    /// defaults.
    pub route: Option<usize>,
    /// The origin to connect to.
    pub address: &'a OriginAddress,
    /// How to talk to it.
    pub ssl: SslMode,
    /// The SNI and name to check, when set; else the visitor's Host.
    pub sni: Option<&'a str>,
    /// The port for TLS to the origin, when it differs from `address`'s.
    pub tls_port: Option<u16>,
    /// The timeouts for this request.
    pub timeouts: OriginTimeouts,
}

impl Config {
    /// Where a request goes: the first route whose host (if set) equals the request's and
    /// whose path_prefix (if set) starts its path, both as Cloudflare's rules see them
    /// ([`Normalized`]: `/public/../admin/x` is under `/admin/`); else the `[origin]` defaults.
    /// Route timeouts are merged over [`Config::timeouts`] at each call, so changes to the
    /// fields show at once. Allocates nothing.
    pub fn target(&self, request: &Normalized<'_>) -> Target<'_> {
        let matched = self
            .routes
            .iter()
            .enumerate()
            .find(|(_, route)| route.matches(request));
        match matched {
            Some((index, route)) => self.route_target(index, route),
            None => self.origin_target(),
        }
    }

    /// Every place requests can go: `[origin]`'s defaults, then each route's.
    pub fn named_targets(&self) -> Vec<Target<'_>> {
        let routes = self.routes.iter().enumerate();
        std::iter::once(self.origin_target())
            .chain(routes.map(|(index, route)| self.route_target(index, route)))
            .collect()
    }

    /// Where requests that match no route go.
    pub fn origin_target(&self) -> Target<'_> {
        let origin = &self.origin;
        Target {
            route: None,
            address: &origin.address,
            ssl: origin.ssl,
            sni: origin.sni.as_deref(),
            tls_port: origin.tls_port,
            timeouts: self.timeouts,
        }
    }

    /// Where requests matching `route` (at `index` in [`Config::routes`]) go.
    fn route_target<'a>(&'a self, index: usize, route: &'a Route) -> Target<'a> {
        let origin = &self.origin;
        // `[origin]`'s sni and tls_port describe `[origin]`'s address only.
        let (sni, tls_port) = match route.origin {
            Some(_) => (None, None),
            None => (origin.sni.as_deref(), origin.tls_port),
        };
        Target {
            route: Some(index),
            address: route.origin.as_ref().unwrap_or(&origin.address),
            ssl: route.ssl.unwrap_or(origin.ssl),
            sni: route.sni.as_deref().or(sni),
            tls_port: route.tls_port.or(tls_port),
            timeouts: route.timeouts.over(self.timeouts),
        }
    }
}
