//! What the benchmark reads about processes from `/proc` (Linux): a proxy's process tree (nginx
//! is a master and a worker), its CPU time and resident memory summed over the tree, and the
//! descriptor limits. It owns reading and parsing only; deciding what the figures mean is
//! [`crate::figures`]' business.

use std::fs;
use std::io;
use std::time::{Duration, Instant};

/// `pid` and every process descending from it, found by walking `/proc/*/stat` for parents.
pub fn tree(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Ok(stat) = fs::read_to_string(format!("/proc/{child}/stat"))
                && let Some(ppid) = stat_fields(&stat).and_then(|f| f.get(1)?.parse().ok())
            {
                parents.push((child, ppid));
            }
        }
    }
    let mut found = vec![pid];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        next += 1;
    }
    found
}

/// User plus system CPU time of `pid` and its descendants (their own time, not that of
/// children already reaped), from `/proc/PID/stat` fields 14 and 15.
pub fn tree_cpu(pid: u32) -> io::Result<Duration> {
    let ticks = clock_ticks()?;
    let mut total: u64 = 0;
    for member in tree(pid) {
        let stat = match fs::read_to_string(format!("/proc/{member}/stat")) {
            Ok(stat) => stat,
            // A member that exited between the walk and now counts nothing.
            Err(_) if member != pid => continue,
            Err(e) => return Err(e),
        };
        let fields = stat_fields(&stat).ok_or_else(|| bad("stat", member))?;
        // After the command: state is field 3, so utime (14) and stime (15) are at 11 and 12.
        let utime: u64 = fields
            .get(11)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad("utime", member))?;
        let stime: u64 = fields
            .get(12)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad("stime", member))?;
        total += utime + stime;
    }
    Ok(Duration::from_secs_f64(total as f64 / ticks as f64))
}

/// Resident memory of `pid` and its descendants, in KiB (`VmRSS`, summed).
pub fn tree_rss_kib(pid: u32) -> io::Result<u64> {
    let mut total = 0;
    for member in tree(pid) {
        match fs::read_to_string(format!("/proc/{member}/status")) {
            Ok(status) => total += status_field(&status, "VmRSS:").unwrap_or(0),
            Err(_) if member != pid => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

/// The soft limit on open files of `pid` (`Max open files` in `/proc/PID/limits`).
pub fn soft_fd_limit(pid: u32) -> io::Result<u64> {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits"))?;
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|soft| soft.parse().ok())
        .ok_or_else(|| bad("Max open files", pid))
}

/// Raises this process's soft `RLIMIT_NOFILE` to the hard limit (children inherit it); returns
/// (soft, hard) as they are now.
pub fn raise_fd_limit() -> io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit that keeps the hard limit as it was.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(io::Error::last_os_error());
        }
        limit = raised;
    }
    Ok((limit.rlim_cur, limit.rlim_max))
}

/// The whole machine's CPU time so far, in clock ticks: (busy, total), from the `cpu` line of
/// `/proc/stat`. Busy is user, nice, system and steal: interrupt time is left out, because on
/// loopback it is mostly the benchmark's own packets, which no process is charged for.
pub fn machine_cpu() -> io::Result<(u64, u64)> {
    let stat = fs::read_to_string("/proc/stat")?;
    let line = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .ok_or_else(|| io::Error::other("no cpu line in /proc/stat"))?;
    // user nice system idle iowait irq softirq steal; guest time is already in user.
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = ticks.iter().sum();
    let busy = [0, 1, 2, 7].iter().filter_map(|&i| ticks.get(i)).sum();
    Ok((busy, total))
}

/// CPU time of the whole machine and of the benchmark's own processes at one moment, to tell
/// how much other work ran in between ([`Snapshot::foreign_cores`]).
#[derive(Clone, Copy, Debug)]
pub struct Snapshot {
    machine: Duration,
    ours: Duration,
    at: Instant,
}

impl Snapshot {
    /// Now. "Ours" is this process and its descendants alive (origin, proxy, tool) plus the
    /// children already reaped (tools that finished).
    pub fn take() -> io::Result<Snapshot> {
        let ticks = clock_ticks()?;
        let (busy, _) = machine_cpu()?;
        let mut usage: libc::rusage = unsafe_zeroed_rusage();
        // SAFETY: `usage` is a valid, writable rusage.
        if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let reaped = timeval(usage.ru_utime) + timeval(usage.ru_stime);
        Ok(Snapshot {
            machine: Duration::from_secs_f64(busy as f64 / ticks as f64),
            ours: tree_cpu(std::process::id())? + reaped,
            at: Instant::now(),
        })
    }

    /// CPU used since `self` by processes that are not the benchmark's, in cores (0.5: half a
    /// core on average). Clock-tick rounding makes small values (±0.02) noise.
    pub fn foreign_cores(&self) -> io::Result<f64> {
        let now = Snapshot::take()?;
        let machine = now.machine.as_secs_f64() - self.machine.as_secs_f64();
        let ours = now.ours.as_secs_f64() - self.ours.as_secs_f64();
        let wall = now.at.duration_since(self.at).as_secs_f64().max(1e-3);
        Ok(((machine - ours) / wall).max(0.0))
    }
}

/// An all-zero rusage.
fn unsafe_zeroed_rusage() -> libc::rusage {
    // SAFETY: rusage is plain old data; all zeroes is a valid value.
    unsafe { std::mem::zeroed() }
}

/// A timeval as a Duration (negative parts count as zero).
fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(tv.tv_sec).unwrap_or(0))
        + Duration::from_micros(u64::try_from(tv.tv_usec).unwrap_or(0))
}

/// Clock ticks per second, the unit of `/proc/PID/stat`'s CPU times.
fn clock_ticks() -> io::Result<u64> {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks)
        .ok()
        .filter(|t| *t > 0)
        .ok_or_else(|| io::Error::other("sysconf(_SC_CLK_TCK) failed"))
}

/// The fields of a `/proc/PID/stat` line after the command (which may hold spaces and
/// parentheses, so the split starts after the last `)`): state first, then ppid, ...
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().collect())
}

/// The number after `key` in a `/proc/PID/status` text (`VmRSS:     12345 kB`).
fn status_field(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

/// A `/proc` entry that did not parse.
fn bad(what: &str, pid: u32) -> io::Error {
    io::Error::other(format!("cannot read {what} of process {pid} from /proc"))
}
