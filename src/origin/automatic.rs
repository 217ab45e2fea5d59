//! Automatic SSL/TLS, Cloudflare's default mode since October 2024: for each origin and host
//! name, a TLS handshake to the origin's TLS address with the SNI a request would use decides
//! the mode, and later probes only ever move it up.
//!
//! | the probe found | mode |
//! |---|---|
//! | a certificate valid for the name (`[origin] ca`, built-in roots) | `full_strict` |
//! | a completed handshake, certificate not valid | `full` |
//! | a port that does not speak TLS, a failed handshake | `flexible` |
//! | nothing answering (unresolved, refused, timed out) | `flexible`, probed again |
//!
//! The first HTTPS request for a pair waits for its probe (later ones share the answer); HTTP
//! visitors never wait, since every mode Automatic can choose reaches the origin in plain for
//! them. Every `[origin] ssl_probe_interval` all pairs are probed again; an unreachable pair is
//! also probed again, in the background, by the first HTTPS request at least
//! [`UNREACHABLE_RETRY`] after its last probe. A reload builds a new table: it starts over.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::AsyncWriteExt;
use tokio::sync::OnceCell;
use tokio::time::Instant;
use tracing::{debug, info};

use super::handshake::TlsTarget;
use super::pool::PoolKey;
use super::{OriginClient, server_name};
use crate::config::{Config, OriginAddress, OriginTimeouts, SslMode, Target};
use crate::failure::OriginFailure;

/// How soon an origin found unreachable may be probed again, by a later HTTPS request.
pub const UNREACHABLE_RETRY: Duration = Duration::from_secs(1);

/// How long a probe's TLS connection may take to close politely (close_notify).
const CLOSE_WAIT: Duration = Duration::from_millis(200);

/// What one probe of an origin and name found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probed {
    /// A validating handshake completed.
    Valid,
    /// A handshake completed, but the certificate is not valid for the name.
    Unvalidated,
    /// The port answered but does not speak TLS, or the handshake failed.
    NoTls,
    /// Nothing answered: the name did not resolve, or the connection was refused or timed out.
    Unreachable,
}

impl Probed {
    /// The mode this finding calls for.
    pub fn mode(self) -> SslMode {
        match self {
            Probed::Valid => SslMode::FullStrict,
            Probed::Unvalidated => SslMode::Full,
            Probed::NoTls | Probed::Unreachable => SslMode::Flexible,
        }
    }
}

/// One origin (at its TLS address) and the name it is asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ProbeKey {
    address: OriginAddress,
    name: ServerName<'static>,
}

/// What is known of one pair.
struct Entry {
    key: ProbeKey,
    /// The origin as configured (`host:port`), the metric's label.
    origin: String,
    /// The timeouts a probe runs under (those of the first request's target).
    timeouts: OriginTimeouts,
    /// Completed once the first probe is done; requests wait on it.
    first: OnceCell<()>,
    state: Mutex<State>,
}

#[derive(Clone, Copy, Debug, Default)]
struct State {
    /// The mode chosen; `None` before the first probe.
    mode: Option<SslMode>,
    /// Whether any probe reached the origin.
    reachable: bool,
    /// When the last probe ended.
    probed: Option<Instant>,
    /// A background probe is running.
    probing: bool,
}

impl Entry {
    /// Waits for the pair's first probe, running it if no one has yet.
    async fn first_probe(&self, client: &OriginClient) {
        self.first
            .get_or_init(|| async {
                let found = probe(client, &self.key, &self.timeouts).await;
                record(self, found);
            })
            .await;
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A state is a few plain fields: a poisoned lock still holds a sound one.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One pair's chosen mode, for metrics and the start-up line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    /// The origin as configured (`host:port`).
    pub origin: String,
    /// The name probed (the SNI).
    pub name: String,
    /// The mode in force.
    pub mode: SslMode,
}

/// The Automatic SSL/TLS table of one config: reloads make a new one.
pub struct AutomaticSsl {
    client: OriginClient,
    interval: Duration,
    table: Mutex<HashMap<ProbeKey, Arc<Entry>>>,
    ticking: AtomicBool,
}

impl std::fmt::Debug for AutomaticSsl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutomaticSsl")
            .field("interval", &self.interval)
            .field("chosen", &self.chosen())
            .finish_non_exhaustive()
    }
}

impl AutomaticSsl {
    /// A table probing through `client`'s resolver and trust, again every `interval`.
    pub fn new(client: OriginClient, interval: Duration) -> Arc<Self> {
        Arc::new(AutomaticSsl {
            client,
            interval,
            table: Mutex::new(HashMap::new()),
            ticking: AtomicBool::new(false),
        })
    }

    /// The mode for an HTTPS visitor's request to `target` (configured `automatic`) with Host
    /// `host`: the pair's first request probes, and those that come meanwhile wait for it.
    pub async fn decide(self: &Arc<Self>, target: &Target<'_>, host: &str) -> SslMode {
        let entry = self.entry(target, host);
        entry.first_probe(&self.client).await;
        let state = *entry.state();
        let retry = !state.reachable
            && !state.probing
            && state
                .probed
                .is_none_or(|at| at.elapsed() >= UNREACHABLE_RETRY);
        if retry {
            self.reprobe_later(entry.clone());
        }
        state.mode.unwrap_or(SslMode::Flexible)
    }

    /// The mode already chosen for `target` and `host`, without probing.
    pub fn known(&self, target: &Target<'_>, host: &str) -> Option<SslMode> {
        let key = key_of(target, host);
        let entry = self.table().get(&key).cloned()?;
        entry.state().mode
    }

    /// Probes, at once and together, every target of `config` configured `automatic` whose
    /// name is known without a request (`sni` set), and returns when all are decided.
    pub async fn warm(self: &Arc<Self>, config: &Config) {
        let mut probes = tokio::task::JoinSet::new();
        for target in config.named_targets() {
            if target.ssl != SslMode::Automatic {
                continue;
            }
            let Some(name) = target.sni else { continue };
            let entry = self.entry(&target, name);
            let client = self.client.clone();
            probes.spawn(async move { entry.first_probe(&client).await });
        }
        while probes.join_next().await.is_some() {}
    }

    /// Every pair decided so far, sorted by origin and name.
    pub fn chosen(&self) -> Vec<Chosen> {
        let mut chosen: Vec<Chosen> = self
            .table()
            .values()
            .filter_map(|entry| {
                Some(Chosen {
                    origin: entry.origin.clone(),
                    name: entry.key.name.to_str().into_owned(),
                    mode: entry.state().mode?,
                })
            })
            .collect();
        chosen.sort_by(|a, b| (&a.origin, &a.name).cmp(&(&b.origin, &b.name)));
        chosen
    }

    /// The pair's entry, made (and the periodic probes started) on first sight.
    fn entry(self: &Arc<Self>, target: &Target<'_>, host: &str) -> Arc<Entry> {
        let key = key_of(target, host);
        let entry = self
            .table()
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(Entry {
                    key,
                    origin: target.address.to_string(),
                    timeouts: target.timeouts,
                    first: OnceCell::new(),
                    state: Mutex::new(State::default()),
                })
            })
            .clone();
        if !self.ticking.swap(true, Ordering::Relaxed) {
            tokio::spawn(tick(Arc::downgrade(self), self.interval));
        }
        entry
    }

    fn table(&self) -> MutexGuard<'_, HashMap<ProbeKey, Arc<Entry>>> {
        // Entries are only ever added whole: a poisoned lock still holds a sound table.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Probes `entry` again in the background, unless a probe of it is running.
    fn reprobe_later(&self, entry: Arc<Entry>) {
        {
            let mut state = entry.state();
            if state.probing {
                return;
            }
            state.probing = true;
        }
        let client = self.client.clone();
        tokio::spawn(async move {
            let found = probe(&client, &entry.key, &entry.timeouts).await;
            record(&entry, found);
        });
    }
}

/// The periodic probes of a table, for as long as it is in force.
async fn tick(table: Weak<AutomaticSsl>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(table) = table.upgrade() else { return };
        let entries: Vec<Arc<Entry>> = table.table().values().cloned().collect();
        for entry in entries {
            table.reprobe_later(entry);
        }
    }
}

/// Notes what a probe found: the mode moves up, never down.
fn record(entry: &Entry, found: Probed) {
    let mut state = entry.state();
    let was = state.mode;
    let offered = found.mode();
    if was.is_none_or(|was| offered.rank() > was.rank()) {
        state.mode = Some(offered);
    }
    state.reachable |= found != Probed::Unreachable;
    state.probed = Some(Instant::now());
    state.probing = false;
    let now = state.mode;
    drop(state);
    let name = entry.key.name.to_str();
    if now != was {
        let mode = now.map_or("", SslMode::as_str);
        info!(origin = %entry.origin, name = %name, found = ?found, "automatic SSL/TLS: {mode}");
    } else {
        debug!(origin = %entry.origin, name = %name, found = ?found, "automatic SSL/TLS unchanged");
    }
}

/// The pair a request to `target` with Host `host` belongs to: the TLS address, and the SNI
/// the request would use.
fn key_of(target: &Target<'_>, host: &str) -> ProbeKey {
    ProbeKey {
        address: OriginAddress {
            host: target.address.host.clone(),
            port: target.tls_port.unwrap_or(target.address.port),
        },
        name: server_name(target.sni, host, &target.address.host),
    }
}

/// One probe: a validating handshake, and when only the certificate failed, one that accepts
/// any.
async fn probe(client: &OriginClient, key: &ProbeKey, timeouts: &OriginTimeouts) -> Probed {
    match handshake(client, key, timeouts, true).await {
        Ok(()) => Probed::Valid,
        Err(OriginFailure::InvalidCertificate(_)) => {
            match handshake(client, key, timeouts, false).await {
                Ok(()) => Probed::Unvalidated,
                Err(failure) => unanswered(&failure),
            }
        }
        Err(failure) => unanswered(&failure),
    }
}

/// What a failed handshake says of the origin.
fn unanswered(failure: &OriginFailure) -> Probed {
    match failure {
        OriginFailure::Dns(_)
        | OriginFailure::Refused(_)
        | OriginFailure::ConnectTimeout { .. }
        | OriginFailure::AckTimeout { .. }
        | OriginFailure::Unreachable(_)
        | OriginFailure::Internal(_) => Probed::Unreachable,
        _ => Probed::NoTls,
    }
}

/// Resolves, connects and completes a TLS handshake with `key`'s origin, then closes.
async fn handshake(
    client: &OriginClient,
    key: &ProbeKey,
    timeouts: &OriginTimeouts,
    validate: bool,
) -> Result<(), OriginFailure> {
    let tls = TlsTarget {
        name: key.name.clone(),
        validate,
    };
    let pool_key = PoolKey {
        address: key.address.clone(),
        tls: Some(Box::new(tls.clone())),
        ack: timeouts.ack,
        write: timeouts.write,
    };
    let (addrs, _source) = client.resolve(&pool_key, timeouts).await?;
    let mut tried = None;
    let stream = client.connect(&addrs, timeouts, &mut tried).await?;
    let mut stream = client.secure(stream, &tls, timeouts).await?;
    let _ = tokio::time::timeout(CLOSE_WAIT, stream.shutdown()).await;
    Ok(())
}
