//! [`StallTimer`]: "no progress for this long", the clock behind both the write timeout (a
//! write to the origin that stays pending) and the body read timeout (a response body that
//! stops flowing).
//!
//! The clock starts on the first `Pending` after progress and is cleared by the next progress,
//! so only time spent waiting on the origin counts, never time the visitor takes.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// Fires once an operation has stayed pending for `limit` without progress.
#[derive(Debug)]
pub struct StallTimer {
    limit: Duration,
    /// Allocated on the first stall and reused after.
    sleep: Option<Pin<Box<Sleep>>>,
    /// Whether the clock is running for the current stall.
    armed: bool,
}

impl StallTimer {
    /// A timer allowing `limit` without progress.
    pub fn new(limit: Duration) -> Self {
        StallTimer {
            limit,
            sleep: None,
            armed: false,
        }
    }

    /// The limit in force.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// The operation made progress: the next stall starts a fresh clock.
    pub fn progress(&mut self) {
        self.armed = false;
    }

    /// The operation is pending: starts the clock if it is not running, and is ready once
    /// `limit` has passed since it started.
    pub fn poll_stalled(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.armed {
            self.armed = true;
            let deadline = Instant::now() + self.limit;
            match &mut self.sleep {
                Some(sleep) => sleep.as_mut().reset(deadline),
                None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        let Some(sleep) = self.sleep.as_mut() else {
            return Poll::Pending;
        };
        ready!(sleep.as_mut().poll(cx));
        Poll::Ready(())
    }
}
