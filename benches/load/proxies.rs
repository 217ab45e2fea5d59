//! The proxies compared: edgecase, nginx, HAProxy and mitmproxy, each configured equivalently
//! in front of the same origins (a keep-alive pool to the fast origin, a 1 s and a 300 s read
//! timeout to the silent one; mitmproxy has no read timeout) and started on the proxy core. It owns the config files and the start;
//! measuring them is [`crate::figures`]' and [`crate::checks`]' business.

use std::fs;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::{Instant, sleep};

use crate::origins::Ports;
use crate::processes::{self, Guard, PROXY_CORE, Pinning};

/// How long a proxy may take to accept connections after it was started.
const STARTUP: Duration = Duration::from_secs(15);
/// The most held requests HAProxy is configured for (`maxconn`); lower with a lower fd limit.
const HAPROXY_MAXCONN: u64 = 9_000;
/// nginx's `worker_connections`; lower with a lower fd limit.
const NGINX_CONNECTIONS: u64 = 19_000;

/// Which proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The release binary cargo built (or `--edgecase`).
    Edgecase,
    /// nginx, one worker.
    Nginx,
    /// HAProxy, one thread.
    Haproxy,
    /// mitmproxy's `mitmdump` in reverse mode (one Python process), with a routing addon.
    Mitmproxy,
}

impl Kind {
    /// Every proxy, in table order.
    pub const ALL: [Kind; 4] = [Kind::Edgecase, Kind::Nginx, Kind::Haproxy, Kind::Mitmproxy];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Edgecase => "edgecase",
            Kind::Nginx => "nginx",
            Kind::Haproxy => "haproxy",
            Kind::Mitmproxy => "mitmproxy",
        }
    }

    /// The name in the tables.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Edgecase => "edgecase",
            Kind::Nginx => "nginx",
            Kind::Haproxy => "HAProxy",
            Kind::Mitmproxy => "mitmproxy",
        }
    }

    /// Whether the proxy can time out an origin that never answers (mitmproxy cannot: its
    /// requests to the silent origin wait as long as the visitor does).
    pub fn has_read_timeout(self) -> bool {
        self != Kind::Mitmproxy
    }

    /// The status the proxy answers when the origin's read timeout fires.
    pub fn read_timeout_status(self) -> u16 {
        match self {
            Kind::Edgecase => 524,
            Kind::Nginx | Kind::Haproxy | Kind::Mitmproxy => 504,
        }
    }
}

/// A proxy binary found on this machine.
#[derive(Clone, Debug)]
pub struct Installed {
    /// Which proxy.
    pub kind: Kind,
    /// Its binary.
    pub binary: PathBuf,
}

impl Installed {
    /// The binary of `kind`, if installed (`edgecase` is the one given).
    pub fn find(kind: Kind, edgecase: &Path) -> Option<Installed> {
        let binary = match kind {
            Kind::Edgecase => Some(edgecase.to_owned()).filter(|b| b.is_file()),
            Kind::Nginx => processes::which("nginx"),
            Kind::Haproxy => processes::which("haproxy"),
            Kind::Mitmproxy => processes::which("mitmdump"),
        }?;
        Some(Installed { kind, binary })
    }

    /// Its version line.
    pub fn version(&self) -> String {
        match self.kind {
            Kind::Edgecase => processes::version(&self.binary, &["--version"]),
            Kind::Nginx => processes::version(&self.binary, &["-v"]),
            Kind::Haproxy => processes::version(&self.binary, &["-v"]),
            Kind::Mitmproxy => processes::version(&self.binary, &["--version"]),
        }
    }
}

/// A running proxy.
pub struct Proxy {
    /// Which proxy.
    pub kind: Kind,
    /// Where visitors connect.
    pub addr: SocketAddr,
    guard: Guard,
}

impl Proxy {
    /// Writes the config for `installed` into `dir`, starts it on the proxy core and waits
    /// until it accepts connections.
    pub async fn start(
        installed: &Installed,
        pinning: &Pinning,
        dir: &Path,
        ports: &Ports,
        fd_hard: u64,
    ) -> io::Result<Proxy> {
        let kind = installed.kind;
        let dir = dir.join(kind.name());
        fs::create_dir_all(&dir)?;
        let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let mut cmd = pinning.command(PROXY_CORE, &installed.binary);
        match kind {
            Kind::Edgecase => {
                let config = dir.join("edgecase.toml");
                fs::write(&config, edgecase_config(addr, ports))?;
                cmd.arg("--config").arg(config);
            }
            Kind::Nginx => {
                let config = dir.join("nginx.conf");
                fs::write(&config, nginx_config(addr, ports, &dir, fd_hard))?;
                cmd.arg("-p").arg(&dir).arg("-c").arg(config);
                cmd.arg("-e").arg(dir.join("error.log"));
                cmd.args(["-g", "daemon off;"]);
            }
            Kind::Haproxy => {
                let config = dir.join("haproxy.cfg");
                fs::write(&config, haproxy_config(addr, ports, fd_hard))?;
                cmd.arg("-db").arg("-f").arg(config);
            }
            Kind::Mitmproxy => {
                let addon = dir.join("route.py");
                fs::write(&addon, mitmproxy_addon(ports))?;
                cmd.arg("--mode")
                    .arg(format!("reverse:http://{}", ports.fast))
                    .args(["--listen-host", "127.0.0.1", "--listen-port"])
                    .arg(addr.port().to_string())
                    .arg("-s")
                    .arg(addon)
                    // No flow output, no flow kept, bodies streamed: the proxy alone.
                    .args([
                        "-q",
                        "--set",
                        "flow_detail=0",
                        "--set",
                        "stream_large_bodies=1",
                    ]);
                // Its state (certificates it would make for TLS) stays in the run's directory.
                cmd.arg("--set").arg(format!("confdir={}", dir.display()));
            }
        }
        let mut guard = Guard::spawn_logged(cmd, &dir.join("output.log"))?;
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Err(e) = guard.running() {
                return Err(io::Error::other(format!(
                    "{} {e} at start:\n{}",
                    kind.title(),
                    guard.log_tail(20)
                )));
            }
            if TcpStream::connect(addr).is_ok() {
                return Ok(Proxy { kind, addr, guard });
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "{} did not accept connections on {addr} within {STARTUP:?}:\n{}",
                    kind.title(),
                    guard.log_tail(20)
                )));
            }
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// The process id of the proxy (nginx: the master; its worker is found through /proc).
    pub fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// `Err` if the proxy has exited, with its last output lines.
    pub fn running(&mut self) -> io::Result<()> {
        self.guard.running().map_err(|e| {
            io::Error::other(format!(
                "{} {e}:\n{}",
                self.kind.title(),
                self.guard.log_tail(20)
            ))
        })
    }
}

/// edgecase: one worker thread, no access log, no control API; the fast origin by default and
/// a route per timer.
fn edgecase_config(listen: SocketAddr, ports: &Ports) -> String {
    let Ports {
        fast,
        silent,
        blackhole,
        never_reads,
    } = ports;
    format!(
        "# Written by benches/load.rs for one run.\n\
         [edge]\nlisten = \"{listen}\"\nworkers = 1\nshutdown_grace = \"0s\"\n\n\
         [origin]\naddress = \"{fast}\"\n\n\
         [log]\naccess = \"off\"\n\n\
         [admin]\nenabled = false\n\n\
         [[route]]\npath_prefix = \"/silent-1s\"\norigin = \"{silent}\"\n\
         timeouts = {{ read = \"1s\" }}\n\n\
         [[route]]\npath_prefix = \"/silent-5s\"\norigin = \"{silent}\"\n\
         timeouts = {{ read = \"5s\" }}\n\n\
         [[route]]\npath_prefix = \"/silent\"\norigin = \"{silent}\"\n\
         timeouts = {{ read = \"300s\" }}\n\n\
         [[route]]\npath_prefix = \"/blackhole-1s\"\norigin = \"{blackhole}\"\n\
         timeouts = {{ connect = \"1s\" }}\n\n\
         [[route]]\npath_prefix = \"/ack-1s\"\norigin = \"{never_reads}\"\n\
         timeouts = {{ ack = \"1s\", write = \"300s\", read = \"300s\" }}\n"
    )
}

/// nginx: one worker, upstream keep-alive to the fast origin, the silent locations.
fn nginx_config(listen: SocketAddr, ports: &Ports, dir: &Path, fd_hard: u64) -> String {
    let dir = dir.display();
    let nofile = fd_hard.min(20_000);
    let connections = NGINX_CONNECTIONS.min(nofile.saturating_sub(1_000));
    let (fast, silent) = (ports.fast, ports.silent);
    format!(
        "# Written by benches/load.rs for one run.\n\
         worker_processes 1;\n\
         worker_rlimit_nofile {nofile};\n\
         pid {dir}/nginx.pid;\n\
         error_log {dir}/error.log warn;\n\
         events {{\n    worker_connections {connections};\n}}\n\
         http {{\n\
         \x20   access_log off;\n\
         \x20   client_body_temp_path {dir}/client_body;\n\
         \x20   proxy_temp_path {dir}/proxy;\n\
         \x20   fastcgi_temp_path {dir}/fastcgi;\n\
         \x20   uwsgi_temp_path {dir}/uwsgi;\n\
         \x20   scgi_temp_path {dir}/scgi;\n\
         \x20   keepalive_requests 1000000000;\n\
         \x20   keepalive_timeout 300s;\n\
         \x20   upstream fast {{\n\
         \x20       server {fast};\n\
         \x20       keepalive 64;\n\
         \x20       keepalive_requests 1000000000;\n\
         \x20       keepalive_timeout 300s;\n\
         \x20   }}\n\
         \x20   server {{\n\
         \x20       listen {listen} backlog=4096;\n\
         \x20       location / {{\n\
         \x20           proxy_pass http://fast;\n\
         \x20           proxy_http_version 1.1;\n\
         \x20           proxy_set_header Connection \"\";\n\
         \x20       }}\n\
         \x20       location /silent-1s {{\n\
         \x20           proxy_pass http://{silent};\n\
         \x20           proxy_read_timeout 1s;\n\
         \x20       }}\n\
         \x20       location /silent {{\n\
         \x20           proxy_pass http://{silent};\n\
         \x20           proxy_read_timeout 300s;\n\
         \x20       }}\n\
         \x20   }}\n\
         }}\n"
    )
}

/// mitmproxy: reverse mode forwards to the fast origin; this addon sends `/silent*` to the
/// silent one (mitmproxy has no per-path upstream of its own, and no read timeout).
fn mitmproxy_addon(ports: &Ports) -> String {
    let silent = ports.silent;
    format!(
        "# Written by benches/load.rs for one run.\n\
         def request(flow):\n\
         \x20   if flow.request.path.startswith(\"/silent\"):\n\
         \x20       flow.request.host = \"{}\"\n\
         \x20       flow.request.port = {}\n",
        silent.ip(),
        silent.port()
    )
}

/// HAProxy: one thread, keep-alive both sides with connection reuse, a backend per timeout.
fn haproxy_config(listen: SocketAddr, ports: &Ports, fd_hard: u64) -> String {
    let maxconn = HAPROXY_MAXCONN.min(fd_hard.saturating_sub(1_000) / 2);
    let (fast, silent) = (ports.fast, ports.silent);
    format!(
        "# Written by benches/load.rs for one run.\n\
         global\n\
         \x20   nbthread 1\n\
         \x20   maxconn {maxconn}\n\n\
         defaults\n\
         \x20   mode http\n\
         \x20   option http-keep-alive\n\
         \x20   http-reuse always\n\
         \x20   timeout connect 5s\n\
         \x20   timeout client 300s\n\
         \x20   timeout server 300s\n\
         \x20   timeout http-request 300s\n\
         \x20   timeout http-keep-alive 300s\n\n\
         frontend edge\n\
         \x20   bind {listen} backlog 4096\n\
         \x20   maxconn {maxconn}\n\
         \x20   acl silent_1s path_beg /silent-1s\n\
         \x20   acl silent path_beg /silent\n\
         \x20   use_backend silent_1s if silent_1s\n\
         \x20   use_backend silent if silent\n\
         \x20   default_backend fast\n\n\
         backend fast\n\
         \x20   server fast {fast}\n\n\
         backend silent_1s\n\
         \x20   timeout server 1s\n\
         \x20   server silent {silent}\n\n\
         backend silent\n\
         \x20   server silent {silent}\n"
    )
}
