//! The `edgecase` binary run from outside, for the tests that do so (`cli.rs`, `cli_tls.rs`):
//! a [`Running`] guard that kills the child if a test fails, its output read line by line with
//! bounded waits, and the assertions on how it exited.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::GUARD;
use super::visitor::within;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_edgecase");

/// `main.rs`'s exit status for an invalid config or command line.
pub const EXIT_BAD_CONFIG: i32 = 2;

/// How long a signalled edgecase with nothing in flight may take to exit.
pub const STOP_LIMIT: Duration = Duration::from_secs(3);

/// The start-up log line's marker; the address follows it.
pub const LISTENING_ON: &str = "listening on http://";

// ---------------------------------------------------------------------------------------------
// The child process
// ---------------------------------------------------------------------------------------------

/// A running `edgecase`, killed (and reaped) when dropped unless it has already exited. Its
/// stdout and stderr are read line by line on threads (ANSI colour codes removed), so the
/// child never blocks on a full pipe and the test waits for lines with a time limit.
pub struct Running {
    child: Child,
    stdout: mpsc::UnboundedReceiver<String>,
    stderr: mpsc::UnboundedReceiver<String>,
    /// Completes once the child has exited (not yet reaped), from a `waitid(WNOWAIT)` thread.
    exited: Option<oneshot::Receiver<()>>,
    /// Every line taken from the channels so far, for failure messages.
    /// Every stdout line read so far.
    pub stdout_seen: Vec<String>,
    stderr_seen: Vec<String>,
}

/// What a finished `edgecase` did.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Running {
    /// Starts `edgecase args...` in the crate's directory, logging at `info`, with the panic
    /// note enabled (`RUST_BACKTRACE=0`) so a panic would be visible in stderr.
    pub fn spawn(args: &[&str]) -> Running {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("RUST_LOG", "info")
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the edgecase binary");
        let stdout = read_lines(child.stdout.take().expect("piped stdout"));
        let stderr = read_lines(child.stderr.take().expect("piped stderr"));
        let exited = watch_exit(child.id());
        Running {
            child,
            stdout,
            stderr,
            exited: Some(exited),
            stdout_seen: Vec::new(),
            stderr_seen: Vec::new(),
        }
    }

    pub fn pid(&self) -> libc::pid_t {
        libc::pid_t::try_from(self.child.id()).expect("a pid fits pid_t")
    }

    /// Sends `signal` to the child (still unreaped, so the pid is still its own).
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        let result = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(result, 0, "kill({}, {signal}) failed", self.pid());
    }

    /// The next stderr line containing `needle`, waiting at most [`GUARD`].
    pub async fn stderr_line_containing(&mut self, needle: &str) -> String {
        let found = within(
            GUARD,
            next_line_containing(&mut self.stderr, &mut self.stderr_seen, needle),
        )
        .await;
        found.unwrap_or_else(|| {
            panic!(
                "stderr ended without a line containing {needle:?}; stderr:\n{}\nstdout:\n{}",
                self.stderr_seen.join("\n"),
                self.stdout_seen.join("\n")
            )
        })
    }

    /// The next stdout line containing `needle`, waiting at most [`GUARD`].
    pub async fn stdout_line_containing(&mut self, needle: &str) -> String {
        let found = within(
            GUARD,
            next_line_containing(&mut self.stdout, &mut self.stdout_seen, needle),
        )
        .await;
        found.unwrap_or_else(|| {
            panic!(
                "stdout ended without a line containing {needle:?}; stdout:\n{}\nstderr:\n{}",
                self.stdout_seen.join("\n"),
                self.stderr_seen.join("\n")
            )
        })
    }

    /// Waits for the start-up line and returns it with the address it announces.
    pub async fn listening(&mut self) -> (String, SocketAddr) {
        let line = self.stderr_line_containing(LISTENING_ON).await;
        let addr = listening_addr(&line);
        (line, addr)
    }

    /// Waits (at most `limit`) for the child to exit, then reads the rest of its output.
    pub async fn finish(mut self, limit: Duration) -> Outcome {
        let exited = self.exited.take().expect("finish runs once");
        within(limit, exited)
            .await
            .expect("the exit watcher reports the exit");
        let status = self
            .child
            .try_wait()
            .expect("reap the child")
            .expect("the child has exited");
        // The pipes close with the process, so both readers end.
        while let Some(line) = within(GUARD, self.stdout.recv()).await {
            self.stdout_seen.push(line);
        }
        while let Some(line) = within(GUARD, self.stderr.recv()).await {
            self.stderr_seen.push(line);
        }
        Outcome {
            status,
            stdout: self.stdout_seen.join("\n"),
            stderr: self.stderr_seen.join("\n"),
        }
    }

    /// Sends `signal` and returns how the child ended, which must be within [`STOP_LIMIT`].
    pub async fn stop_with(self, signal: libc::c_int) -> Outcome {
        self.signal(signal);
        self.finish(STOP_LIMIT).await
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `edgecase args...` to its exit (at most [`GUARD`]).
pub async fn run(args: &[&str]) -> Outcome {
    Running::spawn(args).finish(GUARD).await
}

/// Forwards each line of `pipe` (ANSI escapes removed) until EOF.
pub fn read_lines(pipe: impl Read + Send + 'static) -> mpsc::UnboundedReceiver<String> {
    let (lines, receiver) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let text = strip_ansi(&String::from_utf8_lossy(&line));
                    if lines
                        .send(text.trim_end_matches(['\r', '\n']).to_owned())
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
    receiver
}

/// Completes once process `pid` has exited, without reaping it (`waitid` with `WNOWAIT`), so
/// the [`Child`] still owns the pid: signals cannot reach a recycled one, and the guard can
/// still kill and reap.
pub fn watch_exit(pid: u32) -> oneshot::Receiver<()> {
    let (exited, receiver) = oneshot::channel();
    std::thread::spawn(move || {
        loop {
            // SAFETY: an all-zero siginfo_t is valid; waitid only writes into it.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: `info` is a valid, writable siginfo_t for the call's duration.
            let result = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid,
                    &raw mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if result == 0 {
                let _ = exited.send(());
                return;
            }
            if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                // Already reaped (the guard killed it): nobody is waiting any more.
                return;
            }
        }
    });
    receiver
}

/// The next line from `lines` that contains `needle` (recording every line read in `seen`),
/// or `None` if the stream ends first.
pub async fn next_line_containing(
    lines: &mut mpsc::UnboundedReceiver<String>,
    seen: &mut Vec<String>,
    needle: &str,
) -> Option<String> {
    while let Some(line) = lines.recv().await {
        seen.push(line.clone());
        if line.contains(needle) {
            return Some(line);
        }
    }
    None
}

/// `text` without ANSI CSI sequences (`ESC [ ... final`): the log's colours.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub fn path_arg(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

#[track_caller]
pub fn assert_no_panic(outcome: &Outcome) {
    for marker in ["panicked", "RUST_BACKTRACE"] {
        assert!(
            !outcome.stderr.contains(marker),
            "stderr mentions {marker:?}:\n{}",
            outcome.stderr
        );
    }
}

#[track_caller]
pub fn assert_exit_code(outcome: &Outcome, code: i32) {
    assert_eq!(
        outcome.status.code(),
        Some(code),
        "status {:?}; stderr:\n{}\nstdout:\n{}",
        outcome.status,
        outcome.stderr,
        outcome.stdout
    );
}

/// The address in `... listening on http://ADDR/, ...`.
#[track_caller]
pub fn listening_addr(line: &str) -> SocketAddr {
    let (_, rest) = line.split_once(LISTENING_ON).expect("the start-up line");
    let (addr, _) = rest.split_once('/').expect("the URL ends with /");
    addr.parse()
        .unwrap_or_else(|e| panic!("{addr:?} in {line:?} is not an address: {e}"))
}

/// A child process (a client script) killed and reaped when dropped, should the test fail
/// while it runs.
pub struct Guarded(pub Child);

impl Drop for Guarded {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Runs `command` (a client script) with its output piped until it exits, each wait bounded by
/// `limit`, and gives its exit status and its output (stdout, then stderr), also printed for the
/// test's log.
pub async fn run_to_exit(command: &mut Command, limit: Duration) -> (ExitStatus, String) {
    let mut child = Guarded(
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {:?}: {e}", command.get_program())),
    );
    let mut stdout = read_lines(child.0.stdout.take().expect("piped stdout"));
    let mut stderr = read_lines(child.0.stderr.take().expect("piped stderr"));
    within(limit, watch_exit(child.0.id()))
        .await
        .expect("the exit watcher reports the exit");
    let status = child
        .0
        .try_wait()
        .expect("reap the child")
        .expect("the child has exited");
    let mut output = Vec::new();
    for lines in [&mut stdout, &mut stderr] {
        while let Some(line) = within(limit, lines.recv()).await {
            output.push(line);
        }
    }
    let output = output.join("\n");
    eprintln!("{output}");
    (status, output)
}
