//! [`TreeWatcher`]: the Python package's `InotifyTree` and `InotifyTrees`: every directory
//! below the given roots is watched, new ones as they appear, moved ones follow.

use std::boxed::Box;
use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use std::vec::Vec;

use super::event::{FilterStop, WatchError, WatchEvent};
use super::iter::{EventSource, WatchEvents};
use super::watcher::Watcher;
use crate::dir::Directory;
use crate::error::PathError;
use crate::mask::{EventMask, WatchMask};
use crate::parse::{FileKind, WatchDescriptor};
use crate::sys::Errno;

/// Bytes per `getdents64` call while walking a directory.
const LISTING_BUFFER_LEN: usize = 32 * 1024;

/// The events a tree needs to follow its directories, whatever the caller asked for.
const FOLLOW: WatchMask = WatchMask::CREATE
    .union(WatchMask::MOVED_FROM)
    .union(WatchMask::MOVED_TO)
    .union(WatchMask::ONLYDIR);

/// Events delivered whatever the mask: the kernel sends them to every watch.
const ALWAYS_DELIVERED: EventMask = EventMask::IGNORED
    .union(EventMask::Q_OVERFLOW)
    .union(EventMask::UNMOUNT);

/// A directory renamed away from a watched directory whose `IN_MOVED_TO` (same cookie)
/// has not arrived yet.
#[derive(Debug)]
struct PendingMove {
    cookie: u32,
    from: PathBuf,
    /// Cycle ends seen while waiting: the pair may straddle two reads, but not more.
    cycle_ends: u8,
}

/// Whether a walk reports what it finds as created.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Found {
    /// A directory that was just created: what is already inside it was created after
    /// it, before its watch existed, and is reported as created.
    Created,
    /// An existing tree (at the start, moved in, or after an overflow): nothing is
    /// reported.
    Existing,
}

/// Watches whole directory trees: the Rust form of the Python package's `InotifyTree`
/// (one root) and `InotifyTrees` (several).
///
/// Every directory below the roots is watched. It keeps itself right, where the Python
/// package and its peers do not:
/// - a new directory is watched first and listed second, and what the listing finds
///   is reported as created (`IN_CREATE`, with `IN_ISDIR` for directories), so nothing
///   made inside it before its watch existed is missed. Something made in the instant
///   between the watch and the listing can be reported twice, never not at all;
/// - a directory moved inside the tree keeps its watches, under its new path (the
///   `IN_MOVED_FROM` and `IN_MOVED_TO` are paired by cookie); one moved out loses its
///   watches; one moved in is watched with all it holds;
/// - after `IN_Q_OVERFLOW` the trees are walked again, so the set of watches is right
///   again, and the overflow is still delivered (terminal by default);
/// - running out of watches (`ENOSPC`) is an error that says to raise
///   `fs.inotify.max_user_watches`, never a silently partial tree;
/// - directories are listed with `getdents64` and their entries' types, with a `statx`
///   only where the file system does not give the type.
///
/// Only events in the caller's mask are delivered (plus `IN_IGNORED`, `IN_Q_OVERFLOW`
/// and `IN_UNMOUNT`), though the tree always watches for the creations and moves it
/// must follow; the Python package delivers those too.
pub struct TreeWatcher {
    watcher: Watcher,
    roots: Vec<PathBuf>,
    mask: WatchMask,
    pending: VecDeque<WatchEvent>,
    pending_move: Option<PendingMove>,
    listing: Box<[u8]>,
}

impl TreeWatcher {
    /// Watches every directory below `root` for every event: `InotifyTree(path)`.
    pub fn new<P: AsRef<Path>>(root: P) -> io::Result<TreeWatcher> {
        TreeWatcher::with_mask([root], WatchMask::ALL_EVENTS)
    }

    /// Watches every directory below each of `roots`: `InotifyTrees(paths)`.
    pub fn with_roots<I, P>(roots: I) -> io::Result<TreeWatcher>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        TreeWatcher::with_mask(roots, WatchMask::ALL_EVENTS)
    }

    /// Watches every directory below each of `roots`, delivering the events in `mask`.
    pub fn with_mask<I, P>(roots: I, mask: WatchMask) -> io::Result<TreeWatcher>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        let mut tree = TreeWatcher {
            watcher: Watcher::new()?,
            roots: roots
                .into_iter()
                .map(|root| root.as_ref().to_path_buf())
                .collect(),
            mask,
            pending: VecDeque::new(),
            pending_move: None,
            listing: std::vec![0u8; LISTING_BUFFER_LEN].into_boxed_slice(),
        };
        for root in tree.roots.clone() {
            tree.watch_root(&root)?;
        }
        Ok(tree)
    }

    /// The roots, as given.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// The watcher underneath: its paths and descriptors (`wd_of`, `path_of`, `watches`).
    pub fn watcher(&self) -> &Watcher {
        &self.watcher
    }

    /// Sets how long one wait blocks (`None`: until an event comes).
    pub fn set_block_duration(&mut self, duration: Option<Duration>) {
        self.watcher.set_block_duration(duration);
    }

    /// Asks `duration` before every wait that may block how long it may block.
    pub fn set_block_duration_fn<F>(&mut self, duration: F)
    where
        F: FnMut() -> Option<Duration> + Send + 'static,
    {
        self.watcher.set_block_duration_fn(duration);
    }

    /// The events of the whole tree, with the options of the Python package's
    /// `event_gen`: see [`WatchEvents`].
    pub fn events(&mut self) -> WatchEvents<'_, TreeWatcher> {
        WatchEvents::new(self)
    }

    /// The event that made the last filter stop an iteration, if one did.
    pub fn last_filter_stop(&self) -> Option<&FilterStop> {
        self.watcher.last_filter_stop()
    }

    /// Walks every root again: watches what is not watched, forgets what is gone. Done by
    /// itself after a queue overflow.
    pub fn rescan(&mut self) -> io::Result<()> {
        let watched: Vec<(WatchDescriptor, PathBuf)> = self
            .watcher
            .watches()
            .map(|(wd, path)| (wd, path.to_path_buf()))
            .collect();
        for (wd, path) in watched {
            let still_a_directory = std::fs::symlink_metadata(&path)
                .map(|meta| meta.is_dir())
                .unwrap_or(false);
            if !still_a_directory && !self.roots.contains(&path) {
                self.watcher.remove_watch_with_id(wd)?;
            }
        }
        for root in self.roots.clone() {
            match self.watch_root(&root) {
                Err(error) if vanished(&error) => {} // its IN_DELETE_SELF may have been lost
                other => other?,
            }
        }
        Ok(())
    }

    /// Watches a root (following a symbolic link to it) and every directory below it.
    fn watch_root(&mut self, root: &Path) -> io::Result<()> {
        // A root must exist and be a directory: that error is the caller's to see.
        let wd = self.watcher.add_watch(root, self.mask.union(FOLLOW))?;
        let directory = Directory::open(root).map_err(|source| PathError {
            path: root.to_path_buf(),
            source,
        })?;
        let mut below = Vec::new();
        self.list(root, &directory, wd, Found::Existing, &mut below)?;
        self.walk(below, Found::Existing)
    }

    /// Watches each directory on `stack` and every directory below them, each before it
    /// is listed. A directory that is gone by the time it is watched is skipped.
    fn walk(&mut self, mut stack: Vec<PathBuf>, found: Found) -> io::Result<()> {
        let mask = self.mask.union(FOLLOW).union(WatchMask::DONT_FOLLOW);
        while let Some(dir) = stack.pop() {
            let wd = match self.watcher.add_watch(&dir, mask) {
                Ok(wd) => wd,
                Err(error) if vanished(&error) => continue,
                Err(error) => return Err(error),
            };
            // Not following a symbolic link: a directory replaced by one since it was
            // listed is not a way out of the tree.
            let directory = match Directory::open_nofollow(&dir) {
                Ok(directory) => directory,
                Err(error)
                    if matches!(
                        error.errno(),
                        Some(Errno::ENOENT) | Some(Errno::ENOTDIR) | Some(Errno::ELOOP)
                    ) =>
                {
                    continue
                }
                Err(source) => return Err(PathError { path: dir, source }.into()),
            };
            self.list(&dir, &directory, wd, found, &mut stack)?;
        }
        Ok(())
    }

    /// Lists `directory`, open on `dir` and watched as `wd`: pushes its subdirectories on
    /// `stack` and, for a new directory, queues an `IN_CREATE` for each entry.
    fn list(
        &mut self,
        dir: &Path,
        directory: &Directory,
        wd: WatchDescriptor,
        found: Found,
        stack: &mut Vec<PathBuf>,
    ) -> io::Result<()> {
        let path_error = |source| PathError {
            path: dir.to_path_buf(),
            source,
        };
        let report_created = found == Found::Created && self.mask.contains(WatchMask::CREATE);
        loop {
            let entries = directory.read(&mut self.listing).map_err(path_error)?;
            if entries.is_empty() {
                return Ok(());
            }
            for entry in entries {
                let entry =
                    entry.map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
                if entry.is_dot_or_dot_dot() {
                    continue;
                }
                let name = entry.name();
                let file_type = match entry.kind() {
                    FileKind::Unknown => directory.kind_of(name).unwrap_or(FileKind::Unknown),
                    known => known,
                };
                let is_directory = file_type == FileKind::Directory;
                if is_directory {
                    stack.push(dir.join(OsStr::from_bytes(name)));
                }
                if report_created {
                    self.pending
                        .push_back(created_event(wd, dir, name, is_directory));
                }
            }
        }
    }

    /// Keeps the watches in step with `event`; may queue events found by a listing.
    fn follow(&mut self, event: &WatchEvent) -> io::Result<()> {
        let mask = event.mask;
        if mask.contains(EventMask::Q_OVERFLOW) {
            self.pending_move = None;
            return self.rescan();
        }
        let pairs_pending_move = matches!(
            &self.pending_move,
            Some(pending) if mask.contains(EventMask::MOVED_TO) && event.cookie == pending.cookie
        );
        if !pairs_pending_move {
            self.settle_pending_move()?;
        }
        if !mask.contains(EventMask::ISDIR) {
            return Ok(());
        }
        let path = event.path();
        if mask.contains(EventMask::MOVED_FROM) {
            self.pending_move = Some(PendingMove {
                cookie: event.cookie,
                from: path,
                cycle_ends: 0,
            });
        } else if mask.contains(EventMask::MOVED_TO) {
            match self.pending_move.take() {
                Some(pending) if pending.cookie == event.cookie => {
                    self.watcher
                        .table_mut()
                        .rename_subtree(&pending.from, &path);
                }
                _ => self.walk(std::vec![path], Found::Existing)?,
            }
        } else if mask.contains(EventMask::CREATE) {
            self.walk(std::vec![path], Found::Created)?;
        }
        Ok(())
    }

    /// A directory moved away whose `IN_MOVED_TO` did not follow left the tree: its
    /// watches go.
    fn settle_pending_move(&mut self) -> io::Result<()> {
        if let Some(pending) = self.pending_move.take() {
            for wd in self.watcher.table_mut().wds_under(&pending.from) {
                self.watcher.remove_watch_with_id(wd)?;
            }
        }
        Ok(())
    }

    fn wants(&self, event: &WatchEvent) -> bool {
        event
            .mask
            .intersects(EventMask::from(self.mask).union(ALWAYS_DELIVERED))
    }
}

impl EventSource for TreeWatcher {
    fn next_owned_event(&mut self) -> Result<Option<WatchEvent>, WatchError> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(Some(event));
            }
            let event = match self.watcher.next_owned_event()? {
                Some(event) => event,
                None => {
                    if let Some(pending) = self.pending_move.as_mut() {
                        pending.cycle_ends += 1;
                        if pending.cycle_ends > 1 {
                            self.settle_pending_move()?;
                        }
                    }
                    return Ok(None);
                }
            };
            self.follow(&event)?;
            // An event of a watch that following just removed (its directory left the
            // tree) is about something outside the tree.
            let still_watched =
                event.wd == WatchDescriptor::OVERFLOW || self.watcher.path_of(event.wd).is_some();
            if still_watched && self.wants(&event) {
                return Ok(Some(event));
            }
        }
    }

    fn set_last_filter_stop(&mut self, stop: Option<FilterStop>) {
        self.watcher.set_last_filter_stop(stop);
    }
}

impl std::fmt::Debug for TreeWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeWatcher")
            .field("roots", &self.roots)
            .field("mask", &self.mask)
            .field("watcher", &self.watcher)
            .finish()
    }
}

/// True for the errors of a directory that went away (or was replaced by something that
/// is not a directory) between being seen and being watched.
fn vanished(error: &io::Error) -> bool {
    matches!(
        Errno::from_io_error(error),
        Some(Errno::ENOENT) | Some(Errno::ENOTDIR)
    )
}

/// The `IN_CREATE` the kernel would have sent for `name` in `dir`, had the watch existed.
fn created_event(wd: WatchDescriptor, dir: &Path, name: &[u8], is_directory: bool) -> WatchEvent {
    let mask = if is_directory {
        EventMask::CREATE | EventMask::ISDIR
    } else {
        EventMask::CREATE
    };
    // The kernel's name field: the name and a NUL, padded to a multiple of 16 bytes.
    let len = (name.len() + 1 + 15) / 16 * 16;
    WatchEvent {
        wd,
        mask,
        cookie: 0,
        len: len as u32,
        watch_path: dir.to_path_buf(),
        name: OsStr::from_bytes(name).to_os_string(),
    }
}
