//! [`FsWatcher`]: whole trees watched with one fanotify file-system mark per file
//! system, with the events and the contract of [`TreeWatcher`](crate::TreeWatcher).

mod dirs;
mod keys;
mod later;
mod taken;

use core::ops::Range;
use std::boxed::Box;
use std::collections::VecDeque;
use std::ffi::OsStr;
use std::fmt;
use std::format;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::{Path, PathBuf};
use std::string::ToString;
use std::time::{Duration, Instant};
use std::vec::Vec;

use self::dirs::{key_into, Dirs, Place};
use self::later::Later;
use self::taken::{Entry, Taken, DELIVERED_ORDER};
use super::barrier::MarkerNames;
use super::event::{FilterStop, Origin, RootError, WatchError, WatchEvent, WatchEventRef};
use super::iter::{EventSource, WatchEvents};
use super::mapped::zeroed_bytes;
use super::nodes::NodeId;
use super::reader::{RawEvent, READ_LEN};
use super::tree::ExcludeFn;
use super::watcher::{event_ref, push_name};
use crate::error::{Call, Error, PathError};
use crate::fanotify::{adopt_descriptors, name_to_handle_at, Fanotify};
use crate::fd::OwnedDescriptor;
use crate::mask::{EventMask, FanotifyInitFlags, FanotifyMarkFlags, FanotifyMask, WatchMask};
use crate::parse::{EventBuffer, FanotifyEvents, WatchDescriptor};
use crate::sys::Errno;
use crate::wait::{EventWaiter, Wait, DEFAULT_BLOCK_DURATION};

/// What the watcher marks whatever the caller's mask: the entry changes that keep its
/// paths right (of directories too), and the ends of roots.
const FOLLOW: FanotifyMask = FanotifyMask::CREATE
    .union(FanotifyMask::DELETE)
    .union(FanotifyMask::RENAME)
    .union(FanotifyMask::DELETE_SELF)
    .union(FanotifyMask::MOVE_SELF)
    .union(FanotifyMask::ONDIR);

/// The most bytes of events read ahead: 16 MiB, about 240,000 events, so that the
/// burst of first events in directories never met (each resolved from the disk while
/// the writers go on) waits here, not in the kernel's queue of 16,384 events, which
/// would overflow. Writers faster than the reader cannot make it grow without bound; a
/// rename queued past it is not seen ahead, and a directory it moves is placed where
/// the disk has it.
const MAX_AHEAD: usize = 256 * READ_LEN;

/// Room that a read leaves in the buffer only when it emptied the kernel's queue: more
/// than the longest event the watcher's group reports (a rename of a directory: its
/// metadata, two directory handles with their names, and its own handle; about 1 KiB).
const ROOM_LEFT_BY_AN_EMPTY_QUEUE: usize = 4096;

/// How long a root's opening may wait for a forked child to close its copy.
const LAST_CLOSE_WAIT: Duration = Duration::from_secs(10);

/// The events an [`FsWatcher`] has no watch for: its `wd` is always -1.
const NO_WATCH: WatchDescriptor = WatchDescriptor::from_raw(-1);

/// Watches whole directory trees with fanotify: one file-system mark per file system,
/// so setup is O(1) whatever the trees hold, there is no watch per directory, no watch
/// limit and no pinned inode, and a new directory is covered before it exists.
///
/// It has the contract of [`TreeWatcher`](crate::TreeWatcher), so code written for one
/// runs on the other: the same builder, the same reads ([`next_event`](Self::next_event),
/// [`try_next_event`](Self::try_next_event), [`events`](Self::events)), the same
/// [`sync`](Self::sync), and the same [`WatchEventRef`] values, with inotify's mask bits
/// (`IN_CREATE`, `IN_ISDIR`, ...) and full paths. What differs:
/// - **No listing scans**: nothing is ever missed inside a new directory, so no event has
///   [`Origin::Scan`]; a directory moved in is reported by its `IN_MOVED_TO` alone.
/// - **Renames** come from the kernel as one event with both ends (`FAN_RENAME`), and are
///   delivered as `IN_MOVED_FROM` then `IN_MOVED_TO` with one cookie; a move into or out
///   of the roots (or to or from an excluded name) is the half inside.
/// - **Merged events**: fanotify merges events of one process on one entry that are still
///   queued; they are split again, in the order `IN_CREATE`, `IN_OPEN`, `IN_ACCESS`,
///   `IN_MODIFY`, `IN_ATTRIB`, `IN_CLOSE_WRITE`, `IN_CLOSE_NOWRITE`, `IN_MOVE_SELF`,
///   `IN_DELETE`, `IN_DELETE_SELF`, but repeats of one kind are one event. They take the
///   place of the first: a directory made and deleted by one process before the watcher
///   read its creation is reported made and deleted before the events inside it (which
///   keep its path).
/// - **One file system per root**: a file system mounted below a root is not seen; add
///   it as a root of its own. `wd` is -1 in every event: there are no watches.
/// - A file's own events that name no directory (its `IN_DELETE_SELF`) are not
///   delivered, as a tree's directory watches do not report them either.
///
/// **Paths.** Each directory met is cached by its file handle as (parent, name), so a
/// path is a chain of cached parents and a rename updates everything below it in O(1).
/// A directory never met (there before the watch) is resolved once, with
/// `open_by_handle_at` through the root's mount and `/proc/self/fd`, and put back where
/// it was when its event was queued: the queued events are read ahead, and a rename or
/// deletion of it (or of a directory above it) among them says where it was. Events
/// outside the roots are dropped before any path is built. After a queue overflow
/// (`IN_Q_OVERFLOW`, delivered once) every directory met before it is checked against
/// the disk on its next use, once: its handle is opened again and its path compared
/// with the cached one, and a directory renamed, deleted or moved out meanwhile is
/// placed afresh (with everything below it) or forgotten.
///
/// **Exclusion.** `exclude(path, name)` leaves a directory's subtree out: nothing below
/// it is delivered, at the cost of a check of cached flags. The excluded directory itself
/// is reported as a file is (its creation and deletion); a rename to or from an excluded
/// name is a move out of or into the tree.
///
/// It needs `CAP_SYS_ADMIN` (fanotify file-system marks) and Linux 5.17
/// (`FAN_RENAME`, `FAN_REPORT_TARGET_FID`); without them the error says what is
/// missing. [`TreeWatcher`](crate::TreeWatcher) needs neither:
///
/// ```no_run
/// use inotify_raw::{FsWatcher, TreeWatcher, WatchMask};
/// use std::io::ErrorKind;
///
/// let mask = WatchMask::CREATE | WatchMask::DELETE | WatchMask::MOVE;
/// match FsWatcher::builder().mask(mask).watch(["/srv"]) {
///     Ok(mut fs) => while let Some(event) = fs.next_event()? {
///         println!("{:?} {}", event.mask, event.path.display());
///     },
///     Err(error) if error.kind() == ErrorKind::PermissionDenied => {
///         let mut tree = TreeWatcher::builder().mask(mask).watch(["/srv"])?;
///         while let Some(event) = tree.next_event()? {
///             println!("{:?} {}", event.mask, event.path.display());
///         }
///     }
///     Err(error) => return Err(error.into()),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FsWatcher {
    waiter: EventWaiter<Fanotify>,
    /// The private group that opens the roots (see [`unnoticed_descriptor`]), made with
    /// the first root and closed only with the watcher.
    opener: Option<EventWaiter<Fanotify>>,
    block_duration_fn: Option<std::sync::Mutex<BlockDurationFn>>,
    /// [`READ_LEN`] bytes: only the pages reads have written are resident.
    buffer: Vec<u8>,
    batch_len: usize,
    batch_pos: usize,
    /// Events read ahead (to resolve a directory never met), taken before the batch.
    ahead: Vec<u8>,
    ahead_pos: usize,
    /// How many events have been taken, and the place of the last one read ahead.
    taken_seq: u64,
    ahead_seq: u64,
    /// The renames and deletions of directories among the events read ahead.
    later: Later,
    /// While a directory never met is being resolved: the directories whose first
    /// rename or deletion ahead was read meanwhile.
    renamed_first: Option<Vec<Box<[u8]>>>,
    /// Directories whose deletion the kernel merged into their creation, forgotten once
    /// the events read ahead (those inside them among them) are taken.
    deleted_ahead: Vec<Box<[u8]>>,
    dirs: Dirs,
    /// The caller's mask, as inotify bits, and as the fanotify bits marked.
    mask: EventMask,
    marked: FanotifyMask,
    /// Events taken from the kernel and not handed out yet; their paths and names lie
    /// in `arena`.
    pending: VecDeque<Pending>,
    arena: Vec<u8>,
    /// The last cookie given to a rename.
    cookie: u32,
    markers: MarkerNames,
    /// The marker of the `sync` under way, and whether its creation has been read.
    sync_marker: Option<Vec<u8>>,
    synced: bool,
    /// An overflow was read during a `sync`: its marker may be lost.
    overflowed: bool,
    taken: Taken,
    /// An event read ahead, copied to note a directory's rename or deletion (boxed:
    /// the watcher is kept about as small as a `TreeWatcher`).
    scan: Box<Taken>,
    /// The path of the event handed out last.
    path: Vec<u8>,
    last_filter_stop: Option<FilterStop>,
}

type BlockDurationFn = Box<dyn FnMut() -> Option<Duration> + Send>;

/// An event taken from the kernel, with its path where it was when the kernel queued it.
#[derive(Clone, Copy, Debug)]
struct Pending {
    mask: EventMask,
    cookie: u32,
    /// The directory's path, in the arena.
    dir: (usize, usize),
    /// The entry's name, in the arena.
    name: Option<(usize, usize)>,
}

/// Options for an [`FsWatcher`]: `FsWatcher::builder().mask(..).exclude(..).watch(roots)`.
pub struct FsBuilder {
    mask: WatchMask,
    exclude: Option<ExcludeFn>,
}

impl FsBuilder {
    /// The events to deliver (default: `WatchMask::ALL_EVENTS`). Flag bits are ignored.
    pub fn mask(mut self, mask: WatchMask) -> FsBuilder {
        self.mask = mask;
        self
    }

    /// Leaves out every directory for which `exclude(path, name)` is true, and
    /// everything below it, as [`TreeBuilder::exclude`](crate::TreeBuilder::exclude)
    /// does: asked for every directory but the roots, with its full path and its name,
    /// when it is first met and when it is renamed.
    pub fn exclude<F>(mut self, exclude: F) -> FsBuilder
    where
        F: FnMut(&Path, &OsStr) -> bool + Send + Sync + 'static,
    {
        self.exclude = Some(Box::new(exclude));
        self
    }

    /// Watches everything below each of `roots`: one file-system mark for each file
    /// system they are on.
    ///
    /// # Errors
    /// - No fanotify group: `EPERM` without `CAP_SYS_ADMIN` (the message says that
    ///   `TreeWatcher` needs no privilege), [`Error::UnknownFanotifyFlag`] on a kernel
    ///   older than 5.17, `ENOSYS` where there is no fanotify (qemu-user).
    /// - A root that does not exist or is not a directory, or whose file system has no
    ///   file handles (`/proc`, some FUSE, NFS without export support): the error names
    ///   the root.
    pub fn watch<I, P>(self, roots: I) -> io::Result<FsWatcher>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        let flags = FanotifyInitFlags::REPORT_DFID_NAME_TARGET;
        let fanotify = Fanotify::init(flags).map_err(|error| needs_admin(None, error))?;
        let mask = EventMask::from_bits_retain(self.mask.bits()) & EventMask::ALL_EVENTS;
        let mut watcher = FsWatcher {
            waiter: EventWaiter::new(fanotify, Some(DEFAULT_BLOCK_DURATION))?,
            opener: None,
            block_duration_fn: None,
            buffer: zeroed_bytes(READ_LEN),
            batch_len: 0,
            batch_pos: 0,
            ahead: Vec::new(),
            ahead_pos: 0,
            taken_seq: 0,
            ahead_seq: 0,
            later: Later::default(),
            renamed_first: None,
            deleted_ahead: Vec::new(),
            dirs: Dirs::new(self.exclude),
            mask,
            marked: fanotify_mask(mask),
            pending: VecDeque::new(),
            arena: Vec::new(),
            cookie: 0,
            markers: MarkerNames::new(),
            sync_marker: None,
            synced: false,
            overflowed: false,
            taken: Taken::default(),
            scan: Box::default(),
            path: Vec::with_capacity(crate::sys::PATH_MAX),
            last_filter_stop: None,
        };
        for root in roots {
            watcher.add_root(root)?;
        }
        Ok(watcher)
    }
}

impl fmt::Debug for FsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FsBuilder")
            .field("mask", &self.mask)
            .field("exclude", &self.exclude.as_ref().map(|_| "FnMut"))
            .finish()
    }
}

/// `error` as an `io::Error`, named with `root`; `EPERM` says how to fall back.
fn needs_admin(root: Option<&Path>, error: Error) -> io::Error {
    match (root, error.errno()) {
        (root, Some(Errno::EPERM)) => RootError::FanotifyDenied {
            root: root.map(Path::to_path_buf),
            error,
        }
        .into(),
        (Some(root), _) => PathError {
            path: root.to_path_buf(),
            source: error,
        }
        .into(),
        (None, _) => error.into(),
    }
}

/// The fanotify events to mark for the inotify events of `mask`.
fn fanotify_mask(mask: EventMask) -> FanotifyMask {
    let mut marked = FOLLOW;
    for &(fan, inotify) in DELIVERED_ORDER.iter() {
        if mask.intersects(inotify) {
            marked |= fan;
        }
    }
    marked
}

impl FsWatcher {
    /// Options: the mask and the exclusion predicate, then
    /// [`watch`](FsBuilder::watch).
    pub fn builder() -> FsBuilder {
        FsBuilder {
            mask: WatchMask::ALL_EVENTS,
            exclude: None,
        }
    }

    /// Watches everything below `root`, for every event.
    ///
    /// # Errors
    /// As for [`FsBuilder::watch`].
    pub fn new<P: AsRef<Path>>(root: P) -> io::Result<FsWatcher> {
        FsWatcher::builder().watch([root])
    }

    /// The roots, in the order they were added.
    pub fn roots(&self) -> Vec<PathBuf> {
        self.dirs
            .roots
            .iter()
            .map(|root| root.given.clone())
            .collect()
    }

    /// Watches everything below `root` too. Its file system is marked unless a root on
    /// it already is.
    ///
    /// # Errors
    /// A root that does not exist or is not a directory, that lies inside another root
    /// ([`io::ErrorKind::AlreadyExists`]), or whose file system cannot be marked (no file
    /// handles; the error names the root and says why).
    pub fn add_root<P: AsRef<Path>>(&mut self, root: P) -> io::Result<()> {
        let given = root.as_ref();
        let named = |error: Error| -> io::Error {
            PathError {
                path: given.to_path_buf(),
                source: error,
            }
            .into()
        };
        // `O_PATH`, so no event: the crate's own call (std drops `O_PATH` from the
        // custom flags on musl, where it is part of `O_ACCMODE`).
        let named_only = crate::dir::open_path_following(given.as_os_str().as_bytes())
            .map_err(|error| RootError::of_root(given, error))?;
        let fsid = crate::sys::fsid_of(named_only.as_raw())
            .map_err(|errno| named(Error::syscall(Call::Fstatfs, errno)))?;
        let marked = self.dirs.roots.iter().any(|root| root.fsid == fsid);
        let group = self.waiter.source();
        let mount = unnoticed_descriptor(given, marked.then_some(group), &mut self.opener)
            .map_err(named)?;
        let handle = name_to_handle_at(given).map_err(named)?;
        let mut key = Vec::new();
        key_into(&mut key, fsid, handle.as_handle());
        if let Place::Inside(_) = self.place_of(&key)? {
            return Err(RootError::InsideAnother(given.to_path_buf()).into());
        }
        if !self.dirs.roots.iter().any(|root| root.fsid == fsid) {
            self.waiter
                .source()
                .mark(
                    FanotifyMarkFlags::ADD | FanotifyMarkFlags::FILESYSTEM,
                    self.marked,
                    given,
                )
                .map_err(|error| needs_admin(Some(given), error))?;
        }
        self.dirs
            .add_root(given.to_path_buf(), handle.mount_id(), mount, fsid, &key);
        Ok(())
    }

    /// Stops watching `root` (a path as given to the builder or to
    /// [`add_root`](Self::add_root)). Returns whether it was a root.
    ///
    /// # Errors
    /// None today; an `io::Result` to match [`TreeWatcher::remove_root`](crate::TreeWatcher::remove_root).
    pub fn remove_root<P: AsRef<Path>>(&mut self, root: P) -> io::Result<bool> {
        let at = match self
            .dirs
            .roots
            .iter()
            .position(|r| r.given == root.as_ref())
        {
            Some(at) => at,
            None => return Ok(false),
        };
        self.end_root(at);
        Ok(true)
    }

    /// Forgets the root at `at`, and unmarks its file system when no other root is on it.
    fn end_root(&mut self, at: usize) {
        let root = self.dirs.remove_root(at);
        if !self.dirs.roots.iter().any(|other| other.fsid == root.fsid) {
            let link = format!("/proc/self/fd/{}", root.mount.as_raw_fd());
            // The root may be gone: its mount descriptor still names the file system.
            // Should /proc be missing, the mark stays, and what it reports is dropped as
            // outside every root.
            let _ = self.waiter.source().mark(
                FanotifyMarkFlags::REMOVE | FanotifyMarkFlags::FILESYSTEM,
                self.marked,
                OsStr::new(&link),
            );
        }
    }

    /// Sets how long one wait blocks (`None`: until an event comes).
    pub fn set_block_duration(&mut self, duration: Option<Duration>) {
        self.block_duration_fn = None;
        self.waiter.set_block_duration(duration);
    }

    /// Asks `duration` before every wait that may block how long it may block.
    pub fn set_block_duration_fn<F>(&mut self, duration: F)
    where
        F: FnMut() -> Option<Duration> + Send + 'static,
    {
        self.block_duration_fn = Some(std::sync::Mutex::new(Box::new(duration)));
    }

    /// The events of every root, with the options of the Python package's `event_gen`:
    /// see [`WatchEvents`].
    pub fn events(&mut self) -> WatchEvents<'_, FsWatcher> {
        WatchEvents::new(self)
    }

    /// The event that made [`WatchEvents::until`] stop an iteration, if one did.
    pub fn last_filter_stop(&self) -> Option<&FilterStop> {
        self.last_filter_stop.as_ref()
    }

    /// The next event, borrowed with its full path, or `None` at the end of a cycle.
    /// Blocks for at most one block duration. Allocates nothing in steady state.
    ///
    /// # Errors
    /// [`WatchError::Ended`] once no root is left; [`WatchError::Io`] when reading fails
    /// or the kernel's bytes are malformed.
    pub fn next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        self.next_step(true)
    }

    /// The next event already queued, without blocking; `None` means nothing more now.
    ///
    /// # Errors
    /// As for [`next_event`](Self::next_event).
    pub fn try_next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        self.next_step(false)
    }

    /// A barrier: returns once every event of a change that completed before the call
    /// has been read; the following reads hand them out, before any later one, and
    /// `try_next_event` without waiting. As [`TreeWatcher::sync`](crate::TreeWatcher::sync)
    /// does it: a file whose name starts with `.inotify-raw-sync-` is made in the first
    /// root that takes it, read back, and removed; its events are never delivered.
    ///
    /// # Errors
    /// [`WatchError::Io`]: no root could take the marker file (the message names each
    /// root and why), or its event did not come within `timeout`
    /// ([`io::ErrorKind::TimedOut`]), or reading failed. [`WatchError::Ended`] when no
    /// root is left.
    pub fn sync(&mut self, timeout: Duration) -> Result<(), WatchError> {
        let deadline = Instant::now() + timeout;
        let saved = self.waiter.block_duration();
        let result = self.read_to_marker(deadline, timeout);
        self.waiter.set_block_duration(saved);
        self.sync_marker = None;
        result
    }

    fn read_to_marker(&mut self, deadline: Instant, timeout: Duration) -> Result<(), WatchError> {
        loop {
            if self.dirs.roots.is_empty() {
                return Err(WatchError::Ended);
            }
            let roots: Vec<PathBuf> = self.roots();
            let marker = self.markers.create(roots.iter().map(PathBuf::as_path))?;
            self.sync_marker = Some(marker.name().to_vec());
            self.synced = false;
            self.overflowed = false;
            while !self.synced && !self.overflowed {
                if self.has_unread() {
                    self.take_next()?;
                    continue;
                }
                let left = match deadline.checked_duration_since(Instant::now()) {
                    Some(left) => left,
                    None => {
                        return Err(WatchError::Io(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!(
                                "sync: the kernel did not report the marker file within {:?} \
                                 (a stopped or very slow machine?): give it more time",
                                timeout
                            ),
                        )))
                    }
                };
                self.waiter.set_block_duration(Some(left));
                if let Some(len) = self.wait_for_batch()? {
                    self.start_batch(len);
                }
            }
            if self.synced {
                return Ok(());
            }
            // An overflow may have lost the marker's event: make another.
        }
    }

    fn next_step(&mut self, block: bool) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        if self.pending.is_empty() {
            self.arena.clear();
        }
        loop {
            if let Some(pending) = self.pending.pop_front() {
                return Ok(Some(self.hand_out(pending)));
            }
            if self.dirs.roots.is_empty() {
                return Err(WatchError::Ended);
            }
            if self.has_unread() {
                self.take_next()?;
                continue;
            }
            if self.batch_len > 0 {
                self.batch_len = 0;
                self.batch_pos = 0;
                if block {
                    return Ok(None);
                }
            }
            if !block {
                match self.waiter.source().read_into(&mut self.buffer) {
                    Ok(events) => {
                        let len = events.remainder().len();
                        if len == 0 {
                            return Ok(None);
                        }
                        self.start_batch(len);
                    }
                    Err(error) if error.is_would_block() => return Ok(None),
                    Err(error) => return Err(error.into()),
                }
                continue;
            }
            if !self.waiter.is_draining() {
                if let Some(duration) = self.block_duration_fn.as_mut() {
                    let duration = duration
                        .get_mut()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    self.waiter.set_block_duration(duration());
                }
            }
            match self.wait_for_batch()? {
                Some(len) => self.start_batch(len),
                None => return Ok(None),
            }
        }
    }

    /// Waits for a batch, for at most one block duration: its length, or `None` when
    /// the wait ended with none.
    fn wait_for_batch(&mut self) -> Result<Option<usize>, WatchError> {
        loop {
            match self.waiter.wait_into(&mut self.buffer)? {
                Wait::Events(events) => return Ok(Some(events.remainder().len())),
                Wait::Drained => continue,
                Wait::TimedOut | Wait::Interrupted => return Ok(None),
            }
        }
    }

    fn start_batch(&mut self, len: usize) {
        self.batch_len = len;
        self.batch_pos = 0;
    }

    /// Whether events read are still to be taken.
    fn has_unread(&self) -> bool {
        self.ahead_pos < self.ahead.len() || self.batch_pos < self.batch_len
    }

    /// Parses the next event read (ahead, else in the batch) and takes it: its events
    /// join `pending` and the cache follows it. Malformed bytes drop the rest of what
    /// was read with them.
    fn take_next(&mut self) -> Result<(), WatchError> {
        let from_ahead = self.ahead_pos < self.ahead.len();
        let bytes = if from_ahead {
            &self.ahead[self.ahead_pos..]
        } else {
            self.buffer
                .get(self.batch_pos..self.batch_len)
                .unwrap_or(&[])
        };
        let mut taken = core::mem::take(&mut self.taken);
        let parsed = match FanotifyEvents::new(bytes).next() {
            Some(Ok(event)) => {
                taken.copy_from(&event);
                Ok(Some(event.span_len()))
            }
            Some(Err(error)) => Err(WatchError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                error.to_string(),
            ))),
            None => Ok(None),
        };
        let used = match parsed {
            Ok(Some(len)) => len,
            _ => bytes.len(),
        };
        if from_ahead {
            self.ahead_pos += used;
            if self.ahead_pos == self.ahead.len() {
                self.ahead.clear();
                self.ahead_pos = 0;
            }
        } else {
            self.batch_pos += used;
        }
        let followed = match parsed {
            Ok(Some(_)) => {
                self.taken_seq += 1;
                let followed = self.take(&taken);
                if self.ahead_pos == self.ahead.len() {
                    for key in core::mem::take(&mut self.deleted_ahead) {
                        self.dirs.deleted(&key);
                    }
                }
                followed
            }
            Ok(None) => Ok(()),
            Err(error) => Err(error),
        };
        self.taken = taken;
        followed
    }

    /// Reads the events queued now (up to [`MAX_AHEAD`] bytes ahead), behind those read
    /// already, noting the renames
    /// and deletions of directories among them: a directory never met is then resolved
    /// where it was when the event being taken was queued.
    fn read_ahead(&mut self) -> Result<(), WatchError> {
        if self.ahead_pos == self.ahead.len() {
            self.ahead_seq = self.taken_seq;
        }
        if self.ahead_pos > self.ahead.len() / 2 {
            // What was taken goes, once it is most of what is kept: a reader that keeps
            // reading ahead never empties the buffer.
            self.ahead.drain(..self.ahead_pos);
            self.ahead_pos = 0;
        }
        let rest = self.batch_pos..self.batch_len;
        self.batch_pos = 0;
        self.batch_len = 0;
        self.keep_ahead(rest);
        while self.ahead.len() - self.ahead_pos < MAX_AHEAD {
            let len = match self.waiter.source().read_into(&mut self.buffer) {
                Ok(events) => events.remainder().len(),
                Err(error) if error.is_would_block() => return Ok(()),
                Err(error) => return Err(error.into()),
            };
            if len == 0 {
                return Ok(());
            }
            self.keep_ahead(0..len);
            if len + ROOM_LEFT_BY_AN_EMPTY_QUEUE <= READ_LEN {
                // The queue was empty at this read: no read to see `EAGAIN`.
                return Ok(());
            }
        }
        Ok(())
    }

    /// Appends the whole events at `read` in the read buffer to the events read ahead,
    /// noting where each directory renamed or deleted among them was.
    fn keep_ahead(&mut self, read: Range<usize>) {
        let start = self.ahead.len();
        if let Some(bytes) = self.buffer.get(read) {
            self.ahead.extend_from_slice(bytes);
        }
        let scan = &mut self.scan;
        for event in FanotifyEvents::new(&self.ahead[start..]).flatten() {
            self.ahead_seq += 1;
            if !event.mask().contains(FanotifyMask::ONDIR) {
                continue;
            }
            scan.copy_from(&event);
            let (child, was) = match (scan.child(), scan.renamed_from(), scan.entry()) {
                (Some(child), Some(old), _) if scan.mask.contains(FanotifyMask::RENAME) => {
                    (child, old)
                }
                (Some(child), _, Some(entry)) if scan.mask.contains(FanotifyMask::DELETE) => {
                    (child, entry)
                }
                _ => continue,
            };
            let first = self.later.note(self.ahead_seq, child, &was.dir, &was.name);
            if let (true, Some(renamed_first)) = (first, self.renamed_first.as_mut()) {
                renamed_first.push(child.into());
            }
        }
    }

    /// Where the directory `key` is. One never met is resolved with every queued event
    /// read ahead first; the events queued while it was resolved from the disk are read
    /// too, and a directory one of them renames first is put back where it was.
    fn place_of(&mut self, key: &[u8]) -> Result<Place, WatchError> {
        if let Some(place) = self.dirs.cached_place(key) {
            return Ok(place);
        }
        self.read_ahead()?;
        self.dirs.place_of(key, &self.later);
        self.renamed_first = Some(Vec::new());
        let read = self.read_ahead();
        for moved in self.renamed_first.take().unwrap_or_default() {
            self.dirs.put_back(&moved, &self.later);
        }
        read?;
        Ok(self.dirs.place_of(key, &self.later))
    }

    /// Follows one kernel event and queues what it says for the caller.
    fn take(&mut self, taken: &Taken) -> Result<(), WatchError> {
        let isdir = if taken.mask.contains(FanotifyMask::ONDIR) {
            EventMask::ISDIR
        } else {
            EventMask::empty()
        };
        if taken.mask.contains(FanotifyMask::Q_OVERFLOW) {
            self.queue(EventMask::Q_OVERFLOW, 0, None, None);
            self.dirs.overflowed();
            self.overflowed = true;
            return Ok(());
        }
        if let (Some(child), false) = (taken.child(), isdir.is_empty()) {
            self.later.taken(self.taken_seq, child);
        }
        if taken.mask.contains(FanotifyMask::RENAME) {
            if let (Some(old), Some(new)) = (taken.renamed_from(), taken.renamed_to()) {
                self.renamed(old, new, taken.child(), isdir)?;
            }
            return Ok(());
        }
        if taken
            .mask
            .intersects(FanotifyMask::DELETE | FanotifyMask::RENAME)
        {
            if let Some(at) = taken
                .child()
                .and_then(|child| self.dirs.root_with_key(child))
            {
                self.root_ended(at, taken.mask.contains(FanotifyMask::DELETE));
            }
        }
        let entry = match taken.entry() {
            Some(entry) => entry,
            None => return Ok(()), // a file's own event: no directory names it
        };
        if self.markers.is_marker(&entry.name) {
            if taken.mask.contains(FanotifyMask::CREATE)
                && self.sync_marker.as_deref() == Some(&entry.name[..])
            {
                self.synced = true;
            }
            return Ok(());
        }
        let dir = match self.place_of(&entry.dir)? {
            Place::Inside(dir) => dir,
            Place::Outside => return Ok(()),
        };
        if entry.name == b"." {
            self.dir_itself(dir, taken.mask, isdir);
            return Ok(());
        }
        for &(fan, inotify) in DELIVERED_ORDER.iter() {
            if !taken.mask.contains(fan) {
                continue;
            }
            if let (Some(child), true) = (taken.child(), !isdir.is_empty()) {
                if fan == FanotifyMask::CREATE {
                    self.dirs.place(child, dir, &entry.name);
                }
            }
            self.queue(inotify | isdir, 0, Some(dir), Some(&entry.name));
            if let (Some(child), true) = (taken.child(), !isdir.is_empty()) {
                if fan == FanotifyMask::DELETE && taken.mask.contains(FanotifyMask::CREATE) {
                    // Merged into its creation: the events inside it are queued behind.
                    self.read_ahead()?;
                    self.deleted_ahead.push(child.into());
                } else if fan == FanotifyMask::DELETE {
                    self.dirs.deleted(child);
                }
            }
        }
        Ok(())
    }

    /// The root at `at` was deleted (or moved away): `IN_DELETE_SELF` (or
    /// `IN_MOVE_SELF`) and `IN_IGNORED` at its path, and it is forgotten. Its parent's
    /// event says so: the root's own would come only once the watcher lets go of its
    /// descriptor.
    fn root_ended(&mut self, at: usize, deleted: bool) {
        let node = self.dirs.roots[at].node;
        let end = if deleted {
            EventMask::DELETE_SELF
        } else {
            EventMask::MOVE_SELF
        };
        self.queue(end, 0, Some(node), None);
        self.queue(EventMask::IGNORED, 0, Some(node), None);
        self.end_root(at);
    }

    /// An event on the directory `dir` itself: a root's at its path; another's on its
    /// parent with its name, as a parent's watch reports it, but for the events only a
    /// directory's own watch has (`IN_DELETE_SELF`, `IN_MOVE_SELF`).
    fn dir_itself(&mut self, dir: NodeId, mask: FanotifyMask, isdir: EventMask) {
        let root = self.dirs.root_index(dir);
        for &(fan, inotify) in DELIVERED_ORDER.iter() {
            if !mask.contains(fan) {
                continue;
            }
            if inotify == EventMask::MOVE_SELF && root.is_none() {
                continue; // made by `renamed`, where the move is known
            }
            // inotify gives a directory's own events no IN_ISDIR.
            let self_only = inotify.intersects(EventMask::DELETE_SELF | EventMask::MOVE_SELF);
            match self.dirs.parent_and_name(dir) {
                Some((parent, name)) if !self_only && root.is_none() => {
                    let name = name.to_vec();
                    self.queue(inotify | isdir, 0, Some(parent), Some(&name));
                }
                _ if self_only => self.queue(inotify, 0, Some(dir), None),
                _ => self.queue(inotify | isdir, 0, Some(dir), None),
            }
        }
    }

    /// A rename: `IN_MOVED_FROM` where the entry was and `IN_MOVED_TO` where it is, for
    /// the halves inside the roots, with one cookie; then the cache follows a directory.
    fn renamed(
        &mut self,
        old: &Entry,
        new: &Entry,
        child: Option<&[u8]>,
        isdir: EventMask,
    ) -> Result<(), WatchError> {
        if self.markers.is_marker(&old.name) || self.markers.is_marker(&new.name) {
            return Ok(());
        }
        let from = self.place_of(&old.dir)?;
        let to = self.place_of(&new.dir)?;
        // Only directories are cached: a file's handle is not looked up.
        let known = match child {
            Some(child) if !isdir.is_empty() => self.dirs.known(child),
            _ => None,
        };
        let excluded_from = match (from, known) {
            _ if isdir.is_empty() => false,
            (_, Some(id)) => self.dirs.is_excluded(id),
            (Place::Inside(dir), None) => self.dirs.excludes(dir, &old.name),
            (Place::Outside, None) => false,
        };
        let excluded_to = match to {
            Place::Inside(dir) if !isdir.is_empty() => self.dirs.excludes(dir, &new.name),
            _ => false,
        };
        self.cookie = self.cookie.wrapping_add(1).max(1);
        let cookie = self.cookie;
        if let (Place::Inside(dir), false) = (from, excluded_from) {
            self.queue(
                EventMask::MOVED_FROM | isdir,
                cookie,
                Some(dir),
                Some(&old.name),
            );
        }
        if let (Place::Inside(dir), false) = (to, excluded_to) {
            self.queue(
                EventMask::MOVED_TO | isdir,
                cookie,
                Some(dir),
                Some(&new.name),
            );
        }
        let child = match child {
            Some(child) if !isdir.is_empty() => child,
            _ => return Ok(()),
        };
        // inotify's IN_MOVE_SELF comes from the directory's own watch: only one that was
        // in the tree before the move has it (the kernel's own is not delivered).
        let was_in_tree = match from {
            Place::Inside(dir) => !excluded_from && self.dirs.delivered_path(dir, &mut self.path),
            Place::Outside => false,
        };
        match to {
            Place::Inside(dir) => {
                let id = self.dirs.place(child, dir, &new.name);
                if from == Place::Outside {
                    self.dirs.forget_outside();
                } else if was_in_tree {
                    self.queue(EventMask::MOVE_SELF, 0, Some(id), None);
                }
            }
            Place::Outside => self.dirs.moved_out(child),
        }
        Ok(())
    }

    /// Queues an event for the caller, with the path `dir` has now (and `name`), when
    /// its mask is wanted and `dir` lies inside the roots and outside what is excluded.
    /// `dir` `None`: an event of no directory (an overflow).
    fn queue(&mut self, mask: EventMask, cookie: u32, dir: Option<NodeId>, name: Option<&[u8]>) {
        let always = EventMask::Q_OVERFLOW | EventMask::IGNORED;
        if !mask.intersects(self.mask | always) {
            return;
        }
        let start = self.arena.len();
        if let Some(dir) = dir {
            if !self.dirs.delivered_path(dir, &mut self.path) {
                return;
            }
            self.arena.extend_from_slice(&self.path);
        }
        let dir_end = self.arena.len();
        let name = name.map(|name| {
            self.arena.extend_from_slice(name);
            (dir_end, self.arena.len())
        });
        self.pending.push_back(Pending {
            mask,
            cookie,
            dir: (start, dir_end),
            name,
        });
    }

    /// The borrowed form of `pending`, its path built in `path`.
    fn hand_out(&mut self, pending: Pending) -> WatchEventRef<'_> {
        let slice = |(start, end): (usize, usize)| self.arena.get(start..end).unwrap_or(&[]);
        self.path.clear();
        self.path.extend_from_slice(slice(pending.dir));
        let name = pending.name.map(slice);
        let parts = push_name(&mut self.path, name);
        let name_len = name.map_or(0, <[u8]>::len);
        let wd = if pending.mask.contains(EventMask::Q_OVERFLOW) {
            WatchDescriptor::from_raw(-1)
        } else {
            NO_WATCH
        };
        let raw = RawEvent::made(wd, pending.mask, pending.cookie, name_len);
        event_ref(&raw, &self.path, parts, Origin::Kernel)
    }
}

impl EventSource for FsWatcher {
    fn next_owned_event(&mut self) -> Result<Option<WatchEvent>, WatchError> {
        Ok(self.next_event()?.map(|event| event.to_owned_event()))
    }

    fn set_last_filter_stop(&mut self, stop: Option<FilterStop>) {
        self.last_filter_stop = stop;
    }
}

impl fmt::Debug for FsWatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FsWatcher")
            .field("fd", &self.as_raw_fd())
            .field("roots", &self.roots())
            .field("mask", &self.mask)
            .finish()
    }
}

impl AsRawFd for FsWatcher {
    fn as_raw_fd(&self) -> RawFd {
        self.waiter.source().as_raw_fd()
    }
}

impl AsFd for FsWatcher {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.waiter.source().as_fd()
    }
}

/// A descriptor of the directory `root`, open for reading, whose closing is never an
/// event: the watcher's own descriptors must never come back as events, also when a
/// child forked meanwhile closes the last copy late (at its `exec`), after the
/// watcher that opened it is gone.
///
/// fanotify opens the descriptor that an event carries (in a group that does not report
/// file handles) so that it causes no event; one such event is made by opening `root`
/// once, with a mark on it in `opener`, a group of the watcher's own (made here the first
/// time). When `watching` (the watcher's group) already marks `root`'s file system, it
/// ignores that opening, by an ignore mark on `root` for as long as it lasts.
///
/// `opener` is kept, its mark on `root` removed, rather than closed: closing a fanotify
/// group waits for the kernel's grace period, milliseconds and tens of them on a busy
/// machine, where removing a mark does not wait.
fn unnoticed_descriptor(
    root: &Path,
    watching: Option<&Fanotify>,
    opener: &mut Option<EventWaiter<Fanotify>>,
) -> Result<File, Error> {
    let opener = match opener {
        Some(opener) => opener,
        None => {
            let group = Fanotify::init(FanotifyInitFlags::empty())?;
            opener.insert(EventWaiter::new(group, Some(LAST_CLOSE_WAIT))?)
        }
    };
    drop_queued(opener)?;
    let noise = FanotifyMask::OPEN | FanotifyMask::CLOSE_NOWRITE | FanotifyMask::ONDIR;
    opener.source().mark(FanotifyMarkFlags::ADD, noise, root)?;
    let ignore = FanotifyMarkFlags::IGNORED_MASK | FanotifyMarkFlags::IGNORED_SURV_MODIFY;
    if let Some(watching) = watching {
        watching.mark(FanotifyMarkFlags::ADD | ignore, noise, root)?;
    }
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(crate::sys::O_DIRECTORY as i32)
        .open(root)
        .map_err(|error| io_to_error(&error, Call::Open));
    drop(opened);
    let kept = last_close_seen(opener);
    // Should the root be gone already, its mark went with it.
    let _ = opener.source().mark(FanotifyMarkFlags::REMOVE, noise, root);
    if let Some(watching) = watching {
        watching.mark(FanotifyMarkFlags::REMOVE | ignore, noise, root)?;
    }
    let owned = kept?.ok_or_else(|| Error::syscall(Call::Read, Errno::ENODATA))?;
    Ok(File::from(std::os::unix::io::OwnedFd::from(owned)))
}

/// Reads and closes what `opener` still holds from an earlier root: others' openings of
/// it, queued before its mark was removed.
fn drop_queued(opener: &mut EventWaiter<Fanotify>) -> Result<(), Error> {
    let mut buffer = EventBuffer::<{ crate::parse::MIN_FANOTIFY_BUFFER_LEN }>::new();
    opener.set_block_duration(Some(Duration::ZERO));
    loop {
        match opener.wait(&mut buffer)? {
            Wait::Events(events) => {
                adopt_descriptors(events, &mut None);
            }
            Wait::Interrupted => {}
            Wait::Drained | Wait::TimedOut => return Ok(()),
        }
    }
}

/// Reads `opener`'s events until the opening's last close is among them (a child forked
/// meanwhile by another thread closes its copy only at its `exec`: the file system is
/// not marked, nor the ignore mark lifted, before that, so the close can never reach
/// the watcher), for at most [`LAST_CLOSE_WAIT`]; keeps the first descriptor they carry.
fn last_close_seen(opener: &mut EventWaiter<Fanotify>) -> Result<Option<OwnedDescriptor>, Error> {
    let deadline = Instant::now() + LAST_CLOSE_WAIT;
    let mut buffer = EventBuffer::<{ crate::parse::MIN_FANOTIFY_BUFFER_LEN }>::new();
    let mut kept = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(kept);
        }
        opener.set_block_duration(Some(left));
        if let Wait::Events(events) = opener.wait(&mut buffer)? {
            if adopt_descriptors(events, &mut kept) {
                return Ok(kept);
            }
        }
    }
}

/// An `io::Error` of opening a root, as the crate's error of `call`.
fn io_to_error(error: &io::Error, call: Call) -> Error {
    let errno = error.raw_os_error().map_or(Errno::EIO, Errno::from_raw);
    Error::syscall(call, errno)
}
