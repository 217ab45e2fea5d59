//! Child processes and where they run: [`Pinning`] (which core each side gets, through
//! `taskset`), [`command`] (a child in its own process group that dies with the benchmark) and
//! [`Guard`] (kills a child's whole process group when dropped, on every path out). It also
//! finds programs ([`which`]). What the children are is the business of [`crate::proxies`],
//! [`crate::origins`] and [`crate::tools`].

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// The core proxies run on when pinning.
pub const PROXY_CORE: usize = 0;
/// The core the origin, the load generators and the harness itself share when pinning.
pub const LOAD_CORE: usize = 1;

/// How often [`Guard::finished`] looks at the child.
const EXIT_POLL: Duration = Duration::from_millis(10);

/// Where each side runs: pinned with `taskset` when it exists and the machine has two cores
/// or more; otherwise wherever the scheduler puts it.
#[derive(Clone, Debug)]
pub struct Pinning {
    /// `taskset`, when pinning.
    pub taskset: Option<PathBuf>,
    /// Online cores.
    pub cores: usize,
}

impl Pinning {
    /// Looks for `taskset` and counts the cores.
    pub fn detect() -> Pinning {
        // SAFETY: sysconf has no preconditions.
        let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        let cores = usize::try_from(online).unwrap_or(1).max(1);
        let taskset = which("taskset").filter(|_| cores >= 2);
        Pinning { taskset, cores }
    }

    /// Whether the sides are pinned.
    pub fn enabled(&self) -> bool {
        self.taskset.is_some()
    }

    /// One line for the environment block.
    pub fn describe(&self) -> String {
        if self.enabled() {
            format!(
                "proxy on core {PROXY_CORE} (taskset -c {PROXY_CORE}); origin, wrk, oha and the \
                 harness's visitors on core {LOAD_CORE}"
            )
        } else if self.cores < 2 {
            "none (one core)".to_owned()
        } else {
            "none (no taskset: install util-linux)".to_owned()
        }
    }

    /// `program` to be run on `core` (through `taskset -c core` when pinning), as a [`command`].
    pub fn command(&self, core: usize, program: impl AsRef<OsStr>) -> Command {
        match &self.taskset {
            Some(taskset) => {
                let mut cmd = command(taskset);
                cmd.arg("-c").arg(core.to_string()).arg(program);
                cmd
            }
            None => command(program),
        }
    }

    /// Pins the harness itself to [`LOAD_CORE`], beside the origin and the load generators.
    pub fn pin_self(&self) -> io::Result<()> {
        if !self.enabled() {
            return Ok(());
        }
        // SAFETY: cpu_set_t is plain old data; all zeroes is the empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: LOAD_CORE is below CPU_SETSIZE.
        unsafe { libc::CPU_SET(LOAD_CORE, &mut set) };
        // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is this thread, and it
        // is called before any other thread starts, so every later thread inherits it.
        let rc = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// A command for `program` that runs in a process group of its own (so [`Guard`] can kill
/// nginx's master and worker together, and a Ctrl-C reaches them only through the harness)
/// and is killed by the kernel if the harness dies without cleaning up.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.process_group(0).stdin(Stdio::null());
    // SAFETY: prctl is async-signal-safe and touches only the new process. Every child is
    // spawned from the main thread (a current-thread runtime), so "parent death" is the
    // harness's exit, not a worker thread's.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// A running child whose process group is killed (SIGKILL) and reaped when this is dropped.
#[derive(Debug)]
pub struct Guard {
    child: Child,
    /// Its output, when it goes to a file.
    pub log: Option<PathBuf>,
    /// Reaped by [`Guard::finished`]: its group id may belong to someone else now.
    reaped: bool,
}

impl Guard {
    /// Starts `cmd` with stdout and stderr appended to `log`.
    pub fn spawn_logged(mut cmd: Command, log: &Path) -> io::Result<Guard> {
        let out = File::options().create(true).append(true).open(log)?;
        cmd.stdout(out.try_clone()?).stderr(out);
        let child = cmd.spawn()?;
        Ok(Guard {
            child,
            log: Some(log.to_owned()),
            reaped: false,
        })
    }

    /// Starts `cmd` as it is configured (pipes included).
    pub fn spawn(mut cmd: Command) -> io::Result<Guard> {
        let child = cmd.spawn()?;
        Ok(Guard {
            child,
            log: None,
            reaped: false,
        })
    }

    /// The child's process id (after taskset's exec, the program's own).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child, for its pipes.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// `Err` with how it ended if the child has exited.
    pub fn running(&mut self) -> io::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => Err(io::Error::other(format!("exited: {status}"))),
        }
    }

    /// Waits (without blocking the runtime) for the child to exit.
    pub async fn finished(&mut self) -> io::Result<ExitStatus> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.reaped = true;
                return Ok(status);
            }
            tokio::time::sleep(EXIT_POLL).await;
        }
    }

    /// The last `lines` lines of the log file.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = self
            .log
            .as_ref()
            .and_then(|log| fs::read_to_string(log).ok())
            .unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        if let Ok(pgid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: killpg with the group this child leads (process_group(0) made its pid
            // the group id); it has not been reaped yet, so the id is still ours.
            unsafe { libc::killpg(pgid, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The path of `name`: on `PATH`, else in the usual places a non-root `PATH` lacks
/// (`/usr/sbin` for nginx and HAProxy, `~/.cargo/bin` for oha).
pub fn which(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from));
    if let Some(cargo) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(cargo).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|dir| dir.join(name))
        .find(|path| fs::metadata(path).is_ok_and(|m| m.is_file()))
}

/// The first line of what `program args` prints (stdout or stderr), for the versions block.
pub fn version(program: &Path, args: &[&str]) -> String {
    match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => {
            let text = String::from_utf8_lossy(if out.stdout.is_empty() {
                &out.stderr
            } else {
                &out.stdout
            })
            .into_owned();
            text.lines().next().unwrap_or("").trim().to_owned()
        }
        Err(e) => format!("({} failed: {e})", program.display()),
    }
}
