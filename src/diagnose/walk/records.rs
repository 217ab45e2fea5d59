//! What the walk keeps of each stage and request: the report's rows (passed, warning,
//! failed, with what to check), and the edge's record of each request for the HAR, the
//! visitor's answer being the origin's or the edge's own page.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::Response;

use super::{Done, Walk};
use crate::diagnose::advice;
use crate::diagnose::describe::error_chain;
use crate::diagnose::report::{Details, Outcome, Stage, StageFailure, StageName};
use crate::diagnose::request::Record;
use crate::edge::errors::{Answering, through_railgun};
use crate::failure::OriginFailure;
use crate::pages::{Form, PageKind};
use crate::ray::RayId;
use crate::record::ExchangeFacts;
use crate::record::finished::Ending;

impl Walk<'_> {
    /// The edge's record of a request the origin answered (whole, or with its body cut off
    /// for `aborted`), for the HAR.
    pub(super) fn record_answer(
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
    pub(super) fn record_page(&mut self, done: &Done<'_>, failure: &OriginFailure) {
        let mut record = self.record_of(done);
        record.cause = Some(failure.tag());
        let (page, body) = self.error_page(failure, done.ray, done.at);
        let bytes = body.len() as u64;
        let finished = record.finished(&page, body, bytes);
        self.exchanges.push(finished);
    }

    pub(super) fn record_of<'r>(&self, done: &'r Done<'r>) -> Record<'r> {
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

    pub(super) fn stage_took(&self, name: StageName) -> Option<Duration> {
        self.stages
            .iter()
            .find(|s| s.stage == name && s.result != Outcome::Skipped)
            .and_then(|s| s.ms)
    }

    /// `failure` as the visitor would get it: behind Railgun, an origin-link failure is 527.
    pub(super) fn as_visitor_sees(&self, failure: OriginFailure) -> OriginFailure {
        through_railgun(failure, self.config, self.target.address, &self.plan.host)
    }

    /// The error page the edge would send for `failure`, head and body apart.
    pub(super) fn error_page(
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
        let mut page = answering.page(PageKind::of(failure));
        answering.explain(&mut page, failure.tag());
        let (parts, body) = page.into_parts();
        (Response::from_parts(parts, ()), body)
    }

    /// Records a stage failed before any request went out: `failure` as the visitor would
    /// see it, with what to check, and the edge's page in the HAR.
    pub(super) fn fail(
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
    pub(super) fn fail_seen(
        &mut self,
        stage: StageName,
        took: Duration,
        seen: Vec<String>,
        details: Details,
        failure: OriginFailure,
    ) {
        let code = match PageKind::of(&failure) {
            PageKind::Numbered { code, .. } => Some(code),
            _ => None,
        };
        let check = advice::checks(&failure, &self.context());
        let failed = StageFailure {
            status: failure.status(),
            code,
            cause: failure.tag(),
            error: error_chain(&failure),
            cut_short: false,
        };
        self.push_failed(stage, took, seen, details, failed, check);
    }

    /// The connection phases timed so far.
    pub(super) fn connection_facts(&self) -> ExchangeFacts {
        ExchangeFacts {
            dns: self.stage_took(StageName::Dns),
            connect: self.stage_took(StageName::Connect),
            tls_handshake: self.stage_took(StageName::Tls),
            ..Default::default()
        }
    }

    /// A stage that ran: passed, or a warning when there is something to check.
    pub(super) fn push(
        &mut self,
        stage: StageName,
        took: impl Into<Option<Duration>>,
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
            ms: took.into(),
            seen,
            failure: None,
            check,
            details,
        });
    }

    pub(super) fn push_failed(
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
}
