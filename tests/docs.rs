//! Keeps the docs honest, from the files themselves (no network, no edge):
//!
//! - every table and key of `config/edgecase.toml` has its row in `docs/configuration.md`'s
//!   "Every key" section, under that table's own heading. The file documents optional tables
//!   (`[[route]]`, `[[fault]]`, `[[proxy]]`, `[[scenario]]`) and optional actions in comments
//!   (`#   [[route]]`, `#   # edge = 503`), so comment marks are stripped before reading a line;
//!   a line counts only when it then starts with a table header or with `key =`, which prose
//!   comments never do;
//! - every route of the control API (`edgecase::admin::ROUTES`, which
//!   `tests/control_api_routes.rs` holds to what the router answers) is in a table of
//!   `docs/control-api.md`, and every route those tables name is served;
//! - every relative link in `README.md` and `docs/*.md` points at a file that exists.
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The tables of `config/edgecase.toml`, each with its keys, in file order.
fn documented_config() -> BTreeMap<String, Vec<String>> {
    let text = read(&root().join("config/edgecase.toml"));
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_start_matches(|c: char| c == '#' || c.is_whitespace());
        if line.starts_with('[') {
            let name = line
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or_default();
            let is_table = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.');
            if is_table {
                let header = if line.starts_with("[[") {
                    format!("[[{name}]]")
                } else {
                    format!("[{name}]")
                };
                tables.entry(header.clone()).or_default();
                current = Some(header);
            }
            continue;
        }
        let Some((key, _)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let is_key = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if let (true, Some(table)) = (is_key, &current) {
            let keys = tables.entry(table.clone()).or_default();
            if !keys.iter().any(|k| k == key) {
                keys.push(key.to_owned());
            }
        }
    }
    tables
}

/// The text under `### `table`` in `docs/configuration.md`, up to the next heading.
fn section<'a>(doc: &'a str, table: &str) -> Option<&'a str> {
    let heading = format!("### `{table}`");
    let start = doc.lines().position(|l| l.trim() == heading)?;
    let rest: Vec<&str> = doc.lines().skip(start + 1).collect();
    let end = rest
        .iter()
        .position(|l| l.starts_with("## ") || l.starts_with("### "))
        .unwrap_or(rest.len());
    let first = rest.first()?;
    let offset = first.as_ptr() as usize - doc.as_ptr() as usize;
    let len: usize = rest[..end].iter().map(|l| l.len() + 1).sum();
    doc.get(offset..(offset + len).min(doc.len()))
}

#[test]
fn every_table_and_key_of_the_config_file_is_in_the_configuration_reference() {
    let doc = read(&root().join("docs/configuration.md"));
    let tables = documented_config();
    assert!(
        tables.len() >= 15 && tables.contains_key("[[scenario.phase]]"),
        "the config file reads as {tables:?}"
    );
    let mut missing = Vec::new();
    for (table, keys) in &tables {
        let Some(text) = section(&doc, table) else {
            missing.push(format!("no `### `{table}`` heading"));
            continue;
        };
        for key in keys {
            if !text.contains(&format!("`{key}`")) {
                missing.push(format!("{table} {key}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/configuration.md lacks: {missing:#?}"
    );
}

/// Every `](target)` of a Markdown text.
fn links(text: &str) -> Vec<&str> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|target| target.split_whitespace().next().unwrap_or_default())
        .collect()
}

#[test]
fn every_relative_link_of_the_readme_and_docs_points_at_a_file() {
    let mut pages = vec![root().join("README.md")];
    for entry in fs::read_dir(root().join("docs")).expect("docs/") {
        let path = entry.expect("a docs entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    assert!(pages.len() >= 8, "docs/ holds {pages:?}");
    let mut broken = Vec::new();
    for page in &pages {
        let text = read(page);
        let dir = page.parent().expect("a page's folder");
        for target in links(&text) {
            let file = target.split('#').next().unwrap_or_default();
            if file.is_empty() || file.contains("://") || file.starts_with("mailto:") {
                continue;
            }
            if !dir.join(file).exists() {
                broken.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links: {broken:#?}");
}

/// The routes named in the first column of `docs/control-api.md`'s tables: each code span
/// there reads `METHODS /path`, methods joined by `/` (`GET/HEAD /metrics`), an example query
/// (`?limit=N`) not part of the path.
fn documented_routes(doc: &str) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for line in doc.lines().filter(|l| l.starts_with('|')) {
        let first = line.split(" | ").next().unwrap_or_default();
        for span in first.split('`').skip(1).step_by(2) {
            let Some((methods, path)) = span.split_once(' ') else {
                continue;
            };
            let is_methods =
                !methods.is_empty() && methods.chars().all(|c| c.is_ascii_uppercase() || c == '/');
            if !is_methods || !path.starts_with('/') {
                continue;
            }
            let path = path.split('?').next().unwrap_or_default();
            for method in methods.split('/') {
                routes.insert((method.to_owned(), path.to_owned()));
            }
        }
    }
    routes
}

#[test]
fn every_route_of_the_control_api_is_in_its_reference_and_no_other() {
    let doc = read(&root().join("docs/control-api.md"));
    let documented = documented_routes(&doc);
    let served: BTreeSet<(String, String)> = edgecase::admin::ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert!(served.len() >= 30, "the route table reads as {served:?}");
    let missing: Vec<_> = served.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "docs/control-api.md lacks (write `METHOD /path` in a table's first column): {missing:#?}"
    );
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        unserved.is_empty(),
        "docs/control-api.md names routes the control API does not serve: {unserved:#?}"
    );
}
