//! The config file as written: serde structs mirroring the TOML keys. This module owns which
//! keys exist (`deny_unknown_fields` everywhere) and their TOML types; values that can be
//! mistyped stay text, so `validate` can report every such problem at once.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::duration::RawDuration;
use super::error::Problem;
use super::fault::FaultSpec;

/// The whole file. Every table and key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(
    default,
    deny_unknown_fields,
    expecting = "a TOML document of edgecase settings"
)]
pub(crate) struct RawConfig {
    pub edge: RawEdge,
    pub origin: RawOrigin,
    pub timeouts: RawTimeouts,
    pub limits: RawLimits,
    pub dns: RawDns,
    #[serde(rename = "route")]
    pub routes: Vec<RawRoute>,
    #[serde(rename = "fault")]
    pub faults: Vec<FaultSpec>,
    pub emulation: RawEmulation,
    pub railgun: RawRailgun,
    pub admin: RawAdmin,
    pub log: RawLog,
    pub analytics: RawAnalytics,
    pub capture: RawCapture,
    pub pages: RawPages,
    #[serde(rename = "proxy")]
    pub proxies: Vec<RawProxy>,
    #[serde(rename = "scenario")]
    pub scenarios: Vec<RawScenario>,
}

/// `[log]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "the [log] table")]
pub(crate) struct RawLog {
    pub format: Option<String>,
    pub access: Option<String>,
    pub timestamps: Option<String>,
    #[serde(deserialize_with = "whole_number")]
    pub queue: Option<i64>,
}

/// `[analytics]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "the [analytics] table")]
pub(crate) struct RawAnalytics {
    pub sample: Option<RawNumber>,
}

/// A number written either way: `1` or `0.01`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(untagged, expecting = "a number, like 0.01")]
pub(crate) enum RawNumber {
    Whole(i64),
    Fraction(f64),
}

impl RawNumber {
    pub fn value(self) -> f64 {
        match self {
            // Exact for every value a fraction of requests can take.
            RawNumber::Whole(n) => n as f64,
            RawNumber::Fraction(x) => x,
        }
    }
}

/// `[capture]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "the [capture] table")]
pub(crate) struct RawCapture {
    pub har: Option<String>,
    pub statuses: Option<Vec<String>>,
    #[serde(deserialize_with = "whole_number")]
    pub body_bytes: Option<i64>,
    pub sanitize: Option<bool>,
    pub redact_headers: Option<Vec<String>>,
    pub redact_query: Option<Vec<String>>,
}

/// `[pages]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "the [pages] table")]
pub(crate) struct RawPages {
    pub dir: Option<String>,
}

/// `[emulation]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "the [emulation] table")]
pub(crate) struct RawEmulation {
    #[serde(deserialize_with = "whole_number")]
    pub seed: Option<i64>,
    pub header_faults: Option<bool>,
    pub explain: Option<bool>,
}

/// `[railgun]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "the [railgun] table")]
pub(crate) struct RawRailgun {
    pub enabled: Option<bool>,
    pub lan_timeout: Option<RawDuration>,
}

/// `[admin]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "the [admin] table")]
pub(crate) struct RawAdmin {
    pub enabled: Option<bool>,
    pub listen: Option<String>,
    pub token: Option<String>,
    pub allowed_hosts: Option<Vec<String>>,
    pub allowed_origins: Option<Vec<String>>,
}

/// `[edge]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "the [edge] table")]
pub(crate) struct RawEdge {
    pub listen: Option<String>,
    pub tls_listen: Option<String>,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    pub colo: Option<String>,
    pub shutdown_grace: Option<RawDuration>,
    #[serde(deserialize_with = "whole_number")]
    pub ray_seed: Option<i64>,
    pub structured_errors: Option<bool>,
    #[serde(deserialize_with = "whole_number")]
    pub workers: Option<i64>,
}

/// `[origin]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "the [origin] table")]
pub(crate) struct RawOrigin {
    pub address: Option<String>,
    pub ssl: Option<String>,
    pub ssl_probe_interval: Option<RawDuration>,
    pub sni: Option<String>,
    #[serde(deserialize_with = "whole_number")]
    pub tls_port: Option<i64>,
    pub ca: Option<String>,
    pub crl: Option<String>,
    #[serde(deserialize_with = "whole_number")]
    pub max_idle: Option<i64>,
    pub idle_timeout: Option<RawDuration>,
}

/// `[timeouts]`: a profile and explicit values that override it.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "the [timeouts] table")]
pub(crate) struct RawTimeouts {
    pub profile: Option<String>,
    pub connect: Option<RawDuration>,
    pub ack: Option<RawDuration>,
    pub write: Option<RawDuration>,
    pub read: Option<RawDuration>,
}

/// `[limits]`. Signed because TOML integers are: a negative value is then a range problem,
/// reported with the others, rather than a type error reported alone.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "the [limits] table")]
pub(crate) struct RawLimits {
    #[serde(deserialize_with = "whole_number")]
    pub origin_header_bytes: Option<i64>,
    #[serde(deserialize_with = "whole_number")]
    pub request_header_bytes: Option<i64>,
    #[serde(deserialize_with = "whole_number")]
    pub request_header_field_bytes: Option<i64>,
    #[serde(deserialize_with = "whole_number")]
    pub url_bytes: Option<i64>,
    #[serde(deserialize_with = "whole_number")]
    pub request_body_bytes: Option<i64>,
    pub client_header_timeout: Option<RawDuration>,
    #[serde(deserialize_with = "whole_number")]
    pub max_connections: Option<i64>,
    #[serde(deserialize_with = "whole_number")]
    pub h2_max_concurrent_streams: Option<i64>,
}

/// `[dns]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "the [dns] table")]
pub(crate) struct RawDns {
    pub system: Option<bool>,
    pub hosts: RawHosts,
}

/// One `[[proxy]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "a [[proxy]] table")]
pub(crate) struct RawProxy {
    pub name: Option<String>,
    pub listen: Option<String>,
    pub upstream: Option<String>,
    pub enabled: Option<bool>,
}

/// One `[[scenario]]` (or the JSON body of `POST /scenarios`).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "a [[scenario]] table")]
pub(crate) struct RawScenario {
    pub name: Option<String>,
    pub start: Option<String>,
    #[serde(deserialize_with = "whole_number")]
    pub repeat: Option<i64>,
    #[serde(alias = "phases")]
    pub phase: Vec<RawPhase>,
}

/// One `[[scenario.phase]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "a [[scenario.phase]] table")]
pub(crate) struct RawPhase {
    pub name: Option<String>,
    #[serde(rename = "for")]
    pub lasting: Option<RawDuration>,
    pub faults: Vec<FaultSpec>,
}

/// One `[[route]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, expecting = "a [[route]] table")]
pub(crate) struct RawRoute {
    pub host: Option<String>,
    pub path_prefix: Option<String>,
    pub origin: Option<String>,
    pub ssl: Option<String>,
    pub sni: Option<String>,
    #[serde(deserialize_with = "whole_number")]
    pub tls_port: Option<i64>,
    pub timeouts: RawRouteTimeouts,
}

/// A route's `timeouts = { ... }`: no profile here, only the four phases.
#[derive(Debug, Default, Deserialize)]
#[serde(
    default,
    deny_unknown_fields,
    expecting = r#"a table of timeouts, like { read = "5s" }"#
)]
pub(crate) struct RawRouteTimeouts {
    pub connect: Option<RawDuration>,
    pub ack: Option<RawDuration>,
    pub write: Option<RawDuration>,
    pub read: Option<RawDuration>,
}

/// `dns.hosts`, sorted by name as written, so problems come out in a stable order.
#[derive(Debug, Default)]
pub(crate) struct RawHosts(pub BTreeMap<String, RawIps>);

/// A `dns.hosts` value: one IP string or a list of them, not yet parsed.
#[derive(Debug)]
pub(crate) enum RawIps {
    One(String),
    Many(Vec<String>),
}

/// Parses `text` into a [`RawConfig`], with every problem of shape found: a TOML syntax error
/// (alone), unknown keys and values of the wrong type, each with its key path and line. The
/// config is `None` when the text could not be read past a problem.
pub(crate) fn parse(text: &str) -> (Option<RawConfig>, Vec<Problem>) {
    super::shape::read(text)
}

/// An integer, described to the user as such rather than as `i64`.
fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    struct WholeNumber;

    impl Visitor<'_> for WholeNumber {
        type Value = Option<i64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<i64>, E> {
            Ok(Some(v))
        }

        // JSON (`POST /scenarios`) gives a positive number as unsigned.
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<i64>, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom(format!("{v} is too large")))
        }
    }

    deserializer.deserialize_i64(WholeNumber)
}

impl<'de> Deserialize<'de> for RawHosts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(HostsVisitor)
    }
}

struct HostsVisitor;

impl<'de> Visitor<'de> for HostsVisitor {
    type Value = RawHosts;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table of host names to IP addresses")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawHosts, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some((name, ips)) = map.next_entry()? {
            entries.insert(name, ips);
        }
        Ok(RawHosts(entries))
    }
}

impl<'de> Deserialize<'de> for RawIps {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IpsVisitor)
    }
}

struct IpsVisitor;

impl<'de> Visitor<'de> for IpsVisitor {
    type Value = RawIps;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an IP address string or a list of them")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawIps, E> {
        Ok(RawIps::One(v.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawIps, A::Error> {
        let mut ips = Vec::new();
        while let Some(ip) = seq.next_element()? {
            ips.push(ip);
        }
        Ok(RawIps::Many(ips))
    }
}
