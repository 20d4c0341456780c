//! How a [`TreeWatcher`] follows kernel events. Events are read late, out of step with
//! the disk, so none is applied blindly: each change of a directory entry is checked
//! against what the entry is now (its inode, and the watch descriptor the kernel gives
//! that inode), which makes following an event idempotent. A directory taken out of its
//! place waits as an orphan, its events held, until it turns up again or is let go.

use std::vec::Vec;

use super::crawl::{Arrival, Opened};
use super::delivered::{Arrived, Standing};
use super::found::records_of;
use super::{Synthetic, TreeWatcher, LISTING_NOISE};
use crate::adapter::event::{Origin, WatchError};
use crate::adapter::nodes::{NodeId, FLAG_LISTING, NO_NODE};
use crate::adapter::reader::RawEvent;
use crate::dir::{stat_entry, Stat};
use crate::mask::EventMask;
use crate::parse::FileKind;
use crate::parse::WatchDescriptor;

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

/// What becomes of a kernel event the tree has followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The caller is to have it (if its directory is in the tree in the delivered view).
    Deliver,
    /// Not for the caller; the delivered view follows it all the same.
    Follow,
    /// A repeat of what a listing found and reported already (an `IN_CREATE` or
    /// `IN_MOVED_TO` read after the listing saw its outcome), or any change of that
    /// name queued before the listing began: neither delivered nor followed in the
    /// delivered view, where the found event placed its directory.
    Repeat,
    /// An `IN_MOVED_FROM` of what the caller never had there (it left before a listing
    /// the caller had the reports of): not delivered; the delivered view follows it as
    /// a move the caller was not told of, so where it arrives, it is reported with what
    /// it holds.
    Unseen,
}

impl Verdict {
    fn deliver_if(deliver: bool) -> Verdict {
        if deliver {
            Verdict::Deliver
        } else {
            Verdict::Follow
        }
    }
}

/// A change of an entry in a directory whose place on disk is unknown (an orphan, or
/// below one), held until it is placed (then followed on disk) or let go (then dropped).
/// Whether it is delivered is decided when it is read, by the delivered view.
#[derive(Clone, Debug)]
pub(super) struct Held {
    dir: NodeId,
    name: Vec<u8>,
}

/// An event in a directory that is between the two halves of a move in the delivered
/// view: delivered once the move's `IN_MOVED_TO` is read, at the path it gives, or
/// dropped if the move took the directory out of the tree.
#[derive(Clone, Debug)]
pub(super) struct Waiting {
    dir: NodeId,
    name: Vec<u8>,
    mask: EventMask,
    cookie: u32,
    origin: Origin,
    /// For a directory found by a listing: its node.
    subject: NodeId,
}

impl Waiting {
    /// A kernel event, `name` in `dir`.
    pub(super) fn kernel(dir: NodeId, name: &[u8], event: &RawEvent) -> Waiting {
        Waiting {
            dir,
            name: name.to_vec(),
            mask: event.mask,
            cookie: event.cookie,
            origin: Origin::Kernel,
            subject: NO_NODE,
        }
    }

    /// An event the tree made.
    pub(super) fn made(made: &Synthetic, name: &[u8]) -> Waiting {
        Waiting {
            dir: made.dir,
            name: name.to_vec(),
            mask: made.mask,
            cookie: made.cookie,
            origin: made.origin,
            subject: made.subject,
        }
    }

    /// Whether it is to be delivered now, waits, or is dropped (its directory left).
    fn standing(&self, tree: &mut TreeWatcher) -> Standing {
        tree.standing_of(self.dir, &self.name, self.mask, self.origin, self.subject)
    }
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
}

impl TreeWatcher {
    /// Keeps the tree in step with one kernel event. Returns the directory it is about
    /// ([`NO_NODE`] for a queue overflow) and what becomes of it, or `None` for an event
    /// of a watch the tree has let go of. The event's name is left in `self.name`.
    pub(super) fn follow(
        &mut self,
        event: &RawEvent,
    ) -> Result<Option<(NodeId, Verdict)>, WatchError> {
        if event.mask.contains(EventMask::Q_OVERFLOW) {
            self.own.clear();
            self.held.clear();
            self.waiting.clear();
            self.delivered.clear();
            self.recrawl_due = true;
            return Ok(Some((NO_NODE, Verdict::Deliver)));
        }
        let dir = match self.nodes.by_wd(event.wd) {
            Some(dir) => dir,
            None => return Ok(None), // a watch the tree has let go of
        };
        let mut name = core::mem::take(&mut self.name);
        name.clear();
        let verdict = match self.reader.name(event) {
            Some(bytes) => {
                name.extend_from_slice(bytes);
                self.follow_entry(dir, &name, event)
            }
            None => Ok(Verdict::deliver_if(self.follow_self(dir, event.mask))),
        };
        self.name = name;
        Ok(Some((dir, verdict?)))
    }

    /// An event about the watched directory itself: whether the caller is to have it.
    fn follow_self(&mut self, dir: NodeId, mask: EventMask) -> bool {
        let is_root = self.nodes.get(dir).map_or(false, |node| node.is_root());
        if mask.contains(EventMask::IGNORED) {
            if is_root {
                // Deleted, unmounted, or let go of after a move: the root ends here.
                self.roots.retain(|&root| root != dir);
                self.forget_below(dir);
                self.nodes.clear_wd(dir);
                self.ended_roots.push(dir);
                return true;
            }
            self.forget_subtree(dir);
            return false;
        }
        if mask.contains(EventMask::UNMOUNT) {
            return true;
        }
        let own = self.own.take(&self.nodes, dir, b"", mask);
        if own && self.own.awaits_close(dir) && self.nodes.has_flag(dir, FLAG_LISTING) {
            // The end of one listing of the tree's own while another is still open (or
            // taken for it): the noise of that other one is still to come.
            return false;
        }
        if self.nodes.has_flag(dir, FLAG_LISTING) && mask.contains(EventMask::CLOSE_NOWRITE) {
            // The end of the tree's own listing, or a close of someone else's read
            // first (nothing tells them apart): what the listing found stays a
            // duplicate until every event queued before its end has been read, unless
            // it is deleted or moved first.
            self.nodes.set_flag(dir, FLAG_LISTING, false);
            if let Some(record) = self.open_listings.end(dir) {
                if !record.found.is_empty() || record.listed.is_some() {
                    let until = record
                        .until
                        .unwrap_or_else(|| self.events_read + self.reader.queued().events_at_most);
                    self.after_listings.add(dir, record, until);
                }
            }
            return false;
        }
        if own || (!is_root && mask.intersects(REPORTED_BY_PARENT)) {
            return false;
        }
        if is_root && mask.contains(EventMask::MOVE_SELF) {
            // Moved away: its paths mean nothing now. The kernel's IN_IGNORED for the
            // removed watch ends the root.
            self.forget_below(dir);
            if let Some(wd) = self.nodes.wd(dir) {
                let _ = self.reader.inotify().rm_watch(wd);
            }
        }
        self.wants(mask)
    }

    /// An event about the entry `name` of the watched directory `dir`: what becomes of
    /// it.
    fn follow_entry(
        &mut self,
        dir: NodeId,
        name: &[u8],
        event: &RawEvent,
    ) -> Result<Verdict, WatchError> {
        let (mask, cookie, wd) = (event.mask, event.cookie, event.wd);
        let is_dir = mask.contains(EventMask::ISDIR);
        let noise = is_dir && EventMask::from(LISTING_NOISE).intersects(mask);
        // Most events are about files: no lookup of a child for them.
        let child = if noise || mask.intersects(STRUCTURE) {
            self.nodes.child(dir, name)
        } else {
            None
        };
        if noise
            && (child.map_or(false, |child| self.nodes.has_flag(child, FLAG_LISTING))
                || self.own.take(&self.nodes, dir, name, mask))
        {
            return Ok(Verdict::Follow); // the tree's own listing of that directory
        }
        // What a listing found is reported once: the first kernel report of it before
        // the listing's end is the duplicate; a name made again after is not.
        // Of what was queued before a listing found the name, the changes of the entry
        // are in what the listing reported; the rest (a write to a file there then,
        // say) is delivered, and neither counts as the first report of what it found.
        let older = self.older_than_listing(dir, name)
            || (is_dir
                && mask.contains(EventMask::MOVED_FROM)
                && self.moved_before_listing(dir, name, cookie));
        let unseen = (!older && self.left_before_listing(dir, name, mask))
            || (is_dir
                && mask.intersects(EventMask::MOVED_FROM | EventMask::DELETE)
                && self.never_reported(dir, name, child, wd));
        let duplicate = if older {
            mask.intersects(STRUCTURE)
        } else {
            self.duplicate_of_found(dir, name, mask)
        };
        let structural = mask.intersects(STRUCTURE) && (is_dir || child.is_some());
        if structural {
            self.follow_on_disk(dir, name)?;
        }
        // A rename to or from an excluded name is a move out of or into the tree: only
        // its half in the tree is delivered, with no partner.
        let excluded_move = is_dir
            && mask.intersects(EventMask::MOVED_FROM | EventMask::MOVED_TO)
            && self.exclude.is_some()
            && self.is_excluded(dir, name);
        if duplicate {
            return Ok(Verdict::Repeat);
        }
        if unseen && !excluded_move {
            return Ok(Verdict::Unseen);
        }
        Ok(Verdict::deliver_if(!excluded_move && self.wants(mask)))
    }

    /// Whether `child`, the directory the disk view has as `name` in `dir` before an
    /// event that takes it away is followed (which may make it an orphan), is one the
    /// caller was never told of: its report never came (dropped with a listing that a
    /// rename above made stale), and the delivered view has nothing by that name there.
    /// Not so when an event read already brings that name to `dir` (the watch `wd`):
    /// `child` is what that one brings, and this event took an older one away.
    fn never_reported(
        &mut self,
        dir: NodeId,
        name: &[u8],
        child: Option<NodeId>,
        wd: WatchDescriptor,
    ) -> bool {
        child.map_or(false, |child| self.delivered.is_unreported(child))
            && !self.delivered.has_child(&self.nodes, dir, name)
            && !self.reader.name_arrives_later(wd, name)
    }

    /// Follows a change of the entry `name` of `dir` on disk, or holds it until `dir`
    /// has a known place.
    fn follow_on_disk(&mut self, dir: NodeId, name: &[u8]) -> Result<(), WatchError> {
        if self.unplaced(dir) {
            let held = Held {
                dir,
                name: name.to_vec(),
            };
            self.hold(held);
            return Ok(());
        }
        self.reconcile_entry(dir, name)
    }

    /// The directory a kernel event about `name` in `dir` brings there, for the
    /// delivered view: the one the disk view has by that name, unless an event read
    /// already takes that name away again. Then what the disk holds there now came
    /// later, and this event brought another directory, or this one before it left
    /// and came back (`mkdir w && mv w w-r && mkdir w`, read after all three): the
    /// directory there now is placed by its own arrival, read later.
    pub(super) fn arriving(
        &mut self,
        event: &RawEvent,
        dir: NodeId,
        name: &[u8],
    ) -> Option<NodeId> {
        let arrival = EventMask::CREATE | EventMask::MOVED_TO;
        if !event.mask.contains(EventMask::ISDIR) || !event.mask.intersects(arrival) {
            return None;
        }
        let child = self.nodes.child(dir, name)?;
        (!self.reader.name_leaves_later(event.wd, name)).then_some(child)
    }

    /// Keeps the delivered view in step with an event read (delivered or not): a
    /// directory created, deleted or moved. `subject`: the node of the directory that
    /// arrives, if it is known (found by a listing, or the one the disk view has by that
    /// name). A move that ends places its directory, and the events that waited
    /// for it are delivered next; a directory of the tree that arrives where the caller
    /// had no place for it (moved out and back in, say) is reported with what it holds.
    /// An event the caller does not `see` (a move of what it never had there) takes its
    /// directory away unseen.
    pub(super) fn apply_delivered(
        &mut self,
        dir: NodeId,
        name: &[u8],
        mask: EventMask,
        cookie: u32,
        subject: Option<NodeId>,
        see: bool,
    ) -> Result<(), WatchError> {
        if name.is_empty() || !mask.contains(EventMask::ISDIR) {
            return Ok(());
        }
        if self.exclude.is_some() && self.is_excluded(dir, name) {
            // Moved to an excluded name: it left the tree.
            if mask.contains(EventMask::MOVED_TO) && self.delivered.moved_out(cookie) {
                self.release_waiting();
            }
            return Ok(());
        }
        let nodes = &self.nodes;
        if mask.contains(EventMask::MOVED_FROM) {
            let since = (self.quiet_waits, self.reads);
            let told = see && self.delivered.standing(nodes, dir) == Standing::Placed;
            let here = self
                .delivered
                .moved_from(nodes, dir, name, (cookie, told), since);
            if !here {
                // A directory a listing found there, its report waiting for the events
                // to take it there: they show it leaving from there first. The caller
                // never had it there; it leaves unseen (where it arrives, what it holds
                // is reported), and the report goes.
                if let Some(subject) = self.take_found_report(dir, name) {
                    self.delivered.moving(subject, (cookie, false), since);
                }
            }
            // A directory found where it went, ahead of this event, is told of now.
            if !self.waiting.is_empty() {
                self.release_waiting();
            }
        } else if mask.intersects(EventMask::MOVED_TO | EventMask::CREATE) {
            let cookie = if mask.contains(EventMask::MOVED_TO) {
                cookie
            } else {
                0
            };
            match self.delivered.arrived(nodes, dir, name, cookie, subject) {
                Arrived::Nothing => {}
                Arrived::Placed => self.release_waiting(),
                Arrived::Unknown(id) => {
                    self.drop_waiting_within(id);
                    self.release_waiting();
                    match self.open_node(id)? {
                        Opened::Here(fd) => {
                            self.relist_below(id);
                            self.rescan_subtree(id, fd)?
                        }
                        Opened::NoDescriptor => {}
                        // Its path on disk does not name it now (out of its place, or a
                        // rename above it still to be read): it is listed, all of it
                        // reported, where it turns up, or once its path names it again.
                        Opened::Elsewhere => self.list_unreported_later(id),
                    }
                }
            }
        } else if mask.contains(EventMask::DELETE) && !self.delivered.deleted(nodes, dir, name) {
            if let Some(subject) = self.take_found_report(dir, name) {
                self.delivered.set_away(subject);
            }
        }
        Ok(())
    }

    /// The directory `id` is about to be listed again, all of it reported: the reports
    /// of what earlier listings at or below it found, still to be handed out, go (they
    /// would come before their directories' own, or twice), and so does what those
    /// listings found and saw, so that what the new listings see is what the caller has.
    fn relist_below(&mut self, id: NodeId) {
        let nodes = &self.nodes;
        let within = |dir: &NodeId| *dir == id || nodes.is_below(*dir, id);
        let reports =
            |made: &Synthetic| made.origin == Origin::Scan && made.mask.contains(EventMask::CREATE);
        self.synthetic
            .retain(|made| !(reports(made) && within(&made.dir)));
        self.open_listings.forget(within);
        self.after_listings.forget(within);
    }

    /// What is at or below `id` is reported by a listing of it, made now or when its path
    /// names it again, because the caller was never told it was where it is: the events
    /// that wait below it happened where the caller never had it, and they go (the
    /// listing reports what they left).
    pub(super) fn drop_waiting_within(&mut self, id: NodeId) {
        let (nodes, delivered) = (&self.nodes, &self.delivered);
        self.waiting
            .retain(|waiting| !delivered.is_within(nodes, waiting.dir, id));
    }

    /// Takes out of `waiting` the report of a directory a listing found as `name` in
    /// `dir`; returns that directory.
    fn take_found_report(&mut self, dir: NodeId, name: &[u8]) -> Option<NodeId> {
        let at = self.found_report(dir, name)?;
        Some(self.waiting.remove(at).subject)
    }

    /// The directory `id`, whose report the caller has not had yet, turned up at
    /// another place (the disk view has it at its first place still): that report is
    /// stale (as are the events that waited below it, which happened where the caller
    /// never had it), and the directory arrives where it is now as one the caller never
    /// had, with what it holds. The events of its watch still to be read up to the one
    /// that takes it from its first place happened there: they are not delivered, and
    /// its report where it is now waits for that event (or for its move to end unseen).
    pub(super) fn unreported_moved(&mut self, id: NodeId) {
        if !self.delivered.is_unreported(id) {
            return;
        }
        // Where its report would have placed it: the disk view may have taken it out of
        // there already (an orphan).
        let reported_at = self
            .waiting
            .iter()
            .find(|waiting| waiting.subject == id && waiting.mask.contains(EventMask::CREATE))
            .map(|waiting| (waiting.dir, waiting.name.clone()))
            .or_else(|| {
                let made = self
                    .synthetic
                    .iter()
                    .find(|made| made.subject == id && made.mask.contains(EventMask::CREATE))?;
                let span = made.name_at..made.name_at + made.name_len;
                let name = self.synthetic_names.get(span)?;
                Some((made.dir, name.to_vec()))
            });
        self.waiting.retain(|waiting| waiting.subject != id);
        self.synthetic.retain(|made| made.subject != id);
        let since = (self.quiet_waits, self.reads);
        match (reported_at, self.nodes.get(id)) {
            (Some((dir, name)), _) => self.delivered.left_unreported(id, (dir, &name), since),
            (None, Some(node)) if node.parent != NO_NODE => {
                let at = (node.parent, self.nodes.name(id));
                self.delivered.left_unreported(id, at, since);
            }
            _ => self.delivered.set_away(id),
        }
    }

    /// Where in `waiting` the report of a directory a listing found as `name` in `dir`
    /// is.
    fn found_report(&self, dir: NodeId, name: &[u8]) -> Option<usize> {
        self.waiting.iter().position(|waiting| {
            waiting.dir == dir
                && waiting.name == name
                && waiting.origin == Origin::Scan
                && waiting.subject != NO_NODE
                && waiting.mask.contains(EventMask::CREATE)
        })
    }

    /// Whether a kernel event (`mask`) about `name` in `dir` takes away a directory the
    /// caller never had there: one a listing found there, whose report waits for the
    /// events to take it there (see [`apply_delivered`](Self::apply_delivered)), or one
    /// found elsewhere before its report here was handed out. It is not delivered. (One
    /// whose report never came is [`never_reported`](Self::never_reported).)
    pub(super) fn leaves_unseen(&self, dir: NodeId, name: &[u8], mask: EventMask) -> bool {
        let leaves = mask.intersects(EventMask::MOVED_FROM | EventMask::DELETE);
        if !leaves || !mask.contains(EventMask::ISDIR) || name.is_empty() {
            return false;
        }
        if self.delivered.has_child(&self.nodes, dir, name) {
            return self.delivered.left_from(dir, name);
        }
        !self.waiting.is_empty() && self.found_report(dir, name).is_some()
    }

    /// Delivers next the waiting events whose directory is placed now, in the order
    /// they came; keeps those still in a move. Of those whose directory left the tree,
    /// the tree's own are followed in the delivered view (a kernel event was when it was
    /// read), and none is delivered.
    pub(super) fn release_waiting(&mut self) {
        let mut ready = Vec::new();
        for waiting in core::mem::take(&mut self.waiting) {
            match waiting.standing(self) {
                Standing::Placed => ready.push(waiting),
                Standing::Pending => self.waiting.push(waiting),
                Standing::Away if waiting.origin != Origin::Kernel => ready.push(waiting),
                Standing::Away => {}
            }
        }
        for waiting in ready.into_iter().rev() {
            let name_at = self.synthetic_names.len();
            self.synthetic_names.extend_from_slice(&waiting.name);
            self.synthetic.push_front(Synthetic {
                dir: waiting.dir,
                name_at,
                name_len: waiting.name.len(),
                mask: waiting.mask,
                cookie: waiting.cookie,
                origin: waiting.origin,
                subject: waiting.subject,
            });
        }
    }

    /// Whether an event about `name` in `dir` is to be delivered now, waits, or is
    /// dropped, by the delivered view. Two kinds of found events wait beyond that: a
    /// directory found where the events do not have it yet, and what a listing found in
    /// a directory whose path on disk the events have not reached (the listing saw it
    /// later than the events say): the events that get there are still to be read.
    pub(super) fn standing_of(
        &mut self,
        dir: NodeId,
        name: &[u8],
        mask: EventMask,
        origin: Origin,
        subject: NodeId,
    ) -> Standing {
        if self.found_ahead(subject, dir, name) {
            return Standing::Pending;
        }
        let standing = self.delivered.standing(&self.nodes, dir);
        let found = origin == Origin::Scan && mask.contains(EventMask::CREATE);
        if standing == Standing::Placed && found && self.listed_ahead(dir) {
            return Standing::Pending;
        }
        standing
    }

    /// Whether the path of `dir` on disk is not yet its path in the delivered view.
    fn listed_ahead(&mut self, dir: NodeId) -> bool {
        if self.delivered.is_empty() {
            return false;
        }
        // Not `self.path`: it may hold the path of the event being delivered.
        let mut on_disk = core::mem::take(&mut self.scratch);
        let mut told = core::mem::take(&mut self.told_path);
        let complete = self.nodes.path_into(dir, &mut on_disk);
        let placed = self.delivered.path_into(&self.nodes, dir, &mut told);
        let ahead = !complete || !placed || on_disk != told;
        self.scratch = on_disk;
        self.told_path = told;
        ahead
    }

    /// Whether a listing found the directory `subject` as `name` in `dir` while the
    /// delivered view still has it elsewhere: the event that says it left is still to
    /// be read, and the found event waits for it (then the caller is told what it
    /// holds).
    pub(super) fn found_ahead(&self, subject: NodeId, dir: NodeId, name: &[u8]) -> bool {
        subject != NO_NODE
            && self
                .delivered
                .placed_elsewhere(&self.nodes, subject, dir, name)
    }

    /// The moves of the delivered view whose other half has had time to come (`all`:
    /// every one, at a barrier) took their directories out of the tree: the events that
    /// waited for them are dropped.
    fn end_moves(&mut self, all: bool) {
        let (quiet_waits, reads) = (self.quiet_waits, self.reads);
        if self
            .delivered
            .end_moves(quiet_waits, reads, ORPHAN_BATCHES, all)
        {
            self.release_waiting();
        }
    }

    /// Everything queued has been read: where the delivered view still differs from the
    /// disk, the caller is told with events of the tree's own ([`Origin::Scan`]). A
    /// directory it has at another place is moved there (`IN_MOVED_FROM` and
    /// `IN_MOVED_TO` with a cookie of the tree's own); one the events never placed is
    /// reported with what it holds, as found by a scan.
    fn agree_with_disk(&mut self) -> Result<(), WatchError> {
        if self.delivered.is_empty() {
            return Ok(());
        }
        for apart in self.delivered.disagreements(&self.nodes) {
            let (id, at) = (apart.id, apart.at);
            let node = match self.nodes.get(id) {
                Some(node) => *node,
                None => continue,
            };
            if node.parent == NO_NODE || self.nodes.root_of(id) == NO_NODE {
                // Out of its place on disk: it turns up again or is let go.
                if at.is_none() {
                    self.delivered.set_away(id);
                }
                continue;
            }
            let name = self.nodes.name(id).to_vec();
            match at {
                Some((parent, old)) => {
                    self.tree_cookie = self.tree_cookie.wrapping_sub(1);
                    let cookie = self.tree_cookie;
                    self.tell(parent, &old, EventMask::MOVED_FROM, cookie, NO_NODE)?;
                    self.tell(node.parent, &name, EventMask::MOVED_TO, cookie, id)?;
                }
                None => {
                    self.tell(node.parent, &name, EventMask::CREATE, 0, id)?;
                }
            }
        }
        Ok(())
    }

    /// Tells the caller of a change of the directory `name` in `dir` that the tree made
    /// out: an event of the tree's own if the caller takes `mask`, else a change of the
    /// delivered view at once.
    fn tell(
        &mut self,
        dir: NodeId,
        name: &[u8],
        mask: EventMask,
        cookie: u32,
        subject: NodeId,
    ) -> Result<(), WatchError> {
        let mask = mask | EventMask::ISDIR;
        if self.wants(mask) {
            self.push_synthetic(dir, name, mask, Origin::Scan);
            if let Some(made) = self.synthetic.back_mut() {
                made.cookie = cookie;
                made.subject = subject;
            }
        } else {
            let subject = (subject != NO_NODE).then_some(subject);
            let subject = subject.or_else(|| self.nodes.child(dir, name));
            self.apply_delivered(dir, name, mask, cookie, subject, true)?;
        }
        Ok(())
    }

    /// Makes the child `name` of `dir` what the disk holds under that name now: the same
    /// node if it is the same directory, a directory of the tree moved here (found by
    /// its watch descriptor), a new one (watched and scanned), or none. A child that is
    /// no longer there becomes an orphan. When the path of `dir` no longer names it (a
    /// rename above it is still to be read), `dir` is listed again once it does.
    pub(super) fn reconcile_entry(&mut self, dir: NodeId, name: &[u8]) -> Result<(), WatchError> {
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
                let arrival = Arrival::Event;
                if let Some((id, fd)) = self.watch_entry(dir, &dir_fd, name, arrival)? {
                    self.scan(id, fd)?;
                }
                self.report_unwatched(dir);
            }
            Ok(_) => {
                if let Some(id) = current {
                    self.orphan(id);
                }
            }
            Err(error) if super::crawl::vanished(error.errno()) => {
                if let Some(id) = current {
                    self.orphan(id);
                }
            }
            // Cannot be looked at (EACCES on `dir`): what the tree has stays.
            Err(_) => {}
        }
        Ok(())
    }

    /// Whether the node `id` is watched and stands for the directory `stat` describes.
    pub(super) fn is_node_of(&self, id: NodeId, stat: &Stat) -> bool {
        self.nodes.get(id).map_or(false, |node| {
            node.is_watched() && self.nodes.ino(id) == stat.ino
        })
    }

    /// Forgets the orphan that stands for the inode `ino`, if there is one: it is known
    /// to have left the tree.
    pub(super) fn forget_orphan_of(&mut self, ino: u64) {
        let nodes = &self.nodes;
        let found = self
            .orphans
            .iter()
            .find(|orphan| nodes.get(orphan.id).is_some() && nodes.ino(orphan.id) == ino)
            .map(|orphan| orphan.id);
        if let Some(id) = found {
            self.forget_subtree(id);
        }
    }

    /// Takes `id` out of its place; it keeps its watches, as an orphan, until it turns
    /// up again or the next quiet wait but one.
    pub(super) fn orphan(&mut self, id: NodeId) {
        if self.nodes.get(id).map_or(true, |node| node.is_root()) || self.nodes.is_orphan(id) {
            return;
        }
        self.delivered.before_disk_change(&self.nodes, id);
        self.own_closes_leave(id);
        self.nodes.orphan(id);
        self.orphans.push(Orphan {
            id,
            since_quiet: self.quiet_waits,
            since_read: self.reads,
            dirty: false,
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

    /// Follows on disk the held changes whose directory has a known place again, in the
    /// order they came; drops those whose directory is gone.
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
                self.reconcile_entry(held.dir, &held.name)?;
            }
            // Events held while this pass ran came after the ones still waiting.
            waiting.append(&mut self.held);
            self.held = waiting;
            if !progress || self.held.is_empty() {
                return Ok(());
            }
        }
    }

    /// Lists again the directories at or below `top` whose path did not name them when
    /// an event needed it. One that cannot be listed yet stays on the list: it is
    /// listed when it is placed, or at the next quiet wait.
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
            if self.nodes.get(id).is_none() {
                continue; // forgotten by the listing of one before it
            }
            // One the listing of a directory before it took out of its place (it was
            // moved away from there), or whose path does not name it yet (a rename
            // above it still to be read): listed once it is placed, or by a quiet wait.
            if (self.unplaced(id) || !self.reconcile_dir(id)?) && !self.stale.contains(&id) {
                self.stale.push(id);
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
        self.after_listings.clear();
        // Every listing's end that was queued has been read: one still awaited was lost
        // in a queue overflow (or never comes, for a re-crawl's quiet listing), and what
        // that listing found is a duplicate of nothing still to come. (The map goes, with
        // room a large scan made in it.)
        self.open_listings.clear();
        self.nodes.clear_flag(FLAG_LISTING);
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
        self.agree_with_disk()
    }

    /// Every event queued before a `sync` marker has been followed: the other half of
    /// every rename before it has been read, so an orphan still waiting left the tree.
    pub(super) fn settle_at_barrier(&mut self) -> Result<(), WatchError> {
        for orphan in core::mem::take(&mut self.orphans) {
            if self.nodes.is_orphan(orphan.id) {
                self.forget_subtree(orphan.id);
            }
        }
        self.end_moves(true);
        Ok(())
    }

    /// Lets go of the orphans that have waited long enough for their other half: a whole
    /// quiet wait, or `ORPHAN_BATCHES` reads (under a load that leaves no quiet wait).
    /// One that was only slow to turn up is then watched and scanned again where it does.
    pub(super) fn settle_orphans(&mut self) {
        self.end_moves(false);
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

    /// Whether a kernel event about `name` in `dir` is an `IN_MOVED_FROM` of what the
    /// caller never had there: read before the end of a reporting listing of `dir` (so
    /// queued before it), of a name the listing did not see and no event read since
    /// brought there. An arrival read in that time adds its name.
    fn left_before_listing(&mut self, dir: NodeId, name: &[u8], mask: EventMask) -> bool {
        if name.is_empty() {
            return false;
        }
        let records = records_of(&mut self.open_listings, &mut self.after_listings, dir);
        let listed = match records
            .into_iter()
            .find_map(|record| record.listed.as_mut())
        {
            Some(listed) => listed,
            None => return false,
        };
        if mask.intersects(EventMask::CREATE | EventMask::MOVED_TO) {
            listed.insert(name);
            return false;
        }
        mask.contains(EventMask::MOVED_FROM) && !listed.remove(name)
    }

    /// Whether a kernel event about `name` in `dir` was queued before a listing of
    /// `dir` that found `name` began: what it tells (a creation, a move, a deletion, of
    /// this entry or of one that had the name before) is older than what the listing
    /// reported, so the caller has its outcome already.
    fn older_than_listing(&mut self, dir: NodeId, name: &[u8]) -> bool {
        let end = self.reader.last_event_end();
        records_of(&mut self.open_listings, &mut self.after_listings, dir)
            .any(|record| record.found_later(end, name))
    }

    /// Whether the rename of the directory `name` in `dir` whose `IN_MOVED_FROM`
    /// (`cookie`) was just read, queued while a listing of `dir` looked, moved an entry
    /// that had the name before the one the listing found (see
    /// [`moved_before`](super::found::ListingRecord::moved_before)): `mkdir w && mv w
    /// w-r && mkdir w` while the listing looked, which found the second `w` and `w-r`.
    /// Its other half must be the next event.
    fn moved_before_listing(&mut self, dir: NodeId, name: &[u8], cookie: u32) -> bool {
        let mut records =
            records_of(&mut self.open_listings, &mut self.after_listings, dir).peekable();
        if records.peek().is_none() {
            return false;
        }
        let wd = match self.nodes.wd(dir) {
            Some(wd) => wd,
            None => return false,
        };
        let end = self.reader.last_event_end();
        let to = match self.reader.next_moved_to(wd, cookie) {
            Some(to) => to,
            None => return false,
        };
        records.any(|record| record.moved_before(end, name, to))
    }

    /// Whether a kernel event about `name` in `dir` repeats what a listing found: its
    /// first `IN_CREATE` or `IN_MOVED_TO` does, during the listing or after it until
    /// every event queued before its end has been read; a deletion or a move away first
    /// means a later one is new.
    fn duplicate_of_found(&mut self, dir: NodeId, name: &[u8], mask: EventMask) -> bool {
        let arrives = mask.intersects(EventMask::CREATE | EventMask::MOVED_TO);
        let mut found = false;
        for record in records_of(&mut self.open_listings, &mut self.after_listings, dir) {
            if record.found.remove(name) {
                found = true;
                if arrives {
                    record.repeated.insert(name);
                }
            }
        }
        found && arrives
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

    /// The directory `id` leaves its parent: the parent's copies of the closes of the
    /// tree's own listings of it, still to come, are expected by its name.
    fn own_closes_leave(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.get(id) {
            if node.parent != NO_NODE && !node.is_root() {
                let parent = node.parent;
                self.own.leaving(id, parent, self.nodes.name(id));
            }
        }
    }

    fn forget(&mut self, id: NodeId, with_top: bool) {
        if with_top {
            self.own_closes_leave(id);
        }
        let inotify = self.reader.inotify();
        let open_listings = &mut self.open_listings;
        let after_listings = &mut self.after_listings;
        let mut gone = Vec::new();
        self.nodes.remove_subtree(id, with_top, |removed, wd| {
            open_listings.end(removed);
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
        after_listings.forget(is_gone);
        self.own.removed(&gone);
        self.delivered.removed(&gone);
        // A report of a removed directory (`subject`) goes with it: its id may be
        // given to another.
        self.waiting
            .retain(|waiting| !is_gone(&waiting.dir) && !is_gone(&waiting.subject));
        self.held.retain(|held| !is_gone(&held.dir));
        self.synthetic
            .retain(|made| !is_gone(&made.dir) && !is_gone(&made.subject));
        self.orphans.retain(|orphan| !is_gone(&orphan.id));
        self.stale.retain(|id| !is_gone(id));
    }
}
