//! [`OwnListings`]: the closes of the tree's own listings, counted until they are read
//! back, so that none reaches the caller however late it comes.
//!
//! Listing a directory opens it for reading; the kernel reports `IN_CLOSE_NOWRITE` when
//! the last reference to that open file goes, on the directory's own watch and, with its
//! name, on its parent's. That is usually the tree's own `close`, but a child process
//! forked by another thread meanwhile holds a copy of the descriptor (close-on-exec
//! only closes it at its `exec`; a child that never calls `exec` holds it until it
//! exits), and then the close comes late: after the listing, with the full mask back on
//! the watches. No time bound is safe, and nothing tells the tree's close apart from
//! anyone else's, so the tree counts instead:
//! - while the caller takes `IN_CLOSE_NOWRITE`, every watch of the tree keeps that bit,
//!   quiet or not, so each open of a watched directory by the tree makes exactly one
//!   `IN_CLOSE_NOWRITE` on the directory's own watch, whenever it comes;
//! - each such open counts one close to come for the directory's node (which follows the
//!   directory through renames); its own close, when read, counts one off and is
//!   dropped; its parent's copy, read just before it, is dropped while the count is not
//!   zero;
//! - a directory the tree lists without watching it (one the watch limit left out) has
//!   its parent's copy expected by name instead.
//!
//! A close of the caller's that comes first is taken for the tree's, and the tree's own
//! is delivered in its place: the events are the same, and so is their number. The
//! count is exact but for what the kernel drops: a queue overflow (then the counts go,
//! as the re-crawl lists again), and the merging of two identical events in a row (two
//! closes of a root with nothing queued between them), which leaves one close to
//! count off against a later one of the caller's.
//!
//! When the caller does not take `IN_CLOSE_NOWRITE`, nothing is counted: a late close
//! is never delivered then, and the quiet mask stays without the bit.
//!
//! `IN_OPEN` and `IN_ACCESS` of a listing come within the tree's own calls, never late:
//! the quiet masks (and the `FLAG_LISTING` mark of a scan) keep them out.

use std::collections::HashMap;
use std::vec::Vec;

use super::LISTING_NOISE;
use crate::adapter::nodes::{Node, NodeId, Nodes};
use crate::mask::EventMask;

/// How many directories the tree lists, at most, between two reads of the queue in a
/// crawl: each queues its close twice (its own watch, its parent's), far below the
/// kernel's `max_queued_events` (16,384 by default), and 48 bytes of events in all, so
/// one read takes them in 12 KiB: the pages of the read buffer past that are never
/// written, so never resident, while the tree is set up.
const LISTINGS_PER_DRAIN: usize = 256;

/// The closes of the tree's own listings that are still to be read.
#[derive(Debug, Default)]
pub(super) struct OwnListings {
    /// Whether closes are counted: the caller takes `IN_CLOSE_NOWRITE`.
    counting: bool,
    /// Per watched directory, how many of its closes by the tree are still to be read.
    closes: HashMap<NodeId, u32>,
    /// Directories listed but not watched, by parent and name: one close each to come
    /// on the parent's watch.
    unwatched: Vec<(NodeId, Vec<u8>)>,
    /// The number of directories in `closes` at which a crawl reads the queue.
    drain_at: usize,
}

impl OwnListings {
    /// Counts when `counting` (the caller takes `IN_CLOSE_NOWRITE`).
    pub(super) fn new(counting: bool) -> OwnListings {
        OwnListings {
            counting,
            drain_at: LISTINGS_PER_DRAIN,
            ..OwnListings::default()
        }
    }

    /// The tree opened the watched directory `dir` for reading.
    pub(super) fn opened(&mut self, dir: NodeId) {
        if self.counting {
            *self.closes.entry(dir).or_insert(0) += 1;
        }
    }

    /// The tree opened for reading the directory `name` in `parent`, which it does not
    /// watch.
    pub(super) fn opened_unwatched(&mut self, parent: NodeId, name: &[u8]) {
        if self.counting {
            self.unwatched.push((parent, name.to_vec()));
        }
    }

    /// Whether an event read on the watch of `dir` (about its entry `name`, or itself
    /// when `name` is empty) comes from the tree's own listing; a close of the
    /// directory itself is counted off.
    pub(super) fn take(
        &mut self,
        nodes: &Nodes,
        dir: NodeId,
        name: &[u8],
        mask: EventMask,
    ) -> bool {
        if self.closes.is_empty() && self.unwatched.is_empty() {
            return false;
        }
        if name.is_empty() {
            return mask.contains(EventMask::CLOSE_NOWRITE) && self.count_off(dir);
        }
        if !mask.contains(EventMask::ISDIR) || !mask.intersects(EventMask::from(LISTING_NOISE)) {
            return false;
        }
        let closing = mask.contains(EventMask::CLOSE_NOWRITE);
        if let Some(child) = nodes.child(dir, name) {
            if nodes.get(child).map_or(false, Node::is_watched) {
                // The parent's copy: the child's own comes next and counts it off.
                return closing && self.closes.contains_key(&child);
            }
        }
        match self
            .unwatched
            .iter()
            .position(|(parent, listed)| *parent == dir && listed == name)
        {
            Some(at) => {
                if closing {
                    self.unwatched.swap_remove(at);
                }
                true
            }
            None => false,
        }
    }

    /// Whether a close of the watched directory `dir` by the tree is still to be read.
    pub(super) fn awaits_close(&self, dir: NodeId) -> bool {
        self.closes.contains_key(&dir)
    }

    /// Counts off one close of `dir`; false when none was to come.
    fn count_off(&mut self, dir: NodeId) -> bool {
        match self.closes.get_mut(&dir) {
            Some(count) if *count > 1 => *count -= 1,
            Some(_) => {
                self.closes.remove(&dir);
            }
            None => return false,
        }
        true
    }

    /// Whether a crawl has listed enough directories since the queue was last read that
    /// it should read it now.
    pub(super) fn drain_due(&self) -> bool {
        self.closes.len() >= self.drain_at
    }

    /// The queue has just been read.
    pub(super) fn drained(&mut self) {
        self.drain_at = self.closes.len() + LISTINGS_PER_DRAIN;
    }

    /// The watched directory `id` is leaving its place, `name` in `parent` (taken out of
    /// it, or removed), while `parent` stays: the parent's copies of the closes still to
    /// come for it are expected by name from now on, as for a directory listed but not
    /// watched (its own closes are still counted off on its own watch while it has one).
    pub(super) fn leaving(&mut self, id: NodeId, parent: NodeId, name: &[u8]) {
        let count = self.closes.get(&id).copied().unwrap_or(0);
        for _ in 0..count {
            self.unwatched.push((parent, name.to_vec()));
        }
    }

    /// The nodes `gone` (sorted) are removed: nothing is counted for them any more.
    pub(super) fn removed(&mut self, gone: &[NodeId]) {
        if self.closes.is_empty() && self.unwatched.is_empty() {
            return;
        }
        let is_gone = |id: &NodeId| gone.binary_search(id).is_ok();
        self.closes.retain(|id, _| !is_gone(id));
        self.unwatched.retain(|(parent, _)| !is_gone(parent));
    }

    /// The queue overflowed: some closes are lost, and which is not known. Nothing is
    /// counted any more (the re-crawl counts its own listings again).
    pub(super) fn clear(&mut self) {
        self.closes = HashMap::new();
        self.unwatched = Vec::new();
        self.drain_at = LISTINGS_PER_DRAIN;
    }
}
