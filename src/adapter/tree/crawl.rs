//! How a [`TreeWatcher`] walks directories: the quiet crawl of a root (level by level,
//! the noisy event bits off while listing, leaves known by their link count), the scan
//! of a directory new to the tree (watched through `/proc/self/fd`, everything in it
//! reported), and the re-crawl after a queue overflow.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::vec::Vec;

use super::{FoundNames, Synthetic, TreeWatcher, FOLLOW, LISTING_NOISE};
use crate::adapter::event::{Origin, RootError, WatchError};
use crate::adapter::nodes::{IdRuns, NodeId, FLAG_LISTING, FLAG_UNREPORTED, NO_NODE};
use crate::adapter::watcher::push_name;
use crate::dir::{
    open_path_following, open_path_only, proc_fd_path, stat_descriptor, stat_entry, stat_path,
    Directory,
};
use crate::error::{Error, PathError};
use crate::fd::OwnedDescriptor;
use crate::mask::{EventMask, WatchMask};
use crate::parse::{Dirent, FileKind, WatchDescriptor};
use crate::sys::{Errno, PATH_MAX};

/// Bytes per `getdents64` call.
pub(super) const LISTING_LEN: usize = 32 * 1024;

/// Whether `/proc/self/fd` is there to name an open directory (not in an early initramfs).
pub(super) fn proc_fd_works() -> bool {
    stat_path(b"/proc/self/fd", true).map_or(false, |stat| stat.kind == FileKind::Directory)
}

/// What became of one directory the tree tried to watch.
enum Watched {
    Yes(WatchDescriptor),
    /// It is gone, or is no longer a directory: skipped without a word.
    Vanished,
    /// Skipped, with an event that says why.
    Skipped(Errno),
    /// A limit (watches, descriptors): skipped and counted, when the tree goes on at
    /// that limit.
    AtLimit,
}

/// True for the errors of a directory that went away (or was replaced by something that
/// is not a directory) between being seen and being used.
pub(super) fn vanished(errno: Option<Errno>) -> bool {
    matches!(
        errno,
        Some(Errno::ENOENT) | Some(Errno::ENOTDIR) | Some(Errno::ELOOP)
    )
}

impl TreeWatcher {
    /// The mask of a directory once it is watched: the caller's events and what the
    /// tree follows.
    fn full_mask(&self) -> WatchMask {
        self.mask | FOLLOW | WatchMask::ONLYDIR | WatchMask::DONT_FOLLOW
    }

    /// The mask while the tree lists a directory or its children: no bit that listing
    /// raises within the tree's own calls. `IN_CLOSE_NOWRITE` stays when the caller
    /// takes it: a listing's close may come late, from a forked child, and is counted
    /// off when it comes (see `own.rs`).
    fn quiet_mask(&self) -> WatchMask {
        self.full_mask() - (LISTING_NOISE - WatchMask::CLOSE_NOWRITE)
    }

    /// The mask while the tree scans a new directory: quiet, plus `IN_CLOSE_NOWRITE`,
    /// whose arrival marks the end of the listing in the queue.
    fn scan_mask(&self) -> WatchMask {
        self.quiet_mask() | WatchMask::CLOSE_NOWRITE
    }

    /// Adds a root: watches every directory below `root` (following `root` itself if it
    /// is a symbolic link, and no link below it).
    ///
    /// # Errors
    /// `root` does not exist, is not a directory, or is already in the tree; the watch
    /// limit or the descriptor limit, unless the tree goes on at that limit.
    pub fn add_root<P: AsRef<Path>>(&mut self, root: P) -> io::Result<()> {
        let root = root.as_ref();
        let path_error = |source| PathError {
            path: root.to_path_buf(),
            source,
        };
        let bytes = root.as_os_str().as_bytes();
        if let Some(position) = bytes.iter().position(|&b| b == 0) {
            return Err(path_error(Error::PathContainsNul { position }).into());
        }
        let quiet = self.quiet_mask() - WatchMask::DONT_FOLLOW;
        let wd = self
            .reader
            .inotify()
            .add_watch(root, quiet)
            .map_err(|error| RootError::of_root(root, error))?;
        if self.nodes.by_wd(wd).is_some() {
            // Already watched: restore the mask the quiet watch replaced.
            let _ = self
                .reader
                .inotify()
                .add_watch(root, self.full_mask() - WatchMask::DONT_FOLLOW);
            return Err(RootError::InsideAnother(root.to_path_buf()).into());
        }
        let stat = stat_path(bytes, true).map_err(path_error)?;
        let id = self.nodes.add_root(root, stat.ino);
        self.set_wd(id, wd);
        self.roots.push(id);
        let unwatched = self
            .crawl(id, stat.nlink)
            .map_err(|error| RootError::below(root, error))?;
        if unwatched > 0 {
            self.push_synthetic(
                id,
                b"",
                EventMask::empty(),
                Origin::WatchLimit { unwatched },
            );
        }
        Ok(())
    }

    /// Watches and lists every directory below `top`, which is watched with the quiet
    /// mask and not yet listed, level by level. A directory stays quiet until its
    /// children are listed, then gets the full mask. Returns how many directories could
    /// not be watched for the watch limit.
    fn crawl(&mut self, top: NodeId, top_nlink: u32) -> Result<u64, WatchError> {
        let full = self.full_mask();
        let quiet = self.quiet_mask();
        let mut unwatched = 0;
        let mut level = IdRuns::default();
        self.list_existing(top, top_nlink, &mut level)?;
        let mut upgrade = IdRuns::default();
        upgrade.push(top);
        while !level.is_empty() {
            let mut next = IdRuns::default();
            let mut next_upgrade = IdRuns::default();
            for id in core::mem::take(&mut level).into_ids() {
                let nlink = match self.watch_existing(id, full)? {
                    Some(nlink) => nlink,
                    None => {
                        unwatched += self.take_unwatched();
                        continue;
                    }
                };
                if nlink == 2 {
                    continue; // no subdirectory: nothing to list
                }
                if quiet != full {
                    self.rewatch(id, quiet);
                    next_upgrade.push(id);
                }
                self.list_existing(id, nlink, &mut next)?;
                self.drain_own_closes()?;
            }
            if quiet != full {
                for id in upgrade.into_ids() {
                    self.rewatch(id, full);
                }
            }
            upgrade = next_upgrade;
            level = next;
        }
        if quiet != full {
            for id in upgrade.into_ids() {
                self.rewatch(id, full);
            }
        }
        Ok(unwatched)
    }

    /// Watches the directory `id` (listed in its parent, not watched yet) with `mask`,
    /// checks that its path still names the inode the listing saw, and returns its link
    /// count. `None` when it is skipped (and then no longer in the tree).
    fn watch_existing(&mut self, id: NodeId, mask: WatchMask) -> Result<Option<u32>, WatchError> {
        let expected_ino = match self.nodes.get(id) {
            Some(_) => self.nodes.ino(id),
            None => return Ok(None),
        };
        for _attempt in 0..3 {
            let wd = match self.watch_path(id, mask)? {
                Watched::Yes(wd) => wd,
                other => {
                    self.skip(id, other);
                    return Ok(None);
                }
            };
            let stat = match stat_path(&self.scratch, false) {
                Ok(stat) if stat.kind == FileKind::Directory => stat,
                Ok(_) => {
                    self.skip(id, Watched::Vanished);
                    return Ok(None);
                }
                Err(error) => {
                    self.skip(
                        id,
                        if vanished(error.errno()) {
                            Watched::Vanished
                        } else {
                            Watched::Skipped(errno_of(&error))
                        },
                    );
                    return Ok(None);
                }
            };
            if !self.adopt_wd(id, wd) {
                return Ok(None);
            }
            if stat.ino == expected_ino || expected_ino == 0 {
                self.set_ino(id, stat.ino);
                return Ok(Some(stat.nlink));
            }
            // The name was replaced since the listing: watch what it names now, and make
            // sure the watch is on that object by watching it again.
            self.set_ino(id, stat.ino);
            if let Watched::Yes(again) = self.watch_path(id, mask)? {
                if again == wd {
                    return Ok(Some(stat.nlink));
                }
                if self.nodes.by_wd(wd) == Some(id) {
                    self.nodes.clear_wd(id);
                    let _ = self.reader.inotify().rm_watch(wd);
                }
            }
        }
        self.skip(id, Watched::Vanished);
        Ok(None)
    }

    /// Records that `id` is watched as `wd`. When another node already has `wd`, the
    /// object is that node's, renamed here with its events still in flight (or lost):
    /// that node moves here, and `id` goes. Returns false when `id` is gone.
    fn adopt_wd(&mut self, id: NodeId, wd: WatchDescriptor) -> bool {
        match self.nodes.by_wd(wd) {
            Some(owner) if owner != id => {
                let (parent, name) = match self.nodes.get(id) {
                    Some(node) => (node.parent, self.nodes.name(id).to_vec()),
                    None => return false,
                };
                if self.nodes.get(owner).map_or(true, |node| node.is_root())
                    || self.nodes.is_below(parent, owner)
                {
                    // A root, or an ancestor: a loop through a bind mount. Skip it.
                    self.nodes.remove_subtree(id, true, |_, _| {});
                    return false;
                }
                self.nodes.remove_subtree(id, true, |_, _| {});
                self.delivered.before_disk_change(&self.nodes, owner);
                self.nodes.rename(owner, parent, &name);
                let _ = self.placed(owner);
                false
            }
            _ => {
                self.set_wd(id, wd);
                true
            }
        }
    }

    fn set_ino(&mut self, id: NodeId, ino: u64) {
        self.nodes.set_ino(id, ino);
    }

    /// Records that `id` is watched as `wd`, removing the watch it had before (on an
    /// object that is no longer at its path).
    fn set_wd(&mut self, id: NodeId, wd: WatchDescriptor) {
        if let Some(old) = self.nodes.set_wd(id, wd) {
            let _ = self.reader.inotify().rm_watch(old);
        }
    }

    /// `inotify_add_watch` on the path of `id` (left in `self.scratch`).
    fn watch_path(&mut self, id: NodeId, mask: WatchMask) -> Result<Watched, WatchError> {
        let mut path = core::mem::take(&mut self.scratch);
        let complete = self.nodes.path_into(id, &mut path);
        let added = if !complete {
            Err(Error::syscall(
                crate::error::Call::InotifyAddWatch,
                Errno::ENOENT,
            ))
        } else if path.len() < PATH_MAX {
            self.reader.inotify().add_watch(&path[..], mask)
        } else {
            self.watch_long_path(&path, mask)
        };
        let watched = self.classify(added, &path, id);
        self.scratch = path;
        watched
    }

    /// `inotify_add_watch` on the directory at `path` (not a root), which the kernel
    /// refuses whole (`PATH_MAX` bytes or more): through a descriptor opened a part of
    /// the path at a time, named by `/proc/self/fd`. `ENAMETOOLONG` where `/proc` is
    /// missing.
    fn watch_long_path(&self, path: &[u8], mask: WatchMask) -> Result<WatchDescriptor, Error> {
        if !self.proc_fd {
            return Err(Error::syscall(
                crate::error::Call::InotifyAddWatch,
                Errno::ENAMETOOLONG,
            ));
        }
        let named = open_path_only(None, path)?;
        self.watch_named(&named, path, mask)
    }

    /// Sorts the result of an `inotify_add_watch` (or of the open before it) on the
    /// directory at `path`, in or near the node `near`: vanished, skipped, or at a limit
    /// (an error unless the tree goes on).
    fn classify(
        &mut self,
        added: Result<WatchDescriptor, Error>,
        path: &[u8],
        near: NodeId,
    ) -> Result<Watched, WatchError> {
        match added {
            Ok(wd) => Ok(Watched::Yes(wd)),
            Err(error) if vanished(error.errno()) => Ok(Watched::Vanished),
            Err(error) if error.errno() == Some(Errno::ENOSPC) => {
                if !self.keep_going_at_watch_limit {
                    return Err(limit_error(path, error));
                }
                let (count, listed_top) = count_directories(path);
                self.unwatched += count;
                if listed_top {
                    self.listed_unwatched(path);
                }
                Ok(Watched::AtLimit)
            }
            Err(error) if self.at_descriptor_limit(&error, path, near)? => Ok(Watched::AtLimit),
            Err(error) => Ok(Watched::Skipped(errno_of(&error))),
        }
    }

    /// Whether `error`, from opening the directory at `path` (in or near the node
    /// `near`), says the process has no descriptor free (`EMFILE`, `ENFILE`): then it
    /// is an error that names `path`, unless the tree goes on at that limit, and counts
    /// the directory in its root's [`Origin::DescriptorLimit`] notice.
    fn at_descriptor_limit(
        &mut self,
        error: &Error,
        path: &[u8],
        near: NodeId,
    ) -> Result<bool, WatchError> {
        if !matches!(error.errno(), Some(Errno::EMFILE) | Some(Errno::ENFILE)) {
            return Ok(false);
        }
        if !self.keep_going_at_descriptor_limit {
            return Err(limit_error(path, *error));
        }
        self.count_unopened(near);
        Ok(true)
    }

    /// [`at_descriptor_limit`](Self::at_descriptor_limit) for the directory `id`.
    fn at_descriptor_limit_of(&mut self, id: NodeId, error: &Error) -> Result<bool, WatchError> {
        let mut path = core::mem::take(&mut self.scratch);
        self.nodes.path_into(id, &mut path);
        let at_limit = self.at_descriptor_limit(error, &path, id);
        self.scratch = path;
        at_limit
    }

    /// Counts one more directory that could not be opened in the
    /// [`Origin::DescriptorLimit`] notice of the root of `near` that waits to be
    /// delivered, or queues one. Where the last one was queued is remembered, so that
    /// counting does not search the queue each time.
    fn count_unopened(&mut self, near: NodeId) {
        let root = self.nodes.root_of(near);
        if root == NO_NODE {
            return;
        }
        let is_notice = |made: &Synthetic| {
            made.dir == root && matches!(made.origin, Origin::DescriptorLimit { .. })
        };
        if !self
            .synthetic
            .get(self.descriptor_notice)
            .map_or(false, is_notice)
        {
            match self.synthetic.iter().position(is_notice) {
                Some(at) => self.descriptor_notice = at,
                None => {
                    self.descriptor_notice = self.synthetic.len();
                    let origin = Origin::DescriptorLimit { unlisted: 0 };
                    self.push_synthetic(root, b"", EventMask::empty(), origin);
                }
            }
        }
        if let Some(Synthetic {
            origin: Origin::DescriptorLimit { unlisted },
            ..
        }) = self.synthetic.get_mut(self.descriptor_notice)
        {
            *unlisted += 1;
        }
    }

    /// After a failed open of the directory `id` to list it: nothing when it has gone;
    /// at the descriptor limit, an error or (going on) one more directory not listed;
    /// otherwise an event that says it is skipped.
    fn not_opened(&mut self, id: NodeId, error: &Error) -> Result<(), WatchError> {
        if !vanished(error.errno()) && !self.at_descriptor_limit_of(id, error)? {
            self.push_notice(id, errno_of(error));
        }
        Ok(())
    }

    /// How many directories the last watches at the limit left out; resets the count.
    fn take_unwatched(&mut self) -> u64 {
        core::mem::take(&mut self.unwatched)
    }

    /// Gives up on `id`, with an event when the reason is worth one. A directory the
    /// tree already watches stays: its own watch, or its parent's, will say what became
    /// of it (deleted, moved), and a path that failed may only be out of date.
    fn skip(&mut self, id: NodeId, why: Watched) {
        if let Watched::Skipped(errno) = why {
            self.push_notice(id, errno);
        }
        if self.nodes.wd(id).is_none() {
            self.forget_subtree(id);
        }
    }

    /// Queues an [`Origin::Skipped`] event for the directory `id`.
    fn push_notice(&mut self, id: NodeId, errno: Errno) {
        let (parent, is_root) = match self.nodes.get(id) {
            Some(node) => (node.parent, node.is_root()),
            None => return,
        };
        if is_root {
            self.push_synthetic(id, b"", EventMask::ISDIR, Origin::Skipped(errno));
        } else {
            let name = self.nodes.name(id).to_vec();
            self.push_synthetic(parent, &name, EventMask::ISDIR, Origin::Skipped(errno));
        }
    }

    /// Queues an event the tree makes: `name` in `dir`.
    pub(super) fn push_synthetic(
        &mut self,
        dir: NodeId,
        name: &[u8],
        mask: EventMask,
        origin: Origin,
    ) {
        let name_at = self.synthetic_names.len();
        self.synthetic_names.extend_from_slice(name);
        self.synthetic.push_back(Synthetic {
            dir,
            name_at,
            name_len: name.len(),
            mask,
            cookie: 0,
            origin,
            subject: NO_NODE,
        });
    }

    /// Records that the tree listed the directory at `path` without watching it: its
    /// parent's watch reports the close.
    fn listed_unwatched(&mut self, path: &[u8]) {
        let path = Path::new(OsStr::from_bytes(path));
        if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
            if let Some(parent) = self.node_at(parent) {
                self.own.opened_unwatched(parent, name.as_bytes());
            }
        }
    }

    /// When a crawl has listed enough directories since the queue was last read, reads
    /// it now (the closes of those listings fill it, two each): the tree's own closes
    /// are counted off and dropped, everything else is kept, in order, for the reads to
    /// come.
    fn drain_own_closes(&mut self) -> Result<(), WatchError> {
        if !self.own.drain_due() {
            return Ok(());
        }
        let (nodes, own) = (&self.nodes, &mut self.own);
        self.reader
            .read_ahead(|wd, mask, name| match nodes.by_wd(wd) {
                // A scan's listing ends with that close: left to `follow`.
                Some(dir) if !(name.is_empty() && nodes.has_flag(dir, FLAG_LISTING)) => {
                    own.take(nodes, dir, name, mask)
                }
                _ => false,
            })?;
        self.own.drained();
        Ok(())
    }

    /// Watches `id` again with `mask` (replacing its mask), by path.
    fn rewatch(&mut self, id: NodeId, mask: WatchMask) {
        let expected = match self.nodes.wd(id) {
            Some(wd) => wd,
            None => return,
        };
        let mask = if self.nodes.get(id).map_or(false, |node| node.is_root()) {
            mask - WatchMask::DONT_FOLLOW
        } else {
            mask
        };
        if let Ok(Watched::Yes(wd)) = self.watch_path(id, mask) {
            if wd != expected && self.nodes.by_wd(wd).is_none() {
                // The path names another object now; the events of the rename will
                // put things right. Do not leave a watch nobody owns.
                let _ = self.reader.inotify().rm_watch(wd);
            }
        }
    }

    /// Lists the directory `id` (watched), adding a node for each subdirectory that is
    /// not in the tree yet and pushing it on `out`. Stops once `nlink - 2`
    /// subdirectories are known, when the link count means something.
    fn list_existing(
        &mut self,
        id: NodeId,
        nlink: u32,
        out: &mut IdRuns,
    ) -> Result<(), WatchError> {
        let is_root = self.nodes.get(id).map_or(false, |node| node.is_root());
        let mut path = core::mem::take(&mut self.scratch);
        self.nodes.path_into(id, &mut path);
        let opened = Directory::open_any_length(&path, is_root);
        self.scratch = path;
        let dir = match opened {
            Ok(dir) => dir,
            Err(error) => return self.not_opened(id, &error),
        };
        self.own.opened(id);
        let wanted = if nlink >= 2 { Some(nlink - 2) } else { None };
        let mut subdirectories = 0;
        let mut listing = core::mem::take(&mut self.listing);
        let result = loop {
            if wanted.map_or(false, |wanted| subdirectories >= wanted) {
                break Ok(());
            }
            let entries = match dir.read(&mut listing) {
                Ok(entries) if entries.is_empty() => break Ok(()),
                Ok(entries) => entries,
                Err(error) if vanished(error.errno()) => break Ok(()),
                Err(error) => {
                    self.push_notice(id, errno_of(&error));
                    break Ok(());
                }
            };
            for entry in entries {
                // The kernel's records are well formed; a malformed one ends this listing.
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(_) => break,
                };
                if entry.is_dot_or_dot_dot() {
                    continue;
                }
                let kind = kind_of(&dir, &entry);
                if kind != FileKind::Directory {
                    continue;
                }
                subdirectories += 1;
                let name = entry.name();
                if self.nodes.child(id, name).is_some() || self.is_excluded(id, name) {
                    continue;
                }
                out.push(self.nodes.add_child(id, name, entry.ino()));
            }
        };
        self.listing = listing;
        result
    }

    /// The directory `id` opened with `O_PATH` (no event), with what it is, if its path
    /// still names it (the same inode).
    ///
    /// # Errors
    /// No descriptor free, unless the tree goes on at that limit.
    pub(super) fn open_node(&mut self, id: NodeId) -> Result<Opened, WatchError> {
        let node = match self.nodes.get(id) {
            Some(node) => *node,
            None => return Ok(Opened::Elsewhere),
        };
        let ino = self.nodes.ino(id);
        let mut path = core::mem::take(&mut self.scratch);
        let complete = self.nodes.path_into(id, &mut path);
        let opened = if !complete {
            Ok(Opened::Elsewhere)
        } else {
            let opened = if node.is_root() {
                open_path_following(&path)
            } else {
                open_path_only(None, &path)
            };
            match opened {
                Ok(fd) => match stat_descriptor(&fd) {
                    Ok(stat)
                        if stat.kind == FileKind::Directory && (stat.ino == ino || ino == 0) =>
                    {
                        Ok(Opened::Here(fd))
                    }
                    _ => Ok(Opened::Elsewhere),
                },
                Err(error) => self.at_descriptor_limit(&error, &path, id).map(|at_limit| {
                    if at_limit {
                        Opened::NoDescriptor
                    } else {
                        Opened::Elsewhere
                    }
                }),
            }
        };
        self.scratch = path;
        opened
    }

    /// Watches the directory `name` in `dir` (opened through `dir_fd`, so a rename above
    /// it cannot misplace the watch), as the child of `dir` by that name. The watch
    /// descriptor the kernel gives says what it is:
    /// - the node there already: nothing to do;
    /// - another directory of the tree, moved here: that node moves here (whatever is
    ///   below it comes along), and the one that had the name becomes an orphan;
    /// - new to the tree: a node.
    ///
    /// Returns the directory to list with [`scan`](Self::scan), with the scan mask on
    /// it: a new one, or one moved here that the caller was not told of as a move (see
    /// [`Arrival`]). One a listing found is reported as found too.
    pub(super) fn watch_entry(
        &mut self,
        dir: NodeId,
        dir_fd: &OwnedDescriptor,
        name: &[u8],
        arrival: Arrival,
    ) -> Result<Option<(NodeId, OwnedDescriptor)>, WatchError> {
        let found = arrival == Arrival::Found;
        let current = self.nodes.child(dir, name);
        if self.is_excluded(dir, name) {
            if let Some(current) = current {
                self.forget_subtree(current);
            }
            // A directory of the tree renamed to an excluded name left the tree now.
            if let Ok(stat) = stat_entry(dir_fd, name) {
                self.forget_orphan_of(stat.ino);
            }
            // Found by a listing, it is reported as the kernel reports one made in a
            // watched directory: itself, nothing below it.
            if found && self.mask.contains(WatchMask::CREATE) {
                let mask = EventMask::CREATE | EventMask::ISDIR;
                self.push_synthetic(dir, name, mask, Origin::Scan);
            }
            return Ok(None);
        }
        let mut path = core::mem::take(&mut self.scratch);
        self.nodes.path_into(dir, &mut path);
        push_name(&mut path, Some(name));
        let (named, watched) = match open_path_only(Some(dir_fd), name) {
            Ok(named) => {
                let added = self.watch_named(&named, &path, self.scan_mask());
                (Some(named), self.classify(added, &path, dir))
            }
            Err(error) => (None, self.classify(Err(error), &path, dir)),
        };
        self.scratch = path;
        let (named, wd) = match (named, watched?) {
            (Some(named), Watched::Yes(wd)) => (named, wd),
            (_, Watched::Skipped(errno)) => {
                self.push_synthetic(dir, name, EventMask::ISDIR, Origin::Skipped(errno));
                return Ok(None);
            }
            (_, Watched::AtLimit) => return Ok(None),
            _ => {
                match current {
                    Some(current) => self.orphan(current),
                    // New to the tree, seen by the listing, gone before it could be
                    // watched: it is not reported, so the caller never has it here, and
                    // the event that took it away is not delivered either.
                    None if found => self.open_listings.unsee(dir, name),
                    None => {}
                }
                return Ok(None);
            }
        };
        let ino = stat_descriptor(&named).map_or(0, |stat| stat.ino);
        match self.nodes.by_wd(wd) {
            Some(owner) if Some(owner) == current => {
                self.set_ino(owner, ino);
                self.set_mask(owner, &named, self.full_mask());
                Ok(None)
            }
            Some(owner)
                if owner == dir
                    || self.nodes.get(owner).map_or(true, |node| node.is_root())
                    || self.nodes.is_below(dir, owner) =>
            {
                // A root or a directory above seen again (a bind mount): not twice.
                self.set_mask(owner, &named, self.full_mask());
                Ok(None)
            }
            Some(owner) => {
                if let Some(current) = current {
                    self.orphan(current);
                }
                self.unreported_moved(owner);
                self.delivered.before_disk_change(&self.nodes, owner);
                self.nodes.rename(owner, dir, name);
                // The events read already put it here (its rename was read when the
                // path of `dir` no longer named `dir`, so only the disk view lagged): the
                // caller knows it here, and is told nothing more.
                let told = self.delivered.agree_again(&self.nodes, owner);
                self.set_ino(owner, ino);
                self.placed(owner)?;
                if self.nodes.get(owner).is_none() {
                    return Ok(None);
                }
                // Found by a listing, no event says it came: the delivered view learns
                // it from a found event, and if the caller did not know it, is told what
                // it holds then. A kernel event's arrival is applied with the event.
                if found && !told {
                    self.report_found(dir, name)?;
                }
                // A listing of it that could not be made is made now.
                if self.nodes.has_flag(owner, FLAG_UNREPORTED) {
                    self.nodes.set_flag(owner, FLAG_UNREPORTED, false);
                    return Ok(Some((owner, named)));
                }
                self.set_mask(owner, &named, self.full_mask());
                Ok(None)
            }
            None => {
                if let Some(current) = current {
                    self.orphan(current);
                }
                let id = self.nodes.add_child(dir, name, ino);
                if !self.replaying {
                    // Placed in the delivered view when its arrival is read (a replayed
                    // change was read, and placed nothing, before its node existed).
                    self.delivered.not_yet_reported(id);
                }
                self.set_wd(id, wd);
                if found {
                    self.report_found(dir, name)?;
                }
                Ok(Some((id, named)))
            }
        }
    }

    /// Sets the mask of the directory `named` names, the node `id`: through
    /// `/proc/self/fd`, or by the node's path where `/proc` is missing.
    fn set_mask(&mut self, id: NodeId, named: &OwnedDescriptor, mask: WatchMask) {
        let mut path = core::mem::take(&mut self.scratch);
        path.clear();
        if !self.proc_fd {
            self.nodes.path_into(id, &mut path);
        }
        let _ = self.watch_named(named, &path, mask);
        self.scratch = path;
    }

    /// Queues an [`Origin::WatchLimit`] event at the root of `near` if the last watches
    /// left directories out at the limit.
    pub(super) fn report_unwatched(&mut self, near: NodeId) {
        let unwatched = self.take_unwatched();
        let root = self.nodes.root_of(near);
        if unwatched > 0 && root != NO_NODE {
            self.push_synthetic(
                root,
                b"",
                EventMask::empty(),
                Origin::WatchLimit { unwatched },
            );
        }
    }

    /// Reports `name` in `dir`, a directory, as found by a listing. It is placed in the
    /// delivered view when that event is delivered (at once, if the caller does not
    /// take creations).
    fn report_found(&mut self, dir: NodeId, name: &[u8]) -> Result<(), WatchError> {
        self.found_in(dir, name);
        let subject = self.nodes.child(dir, name);
        if self.mask.contains(WatchMask::CREATE) {
            self.push_synthetic(
                dir,
                name,
                EventMask::CREATE | EventMask::ISDIR,
                Origin::Scan,
            );
            if let (Some(made), Some(subject)) = (self.synthetic.back_mut(), subject) {
                made.subject = subject;
            }
        } else {
            let mask = EventMask::CREATE | EventMask::ISDIR;
            self.apply_delivered(dir, name, mask, 0, subject, true)?;
        }
        Ok(())
    }

    /// Lists `top` (watched with the scan mask, named by `fd`) and everything below it,
    /// reporting every entry as found ([`Origin::Scan`]): what was made before the watch
    /// existed. Each directory below is opened relative to its parent's descriptor and
    /// watched through `/proc/self/fd`, exactly the object opened, whatever renames race
    /// the scan. The end of each listing comes back as an `IN_CLOSE_NOWRITE` on the
    /// directory; until then, the kernel's `IN_CREATE` for a name the listing found is a
    /// duplicate and is dropped.
    pub(super) fn scan(&mut self, top: NodeId, fd: OwnedDescriptor) -> Result<(), WatchError> {
        self.scan_from(std::vec![(top, Waiting::Opened(fd), true)])
    }

    /// Lists the directory `top` and everything below it again, reporting it all as
    /// found: for a subtree whose changes could not be followed.
    pub(super) fn rescan_subtree(
        &mut self,
        top: NodeId,
        fd: OwnedDescriptor,
    ) -> Result<(), WatchError> {
        self.scan_from(std::vec![(top, Waiting::Opened(fd), false)])
    }

    /// Lists each directory of `stack` (a node, how to open it, and whether the scan
    /// mask is on it already) and what is below it, reporting everything as found.
    ///
    /// At most [`HELD_DESCRIPTORS`] of the directories waiting in `stack` keep their
    /// own descriptor; the others are opened by their name in their parent's when their
    /// turn comes.
    fn scan_from(&mut self, mut stack: Vec<(NodeId, Waiting, bool)>) -> Result<(), WatchError> {
        let first = stack.first().map(|&(id, _, _)| id);
        let mut held = stack
            .iter()
            .filter(|(_, waits, _)| matches!(waits, Waiting::Opened(_)))
            .count();
        while let Some((id, waits, masked)) = stack.pop() {
            if self.nodes.get(id).is_none() {
                continue;
            }
            let fd = match waits {
                Waiting::Opened(fd) => {
                    held -= 1;
                    fd
                }
                Waiting::InParent(parent) => match self.open_waiting(id, &parent)? {
                    Opened::Here(fd) => fd,
                    Opened::NoDescriptor => continue,
                    // Renamed away since the listing: listed where it turns up.
                    Opened::Elsewhere => {
                        self.nodes.set_flag(id, FLAG_UNREPORTED, true);
                        continue;
                    }
                },
            };
            if self.nodes.has_flag(id, FLAG_UNREPORTED) {
                // What it holds was never reported where it is (a listing of it was
                // made where it no longer was, or could not be made).
                self.drop_waiting_within(id);
            }
            let fd = Rc::new(fd);
            let reported = self.synthetic.len();
            let listed = self.list_dir(id, &fd, Listing::Marked { masked }, true)?;
            let known = self.nodes.children_of(id);
            if self.current_stat(id).is_none() {
                // Its path no longer names it: it (or a directory above it) was renamed,
                // and the rename is still to be read. What the listing found may have
                // come after the rename, at a path the events have not reached yet: it
                // is watched, not reported.
                self.listed_elsewhere(id, reported);
                let (_, new) = self.reconcile_children(id, &fd, listed, known, false)?;
                for (id, own) in new {
                    stack.push((id, waiting(own, &fd, &mut held), true));
                }
                continue;
            }
            self.nodes.set_flag(id, FLAG_UNREPORTED, false);
            let (kept, new) = self.reconcile_children(id, &fd, listed, known.clone(), true)?;
            // A known child the listing did not see left before it: the caller, told all
            // the listing saw, never had it here. The events of its watch up to the one
            // that takes it away happened where the caller never had it.
            let since = (self.quiet_waits, self.reads);
            for child in known {
                if self.nodes.is_orphan(child) {
                    self.delivered.left_unseen(&self.nodes, child, id, since);
                }
            }
            for child in kept {
                let name = self.nodes.name(child).to_vec();
                self.report_found(id, &name)?;
                let own = if held < HELD_DESCRIPTORS {
                    match open_path_only(Some(&fd), &name) {
                        Ok(own) => Some(own),
                        Err(error) if self.at_descriptor_limit_of(child, &error)? => continue,
                        // Renamed away since the listing: listed where it turns up.
                        Err(_) => {
                            self.nodes.set_flag(child, FLAG_UNREPORTED, true);
                            continue;
                        }
                    }
                } else {
                    None
                };
                stack.push((child, waiting(own, &fd, &mut held), false));
            }
            for (id, own) in new {
                stack.push((id, waiting(own, &fd, &mut held), true));
            }
        }
        if let Some(first) = first {
            self.report_unwatched(first);
        }
        Ok(())
    }

    /// The listing of `id` in a scan ended after a rename that moved it, still to be
    /// read: its reports (queued from `reported` on) go, and so does what it found (its
    /// new subdirectories are watched all the same); it is listed again, all of it
    /// reported, once it is placed where it turned up, or once its path names it again.
    fn listed_elsewhere(&mut self, id: NodeId, reported: usize) {
        let mut at = 0;
        self.synthetic.retain(|made| {
            let ours = at >= reported && made.dir == id && made.origin == Origin::Scan;
            at += 1;
            !ours
        });
        self.open_listings.end(id);
        self.list_unreported_later(id);
    }

    /// What `id` holds is to be reported, and it cannot be listed now (its path does
    /// not name it): it is listed, all of it reported, once it is placed where it turned
    /// up, or once its path names it again.
    pub(super) fn list_unreported_later(&mut self, id: NodeId) {
        self.nodes.set_flag(id, FLAG_UNREPORTED, true);
        if !self.stale.contains(&id) {
            self.stale.push(id);
        }
    }

    /// The directory `id`, waiting in a scan, opened by its name in its parent
    /// `parent` (so a rename above cannot misplace it) if that is still the same
    /// directory, or else by its path ([`open_node`](Self::open_node)).
    fn open_waiting(&mut self, id: NodeId, parent: &OwnedDescriptor) -> Result<Opened, WatchError> {
        let ino = self.nodes.ino(id);
        let name = self.nodes.name(id).to_vec();
        match open_path_only(Some(parent), &name) {
            Ok(fd)
                if stat_descriptor(&fd).map_or(false, |stat| {
                    stat.kind == FileKind::Directory && stat.ino == ino
                }) =>
            {
                Ok(Opened::Here(fd))
            }
            Err(error) if self.at_descriptor_limit_of(id, &error)? => Ok(Opened::NoDescriptor),
            _ => self.open_node(id),
        }
    }

    /// Lists the directory `id`, named by `fd`: reports its files as found when
    /// `report_files`, and returns its subdirectories (name and inode).
    fn list_dir(
        &mut self,
        id: NodeId,
        fd: &OwnedDescriptor,
        listing: Listing,
        report_files: bool,
    ) -> Result<Vec<(Vec<u8>, u64)>, WatchError> {
        let mut subdirectories = Vec::new();
        if let Listing::Marked { masked: false } = listing {
            self.set_mask(id, fd, self.scan_mask());
        }
        if report_files {
            // What was queued before now is older than all this listing sees.
            let began = self.reader.queued_cheaply().end;
            self.open_listings.begin(id, began);
        }
        let dir = match Directory::open_named(fd) {
            Ok(dir) => dir,
            Err(error) => {
                if let Listing::Marked { .. } = listing {
                    self.set_mask(id, fd, self.full_mask());
                }
                self.not_opened(id, &error)?;
                return Ok(subdirectories);
            }
        };
        self.own.opened(id);
        if let Listing::Marked { .. } = listing {
            self.nodes.set_flag(id, FLAG_LISTING, true);
        }
        let report = report_files && self.mask.contains(WatchMask::CREATE);
        let mut found = FoundNames::default();
        // A scan's listing (`report_files`) reports all it sees: what the caller has.
        let mut seen = FoundNames::default();
        let mut buffer = core::mem::take(&mut self.listing);
        loop {
            let entries = match dir.read(&mut buffer) {
                Ok(entries) if entries.is_empty() => break,
                Ok(entries) => entries,
                Err(error) => {
                    if !vanished(error.errno()) {
                        self.push_notice(id, errno_of(&error));
                    }
                    break;
                }
            };
            for entry in entries.flatten() {
                if entry.is_dot_or_dot_dot() {
                    continue;
                }
                let kind = kind_of(&dir, &entry);
                let name = entry.name();
                if report_files {
                    seen.insert(name);
                }
                if kind == FileKind::Directory {
                    subdirectories.push((name.to_vec(), entry.ino()));
                } else if report_files {
                    found.insert(name);
                    if report {
                        self.push_synthetic(id, name, EventMask::CREATE, Origin::Scan);
                    }
                }
            }
        }
        self.listing = buffer;
        if report_files {
            // What it found (files, and the subdirectories reported next) was queued
            // before now.
            let queued = self.reader.queued_cheaply();
            let record = self.open_listings.of(id);
            if record.looking.0 != 0 {
                record.looking.1 = queued.end;
            }
            record.until = Some(self.events_read + queued.events_at_most);
            record.found.extend(found);
            if let Listing::Marked { .. } = listing {
                match record.listed.as_mut() {
                    Some(listed) => listed.extend(seen),
                    None => record.listed = Some(seen),
                }
            }
        }
        // Closing it queues the IN_CLOSE_NOWRITE that ends the listing.
        drop(dir);
        if let Listing::Marked { .. } = listing {
            self.set_mask(id, fd, self.full_mask());
        }
        Ok(subdirectories)
    }

    /// Makes the children of `id` (`known`) the subdirectories a listing of it found
    /// (`listed`): each found name either is its known child (the same inode) or is
    /// watched as the child by that name ([`watch_entry`](Self::watch_entry)); a known
    /// child not found becomes an orphan. Returns the known children found, and the
    /// directories to list (new ones, and ones moved here).
    fn reconcile_children(
        &mut self,
        id: NodeId,
        fd: &OwnedDescriptor,
        listed: Vec<(Vec<u8>, u64)>,
        mut known: Vec<NodeId>,
        found: bool,
    ) -> Result<(Vec<NodeId>, ToList), WatchError> {
        let mut kept = Vec::new();
        let mut new = Vec::new();
        let mut held = 0;
        for (name, ino) in &listed {
            let child = self.nodes.child(id, name);
            let same = child.and_then(|child| {
                let node = self.nodes.get(child)?;
                (node.is_watched() && self.nodes.ino(child) == *ino).then_some(child)
            });
            match same {
                Some(child) => kept.push(child),
                None => {
                    let arrival = if found {
                        Arrival::Found
                    } else {
                        Arrival::Event
                    };
                    if let Some((made, made_fd)) = self.watch_entry(id, fd, name, arrival)? {
                        new.push((made, hold(Some(made_fd), &mut held)));
                    }
                }
            }
        }
        // A known child still here under a name the listing did not find was renamed
        // away, or deleted, since the tree last looked (one renamed to a name it found
        // has been placed there by now).
        let names: HashSet<&[u8]> = listed.iter().map(|(name, _)| name.as_slice()).collect();
        known.retain(|&child| {
            self.nodes
                .get(child)
                .map_or(false, |node| node.parent == id)
                && !names.contains(self.nodes.name(child))
        });
        for child in known {
            self.orphan(child);
        }
        Ok((kept, new))
    }

    /// Makes the subdirectories of `id` what it holds now, and scans the directories
    /// that appeared. Returns false (and does nothing) when the path of `id` does not
    /// name it.
    pub(super) fn reconcile_dir(&mut self, id: NodeId) -> Result<bool, WatchError> {
        let fd = match self.open_node(id)? {
            Opened::Here(fd) if self.nodes.has_flag(id, FLAG_UNREPORTED) => {
                // What it holds was never reported where it is: all of it is now.
                self.rescan_subtree(id, fd)?;
                return Ok(true);
            }
            Opened::Here(fd) => Rc::new(fd),
            Opened::NoDescriptor => return Ok(true),
            Opened::Elsewhere => return Ok(false),
        };
        let listed = self.list_dir(id, &fd, Listing::Marked { masked: false }, false)?;
        let known = self.nodes.children_of(id);
        let (_, new) = self.reconcile_children(id, &fd, listed, known, true)?;
        for (new, own) in new {
            self.scan_from(std::vec![(new, waiting(own, &fd, &mut 0), true)])?;
        }
        self.report_unwatched(id);
        Ok(true)
    }

    /// After a queue overflow: makes the whole tree match the disk again, level by
    /// level from the roots, quietly (each level and its parents are watched without the
    /// bits that listing raises while it is listed). Directories that appeared are
    /// reported as found, with what they hold; those gone are forgotten, or found under
    /// their new name by their watch descriptor.
    pub(super) fn recrawl(&mut self) -> Result<(), WatchError> {
        self.stale.clear();
        let full = self.full_mask();
        let quiet = self.quiet_mask();
        let mut children: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
        for id in self.nodes.ids() {
            let parent = self.nodes.get(id).map_or(NO_NODE, |node| node.parent);
            if parent != NO_NODE {
                children.entry(parent).or_default().push(id);
            }
        }
        let mut level: Vec<NodeId> = self.roots.clone();
        let mut quieted: Vec<NodeId> = Vec::new();
        while !level.is_empty() {
            let mut listable = Vec::new();
            for id in level {
                let known = children.remove(&id).unwrap_or_default();
                match self.current_stat(id) {
                    Some(nlink) if nlink == 2 && known.is_empty() => {} // a leaf
                    Some(_) => {
                        if quiet != full {
                            self.rewatch(id, quiet);
                        }
                        listable.push((id, known));
                    }
                    None => self.lost_in_recrawl(id),
                }
            }
            let mut next = Vec::new();
            for (id, known) in &listable {
                let fd = match self.open_node(*id)? {
                    Opened::Here(fd) => Rc::new(fd),
                    Opened::NoDescriptor => continue,
                    Opened::Elsewhere => {
                        self.lost_in_recrawl(*id);
                        continue;
                    }
                };
                let listed = self.list_dir(*id, &fd, Listing::Quiet, false)?;
                self.drain_own_closes()?;
                let (kept, new) = self.reconcile_children(*id, &fd, listed, known.clone(), true)?;
                next.extend(kept);
                for (id, own) in new {
                    self.scan_from(std::vec![(id, waiting(own, &fd, &mut 0), true)])?;
                }
            }
            if quiet != full {
                for id in core::mem::take(&mut quieted) {
                    self.rewatch(id, full);
                }
            }
            quieted = listable.into_iter().map(|(id, _)| id).collect();
            level = next;
        }
        if quiet != full {
            for id in quieted {
                self.rewatch(id, full);
            }
        }
        Ok(())
    }

    /// A directory the re-crawl expected is not at its path: a root ends (the kernel's
    /// `IN_IGNORED` for its removed watch says so); another directory becomes an orphan,
    /// found again under its new name if it is still in the tree.
    fn lost_in_recrawl(&mut self, id: NodeId) {
        let node = match self.nodes.get(id) {
            Some(node) => *node,
            None => return,
        };
        if node.is_root() {
            let wd = self.nodes.wd(id);
            self.forget_below(id);
            if let Some(wd) = wd {
                let _ = self.reader.inotify().rm_watch(wd);
            }
        } else {
            self.orphan(id);
        }
    }

    /// The link count of the directory `id`, if its path still names it (the same
    /// inode).
    pub(super) fn current_stat(&mut self, id: NodeId) -> Option<u32> {
        let node = *self.nodes.get(id)?;
        let ino = self.nodes.ino(id);
        let mut path = core::mem::take(&mut self.scratch);
        let complete = self.nodes.path_into(id, &mut path);
        let stat = if complete {
            stat_path(&path, node.is_root()).ok()
        } else {
            None
        };
        self.scratch = path;
        stat.filter(|stat| stat.kind == FileKind::Directory && stat.ino == ino)
            .map(|stat| stat.nlink)
    }

    /// `inotify_add_watch` on the directory `named` names: through `/proc/self/fd`
    /// (exactly that object), or by `path` where `/proc` is missing.
    fn watch_named(
        &self,
        named: &OwnedDescriptor,
        path: &[u8],
        mask: WatchMask,
    ) -> Result<WatchDescriptor, Error> {
        if self.proc_fd || path.is_empty() {
            self.reader.inotify().add_watch(
                proc_fd_path(named).as_bytes(),
                mask - WatchMask::DONT_FOLLOW,
            )
        } else {
            self.reader.inotify().add_watch(path, mask)
        }
    }

    /// Records that a listing of `dir` found `name`: the kernel's `IN_CREATE` for it
    /// before the listing's end is a duplicate.
    fn found_in(&mut self, dir: NodeId, name: &[u8]) {
        self.open_listings.of(dir).found.insert(name);
    }
}

/// What became of opening a directory of the tree ([`TreeWatcher::open_node`]).
pub(super) enum Opened {
    /// Its path names it still: a descriptor (`O_PATH`).
    Here(OwnedDescriptor),
    /// Its path does not name it (renamed, with the event still to be read; or gone),
    /// or it is not at a known path.
    Elsewhere,
    /// No descriptor was free, and the tree goes on at that limit: it is counted in its
    /// root's [`Origin::DescriptorLimit`] notice.
    NoDescriptor,
}

/// Directories to list, each with its own descriptor while at most
/// [`HELD_DESCRIPTORS`] are held (the others are opened again when their turn comes).
type ToList = Vec<(NodeId, Option<OwnedDescriptor>)>;

/// How a directory waits to be listed in a scan.
enum Waiting {
    /// With its own descriptor.
    Opened(OwnedDescriptor),
    /// To be opened by its name in its parent, whose descriptor this is.
    InParent(Rc<OwnedDescriptor>),
}

/// How many descriptors of their own the directories waiting to be listed hold at
/// most, in a scan. One each would take thousands for a directory with thousands of
/// subdirectories, past the usual `RLIMIT_NOFILE` of 1024; the others share their
/// parent's.
const HELD_DESCRIPTORS: usize = 16;

/// `fd`, counted in `held`, unless `held` has reached [`HELD_DESCRIPTORS`]: then `fd` is
/// closed, and its directory is opened again when its turn comes.
fn hold(fd: Option<OwnedDescriptor>, held: &mut usize) -> Option<OwnedDescriptor> {
    match fd {
        Some(fd) if *held < HELD_DESCRIPTORS => {
            *held += 1;
            Some(fd)
        }
        _ => None,
    }
}

/// How a directory found in `parent` waits in a scan: with `own`, its descriptor, as
/// [`hold`] allows; otherwise by its name in `parent`.
fn waiting(
    own: Option<OwnedDescriptor>,
    parent: &Rc<OwnedDescriptor>,
    held: &mut usize,
) -> Waiting {
    match hold(own, held) {
        Some(fd) => Waiting::Opened(fd),
        None => Waiting::InParent(Rc::clone(parent)),
    }
}

/// How a directory came to [`TreeWatcher::watch_entry`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Arrival {
    /// A listing found it: nothing else reports it.
    Found,
    /// A kernel event named it.
    Event,
}

/// How [`TreeWatcher::list_dir`] keeps a listing's own events out of the queue.
#[derive(Clone, Copy)]
enum Listing {
    /// With the scan mask on the directory (already, when `masked`), and the directory
    /// marked as being listed until its `IN_CLOSE_NOWRITE` is read back; the full mask
    /// again after.
    Marked { masked: bool },
    /// The caller has quieted the directory and its parent.
    Quiet,
}

/// The kind of a listed entry: its `d_type`, or from `statx` where the file system does
/// not give one.
fn kind_of(dir: &Directory, entry: &Dirent<'_>) -> FileKind {
    match entry.kind() {
        FileKind::Unknown => dir.kind_of(entry.name()).unwrap_or(FileKind::Unknown),
        known => known,
    }
}

/// The errno of a failed call: `ENAMETOOLONG` for a path refused as too long before any
/// call, `EIO` for another error that is not a system call's.
fn errno_of(error: &Error) -> Errno {
    match error {
        Error::PathTooLong { .. } => Errno::ENAMETOOLONG,
        _ => error.errno().unwrap_or(Errno::EIO),
    }
}

/// The error of a limit (the watch limit, the descriptor limit) hit at `path`.
fn limit_error(path: &[u8], source: Error) -> WatchError {
    io::Error::from(PathError {
        path: PathBuf::from(OsStr::from_bytes(path)),
        source,
    })
    .into()
}

/// How many directories there are at and below `path` (symbolic links not followed),
/// for the count of what the watch limit left out; and whether `path` itself was
/// opened to list it (its parent's watch reports that).
fn count_directories(path: &[u8]) -> (u64, bool) {
    let mut count = 0;
    let mut listed_top = false;
    let mut stack = std::vec![PathBuf::from(OsStr::from_bytes(path))];
    let mut listing = std::vec![0u8; LISTING_LEN];
    while let Some(dir_path) = stack.pop() {
        count += 1;
        let dir = match Directory::open_any_length(dir_path.as_os_str().as_bytes(), false) {
            Ok(dir) => dir,
            Err(_) => continue,
        };
        listed_top |= count == 1;
        while let Ok(entries) = dir.read(&mut listing) {
            if entries.is_empty() {
                break;
            }
            for entry in entries.flatten() {
                if entry.is_dot_or_dot_dot() {
                    continue;
                }
                let kind = kind_of(&dir, &entry);
                if kind == FileKind::Directory {
                    stack.push(dir_path.join(OsStr::from_bytes(entry.name())));
                }
            }
        }
    }
    (count, listed_top)
}
