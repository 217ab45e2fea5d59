//! Reading the file's shape with every problem at once: serde stops at the first unknown key
//! or wrongly typed value, so each one found is noted, taken out of the parsed document, and
//! the document read again, until it reads (or a problem cannot be taken out). An unknown key
//! is named by its dotted path with the closest known key as a suggestion.

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::Problem;

/// The most problems of shape reported from one file; past it the rest are not looked for.
const MAX_SHAPE_PROBLEMS: usize = 64;

/// `text` read as a `T`, and every problem of shape met on the way. `None` when the text is
/// not TOML, or a problem could not be taken out to read the rest.
pub(crate) fn read<T: DeserializeOwned>(text: &str) -> (Option<T>, Vec<Problem>) {
    let mut document = match DeTable::parse(text) {
        Ok(document) => document,
        Err(error) => return (None, vec![Problem::syntax(&error, text)]),
    };
    // Each with its line, to give them in file order.
    let mut problems: Vec<(usize, Problem)> = Vec::new();
    let in_order = |mut problems: Vec<(usize, Problem)>| {
        problems.sort_by_key(|(line, _)| *line);
        problems.into_iter().map(|(_, problem)| problem).collect()
    };
    while problems.len() < MAX_SHAPE_PROBLEMS {
        let deserializer = toml::de::Deserializer::from(document.clone());
        let error = match serde_path_to_error::deserialize::<_, T>(deserializer) {
            Ok(value) => return (Some(value), in_order(problems)),
            Err(error) => error,
        };
        let message = error.inner().message().to_owned();
        let path = keys_of(error.path());
        let unknown = unknown_field(&message);
        let problem = match &unknown {
            Some((name, known)) => unknown_key(&error, text, &path, name, known),
            None => Problem::shape(&error, text),
        };
        let line = super::error::line_of(error.inner(), text).unwrap_or(usize::MAX);
        problems.push((line, problem));
        // The key to take out: the unknown one, under the path; or the value at the path.
        let taken = match unknown {
            Some((name, _)) => {
                let parent = match path.last() {
                    Some(Key::Name(last)) if *last == name => &path[..path.len() - 1],
                    _ => &path[..],
                };
                take_out(document.get_mut(), parent, Some(&name))
            }
            // An item of a list that cannot be taken out alone takes its whole list with it.
            None => {
                let mut at = &path[..];
                loop {
                    if take_out(document.get_mut(), at, None) {
                        break true;
                    }
                    match at.split_last() {
                        Some((Key::Index(_), parent)) => at = parent,
                        _ => break false,
                    }
                }
            }
        };
        if !taken {
            return (None, in_order(problems));
        }
    }
    (None, in_order(problems))
}

/// One step of a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Key {
    Name(String),
    Index(usize),
}

fn keys_of(path: &serde_path_to_error::Path) -> Vec<Key> {
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(Key::Index(*index)),
            Segment::Map { key } | Segment::Enum { variant: key } => Some(Key::Name(key.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// serde's "unknown field `x`, expected one of `a`, `b`" (or "expected `a`", or "there are no
/// fields"): the unknown name and the known ones.
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (name, rest) = rest.split_once('`')?;
    let known = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((name.to_owned(), known))
}

/// The problem of an unknown key: its dotted path, and the known key it is closest to.
fn unknown_key(
    error: &serde_path_to_error::Error<toml::de::Error>,
    text: &str,
    path: &[Key],
    name: &str,
    known: &[String],
) -> Problem {
    let mut key = String::new();
    for step in path {
        match step {
            Key::Name(part) => super::error::push_key(&mut key, part),
            Key::Index(index) => super::error::push_index(&mut key, *index),
        }
    }
    if !matches!(path.last(), Some(Key::Name(last)) if last == name) {
        super::error::push_key(&mut key, name);
    }
    let mut why = format!("unknown key {name:?}");
    match closest(name, known) {
        Some(suggestion) => why.push_str(&format!("; did you mean {suggestion:?}?")),
        None if known.is_empty() => why.push_str("; this table takes no keys"),
        None => {
            let list: Vec<String> = known.iter().map(|k| format!("{k:?}")).collect();
            why.push_str(&format!("; the keys here are {}", list.join(", ")));
        }
    }
    let line = Problem::shape(error, text);
    if let Some(at) = line.why.rfind(" (line ") {
        why.push_str(&line.why[at..]);
    }
    Problem::new(key, why)
}

/// The known name within a small edit distance of `name` (a typo, a plural, a case slip).
fn closest<'k>(name: &str, known: &'k [String]) -> Option<&'k str> {
    let lower = name.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&lower, k), k))
        .filter(|(distance, k)| *distance <= (k.len() / 3).max(1) + 1)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k.as_str())
}

/// Levenshtein distance over bytes (keys are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// Removes from `table` the value at `path` (or, with `name`, the key `name` of the table at
/// `path`). Whether something was removed.
fn take_out(table: &mut DeTable<'_>, path: &[Key], name: Option<&str>) -> bool {
    let Some((first, rest)) = path.split_first() else {
        let Some(name) = name else { return false };
        return table.remove(name).is_some();
    };
    let Key::Name(first) = first else {
        return false;
    };
    if rest.is_empty() && name.is_none() {
        return table.remove(first.as_str()).is_some();
    }
    match table.get_mut(first.as_str()) {
        Some(value) => take_out_of(value, rest, name),
        None => false,
    }
}

fn take_out_of(value: &mut Spanned<DeValue<'_>>, path: &[Key], name: Option<&str>) -> bool {
    match (value.get_mut(), path.split_first()) {
        (DeValue::Table(table), _) => take_out(table, path, name),
        // A whole item of the wrong type is not taken out (nothing is left to read in its
        // place): reading stops there.
        (DeValue::Array(items), Some((Key::Index(index), rest)))
            if !rest.is_empty() || name.is_some() =>
        {
            match items.as_mut().get_mut(*index) {
                Some(item) => take_out_of(item, rest, name),
                None => false,
            }
        }
        _ => false,
    }
}
