//! [`Sink`]: a writer that never blocks its caller. Items go through a bounded queue to one
//! background OS thread that writes them; when the queue is full or the writer has failed, the
//! item is dropped and counted, so a slow disk or a full pipe costs log lines, never latency.
//! Also the writer behind `[log] access` ([`line_sink`], for a [`crate::config::Access`]).
//!
//! This module owns the queue, the writer thread and the drop count. It does not format lines
//! (the access log does) and does not publish the count (the metrics read
//! [`Sink::dropped_counter`]).
//!
//! The writer is a `std::thread`, not a tokio task: a `write` stuck on a full pipe or a slow
//! disk must not hold a runtime worker.

use crate::config::Access;
use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use tracing::{info, warn};

/// How often, at most, the writer warns that the queue overflowed.
const OVERFLOW_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// How long the writer rests after writing and flushing a batch, before it looks for the next.
/// Items that come meanwhile wait in the queue and go out as one batch, and no sender has to wake
/// the writer: under load that wake-up (a futex call and two context switches) cost more than the
/// line itself. Once a rest finds the queue empty, the writer blocks until the next item, so an
/// idle sink costs nothing. A line reaches its destination at most this much after it was sent
/// (plus the write).
const BATCH_PAUSE: Duration = Duration::from_millis(10);

/// Bytes buffered in front of a line destination before a write reaches it.
const LINE_BUFFER_BYTES: usize = 64 * 1024;

/// A non-blocking, bounded, counted queue in front of one writer thread.
///
/// `send` never waits: it hands the item over or drops it. Share the sink in an `Arc`; it is
/// `Send + Sync` whenever `T: Send`. Dropping the last handle without [`close`](Self::close)
/// lets the writer drain the queue on its own, but nothing waits for it.
pub struct Sink<T> {
    /// The queue's sending half; `None` once closed.
    queue: RwLock<Option<SyncSender<T>>>,
    /// Items dropped: queue full, sink closed or writer gone, or their write failed.
    dropped: Arc<AtomicU64>,
    /// Disconnects when the writer thread has flushed and dropped its destination; taken by
    /// the first `close`.
    finished: Mutex<Option<Receiver<()>>>,
    /// The name given to `spawn`, for warnings.
    name: Arc<str>,
}

impl<T: Send + 'static> Sink<T> {
    /// Starts the writer thread named `name`. `write` is called for each item, in order, on the
    /// writer thread; `flush` is called whenever the queue runs empty after a write, so also
    /// at close when anything was written since. `capacity` is the number of queued items (at
    /// least 1), not counting the one being written.
    ///
    /// `name` also starts every warning the writer logs, e.g. "access log: cannot write ...".
    /// A failed write drops its item (counted); a failure streak is warned about once and ends
    /// at the next successful flush. Fails only when the OS cannot start a thread.
    pub fn spawn<W, F>(name: &str, capacity: usize, write: W, flush: F) -> io::Result<Sink<T>>
    where
        W: FnMut(T) -> io::Result<()> + Send + 'static,
        F: FnMut() -> io::Result<()> + Send + 'static,
    {
        Self::spawn_pacing(name, capacity, BATCH_PAUSE, write, flush)
    }

    /// [`spawn`](Self::spawn) with the writer resting `pause` after each batch.
    fn spawn_pacing<W, F>(
        name: &str,
        capacity: usize,
        pause: Duration,
        write: W,
        flush: F,
    ) -> io::Result<Sink<T>>
    where
        W: FnMut(T) -> io::Result<()> + Send + 'static,
        F: FnMut() -> io::Result<()> + Send + 'static,
    {
        let (queue, items) = mpsc::sync_channel(capacity.max(1));
        let (finished_tx, finished) = mpsc::channel::<()>();
        let dropped = Arc::new(AtomicU64::new(0));
        let name: Arc<str> = Arc::from(name);

        let writer = Writer {
            name: Arc::clone(&name),
            dropped: Arc::clone(&dropped),
            failures: 0,
            streak: Streak::default(),
            overflow: Overflow::default(),
            pause,
            capacity: capacity.max(1),
        };
        thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                writer.run(items, write, flush);
                // `write` and `flush` (and with them the destination) are gone by now, so
                // whoever waits on `finished` sees a closed file.
                drop(finished_tx);
            })?;

        Ok(Sink {
            queue: RwLock::new(Some(queue)),
            dropped,
            finished: Mutex::new(Some(finished)),
            name,
        })
    }

    /// Queues `item` without blocking; false (and the drop counted) when the queue is full or
    /// the writer is gone.
    pub fn send(&self, item: T) -> bool {
        let queue = self.queue.read().unwrap_or_else(PoisonError::into_inner);
        let queued = match queue.as_ref() {
            Some(sender) => sender.try_send(item).is_ok(),
            None => false,
        };
        if !queued {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        queued
    }

    /// Items dropped so far (queue full, sink closed, or their write failed).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// A shared counter handle (the metrics read it): same value as [`dropped`](Self::dropped).
    pub fn dropped_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.dropped)
    }

    /// Stops accepting (later sends are dropped and counted), lets the writer drain what is
    /// queued and flush, waiting at most `wait`. A writer still busy after `wait` is left to
    /// finish on its own and a warning says so. Only the first call waits.
    pub fn close(&self, wait: Duration) {
        // Dropping the only sender lets the writer see the end once the queue is empty.
        let sender = self
            .queue
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(sender);

        let finished = self
            .finished
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(finished) = finished else {
            return;
        };
        match finished.recv_timeout(wait) {
            // The writer never sends; it disconnects when done.
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {}
            Err(RecvTimeoutError::Timeout) => warn!(
                "{}: writer still busy after {wait:?}; entries still queued may be lost",
                self.name
            ),
        }
    }
}

impl<T> fmt::Debug for Sink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sink")
            .field("name", &self.name)
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The writer thread's state.
struct Writer {
    name: Arc<str>,
    dropped: Arc<AtomicU64>,
    /// Items this thread dropped because their write failed (the rest of `dropped` is
    /// overflow, counted by `send`).
    failures: u64,
    streak: Streak,
    overflow: Overflow,
    /// The longest rest after each batch ([`BATCH_PAUSE`]).
    pause: Duration,
    /// The queue's bound: a rest never lasts long enough to fill half of it.
    capacity: usize,
}

impl Writer {
    /// Writes items until the queue is closed and empty; flushes whenever the queue runs empty
    /// after a write, the last time included. After each flush it rests (`pause`) and takes
    /// what came meanwhile as the next batch; it blocks only when a rest brought nothing.
    fn run<T, W, F>(mut self, items: Receiver<T>, mut write: W, mut flush: F)
    where
        W: FnMut(T) -> io::Result<()>,
        F: FnMut() -> io::Result<()>,
    {
        let mut unflushed = false;
        // Items written since the writer last woke, and when that was: the rate they came in.
        let mut batch: u32 = 0;
        let mut woke = Instant::now();
        loop {
            let item = match items.try_recv() {
                Ok(item) => item,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    if unflushed {
                        unflushed = false;
                        self.flushed(flush());
                        // Busy: let the next items gather rather than be woken for each.
                        let rest = self.rest(batch, woke.elapsed());
                        batch = 0;
                        if !rest.is_zero() {
                            thread::sleep(rest);
                            woke = Instant::now();
                            continue;
                        }
                    }
                    match items.recv() {
                        Ok(item) => {
                            woke = Instant::now();
                            item
                        }
                        Err(mpsc::RecvError) => break,
                    }
                }
            };
            unflushed = true;
            batch = batch.saturating_add(1);
            if let Err(error) = write(item) {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                self.failures += 1;
                if self.streak.failed(true) {
                    warn!(
                        "{}: {error}; dropping entries until a flush succeeds",
                        self.name
                    );
                }
            }
            self.report_overflow();
        }
        if unflushed {
            self.flushed(flush());
        }
        self.report_overflow();
    }

    /// How long to rest after a batch of `batch` items that came in over `took`: at most the
    /// pause, and never longer than half the queue takes to fill at that rate, so a small
    /// `[log] queue` is not overrun while the writer sleeps (with room for one item, it never
    /// rests).
    fn rest(&self, batch: u32, took: Duration) -> Duration {
        let half = u32::try_from(self.capacity / 2).unwrap_or(u32::MAX);
        match batch {
            0 => Duration::ZERO,
            n => (took / n).saturating_mul(half).min(self.pause),
        }
    }

    /// Notes a flush's outcome: a success ends a failure streak, a failure may start one.
    fn flushed(&mut self, result: io::Result<()>) {
        match result {
            Ok(()) => {
                if let Some(lost) = self.streak.recovered() {
                    info!(
                        "{}: writing again; {lost} entries were lost to write errors",
                        self.name
                    );
                }
            }
            Err(error) => {
                if self.streak.failed(false) {
                    warn!(
                        "{}: {error}; dropping entries until a flush succeeds",
                        self.name
                    );
                }
            }
        }
    }

    /// Warns, at most every [`OVERFLOW_WARNING_INTERVAL`], about items dropped because the
    /// queue was full.
    fn report_overflow(&mut self) {
        let overflowed = self
            .dropped
            .load(Ordering::Relaxed)
            .saturating_sub(self.failures);
        if overflowed <= self.overflow.reported {
            // The common case: nothing new, and no clock read.
            return;
        }
        if let Some(count) = self.overflow.due(overflowed, Instant::now()) {
            warn!(
                "{}: queue full, {count} entries dropped; the destination is slower than the \
                 traffic",
                self.name
            );
        }
    }
}

/// A run of write or flush failures, so that it is warned about once rather than per item.
#[derive(Debug, Default)]
struct Streak {
    failing: bool,
    /// Items dropped to write errors in this streak.
    lost: u64,
}

impl Streak {
    /// Notes a failure (`dropped_item`: a write that lost its item, not a flush); true when it
    /// starts a streak, i.e. when to warn.
    fn failed(&mut self, dropped_item: bool) -> bool {
        if dropped_item {
            self.lost += 1;
        }
        let started = !self.failing;
        self.failing = true;
        started
    }

    /// Notes a successful flush; the number of items lost when it ends a streak.
    fn recovered(&mut self) -> Option<u64> {
        if !self.failing {
            return None;
        }
        let lost = self.lost;
        *self = Streak::default();
        Some(lost)
    }
}

/// When to warn about queue overflow.
#[derive(Debug, Default)]
struct Overflow {
    /// Overflow drops already warned about.
    reported: u64,
    /// When the last warning went out.
    last: Option<Instant>,
}

impl Overflow {
    /// Given the overflow drops so far, the number to warn about now, if a warning is due.
    fn due(&mut self, overflowed: u64, now: Instant) -> Option<u64> {
        if overflowed <= self.reported {
            return None;
        }
        if let Some(last) = self.last
            && now.saturating_duration_since(last) < OVERFLOW_WARNING_INTERVAL
        {
            return None;
        }
        let count = overflowed - self.reported;
        self.reported = overflowed;
        self.last = Some(now);
        Some(count)
    }
}

/// The access log's sink for `access`: `None` for [`Access::Off`], otherwise a sink (thread
/// "access log") whose items are lines WITHOUT their trailing newline; the writer adds `'\n'`.
/// Output is buffered (64 KiB) and flushed whenever the queue runs empty, so in batches at
/// most [`BATCH_PAUSE`] apart under load.
///
/// A file is opened for append and created if missing; the error names the path.
pub fn line_sink(access: &Access, capacity: usize) -> io::Result<Option<Sink<String>>> {
    match access {
        Access::Off => Ok(None),
        Access::Stdout => {
            let out = BufWriter::with_capacity(LINE_BUFFER_BYTES, io::stdout());
            spawn_lines(out, "stdout".to_owned(), capacity).map(Some)
        }
        Access::File(path) => {
            let file = OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
                .map_err(|error| {
                    io::Error::new(
                        error.kind(),
                        format!("cannot open access log {}: {error}", path.display()),
                    )
                })?;
            let out = BufWriter::with_capacity(LINE_BUFFER_BYTES, file);
            spawn_lines(out, path.display().to_string(), capacity).map(Some)
        }
    }
}

/// A line sink writing to `out`; `place` names it in errors.
fn spawn_lines<O>(out: O, place: String, capacity: usize) -> io::Result<Sink<String>>
where
    O: Write + Send + 'static,
{
    // Both closures run on the writer thread, one at a time: the lock is never contended.
    let out = Arc::new(Mutex::new(out));
    let place: Arc<str> = Arc::from(place);
    let write_out = Arc::clone(&out);
    let write_place = Arc::clone(&place);
    let write = move |mut line: String| {
        // One write per line, newline included, so a buffer flush never splits a line from
        // its newline.
        line.push('\n');
        let mut out = write_out.lock().unwrap_or_else(PoisonError::into_inner);
        out.write_all(line.as_bytes())
            .map_err(|error| in_context(&write_place, error))
    };
    let flush = move || {
        let mut out = out.lock().unwrap_or_else(PoisonError::into_inner);
        out.flush().map_err(|error| in_context(&place, error))
    };
    Sink::spawn("access log", capacity, write, flush)
}

/// `error`, saying where the write was going.
fn in_context(place: &str, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("cannot write to {place}: {error}"))
}

#[cfg(test)]
mod tests;
