//! The edge's log output, captured in a test to check what a line says.

use std::io;
use std::sync::{Arc, Mutex, Once};

use tracing_subscriber::fmt::MakeWriter;

/// The edge's log output, captured for the current thread (the tests' runtime is
/// single-threaded, so the edge's tasks log here too).
#[derive(Clone, Default)]
pub struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl CapturedLog {
    /// Captures every event logged on this thread until the guard is dropped.
    pub fn install() -> (Self, tracing::subscriber::DefaultGuard) {
        // tracing caches each callsite's interest for the whole process, computed against the
        // thread that reaches it first while only one subscriber exists (tokio-rs/tracing#3611):
        // a sibling test's thread with no subscriber would cache "never" for the access line,
        // and this capture would miss it (seen once under load). A global subscriber that keeps
        // nothing makes every interest "sometimes", decided per thread.
        static GLOBAL: Once = Once::new();
        GLOBAL.call_once(|| {
            let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        });
        let log = CapturedLog::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(log.clone())
            .with_ansi(false)
            // Access lines are debug events of `edgecase::access`; everything else from info.
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "info,edgecase::access=debug",
            ))
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        (log, guard)
    }

    /// Every line captured so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().expect("no writer panicked").clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The access log line for `ray`.
    #[track_caller]
    pub fn line_for(&self, ray: &str) -> String {
        let bytes = self.0.lock().expect("no writer panicked").clone();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        text.lines()
            .find(|line| line.contains(&format!("ray={ray}")))
            .unwrap_or_else(|| panic!("no log line for ray {ray} in:\n{text}"))
            .to_owned()
    }
}

impl io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .expect("no writer panicked")
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLog {
    type Writer = CapturedLog;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
