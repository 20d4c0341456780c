//! [`PathWaiter`]: block until a path exists, on the crate's own [`Inotify`] and [`Epoll`],
//! with stack buffers only.
//!
//! How a wait works. The path is resolved one component at a time, the way the kernel
//! resolves it, in a buffer of `PATH_MAX` bytes on the stack. Before a name is looked up
//! in a directory, that directory is watched for entries coming and going (`IN_CREATE`,
//! `IN_MOVED_TO`, `IN_MOVED_FROM`, `IN_DELETE`) and for its own removal or rename
//! (`IN_DELETE_SELF`, `IN_MOVE_SELF`), with `IN_ONLYDIR | IN_DONT_FOLLOW`. Watch first,
//! look second: a name that appears between the two is found by the look, and a change
//! after the look raises an event. So the walk stops at the first missing name with a
//! watch on every directory it went through, and nothing can change on the way without
//! an event (except a mount, which raises none: hence the optional re-check).
//!
//! An event about a name the walk looked up, or about a watched directory itself, starts
//! the walk again from the top, on a fresh inotify instance (dropping the old one drops
//! its watches): that is how the wait descends as components appear and climbs back when
//! an ancestor is removed or renamed away. Events about other names are read and
//! dropped. Symbolic links are followed as the kernel follows them (each link's target is
//! resolved in its turn, up to 40 links), so a wait through a dangling link waits for its
//! target, and a link that is re-pointed is seen in the directory that holds it.

use core::ops::Range;
use core::time::Duration;

use crate::clock::MonotonicTime;
use crate::epoll::{Epoll, EpollEvent, OnInterrupt, Readiness};
use crate::error::{Call, Error};
use crate::inotify::{InitFlags, Inotify};
use crate::mask::{EventMask, WatchMask};
use crate::parse::{Event, EventBuffer, FileKind, WatchDescriptor};
use crate::path::PathBytes;
use crate::sys::{self, Errno, NulTerminated, Statx, AT_FDCWD, AT_SYMLINK_NOFOLLOW, PATH_MAX};

/// The kernel's limit on symbolic links followed in one path resolution (`MAXSYMLINKS`).
const MAX_SYMLINKS: u32 = 40;

/// `STATX_TYPE`: `stx_mask` has this bit when the type bits of `stx_mode` are filled in.
const STATX_TYPE: u32 = 0x1;

/// What every directory on the walk is watched for.
const DIRECTORY_MASK: WatchMask = WatchMask::CREATE
    .union(WatchMask::MOVED_TO)
    .union(WatchMask::MOVED_FROM)
    .union(WatchMask::DELETE)
    .union(WatchMask::DELETE_SELF)
    .union(WatchMask::MOVE_SELF)
    .union(WatchMask::ONLYDIR)
    .union(WatchMask::DONT_FOLLOW);

/// Events that always start a new walk: a watched directory went away or was moved, its
/// file system went, a watch was dropped, or events were lost.
const ALWAYS_RELEVANT: EventMask = EventMask::DELETE_SELF
    .union(EventMask::MOVE_SELF)
    .union(EventMask::UNMOUNT)
    .union(EventMask::IGNORED)
    .union(EventMask::Q_OVERFLOW);

/// How many (directory, name) pairs of one walk are remembered to tell the events that
/// matter from the others. A walk through more directories than this (a deep path, or
/// many links) still works: every named event in a watched directory then starts a new
/// walk.
const FILTER_SLOTS: usize = 48;

/// The least interval between re-checks: a shorter one would be a busy poll.
const MIN_RECHECK: Duration = Duration::from_millis(1);

/// What counts as the path being there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Presence {
    /// The name exists, as `lstat` sees it: a symbolic link counts, even a dangling one.
    Exists,
    /// The name resolves, as `stat` (and `test -e`) sees it: a symbolic link counts once
    /// its target exists. What udev's `/dev/disk/by-*/` links need.
    Resolves,
    /// The name resolves to a file of this kind: [`FileKind::BlockDevice`],
    /// [`FileKind::CharDevice`], [`FileKind::Socket`], [`FileKind::Regular`],
    /// [`FileKind::Directory`], [`FileKind::Fifo`]. A file of another kind keeps the
    /// wait going (it may be replaced). [`FileKind::Symlink`] asks for a link itself,
    /// not followed.
    Kind(FileKind),
}

impl Presence {
    /// Whether a symbolic link as the last component is followed.
    fn follows_last_link(self) -> bool {
        match self {
            Presence::Exists => false,
            Presence::Resolves => true,
            Presence::Kind(kind) => kind != FileKind::Symlink,
        }
    }

    /// `Some(kind)` when a file of `kind` is what the caller waits for.
    fn found(self, kind: FileKind) -> Option<FileKind> {
        let accepted = match self {
            Presence::Exists | Presence::Resolves => true,
            Presence::Kind(wanted) => wanted == kind,
        };
        if accepted {
            Some(kind)
        } else {
            None
        }
    }
}

/// How a wait for a path ended, short of an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PathWait {
    /// The path is there. The kind of file it names: after symbolic links, except with
    /// [`Presence::Exists`], where a link is [`FileKind::Symlink`].
    Found(FileKind),
    /// The timeout passed first.
    TimedOut,
}

/// Waits for a path to exist: what an initramfs needs before it mounts its root device,
/// or an entrypoint before it talks to a socket. No libc, no allocation.
///
/// The wait watches the deepest directory of the path that exists, descends as the
/// components appear, and climbs back if a directory on the way is removed or renamed.
/// It is free of the race of a `test -e` followed by a watch: every directory is watched
/// before the name in it is looked up. Symbolic links anywhere in the path are followed
/// (up to the kernel's 40) and waited on if their target is missing; a relative path is
/// taken from the current directory. See [`Presence`] for what counts as there.
///
/// Every directory on the path is watched, so inotify needs read permission on each of
/// them, as well as the search permission any lookup needs: a directory that lacks
/// either is an error that names it ([`Error::PathComponent`], `EACCES`). (A path that
/// is there at the start needs no watch: one `statx` finds it.)
///
/// # Mounts
///
/// A file system mounted over a directory of the path during the wait raises no inotify
/// event in the directory it covers, so the wait cannot see it. If that can happen (an
/// initramfs waiting below a mount point that something else mounts), set an interval
/// with [`recheck_every`](PathWaiter::recheck_every): the path is then resolved again
/// from the top at that interval, events or not. It is off by default.
///
/// The same goes for file systems that raise no inotify events for what appears in them:
/// `/proc`, `/sys`, and network file systems changed from another machine.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use inotify_raw::{FileKind, PathWait, PathWaiter, Presence};
///
/// let dir = std::env::temp_dir().join(format!("inotify-raw-doc-wait-{}", std::process::id()));
/// let ready = dir.join("run/app/ready");
/// let maker = {
///     let ready = ready.clone();
///     std::thread::spawn(move || {
///         std::fs::create_dir_all(ready.parent().unwrap()).unwrap();
///         std::fs::write(&ready, b"").unwrap();
///     })
/// };
/// let waiter = PathWaiter::new(Presence::Resolves).timeout(Duration::from_secs(10));
/// assert_eq!(waiter.wait(ready.as_path())?, PathWait::Found(FileKind::Regular));
/// maker.join().unwrap();
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PathWaiter {
    presence: Presence,
    timeout: Option<Duration>,
    recheck: Option<Duration>,
}

impl PathWaiter {
    /// A waiter for `presence`, with no timeout and no periodic re-check.
    pub const fn new(presence: Presence) -> PathWaiter {
        PathWaiter {
            presence,
            timeout: None,
            recheck: None,
        }
    }

    /// Gives up after `timeout`, measured on the monotonic clock from the start of each
    /// [`wait`](PathWaiter::wait): the wait then returns [`PathWait::TimedOut`], never
    /// sooner. A zero timeout checks once, without waiting.
    pub const fn timeout(self, timeout: Duration) -> PathWaiter {
        PathWaiter {
            timeout: Some(timeout),
            ..self
        }
    }

    /// Resolves the path again from the top every `interval` (at least a millisecond),
    /// whatever the events: the way to notice a file system mounted over a directory of
    /// the path during the wait, which inotify does not report. Off by default.
    pub const fn recheck_every(self, interval: Duration) -> PathWaiter {
        PathWaiter {
            recheck: Some(interval),
            ..self
        }
    }

    /// What this waiter waits for.
    pub const fn presence(&self) -> Presence {
        self.presence
    }

    /// Blocks until `path` is there, or the timeout passes.
    ///
    /// `path` is any [`PathBytes`] (a `&str`, bytes, a `CStr`, with `std` a `Path`); one
    /// NUL at its very end is taken as its terminator. It is copied to the stack; nothing
    /// is allocated. A signal during the wait does not end it. If the path is there at the
    /// start, this returns at once, after one `statx`.
    ///
    /// # Errors
    ///
    /// - [`Error::EmptyPath`], [`Error::PathContainsNul`], [`Error::PathTooLong`]: the
    ///   path is refused before any system call.
    /// - [`Error::PathComponent`], naming the component: a directory on the way that
    ///   cannot be searched or watched (`EACCES`), a component that is a file with more
    ///   path below it (`ENOTDIR`), more than 40 symbolic links (`ELOOP`), a path that
    ///   grows past `PATH_MAX` as links are expanded (`ENAMETOOLONG`).
    /// - [`Error::Syscall`]: the kernel refused something else, such as a new inotify
    ///   instance (`EMFILE`) or a watch past the limit (`ENOSPC`); both say which limit
    ///   to raise.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use inotify_raw::{FileKind, PathWait, PathWaiter, Presence};
    ///
    /// let waiter = PathWaiter::new(Presence::Kind(FileKind::Directory));
    /// assert_eq!(waiter.wait("/")?, PathWait::Found(FileKind::Directory));
    ///
    /// let missing = "/nonexistent/inotify-raw/doc";
    /// let waiter = PathWaiter::new(Presence::Exists).timeout(Duration::from_millis(10));
    /// assert_eq!(waiter.wait(missing)?, PathWait::TimedOut);
    /// # Ok::<(), inotify_raw::Error>(())
    /// ```
    pub fn wait<P: PathBytes + ?Sized>(&self, path: &P) -> Result<PathWait, Error> {
        let start = MonotonicTime::now()?;
        let deadline = self.timeout.map(|timeout| start.saturating_add(timeout));
        let path = checked_path(path.path_bytes())?;
        let mut walk = Walk::new(path);
        if let Some(kind) = walk.quick_check(self.presence) {
            return Ok(PathWait::Found(kind));
        }
        let epoll = Epoll::new()?;
        let mut buffer = EventBuffer::<2048>::new();
        loop {
            let inotify = Inotify::init(InitFlags::NONBLOCK)?;
            epoll.add(&inotify, Readiness::IN, 0)?;
            if let Some(kind) = walk.run(&inotify, self.presence)? {
                return Ok(PathWait::Found(kind));
            }
            let recheck_at = match self.recheck {
                Some(interval) => {
                    Some(MonotonicTime::now()?.saturating_add(interval.max(MIN_RECHECK)))
                }
                None => None,
            };
            let ended = self.wait_for_change(
                &epoll,
                &inotify,
                &walk.filter,
                deadline,
                recheck_at,
                &mut buffer,
            )?;
            // Take it out of the epoll set before closing it: a child forked meanwhile may
            // hold a copy of the descriptor, which would keep it registered.
            epoll.delete(&inotify)?;
            if ended {
                return Ok(PathWait::TimedOut);
            }
        }
    }

    /// Waits until an event that matters, the re-check time, or the deadline. Returns
    /// `true` when the deadline has passed.
    fn wait_for_change<const N: usize>(
        &self,
        epoll: &Epoll,
        inotify: &Inotify,
        filter: &Filter,
        deadline: Option<MonotonicTime>,
        recheck_at: Option<MonotonicTime>,
        buffer: &mut EventBuffer<N>,
    ) -> Result<bool, Error> {
        loop {
            // The time left is measured again after every wake-up, so early or spurious
            // ones never add up to a drift.
            let now = MonotonicTime::now()?;
            let to_deadline = deadline.map(|deadline| deadline.saturating_duration_since(now));
            if to_deadline == Some(Duration::ZERO) {
                return Ok(true);
            }
            let to_recheck = recheck_at.map(|at| at.saturating_duration_since(now));
            if to_recheck == Some(Duration::ZERO) {
                return Ok(false);
            }
            let wait_for = match (to_deadline, to_recheck) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let mut ready = [EpollEvent::default()];
            if epoll.wait(&mut ready, wait_for, OnInterrupt::Retry)? == 0 {
                continue;
            }
            if drain(inotify, filter, buffer)? {
                return Ok(false);
            }
        }
    }

    /// Like [`wait`](PathWaiter::wait), for a `Path`, with errors as `io::Error`: each
    /// names the path, and the component at fault by its text, through a
    /// [`PathError`](crate::PathError) inside the `io::Error`.
    ///
    /// # Errors
    ///
    /// Those of [`wait`](PathWaiter::wait), converted. `io::ErrorKind` follows the errno
    /// (`PermissionDenied` for `EACCES`); the errno comes back with
    /// [`Errno::from_error`](crate::Errno::from_error).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::path::Path;
    /// use inotify_raw::{Errno, PathWaiter, Presence};
    ///
    /// let path = Path::new("/dev/null/x"); // /dev/null is not a directory
    /// let error = PathWaiter::new(Presence::Exists).wait_path(path).unwrap_err();
    /// assert_eq!(Errno::from_error(&error), Some(Errno::ENOTDIR));
    /// assert!(error.to_string().starts_with("/dev/null/x: /dev/null: statx: "));
    /// ```
    #[cfg(feature = "std")]
    pub fn wait_path(&self, path: &std::path::Path) -> std::io::Result<PathWait> {
        self.wait(path).map_err(|source| {
            std::io::Error::from(crate::error::PathError {
                path: path.to_path_buf(),
                source,
            })
        })
    }
}

/// Blocks until `path` is there (as `presence` says), or `timeout` passes (`None`: no
/// limit). The same as `PathWaiter::new(presence)` with the timeout, then
/// [`wait`](PathWaiter::wait).
///
/// # Errors
///
/// As for [`PathWaiter::wait`]: a refused path, a component at fault
/// ([`Error::PathComponent`]: `EACCES`, `ENOTDIR`, `ELOOP`), or a system call refused.
///
/// # Examples
///
/// A device an initramfs waits for (`/dev/disk/by-uuid/...` is a link to it):
///
/// ```no_run
/// use std::time::Duration;
/// use inotify_raw::{wait_for_path, FileKind, PathWait, Presence};
///
/// let root = "/dev/disk/by-uuid/0b4dd1e8-46d0-4a8c-9f4f-6d4c2d0f4e11";
/// let block_device = Presence::Kind(FileKind::BlockDevice);
/// match wait_for_path(root, block_device, Some(Duration::from_secs(30)))? {
///     PathWait::Found(_) => { /* mount it */ }
///     PathWait::TimedOut => { /* drop to a shell */ }
/// }
/// # Ok::<(), inotify_raw::Error>(())
/// ```
pub fn wait_for_path<P: PathBytes + ?Sized>(
    path: &P,
    presence: Presence,
    timeout: Option<Duration>,
) -> Result<PathWait, Error> {
    let waiter = PathWaiter::new(presence);
    match timeout {
        Some(timeout) => waiter.timeout(timeout).wait(path),
        None => waiter.wait(path),
    }
}

/// `path` without one final NUL, checked: not empty, no other NUL, shorter than
/// `PATH_MAX`.
fn checked_path(path: &[u8]) -> Result<&[u8], Error> {
    let path = match path.split_last() {
        Some((0, before)) => before,
        _ => path,
    };
    if let Some(position) = path.iter().position(|&b| b == 0) {
        return Err(Error::PathContainsNul { position });
    }
    if path.len() >= PATH_MAX {
        return Err(Error::PathTooLong { len: path.len() });
    }
    if path.is_empty() {
        return Err(Error::EmptyPath);
    }
    Ok(path)
}

/// Reads every queued event; `true` if one of them can change what a walk finds.
fn drain<const N: usize>(
    inotify: &Inotify,
    filter: &Filter,
    buffer: &mut EventBuffer<N>,
) -> Result<bool, Error> {
    loop {
        let events = match inotify.read(buffer) {
            Ok(events) => events,
            Err(error) if error.is_would_block() => return Ok(false),
            Err(error) if error.is_interrupted() => continue,
            Err(error) => return Err(error),
        };
        if events.is_empty() {
            return Ok(false);
        }
        for event in events {
            match event {
                Ok(event) if !filter.matters(&event) => {}
                // A malformed buffer cannot come from the kernel; walk again to be safe.
                _ => return Ok(true),
            }
        }
    }
}

/// Where a component sits in the path as the caller gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    offset: usize,
    len: usize,
}

impl Span {
    fn error(self, call: Call, errno: Errno) -> Error {
        Error::PathComponent {
            call,
            errno,
            offset: self.offset,
            len: self.len,
        }
    }
}

/// The (directory, name) pairs a walk looked up, as (watch, hash of the name): an event
/// about any other name in those directories changes nothing the walk found.
struct Filter {
    slots: [(i32, u64); FILTER_SLOTS],
    len: usize,
    overflowed: bool,
}

impl Filter {
    fn new() -> Filter {
        Filter {
            slots: [(0, 0); FILTER_SLOTS],
            len: 0,
            overflowed: false,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
        self.overflowed = false;
    }

    fn note(&mut self, wd: WatchDescriptor, name: &[u8]) {
        match self.slots.get_mut(self.len) {
            Some(slot) => {
                *slot = (wd.raw(), name_hash(name));
                self.len += 1;
            }
            None => self.overflowed = true,
        }
    }

    /// Whether `event` can change what the walk found. Wrong guesses only ever cost a
    /// walk: a hash collision, or a watch this filter has no room for, counts as a match.
    fn matters(&self, event: &Event<'_>) -> bool {
        if event.mask().intersects(ALWAYS_RELEVANT) || self.overflowed {
            return true;
        }
        let name = match event.name() {
            Some(name) => name,
            None => return true,
        };
        let wd = event.wd().raw();
        let hash = name_hash(name);
        let noted = self.slots.get(..self.len).unwrap_or(&[]);
        let mut known_watch = false;
        for &(slot_wd, slot_hash) in noted {
            if slot_wd == wd {
                if slot_hash == hash {
                    return true;
                }
                known_watch = true;
            }
        }
        !known_watch
    }
}

/// FNV-1a, 64 bits: enough to tell a name from the others in a directory.
fn name_hash(name: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in name {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The directory a walk has reached, as a path with no symbolic link in it: `/`, `//a/b`
/// (the root's entries get a second slash, which the kernel reads as one), `.`, `./a`,
/// `./..`. A name is always appended after a `/`. There is room for a NUL after it.
struct DirPath {
    bytes: [u8; PATH_MAX],
    len: usize,
}

impl DirPath {
    fn set(&mut self, start: u8) {
        self.bytes[0] = start;
        self.len = 1;
    }

    /// Writes `/name` and a NUL after the directory; the length with them, if they fit.
    fn append(&mut self, name: &[u8]) -> Option<usize> {
        let end = self.len + 1 + name.len();
        let room = self.bytes.get_mut(self.len..=end)?;
        let (slash, rest) = room.split_first_mut()?;
        let (nul, name_room) = rest.split_last_mut()?;
        *slash = b'/';
        name_room.copy_from_slice(name);
        *nul = 0;
        Some(end)
    }

    /// Appends `/name`; `false` (and no change) if that leaves no room for a NUL.
    fn push(&mut self, name: &[u8]) -> bool {
        match self.append(name) {
            Some(end) => {
                self.len = end;
                true
            }
            None => false,
        }
    }

    /// Goes to the parent: drops the last component, or appends `..` when there is none
    /// to drop (`.`, or `..` already). The path has no link in it, so this is what the
    /// kernel's `..` does. `false` if there is no room.
    fn pop(&mut self) -> bool {
        let dir = self.bytes.get(..self.len).unwrap_or(&[]);
        if dir == b"/" {
            return true;
        }
        let last_start = dir
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(0, |slash| slash + 1);
        if matches!(dir.get(last_start..), Some(b".") | Some(b"..")) {
            return self.push(b"..");
        }
        // `//a` becomes `/`; `//a/b`, `./a` and `./../a` lose their last `/` and name.
        self.len = last_start.saturating_sub(1).max(1);
        true
    }

    /// The directory, NUL-terminated.
    fn as_path(&mut self) -> Option<NulTerminated<'_>> {
        *self.bytes.get_mut(self.len)? = 0;
        NulTerminated::up_to_nul(&self.bytes, self.len)
    }

    /// `directory/name`, NUL-terminated; `None` if it does not fit.
    fn child(&mut self, name: &[u8]) -> Option<NulTerminated<'_>> {
        let end = self.append(name)?;
        NulTerminated::up_to_nul(&self.bytes, end)
    }
}

/// The kind of file at `path`, from `statx` with `flags` (`AT_SYMLINK_NOFOLLOW` or 0).
fn kind_of(path: NulTerminated<'_>, flags: u32) -> Result<FileKind, Errno> {
    let mut stat = Statx::default();
    sys::statx(AT_FDCWD, path, flags, STATX_TYPE, &mut stat)?;
    if stat.stx_mask & STATX_TYPE == 0 {
        return Ok(FileKind::Unknown);
    }
    Ok(FileKind::from_mode(u32::from(stat.stx_mode)))
}

/// The part of the path not resolved yet, right-aligned in a `PATH_MAX` buffer so that a
/// link's target can be put in front of it without moving it. The caller's path is copied
/// to the end; targets go before what is left of it.
struct Rest {
    bytes: [u8; PATH_MAX],
    /// Where the unresolved part starts.
    start: usize,
    /// Where the caller's path starts in `bytes`: offsets in errors count from here.
    base: usize,
    /// Bytes from here on are the caller's; before it, link targets.
    original_from: usize,
}

impl Rest {
    fn load(&mut self, path: &[u8]) {
        self.base = PATH_MAX - path.len();
        self.bytes[self.base..].copy_from_slice(path);
        self.start = self.base;
        self.original_from = self.base;
    }

    /// The next component, skipping slashes: its place in `bytes`.
    fn next_component(&mut self) -> Option<Range<usize>> {
        while self.bytes.get(self.start) == Some(&b'/') {
            self.start += 1;
        }
        let begin = self.start;
        while matches!(self.bytes.get(self.start), Some(&byte) if byte != b'/') {
            self.start += 1;
        }
        if begin == self.start {
            None
        } else {
            Some(begin..self.start)
        }
    }

    /// True once nothing is left, not even a slash (a final slash makes the component
    /// before it a directory that is looked into, as the kernel has it).
    fn is_empty(&self) -> bool {
        self.start >= PATH_MAX
    }

    fn starts_with_slash(&self) -> bool {
        self.bytes.get(self.start) == Some(&b'/')
    }

    /// Where `component` is in the caller's path: itself if it is the caller's, or
    /// `link` (the caller's component whose link target it came from).
    fn span_of(&self, component: &Range<usize>, link: Span) -> Span {
        if component.start >= self.original_from {
            Span {
                offset: component.start - self.base,
                len: component.len(),
            }
        } else {
            link
        }
    }

    /// Puts the target of the link at `link_path` in front of the unresolved part.
    /// `Ok(false)` if it does not fit.
    fn prepend_link(&mut self, link_path: NulTerminated<'_>) -> Result<bool, Errno> {
        let room = self.start;
        if room == 0 {
            return Ok(false);
        }
        let len = sys::readlinkat(AT_FDCWD, link_path, &mut self.bytes[..room])?;
        if len >= room {
            return Ok(false);
        }
        self.bytes.copy_within(..len, room - len);
        self.start = room - len;
        Ok(true)
    }
}

/// One resolution of the path, with the buffers it needs.
struct Walk<'p> {
    path: &'p [u8],
    rest: Rest,
    dir: DirPath,
    filter: Filter,
    /// Where the directory reached is named in the caller's path, for its errors.
    dir_span: Span,
    /// The caller's component whose link is being resolved: the components of its
    /// target are reported as it.
    link_span: Span,
    /// Links followed so far.
    links: u32,
}

/// Where a component leads.
enum Step {
    /// On to the next component.
    Next,
    /// The walk is over: the path is there (`Some`, its kind) or not yet (`None`).
    Done(Option<FileKind>),
}

impl<'p> Walk<'p> {
    fn new(path: &'p [u8]) -> Walk<'p> {
        let start = Span { offset: 0, len: 0 };
        Walk {
            path,
            rest: Rest {
                bytes: [0; PATH_MAX],
                start: PATH_MAX,
                base: PATH_MAX,
                original_from: PATH_MAX,
            },
            dir: DirPath {
                bytes: [0; PATH_MAX],
                len: 0,
            },
            filter: Filter::new(),
            dir_span: start,
            link_span: start,
            links: 0,
        }
    }

    /// One `statx` of the whole path: the kind, if it is there already.
    fn quick_check(&mut self, presence: Presence) -> Option<FileKind> {
        let flags = if presence.follows_last_link() {
            0
        } else {
            AT_SYMLINK_NOFOLLOW
        };
        let path = self.path;
        let copy = self.dir.bytes.get_mut(..=path.len())?;
        let (nul, room) = copy.split_last_mut()?;
        room.copy_from_slice(path);
        *nul = 0;
        let kind = kind_of(
            NulTerminated::up_to_nul(&self.dir.bytes, path.len())?,
            flags,
        )
        .ok()?;
        presence.found(kind)
    }

    /// Resolves the path, watching each directory before looking into it. `Some(kind)`
    /// when the path is there; `None` when it is not, with the watches in place.
    fn run(&mut self, inotify: &Inotify, presence: Presence) -> Result<Option<FileKind>, Error> {
        self.start();
        loop {
            let component = match self.rest.next_component() {
                Some(component) => component,
                // Nothing after the directory reached (`/`, `a/`, `a/.`, `a/..`).
                None => return Ok(presence.found(FileKind::Directory)),
            };
            if let Step::Done(found) = self.step(inotify, presence, component)? {
                return Ok(found);
            }
        }
    }

    /// Starts again from the top: the root or the current directory, no link followed.
    fn start(&mut self) {
        self.filter.clear();
        self.rest.load(self.path);
        self.dir_span = if self.rest.starts_with_slash() {
            self.dir.set(b'/');
            Span { offset: 0, len: 1 }
        } else {
            self.dir.set(b'.');
            Span { offset: 0, len: 0 }
        };
        self.link_span = self.dir_span;
        self.links = 0;
    }

    /// One component: `.` and `..` move in the directory path; a name is watched for and
    /// looked at, then followed (a link), reported (the last one) or entered.
    fn step(
        &mut self,
        inotify: &Inotify,
        presence: Presence,
        component: Range<usize>,
    ) -> Result<Step, Error> {
        let last = self.rest.is_empty();
        let span = self.rest.span_of(&component, self.link_span);
        let name = &self.rest.bytes[component.clone()];
        if name == b"." {
            return Ok(Step::Next);
        }
        if name == b".." {
            if !self.dir.pop() {
                return Err(span.error(Call::Statx, Errno::ENAMETOOLONG));
            }
            self.dir_span = span;
            return Ok(Step::Next);
        }
        let kind = match self.watch_and_look(inotify, component.clone(), span)? {
            Some(kind) => kind,
            None => return Ok(Step::Done(None)),
        };
        if kind == FileKind::Symlink && (!last || presence.follows_last_link()) {
            return self.follow_link(component, span);
        }
        if last {
            return Ok(Step::Done(presence.found(kind)));
        }
        if !matches!(kind, FileKind::Directory | FileKind::Unknown) {
            return Err(span.error(Call::Statx, Errno::ENOTDIR));
        }
        if !self.dir.push(&self.rest.bytes[component]) {
            return Err(span.error(Call::Statx, Errno::ENAMETOOLONG));
        }
        self.dir_span = span;
        Ok(Step::Next)
    }

    /// Watches the directory reached, then looks at `component` in it: its kind, or
    /// `None` when it is not there (or something on the way changed since it was looked
    /// up: the watches have the event, and the next walk sees why).
    fn watch_and_look(
        &mut self,
        inotify: &Inotify,
        component: Range<usize>,
        span: Span,
    ) -> Result<Option<FileKind>, Error> {
        let dir_span = self.dir_span;
        let watched = match self.dir.as_path() {
            Some(dir) => inotify.add_watch_nul(dir, DIRECTORY_MASK),
            None => return Err(dir_span.error(Call::InotifyAddWatch, Errno::ENAMETOOLONG)),
        };
        let wd = match watched {
            Ok(wd) => wd,
            Err(error) => {
                return match error.errno() {
                    // Removed or replaced since it was looked up: the watch on its
                    // parent has the event already.
                    Some(Errno::ENOENT | Errno::ENOTDIR) => Ok(None),
                    Some(Errno::EACCES) => {
                        Err(dir_span.error(Call::InotifyAddWatch, Errno::EACCES))
                    }
                    _ => Err(error),
                };
            }
        };
        let name = &self.rest.bytes[component];
        self.filter.note(wd, name);
        let looked = match self.dir.child(name) {
            Some(child) => kind_of(child, AT_SYMLINK_NOFOLLOW),
            None => return Err(span.error(Call::Statx, Errno::ENAMETOOLONG)),
        };
        match looked {
            Ok(kind) => Ok(Some(kind)),
            // Not there: wait. (ENOTDIR: a directory on the way was replaced since it
            // was looked up; an event is queued.)
            Err(Errno::ENOENT | Errno::ENOTDIR) => Ok(None),
            Err(Errno::EACCES) => Err(dir_span.error(Call::Statx, Errno::EACCES)),
            Err(Errno::ENAMETOOLONG) => Err(span.error(Call::Statx, Errno::ENAMETOOLONG)),
            Err(errno) => Err(Error::syscall(Call::Statx, errno)),
        }
    }

    /// Puts the target of the link at `component` in front of the rest of the path, as
    /// the kernel resolves it: from the root for an absolute target, else from the
    /// directory reached.
    fn follow_link(&mut self, component: Range<usize>, span: Span) -> Result<Step, Error> {
        self.links += 1;
        if self.links > MAX_SYMLINKS {
            return Err(span.error(Call::Statx, Errno::ELOOP));
        }
        if component.start >= self.rest.original_from {
            // A link of the caller's own path: its target's components are reported as
            // it, and the caller's path resumes after it.
            self.link_span = span;
            self.rest.original_from = component.end;
        }
        let link = match self.dir.child(&self.rest.bytes[component.clone()]) {
            Some(link) => link,
            None => return Err(span.error(Call::Readlink, Errno::ENAMETOOLONG)),
        };
        match self.rest.prepend_link(link) {
            Ok(true) => {}
            Ok(false) => return Err(span.error(Call::Readlink, Errno::ENAMETOOLONG)),
            // Replaced since it was looked up: an event is on its way.
            Err(Errno::ENOENT | Errno::EINVAL) => return Ok(Step::Done(None)),
            Err(errno) => return Err(Error::syscall(Call::Readlink, errno)),
        }
        if self.rest.start == component.end {
            // An empty target resolves to nothing (ENOENT): wait for the link to be
            // replaced.
            return Ok(Step::Done(None));
        }
        if self.rest.starts_with_slash() {
            self.dir.set(b'/');
            self.dir_span = span;
        }
        Ok(Step::Next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_path(start: u8) -> DirPath {
        let mut dir = DirPath {
            bytes: [0; PATH_MAX],
            len: 0,
        };
        dir.set(start);
        dir
    }

    fn text(dir: &DirPath) -> &[u8] {
        &dir.bytes[..dir.len]
    }

    #[test]
    fn directories_are_joined_and_climbed_as_the_kernel_resolves_them() {
        let mut dir = dir_path(b'/');
        assert_eq!(dir.as_path().map(NulTerminated::to_bytes), Some(&b"/"[..]));
        assert_eq!(
            dir.child(b"a").map(NulTerminated::to_bytes),
            Some(&b"//a"[..])
        );
        assert!(dir.push(b"a") && dir.push(b"b"));
        assert_eq!(text(&dir), b"//a/b");
        assert!(dir.pop());
        assert_eq!(text(&dir), b"//a");
        assert!(dir.pop());
        assert_eq!(text(&dir), b"/");
        assert!(dir.pop(), "the root's parent is the root");
        assert_eq!(text(&dir), b"/");

        let mut dir = dir_path(b'.');
        assert!(dir.push(b"a"));
        assert_eq!(text(&dir), b"./a");
        assert!(dir.pop());
        assert_eq!(text(&dir), b".");
        assert!(dir.pop());
        assert_eq!(text(&dir), b"./..");
        assert!(dir.pop());
        assert_eq!(text(&dir), b"./../..");
        assert!(dir.push(b"x"));
        assert!(dir.pop());
        assert_eq!(text(&dir), b"./../..");
        // A name that is only dots but not `.` or `..` is a name.
        assert!(dir.push(b"..."));
        assert!(dir.pop());
        assert_eq!(text(&dir), b"./../..");
    }

    #[test]
    fn a_directory_path_never_outgrows_its_buffer() {
        let mut dir = dir_path(b'/');
        let name = [b'n'; 255];
        let mut pushed = 0;
        while dir.push(&name) {
            pushed += 1;
        }
        assert_eq!(pushed, (PATH_MAX - 2) / 256);
        assert!(dir.len < PATH_MAX);
        assert!(dir.child(&name).is_none());
        assert!(dir.as_path().is_some());
        let before = dir.len;
        assert!(!dir.push(&name), "a failed push changes nothing");
        assert_eq!(dir.len, before);
    }

    #[test]
    fn paths_are_checked_before_use() {
        assert_eq!(checked_path(b"a/b"), Ok(&b"a/b"[..]));
        assert_eq!(checked_path(b"a/b\0"), Ok(&b"a/b"[..]));
        assert_eq!(checked_path(b""), Err(Error::EmptyPath));
        assert_eq!(checked_path(b"\0"), Err(Error::EmptyPath));
        assert_eq!(
            checked_path(b"a\0\0"),
            Err(Error::PathContainsNul { position: 1 })
        );
        assert_eq!(
            checked_path(&[b'x'; PATH_MAX]),
            Err(Error::PathTooLong { len: PATH_MAX })
        );
    }

    #[test]
    fn components_are_placed_in_the_callers_path() {
        let mut rest = Rest {
            bytes: [0; PATH_MAX],
            start: PATH_MAX,
            base: PATH_MAX,
            original_from: PATH_MAX,
        };
        rest.load(b"//ab/./c/");
        let none = Span { offset: 99, len: 0 };
        let mut spans = [None; 4];
        for span in spans.iter_mut() {
            *span = rest
                .next_component()
                .map(|component| rest.span_of(&component, none));
        }
        assert_eq!(
            spans,
            [
                Some(Span { offset: 2, len: 2 }),
                Some(Span { offset: 5, len: 1 }),
                Some(Span { offset: 7, len: 1 }),
                None,
            ]
        );
        assert!(rest.is_empty());
    }
}
