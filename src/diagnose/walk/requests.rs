//! Stages 4 and 5: the request and its whole response, then a second request on the
//! connection the first left in the pool, each through the proxy's exchange.

use std::time::SystemTime;

use super::{Done, Walk};
use crate::diagnose::advice;
use crate::diagnose::describe::response_lines;
use crate::diagnose::report::{Details, HttpDetails, StageFailure, StageName};
use crate::diagnose::request::{self, End, Sent};
use crate::origin::body::BodyAbort;
use crate::origin::exchange::is_stale_connection;
use crate::origin::pool::Conn;
use crate::ray::RayId;

impl Walk<'_> {
    /// Stage 4: the request and its whole response. `Some(status)` when the origin's answer
    /// reached the visitor whole.
    pub(super) async fn first_request(&mut self, conn: Conn) -> Option<u16> {
        let ray = self.ray;
        self.request(StageName::Http, conn, ray).await
    }

    /// Stage 5: a second request on the connection the first one left in the pool.
    pub(super) async fn keep_alive(&mut self) {
        let Some(conn) = self.pool.checkout(&self.key) else {
            let closed = self.closed_after_first();
            self.push(
                StageName::KeepAlive,
                None,
                vec![closed],
                Details::None,
                advice::keep_alive_off(&self.context()),
            );
            return;
        };
        let ray = self.rays.next(self.config.edge.colo);
        self.request(StageName::KeepAlive, conn, ray).await;
    }

    /// One request on `conn` as request `ray`, recorded as `stage` (the first request, or the
    /// keep-alive one): `Some(status)` when the origin's answer reached the visitor whole.
    async fn request(&mut self, stage: StageName, conn: Conn, ray: RayId) -> Option<u16> {
        let asked = self.asked();
        let at = SystemTime::now();
        let timeouts = self.timeouts();
        let sent = request::send(&self.client, conn, &self.pool, &asked, ray, &timeouts).await;
        let first = match stage {
            StageName::KeepAlive => format!(
                "a second {} on the same connection (cf-ray {ray})",
                sent.details.request
            ),
            _ => format!(
                "{} (Host {}, cf-ray {ray})",
                sent.details.request, self.plan.host
            ),
        };
        let mut seen = vec![first];
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
                let status = head.status().as_u16();
                let check = if status >= 400 && stage == StageName::Http {
                    advice::origin_error_status(status, &self.context())
                } else {
                    Vec::new()
                };
                self.push(stage, took, seen, details, check);
                Some(status)
            }
            End::Failed(failure)
                if stage == StageName::KeepAlive && is_stale_connection(&failure) =>
            {
                // The visitor would not see this: the edge sends a bodiless GET again on a
                // new connection. So no record of it goes in the HAR.
                seen.push(format!(
                    "the origin closed the kept-alive connection instead of answering \
                     ({}); the edge sends a bodiless GET again on a new connection, but a POST \
                     would get 520",
                    failure.tag()
                ));
                let check = advice::keep_alive_off(&self.context());
                self.push(stage, took, seen, details, check);
                None
            }
            End::Failed(failure) => {
                let failure = self.as_visitor_sees(failure);
                self.record_page(&done, &failure);
                self.fail_seen(stage, took, seen, details, failure);
                None
            }
            End::BodyAborted { head, body, abort } => {
                self.record_answer(&done, &head, body, Some(abort.tag()));
                let failure = cut_short(facts_of.status, &abort);
                let check = advice::body_aborted(&abort, &self.context());
                self.push_failed(stage, took, seen, details, failure, check);
                None
            }
        }
    }

    /// Why the first request's connection was not there for a second one.
    pub(super) fn closed_after_first(&self) -> String {
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

    pub(super) fn stage_http_details(&self) -> Option<&HttpDetails> {
        self.stages
            .iter()
            .find(|s| s.stage == StageName::Http)
            .and_then(|s| match &s.details {
                Details::Http(http) => Some(http),
                _ => None,
            })
    }
}

/// The failure of a response whose body broke off after the origin's head (`status`).
fn cut_short(status: Option<u16>, abort: &BodyAbort) -> StageFailure {
    StageFailure {
        status: status.unwrap_or(0),
        code: None,
        cause: abort.tag(),
        error: abort.to_string(),
        cut_short: true,
    }
}
