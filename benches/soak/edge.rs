//! [`EdgeProcess`]: the edgecase binary under test, run as a child process with a config the
//! soak writes into its temporary directory, its output going to a log file there. It owns
//! starting, watching and stopping the process; what it is fed is [`crate::load`]'s business.

use std::fs::{self, File};
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use http::Method;
use tokio::time::{Instant, sleep};

use crate::control;
use crate::origins::Origins;
use crate::routes::{self, Route};

/// How long edgecase may take to answer `/healthz` after it was started.
const STARTUP: Duration = Duration::from_secs(15);
/// How long edgecase may take to exit after SIGTERM (its `shutdown_grace` is 2 s).
const STOPPING: Duration = Duration::from_secs(10);

/// The timeouts the soak runs edgecase with: short, so each failure class comes quickly.
pub const CONNECT_TIMEOUT: &str = "200ms";
/// See [`CONNECT_TIMEOUT`].
pub const READ_TIMEOUT: &str = "300ms";

/// A running edgecase.
pub struct EdgeProcess {
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// Its stdout and stderr.
    pub log: PathBuf,
}

/// A loopback address with a port that was free a moment ago (the kernel picks it).
pub fn free_addr() -> io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// The config the soak runs: the routes, short timeouts, no access log, a seeded emulation,
/// the control API on `admin`.
pub fn config_text(
    listen: SocketAddr,
    admin: SocketAddr,
    origins: &Origins,
    routes: &[Route],
    seed: u64,
) -> String {
    format!(
        "# Written by benches/soak.rs for one run.\n\
         [edge]\nlisten = \"{listen}\"\nray_seed = {seed}\nshutdown_grace = \"2s\"\n\n\
         [origin]\naddress = \"{healthy}\"\n\n\
         [timeouts]\nconnect = \"{CONNECT_TIMEOUT}\"\nack = \"1s\"\nwrite = \"1s\"\n\
         read = \"{READ_TIMEOUT}\"\n\n\
         [dns]\nsystem = false\n\n\
         [emulation]\nseed = {seed}\nexplain = true\n\n\
         [admin]\nlisten = \"{admin}\"\n\n\
         [log]\naccess = \"off\"\n{tables}",
        healthy = origins.healthy,
        tables = routes::config_tables(routes),
    )
}

impl EdgeProcess {
    /// Writes `config` into `dir`, starts `binary` on it and waits for the control API (at
    /// `admin`, as the config says) to answer `/healthz`.
    pub async fn start(
        binary: &Path,
        dir: &Path,
        config: &str,
        admin: SocketAddr,
    ) -> io::Result<EdgeProcess> {
        let config_path = dir.join("edgecase.toml");
        fs::write(&config_path, config)?;
        let log = dir.join("edgecase.log");
        let out = File::create(&log)?;
        let child = Command::new(binary)
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        let mut edge = EdgeProcess {
            pid: child.id(),
            child,
            log,
        };
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Some(status) = edge.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "edgecase exited at start ({status}):\n{}",
                    edge.log_tail(20)
                )));
            }
            if let Ok((200, _)) = control::call(admin, Method::GET, "/healthz", None).await {
                return Ok(edge);
            }
            if Instant::now() > deadline {
                let _ = edge.child.kill();
                let _ = edge.child.wait();
                return Err(io::Error::other(format!(
                    "edgecase did not answer /healthz within {STARTUP:?}:\n{}",
                    edge.log_tail(20)
                )));
            }
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the process is still running (`Err` when it exited, with how).
    pub fn running(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("edgecase exited during the run: {status}")),
            Err(e) => Err(format!("cannot tell whether edgecase runs: {e}")),
        }
    }

    /// SIGTERM, then waits for the exit (SIGKILL after [`STOPPING`]). `Err` says why the stop
    /// was not clean.
    pub async fn stop(mut self) -> Result<ExitStatus, String> {
        let pid = libc::pid_t::try_from(self.pid).map_err(|e| e.to_string())?;
        // SAFETY: kill(2) with a pid this process spawned and has not reaped yet.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        if sent != 0 {
            return Err(format!("SIGTERM failed: {}", io::Error::last_os_error()));
        }
        let deadline = Instant::now() + STOPPING;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(50)).await,
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Err(format!(
                        "edgecase did not exit within {STOPPING:?} of SIGTERM"
                    ));
                }
                Err(e) => return Err(format!("waiting for edgecase: {e}")),
            }
        }
    }

    /// The last `lines` lines of edgecase's output.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for EdgeProcess {
    fn drop(&mut self) {
        // Never leave the child running when the soak ends early.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
