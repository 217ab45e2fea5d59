//! Observability: what edgecase does with each request once it is over. One [`Finished`]
//! value feeds the access log line ([`logline`], written through a non-blocking [`sink`]),
//! the Prometheus [`metrics`], Error Analytics ([`crate::analytics`]), HAR capture
//! ([`crate::capture`]) and the ring of recent requests behind `GET /requests` and `GET /har`.
//!
//! Nothing here may slow a request down: the log and HAR writers run on their own threads
//! behind bounded queues, and what they cannot keep up with is dropped and counted
//! (`edgecase_log_lines_dropped_total`, `edgecase_har_entries_dropped_total`).

pub mod logline;
pub mod metrics;
pub mod recent;
pub mod sink;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::analytics::{Analytics, Observation};
use crate::capture::{HarFile, Redaction};
use crate::config::{CaptureConfig, Config, LogConfig};
use crate::record::finished::Finished;
use metrics::{Dropped, Metrics};
use recent::RecentRequests;
use sink::Sink;

/// How many HAR entries may wait for the writer before new ones are dropped.
const HAR_QUEUE: usize = 1024;

/// Where finished requests go. Shared by every request of an edge.
pub struct Observers {
    /// The most recent requests, for `GET /requests`, `GET /har` and the library.
    pub recent: Arc<RecentRequests>,
    /// The Prometheus metrics.
    pub metrics: Metrics,
    /// Error Analytics.
    pub analytics: Analytics,
    /// What is captured, and how much of each body.
    pub capture: CaptureConfig,
    /// What every HAR of this edge has blanked (`[capture] sanitize`); `None`: nothing.
    pub redaction: Option<Redaction>,
    log: Option<(Sink<String>, LogConfig)>,
    har: Option<Sink<Arc<Finished>>>,
}

/// Starting the observers failed: a log or HAR file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// The access log.
    #[error("cannot open the access log: {0}")]
    AccessLog(io::Error),
    /// The HAR file.
    #[error("cannot open the HAR file {path}: {source}")]
    Har {
        /// The file.
        path: String,
        /// Why.
        source: io::Error,
    },
}

impl Observers {
    /// Observers for `config`: opens the access log and HAR file and starts their writers.
    pub fn new(config: &Config) -> Result<Observers, ObserveError> {
        let mut dropped = Dropped::default();
        let log = sink::line_sink(&config.log.access, config.log.queue)
            .map_err(ObserveError::AccessLog)?
            .map(|sink| {
                dropped.log_lines = sink.dropped_counter();
                (sink, config.log.clone())
            });
        let redaction = config.capture.sanitize.as_ref().map(Redaction::from);
        let har = match &config.capture.har {
            None => None,
            Some(path) => {
                let failed = |source| ObserveError::Har {
                    path: path.display().to_string(),
                    source,
                };
                let sanitize = redaction.clone();
                let mut file = HarFile::open(path, sanitize.is_some()).map_err(failed)?;
                let write = move |f: Arc<Finished>| {
                    let mut entry = crate::capture::entry(&f);
                    if let Some(redaction) = &sanitize {
                        redaction.entry(&mut entry);
                    }
                    file.append(&entry)
                };
                let sink =
                    Sink::spawn("HAR capture", HAR_QUEUE, write, || Ok(())).map_err(failed)?;
                dropped.har_entries = sink.dropped_counter();
                Some(sink)
            }
        };
        Ok(Observers {
            recent: Arc::new(RecentRequests::default()),
            metrics: Metrics::new(dropped),
            analytics: Analytics::new(config.analytics.sample),
            capture: config.capture.clone(),
            redaction,
            log,
            har,
        })
    }

    /// Records one finished request everywhere it goes.
    pub fn finish(&self, mut finished: Finished) {
        // With `[capture] sanitize` (the default), secret query parameters are blanked in every
        // record, not only in HARs: log lines and `/requests` get attached to tickets too.
        if let Some(redaction) = &self.redaction
            && let std::borrow::Cow::Owned(path) = redaction.path(&finished.path)
        {
            finished.path = Arc::from(path);
        }
        // The ring keeps the record. Its request headers own their bytes (`edge::detach`);
        // its response headers are slices of origin read buffers, so the last
        // RECENT_CAPACITY records may hold that many (bounded, ~8 MB). Copying them out as
        // well cost 3% of a proxied request's instructions: not worth it for a bounded amount.
        if let Some(tag) = &finished.scenario {
            tag.tally.finished(&finished);
        }
        let finished = Arc::new(finished);
        // Also a tracing event, for `RUST_LOG=edgecase::access=debug` (and tests that capture
        // tracing output); formatted only when someone listens.
        if tracing::enabled!(target: "edgecase::access", tracing::Level::DEBUG) {
            let text = logline::line(
                &finished,
                crate::config::LogFormat::Text,
                Default::default(),
            );
            tracing::debug!(target: "edgecase::access", "{text}");
        }
        if let Some((sink, config)) = &self.log {
            sink.send(logline::line(&finished, config.format, config.timestamps));
        }
        self.metrics.observe(&finished);
        if self.analytics.keeps(finished.ray.id()) {
            let ray = finished.ray.to_string();
            let colo = finished.ray.colo();
            self.analytics.record(&Observation {
                at: finished.at,
                status: finished.status,
                origin_status: finished.origin_status,
                host: &finished.host,
                path: &finished.path,
                origin_ip: finished.origin.peer.map(|p| p.ip()),
                colo: colo.as_str(),
                ray: &ray,
                key: finished.ray.id(),
                cause: finished.outcome(),
            });
        }
        if let Some(har) = &self.har
            && self.capture.wants(finished.status)
        {
            har.send(finished.clone());
        }
        self.recent.push(finished);
    }

    /// Lets the writers drain and flush, waiting at most `wait` for each.
    pub fn close(&self, wait: Duration) {
        if let Some((sink, _)) = &self.log {
            sink.close(wait);
        }
        if let Some(har) = &self.har {
            har.close(wait);
        }
    }
}
