//! The soak benchmark: the release `edgecase` binary under minutes of steady, mixed traffic
//! with every failure class and fault rules changing at random, watched for memory growth,
//! descriptor leaks and requests that never end.
//!
//! ```sh
//! cargo bench --bench soak                      # ten minutes (the default)
//! cargo bench --bench soak -- --minutes 1       # a quick run
//! cargo bench --bench soak -- --help            # rate, concurrency, seed, binary, --keep
//! ```
//!
//! `cargo bench` builds the `edgecase` binary with the bench profile (release settings) and
//! hands its path to this harness (`CARGO_BIN_EXE_edgecase`). It is not part of `cargo test`:
//! run without cargo bench's `--bench` argument (`cargo test --benches`) it says so and exits.
//!
//! What it does:
//! - starts loopback origins for every failure class ([`origins`], [`tls_origin`]): healthy,
//!   slow body, refusing (521), full accept queue (522), silent (524), empty reply, garbage
//!   and oversized head (520), plain HTTP behind a strict TLS route (525), an untrusted
//!   certificate (526), plus an unresolvable name (530) and edgecase's own trace;
//! - runs edgecase on a config in a temporary directory: one `[[route]]` per origin, connect
//!   200 ms, read 300 ms, no access log, the control API on a free port ([`edge`]);
//! - sends `--rate` requests per second from `--concurrency` visitor tasks (HTTP/1.1 and h2c,
//!   some uploads, some visitors giving up early) for `--minutes` ([`load`]), while fault
//!   rules are added and removed through `POST`/`DELETE /faults` ([`faults`]);
//! - every 10 s reads edgecase's RSS and open descriptors from `/proc` ([`probe`]);
//! - after the load, waits for the origins' keep-alive to lapse, reads the descriptors again,
//!   stops edgecase with SIGTERM, prints the table and the verdict ([`report`]), and exits
//!   non-zero if a check failed: a request without an outcome, a failed connection to the
//!   edge, RSS growth of 10% or more from the one-minute mark to the end (half-way for runs
//!   under two minutes), descriptors not back within a few of the baseline, anything but a 200
//!   on the route no fault rule can touch, a missing failure class, a refused control call,
//!   or edgecase dying or not stopping cleanly.
//!
//! The table has one row per 10 s sample (plus the baseline and the idle reading after the
//! load); the columns after `requests` count requests so far by how they ended: a status
//! (whole body read), `cut` (head, then the body broke off), `aborted` (closed before a
//! head), `gave up` (the visitor's own choice), `no conn`, `unanswered` (nothing within 10 s).

#[path = "soak/args.rs"]
mod args;
#[path = "soak/control.rs"]
mod control;
#[path = "soak/edge.rs"]
mod edge;
#[path = "soak/faults.rs"]
mod faults;
#[path = "soak/load.rs"]
mod load;
#[path = "soak/origins.rs"]
mod origins;
#[path = "soak/probe.rs"]
mod probe;
#[path = "soak/report.rs"]
mod report;
#[path = "soak/rng.rs"]
mod rng;
#[path = "soak/routes.rs"]
mod routes;
#[path = "soak/tally.rs"]
mod tally;
#[path = "soak/tls_origin.rs"]
mod tls_origin;

use std::collections::BTreeSet;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, ExitStatus};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, sleep, sleep_until};

use args::{Options, USAGE};
use edge::EdgeProcess;
use faults::ChurnStats;
use load::PacerStats;
use origins::{ORIGIN_KEEP_ALIVE, Origins};
use report::{Check, FD_SLACK, Phase, Sample};
use tally::{Counts, Outcome, Tally, total};

/// How often the process is sampled under load.
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// The longest the soak waits, after the load, for descriptors to come back.
const IDLE_WAIT: Duration = Duration::from_secs(30);
/// The statuses the routes produce without any fault: each must be seen.
const CLASSES: [u16; 8] = [200, 520, 521, 522, 524, 525, 526, 530];

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("soak: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if options.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if !options.bench {
        println!("soak: not run outside `cargo bench` (try `cargo bench --bench soak`)");
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("soak: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(soak(options)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The whole run; `Ok(false)` when a check failed.
async fn soak(options: Options) -> io::Result<bool> {
    let binary = edgecase_binary(&options)?;
    let duration = Duration::from_secs_f64(options.minutes * 60.0);
    let dir = std::env::temp_dir().join(format!("edgecase-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    let origins = Origins::start().await?;
    let (untrusted_tls, _tls_task) = tls_origin::start().await?;
    let routes = Arc::new(routes::all(&origins, untrusted_tls));
    let listen = edge::free_addr()?;
    let admin = edge::free_addr()?;
    let config = edge::config_text(listen, admin, &origins, &routes, options.seed);
    let mut edgecase = EdgeProcess::start(&binary, &dir, &config, admin).await?;
    announce(
        &options,
        &binary,
        &edgecase,
        (listen, admin),
        &dir,
        routes.len(),
    );

    // Let the process settle, then take the baseline.
    sleep(Duration::from_secs(1)).await;
    let tally = Arc::new(Tally::default());
    let mut samples = vec![sample(Phase::Before, edgecase.pid, &tally)?];

    let (stop_churn, churn_stopped) = watch::channel(false);
    let churn = tokio::spawn(faults::churn(admin, options.seed, churn_stopped));
    let plan = load::Plan {
        edge: listen,
        rate: options.rate,
        concurrency: options.concurrency,
        duration,
        seed: options.seed,
        routes: Arc::clone(&routes),
    };
    let start = Instant::now();
    let (stop_load, load_stopped) = watch::channel(false);
    let load = tokio::spawn(load::run(plan, Arc::clone(&tally), load_stopped));
    let mut died = sample_under_load(
        &mut edgecase,
        &tally,
        (start, duration),
        &stop_load,
        &mut samples,
    )
    .await?;
    let pacer = load.await.map_err(io::Error::other)?;
    let _ = stop_churn.send(true);
    let churn = churn.await.map_err(io::Error::other)?;

    let baseline_fds = samples.first().map_or(0, |s| s.probe.fds);
    samples.extend(idle_sample(edgecase.pid, &tally, baseline_fds, &mut died).await);

    let log_tail = edgecase.log_tail(15);
    let stopped = match died {
        Some(why) => Err(why),
        None => edgecase.stop().await,
    };

    let checks = verdict(&tally, &pacer, &churn, (&samples, duration), &stopped);
    print_report(&samples, &pacer, duration, &routes, &tally);
    print_verdict(&checks);
    let passed = checks.iter().all(|c| c.passed);
    keep_or_remove_files(passed && !options.keep, &dir, &log_tail);
    println!("\nsoak: {}", if passed { "passed" } else { "FAILED" });
    drop(origins);
    Ok(passed)
}

/// The edgecase binary to soak: `--edgecase`, or the one cargo built for the bench.
fn edgecase_binary(options: &Options) -> io::Result<PathBuf> {
    let binary = options
        .edgecase
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_edgecase")));
    if !binary.is_file() {
        return Err(io::Error::other(format!(
            "no edgecase binary at {}",
            binary.display()
        )));
    }
    Ok(binary)
}

/// Prints where edgecase runs (`addrs`: its listener and control API) and what the run will
/// send it.
fn announce(
    options: &Options,
    binary: &Path,
    edgecase: &EdgeProcess,
    (listen, admin): (SocketAddr, SocketAddr),
    dir: &Path,
    routes: usize,
) {
    println!(
        "soak: {} (pid {}) on {listen}, control API on {admin}, files in {}",
        binary.display(),
        edgecase.pid,
        dir.display()
    );
    println!(
        "soak: {:.1} min at {} req/s from {} visitor tasks, {} routes, timeouts connect {} \
         read {}, seed {}",
        options.minutes,
        options.rate,
        options.concurrency,
        routes,
        edge::CONNECT_TIMEOUT,
        edge::READ_TIMEOUT,
        options.seed
    );
}

/// One reading of edgecase's process, with the counts so far, for the table.
fn sample(phase: Phase, pid: u32, tally: &Tally) -> io::Result<Sample> {
    Ok(Sample {
        phase,
        probe: probe::probe(pid)?,
        counts: tally.overall(),
    })
}

/// The marks under load at which edgecase is sampled: every [`SAMPLE_EVERY`], and the end.
fn sample_marks(duration: Duration) -> Vec<Duration> {
    let mut marks: Vec<Duration> = (1..)
        .map(|n| SAMPLE_EVERY * n)
        .take_while(|at| *at < duration)
        .collect();
    marks.push(duration);
    marks
}

/// Samples edgecase at each mark of the load (`run`: its start and length) into `samples`;
/// if edgecase has died, stops the load and returns why.
async fn sample_under_load(
    edgecase: &mut EdgeProcess,
    tally: &Tally,
    (start, duration): (Instant, Duration),
    stop_load: &watch::Sender<bool>,
    samples: &mut Vec<Sample>,
) -> io::Result<Option<String>> {
    for at in sample_marks(duration) {
        sleep_until(start + at).await;
        if let Err(why) = edgecase.running() {
            eprintln!("soak: {why}; stopping the load");
            let _ = stop_load.send(true);
            return Ok(Some(why));
        }
        let sample = sample(Phase::Load(at), edgecase.pid, tally)?;
        eprintln!(
            "soak: {:>5.0}s  RSS {:>6} KiB  fds {:>4}  requests {:>7}",
            at.as_secs_f64(),
            sample.probe.rss_kib,
            sample.probe.fds,
            total(&sample.counts)
        );
        samples.push(sample);
    }
    Ok(None)
}

/// Idle: the visitors are gone; the origins close edgecase's pooled connections after their
/// keep-alive. Waits at least that long, then until the descriptors are back near
/// `baseline_fds` (at most [`IDLE_WAIT`]), and returns the last reading. Nothing is read if
/// edgecase had `died`; if it exits now, `died` says so.
async fn idle_sample(
    pid: u32,
    tally: &Tally,
    baseline_fds: usize,
    died: &mut Option<String>,
) -> Option<Sample> {
    let idle = Instant::now();
    let mut after = None;
    while died.is_none() && idle.elapsed() < IDLE_WAIT {
        sleep(Duration::from_secs(1)).await;
        match probe::probe(pid) {
            Ok(probe) => after = Some(probe),
            Err(e) => {
                *died = Some(format!("edgecase exited after the load ({e})"));
                break;
            }
        }
        let back = after.is_some_and(|p| p.fds <= baseline_fds + FD_SLACK);
        if back && idle.elapsed() > ORIGIN_KEEP_ALIVE + Duration::from_secs(1) {
            break;
        }
    }
    after.map(|probe| Sample {
        phase: Phase::After(Duration::from_secs(idle.elapsed().as_secs())),
        probe,
        counts: tally.overall(),
    })
}

/// Every check of the run, in the verdict's order (`run`: the samples and the load's length).
fn verdict(
    tally: &Tally,
    pacer: &PacerStats,
    churn: &ChurnStats,
    (samples, duration): (&[Sample], Duration),
    stopped: &Result<ExitStatus, String>,
) -> Vec<Check> {
    let counts = tally.overall();
    vec![
        ended_check(&counts, pacer),
        connection_check(&counts),
        report::rss_check(samples, duration),
        report::fd_check(samples),
        control_route_check(tally),
        class_check(&counts),
        churn_check(churn),
        stop_check(stopped),
    ]
}

/// How many requests ended in `outcome`.
fn count(counts: &Counts, outcome: Outcome) -> u64 {
    counts.get(&outcome).copied().unwrap_or(0)
}

/// Every request the pacer started ended, none left unanswered.
fn ended_check(counts: &Counts, pacer: &PacerStats) -> Check {
    Check::new(
        "every request ended",
        count(counts, Outcome::Unanswered) == 0 && total(counts) == pacer.issued,
        format!(
            "{} started, {} ended, {} unanswered within {:?}",
            pacer.issued,
            total(counts),
            count(counts, Outcome::Unanswered),
            load::GUARD
        ),
    )
}

/// No visitor failed to connect to the edge.
fn connection_check(counts: &Counts) -> Check {
    Check::new(
        "visitors always reached the edge",
        count(counts, Outcome::NoConnection) == 0,
        format!(
            "{} failed connections",
            count(counts, Outcome::NoConnection)
        ),
    )
}

/// The route no fault rule touches was used and answered 200 (or the visitor gave up).
fn control_route_check(tally: &Tally) -> Check {
    let control = tally.by_route().remove(routes::CONTROL).unwrap_or_default();
    let stray: u64 = control
        .iter()
        .filter(|(o, _)| !matches!(o, Outcome::Answered(200) | Outcome::GaveUp))
        .map(|(_, n)| n)
        .sum();
    Check::new(
        "the route no fault touches answered 200 only",
        stray == 0 && total(&control) > 0,
        format!("{} requests, {stray} ended otherwise", total(&control)),
    )
}

/// Every status in [`CLASSES`] was answered at least once.
fn class_check(counts: &Counts) -> Check {
    let seen: BTreeSet<u16> = counts
        .keys()
        .filter_map(|o| match o {
            Outcome::Answered(status) => Some(*status),
            _ => None,
        })
        .collect();
    let missing: Vec<u16> = CLASSES.into_iter().filter(|s| !seen.contains(s)).collect();
    Check::new(
        "every failure class answered",
        missing.is_empty(),
        format!("statuses seen {seen:?}; missing {missing:?}"),
    )
}

/// Fault rules were added, and no control call failed.
fn churn_check(churn: &ChurnStats) -> Check {
    Check::new(
        "fault rules changed through the control API",
        churn.failed == 0 && churn.added > 0,
        format!(
            "{} added, {} removed, {} had expired, {} clears, {} failed calls {:?}",
            churn.added, churn.removed, churn.expired, churn.cleared, churn.failed, churn.errors
        ),
    )
}

/// edgecase lived through the run and exited successfully on SIGTERM.
fn stop_check(stopped: &Result<ExitStatus, String>) -> Check {
    Check::new(
        "edgecase ran throughout and stopped cleanly",
        matches!(stopped, Ok(status) if status.success()),
        match stopped {
            Ok(status) => format!("SIGTERM -> {status}"),
            Err(why) => why.clone(),
        },
    )
}

/// Prints the sample table, the load achieved, the per-route table and the causes.
fn print_report(
    samples: &[Sample],
    pacer: &PacerStats,
    duration: Duration,
    routes: &[routes::Route],
    tally: &Tally,
) {
    let elapsed = duration.as_secs_f64().max(1.0);
    println!("\n{}", report::table(samples));
    println!(
        "load: {} requests in {:.0} s ({:.0}/s achieved, {} tickets dropped with every task \
         busy)",
        pacer.issued,
        duration.as_secs_f64(),
        pacer.issued as f64 / elapsed,
        pacer.behind
    );
    let expect: Vec<(&str, &str)> = routes.iter().map(|r| (r.name, r.expect)).collect();
    println!("\n{}", report::route_table(&tally.by_route(), &expect));
    println!("causes (cf-edgecase-cause) by status:");
    for ((status, cause), n) in tally.by_cause() {
        println!("  {status} {cause}: {n}");
    }
}

/// Prints each check, PASS or FAIL, with its detail.
fn print_verdict(checks: &[Check]) {
    println!("\nverdict:");
    for check in checks {
        let mark = if check.passed { "PASS" } else { "FAIL" };
        println!("  {mark}  {}: {}", check.name, check.detail);
    }
}

/// Removes the run's files when `remove`; otherwise says where they are and prints
/// edgecase's last log lines.
fn keep_or_remove_files(remove: bool, dir: &Path, log_tail: &str) {
    if remove {
        let _ = std::fs::remove_dir_all(dir);
    } else {
        println!(
            "\nfiles kept in {}; edgecase's last lines:\n{log_tail}",
            dir.display()
        );
    }
}
