//! [`Nodes`]: the directories of a tree, one small node each (parent, name, inode, watch
//! descriptor), with lookups by watch descriptor and by (parent, name). Paths are built
//! on demand; a rename is O(1) whatever the size of the subtree.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::vec::Vec;

use super::mapped::reserve_mapped;
use crate::parse::WatchDescriptor;

/// A node's index in [`Nodes`].
pub(crate) type NodeId = u32;

/// No node: the parent of a root, an empty slot of the child index.
pub(crate) const NO_NODE: NodeId = u32::MAX;

/// A node's `wd` bytes while it is not watched (the kernel's descriptors start at 1).
const NO_WD: u32 = 0;
/// A node's `wd` bytes when its descriptor does not fit in them (or is not positive):
/// the descriptor is then in [`Nodes`]'s `high_wds`.
const WD_ELSEWHERE: u32 = 0xff_ffff;

/// One directory of the tree: 16 bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    /// The parent directory; [`NO_NODE`] for a root.
    pub(crate) parent: NodeId,
    /// The low half of the inode the node stands for (what ties it to one object,
    /// whatever its path). The high half, when it is not 0, is in [`Nodes`]'s
    /// `high_inos` (and the node has [`FLAG_HIGH_INO`]): most file systems give 32-bit
    /// inode numbers.
    ino: u32,
    /// The name itself, padded with NULs, when it has at most [`INLINE_NAME`] bytes
    /// (names hold no NUL); else ([`FLAG_ARENA`]) where it starts in the name arena, a
    /// `u32`. For a root: the index of its path in `root_paths`.
    name: [u8; INLINE_NAME],
    /// The watch descriptor in 24 bits, little-endian: [`NO_WD`] or [`WD_ELSEWHERE`].
    /// Descriptors come in sequence from 1, so they need more only after millions of
    /// watches.
    wd: [u8; 3],
    /// `FLAG_*` bits.
    pub(crate) flags: u8,
}

/// Names this short are kept in their node, not in the name arena.
const INLINE_NAME: usize = 4;

/// The node is a root: its "name" is a whole path, given by the user.
const FLAG_ROOT: u8 = 1;
/// The slot is free.
const FLAG_FREE: u8 = 2;
/// The tree listed this directory and the end of that listing (its `IN_CLOSE_NOWRITE`)
/// has not yet been read back: the kernel events about it until then are the tree's
/// own, or duplicates of what the listing found.
pub(crate) const FLAG_LISTING: u8 = 4;
/// The directory turned up at its place with no event to say so, and what it holds has
/// not been reported there yet: it is listed, and all of it reported, when it is next
/// placed.
pub(crate) const FLAG_UNREPORTED: u8 = 8;
/// The node is in the child index (it is not on its parent's run of children).
const FLAG_INDEXED: u8 = 16;
/// The caller's exclusion predicate matched the directory's name where it is: nothing
/// below it is delivered (an [`FsWatcher`](crate::FsWatcher)'s node).
pub(crate) const FLAG_EXCLUDED: u8 = 32;
/// The high half of the node's inode is not 0: it is in `Nodes::high_inos`.
const FLAG_HIGH_INO: u8 = 64;
/// The name is in the arena: its length in a byte, then the name.
const FLAG_ARENA: u8 = 128;

impl Node {
    /// Whether the directory is watched.
    pub(crate) fn is_watched(&self) -> bool {
        self.wd_bits() != NO_WD
    }

    fn wd_bits(&self) -> u32 {
        u32::from_le_bytes([self.wd[0], self.wd[1], self.wd[2], 0])
    }

    pub(crate) fn is_root(&self) -> bool {
        self.flags & FLAG_ROOT != 0
    }
}

/// The children of one directory: how many there are, and the ids of the first of them
/// to be made one after another (most of a listing's), which a lookup scans rather than
/// keep them in the child index.
#[derive(Clone, Copy, Debug, Default)]
struct Family {
    /// The run: ids `first..first + len`. An id on it is a child while its node has
    /// this parent.
    first: NodeId,
    len: u16,
    /// How many nodes have this parent, until `u16::MAX`: a count that reaches it stays
    /// there, and then only says that there may be children.
    count: u16,
}

/// The longest run of children: how many nodes a lookup scans at most.
const MAX_RUN: u16 = 32;

/// How many slots a tree has before it grows to a mapped array: enough for most small
/// trees.
const FIRST_SLOTS: usize = 64;

/// Every directory of a tree.
#[derive(Debug, Default)]
pub(crate) struct Nodes {
    slots: Vec<Node>,
    free: Vec<NodeId>,
    /// Names back to back; renamed and removed nodes leave garbage, compacted now and
    /// then.
    names: Vec<u8>,
    garbage: usize,
    /// How many nodes have each bit of the flags that [`set_flag`](Self::set_flag)
    /// changes.
    flag_counts: [u32; 8],
    /// The high halves of the inodes that have one (the nodes with [`FLAG_HIGH_INO`]).
    high_inos: IdTable<u32>,
    /// The watch descriptors that do not fit in a node (those nodes' `wd` is
    /// [`WD_ELSEWHERE`]).
    high_wds: IdTable<i32>,
    /// The children of each directory that has any, by its id. Grown only by
    /// [`rebuild_children`](Self::rebuild_children).
    families: IdTable<Family>,
    /// The paths of the roots, by the index a root node keeps in `name`.
    root_paths: Vec<Option<Vec<u8>>>,
    /// The watched nodes, by watch descriptor.
    by_wd: WdIndex,
    /// The children that are not on their parent's run, by (parent, name).
    index: IdTable,
    /// Ancestors, reused by `path_into`.
    ancestors: Vec<NodeId>,
}

impl Nodes {
    pub(crate) fn get(&self, id: NodeId) -> Option<&Node> {
        self.slots
            .get(id as usize)
            .filter(|node| node.flags & FLAG_FREE == 0)
    }

    fn slot(&mut self, id: NodeId) -> Option<&mut Node> {
        self.slots
            .get_mut(id as usize)
            .filter(|node| node.flags & FLAG_FREE == 0)
    }

    /// How many directories the tree holds.
    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// How many directories are watched.
    pub(crate) fn watched(&self) -> usize {
        self.by_wd.len()
    }

    /// Sets or clears `flag` ([`FLAG_LISTING`] or [`FLAG_UNREPORTED`]) on `id`.
    pub(crate) fn set_flag(&mut self, id: NodeId, flag: u8, on: bool) {
        let changed = match self.slot(id) {
            Some(node) => {
                let before = node.flags;
                if on {
                    node.flags |= flag;
                } else {
                    node.flags &= !flag;
                }
                before ^ node.flags
            }
            None => return,
        };
        self.count_flags(changed, on);
    }

    /// Clears `flag` ([`FLAG_LISTING`] or [`FLAG_UNREPORTED`]) on every node: one pass
    /// over the nodes, none when no node has it.
    pub(crate) fn clear_flag(&mut self, flag: u8) {
        let bit = flag.trailing_zeros() as usize;
        if self.flag_counts.get(bit).map_or(true, |&count| count == 0) {
            return;
        }
        for node in self.slots.iter_mut() {
            if node.flags & FLAG_FREE == 0 {
                node.flags &= !flag;
            }
        }
        self.flag_counts[bit] = 0;
    }

    /// Counts the nodes that gained (or lost) each of the flag bits in `bits`.
    fn count_flags(&mut self, bits: u8, gained: bool) {
        for (bit, count) in self.flag_counts.iter_mut().enumerate() {
            if bits & (1 << bit) != 0 {
                *count = if gained {
                    *count + 1
                } else {
                    count.saturating_sub(1)
                };
            }
        }
    }

    pub(crate) fn has_flag(&self, id: NodeId, flag: u8) -> bool {
        self.get(id).map_or(false, |node| node.flags & flag != 0)
    }

    /// Whether `id`, or a directory on its chain of parents, has `flag`.
    pub(crate) fn flag_at_or_above(&self, id: NodeId, flag: u8) -> bool {
        let mut at = id;
        let mut steps = 0;
        while let Some(node) = self.get(at) {
            if node.flags & flag != 0 {
                return true;
            }
            if node.parent == NO_NODE || steps > self.slots.len() {
                return false;
            }
            at = node.parent;
            steps += 1;
        }
        false
    }

    /// The node's name: its last path component (a root: its whole path).
    pub(crate) fn name(&self, id: NodeId) -> &[u8] {
        match self.get(id) {
            Some(node) if node.is_root() => self
                .root_paths
                .get(u32::from_ne_bytes(node.name) as usize)
                .and_then(Option::as_deref)
                .unwrap_or(&[]),
            Some(node) => name_of(node, &self.names),
            None => &[],
        }
    }

    fn alloc(&mut self, node: Node) -> NodeId {
        match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = node;
                id
            }
            None => {
                if self.slots.len() == FIRST_SLOTS {
                    // Straight to a length the allocator maps on its own, whose pages
                    // cost nothing until they are used: growing by doubling below it
                    // would leave each shorter array behind in the heap, still resident.
                    reserve_mapped(&mut self.slots, FIRST_SLOTS + 1);
                }
                self.slots.push(node);
                (self.slots.len() - 1) as NodeId
            }
        }
    }

    /// Adds a root node for `path`, with no watch yet.
    pub(crate) fn add_root(&mut self, path: &Path, ino: u64) -> NodeId {
        let at = self.root_paths.len() as u32;
        self.root_paths
            .push(Some(path.as_os_str().as_bytes().to_vec()));
        let id = self.alloc(Node {
            parent: NO_NODE,
            ino: 0,
            name: at.to_ne_bytes(),
            wd: [0; 3],
            flags: FLAG_ROOT,
        });
        self.set_ino(id, ino);
        id
    }

    /// Adds the directory `name` under `parent`, with no watch yet. The caller has made
    /// sure no node has that name there (see [`child`](Self::child)).
    pub(crate) fn add_child(&mut self, parent: NodeId, name: &[u8], ino: u64) -> NodeId {
        let (name, in_arena) = self.store_name(name);
        let id = self.alloc(Node {
            parent,
            ino: 0,
            name,
            wd: [0; 3],
            flags: if in_arena { FLAG_ARENA } else { 0 },
        });
        self.set_ino(id, ino);
        self.index_insert(id);
        id
    }

    /// Keeps `name` (cut at 255 bytes) for a node: in the node when it is short, else in
    /// the arena. Returns the node's `name`, and whether it is in the arena.
    fn store_name(&mut self, name: &[u8]) -> ([u8; INLINE_NAME], bool) {
        let name = &name[..name.len().min(255)];
        let mut stored = [0; INLINE_NAME];
        if name.len() <= INLINE_NAME && !name.contains(&0) {
            stored[..name.len()].copy_from_slice(name);
            (stored, false)
        } else {
            stored = (self.names.len() as u32).to_ne_bytes();
            self.names.push(name.len() as u8);
            self.names.extend_from_slice(name);
            (stored, true)
        }
    }

    /// How many bytes of the arena `node`'s name takes.
    fn arena_len(&self, node: &Node) -> usize {
        if node.flags & (FLAG_ARENA | FLAG_ROOT) != FLAG_ARENA {
            return 0;
        }
        let at = u32::from_ne_bytes(node.name) as usize;
        1 + self.names.get(at).map_or(0, |&len| usize::from(len))
    }

    /// The watch descriptor of `id`, if it is watched.
    pub(crate) fn wd(&self, id: NodeId) -> Option<WatchDescriptor> {
        wd_in(&self.slots, &self.high_wds, id).map(WatchDescriptor::from_raw)
    }

    /// Records that `id` is watched as `wd`. Returns the watch it had before, if that
    /// was another one: nothing refers to it now, so the caller removes it.
    pub(crate) fn set_wd(&mut self, id: NodeId, wd: WatchDescriptor) -> Option<WatchDescriptor> {
        self.get(id)?;
        let old = wd_in(&self.slots, &self.high_wds, id);
        if old == Some(wd.raw()) {
            return None;
        }
        if let Some(old) = old {
            self.wd_remove(id, old);
        }
        self.store_wd(id, Some(wd.raw()));
        let (slots, high_wds) = (&self.slots, &self.high_wds);
        self.by_wd
            .insert(id, wd.raw(), |other| wd_in(slots, high_wds, other));
        old.map(WatchDescriptor::from_raw)
    }

    /// Writes `wd` (or no watch) into the slot of `id`, or beside it when it does not fit.
    fn store_wd(&mut self, id: NodeId, wd: Option<i32>) {
        let bits = match wd {
            None => NO_WD,
            Some(wd) if 0 < wd && (wd as u32) < WD_ELSEWHERE => wd as u32,
            Some(wd) => {
                self.high_wds.set(id, wd);
                WD_ELSEWHERE
            }
        };
        let node = &mut self.slots[id as usize];
        if node.wd_bits() == WD_ELSEWHERE && bits != WD_ELSEWHERE {
            self.high_wds.take(id);
        }
        let bytes = bits.to_le_bytes();
        node.wd = [bytes[0], bytes[1], bytes[2]];
    }

    /// Ties `id` to the inode `ino`.
    pub(crate) fn set_ino(&mut self, id: NodeId, ino: u64) {
        let node = match self.slot(id) {
            Some(node) => node,
            None => return,
        };
        node.ino = ino as u32;
        let high = (ino >> 32) as u32;
        let had_high = node.flags & FLAG_HIGH_INO != 0;
        if high != 0 {
            node.flags |= FLAG_HIGH_INO;
            self.high_inos.set(id, high);
        } else if had_high {
            node.flags &= !FLAG_HIGH_INO;
            self.high_inos.take(id);
        }
    }

    /// The inode `id` stands for (0 when it is not known, or there is no such node).
    pub(crate) fn ino(&self, id: NodeId) -> u64 {
        let node = match self.get(id) {
            Some(node) => node,
            None => return 0,
        };
        let high = match node.flags & FLAG_HIGH_INO {
            0 => 0,
            _ => self.high_inos.get(id).unwrap_or(0),
        };
        u64::from(node.ino) | u64::from(high) << 32
    }

    /// Forgets the watch of `id` (the kernel dropped it, or the tree removed it).
    pub(crate) fn clear_wd(&mut self, id: NodeId) {
        if let Some(wd) = wd_in(&self.slots, &self.high_wds, id) {
            self.wd_remove(id, wd);
            self.store_wd(id, None);
        }
    }

    /// The node watched as `wd`.
    pub(crate) fn by_wd(&self, wd: WatchDescriptor) -> Option<NodeId> {
        self.by_wd
            .find(wd.raw(), |id| wd_in(&self.slots, &self.high_wds, id))
    }

    /// Takes `id`, watched as `wd` (still in its slot), out of the lookup by watch
    /// descriptor.
    fn wd_remove(&mut self, id: NodeId, wd: i32) {
        let (slots, high_wds) = (&self.slots, &self.high_wds);
        self.by_wd
            .remove(id, wd, |other| wd_in(slots, high_wds, other));
    }

    /// The child of `parent` named `name`: on the parent's run of children, or else in
    /// the child index.
    pub(crate) fn child(&self, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        let family = self.family(parent)?;
        let is_it = |id: NodeId| match self.get(id) {
            Some(node) => {
                node.parent == parent && !node.is_root() && name_of(node, &self.names) == name
            }
            None => false,
        };
        let run = family.first..family.first.saturating_add(u32::from(family.len));
        run.into_iter()
            .find(|&id| is_it(id))
            .or_else(|| self.index.find(hash(parent, name), is_it))
    }

    /// Takes `id` out of its parent, keeping it, its watch and what is below it: its
    /// name is free for another directory and its path is unknown (see
    /// [`is_orphan`](Self::is_orphan)) until [`rename`](Self::rename) places it again.
    pub(crate) fn orphan(&mut self, id: NodeId) {
        if self.get(id).map_or(true, Node::is_root) {
            return;
        }
        self.index_remove(id);
        self.slots[id as usize].parent = NO_NODE;
    }

    /// Whether `id` was taken out of its parent and not placed again.
    pub(crate) fn is_orphan(&self, id: NodeId) -> bool {
        self.get(id)
            .map_or(false, |node| !node.is_root() && node.parent == NO_NODE)
    }

    /// The orphan at the top of `id`'s chain of parents, if there is one: `id` is then
    /// not at any known path.
    pub(crate) fn orphan_above(&self, id: NodeId) -> Option<NodeId> {
        let top = self.top_of(id);
        self.is_orphan(top).then_some(top)
    }

    /// The children of `parent`, if it has any (no node has `parent` as its parent when
    /// this is `None`).
    fn family(&self, parent: NodeId) -> Option<Family> {
        self.families.get(parent)
    }

    /// Forgets the children of `parent`.
    fn remove_family(&mut self, parent: NodeId) {
        self.families.take(parent);
    }

    /// The children of `id`: one pass over every node.
    pub(crate) fn children_of(&self, id: NodeId) -> Vec<NodeId> {
        if self.family(id).is_none() {
            return Vec::new();
        }
        self.ids()
            .filter(|&other| self.slots[other as usize].parent == id)
            .collect()
    }

    /// Moves `id` to be `name` under `parent`: O(1), whatever lies below it.
    pub(crate) fn rename(&mut self, id: NodeId, parent: NodeId, name: &[u8]) {
        let node = match self.get(id) {
            Some(node) if !node.is_root() => *node,
            _ => return,
        };
        self.index_remove(id);
        self.garbage += self.arena_len(&node);
        let (name, in_arena) = self.store_name(name);
        let node = &mut self.slots[id as usize];
        node.parent = parent;
        node.name = name;
        node.flags = (node.flags & !FLAG_ARENA) | if in_arena { FLAG_ARENA } else { 0 };
        self.index_insert(id);
        self.maybe_compact();
    }

    /// Removes every node below `id`, and `id` itself when `with_top`; calls `removed`
    /// with each node and the watch it had, so the caller can remove the kernel's watches.
    pub(crate) fn remove_subtree(
        &mut self,
        id: NodeId,
        with_top: bool,
        mut removed: impl FnMut(NodeId, Option<WatchDescriptor>),
    ) {
        let mut doomed = Vec::new();
        if with_top && self.get(id).is_some() {
            doomed.push(id);
        }
        if self.family(id).is_some() {
            // Every node whose chain of parents reaches `id`: one pass over the slots.
            for other in 0..self.slots.len() as NodeId {
                if other != id && self.is_below(other, id) {
                    doomed.push(other);
                }
            }
        }
        for doomed in doomed {
            removed(doomed, self.wd(doomed));
            self.remove_one(doomed);
        }
    }

    /// True when `id` lies strictly below `top`.
    pub(crate) fn is_below(&self, id: NodeId, top: NodeId) -> bool {
        let mut at = match self.get(id) {
            Some(node) => node.parent,
            None => return false,
        };
        let mut steps = 0;
        while at != NO_NODE && steps <= self.slots.len() {
            if at == top {
                return true;
            }
            at = self.get(at).map_or(NO_NODE, |node| node.parent);
            steps += 1;
        }
        false
    }

    fn remove_one(&mut self, id: NodeId) {
        let node = match self.get(id) {
            Some(node) => *node,
            None => return,
        };
        if node.is_root() {
            if let Some(path) = self
                .root_paths
                .get_mut(u32::from_ne_bytes(node.name) as usize)
            {
                *path = None;
            }
        } else {
            self.index_remove(id);
            self.garbage += self.arena_len(&node);
        }
        self.clear_wd(id);
        if node.flags & FLAG_HIGH_INO != 0 {
            self.high_inos.take(id);
        }
        // Its children go with it (they come later in the same removal).
        self.remove_family(id);
        self.count_flags(
            node.flags & (FLAG_LISTING | FLAG_UNREPORTED | FLAG_EXCLUDED),
            false,
        );
        self.slots[id as usize].flags = FLAG_FREE;
        self.free.push(id);
        self.maybe_compact();
    }

    /// Every live node.
    pub(crate) fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.slots.len() as NodeId).filter(move |&id| self.get(id).is_some())
    }

    /// The root above `id` (or `id` itself); [`NO_NODE`] below an orphan.
    pub(crate) fn root_of(&self, id: NodeId) -> NodeId {
        let top = self.top_of(id);
        if self.get(top).map_or(false, Node::is_root) {
            top
        } else {
            NO_NODE
        }
    }

    /// The last node of `id`'s chain of parents: its root, or an orphan.
    fn top_of(&self, id: NodeId) -> NodeId {
        let mut at = id;
        let mut steps = 0;
        while let Some(node) = self.get(at) {
            if node.parent == NO_NODE || steps > self.slots.len() {
                return at;
            }
            at = node.parent;
            steps += 1;
        }
        NO_NODE
    }

    /// Writes the path of `id` into `out` (cleared first): the root's path, then each
    /// name below it. Returns false for a node that does not exist.
    pub(crate) fn path_into(&mut self, id: NodeId, out: &mut Vec<u8>) -> bool {
        out.clear();
        let mut ancestors = core::mem::take(&mut self.ancestors);
        ancestors.clear();
        let mut at = id;
        while let Some(node) = self.get(at) {
            ancestors.push(at);
            if node.is_root() || ancestors.len() > self.slots.len() {
                break;
            }
            at = node.parent;
        }
        let complete = ancestors
            .last()
            .and_then(|&top| self.get(top))
            .map_or(false, Node::is_root);
        for (i, &node) in ancestors.iter().rev().enumerate() {
            if i > 0 && out.last() != Some(&b'/') {
                out.push(b'/');
            }
            out.extend_from_slice(self.name(node));
        }
        self.ancestors = ancestors;
        complete
    }

    /// The path of `id` as a `Path`, written into `out`.
    pub(crate) fn path<'b>(&mut self, id: NodeId, out: &'b mut Vec<u8>) -> Option<&'b Path> {
        if self.path_into(id, out) {
            Some(Path::new(OsStr::from_bytes(out)))
        } else {
            None
        }
    }

    /// Counts `id` as a child of its parent, and makes it found there: on the parent's
    /// run of children when it is on it or just after its end, else in the child index.
    fn index_insert(&mut self, id: NodeId) {
        let parent = self.slots[id as usize].parent;
        if parent == NO_NODE {
            return;
        }
        let at = match self
            .families
            .slot_of(id_hash(parent), |other| other == parent)
        {
            Some(at) => at,
            None if self.families.is_full() => return self.rebuild_children(),
            None => {
                let at = self.families.place(parent, id_hash(parent));
                self.families.slots[at].data.first = id;
                at
            }
        };
        let family = &mut self.families.slots[at].data;
        family.count = family.count.saturating_add(1);
        let end = family.first.saturating_add(u32::from(family.len));
        if family.first <= id && id < end {
            return;
        }
        if id == end && family.len < MAX_RUN {
            family.len += 1;
            return;
        }
        self.slots[id as usize].flags |= FLAG_INDEXED;
        if self.index.is_full() {
            self.rebuild_index();
        } else {
            self.index
                .place(id, name_hash(&self.slots, &self.names, id));
        }
    }

    /// Undoes [`index_insert`](Self::index_insert), before `id` leaves its parent or
    /// changes its name.
    fn index_remove(&mut self, id: NodeId) {
        let node = self.slots[id as usize];
        if node.flags & FLAG_INDEXED != 0 {
            self.slots[id as usize].flags &= !FLAG_INDEXED;
            let (slots, names) = (&self.slots, &self.names);
            let home = name_hash(slots, names, id);
            self.index
                .remove(id, home, |other| name_hash(slots, names, other));
        }
        let parent = node.parent;
        let at = match self
            .families
            .slot_of(id_hash(parent), |other| other == parent)
        {
            Some(at) => at,
            None => return,
        };
        match self.families.slots[at].data.count {
            u16::MAX => {}
            0 | 1 => self.remove_family(parent),
            _ => self.families.slots[at].data.count -= 1,
        }
    }

    /// Makes the families longer, and both them and the child index again from the
    /// nodes: one pass in order over the nodes, after the old tables are dropped (so
    /// growing leaves none of them behind, to be counted in the memory the tree holds).
    fn rebuild_children(&mut self) {
        let families = self.families.len + 1;
        self.families.clear_for(families);
        self.index.clear_for(self.index.len);
        for node in self.slots.iter_mut() {
            node.flags &= !FLAG_INDEXED;
        }
        for id in 0..self.slots.len() as NodeId {
            if self.get(id).map_or(false, |node| !node.is_root()) {
                self.index_insert(id);
            }
        }
    }

    /// Makes the child index longer, and fills it again from the nodes marked as in it
    /// (one pass in order over the nodes: the old index is dropped first, so the two
    /// are never held at once).
    fn rebuild_index(&mut self) {
        self.index.clear_for(self.index.len + 1);
        for (id, node) in self.slots.iter().enumerate() {
            if node.flags & (FLAG_INDEXED | FLAG_FREE) == FLAG_INDEXED {
                self.index
                    .place(id as NodeId, hash(node.parent, name_of(node, &self.names)));
            }
        }
    }

    /// Rewrites the name arena with only the live names once garbage is most of it.
    fn maybe_compact(&mut self) {
        if self.garbage < 64 * 1024 || self.garbage * 2 < self.names.len() {
            return;
        }
        let mut names = Vec::with_capacity(self.names.len() - self.garbage);
        for node in self.slots.iter_mut() {
            if node.flags & (FLAG_FREE | FLAG_ROOT | FLAG_ARENA) != FLAG_ARENA {
                continue;
            }
            let name = name_of(node, &self.names);
            let at = names.len() as u32;
            names.push(name.len() as u8);
            names.extend_from_slice(name);
            node.name = at.to_ne_bytes();
        }
        self.names = names;
        self.garbage = 0;
    }
}

/// The watched nodes by watch descriptor. The kernel hands watch descriptors out in
/// sequence, and a crawl makes nodes and watches them in the same order, so most
/// (descriptor, node) pairs lie on runs where both go up by one: a run is kept as where
/// it starts and how long it is (16 bytes a run, nothing a watch). The other pairs (one
/// that starts no run, a second node with the same descriptor, descriptors that went
/// back after wrapping around) are in a hash table. A run only says where to look: a pair
/// on it counts while the node still has that descriptor (its `wd` in the slots), so a
/// watch that changes or goes leaves the run as it is but for its count of live pairs.
#[derive(Debug, Default)]
struct WdIndex {
    /// Sorted by descriptor, not overlapping. A pair on a run is never in `sparse`.
    runs: Vec<WdRun>,
    /// Runs with no live pair left: dropped once they are half of `runs`.
    dead_runs: usize,
    /// How many live pairs the runs hold.
    on_runs: usize,
    sparse: IdTable,
    /// The pair put in `sparse` last, while it is there: the next pair may start a run
    /// with it.
    last_sparse: Option<(NodeId, i32)>,
}

/// Descriptors `wd..wd + len` watch nodes `id..id + len`, those of them that still do.
#[derive(Clone, Copy, Debug)]
struct WdRun {
    wd: i32,
    id: NodeId,
    len: u32,
    /// How many of its nodes still have their descriptor.
    live: u32,
}

impl WdRun {
    /// The node the run pairs with `wd`, if `wd` is on it.
    fn id_of(&self, wd: i32) -> Option<NodeId> {
        let at = i64::from(wd) - i64::from(self.wd);
        (0 <= at && at < i64::from(self.len)).then(|| self.id + at as u32)
    }

    /// The descriptor and the node that would come next on the run.
    fn next(&self) -> (i64, i64) {
        (
            i64::from(self.wd) + i64::from(self.len),
            i64::from(self.id) + i64::from(self.len),
        )
    }
}

impl WdIndex {
    fn len(&self) -> usize {
        self.on_runs + self.sparse.len
    }

    /// The run that holds `wd` paired with `id`.
    fn run_of(&self, id: NodeId, wd: i32) -> Option<usize> {
        let at = self
            .runs
            .partition_point(|run| run.wd <= wd)
            .checked_sub(1)?;
        (self.runs[at].id_of(wd) == Some(id)).then_some(at)
    }

    /// The node watched as `wd`.
    fn find(&self, wd: i32, wd_of: impl Fn(NodeId) -> Option<i32>) -> Option<NodeId> {
        let at = self.runs.partition_point(|run| run.wd <= wd);
        let on_run = at
            .checked_sub(1)
            .and_then(|at| self.runs[at].id_of(wd))
            .filter(|&id| wd_of(id) == Some(wd));
        on_run.or_else(|| self.sparse.find(wd_hash(wd), |id| wd_of(id) == Some(wd)))
    }

    /// Adds `id`, now watched as `wd` (what `wd_of` says of it): on the run where the
    /// pair lies, at the end of the last run, as a new run with the pair added just
    /// before, or else in the hash table.
    fn insert(&mut self, id: NodeId, wd: i32, wd_of: impl Fn(NodeId) -> Option<i32>) {
        if let Some(at) = self.run_of(id, wd) {
            self.revive(at);
            return;
        }
        let (wd_at, id_at) = (i64::from(wd), i64::from(id));
        let end = self.runs.last().map(WdRun::next);
        if end == Some((wd_at, id_at)) {
            let at = self.runs.len() - 1;
            self.runs[at].len += 1;
            self.revive(at);
            return;
        }
        let follows_last = self.last_sparse.map_or(false, |(last_id, last_wd)| {
            (i64::from(last_wd), i64::from(last_id)) == (wd_at - 1, id_at - 1)
        });
        if follows_last && end.map_or(true, |(end_wd, _)| end_wd < wd_at) {
            let (last_id, last_wd) = (id - 1, wd - 1);
            self.sparse.remove(last_id, wd_hash(last_wd), |other| {
                sparse_hash(&wd_of, other)
            });
            self.runs.push(WdRun {
                wd: last_wd,
                id: last_id,
                len: 2,
                live: 2,
            });
            self.on_runs += 2;
            self.last_sparse = None;
            return;
        }
        self.sparse
            .insert(id, wd_hash(wd), |other| sparse_hash(&wd_of, other));
        self.last_sparse = Some((id, wd));
    }

    /// Counts one more live pair on the run at `at`.
    fn revive(&mut self, at: usize) {
        let run = &mut self.runs[at];
        if run.live == 0 {
            self.dead_runs -= 1;
        }
        run.live += 1;
        self.on_runs += 1;
    }

    /// Takes out `id`, watched as `wd` (still what `wd_of` says of it).
    fn remove(&mut self, id: NodeId, wd: i32, wd_of: impl Fn(NodeId) -> Option<i32>) {
        match self.run_of(id, wd) {
            Some(at) => {
                let run = &mut self.runs[at];
                run.live -= 1;
                self.on_runs -= 1;
                if run.live == 0 {
                    self.dead_runs += 1;
                    if self.dead_runs * 2 >= self.runs.len() {
                        self.runs.retain(|run| run.live > 0);
                        self.dead_runs = 0;
                    }
                }
            }
            None => {
                self.sparse
                    .remove(id, wd_hash(wd), |other| sparse_hash(&wd_of, other));
                if self.last_sparse == Some((id, wd)) {
                    self.last_sparse = None;
                }
            }
        }
    }
}

/// Node ids in the order they were pushed, kept as runs of consecutive ids: the nodes a
/// crawl makes for one level of a tree mostly come one after another, so a level of a
/// million directories takes a few bytes, not four a directory.
#[derive(Debug, Default)]
pub(crate) struct IdRuns {
    /// The first id of each run, and how many ids it has.
    runs: Vec<(NodeId, u32)>,
}

impl IdRuns {
    pub(crate) fn push(&mut self, id: NodeId) {
        if let Some((first, count)) = self.runs.last_mut() {
            if first.checked_add(*count) == Some(id) {
                *count += 1;
                return;
            }
        }
        self.runs.push((id, 1));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The ids, in the order they were pushed.
    pub(crate) fn into_ids(self) -> impl Iterator<Item = NodeId> {
        self.runs
            .into_iter()
            .flat_map(|(first, count)| first..first + count)
    }
}

/// A set of node ids (or other 32-bit handles: where names start in a buffer) in one
/// array, open addressing with linear probing: 4 bytes a slot,
/// at most four fifths full, and grown by a quarter at a time (any length will do: the
/// home slot of a hash is `hash * len / 2^64`). The hash of an id and whether an id is
/// the one sought are the caller's to say (they read the nodes), so one table serves
/// every lookup. A table made [`tagged`](Self::tagged) also keeps 8 bits of each id's
/// hash beside it (a byte more a slot), so a lookup asks the caller about one id in 256
/// of those it passes, not about each: for keys that are costly to compare. Each id
/// may carry a value `D` beside it (nothing by default).
#[derive(Debug, Default)]
pub(crate) struct IdTable<D = ()> {
    /// Each id with its value, in one array (4 bytes a slot when `D` is `()`).
    slots: Vec<Slot<D>>,
    /// Each slot's tag, when the table is tagged; empty otherwise.
    tags: Vec<u8>,
    tagged: bool,
    pub(crate) len: usize,
}

/// An id of an [`IdTable`], or [`NO_NODE`] in an empty slot, and its value.
#[derive(Clone, Copy, Debug, Default)]
struct Slot<D> {
    id: NodeId,
    data: D,
}

/// How many slots an [`IdTable`] starts with.
const FIRST_TABLE_LEN: usize = 64;

/// The tag of a hash: bits that do not choose the home slot (the highest do).
fn tag_of(hash: u64) -> u8 {
    (hash >> 24) as u8
}

impl<D: Copy + Default> IdTable<D> {
    /// An empty table that keeps a tag of each id's hash.
    pub(crate) fn tagged() -> IdTable<D> {
        IdTable {
            tagged: true,
            ..IdTable::default()
        }
    }

    /// The id in the probe sequence of `hash` that `is` accepts.
    pub(crate) fn find(&self, hash: u64, is: impl FnMut(NodeId) -> bool) -> Option<NodeId> {
        self.slot_of(hash, is).map(|at| self.slots[at].id)
    }

    /// Where the id in the probe sequence of `hash` that `is` accepts is.
    fn slot_of(&self, hash: u64, mut is: impl FnMut(NodeId) -> bool) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let tag = tag_of(hash);
        let mut at = self.home(hash);
        loop {
            match self.slots[at].id {
                NO_NODE => return None,
                id if self.tags.get(at).map_or(true, |&other| other == tag) && is(id) => {
                    return Some(at)
                }
                _ => at = self.after(at),
            }
        }
    }

    /// Whether one more id needs a longer table.
    fn is_full(&self) -> bool {
        (self.len + 1) * 5 > self.slots.len() * 4
    }

    /// Drops every id, and makes the table long enough for `count` ids and a quarter
    /// more before it is full again, in the same arrays: they are made longer in place
    /// (no second copy is held), and past their first length they take a mapped array
    /// ([`reserve_mapped`]), which malloc can then lengthen without moving (an array that
    /// outgrew the heap would be left behind in it, still resident; pages not yet used
    /// cost nothing).
    fn clear_for(&mut self, count: usize) {
        let len = (count * 25 / 16).max(FIRST_TABLE_LEN);
        let empty = Slot {
            id: NO_NODE,
            data: D::default(),
        };
        refill(&mut self.slots, len, empty);
        if self.tagged {
            refill(&mut self.tags, len, 0);
        }
        self.len = 0;
    }

    /// Adds `id`, whose hash is `hash`; `hash_of` gives any other id's, to grow. Returns
    /// its slot.
    pub(crate) fn insert(
        &mut self,
        id: NodeId,
        hash: u64,
        hash_of: impl Fn(NodeId) -> u64,
    ) -> usize {
        if self.is_full() {
            let old = core::mem::take(&mut self.slots);
            self.tags = Vec::new();
            self.clear_for(self.len + 1);
            for other in old.into_iter().filter(|other| other.id != NO_NODE) {
                let at = self.place(other.id, hash_of(other.id));
                self.slots[at].data = other.data;
            }
        }
        self.place(id, hash)
    }

    /// The value of `id`, in a table keyed by the ids themselves (a map by node id).
    pub(crate) fn get(&self, id: NodeId) -> Option<D> {
        let at = self.slot_of(id_hash(id), |other| other == id)?;
        Some(self.slots[at].data)
    }

    /// Sets the value of `id`, adding it if it is not there, in a table keyed by the ids
    /// themselves.
    pub(crate) fn set(&mut self, id: NodeId, data: D) {
        let at = match self.slot_of(id_hash(id), |other| other == id) {
            Some(at) => at,
            None => self.insert(id, id_hash(id), id_hash),
        };
        self.slots[at].data = data;
    }

    /// Takes `id` out of a table keyed by the ids themselves.
    pub(crate) fn take(&mut self, id: NodeId) {
        self.remove(id, id_hash(id), id_hash);
    }

    /// Adds `id`, whose hash is `hash`, to a table that is not full, with the default
    /// value. Returns its slot.
    fn place(&mut self, id: NodeId, hash: u64) -> usize {
        let mut at = self.home(hash);
        while self.slots[at].id != NO_NODE {
            at = self.after(at);
        }
        self.slots[at] = Slot {
            id,
            data: D::default(),
        };
        if let Some(tag) = self.tags.get_mut(at) {
            *tag = tag_of(hash);
        }
        self.len += 1;
        at
    }

    /// Takes out `id`, whose hash is `hash`, if it is there.
    pub(crate) fn remove(&mut self, id: NodeId, hash: u64, hash_of: impl Fn(NodeId) -> u64) {
        if self.slots.is_empty() {
            return;
        }
        let mut at = self.home(hash);
        loop {
            match self.slots[at].id {
                NO_NODE => return,
                found if found == id => break,
                _ => at = self.after(at),
            }
        }
        // Backward-shift deletion: pull later entries of the cluster into the hole when
        // their home slot is not between the hole and them.
        self.slots[at].id = NO_NODE;
        self.len -= 1;
        let mut hole = at;
        let mut next = self.after(at);
        while self.slots[next].id != NO_NODE {
            let moved = self.slots[next];
            let home = self.home(hash_of(moved.id));
            if self.distance(home, hole) < self.distance(home, next) {
                self.slots[hole] = moved;
                self.slots[next].id = NO_NODE;
                if !self.tags.is_empty() {
                    self.tags[hole] = self.tags[next];
                }
                hole = next;
            }
            next = self.after(next);
        }
    }

    /// The slot where the probe sequence of `hash` starts.
    fn home(&self, hash: u64) -> usize {
        ((u128::from(hash) * self.slots.len() as u128) >> 64) as usize
    }

    /// The slot after `at`, wrapping around.
    fn after(&self, at: usize) -> usize {
        if at + 1 == self.slots.len() {
            0
        } else {
            at + 1
        }
    }

    /// How many slots on from `from` the slot `to` is, wrapping around.
    fn distance(&self, from: usize, to: usize) -> usize {
        if to >= from {
            to - from
        } else {
            to + self.slots.len() - from
        }
    }
}

/// Makes `array` `len` copies of `value`, in its own memory when it has room, else
/// lengthened in place to `len`, mapped (see [`IdTable::clear_for`]).
fn refill<T: Copy>(array: &mut Vec<T>, len: usize, value: T) {
    array.clear();
    if len > FIRST_TABLE_LEN {
        reserve_mapped(array, len);
    }
    array.resize(len, value);
}

/// The hash of a node in the hash table of watch descriptors (where every node is
/// watched).
fn sparse_hash(wd_of: &impl Fn(NodeId) -> Option<i32>, id: NodeId) -> u64 {
    wd_of(id).map_or(0, wd_hash)
}

/// The hash of a watch descriptor (Fibonacci hashing: they come in sequence).
fn wd_hash(wd: i32) -> u64 {
    id_hash(wd as u32)
}

/// The hash of a node id (Fibonacci hashing: they come in sequence).
fn id_hash(id: NodeId) -> u64 {
    u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The name of a node that is not a root: in the node, or in the arena `names`.
fn name_of<'a>(node: &'a Node, names: &'a [u8]) -> &'a [u8] {
    if node.flags & FLAG_ARENA == 0 {
        let len = node
            .name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(INLINE_NAME);
        &node.name[..len]
    } else {
        let at = u32::from_ne_bytes(node.name) as usize;
        let len = names.get(at).map_or(0, |&len| usize::from(len));
        names.get(at + 1..at + 1 + len).unwrap_or(&[])
    }
}

/// The watch descriptor of `id` in `slots`, reading the arrays directly (so that the
/// lookup by descriptor can be changed while they are read).
fn wd_in(slots: &[Node], high_wds: &IdTable<i32>, id: NodeId) -> Option<i32> {
    let node = slots
        .get(id as usize)
        .filter(|node| node.flags & FLAG_FREE == 0)?;
    match node.wd_bits() {
        NO_WD => None,
        WD_ELSEWHERE => high_wds.get(id),
        bits => Some(bits as i32),
    }
}

/// The hash of a node by its parent and name, reading the arrays directly (so that the
/// tables can be changed while the nodes are read).
fn name_hash(slots: &[Node], names: &[u8], id: NodeId) -> u64 {
    let node = &slots[id as usize];
    hash(node.parent, name_of(node, names))
}

/// FNV-1a over the parent and the name: cheap, and good enough for directory names;
/// then a Fibonacci multiply, so that every bit counts in the high bits the table uses.
pub(crate) fn hash(parent: NodeId, name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in parent.to_le_bytes().iter().chain(name) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h ^ (h >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn path_of(nodes: &mut Nodes, id: NodeId) -> PathBuf {
        let mut out = Vec::new();
        nodes.path(id, &mut out).unwrap().to_path_buf()
    }

    /// A small deterministic generator for the model tests (xorshift64).
    struct Random(u64);

    impl Random {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    #[test]
    fn a_node_is_16_bytes() {
        assert_eq!(core::mem::size_of::<Node>(), 16);
    }

    #[test]
    fn watch_descriptors_are_found_in_sequence_with_gaps_below_and_after_holes() {
        let mut nodes = Nodes::default();
        let root = nodes.add_root(Path::new("/w"), 1);
        let count = if cfg!(miri) { 300 } else { 20_000u32 };
        let ids: Vec<NodeId> = (0..count)
            .map(|i| nodes.add_child(root, std::format!("n{}", i).as_bytes(), 0))
            .collect();
        let mut model = std::collections::HashMap::new();
        let mut random = Random(0x2545_f491_4f6c_dd1d);
        let mut next_wd = 1000;
        let check = |nodes: &Nodes, model: &std::collections::HashMap<i32, NodeId>| {
            assert_eq!(nodes.watched(), model.len());
            check_runs(nodes);
            for (&wd, &id) in model {
                assert_eq!(nodes.by_wd(WatchDescriptor::from_raw(wd)), Some(id));
                assert_eq!(nodes.wd(id), Some(WatchDescriptor::from_raw(wd)));
            }
            for wd in [-5, 0, 1, 999, next_wd_after(model)] {
                if !model.contains_key(&wd) {
                    assert_eq!(nodes.by_wd(WatchDescriptor::from_raw(wd)), None);
                }
            }
        };
        // Rounds of mostly sequential watches (some gaps, some far below or far after),
        // then of removals: enough holes to move the array into the hash table.
        for round in 0..4 {
            for _ in 0..count / 2 {
                let id = ids[random.below(u64::from(count)) as usize];
                let wd = match random.below(20) {
                    0 => random.below(900) as i32 + 1,
                    1 => next_wd + 5000,
                    2..=4 => next_wd + random.below(8) as i32,
                    _ => next_wd,
                };
                if model.contains_key(&wd) {
                    continue;
                }
                next_wd = next_wd.max(wd) + 1;
                let old = nodes.wd(id);
                assert_eq!(nodes.set_wd(id, WatchDescriptor::from_raw(wd)), old);
                if let Some(old) = old {
                    model.remove(&old.raw());
                }
                model.insert(wd, id);
            }
            check(&nodes, &model);
            let keep = [2, 10, 1, 4][round];
            for &id in &ids {
                if random.below(keep) != 0 {
                    if let Some(wd) = nodes.wd(id) {
                        nodes.clear_wd(id);
                        model.remove(&wd.raw());
                    }
                }
            }
            check(&nodes, &model);
        }
    }

    /// The runs of watch descriptors are sorted and apart, each counts its live pairs,
    /// no pair on a run is in the hash table, and dead runs are at most half of them.
    fn check_runs(nodes: &Nodes) {
        let index = &nodes.by_wd;
        let live = |id: NodeId, wd: i32| nodes.wd(id).map(WatchDescriptor::raw) == Some(wd);
        let mut on_runs = 0;
        let mut dead = 0;
        for (at, run) in index.runs.iter().enumerate() {
            if let Some(next) = index.runs.get(at + 1) {
                assert!(run.next().0 <= i64::from(next.wd), "{:?}", index.runs);
            }
            let pairs = (0..run.len).map(|k| (run.id + k, run.wd + k as i32));
            let count = pairs.filter(|&(id, wd)| live(id, wd)).count();
            assert_eq!(run.live as usize, count, "{:?}", run);
            on_runs += count;
            dead += usize::from(count == 0);
            for k in 0..run.len {
                let wd = run.wd + k as i32;
                let in_sparse = index.sparse.find(wd_hash(wd), |id| id == run.id + k);
                assert_eq!(in_sparse, None);
            }
        }
        assert_eq!(index.on_runs, on_runs);
        assert_eq!(index.dead_runs, dead);
        assert!(dead * 2 < index.runs.len().max(1));
    }

    #[test]
    fn inodes_past_32_bits_are_kept_whole() {
        let mut nodes = Nodes::default();
        let big = 0x1234_5678_9abc_def0;
        let root = nodes.add_root(Path::new("/i"), big);
        let a = nodes.add_child(root, b"a", u64::from(u32::MAX));
        let b = nodes.add_child(root, b"b", big + 1);
        assert_eq!(nodes.ino(root), big);
        assert_eq!(nodes.ino(a), u64::from(u32::MAX));
        assert_eq!(nodes.ino(b), big + 1);
        assert_eq!(nodes.high_inos.len, 2);
        nodes.set_ino(b, 7);
        assert_eq!(nodes.ino(b), 7);
        nodes.set_ino(a, u64::MAX);
        assert_eq!(nodes.ino(a), u64::MAX);
        nodes.remove_subtree(a, true, |_, _| {});
        assert_eq!(nodes.ino(a), 0);
        assert_eq!(nodes.high_inos.len, 1);
        // A slot used again starts with its own inode.
        let again = nodes.add_child(root, b"c", 9);
        assert_eq!(again, a);
        assert_eq!(nodes.ino(again), 9);
        nodes.remove_subtree(root, true, |_, _| {});
        assert_eq!(nodes.high_inos.len, 0);
    }

    #[test]
    fn a_crawl_s_watches_take_one_run() {
        let mut nodes = Nodes::default();
        let root = nodes.add_root(Path::new("/w"), 1);
        nodes.set_wd(root, WatchDescriptor::from_raw(1));
        let count = if cfg!(miri) { 200 } else { 10_000u32 };
        // Level by level, as a crawl: a level's nodes are made, then each is watched.
        let mut level = std::vec![root];
        let mut next_wd = 2;
        while (nodes.len() as u32) < count {
            let mut next = Vec::new();
            for &parent in &level {
                for i in 0..10 {
                    next.push(nodes.add_child(parent, std::format!("d{}", i).as_bytes(), 0));
                }
            }
            for &id in &next {
                nodes.set_wd(id, WatchDescriptor::from_raw(next_wd));
                next_wd += 1;
            }
            level = next;
        }
        assert_eq!(nodes.by_wd.runs.len(), 1);
        assert_eq!(nodes.by_wd.sparse.len, 0);
        assert_eq!(nodes.watched(), nodes.len());
        for id in nodes.ids() {
            let wd = nodes.wd(id).unwrap();
            assert_eq!(nodes.by_wd(wd), Some(id));
        }
        // Watches that go and come back, and nodes removed and made again.
        let ids: Vec<NodeId> = nodes.ids().collect();
        for &id in ids.iter().step_by(3) {
            nodes.clear_wd(id);
        }
        check_runs(&nodes);
        for &id in ids.iter().step_by(6) {
            nodes.set_wd(id, WatchDescriptor::from_raw(id as i32 + 1));
        }
        check_runs(&nodes);
        let top = nodes.child(root, b"d1").unwrap();
        nodes.remove_subtree(top, true, |_, _| {});
        let again = nodes.add_child(root, b"d1", 0);
        nodes.set_wd(again, WatchDescriptor::from_raw(next_wd));
        check_runs(&nodes);
        for id in nodes.ids() {
            match nodes.wd(id) {
                Some(wd) => assert_eq!(nodes.by_wd(wd), Some(id)),
                None => assert!(ids.contains(&id)),
            }
        }
        assert_eq!(nodes.by_wd(WatchDescriptor::from_raw(next_wd + 1)), None);
    }

    /// A watch descriptor past every one in `model`.
    fn next_wd_after(model: &std::collections::HashMap<i32, NodeId>) -> i32 {
        model.keys().copied().max().unwrap_or(0) + 1
    }

    #[test]
    fn names_of_every_length_survive_renames_and_compaction() {
        let mut nodes = Nodes::default();
        let root = nodes.add_root(Path::new("/n"), 1);
        // Node i has a name of length LENGTHS[i % 7] (300 is cut to 255), unique by its
        // first byte among the names of that length once cut, and filled with a byte of
        // the round.
        const LENGTHS: [usize; 7] = [1, 2, 4, 5, 8, 255, 300];
        let name = |i: usize, round: usize| -> Vec<u8> {
            let mut name = std::vec![b'a' + round as u8; LENGTHS[i % 7]];
            name[0] = b'0' + (i / 7) as u8 + if i % 7 == 6 { 40 } else { 0 };
            name
        };
        let count = if cfg!(miri) { 21 } else { 7 * 36 };
        let rounds = if cfg!(miri) { 3 } else { 16 };
        let ids: Vec<NodeId> = (0..count)
            .map(|i| nodes.add_child(root, &name(i, 0), i as u64))
            .collect();
        let mut appended = nodes.names.len();
        for round in 1..rounds {
            // Through a unique long name first, so that no two nodes share a name.
            for (i, &id) in ids.iter().enumerate() {
                let through = std::format!("through-{}", i);
                nodes.rename(id, root, through.as_bytes());
                nodes.rename(id, root, &name(i, round));
                appended += through.len() + name(i, round).len().min(255);
            }
            for (i, &id) in ids.iter().enumerate() {
                let expected = name(i, round);
                let expected = &expected[..expected.len().min(255)];
                assert_eq!(nodes.name(id), expected);
                assert_eq!(nodes.child(root, expected), Some(id));
            }
        }
        if !cfg!(miri) {
            // Compacted: the arena holds far less than every name ever stored in it.
            assert!(
                nodes.names.len() * 2 < appended,
                "{} of {}",
                nodes.names.len(),
                appended
            );
        }
    }

    #[test]
    #[cfg_attr(miri, ignore)] // 70,000 nodes: minutes under Miri
    fn a_child_count_past_u16_max_still_finds_every_child() {
        let mut nodes = Nodes::default();
        let root = nodes.add_root(Path::new("/c"), 1);
        let top = nodes.add_child(root, b"top", 2);
        let ids: Vec<NodeId> = (0..70_000u32)
            .map(|i| nodes.add_child(top, std::format!("{}", i).as_bytes(), 0))
            .collect();
        for &id in &ids[..69_990] {
            nodes.remove_subtree(id, true, |_, _| {});
        }
        assert_eq!(nodes.children_of(top), &ids[69_990..]);
        let mut gone = 0;
        nodes.remove_subtree(top, false, |_, _| gone += 1);
        assert_eq!(gone, 10);
        assert_eq!(nodes.children_of(top), []);
        assert_eq!(nodes.len(), 2);
    }

    #[test]
    fn a_flag_is_cleared_on_every_node_that_has_it() {
        let mut nodes = Nodes::default();
        let root = nodes.add_root(Path::new("/f"), 1);
        let ids: Vec<NodeId> = (0..5u32)
            .map(|i| nodes.add_child(root, std::format!("{}", i).as_bytes(), 0))
            .collect();
        for &id in &ids {
            nodes.set_flag(id, FLAG_LISTING | FLAG_UNREPORTED, true);
        }
        nodes.set_flag(ids[0], FLAG_LISTING, false);
        nodes.remove_subtree(ids[1], true, |_, _| {});
        nodes.clear_flag(FLAG_LISTING);
        for &id in &ids[2..] {
            assert!(!nodes.has_flag(id, FLAG_LISTING));
            assert!(nodes.has_flag(id, FLAG_UNREPORTED));
        }
        // A slot used again starts with no flag, and a flag set again is cleared again.
        let again = nodes.add_child(root, b"again", 0);
        assert_eq!(again, ids[1]);
        assert!(!nodes.has_flag(again, FLAG_LISTING | FLAG_UNREPORTED));
        nodes.set_flag(ids[4], FLAG_LISTING, true);
        nodes.clear_flag(FLAG_LISTING);
        assert!(!nodes.has_flag(ids[4], FLAG_LISTING));
        nodes.clear_flag(FLAG_UNREPORTED);
        assert!(ids.iter().all(|&id| !nodes.has_flag(id, FLAG_UNREPORTED)));
    }

    #[test]
    fn id_runs_keep_the_order_pushed() {
        let mut runs = IdRuns::default();
        let pushed = [7, 8, 9, 3, 4, 10, 11, 0, NO_NODE - 1, 5];
        for id in pushed {
            runs.push(id);
        }
        assert!(!runs.is_empty());
        assert_eq!(runs.runs.len(), 6);
        assert_eq!(runs.into_ids().collect::<Vec<_>>(), pushed);
        assert!(IdRuns::default().is_empty());
    }

    #[test]
    fn the_child_index_matches_a_model_under_random_changes() {
        let mut nodes = Nodes::default();
        let root = nodes.add_root(Path::new("/m"), 1);
        let mut parents = std::vec![root];
        let mut model: std::collections::HashMap<(NodeId, Vec<u8>), NodeId> =
            std::collections::HashMap::new();
        let mut orphans: Vec<NodeId> = Vec::new();
        let mut random = Random(0x9e37_79b9_7f4a_7c15);
        let steps = if cfg!(miri) { 400 } else { 30_000 };
        for step in 0..steps {
            let parent = parents[random.below(parents.len() as u64) as usize];
            // Names of 1 to 6 bytes: some kept in the node, some in the arena.
            let name = std::format!("{}", random.below(500) * 97 % 200_000).into_bytes();
            let placeable = nodes.get(parent).is_some();
            match (random.below(6), model.get(&(parent, name.clone())).copied()) {
                (0 | 1, None) if placeable => {
                    // Now and then a listing's worth in a row, as a crawl makes them:
                    // runs of children, some longer than a run can be.
                    let burst = match random.below(8) {
                        0 => 2 + random.below(40),
                        _ => 1,
                    };
                    for k in 0..burst {
                        let mut name = name.clone();
                        if k > 0 {
                            name.extend_from_slice(std::format!("-{}", k).as_bytes());
                        }
                        if model.contains_key(&(parent, name.clone())) {
                            continue;
                        }
                        let id = nodes.add_child(parent, &name, step);
                        model.insert((parent, name), id);
                        if parents.len() < 64 {
                            parents.push(id);
                        }
                    }
                }
                (2, None) if placeable => {
                    let moved = model
                        .keys()
                        .nth(random.below(model.len().max(1) as u64) as usize);
                    if let Some(key) = moved.cloned() {
                        let id = model[&key];
                        if !nodes.is_below(parent, id) && parent != id {
                            model.remove(&key);
                            nodes.rename(id, parent, &name);
                            model.insert((parent, name), id);
                        }
                    }
                }
                (3, Some(id)) => {
                    let mut gone = Vec::new();
                    nodes.remove_subtree(id, true, |removed, _| gone.push(removed));
                    model.retain(|_, id| !gone.contains(id));
                    orphans.retain(|id| !gone.contains(id));
                }
                // Out of its parent, and later back in (often to where it was: on its
                // old parent's run of children).
                (4, Some(id)) => {
                    nodes.orphan(id);
                    assert!(nodes.is_orphan(id));
                    model.remove(&(parent, name));
                    orphans.push(id);
                }
                (5, None) if placeable && !orphans.is_empty() => {
                    let at = random.below(orphans.len() as u64) as usize;
                    let id = orphans[at];
                    if !nodes.is_below(parent, id) && parent != id {
                        orphans.swap_remove(at);
                        nodes.rename(id, parent, &name);
                        model.insert((parent, name), id);
                    }
                }
                _ => {}
            }
            if step % 1000 == 0 || step + 1 == steps {
                check_children(&nodes, &model);
            }
        }
        assert_eq!(nodes.len(), model.len() + orphans.len() + 1);
    }

    /// Every child in `model` is found by name; each directory counts its children
    /// and has a family just when it has children; each child is on its parent's run or
    /// in the child index, not both; the index holds nothing else.
    fn check_children(nodes: &Nodes, model: &std::collections::HashMap<(NodeId, Vec<u8>), NodeId>) {
        for ((parent, name), &id) in model {
            assert_eq!(nodes.child(*parent, name), Some(id), "{:?}", name);
            assert_eq!(nodes.name(id), &name[..]);
        }
        let mut counts = std::collections::HashMap::new();
        let mut indexed = 0;
        for id in nodes.ids() {
            let node = nodes.get(id).unwrap();
            if node.parent == NO_NODE {
                assert_eq!(node.flags & FLAG_INDEXED, 0);
                continue;
            }
            *counts.entry(node.parent).or_insert(0usize) += 1;
            let family = nodes.family(node.parent).unwrap();
            let on_run = family.first <= id && id < family.first + u32::from(family.len);
            let in_index = node.flags & FLAG_INDEXED != 0;
            assert!(
                on_run != in_index,
                "node {} on run {} and indexed {}",
                id,
                on_run,
                in_index
            );
            indexed += usize::from(in_index);
        }
        assert_eq!(nodes.index.len, indexed);
        assert_eq!(nodes.families.len, counts.len());
        for (parent, count) in counts {
            let family = nodes.family(parent).unwrap();
            assert_eq!(usize::from(family.count), count);
            assert!(family.len <= MAX_RUN);
        }
    }

    #[test]
    fn watch_descriptors_past_24_bits_are_kept_whole() {
        let mut nodes = Nodes::default();
        let root = nodes.add_root(Path::new("/w"), 1);
        let a = nodes.add_child(root, b"a", 2);
        let b = nodes.add_child(root, b"b", 3);
        let c = nodes.add_child(root, b"c", 4);
        for (id, wd) in [(a, 0xff_fffe), (b, 0xff_ffff), (c, i32::MAX)] {
            nodes.set_wd(id, WatchDescriptor::from_raw(wd));
            assert_eq!(nodes.wd(id), Some(WatchDescriptor::from_raw(wd)));
            assert_eq!(nodes.by_wd(WatchDescriptor::from_raw(wd)), Some(id));
        }
        assert_eq!(nodes.high_wds.len, 2);
        // A descriptor that fits again leaves the side table.
        assert_eq!(
            nodes.set_wd(b, WatchDescriptor::from_raw(5)),
            Some(WatchDescriptor::from_raw(0xff_ffff))
        );
        assert_eq!(nodes.by_wd(WatchDescriptor::from_raw(0xff_ffff)), None);
        assert_eq!(nodes.by_wd(WatchDescriptor::from_raw(5)), Some(b));
        assert_eq!(nodes.high_wds.len, 1);
        nodes.clear_wd(c);
        assert_eq!(nodes.wd(c), None);
        assert_eq!(nodes.by_wd(WatchDescriptor::from_raw(i32::MAX)), None);
        assert_eq!(nodes.high_wds.len, 0);
        nodes.set_wd(c, WatchDescriptor::from_raw(1 << 30));
        nodes.remove_subtree(root, false, |_, _| {});
        assert_eq!(nodes.high_wds.len, 0);
        assert_eq!(nodes.by_wd(WatchDescriptor::from_raw(1 << 30)), None);
    }

    #[test]
    fn a_short_name_with_a_nul_is_kept_whole() {
        let mut nodes = Nodes::default();
        let root = nodes.add_root(Path::new("/z"), 1);
        let a = nodes.add_child(root, b"a\0", 2);
        let b = nodes.add_child(root, b"a", 3);
        assert_eq!(nodes.name(a), b"a\0");
        assert_eq!(nodes.child(root, b"a\0"), Some(a));
        assert_eq!(nodes.child(root, b"a"), Some(b));
    }

    #[test]
    fn paths_follow_renames_in_o1() {
        let mut nodes = Nodes::default();
        let root = nodes.add_root(Path::new("/t"), 1);
        let a = nodes.add_child(root, b"a", 2);
        let b = nodes.add_child(a, b"b", 3);
        let c = nodes.add_child(b, b"c", 4);
        let ab = nodes.add_child(root, b"ab", 5);
        assert_eq!(path_of(&mut nodes, c), Path::new("/t/a/b/c"));
        nodes.rename(a, ab, b"z");
        assert_eq!(path_of(&mut nodes, c), Path::new("/t/ab/z/b/c"));
        assert_eq!(nodes.child(ab, b"z"), Some(a));
        assert_eq!(nodes.child(root, b"a"), None);
        assert!(nodes.is_below(c, ab));
        nodes.set_wd(c, WatchDescriptor::from_raw(9));
        assert_eq!(nodes.by_wd(WatchDescriptor::from_raw(9)), Some(c));
        let mut gone = Vec::new();
        nodes.remove_subtree(a, true, |_, wd| gone.extend(wd.map(WatchDescriptor::raw)));
        assert_eq!(gone, [9]);
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes.by_wd(WatchDescriptor::from_raw(9)), None);
        assert_eq!(nodes.child(ab, b"z"), None);
    }

    #[test]
    fn the_child_index_survives_many_inserts_and_removals() {
        let mut nodes = Nodes::default();
        let root = nodes.add_root(Path::new("/r"), 1);
        let mut ids = Vec::new();
        // Enough to grow and compact the tables; fewer under Miri, which is slow.
        let count = if cfg!(miri) { 400 } else { 5000u32 };
        for i in 0..count {
            let name = std::format!("d{}", i);
            ids.push(nodes.add_child(root, name.as_bytes(), u64::from(i)));
        }
        for (i, &id) in ids.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
            nodes.remove_subtree(id, true, |_, _| {});
            assert_eq!(nodes.child(root, std::format!("d{}", i).as_bytes()), None);
        }
        for (i, &id) in ids.iter().enumerate().filter(|(i, _)| i % 3 != 0) {
            assert_eq!(
                nodes.child(root, std::format!("d{}", i).as_bytes()),
                Some(id)
            );
        }
        for (i, &id) in ids.iter().enumerate().filter(|(i, _)| i % 3 == 1) {
            nodes.rename(id, root, std::format!("e{}", i).as_bytes());
        }
        for (i, &id) in ids.iter().enumerate() {
            let expected = match i % 3 {
                0 => None,
                1 => Some(std::format!("e{}", i)),
                _ => Some(std::format!("d{}", i)),
            };
            if let Some(name) = expected {
                assert_eq!(nodes.child(root, name.as_bytes()), Some(id));
                assert_eq!(nodes.name(id), name.as_bytes());
            }
        }
    }
}
