//! [`Watcher`]: the Python package's `inotify.adapters.Inotify` in Rust: watched paths,
//! a block duration, and the `event_gen` iterator, with its faults fixed.

use std::boxed::Box;
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::time::Duration;
use std::vec::Vec;

use super::event::{FilterStop, Origin, WatchError, WatchEvent, WatchEventRef};
use super::iter::{EventSource, WatchEvents};
use super::reader::{RawEvent, Reader, Step};
use super::table::WatchTable;
use crate::error::{Error, PathError};
use crate::inotify::Inotify;
use crate::mask::{EventMask, WatchMask};
use crate::parse::WatchDescriptor;

/// Watches paths and yields their events, one block duration at a time.
///
/// The Rust form of the Python package's `inotify.adapters.Inotify`. It keeps a
/// path-to-descriptor map in both directions, drops a watch from it when the kernel says
/// the watch is gone (`IN_IGNORED`), delivers queue overflows (descriptor -1), and
/// closes its descriptors on drop (they are close-on-exec from the start).
///
/// Two ways to read: [`events`](Watcher::events), an iterator of owned [`WatchEvent`]s
/// with the options of `event_gen`; and [`next_event`](Watcher::next_event), which
/// borrows each event from the watcher's buffer and allocates nothing.
pub struct Watcher {
    reader: Reader,
    table: WatchTable,
    /// An `IN_IGNORED` event was handed out for this watch; it leaves the table at the
    /// next step, so the event itself could still carry its path.
    ignored_pending: Option<WatchDescriptor>,
    last_filter_stop: Option<FilterStop>,
    /// The last event's path, reused.
    path: Vec<u8>,
}

impl Watcher {
    /// A watcher with no watches and the default block duration of one second.
    pub fn new() -> io::Result<Watcher> {
        Ok(Watcher {
            reader: Reader::new()?,
            table: WatchTable::new(),
            ignored_pending: None,
            last_filter_stop: None,
            path: Vec::with_capacity(crate::sys::PATH_MAX),
        })
    }

    /// A watcher watching each of `paths` for every event (`IN_ALL_EVENTS`): the Python
    /// package's `Inotify(paths=[...])`.
    pub fn with_paths<I, P>(paths: I) -> io::Result<Watcher>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        let mut watcher = Watcher::new()?;
        for path in paths {
            watcher.add_watch(path, WatchMask::ALL_EVENTS)?;
        }
        Ok(watcher)
    }

    /// Sets how long one wait blocks (`None`: until an event comes).
    pub fn set_block_duration(&mut self, duration: Option<Duration>) {
        self.reader.set_block_duration(duration);
    }

    /// Asks `duration` before every wait that may block how long it may block: once per
    /// cycle, like the Python package's callable `block_duration_s`.
    pub fn set_block_duration_fn<F>(&mut self, duration: F)
    where
        F: FnMut() -> Option<Duration> + Send + 'static,
    {
        self.reader.set_block_duration_fn(Box::new(duration));
    }

    /// Watches `path` for the events in `mask` and returns its watch descriptor.
    ///
    /// Adding a path that is already watched returns the same descriptor; the kernel
    /// replaces the watch's mask, or adds to it when `mask` has
    /// [`WatchMask::MASK_ADD`].
    ///
    /// # Errors
    /// A [`PathError`] (inside the `io::Error`) that names the path, the system call and
    /// the errno, and says what to do: `ENOENT` for a missing path, `ENOSPC` at the watch
    /// limit (with the limit's value). A path with a NUL byte anywhere, even at its end,
    /// is refused before any call.
    pub fn add_watch<P: AsRef<Path>>(
        &mut self,
        path: P,
        mask: WatchMask,
    ) -> io::Result<WatchDescriptor> {
        let path = path.as_ref();
        let path_error = |source| PathError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(position) = path.as_os_str().as_bytes().iter().position(|&b| b == 0) {
            return Err(path_error(Error::PathContainsNul { position }).into());
        }
        let wd = self
            .reader
            .inotify()
            .add_watch(path, mask)
            .map_err(path_error)?;
        if let Some(orphaned) = self.table.insert(path, wd) {
            // The path named another object before; nothing names that watch now.
            self.rm_kernel_watch(orphaned, path)?;
        }
        Ok(wd)
    }

    /// Stops watching `path`. Returns false if it was not watched. Idempotent.
    ///
    /// The kernel's watch goes too, unless another path still names it; a watch the
    /// kernel already dropped (its object was deleted) is simply forgotten.
    pub fn remove_watch<P: AsRef<Path>>(&mut self, path: P) -> io::Result<bool> {
        let path = path.as_ref();
        match self.table.remove_path(path) {
            None => Ok(false),
            Some((wd, true)) => self.rm_kernel_watch(wd, path).map(|()| true),
            Some((_, false)) => Ok(true),
        }
    }

    /// Stops watching `wd` and forgets every path that named it. Returns false if it was
    /// not watched. Idempotent.
    pub fn remove_watch_with_id(&mut self, wd: WatchDescriptor) -> io::Result<bool> {
        match self.table.remove_wd(wd) {
            None => Ok(false),
            Some(path) => self.rm_kernel_watch(wd, &path).map(|()| true),
        }
    }

    /// Forgets `path` without asking the kernel to remove anything: the Python package's
    /// `remove_watch(path, superficial=True)`, for a watch the kernel has dropped.
    pub fn forget_watch<P: AsRef<Path>>(&mut self, path: P) -> bool {
        self.table.remove_path(path.as_ref()).is_some()
    }

    fn rm_kernel_watch(&mut self, wd: WatchDescriptor, path: &Path) -> io::Result<()> {
        match self.reader.inotify().rm_watch(wd) {
            Ok(()) => Ok(()),
            // The kernel already dropped it (IN_IGNORED is on its way): nothing to undo.
            Err(error) if error.errno() == Some(crate::Errno::EINVAL) => Ok(()),
            Err(source) => Err(PathError {
                path: path.to_path_buf(),
                source,
            }
            .into()),
        }
    }

    /// The descriptor `path` is watched as.
    pub fn wd_of<P: AsRef<Path>>(&self, path: P) -> Option<WatchDescriptor> {
        self.table.wd(path.as_ref())
    }

    /// The path events of `wd` are reported under.
    pub fn path_of(&self, wd: WatchDescriptor) -> Option<&Path> {
        self.table.path(wd)
    }

    /// Every watch: descriptor and path.
    pub fn watches(&self) -> impl Iterator<Item = (WatchDescriptor, &Path)> {
        self.table.iter()
    }

    /// The inotify instance underneath, for what this type does not offer (its
    /// descriptor, `Limits`). Reading from it, or making it blocking, takes events from
    /// the watcher or stalls it.
    pub fn inotify(&self) -> &Inotify {
        self.reader.inotify()
    }

    /// The event that made the last filter stop an iteration, if one did: the Python
    /// package's `last_success_return`.
    pub fn last_filter_stop(&self) -> Option<&FilterStop> {
        self.last_filter_stop.as_ref()
    }

    /// The events, as an iterator with the options of the Python package's `event_gen`:
    /// see [`WatchEvents`].
    pub fn events(&mut self) -> WatchEvents<'_> {
        WatchEvents::new(self)
    }

    /// The next event, borrowed from the watcher's buffers, or `None` at the end of a
    /// cycle (the Python package's `None`). Allocates nothing once its path buffer has
    /// grown to the longest path.
    ///
    /// Blocks for at most one block duration. Events of watches this watcher no longer
    /// tracks are skipped; a queue overflow is delivered with an empty watch path.
    ///
    /// # Errors
    /// [`WatchError::Io`] when reading fails or the kernel's buffer is malformed; `EBADF`
    /// when other code has closed the watcher's descriptor, for this call and every
    /// later one (the stream has ended: make a new watcher).
    pub fn next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        self.next_step(true)
    }

    /// The next event already queued, without blocking; `None` means nothing more now.
    /// For a loop driven by readiness (epoll, mio, tokio's `AsyncFd` on this watcher's
    /// descriptor): drain with this until `None`, then wait for readiness again.
    ///
    /// # Errors
    /// As for [`next_event`](Self::next_event).
    pub fn try_next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        self.next_step(false)
    }

    /// A barrier: returns once every event of a change that completed before the call
    /// has been read. Those events are then handed out by the following reads
    /// ([`next_event`](Self::next_event), [`try_next_event`](Self::try_next_event),
    /// [`events`](Self::events)), before any event of a change made after the call, and
    /// [`try_next_event`](Self::try_next_event) hands them out without waiting for the
    /// descriptor to be readable. No need to sleep and hope in a test or a build tool:
    /// make the changes, `sync`, then drain.
    ///
    /// It makes a file whose name starts with `.inotify-raw-sync-` in a directory of
    /// the watcher's own (made at the first call in the temporary directory, `TMPDIR`
    /// or `/tmp`, watched, and removed on drop), and reads until the kernel reports it:
    /// the kernel queues an instance's events in the order of the calls that caused
    /// them. Events about these files are never delivered, by any watcher of this
    /// process.
    ///
    /// A loop driven by readiness (epoll, tokio) must drain with `try_next_event` after
    /// a `sync`: the events it read ahead no longer make the descriptor readable.
    ///
    /// # Errors
    /// [`WatchError::Io`]: the marker directory or file could not be made (the message
    /// says where and why), the marker's event did not come within `timeout`
    /// ([`io::ErrorKind::TimedOut`]), or reading failed.
    ///
    /// # Examples
    /// ```
    /// use inotify_raw::{WatchMask, Watcher};
    /// use std::time::Duration;
    ///
    /// let dir = std::env::temp_dir().join(format!("sync-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let mut watcher = Watcher::new()?;
    /// watcher.add_watch(&dir, WatchMask::CREATE)?;
    /// std::fs::write(dir.join("made"), b"")?;
    /// watcher.sync(Duration::from_secs(10))?;
    /// let event = watcher.try_next_event()?.expect("read by sync");
    /// assert_eq!(event.name, Some(std::ffi::OsStr::new("made")));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sync(&mut self, timeout: Duration) -> Result<(), WatchError> {
        self.reader.sync_in_own_dir(timeout)
    }

    fn next_step(&mut self, block: bool) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        if let Some(wd) = self.ignored_pending.take() {
            self.table.remove_wd(wd);
        }
        let event = loop {
            match self.reader.next(block)? {
                Step::Event(event) if self.is_tracked(&event) => break event,
                Step::Event(_) => {}
                Step::BatchEnd | Step::TimedOut | Step::Empty => return Ok(None),
                Step::Synced => {}
            }
        };
        if event.mask.contains(EventMask::IGNORED) {
            self.ignored_pending = Some(event.wd);
        }
        let watch_path = self
            .table
            .path(event.wd)
            .map_or(&[][..], |path| path.as_os_str().as_bytes());
        self.path.clear();
        self.path.extend_from_slice(watch_path);
        let parts = push_name(&mut self.path, self.reader.name(&event));
        Ok(Some(event_ref(&event, &self.path, parts, Origin::Kernel)))
    }

    fn is_tracked(&self, event: &RawEvent) -> bool {
        event.wd == WatchDescriptor::OVERFLOW || self.table.path(event.wd).is_some()
    }
}

/// Where the directory and the name lie in an event's path.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PathParts {
    dir_len: usize,
    name_at: Option<usize>,
}

/// Appends `/` (unless the directory part is empty or ends in one) and `name` to `out`,
/// which holds a directory's path.
pub(crate) fn push_name(out: &mut Vec<u8>, name: Option<&[u8]>) -> PathParts {
    let dir_len = out.len();
    let name_at = name.map(|name| {
        if !out.is_empty() && !out.ends_with(b"/") {
            out.push(b'/');
        }
        let at = out.len();
        out.extend_from_slice(name);
        at
    });
    PathParts { dir_len, name_at }
}

/// A borrowed event whose directory and name lie in `path`.
pub(crate) fn event_ref<'a>(
    event: &RawEvent,
    path: &'a [u8],
    parts: PathParts,
    origin: Origin,
) -> WatchEventRef<'a> {
    let as_path = |bytes: &'a [u8]| Path::new(OsStr::from_bytes(bytes));
    WatchEventRef {
        wd: event.wd,
        mask: event.mask,
        cookie: event.cookie,
        len: event.len,
        watch_path: as_path(path.get(..parts.dir_len).unwrap_or(&[])),
        name: parts
            .name_at
            .map(|at| OsStr::from_bytes(path.get(at..).unwrap_or(&[]))),
        path: as_path(path),
        origin,
    }
}

impl EventSource for Watcher {
    fn next_owned_event(&mut self) -> Result<Option<WatchEvent>, WatchError> {
        Ok(self.next_event()?.map(|event| event.to_owned_event()))
    }

    fn set_last_filter_stop(&mut self, stop: Option<FilterStop>) {
        self.last_filter_stop = stop;
    }
}

impl fmt::Debug for Watcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watcher")
            .field("fd", &self.as_raw_fd())
            .field("watches", &self.table.len())
            .field("block_duration", &self.reader.block_duration())
            .field("block_duration_fn", &self.reader.has_block_duration_fn())
            .finish()
    }
}

impl AsRawFd for Watcher {
    fn as_raw_fd(&self) -> RawFd {
        self.reader.inotify().as_raw_fd()
    }
}

impl AsFd for Watcher {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.reader.inotify().as_fd()
    }
}
