//! [`FoundNames`]: the names a listing found in one directory, kept until the kernel's
//! own reports of them can no longer come. A scan of a large tree keeps a set for each
//! of its directories at once, so a set is small: its names back to back in one buffer,
//! looked up by a pass over it while it is short, and through a table of where each
//! name starts once it is long.

use std::boxed::Box;
use std::collections::{HashMap, VecDeque};
use std::vec::Vec;

use crate::adapter::nodes::{hash, IdTable, NodeId, NO_NODE};

/// What the listings of one directory found and saw, from the first of them until
/// every event queued before the end of the last has been read: the kernel's events
/// about those names until then may be older than what the listings reported.
#[derive(Debug, Default)]
pub(crate) struct ListingRecord {
    /// The names they found: the kernel's first report of one is a repeat.
    pub(crate) found: FoundNames,
    /// For a scan's listing, every name it saw and those that arrived since: what the
    /// caller has in the directory.
    pub(crate) listed: Option<FoundNames>,
    /// Of the names they found, those whose first report came and was taken as the
    /// repeat.
    pub(crate) repeated: FoundNames,
    /// Where the kernel's stream of events ended when the first of them began; 0 when
    /// not known (for one of them). An event that ends there or before was queued before
    /// they looked.
    pub(crate) began: u64,
    /// Where the stream ended when the last of them began and when it was done; 0 when
    /// not known. An event that ends between the two was queued while it looked: before
    /// or after what it saw.
    pub(crate) looking: (u64, u64),
    /// The count of kernel events read past which it expires, once known.
    pub(crate) until: Option<u64>,
}

impl ListingRecord {
    /// The record of a listing that begins where the kernel's stream ends at `began`.
    pub(crate) fn began_at(began: u64) -> ListingRecord {
        ListingRecord {
            began,
            looking: (began, 0),
            ..ListingRecord::default()
        }
    }

    /// Adds what a later listing of the same directory found and saw.
    fn extend(&mut self, later: ListingRecord) {
        self.found.extend(later.found);
        self.repeated.extend(later.repeated);
        self.looking = later.looking;
        if later.listed.is_some() {
            self.listed = later.listed;
        }
        // An event before the first one began was queued before each of them; if one
        // began at a place not known, so did they all.
        self.began = if self.began == 0 || later.began == 0 {
            0
        } else {
            self.began.min(later.began)
        };
        self.until = match (self.until, later.until) {
            (Some(one), Some(other)) => Some(one.max(other)),
            (one, other) => one.or(other),
        };
    }

    /// Whether an event that ends at `end` in the kernel's stream, about `name`, was
    /// queued before these listings began, and they found `name`.
    pub(crate) fn found_later(&self, end: u64, name: &[u8]) -> bool {
        self.began != 0 && end <= self.began && self.found.contains(name)
    }

    /// Whether an `IN_MOVED_FROM` that ends at `end`, of `name` to `to` within the
    /// directory, moved an entry that had the name before the one these listings found:
    /// queued while the last of them looked, it took an entry to `to`, where the listing
    /// found one whose report is still to come, from `name`, where the listing found one
    /// whose report came already. Then the name is found again: the next report of it is
    /// the repeat.
    pub(crate) fn moved_before(&mut self, end: u64, name: &[u8], to: &[u8]) -> bool {
        let (began, ended) = self.looking;
        let queued_while_listing = began != 0 && began < end && end <= ended;
        if queued_while_listing && self.found.contains(to) && self.repeated.remove(name) {
            self.found.insert(name);
            return true;
        }
        false
    }
}

/// The records of the listings of `dir`: the open one's, then what ended ones left.
pub(crate) fn records_of<'a>(
    open: &'a mut OpenListings,
    after: &'a mut AfterListings,
    dir: NodeId,
) -> impl Iterator<Item = &'a mut ListingRecord> {
    let open = open.records.get_mut(dir);
    open.into_iter().chain(after.records.get_mut(dir))
}

/// A [`ListingRecord`] per directory; looking one up in an empty map hashes nothing
/// (the map is empty most of the time).
#[derive(Debug, Default)]
struct RecordsByDir {
    by_dir: HashMap<NodeId, ListingRecord>,
}

impl RecordsByDir {
    fn get_mut(&mut self, dir: NodeId) -> Option<&mut ListingRecord> {
        if self.by_dir.is_empty() {
            return None;
        }
        self.by_dir.get_mut(&dir)
    }

    /// Takes the record of `dir` out.
    fn take(&mut self, dir: NodeId) -> Option<ListingRecord> {
        if self.by_dir.is_empty() {
            return None;
        }
        self.by_dir.remove(&dir)
    }

    /// Drops the records of the directories `is_gone` picks.
    fn forget(&mut self, is_gone: impl Fn(&NodeId) -> bool) {
        if !self.by_dir.is_empty() {
            self.by_dir.retain(|dir, _| !is_gone(dir));
        }
    }

    /// Drops every record, and the room a large scan made for them.
    fn clear(&mut self) {
        self.by_dir = HashMap::new();
    }
}

/// The records of the open listings, per directory, until their end is read back.
#[derive(Debug, Default)]
pub(crate) struct OpenListings {
    records: RecordsByDir,
}

impl OpenListings {
    /// The record of `dir`, for a listing that begins where the kernel's stream ends at
    /// `began`: made if there is none, else with this listing as its last.
    pub(crate) fn begin(&mut self, dir: NodeId, began: u64) -> &mut ListingRecord {
        let record = self
            .records
            .by_dir
            .entry(dir)
            .or_insert_with(|| ListingRecord::began_at(began));
        record.looking = (began, 0);
        record
    }

    /// The record of `dir`, made (with where its listing began not known) if there is
    /// none.
    pub(crate) fn of(&mut self, dir: NodeId) -> &mut ListingRecord {
        self.records.by_dir.entry(dir).or_default()
    }

    /// The open listing of `dir` saw `name`, but the caller is not told of it: it is
    /// not among what the caller has there.
    pub(crate) fn unsee(&mut self, dir: NodeId, name: &[u8]) {
        let listed = self.records.get_mut(dir).and_then(|r| r.listed.as_mut());
        if let Some(listed) = listed {
            listed.remove(name);
        }
    }

    /// Takes the record of `dir` out: its listing ended.
    pub(crate) fn end(&mut self, dir: NodeId) -> Option<ListingRecord> {
        self.records.take(dir)
    }

    /// Drops the records of the directories `is_gone` picks.
    pub(crate) fn forget(&mut self, is_gone: impl Fn(&NodeId) -> bool) {
        self.records.forget(is_gone);
    }

    /// Drops every record, and the room a large scan made for them.
    pub(crate) fn clear(&mut self) {
        self.records.clear();
    }
}

/// The [`ListingRecord`] of each directory whose listings ended, and when each expires.
#[derive(Debug, Default)]
pub(crate) struct AfterListings {
    records: RecordsByDir,
    /// (the count at which it expires, its directory), in that order. An entry whose
    /// directory's count was raised since (it was listed again) is passed over.
    expiry: VecDeque<(u64, NodeId)>,
}

impl AfterListings {
    /// Keeps what the ended listings of `dir` found and saw until `until` kernel
    /// events have been read, with what an earlier listing of it left.
    pub(crate) fn add(&mut self, dir: NodeId, mut record: ListingRecord, until: u64) {
        record.until = Some(until);
        match self.records.by_dir.get_mut(&dir) {
            Some(earlier) => earlier.extend(record),
            None => {
                self.records.by_dir.insert(dir, record);
            }
        }
        let at = self.expiry.partition_point(|&(other, _)| other <= until);
        self.expiry.insert(at, (until, dir));
    }

    /// Drops what expired once `read` kernel events have been read.
    pub(crate) fn expire(&mut self, read: u64) {
        while let Some(&(until, dir)) = self.expiry.front() {
            if until >= read {
                return;
            }
            self.expiry.pop_front();
            let by_dir = &mut self.records.by_dir;
            let expired = by_dir
                .get(&dir)
                .map_or(false, |record| record.until.map_or(true, |at| at < read));
            if expired {
                by_dir.remove(&dir);
            }
        }
    }

    /// Drops the records of the directories `is_gone` picks (their expiry entries are
    /// passed over when they come).
    pub(crate) fn forget(&mut self, is_gone: impl Fn(&NodeId) -> bool) {
        self.records.forget(is_gone);
    }

    pub(crate) fn clear(&mut self) {
        self.records.clear();
        self.expiry = VecDeque::new();
    }
}

/// Past this many bytes, a set keeps a table of where its names start.
const SHORT: usize = 256;

/// A set of names (1 to 255 bytes, none with a NUL): 32 bytes, and one buffer with a
/// byte more than the names.
#[derive(Debug, Default)]
pub(crate) struct FoundNames {
    /// Each name as a byte that holds its length, then the name. A name taken out of a
    /// long set stays, with 0 as its first byte (no name holds a NUL).
    bytes: Vec<u8>,
    /// Where each name of a long set starts, by its hash.
    index: Option<Box<IdTable>>,
}

impl FoundNames {
    pub(crate) fn is_empty(&self) -> bool {
        match &self.index {
            Some(index) => index.len == 0,
            None => self.bytes.is_empty(),
        }
    }

    /// Adds `name` (cut at 255 bytes) unless it is in the set already.
    pub(crate) fn insert(&mut self, name: &[u8]) {
        let name = &name[..name.len().min(255)];
        if name.is_empty() || self.find(name).is_some() {
            return;
        }
        let at = self.bytes.len();
        self.bytes.push(name.len() as u8);
        self.bytes.extend_from_slice(name);
        match self.index.as_mut() {
            Some(index) => {
                let bytes = &self.bytes;
                index.insert(at as u32, name_hash(name), |other| {
                    name_hash(name_at(bytes, other))
                });
            }
            None if self.bytes.len() > SHORT => self.build_index(),
            None => {}
        }
    }

    pub(crate) fn contains(&self, name: &[u8]) -> bool {
        self.find(name).is_some()
    }

    /// Takes `name` out of the set: whether it was there.
    pub(crate) fn remove(&mut self, name: &[u8]) -> bool {
        let at = match self.find(name) {
            Some(at) => at,
            None => return false,
        };
        match self.index.as_mut() {
            Some(index) => {
                let bytes = &self.bytes;
                index.remove(at as u32, name_hash(name), |other| {
                    name_hash(name_at(bytes, other))
                });
                self.bytes[at + 1] = 0;
            }
            None => {
                self.bytes.drain(at..at + 1 + name.len());
            }
        }
        true
    }

    /// Adds every name of `other`.
    pub(crate) fn extend(&mut self, other: FoundNames) {
        if self.is_empty() {
            *self = other;
            return;
        }
        for (_, name) in records(&other.bytes).filter(|(_, name)| name.first() != Some(&0)) {
            self.insert(name);
        }
    }

    /// Where the record of `name` starts in `bytes`.
    fn find(&self, name: &[u8]) -> Option<usize> {
        match &self.index {
            Some(index) => index
                .find(name_hash(name), |at| name_at(&self.bytes, at) == name)
                .map(|at| at as usize),
            None => records(&self.bytes)
                .find(|&(_, found)| found == name)
                .map(|(at, _)| at),
        }
    }

    /// Makes the table of where the names start, for a short set grown long (which has
    /// no removed name in its buffer).
    fn build_index(&mut self) {
        let mut index = IdTable::default();
        let bytes = &self.bytes;
        for (at, name) in records(bytes) {
            index.insert(at as u32, name_hash(name), |other| {
                name_hash(name_at(bytes, other))
            });
        }
        self.index = Some(Box::new(index));
    }
}

/// The records of `bytes`: where each starts, and its name.
fn records(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = 0;
    core::iter::from_fn(move || {
        let start = at;
        let len = usize::from(*bytes.get(start)?);
        at = start + 1 + len;
        Some((start, bytes.get(start + 1..at)?))
    })
}

/// The name of the record that starts at `at`.
fn name_at(bytes: &[u8], at: u32) -> &[u8] {
    let at = at as usize;
    let len = bytes.get(at).map_or(0, |&len| usize::from(len));
    bytes.get(at + 1..at + 1 + len).unwrap_or(&[])
}

fn name_hash(name: &[u8]) -> u64 {
    hash(NO_NODE, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_set_of_names_matches_a_model_short_and_long() {
        let mut set = FoundNames::default();
        let mut model: HashSet<Vec<u8>> = HashSet::new();
        // Names of 1 to 300 bytes (cut at 255), some inserted twice, some removed, some
        // removed again; enough to make the set long, then to empty it.
        let count = if cfg!(miri) { 60 } else { 600 };
        let name = |i: usize| -> Vec<u8> {
            let mut name = std::format!("{}-", i).into_bytes();
            name.resize([1, 2, 5, 16, 254, 300][i % 6].max(name.len()), b'x');
            name.truncate(255);
            name
        };
        for i in 0..count {
            set.insert(&name(i));
            model.insert(name(i));
            if i % 3 == 0 {
                set.insert(&name(i / 2));
                model.insert(name(i / 2));
            }
            if i % 4 == 0 {
                assert_eq!(set.remove(&name(i / 3)), model.remove(&name(i / 3)));
                assert!(!set.remove(&name(i / 3)));
            }
            assert_eq!(set.is_empty(), model.is_empty());
        }
        assert!(set.index.is_some(), "long by now");
        for i in 0..count + 10 {
            assert_eq!(set.remove(&name(i)), model.remove(&name(i)), "{}", i);
        }
        assert!(set.is_empty());
        assert!(!set.remove(b"\0"));
    }

    fn set(names: &[&[u8]]) -> FoundNames {
        let mut set = FoundNames::default();
        for name in names {
            set.insert(name);
        }
        set
    }

    fn record(found: &[&[u8]], listed: Option<&[&[u8]]>, began: u64) -> ListingRecord {
        ListingRecord {
            found: set(found),
            listed: listed.map(set),
            repeated: FoundNames::default(),
            began,
            looking: (began, 0),
            until: None,
        }
    }

    #[test]
    fn what_a_listing_left_lasts_until_its_count_and_a_later_listing_extends_it() {
        let mut after = AfterListings::default();
        after.add(1, record(&[b"a"], None, 100), 10);
        after.add(2, record(&[b"b"], Some(&[b"s"]), 0), 5);
        after.add(1, record(&[b"c"], Some(&[b"t"]), 200), 20);
        after.expire(5);
        assert!(
            after.records.get_mut(2).is_some(),
            "kept through its own count"
        );
        after.expire(6);
        assert!(after.records.get_mut(2).is_none());
        after.expire(11);
        let one = after
            .records
            .get_mut(1)
            .expect("raised to 20 by the second listing");
        assert_eq!(one.began, 100, "where the first of them began");
        assert!(one.found.remove(b"a") && one.found.remove(b"c"));
        assert!(one
            .listed
            .as_mut()
            .map_or(false, |listed| listed.remove(b"t")));
        after.records.forget(|&dir| dir == 1);
        assert!(after.records.get_mut(1).is_none());
        after.add(1, record(&[b"d"], None, 0), 30);
        after.expire(25);
        assert!(
            after.records.get_mut(1).is_some(),
            "an id used again keeps its own count"
        );
        after.clear();
        assert!(after.records.get_mut(1).is_none());
    }

    #[test]
    fn a_name_seen_but_not_reported_is_not_what_the_caller_has() {
        let mut open = OpenListings::default();
        open.begin(3, 16).listed = Some(set(&[b"a", b"gone"]));
        open.unsee(3, b"gone");
        open.unsee(4, b"a"); // no listing of 4: nothing to change
        let listed = open.records.get_mut(3).and_then(|r| r.listed.as_ref());
        let listed = listed.expect("listed");
        assert!(listed.contains(b"a"));
        assert!(!listed.contains(b"gone"));
    }

    #[test]
    fn only_what_ends_before_a_listing_began_about_a_name_it_found_is_older() {
        let mut open = OpenListings::default();
        open.begin(7, 160).found.insert(b"w");
        let seven = open.records.get_mut(7).expect("begun");
        assert!(seven.found_later(160, b"w"));
        assert!(!seven.found_later(161, b"w"), "queued while it listed");
        assert!(!seven.found_later(16, b"v"), "a name it did not find");
        // One made where the stream's end was not known says nothing is older.
        open.of(8).found.insert(b"w");
        assert!(!open
            .records
            .get_mut(8)
            .map_or(true, |eight| eight.found_later(16, b"w")));
        open.begin(8, 400);
        assert_eq!(
            open.records.get_mut(8).map(|eight| eight.began),
            Some(0),
            "still not known"
        );
        let mut earlier = record(&[b"a"], None, 100);
        earlier.extend(record(&[b"b"], None, 300));
        assert_eq!(earlier.began, 100, "the first one's");
        assert_eq!(earlier.looking, (300, 0), "the last one's");
        earlier.extend(record(&[], None, 0));
        assert_eq!(earlier.began, 0, "one not known");
        assert!(open.end(7).is_some() && open.records.get_mut(7).is_none());
    }

    #[test]
    fn a_move_while_listing_onto_a_found_name_is_older_only_from_a_repeated_one() {
        // Found `w` and `w-r`; `w`'s first report came (taken as the repeat).
        let mut listing = record(&[b"w-r"], None, 100);
        listing.looking = (100, 200);
        listing.repeated.insert(b"w");
        let not_older: [(u64, &[u8], &[u8], &str); 4] = [
            (100, b"w", b"w-r", "queued before it began"),
            (201, b"w", b"w-r", "queued after it ended"),
            (150, b"w", b"other", "to a name not found"),
            (150, b"v", b"w-r", "from a name not repeated"),
        ];
        for (end, from, to, why) in not_older {
            assert!(!listing.moved_before(end, from, to), "{}", why);
        }
        assert!(listing.moved_before(150, b"w", b"w-r"));
        assert!(listing.found.contains(b"w"), "found again");
        assert!(!listing.moved_before(150, b"w", b"w-r"), "once");
    }

    #[test]
    fn extend_adds_what_is_not_there() {
        let mut a = FoundNames::default();
        let mut b = FoundNames::default();
        a.extend(FoundNames::default());
        assert!(a.is_empty());
        b.insert(b"one");
        b.insert(b"two");
        a.extend(b);
        let mut c = FoundNames::default();
        c.insert(b"two");
        c.insert(b"three");
        c.remove(b"two");
        a.extend(c);
        for name in [&b"one"[..], b"two", b"three"] {
            assert!(a.remove(name), "{:?}", name);
        }
        assert!(a.is_empty());
    }
}
