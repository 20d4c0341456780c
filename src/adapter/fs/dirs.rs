//! [`Dirs`]: what an [`FsWatcher`](crate::FsWatcher) knows of the directories below its
//! roots. Each directory it has met is a node (parent, name) found by its file handle, so
//! a path is a chain of cached parents and a rename is O(1) for everything below it. A
//! handle never met is resolved once through the root's mount; handles found outside
//! every root are kept in a bounded set, so events there cost one lookup. After a queue
//! overflow every directory met is checked against the disk once, on its next use.

use std::boxed::Box;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::string::ToString;
use std::vec::Vec;

use super::keys::Keys;
use super::later::Later;
use crate::adapter::nodes::{NodeId, Nodes, FLAG_EXCLUDED, NO_NODE};
use crate::adapter::tree::ExcludeFn;
use crate::adapter::watcher::push_name;
use crate::dir::{open_path_following, open_path_only};
use crate::fanotify::{open_by_handle_at, parent_handle};
use crate::fd::{AsDescriptor, OwnedDescriptor};
use crate::parse::FileHandle;
use crate::sys::{readlinkat, NulTerminated, AT_FDCWD};

/// How many directories up a handle never met is followed through the queue and the disk.
const MAX_DEPTH: usize = 256;

/// How many handles known to lie outside the roots are kept before the set starts over.
const OUTSIDE_KEPT: usize = 16 * 1024;

/// The longest path read from `/proc/self/fd`: the kernel writes at most a page.
const LINK_MAX: usize = 4096;

/// Where a directory's handle leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Place {
    /// The node of a directory below a root (or a root).
    Inside(NodeId),
    /// Outside every root, or gone before it could be resolved: its events are dropped.
    Outside,
}

/// One root: the node at the top of its tree, and what resolves handles on its file
/// system.
pub(super) struct Root {
    pub(super) node: NodeId,
    /// The path as the caller gave it: event paths start with it.
    pub(super) given: PathBuf,
    /// The ID of its mount: a resolved path is walked up only within it.
    mount_id: i32,
    /// The root, opened for reading (as `open_by_handle_at` needs; an `O_PATH`
    /// descriptor is refused): what handles are opened through, on the root's own mount.
    /// Its opening and closing are never events.
    pub(super) mount: File,
    pub(super) fsid: [i32; 2],
    /// Its handle key (see [`key_into`]).
    key: Box<[u8]>,
    /// Its path as `/proc/self/fd` names `mount`: where the paths of the directories
    /// below it, read the same way, start.
    disk: Vec<u8>,
}

/// The directories met so far, by handle.
pub(super) struct Dirs {
    nodes: Nodes,
    /// Each node's handle key, and the node of each key.
    keys: Keys,
    outside: HashSet<Box<[u8]>>,
    pub(super) roots: Vec<Root>,
    exclude: Option<ExcludeFn>,
    /// A parent's path, for the exclusion predicate.
    scratch: Vec<u8>,
    /// How many queue overflows there have been: a node is known to be where the cache
    /// has it when it was placed or checked since the last one.
    epoch: u32,
    /// Each node's epoch when it was last placed or checked, by node.
    checked: Vec<u32>,
    /// A path read from `/proc/self/fd`.
    link: Vec<u8>,
    /// The keys of the directories a resolution went up through.
    walked: Vec<Vec<u8>>,
    fd_paths: FdPaths,
}

/// Writes the key of a handle into `out` (cleared first): the file system's ID, then
/// the whole `struct file_handle` (its length, type and bytes), as `open_by_handle_at`
/// takes it.
pub(super) fn key_into(out: &mut Vec<u8>, fsid: [i32; 2], handle: FileHandle<'_>) {
    out.clear();
    out.extend_from_slice(&fsid[0].to_ne_bytes());
    out.extend_from_slice(&fsid[1].to_ne_bytes());
    out.extend_from_slice(handle.as_struct_bytes());
}

/// The file system ID a key starts with.
fn fsid_of_key(key: &[u8]) -> Option<[i32; 2]> {
    let word = |at: usize| {
        key.get(at..at + 4)
            .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
            .map(i32::from_ne_bytes)
    };
    Some([word(0)?, word(4)?])
}

/// The handle a key holds after its file system ID.
fn handle_of_key(key: &[u8]) -> Option<FileHandle<'_>> {
    FileHandle::split_first(key.get(8..)?)
}

impl Dirs {
    pub(super) fn new(exclude: Option<ExcludeFn>) -> Dirs {
        Dirs {
            nodes: Nodes::default(),
            keys: Keys::default(),
            outside: HashSet::new(),
            roots: Vec::new(),
            exclude,
            scratch: Vec::new(),
            epoch: 0,
            checked: Vec::new(),
            link: Vec::new(),
            walked: Vec::new(),
            fd_paths: FdPaths::default(),
        }
    }

    /// Adds a root: `given` (the caller's path), on the mount `mount_id`, opened as
    /// `mount`, whose handle has the key `key`.
    pub(super) fn add_root(
        &mut self,
        given: PathBuf,
        mount_id: i32,
        mount: File,
        fsid: [i32; 2],
        key: &[u8],
    ) {
        let node = self.nodes.add_root(&given, 0);
        self.remember(node, key);
        // What was outside the other roots may be inside this one.
        self.outside.clear();
        let mut disk = Vec::new();
        if !self.fd_paths.read(mount.as_raw_fd(), &mut disk) {
            // Never equal to a path read later: each directory is then resolved whole.
            disk.clear();
        }
        self.roots.push(Root {
            node,
            given,
            mount_id,
            mount,
            fsid,
            key: key.into(),
            disk,
        });
    }

    /// Removes the root at `index`, and every node below it.
    pub(super) fn remove_root(&mut self, index: usize) -> Root {
        let root = self.roots.remove(index);
        self.remove_node(root.node);
        root
    }

    /// The index of the root whose handle key is `key`.
    pub(super) fn root_with_key(&self, key: &[u8]) -> Option<usize> {
        self.roots.iter().position(|root| &root.key[..] == key)
    }

    /// The index of the root whose node is `id`.
    pub(super) fn root_index(&self, id: NodeId) -> Option<usize> {
        self.roots.iter().position(|root| root.node == id)
    }

    /// Renames and deletions may have been lost in a queue overflow: every directory met
    /// so far is checked against the disk on its next use (the roots excepted), and the
    /// handles found outside are forgotten.
    pub(super) fn overflowed(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        self.outside.clear();
        for at in 0..self.roots.len() {
            let node = self.roots[at].node;
            self.mark_checked(node);
        }
    }

    /// Where the directory whose key is `key` is: known, known to be outside, or
    /// resolved now through its root's mount.
    ///
    /// A directory never met is placed where it was when the event being taken was
    /// queued: where `later` says it was before a rename or deletion still to be taken,
    /// else where the disk has it (each unknown directory on its path likewise).
    pub(super) fn place_of(&mut self, key: &[u8], later: &Later) -> Place {
        self.place_within(key, later, MAX_DEPTH)
    }

    /// Where the directory `key` is, when that takes no system call: it is known (and
    /// checked since the last overflow), or known to lie outside.
    pub(super) fn cached_place(&self, key: &[u8]) -> Option<Place> {
        match self.keys.node(key) {
            Some(id) if self.is_checked(id) => Some(Place::Inside(id)),
            Some(_) => None,
            None if self.outside.contains(key) => Some(Place::Outside),
            None => None,
        }
    }

    /// [`place_of`](Self::place_of), following at most `depth` directories up.
    fn place_within(&mut self, key: &[u8], later: &Later, depth: usize) -> Place {
        let known = self.keys.node(key);
        match known {
            Some(id) if self.is_checked(id) => return Place::Inside(id),
            Some(_) => {}
            None if self.outside.contains(key) => return Place::Outside,
            None => {}
        }
        let placed = match (later.first(key), depth, known) {
            (_, 0, _) => None,
            (Some((dir, name)), _, _) => match self.place_within(dir, later, depth - 1) {
                Place::Inside(parent) => Some(self.place(key, parent, name)),
                Place::Outside => None,
            },
            (None, _, Some(id)) => self.check(id, key, later, depth),
            (None, _, None) => self.resolve(key, later, depth),
        };
        match placed {
            Some(id) => Place::Inside(id),
            None => {
                if let Some(id) = self.known(key) {
                    // Gone, or moved out while its events were lost.
                    self.remove_node(id);
                }
                self.note_outside(key);
                Place::Outside
            }
        }
    }

    /// Checks a directory met before the last overflow against the disk: its parent
    /// first, then whether the disk has it at the path the cache gives it; where it does
    /// not, it is resolved afresh (and moved in the cache, with all below it). `None`
    /// when it is gone or outside every root.
    fn check(&mut self, id: NodeId, key: &[u8], later: &Later, depth: usize) -> Option<NodeId> {
        let parent = self.nodes.get(id)?.parent;
        if parent != NO_NODE && !self.is_checked(parent) {
            let parent_key = self.keys.key(parent)?.to_vec();
            self.place_within(&parent_key, later, depth - 1);
        }
        match self.disk_agrees(id, key) {
            Some(true) => {
                self.mark_checked(id);
                Some(id)
            }
            Some(false) => self.resolve(key, later, depth),
            None => None,
        }
    }

    /// Whether the disk has the directory `id` (handle key `key`), whose parent is
    /// checked, at the path the cache gives it; `None` when its handle no longer opens
    /// (it was deleted).
    fn disk_agrees(&mut self, id: NodeId, key: &[u8]) -> Option<bool> {
        let top = self.nodes.root_of(id);
        let root = match self.roots.iter().position(|root| root.node == top) {
            Some(root) => root,
            None => return Some(false),
        };
        let opened = match open_by_handle_at(&self.roots[root].mount, handle_of_key(key)?) {
            Ok(opened) => opened,
            Err(_) => return None,
        };
        if !self
            .fd_paths
            .read(opened.as_descriptor().as_raw(), &mut self.link)
        {
            return Some(false);
        }
        drop(opened);
        if !self.nodes.path_into(id, &mut self.scratch) {
            return Some(false);
        }
        let root = &self.roots[root];
        let below = self
            .scratch
            .get(root.given.as_os_str().len()..)
            .map_or(&[][..], |rest| rest.strip_prefix(b"/").unwrap_or(rest));
        let disk = &root.disk[..];
        let agrees = self.link.strip_prefix(disk).map_or(false, |rest| {
            let rest = rest.strip_prefix(b"/").unwrap_or(rest);
            !disk.is_empty() && rest == below && rest.len() < self.link.len()
        });
        Some(agrees)
    }

    /// Whether the node `id` was placed or checked since the last overflow (a root
    /// always is).
    fn is_checked(&self, id: NodeId) -> bool {
        self.checked.get(id as usize) == Some(&self.epoch)
    }

    fn mark_checked(&mut self, id: NodeId) {
        let at = id as usize;
        if self.checked.len() <= at {
            self.checked.resize(at + 1, 0);
        }
        self.checked[at] = self.epoch;
    }

    /// The node of `key`, if it is known.
    pub(super) fn known(&self, key: &[u8]) -> Option<NodeId> {
        self.keys.node(key)
    }

    /// Writes the path of `id` into `out`; false when it is not below a root now (moved
    /// out) or is excluded or below an excluded directory.
    pub(super) fn delivered_path(&mut self, id: NodeId, out: &mut Vec<u8>) -> bool {
        !self.nodes.flag_at_or_above(id, FLAG_EXCLUDED) && self.nodes.path_into(id, out)
    }

    /// The parent and name of `id`, unless it is a root.
    pub(super) fn parent_and_name(&self, id: NodeId) -> Option<(NodeId, &[u8])> {
        let node = self.nodes.get(id)?;
        if node.is_root() || node.parent == NO_NODE {
            return None;
        }
        Some((node.parent, self.nodes.name(id)))
    }

    /// Whether `name` under the directory `parent` is excluded by the caller.
    pub(super) fn excludes(&mut self, parent: NodeId, name: &[u8]) -> bool {
        let exclude = match self.exclude.as_mut() {
            Some(exclude) => exclude,
            None => return false,
        };
        if !self.nodes.path_into(parent, &mut self.scratch) {
            return false;
        }
        push_name(&mut self.scratch, Some(name));
        exclude(
            Path::new(OsStr::from_bytes(&self.scratch)),
            OsStr::from_bytes(name),
        )
    }

    /// Whether the node `id` is excluded by its own name.
    pub(super) fn is_excluded(&self, id: NodeId) -> bool {
        self.nodes.has_flag(id, FLAG_EXCLUDED)
    }

    /// Records that the directory `key` is `name` under `parent` (a node inside), as a
    /// creation or a rename says: a known node moves there (O(1) for all below it), an
    /// unknown one is added. Another node in that place (a directory the rename
    /// replaced) is removed.
    pub(super) fn place(&mut self, key: &[u8], parent: NodeId, name: &[u8]) -> NodeId {
        let known = self.known(key);
        if let Some(other) = self.nodes.child(parent, name) {
            if Some(other) != known {
                self.remove_node(other);
            }
        }
        let id = match known {
            Some(id) if self.nodes.get(id).map_or(false, |node| node.is_root()) => return id,
            Some(id) => {
                self.nodes.rename(id, parent, name);
                id
            }
            None => {
                let id = self.nodes.add_child(parent, name, 0);
                self.remember(id, key);
                id
            }
        };
        let excluded = self.excludes(parent, name);
        self.nodes.set_flag(id, FLAG_EXCLUDED, excluded);
        self.mark_checked(id);
        id
    }

    /// Puts the directory `key`, if it is known, back where `later` says it was before
    /// its next rename or deletion: for one placed from the disk, which a rename made
    /// meanwhile may have put ahead of the events.
    pub(super) fn put_back(&mut self, key: &[u8], later: &Later) {
        let (dir, name) = match (self.known(key), later.first(key)) {
            (Some(_), Some(was)) => was,
            _ => return,
        };
        match self.place_within(dir, later, MAX_DEPTH) {
            Place::Inside(parent) => {
                self.place(key, parent, name);
            }
            Place::Outside => self.moved_out(key),
        }
    }

    /// Forgets the handles found outside: a directory that came in from outside may hold
    /// some of them.
    pub(super) fn forget_outside(&mut self) {
        self.outside.clear();
    }

    /// Records that the directory `key` left the roots: its node (if known) keeps what
    /// is below it, but has no path until a rename brings it back.
    pub(super) fn moved_out(&mut self, key: &[u8]) {
        if let Some(id) = self.known(key) {
            self.nodes.orphan(id);
        }
    }

    /// Forgets the directory `key` and what is below it: it was deleted.
    pub(super) fn deleted(&mut self, key: &[u8]) {
        if let Some(id) = self.known(key) {
            if self.root_index(id).is_none() {
                self.remove_node(id);
            }
        }
    }

    fn remember(&mut self, id: NodeId, key: &[u8]) {
        self.keys.insert(id, key);
        self.mark_checked(id);
    }

    fn remove_node(&mut self, id: NodeId) {
        let mut gone = Vec::new();
        self.nodes
            .remove_subtree(id, true, |node, _| gone.push(node));
        for node in gone {
            self.keys.remove(node);
        }
    }

    /// Resolves a handle never met (or met before an overflow): opens it through the
    /// mount of a root on its file system and goes up with `..`, one directory at a
    /// time, until a directory known (and checked) is reached. Then its path, read from
    /// `/proc/self/fd`, names it and each unknown directory on the way, placed below the
    /// known one where the cache has it, which may be behind the disk. `None` when it
    /// lies outside every root (a directory known to lie outside is above it, or none
    /// known is, up to its mount's top), or it is gone; the directories walked through
    /// are then known to lie outside too, when one above them was.
    fn resolve(&mut self, key: &[u8], later: &Later, depth: usize) -> Option<NodeId> {
        let fsid = fsid_of_key(key)?;
        let mut walked = core::mem::take(&mut self.walked);
        let mut placed = None;
        let mut below_outside = false;
        for at in 0..self.roots.len() {
            if self.roots[at].fsid != fsid {
                continue;
            }
            walked.clear();
            match self.walk_up(at, fsid, key, later, &mut walked) {
                Walked::Below(anchor, opened) => {
                    placed = self.place_walked(anchor, opened, &walked, later, depth);
                    if placed.is_some() {
                        break;
                    }
                }
                Walked::BelowMoved(opened) => {
                    let moved = walked.pop().unwrap_or_default();
                    placed = match self.place_within(&moved, later, depth - 1) {
                        Place::Inside(anchor) => {
                            self.place_walked(anchor, opened, &walked, later, depth)
                        }
                        Place::Outside => None,
                    };
                    if placed.is_some() {
                        break;
                    }
                }
                Walked::BelowOutside => below_outside = true,
                Walked::Nowhere => {}
            }
        }
        if placed.is_none() && below_outside {
            for step in walked.drain(..).skip(1) {
                self.note_outside(&step);
            }
        }
        walked.clear();
        self.walked = walked;
        placed
    }

    /// Goes up from the directory `key` through the mount of the root at `root`, to the
    /// first directory known inside (and checked), known outside, or renamed or deleted
    /// by an event still to be taken, pushing the keys of the directories on the way
    /// (`key` first) onto `walked`.
    fn walk_up(
        &mut self,
        root: usize,
        fsid: [i32; 2],
        key: &[u8],
        later: &Later,
        walked: &mut Vec<Vec<u8>>,
    ) -> Walked {
        let root = &self.roots[root];
        let mount_id = root.mount_id;
        let handle = match handle_of_key(key) {
            Some(handle) => handle,
            None => return Walked::Nowhere,
        };
        let opened = match open_by_handle_at(&root.mount, handle) {
            Ok(opened) => opened,
            Err(_) => return Walked::Nowhere,
        };
        walked.push(key.to_vec());
        let mut above: Option<OwnedDescriptor> = None;
        for _ in 0..MAX_DEPTH {
            let dir = above.as_ref().unwrap_or(&opened);
            let handle = match parent_handle(dir) {
                Ok(handle) if handle.mount_id() == mount_id => handle,
                _ => return Walked::Nowhere, // the top of its mount
            };
            let mut step = Vec::new();
            key_into(&mut step, fsid, handle.as_handle());
            if walked.last().map_or(false, |last| *last == step) {
                return Walked::Nowhere; // the file system's top is its own parent
            }
            match self.keys.node(&step) {
                Some(id) if self.is_checked(id) => return Walked::Below(id, opened),
                _ if later.first(&step).is_some() => {
                    // Where the disk has it is not where it was when the event was
                    // queued: what is below it goes with it.
                    walked.push(step);
                    return Walked::BelowMoved(opened);
                }
                _ if self.outside.contains(&step[..]) => return Walked::BelowOutside,
                _ => {}
            }
            above = match open_path_only(Some(dir), b"..") {
                Ok(up) => Some(up),
                Err(_) => return Walked::Nowhere,
            };
            walked.push(step);
        }
        Walked::Nowhere
    }

    /// Places the directories `walked` (the one resolved first, open as `opened`, then
    /// each one above it) below `anchor`, with the names their path has now.
    fn place_walked(
        &mut self,
        anchor: NodeId,
        opened: OwnedDescriptor,
        walked: &[Vec<u8>],
        later: &Later,
        depth: usize,
    ) -> Option<NodeId> {
        let mut path = core::mem::take(&mut self.link);
        let read = self
            .fd_paths
            .read(opened.as_descriptor().as_raw(), &mut path);
        drop(opened);
        // The last `walked.len()` names of the path, top first.
        let mut names = Vec::with_capacity(walked.len());
        let mut end = path.len();
        for _ in walked {
            let start = path[..end].iter().rposition(|&byte| byte == b'/');
            match (read, start) {
                (true, Some(start)) => {
                    names.push(start + 1..end);
                    end = start;
                }
                _ => {
                    self.link = path;
                    return None;
                }
            }
        }
        let mut at = anchor;
        for (step, name) in walked.iter().rev().zip(names.into_iter().rev()) {
            at = if later.first(step).is_some() {
                // Renamed or deleted since: it was elsewhere when the event was queued.
                match self.place_within(step, later, depth - 1) {
                    Place::Inside(id) => id,
                    Place::Outside => {
                        self.link = path;
                        return None;
                    }
                }
            } else {
                self.place(step, at, &path[name])
            };
        }
        self.link = path;
        Some(at)
    }

    /// Notes that the directory `key` lies outside every root.
    fn note_outside(&mut self, key: &[u8]) {
        if self.outside.len() >= OUTSIDE_KEPT {
            self.outside.clear();
        }
        self.outside.insert(key.into());
    }
}

/// Where going up from a directory ended.
enum Walked {
    /// Below this known directory; the directory itself is still open.
    Below(NodeId, OwnedDescriptor),
    /// Below the directory last pushed, which an event still to be taken renames or
    /// deletes; the directory itself is still open.
    BelowMoved(OwnedDescriptor),
    /// Below a directory known to lie outside every root.
    BelowOutside,
    /// At the top of the mount or the file system with no known directory on the way,
    /// or the directory could not be opened or gone up from.
    Nowhere,
}

/// Reads the paths of open descriptors from `/proc/self/fd`, kept open: a path is then
/// one lookup in it, not four. Opened again when the process is not the one that
/// opened it (after a `fork`).
#[derive(Default)]
struct FdPaths {
    /// `/proc/self/fd`, and the process it was opened by.
    dir: Option<(OwnedDescriptor, u32)>,
}

impl FdPaths {
    /// Writes the path of the open descriptor `fd` into `out` (cleared first). False
    /// when it cannot be read, or is longer than a page.
    fn read(&mut self, fd: RawFd, out: &mut Vec<u8>) -> bool {
        let pid = std::process::id();
        if self.dir.as_ref().map_or(true, |(_, by)| *by != pid) {
            self.dir = open_path_following(b"/proc/self/fd")
                .ok()
                .map(|dir| (dir, pid));
        }
        // "/proc/self/fd/" and the number, NUL-terminated: the number alone is the
        // name in the open directory.
        let mut link = Vec::with_capacity(32);
        link.extend_from_slice(b"/proc/self/fd/");
        let number_at = link.len();
        link.extend_from_slice(fd.to_string().as_bytes());
        link.push(0);
        let (dirfd, name) = match &self.dir {
            Some((dir, _)) => (dir.as_raw(), &link[number_at..]),
            None => (AT_FDCWD, &link[..]),
        };
        let name = match NulTerminated::new(name) {
            Some(name) => name,
            None => return false,
        };
        out.clear();
        out.resize(LINK_MAX, 0);
        match readlinkat(dirfd, name, out) {
            Ok(len) if len < out.len() => {
                out.truncate(len);
                true
            }
            _ => {
                out.clear();
                false
            }
        }
    }
}
