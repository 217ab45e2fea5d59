//! [`TopK`]: a space-saving table of the most frequent values (URLs, origin IPs, colos) of one
//! status in one time slot, at most [`TRACKED`] entries whatever the number of distinct values,
//! each with the newest [`RAYS_KEPT`] ray IDs; and [`merge`], which adds tables of several slots
//! up for a report. Counts are exact while a table has seen at most [`TRACKED`] distinct values;
//! past that, a new value takes the place of the least counted one and inherits its count
//! (Metwally et al.'s space-saving), so a count may overestimate by at most the count it took
//! over, and a value seen more than `n / TRACKED` times in `n` is never lost.

use std::cmp::Reverse;
use std::collections::HashMap;

/// Entries tracked per table.
pub(super) const TRACKED: usize = 20;
/// Entries a report shows per table.
pub(super) const SHOWN: usize = 10;
/// Ray IDs kept per entry, newest first.
pub(super) const RAYS_KEPT: usize = 3;
/// Bytes kept of a ray ID (`8f3a0c1d2e4b5a69-CDG` is 20); a longer one is cut.
const RAY_BYTES: usize = 24;

/// One ray ID as seen, with the arrival time that orders it.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct RaySeen {
    /// Nanoseconds since the Unix epoch of the request's arrival.
    stamp: u64,
    len: u8,
    bytes: [u8; RAY_BYTES],
}

impl RaySeen {
    /// `ray` (cut to 24 bytes on a character boundary) seen at `stamp`.
    pub(super) fn new(ray: &str, stamp: u64) -> RaySeen {
        let kept = cut(ray, RAY_BYTES);
        let mut bytes = [0; RAY_BYTES];
        bytes[..kept.len()].copy_from_slice(kept.as_bytes());
        RaySeen {
            stamp,
            // At most RAY_BYTES (24), so it fits.
            len: kept.len() as u8,
            bytes,
        }
    }

    /// The ray ID.
    pub(super) fn as_str(&self) -> &str {
        // Always valid: the bytes were cut from a str on a character boundary.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

/// The newest [`RAYS_KEPT`] rays of an entry, newest first.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Rays {
    seen: [RaySeen; RAYS_KEPT],
    len: u8,
}

impl Rays {
    fn one(ray: RaySeen) -> Rays {
        let mut rays = Rays::default();
        rays.push(ray);
        rays
    }

    /// Adds `ray` in arrival order; among equal stamps the later call counts as newer.
    fn push(&mut self, ray: RaySeen) {
        let len = usize::from(self.len);
        let at = self.seen[..len]
            .iter()
            .position(|held| held.stamp <= ray.stamp)
            .unwrap_or(len);
        if at >= RAYS_KEPT {
            return;
        }
        let end = (len + 1).min(RAYS_KEPT);
        self.seen.copy_within(at..end - 1, at + 1);
        self.seen[at] = ray;
        // At most RAYS_KEPT (3).
        self.len = end as u8;
    }

    /// The rays, newest first.
    pub(super) fn as_slice(&self) -> &[RaySeen] {
        &self.seen[..usize::from(self.len)]
    }
}

/// A value, how often it was counted, and its newest rays.
#[derive(Clone, Debug)]
pub(super) struct Counted {
    value: Box<str>,
    count: u64,
    rays: Rays,
}

/// At most [`TRACKED`] values with their counts (space-saving).
#[derive(Clone, Debug, Default)]
pub(super) struct TopK {
    entries: Vec<Counted>,
}

impl TopK {
    /// Counts one occurrence of `value`, seen with `ray`.
    pub(super) fn add(&mut self, value: &str, ray: RaySeen) {
        if let Some(entry) = self.entries.iter_mut().find(|e| &*e.value == value) {
            entry.count += 1;
            entry.rays.push(ray);
            return;
        }
        if self.entries.len() < TRACKED {
            self.entries.push(Counted {
                value: value.into(),
                count: 1,
                rays: Rays::one(ray),
            });
            return;
        }
        // Space-saving: the least counted entry (the oldest of equals) makes room, and the
        // newcomer inherits its count. The old value's rays are not the newcomer's.
        if let Some(least) = self.entries.iter_mut().min_by_key(|e| e.count) {
            least.value = value.into();
            least.count += 1;
            least.rays = Rays::one(ray);
        }
    }

    /// How many entries are held.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// One row of a merged table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Merged {
    /// The value: `site.test/a`, `192.0.2.1`, `CDG`.
    pub(super) value: String,
    /// Occurrences over all the tables.
    pub(super) count: u64,
    /// The newest rays over all the tables, newest first.
    pub(super) rays: Vec<String>,
}

/// Adds `tables` up: the [`SHOWN`] most counted values (count descending, then value
/// ascending), each with its newest rays over all the tables.
pub(super) fn merge<'t>(tables: impl IntoIterator<Item = &'t TopK>) -> Vec<Merged> {
    let mut sums: HashMap<&str, (u64, Vec<RaySeen>)> = HashMap::new();
    for table in tables {
        for entry in &table.entries {
            let sum = sums.entry(&entry.value).or_default();
            sum.0 += entry.count;
            sum.1.extend_from_slice(entry.rays.as_slice());
        }
    }
    let mut rows: Vec<(&str, u64, Vec<RaySeen>)> = sums
        .into_iter()
        .map(|(value, (count, rays))| (value, count, rays))
        .collect();
    rows.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    rows.truncate(SHOWN);
    rows.into_iter()
        .map(|(value, count, mut rays)| {
            // Stable: equal stamps keep the order they were listed in (newest slot first).
            rays.sort_by_key(|ray| Reverse(ray.stamp));
            Merged {
                value: value.to_owned(),
                count,
                rays: rays
                    .iter()
                    .take(RAYS_KEPT)
                    .map(|ray| ray.as_str().to_owned())
                    .collect(),
            }
        })
        .collect()
}

/// The longest prefix of `text` of at most `max` bytes ending on a character boundary.
pub(super) fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ray(n: u64) -> RaySeen {
        RaySeen::new(&format!("{n:016x}-CDG"), n)
    }

    #[test]
    fn rays_stay_newest_first_and_keep_three() {
        let mut rays = Rays::default();
        for stamp in [5, 1, 9, 7, 3] {
            rays.push(ray(stamp));
        }
        let kept: Vec<&str> = rays.as_slice().iter().map(RaySeen::as_str).collect();
        assert_eq!(
            kept,
            [
                "0000000000000009-CDG",
                "0000000000000007-CDG",
                "0000000000000005-CDG"
            ]
        );
    }

    #[test]
    fn equal_stamps_count_the_later_one_as_newer() {
        let mut rays = Rays::default();
        rays.push(RaySeen::new("first", 4));
        rays.push(RaySeen::new("second", 4));
        let kept: Vec<&str> = rays.as_slice().iter().map(RaySeen::as_str).collect();
        assert_eq!(kept, ["second", "first"]);
    }

    #[test]
    fn space_saving_replaces_the_least_counted_and_inherits_its_count() {
        let mut table = TopK::default();
        for i in 0..TRACKED {
            for _ in 0..=i {
                table.add(&format!("v{i}"), ray(i as u64));
            }
        }
        assert_eq!(table.len(), TRACKED);
        // v0 was counted once: the newcomer takes its place with 1 + 1.
        table.add("new", ray(100));
        assert_eq!(table.len(), TRACKED);
        let rows = merge([&table]);
        assert_eq!(rows.len(), SHOWN);
        assert_eq!(rows[0].value, "v19");
        assert_eq!(rows[0].count, 20);
        let all = merge_all(&table);
        let newcomer = all.iter().find(|(value, _)| value == "new");
        assert_eq!(newcomer.map(|(_, count)| *count), Some(2));
        assert!(all.iter().all(|(value, _)| value != "v0"));
    }

    fn merge_all(table: &TopK) -> Vec<(String, u64)> {
        table
            .entries
            .iter()
            .map(|e| (e.value.to_string(), e.count))
            .collect()
    }

    #[test]
    fn merge_sums_counts_and_takes_the_newest_rays_of_all_tables() {
        let mut older = TopK::default();
        older.add("a", ray(1));
        older.add("a", ray(2));
        older.add("b", ray(3));
        let mut newer = TopK::default();
        newer.add("a", ray(10));
        newer.add("c", ray(11));
        newer.add("c", ray(12));
        let rows = merge([&newer, &older]);
        let summary: Vec<(&str, u64)> = rows.iter().map(|r| (r.value.as_str(), r.count)).collect();
        assert_eq!(summary, [("a", 3), ("c", 2), ("b", 1)]);
        assert_eq!(
            rows[0].rays,
            [
                "000000000000000a-CDG",
                "0000000000000002-CDG",
                "0000000000000001-CDG"
            ]
        );
    }

    #[test]
    fn entry_sizes_match_the_memory_bound_in_the_module_doc() {
        assert_eq!(std::mem::size_of::<RaySeen>(), 40);
        assert_eq!(std::mem::size_of::<Counted>(), 152);
    }

    #[test]
    fn cut_keeps_whole_characters() {
        assert_eq!(cut("abc", 5), "abc");
        assert_eq!(cut("abcdef", 3), "abc");
        // 'é' is two bytes: cutting inside it drops it whole.
        assert_eq!(cut("aé", 2), "a");
        assert_eq!(RaySeen::new(&"é".repeat(20), 0).as_str(), "é".repeat(12));
    }
}
