//! How a [`TreeWatcher`] follows kernel events. Events are read late, out of step with
//! the disk, so none is applied blindly: each change of a directory entry is checked
//! against what the entry is now (its inode, and the watch descriptor the kernel gives
//! that inode), which makes following an event idempotent. A directory taken out of its
//! place waits as an orphan, its events held, until it turns up again or is let go.

use std::vec::Vec;

use super::crawl::{Arrival, Opened};
use super::nodes::{NodeId, FLAG_LISTING, NO_NODE};
use super::{Synthetic, TreeWatcher, LISTING_NOISE};
use crate::adapter::event::{Origin, WatchError};
use crate::adapter::reader::RawEvent;
use crate::dir::{stat_entry, Stat};
use crate::mask::EventMask;
use crate::parse::{FileKind, WatchDescriptor};

/// Events about a directory that its parent's watch reports too, with the directory's
/// name: the directory's own copy (no name) is dropped for every directory but a root.
const REPORTED_BY_PARENT: EventMask = EventMask::ACCESS
    .union(EventMask::MODIFY)
    .union(EventMask::ATTRIB)
    .union(EventMask::CLOSE_WRITE)
    .union(EventMask::CLOSE_NOWRITE)
    .union(EventMask::OPEN);

/// Changes of an entry that can change the shape of the tree.
const STRUCTURE: EventMask = EventMask::CREATE
    .union(EventMask::MOVED_FROM)
    .union(EventMask::MOVED_TO)
    .union(EventMask::DELETE);

/// How many kernel events are held, at most, for directories whose place is unknown;
/// past that, such a directory is listed again when it is placed.
const MAX_HELD: usize = 4096;

/// How many reads an orphan waits for its other half, at most, when no read finds the
/// queue empty.
const ORPHAN_BATCHES: u64 = 16;

/// How many kernel events after a listing's end its finds still count as duplicates.
const ECHO_WINDOW: u64 = 256;

/// A kernel event about a directory whose place is unknown (an orphan, or below one),
/// held until it is placed (then followed and delivered with the new path) or let go
/// (then dropped).
#[derive(Clone, Debug)]
pub(super) struct Held {
    wd: WatchDescriptor,
    dir: NodeId,
    name: Vec<u8>,
    mask: EventMask,
    cookie: u32,
}

/// A directory taken out of its place: renamed away, or replaced by another. It keeps
/// its watches until it turns up again (its watch descriptor tells it) or has waited
/// out a whole quiet wait (then it left the tree).
#[derive(Clone, Copy, Debug)]
pub(super) struct Orphan {
    pub(super) id: NodeId,
    /// The counts of quiet waits and of reads when it was taken out.
    since_quiet: u64,
    since_read: u64,
    /// Events below it were not held (too many): it is listed again once placed.
    dirty: bool,
    /// The cookie of the `IN_MOVED_FROM` delivered when it was taken out (0: none): an
    /// `IN_MOVED_TO` with the same cookie tells where it went, and a caller can pair
    /// the two; any other arrival is reported as new, with what it holds.
    pub(super) cookie: u32,
}

impl TreeWatcher {
    /// Keeps the tree in step with one kernel event. Returns the directory to report it
    /// in ([`NO_NODE`] for a queue overflow), or `None` to drop it.
    pub(super) fn follow(&mut self, event: &RawEvent) -> Result<Option<NodeId>, WatchError> {
        if event.mask.contains(EventMask::Q_OVERFLOW) {
            self.held.clear();
            self.recrawl_due = true;
            return Ok(Some(NO_NODE));
        }
        let dir = match self.nodes.by_wd(event.wd) {
            Some(dir) => dir,
            None => return Ok(None), // a watch the tree has let go of
        };
        let mut name = core::mem::take(&mut self.name);
        name.clear();
        let followed = match self.reader.name(event) {
            Some(bytes) => {
                name.extend_from_slice(bytes);
                self.follow_entry(dir, &name, event.wd, event.mask, event.cookie)
            }
            None => Ok(self.follow_self(dir, event.wd, event.mask)),
        };
        self.name = name;
        followed
    }

    /// An event about the watched directory itself.
    fn follow_self(&mut self, dir: NodeId, wd: WatchDescriptor, mask: EventMask) -> Option<NodeId> {
        let is_root = self.nodes.get(dir).map_or(false, |node| node.is_root());
        if mask.contains(EventMask::IGNORED) {
            if is_root {
                // Deleted, unmounted, or let go of after a move: the root ends here.
                self.roots.retain(|&root| root != dir);
                self.forget_below(dir);
                self.nodes.clear_wd(dir);
                self.ended_roots.push(dir);
                return Some(dir);
            }
            self.forget_subtree(dir);
            return None;
        }
        if mask.contains(EventMask::UNMOUNT) {
            return Some(dir);
        }
        if self.nodes.has_flag(dir, FLAG_LISTING) && mask.contains(EventMask::CLOSE_NOWRITE) {
            // The end of the tree's own listing. An entry can be listed a moment before
            // the kernel queues its creation: what was found stays a duplicate for a
            // while yet, unless it is deleted or moved first.
            self.nodes.set_flag(dir, FLAG_LISTING, false);
            if let Some(found) = self.found.remove(&dir).filter(|found| !found.is_empty()) {
                self.echoes
                    .push_back((dir, found, self.events_read + ECHO_WINDOW));
            }
            return None;
        }
        if !is_root && mask.intersects(REPORTED_BY_PARENT) {
            return None;
        }
        if self.unplaced(dir) {
            if self.wants(mask) {
                let held = Held {
                    wd,
                    dir,
                    name: Vec::new(),
                    mask,
                    cookie: 0,
                };
                self.hold(held);
            }
            return None;
        }
        if is_root && mask.contains(EventMask::MOVE_SELF) {
            // Moved away: its paths mean nothing now. The kernel's IN_IGNORED for the
            // removed watch ends the root.
            self.forget_below(dir);
            if let Some(wd) = self.nodes.get(dir).and_then(|node| node.wd()) {
                let _ = self.reader.inotify().rm_watch(wd);
            }
        }
        self.wants(mask).then_some(dir)
    }

    /// An event about the entry `name` of the watched directory `dir`.
    fn follow_entry(
        &mut self,
        dir: NodeId,
        name: &[u8],
        wd: WatchDescriptor,
        mask: EventMask,
        cookie: u32,
    ) -> Result<Option<NodeId>, WatchError> {
        let is_dir = mask.contains(EventMask::ISDIR);
        let noise = is_dir && EventMask::from(LISTING_NOISE).intersects(mask);
        // Most events are about files: no lookup of a child for them.
        let child = if noise || mask.intersects(STRUCTURE) {
            self.nodes.child(dir, name)
        } else {
            None
        };
        let structural = mask.intersects(STRUCTURE) && (is_dir || child.is_some());
        if self.unplaced(dir) {
            if structural || self.wants(mask) {
                let held = Held {
                    wd,
                    dir,
                    name: name.to_vec(),
                    mask,
                    cookie,
                };
                self.hold(held);
            }
            return Ok(None);
        }
        if noise && child.map_or(false, |child| self.nodes.has_flag(child, FLAG_LISTING)) {
            return Ok(None); // the tree's own listing of that directory
        }
        // What a listing found is reported once: the first kernel report of it before
        // the listing's end is the duplicate; a name made again after is not.
        let duplicate = self.duplicate_of_found(dir, name, mask);
        if structural {
            self.reconcile_entry(dir, name, mask, cookie)?;
        }
        Ok((!duplicate && self.wants(mask)).then_some(dir))
    }

    /// Makes the child `name` of `dir` what the disk holds under that name now: the same
    /// node if it is the same directory, a directory of the tree moved here (found by
    /// its watch descriptor), a new one (watched and scanned), or none. A child that is
    /// no longer there becomes an orphan. When the path of `dir` no longer names it (a
    /// rename above it is still to be read), `dir` is listed again once it does.
    /// `mask` and `cookie` are the event's: a move is paired with its other half.
    pub(super) fn reconcile_entry(
        &mut self,
        dir: NodeId,
        name: &[u8],
        mask: EventMask,
        cookie: u32,
    ) -> Result<(), WatchError> {
        let delivered = |half: EventMask| mask.contains(half) && self.wants(half);
        let moved_from = if delivered(EventMask::MOVED_FROM) {
            cookie
        } else {
            0
        };
        let moved_to = if delivered(EventMask::MOVED_TO) {
            cookie
        } else {
            0
        };
        let dir_fd = match self.open_node(dir)? {
            Opened::Here(fd) => fd,
            Opened::NoDescriptor => return Ok(()),
            Opened::Elsewhere => {
                if self.nodes.get(dir).is_some() && !self.stale.contains(&dir) {
                    self.stale.push(dir);
                }
                return Ok(());
            }
        };
        let current = self.nodes.child(dir, name);
        match stat_entry(&dir_fd, name) {
            Ok(stat) if stat.kind == FileKind::Directory => {
                if current.map_or(false, |id| self.is_node_of(id, &stat)) {
                    return Ok(());
                }
                let arrival = Arrival::Event { moved_to };
                if let Some((id, fd)) = self.watch_entry(dir, &dir_fd, name, arrival)? {
                    self.scan(id, fd)?;
                }
                self.report_unwatched(dir);
            }
            Ok(_) => {
                if let Some(id) = current {
                    self.orphan(id, moved_from);
                }
            }
            Err(error) if super::crawl::vanished(error.errno()) => {
                if let Some(id) = current {
                    self.orphan(id, moved_from);
                }
            }
            // Cannot be looked at (EACCES on `dir`): what the tree has stays.
            Err(_) => {}
        }
        Ok(())
    }

    /// Whether the node `id` is watched and stands for the directory `stat` describes.
    pub(super) fn is_node_of(&self, id: NodeId, stat: &Stat) -> bool {
        self.nodes
            .get(id)
            .map_or(false, |node| node.wd().is_some() && node.ino() == stat.ino)
    }

    /// Takes `id` out of its place; it keeps its watches, as an orphan, until it turns
    /// up again or the next quiet wait but one. `cookie`: that of the `IN_MOVED_FROM`
    /// delivered for it, if one was.
    pub(super) fn orphan(&mut self, id: NodeId, cookie: u32) {
        if self.nodes.get(id).map_or(true, |node| node.is_root()) || self.nodes.is_orphan(id) {
            return;
        }
        self.nodes.orphan(id);
        self.orphans.push(Orphan {
            id,
            since_quiet: self.quiet_waits,
            since_read: self.reads,
            dirty: false,
            cookie,
        });
    }

    /// `id` has been put at a known place: it is no orphan any more; the events held
    /// for it (and for what is below it) are followed and delivered; what changed below
    /// it unseen is listed again.
    pub(super) fn placed(&mut self, id: NodeId) -> Result<(), WatchError> {
        let mut dirty = false;
        self.orphans.retain(|orphan| {
            if orphan.id == id {
                dirty |= orphan.dirty;
                false
            } else {
                true
            }
        });
        self.replay_held()?;
        if dirty {
            if let Opened::Here(fd) = self.open_node(id)? {
                self.rescan_subtree(id, fd)?;
            }
        }
        self.reconcile_stale_below(id)
    }

    /// Whether `dir` is at no known place: an orphan, or below one.
    fn unplaced(&self, dir: NodeId) -> bool {
        !self.orphans.is_empty() && self.nodes.orphan_above(dir).is_some()
    }

    /// Holds a kernel event about a directory whose place is unknown.
    fn hold(&mut self, held: Held) {
        if self.held.len() >= MAX_HELD {
            if let Some(top) = self.nodes.orphan_above(held.dir) {
                for orphan in self.orphans.iter_mut().filter(|orphan| orphan.id == top) {
                    orphan.dirty = true;
                }
            }
            return;
        }
        self.held.push(held);
    }

    /// Follows the held events whose directory has a known place again, in the order
    /// they came, and queues those to deliver; drops those whose directory is gone.
    fn replay_held(&mut self) -> Result<(), WatchError> {
        if self.replaying || self.held.is_empty() {
            return Ok(());
        }
        self.replaying = true;
        let result = self.replay_held_passes();
        self.replaying = false;
        result
    }

    fn replay_held_passes(&mut self) -> Result<(), WatchError> {
        loop {
            let mut progress = false;
            let mut waiting = Vec::new();
            for held in core::mem::take(&mut self.held) {
                if self.nodes.get(held.dir).is_none() {
                    continue;
                }
                if self.unplaced(held.dir) {
                    waiting.push(held);
                    continue;
                }
                progress = true;
                let deliver = if held.name.is_empty() {
                    self.follow_self(held.dir, held.wd, held.mask)
                } else {
                    self.follow_entry(held.dir, &held.name, held.wd, held.mask, held.cookie)?
                };
                if deliver.is_some() {
                    self.push_held(held);
                }
            }
            // Events held while this pass ran came after the ones still waiting.
            waiting.append(&mut self.held);
            self.held = waiting;
            if !progress || self.held.is_empty() {
                return Ok(());
            }
        }
    }

    /// Queues a held event, to be delivered with its directory's path at delivery.
    fn push_held(&mut self, held: Held) {
        let name_at = self.synthetic_names.len();
        self.synthetic_names.extend_from_slice(&held.name);
        self.synthetic.push_back(Synthetic {
            dir: held.dir,
            name_at,
            name_len: held.name.len(),
            mask: held.mask,
            cookie: held.cookie,
            origin: Origin::Kernel,
        });
    }

    /// Lists again the directories at or below `top` whose path did not name them when
    /// an event needed it.
    fn reconcile_stale_below(&mut self, top: NodeId) -> Result<(), WatchError> {
        if self.stale.is_empty() {
            return Ok(());
        }
        let nodes = &self.nodes;
        let (placed, waiting): (Vec<NodeId>, Vec<NodeId>) = self
            .stale
            .iter()
            .filter(|&&id| nodes.get(id).is_some())
            .partition(|&&id| id == top || nodes.is_below(id, top));
        self.stale = waiting;
        for id in placed {
            if !self.unplaced(id) {
                self.reconcile_dir(id)?;
            }
        }
        Ok(())
    }

    /// Nothing more is queued: every rename that was to be read has been. A directory
    /// whose path still does not name it is put right from the nearest directory above
    /// it whose path does; an orphan that has waited out a whole quiet wait since it was
    /// taken out left the tree, and its watches go.
    pub(super) fn settle_quiet(&mut self) -> Result<(), WatchError> {
        self.quiet_waits += 1;
        self.echoes.clear();
        for id in core::mem::take(&mut self.stale) {
            if self.nodes.get(id).is_none() {
                continue;
            }
            if self.unplaced(id) {
                // Listed again when the orphan above it is placed.
                self.stale.push(id);
                continue;
            }
            let mut at = id;
            while at != NO_NODE && !self.reconcile_dir(at)? {
                at = self.nodes.get(at).map_or(NO_NODE, |node| node.parent);
            }
        }
        self.settle_orphans();
        Ok(())
    }

    /// Every event queued before a `sync` marker has been followed: the other half of
    /// every rename before it has been read, so an orphan still waiting left the tree.
    pub(super) fn settle_at_barrier(&mut self) -> Result<(), WatchError> {
        for orphan in core::mem::take(&mut self.orphans) {
            if self.nodes.is_orphan(orphan.id) {
                self.forget_subtree(orphan.id);
            }
        }
        Ok(())
    }

    /// Lets go of the orphans that have waited long enough for their other half: a whole
    /// quiet wait, or `ORPHAN_BATCHES` reads (under a load that leaves no quiet wait).
    /// One that was only slow to turn up is then watched and scanned again where it does.
    pub(super) fn settle_orphans(&mut self) {
        if self.orphans.is_empty() {
            return;
        }
        let (quiet_waits, reads) = (self.quiet_waits, self.reads);
        let (gone, waiting): (Vec<Orphan>, Vec<Orphan>) = core::mem::take(&mut self.orphans)
            .into_iter()
            .filter(|orphan| self.nodes.is_orphan(orphan.id))
            .partition(|orphan| {
                quiet_waits > orphan.since_quiet + 1 || reads >= orphan.since_read + ORPHAN_BATCHES
            });
        self.orphans = waiting;
        for orphan in gone {
            self.forget_subtree(orphan.id);
        }
    }

    /// Whether a kernel event about `name` in `dir` repeats what a listing found: its
    /// first `IN_CREATE` or `IN_MOVED_TO` does, during the listing or for a while after;
    /// a deletion or a move away first means a later one is new.
    fn duplicate_of_found(&mut self, dir: NodeId, name: &[u8], mask: EventMask) -> bool {
        let echoes = self.echoes.iter_mut().filter(|(at, _, _)| *at == dir);
        let sets = self
            .found
            .get_mut(&dir)
            .into_iter()
            .chain(echoes.map(|(_, set, _)| set));
        let mut found = false;
        for set in sets {
            found |= set.remove(name);
        }
        found && mask.intersects(EventMask::CREATE | EventMask::MOVED_TO)
    }

    /// Whether the caller asked for an event with these bits.
    pub(super) fn wants(&self, mask: EventMask) -> bool {
        mask.intersects(EventMask::from(self.mask))
    }

    /// Removes `id` and everything below it from the tree, with their kernel watches.
    pub(super) fn forget_subtree(&mut self, id: NodeId) {
        self.forget(id, true);
    }

    /// Removes everything below `id`, keeping `id`.
    pub(super) fn forget_below(&mut self, id: NodeId) {
        self.forget(id, false);
    }

    fn forget(&mut self, id: NodeId, with_top: bool) {
        let inotify = self.reader.inotify();
        let found = &mut self.found;
        let echoes = &mut self.echoes;
        let mut gone = Vec::new();
        self.nodes.remove_subtree(id, with_top, |removed, wd| {
            found.remove(&removed);
            gone.push(removed);
            if let Some(wd) = wd {
                // EINVAL: the kernel dropped it already.
                let _ = inotify.rm_watch(wd);
            }
        });
        if gone.is_empty() {
            return;
        }
        // Node ids are reused: nothing may refer to a removed one.
        gone.sort_unstable();
        let is_gone = |id: &NodeId| gone.binary_search(id).is_ok();
        echoes.retain(|(dir, _, _)| !is_gone(dir));
        self.held.retain(|held| !is_gone(&held.dir));
        self.synthetic.retain(|made| !is_gone(&made.dir));
        self.orphans.retain(|orphan| !is_gone(&orphan.id));
        self.stale.retain(|id| !is_gone(id));
    }
}
