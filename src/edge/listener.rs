//! Accepting visitors: the accept loops (HTTP on `edge.listen`, HTTPS on `edge.tls_listen`),
//! the visitor's TLS handshake, the hyper connection builder (HTTP/1.1 and h2c on the plain
//! port; h2 and http/1.1 by ALPN over TLS) and graceful shutdown. It does not look at requests;
//! [`super::service`] does.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicUsize, Ordering};

use http::{Request, Response, Version};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncBufReadExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::config::{Config, SslInForce, SslMode};
use crate::edge::body::EdgeBody;
use crate::edge::framing::{AmbiguousFraming, Heads, Interim, Scanned};
use crate::edge::protocols::{CloseAll, Closing, Protocol, Servers};
use crate::edge::trim::OpenConnections;
use crate::edge::{EdgeState, Visit, service};
use crate::tls::visitor::VisitorTls;

/// How long a visitor has to complete the TLS handshake after connecting. edgecase's own
/// choice (Cloudflare publishes none): long enough for any real client, short enough that a
/// connection that never speaks does not hold a task for long.
pub const VISITOR_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The sockets visitors connect to: HTTP always, HTTPS when `edge.tls_listen` is set.
#[derive(Debug)]
pub struct Listeners {
    /// Plain HTTP/1.1 and h2c.
    pub http: TcpListener,
    /// TLS with ALPN h2 and http/1.1; needs `edge.tls_cert` and `edge.tls_key` in the config.
    pub https: Option<TcpListener>,
    /// The control API (`[admin] listen`), with what answers on it.
    pub admin: Option<AdminPort>,
    /// Dropped as soon as the sockets above are closed, before requests in flight drain: whoever
    /// stops the edge can await its receiver to know new connections are refused.
    pub closed: Option<oneshot::Sender<()>>,
}

/// What answers one control API request. The control API is a layer above the edge, so the
/// edge does not name it: whoever binds the port (main, the library, the demo) hands it in,
/// as `crate::admin::port` does.
pub type ControlApi =
    fn(
        Arc<EdgeState>,
        Request<Incoming>,
    ) -> Pin<Box<dyn Future<Output = Result<Response<EdgeBody>, Infallible>> + Send>>;

/// The control API's port: the socket and what answers on it.
pub struct AdminPort {
    /// `[admin] listen`, bound.
    pub listener: TcpListener,
    /// The control API.
    pub answer: ControlApi,
}

impl fmt::Debug for AdminPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminPort")
            .field("listener", &self.listener)
            .finish_non_exhaustive()
    }
}

impl From<TcpListener> for Listeners {
    /// HTTP only.
    fn from(http: TcpListener) -> Self {
        Listeners {
            http,
            https: None,
            admin: None,
            closed: None,
        }
    }
}

/// How long the accept loop pauses after an accept error (such as running out of file
/// descriptors) before trying again, so it does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Serves visitors from `listeners` with `config` until `shutdown` completes, then stops
/// accepting and lets requests in flight finish for at most `edge.shutdown_grace`.
///
/// An HTTPS listener without `edge.tls_*` in `config` is an error (there is no certificate to
/// serve it with).
pub async fn serve(
    listeners: impl Into<Listeners>,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let listeners = listeners.into();
    let http_port = listeners.http.local_addr()?.port();
    let state = EdgeState::new(Arc::new(config), http_port).map_err(io::Error::other)?;
    serve_state(listeners, Arc::new(state), shutdown).await
}

/// As [`serve`], reloading the config from `source` on `SIGHUP` and `POST /reload`.
pub async fn serve_reloadable(
    listeners: impl Into<Listeners>,
    config: Config,
    source: crate::edge::reload::Source,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let listeners = listeners.into();
    let http_port = listeners.http.local_addr()?.port();
    let mut state = EdgeState::new(Arc::new(config), http_port).map_err(io::Error::other)?;
    state.reload_from = Some(source);
    serve_state(listeners, Arc::new(state), shutdown).await
}

/// As [`serve`], with the state made by the caller (who keeps a handle on its fault rules and
/// recent requests: the library's [`crate::EdgeHandle`]).
pub async fn serve_state(
    listeners: Listeners,
    state: Arc<EdgeState>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let config = &state.config();
    if listeners.https.is_some() && config.edge.tls.is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an HTTPS listener needs edge.tls_cert and edge.tls_key",
        ));
    }
    let local = listeners.http.local_addr()?;
    let tls_local = listeners
        .https
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    let admin_local = listeners
        .admin
        .as_ref()
        .map(|admin| admin.listener.local_addr())
        .transpose()?;
    // Before the start-up lines: a SIGHUP right after them must reload, not kill the process.
    let hangups = match state.reload_from {
        Some(_) => Some(hangup_signals()?),
        None => None,
    };
    if !state.is_own_proxy() {
        info!(
            proxy = %state.proxy,
            listen = %local,
            origin = %config.origin.address,
            "proxy {} serving http://{local}/, forwarding to {}",
            state.proxy,
            config.origin.address
        );
        return serve_accepting(listeners, state, hangups, shutdown).await;
    }
    // `[[proxy]]`: bound before the start-up line, like the config's own listener.
    for spec in &config.proxies {
        if let Err(e) = state.proxies.create(&state, spec) {
            state.proxies.stop_all();
            return Err(io::Error::other(format!("proxy {:?}: {e}", spec.name)));
        }
    }
    let ssl = startup_ssl(&state).await;
    announce(config, &ssl, local, tls_local);
    if let Some(addr) = admin_local {
        info!(admin = %addr, "edgecase control API on http://{addr}/");
    }
    if let Some(name) = state.scenarios.at_launch()
        && let Err(e) = state.scenarios.start(&name)
    {
        warn!(scenario = %name, "scenario {name:?} did not start at launch: {e}");
    }
    let served = serve_accepting(listeners, state.clone(), hangups, shutdown).await;
    state.proxies.stop_all();
    // The last lines and HAR entries reach their files before the process exits. A blocking
    // wait, so off the runtime's workers.
    let observers = state.observers.clone();
    let _ = tokio::task::spawn_blocking(move || observers.close(OBSERVERS_CLOSE_WAIT)).await;
    served
}

/// The accept loop of [`serve_state`], until `shutdown` and the grace after it are over.
async fn serve_accepting(
    listeners: Listeners,
    state: Arc<EdgeState>,
    mut hangups: Option<Hangups>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let Listeners {
        http,
        https,
        admin,
        closed,
    } = listeners;
    let config = &state.config();
    let acceptor = match (&https, &config.edge.tls) {
        (Some(_), Some(tls)) => Some(TlsAcceptor::from(tls.server.clone())),
        _ => None,
    };
    let grace = match state.is_own_proxy() {
        true => config.edge.shutdown_grace,
        false => config.edge.shutdown_grace.max(DELETED_PROXY_GRACE),
    };
    let local = http.local_addr()?;
    let tls_local = https.as_ref().map(TcpListener::local_addr).transpose()?;

    let servers = Arc::new(Servers::new(&config.visitor));
    let connection_limit = config
        .visitor
        .max_connections
        .map(|n| Arc::new(Semaphore::new(n)));
    let open_connections = Arc::new(OpenConnections::default());
    let trimming = tokio::spawn(open_connections.clone().give_back_after_bursts());
    let (close_all, closing) = CloseAll::new();
    // Every visitor connection's task, so the ones still open when the grace runs out can be
    // closed. Finished tasks are reaped at each accept, so the set stays as large as the number
    // of open connections.
    let mut connections = JoinSet::new();

    tokio::pin!(shutdown);
    loop {
        let (accepted, port) = tokio::select! {
            () = next_hangup(hangups.as_mut()) => {
                // The problems of a refused file are logged by `reload`.
                let _ = state.reload();
                continue;
            }
            accepted = http.accept() => (accepted, Port::Http),
            accepted = accept_on(https.as_ref()) => (accepted, Port::Https),
            accepted = accept_on(admin.as_ref().map(|admin| &admin.listener)) => {
                (accepted, Port::Admin)
            }
            () = &mut shutdown => break,
        };
        let secure = port == Port::Https;
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        // Nagle only delays small responses such as error pages; failing to turn it off
        // costs latency, not correctness.
        let _ = stream.set_nodelay(true);
        let mut visit = Visit {
            peer,
            local: tls_local.filter(|_| secure).unwrap_or(local),
            tls: None,
            overloaded: false,
        };
        let permit = admit(connection_limit.as_ref(), port, &mut visit);
        let state = state.clone();
        let servers = servers.clone();
        let closing = closing.clone();
        let acceptor = acceptor.clone().filter(|_| secure);
        let control_api = admin.as_ref().map(|admin| admin.answer);
        while connections.try_join_next().is_some() {}
        let counted = open_connections.count();
        let accepted = Accepted {
            port,
            stream,
            visit,
        };
        connections.spawn(async move {
            let _permit = permit;
            let _counted = counted;
            serve_connection(accepted, &servers, state, acceptor, control_api, closing).await
        });
    }
    trimming.abort();
    drop(http);
    drop(https);
    drop(admin);
    drop(closed);
    drain(connections, close_all, grace).await;
    Ok(())
}

/// One accepted connection, before its protocol is known.
struct Accepted {
    port: Port,
    stream: TcpStream,
    visit: Visit,
}

/// Serves one connection to its end, by the port it came in on: the control API, plain HTTP, or
/// TLS when `acceptor` is given. The admin and TLS paths are boxed so that a plain visitor's
/// task, held for as long as its request waits on the origin, is sized for the plain path only.
async fn serve_connection(
    accepted: Accepted,
    servers: &Servers,
    state: Arc<EdgeState>,
    acceptor: Option<TlsAcceptor>,
    control_api: Option<ControlApi>,
    closing: Closing,
) {
    let Accepted {
        port,
        stream,
        visit,
    } = accepted;
    match (port, acceptor) {
        (Port::Admin, _) => {
            // Only the admin listener accepts with `Port::Admin`.
            if let Some(answer) = control_api {
                Box::pin(serve_admin(servers, state, answer, stream, closing)).await
            }
        }
        (_, None) => serve_plain(servers, state, visit, stream, closing).await,
        (_, Some(acceptor)) => {
            Box::pin(serve_tls(servers, state, visit, stream, acceptor, closing)).await
        }
    }
}

/// Past `max_connections` a visitor is still answered (503), never queued: no permit, and the
/// visit is marked overloaded. The permit lives as long as the connection's task; the control
/// API is never counted.
fn admit(
    limit: Option<&Arc<Semaphore>>,
    port: Port,
    visit: &mut Visit,
) -> Option<tokio::sync::OwnedSemaphorePermit> {
    let limit = limit.filter(|_| port != Port::Admin)?;
    let permit = limit.clone().try_acquire_owned().ok();
    visit.overloaded = permit.is_none();
    permit
}

/// A plain-port visitor: HTTP/1.1 or h2c, told apart by its first bytes. hyper's header clock
/// starts once it has the connection, so those bytes are waited for here: a visitor that sends
/// nothing within `client_header_timeout` (or before shutdown) is dropped.
async fn serve_plain(
    servers: &Servers,
    state: Arc<EdgeState>,
    visit: Visit,
    stream: TcpStream,
    mut closing: Closing,
) {
    let header_timeout = state.config().visitor.client_header_timeout;
    let first = tokio::time::timeout(header_timeout, Protocol::sniff(&stream));
    match closing.unless_closing(first).await {
        Some(Ok(Ok(Some(protocol)))) => {
            let serving = Serving {
                servers,
                protocol,
                closing,
            };
            serve_visitor(serving, state, visit, stream).await
        }
        _ => debug!(peer = %visit.peer, "visitor sent nothing; dropped"),
    }
}

/// Shutdown once the sockets are closed: every open connection is told to finish (`close_all`),
/// and the ones still open after `grace` are closed.
async fn drain(mut connections: JoinSet<()>, close_all: CloseAll, grace: Duration) {
    while connections.try_join_next().is_some() {}
    let in_flight = connections.len();
    info!(in_flight, grace = ?grace, "shutting down: no longer accepting");
    close_all.announce();
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drained).await.is_err() {
        warn!(
            grace = ?grace,
            open = connections.len(),
            "requests still in flight after the shutdown grace; closing them"
        );
        connections.shutdown().await;
    }
}

/// How long a proxy deleted (or rebound) through the control API lets its requests in flight
/// finish, at least: longer than the default read timeout (100 s), so they end as they would
/// have, while the process goes on.
const DELETED_PROXY_GRACE: Duration = Duration::from_secs(120);

/// How long shutdown waits for the log and HAR writers to drain.
const OBSERVERS_CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Which listener a connection came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Port {
    Http,
    Https,
    Admin,
}

/// Serves one control API connection (HTTP/1.1) with `answer`.
async fn serve_admin(
    servers: &Servers,
    state: Arc<EdgeState>,
    answer: ControlApi,
    stream: TcpStream,
    closing: Closing,
) {
    let service = service_fn(move |request| answer(state.clone(), request));
    let connection = servers
        .http1
        .serve_connection(TokioIo::new(stream), service);
    closing.serve(connection, |c| c.graceful_shutdown()).await;
}

/// The `SIGHUP`s that reload the config.
#[cfg(unix)]
type Hangups = tokio::signal::unix::Signal;

/// The stream of `SIGHUP`s (Unix).
#[cfg(unix)]
fn hangup_signals() -> io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
}

/// Waits for the next `SIGHUP`, or forever without a stream.
#[cfg(unix)]
async fn next_hangup(signals: Option<&mut tokio::signal::unix::Signal>) {
    match signals {
        Some(signals) => {
            if signals.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// Accepts on `listener`, or never when there is none.
async fn accept_on(listener: Option<&TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

/// Runs the visitor's TLS handshake (within [`VISITOR_TLS_HANDSHAKE_TIMEOUT`]), then serves
/// the connection with what it negotiated recorded in the [`Visit`].
async fn serve_tls(
    servers: &Servers,
    state: Arc<EdgeState>,
    mut visit: Visit,
    stream: TcpStream,
    acceptor: TlsAcceptor,
    mut closing: Closing,
) {
    let handshake = tokio::time::timeout(VISITOR_TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream));
    let Some(handshake) = closing.unless_closing(handshake).await else {
        return;
    };
    match handshake {
        Ok(Ok(tls)) => {
            visit.tls = Some(VisitorTls::of(tls.get_ref().1));
            // As for plain HTTP: hyper's header clock starts only once it has bytes to tell
            // the protocol by, so wait for the first ones here.
            let header_timeout = state.config().visitor.client_header_timeout;
            let mut stream = tokio::io::BufReader::with_capacity(TLS_FIRST_READ, tls);
            let h2 = stream.get_ref().get_ref().1.alpn_protocol() == Some(b"h2");
            let first = tokio::time::timeout(header_timeout, stream.fill_buf());
            let protocol = match closing.unless_closing(first).await {
                Some(Ok(Ok(bytes))) if !bytes.is_empty() => match h2 {
                    true => Protocol::Http2,
                    false => Protocol::of_first_bytes(bytes).unwrap_or(Protocol::Http1),
                },
                _ => {
                    debug!(peer = %visit.peer, "visitor sent nothing after its TLS handshake; dropped");
                    return;
                }
            };
            let serving = Serving {
                servers,
                protocol,
                closing,
            };
            serve_visitor(serving, state, visit, stream).await;
        }
        // A visitor that does not trust the certificate, or speaks no TLS, is the visitor's
        // problem, not the edge's: noted at debug level only.
        Ok(Err(e)) => debug!(peer = %visit.peer, error = %e, "visitor TLS handshake failed"),
        Err(_) => debug!(peer = %visit.peer, "visitor TLS handshake timed out"),
    }
}

/// How one visitor connection is to be served.
struct Serving<'a> {
    servers: &'a Servers,
    protocol: Protocol,
    closing: Closing,
}

/// Serves one visitor connection until it closes (or shutdown closes it).
///
/// An HTTP/1.x visitor's bytes pass a [`Scanned`] on their way to hyper, so a request whose
/// head had both `Content-Length` and `Transfer-Encoding` is marked ([`AmbiguousFraming`]) for
/// the 400 Cloudflare gives it, and an origin's 103 can be written ahead of hyper.
async fn serve_visitor<S>(serving: Serving<'_>, state: Arc<EdgeState>, visit: Visit, stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Serving {
        servers,
        protocol,
        closing,
    } = serving;
    if protocol == Protocol::Http2 {
        let service = service_fn(move |request| service::handle(state.clone(), visit, request));
        let connection = servers
            .http2
            .serve_connection(TokioIo::new(stream), service);
        // Boxed: an h2 connection's state is larger than HTTP/1.1's, which most tasks hold.
        Box::pin(closing.serve(connection, |c| c.graceful_shutdown())).await;
        return;
    }
    let heads = Arc::new(Heads::default());
    let interim = Arc::new(Interim::default());
    let io = TokioIo::new(Scanned::new(stream, heads.clone(), interim.clone()));
    let requests = AtomicUsize::new(0);
    let service = service_fn(move |mut request: Request<Incoming>| {
        if request.version() <= Version::HTTP_11 {
            let index = requests.fetch_add(1, Ordering::Relaxed);
            if heads.ambiguous(index) {
                request.extensions_mut().insert(AmbiguousFraming);
            }
            if request.version() == Version::HTTP_11 {
                request.extensions_mut().insert(interim.clone());
            }
        }
        service::handle(state.clone(), visit, request)
    });
    let connection = servers.http1.serve_connection(io, service).with_upgrades();
    // A visitor that goes away mid-request is routine, not an edge error.
    closing.serve(connection, |c| c.graceful_shutdown()).await;
}

/// The buffer in front of a visitor's TLS stream, big enough for one TLS record's plaintext.
const TLS_FIRST_READ: usize = 16 * 1024;

/// How long start-up waits for Automatic SSL/TLS to probe the origins named by `sni` before
/// announcing (and serving) anyway; probes not done by then go on in the background.
const STARTUP_PROBE_WAIT: Duration = Duration::from_secs(3);

/// `[origin]`'s SSL mode for the start-up line: `full`, or for Automatic the mode chosen when
/// `[origin] sni` let it probe at start (`automatic:full_strict`), else `automatic`.
async fn startup_ssl(state: &EdgeState) -> String {
    let live = state.live();
    let config = &live.config;
    let origin = config.origin_target();
    let warming = {
        let live = live.clone();
        tokio::spawn(async move { live.automatic.warm(&live.config).await })
    };
    let _ = tokio::time::timeout(STARTUP_PROBE_WAIT, warming).await;
    let chosen = match (origin.ssl, origin.sni) {
        (SslMode::Automatic, Some(name)) => live.automatic.known(&origin, name),
        _ => None,
    };
    SslInForce {
        configured: origin.ssl,
        chosen,
    }
    .to_string()
}

/// The one start-up line: where edgecase listens, where it forwards, the timeouts in force.
fn announce(config: &Config, ssl: &str, local: SocketAddr, tls_local: Option<SocketAddr>) {
    let t = &config.timeouts;
    let https = tls_local.map_or(String::new(), |addr| format!(" and https://{addr}/"));
    info!(
        listen = %local,
        tls_listen = tls_local.map(tracing::field::display),
        origin = %config.origin.address,
        ssl = %ssl,
        routes = config.routes.len(),
        profile = %config.profile,
        connect = ?t.connect,
        ack = ?t.ack,
        write = ?t.write,
        read = ?t.read,
        origin_header_bytes = config.limits.origin_header_bytes,
        colo = %config.edge.colo,
        "edgecase listening on http://{local}/{https}, forwarding to {}", config.origin.address
    );
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM: the binary's shutdown future.
///
/// The handlers are installed when this is called, not when the future is first polled, so a
/// signal that arrives between "listening" and the first accept still shuts down cleanly
/// instead of killing the process. Call it before announcing readiness.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                // No handler could be installed: keep serving; the default action of the
                // signal still stops the process.
                (Ok(mut only), Err(_)) | (Err(_), Ok(mut only)) => {
                    only.recv().await;
                }
                (Err(_), Err(_)) => std::future::pending::<()>().await,
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}
