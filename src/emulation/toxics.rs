//! Toxiproxy's toxics, as its HTTP API and client libraries describe them, and how each maps
//! onto a link action ([`LinkFaults`]). This module owns that mapping; the HTTP side is in
//! `admin::toxiproxy`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::fault::{LinkFaults, Slice};

/// One toxic on the `edgecase` proxy, in Toxiproxy's JSON shape.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Toxic {
    /// Unique on the proxy; defaults to `<type>_<stream>`.
    pub name: String,
    /// `latency`, `timeout`, `reset_peer`, `bandwidth`, `limit_data`, `slow_close` or
    /// `slicer`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `downstream` (origin to visitor) or `upstream` (visitor to origin).
    pub stream: String,
    /// The share of requests it applies to, 0.0 to 1.0.
    pub toxicity: f64,
    /// The toxic's own settings (milliseconds, KB/s, bytes), as sent.
    pub attributes: Map<String, Value>,
}

/// A toxic as a client sends it: every key optional but `type` (when creating).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ToxicInput {
    /// See [`Toxic::name`].
    pub name: Option<String>,
    /// See [`Toxic::kind`].
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// See [`Toxic::stream`].
    pub stream: Option<String>,
    /// See [`Toxic::toxicity`].
    pub toxicity: Option<f64>,
    /// See [`Toxic::attributes`].
    pub attributes: Option<Map<String, Value>>,
}

/// The toxic types edgecase maps.
pub const TOXIC_TYPES: [&str; 7] = [
    "latency",
    "timeout",
    "reset_peer",
    "bandwidth",
    "limit_data",
    "slow_close",
    "slicer",
];

impl Toxic {
    /// A new toxic from `input`, or why it cannot be one.
    pub fn create(input: ToxicInput) -> Result<Toxic, String> {
        let kind = input.kind.ok_or("type: missing (e.g. \"latency\")")?;
        let stream = input.stream.unwrap_or_else(|| "downstream".to_owned());
        let toxic = Toxic {
            name: input
                .name
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("{kind}_{stream}")),
            kind,
            stream,
            toxicity: input.toxicity.unwrap_or(1.0),
            attributes: input.attributes.unwrap_or_default(),
        };
        toxic.check()?;
        Ok(toxic)
    }

    /// This toxic with the keys `input` sets replaced (Toxiproxy's update).
    pub fn updated(&self, input: ToxicInput) -> Result<Toxic, String> {
        let mut toxic = self.clone();
        if let Some(toxicity) = input.toxicity {
            toxic.toxicity = toxicity;
        }
        if let Some(attributes) = input.attributes {
            toxic.attributes.extend(attributes);
        }
        if let Some(stream) = input.stream {
            toxic.stream = stream;
        }
        toxic.check()?;
        Ok(toxic)
    }

    fn check(&self) -> Result<(), String> {
        if !TOXIC_TYPES.contains(&self.kind.as_str()) {
            return Err(format!(
                "type: {:?} is not a toxic edgecase supports ({})",
                self.kind,
                TOXIC_TYPES.join(", ")
            ));
        }
        if !matches!(self.stream.as_str(), "downstream" | "upstream") {
            return Err(format!(
                "stream: {:?} must be \"downstream\" or \"upstream\"",
                self.stream
            ));
        }
        if !(0.0..=1.0).contains(&self.toxicity) {
            return Err(format!(
                "toxicity: {} is not between 0 and 1",
                self.toxicity
            ));
        }
        for (key, value) in &self.attributes {
            if value.as_u64().is_none() {
                return Err(format!(
                    "attributes.{key}: {value} is not a whole number at least 0"
                ));
            }
        }
        if self.kind == "bandwidth" && self.number("rate") == 0 {
            return Err("attributes.rate: must be at least 1 (KB/s)".to_owned());
        }
        if self.kind == "slicer" && self.number("average_size") == 0 {
            return Err("attributes.average_size: must be at least 1 (bytes)".to_owned());
        }
        Ok(())
    }

    /// An attribute as a number; 0 when missing.
    fn number(&self, key: &str) -> u64 {
        self.attributes
            .get(key)
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    fn millis(&self, key: &str) -> Duration {
        Duration::from_millis(self.number(key))
    }

    /// A `slicer`'s pieces (its `delay` is in microseconds, as Toxiproxy's).
    fn slice(&self) -> Slice {
        Slice {
            average: self.number("average_size").max(1),
            variation: self.number("size_variation"),
            delay: Duration::from_micros(self.number("delay")),
        }
    }

    /// What this toxic does to one request's origin link.
    ///
    /// Upstream toxics act where an upstream effect shows on HTTP: latency and timeout as
    /// downstream, `limit_data` cuts the request so the origin link closes before the response
    /// head, `slicer` paces the request body to the origin; upstream `bandwidth` has no
    /// equivalent and does nothing.
    pub fn link_faults(&self) -> LinkFaults {
        let upstream = self.stream == "upstream";
        let mut link = LinkFaults::default();
        match self.kind.as_str() {
            "latency" => {
                link.latency = Some(self.millis("latency"));
                link.jitter = self.millis("jitter");
            }
            "timeout" => link.blackhole = true,
            "reset_peer" => link.reset_after_bytes = Some(0),
            "bandwidth" if !upstream => link.bandwidth = Some(self.number("rate") * 1000),
            "limit_data" if upstream => link.close_before_headers = true,
            "limit_data" => link.reset_after_bytes = Some(self.number("bytes")),
            "slow_close" => link.slow_close = Some(self.millis("delay")),
            "slicer" if upstream => link.upstream_slice = Some(self.slice()),
            "slicer" => link.slice = Some(self.slice()),
            _ => {}
        }
        link
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> ToxicInput {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn toxics_map_onto_link_actions() {
        let latency = Toxic::create(input(
            r#"{"type":"latency","attributes":{"latency":1000,"jitter":50}}"#,
        ))
        .unwrap();
        assert_eq!(latency.name, "latency_downstream");
        assert_eq!(latency.link_faults().latency, Some(Duration::from_secs(1)));
        let bandwidth =
            Toxic::create(input(r#"{"type":"bandwidth","attributes":{"rate":2}}"#)).unwrap();
        assert_eq!(bandwidth.link_faults().bandwidth, Some(2000));
        let limit =
            Toxic::create(input(r#"{"type":"limit_data","attributes":{"bytes":10}}"#)).unwrap();
        assert_eq!(limit.link_faults().reset_after_bytes, Some(10));
        let timeout = Toxic::create(input(r#"{"type":"timeout","stream":"upstream"}"#)).unwrap();
        assert!(timeout.link_faults().blackhole);
    }

    #[test]
    fn bad_toxics_say_which_key() {
        for (json, key) in [
            (r#"{"type":"slicer"}"#, "attributes.average_size"),
            (r#"{"type":"noise"}"#, "type"),
            (r#"{}"#, "type"),
            (r#"{"type":"latency","stream":"sideways"}"#, "stream"),
            (r#"{"type":"latency","toxicity":2}"#, "toxicity"),
            (
                r#"{"type":"latency","attributes":{"latency":-1}}"#,
                "attributes.latency",
            ),
            (
                r#"{"type":"bandwidth","attributes":{"rate":0}}"#,
                "attributes.rate",
            ),
        ] {
            let err = Toxic::create(input(json)).unwrap_err();
            assert!(err.starts_with(key), "{json}: {err}");
        }
    }
}
