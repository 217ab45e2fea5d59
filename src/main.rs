//! The `edgecase` binary: parse the command line, load the config, start logging, bind, and
//! hand over to [`edgecase::edge::serve`] (or to the demo). Nothing else lives here.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use edgecase::capture::Redaction;
use edgecase::config::{Config, ConfigError, Overrides};
use edgecase::edge::{EdgeState, Listeners};
use std::sync::Arc;

/// A reverse proxy that fails exactly like Cloudflare's edge.
#[derive(Parser)]
#[command(
    name = "edgecase",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// TOML config file (see config/edgecase.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where visitors connect, e.g. 127.0.0.1:8080 (overrides edge.listen).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// The origin, HOST:PORT (overrides origin.address).
    #[arg(long, value_name = "HOST:PORT")]
    origin: Option<String>,
    /// Where the control API listens, e.g. 127.0.0.1:8081 (overrides admin.listen).
    #[arg(long, value_name = "ADDR")]
    admin: Option<String>,
    /// Validate the config and exit: 0 when valid, 2 with the problems otherwise.
    #[arg(long)]
    check: bool,
    /// Start this [[scenario]] as soon as edgecase listens (instead of any `start =
    /// "at_launch"` one); at exit, print its report's table.
    #[arg(long, value_name = "NAME")]
    scenario: Option<String>,
    /// Exit once the scenario started at launch is over (after in-flight requests finish,
    /// within edge.shutdown_grace), printing its report's table.
    #[arg(long)]
    exit_after_scenario: bool,
    /// At exit, write the JSON report of the scenario started at launch to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run edgecase in front of a built-in origin that shows every error class.
    Demo {
        /// Where visitors connect over HTTP.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Where visitors connect over HTTPS.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
        tls_listen: SocketAddr,
        /// Where the control API listens (when the port is taken, the demo runs without it).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
        admin: SocketAddr,
        /// Where the demo writes its self-signed certificate [default: <temp dir>/edgecase-demo].
        #[arg(long, value_name = "DIR")]
        cert_dir: Option<PathBuf>,
    },
    /// Check an origin the way the edge would reach it (DNS, TCP, TLS, HTTP, keep-alive) and
    /// say what a visitor would get: exit 0 when the origin's answer, 1 when an edge error,
    /// 2 on bad arguments.
    Diagnose(edgecase::diagnose::Args),
    /// Write a self-signed certificate and key (cert.pem, key.pem) for local HTTPS.
    Cert {
        /// A name the certificate covers: a DNS name or an IP address (repeat for more).
        #[arg(long = "host", value_name = "NAME", required = true)]
        hosts: Vec<String>,
        /// The directory to write into (created if missing).
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
        /// Overwrite cert.pem and key.pem if they exist.
        #[arg(long)]
        force: bool,
    },
}

// The allocator: the system's unless built with `--features mimalloc` or `jemalloc`
// (measured side by side in benches/load; see docs/performance.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(all(feature = "jemalloc", not(feature = "mimalloc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Exit status for an invalid config or command line.
const EXIT_BAD_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Some(Command::Demo {
            listen,
            tls_listen,
            admin,
            cert_dir,
        }) => {
            let cert_dir = cert_dir.unwrap_or_else(|| std::env::temp_dir().join("edgecase-demo"));
            let at = edgecase::demo::Ports {
                listen,
                tls_listen,
                admin,
            };
            return match edgecase::demo::run(at, &cert_dir) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("edgecase demo: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(Command::Cert { hosts, out, force }) => return cert(&hosts, &out, force),
        Some(Command::Diagnose(args)) => return diagnose(&args),
        None => {}
    }
    let mut config = match load(&cli) {
        Ok(config) => config,
        Err(e) => {
            for line in e.to_string().lines() {
                eprintln!("edgecase: {line}");
            }
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    let launch = match launch(&cli, &mut config) {
        Ok(launch) => launch,
        Err(why) => {
            eprintln!("edgecase: {why}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    if cli.check {
        let source = cli
            .config
            .as_ref()
            .map_or("command line".into(), |p| p.display().to_string());
        println!("edgecase: {source}: config is valid");
        return ExitCode::SUCCESS;
    }
    let reload = cli
        .config
        .clone()
        .map(|path| edgecase::edge::reload::Source {
            path,
            overrides: overrides(&cli),
        });
    match run(config, reload, launch) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgecase: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `edgecase diagnose`: the table (or `--json`) on stdout, the bundle if asked; the exit
/// status says whether a visitor would get the origin's answer.
fn diagnose(args: &edgecase::diagnose::Args) -> ExitCode {
    use edgecase::diagnose::{Plan, bundle, table};
    let bad = |e: &dyn std::fmt::Display| {
        for line in e.to_string().lines() {
            eprintln!("edgecase diagnose: {line}");
        }
        ExitCode::from(EXIT_BAD_CONFIG)
    };
    let plan = match Plan::from_args(args) {
        Ok(plan) => plan,
        Err(e) => return bad(&e),
    };
    if let Some(dir) = &args.bundle
        && let Err(e) = bundle::prepare(dir)
    {
        return bad(&e);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("edgecase diagnose: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let diagnosis = runtime.block_on(edgecase::diagnose::run(&plan));
    if args.json {
        println!("{}", diagnosis.to_json());
    } else {
        print!("{}", table::render(&diagnosis));
    }
    if let Some(dir) = &args.bundle {
        match bundle::write(
            dir,
            &diagnosis,
            plan.config
                .capture
                .sanitize
                .as_ref()
                .map(Redaction::from)
                .as_ref(),
        ) {
            Ok(files) => {
                let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                eprintln!("edgecase diagnose: bundle written: {}", names.join(", "));
            }
            Err(e) => return bad(&e),
        }
    }
    ExitCode::from(diagnosis.exit_code())
}

/// `edgecase cert`: writes `out/cert.pem` and `out/key.pem`.
fn cert(hosts: &[String], out: &std::path::Path, force: bool) -> ExitCode {
    let made = match edgecase::tls::self_signed::generate(hosts) {
        Ok(made) => made,
        Err(e) => {
            eprintln!("edgecase cert: {e}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    let cert = out.join("cert.pem");
    let key = out.join("key.pem");
    if !force && let Some(existing) = [&cert, &key].into_iter().find(|p| p.exists()) {
        eprintln!(
            "edgecase cert: {} already exists; pass --force to replace it",
            existing.display()
        );
        return ExitCode::FAILURE;
    }
    let written = std::fs::create_dir_all(out)
        .and_then(|()| std::fs::write(&cert, &made.cert_pem))
        .and_then(|()| edgecase::demo::write_private(&key, &made.key_pem));
    if let Err(e) = written {
        eprintln!("edgecase cert: cannot write into {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    println!(
        "edgecase cert: wrote {} and {} (self-signed for {}, valid for a year)",
        cert.display(),
        key.display(),
        hosts.join(", ")
    );
    println!(
        "use them with:\n  [edge]\n  tls_listen = \"127.0.0.1:8443\"\n  tls_cert = {:?}\n  \
         tls_key = {:?}\nand trust them with: curl --cacert {} https://{}:8443/",
        cert.display().to_string(),
        key.display().to_string(),
        cert.display(),
        hosts[0]
    );
    ExitCode::SUCCESS
}

/// The config from the file (if any) with the command-line flags over it.
/// The scenario started at launch, and what to do with its report.
struct Launch {
    name: String,
    exit_after: bool,
    report: Option<PathBuf>,
    /// Whether the table is printed at exit (asked for by `--scenario` or
    /// `--exit-after-scenario`).
    table: bool,
}

/// With `--scenario NAME`, makes NAME the one scenario that starts at launch. Which scenario
/// starts at launch, if any; why not, when the flags ask for one that is not there.
fn launch(cli: &Cli, config: &mut Config) -> Result<Option<Launch>, String> {
    use edgecase::ScenarioStart;
    if let Some(name) = &cli.scenario {
        if !config.scenarios.iter().any(|s| &s.name == name) {
            let known: Vec<String> = config
                .scenarios
                .iter()
                .map(|s| format!("{:?}", s.name))
                .collect();
            let known = match known.is_empty() {
                true => "the config has none".to_owned(),
                false => format!("the config has {}", known.join(", ")),
            };
            return Err(format!(
                "--scenario: no [[scenario]] named {name:?}; {known}"
            ));
        }
        for scenario in &mut config.scenarios {
            scenario.start = match &scenario.name == name {
                true => ScenarioStart::AtLaunch,
                false => ScenarioStart::Manual,
            };
        }
    }
    let name = config
        .scenarios
        .iter()
        .find(|s| s.start == ScenarioStart::AtLaunch)
        .map(|s| s.name.clone());
    let asked = cli.exit_after_scenario || cli.report.is_some();
    match name {
        None if asked => Err(
            "--exit-after-scenario and --report need a scenario started at launch: pass \
             --scenario NAME, or set start = \"at_launch\" on a [[scenario]]"
                .to_owned(),
        ),
        None => Ok(None),
        Some(name) => Ok(Some(Launch {
            name,
            exit_after: cli.exit_after_scenario,
            report: cli.report.clone(),
            table: cli.scenario.is_some() || cli.exit_after_scenario,
        })),
    }
}

fn load(cli: &Cli) -> Result<Config, ConfigError> {
    let overrides = overrides(cli);
    match &cli.config {
        Some(path) => Config::load(path, &overrides),
        None => Config::defaults_with(&overrides),
    }
}

/// The command-line flags that go over the file's values.
fn overrides(cli: &Cli) -> Overrides {
    Overrides {
        listen: cli.listen.clone(),
        origin: cli.origin.clone(),
        admin: cli.admin.clone(),
    }
}

/// Serves `config` until SIGTERM or Ctrl-C; with `reload`, SIGHUP and `POST /reload` read the
/// file again.
fn run(
    config: Config,
    reload: Option<edgecase::edge::reload::Source>,
    launch: Option<Launch>,
) -> anyhow::Result<()> {
    // Two descriptors a held request: the default soft limit (often 1,024) would stop a load
    // test at about 500.
    match edgecase::base::fd_limit::raise_to_hard() {
        Ok(Some((from, to))) => tracing::info!("open-file limit raised from {from} to {to}"),
        Ok(None) => {}
        Err(e) => tracing::warn!("cannot raise the open-file limit: {e}"),
    }
    // `[edge] workers = 1` keeps every request on this one thread (no work stealing), so the
    // proxy can be measured pinned to one core; more threads is tokio's multi-thread runtime.
    let runtime = match config.edge.workers {
        Some(1) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        Some(workers) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?,
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?,
    };
    runtime.block_on(async {
        let listen = config.edge.listen;
        // Before binding and announcing: a SIGTERM right after the start-up line is a clean stop.
        let shutdown = edgecase::edge::shutdown_signal();
        let http = TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let https =
            match &config.edge.tls {
                Some(tls) => Some(TcpListener::bind(tls.listen).await.map_err(|e| {
                    anyhow::anyhow!("cannot listen on {} (HTTPS): {e}", tls.listen)
                })?),
                None => None,
            };
        let admin = match &config.admin {
            None => None,
            Some(admin) => match TcpListener::bind(admin.listen).await {
                Ok(listener) => Some(listener),
                // The default port may be taken by another edgecase: serve without the control
                // API rather than not at all. A port the config names must be had.
                Err(e) if admin.default_listen => {
                    tracing::warn!(
                        "control API not started: cannot listen on {} ({e}); set [admin] \
                         listen to another address, or enabled = false",
                        admin.listen
                    );
                    None
                }
                Err(e) => anyhow::bail!("cannot listen on {} (control API): {e}", admin.listen),
            },
        };
        let listeners = Listeners {
            http,
            https,
            admin: admin.map(edgecase::admin::port),
            closed: None,
        };
        let http_port = listeners.http.local_addr()?.port();
        let mut state = EdgeState::new(Arc::new(config), http_port)?;
        state.reload_from = reload;
        let state = Arc::new(state);
        let scenarios = state.scenarios.clone();
        let exit_after = launch.as_ref().filter(|l| l.exit_after).map(|l| l.name.clone());
        let stop = async move {
            match exit_after {
                // Polled first once the scenario has started (just before accepting).
                Some(name) => tokio::select! {
                    () = shutdown => {}
                    () = scenarios.ended(&name) => {
                        tracing::info!("scenario {name:?} is over: stopping (--exit-after-scenario)");
                    }
                },
                None => shutdown.await,
            }
        };
        edgecase::edge::serve_state(listeners, state.clone(), stop).await?;
        if let Some(launch) = launch {
            write_report(&state, &launch)?;
        }
        Ok(())
    })
}

/// The launch scenario's report, as a table on stdout and, with `--report`, as JSON.
fn write_report(state: &EdgeState, launch: &Launch) -> anyhow::Result<()> {
    let Some(report) = state.scenarios.report(&launch.name) else {
        return Ok(());
    };
    if launch.table {
        print!("{}", report.table());
    }
    if let Some(path) = &launch.report {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n")
            .map_err(|e| anyhow::anyhow!("cannot write the report to {}: {e}", path.display()))?;
        eprintln!("edgecase: report written to {}", path.display());
    }
    Ok(())
}

fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}
