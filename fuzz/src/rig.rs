//! The runtime every network target drives its edge, origin and visitor on, and the deadline
//! past which one input counts as a hang.
//!
//! A current-thread runtime: the edge, the origin and the visitor all run on libFuzzer's own
//! thread, inside the one `block_on` of each input, so coverage is the input's alone and a
//! panic anywhere aborts with that input as the reproducer. Between inputs nothing runs.

use std::future::Future;
use std::time::Duration;

use tokio::runtime::{Builder, Runtime};

/// How long one input may take, visitor included, before the target reports a hang. Far
/// above every timeout the targets give their edges (at most a second), so only an edge
/// that neither answers nor closes reaches it.
pub const HANG: Duration = Duration::from_secs(5);

/// A current-thread runtime with I/O and time.
pub fn runtime() -> Runtime {
    // Invariant: building a current-thread runtime fails only when the OS refuses an epoll
    // instance, and then no target can run at all.
    Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime (epoll) for the fuzz target")
}

/// `future`'s output, or a panic naming `what` when it takes longer than [`HANG`]: libFuzzer
/// then saves the input as a crash.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(HANG, future).await {
        Ok(output) => output,
        Err(_) => panic!("hang: {what} took more than {HANG:?}"),
    }
}

/// Whether `EDGECASE_FUZZ_LENIENT=1` is set: answers that break a target's rules (bytes a
/// visitor cannot read, a response without `cf-ray`) are then counted as `finding: ...` (and
/// the first input of each kind printed) instead of crashing, so a run goes on past a
/// finding already reported. Panics in edgecase, hangs, and an edge that stops serving crash
/// either way.
pub fn lenient() -> bool {
    std::env::var_os("EDGECASE_FUZZ_LENIENT").is_some_and(|v| v == "1")
}

/// `why` with every run of digits replaced by `N`, so findings that differ only in a count
/// share one tally line.
pub fn shape(why: &str) -> String {
    let mut shaped = String::with_capacity(why.len());
    for c in why.chars() {
        match (c.is_ascii_digit(), shaped.ends_with('N')) {
            (true, true) => {}
            (true, false) => shaped.push('N'),
            (false, _) => shaped.push(c),
        }
    }
    shaped
}

/// `bytes` as text for a report: printable ASCII kept, the rest escaped, at most `limit`
/// bytes shown.
pub fn escaped(bytes: &[u8], limit: usize) -> String {
    let shown = &bytes[..bytes.len().min(limit)];
    let mut text: String = shown.escape_ascii().to_string();
    if bytes.len() > limit {
        text.push_str(&format!("... ({} bytes in all)", bytes.len()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_keeps_text_and_escapes_the_rest() {
        assert_eq!(escaped(b"GET /\r\n\x00", 100), "GET /\\r\\n\\x00");
        assert_eq!(escaped(b"abcdef", 3), "abc... (6 bytes in all)");
    }

    #[test]
    fn shape_folds_numbers() {
        assert_eq!(
            shape("3 bytes after a complete 200 response"),
            "N bytes after a complete N response"
        );
    }

    #[test]
    fn within_passes_a_quick_future_through() {
        let value = runtime().block_on(within("nothing", async { 7 }));
        assert_eq!(value, 7);
    }
}
