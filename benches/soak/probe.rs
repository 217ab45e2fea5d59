//! [`Probe`]: what the soak watches in the edgecase process, read from `/proc/PID` (Linux):
//! resident memory (`VmRSS`), its peak (`VmHWM`), threads, and open file descriptors.

use std::fs;
use std::io;

/// One reading of the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// Resident set size, in KiB (`VmRSS`).
    pub rss_kib: u64,
    /// The highest resident set size so far, in KiB (`VmHWM`).
    pub peak_kib: u64,
    /// Threads (`Threads`).
    pub threads: u64,
    /// Open file descriptors (entries of `/proc/PID/fd`).
    pub fds: usize,
}

/// Reads `pid`'s figures; an error means the process is gone (or this is not Linux).
pub fn probe(pid: u32) -> io::Result<Probe> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let fds = fs::read_dir(format!("/proc/{pid}/fd"))?.count();
    Ok(Probe {
        rss_kib: field(&status, "VmRSS:")?,
        peak_kib: field(&status, "VmHWM:")?,
        threads: field(&status, "Threads:")?,
        fds,
    })
}

/// The number after `key` in a `/proc/PID/status` text (`VmRSS:     12345 kB`).
fn field(status: &str, key: &str) -> io::Result<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no {key} in /proc status")))
}
