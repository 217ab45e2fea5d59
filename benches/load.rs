//! The load benchmark: edgecase beside nginx and HAProxy (issue 7), each pinned to one core
//! in front of the same loopback origins, driven by wrk and oha from the other core, and one
//! table of figures measured in the same run, interleaved.
//!
//! ```sh
//! benches/load/run.sh                 # installs what is missing, then the full run (~9 min)
//! benches/load/run.sh -- --quick      # one round, 3 s runs
//! cargo bench --bench load -- --help  # rounds, seconds, proxies, binary, --keep
//! ```
//!
//! `cargo bench` builds the `edgecase` binary with the bench profile (release settings) and
//! hands its path to this harness (`CARGO_BIN_EXE_edgecase`). It is not part of `cargo test`:
//! run without cargo bench's `--bench` argument (`cargo test --benches`) it says so and exits.
//!
//! What it does ([`benches/load/README.md`](load/README.md) has each figure's method):
//! - re-executes itself with [`origins::SERVE_FLAG`] as the origin process (fast, silent,
//!   blackhole and never-reading origins), pinned beside the load generators ([`origins`]);
//! - per round, for "direct" (the fast origin itself) and each proxy in a rotated order:
//!   starts the proxy with its generated config ([`proxies`]), measures figures 1-6
//!   ([`figures`]) and stops it;
//! - then edgecase alone: timer accuracy and requests held to the fd limit ([`checks`]);
//! - prints the environment, the comparison table and the targets table ([`report`]), and
//!   writes them to `target/load-report.md`.
//!
//! It exits 0 whatever the figures say (a missed target is a finding); non-zero only when the
//! harness itself fails: a proxy that does not start or dies, a tool that fails.

#[path = "load/args.rs"]
mod args;
#[path = "load/checks.rs"]
mod checks;
#[path = "load/figures.rs"]
mod figures;
#[path = "load/origins.rs"]
mod origins;
#[path = "load/processes.rs"]
mod processes;
#[path = "load/procfs.rs"]
mod procfs;
#[path = "load/proxies.rs"]
mod proxies;
#[path = "load/report.rs"]
mod report;
#[path = "load/targets.rs"]
mod targets;
#[path = "load/tools.rs"]
mod tools;
#[path = "load/visitors.rs"]
mod visitors;

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tokio::signal::unix::{SignalKind, signal};

use args::{Options, USAGE};
use figures::{Bench, Figures};
use origins::OriginProcess;
use processes::Pinning;
use proxies::{Installed, Kind, Proxy};
use report::Results;
use tools::Tools;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(origins::SERVE_FLAG) {
        return match origins::serve() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("load: origin process: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("load: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if options.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if !options.bench {
        println!("load: not run outside `cargo bench` (try `benches/load/run.sh`)");
        return ExitCode::SUCCESS;
    }
    // Before any thread starts, so every thread of the harness inherits the pinning.
    let pinning = Pinning::detect();
    if let Err(e) = pinning.pin_self() {
        eprintln!(
            "load: cannot pin the harness to core {}: {e}",
            processes::LOAD_CORE
        );
        return ExitCode::FAILURE;
    }
    // Every child is spawned from this thread (see `processes::command`).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("load: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let keep = options.keep;
    let outcome = runtime.block_on(async {
        let (mut int, mut term) = match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(int), Ok(term)) => (int, term),
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };
        // Dropping the run (on a signal) drops every child's guard, which kills it.
        tokio::select! {
            done = run(options, pinning) => done.map(|()| true),
            _ = int.recv() => Ok(false),
            _ = term.recv() => Ok(false),
        }
    });
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            if !keep {
                let _ = std::fs::remove_dir_all(temp_dir());
            }
            eprintln!("load: interrupted; every child process stopped");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("load: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The share of the machine's CPU busy over the next second, while the harness idles.
async fn busy_before() -> String {
    let Ok(before) = procfs::machine_cpu() else {
        return "unknown".to_owned();
    };
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    match procfs::machine_cpu() {
        Ok(after) if after.1 > before.1 => format!(
            "{:.0}%",
            (after.0 - before.0) as f64 * 100.0 / (after.1 - before.1) as f64
        ),
        _ => "unknown".to_owned(),
    }
}

/// This run's temporary directory: configs, proxy output, timed batches.
fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("edgecase-load-{}", std::process::id()))
}

/// The whole run.
async fn run(options: Options, pinning: Pinning) -> io::Result<()> {
    let (fd_soft, fd_hard) = procfs::raise_fd_limit()?;
    let binary = options
        .edgecase
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_edgecase")));
    let tools = Tools::find();
    let mut results = Results {
        held: options.held,
        oha: tools.oha.is_some(),
        wrk: tools.wrk.is_some(),
        ..Results::default()
    };
    let installed = find_proxies(&options.proxies, &binary, &mut results)?;
    note_missing_tools(&tools, &mut results);
    let environment = environment(&options, &pinning, &tools, &installed, (fd_soft, fd_hard)).await;
    println!("load: environment");
    for line in &environment {
        println!("  {line}");
    }

    let dir = temp_dir();
    std::fs::create_dir_all(&dir)?;
    let origins = start_origins(&pinning, &dir).await?;
    let bench = Bench {
        pinning,
        tools,
        origins,
        options,
        fd_hard,
        dir: dir.clone(),
    };
    run_rounds(&bench, &installed, &mut results).await?;
    edgecase_checks(&bench, &installed, &mut results).await?;
    write_report(&environment, &results)?;
    if bench.options.keep {
        println!("load: files kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// Each proxy of `kinds` that is installed; one (empty) row per kind goes into `results`,
/// and each one missing is noted as skipped. A missing edgecase is an error.
fn find_proxies(
    kinds: &[Kind],
    binary: &Path,
    results: &mut Results,
) -> io::Result<Vec<Installed>> {
    let mut installed = Vec::new();
    for kind in kinds.iter().copied() {
        match Installed::find(kind, binary) {
            Some(found) => installed.push(found),
            None => {
                let why = not_installed(kind, binary);
                if kind == Kind::Edgecase {
                    return Err(io::Error::other(why));
                }
                eprintln!("load: {why}; skipped");
                results.skipped.push(why);
            }
        }
        results.proxies.push((kind, Vec::new()));
    }
    Ok(installed)
}

/// Why `kind` was not found, and how to install it.
fn not_installed(kind: Kind, binary: &Path) -> String {
    match kind {
        Kind::Edgecase => format!("edgecase: no binary at {}", binary.display()),
        Kind::Nginx => "nginx: not installed (apt-get install nginx-light)".to_owned(),
        Kind::Haproxy => "HAProxy: not installed (apt-get install haproxy)".to_owned(),
        Kind::Mitmproxy => "mitmproxy: not installed (pip install mitmproxy)".to_owned(),
    }
}

/// Notes in `results` each load generator that is missing, and whose figures are n/a.
fn note_missing_tools(tools: &Tools, results: &mut Results) {
    for (tool, path, how) in [
        ("wrk", &tools.wrk, "apt-get install wrk"),
        ("oha", &tools.oha, "cargo install oha --locked"),
    ] {
        if path.is_none() {
            let why = format!("{tool}: not installed ({how}); its figures are n/a");
            eprintln!("load: {why}");
            results.skipped.push(why);
        }
    }
}

/// The environment lines of the report: cores, pinning, fd limits (`fd`: soft and hard), how
/// busy the machine was, the run's settings, and each proxy's and tool's version.
async fn environment(
    options: &Options,
    pinning: &Pinning,
    tools: &Tools,
    installed: &[Installed],
    (fd_soft, fd_hard): (u64, u64),
) -> Vec<String> {
    let mut environment = vec![
        format!("cores: {}", pinning.cores),
        format!("pinning: {}", pinning.describe()),
        format!("fd limits (harness, inherited by edgecase): soft {fd_soft}, hard {fd_hard}"),
        format!(
            "machine busy before the run: {} of all cores over 1 s (other work moves every \
             figure)",
            busy_before().await
        ),
        format!(
            "runs: {} round(s), {} s per wrk/oha run, {} held requests, {} per timer, up to {} held \
             to the fd limit{}",
            options.rounds,
            options.seconds,
            options.held,
            options.timer_requests,
            options.fd_held,
            if options.quick { " (--quick)" } else { "" }
        ),
    ];
    for found in installed {
        environment.push(format!(
            "{}: {} ({})",
            found.kind.title(),
            found.version(),
            found.binary.display()
        ));
    }
    if let Some(wrk) = &tools.wrk {
        environment.push(format!("wrk: {}", processes::version(wrk, &["-v"])));
    }
    if let Some(oha) = &tools.oha {
        environment.push(format!("oha: {}", processes::version(oha, &["--version"])));
    }
    environment
}

/// Starts the origin process (this binary, re-executed) and checks that the fast origin
/// answers with its body.
async fn start_origins(pinning: &Pinning, dir: &Path) -> io::Result<OriginProcess> {
    let origins = OriginProcess::start(pinning, &std::env::current_exe()?)?;
    let body = visitors::fetch(origins.ports.fast, "/").await?;
    if body.as_bytes() != origins::BODY {
        return Err(io::Error::other(format!(
            "the fast origin answered {body:?}"
        )));
    }
    println!(
        "load: origins (pid {}) fast {} silent {} blackhole {} never-reading {}; files in {}",
        origins.pid,
        origins.ports.fast,
        origins.ports.silent,
        origins.ports.blackhole,
        origins.ports.never_reads,
        dir.display()
    );
    Ok(origins)
}

/// Rounds: direct and every proxy, the order rotated each round; each one's figures go into
/// `results`.
async fn run_rounds(
    bench: &Bench,
    installed: &[Installed],
    results: &mut Results,
) -> io::Result<()> {
    let mut order: Vec<Option<&Installed>> = vec![None];
    order.extend(installed.iter().map(Some));
    for round in 0..bench.options.rounds {
        order.rotate_left(usize::from(round > 0));
        for target in &order {
            let Some(found) = target else {
                eprintln!("load: round {}/{}: direct", round + 1, bench.options.rounds);
                results.direct.push(figures::direct(bench).await?);
                continue;
            };
            let figures = proxy_round(bench, found, round).await?;
            if let Some((_, rounds)) = results.proxies.iter_mut().find(|(k, _)| *k == found.kind) {
                rounds.push(figures);
            }
        }
    }
    Ok(())
}

/// One round of one proxy: started, measured, stopped.
async fn proxy_round(bench: &Bench, found: &Installed, round: usize) -> io::Result<Figures> {
    eprintln!(
        "load: round {}/{}: {}",
        round + 1,
        bench.options.rounds,
        found.kind.title()
    );
    let mut proxy = start_proxy(bench, found).await?;
    figures::proxy(bench, &mut proxy, round + 1).await
}

/// Starts `found` with its generated config in front of the bench's origins.
async fn start_proxy(bench: &Bench, found: &Installed) -> io::Result<Proxy> {
    Proxy::start(
        found,
        &bench.pinning,
        &bench.dir,
        &bench.origins.ports,
        bench.fd_hard,
    )
    .await
}

/// edgecase's own checks, on a fresh process: timer accuracy and requests held to the fd
/// limit, into `results`.
async fn edgecase_checks(
    bench: &Bench,
    installed: &[Installed],
    results: &mut Results,
) -> io::Result<()> {
    if let Some(edge) = installed.iter().find(|i| i.kind == Kind::Edgecase) {
        eprintln!("load: edgecase timer accuracy and requests held to the fd limit");
        let mut proxy = start_proxy(bench, edge).await?;
        results.timers = checks::timers(bench, &mut proxy).await?;
        results.fd = Some(checks::fd_limit(bench, &mut proxy).await?);
    }
    Ok(())
}

/// Prints the environment and the tables, and writes them to `target/load-report.md`.
fn write_report(environment: &[String], results: &Results) -> io::Result<()> {
    let mut text = String::from("Environment:\n\n");
    for line in environment {
        text += &format!("- {line}\n");
    }
    text += &format!("\n{}", report::render(results));
    println!("\n{text}");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&target)?;
    let report = target.join("load-report.md");
    std::fs::write(&report, format!("# Load benchmark\n\n{text}"))?;
    println!("load: written to {}", report.display());
    Ok(())
}
