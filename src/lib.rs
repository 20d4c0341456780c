//! Linux inotify and epoll with the crate's own system calls: no libc, a `no_std` and
//! allocation-free core, and a zero-copy parser for the kernel's event buffer.
//!
//! ```no_run
//! use inotify_raw::{EventBuffer, Inotify, WatchMask};
//!
//! let inotify = Inotify::new()?;
//! inotify.add_watch("/tmp", WatchMask::CREATE | WatchMask::DELETE)?;
//! let mut buffer = EventBuffer::<4096>::new();
//! loop {
//!     for event in inotify.read(&mut buffer)? {
//!         let event = event?;
//!         println!("{} {:?}", event.mask(), event.name_os());
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Layers, bottom to top: [`sys`] (the system calls), [`Errno`], [`OwnedDescriptor`],
//! the masks, the [`Events`] parser, [`Inotify`], [`Epoll`], [`EventWaiter`], and the
//! [`dir`] reader; with `std`, [`Watcher`] and [`TreeWatcher`].
//!
//! Features: `std` (default) adds `std` conversions (`io::Error`, `OwnedFd`, `Path`,
//! `OsStr`); `alloc` adds owned values; `sc` issues system calls through the `sc` crate
//! instead of this crate's own assembly.

#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod clock;
pub mod dir;
pub mod epoll;
pub mod errno;
pub mod error;
pub mod event;
#[allow(unsafe_code)]
pub mod fd;
pub mod inotify;
pub mod mask;
pub mod path;
pub mod records;
#[allow(unsafe_code)]
pub mod sys;
#[cfg(feature = "std")]
pub mod tree;
pub mod wait;
#[cfg(feature = "std")]
pub mod watch_events;
#[cfg(feature = "std")]
pub mod watcher;
#[cfg(feature = "std")]
pub mod watches;

pub use clock::MonotonicTime;
pub use dir::{
    file_type_of, Directory, Dirent, Dirents, FileType, MalformedDirent, DIRENT_HEADER_LEN,
    MIN_DIRENT_BUFFER_LEN,
};
pub use epoll::{Epoll, EpollEvent, OnInterrupt, Readiness};
pub use errno::Errno;
#[cfg(feature = "std")]
pub use error::PathError;
pub use error::{Call, Error};
pub use event::{
    Event, EventBuffer, Events, MalformedEvent, WatchDescriptor, EVENT_HEADER_LEN,
    MIN_EVENT_BUFFER_LEN, NAME_MAX,
};
pub use fd::OwnedDescriptor;
pub use inotify::{InitFlags, Inotify, Limits};
pub use mask::{EventMask, InotifywaitEvents, MaskNames, NameStyle, WatchMask};
pub use path::{PathBytes, PATH_MAX};
pub use records::{Record, Records};
#[cfg(feature = "std")]
pub use tree::TreeWatcher;
pub use wait::{EventWaiter, Wait, DEFAULT_BLOCK_DURATION};
#[cfg(feature = "std")]
pub use watch_events::{EventSource, WatchEvents};
#[cfg(feature = "std")]
pub use watcher::{FilterStop, TerminalEvent, WatchError, WatchEvent, WatchEventRef, Watcher};
#[cfg(feature = "std")]
pub use watches::WatchTable;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
