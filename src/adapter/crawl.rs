//! How a [`TreeWatcher`] walks directories: the quiet crawl of a root (level by level,
//! the noisy event bits off while listing, leaves known by their link count), the scan
//! of a directory new to the tree (watched through `/proc/self/fd`, everything in it
//! reported), and the re-crawl after a queue overflow.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;

use super::event::{Origin, WatchError};
use super::nodes::{NodeId, FLAG_LISTING, FLAG_SCANNED};
use super::tree::{Synthetic, TreeWatcher, FOLLOW, LISTING_NOISE};
use crate::dir::{open_path_only, stat_descriptor, stat_path, Directory};
use crate::error::{Error, PathError};
use crate::fd::OwnedDescriptor;
use crate::mask::{EventMask, WatchMask};
use crate::parse::{FileKind, WatchDescriptor};
use crate::sys::Errno;

/// A directory a scan is to watch: its parent, the parent's descriptor when the scan
/// opened it, its name, and how it came to be scanned.
type ScanEntry = (NodeId, Option<Rc<OwnedDescriptor>>, Vec<u8>, Reason);

/// Why a scan looks at a directory.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// A kernel event reported it (`IN_CREATE`, `IN_MOVED_TO`): the event was its report.
    Event,
    /// A listing found it: it is reported as found, with what it holds.
    Found,
    /// A listing found it below a directory of the tree that turned up here with no
    /// event to say so (renamed in while its new parent was not yet watched): it is
    /// reported again, with what it holds, even though the tree watches it already.
    Refound,
}

/// What a directory new to the tree turned out to be.
enum NewDirectory {
    /// Watched, to be listed: a node, an `O_PATH` descriptor of it, and whether what it
    /// holds is reported again even where the tree knows it.
    Listable(NodeId, Rc<OwnedDescriptor>, bool),
    /// A directory of the tree renamed here: its node moved here, nothing to list.
    Moved,
    /// Listed as new before: nothing to do.
    Known,
    /// Gone, or skipped.
    Gone,
}

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
    /// The watch limit: skipped and counted, when the tree goes on at the limit.
    AtLimit,
}

/// True for the errors of a directory that went away (or was replaced by something that
/// is not a directory) between being seen and being used.
fn vanished(errno: Option<Errno>) -> bool {
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
    /// raises.
    fn quiet_mask(&self) -> WatchMask {
        self.full_mask() - LISTING_NOISE
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
    /// limit, unless the tree goes on at the limit.
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
            .map_err(path_error)?;
        if self.nodes.by_wd(wd).is_some() {
            // Already watched: restore the mask the quiet watch replaced.
            let _ = self
                .reader
                .inotify()
                .add_watch(root, self.full_mask() - WatchMask::DONT_FOLLOW);
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                std::format!(
                    "{}: already watched as part of the tree: a root cannot be inside another",
                    root.display()
                ),
            ));
        }
        let stat = stat_path(bytes, true).map_err(path_error)?;
        let id = self.nodes.add_root(root, stat.ino);
        self.set_wd(id, wd);
        self.roots.push(id);
        let unwatched = self.crawl(id, stat.nlink).map_err(io::Error::from)?;
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
        let mut level = Vec::new();
        self.list_existing(top, top_nlink, &mut level)?;
        let mut upgrade = std::vec![top];
        while !level.is_empty() {
            let mut next = Vec::new();
            let mut next_upgrade = Vec::new();
            for id in core::mem::take(&mut level) {
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
            }
            if quiet != full {
                for id in upgrade {
                    self.rewatch(id, full);
                }
            }
            upgrade = next_upgrade;
            level = next;
        }
        if quiet != full {
            for id in upgrade {
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
            Some(node) => node.ino(),
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
                    let errno = error.errno();
                    self.skip(
                        id,
                        if vanished(errno) {
                            Watched::Vanished
                        } else {
                            Watched::Skipped(errno.unwrap_or(Errno::EIO))
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
                self.nodes.rename(owner, parent, &name);
                let _ = self.found_elsewhere(owner);
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
        let added = if complete {
            self.reader.inotify().add_watch(&path[..], mask)
        } else {
            Err(Error::syscall(
                crate::error::Call::InotifyAddWatch,
                Errno::ENOENT,
            ))
        };
        let watched = self.classify(added, &path);
        self.scratch = path;
        watched
    }

    /// Sorts the result of an `inotify_add_watch`: vanished, skipped, or at the limit
    /// (an error unless the tree goes on).
    fn classify(
        &mut self,
        added: Result<WatchDescriptor, Error>,
        path: &[u8],
    ) -> Result<Watched, WatchError> {
        match added {
            Ok(wd) => Ok(Watched::Yes(wd)),
            Err(error) if vanished(error.errno()) => Ok(Watched::Vanished),
            Err(error) if error.errno() == Some(Errno::ENOSPC) => {
                if !self.keep_going_at_watch_limit {
                    return Err(io::Error::from(PathError {
                        path: PathBuf::from(OsStr::from_bytes(path)),
                        source: error,
                    })
                    .into());
                }
                self.unwatched += count_directories(path);
                Ok(Watched::AtLimit)
            }
            Err(error) => Ok(Watched::Skipped(error.errno().unwrap_or(Errno::EIO))),
        }
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
        if self.nodes.get(id).map_or(false, |node| node.wd().is_none()) {
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
        });
    }

    /// Watches `id` again with `mask` (replacing its mask), by path.
    fn rewatch(&mut self, id: NodeId, mask: WatchMask) {
        let expected = match self.nodes.get(id).and_then(|node| node.wd()) {
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
        out: &mut Vec<NodeId>,
    ) -> Result<(), WatchError> {
        let is_root = self.nodes.get(id).map_or(false, |node| node.is_root());
        let mut path = core::mem::take(&mut self.scratch);
        self.nodes.path_into(id, &mut path);
        let opened = if is_root {
            Directory::open(&path[..])
        } else {
            Directory::open_nofollow(&path[..])
        };
        self.scratch = path;
        let dir = match opened {
            Ok(dir) => dir,
            Err(error) if vanished(error.errno()) => return Ok(()),
            Err(error) => {
                self.push_notice(id, error.errno().unwrap_or(Errno::EIO));
                return Ok(());
            }
        };
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
                    self.push_notice(id, error.errno().unwrap_or(Errno::EIO));
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
                let kind = match entry.kind() {
                    FileKind::Unknown => dir.kind_of(entry.name()).unwrap_or(FileKind::Unknown),
                    known => known,
                };
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

    /// Scans a directory new to the tree, `name` in `parent`, and everything below it:
    /// each directory is opened with `O_PATH` (no event), watched through
    /// `/proc/self/fd` (exactly the object opened, whatever renames race it), listed, and
    /// everything listed is reported as found ([`Origin::Scan`]). The end of each listing
    /// comes back as an `IN_CLOSE_NOWRITE` on the directory; until then, the kernel's
    /// `IN_CREATE` for a name the listing found is a duplicate and is dropped.
    ///
    /// The first directory is found by its path; if that fails because a directory above
    /// it was renamed (with the events of that rename still to come), its parent is
    /// scanned again once the rename is known. Below it, each directory is found
    /// relative to its parent's descriptor, whatever renames race the scan.
    pub(super) fn scan_new(&mut self, parent: NodeId, name: &[u8]) -> Result<(), WatchError> {
        let mut stack: Vec<ScanEntry> = std::vec![(parent, None, name.to_vec(), Reason::Event)];
        while let Some((parent, parent_fd, name, reason)) = stack.pop() {
            if self.nodes.get(parent).is_none() || self.is_excluded(parent, &name) {
                continue;
            }
            let id = match self.nodes.child(parent, &name) {
                Some(id) => id,
                None => self.nodes.add_child(parent, &name, 0),
            };
            let new = self.watch_new(id, parent_fd.as_deref(), reason)?;
            let report = match (&new, reason) {
                (_, Reason::Event) | (NewDirectory::Known, Reason::Found) => false,
                // A directory of the tree renamed here: if the rename is still in the
                // queue its event will report it; the listing found it first because it
                // came before the watch of its new parent, so no event will.
                _ => true,
            };
            if report {
                self.found_in(parent, &name);
                if self.mask.contains(WatchMask::CREATE) {
                    self.push_synthetic(
                        parent,
                        &name,
                        EventMask::CREATE | EventMask::ISDIR,
                        Origin::Scan,
                    );
                }
            }
            match new {
                NewDirectory::Listable(id, named, relist) => {
                    self.list_new(id, named, relist, &mut stack)
                }
                // The parent's path is out of date: a rename above it is still queued.
                NewDirectory::Gone
                    if parent_fd.is_none()
                        && self.nodes.child(parent, &name).is_none()
                        && !self.stale.contains(&parent)
                        && self.current_stat(parent).is_none() =>
                {
                    self.stale.push(parent);
                }
                _ => {}
            }
        }
        let unwatched = self.take_unwatched();
        if unwatched > 0 {
            let root = self.nodes.root_of(parent);
            self.push_synthetic(
                root,
                b"",
                EventMask::empty(),
                Origin::WatchLimit { unwatched },
            );
        }
        Ok(())
    }

    /// Watches the new directory `id` (opened by name in `parent_fd` when given, by
    /// path otherwise) with the scan mask, and says what it turned out to be.
    fn watch_new(
        &mut self,
        id: NodeId,
        parent_fd: Option<&OwnedDescriptor>,
        reason: Reason,
    ) -> Result<NewDirectory, WatchError> {
        let mut path = core::mem::take(&mut self.scratch);
        let complete = self.nodes.path_into(id, &mut path);
        let named = match parent_fd {
            Some(parent_fd) => open_path_only(Some(parent_fd), self.nodes.name(id)),
            None if complete => open_path_only(None, &path[..]),
            None => Err(Error::syscall(crate::error::Call::Open, Errno::ENOENT)),
        };
        let named = match named {
            Ok(named) => named,
            Err(error) => {
                self.scratch = path;
                let why = if vanished(error.errno()) {
                    Watched::Vanished
                } else {
                    Watched::Skipped(error.errno().unwrap_or(Errno::EIO))
                };
                self.skip(id, why);
                return Ok(NewDirectory::Gone);
            }
        };
        let added = self.watch_named(&named, &path, self.scan_mask());
        let watched = self.classify(added, &path);
        self.scratch = path;
        let wd = match watched? {
            Watched::Yes(wd) => wd,
            other => {
                self.skip(id, other);
                return Ok(NewDirectory::Gone);
            }
        };
        match self.nodes.by_wd(wd) {
            Some(owner) if owner != id => {
                // The object is already in the tree under another name: it was renamed
                // here, its subtree watched, the events of the rename still to come (or
                // lost). That node moves here; `id` goes.
                let (parent, name) = match self.nodes.get(id) {
                    Some(node) => (node.parent, self.nodes.name(id).to_vec()),
                    None => return Ok(NewDirectory::Gone),
                };
                let looped = self.nodes.get(owner).map_or(true, |node| node.is_root())
                    || owner == parent
                    || self.nodes.is_below(parent, owner);
                self.forget_subtree(id);
                if looped {
                    // A root or an ancestor seen again (a bind mount): not twice.
                    let _ = self.watch_named(&named, b"", self.full_mask());
                    return Ok(NewDirectory::Gone);
                }
                self.nodes.rename(owner, parent, &name);
                self.found_elsewhere(owner)?;
                if reason == Reason::Event {
                    let _ = self.watch_named(&named, b"", self.full_mask());
                    self.rescan_stale_below(owner)?;
                    return Ok(NewDirectory::Moved);
                }
                // Found by a listing: no event reports it here; list it again.
                Ok(NewDirectory::Listable(owner, Rc::new(named), true))
            }
            Some(_) if reason == Reason::Refound => {
                Ok(NewDirectory::Listable(id, Rc::new(named), true))
            }
            Some(_) if self.nodes.has_flag(id, FLAG_SCANNED) => {
                // Listed as new before, and watched as this very object: known.
                let _ = self.watch_named(&named, b"", self.full_mask());
                Ok(NewDirectory::Known)
            }
            _ => {
                let ino = stat_descriptor(&named).map_or(0, |stat| stat.ino);
                // Another watch, on another inode: another directory took the name.
                let id = match self.nodes.get(id) {
                    Some(node)
                        if node.wd().map_or(false, |old| old != wd)
                            && node.ino() != 0
                            && node.ino() != ino =>
                    {
                        self.replace(id)
                    }
                    _ => id,
                };
                self.set_wd(id, wd);
                if ino != 0 {
                    self.nodes.set_ino(id, ino);
                }
                Ok(NewDirectory::Listable(id, Rc::new(named), false))
            }
        }
    }

    /// Another directory has taken the name of `id`, whose own directory is elsewhere
    /// now (renamed or deleted, with its events still queued): `id` steps aside, with its
    /// watch and what is below it, until those events say where it went; a new node
    /// takes the name. Returns the new node.
    fn replace(&mut self, id: NodeId) -> NodeId {
        let (parent, name) = match self.nodes.get(id) {
            Some(node) => (node.parent, self.nodes.name(id).to_vec()),
            None => return id,
        };
        self.nodes.detach(id);
        self.replaced.push(id);
        self.nodes.add_child(parent, &name, 0)
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
        self.found
            .entry(dir)
            .or_default()
            .insert(name.to_vec().into_boxed_slice());
    }

    /// Lists the new directory `id` (named by `named`), reporting every entry as found
    /// and pushing its subdirectories on `stack`; then gives it the full mask.
    fn list_new(
        &mut self,
        id: NodeId,
        named: Rc<OwnedDescriptor>,
        relist: bool,
        stack: &mut Vec<ScanEntry>,
    ) {
        let report = self.mask.contains(WatchMask::CREATE);
        match Directory::open_named(&named) {
            Ok(dir) => {
                self.nodes.set_flag(id, FLAG_LISTING | FLAG_SCANNED, true);
                let mut found = HashSet::new();
                let mut listing = core::mem::take(&mut self.listing);
                loop {
                    let entries = match dir.read(&mut listing) {
                        Ok(entries) if entries.is_empty() => break,
                        Ok(entries) => entries,
                        Err(error) => {
                            if !vanished(error.errno()) {
                                self.push_notice(id, error.errno().unwrap_or(Errno::EIO));
                            }
                            break;
                        }
                    };
                    for entry in entries.flatten() {
                        if entry.is_dot_or_dot_dot() {
                            continue;
                        }
                        let kind = match entry.kind() {
                            FileKind::Unknown => {
                                dir.kind_of(entry.name()).unwrap_or(FileKind::Unknown)
                            }
                            known => known,
                        };
                        let name = entry.name();
                        if kind == FileKind::Directory {
                            // Reported once the scan knows it is new.
                            let reason = if relist {
                                Reason::Refound
                            } else {
                                Reason::Found
                            };
                            stack.push((id, Some(named.clone()), name.to_vec(), reason));
                            continue;
                        }
                        found.insert(name.to_vec().into_boxed_slice());
                        if report {
                            self.push_synthetic(id, name, EventMask::CREATE, Origin::Scan);
                        }
                    }
                }
                self.listing = listing;
                self.found.entry(id).or_default().extend(found);
                // Closing it queues the IN_CLOSE_NOWRITE that ends the listing.
                drop(dir);
            }
            Err(error) if vanished(error.errno()) => {}
            Err(error) => self.push_notice(id, error.errno().unwrap_or(Errno::EIO)),
        }
        let full = self.full_mask();
        if full != self.scan_mask() {
            let _ = if self.proc_fd {
                self.reader.inotify().add_watch(
                    proc_fd_path(&named).as_bytes(),
                    full - WatchMask::DONT_FOLLOW,
                )
            } else {
                self.rewatch(id, full);
                Ok(WatchDescriptor::OVERFLOW)
            };
        }
    }

    /// After a queue overflow: makes the whole tree match the disk again.
    pub(super) fn recrawl(&mut self) -> Result<(), WatchError> {
        let ids: Vec<NodeId> = self.nodes.ids().collect();
        self.rescan(ids, true)
    }

    /// Makes the directories `ids` (whole subtrees) match the disk, quietly: drops those
    /// that are gone or replaced, and watches and scans those that appeared, reporting
    /// them as found. For the whole tree after an overflow, or a subtree whose events
    /// could not be followed while its move was pending.
    ///
    /// A directory whose path no longer names it may have been renamed: the listings
    /// find it under its new name (its watch descriptor tells it apart). With
    /// `forget_missing` (after an overflow, when no event will tell), those still not
    /// found at the end are forgotten; otherwise the events still queued will say.
    pub(super) fn rescan(
        &mut self,
        ids: Vec<NodeId>,
        forget_missing: bool,
    ) -> Result<(), WatchError> {
        let full = self.full_mask();
        let quiet = self.quiet_mask();
        let mut listed = Vec::new();
        let mut missing = Vec::new();
        for &id in &ids {
            match self.current_stat(id) {
                Some(nlink) if nlink != 2 => listed.push((id, nlink)),
                Some(_) => {}
                None => missing.push(id),
            }
        }
        // Quiet while listing: the listed directories, and the parents that would see
        // their listing.
        let mut quieted: Vec<NodeId> = listed.iter().map(|&(id, _)| id).collect();
        for &(id, _) in &listed {
            if let Some(parent) = self.nodes.get(id).map(|node| node.parent) {
                if self.nodes.get(parent).is_some() && !quieted.contains(&parent) {
                    quieted.push(parent);
                }
            }
        }
        if quiet != full {
            for &id in &quieted {
                self.rewatch(id, quiet);
            }
        }
        for &(id, nlink) in &listed {
            if self.nodes.get(id).is_none() {
                continue;
            }
            let mut appeared = Vec::new();
            self.list_existing(id, nlink, &mut appeared)?;
            for new in appeared {
                let name = self.nodes.name(new).to_vec();
                if self.mask.contains(WatchMask::CREATE) {
                    self.push_synthetic(
                        id,
                        &name,
                        EventMask::CREATE | EventMask::ISDIR,
                        Origin::Scan,
                    );
                }
                self.scan_new(id, &name)?;
            }
        }
        if quiet != full {
            for &id in &quieted {
                self.rewatch(id, full);
            }
        }
        if !forget_missing {
            // Still out of date: a later rename, still queued, will place them.
            for id in missing {
                if self.nodes.get(id).is_some() && !self.stale.contains(&id) {
                    self.stale.push(id);
                }
            }
        } else {
            for id in missing {
                let node = match self.nodes.get(id) {
                    Some(node) => *node,
                    None => continue, // went with a subtree above it
                };
                if self.current_stat(id).is_some() {
                    continue; // found under a new name
                }
                if node.is_root() {
                    // Gone: the kernel's IN_IGNORED for its watch ends it.
                    self.forget_below(id);
                    if let Some(wd) = node.wd() {
                        let _ = self.reader.inotify().rm_watch(wd);
                    }
                } else {
                    self.forget_subtree(id);
                }
            }
        }
        Ok(())
    }

    /// The link count of the directory `id`, if its path still names it (the same
    /// inode).
    pub(super) fn current_stat(&mut self, id: NodeId) -> Option<u32> {
        let node = *self.nodes.get(id)?;
        let mut path = core::mem::take(&mut self.scratch);
        let complete = self.nodes.path_into(id, &mut path);
        let stat = if complete {
            stat_path(&path, node.is_root()).ok()
        } else {
            None
        };
        self.scratch = path;
        stat.filter(|stat| stat.kind == FileKind::Directory && stat.ino == node.ino())
            .map(|stat| stat.nlink)
    }
}

/// `/proc/self/fd/N` for an open descriptor: the path that names exactly its object.
fn proc_fd_path(fd: &OwnedDescriptor) -> String {
    std::format!("/proc/self/fd/{}", fd.as_raw())
}

/// How many directories there are at and below `path` (symbolic links not followed),
/// for the count of what the watch limit left out.
fn count_directories(path: &[u8]) -> u64 {
    let mut count = 0;
    let mut stack = std::vec![PathBuf::from(OsStr::from_bytes(path))];
    let mut listing = std::vec![0u8; LISTING_LEN];
    while let Some(dir_path) = stack.pop() {
        count += 1;
        let dir = match Directory::open_nofollow(dir_path.as_path()) {
            Ok(dir) => dir,
            Err(_) => continue,
        };
        while let Ok(entries) = dir.read(&mut listing) {
            if entries.is_empty() {
                break;
            }
            for entry in entries.flatten() {
                if entry.is_dot_or_dot_dot() {
                    continue;
                }
                let kind = match entry.kind() {
                    FileKind::Unknown => dir.kind_of(entry.name()).unwrap_or(FileKind::Unknown),
                    known => known,
                };
                if kind == FileKind::Directory {
                    stack.push(dir_path.join(OsStr::from_bytes(entry.name())));
                }
            }
        }
    }
    count
}
