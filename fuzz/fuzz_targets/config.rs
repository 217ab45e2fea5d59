#![no_main]
//! Fuzz target `config`: any bytes, read as UTF-8 (invalid sequences replaced), given to
//! `Config::from_toml_str`. It must return the config or a `ConfigError` keeping its
//! documented promises (at least one problem, each a non-empty single line), and never
//! panic. Paths in the text are only read, never written (certificates, pages).

use std::sync::Mutex;

use edgecase::config::Config;
use edgecase_fuzz::rig::escaped;
use edgecase_fuzz::tally::{self, Tally};
use libfuzzer_sys::fuzz_target;

static TALLY: Mutex<Tally> = Mutex::new(Tally::new("config"));

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Config::from_toml_str(&text) {
        Ok(_) => tally::count(&TALLY, "ok", data),
        Err(error) => {
            assert!(!error.problems.is_empty(), "a ConfigError without problems");
            for problem in &error.problems {
                let why = &problem.why;
                assert!(
                    !why.trim().is_empty() && !why.contains('\n'),
                    "{}: not one line: {}",
                    problem.key,
                    escaped(why.as_bytes(), 500)
                );
            }
            tally::count(&TALLY, refused_at(&error.problems[0].key), data);
        }
    }
});

/// The config file's tables, as the first segment of a problem's key path.
const TABLES: [&str; 14] = [
    "edge",
    "origin",
    "timeouts",
    "limits",
    "dns",
    "route",
    "fault",
    "emulation",
    "railgun",
    "admin",
    "log",
    "analytics",
    "capture",
    "pages",
];

/// The tally's name for a refusal whose first problem is at `key`: its table when it is one
/// of the file's, so the fuzzer's made-up key names do not each get a line.
fn refused_at(key: &str) -> String {
    let table = key.split(['.', '[']).next().unwrap_or_default();
    match table {
        "" => "refused: not TOML".to_owned(),
        known if TABLES.contains(&known) => format!("refused at {known}"),
        _ => "refused: unknown key".to_owned(),
    }
}
