//! The process's open-file limit. Every request edgecase holds takes two descriptors (the
//! visitor's connection and the origin's), so the soft limit many shells start with (1,024)
//! stops a load test at about 500 held requests with `accept` failing. At start-up edgecase
//! raises its soft limit to the hard one, as nginx does with `worker_rlimit_nofile` and as Go
//! programs do on their own; the hard limit stays the administrator's.

use std::io;

/// The most a soft limit is raised to when the hard limit is unlimited: Linux refuses more
/// than `fs.nr_open`, whose default is this.
const UNLIMITED_CAP: u64 = 1 << 20;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit. `Some((from, to))` when it changed,
/// `None` when it already was the hard limit.
pub fn raise_to_hard() -> io::Result<Option<(u64, u64)>> {
    let mut limit = current()?;
    let hard = reachable(limit.rlim_max);
    if limit.rlim_cur >= hard {
        return Ok(None);
    }
    let from = limit.rlim_cur;
    limit.rlim_cur = hard;
    // SAFETY: setrlimit reads one `rlimit` through a valid pointer.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Some((from, hard)))
}

/// The process's `RLIMIT_NOFILE`, soft and hard.
fn current() -> io::Result<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a valid pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(limit)
}

/// The highest soft limit a hard limit of `hard` allows: itself, or [`UNLIMITED_CAP`] when
/// unlimited.
fn reachable(hard: u64) -> u64 {
    match hard {
        libc::RLIM_INFINITY => UNLIMITED_CAP,
        hard => hard,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_the_hard_one_and_a_second_call_changes_nothing() {
        let before = current().expect("the limit can be read");
        let raised = raise_to_hard().expect("raising to the hard limit is always allowed");
        let after = current().expect("the limit can be read");
        assert_eq!(
            after.rlim_max, before.rlim_max,
            "the hard limit is left alone"
        );
        assert_eq!(
            after.rlim_cur,
            before.rlim_cur.max(reachable(before.rlim_max))
        );
        if let Some((from, to)) = raised {
            assert_eq!((from, to), (before.rlim_cur, after.rlim_cur));
        }
        assert_eq!(raise_to_hard().expect("again"), None, "already raised");
    }
}
