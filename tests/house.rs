//! The rule of the house (docs/architecture.md): every `crate::` path in src/ names a module
//! of a lower layer than the file's own. Read from the source text, comments left out, so a
//! new upward import fails here with the file and the path, before review.
//!
//! `KNOWN` lists upward imports allowed for now, each with what stands in the way (none
//! today); the test also fails when one of them is gone, so the list only shrinks.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Each top-level module of the crate and its layer, from the bottom up. Modules of the same
/// layer may not name each other; a module must name only lower layers.
const LAYERS: &[(&str, u8)] = &[
    // base: ray IDs, TLS material, time and HTML formatting, URL normalisation.
    ("base", 0),
    ("ray", 0),
    ("tls", 0),
    ("normalize", 0),
    // config: raw TOML to a typed Config, naming only base.
    ("config", 1),
    // what went wrong, and what a request leaves behind.
    ("failure", 2),
    ("record", 2),
    // failure + ray to a page; fault rules; the origin side.
    ("pages", 3),
    ("emulation", 4),
    ("origin", 5),
    // the observers: capture and analytics, then the hub that feeds them all.
    ("capture", 6),
    ("analytics", 6),
    ("observe", 7),
    // scenarios drive fault rules over time and report from the observers;
    // /cdn-cgi/trace renders what the edge knows.
    ("scenario", 8),
    ("trace", 8),
    // the visitor side, wiring one request through everything below.
    ("edge", 9),
    ("admin", 10),
    ("embed", 11),
    ("demo", 11),
    ("diagnose", 11),
    ("lib", 12),
    ("main", 12),
];

/// Upward imports still in the house: (file, module it names, what stands in the way). Empty:
/// every import points down. A new entry needs a reason and a way out in docs/architecture.md.
const KNOWN: &[(&str, &str, &str)] = &[];

fn layer(module: &str) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, layer)| *layer)
}

/// The top-level module a file under src/ belongs to (`src/edge/service.rs` → `edge`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src");
    let first = relative
        .components()
        .next()
        .expect("a file")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    // `normalize_tests.rs` beside `normalize.rs` is that module's tests.
    first
        .trim_end_matches(".rs")
        .trim_end_matches("_tests")
        .to_owned()
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push(path);
        }
    }
}

/// The modules a line of code names with `crate::`, its `//` comment left out.
fn named(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    code.match_indices("crate::")
        .filter(|(at, _)| {
            // `edgecase::crate::` never occurs; skip `$crate::` in macros.
            !code[..*at].ends_with('$')
        })
        .map(|(at, found)| {
            code[at + found.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// Every (file, module named) pair that breaks the rule.
fn upward_imports() -> BTreeSet<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 100,
        "found only {} files in src/",
        files.len()
    );
    let mut upward = BTreeSet::new();
    for file in files {
        let own = module_of(&src, &file);
        let own_layer =
            layer(&own).unwrap_or_else(|| panic!("{own} (from {file:?}) has no layer in LAYERS"));
        let text = fs::read_to_string(&file).expect("readable source");
        for line in text.lines() {
            for target in named(line) {
                let Some(target_layer) = layer(&target) else {
                    continue;
                };
                if target != own && target_layer >= own_layer {
                    let shown = file
                        .strip_prefix(root)
                        .expect("under the root")
                        .to_string_lossy()
                        .into_owned();
                    upward.insert((shown, target));
                }
            }
        }
    }
    upward
}

#[test]
fn every_import_points_down_the_layers() {
    let found = upward_imports();
    let known: BTreeSet<(String, String)> = KNOWN
        .iter()
        .map(|(file, target, _)| ((*file).to_owned(), (*target).to_owned()))
        .collect();
    let new: Vec<_> = found.difference(&known).collect();
    assert!(
        new.is_empty(),
        "imports that point up or sideways (file, module it names): {new:#?}\n\
         move the type down to the layer both sides can name (see docs/architecture.md)"
    );
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(
        gone.is_empty(),
        "these known exceptions are gone, take them out of KNOWN: {gone:#?}"
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in fs::read_dir(&src).expect("src/") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().expect("a name").to_string_lossy();
        if name.ends_with("_tests.rs") || name.starts_with('.') {
            continue;
        }
        let module = name.trim_end_matches(".rs");
        assert!(
            layer(module).is_some(),
            "src/{name} has no layer in tests/house.rs LAYERS: give it one"
        );
    }
}

#[test]
fn the_reader_finds_the_modules_a_line_names() {
    assert_eq!(
        named("use crate::pages::{Hop, PageKind}; // crate::admin here is a comment"),
        vec!["pages".to_owned()]
    );
    assert_eq!(
        named("let x = crate::origin::a(crate::record::b);"),
        vec!["origin".to_owned(), "record".to_owned()]
    );
    assert!(named("//! see [`crate::edge::service`]").is_empty());
}
