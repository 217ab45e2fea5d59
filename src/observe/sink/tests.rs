use super::*;
use std::path::PathBuf;
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
    recording_sink_pacing(capacity, BATCH_PAUSE, Duration::ZERO, fails)
}

/// [`recording_sink`] with the writer resting up to `pause` after each batch and taking
/// `write_time` over each item.
fn recording_sink_pacing(
    capacity: usize,
    pause: Duration,
    write_time: Duration,
    fails: fn(u32) -> bool,
) -> (Sink<u32>, Events) {
    let log = Events::default();
    let write_log = Arc::clone(&log);
    let flush_log = Arc::clone(&log);
    let sink = Sink::spawn_pacing(
        "test sink",
        capacity,
        pause,
        move |item| {
            thread::sleep(write_time);
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
fn items_sent_while_the_writer_rests_go_out_as_one_batch() {
    // A long rest, so the test's sends surely land inside it on a busy machine; writes of
    // 20 ms, so half the queue (32 items) would take longer than the rest to fill.
    let (sink, log) = recording_sink_pacing(
        64,
        Duration::from_millis(300),
        Duration::from_millis(20),
        |_| false,
    );
    assert!(sink.send(1));
    let deadline = Instant::now() + PATIENCE;
    while events(&log) != [Event::Write(1), Event::Flush] {
        assert!(Instant::now() < deadline, "no flush: {:?}", events(&log));
        thread::yield_now();
    }
    // The writer now rests: these wait in the queue, and no send wakes it.
    for item in 2..=5 {
        assert!(sink.send(item));
    }
    assert_eq!(
        events(&log),
        [Event::Write(1), Event::Flush],
        "nothing written during the rest"
    );
    let deadline = Instant::now() + PATIENCE;
    while events(&log).len() < 7 {
        assert!(Instant::now() < deadline, "no batch: {:?}", events(&log));
        thread::sleep(Duration::from_millis(5));
    }
    sink.close(PATIENCE);
    assert_eq!(
        events(&log),
        [
            Event::Write(1),
            Event::Flush,
            Event::Write(2),
            Event::Write(3),
            Event::Write(4),
            Event::Write(5),
            Event::Flush
        ],
        "one flush for the batch"
    );
}

#[test]
fn a_rest_never_lasts_long_enough_to_fill_half_the_queue() {
    let writer = |capacity| Writer {
        name: Arc::from("test"),
        dropped: Arc::default(),
        failures: 0,
        streak: Streak::default(),
        overflow: Overflow::default(),
        pause: BATCH_PAUSE,
        capacity,
    };
    let ms = Duration::from_millis;
    // 200 lines in 10 ms: 50 µs a line.
    assert_eq!(
        writer(16_384).rest(200, ms(10)),
        BATCH_PAUSE,
        "a large queue: the whole pause"
    );
    assert_eq!(
        writer(100).rest(200, ms(10)),
        Duration::from_micros(2_500),
        "50 lines' time"
    );
    assert_eq!(
        writer(1).rest(200, ms(10)),
        Duration::ZERO,
        "room for one: no rest"
    );
    assert_eq!(
        writer(16_384).rest(0, ms(10)),
        Duration::ZERO,
        "nothing written"
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
