//! Running counts of what the inputs led to ("complete 520", "cut short", ...), printed to
//! stderr every [`EVERY`] inputs with the process's open file descriptors, so a long run
//! shows which outcomes the fuzzer reaches and whether sockets leak.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// How many inputs between two printed lines.
pub const EVERY: u64 = 1 << 14;

/// Counts of outcomes by name.
pub struct Tally {
    target: &'static str,
    inputs: u64,
    counts: BTreeMap<String, u64>,
}

impl Tally {
    /// An empty tally for `target`.
    pub const fn new(target: &'static str) -> Tally {
        Tally {
            target,
            inputs: 0,
            counts: BTreeMap::new(),
        }
    }

    /// Counts one input that led to `outcome`; every [`EVERY`] inputs, prints the counts.
    /// Whether this was the first input with that outcome.
    pub fn count(&mut self, outcome: impl Into<String>) -> bool {
        self.inputs += 1;
        let count = self.counts.entry(outcome.into()).or_default();
        *count += 1;
        let first = *count == 1;
        if self.inputs.is_multiple_of(EVERY) {
            eprintln!("{}", self.line());
        }
        first
    }

    /// `<target>: <n> inputs, fds <open>: <outcome> <count>, ...`.
    pub fn line(&self) -> String {
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(outcome, count)| format!("{outcome} {count}"))
            .collect();
        let fds = open_fds().map_or_else(|| "?".to_owned(), |n| n.to_string());
        format!(
            "{}: {} inputs, fds {fds}: {}",
            self.target,
            self.inputs,
            counts.join(", ")
        )
    }
}

/// Counts one input of a target's static tally, and prints `input` (escaped) the first time
/// an outcome is seen, so a run tells which input first reached each one.
pub fn count(tally: &Mutex<Tally>, outcome: impl Into<String>, input: &[u8]) {
    let outcome = outcome.into();
    let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
    if tally.count(outcome.clone()) {
        eprintln!(
            "{}: first {outcome:?} after {}",
            tally.target,
            crate::rig::escaped(input, FIRST_INPUT_SHOWN)
        );
    }
}

/// How much of the input that first led to an outcome is printed.
const FIRST_INPUT_SHOWN: usize = 300;

/// File descriptors this process has open (Linux), `None` elsewhere.
pub fn open_fds() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd").ok().map(Iterator::count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_lists_outcomes_in_order_with_their_counts() {
        let mut tally = Tally::new("t");
        assert!(tally.count("b"));
        assert!(tally.count("a"));
        assert!(!tally.count("b"));
        let line = tally.line();
        assert!(line.starts_with("t: 3 inputs, fds "), "{line}");
        assert!(line.ends_with(": a 1, b 2"), "{line}");
    }
}
