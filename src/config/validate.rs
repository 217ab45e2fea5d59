//! From the file as written to a typed [`Config`]: applies command-line overrides and the
//! timeout profile, checks every value, and collects every problem with its key path instead of
//! stopping at the first. This module owns the acceptable ranges; the syntax of each kind of
//! value lives in `address` and `duration`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls::pki_types::ServerName;

use super::address::{is_host_name, normalize_route_host, parse_listen};
use super::duration::RawDuration;
use super::error::{Problem, push_index, push_key};
use super::raw::{RawConfig, RawIps, RawOrigin, RawRoute};
use super::{
    Config, DEFAULT_LISTEN, DEFAULT_PROFILE, DEFAULT_SHUTDOWN_GRACE, DEFAULT_SSL_MODE,
    DEFAULT_SSL_PROBE_INTERVAL, DnsConfig, EdgeConfig, EdgeTls, Limits, MAX_ORIGIN_HEADER_BYTES,
    MAX_PHASE_TIMEOUT, MAX_READ_TIMEOUT, MAX_SHUTDOWN_GRACE, MAX_SSL_PROBE_INTERVAL,
    MIN_ORIGIN_HEADER_BYTES, OriginAddress, OriginConfig, OriginTrust, Overrides, PartialTimeouts,
    Profile, Route, SslMode,
};
use crate::normalize;
use crate::ray::Colo;
use crate::tls::pem;

mod emulation;
mod observe;
mod proxies;
mod scenarios;
mod visitor;
use crate::tls::trust::{OriginTls, TrustError};
pub(crate) use scenarios::scenario_from_json;

impl TryFrom<RawConfig> for Config {
    type Error = Vec<Problem>;

    fn try_from(raw: RawConfig) -> Result<Self, Self::Error> {
        build(raw, &Overrides::default(), Path::new(""))
    }
}

/// Checks `raw` with `overrides` applied over it: the config, or every problem found.
/// Relative file paths are taken from `base` (the config file's directory).
pub(crate) fn build(
    raw: RawConfig,
    overrides: &Overrides,
    base: &Path,
) -> Result<Config, Vec<Problem>> {
    let mut check = Check {
        problems: Vec::new(),
        base: base.to_owned(),
    };

    let pool = check.pool(&raw.origin);
    let workers = check.workers(raw.edge.workers);
    let listen = check.listen(overrides.listen.as_deref(), raw.edge.listen.as_deref());
    let colo = raw
        .edge
        .colo
        .and_then(|text| check.some("edge.colo", text.parse::<Colo>()));
    let shutdown_grace = raw
        .edge
        .shutdown_grace
        .as_ref()
        .and_then(|raw| check.duration("edge.shutdown_grace", raw, &GRACE_LIMIT));

    let address = check.address(overrides.origin.as_deref(), raw.origin.address.as_deref());
    let edge_tls = check.edge_tls(
        raw.edge.tls_listen,
        raw.edge.tls_cert,
        raw.edge.tls_key,
        listen.unwrap_or(DEFAULT_LISTEN),
    );
    let origin = check.origin(address, raw.origin);

    let profile = check.profile(raw.timeouts.profile.as_deref());
    let t = &raw.timeouts;
    let timeouts = check.timeouts("timeouts", [&t.connect, &t.ack, &t.write, &t.read]);

    let origin_header_bytes = check.origin_header_bytes(raw.limits.origin_header_bytes);

    let hosts = check.hosts(raw.dns.hosts.0);
    check.faults(&raw.faults);
    let proxies = check.proxies(raw.proxies);
    let scenarios = check.scenarios(raw.scenarios);
    let emulation = check.emulation(raw.emulation);
    let railgun = check.railgun(raw.railgun);
    let ray_seed = raw
        .edge
        .ray_seed
        .and_then(|seed| check.seed("edge.ray_seed", seed));
    let admin = check.admin(
        raw.admin,
        overrides.admin.as_deref(),
        listen.unwrap_or(DEFAULT_LISTEN),
    );
    let visitor = check.visitor(&raw.limits, profile);
    let log = check.log(raw.log);
    let analytics = check.analytics(raw.analytics);
    let capture = check.capture(raw.capture);
    let pages = check.pages(raw.pages);
    let routes = check.routes(raw.routes);

    if !check.problems.is_empty() {
        return Err(check.problems);
    }
    Ok(Config {
        edge: EdgeConfig {
            listen: listen.unwrap_or(DEFAULT_LISTEN),
            tls: edge_tls,
            colo: colo.unwrap_or(Colo::DEFAULT),
            shutdown_grace: shutdown_grace.unwrap_or(DEFAULT_SHUTDOWN_GRACE),
            ray_seed,
            structured_errors: raw.edge.structured_errors.unwrap_or(true),
            workers,
        },
        origin,
        profile,
        timeouts: timeouts.over(profile.timeouts()),
        limits: Limits {
            origin_header_bytes: origin_header_bytes.unwrap_or(profile.origin_header_bytes()),
        },
        dns: DnsConfig {
            system: raw.dns.system.unwrap_or(DnsConfig::default().system),
            hosts,
        },
        routes,
        faults: raw.faults,
        emulation,
        railgun,
        admin,
        log,
        analytics,
        capture,
        pages,
        visitor,
        pool,
        proxies,
        scenarios,
    })
}

/// The most `[edge] workers` accepted.
const MAX_WORKERS: usize = 1024;

/// The problems found so far.
struct Check {
    problems: Vec<Problem>,
    /// Where relative file paths start.
    base: PathBuf,
}

impl Check {
    /// `[edge] listen`, or the `--listen` flag over it.
    fn listen(&mut self, flag: Option<&str>, key: Option<&str>) -> Option<SocketAddr> {
        match (flag, key) {
            (Some(flag), _) => self.some("edge.listen", flagged(parse_listen(flag), "--listen")),
            (None, Some(text)) => self.some("edge.listen", parse_listen(text)),
            (None, None) => None,
        }
    }

    /// `[origin] address`, or the `--origin` flag over it.
    fn address(&mut self, flag: Option<&str>, key: Option<&str>) -> Option<OriginAddress> {
        match (flag, key) {
            (Some(flag), _) => self.some("origin.address", flagged(flag.parse(), "--origin")),
            (None, Some(text)) => self.some("origin.address", text.parse::<OriginAddress>()),
            (None, None) => None,
        }
    }

    /// `[timeouts] profile`, classic when left out.
    fn profile(&mut self, word: Option<&str>) -> Profile {
        word.and_then(|word| self.some("timeouts.profile", word.parse::<Profile>()))
            .unwrap_or(DEFAULT_PROFILE)
    }

    /// `[origin]`'s TLS keys (`ssl`, `ssl_probe_interval`, `sni`, `tls_port`, `ca`, `crl`),
    /// with the address already checked; defaults for the keys left out.
    fn origin(&mut self, address: Option<OriginAddress>, raw: RawOrigin) -> OriginConfig {
        let ssl = raw
            .ssl
            .and_then(|word| self.some("origin.ssl", word.parse::<SslMode>()));
        let ssl_probe_interval = raw
            .ssl_probe_interval
            .as_ref()
            .and_then(|raw| self.duration("origin.ssl_probe_interval", raw, &PROBE_LIMIT));
        let sni = raw
            .sni
            .and_then(|name| self.some("origin.sni", parse_sni(name)));
        let tls_port = raw
            .tls_port
            .and_then(|port| self.some("origin.tls_port", parse_port(port)));
        let trust = self.trust(raw.ca, raw.crl);
        OriginConfig {
            address: address.unwrap_or_default(),
            ssl: ssl.unwrap_or(DEFAULT_SSL_MODE),
            sni,
            tls_port,
            ssl_probe_interval: ssl_probe_interval.unwrap_or(DEFAULT_SSL_PROBE_INTERVAL),
            trust: trust.unwrap_or_default(),
        }
    }

    /// `[edge] workers`: 1 to [`MAX_WORKERS`] threads.
    fn workers(&mut self, raw: Option<i64>) -> Option<usize> {
        raw.and_then(|n| {
            let fits = usize::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_WORKERS).contains(n))
                .ok_or_else(|| format!("{n} is not between 1 and {MAX_WORKERS} threads"));
            self.some("edge.workers", fits)
        })
    }

    /// `[limits] origin_header_bytes`, within its range.
    fn origin_header_bytes(&mut self, raw: Option<i64>) -> Option<usize> {
        raw.and_then(|bytes| {
            let range = MIN_ORIGIN_HEADER_BYTES..=MAX_ORIGIN_HEADER_BYTES;
            let fits = usize::try_from(bytes)
                .ok()
                .filter(|bytes| range.contains(bytes));
            self.some(
                "limits.origin_header_bytes",
                fits.ok_or(HeaderBytesOutOfRange(bytes)),
            )
        })
    }

    /// `[[route]]`: each table's keys, named `route[N].key`.
    fn routes(&mut self, raw: Vec<RawRoute>) -> Vec<Route> {
        raw.into_iter()
            .enumerate()
            .map(|(index, raw)| {
                let mut key = String::from("route");
                push_index(&mut key, index);
                let host = raw.host.and_then(|text| {
                    self.some(&format!("{key}.host"), normalize_route_host(&text))
                });
                let path_prefix = raw
                    .path_prefix
                    .and_then(|prefix| self.some(&format!("{key}.path_prefix"), rooted(prefix)))
                    .and_then(|prefix| {
                        let normal = normalize::check_prefix(&prefix).map(|()| prefix);
                        self.some(&format!("{key}.path_prefix"), normal)
                    });
                let origin = raw.origin.and_then(|text| {
                    self.some(&format!("{key}.origin"), text.parse::<OriginAddress>())
                });
                let ssl = raw
                    .ssl
                    .and_then(|word| self.some(&format!("{key}.ssl"), word.parse::<SslMode>()));
                let sni = raw
                    .sni
                    .and_then(|name| self.some(&format!("{key}.sni"), parse_sni(name)));
                let tls_port = raw
                    .tls_port
                    .and_then(|port| self.some(&format!("{key}.tls_port"), parse_port(port)));
                let t = &raw.timeouts;
                let timeouts = self.timeouts(
                    &format!("{key}.timeouts"),
                    [&t.connect, &t.ack, &t.write, &t.read],
                );
                Route {
                    host,
                    path_prefix,
                    origin,
                    ssl,
                    sni,
                    tls_port,
                    timeouts,
                }
            })
            .collect()
    }

    /// `path` as written in the config, taken from the config file's directory if relative.
    fn file(&self, path: &str) -> PathBuf {
        self.base.join(path)
    }

    /// `[edge] tls_listen`, `tls_cert` and `tls_key`: all three or none, the files readable
    /// and the key matching the certificate.
    fn edge_tls(
        &mut self,
        listen: Option<String>,
        cert: Option<String>,
        key: Option<String>,
        http_listen: SocketAddr,
    ) -> Option<EdgeTls> {
        if listen.is_none() && cert.is_none() && key.is_none() {
            return None;
        }
        let Some(listen) = listen else {
            let why = "is set but edge.tls_listen is not; add tls_listen = \"127.0.0.1:8443\" \
                       to serve HTTPS";
            let key = if cert.is_some() {
                "edge.tls_cert"
            } else {
                "edge.tls_key"
            };
            self.problems.push(Problem::new(key, why));
            return None;
        };
        let listen = self.some("edge.tls_listen", parse_listen(&listen));
        if let Some(listen) = listen
            && listen == http_listen
            && listen.port() != 0
        {
            let why = format!("{listen} is also edge.listen; HTTPS needs its own port");
            self.problems.push(Problem::new("edge.tls_listen", why));
        }
        let needed = "is required with edge.tls_listen: a PEM file (`edgecase cert` makes one)";
        let cert = match cert {
            Some(path) => Some(self.file(&path)),
            None => {
                self.problems.push(Problem::new("edge.tls_cert", needed));
                None
            }
        };
        let key = match key {
            Some(path) => Some(self.file(&path)),
            None => {
                self.problems.push(Problem::new("edge.tls_key", needed));
                None
            }
        };
        let chain = cert
            .as_deref()
            .and_then(|path| self.some("edge.tls_cert", pem::read_certificates(path)));
        let private = key
            .as_deref()
            .and_then(|path| self.some("edge.tls_key", pem::read_private_key(path)));
        let server = crate::tls::visitor::server_config(chain?, private?)
            .map_err(|e| format!("cannot serve with this key and certificate: {e}"));
        let server = self.some("edge.tls_key", server)?;
        Some(EdgeTls {
            listen: listen?,
            cert: cert?,
            key: key?,
            server,
        })
    }

    /// `[origin] ca` and `crl`, and the TLS client configs built with them.
    fn trust(&mut self, ca: Option<String>, crl: Option<String>) -> Option<OriginTrust> {
        let ca = ca.map(|path| self.file(&path));
        let crl = crl.map(|path| self.file(&path));
        // Both files are read before giving up, so a problem with each is reported at once.
        let roots = match &ca {
            Some(path) => self.some("origin.ca", pem::read_certificates(path)),
            None => Some(Vec::new()),
        };
        let crls = match &crl {
            Some(path) => self.some("origin.crl", pem::read_crls(path)),
            None => Some(Vec::new()),
        };
        let (roots, crls) = (roots?, crls?);
        let tls = match OriginTls::new(&roots, crls) {
            Ok(tls) => tls,
            Err(e @ TrustError::BadRoot { .. }) => return self.some("origin.ca", Err(e)),
            Err(e @ TrustError::Crl(_)) => return self.some("origin.crl", Err(e)),
        };
        Some(OriginTrust { ca, crl, tls })
    }

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

/// An `sni` value: a DNS name or an IP address, as rustls can check it.
fn parse_sni(name: String) -> Result<String, BadSni> {
    if !name.is_empty() && ServerName::try_from(name.as_str()).is_ok() {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(BadSni(name))
    }
}

/// A `tls_port` value: 1 to 65535.
fn parse_port(port: i64) -> Result<u16, BadPort> {
    u16::try_from(port)
        .ok()
        .filter(|&port| port != 0)
        .ok_or(BadPort(port))
}

/// A route's `path_prefix`, which must be an absolute path.
fn rooted(prefix: String) -> Result<String, Unrooted> {
    if prefix.starts_with('/') {
        Ok(prefix)
    } else {
        Err(Unrooted(prefix))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a host name or IP address to send as SNI")]
struct BadSni(String);

#[derive(Debug, thiserror::Error)]
#[error("{0} is not a port between 1 and 65535")]
struct BadPort(i64);

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

const PROBE_LIMIT: Limit = Limit {
    zero: false,
    max: MAX_SSL_PROBE_INTERVAL,
    shown: "168h",
    reason: "the longest Automatic SSL/TLS probe interval edgecase accepts (a week)",
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
    assert!(MAX_SSL_PROBE_INTERVAL.as_secs() == 168 * 3600);
    assert!(MIN_ORIGIN_HEADER_BYTES == 1024 && MAX_ORIGIN_HEADER_BYTES == 1_048_576);
};
