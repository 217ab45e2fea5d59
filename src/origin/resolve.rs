//! [`Resolver`]: turns the origin's `host:port` into socket addresses, static map first.
//!
//! Literal IPs need no lookup. Names are looked up in `[dns] hosts`, then (unless
//! `[dns] system = false`) through the system resolver, at each new connection, as Cloudflare
//! re-resolves the origin's DNS record. Any failure is a 530 with error 1016.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::config::{DnsConfig, OriginAddress};
use crate::failure::{DnsCause, DnsFailure, OriginFailure};

/// Where a resolution's answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The host is an IP literal: no lookup.
    Literal,
    /// `[dns] hosts`.
    Static,
    /// The system resolver.
    System,
}

impl Source {
    /// `literal`, `static`, `system`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Literal => "literal",
            Source::Static => "static",
            Source::System => "system",
        }
    }
}

/// Resolves origin names, static answers first.
#[derive(Debug, Clone)]
pub struct Resolver {
    system: bool,
    hosts: HashMap<String, Vec<IpAddr>>,
}

impl Resolver {
    /// A resolver answering from `dns.hosts`, then the system resolver if `dns.system`.
    pub fn new(dns: &DnsConfig) -> Self {
        Resolver {
            system: dns.system,
            hosts: dns.hosts.clone(),
        }
    }

    /// Every address `address` resolves to, in the resolver's order.
    ///
    /// A system lookup that takes longer than `limit` fails with [`DnsCause::Timeout`].
    pub async fn resolve(
        &self,
        address: &OriginAddress,
        limit: Duration,
    ) -> Result<Vec<SocketAddr>, OriginFailure> {
        self.resolve_from(address, limit)
            .await
            .map(|(addrs, _source)| addrs)
    }

    /// As [`Resolver::resolve`], also telling where the answer came from.
    pub async fn resolve_from(
        &self,
        address: &OriginAddress,
        limit: Duration,
    ) -> Result<(Vec<SocketAddr>, Source), OriginFailure> {
        let port = address.port;
        if let Some(ip) = address.ip() {
            return Ok((vec![SocketAddr::new(ip, port)], Source::Literal));
        }
        let failed = |cause| {
            OriginFailure::Dns(DnsFailure {
                name: address.host.clone(),
                cause,
            })
        };
        if let Some(ips) = self.hosts.get(&address.host) {
            let addrs = ips.iter().map(|&ip| SocketAddr::new(ip, port)).collect();
            return Ok((addrs, Source::Static));
        }
        if !self.system {
            return Err(failed(DnsCause::NotInStaticHosts));
        }
        let lookup = tokio::net::lookup_host((address.host.as_str(), port));
        match tokio::time::timeout(limit, lookup).await {
            Err(_) => Err(failed(DnsCause::Timeout { after: limit })),
            Ok(Err(e)) => Err(failed(DnsCause::Lookup(e))),
            Ok(Ok(addrs)) => {
                let addrs: Vec<SocketAddr> = addrs.collect();
                if addrs.is_empty() {
                    Err(failed(DnsCause::NoAddress))
                } else {
                    Ok((addrs, Source::System))
                }
            }
        }
    }
}
