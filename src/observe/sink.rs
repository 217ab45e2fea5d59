//! [`Sink`]: a writer that never blocks its caller. Items go through a bounded queue to one
//! background OS thread that writes them; when the queue is full or the writer has failed, the
//! item is dropped and counted, so a slow disk or a full pipe costs log lines, never latency.
//! Also the two destinations of `[log] access` ([`Access`], [`line_sink`]).
//!
//! This module owns the queue, the writer thread and the drop count. It does not format lines
//! (the access log does) and does not publish the count (the metrics read
//! [`Sink::dropped_counter`]).
//!
//! The writer is a `std::thread`, not a tokio task: a `write` stuck on a full pipe or a slow
//! disk must not hold a runtime worker.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use tracing::{info, warn};

/// How often, at most, the writer warns that the queue overflowed.
const OVERFLOW_WARNING_INTERVAL: Duration = Duration::from_secs(60);

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
}

impl Writer {
    /// Writes items until the queue is closed and empty; flushes whenever the queue runs empty
    /// after a write, the last time included.
    fn run<T, W, F>(mut self, items: Receiver<T>, mut write: W, mut flush: F)
    where
        W: FnMut(T) -> io::Result<()>,
        F: FnMut() -> io::Result<()>,
    {
        let mut unflushed = false;
        loop {
            let item = match items.try_recv() {
                Ok(item) => item,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    if unflushed {
                        unflushed = false;
                        self.flushed(flush());
                    }
                    match items.recv() {
                        Ok(item) => item,
                        Err(mpsc::RecvError) => break,
                    }
                }
            };
            unflushed = true;
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

/// Where `[log] access` sends its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Standard output (the default).
    Stdout,
    /// No access log.
    Off,
    /// Appended to this file, created if missing.
    File(PathBuf),
}

/// An empty `[log] access` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be \"stdout\", \"off\" or a file path, not empty")]
pub struct EmptyAccess;

impl FromStr for Access {
    type Err = EmptyAccess;

    /// `stdout` and `off` exactly (lowercase); any other non-blank text is a file path (write
    /// `./stdout` for a file of that name).
    fn from_str(text: &str) -> Result<Access, EmptyAccess> {
        match text {
            "stdout" => Ok(Access::Stdout),
            "off" => Ok(Access::Off),
            _ if text.trim().is_empty() => Err(EmptyAccess),
            path => Ok(Access::File(PathBuf::from(path))),
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Access::Stdout => f.write_str("stdout"),
            Access::Off => f.write_str("off"),
            Access::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The access log's sink for `access`: `None` for [`Access::Off`], otherwise a sink (thread
/// "access log") whose items are lines WITHOUT their trailing newline; the writer adds `'\n'`.
/// Output is buffered (64 KiB) and flushed whenever the queue runs empty.
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
mod tests {
    use super::*;
    use std::sync::mpsc::Sender;

    /// What a test writer saw, in order.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Event {
        Write(u32),
        Flush,
    }

    type Events = Arc<Mutex<Vec<Event>>>;

    const PATIENCE: Duration = Duration::from_secs(10);

    fn events(log: &Events) -> Vec<Event> {
        log.lock().expect("no test writer panicked").clone()
    }

    fn writes(log: &Events) -> Vec<u32> {
        events(log)
            .into_iter()
            .filter_map(|event| match event {
                Event::Write(item) => Some(item),
                Event::Flush => None,
            })
            .collect()
    }

    /// A sink whose writer records into the returned log and fails on items `fails` picks.
    fn recording_sink(capacity: usize, fails: fn(u32) -> bool) -> (Sink<u32>, Events) {
        let log = Events::default();
        let write_log = Arc::clone(&log);
        let flush_log = Arc::clone(&log);
        let sink = Sink::spawn(
            "test sink",
            capacity,
            move |item| {
                if fails(item) {
                    return Err(io::Error::other("disk on fire"));
                }
                write_log
                    .lock()
                    .expect("no panics")
                    .push(Event::Write(item));
                Ok(())
            },
            move || {
                flush_log.lock().expect("no panics").push(Event::Flush);
                Ok(())
            },
        )
        .expect("thread starts");
        (sink, log)
    }

    /// A writer that blocks in every `write` until the test opens the gate.
    struct Gated {
        sink: Sink<u32>,
        log: Events,
        /// Receives each item as its write starts.
        entered: Receiver<u32>,
        /// Dropping it opens the gate for good.
        gate: Sender<()>,
    }

    fn gated_sink(capacity: usize) -> Gated {
        let log = Events::default();
        let write_log = Arc::clone(&log);
        let flush_log = Arc::clone(&log);
        let (entered_tx, entered) = mpsc::channel();
        let (gate, gate_rx) = mpsc::channel::<()>();
        let sink = Sink::spawn(
            "gated sink",
            capacity,
            move |item| {
                let _ = entered_tx.send(item);
                // Err once the test dropped the gate: open from then on.
                let _ = gate_rx.recv();
                write_log
                    .lock()
                    .expect("no panics")
                    .push(Event::Write(item));
                Ok(())
            },
            move || {
                flush_log.lock().expect("no panics").push(Event::Flush);
                Ok(())
            },
        )
        .expect("thread starts");
        Gated {
            sink,
            log,
            entered,
            gate,
        }
    }

    #[test]
    fn sink_is_send_and_sync() {
        fn shareable<S: Send + Sync>() {}
        shareable::<Sink<String>>();
        shareable::<Sink<u32>>();
    }

    #[test]
    fn items_are_written_in_order_and_flushed_at_close() {
        let (sink, log) = recording_sink(1024, |_| false);
        for item in 0..500 {
            assert!(sink.send(item));
        }
        sink.close(PATIENCE);
        assert_eq!(writes(&log), (0..500).collect::<Vec<_>>());
        assert_eq!(events(&log).last(), Some(&Event::Flush));
        assert_eq!(sink.dropped(), 0);
    }

    #[test]
    fn flush_follows_each_time_the_queue_runs_empty() {
        let (sink, log) = recording_sink(8, |_| false);
        assert!(sink.send(1));
        // Wait until the writer flushed item 1, i.e. the queue ran empty.
        let deadline = Instant::now() + PATIENCE;
        while events(&log) != [Event::Write(1), Event::Flush] {
            assert!(Instant::now() < deadline, "no flush: {:?}", events(&log));
            thread::yield_now();
        }
        assert!(sink.send(2));
        sink.close(PATIENCE);
        assert_eq!(
            events(&log),
            [Event::Write(1), Event::Flush, Event::Write(2), Event::Flush]
        );
    }

    #[test]
    fn close_waits_for_the_queue_to_drain_and_flush() {
        let Gated {
            sink,
            log,
            entered,
            gate,
        } = gated_sink(16);
        for item in 0..10 {
            assert!(sink.send(item));
        }
        assert_eq!(entered.recv_timeout(PATIENCE), Ok(0));

        let sink = Arc::new(sink);
        let closer = Arc::clone(&sink);
        let (closed_tx, closed) = mpsc::channel();
        thread::spawn(move || {
            closer.close(PATIENCE);
            let _ = closed_tx.send(());
        });
        // The writer is stuck on item 0, so close cannot have returned yet.
        assert_eq!(closed.try_recv(), Err(mpsc::TryRecvError::Empty));
        drop(gate);
        assert_eq!(closed.recv_timeout(PATIENCE), Ok(()));

        assert_eq!(writes(&log), (0..10).collect::<Vec<_>>());
        assert_eq!(events(&log).last(), Some(&Event::Flush));
        assert_eq!(sink.dropped(), 0);
        assert!(!sink.send(99), "a closed sink takes nothing");
        assert_eq!(sink.dropped(), 1);
    }

    #[test]
    fn blocked_writer_makes_sends_drop_instead_of_wait() {
        const CAPACITY: usize = 4;
        let Gated {
            sink,
            log,
            entered,
            gate,
        } = gated_sink(CAPACITY);
        let counter = sink.dropped_counter();

        let started = Instant::now();
        assert!(sink.send(0));
        // Item 0 is now in flight: taken off the queue, its write blocked.
        assert_eq!(entered.recv_timeout(PATIENCE), Ok(0));
        let accepted: Vec<u32> = (1..100).filter(|&item| sink.send(item)).collect();
        let took = started.elapsed();

        assert!(took < Duration::from_secs(1), "sending took {took:?}");
        assert_eq!(accepted, [1, 2, 3, 4]);
        assert_eq!(sink.dropped(), 100 - (CAPACITY as u64 + 1));
        assert_eq!(counter.load(Ordering::Relaxed), 95);

        drop(gate);
        sink.close(PATIENCE);
        assert_eq!(writes(&log), [0, 1, 2, 3, 4]);
        assert_eq!(sink.dropped(), 95);
    }

    #[test]
    fn close_gives_up_on_a_stuck_writer_after_its_wait() {
        let Gated {
            sink,
            log,
            entered,
            gate,
        } = gated_sink(4);
        assert!(sink.send(7));
        assert_eq!(entered.recv_timeout(PATIENCE), Ok(7));

        let started = Instant::now();
        sink.close(Duration::from_millis(50));
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(50), "returned after {took:?}");
        assert!(took < Duration::from_secs(5), "returned after {took:?}");
        assert!(writes(&log).is_empty());
        assert!(!sink.send(8));
        assert_eq!(sink.dropped(), 1);
        // A second close does not wait again.
        let started = Instant::now();
        sink.close(PATIENCE);
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(gate);
    }

    #[test]
    fn failed_writes_are_counted_as_drops() {
        let (sink, log) = recording_sink(64, |item| item % 3 == 0);
        for item in 0..30 {
            assert!(sink.send(item), "the queue has room");
        }
        sink.close(PATIENCE);
        assert_eq!(sink.dropped(), 10);
        let expected: Vec<u32> = (0..30).filter(|item| item % 3 != 0).collect();
        assert_eq!(writes(&log), expected);
    }

    #[test]
    fn a_failure_streak_is_warned_once_and_ends_at_a_good_flush() {
        let mut streak = Streak::default();
        assert_eq!(streak.recovered(), None);
        assert!(streak.failed(true), "first failure warns");
        assert!(!streak.failed(true));
        assert!(!streak.failed(false), "a failed flush continues the streak");
        assert!(!streak.failed(true));
        assert_eq!(streak.recovered(), Some(3));
        assert_eq!(streak.recovered(), None);
        assert!(streak.failed(false), "a new streak warns again");
        assert_eq!(streak.recovered(), Some(0));
    }

    #[test]
    fn overflow_warnings_come_at_most_once_a_minute() {
        let mut overflow = Overflow::default();
        let start = Instant::now();
        assert_eq!(overflow.due(0, start), None);
        assert_eq!(overflow.due(5, start), Some(5));
        assert_eq!(overflow.due(9, start + Duration::from_secs(30)), None);
        assert_eq!(
            overflow.due(12, start + Duration::from_secs(60)),
            Some(7),
            "the next warning sums the drops since the last"
        );
        assert_eq!(overflow.due(12, start + Duration::from_secs(600)), None);
    }

    #[test]
    fn access_parses_stdout_off_and_paths() {
        assert_eq!("stdout".parse(), Ok(Access::Stdout));
        assert_eq!("off".parse(), Ok(Access::Off));
        assert_eq!(
            "/var/log/edgecase.log".parse(),
            Ok(Access::File(PathBuf::from("/var/log/edgecase.log")))
        );
        assert_eq!(
            "./stdout".parse(),
            Ok(Access::File(PathBuf::from("./stdout")))
        );
        assert_eq!("Stdout".parse(), Ok(Access::File(PathBuf::from("Stdout"))));
        assert_eq!("".parse::<Access>(), Err(EmptyAccess));
        assert_eq!("  ".parse::<Access>(), Err(EmptyAccess));
        assert_eq!(
            EmptyAccess.to_string(),
            "must be \"stdout\", \"off\" or a file path, not empty"
        );
        assert_eq!(Access::Stdout.to_string(), "stdout");
        assert_eq!(
            Access::File(PathBuf::from("/tmp/x.log")).to_string(),
            "/tmp/x.log"
        );
    }

    #[test]
    fn off_has_no_sink() {
        assert!(
            line_sink(&Access::Off, 16)
                .expect("nothing to open")
                .is_none()
        );
    }

    /// A path under the temp dir no other test uses.
    fn temp_path(what: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        std::env::temp_dir().join(format!(
            "edgecase-sink-{what}-{}-{nanos}",
            std::process::id()
        ))
    }

    #[test]
    fn file_sink_appends_whole_lines() {
        let path = temp_path("append");
        std::fs::write(&path, "earlier line\n").expect("temp file written");
        let sink = line_sink(&Access::File(path.clone()), 16)
            .expect("file opens")
            .expect("a sink");
        assert!(sink.send("first".to_owned()));
        assert!(sink.send("{\"RayID\":\"230b030023ae2822\"}".to_owned()));
        sink.close(PATIENCE);
        let written = std::fs::read_to_string(&path).expect("file readable");
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            written,
            "earlier line\nfirst\n{\"RayID\":\"230b030023ae2822\"}\n"
        );
    }

    #[test]
    fn file_sink_creates_a_missing_file() {
        let path = temp_path("create");
        let sink = line_sink(&Access::File(path.clone()), 16)
            .expect("file created")
            .expect("a sink");
        assert!(sink.send("only".to_owned()));
        sink.close(PATIENCE);
        let written = std::fs::read_to_string(&path).expect("file readable");
        let _ = std::fs::remove_file(&path);
        assert_eq!(written, "only\n");
    }

    #[test]
    fn unopenable_file_error_names_the_path() {
        let path = temp_path("no-such-dir").join("access.log");
        let error = line_sink(&Access::File(path.clone()), 16).expect_err("no such directory");
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("cannot open access log {}: ", path.display())),
            "{message}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn full_pipe_drops_lines_without_blocking_and_keeps_whole_lines() {
        use std::fs::File;
        use std::io::Read;
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

        const LINES: usize = 20_000;
        fn line(index: usize) -> String {
            format!("line {index:06} {}", "x".repeat(90))
        }

        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2(2) writes.
        let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
        assert_eq!(rc, 0, "pipe2: {}", io::Error::last_os_error());
        // SAFETY: pipe2 succeeded, so both are open descriptors that nothing else owns.
        let (read_end, write_end) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };

        // The sink opens its own descriptor for the pipe, as it would a file path.
        let path = PathBuf::from(format!("/proc/self/fd/{}", write_end.as_raw_fd()));
        let sink = line_sink(&Access::File(path), 64)
            .expect("the pipe opens")
            .expect("a sink");
        drop(write_end);

        // Nobody reads yet: the pipe (64 KiB) and the buffer fill, then the writer blocks.
        let started = Instant::now();
        let accepted: Vec<usize> = (0..LINES).filter(|&i| sink.send(line(i))).collect();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(1), "sending took {took:?}");
        let dropped = sink.dropped();
        assert_eq!(dropped as usize, LINES - accepted.len());
        assert!(
            dropped > (LINES / 2) as u64,
            "only {dropped} of {LINES} dropped"
        );

        let (output_tx, output) = mpsc::channel();
        thread::spawn(move || {
            let mut text = String::new();
            let result = File::from(read_end).read_to_string(&mut text);
            let _ = output_tx.send(result.map(|_| text));
        });
        sink.close(PATIENCE);
        let text = output
            .recv_timeout(PATIENCE)
            .expect("the writer closed the pipe")
            .expect("the pipe reads as UTF-8");

        assert!(text.ends_with('\n'));
        let expected: Vec<String> = accepted.iter().map(|&i| line(i)).collect();
        let got: Vec<&str> = text.lines().collect();
        assert_eq!(got.len(), expected.len());
        assert!(
            got.iter()
                .zip(&expected)
                .all(|(got, expected)| got == expected),
            "lines got through whole and in order"
        );
        assert_eq!(sink.dropped(), dropped, "nothing got lost after the queue");
    }
}
