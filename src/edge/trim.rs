//! Giving memory back after a burst. When thousands of held requests end together, the
//! allocator keeps their memory for reuse, so the process stays at its peak size for good
//! (glibc returns only the top of its heap by itself). edgecase counts its open visitor
//! connections and, once a burst has mostly gone (at least [`BURST`] fewer connections than
//! the peak, and at most half of it), asks the allocator to return its free pages. The
//! connection that closes the burst wakes the trimming task, which waits [`SETTLE`] for the
//! rest of the burst to close first.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How many connections must have closed since the peak before memory is given back.
pub const BURST: usize = 256;
/// How long after a burst has mostly closed memory is given back: the rest of it closes
/// meanwhile, and one trim covers it all.
const SETTLE: Duration = Duration::from_millis(100);

/// The number of open visitor connections, and the most since memory was last given back.
#[derive(Debug, Default)]
pub struct OpenConnections {
    open: AtomicUsize,
    peak: AtomicUsize,
    ended: tokio::sync::Notify,
}

/// One open connection; counted until dropped.
#[derive(Debug)]
pub struct Counted(Arc<OpenConnections>);

impl Drop for Counted {
    fn drop(&mut self) {
        let open = self.0.open.fetch_sub(1, Ordering::Relaxed) - 1;
        if ended(open, self.0.peak.load(Ordering::Relaxed)) {
            self.0.ended.notify_one();
        }
    }
}

impl OpenConnections {
    /// Counts a new connection for as long as the guard lives.
    pub fn count(self: &Arc<Self>) -> Counted {
        let open = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(open, Ordering::Relaxed);
        Counted(self.clone())
    }

    /// Whether a burst has ended: the peak was at least [`BURST`] above the count now, which
    /// is at most half of it. Starts a new peak when it says yes.
    fn burst_ended(&self) -> bool {
        let open = self.open.load(Ordering::Relaxed);
        let peak = self.peak.load(Ordering::Relaxed);
        if ended(open, peak) {
            self.peak.store(open, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Runs for ever: gives memory back after each burst. Spawned once by the listener.
    pub async fn give_back_after_bursts(self: Arc<Self>) {
        loop {
            self.ended.notified().await;
            tokio::time::sleep(SETTLE).await;
            if self.burst_ended() {
                // Off the runtime's threads: trimming a large heap takes milliseconds, and
                // with `workers = 1` the one worker also runs every request's timers.
                let _ = tokio::task::spawn_blocking(release_free_memory).await;
            }
        }
    }
}

/// Whether `open` connections, after a peak of `peak`, mean a burst has ended.
fn ended(open: usize, peak: usize) -> bool {
    peak.saturating_sub(open) >= BURST && open <= peak / 2
}

/// Returns the allocator's free pages to the system (glibc's `malloc_trim`); elsewhere the
/// allocator is left to its own policy.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and only releases memory that is free; it is
    // safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_ends_once_most_of_it_has_gone() {
        let open = Arc::new(OpenConnections::default());
        let mut held: Vec<Counted> = (0..BURST * 2).map(|_| open.count()).collect();
        assert!(!open.burst_ended(), "nothing closed yet");
        held.truncate(BURST + 10);
        assert!(!open.burst_ended(), "not half gone");
        held.truncate(BURST - 1);
        assert!(open.burst_ended());
        assert!(!open.burst_ended(), "a new peak starts after each trim");
    }

    #[test]
    fn a_few_connections_never_count_as_a_burst() {
        let open = Arc::new(OpenConnections::default());
        let mut held: Vec<Counted> = (0..BURST - 1).map(|_| open.count()).collect();
        held.clear();
        assert!(!open.burst_ended());
    }

    #[tokio::test]
    async fn the_connection_that_ends_a_burst_wakes_the_trimming_task() {
        let open = Arc::new(OpenConnections::default());
        let mut held: Vec<Counted> = (0..BURST * 2).map(|_| open.count()).collect();
        held.truncate(BURST - 1);
        let woken = tokio::time::timeout(Duration::from_secs(1), open.ended.notified()).await;
        assert!(woken.is_ok(), "no wake-up after the burst closed");
        assert!(open.burst_ended());
    }
}
