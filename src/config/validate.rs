//! From the file as written to a typed [`Config`]: applies command-line overrides and the
//! timeout profile, checks every value, and collects every problem with its key path instead of
//! stopping at the first. This module owns the acceptable ranges; the syntax of each kind of
//! value lives in `address` and `duration`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use super::address::{is_host_name, normalize_route_host, parse_listen};
use super::duration::RawDuration;
use super::error::{Problem, push_index, push_key};
use super::raw::{RawConfig, RawIps};
use super::{
    Config, DEFAULT_LISTEN, DEFAULT_PROFILE, DEFAULT_SHUTDOWN_GRACE, DEFAULT_SSL_MODE, DnsConfig,
    EdgeConfig, Limits, MAX_ORIGIN_HEADER_BYTES, MAX_PHASE_TIMEOUT, MAX_READ_TIMEOUT,
    MAX_SHUTDOWN_GRACE, MIN_ORIGIN_HEADER_BYTES, OriginAddress, OriginConfig, Overrides,
    PartialTimeouts, Profile, Route, SslMode,
};
use crate::ray::Colo;

impl TryFrom<RawConfig> for Config {
    type Error = Vec<Problem>;

    fn try_from(raw: RawConfig) -> Result<Self, Self::Error> {
        build(raw, &Overrides::default())
    }
}

/// Checks `raw` with `overrides` applied over it: the config, or every problem found.
pub(crate) fn build(raw: RawConfig, overrides: &Overrides) -> Result<Config, Vec<Problem>> {
    let mut check = Check::default();

    let listen = match (&overrides.listen, &raw.edge.listen) {
        (Some(flag), _) => check.some("edge.listen", flagged(parse_listen(flag), "--listen")),
        (None, Some(text)) => check.some("edge.listen", parse_listen(text)),
        (None, None) => None,
    };
    let colo = raw
        .edge
        .colo
        .and_then(|text| check.some("edge.colo", text.parse::<Colo>()));
    let shutdown_grace = raw
        .edge
        .shutdown_grace
        .as_ref()
        .and_then(|raw| check.duration("edge.shutdown_grace", raw, &GRACE_LIMIT));

    let address = match (&overrides.origin, &raw.origin.address) {
        (Some(flag), _) => check.some("origin.address", flagged(flag.parse(), "--origin")),
        (None, Some(text)) => check.some("origin.address", text.parse::<OriginAddress>()),
        (None, None) => None,
    };
    let ssl = raw.origin.ssl.and_then(|word| {
        let mode = check.some("origin.ssl", word.parse::<SslMode>())?;
        check.some("origin.ssl", supported(mode))
    });

    let profile = raw
        .timeouts
        .profile
        .as_deref()
        .and_then(|word| check.some("timeouts.profile", word.parse::<Profile>()));
    let profile = profile.unwrap_or(DEFAULT_PROFILE);
    let t = &raw.timeouts;
    let timeouts = check.timeouts("timeouts", [&t.connect, &t.ack, &t.write, &t.read]);

    let origin_header_bytes = raw.limits.origin_header_bytes.and_then(|bytes| {
        let range = MIN_ORIGIN_HEADER_BYTES..=MAX_ORIGIN_HEADER_BYTES;
        let fits = usize::try_from(bytes)
            .ok()
            .filter(|bytes| range.contains(bytes));
        check.some(
            "limits.origin_header_bytes",
            fits.ok_or(HeaderBytesOutOfRange(bytes)),
        )
    });

    let hosts = check.hosts(raw.dns.hosts.0);
    let routes = raw
        .routes
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let mut key = String::from("route");
            push_index(&mut key, index);
            let host = raw
                .host
                .and_then(|text| check.some(&format!("{key}.host"), normalize_route_host(&text)));
            let path_prefix = raw
                .path_prefix
                .and_then(|prefix| check.some(&format!("{key}.path_prefix"), rooted(prefix)));
            let origin = raw.origin.and_then(|text| {
                check.some(&format!("{key}.origin"), text.parse::<OriginAddress>())
            });
            let t = &raw.timeouts;
            let timeouts = check.timeouts(
                &format!("{key}.timeouts"),
                [&t.connect, &t.ack, &t.write, &t.read],
            );
            Route {
                host,
                path_prefix,
                origin,
                timeouts,
            }
        })
        .collect();

    if !check.problems.is_empty() {
        return Err(check.problems);
    }
    let defaults = Config::default();
    Ok(Config {
        edge: EdgeConfig {
            listen: listen.unwrap_or(DEFAULT_LISTEN),
            colo: colo.unwrap_or(Colo::DEFAULT),
            shutdown_grace: shutdown_grace.unwrap_or(DEFAULT_SHUTDOWN_GRACE),
        },
        origin: OriginConfig {
            address: address.unwrap_or(defaults.origin.address),
            ssl: ssl.unwrap_or(DEFAULT_SSL_MODE),
        },
        profile,
        timeouts: timeouts.over(profile.timeouts()),
        limits: Limits {
            origin_header_bytes: origin_header_bytes.unwrap_or(profile.origin_header_bytes()),
        },
        dns: DnsConfig {
            system: raw.dns.system.unwrap_or(defaults.dns.system),
            hosts,
        },
        routes,
    })
}

/// The problems found so far.
#[derive(Default)]
struct Check {
    problems: Vec<Problem>,
}

impl Check {
    /// The value, or `None` after recording why not under `key`.
    fn some<T, E: fmt::Display>(&mut self, key: &str, result: Result<T, E>) -> Option<T> {
        result
            .map_err(|why| self.problems.push(Problem::new(key, why)))
            .ok()
    }

    /// The four phase timeouts under `table` (`timeouts` or `route[N].timeouts`), in the order
    /// connect, ack, write, read.
    fn timeouts(&mut self, table: &str, raw: [&Option<RawDuration>; 4]) -> PartialTimeouts {
        let [connect, ack, write, read] = [
            ("connect", raw[0], &PHASE_LIMIT),
            ("ack", raw[1], &PHASE_LIMIT),
            ("write", raw[2], &PHASE_LIMIT),
            ("read", raw[3], &READ_LIMIT),
        ]
        .map(|(phase, raw, limit)| {
            let raw = raw.as_ref()?;
            self.duration(&format!("{table}.{phase}"), raw, limit)
        });
        PartialTimeouts {
            connect,
            ack,
            write,
            read,
        }
    }

    /// The duration at `key`, if it parses and is within `limit`.
    fn duration(&mut self, key: &str, raw: &RawDuration, limit: &Limit) -> Option<Duration> {
        let value = self.some(key, raw.parse())?;
        let why = if value.is_zero() && !limit.zero {
            format!("{raw} is zero; a timeout must be at least 1ms")
        } else if value > limit.max {
            format!("{raw} is more than {}, {}", limit.shown, limit.reason)
        } else {
            return Some(value);
        };
        self.problems.push(Problem::new(key, why));
        None
    }

    /// `dns.hosts` with lowercase names and parsed addresses.
    fn hosts(&mut self, raw: BTreeMap<String, RawIps>) -> HashMap<String, Vec<IpAddr>> {
        let mut hosts = HashMap::with_capacity(raw.len());
        // Lowercase name → the spelling that claimed it first, to explain a clash.
        let mut spellings: HashMap<String, String> = HashMap::new();
        for (name, ips) in raw {
            let mut key = String::from("dns.hosts");
            push_key(&mut key, &name);
            if !is_host_name(&name) {
                self.problems.push(Problem::new(
                    key,
                    format_args!("{name:?} is not a host name"),
                ));
                continue;
            }
            let lower = name.to_ascii_lowercase();
            let texts = match ips {
                RawIps::One(text) => vec![(key.clone(), text)],
                RawIps::Many(texts) if texts.is_empty() => {
                    let why = "is an empty list; give at least one IP address, or remove the name";
                    self.problems.push(Problem::new(key, why));
                    continue;
                }
                RawIps::Many(texts) => texts
                    .into_iter()
                    .enumerate()
                    .map(|(index, text)| {
                        let mut key = key.clone();
                        push_index(&mut key, index);
                        (key, text)
                    })
                    .collect(),
            };
            let ips: Vec<IpAddr> = texts
                .into_iter()
                .filter_map(|(key, text)| self.some(&key, text.parse().map_err(|_| NotIp(text))))
                .collect();
            if let Some(first) = spellings.get(&lower) {
                let why = format_args!(
                    "{name:?} is the same name as {first:?} (names are not case-sensitive)"
                );
                self.problems.push(Problem::new(key, why));
            } else {
                spellings.insert(lower.clone(), name);
                hosts.insert(lower, ips);
            }
        }
        hosts
    }
}

/// An override's problem says which flag it came from.
fn flagged<T, E>(result: Result<T, E>, flag: &'static str) -> Result<T, FromFlag<E>> {
    result.map_err(|why| FromFlag { why, flag })
}

/// Only the modes that need no TLS to the origin load for now.
fn supported(mode: SslMode) -> Result<SslMode, NeedsTls> {
    match mode {
        SslMode::Off | SslMode::Flexible => Ok(mode),
        // TODO(config): accept these once origin/connect.rs speaks TLS.
        SslMode::Full | SslMode::FullStrict | SslMode::Strict => Err(NeedsTls(mode)),
    }
}

/// A route's `path_prefix`, which must be an absolute path.
fn rooted(prefix: String) -> Result<String, Unrooted> {
    if prefix.starts_with('/') {
        Ok(prefix)
    } else {
        Err(Unrooted(prefix))
    }
}

/// An SSL mode this build cannot honour yet.
#[derive(Debug, thiserror::Error)]
#[error(
    "{:?} needs TLS to the origin, which this build does not support yet; use \"off\" or \
     \"flexible\"",
    .0.as_str()
)]
struct NeedsTls(SslMode);

#[derive(Debug, thiserror::Error)]
#[error("{why} (from {flag})")]
struct FromFlag<E> {
    why: E,
    flag: &'static str,
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} does not start with \"/\"; write it like \"/api/\"")]
struct Unrooted(String);

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an IP address, like \"127.0.0.1\" or \"::1\"")]
struct NotIp(String);

#[derive(Debug, thiserror::Error)]
#[error("{0} is not between 1024 and 1048576 (1 KiB and 1 MiB)")]
struct HeaderBytesOutOfRange(i64);

/// The range a duration key accepts, and how a problem explains its maximum.
struct Limit {
    /// Whether zero is allowed; if not, the minimum is 1ms.
    zero: bool,
    max: Duration,
    /// `max` as the config would write it.
    shown: &'static str,
    reason: &'static str,
}

const READ_LIMIT: Limit = Limit {
    zero: false,
    max: MAX_READ_TIMEOUT,
    shown: "6000s",
    reason: "Cloudflare's Enterprise maximum for the read timeout",
};

const PHASE_LIMIT: Limit = Limit {
    zero: false,
    max: MAX_PHASE_TIMEOUT,
    shown: "1h",
    reason: "the longest connect, ack or write timeout edgecase accepts",
};

const GRACE_LIMIT: Limit = Limit {
    zero: true,
    max: MAX_SHUTDOWN_GRACE,
    shown: "1h",
    reason: "the longest shutdown grace edgecase accepts",
};

// `shown` is written by hand; this keeps it in step with the consts it describes.
const _: () = {
    assert!(MAX_READ_TIMEOUT.as_secs() == 6000);
    assert!(MAX_PHASE_TIMEOUT.as_secs() == 3600);
    assert!(MAX_SHUTDOWN_GRACE.as_secs() == 3600);
    assert!(MIN_ORIGIN_HEADER_BYTES == 1024 && MAX_ORIGIN_HEADER_BYTES == 1_048_576);
};
