//! [`HarFile`]: a HAR document on disk that grows one entry at a time and is a complete,
//! valid document after every entry. This module owns the file's layout and its checks when
//! opened; what an entry holds is [`super::entry`], and when entries are written (a background
//! writer, which requests) is the caller's business.
//!
//! Layout: `entries` is the last member of `log`, and `log` the last member of the document, so
//! the file ends with `]}}`. Its `log.comment` says whether its entries are sanitized, as
//! [`sanitize::file_comment`] words it. An entry is written over that tail, followed by a new tail, in one
//! write: the file is never rewritten per entry. Each entry sits on its own line.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::har::{Entry, Har, document};
use super::sanitize;

/// What ends the document, after the last entry.
const TAIL: &[u8] = b"\n]}}\n";

/// A HAR file open for appending.
#[derive(Debug)]
pub struct HarFile {
    path: PathBuf,
    file: File,
    /// Where the tail starts: just after the last entry, or after the `[` when there is none.
    tail_at: u64,
    /// Whether `entries` holds at least one entry (the next needs a comma).
    has_entries: bool,
}

impl HarFile {
    /// Opens (creating if missing) a HAR file to append to. An existing file must be a HAR
    /// document (parse it; else Err with a message naming the file) whose entries are kept.
    /// `sanitized`: whether the entries to come are sanitized, which the document's
    /// `log.comment` must then say (and not claim when they are not).
    ///
    /// An empty file counts as missing. A valid HAR document whose `entries` is not its last
    /// member, or whose comment must change, is rewritten once, with the same content, in
    /// edgecase's layout (through a temporary file renamed over it). A file that is not one
    /// complete HAR document (one cut short by a crash mid-write, say) is an `InvalidData`
    /// error and is left untouched.
    pub fn open(path: &Path, sanitized: bool) -> io::Result<HarFile> {
        let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(named)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(named)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            bytes = new_document(sanitize::file_comment(None, false, sanitized))?;
            write_at(&mut file, 0, &bytes).map_err(named)?;
        } else {
            let har = check(&bytes).map_err(|problem| invalid(path, &problem))?;
            let layout = serde_json::from_slice::<Layout>(&bytes)
                .map_err(|e| invalid(path, &format!("not a HAR document: {e}")))?;
            let has_entries = !har.log.entries.is_empty();
            let comment =
                sanitize::file_comment(har.log.comment.as_deref(), has_entries, sanitized);
            if !layout.entries_last || comment != har.log.comment {
                bytes = relaid(&bytes, comment.as_deref())
                    .map_err(|e| invalid(path, &e.to_string()))?;
                replace(path, &bytes).map_err(named)?;
                file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(path)
                    .map_err(named)?;
            }
        }
        let (tail_at, has_entries) = tail(&bytes)
            .ok_or_else(|| invalid(path, "the document does not end with its entries (`]}}`)"))?;
        Ok(HarFile {
            path: path.to_owned(),
            file,
            tail_at,
            has_entries,
        })
    }

    /// Appends one entry. After every call the file on disk is one complete, valid HAR document
    /// (write the entry before the closing `]}}` tail and rewrite the tail; never rewrite the
    /// whole file per entry). Flush before returning.
    ///
    /// After an error the file may be incomplete; the next successful call makes it whole again
    /// (it writes from the same place).
    pub fn append(&mut self, entry: &Entry) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(1024);
        bytes.extend_from_slice(if self.has_entries { b",\n" } else { b"\n" });
        serde_json::to_writer(&mut bytes, entry).map_err(io::Error::other)?;
        let entry_len = u64::try_from(bytes.len()).map_err(io::Error::other)?;
        bytes.extend_from_slice(TAIL);
        write_at(&mut self.file, self.tail_at, &bytes)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.path.display())))?;
        self.tail_at += entry_len;
        self.has_entries = true;
        Ok(())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// An empty edgecase HAR document with `comment`, in the file's layout.
fn new_document(comment: Option<String>) -> io::Result<Vec<u8>> {
    let mut har = document(Vec::new());
    har.log.comment = comment;
    let mut bytes = serde_json::to_vec(&har).map_err(io::Error::other)?;
    // `entries` is written last and empty, so the document ends with `[]}}`.
    let Some(bracket) = bytes.len().checked_sub(3) else {
        return Err(io::Error::other("an empty HAR document is too short"));
    };
    bytes.truncate(bracket);
    bytes.extend_from_slice(TAIL);
    Ok(bytes)
}

/// Writes `bytes` at `offset` and cuts the file after them.
fn write_at(file: &mut File, offset: u64, bytes: &[u8]) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(bytes)?;
    let end = offset + u64::try_from(bytes.len()).map_err(io::Error::other)?;
    file.set_len(end)?;
    file.flush()
}

/// `bytes` as one HAR document, or why it is not one.
fn check(bytes: &[u8]) -> Result<Har, String> {
    match serde_json::from_slice::<Har>(bytes) {
        Ok(har) => Ok(har),
        Err(e) if e.is_eof() => Err(format!(
            "the HAR document is cut short (a write interrupted?), so it is left as it is: {e}"
        )),
        Err(e) => Err(format!("not a HAR document: {e}")),
    }
}

/// An `InvalidData` error about `path`.
fn invalid(path: &Path, problem: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {problem}", path.display()),
    )
}

/// Where the tail of a document in the file's layout starts, and whether `entries` has any:
/// the document ends with `]`, `}`, `}` (and whitespace), and the tail starts after the last
/// character before that `]` that is not whitespace.
fn tail(bytes: &[u8]) -> Option<(u64, bool)> {
    let mut rest = bytes;
    for expected in [b'}', b'}', b']'] {
        rest = rest.trim_ascii_end();
        let (&last, before) = rest.split_last()?;
        if last != expected {
            return None;
        }
        rest = before;
    }
    let rest = rest.trim_ascii_end();
    let &last = rest.last()?;
    let at = u64::try_from(rest.len()).ok()?;
    Some((at, last != b'['))
}

/// A valid HAR document laid out again with `log` last and `entries` last in it, every member
/// kept but `log.comment`, which becomes `comment` (none: left out).
fn relaid(bytes: &[u8], comment: Option<&str>) -> serde_json::Result<Vec<u8>> {
    let mut root: Map<String, Value> = serde_json::from_slice(bytes)?;
    let mut log = match root.remove("log") {
        Some(Value::Object(log)) => log,
        _ => return Err(de::Error::custom("`log` is not an object")),
    };
    let entries = match log.remove("entries") {
        Some(Value::Array(entries)) => entries,
        _ => return Err(de::Error::custom("`log.entries` is not an array")),
    };
    match comment {
        Some(comment) => log.insert("comment".to_owned(), Value::String(comment.to_owned())),
        None => log.remove("comment"),
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.push(b'{');
    write_members(&mut out, &root)?;
    out.extend_from_slice(br#""log":{"#);
    write_members(&mut out, &log)?;
    out.extend_from_slice(br#""entries":["#);
    for (i, entry) in entries.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        serde_json::to_writer(&mut out, entry)?;
    }
    out.extend_from_slice(TAIL);
    Ok(out)
}

/// Writes each member of `object` followed by a comma.
fn write_members(out: &mut Vec<u8>, object: &Map<String, Value>) -> serde_json::Result<()> {
    for (name, value) in object {
        serde_json::to_writer(&mut *out, name)?;
        out.push(b':');
        serde_json::to_writer(&mut *out, value)?;
        out.push(b',');
    }
    Ok(())
}

/// Replaces the file at `path` with `bytes`, through a temporary file renamed over it, so a
/// crash leaves either the old document or the new one.
fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".edgecase-tmp");
    let temporary = path.with_file_name(name);
    let mut file = File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&temporary, path)
}

/// Whether a document's `entries` is the last member of `log`, and `log` the last member of
/// the document (read without building the document).
struct Layout {
    entries_last: bool,
}

impl<'de> Deserialize<'de> for Layout {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries_last = deserializer.deserialize_map(LastMember {
            name: "log",
            inner: Some("entries"),
        })?;
        Ok(Layout { entries_last })
    }
}

/// Visits an object and answers whether its last member is `name` (and, with `inner`, whether
/// that member is itself an object whose last member is `inner`).
struct LastMember {
    name: &'static str,
    inner: Option<&'static str>,
}

impl<'de> Visitor<'de> for LastMember {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut last = false;
        while let Some(key) = map.next_key::<String>()? {
            last = if key == self.name {
                match self.inner {
                    Some(inner) => map.next_value_seed(Inner(inner))?,
                    None => {
                        map.next_value::<IgnoredAny>()?;
                        true
                    }
                }
            } else {
                map.next_value::<IgnoredAny>()?;
                false
            };
        }
        Ok(last)
    }
}

/// Reads a member's value, answering whether it is an object whose last member is the name.
struct Inner(&'static str);

impl<'de> de::DeserializeSeed<'de> for Inner {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_map(LastMember {
            name: self.0,
            inner: None,
        })
    }
}
