//! [`run`]: the steady load. A pacer hands out [`Options::rate`](crate::args::Options) request
//! tickets per second to a fixed set of visitor tasks; three quarters of them keep an
//! HTTP/1.1 keep-alive connection each, the rest share h2c connections four to a connection.
//! Each ticket becomes one request to a route picked by weight; a few visitors give up early
//! on purpose. Every request ends in exactly one [`Outcome`], counted in the [`Tally`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, Semaphore, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior, interval, timeout};

use crate::rng::Rng;
use crate::routes::{FAULTABLE_HEADER, Route};
use crate::tally::{Outcome, Tally};

/// The longest any request may take to end, answered or aborted. The slowest legitimate
/// answers (a slow body under a bandwidth fault, a latency fault past the read timeout, a
/// slow close) take about two seconds; past this, a request counts as unanswered.
pub const GUARD: Duration = Duration::from_secs(10);
/// Connecting to the edge: longer than this is a failure to connect.
const CONNECT_GUARD: Duration = Duration::from_secs(3);
/// The share of requests whose visitor gives up early.
const GIVE_UP_SHARE: f64 = 0.03;
/// The share of requests to an uploading route that are POSTs with a body.
const UPLOAD_SHARE: f64 = 0.3;
/// Visitor tasks sharing one h2c connection.
const H2_TASKS_PER_CONNECTION: usize = 4;
/// How often the pacer hands out tickets.
const PACER_TICK: Duration = Duration::from_millis(10);

/// The load's shape.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Where visitors connect.
    pub edge: SocketAddr,
    /// Requests started per second.
    pub rate: u32,
    /// Visitor tasks.
    pub concurrency: usize,
    /// How long tickets are handed out.
    pub duration: Duration,
    /// Seed of the mix.
    pub seed: u64,
    /// The routes, with their weights.
    pub routes: Arc<Vec<Route>>,
}

/// What the pacer could not do.
#[derive(Clone, Copy, Debug, Default)]
pub struct PacerStats {
    /// Tickets handed out (requests started).
    pub issued: u64,
    /// Tickets dropped because every visitor task was busy: the rate was not reached.
    pub behind: u64,
}

/// Runs the load for `plan.duration` (or until `stop` turns true), then waits for the
/// requests in flight (each bounded by [`GUARD`]).
pub async fn run(plan: Plan, tally: Arc<Tally>, stop: watch::Receiver<bool>) -> PacerStats {
    let tickets = Arc::new(Semaphore::new(0));
    let started = Arc::new(AtomicU64::new(0));
    let h2_tasks = plan.concurrency / 4;
    let h1_tasks = plan.concurrency - h2_tasks;
    let mut visitors: Vec<JoinHandle<()>> = Vec::new();
    for id in 0..h1_tasks {
        let visitor = Visitor::new(&plan, id, &tally, &started);
        visitors.push(tokio::spawn(visitor.run(Arc::clone(&tickets), Link::h1())));
    }
    let mut shared = Arc::new(Mutex::new(None));
    for id in 0..h2_tasks {
        if id % H2_TASKS_PER_CONNECTION == 0 {
            shared = Arc::new(Mutex::new(None));
        }
        let visitor = Visitor::new(&plan, h1_tasks + id, &tally, &started);
        let link = Link::H2(Arc::clone(&shared));
        visitors.push(tokio::spawn(visitor.run(Arc::clone(&tickets), link)));
    }
    let mut stats = pace(&plan, &tickets, &stop).await;
    for visitor in visitors {
        // A visitor never panics (every outcome is counted); a join error is reported by the
        // totals not adding up.
        let _ = visitor.await;
    }
    stats.issued = started.load(Ordering::Relaxed);
    stats
}

/// Hands out `plan.rate` tickets per second for `plan.duration` (or until `stop`), then
/// closes the semaphore.
async fn pace(plan: &Plan, tickets: &Semaphore, stop: &watch::Receiver<bool>) -> PacerStats {
    let mut stats = PacerStats::default();
    let start = Instant::now();
    let mut due_so_far = 0u64;
    let mut tick = interval(PACER_TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let elapsed = start.elapsed();
        if elapsed >= plan.duration || *stop.borrow() {
            break;
        }
        let due = (elapsed.as_secs_f64() * f64::from(plan.rate)) as u64;
        let fresh = due.saturating_sub(due_so_far);
        due_so_far = due;
        // Tickets nobody took within a tick mean every task is busy: drop the excess rather
        // than let a backlog build up.
        let waiting = tickets.available_permits() as u64;
        let room = (plan.concurrency as u64).saturating_sub(waiting);
        let handed = fresh.min(room);
        stats.behind += fresh - handed;
        tickets.add_permits(usize::try_from(handed).unwrap_or(0));
    }
    tickets.close();
    stats
}

/// How a visitor task reaches the edge.
enum Link {
    /// Its own HTTP/1.1 keep-alive connection, opened on demand.
    H1(Option<H1Conn>),
    /// An h2c connection shared with a few other tasks, opened on demand.
    H2(Arc<Mutex<Option<http2::SendRequest<Full<Bytes>>>>>),
}

struct H1Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    driver: JoinHandle<()>,
}

impl Drop for H1Conn {
    fn drop(&mut self) {
        // Dropping the connection closes the socket, whatever state the exchange was in.
        self.driver.abort();
    }
}

impl Link {
    fn h1() -> Link {
        Link::H1(None)
    }
}

/// One visitor task.
struct Visitor {
    edge: SocketAddr,
    rng: Rng,
    routes: Arc<Vec<Route>>,
    total_weight: u64,
    tally: Arc<Tally>,
    started: Arc<AtomicU64>,
}

/// What the visitor asks for this time.
struct Ask {
    route: &'static str,
    faultable: bool,
    method: Method,
    path: String,
    body: Bytes,
    give_up_after: Option<Duration>,
}

/// How the exchange itself ended (before the visitor's own patience is applied).
enum Exchange {
    Done(Outcome, Option<String>),
    NoConnection,
}

impl Visitor {
    fn new(plan: &Plan, id: usize, tally: &Arc<Tally>, started: &Arc<AtomicU64>) -> Visitor {
        Visitor {
            edge: plan.edge,
            rng: Rng::new(plan.seed, id as u64 + 1),
            total_weight: plan.routes.iter().map(|r| r.weight).sum(),
            routes: Arc::clone(&plan.routes),
            tally: Arc::clone(tally),
            started: Arc::clone(started),
        }
    }

    async fn run(mut self, tickets: Arc<Semaphore>, mut link: Link) {
        while let Ok(ticket) = tickets.acquire().await {
            ticket.forget();
            self.started.fetch_add(1, Ordering::Relaxed);
            let ask = self.ask();
            let (outcome, cause) = self.one(&mut link, &ask).await;
            self.tally.record(ask.route, outcome, cause);
        }
    }

    /// Picks the next request.
    fn ask(&mut self) -> Ask {
        let mut roll = self.rng.between(0, self.total_weight.saturating_sub(1));
        let mut chosen = self.routes.first();
        for route in self.routes.iter() {
            if roll < route.weight {
                chosen = Some(route);
                break;
            }
            roll -= route.weight;
        }
        let (name, prefix, uploads, faultable) = chosen.map_or(("none", "/", false, false), |r| {
            (r.name, r.path, r.uploads, r.faultable)
        });
        let path = if prefix.ends_with('/') {
            format!("{prefix}item/{}", self.rng.between(1, 10_000))
        } else {
            prefix.to_owned()
        };
        let (method, body) = if uploads && self.rng.chance(UPLOAD_SHARE) {
            let size = usize::try_from(self.rng.between(100, 8_000)).unwrap_or(100);
            (Method::POST, Bytes::from(vec![b'u'; size]))
        } else {
            (Method::GET, Bytes::new())
        };
        let give_up_after = self
            .rng
            .chance(GIVE_UP_SHARE)
            .then(|| Duration::from_millis(self.rng.between(5, 400)));
        Ask {
            route: name,
            faultable,
            method,
            path,
            body,
            give_up_after,
        }
    }

    /// Sends one request and waits for its end: an answer, an abort, the visitor's patience
    /// running out, or the guard.
    async fn one(&mut self, link: &mut Link, ask: &Ask) -> (Outcome, Option<String>) {
        let patience = ask.give_up_after.unwrap_or(GUARD);
        let ended = timeout(patience, exchange(self.edge, link, ask)).await;
        let (outcome, cause) = match ended {
            Ok(Exchange::Done(outcome, cause)) => (outcome, cause),
            Ok(Exchange::NoConnection) => (Outcome::NoConnection, None),
            Err(_) if ask.give_up_after.is_some() => (Outcome::GaveUp, None),
            Err(_) => (Outcome::Unanswered, None),
        };
        // After anything but a complete answer, the HTTP/1.1 connection is in an unknown
        // state: close it (an h2 stream was reset by dropping it; the connection stays).
        let clean = matches!(outcome, Outcome::Answered(_));
        if let Link::H1(conn) = link
            && !clean
        {
            *conn = None;
        }
        (outcome, cause)
    }
}

/// One request over `link`, to the end of the response body.
async fn exchange(edge: SocketAddr, link: &mut Link, ask: &Ask) -> Exchange {
    let sent = match link {
        Link::H1(conn) => {
            let ready = match conn {
                Some(c) => c.sender.ready().await.is_ok(),
                None => false,
            };
            if !ready {
                match connect_h1(edge).await {
                    Some(fresh) => *conn = Some(fresh),
                    None => return Exchange::NoConnection,
                }
            }
            let Some(c) = conn.as_mut() else {
                return Exchange::NoConnection;
            };
            let request = build(ask, false);
            c.sender.send_request(request).await
        }
        Link::H2(shared) => {
            let sender = {
                let mut slot = shared.lock().await;
                let usable = slot.as_ref().is_some_and(|s| !s.is_closed());
                if !usable {
                    *slot = connect_h2(edge).await;
                }
                slot.clone()
            };
            let Some(mut sender) = sender else {
                return Exchange::NoConnection;
            };
            if sender.ready().await.is_err() {
                return Exchange::Done(Outcome::Aborted, None);
            }
            sender.send_request(build(ask, true)).await
        }
    };
    match sent {
        Ok(response) => read_response(response).await,
        Err(_) => Exchange::Done(Outcome::Aborted, None),
    }
}

/// Reads the whole body of `response`.
async fn read_response(response: Response<Incoming>) -> Exchange {
    let status = response.status().as_u16();
    let cause = response
        .headers()
        .get("cf-edgecase-cause")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match response.into_body().collect().await {
        Ok(_) => Exchange::Done(Outcome::Answered(status), cause),
        Err(_) => Exchange::Done(Outcome::Cut(status), cause),
    }
}

fn build(ask: &Ask, h2: bool) -> Request<Full<Bytes>> {
    let uri = if h2 {
        format!("http://soak.test{}", ask.path)
    } else {
        ask.path.clone()
    };
    let mut request = Request::builder()
        .method(ask.method.clone())
        .uri(uri)
        .header("user-agent", "edgecase-soak");
    if !h2 {
        request = request.header("host", "soak.test");
    }
    if !ask.body.is_empty() {
        request = request.header("content-type", "application/octet-stream");
    }
    if ask.faultable {
        request = request.header(FAULTABLE_HEADER, "1");
    }
    // Every part is a literal or a path this module built from literals and numbers.
    request
        .body(Full::new(ask.body.clone()))
        .unwrap_or_else(|_| Request::new(Full::new(Bytes::new())))
}

async fn connect_h1(edge: SocketAddr) -> Option<H1Conn> {
    let stream = timeout(CONNECT_GUARD, TcpStream::connect(edge))
        .await
        .ok()?
        .ok()?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.ok()?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    Some(H1Conn { sender, driver })
}

async fn connect_h2(edge: SocketAddr) -> Option<http2::SendRequest<Full<Bytes>>> {
    let stream = timeout(CONNECT_GUARD, TcpStream::connect(edge))
        .await
        .ok()?
        .ok()?;
    let (sender, conn) = timeout(
        CONNECT_GUARD,
        http2::handshake(TokioExecutor::new(), TokioIo::new(stream)),
    )
    .await
    .ok()?
    .ok()?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Some(sender)
}
