//! The events of [`Watcher`](super::Watcher) and [`TreeWatcher`](super::TreeWatcher):
//! owned ([`WatchEvent`]) and borrowed ([`WatchEventRef`]), and what can end their stream.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::vec::Vec;

use crate::mask::EventMask;
use crate::parse::{Event, MalformedEvent, WatchDescriptor};

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

/// One event borrowed from the watcher's buffer, with the path of its watch: the
/// allocation-free form, from [`Watcher::next_event`](crate::Watcher::next_event).
#[derive(Clone, Copy, Debug)]
pub struct WatchEventRef<'a> {
    /// The event, a view into the watcher's buffer.
    pub event: Event<'a>,
    /// The watched path; `None` for an event that belongs to no watch (a queue overflow).
    pub watch_path: Option<&'a Path>,
}

impl WatchEventRef<'_> {
    /// Copies the event into a [`WatchEvent`].
    pub fn to_owned_event(&self) -> WatchEvent {
        WatchEvent {
            wd: self.event.wd(),
            mask: self.event.mask(),
            cookie: self.event.cookie(),
            len: self.event.len(),
            watch_path: self.watch_path.map(Path::to_path_buf).unwrap_or_default(),
            name: self
                .event
                .name_os()
                .map(|name| name.to_os_string())
                .unwrap_or_default(),
        }
    }
}

/// An event whose type is in the terminal set: the Python package's
/// `TerminalEventException`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalEvent {
    /// The kernel name of the bit that is terminal, such as `IN_Q_OVERFLOW`.
    pub type_name: &'static str,
    /// The event.
    pub event: WatchEvent,
}

/// What can end a [`WatchEvents`](crate::WatchEvents) iteration with an error.
#[derive(Debug)]
pub enum WatchError {
    /// Reading or waiting failed.
    Io(io::Error),
    /// A terminal event arrived (by default `IN_Q_OVERFLOW` or `IN_UNMOUNT`).
    Terminal(TerminalEvent),
}

impl fmt::Display for WatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WatchError::Io(error) => fmt::Display::fmt(error, f),
            WatchError::Terminal(terminal) => {
                write!(
                    f,
                    "terminal event {} on {:?} (wd {})",
                    terminal.type_name,
                    terminal.event.path(),
                    terminal.event.wd
                )?;
                if terminal.event.mask.contains(EventMask::Q_OVERFLOW) {
                    f.write_str(
                        ": the kernel's event queue overflowed and events were lost; rescan \
                         what you watch, and read sooner or raise fs.inotify.max_queued_events",
                    )?;
                } else if terminal.event.mask.contains(EventMask::UNMOUNT) {
                    f.write_str(": the file system was unmounted and its watches are gone")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for WatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WatchError::Io(error) => Some(error),
            WatchError::Terminal(_) => None,
        }
    }
}

impl From<io::Error> for WatchError {
    fn from(error: io::Error) -> WatchError {
        WatchError::Io(error)
    }
}

impl From<crate::Error> for WatchError {
    fn from(error: crate::Error) -> WatchError {
        WatchError::Io(error.into())
    }
}

impl From<MalformedEvent> for WatchError {
    fn from(error: MalformedEvent) -> WatchError {
        WatchError::Io(io::Error::new(io::ErrorKind::InvalidData, error))
    }
}

impl From<WatchError> for io::Error {
    fn from(error: WatchError) -> io::Error {
        match error {
            WatchError::Io(error) => error,
            terminal @ WatchError::Terminal(_) => io::Error::new(io::ErrorKind::Other, terminal),
        }
    }
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
