//! edgecase as a library: start an edge in-process from a Rust test, point the client under
//! test at it, ask it for faults, read why each request failed, shut it down.
//!
//! ```
//! use std::time::Duration;
//! use edgecase::{EdgeBuilder, FaultSpec};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Nothing listens on port 9 of loopback: a real request would be refused (521).
//! let edge = EdgeBuilder::new()
//!     .origin("127.0.0.1:9")
//!     .connect_timeout(Duration::from_millis(200))
//!     .fault(FaultSpec::status(524).path_prefix("/checkout").delay(Duration::ZERO).count(1))
//!     .start()
//!     .await?;
//! println!("the edge is at {}", edge.url("/"));
//! // A rule can also be added while it runs, and removed by its id.
//! let id = edge.faults().add(FaultSpec::edge(503).path_prefix("/status"))?;
//! assert_eq!(edge.faults().list().len(), 2);
//! assert!(edge.faults().remove(id));
//! edge.shutdown().await?;
//! # Ok(())
//! # }
//! ```

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{
    AdminConfig, Config, ConfigError, OriginAddress, Problem, Railgun, Route, ScenarioSpec,
};
use crate::edge::{EdgeState, Listeners, serve_state};
use crate::emulation::{FaultRules, FaultSpec, FaultView, SpecProblem};
use crate::observe::recent::{RequestQuery, RequestRecord};
use crate::scenario::report::ScenarioReport;
use crate::scenario::{ScenarioError, Scenarios};

/// Why a fault rule was refused: the key at fault and what is wrong.
pub type FaultError = SpecProblem;

/// Why an edge could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is invalid.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the OS said.
        source: io::Error,
    },
    /// The access log or HAR file could not be opened.
    #[error("{0}")]
    Observe(#[from] crate::observe::ObserveError),
}

/// Builds an in-process edge over the same [`Config`] the binary reads.
#[derive(Debug)]
pub struct EdgeBuilder {
    config: Config,
    problems: Vec<Problem>,
}

impl Default for EdgeBuilder {
    fn default() -> Self {
        EdgeBuilder::new()
    }
}

impl EdgeBuilder {
    /// The defaults of an empty config file, except: visitors on 127.0.0.1 with a port the
    /// kernel picks, no control API (the handle controls faults directly), and no access log
    /// on stdout (the handle's [`EdgeHandle::requests`] tells what happened; set
    /// `config_mut().log.access` for lines).
    pub fn new() -> Self {
        let mut config = Config::default();
        config.edge.listen = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        config.admin = None;
        config.log.access = crate::config::Access::Off;
        EdgeBuilder::from_config(config)
    }

    /// Exactly `config` (its listen address included). The control API is served only when
    /// the config sets `[admin] listen` itself: an in-process edge never takes the default
    /// port 8081 (the handle controls faults directly).
    pub fn from_config(config: Config) -> Self {
        EdgeBuilder {
            config,
            problems: Vec::new(),
        }
    }

    /// A config file's text, checked as the binary checks it.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Ok(EdgeBuilder::from_config(Config::from_toml_str(text)?))
    }

    /// The origin, `host:port` (a problem here is reported by [`EdgeBuilder::start`]).
    pub fn origin(mut self, address: impl Into<String>) -> Self {
        match address.into().parse::<OriginAddress>() {
            Ok(address) => self.config.origin.address = address,
            Err(e) => self.problems.push(Problem::new("origin.address", e)),
        }
        self
    }

    /// `timeouts.connect` (522).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.connect = timeout;
        self
    }

    /// `timeouts.ack` (522).
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.ack = timeout;
        self
    }

    /// `timeouts.write` (524).
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.write = timeout;
        self
    }

    /// `timeouts.read` (524).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.read = timeout;
        self
    }

    /// Adds a `[[route]]` after the others.
    pub fn route(mut self, route: Route) -> Self {
        self.config.routes.push(route);
        self
    }

    /// Adds a `[[fault]]` rule after the others.
    pub fn fault(mut self, fault: FaultSpec) -> Self {
        if let Err(problem) = fault.compile() {
            let index = self.config.faults.len();
            let key = format!("fault[{index}].{}", problem.key);
            self.problems.push(Problem::new(key, problem.message));
        }
        self.config.faults.push(fault);
        self
    }

    /// Adds a `[[scenario]]` (checked as the config checks one). One with `start =
    /// AtLaunch` starts as the edge starts; any other with [`EdgeHandle::run_scenario`] or
    /// [`EdgeHandle::scenarios`].
    pub fn scenario(mut self, scenario: ScenarioSpec) -> Self {
        let index = self.config.scenarios.len();
        if self
            .config
            .scenarios
            .iter()
            .any(|s| s.name == scenario.name)
        {
            let key = format!("scenario[{index}].name");
            self.problems
                .push(Problem::new(key, "names an earlier scenario too"));
        }
        if let Err(e) = scenario.check() {
            for problem in e.problems {
                let key = match problem.key.is_empty() {
                    true => format!("scenario[{index}]"),
                    false => format!("scenario[{index}].{}", problem.key),
                };
                self.problems.push(Problem::new(key, problem.why));
            }
        }
        self.config.scenarios.push(scenario);
        self
    }

    /// `[edge] ray_seed`: the same ray IDs in the same order at every run.
    pub fn ray_seed(mut self, seed: u64) -> Self {
        self.config.edge.ray_seed = Some(seed);
        self
    }

    /// `[emulation] seed`: the same `percent` and jitter draws at every run.
    pub fn fault_seed(mut self, seed: u64) -> Self {
        self.config.emulation.seed = Some(seed);
        self
    }

    /// `[emulation] header_faults`: whether `cf-edgecase-fault` picks a fault.
    pub fn header_faults(mut self, on: bool) -> Self {
        self.config.emulation.header_faults = on;
        self
    }

    /// `[emulation] explain`: whether edge-made answers carry `cf-edgecase-cause`.
    pub fn explain(mut self, on: bool) -> Self {
        self.config.emulation.explain = on;
        self
    }

    /// `[railgun]`: enabled, with this LAN timeout.
    pub fn railgun(mut self, lan_timeout: Duration) -> Self {
        self.config.railgun = Some(Railgun { lan_timeout });
        self
    }

    /// `[dns] hosts`: `name` resolves to `ip` (added to its addresses).
    pub fn dns_host(mut self, name: &str, ip: IpAddr) -> Self {
        let name = name.to_ascii_lowercase();
        self.config.dns.hosts.entry(name).or_default().push(ip);
        self
    }

    /// Also serves the control API on `addr` (loopback, or set a token in the config).
    pub fn admin(mut self, addr: SocketAddr) -> Self {
        self.config.admin = Some(AdminConfig {
            listen: addr,
            token: None,
            default_listen: false,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
        });
        self
    }

    /// The config being built, for any setting without its own method.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// Binds the listeners and starts serving in the background.
    pub async fn start(self) -> Result<EdgeHandle, StartError> {
        if !self.problems.is_empty() {
            return Err(ConfigError::new(self.problems).into());
        }
        let config = self.config;
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Bind { addr, source })
        };
        let http = bind(config.edge.listen).await?;
        let https = match &config.edge.tls {
            Some(tls) => Some(bind(tls.listen).await?),
            None => None,
        };
        let admin = match &config.admin {
            Some(admin) if !admin.default_listen => Some(bind(admin.listen).await?),
            _ => None,
        };
        let local = |listener: &TcpListener| {
            listener.local_addr().map_err(|source| StartError::Bind {
                addr: config.edge.listen,
                source,
            })
        };
        let addr = local(&http)?;
        let https_addr = https.as_ref().map(local).transpose()?;
        let admin_addr = admin.as_ref().map(local).transpose()?;
        let state = Arc::new(EdgeState::new(Arc::new(config), addr.port())?);
        let controls = Controls {
            faults: state.faults.clone(),
        };
        let recent = state.observers.recent.clone();
        let scenarios = state.scenarios.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            // A dropped handle stops the edge too.
            let _ = stopped.await;
        };
        let listeners = Listeners {
            http,
            https,
            admin: admin.map(crate::admin::port),
            closed: None,
        };
        let task = tokio::spawn(serve_state(listeners, state, shutdown));
        Ok(EdgeHandle {
            addr,
            https_addr,
            admin_addr,
            faults: controls,
            recent,
            scenarios,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// The fault rules of a running edge.
#[derive(Clone)]
pub struct Controls {
    faults: Arc<FaultRules>,
}

impl Controls {
    /// Adds a rule after the others; its id.
    pub fn add(&self, fault: FaultSpec) -> Result<u64, FaultError> {
        self.faults.add(fault).map(|view| view.id)
    }

    /// Removes rule `id`; whether it was there.
    pub fn remove(&self, id: u64) -> bool {
        self.faults.remove(id)
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.faults.clear();
    }

    /// The live rules, in evaluation order.
    pub fn list(&self) -> Vec<FaultView> {
        self.faults.list()
    }
}

/// A running edge. Dropping it stops the edge without waiting; [`EdgeHandle::shutdown`]
/// waits for requests in flight (up to `edge.shutdown_grace`).
pub struct EdgeHandle {
    addr: SocketAddr,
    https_addr: Option<SocketAddr>,
    admin_addr: Option<SocketAddr>,
    faults: Controls,
    recent: Arc<crate::observe::recent::RecentRequests>,
    scenarios: Arc<Scenarios>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl EdgeHandle {
    /// Where visitors connect (plain HTTP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Where visitors connect over HTTPS, when configured.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https_addr
    }

    /// Where the control API listens, when started with one.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The fault rules, to add and remove while the edge runs.
    pub fn faults(&self) -> &Controls {
        &self.faults
    }

    /// The most recent requests (up to 100), newest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.recent.query(&RequestQuery::default())
    }

    /// The record of ray `ray` (with or without its `-COLO`), while it is among the last
    /// thousand requests.
    pub fn request(&self, ray: &str) -> Option<RequestRecord> {
        self.recent.find(ray)
    }

    /// The scenarios: add one at run time, start, stop, read a report, await one.
    pub fn scenarios(&self) -> &Arc<Scenarios> {
        &self.scenarios
    }

    /// Starts scenario `name` and waits for its report: once its phases have run and every
    /// request that arrived meanwhile has finished.
    ///
    /// ```no_run
    /// # async fn incident() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use edgecase::{EdgeBuilder, FaultSpec, PhaseSpec, ScenarioSpec};
    ///
    /// let edge = EdgeBuilder::new()
    ///     .origin("127.0.0.1:3000")
    ///     .scenario(
    ///         ScenarioSpec::new("outage")
    ///             .phase(PhaseSpec::new("healthy", Duration::from_secs(5)))
    ///             .phase(PhaseSpec::new("down", Duration::from_secs(5)).fault(FaultSpec::refuse())),
    ///     )
    ///     .start()
    ///     .await?;
    /// // ... drive traffic meanwhile ...
    /// let report = edge.run_scenario("outage").await?;
    /// println!("{}", report.table());
    /// # Ok(()) }
    /// ```
    pub async fn run_scenario(&self, name: &str) -> Result<ScenarioReport, ScenarioError> {
        self.scenarios.start(name)?;
        self.scenarios
            .finished(name)
            .await
            .ok_or_else(|| ScenarioError::NotFound(name.to_owned()))
    }

    /// Stops accepting, lets requests in flight finish, and waits until the edge is done.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for EdgeHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
