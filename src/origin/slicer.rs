//! Toxiproxy's `slicer` toxic on an HTTP body: the data cut into pieces of about
//! `average_size` bytes (give or take `size_variation`), with `delay` between them. Downstream
//! the response body's [`super::body::Shaping`] asks [`Slicer`] for each piece's size and the
//! pause after it; upstream [`Pieces`] paces the request body on its way to the origin. The
//! bytes themselves are never changed: the body arrives whole.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Sleep;

use crate::config::fault::Slice;
use crate::emulation::rng::Rng;

/// Draws piece sizes for one body. Sizes are not drawn from `[emulation] seed`: they change
/// timing only, never what arrives.
#[derive(Debug)]
pub struct Slicer {
    slice: Slice,
    rng: Rng,
}

impl Slicer {
    /// Sizes for `slice`.
    pub fn new(slice: Slice) -> Self {
        Slicer {
            slice,
            rng: Rng::random(),
        }
    }

    /// The next piece's size: `average_size` give or take `size_variation`, at least 1.
    pub fn size(&mut self) -> usize {
        let Slice {
            average, variation, ..
        } = self.slice;
        let variation = variation.min(average.saturating_sub(1));
        let spread = self.rng.next_u64() % (2 * variation + 1);
        let size = (average - variation + spread).max(1);
        usize::try_from(size).unwrap_or(usize::MAX)
    }

    /// The pause after each piece.
    pub fn delay(&self) -> Duration {
        self.slice.delay
    }
}

/// A body's data on its way, handed on one piece at a time.
#[derive(Debug)]
pub struct Pieces {
    slicer: Slicer,
    pending: Option<Bytes>,
    wait: Option<Pin<Box<Sleep>>>,
}

impl Pieces {
    /// Pieces as `slice` asks.
    pub fn new(slice: Slice) -> Self {
        Pieces {
            slicer: Slicer::new(slice),
            pending: None,
            wait: None,
        }
    }

    /// Takes `data` to hand on in pieces (after what is pending: call once that is gone).
    pub fn hold(&mut self, data: Bytes) {
        self.pending = Some(data);
    }

    /// The next piece once the pause before it is over; `Ready(None)` when nothing is pending.
    pub fn poll_piece(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if let Some(wait) = &mut self.wait {
            std::task::ready!(wait.as_mut().poll(cx));
            self.wait = None;
        }
        let Some(pending) = self.pending.as_mut() else {
            return Poll::Ready(None);
        };
        let size = self.slicer.size().min(pending.len());
        let piece = pending.split_to(size);
        if pending.is_empty() {
            self.pending = None;
        }
        // After every piece, the last one too, as Toxiproxy's slicer waits.
        self.wait = Some(Box::pin(tokio::time::sleep(self.slicer.delay())));
        Poll::Ready(Some(piece))
    }

    /// Whether nothing is pending or waited for.
    pub fn is_empty(&self) -> bool {
        self.pending.is_none() && self.wait.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_stay_within_the_variation_and_never_reach_zero() {
        let slice = |average, variation| Slice {
            average,
            variation,
            delay: Duration::ZERO,
        };
        let mut slicer = Slicer::new(slice(10, 3));
        for _ in 0..1000 {
            assert!((7..=13).contains(&slicer.size()));
        }
        let mut slicer = Slicer::new(slice(2, 50));
        for _ in 0..1000 {
            assert!((1..=3).contains(&slicer.size()));
        }
    }
}
