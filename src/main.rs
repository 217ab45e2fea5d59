//! The `edgecase` binary: parse the command line, load the config, start logging, bind, and
//! hand over to [`edgecase::edge::serve`] (or to the demo). Nothing else lives here.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use edgecase::config::{Config, ConfigError, Overrides};

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
    /// Validate the config and exit: 0 when valid, 2 with the problems otherwise.
    #[arg(long)]
    check: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run edgecase in front of a built-in origin that shows every error class.
    Demo {
        /// Where visitors connect.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
}

/// Exit status for an invalid config or command line.
const EXIT_BAD_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    if let Some(Command::Demo { listen }) = cli.command {
        return match edgecase::demo::run(listen) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("edgecase demo: cannot run on {listen}: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let config = match load(&cli) {
        Ok(config) => config,
        Err(e) => {
            for line in e.to_string().lines() {
                eprintln!("edgecase: {line}");
            }
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
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgecase: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The config from the file (if any) with the command-line flags over it.
fn load(cli: &Cli) -> Result<Config, ConfigError> {
    let overrides = Overrides {
        listen: cli.listen.clone(),
        origin: cli.origin.clone(),
    };
    match &cli.config {
        Some(path) => Config::load(path, &overrides),
        None => Config::defaults_with(&overrides),
    }
}

fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listen = config.edge.listen;
        // Before binding and announcing: a SIGTERM right after the start-up line is a clean stop.
        let shutdown = edgecase::edge::shutdown_signal();
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        edgecase::edge::serve(listener, config, shutdown).await?;
        Ok(())
    })
}

fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}
