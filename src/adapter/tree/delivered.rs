//! The delivered view of a tree: where each directory is as far as the events read so
//! far say, in the kernel's order, plus the tree's own scan events. The disk view in
//! `nodes` runs ahead of the queue (it places watches by what the disk holds now); this
//! view only follows the events. Paths of delivered events are built here, so each is
//! the path its directory had when the kernel queued the event, and replaying the
//! delivered events gives the same tree.
//!
//! Most of the time the two views agree, and this view stores nothing: it keeps only
//! the directories whose place here differs from their place in `nodes`.

use std::boxed::Box;
use std::collections::HashMap;
use std::vec::Vec;

use crate::adapter::nodes::{NodeId, Nodes, NO_NODE};

/// Where a directory is in the delivered view, when that differs from the disk view.
#[derive(Clone, Debug)]
enum Place {
    /// `name` under `parent`.
    At { parent: NodeId, name: Box<[u8]> },
    /// Taken away by an `IN_MOVED_FROM` with this cookie; its `IN_MOVED_TO` says where
    /// it went. `told`: whether the caller had the `IN_MOVED_FROM` at once (its
    /// directory was placed); one that was outside the tree, or waited, leaves the
    /// `IN_MOVED_TO` unpaired for the caller, an arrival. The counts of quiet waits and
    /// reads when it was taken away.
    Moving {
        cookie: u32,
        told: bool,
        since_quiet: u64,
        since_read: u64,
    },
    /// New to the tree on disk; its creation or arrival is still to be read.
    Unreported,
    /// Found by a listing at another place than `name` under `parent`, where it was
    /// watched before its report was delivered: the events of its watch still to be read
    /// happened there, where the caller never had it (not delivered), until the event
    /// that takes it away from there is read (then it is in a move). The counts of quiet
    /// waits and reads when it was found elsewhere, for a move whose first half never
    /// comes.
    Left {
        parent: NodeId,
        name: Box<[u8]>,
        since_quiet: u64,
        since_read: u64,
    },
    /// Not in the tree as far as the events say: moved out or deleted.
    Away,
}

impl Place {
    /// Whether it names a parent and a name.
    fn is_named(&self) -> bool {
        matches!(self, Place::At { .. } | Place::Left { .. })
    }
}

/// Where a directory stands in the delivered view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Standing {
    /// At a path.
    Placed,
    /// It or a directory above it is between the two halves of a move, or its arrival
    /// is still to be read: where it is will be known.
    Pending,
    /// Outside the tree.
    Away,
}

/// What an arrival did to the delivered view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Arrived {
    /// No directory of the tree was placed.
    Nothing,
    /// A directory in a move (its other half), or new to the tree, is placed now.
    Placed,
    /// A directory of the tree that the caller had no place for is placed now: what it
    /// holds is to be reported.
    Unknown(NodeId),
}

/// A directory placed apart from the disk view, and its parent and name here if it has
/// a place here.
pub(super) struct Disagreement {
    pub(super) id: NodeId,
    pub(super) at: Option<(NodeId, Vec<u8>)>,
}

/// The delivered view: the directories placed apart from the disk view.
#[derive(Debug, Default)]
pub(super) struct Delivered {
    apart: HashMap<NodeId, Place>,
    /// How many of `apart` are at a named place (`At` or `Left`): when none is, a
    /// lookup by name needs no pass over the map (which can hold every directory of a
    /// big tree moved in, each waiting for its report).
    named: usize,
    /// Scratch for path building.
    ancestors: Vec<NodeId>,
}

impl Delivered {
    /// Whether both views agree on every directory.
    pub(super) fn is_empty(&self) -> bool {
        self.apart.is_empty()
    }

    /// The disk view is about to change the place of `id`: its place here stays what it
    /// is now.
    pub(super) fn before_disk_change(&mut self, nodes: &Nodes, id: NodeId) {
        if self.apart.contains_key(&id) {
            return;
        }
        let place = match nodes.get(id) {
            Some(node) if node.is_root() => return,
            Some(node) if node.parent != NO_NODE => Place::At {
                parent: node.parent,
                name: nodes.name(id).into(),
            },
            _ => Place::Away,
        };
        self.put(id, place);
    }

    /// `id` is new in the disk view and not reported yet: outside the tree here until
    /// its creation (or arrival) is read.
    pub(super) fn not_yet_reported(&mut self, id: NodeId) {
        self.put(id, Place::Unreported);
    }

    /// Whether `id` is new in the disk view and its creation or arrival is still to be
    /// read.
    pub(super) fn is_unreported(&self, id: NodeId) -> bool {
        matches!(self.apart.get(&id), Some(Place::Unreported))
    }

    /// `id`, new in the disk view with its report still to be delivered, was found at
    /// another place than where the disk view has it now (`name` under `parent`): it is
    /// at no place here until the events take it from there.
    pub(super) fn left_unreported(
        &mut self,
        id: NodeId,
        (parent, name): (NodeId, &[u8]),
        (since_quiet, since_read): (u64, u64),
    ) {
        self.put(
            id,
            Place::Left {
                parent,
                name: name.into(),
                since_quiet,
                since_read,
            },
        );
    }

    /// Whether the directory named `name` in `parent` here is one the caller never had
    /// there ([`left_unreported`](Self::left_unreported), [`left_unseen`](Self::left_unseen)),
    /// the event that takes it away still to be read.
    pub(super) fn left_from(&self, parent: NodeId, name: &[u8]) -> bool {
        self.named > 0
            && self.apart.values().any(|place| {
                matches!(place, Place::Left { parent: at, name: named, .. }
                if *at == parent && &named[..] == name)
            })
    }

    /// `id`, placed under `parent` here, was not seen there by a listing of `parent` that
    /// the caller has all the reports of: the caller never had it there, and it is at no
    /// place here until the events take it from there.
    pub(super) fn left_unseen(
        &mut self,
        nodes: &Nodes,
        id: NodeId,
        parent: NodeId,
        since: (u64, u64),
    ) {
        let name = match self.place_of(nodes, id) {
            Some((at, name)) if at == parent => name.to_vec(),
            _ => return,
        };
        self.left_unreported(id, (parent, &name), since);
    }

    /// Forgets `id` here when both views agree on its place again. Returns whether they
    /// do.
    pub(super) fn agree_again(&mut self, nodes: &Nodes, id: NodeId) -> bool {
        let same = match (self.apart.get(&id), nodes.get(id)) {
            (Some(Place::At { parent, name }), Some(node)) => {
                node.parent == *parent && nodes.name(id) == &name[..]
            }
            _ => false,
        };
        if same {
            self.take(id);
            self.give_back_room();
        }
        same
    }

    /// Frees the map's room once it is empty again (a scan of a big directory moved in
    /// keeps each new directory here until its creation is delivered).
    fn give_back_room(&mut self) {
        if self.apart.is_empty() && self.apart.capacity() > 64 {
            self.apart = HashMap::new();
            self.named = 0;
        }
    }

    /// Forgets everything: after a queue overflow, the caller starts again from the
    /// disk.
    pub(super) fn clear(&mut self) {
        self.apart = HashMap::new();
        self.named = 0;
    }

    /// The nodes `gone` (sorted) were removed from the disk view: what was placed
    /// under one of them is outside the tree now.
    pub(super) fn removed(&mut self, gone: &[NodeId]) {
        if self.apart.is_empty() {
            return;
        }
        let is_gone = |id: &NodeId| gone.binary_search(id).is_ok();
        self.apart.retain(|id, _| !is_gone(id));
        self.give_back_room();
        for place in self.apart.values_mut() {
            if let Place::At { parent, .. } | Place::Left { parent, .. } = place {
                if is_gone(parent) {
                    *place = Place::Away;
                }
            }
        }
        self.recount();
    }

    /// The parent and name of `id` here; `None` when it is at no place.
    fn place_of<'n>(&'n self, nodes: &'n Nodes, id: NodeId) -> Option<(NodeId, &'n [u8])> {
        match self.apart.get(&id) {
            Some(Place::At { parent, name }) => Some((*parent, name)),
            Some(_) => None,
            None => {
                let node = nodes.get(id)?;
                (node.is_root() || node.parent != NO_NODE).then(|| (node.parent, nodes.name(id)))
            }
        }
    }

    /// Whether `id` is `top` or lies below it here (a directory whose arrival is still
    /// to be read counts as where it is on disk).
    pub(super) fn is_within(&self, nodes: &Nodes, id: NodeId, top: NodeId) -> bool {
        let mut at = id;
        for _ in 0..=nodes.len() {
            if at == top {
                return true;
            }
            let place = match self.apart.get(&at) {
                Some(Place::Unreported) => nodes.get(at).map(|node| (node.parent, &[][..])),
                _ => self.place_of(nodes, at),
            };
            match place {
                Some((parent, _)) if parent != NO_NODE => at = parent,
                _ => return false,
            }
        }
        false
    }

    /// Whether `id` has a place here other than `name` in `parent`, or is between the
    /// two halves of a move: a listing found it there, ahead of the events that will say
    /// it left its place here and where it went (it may go through other places first).
    pub(super) fn placed_elsewhere(
        &self,
        nodes: &Nodes,
        id: NodeId,
        parent: NodeId,
        name: &[u8],
    ) -> bool {
        if let Some(Place::Moving { .. } | Place::Left { .. }) = self.apart.get(&id) {
            return true;
        }
        self.place_of(nodes, id)
            .map_or(false, |(at, named)| at != parent || named != name)
    }

    /// Where `id` stands: placed, in a move, or away.
    pub(super) fn standing(&self, nodes: &Nodes, id: NodeId) -> Standing {
        if self.apart.is_empty() {
            // Both views agree, and nothing is out of its place on disk either (a
            // directory taken out of its place on disk is kept apart here first).
            return if nodes.get(id).is_some() {
                Standing::Placed
            } else {
                Standing::Away
            };
        }
        let mut at = id;
        for _ in 0..=nodes.len() {
            if let Some(Place::Moving { .. } | Place::Unreported) = self.apart.get(&at) {
                return Standing::Pending;
            }
            match self.place_of(nodes, at) {
                Some((NO_NODE, _)) => return Standing::Placed,
                Some((parent, _)) => at = parent,
                None => return Standing::Away,
            }
        }
        Standing::Away
    }

    /// Writes the path of `id` here into `out` (cleared first). Returns false when it
    /// has none (in a move, or away).
    pub(super) fn path_into(&mut self, nodes: &Nodes, id: NodeId, out: &mut Vec<u8>) -> bool {
        out.clear();
        let mut ancestors = core::mem::take(&mut self.ancestors);
        ancestors.clear();
        let mut at = id;
        let complete = loop {
            if ancestors.len() > nodes.len() {
                break false;
            }
            match self.place_of(nodes, at) {
                Some((NO_NODE, _)) => {
                    ancestors.push(at);
                    break true;
                }
                Some((parent, _)) => {
                    ancestors.push(at);
                    at = parent;
                }
                None => break false,
            }
        };
        if complete {
            for (i, &node) in ancestors.iter().rev().enumerate() {
                if i > 0 && out.last() != Some(&b'/') {
                    out.push(b'/');
                }
                out.extend_from_slice(self.place_of(nodes, node).map_or(&[], |(_, name)| name));
            }
        }
        self.ancestors = ancestors;
        complete
    }

    /// Whether a directory is named `name` in `parent` here.
    pub(super) fn has_child(&self, nodes: &Nodes, parent: NodeId, name: &[u8]) -> bool {
        self.child(nodes, parent, name).is_some()
    }

    /// The directory named `name` in `parent` here (or that left there unseen, its
    /// events still to say so).
    fn child(&self, nodes: &Nodes, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        let named = if self.named > 0 {
            Some(&self.apart)
        } else {
            None
        };
        let apart = named
            .into_iter()
            .flatten()
            .find_map(|(&id, place)| match place {
                Place::At {
                    parent: at,
                    name: named,
                }
                | Place::Left {
                    parent: at,
                    name: named,
                    ..
                } if *at == parent && &named[..] == name => Some(id),
                _ => None,
            });
        apart.or_else(|| {
            nodes
                .child(parent, name)
                .filter(|id| !self.apart.contains_key(id))
        })
    }

    /// The directory `name` in `parent` was moved away (`IN_MOVED_FROM` with `cookie`),
    /// which the caller was `told` of at once (or not: `parent` is out of the tree, or
    /// between the halves of a move). Returns whether a directory had that name here.
    pub(super) fn moved_from(
        &mut self,
        nodes: &Nodes,
        parent: NodeId,
        name: &[u8],
        move_of: (u32, bool),
        since: (u64, u64),
    ) -> bool {
        match self.child(nodes, parent, name) {
            Some(id) => {
                self.moving(id, move_of, since);
                true
            }
            None => false,
        }
    }

    /// The `IN_MOVED_FROM` with `cookie`, which waited, has been handed out before its
    /// other half was read: the caller can pair the two, so the move is one it was told
    /// of.
    pub(super) fn move_told(&mut self, cookie: u32) {
        for place in self.apart.values_mut() {
            if let Place::Moving {
                cookie: moved,
                told,
                ..
            } = place
            {
                if *moved == cookie {
                    *told = true;
                }
            }
        }
    }

    /// `id` is between the two halves of a move (`cookie`, and whether the caller was
    /// `told` of its first half).
    pub(super) fn moving(&mut self, id: NodeId, (cookie, told): (u32, bool), since: (u64, u64)) {
        let (since_quiet, since_read) = since;
        self.put(
            id,
            Place::Moving {
                cookie,
                told,
                since_quiet,
                since_read,
            },
        );
    }

    /// The directory `name` arrived in `parent`: created, or moved there (`cookie` of
    /// its `IN_MOVED_TO`, 0 for a creation). `subject` is the disk view's node by that
    /// name, if it has one.
    ///
    /// Which directory arrived: the disk view's node by that name when it has no place
    /// here yet (new to the tree, or in a move); else the one in a move with the same
    /// cookie. The disk view can run ahead of the events, and a name can be taken again
    /// by another directory before the events are read, so the first guess can be
    /// wrong; the events that follow put it right.
    pub(super) fn arrived(
        &mut self,
        nodes: &Nodes,
        parent: NodeId,
        name: &[u8],
        cookie: u32,
        subject: Option<NodeId>,
    ) -> Arrived {
        let moving = if cookie == 0 {
            None
        } else {
            self.apart.iter().find_map(|(&id, place)| match place {
                Place::Moving { cookie: c, .. } if *c == cookie => Some(id),
                _ => None,
            })
        };
        let unplaced = subject.filter(|&id| self.place_of(nodes, id).is_none());
        let id = match unplaced.or(moving) {
            Some(id) => id,
            None => return Arrived::Nothing,
        };
        // A directory that had the name here is replaced.
        if let Some(replaced) = self.child(nodes, parent, name).filter(|&other| other != id) {
            self.before_disk_change(nodes, replaced);
            self.put(replaced, Place::Away);
        }
        let arrived = match self.apart.get(&id) {
            Some(Place::Moving {
                cookie: c,
                told: true,
                ..
            }) if *c == cookie => Arrived::Placed,
            Some(Place::Unreported) => Arrived::Placed,
            _ => Arrived::Unknown(id),
        };
        self.put(
            id,
            Place::At {
                parent,
                name: name.into(),
            },
        );
        self.agree_again(nodes, id);
        arrived
    }

    /// The directory in a move with `cookie` went out of the tree (to an excluded
    /// name). Returns whether there was one.
    pub(super) fn moved_out(&mut self, cookie: u32) -> bool {
        let moving = self
            .apart
            .iter_mut()
            .find(|(_, place)| matches!(place, Place::Moving { cookie: c, .. } if *c == cookie));
        match moving {
            Some((_, place)) => {
                *place = Place::Away;
                true
            }
            None => false,
        }
    }

    /// The directory `name` in `parent` was deleted. Returns whether a directory had
    /// that name here.
    pub(super) fn deleted(&mut self, nodes: &Nodes, parent: NodeId, name: &[u8]) -> bool {
        let child = self.child(nodes, parent, name);
        if let Some(id) = child {
            self.put(id, Place::Away);
        }
        child.is_some()
    }

    /// Ends the moves whose other half has had time to come (a whole quiet wait, or
    /// `max_reads` reads, or every one when `all`): their directories left the tree.
    /// Returns whether any ended.
    pub(super) fn end_moves(
        &mut self,
        quiet_waits: u64,
        reads: u64,
        max_reads: u64,
        all: bool,
    ) -> bool {
        let mut ended = false;
        for place in self.apart.values_mut() {
            if let Place::Moving {
                since_quiet,
                since_read,
                ..
            }
            | Place::Left {
                since_quiet,
                since_read,
                ..
            } = *place
            {
                if all || quiet_waits > since_quiet + 1 || reads >= since_read + max_reads {
                    *place = Place::Away;
                    ended = true;
                }
            }
        }
        if ended {
            self.recount();
        }
        ended
    }

    /// The directories placed apart from the disk view, parents before children (by
    /// their depth on disk), each with its place here when it has one.
    pub(super) fn disagreements(&self, nodes: &Nodes) -> Vec<Disagreement> {
        let depth = |id: NodeId| {
            let mut depth = 0;
            let mut at = id;
            while let Some(node) = nodes.get(at) {
                if node.parent == NO_NODE || depth > nodes.len() {
                    break;
                }
                at = node.parent;
                depth += 1;
            }
            depth
        };
        let mut all: Vec<Disagreement> = self
            .apart
            .iter()
            .map(|(&id, place)| Disagreement {
                id,
                at: match place {
                    Place::At { parent, name } => Some((*parent, name.to_vec())),
                    _ => None,
                },
            })
            .collect();
        all.sort_unstable_by_key(|apart| (depth(apart.id), apart.id));
        all
    }

    /// Sets the place of `id` here, apart from the disk view.
    fn put(&mut self, id: NodeId, place: Place) {
        let named = place.is_named();
        if self
            .apart
            .insert(id, place)
            .map_or(false, |old| old.is_named())
        {
            self.named -= 1;
        }
        if named {
            self.named += 1;
        }
    }

    /// `id` is where the disk view has it.
    fn take(&mut self, id: NodeId) {
        if self.apart.remove(&id).map_or(false, |old| old.is_named()) {
            self.named -= 1;
        }
    }

    /// Counts the places at a name again, after a change of many.
    fn recount(&mut self) {
        self.named = self.apart.values().filter(|place| place.is_named()).count();
    }

    /// Takes `id` out of the tree here (no event will place it).
    pub(super) fn set_away(&mut self, id: NodeId) {
        self.put(id, Place::Away);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::string::String;

    /// A root with children `a` and `b`, and `s` below `a`.
    fn tree() -> (Nodes, [NodeId; 4]) {
        let mut nodes = Nodes::default();
        let root = nodes.add_root(Path::new("/r"), 1);
        let a = nodes.add_child(root, b"a", 2);
        let b = nodes.add_child(root, b"b", 3);
        let s = nodes.add_child(a, b"s", 4);
        (nodes, [root, a, b, s])
    }

    fn path(delivered: &mut Delivered, nodes: &Nodes, id: NodeId) -> Option<String> {
        let mut out = Vec::new();
        delivered
            .path_into(nodes, id, &mut out)
            .then(|| String::from_utf8(out).unwrap())
    }

    /// Checks the count of named places against a pass over the map.
    fn assert_counted(delivered: &Delivered) {
        let named = delivered.apart.values().filter(|p| p.is_named()).count();
        assert_eq!(delivered.named, named);
    }

    #[test]
    fn the_named_places_are_counted_through_every_change() {
        let (mut nodes, [root, a, b, s]) = tree();
        let mut delivered = Delivered::default();
        // Many new directories waiting for their reports: none named, no pass to find
        // a child by name.
        delivered.not_yet_reported(b);
        delivered.not_yet_reported(s);
        assert_counted(&delivered);
        assert_eq!(delivered.named, 0);
        assert_eq!(delivered.child(&nodes, root, b"b"), None);
        delivered.before_disk_change(&nodes, a);
        nodes.rename(a, b, b"c");
        assert_counted(&delivered);
        assert_eq!(delivered.child(&nodes, root, b"a"), Some(a));
        delivered.moved_from(&nodes, root, b"a", (9, true), (0, 0));
        assert_counted(&delivered);
        delivered.left_unreported(s, (root, b"x"), (0, 0));
        assert_counted(&delivered);
        assert!(delivered.left_from(root, b"x"));
        assert!(delivered.end_moves(5, 0, 16, false));
        assert_counted(&delivered);
        delivered.arrived(&nodes, b, b"c", 0, Some(a));
        assert_counted(&delivered);
        delivered.removed(&[b]);
        assert_counted(&delivered);
        delivered.set_away(a);
        assert_counted(&delivered);
        delivered.clear();
        assert_counted(&delivered);
    }

    #[test]
    fn a_view_that_agrees_with_the_disk_stores_nothing() {
        let (nodes, [_, _, _, s]) = tree();
        let mut delivered = Delivered::default();
        assert!(delivered.is_empty());
        assert_eq!(path(&mut delivered, &nodes, s).as_deref(), Some("/r/a/s"));
        assert_eq!(delivered.standing(&nodes, s), Standing::Placed);
    }

    #[test]
    fn paths_follow_the_events_while_the_disk_runs_ahead() {
        let (mut nodes, [root, a, _, s]) = tree();
        let mut delivered = Delivered::default();
        // On disk, `a` is already `c`; the events have not said so yet.
        delivered.before_disk_change(&nodes, a);
        nodes.rename(a, root, b"c");
        assert_eq!(path(&mut delivered, &nodes, s).as_deref(), Some("/r/a/s"));
        // IN_MOVED_FROM a, then IN_MOVED_TO c with the same cookie.
        delivered.moved_from(&nodes, root, b"a", (7, true), (0, 0));
        assert_eq!(delivered.standing(&nodes, s), Standing::Pending);
        assert_eq!(path(&mut delivered, &nodes, s), None);
        assert_eq!(
            delivered.arrived(&nodes, root, b"c", 7, Some(a)),
            Arrived::Placed
        );
        assert_eq!(path(&mut delivered, &nodes, s).as_deref(), Some("/r/c/s"));
        assert!(delivered.is_empty(), "the views agree again");
    }

    #[test]
    fn a_move_the_caller_was_not_told_of_at_once_ends_in_an_arrival() {
        let (mut nodes, [root, a, b, s]) = tree();
        let mut delivered = Delivered::default();
        // `a` moves to `b/c`; its IN_MOVED_FROM is read while the caller does not have
        // `root` placed (it waits, or is outside the tree).
        delivered.before_disk_change(&nodes, a);
        nodes.rename(a, b, b"c");
        delivered.moved_from(&nodes, root, b"a", (5, false), (0, 0));
        assert_eq!(delivered.standing(&nodes, s), Standing::Pending);
        // Its IN_MOVED_TO alone is what the caller has: what `c` holds is to be told.
        assert_eq!(
            delivered.arrived(&nodes, b, b"c", 5, Some(a)),
            Arrived::Unknown(a)
        );
        assert_eq!(path(&mut delivered, &nodes, s).as_deref(), Some("/r/b/c/s"));
    }

    #[test]
    fn a_move_with_no_other_half_leaves_the_tree() {
        let (nodes, [root, a, _, s]) = tree();
        let mut delivered = Delivered::default();
        delivered.moved_from(&nodes, root, b"a", (9, true), (0, 0));
        assert!(!delivered.end_moves(0, 3, 16, false), "not yet");
        assert!(
            delivered.end_moves(2, 3, 16, false),
            "a whole quiet wait later"
        );
        assert_eq!(delivered.standing(&nodes, s), Standing::Away);
        assert_eq!(delivered.standing(&nodes, a), Standing::Away);
    }

    #[test]
    fn a_directory_new_on_disk_waits_for_its_creation() {
        let (mut nodes, [root, ..]) = tree();
        let mut delivered = Delivered::default();
        let n = nodes.add_child(root, b"n", 5);
        delivered.not_yet_reported(n);
        assert_eq!(delivered.standing(&nodes, n), Standing::Pending);
        assert_eq!(
            delivered.arrived(&nodes, root, b"n", 0, Some(n)),
            Arrived::Placed
        );
        assert_eq!(delivered.standing(&nodes, n), Standing::Placed);
    }

    #[test]
    fn a_directory_found_ahead_of_its_move_is_placed_elsewhere_until_it_leaves() {
        let (mut nodes, [root, a, b, _]) = tree();
        let mut delivered = Delivered::default();
        // On disk `a` is now `b/a`; a listing of `b` found it there.
        delivered.before_disk_change(&nodes, a);
        nodes.rename(a, b, b"a");
        assert!(delivered.placed_elsewhere(&nodes, a, b, b"a"));
        delivered.moved_from(&nodes, root, b"a", (3, true), (0, 0));
        assert!(
            delivered.placed_elsewhere(&nodes, a, b, b"a"),
            "in a move: where it goes (maybe somewhere else first) is still to be read"
        );
        // Its IN_MOVED_TO repeats what the listing found: that move ends out of view.
        assert!(delivered.moved_out(3));
        assert!(!delivered.placed_elsewhere(&nodes, a, b, b"a"));
        // Its arrival has no partner: the caller is told what it holds.
        assert_eq!(
            delivered.arrived(&nodes, b, b"a", 0, Some(a)),
            Arrived::Unknown(a)
        );
    }

    #[test]
    fn what_was_placed_under_a_removed_directory_is_away() {
        let (mut nodes, [root, a, b, s]) = tree();
        let mut delivered = Delivered::default();
        delivered.before_disk_change(&nodes, s);
        nodes.rename(s, b, b"s");
        // Here `s` is still below `a`; `a` goes from the disk view.
        nodes.remove_subtree(a, true, |_, _| {});
        delivered.removed(&[a]);
        assert_eq!(delivered.standing(&nodes, s), Standing::Away);
        let _ = root;
    }
}
