//! Tests of `[log]`, `[analytics]`, `[capture]` and `[pages]`: defaults, values, and the
//! problem each bad value gets.

use std::path::PathBuf;

use super::*;
use crate::config::{Access, LogFormat, Redact, StatusFilter, Timestamps};

fn load(text: &str) -> Config {
    Config::from_toml_str(text).unwrap_or_else(|error| panic!("should load, got:\n{error}"))
}

/// The one problem with `text`, as `key: why`.
fn problem(text: &str) -> String {
    match Config::from_toml_str(text) {
        Ok(config) => panic!("should be refused, loaded {config:?}"),
        Err(error) => {
            assert_eq!(error.problems.len(), 1, "{:#?}", error.problems);
            error.problems[0].to_string()
        }
    }
}

#[test]
fn observability_defaults_follow_cloudflare_where_it_has_one() {
    let config = load("");
    assert_eq!(config.log.format, LogFormat::Text);
    assert_eq!(config.log.access, Access::Stdout);
    assert_eq!(config.log.timestamps, Timestamps::UnixNano);
    assert_eq!(config.log.queue, DEFAULT_LOG_QUEUE);
    assert_eq!(config.analytics.sample, 1.0);
    assert_eq!(config.capture.har, None);
    assert_eq!(config.capture.statuses, vec![StatusFilter::Class(5)]);
    assert_eq!(config.capture.body_bytes, 64 * 1024);
    assert_eq!(config.capture.sanitize, Some(Redact::default()));
    assert!(config.pages.is_none());
}

#[test]
fn observability_keys_take_their_values() {
    let config = load(
        "[log]\nformat = \"json\"\naccess = \"off\"\ntimestamps = \"rfc3339\"\nqueue = 10\n\
         [analytics]\nsample = 0.01\n\
         [capture]\nhar = \"failures.har\"\nstatuses = [\"522\", \"4xx\"]\nbody_bytes = 0\n",
    );
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.log.access, Access::Off);
    assert_eq!(config.log.timestamps, Timestamps::Rfc3339);
    assert_eq!(config.log.queue, 10);
    assert_eq!(config.analytics.sample, 0.01);
    assert_eq!(config.capture.har, Some(PathBuf::from("failures.har")));
    assert!(config.capture.wants(522) && config.capture.wants(404));
    assert!(!config.capture.wants(524) && !config.capture.wants(200));
    assert_eq!(config.capture.body_bytes, 0);
    assert_eq!(config.capture.sanitize, Some(Redact::default()));
    // A whole number is a fraction too.
    assert_eq!(load("[analytics]\nsample = 1\n").analytics.sample, 1.0);
}

#[test]
fn capture_sanitize_takes_its_extra_names_or_can_be_turned_off() {
    let config = load(
        "[capture]\nsanitize = true\nredact_headers = [\"X-Tenant-Secret\"]\n\
         redact_query = [\"session\", \"otp\"]\n",
    );
    let expected = Redact {
        headers: vec!["X-Tenant-Secret".to_owned()],
        fields: vec!["session".to_owned(), "otp".to_owned()],
    };
    assert_eq!(config.capture.sanitize, Some(expected));
    let off = load("[capture]\nsanitize = false\nredact_headers = [\"x-other\"]\n");
    assert_eq!(off.capture.sanitize, None);
}

#[test]
fn bad_observability_values_are_named() {
    for (text, expected) in [
        (
            "[log]\nformat = \"xml\"\n",
            "log.format: \"xml\" is not a log format",
        ),
        (
            "[log]\ntimestamps = \"iso\"\n",
            "log.timestamps: \"iso\" is not",
        ),
        ("[log]\nqueue = 0\n", "log.queue: 0 is not between 1 and"),
        ("[log]\naccess = \"\"\n", "log.access:"),
        (
            "[log]\naccess = \"/nonexistent-edgecase-dir/access.log\"\n",
            "log.access: /nonexistent-edgecase-dir/access.log: the directory \
             /nonexistent-edgecase-dir does not exist",
        ),
        (
            "[analytics]\nsample = 0\n",
            "analytics.sample: 0 is not a fraction",
        ),
        (
            "[analytics]\nsample = 1.5\n",
            "analytics.sample: 1.5 is not a fraction",
        ),
        (
            "[capture]\nstatuses = [\"5xx\", \"abc\"]\n",
            "capture.statuses[1]:",
        ),
        (
            "[capture]\nbody_bytes = -1\n",
            "capture.body_bytes: -1 is not between",
        ),
        (
            "[capture]\nhar = \"/nonexistent-edgecase-dir/x.har\"\n",
            "capture.har: /nonexistent-edgecase-dir/x.har: the directory",
        ),
        (
            "[pages]\ndir = \"/nonexistent-edgecase-dir\"\n",
            "pages.dir:",
        ),
        ("[capture]\nsanitize = \"yes\"\n", "capture.sanitize:"),
        (
            "[capture]\nredact_headers = [\"x-ok\", \"not a header\"]\n",
            "capture.redact_headers[1]: \"not a header\" is not a header name",
        ),
        (
            "[capture]\nredact_headers = [\"\"]\n",
            "capture.redact_headers[0]: is empty",
        ),
        (
            "[capture]\nredact_query = [\"otp=1\"]\n",
            "capture.redact_query[0]: \"otp=1\" holds \"=\"; give a parameter's name alone",
        ),
        (
            "[capture]\nredact_query = \"otp\"\n",
            "capture.redact_query:",
        ),
    ] {
        let problem = problem(text);
        assert!(problem.starts_with(expected), "{text}: got {problem}");
    }
}

#[test]
fn the_shipped_example_pages_load() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config/pages");
    let config = load(&format!("[pages]\ndir = {dir:?}\n"));
    assert_eq!(
        config.pages.map(|pages| pages.dir),
        Some(PathBuf::from(dir))
    );
}
