//! The walk: the stages the edge goes through for one request, run one at a time against the
//! real origin with the proxy's own code ([`OriginClient`]'s phases, the exchange, the body's
//! read timeout), each timed, stopping at the first failure. What each stage saw goes into
//! the [`Diagnosis`]; what to check comes from [`super::advice`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::future::join_all;
use http::Response;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::advice::{self, Context};
use super::certificate;
use super::plan::Plan;
use super::report::HttpDetails;
use super::report::{
    AddressAttempt, ConnectDetails, Details, Diagnosis, DnsDetails, Outcome, Stage, StageFailure,
    StageName, Subject, TimeoutsMs, TlsDetails, Verdict,
};
use super::request::{self, Asked, End, Record, Sent};
use crate::config::{Config, OriginTimeouts, SslMode, Target};
use crate::edge::errors::{Answering, through_railgun};
use crate::emulation::LinkFaults;
use crate::failure::OriginFailure;
use crate::observe::finished::{Ending, Finished};
use crate::origin::ExchangeFacts;
use crate::origin::connect::{Attempt, Attempts};
use crate::origin::exchange::is_stale_connection;
use crate::origin::handshake::{OriginTlsStream, TlsTarget};
use crate::origin::pool::{Conn, Pool, PoolKey};
use crate::origin::{OriginClient, Visitor, ack, pool_key};
use crate::pages::time::Rfc3339Millis;
use crate::pages::{self, Form, PageKind};
use crate::ray::{RayGenerator, RayId};
use crate::trace::Trace;

/// Days before a validated certificate's end that the TLS stage starts to warn.
const EXPIRY_WARNING_DAYS: i64 = 14;

/// Walks every stage for `plan` and reports what a visitor would get.
pub async fn run(plan: &Plan) -> Diagnosis {
    let target = plan.target();
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
        client: OriginClient::new(&plan.config),
        pool: Pool::with_limits(plan.config.pool),
        origin: key.address.to_string(),
        key,
        rays,
        ray,
        at: SystemTime::now(),
        from: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        stages: Vec::new(),
        exchanges: Vec::new(),
    };
    let verdict = walk.stages().await;
    walk.into_diagnosis(verdict)
}

/// One walk in progress.
struct Walk<'a> {
    plan: &'a Plan,
    config: &'a Config,
    target: Target<'a>,
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
                self.pass(
                    StageName::Dns,
                    took,
                    vec![seen],
                    Details::Dns(DnsDetails {
                        name,
                        source: Some(source.as_str()),
                        addresses: ips,
                    }),
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

    /// Stage 3: the TLS handshake, with what it negotiated and the certificate.
    async fn tls(
        &mut self,
        stream: TcpStream,
        peer: SocketAddr,
        tls: &TlsTarget,
    ) -> Option<OriginTlsStream> {
        let timeouts = self.timeouts();
        let sni = name_of(tls);
        let started = Instant::now();
        let secured = self.client.secure(stream, tls, &timeouts).await;
        let took = started.elapsed();
        let mut details = TlsDetails {
            sni: sni.clone(),
            validated: tls.validate,
            version: None,
            cipher_suite: None,
            key_exchange: None,
            alpn: None,
            certificate: None,
            trusted: None,
            untrusted_reason: None,
        };
        let secured = match secured {
            Ok(secured) => secured,
            Err(failure) => {
                let mut seen = vec![format!("handshake with {sni} failed: {failure}")];
                if let OriginFailure::InvalidCertificate(invalid) = &failure {
                    details.trusted = Some(false);
                    details.untrusted_reason = Some(invalid.reason.tag());
                    // The certificate itself, from a handshake that does not judge it.
                    let lenient = TlsTarget {
                        name: tls.name.clone(),
                        validate: false,
                    };
                    if let Some(shown) = self.handshake_with(peer, &lenient).await {
                        details.certificate = shown;
                    }
                }
                seen.extend(certificate_lines(&details));
                self.fail(
                    StageName::Tls,
                    took,
                    seen,
                    Details::Tls(Box::new(details)),
                    failure,
                );
                return None;
            }
        };
        let connection = &secured.get_ref().1;
        details.version = connection.protocol_version().map(crate::tls::version_name);
        details.cipher_suite = connection
            .negotiated_cipher_suite()
            .map(|suite| format!("{:?}", suite.suite()));
        details.key_exchange = connection
            .negotiated_key_exchange_group()
            .map(|group| format!("{:?}", group.name()));
        details.alpn = connection
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        details.certificate = connection
            .peer_certificates()
            .and_then(|chain| certificate::describe(chain, SystemTime::now()));
        if tls.validate {
            details.trusted = Some(true);
        } else {
            // Full accepts any certificate; say what Full (strict) would make of it.
            let strict = TlsTarget {
                name: tls.name.clone(),
                validate: true,
            };
            let verdict = self.strict_verdict(peer, &strict).await;
            details.trusted = verdict.map(|reason| reason.is_none());
            details.untrusted_reason = verdict.flatten();
        }
        let mut seen = vec![format!(
            "{}, {}, {}, ALPN {}",
            details.version.unwrap_or("TLS"),
            details.cipher_suite.as_deref().unwrap_or("unknown suite"),
            details.key_exchange.as_deref().unwrap_or("unknown group"),
            details.alpn.as_deref().unwrap_or("none"),
        )];
        seen.extend(certificate_lines(&details));
        let expiring = details
            .certificate
            .as_ref()
            .map(|c| c.days_left)
            .filter(|&days| tls.validate && days < EXPIRY_WARNING_DAYS);
        let check = match expiring {
            Some(days) => advice::certificate_expires_soon(days, &self.context()),
            None => Vec::new(),
        };
        self.push(
            StageName::Tls,
            took,
            seen,
            Details::Tls(Box::new(details)),
            check,
        );
        Some(secured)
    }

    /// The certificate `peer` shows in a handshake under `tls`, on a connection of its own.
    async fn handshake_with(
        &self,
        peer: SocketAddr,
        tls: &TlsTarget,
    ) -> Option<Option<super::report::CertificateDetails>> {
        let timeouts = self.timeouts();
        let stream = self
            .client
            .connect(&[peer], &timeouts, &mut None)
            .await
            .ok()?;
        let secured = self.client.secure(stream, tls, &timeouts).await.ok()?;
        let chain = secured.get_ref().1.peer_certificates()?;
        Some(certificate::describe(chain, SystemTime::now()))
    }

    /// Whether `peer`'s certificate passes validation: `Some(None)` yes, `Some(Some(reason))`
    /// no, `None` when the check could not be made.
    async fn strict_verdict(
        &self,
        peer: SocketAddr,
        tls: &TlsTarget,
    ) -> Option<Option<&'static str>> {
        let timeouts = self.timeouts();
        let stream = self
            .client
            .connect(&[peer], &timeouts, &mut None)
            .await
            .ok()?;
        match self.client.secure(stream, tls, &timeouts).await {
            Ok(_) => Some(None),
            Err(OriginFailure::InvalidCertificate(invalid)) => Some(Some(invalid.reason.tag())),
            Err(_) => None,
        }
    }

    fn asked(&self) -> Asked<'a> {
        Asked {
            host: &self.plan.host,
            path: &self.plan.path,
            https: self.plan.https,
            from: self.from,
            keep_bytes: self.config.capture.body_bytes,
        }
    }

    /// Stage 4: the request and its whole response. `Some(status)` when the origin's answer
    /// reached the visitor whole.
    async fn first_request(&mut self, conn: Conn) -> Option<u16> {
        let asked = self.asked();
        let at = SystemTime::now();
        let timeouts = self.timeouts();
        let ray = self.ray;
        let sent = request::send(&self.client, conn, &self.pool, &asked, ray, &timeouts).await;
        let mut seen = vec![format!(
            "{} (Host {}, cf-ray {ray})",
            sent.details.request, self.plan.host
        )];
        seen.extend(response_lines(&sent, &timeouts));
        let details = Details::Http(sent.details.clone());
        let Sent {
            details: facts_of,
            facts,
            took,
            end,
        } = sent;
        let done = Done {
            asked: &asked,
            ray,
            at,
            details: &facts_of,
            facts,
            took,
        };
        match end {
            End::Failed(failure) => {
                let failure = self.as_visitor_sees(failure);
                self.record_page(&done, &failure);
                self.fail_seen(StageName::Http, took, seen, details, failure);
                None
            }
            End::BodyAborted { head, body, abort } => {
                self.record_answer(&done, &head, body, Some(abort.tag()));
                let failure = StageFailure {
                    status: facts_of.status.unwrap_or(0),
                    code: None,
                    cause: abort.tag(),
                    error: abort.to_string(),
                };
                let check = advice::body_aborted(&abort, &self.context());
                self.push_failed(StageName::Http, took, seen, details, failure, check);
                None
            }
            End::Answered { head, body } => {
                self.record_answer(&done, &head, body, None);
                let status = head.status().as_u16();
                let check = if status >= 400 {
                    advice::origin_error_status(status, &self.context())
                } else {
                    Vec::new()
                };
                self.push(StageName::Http, took, seen, details, check);
                Some(status)
            }
        }
    }

    /// Stage 5: a second request on the connection the first one left in the pool.
    async fn keep_alive(&mut self) {
        let Some(conn) = self.pool.checkout(&self.key) else {
            let closed = self.closed_after_first();
            self.push(
                StageName::KeepAlive,
                Duration::ZERO,
                vec![closed],
                Details::None,
                advice::keep_alive_off(&self.context()),
            );
            return;
        };
        let asked = self.asked();
        let ray = self.rays.next(self.config.edge.colo);
        let at = SystemTime::now();
        let timeouts = self.timeouts();
        let sent = request::send(&self.client, conn, &self.pool, &asked, ray, &timeouts).await;
        let mut seen = vec![format!(
            "a second {} on the same connection (cf-ray {ray})",
            sent.details.request
        )];
        seen.extend(response_lines(&sent, &timeouts));
        let details = Details::Http(sent.details.clone());
        let Sent {
            details: facts_of,
            facts,
            took,
            end,
        } = sent;
        let done = Done {
            asked: &asked,
            ray,
            at,
            details: &facts_of,
            facts,
            took,
        };
        match end {
            End::Answered { head, body } => {
                self.record_answer(&done, &head, body, None);
                self.push(StageName::KeepAlive, took, seen, details, Vec::new());
            }
            End::Failed(failure) if is_stale_connection(&failure) => {
                // The visitor would not see this: the edge sends a bodiless GET again on a
                // new connection. So no record of it goes in the HAR.
                seen.push(format!(
                    "the origin closed the kept-alive connection instead of answering \
                     ({}); the edge sends a bodiless GET again on a new connection, but a POST \
                     would get 520",
                    failure.tag()
                ));
                let check = advice::keep_alive_off(&self.context());
                self.push(StageName::KeepAlive, took, seen, details, check);
            }
            End::Failed(failure) => {
                let failure = self.as_visitor_sees(failure);
                self.record_page(&done, &failure);
                self.fail_seen(StageName::KeepAlive, took, seen, details, failure);
            }
            End::BodyAborted { head, body, abort } => {
                self.record_answer(&done, &head, body, Some(abort.tag()));
                let failure = StageFailure {
                    status: facts_of.status.unwrap_or(0),
                    code: None,
                    cause: abort.tag(),
                    error: abort.to_string(),
                };
                let check = advice::body_aborted(&abort, &self.context());
                self.push_failed(StageName::KeepAlive, took, seen, details, failure, check);
            }
        }
    }

    /// Why the first request's connection was not there for a second one.
    fn closed_after_first(&self) -> String {
        let said_close = self
            .stage_http_details()
            .and_then(|d| d.connection.as_deref())
            .is_some_and(|c| c.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")));
        if said_close {
            "the origin closed the connection after its response (it sent connection: close): \
             every request costs a new connection"
                .into()
        } else {
            "the origin closed the connection after its response: every request costs a new \
             connection"
                .into()
        }
    }

    fn stage_http_details(&self) -> Option<&super::report::HttpDetails> {
        self.stages
            .iter()
            .find(|s| s.stage == StageName::Http)
            .and_then(|s| match &s.details {
                Details::Http(http) => Some(http),
                _ => None,
            })
    }

    /// The edge's record of a request the origin answered (whole, or with its body cut off
    /// for `aborted`), for the HAR.
    fn record_answer(
        &mut self,
        done: &Done<'_>,
        head: &Response<()>,
        body: Bytes,
        aborted: Option<&'static str>,
    ) {
        let mut record = self.record_of(done);
        if let Some(tag) = aborted {
            record.cause = Some(tag);
            record.ending = Ending::Aborted(tag);
        }
        let bytes = done.details.body_bytes.unwrap_or(0);
        let finished = record.finished(head, body, bytes);
        self.exchanges.push(finished);
    }

    /// The edge's record of a request answered with the edge's page for `failure`.
    fn record_page(&mut self, done: &Done<'_>, failure: &OriginFailure) {
        let mut record = self.record_of(done);
        record.cause = Some(failure.tag());
        let (page, body) = self.error_page(failure, done.ray, done.at);
        let bytes = body.len() as u64;
        let finished = record.finished(&page, body, bytes);
        self.exchanges.push(finished);
    }

    fn record_of<'r>(&self, done: &'r Done<'r>) -> Record<'r> {
        let mut facts = done.facts;
        if !done.details.reused_connection {
            // The connection's phases, as the stages timed them.
            let phases = self.connection_facts();
            facts.dns = phases.dns;
            facts.connect = phases.connect;
            facts.tls_handshake = phases.tls_handshake;
        }
        Record {
            asked: done.asked,
            ray: done.ray,
            at: done.at,
            facts,
            origin_status: done.details.status,
            cause: None,
            ending: Ending::Complete,
            total: done.took,
        }
    }

    fn stage_took(&self, name: StageName) -> Option<Duration> {
        self.stages
            .iter()
            .find(|s| s.stage == name && s.result != Outcome::Skipped)
            .and_then(|s| s.ms)
    }

    /// `failure` as the visitor would get it: behind Railgun, an origin-link failure is 527.
    fn as_visitor_sees(&self, failure: OriginFailure) -> OriginFailure {
        through_railgun(failure, self.config, self.target.address, &self.plan.host)
    }

    /// The error page the edge would send for `failure`, head and body apart.
    fn error_page(
        &self,
        failure: &OriginFailure,
        ray: RayId,
        at: SystemTime,
    ) -> (Response<()>, Bytes) {
        let answering = Answering {
            config: self.config,
            ray,
            at,
            host: &self.plan.host,
            client_ip: self.from.ip(),
            form: Form::Html,
        };
        let mut page = answering.page(failure.page());
        answering.explain(&mut page, failure.tag());
        let (parts, body) = page.into_parts();
        (Response::from_parts(parts, ()), body)
    }

    /// Records a stage failed before any request went out: `failure` as the visitor would
    /// see it, with what to check, and the edge's page in the HAR.
    fn fail(
        &mut self,
        stage: StageName,
        took: Duration,
        seen: Vec<String>,
        details: Details,
        failure: OriginFailure,
    ) {
        let failure = self.as_visitor_sees(failure);
        let at = SystemTime::now();
        let (page, body) = self.error_page(&failure, self.ray, at);
        let asked = self.asked();
        let record = Record {
            asked: &asked,
            ray: self.ray,
            at,
            facts: self.connection_facts(),
            origin_status: None,
            cause: Some(failure.tag()),
            ending: Ending::Complete,
            total: took,
        };
        let bytes = body.len() as u64;
        let finished = record.finished(&page, body, bytes);
        self.exchanges.push(finished);
        self.fail_seen(stage, took, seen, details, failure);
    }

    /// Records a failed stage for `failure`, already as the visitor sees it.
    fn fail_seen(
        &mut self,
        stage: StageName,
        took: Duration,
        seen: Vec<String>,
        details: Details,
        failure: OriginFailure,
    ) {
        let code = match failure.page() {
            PageKind::Numbered { code, .. } => Some(code),
            _ => None,
        };
        let check = advice::checks(&failure, &self.context());
        let failed = StageFailure {
            status: failure.status(),
            code,
            cause: failure.tag(),
            error: error_chain(&failure),
        };
        self.push_failed(stage, took, seen, details, failed, check);
    }

    /// The connection phases timed so far.
    fn connection_facts(&self) -> crate::origin::ExchangeFacts {
        crate::origin::ExchangeFacts {
            dns: self.stage_took(StageName::Dns),
            connect: self.stage_took(StageName::Connect),
            tls_handshake: self.stage_took(StageName::Tls),
            ..Default::default()
        }
    }

    fn pass(&mut self, stage: StageName, took: Duration, seen: Vec<String>, details: Details) {
        self.push(stage, took, seen, details, Vec::new());
    }

    /// A stage that ran: passed, or a warning when there is something to check.
    fn push(
        &mut self,
        stage: StageName,
        took: Duration,
        seen: Vec<String>,
        details: Details,
        check: Vec<String>,
    ) {
        let result = if check.is_empty() {
            Outcome::Passed
        } else {
            Outcome::Warning
        };
        self.stages.push(Stage {
            stage,
            result,
            ms: Some(took),
            seen,
            failure: None,
            check,
            details,
        });
    }

    fn push_failed(
        &mut self,
        stage: StageName,
        took: Duration,
        seen: Vec<String>,
        details: Details,
        failure: StageFailure,
        check: Vec<String>,
    ) {
        self.stages.push(Stage {
            stage,
            result: Outcome::Failed,
            ms: Some(took),
            seen,
            failure: Some(failure),
            check,
            details,
        });
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
            },
            // Every early return follows a recorded failure; this is only a guard.
            _ => Ended::Failed {
                stage: StageName::Dns,
                status: 500,
                code: None,
                cause: "internal",
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
                warnings,
            },
            Ended::Failed {
                stage,
                status,
                code,
                cause,
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
                ssl: self.target.ssl.as_str(),
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

/// One address's attempt, in words.
fn describe_attempt(attempt: &AddressAttempt) -> String {
    let took = attempt.ms.map(super::table::duration).unwrap_or_default();
    let side = if attempt.tried_by_edge {
        ""
    } else {
        " (checked on the side: the edge did not get to it)"
    };
    match attempt.status {
        None => format!(
            "{} accepted the connection in {took}{side}",
            attempt.address
        ),
        Some(status) => format!(
            "{} failed after {took}: {} ({status}){side}",
            attempt.address, attempt.outcome
        ),
    }
}

/// The certificate's lines for the TLS row.
fn certificate_lines(details: &TlsDetails) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(cert) = &details.certificate {
        let names = if cert.sans.is_empty() {
            "no subject alternative names".to_owned()
        } else {
            cert.sans.join(", ")
        };
        lines.push(format!(
            "certificate for {names} (subject {}), issued by {}{}",
            cert.subject,
            cert.issuer,
            if cert.self_signed {
                " (self-signed)"
            } else {
                ""
            }
        ));
        let left = if cert.days_left < 0 {
            format!("expired {} days ago", -cert.days_left)
        } else {
            format!("{} days left", cert.days_left)
        };
        lines.push(format!(
            "valid from {} to {} ({left}); chain of {}",
            cert.not_before, cert.not_after, cert.chain_length
        ));
    }
    match (details.trusted, details.validated) {
        (Some(true), true) => lines.push(format!(
            "trusted: chains to a trusted root and is valid for {}",
            details.sni
        )),
        (Some(true), false) => lines.push(format!(
            "not checked in SSL mode full; it would also pass full_strict for {}",
            details.sni
        )),
        (Some(false), false) => lines.push(format!(
            "not checked in SSL mode full; full_strict would refuse it ({}) with a 526",
            details.untrusted_reason.unwrap_or("invalid")
        )),
        (Some(false), true) => lines.push(format!(
            "refused: {}",
            details.untrusted_reason.unwrap_or("invalid")
        )),
        (None, _) => {}
    }
    lines
}

/// The response's lines for the HTTP and keep-alive rows.
fn response_lines(sent: &Sent, timeouts: &OriginTimeouts) -> Vec<String> {
    let d = &sent.details;
    let mut lines = Vec::new();
    if let Some(status) = d.status {
        let ttfb = d
            .time_to_first_byte_ms
            .map(super::table::duration)
            .unwrap_or_default();
        lines.push(format!(
            "{status} {} after {ttfb} (read timeout {})",
            pages::reason(status),
            super::table::duration(timeouts.read)
        ));
    }
    if let Some(head) = d.head_bytes {
        lines.push(format!(
            "response head {head} bytes of the {} allowed",
            d.head_limit
        ));
    }
    if let Some(bytes) = d.body_bytes {
        let whole = if d.body_complete == Some(true) {
            "whole"
        } else {
            "cut short"
        };
        lines.push(format!("body {bytes} bytes, {whole}"));
    }
    lines
}

/// The SNI of a TLS target, as text.
fn name_of(tls: &TlsTarget) -> String {
    match &tls.name {
        rustls::pki_types::ServerName::DnsName(name) => name.as_ref().to_owned(),
        rustls::pki_types::ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

/// `failure` and its sources, as one line.
fn error_chain(failure: &OriginFailure) -> String {
    let mut text = failure.to_string();
    let mut source = std::error::Error::source(failure);
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
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
