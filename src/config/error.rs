//! What is wrong with a config: [`ConfigError`], a list of [`Problem`]s each naming its key path.
//! This module owns their wording for TOML syntax and type errors and the key path syntax;
//! the value checks themselves live in `validate`.

use std::fmt;
use std::path::PathBuf;

use serde_path_to_error::Segment;

/// Why a config could not be loaded: every problem found, in file order as far as possible.
///
/// Display prints one line per problem, `{file}: {key}: {why}` (or `{key}: {why}` for text that
/// came from no file), so `main` can print it as is and exit before binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the text came from, if any.
    pub file: Option<PathBuf>,
    /// Never empty.
    pub problems: Vec<Problem>,
}

/// One thing wrong with a config, on one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The key path, as written in TOML: `timeouts.read`, `route[1].timeouts.read` (routes
    /// count from 0, in file order), `dns.hosts."origin.test"`. Empty when the problem is the
    /// whole file (unreadable, or not TOML).
    pub key: String,
    /// What is wrong and, where it helps, what to write instead. A single line.
    pub why: String,
}

impl ConfigError {
    /// An error for text that came from no file.
    pub(crate) fn new(problems: Vec<Problem>) -> Self {
        ConfigError {
            file: None,
            problems,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            if let Some(file) = &self.file {
                write!(f, "{}: ", file.display())?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Problem {
    /// A problem with the value at `key`.
    pub(crate) fn new(key: impl Into<String>, why: impl fmt::Display) -> Self {
        Problem {
            key: key.into(),
            why: why.to_string(),
        }
    }

    /// The text is not TOML at all.
    pub(crate) fn syntax(error: &toml::de::Error, text: &str) -> Self {
        let why = match line_of(error, text) {
            Some(line) => format!(
                "not valid TOML at line {line}: {}",
                one_line(error.message())
            ),
            None => format!("not valid TOML: {}", one_line(error.message())),
        };
        Problem::new("", why)
    }

    /// The text is TOML, but a key is unknown or a value has the wrong type.
    pub(crate) fn shape(error: &serde_path_to_error::Error<toml::de::Error>, text: &str) -> Self {
        let inner = error.inner();
        let mut why = one_line(inner.message());
        if let Some(line) = line_of(inner, text) {
            why = format!("{why} (line {line})");
        }
        let mut key = String::new();
        for segment in error.path().iter() {
            match segment {
                Segment::Seq { index } => push_index(&mut key, *index),
                Segment::Map { key: name } | Segment::Enum { variant: name } => {
                    push_key(&mut key, name);
                }
                Segment::Unknown => push_key(&mut key, "?"),
            }
        }
        Problem::new(key, why)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.why)
        } else {
            write!(f, "{}: {}", self.key, self.why)
        }
    }
}

/// Appends `name` to a key path, quoted when TOML would need quotes (`"origin.test"`).
pub(crate) fn push_key(path: &mut String, name: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    let bare = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare || name == "?" {
        path.push_str(name);
    } else {
        path.push_str(&format!("{name:?}"));
    }
}

/// Appends an array index to a key path: `route[1]`.
pub(crate) fn push_index(path: &mut String, index: usize) {
    path.push_str(&format!("[{index}]"));
}

/// The 1-based line where toml located the error, if it did.
pub(crate) fn line_of(error: &toml::de::Error, text: &str) -> Option<usize> {
    let start = error.span()?.start;
    let before = text.get(..start)?;
    Some(before.bytes().filter(|&b| b == b'\n').count() + 1)
}

/// toml's messages are single lines today; this keeps the one-line promise if that changes.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
