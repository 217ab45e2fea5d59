//! The visitor side: accepting connections, serving HTTP/1.1 and h2c, and handling each
//! request (ray ID, trace endpoint, forwarding, error pages, the access log line).
//!
//! [`serve`] takes an already-bound listener and a shutdown future, so tests run the real
//! server on port 0 and the binary runs it until SIGTERM/Ctrl-C.

pub mod access_log;
pub mod admission;
pub mod body;
pub mod detach;
pub mod errors;
pub mod forward;
pub mod framing;
pub mod header_order;
pub mod listener;
mod local;
pub mod protocols;
pub mod proxies;
pub mod reload;
pub mod service;
pub mod trim;
pub mod tunnel;

pub use listener::{
    AdminPort, ControlApi, Listeners, serve, serve_reloadable, serve_state, shutdown_signal,
};

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use crate::config::{Config, OWN_PROXY, OriginAddress};
use crate::emulation::FaultRules;
use crate::observe::{ObserveError, Observers};
use crate::origin::OriginClient;
use crate::origin::automatic::AutomaticSsl;
use crate::ray::RayGenerator;
use crate::scenario::Scenarios;
use crate::tls::visitor::VisitorTls;

/// The config in force and the origin client built from it, swapped whole on reload. A
/// request takes one snapshot when it starts and keeps it to the end.
pub struct Live {
    /// The configuration.
    pub config: Arc<Config>,
    /// Pooled connections to the origins.
    pub origins: OriginClient,
    /// The modes Automatic SSL/TLS chose for this config's origins and host names.
    pub automatic: Arc<AutomaticSsl>,
}

impl Live {
    /// The config in force with its origin client and a fresh Automatic SSL/TLS table, whose
    /// modes `observers` show from now on.
    /// A proxy made by the control API or `[[proxy]]` (`shown: false`) leaves the metrics'
    /// SSL modes to the config's own proxy.
    fn new(config: Arc<Config>, observers: &Observers, shown: bool) -> Self {
        let open = observers.metrics.origin_connections();
        let origins = OriginClient::new(&config).counting_open(open);
        let automatic = AutomaticSsl::new(origins.clone(), config.origin.ssl_probe_interval);
        if shown {
            observers.metrics.read_ssl_modes_from(automatic.clone());
        }
        Live {
            config,
            origins,
            automatic,
        }
    }
}

/// What every request handler shares: the live config, the ray generator, the fault rules and
/// the observers.
pub struct EdgeState {
    /// The config and origin client in force; see [`EdgeState::live`].
    live: RwLock<Arc<Live>>,
    /// Where `SIGHUP` and `POST /reload` read the config from; `None`: not reloadable.
    pub reload_from: Option<reload::Source>,
    /// Ray IDs for this process.
    pub rays: RayGenerator,
    /// This instance's `fl` value for `/cdn-cgi/trace`.
    pub instance: String,
    /// The port of the plain-HTTP listener, where SSL mode Off redirects HTTPS visitors.
    pub http_port: u16,
    /// The fault rules in force (from `[[fault]]`, the control API or the library).
    pub faults: Arc<FaultRules>,
    /// Where finished requests go: log, metrics, analytics, HAR, recent requests.
    pub observers: Arc<Observers>,
    /// The Toxiproxy name of the proxy this state serves: [`OWN_PROXY`] for the config's own,
    /// else a proxy made by the control API or `[[proxy]]`. Every request's record says it.
    pub proxy: Arc<str>,
    /// The proxies made by the control API or `[[proxy]]` (empty in one of theirs).
    pub proxies: proxies::Proxies,
    /// The scenarios (`[[scenario]]`, the control API, the library). Only the config's own
    /// proxy runs them; another proxy's list stays empty.
    pub scenarios: Arc<Scenarios>,
}

impl EdgeState {
    /// State for serving `config`, with plain HTTP on `http_port`. Fails when the access log
    /// or HAR file cannot be opened.
    pub fn new(config: Arc<Config>, http_port: u16) -> Result<Self, ObserveError> {
        let observers = Observers::new(&config)?;
        Ok(EdgeState::with_observers(config, http_port, observers))
    }

    /// As [`EdgeState::new`], with observers made by the caller.
    pub fn with_observers(config: Arc<Config>, http_port: u16, observers: Observers) -> Self {
        let rays = match config.edge.ray_seed {
            Some(seed) => RayGenerator::seeded(seed),
            None => RayGenerator::random(),
        };
        let faults = Arc::new(FaultRules::new(&config.faults, config.emulation.seed));
        // The trace's `fl` only has to look like Cloudflare's front-line ids: derive seven
        // hex digits from this process's ray sequence.
        let instance = format!("{:07x}", rays.instance_id() >> 36);
        let scenarios = Arc::new(Scenarios::new(&config.scenarios, config.emulation.seed));
        let live = Live::new(config, &observers, true);
        EdgeState {
            scenarios,
            faults,
            observers: Arc::new(observers),
            live: RwLock::new(Arc::new(live)),
            reload_from: None,
            rays,
            instance,
            http_port,
            proxy: Arc::from(OWN_PROXY),
            proxies: proxies::Proxies::default(),
        }
    }

    /// The state of proxy `name`, listening on `listen` and forwarding everything to `origin`:
    /// this state's edge settings and observers, no routes, fault rules or toxics of its own
    /// yet, and never reloaded.
    fn proxy_state(&self, name: &str, listen: SocketAddr, origin: OriginAddress) -> EdgeState {
        let config = Arc::new(proxies::proxy_config(&self.config(), listen, origin));
        let rays = match config.edge.ray_seed {
            // Each proxy its own sequence, the same at every run.
            Some(seed) => RayGenerator::seeded(
                name.bytes()
                    .fold(seed, |h, b| h.rotate_left(5) ^ u64::from(b)),
            ),
            None => RayGenerator::random(),
        };
        let live = Live::new(config.clone(), &self.observers, false);
        EdgeState {
            scenarios: Arc::new(Scenarios::new(&[], None)),
            faults: Arc::new(FaultRules::new(&[], config.emulation.seed)),
            observers: self.observers.clone(),
            live: RwLock::new(Arc::new(live)),
            reload_from: None,
            rays,
            instance: self.instance.clone(),
            http_port: listen.port(),
            proxy: Arc::from(name),
            proxies: proxies::Proxies::default(),
        }
    }

    /// Whether this state serves the config's own proxy (which owns the observers).
    pub fn is_own_proxy(&self) -> bool {
        &*self.proxy == OWN_PROXY
    }

    /// The config and origin client in force now.
    pub fn live(&self) -> Arc<Live> {
        // Swapping an Arc cannot leave the value half written: a poisoned lock is still sound.
        self.live.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The config in force now.
    pub fn config(&self) -> Arc<Config> {
        self.live().config.clone()
    }

    /// Puts `config` in force for requests that start from now on. Automatic SSL/TLS starts
    /// over: the origins it names are probed again at once, in the background.
    fn replace(&self, config: Config) {
        let shown = self.is_own_proxy();
        let live = Arc::new(Live::new(Arc::new(config), &self.observers, shown));
        *self.live.write().unwrap_or_else(|p| p.into_inner()) = live.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { live.automatic.warm(&live.config).await });
        }
    }
}

/// Facts about the visitor's connection that every request on it shares.
#[derive(Clone, Copy, Debug)]
pub struct Visit {
    /// The visitor's address.
    pub peer: SocketAddr,
    /// The edge address the visitor connected to.
    pub local: SocketAddr,
    /// What the visitor's TLS handshake negotiated; `None` for plain HTTP.
    pub tls: Option<VisitorTls>,
    /// The connection came in past `[limits] max_connections`: every request on it gets
    /// Cloudflare's 503 and the connection closes.
    pub overloaded: bool,
}

impl Visit {
    /// Whether the visitor came over HTTPS.
    pub fn https(&self) -> bool {
        self.tls.is_some()
    }
}
