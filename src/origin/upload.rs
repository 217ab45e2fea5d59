//! [`RequestBody`]: the visitor's request body on its way to the origin, streamed frame by
//! frame. It counts what passes ([`BodyTap`], for logs and HAR), enforces `[limits]
//! request_body_bytes` ([`BodyTooLarge`], 413), and can read its first frame ahead so a body
//! broken from the start is refused before the origin is contacted.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use crate::config::fault::Slice;
use crate::origin::slicer::Pieces;

/// The visitor's request body on its way to the origin.
///
/// Small: it lives in every held request. The frames' state lives behind a box, and a
/// request without a body (most of them) has none.
pub struct RequestBody {
    /// The frames still to send; `None` when there are none (or never were).
    stream: Option<Box<Stream>>,
    /// An upstream `slicer` toxic's pieces, when the body is sliced.
    pieces: Option<Box<Pieces>>,
}

/// The state of a body with frames.
struct Stream {
    inner: Option<Incoming>,
    /// A frame read ahead by [`RequestBody::prime`], sent first.
    primed: Option<Frame<Bytes>>,
    tap: Option<Arc<BodyTap>>,
    /// The most body bytes allowed (`[limits] request_body_bytes`), and how many came so far.
    limit: Option<(u64, u64)>,
}

/// The visitor's body grew past `[limits] request_body_bytes` (413).
#[derive(Debug, thiserror::Error)]
#[error("the request body is over {limit} bytes")]
pub struct BodyTooLarge {
    /// The limit.
    pub limit: u64,
}

/// Why the request body stopped: the visitor's stream failed, or it grew too large.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// The failure a broken request body makes: a 413 past the limit, a 400 for the visitor's
/// own broken stream, a 500 for anything else.
pub fn failure_of_body(e: BodyError) -> crate::failure::OriginFailure {
    use crate::failure::OriginFailure;
    match e.downcast::<BodyTooLarge>() {
        Ok(too_large) => OriginFailure::BodyTooLarge {
            limit: too_large.limit,
        },
        Err(other) => match other.downcast::<hyper::Error>() {
            Ok(broken) => OriginFailure::VisitorBody(*broken),
            Err(other) => OriginFailure::Internal(std::io::Error::other(other)),
        },
    }
}

/// Counts a request body's bytes as they go to the origin, and keeps its start (for HAR
/// capture). Shared between the body and the request's log record.
#[derive(Debug, Default)]
pub struct BodyTap {
    bytes: AtomicU64,
    kept: Mutex<BytesMut>,
    limit: usize,
}

impl BodyTap {
    /// A tap keeping up to `limit` bytes.
    pub fn new(limit: usize) -> Self {
        BodyTap {
            limit,
            ..BodyTap::default()
        }
    }

    fn saw(&self, chunk: &[u8]) {
        self.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        if self.limit == 0 {
            return;
        }
        // Only this body writes, frame by frame: the lock is never contended for long.
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let room = self.limit.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    /// Body bytes that went to the origin.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The start of the body, if any was kept.
    pub fn kept(&self) -> Option<Bytes> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        (!kept.is_empty()).then(|| Bytes::copy_from_slice(&kept))
    }
}

impl RequestBody {
    /// Streams the visitor's body.
    pub fn streaming(body: Incoming) -> Self {
        if body.is_end_stream() {
            return RequestBody::empty();
        }
        let stream = Stream {
            inner: Some(body),
            primed: None,
            tap: None,
            limit: None,
        };
        RequestBody {
            stream: Some(Box::new(stream)),
            pieces: None,
        }
    }

    /// No body (retries of bodiless requests).
    pub fn empty() -> Self {
        RequestBody {
            stream: None,
            pieces: None,
        }
    }

    /// The same body, failing with [`BodyTooLarge`] once it passes `limit` bytes.
    pub fn limited(mut self, limit: u64) -> Self {
        if let Some(stream) = &mut self.stream {
            stream.limit = Some((limit, 0));
        }
        self
    }

    /// The same body, sent to the origin in pieces as `slice` asks (an upstream `slicer`).
    pub fn sliced(mut self, slice: Slice) -> Self {
        if self.stream.is_some() {
            self.pieces = Some(Box::new(Pieces::new(slice)));
        }
        self
    }

    /// The same body, counted (and its start kept) by `tap` as it goes.
    pub fn tapped(mut self, tap: Arc<BodyTap>) -> Self {
        if let Some(stream) = &mut self.stream {
            stream.tap = Some(tap);
        }
        self
    }

    /// Reads the first frame now, before anything goes to the origin, so a body that is broken
    /// from its first byte (a bad chunk size) is refused without contacting the origin. Gives
    /// up waiting after `within` (the frame is then read as the request streams).
    pub async fn prime(&mut self, within: std::time::Duration) -> Result<(), BodyError> {
        let Some(stream) = self.stream.as_deref_mut() else {
            return Ok(());
        };
        let Some(inner) = stream.inner.as_mut() else {
            return Ok(());
        };
        let first = std::future::poll_fn(|cx| Pin::new(&mut *inner).poll_frame(cx));
        match tokio::time::timeout(within, first).await {
            Err(_slow) => Ok(()),
            Ok(None) => {
                stream.inner = None;
                Ok(())
            }
            Ok(Some(Err(e))) => Err(e.into()),
            Ok(Some(Ok(frame))) => {
                stream.count(&frame)?;
                stream.primed = Some(frame);
                Ok(())
            }
        }
    }

    /// The next frame of the body as the visitor sent it, counted.
    fn poll_whole(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self;
        let Some(stream) = this.stream.as_deref_mut() else {
            this.finished();
            return Poll::Ready(None);
        };
        if let Some(frame) = stream.primed.take() {
            if stream.is_end_stream() {
                this.finished();
            }
            return Poll::Ready(Some(Ok(frame)));
        }
        let Some(inner) = stream.inner.as_mut() else {
            this.finished();
            return Poll::Ready(None);
        };
        let frame = ready!(Pin::new(&mut *inner).poll_frame(cx));
        let end = frame.is_none() || inner.is_end_stream();
        let frame = match frame {
            Some(Ok(frame)) => match stream.count(&frame) {
                Ok(()) => Some(Ok(frame)),
                Err(too_large) => Some(Err(too_large)),
            },
            Some(Err(e)) => Some(Err(e.into())),
            None => None,
        };
        if end {
            this.finished();
        }
        Poll::Ready(frame)
    }

    fn finished(&mut self) {
        self.stream = None;
    }
}

impl Stream {
    /// Counts `frame` against the tap and the limit.
    fn count(&mut self, frame: &Frame<Bytes>) -> Result<(), BodyError> {
        let Some(data) = frame.data_ref() else {
            return Ok(());
        };
        if let Some(tap) = &self.tap {
            tap.saw(data);
        }
        if let Some((limit, seen)) = &mut self.limit {
            *seen += data.len() as u64;
            if *seen > *limit {
                return Err(Box::new(BodyTooLarge { limit: *limit }));
            }
        }
        Ok(())
    }

    fn is_end_stream(&self) -> bool {
        self.primed.is_none() && self.inner.as_ref().is_none_or(Body::is_end_stream)
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        loop {
            if let Some(pieces) = this.pieces.as_deref_mut()
                && let Some(piece) = ready!(pieces.poll_piece(cx))
            {
                return Poll::Ready(Some(Ok(Frame::data(piece))));
            }
            let frame = ready!(this.poll_whole(cx));
            match (this.pieces.as_deref_mut(), frame) {
                (Some(pieces), Some(Ok(frame))) if frame.is_data() => match frame.into_data() {
                    Ok(data) => pieces.hold(data),
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                (_, frame) => return Poll::Ready(frame),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.as_deref().is_none_or(Pieces::is_empty)
            && self.stream.as_deref().is_none_or(Stream::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let Some(stream) = self.stream.as_deref() else {
            return SizeHint::with_exact(0);
        };
        let inner = stream
            .inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint);
        let primed = stream
            .primed
            .as_ref()
            .and_then(Frame::data_ref)
            .map_or(0, |d| d.len() as u64);
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower() + primed);
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + primed);
        }
        hint
    }
}
