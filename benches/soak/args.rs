//! [`Options`]: the soak's command line. It owns parsing and the defaults; what the options
//! drive lives in the other modules.

use std::path::PathBuf;

/// How long the load runs unless `--minutes` says otherwise.
pub const DEFAULT_MINUTES: f64 = 10.0;
/// Requests started per second unless `--rate` says otherwise.
pub const DEFAULT_RATE: u32 = 300;
/// Visitor tasks sending requests unless `--concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 64;
/// Seed of the traffic mix and the fault churn unless `--seed` says otherwise.
pub const DEFAULT_SEED: u64 = 6;

/// Usage, printed for `--help` and after a bad argument.
pub const USAGE: &str = "\
usage: cargo bench --bench soak -- [--minutes N] [--rate R] [--concurrency C] [--seed S]
                                   [--edgecase PATH] [--keep]
  --minutes N      how long the load runs (default 10; a fraction such as 0.5 is allowed)
  --rate R         requests started per second (default 300)
  --concurrency C  visitor tasks: 3/4 on HTTP/1.1 keep-alive, 1/4 sharing h2c connections
                   (default 64)
  --seed S         seed of the traffic mix and the fault churn (default 6)
  --edgecase PATH  the edgecase binary (default: the one cargo built for this bench)
  --keep           keep the temporary directory (config, edgecase's log) even on success";

/// What the command line asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// How long the load runs, in minutes (more than zero).
    pub minutes: f64,
    /// Requests started per second.
    pub rate: u32,
    /// Visitor tasks.
    pub concurrency: usize,
    /// Seed of the traffic mix and the fault churn.
    pub seed: u64,
    /// The binary to run; `None`: the one cargo built.
    pub edgecase: Option<PathBuf>,
    /// Keep the temporary directory after a successful run.
    pub keep: bool,
    /// Whether cargo started this as a benchmark (`--bench`), rather than as a test.
    pub bench: bool,
    /// Whether `--help` was given.
    pub help: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            minutes: DEFAULT_MINUTES,
            rate: DEFAULT_RATE,
            concurrency: DEFAULT_CONCURRENCY,
            seed: DEFAULT_SEED,
            edgecase: None,
            keep: false,
            bench: false,
            help: false,
        }
    }
}

impl Options {
    /// Parses the arguments after the program name. `--bench` is what `cargo bench` appends;
    /// other arguments cargo passes to every harness (a filter, `--nocapture`...) are refused
    /// with the usage, so a typo is never a silent ten-minute default run.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Options, String> {
        let mut options = Options::default();
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
                "--minutes" => options.minutes = positive(&name, &value("a number of minutes")?)?,
                "--rate" => options.rate = whole(&name, &value("requests per second")?)?,
                "--concurrency" => {
                    options.concurrency = whole(&name, &value("a number of tasks")?)?;
                }
                "--seed" => options.seed = whole(&name, &value("a whole number")?)?,
                "--edgecase" => options.edgecase = Some(PathBuf::from(value("a path")?)),
                "--keep" => options.keep = true,
                "--bench" => options.bench = true,
                "--help" | "-h" => options.help = true,
                _ => return Err(format!("unknown argument {arg:?}")),
            }
        }
        Ok(options)
    }
}

/// A number of minutes above zero (and below a week, so the figure stays meaningful).
fn positive(name: &str, text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(n) if n > 0.0 && n < 7.0 * 24.0 * 60.0 => Ok(n),
        _ => Err(format!(
            "{name}: {text:?} is not a number of minutes above zero"
        )),
    }
}

/// A whole number above zero.
fn whole<T: std::str::FromStr + PartialOrd + Default>(name: &str, text: &str) -> Result<T, String> {
    match text.parse::<T>() {
        Ok(n) if n > T::default() => Ok(n),
        _ => Err(format!("{name}: {text:?} is not a whole number above zero")),
    }
}
