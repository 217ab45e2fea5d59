//! The walk: the stages the edge goes through for one request, run one at a time against the
//! real origin with the proxy's own code ([`OriginClient`]'s phases, the exchange, the body's
//! read timeout), each timed, stopping at the first failure. What each stage saw goes into
//! the [`Diagnosis`]; what to check comes from [`super::advice`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, SystemTime};

mod records;
mod requests;
mod tls;

use futures_util::future::join_all;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::advice::{self, Context};
use super::describe::describe_attempt;
use super::plan::Plan;
use super::report::{
    AddressAttempt, ConnectDetails, Details, Diagnosis, DnsDetails, HttpDetails, Outcome, Stage,
    StageName, Subject, TimeoutsMs, Verdict,
};
use super::request::{self, Asked};
use crate::base::time::Rfc3339Millis;
use crate::config::{Config, OriginTimeouts, SslInForce, SslMode, Target};
use crate::emulation::LinkFaults;
use crate::failure::OriginFailure;
use crate::origin::automatic::AutomaticSsl;
use crate::origin::connect::{Attempt, Attempts};
use crate::origin::handshake::TlsTarget;
use crate::origin::pool::{Conn, Pool, PoolKey};
use crate::origin::{OriginClient, Visitor, ack, pool_key};
use crate::pages;
use crate::ray::{RayGenerator, RayId};
use crate::record::ExchangeFacts;
use crate::record::finished::Finished;
use crate::trace::Trace;

/// Walks every stage for `plan` and reports what a visitor would get.
pub async fn run(plan: &Plan) -> Diagnosis {
    let mut target = plan.target();
    let client = OriginClient::new(&plan.config);
    // Automatic SSL/TLS: the probe the edge would make decides the mode walked.
    let mut ssl = SslInForce {
        configured: target.ssl,
        chosen: None,
    };
    if target.ssl == SslMode::Automatic && plan.https {
        let table = AutomaticSsl::new(client.clone(), plan.config.origin.ssl_probe_interval);
        let chosen = table.decide(&target, &plan.host).await;
        ssl.chosen = Some(chosen);
        target.ssl = chosen;
    }
    let rays = match plan.config.edge.ray_seed {
        Some(seed) => RayGenerator::seeded(seed),
        None => RayGenerator::random(),
    };
    let ray = rays.next(plan.config.edge.colo);
    let visitor = Visitor {
        https: plan.https,
        host: &plan.host,
        upgrade: false,
    };
    let key = pool_key(&target, visitor);
    let mut walk = Walk {
        plan,
        config: &plan.config,
        target,
        ssl,
        client,
        pool: Pool::with_limits(plan.config.pool),
        origin: key.address.to_string(),
        key,
        rays,
        ray,
        at: SystemTime::now(),
        from: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        stages: Vec::new(),
        exchanges: Vec::new(),
        strict_check: None,
    };
    let verdict = walk.stages().await;
    walk.into_diagnosis(verdict)
}

/// One walk in progress.
struct Walk<'a> {
    plan: &'a Plan,
    config: &'a Config,
    target: Target<'a>,
    /// The mode configured and, for Automatic, the one its probe chose (walked as `target.ssl`).
    ssl: SslInForce,
    client: OriginClient,
    pool: Pool,
    key: PoolKey,
    /// `key.address`, as text.
    origin: String,
    rays: RayGenerator,
    /// The first request's ray ID.
    ray: RayId,
    at: SystemTime,
    /// Our side of the origin connection, once there is one: the visitor's address as the
    /// origin sees it.
    from: SocketAddr,
    stages: Vec<Stage>,
    exchanges: Vec<Finished>,
    /// In SSL mode Full, the address and name to check against Full (strict) afterwards.
    strict_check: Option<(SocketAddr, TlsTarget)>,
}

/// How the walk ended.
enum Ended {
    /// The origin's answer reached the visitor, with this status.
    Answered(u16),
    /// A stage failed; the visitor would get this status.
    Failed {
        stage: StageName,
        status: u16,
        code: Option<u16>,
        cause: &'static str,
        cut_short: bool,
    },
}

impl<'a> Walk<'a> {
    fn timeouts(&self) -> OriginTimeouts {
        self.target.timeouts
    }

    fn context(&self) -> Context<'_> {
        Context {
            origin: &self.origin,
            host: &self.plan.host,
            ssl: self.target.ssl,
            header_limit: self.client.head_limit(),
        }
    }

    async fn stages(&mut self) -> Ended {
        let ended = self.walk_stages().await;
        self.strict_check_afterwards().await;
        ended
    }

    async fn walk_stages(&mut self) -> Ended {
        let Some(addrs) = self.dns().await else {
            return self.ended();
        };
        let Some(stream) = self.connect(&addrs).await else {
            return self.ended();
        };
        let Some(conn) = self.tls_then_http(stream).await else {
            return self.ended();
        };
        let Some(status) = self.first_request(conn).await else {
            return self.ended();
        };
        self.keep_alive().await;
        match self.failed_stage() {
            Some(_) => self.ended(),
            None => Ended::Answered(status),
        }
    }

    /// Stage 1: every address the origin's name resolves to.
    async fn dns(&mut self) -> Option<Vec<SocketAddr>> {
        let name = self.key.address.host.clone();
        let started = Instant::now();
        let resolved = self.client.resolve(&self.key, &self.timeouts()).await;
        let took = started.elapsed();
        match resolved {
            Err(failure) => {
                let details = Details::Dns(DnsDetails {
                    name: name.clone(),
                    source: None,
                    addresses: Vec::new(),
                });
                let seen = vec![format!("{name} did not resolve: {failure}")];
                self.fail(StageName::Dns, took, seen, details, failure);
                None
            }
            Ok((addrs, source)) => {
                let ips: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
                let seen = match source {
                    crate::origin::resolve::Source::Literal => {
                        format!("{name} is an IP address: nothing to resolve")
                    }
                    crate::origin::resolve::Source::Static => {
                        format!("{name} → {} (from [dns] hosts)", ips.join(", "))
                    }
                    crate::origin::resolve::Source::System => {
                        format!("{name} → {} (system resolver)", ips.join(", "))
                    }
                };
                self.push(
                    StageName::Dns,
                    took,
                    vec![seen],
                    Details::Dns(DnsDetails {
                        name,
                        source: Some(source.as_str()),
                        addresses: ips,
                    }),
                    Vec::new(),
                );
                Some(addrs)
            }
        }
    }

    /// Stage 2: the edge's own connect over the addresses in order; the addresses it does not
    /// reach are checked on the side, at the same time, so a stale record shows.
    async fn connect(&mut self, addrs: &[SocketAddr]) -> Option<TcpStream> {
        let timeouts = self.timeouts();
        let client = &self.client;
        let mut tried = Tried::default();
        let started = Instant::now();
        let edge = client.connect(addrs, &timeouts, &mut tried);
        let side = join_all(addrs.iter().skip(1).map(|&addr| async move {
            let mut one = Tried::default();
            let _ = client.connect(&[addr], &timeouts, &mut one).await;
            one.0.pop()
        }));
        let (outcome, side) = futures_util::future::join(edge, side).await;
        let took = started.elapsed();
        let mut attempts: Vec<AddressAttempt> = Vec::new();
        for &addr in addrs {
            let (attempt, by_edge) = match tried.0.iter().find(|a| a.address == addr.to_string()) {
                Some(attempt) => (Some(attempt.clone()), true),
                None => (
                    side.iter()
                        .flatten()
                        .find(|a| a.address == addr.to_string())
                        .cloned(),
                    false,
                ),
            };
            if let Some(mut attempt) = attempt {
                attempt.tried_by_edge = by_edge;
                attempts.push(attempt);
            }
        }
        let seen: Vec<String> = attempts.iter().map(describe_attempt).collect();
        let stream = match outcome {
            Err(failure) => {
                let details = Details::Connect(ConnectDetails {
                    connected: None,
                    addresses: attempts,
                });
                self.fail(StageName::Connect, took, seen, details, failure);
                return None;
            }
            Ok(stream) => stream,
        };
        let peer = stream.peer_addr().ok();
        if let Ok(local) = stream.local_addr() {
            self.from = local;
        }
        let failed: Vec<String> = attempts
            .iter()
            .filter(|a| a.status.is_some())
            .map(|a| format!("{} {}", a.address, a.outcome))
            .collect();
        let check = if failed.is_empty() {
            Vec::new()
        } else {
            advice::other_addresses_failed(&failed, &self.context())
        };
        let details = Details::Connect(ConnectDetails {
            connected: peer.map(|p| p.to_string()),
            addresses: attempts,
        });
        self.push(StageName::Connect, took, seen, details, check);
        Some(stream)
    }

    /// Stage 3 (when the mode uses TLS for this visitor), then HTTP/1.1 on the connection.
    async fn tls_then_http(&mut self, stream: TcpStream) -> Option<Conn> {
        let peer = stream.peer_addr().ok()?;
        let fd = ack::socket_fd(&stream);
        let link = LinkFaults::default();
        let started = match self.key.tls.clone() {
            None => {
                self.stages
                    .push(Stage::skipped(StageName::Tls, self.why_no_tls()));
                self.client
                    .start_http(stream, fd, peer, &self.key, &self.target, &link)
                    .await
            }
            Some(tls) => {
                let secured = self.tls(stream, peer, &tls).await?;
                self.client
                    .start_http(secured, fd, peer, &self.key, &self.target, &link)
                    .await
            }
        };
        match started {
            Ok(conn) => Some(conn),
            Err(failure) => {
                let seen = vec![format!("HTTP/1.1 could not start: {failure}")];
                self.fail(
                    StageName::Http,
                    Duration::ZERO,
                    seen,
                    Details::None,
                    failure,
                );
                None
            }
        }
    }

    /// Why the TLS stage does not apply.
    fn why_no_tls(&self) -> String {
        match self.target.ssl {
            SslMode::Off => "not used: SSL mode off talks plain HTTP to the origin".into(),
            SslMode::Flexible => {
                "not used: SSL mode flexible always talks plain HTTP to the origin".into()
            }
            mode => format!(
                "not used: in SSL mode {mode} a visitor over HTTP is served over plain HTTP"
            ),
        }
    }

    fn asked(&self) -> Asked<'a> {
        Asked {
            host: &self.plan.host,
            path: &self.plan.path,
            https: self.plan.https,
            from: self.from,
            keep_bytes: self.config.capture.body_bytes,
            ssl: self.ssl,
        }
    }

    fn failed_stage(&self) -> Option<&Stage> {
        self.stages.iter().find(|s| s.result == Outcome::Failed)
    }

    /// The walk's end after a failure.
    fn ended(&self) -> Ended {
        match self.failed_stage() {
            Some(Stage {
                stage,
                failure: Some(failure),
                ..
            }) => Ended::Failed {
                stage: *stage,
                status: failure.status,
                code: failure.code,
                cause: failure.cause,
                cut_short: failure.cut_short,
            },
            // Every early return follows a recorded failure; this is only a guard.
            _ => Ended::Failed {
                stage: StageName::Dns,
                status: 500,
                code: None,
                cause: "internal",
                cut_short: false,
            },
        }
    }

    fn into_diagnosis(mut self, ended: Ended) -> Diagnosis {
        // Stages after the failure were not reached.
        for name in StageName::ALL {
            if !self.stages.iter().any(|s| s.stage == name) {
                let why = match self.failed_stage() {
                    Some(failed) => format!("not reached: {} failed", failed.stage.label()),
                    None => "not reached".to_owned(),
                };
                self.stages.push(Stage::skipped(name, why));
            }
        }
        self.stages.sort_by_key(|s| s.stage as u8);
        let warnings = self
            .stages
            .iter()
            .filter(|s| s.result == Outcome::Warning)
            .count();
        let verdict = match ended {
            Ended::Answered(status) => Verdict {
                origin_answer: true,
                status,
                code: None,
                title: http::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("")
                    .to_owned(),
                cause: None,
                stage: None,
                cut_short: false,
                warnings,
            },
            Ended::Failed {
                stage,
                status,
                code,
                cause,
                cut_short,
            } => Verdict {
                origin_answer: false,
                status,
                code,
                title: match code {
                    Some(code) => pages::numbered_title(code),
                    None => pages::title(status),
                }
                .to_owned(),
                cause: Some(cause),
                stage: Some(stage),
                cut_short,
                warnings,
            },
        };
        let timeouts = self.timeouts();
        let trace = self.trace();
        let ms = |d: Duration| d.as_millis() as u64;
        Diagnosis {
            edgecase: env!("CARGO_PKG_VERSION"),
            time: Rfc3339Millis(self.at).to_string(),
            ray: self.ray.to_string(),
            subject: Subject {
                url: self.plan.url(),
                origin: self.origin.clone(),
                host: self.plan.host.clone(),
                path: self.plan.path.clone(),
                ssl: self.ssl.to_string(),
                visitor_scheme: self.plan.scheme(),
                route: self.target.route,
                timeouts_ms: TimeoutsMs {
                    connect: ms(timeouts.connect),
                    ack: ms(timeouts.ack),
                    write: ms(timeouts.write),
                    read: ms(timeouts.read),
                },
                origin_header_bytes: self.client.head_limit(),
                railgun: self.config.railgun.is_some(),
            },
            verdict,
            stages: self.stages,
            exchanges: self.exchanges,
            at: self.at,
            trace,
        }
    }
}

impl Walk<'_> {
    /// What `/cdn-cgi/trace` would show for the first request.
    fn trace(&self) -> String {
        Trace {
            instance: &format!("{:07x}", self.rays.instance_id() >> 36),
            host: &self.plan.host,
            ip: self.from.ip(),
            at: self.at,
            tls: self.plan.https.then_some(request::SIMULATED_TLS),
            user_agent: request::USER_AGENT,
            version: http::Version::HTTP_11,
            ray: self.ray,
        }
        .render()
    }
}

/// The edge's connect attempts, as report rows.
#[derive(Default)]
struct Tried(Vec<AddressAttempt>);

impl Attempts for Tried {
    fn trying(&mut self, _addr: SocketAddr) {}

    fn tried(&mut self, attempt: Attempt<'_>) {
        self.0.push(AddressAttempt {
            address: attempt.addr.to_string(),
            outcome: attempt
                .failure
                .map_or("connected", OriginFailure::tag)
                .to_owned(),
            status: attempt.failure.map(OriginFailure::status),
            ms: Some(attempt.took),
            tried_by_edge: true,
        });
    }
}

/// A request that went out, for its record.
struct Done<'r> {
    asked: &'r Asked<'r>,
    ray: RayId,
    at: SystemTime,
    details: &'r HttpDetails,
    facts: ExchangeFacts,
    took: Duration,
}
