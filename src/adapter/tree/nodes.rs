//! [`Nodes`]: the directories of a tree, one small node each (parent, name, inode, watch
//! descriptor), with lookups by watch descriptor and by (parent, name). Paths are built
//! on demand; a rename is O(1) whatever the size of the subtree.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::vec::Vec;

use crate::parse::WatchDescriptor;

/// A node's index in [`Nodes`].
pub(crate) type NodeId = u32;

/// No node: the parent of a root, an empty slot of the child index.
pub(crate) const NO_NODE: NodeId = u32::MAX;

/// No watch (yet) on a node.
const NO_WD: i32 = -1;

/// One directory of the tree.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    /// The parent directory; [`NO_NODE`] for a root.
    pub(crate) parent: NodeId,
    /// The watch descriptor; -1 while the directory is not watched.
    wd: i32,
    /// The inode the node stands for (what ties it to one object, whatever its path),
    /// as two halves: the node is then 4-byte aligned, 28 bytes.
    ino: [u32; 2],
    /// Where the name starts in the name arena (for a root: the index of its path in
    /// `root_paths`).
    name_at: u32,
    /// The name's length (names are at most `NAME_MAX`, 255, bytes).
    name_len: u8,
    /// `FLAG_*` bits.
    pub(crate) flags: u8,
    /// How many child nodes have this node as parent.
    children: u32,
}

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

impl Node {
    /// The inode the node stands for.
    pub(crate) fn ino(&self) -> u64 {
        u64::from(self.ino[0]) | u64::from(self.ino[1]) << 32
    }

    /// The watch descriptor, if the directory is watched.
    pub(crate) fn wd(&self) -> Option<WatchDescriptor> {
        (self.wd != NO_WD).then(|| WatchDescriptor::from_raw(self.wd))
    }

    pub(crate) fn is_root(&self) -> bool {
        self.flags & FLAG_ROOT != 0
    }
}

/// Every directory of a tree.
#[derive(Debug, Default)]
pub(crate) struct Nodes {
    slots: Vec<Node>,
    free: Vec<NodeId>,
    /// Names back to back; renamed and removed nodes leave garbage, compacted now and
    /// then.
    names: Vec<u8>,
    garbage: usize,
    /// The paths of the roots, by the index a root node keeps in `name_at`.
    root_paths: Vec<Option<Vec<u8>>>,
    /// The watched nodes, by watch descriptor.
    by_wd: IdTable,
    /// The nodes but the roots, by (parent, name).
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
        self.by_wd.len
    }

    pub(crate) fn set_flag(&mut self, id: NodeId, flag: u8, on: bool) {
        if let Some(node) = self.slot(id) {
            if on {
                node.flags |= flag;
            } else {
                node.flags &= !flag;
            }
        }
    }

    pub(crate) fn has_flag(&self, id: NodeId, flag: u8) -> bool {
        self.get(id).map_or(false, |node| node.flags & flag != 0)
    }

    /// The node's name: its last path component (a root: its whole path).
    pub(crate) fn name(&self, id: NodeId) -> &[u8] {
        match self.get(id) {
            Some(node) if node.is_root() => self
                .root_paths
                .get(node.name_at as usize)
                .and_then(Option::as_deref)
                .unwrap_or(&[]),
            Some(node) => {
                let at = node.name_at as usize;
                self.names
                    .get(at..at + usize::from(node.name_len))
                    .unwrap_or(&[])
            }
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
        self.alloc(Node {
            parent: NO_NODE,
            wd: NO_WD,
            ino: split(ino),
            name_at: at,
            name_len: 0,
            flags: FLAG_ROOT,
            children: 0,
        })
    }

    /// Adds the directory `name` under `parent`, with no watch yet. The caller has made
    /// sure no node has that name there (see [`child`](Self::child)).
    pub(crate) fn add_child(&mut self, parent: NodeId, name: &[u8], ino: u64) -> NodeId {
        let name_at = self.store_name(name);
        let id = self.alloc(Node {
            parent,
            wd: NO_WD,
            ino: split(ino),
            name_at,
            name_len: name.len().min(255) as u8,
            flags: 0,
            children: 0,
        });
        if let Some(node) = self.slot(parent) {
            node.children += 1;
        }
        self.index_insert(id);
        id
    }

    fn store_name(&mut self, name: &[u8]) -> u32 {
        let at = self.names.len() as u32;
        self.names.extend_from_slice(&name[..name.len().min(255)]);
        at
    }

    /// Records that `id` is watched as `wd`. Returns the watch it had before, if that
    /// was another one: nothing refers to it now, so the caller removes it.
    pub(crate) fn set_wd(&mut self, id: NodeId, wd: WatchDescriptor) -> Option<WatchDescriptor> {
        let old = self.get(id)?.wd;
        if old == wd.raw() {
            return None;
        }
        if old != NO_WD {
            self.wd_remove(id);
        }
        self.slots[id as usize].wd = wd.raw();
        let slots = &self.slots;
        self.by_wd.insert(id, wd_hash(wd.raw()), |other| {
            wd_hash(slots[other as usize].wd)
        });
        (old != NO_WD).then(|| WatchDescriptor::from_raw(old))
    }

    /// Ties `id` to the inode `ino`.
    pub(crate) fn set_ino(&mut self, id: NodeId, ino: u64) {
        if let Some(node) = self.slot(id) {
            node.ino = split(ino);
        }
    }

    /// Forgets the watch of `id` (the kernel dropped it, or the tree removed it).
    pub(crate) fn clear_wd(&mut self, id: NodeId) {
        if self.get(id).map_or(false, |node| node.wd != NO_WD) {
            self.wd_remove(id);
            self.slots[id as usize].wd = NO_WD;
        }
    }

    /// The node watched as `wd`.
    pub(crate) fn by_wd(&self, wd: WatchDescriptor) -> Option<NodeId> {
        let slots = &self.slots;
        self.by_wd
            .find(wd_hash(wd.raw()), |id| slots[id as usize].wd == wd.raw())
    }

    /// Takes `id` (watched) out of the lookup by watch descriptor.
    fn wd_remove(&mut self, id: NodeId) {
        let slots = &self.slots;
        let wd = slots[id as usize].wd;
        self.by_wd
            .remove(id, wd_hash(wd), |other| wd_hash(slots[other as usize].wd));
    }

    /// The child of `parent` named `name`.
    pub(crate) fn child(&self, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        self.index.find(hash(parent, name), |id| {
            self.get(id).map_or(false, |node| node.parent == parent) && self.name(id) == name
        })
    }

    /// Takes `id` out of its parent, keeping it, its watch and what is below it: its
    /// name is free for another directory and its path is unknown (see
    /// [`is_orphan`](Self::is_orphan)) until [`rename`](Self::rename) places it again.
    pub(crate) fn orphan(&mut self, id: NodeId) {
        let parent = match self.get(id) {
            Some(node) if !node.is_root() && node.parent != NO_NODE => node.parent,
            _ => return,
        };
        if self.child(parent, self.name(id)) == Some(id) {
            self.index_remove(id);
        }
        if let Some(node) = self.slot(parent) {
            node.children = node.children.saturating_sub(1);
        }
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

    /// The children of `id`: one pass over every node.
    pub(crate) fn children_of(&self, id: NodeId) -> Vec<NodeId> {
        if self.get(id).map_or(true, |node| node.children == 0) {
            return Vec::new();
        }
        self.ids()
            .filter(|&other| self.slots[other as usize].parent == id)
            .collect()
    }

    /// Moves `id` to be `name` under `parent`: O(1), whatever lies below it.
    pub(crate) fn rename(&mut self, id: NodeId, parent: NodeId, name: &[u8]) {
        if self.get(id).map_or(true, Node::is_root) {
            return;
        }
        if self.child(self.slots[id as usize].parent, self.name(id)) == Some(id) {
            self.index_remove(id);
        }
        let old_parent = self.slots[id as usize].parent;
        if let Some(node) = self.slot(old_parent) {
            node.children = node.children.saturating_sub(1);
        }
        self.garbage += usize::from(self.slots[id as usize].name_len);
        let name_at = self.store_name(name);
        let node = &mut self.slots[id as usize];
        node.parent = parent;
        node.name_at = name_at;
        node.name_len = name.len().min(255) as u8;
        if let Some(node) = self.slot(parent) {
            node.children += 1;
        }
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
        if self.get(id).map_or(false, |node| node.children > 0) {
            // Every node whose chain of parents reaches `id`: one pass over the slots.
            for other in 0..self.slots.len() as NodeId {
                if other != id && self.is_below(other, id) {
                    doomed.push(other);
                }
            }
        }
        for doomed in doomed {
            removed(doomed, self.get(doomed).and_then(Node::wd));
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
            if let Some(path) = self.root_paths.get_mut(node.name_at as usize) {
                *path = None;
            }
        } else {
            if self.child(node.parent, self.name(id)) == Some(id) {
                self.index_remove(id);
            }
            self.garbage += usize::from(node.name_len);
            if let Some(parent) = self.slot(node.parent) {
                parent.children = parent.children.saturating_sub(1);
            }
        }
        if node.wd != NO_WD {
            self.wd_remove(id);
        }
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

    fn index_insert(&mut self, id: NodeId) {
        let (slots, names) = (&self.slots, &self.names);
        let home = name_hash(slots, names, id);
        self.index
            .insert(id, home, |other| name_hash(slots, names, other));
    }

    fn index_remove(&mut self, id: NodeId) {
        let (slots, names) = (&self.slots, &self.names);
        let home = name_hash(slots, names, id);
        self.index
            .remove(id, home, |other| name_hash(slots, names, other));
    }

    /// Rewrites the name arena with only the live names once garbage is most of it.
    fn maybe_compact(&mut self) {
        if self.garbage < 64 * 1024 || self.garbage * 2 < self.names.len() {
            return;
        }
        let mut names = Vec::with_capacity(self.names.len() - self.garbage);
        for node in self.slots.iter_mut() {
            if node.flags & (FLAG_FREE | FLAG_ROOT) != 0 {
                continue;
            }
            let at = node.name_at as usize;
            let name = self
                .names
                .get(at..at + usize::from(node.name_len))
                .unwrap_or(&[]);
            node.name_at = names.len() as u32;
            names.extend_from_slice(name);
        }
        self.names = names;
        self.garbage = 0;
    }
}

/// A set of node ids in one array, open addressing with linear probing: 4 bytes a slot,
/// at most four fifths full. The hash of an id and whether an id is the one sought are
/// the caller's to say (they read the nodes), so one table serves both lookups.
#[derive(Debug, Default)]
struct IdTable {
    slots: Vec<NodeId>,
    len: usize,
}

impl IdTable {
    /// The id in the probe sequence of `hash` that `is` accepts.
    fn find(&self, hash: u64, mut is: impl FnMut(NodeId) -> bool) -> Option<NodeId> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            match self.slots[at] {
                NO_NODE => return None,
                id if is(id) => return Some(id),
                _ => at = (at + 1) & mask,
            }
        }
    }

    /// Adds `id`, whose hash is `hash`; `hash_of` gives any other id's, to grow.
    fn insert(&mut self, id: NodeId, hash: u64, hash_of: impl Fn(NodeId) -> u64) {
        if (self.len + 1) * 5 > self.slots.len() * 4 {
            let len = (self.slots.len() * 2).max(64);
            let old = core::mem::replace(&mut self.slots, std::vec![NO_NODE; len]);
            self.len = 0;
            for other in old.into_iter().filter(|&other| other != NO_NODE) {
                self.place(other, hash_of(other));
            }
        }
        self.place(id, hash);
    }

    fn place(&mut self, id: NodeId, hash: u64) {
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        while self.slots[at] != NO_NODE {
            at = (at + 1) & mask;
        }
        self.slots[at] = id;
        self.len += 1;
    }

    /// Takes out `id`, whose hash is `hash`, if it is there.
    fn remove(&mut self, id: NodeId, hash: u64, hash_of: impl Fn(NodeId) -> u64) {
        if self.slots.is_empty() {
            return;
        }
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            match self.slots[at] {
                NO_NODE => return,
                found if found == id => break,
                _ => at = (at + 1) & mask,
            }
        }
        // Backward-shift deletion: pull later entries of the cluster into the hole when
        // their home slot is not between the hole and them.
        self.slots[at] = NO_NODE;
        self.len -= 1;
        let mut hole = at;
        let mut next = (at + 1) & mask;
        while self.slots[next] != NO_NODE {
            let moved = self.slots[next];
            let home = hash_of(moved) as usize & mask;
            if hole.wrapping_sub(home) & mask < next.wrapping_sub(home) & mask {
                self.slots[hole] = moved;
                self.slots[next] = NO_NODE;
                hole = next;
            }
            next = (next + 1) & mask;
        }
    }
}

/// An inode as two halves.
fn split(ino: u64) -> [u32; 2] {
    [ino as u32, (ino >> 32) as u32]
}

/// The hash of a watch descriptor (Fibonacci hashing: they come in sequence).
fn wd_hash(wd: i32) -> u64 {
    (wd as u32 as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 20
}

/// The hash of a node by its parent and name, reading the arrays directly (so that the
/// tables can be changed while the nodes are read).
fn name_hash(slots: &[Node], names: &[u8], id: NodeId) -> u64 {
    let node = &slots[id as usize];
    let at = node.name_at as usize;
    hash(
        node.parent,
        names
            .get(at..at + usize::from(node.name_len))
            .unwrap_or(&[]),
    )
}

/// FNV-1a over the parent and the name: cheap, and good enough for directory names.
fn hash(parent: NodeId, name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in parent.to_le_bytes().iter().chain(name) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ (h >> 29)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn path_of(nodes: &mut Nodes, id: NodeId) -> PathBuf {
        let mut out = Vec::new();
        nodes.path(id, &mut out).unwrap().to_path_buf()
    }

    #[test]
    fn a_node_is_28_bytes() {
        assert_eq!(core::mem::size_of::<Node>(), 28);
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
