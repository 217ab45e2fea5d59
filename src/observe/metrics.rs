//! [`Metrics`]: what `GET /metrics` on the admin listener serves, in Prometheus' text format
//! (version 0.0.4), through `prometheus-client`.
//!
//! Every name starts with `edgecase_`. Requests are counted once each, from the same
//! [`Finished`] value as the log line; the gauges move as requests and origin connections come
//! and go. Several instances are aggregated by Prometheus as usual (each is a scrape target).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::origin::automatic::AutomaticSsl;
use crate::record::finished::Finished;

/// The `Content-Type` of `GET /metrics`.
pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Labels of `edgecase_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The status the visitor got.
    status: u16,
    /// Why edgecase answered instead of the origin (`connect_timeout`), how the response
    /// broke off (`visitor_gone`), or `none`.
    cause: &'static str,
    /// The Toxiproxy name of the proxy that served it (`edgecase`: the config's own).
    proxy: Arc<str>,
}

/// Labels of `edgecase_fault_rules_applied_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FaultLabels {
    /// The rule's id, as `GET /faults` shows it.
    rule: u64,
}

/// Buckets for origin phase timings, in seconds: 1 ms to 2 minutes (a 100 s read timeout
/// lands in the last finite bucket).
const PHASE_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// The metrics of one edgecase instance.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    faults: Family<FaultLabels, Counter>,
    dns: Histogram,
    connect: Histogram,
    tls: Histogram,
    first_byte: Histogram,
    duration: Histogram,
    in_flight: Gauge,
    origin_connections: Gauge,
    ssl_modes: SslModes,
}

impl Metrics {
    /// Metrics with every series registered. `dropped` are the counters of lost log lines and
    /// HAR entries, read at each scrape.
    pub fn new(dropped: Dropped) -> Self {
        let histogram = || Histogram::new(PHASE_BUCKETS);
        let metrics = Metrics {
            registry: Registry::default(),
            requests: Family::default(),
            faults: Family::default(),
            dns: histogram(),
            connect: histogram(),
            tls: histogram(),
            first_byte: histogram(),
            duration: histogram(),
            in_flight: Gauge::default(),
            origin_connections: Gauge::default(),
            ssl_modes: SslModes::default(),
        };
        let mut registry = Registry::with_prefix("edgecase");
        registry.register(
            "requests",
            "Requests answered, by the status the visitor got and the cause when edgecase \
             answered instead of the origin",
            metrics.requests.clone(),
        );
        registry.register(
            "origin_dns_seconds",
            "Origin name resolution, for new origin connections",
            metrics.dns.clone(),
        );
        registry.register(
            "origin_connect_seconds",
            "Origin TCP handshake, for new origin connections (failed attempts included)",
            metrics.connect.clone(),
        );
        registry.register(
            "origin_tls_handshake_seconds",
            "Origin TLS handshake, for new TLS origin connections (failed ones included)",
            metrics.tls.clone(),
        );
        registry.register(
            "origin_time_to_first_byte_seconds",
            "From the request being sent to the origin's response head, or to giving up on it \
             (a read timeout counts its whole wait)",
            metrics.first_byte.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "From the visitor's request arriving to the end of the response",
            metrics.duration.clone(),
        );
        registry.register(
            "requests_in_flight",
            "Requests being handled now",
            metrics.in_flight.clone(),
        );
        registry.register(
            "origin_connections_open",
            "Connections to origins open now, idle ones in the pool included",
            metrics.origin_connections.clone(),
        );
        registry.register(
            "fault_rules_applied",
            "Requests a fault rule applied to, by rule id",
            metrics.faults.clone(),
        );
        registry.register_collector(Box::new(dropped));
        registry.register_collector(Box::new(metrics.ssl_modes.clone()));
        Metrics {
            registry,
            ..metrics
        }
    }

    /// Counts one finished request (no longer in flight).
    pub fn observe(&self, finished: &Finished) {
        self.in_flight.dec();
        let labels = RequestLabels {
            status: finished.status,
            cause: finished.outcome().unwrap_or("none"),
            proxy: finished.proxy.clone(),
        };
        self.requests.get_or_create(&labels).inc();
        if let Some(rule) = finished.fault {
            self.faults.get_or_create(&FaultLabels { rule }).inc();
        }
        let origin = &finished.origin;
        let seconds = |h: &Histogram, d: Option<Duration>| {
            if let Some(d) = d {
                h.observe(d.as_secs_f64());
            }
        };
        seconds(&self.dns, origin.dns);
        seconds(&self.connect, origin.connect);
        seconds(&self.tls, origin.tls_handshake);
        seconds(&self.first_byte, origin.wait);
        self.duration.observe(finished.total.as_secs_f64());
    }

    /// A request started: it counts in flight until its [`Metrics::observe`].
    pub fn request_started(&self) {
        self.in_flight.inc();
    }

    /// The gauge of open origin connections, for the origin client to move.
    pub fn origin_connections(&self) -> Gauge {
        self.origin_connections.clone()
    }

    /// Reads `edgecase_origin_ssl_mode` from `table` from now on (the table of the config in
    /// force: a reload hands over its new one).
    pub fn read_ssl_modes_from(&self, table: Arc<AutomaticSsl>) {
        *self.ssl_modes.0.write().unwrap_or_else(|p| p.into_inner()) = Some(table);
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// The counters of lines and entries the background writers had to drop, shared with them.
#[derive(Clone, Debug, Default)]
pub struct Dropped {
    /// Access log lines dropped (queue full, or the write failed).
    pub log_lines: Arc<AtomicU64>,
    /// HAR entries dropped.
    pub har_entries: Arc<AtomicU64>,
}

impl Collector for Dropped {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let series = [
            (
                "log_lines_dropped",
                "Access log lines dropped because the writer could not keep up or failed",
                &self.log_lines,
            ),
            (
                "har_entries_dropped",
                "HAR entries dropped because the writer could not keep up or failed",
                &self.har_entries,
            ),
        ];
        for (name, help, value) in series {
            let counter = ConstCounter::new(value.load(Ordering::Relaxed));
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}

/// `edgecase_origin_ssl_mode{origin, mode}`: how many host names of each origin Automatic
/// SSL/TLS has put in each mode (1 for an origin reached under one name), read from the table
/// in force at each scrape.
#[derive(Clone, Debug, Default)]
struct SslModes(Arc<RwLock<Option<Arc<AutomaticSsl>>>>);

/// Labels of `edgecase_origin_ssl_mode`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct SslModeLabels {
    /// The origin as configured, `host:port`.
    origin: String,
    /// The mode chosen: `flexible`, `full` or `full_strict`.
    mode: &'static str,
}

impl Collector for SslModes {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let table = self.0.read().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(table) = table else { return Ok(()) };
        let mut counts = std::collections::BTreeMap::<SslModeLabels, i64>::new();
        for chosen in table.chosen() {
            let labels = SslModeLabels {
                origin: chosen.origin,
                mode: chosen.mode.as_str(),
            };
            *counts.entry(labels).or_default() += 1;
        }
        if counts.is_empty() {
            return Ok(());
        }
        let help = "Host names of each origin in each SSL mode chosen by Automatic SSL/TLS";
        let gauge = ConstGauge::new(0i64);
        let mut family =
            encoder.encode_descriptor("origin_ssl_mode", help, None, gauge.metric_type())?;
        for (labels, count) in counts {
            ConstGauge::new(count).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
