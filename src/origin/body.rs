//! The two bodies that cross edgecase: [`RequestBody`] (visitor to origin) and [`OriginBody`]
//! (origin to visitor). Both stream frame by frame; neither buffers a whole body.
//!
//! [`RequestBody`] tells the exchange when the request has been handed over, which starts the
//! read clock. [`OriginBody`] enforces `timeouts.read` between two reads of the response body,
//! returns the connection to the pool once the body is complete, and drops it (closing the
//! origin request) when the visitor goes away first.

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

use crate::config::fault::Slice;
use crate::origin::h1::{BodyFault, Decoder};
use crate::origin::pool::{Conn, Pool};
use crate::origin::slicer::Slicer;
use crate::origin::stall::StallTimer;
pub use crate::origin::upload::{BodyTap, BodyTooLarge, RequestBody};

/// The response body broke off: the visitor's response is aborted, never ended cleanly.
#[derive(Debug)]
pub enum BodyAbort {
    /// No body bytes for `timeouts.read`.
    Stalled {
        /// The read timeout in force.
        after: Duration,
    },
    /// The origin's connection failed mid-body, or its bytes broke the body's framing.
    Origin(BodyFault),
}

impl fmt::Display for BodyAbort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stalled { after } => write!(f, "origin body stalled for {after:?}"),
            Self::Origin(_) => f.write_str("origin connection failed mid-body"),
        }
    }
}

impl StdError for BodyAbort {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Stalled { .. } => None,
            Self::Origin(e) => Some(e),
        }
    }
}

impl BodyAbort {
    /// A stable snake_case tag for logs.
    pub fn tag(&self) -> &'static str {
        match self {
            Self::Stalled { .. } => "body_read_timeout",
            Self::Origin(_) => "body_origin_error",
        }
    }
}

/// A fault rule's shaping of the response body: throttled to a rate, sliced into pieces, its
/// end delayed.
#[derive(Debug, Default)]
pub struct Shaping {
    /// Bytes per second, when throttled.
    rate: Option<u64>,
    /// Piece sizes and the pause between them, when sliced.
    slicer: Option<Slicer>,
    /// The pause owed since the last piece went out, waited for before the next.
    owed: Option<Duration>,
    /// How long the end of the body waits, when delayed (taken once used).
    linger: Option<Duration>,
    /// Data read from the origin and not yet passed on.
    pending: Option<Bytes>,
    /// The body's last data, held back until the linger is over (with a known length, the
    /// visitor sees the end as soon as the last byte arrives).
    held: Option<Bytes>,
    /// The pause before the next piece (or the end).
    wait: Option<Pin<Box<Sleep>>>,
    /// Whether the origin's body has ended.
    inner_done: bool,
}

impl Shaping {
    /// Throttles to `rate` bytes per second, slices as `slice` asks and/or delays the end by
    /// `linger`.
    pub fn new(rate: Option<u64>, linger: Option<Duration>, slice: Option<Slice>) -> Self {
        Shaping {
            rate: rate.filter(|r| *r > 0),
            slicer: slice.map(Slicer::new),
            linger,
            ..Shaping::default()
        }
    }

    /// Whether data goes on piece by piece (throttled or sliced).
    fn paced(&self) -> bool {
        self.rate.is_some() || self.slicer.is_some()
    }

    /// The next piece of pending data (the slice's size, at most a tenth of a second at the
    /// rate), owing the pause before the next one: the slice's delay and the piece's time at
    /// the rate.
    fn next_piece(&mut self) -> Option<Bytes> {
        let chunk = self.pending.as_mut()?;
        // A tenth of a second's worth at a time keeps a throttled flow smooth.
        let by_rate = self.rate.map_or(usize::MAX, |rate| {
            usize::try_from((rate / 10).max(1)).unwrap_or(usize::MAX)
        });
        let by_slice = self.slicer.as_mut().map_or(usize::MAX, Slicer::size);
        let size = by_rate.min(by_slice).min(chunk.len());
        let piece = chunk.split_to(size);
        if chunk.is_empty() {
            self.pending = None;
        }
        let mut pause = self.slicer.as_ref().map_or(Duration::ZERO, Slicer::delay);
        if let Some(rate) = self.rate {
            pause += Duration::from_secs_f64(size as f64 / rate as f64);
        }
        self.owed = Some(pause);
        Some(piece)
    }

    /// The pause owed before the next piece, once there is one. After the body's last piece
    /// nothing is waited for: the visitor has the body whole, and a pause would hold the
    /// exchange open until it had gone (`visitor_gone`).
    fn pause_owed(&mut self) -> Option<Duration> {
        self.pending.as_ref()?;
        self.owed.take()
    }

    fn is_done(&self) -> bool {
        self.inner_done
            && self.pending.is_none()
            && self.held.is_none()
            && self.wait.is_none()
            && self.linger.is_none()
    }
}

/// The origin's response body on its way to the visitor.
pub struct OriginBody {
    /// Takes the body out of the connection's bytes.
    inner: Decoder,
    /// Fires when the body has not moved for `timeouts.read`.
    stall: StallTimer,
    /// Returned to the pool once the body completes (when there is one); dropped (closing
    /// it) otherwise.
    conn: Option<(Conn, Option<Pool>)>,
    /// An origin failure held back one poll, so the data read just before it reaches the
    /// visitor first (see [`OriginBody::poll_origin`]).
    failed: Option<BodyFault>,
    /// Whether data went out since the body last waited.
    fresh: bool,
    /// A fault rule's shaping, if any.
    shaping: Option<Box<Shaping>>,
}

impl OriginBody {
    /// Streams the body `inner` decodes from `conn`, allowing at most `idle_limit` between two
    /// frames, and hands `conn` back to `pool` once the body is complete (`None`: the
    /// connection is not reused).
    pub fn new(inner: Decoder, idle_limit: Duration, conn: Conn, pool: Option<Pool>) -> Self {
        let mut body = OriginBody {
            inner,
            stall: StallTimer::new(idle_limit),
            conn: Some((conn, pool)),
            shaping: None,
            failed: None,
            fresh: false,
        };
        if body.inner.is_end() {
            body.release();
        }
        body
    }

    /// A body with nothing in it and no connection (a `101`'s: the connection went to the
    /// tunnel).
    pub fn empty(idle_limit: Duration) -> Self {
        OriginBody {
            inner: Decoder::new(crate::origin::h1::BodyFraming::Empty, 0),
            stall: StallTimer::new(idle_limit),
            conn: None,
            shaping: None,
            failed: None,
            fresh: false,
        }
    }

    /// The same body, shaped as a fault rule asks.
    pub fn shaped(mut self, shaping: Option<Shaping>) -> Self {
        self.shaping = shaping.map(Box::new);
        self
    }

    fn release(&mut self) {
        if let Some((conn, Some(pool))) = self.conn.take() {
            pool.release(conn);
        }
    }

    /// The origin's next frame, with the stall timer and the pool handled.
    fn poll_origin(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyAbort>>> {
        if let Some(fault) = self.failed.take() {
            return Poll::Ready(Some(Err(BodyAbort::Origin(fault))));
        }
        let Some((conn, _)) = self.conn.as_mut() else {
            // Released (the body is over) or dropped after an abort.
            return Poll::Ready(None);
        };
        match conn.wire.poll_body(cx, &mut self.inner) {
            Poll::Pending => {
                self.fresh = false;
                ready!(self.stall.poll_stalled(cx));
                self.conn = None;
                let after = self.stall.limit();
                Poll::Ready(Some(Err(BodyAbort::Stalled { after })))
            }
            Poll::Ready(Some(Ok(frame))) => {
                self.stall.progress();
                self.fresh = true;
                if self.inner.is_end() {
                    self.release();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.conn = None;
                if std::mem::take(&mut self.fresh) {
                    // The bytes before the failure came in the same read as it: hyper would
                    // abort the visitor's response before writing them. Waiting one turn
                    // lets it flush the head and those bytes first, as a visitor behind
                    // Cloudflare sees a body cut short, not no response at all.
                    self.failed = Some(e);
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Ready(Some(Err(BodyAbort::Origin(e))))
            }
            Poll::Ready(None) => {
                self.release();
                Poll::Ready(None)
            }
        }
    }
}

impl Body for OriginBody {
    type Data = Bytes;
    type Error = BodyAbort;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyAbort>>> {
        let this = self.get_mut();
        if this.shaping.is_none() {
            return this.poll_origin(cx);
        }
        loop {
            if let Some(shaping) = this.shaping.as_deref_mut() {
                if let Some(wait) = &mut shaping.wait {
                    ready!(wait.as_mut().poll(cx));
                    shaping.wait = None;
                }
                if let Some(pause) = shaping.pause_owed() {
                    shaping.wait = Some(Box::pin(tokio::time::sleep(pause)));
                    continue;
                }
                if shaping.paced()
                    && let Some(piece) = shaping.next_piece()
                {
                    return Poll::Ready(Some(Ok(Frame::data(piece))));
                }
                if let Some(last) = shaping.held.take() {
                    return Poll::Ready(Some(Ok(Frame::data(last))));
                }
                if shaping.inner_done {
                    if let Some(linger) = shaping.linger.take() {
                        shaping.wait = Some(Box::pin(tokio::time::sleep(linger)));
                        continue;
                    }
                    return Poll::Ready(None);
                }
            }
            let frame = ready!(this.poll_origin(cx));
            let end = this.inner.is_end();
            let Some(shaping) = this.shaping.as_deref_mut() else {
                return Poll::Ready(frame);
            };
            match frame {
                None => shaping.inner_done = true,
                Some(Ok(frame)) => {
                    shaping.inner_done = end;
                    match frame.into_data() {
                        Ok(data) if shaping.paced() => shaping.pending = Some(data),
                        Ok(data) if end && shaping.linger.is_some() => {
                            let linger = shaping.linger.take().unwrap_or_default();
                            shaping.held = Some(data);
                            shaping.wait = Some(Box::pin(tokio::time::sleep(linger)));
                        }
                        Ok(data) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                        Err(trailers) => return Poll::Ready(Some(Ok(trailers))),
                    }
                }
                Some(Err(abort)) => return Poll::Ready(Some(Err(abort))),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.shaping {
            Some(shaping) => shaping.is_done(),
            None => self.inner.is_end(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
