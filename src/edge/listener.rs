//! Accepting visitors: the accept loop, the hyper connection builder (HTTP/1.1 and h2c on one
//! port) and graceful shutdown. It does not look at requests; [`super::service`] does.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::config::Config;
use crate::edge::{EdgeState, Visit, service};

/// How long a visitor's HTTP/1.1 connection may sit idle between requests: Cloudflare's
/// 400 s visitor keep-alive.
pub const VISITOR_IDLE_TIMEOUT: Duration = Duration::from_secs(400);

/// How long the accept loop pauses after an accept error (such as running out of file
/// descriptors) before trying again, so it does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Serves visitors from `listener` with `config` until `shutdown` completes, then stops
/// accepting and lets requests in flight finish for at most `edge.shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let config = Arc::new(config);
    let grace = config.edge.shutdown_grace;
    let state = Arc::new(EdgeState::new(config));
    let local = listener.local_addr()?;
    announce(&state.config, local);

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(VISITOR_IDLE_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    // Every visitor connection's task, so the ones still open when the grace runs out can be
    // closed. Finished tasks are reaped at each accept, so the set stays as large as the number
    // of open connections.
    let mut connections = JoinSet::new();

    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Nagle only delays small responses such as error pages; failing to turn it off
        // costs latency, not correctness.
        let _ = stream.set_nodelay(true);
        let visit = Visit {
            peer,
            local,
            https: false,
        };
        let state = state.clone();
        let service = service_fn(move |request| service::handle(state.clone(), visit, request));
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        while connections.try_join_next().is_some() {}
        connections.spawn(async move {
            // A visitor that goes away mid-request is routine, not an edge error.
            let _ = connection.await;
        });
    }
    drop(listener);
    let in_flight = graceful.count();
    info!(in_flight, grace = ?grace, "shutting down: no longer accepting");
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        warn!(
            grace = ?grace,
            open = connections.len(),
            "requests still in flight after the shutdown grace; closing them"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// The one start-up line: where edgecase listens, where it forwards, the timeouts in force.
fn announce(config: &Config, local: std::net::SocketAddr) {
    let t = &config.timeouts;
    info!(
        listen = %local,
        origin = %config.origin.address,
        ssl = %config.origin.ssl,
        routes = config.routes.len(),
        profile = %config.profile,
        connect = ?t.connect,
        ack = ?t.ack,
        write = ?t.write,
        read = ?t.read,
        origin_header_bytes = config.limits.origin_header_bytes,
        colo = %config.edge.colo,
        "edgecase listening on http://{local}/, forwarding to {}", config.origin.address
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
