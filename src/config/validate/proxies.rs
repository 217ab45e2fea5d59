//! Checking `[[proxy]]` tables: more proxies started beside the config's own, as Toxiproxy's
//! `-config` file starts them. Problems name `proxy[N].key`; whether a port is free is known
//! only when the proxy is bound, at start.

use std::collections::HashSet;

use super::super::OriginAddress;
use super::super::address::parse_listen;
use super::super::error::{Problem, push_index};
use super::super::raw::RawProxy;
use super::Check;
use crate::config::{OWN_PROXY, ProxySpec};

impl Check {
    /// Every `[[proxy]]` has a unique name (not `edgecase`), a listen address and an origin.
    pub(super) fn proxies(&mut self, raw: Vec<RawProxy>) -> Vec<ProxySpec> {
        let mut names = HashSet::new();
        let mut specs = Vec::with_capacity(raw.len());
        for (index, proxy) in raw.into_iter().enumerate() {
            let mut key = String::from("proxy");
            push_index(&mut key, index);
            let name = match proxy.name.filter(|n| !n.is_empty()) {
                None => Err("missing: every proxy needs a name".to_owned()),
                Some(name) if name == OWN_PROXY => Err(format!(
                    "{OWN_PROXY:?} is the config's own proxy ([edge] listen); pick another"
                )),
                Some(name) if !names.insert(name.clone()) => {
                    Err(format!("{name:?} names an earlier proxy too"))
                }
                Some(name) => Ok(name),
            };
            let name = self.some(&format!("{key}.name"), name);
            let listen = match proxy.listen {
                Some(text) => self.some(&format!("{key}.listen"), parse_listen(&text)),
                None => self.missing(&key, "listen", "ip:port"),
            };
            let upstream = match proxy.upstream {
                Some(text) => self.some(&format!("{key}.upstream"), text.parse::<OriginAddress>()),
                None => self.missing(&key, "upstream", "host:port"),
            };
            if let (Some(name), Some(listen), Some(upstream)) = (name, listen, upstream) {
                specs.push(ProxySpec {
                    name,
                    listen: listen.to_string(),
                    upstream: upstream.to_string(),
                    enabled: proxy.enabled.unwrap_or(true),
                });
            }
        }
        specs
    }

    fn missing<T>(&mut self, key: &str, field: &str, shape: &str) -> Option<T> {
        let key = format!("{key}.{field}");
        self.problems
            .push(Problem::new(key, format!("missing ({shape})")));
        None
    }
}
