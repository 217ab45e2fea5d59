//! [`Options`]: the load benchmark's command line. It owns parsing and the defaults (full and
//! `--quick`); what the options drive lives in the other modules.

use std::path::PathBuf;

use crate::proxies::Kind;

/// Interleaved rounds unless `--rounds` says otherwise.
pub const DEFAULT_ROUNDS: usize = 3;
/// Seconds per wrk/oha run unless `--seconds` says otherwise.
pub const DEFAULT_SECONDS: u64 = 10;
/// Requests held for the memory figure (5).
pub const HELD: usize = 5_000;
/// Concurrent requests per timer for the accuracy checks (7).
pub const TIMER_REQUESTS: usize = 1_000;
/// The most requests held for the fd-limit check (8); fewer when the fd limit is lower.
pub const FD_HELD: usize = 9_000;

/// Usage, printed for `--help` and after a bad argument.
pub const USAGE: &str = "\
usage: benches/load/run.sh [-- OPTIONS]        (or: cargo bench --bench load -- OPTIONS)
  --quick           1 round, 3 s runs, 1,000 held requests for the memory figure,
                    2,000 for the fd-limit check, 200 per timer (explicit options win)
  --rounds N        interleaved rounds; the table shows the median (default 3)
  --seconds D       length of each wrk/oha run in seconds (default 10)
  --proxies LIST    which proxies to measure, comma-separated (default edgecase,nginx,haproxy;
                    nginx and HAProxy are skipped with a message when not installed)
  --timers N        requests in flight per timer check (default 1,000)
  --edgecase PATH   the edgecase binary (default: the one cargo built for this bench)
  --keep            keep the temporary directory (configs, proxy logs)";

/// What the command line asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Interleaved rounds of figures 1-6.
    pub rounds: usize,
    /// Length of each wrk/oha run, in seconds.
    pub seconds: u64,
    /// Requests held for the memory figure (5).
    pub held: usize,
    /// The most requests held for the fd-limit check (8).
    pub fd_held: usize,
    /// Concurrent requests per timer (7).
    pub timer_requests: usize,
    /// The proxies asked for, in table order.
    pub proxies: Vec<Kind>,
    /// The binary to run; `None`: the one cargo built.
    pub edgecase: Option<PathBuf>,
    /// Keep the temporary directory after the run.
    pub keep: bool,
    /// Whether `--quick` was given (printed with the environment).
    pub quick: bool,
    /// Whether cargo started this as a benchmark (`--bench`), rather than as a test.
    pub bench: bool,
    /// Whether `--help` was given.
    pub help: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rounds: DEFAULT_ROUNDS,
            seconds: DEFAULT_SECONDS,
            held: HELD,
            fd_held: FD_HELD,
            timer_requests: TIMER_REQUESTS,
            proxies: Kind::ALL.to_vec(),
            edgecase: None,
            keep: false,
            quick: false,
            bench: false,
            help: false,
        }
    }
}

impl Options {
    /// Parses the arguments after the program name. `--bench` is what `cargo bench` appends;
    /// anything unknown is refused with the usage, so a typo never starts a long default run.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Options, String> {
        let mut options = Options::default();
        let (mut rounds, mut seconds, mut timers) = (None, None, None);
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None => (arg.clone(), None),
            };
            let mut value = |what: &str| {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{name} needs {what}"))
            };
            match name.as_str() {
                "--quick" => options.quick = true,
                "--rounds" => rounds = Some(whole(&name, &value("a number of rounds")?)?),
                "--seconds" => seconds = Some(whole(&name, &value("a number of seconds")?)?),
                "--proxies" => options.proxies = proxies(&value("a list such as nginx,edgecase")?)?,
                "--timers" => timers = Some(whole(&name, &value("a number of requests")?)?),
                "--edgecase" => options.edgecase = Some(PathBuf::from(value("a path")?)),
                "--keep" => options.keep = true,
                "--bench" => options.bench = true,
                // `run.sh -- --quick` passed through as is.
                "--" => {}
                "--help" | "-h" => options.help = true,
                _ => return Err(format!("unknown argument {arg:?}")),
            }
        }
        if options.quick {
            options.rounds = 1;
            options.seconds = 3;
            options.held = 1_000;
            options.fd_held = 2_000;
            options.timer_requests = 200;
        }
        options.rounds = rounds.map_or(options.rounds, |n| n as usize);
        options.seconds = seconds.unwrap_or(options.seconds);
        options.timer_requests = timers.map_or(options.timer_requests, |n| n as usize);
        Ok(options)
    }
}

/// A comma-separated list of proxy names, kept in table order.
fn proxies(text: &str) -> Result<Vec<Kind>, String> {
    let mut asked = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match Kind::ALL
            .iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
        {
            Some(kind) => asked.push(*kind),
            None => return Err(format!("--proxies: unknown proxy {name:?}")),
        }
    }
    let kept: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|k| asked.contains(k))
        .collect();
    if kept.is_empty() {
        return Err("--proxies: name at least one of edgecase, nginx, haproxy".to_owned());
    }
    Ok(kept)
}

/// A whole number from 1 to 3600 (an hour of runs, or an hour's worth of rounds, is plenty).
fn whole(name: &str, text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if (1..=3600).contains(&n) => Ok(n),
        _ => Err(format!(
            "{name}: {text:?} is not a whole number from 1 to 3600"
        )),
    }
}
