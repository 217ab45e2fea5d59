//! Private network namespaces for the demo and the tests: the only way to show a real 523
//! (no route to the origin) without touching the machine's own network.
//!
//! [`isolate_this_thread`] moves the calling thread (and every thread it starts afterwards)
//! into a fresh network namespace whose only interface is its own loopback. Sockets created
//! there see no route to anything but, optionally, that loopback; sockets created before keep
//! working in the original namespace. Needs CAP_SYS_ADMIN (root) on Linux.

use std::io;

/// Whether the new namespace's loopback is brought up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loopback {
    /// `lo` stays down: every address, 127.0.0.1 included, is unreachable.
    Down,
    /// `lo` is up: 127.0.0.0/8 works inside the namespace; everything else is unreachable.
    Up,
}

/// Moves the calling thread into a new, empty network namespace.
#[cfg(target_os = "linux")]
pub fn isolate_this_thread(loopback: Loopback) -> io::Result<()> {
    // SAFETY: unshare takes no pointers; it only changes the calling thread's namespaces.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if loopback == Loopback::Up {
        bring_loopback_up()?;
    }
    Ok(())
}

/// Network namespaces are a Linux facility.
#[cfg(not(target_os = "linux"))]
pub fn isolate_this_thread(_loopback: Loopback) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "network namespaces need Linux",
    ))
}

#[cfg(target_os = "linux")]
fn bring_loopback_up() -> io::Result<()> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor we own.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq we pass, which outlives the
    // calls; the union field read is the one SIOCGIFFLAGS fills.
    unsafe {
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) < 0 {
            return Err(io::Error::last_os_error());
        }
        request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
