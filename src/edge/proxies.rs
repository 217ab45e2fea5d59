//! The proxies made by the control API (`POST /proxies`, Toxiproxy's API) or by `[[proxy]]`
//! tables: each one an HTTP listener with a state of its own (origin, toxics, enabled switch)
//! that shares the config's edge settings and observers. This module owns starting, updating
//! and stopping them. The config's own proxy (`edgecase`) is not here: it is the process's
//! [`EdgeState`]; the HTTP side is `admin::toxiproxy`.

use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::{EdgeState, Listeners, serve_state};
use crate::config::{Config, InvalidOriginAddress, OWN_PROXY, OriginAddress, ProxySpec};

/// What `POST /proxies/{name}` changes; `None` keeps the value.
#[derive(Clone, Debug, Default)]
pub struct ProxyChange {
    /// A new address to listen on: the old listener stops once the new one is bound.
    pub listen: Option<String>,
    /// A new origin, for requests that start from now on.
    pub upstream: Option<String>,
    /// See [`ProxySpec::enabled`].
    pub enabled: Option<bool>,
}

/// A running proxy, as the control API shows it.
#[derive(Clone)]
pub struct ProxyView {
    /// Its name.
    pub name: String,
    /// The address its listener is bound to (the port the kernel picked, for port 0).
    pub listen: SocketAddr,
    /// Its origin.
    pub upstream: OriginAddress,
    /// Its state: toxics and enabled switch (`faults`), observers.
    pub state: Arc<EdgeState>,
}

impl ProxyView {
    /// Whether it listens and forwards as `spec` asks (port 0 never matches: it asks for a
    /// new port).
    pub fn matches(&self, spec: &ProxySpec) -> bool {
        same_address(&spec.listen, self.listen)
            && spec.upstream.parse::<OriginAddress>().ok().as_ref() == Some(&self.upstream)
    }
}

/// Why a proxy could not be made, changed or removed.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The name is empty.
    #[error("name: missing (every proxy needs one)")]
    NoName,
    /// A proxy of that name exists.
    #[error("proxy already exists: {0}")]
    Exists(String),
    /// No proxy of that name.
    #[error("proxy not found: {0}")]
    NotFound(String),
    /// The config's own proxy is the process's listener: it lives as long as the process.
    #[error(
        "proxy {OWN_PROXY:?} is the config's own listener ([edge] listen) and cannot be \
         deleted; disable it instead"
    )]
    Own,
    /// `listen` is not an address, or cannot be bound.
    #[error("listen: cannot listen on {listen}: {source}")]
    Listen {
        /// The address as given.
        listen: String,
        /// What the OS (or the parser) said.
        source: io::Error,
    },
    /// `upstream` is not `host:port`.
    #[error("upstream: {upstream:?} is not host:port: {source}")]
    Upstream {
        /// The address as given.
        upstream: String,
        /// Why not.
        source: InvalidOriginAddress,
    },
}

/// The proxies of one process, by name.
#[derive(Default)]
pub struct Proxies {
    running: Mutex<BTreeMap<String, Running>>,
}

/// One proxy's listener task and how to stop it.
struct Running {
    view: ProxyView,
    stop: Stop,
}

/// How to stop one listener task. Dropping it stops the task too.
struct Stop {
    /// Sending or dropping stops its accept loop; requests in flight finish.
    signal: oneshot::Sender<()>,
    /// Ends once the loop has closed its socket.
    closed: oneshot::Receiver<()>,
}

impl Stop {
    fn send(self) -> Closing {
        let _ = self.signal.send(());
        Closing(self.closed)
    }
}

/// A stopped proxy whose listening socket may still be open for a moment: the task that
/// owns it closes it at its next poll. Await [`Closing::done`] before saying it is gone, so
/// that the port refuses (or can be bound again) once the answer is out, as in Toxiproxy.
#[must_use = "the port may still accept until `done` is awaited"]
pub struct Closing(oneshot::Receiver<()>);

impl Closing {
    /// Resolves once the socket is closed.
    pub async fn done(self) {
        // The sender is dropped, never sent on: an error here is the signal.
        let _ = self.0.await;
    }
}

impl Proxies {
    /// Starts proxy `spec` beside `own` (whose config gives the edge settings).
    pub fn create(&self, own: &EdgeState, spec: &ProxySpec) -> Result<ProxyView, ProxyError> {
        if spec.name.is_empty() {
            return Err(ProxyError::NoName);
        }
        let mut running = self.lock();
        if spec.name == OWN_PROXY || running.contains_key(&spec.name) {
            return Err(ProxyError::Exists(spec.name.clone()));
        }
        let upstream = upstream(&spec.upstream)?;
        let listener = bind(&spec.listen)?;
        let listen = local_addr(&listener, &spec.listen)?;
        let state = Arc::new(own.proxy_state(&spec.name, listen, upstream.clone()));
        state.faults.set_enabled(spec.enabled);
        let view = ProxyView {
            name: spec.name.clone(),
            listen,
            upstream,
            state,
        };
        let stop = start(listener, view.state.clone());
        running.insert(
            spec.name.clone(),
            Running {
                view: view.clone(),
                stop,
            },
        );
        Ok(view)
    }

    /// Applies `change` to proxy `name`; a new `listen` gives back the old listener's
    /// [`Closing`].
    pub fn update(
        &self,
        name: &str,
        change: &ProxyChange,
    ) -> Result<(ProxyView, Option<Closing>), ProxyError> {
        let mut running = self.lock();
        let entry = running
            .get_mut(name)
            .ok_or_else(|| ProxyError::NotFound(name.to_owned()))?;
        let upstream = change.upstream.as_deref().map(upstream).transpose()?;
        let listener = match change.listen.as_deref() {
            Some(text) if !same_address(text, entry.view.listen) => Some((bind(text)?, text)),
            _ => None,
        };
        if let Some(upstream) = upstream
            && upstream != entry.view.upstream
        {
            let state = &entry.view.state;
            let config = proxy_config(&state.config(), entry.view.listen, upstream.clone());
            state.replace(config);
            entry.view.upstream = upstream;
        }
        let mut closing = None;
        if let Some((listener, text)) = listener {
            entry.view.listen = local_addr(&listener, text)?;
            let stop = start(listener, entry.view.state.clone());
            // The old loop stops accepting; its requests in flight finish.
            closing = Some(std::mem::replace(&mut entry.stop, stop).send());
        }
        if let Some(enabled) = change.enabled {
            entry.view.state.faults.set_enabled(enabled);
        }
        Ok((entry.view.clone(), closing))
    }

    /// Stops proxy `name`'s listener (requests in flight finish) and forgets it.
    pub fn remove(&self, name: &str) -> Result<Closing, ProxyError> {
        if name == OWN_PROXY {
            return Err(ProxyError::Own);
        }
        let removed = self.lock().remove(name);
        let running = removed.ok_or_else(|| ProxyError::NotFound(name.to_owned()))?;
        Ok(running.stop.send())
    }

    /// Proxy `name`, when running.
    pub fn find(&self, name: &str) -> Option<ProxyView> {
        self.lock().get(name).map(|r| r.view.clone())
    }

    /// Every running proxy, by name.
    pub fn list(&self) -> Vec<ProxyView> {
        self.lock().values().map(|r| r.view.clone()).collect()
    }

    /// Stops every proxy (the process is shutting down).
    pub fn stop_all(&self) {
        for (_, running) in std::mem::take(&mut *self.lock()) {
            // The process is going: nobody waits for the sockets to close.
            let _ = running.stop.send();
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Running>> {
        // Each change is made whole under the lock: a poisoned lock still holds a sound map.
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The config of a proxy listening on `listen` and forwarding everything to `origin`: `own`'s
/// edge settings, without its routes, fault rules, control API, HTTPS listener or proxies.
pub(super) fn proxy_config(own: &Config, listen: SocketAddr, origin: OriginAddress) -> Config {
    let mut config = own.clone();
    config.edge.listen = listen;
    config.edge.tls = None;
    config.origin.address = origin;
    config.routes.clear();
    config.faults.clear();
    config.admin = None;
    config.proxies.clear();
    config
}

/// Serves `state` on `listener` in the background until the returned [`Stop`] is used or
/// dropped.
fn start(listener: TcpListener, state: Arc<EdgeState>) -> Stop {
    let (signal, stopped) = oneshot::channel::<()>();
    let (closed_tx, closed) = oneshot::channel::<()>();
    let name = state.proxy.clone();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        let listeners = Listeners {
            closed: Some(closed_tx),
            ..Listeners::from(listener)
        };
        if let Err(e) = serve_state(listeners, state, shutdown).await {
            tracing::warn!(proxy = %name, error = %e, "proxy stopped");
        }
    });
    Stop { signal, closed }
}

fn upstream(text: &str) -> Result<OriginAddress, ProxyError> {
    text.parse().map_err(|source| ProxyError::Upstream {
        upstream: text.to_owned(),
        source,
    })
}

/// `text`'s first address (`localhost:0` as Toxiproxy takes it), bound now.
fn bind(text: &str) -> Result<TcpListener, ProxyError> {
    let fail = |source: io::Error| ProxyError::Listen {
        listen: text.to_owned(),
        source,
    };
    let addr = text
        .to_socket_addrs()
        .map_err(fail)?
        .next()
        .ok_or_else(|| fail(io::Error::new(io::ErrorKind::InvalidInput, "no address")))?;
    let listener = std::net::TcpListener::bind(addr).map_err(fail)?;
    listener.set_nonblocking(true).map_err(fail)?;
    TcpListener::from_std(listener).map_err(fail)
}

fn local_addr(listener: &TcpListener, text: &str) -> Result<SocketAddr, ProxyError> {
    listener.local_addr().map_err(|source| ProxyError::Listen {
        listen: text.to_owned(),
        source,
    })
}

/// Whether `text` names `bound` itself (so there is nothing to rebind); port 0 never does.
fn same_address(text: &str, bound: SocketAddr) -> bool {
    text.to_socket_addrs()
        .is_ok_and(|mut addrs| addrs.any(|a| a == bound))
}
