//! The events of [`Watcher`](super::Watcher) and [`TreeWatcher`](super::TreeWatcher):
//! owned ([`WatchEvent`]) and borrowed ([`WatchEventRef`]); what can end their stream
//! ([`WatchError`]) and a root a tree cannot watch; and [`Errno::from_error`], which knows
//! every error type of the crate.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::vec::Vec;

use crate::dir::stat_path;
use crate::error::{write_path, Error, PathError};
use crate::mask::EventMask;
use crate::parse::{MalformedEvent, WatchDescriptor};
use crate::sys::Errno;

/// Where an event comes from: the kernel, or the tree's own work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// The kernel reported it.
    Kernel,
    /// A [`TreeWatcher`](crate::TreeWatcher) found it by listing a directory that is new
    /// to the tree (created, moved in, or appeared during a queue overflow): the entry was
    /// made before the directory's watch existed, so the kernel had no watch to report
    /// it on. Its mask is `IN_CREATE` (with `IN_ISDIR` for a directory).
    Scan,
    /// Not a change on disk: a [`TreeWatcher`](crate::TreeWatcher) could not watch or
    /// list this directory (`EACCES`: permission denied; `ELOOP`, ...), so it and what is
    /// below it are not watched. The rest of the tree is. Its mask is `IN_ISDIR`.
    Skipped(Errno),
    /// Not a change on disk: the inotify watch limit was hit
    /// (`fs.inotify.max_user_watches`), and this many directories of the tree are not
    /// watched. Sent once, when the tree was asked to go on at the limit. Its mask is
    /// empty and its path is the root.
    WatchLimit {
        /// How many directories are not watched.
        unwatched: u64,
    },
    /// Not a change on disk: the process had no descriptor free (`EMFILE`: its
    /// `RLIMIT_NOFILE`; or `ENFILE`: the system's `fs.file-max`) when a
    /// [`TreeWatcher`](crate::TreeWatcher) had to open a directory of the tree to list
    /// it, and it went on without, as it was asked to
    /// ([`keep_going_at_descriptor_limit`](crate::TreeBuilder::keep_going_at_descriptor_limit)).
    /// What those directories hold is not watched (a directory found in a listing and
    /// never opened is not watched itself either); what lies below them cannot be
    /// counted without a descriptor. One such event per root waits to be delivered at
    /// a time, and counts every directory that could not be opened until it is. Its mask
    /// is empty and its path is the root.
    DescriptorLimit {
        /// How many directories could not be opened.
        unlisted: u64,
    },
}

/// One event with the path of its watch, owning both: what [`WatchEvents`](crate::WatchEvents) yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEvent {
    /// The watch descriptor (-1 for a queue overflow).
    pub wd: WatchDescriptor,
    /// What happened.
    pub mask: EventMask,
    /// Pairs `MOVED_FROM` with `MOVED_TO`; 0 otherwise.
    pub cookie: u32,
    /// The kernel's `len`: the size of the name field with its padding.
    pub len: u32,
    /// The watched path, as it was given to [`Watcher::add_watch`](crate::Watcher::add_watch); empty for an event
    /// that belongs to no watch (a queue overflow).
    pub watch_path: PathBuf,
    /// The entry's name inside the watched directory; empty when the event is about the
    /// watched object itself. Any bytes: nothing assumes UTF-8.
    pub name: OsString,
    /// Whether the kernel reported it or the tree found it ([`Origin::Scan`]).
    pub origin: Origin,
}

impl WatchEvent {
    /// The kernel names of the mask's bits (`["IN_CREATE", "IN_ISDIR"]`), ascending.
    pub fn type_names(&self) -> Vec<&'static str> {
        self.mask.kernel_names().collect()
    }

    /// The full path of the subject: the watch path joined with the name.
    pub fn path(&self) -> PathBuf {
        if self.name.is_empty() {
            self.watch_path.clone()
        } else {
            self.watch_path.join(&self.name)
        }
    }

    /// Writes the Python package's README log line, without its timestamp prefix:
    /// `WD=(1) MASK=(256) COOKIE=(0) LEN=(16) MASK->NAMES=['IN_CREATE'] WATCH-PATH=[/tmp] FILENAME=[aa]`.
    /// Paths and names are written as their bytes.
    pub fn write_log_line<W: Write>(&self, mut out: W) -> io::Result<()> {
        write!(
            out,
            "WD=({}) MASK=({}) COOKIE=({}) LEN=({}) MASK->NAMES=[",
            self.wd.raw(),
            self.mask.bits(),
            self.cookie,
            self.len
        )?;
        for (i, name) in self.mask.kernel_names().enumerate() {
            write!(out, "{}'{}'", if i == 0 { "" } else { ", " }, name)?;
        }
        out.write_all(b"] WATCH-PATH=[")?;
        out.write_all(self.watch_path.as_os_str().as_bytes())?;
        out.write_all(b"] FILENAME=[")?;
        out.write_all(self.name.as_bytes())?;
        out.write_all(b"]")
    }
}

/// One event borrowed from the watcher: the allocation-free form, from
/// [`Watcher::next_event`](crate::Watcher::next_event) and
/// [`TreeWatcher::next_event`](crate::TreeWatcher::next_event). The paths and the name
/// are views into the watcher's buffers, valid until its next call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchEventRef<'a> {
    /// The watch descriptor (-1 for a queue overflow, and for a tree's notices that
    /// belong to no watch).
    pub wd: WatchDescriptor,
    /// What happened.
    pub mask: EventMask,
    /// Pairs `MOVED_FROM` with `MOVED_TO`; 0 otherwise.
    pub cookie: u32,
    /// The kernel's `len`: the size of the name field with its padding.
    pub len: u32,
    /// The watched directory (for a tree: the directory the event happened in); empty for
    /// a queue overflow.
    pub watch_path: &'a Path,
    /// The entry's name inside it; `None` when the event is about the watched object
    /// itself.
    pub name: Option<&'a OsStr>,
    /// The full path of the subject: `watch_path` joined with `name`.
    pub path: &'a Path,
    /// Whether the kernel reported it or the tree found it.
    pub origin: Origin,
}

impl WatchEventRef<'_> {
    /// Copies the event into a [`WatchEvent`].
    pub fn to_owned_event(&self) -> WatchEvent {
        WatchEvent {
            wd: self.wd,
            mask: self.mask,
            cookie: self.cookie,
            len: self.len,
            watch_path: self.watch_path.to_path_buf(),
            name: self.name.map(OsStr::to_os_string).unwrap_or_default(),
            origin: self.origin,
        }
    }
}

/// What can end a [`WatchEvents`](crate::WatchEvents) iteration with an error.
#[derive(Debug)]
pub enum WatchError {
    /// Reading or waiting failed.
    Io(io::Error),
    /// An event whose type is in the terminal set arrived (by default `IN_Q_OVERFLOW`
    /// or `IN_UNMOUNT`): the Python package's `TerminalEventException`.
    Terminal {
        /// The kernel name of the bit that is terminal, such as `IN_Q_OVERFLOW`.
        type_name: &'static str,
        /// The event.
        event: WatchEvent,
    },
    /// Every root of a [`TreeWatcher`](crate::TreeWatcher) is gone (deleted, moved away,
    /// unmounted or removed): no event can come any more. The iterator of
    /// [`events`](crate::TreeWatcher::events) just ends.
    Ended,
}

impl fmt::Display for WatchError {
    /// For [`WatchError::Io`], the `io::Error`'s message, which says what failed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WatchError::Io(error) => fmt::Display::fmt(error, f),
            WatchError::Ended => f.write_str(
                "every root of the tree is gone (deleted, moved away, unmounted or removed): \
                 add a root to watch again",
            ),
            WatchError::Terminal { type_name, event } => {
                write!(
                    f,
                    "terminal event {} on {:?} (wd {})",
                    type_name,
                    event.path(),
                    event.wd
                )?;
                if event.mask.contains(EventMask::Q_OVERFLOW) {
                    f.write_str(
                        ": the kernel's event queue overflowed and events were lost; rescan \
                         what you watch, and read sooner or raise fs.inotify.max_queued_events",
                    )?;
                } else if event.mask.contains(EventMask::UNMOUNT) {
                    f.write_str(": the file system was unmounted and its watches are gone")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for WatchError {
    /// For [`WatchError::Io`], the `io::Error`'s own source: its message is this
    /// error's already, so a report that walks the chain says it once.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WatchError::Io(error) => error.source(),
            WatchError::Terminal { .. } | WatchError::Ended => None,
        }
    }
}

impl From<io::Error> for WatchError {
    fn from(error: io::Error) -> WatchError {
        WatchError::Io(error)
    }
}

impl From<Error> for WatchError {
    fn from(error: Error) -> WatchError {
        WatchError::Io(error.into())
    }
}

impl From<MalformedEvent> for WatchError {
    fn from(error: MalformedEvent) -> WatchError {
        WatchError::Io(error.into())
    }
}

impl From<WatchError> for io::Error {
    fn from(error: WatchError) -> io::Error {
        match error {
            WatchError::Io(error) => error,
            other => io::Error::new(io::ErrorKind::Other, other),
        }
    }
}

/// A root a tree could not watch, inside the `io::Error` that
/// [`TreeWatcher::new`](crate::TreeWatcher::new) and
/// [`add_root`](crate::TreeWatcher::add_root) return, where the root is more than a
/// [`PathError`] can say.
#[derive(Debug)]
pub(crate) enum RootError {
    /// The root is not a directory.
    NotADirectory(PathBuf),
    /// The root is already watched, as part of the tree below another root (or as a
    /// root itself).
    InsideAnother(PathBuf),
    /// fanotify refused an [`FsWatcher`](crate::FsWatcher) its group, or the mark of
    /// `root`'s file system (`EPERM`: no `CAP_SYS_ADMIN`).
    FanotifyDenied { root: Option<PathBuf>, error: Error },
    /// Watching a directory below the root failed: `error` names that directory.
    Below {
        /// The root, as given.
        root: PathBuf,
        /// What failed below it.
        error: io::Error,
    },
}

impl RootError {
    /// The error of `root`, whose own watch failed with `error`. A root that is not a
    /// directory is said to be one: `ENOTDIR` came from the `IN_ONLYDIR` that the tree
    /// asked for, not the caller. A component of its path that is not a directory is
    /// told apart by `statx`.
    pub(crate) fn of_root(root: &Path, error: Error) -> io::Error {
        let source = if error.errno() == Some(Errno::ENOTDIR) {
            match stat_path(root.as_os_str().as_bytes(), true) {
                Ok(stat) if !stat.kind.is_dir() => {
                    return RootError::NotADirectory(root.to_path_buf()).into()
                }
                Ok(_) => error,
                Err(stat_error) => stat_error,
            }
        } else {
            error
        };
        PathError {
            path: root.to_path_buf(),
            source,
        }
        .into()
    }

    /// The error of `root`, when watching below it failed with `error`: named with the
    /// root, unless it names the root already.
    pub(crate) fn below(root: &Path, error: WatchError) -> io::Error {
        let error = io::Error::from(error);
        let names_root = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<PathError>())
            .map_or(false, |inner| inner.path == root);
        if names_root {
            return error;
        }
        RootError::Below {
            root: root.to_path_buf(),
            error,
        }
        .into()
    }

    /// The errno behind it.
    fn errno(&self) -> Option<Errno> {
        match self {
            RootError::NotADirectory(_) => Some(Errno::ENOTDIR),
            RootError::InsideAnother(_) => Some(Errno::EEXIST),
            RootError::FanotifyDenied { error, .. } => error.errno(),
            RootError::Below { error, .. } => Errno::from_error(error),
        }
    }
}

impl fmt::Display for RootError {
    /// `ROOT: Not a directory (ENOTDIR): ...`, or `watching the tree at ROOT: ERROR`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootError::NotADirectory(root) => {
                write_path(f, root.as_os_str().as_bytes())?;
                write!(
                    f,
                    ": {}: the root of a tree must be a directory, and this one is not (a \
                     file, or a link to one): give a directory, or watch a file with Watcher",
                    Errno::ENOTDIR
                )
            }
            RootError::InsideAnother(root) => {
                write_path(f, root.as_os_str().as_bytes())?;
                f.write_str(
                    ": already watched as part of the tree: a root cannot be inside another",
                )
            }
            RootError::FanotifyDenied { root, error } => {
                f.write_str("FsWatcher")?;
                if let Some(root) = root {
                    f.write_str(" of ")?;
                    write_path(f, root.as_os_str().as_bytes())?;
                }
                write!(
                    f,
                    ": {}; TreeWatcher takes the same builder, needs no privilege and gives \
                     the same events: on this error (io::ErrorKind::PermissionDenied), build a \
                     TreeWatcher instead",
                    error
                )
            }
            RootError::Below { root, error } => {
                f.write_str("watching the tree at ")?;
                write_path(f, root.as_os_str().as_bytes())?;
                write!(f, ": {}", error)
            }
        }
    }
}

/// No `source()`: the message shows the error below the root already.
impl std::error::Error for RootError {}

impl From<RootError> for io::Error {
    fn from(error: RootError) -> io::Error {
        let kind = match &error {
            RootError::NotADirectory(_) => Errno::ENOTDIR.kind(),
            RootError::InsideAnother(_) => io::ErrorKind::AlreadyExists,
            RootError::FanotifyDenied { .. } => io::ErrorKind::PermissionDenied,
            RootError::Below { error, .. } => error.kind(),
        };
        io::Error::new(kind, error)
    }
}

impl Errno {
    /// The errno behind any error this crate returns, however it was passed on: as
    /// itself, as an `io::Error` (`?` into `io::Result`), in a `Box<dyn Error>` or an
    /// `anyhow::Error`, or as the source of another error. `None` when no system call
    /// failed (an argument refused before any call, malformed bytes, a terminal event).
    ///
    /// It looks at the error and then down its [`source`](std::error::Error::source)
    /// chain, and takes the first errno it finds: a raw OS error of an `io::Error`, an
    /// [`Errno`], an [`Error`], a [`PathError`] or a [`WatchError`], or one of these
    /// inside an `io::Error`.
    ///
    /// ```
    /// use inotify_raw::{Errno, Inotify, WatchMask};
    ///
    /// fn watch(path: &str) -> std::io::Result<()> {
    ///     let inotify = Inotify::new()?;
    ///     inotify.add_watch(path, WatchMask::CREATE)?;
    ///     Ok(())
    /// }
    /// let error = watch("/no/such/directory").unwrap_err();
    /// assert_eq!(Errno::from_error(&error), Some(Errno::ENOENT));
    ///
    /// // The same from a boxed error (or an `anyhow::Error`: `Errno::from_error(&*error)`).
    /// let boxed: Box<dyn std::error::Error> = Inotify::new()?
    ///     .add_watch("/no/such/directory", WatchMask::CREATE)
    ///     .unwrap_err()
    ///     .into();
    /// assert_eq!(Errno::from_error(&*boxed), Some(Errno::ENOENT));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_error(error: &(dyn std::error::Error + 'static)) -> Option<Errno> {
        let mut next = Some(error);
        while let Some(error) = next {
            if let Some(found) = errno_of(error) {
                return found;
            }
            next = error.source();
        }
        None
    }
}

/// What [`Errno::from_error`] knows of `error` itself: `Some(found)` when it is one of
/// the types that settle the question (`found` is then the answer), `None` to look at
/// its source.
fn errno_of(error: &(dyn std::error::Error + 'static)) -> Option<Option<Errno>> {
    if let Some(io) = error.downcast_ref::<io::Error>() {
        if let Some(number) = io.raw_os_error() {
            return Some(Some(Errno::from_raw(number)));
        }
        // An `io::Error` made from another error: its `source` skips that error and
        // goes to the error's own source, so look at the error here.
        return io.get_ref().map(|inner| Errno::from_error(inner));
    }
    if let Some(errno) = error.downcast_ref::<Errno>() {
        return Some(Some(*errno));
    }
    if let Some(error) = error.downcast_ref::<Error>() {
        return Some(error.errno());
    }
    if let Some(error) = error.downcast_ref::<PathError>() {
        return Some(error.source.errno());
    }
    if let Some(error) = error.downcast_ref::<RootError>() {
        return Some(error.errno());
    }
    error.downcast_ref::<WatchError>().map(|error| match error {
        WatchError::Io(error) => Errno::from_error(error),
        WatchError::Terminal { .. } | WatchError::Ended => None,
    })
}

/// The event that made a filter stop the iteration: the Python package's
/// `last_success_return`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterStop {
    /// The type name the filter was asked about.
    pub type_name: &'static str,
    /// The event.
    pub event: WatchEvent,
}
