//! Checking `[log]`, `[analytics]`, `[capture]` and `[pages]`. Files are checked as far as
//! can be without writing: the access log and HAR files are opened at start, not here, so
//! `--check` never creates a file; the page templates are read and checked here, since a
//! template Cloudflare would refuse must stop edgecase before it starts.

use std::path::Path;
use std::sync::Arc;

use super::super::raw::{RawAnalytics, RawCapture, RawLog, RawPages};
use super::super::{
    AnalyticsConfig, CaptureConfig, DEFAULT_CAPTURE_BODY_BYTES, DEFAULT_LOG_QUEUE, LogConfig,
    MAX_CAPTURE_BODY_BYTES, PagesConfig,
};
use super::Check;
use crate::config::pages::CustomPages;
use crate::config::{Access, LogFormat, Redact, StatusFilter, Timestamps};

/// The largest `[log] queue` accepted.
const MAX_LOG_QUEUE: i64 = 10_000_000;

impl Check {
    /// `[log]`.
    pub(super) fn log(&mut self, raw: RawLog) -> LogConfig {
        let defaults = LogConfig::default();
        let format = raw.format.and_then(|word| {
            let format = match word.as_str() {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err(format!(
                    "{word:?} is not a log format; use \"text\" or \"json\""
                )),
            };
            self.some("log.format", format)
        });
        let access = raw.access.and_then(|text| {
            let access = match text.parse::<Access>() {
                Ok(Access::File(path)) => Ok(Access::File(self.file(&path.to_string_lossy()))),
                other => other.map_err(|e| e.to_string()),
            };
            let access = access.and_then(|access| match &access {
                Access::File(path) => parent_exists(path).map(|()| access),
                _ => Ok(access),
            });
            self.some("log.access", access)
        });
        let timestamps = raw.timestamps.and_then(|word| {
            let timestamps = match word.as_str() {
                "unixnano" => Ok(Timestamps::UnixNano),
                "unix" => Ok(Timestamps::Unix),
                "rfc3339" => Ok(Timestamps::Rfc3339),
                _ => Err(format!(
                    "{word:?} is not a timestamp format; use \"unixnano\", \"unix\" or \"rfc3339\""
                )),
            };
            self.some("log.timestamps", timestamps)
        });
        let queue = raw.queue.and_then(|queue| {
            let fits = usize::try_from(queue)
                .ok()
                .filter(|_| (1..=MAX_LOG_QUEUE).contains(&queue))
                .ok_or_else(|| format!("{queue} is not between 1 and {MAX_LOG_QUEUE} lines"));
            self.some("log.queue", fits)
        });
        LogConfig {
            format: format.unwrap_or(defaults.format),
            access: access.unwrap_or(defaults.access),
            timestamps: timestamps.unwrap_or(defaults.timestamps),
            queue: queue.unwrap_or(DEFAULT_LOG_QUEUE),
        }
    }

    /// `[analytics]`.
    pub(super) fn analytics(&mut self, raw: RawAnalytics) -> AnalyticsConfig {
        let sample =
            raw.sample.and_then(|sample| {
                let value = sample.value();
                let fits = (value > 0.0 && value <= 1.0).then_some(value).ok_or_else(|| {
                format!(
                    "{value} is not a fraction of requests above 0 and at most 1 (Cloudflare \
                     samples about 0.01)"
                )
            });
                self.some("analytics.sample", fits)
            });
        AnalyticsConfig {
            sample: sample.unwrap_or(1.0),
        }
    }

    /// `[capture]`.
    pub(super) fn capture(&mut self, raw: RawCapture) -> CaptureConfig {
        let defaults = CaptureConfig::default();
        let har = raw.har.and_then(|text| {
            let path = self.file(&text);
            let checked = match text.is_empty() {
                true => Err("is empty; give the HAR file's path".to_owned()),
                false => parent_exists(&path).map(|()| path),
            };
            self.some("capture.har", checked)
        });
        let statuses = raw.statuses.map(|statuses| {
            let parsed: Vec<StatusFilter> = statuses
                .iter()
                .enumerate()
                .filter_map(|(index, text)| {
                    self.some(&format!("capture.statuses[{index}]"), text.parse())
                })
                .collect();
            parsed
        });
        let body_bytes = raw.body_bytes.and_then(|bytes| {
            let fits = usize::try_from(bytes)
                .ok()
                .filter(|bytes| *bytes <= MAX_CAPTURE_BODY_BYTES)
                .ok_or_else(|| {
                    format!("{bytes} is not between 0 and {MAX_CAPTURE_BODY_BYTES} bytes")
                });
            self.some("capture.body_bytes", fits)
        });
        let redact_headers = self.names("capture.redact_headers", raw.redact_headers, |name| {
            http::HeaderName::from_bytes(name.as_bytes())
                .map(|_| ())
                .map_err(|_| format!("{name:?} is not a header name"))
        });
        let redact_query = self.names("capture.redact_query", raw.redact_query, |name| match name
            .find(['&', '=', '#', '?', ' '])
        {
            Some(at) => Err(format!(
                "{name:?} holds {:?}; give a parameter's name alone",
                &name[at..=at]
            )),
            None => Ok(()),
        });
        let sanitize = match raw.sanitize {
            Some(false) => None,
            Some(true) | None => Some(Redact {
                headers: redact_headers,
                fields: redact_query,
            }),
        };
        CaptureConfig {
            har,
            statuses: statuses.unwrap_or(defaults.statuses),
            body_bytes: body_bytes.unwrap_or(DEFAULT_CAPTURE_BODY_BYTES),
            sanitize,
        }
    }

    /// A list of names (`[capture] redact_headers` / `redact_query`): each must be non-empty
    /// and pass `check`; the ones that do are kept.
    fn names(
        &mut self,
        key: &str,
        names: Option<Vec<String>>,
        check: impl Fn(&str) -> Result<(), String>,
    ) -> Vec<String> {
        names
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .filter_map(|(index, name)| {
                let checked = match name.is_empty() {
                    true => Err("is empty; give a name".to_owned()),
                    false => check(&name).map(|()| name),
                };
                self.some(&format!("{key}[{index}]"), checked)
            })
            .collect()
    }

    /// `[pages] dir`: the templates are read now, so a bad one stops edgecase at start.
    pub(super) fn pages(&mut self, raw: RawPages) -> Option<PagesConfig> {
        let dir = self.file(&raw.dir?);
        let pages = CustomPages::load(&dir).map_err(|e| e.to_string());
        let pages = self.some("pages.dir", pages)?;
        Some(PagesConfig {
            dir,
            pages: Arc::new(pages),
        })
    }
}

/// A file's directory must exist for edgecase to create the file in it.
fn parent_exists(path: &Path) -> Result<(), String> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(format!(
            "{}: the directory {} does not exist",
            path.display(),
            dir.display()
        )),
        _ => Ok(()),
    }
}
