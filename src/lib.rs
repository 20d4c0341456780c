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
//! Without `std` (`default-features = false`), the same loop needs no allocator, and one
//! error type serves the reads and the parsing:
//!
//! ```
//! // In a `#![no_std]` crate, with `inotify-raw = { version = "0.1", default-features = false }`.
//! use inotify_raw::{Error, EventBuffer, EventMask, Inotify, WatchMask};
//!
//! /// Blocks until `count` files have been written and closed in `dir`.
//! fn wait_for_writes(dir: &[u8], count: usize) -> Result<(), Error> {
//!     let inotify = Inotify::new()?;
//!     inotify.add_watch(dir, WatchMask::CLOSE_WRITE | WatchMask::ONLYDIR)?;
//!     let mut buffer = EventBuffer::<4096>::new();
//!     let mut seen = 0;
//!     while seen < count {
//!         for event in inotify.read(&mut buffer)? {
//!             if event?.mask().contains(EventMask::CLOSE_WRITE) {
//!                 seen += 1;
//!             }
//!         }
//!     }
//!     Ok(())
//! }
//! # use std::os::unix::ffi::OsStrExt;
//! # let dir = std::env::temp_dir().join(format!("inotify-raw-nostd-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
//! # let writer = {
//! #     let (dir, done) = (dir.clone(), done.clone());
//! #     std::thread::spawn(move || {
//! #         while !done.load(std::sync::atomic::Ordering::Relaxed) {
//! #             std::fs::write(dir.join("file"), b"x").unwrap();
//! #             std::thread::sleep(std::time::Duration::from_millis(5));
//! #         }
//! #     })
//! # };
//! wait_for_writes(dir.as_os_str().as_bytes(), 3)?;
//! # done.store(true, std::sync::atomic::Ordering::Relaxed);
//! # writer.join().unwrap();
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), Error>(())
//! ```
//!
//! Which type to reach for:
//! - a raw read loop, `no_std`, no allocation: [`Inotify`] and an [`EventBuffer`], read
//!   into [`Events`];
//! - a blocking loop with a timeout: [`EventWaiter`] (on [`Epoll`]);
//! - waiting for a path to exist, as an initramfs waits for its root device:
//!   [`PathWaiter`], `no_std` and allocation-free;
//! - the Python package's watcher, paths and `event_gen` (`std`): `Watcher`;
//! - whole directory trees kept right (`std`): `TreeWatcher`;
//! - async (tokio's `AsyncFd`, mio): every type with a descriptor implements `AsFd`
//!   (`std`) or [`AsDescriptor`]; a non-blocking [`Inotify`] is read until `EAGAIN`, a
//!   `TreeWatcher` drained with `try_next_event`. The repository's `examples/tokio/`
//!   and `examples/mio/` are whole programs;
//! - a program with no libc: [`raw`] has `write` and `exit_group`.
//!
//! Errors: every call returns an [`Error`] that names the system call, the errno and
//! what to do, and [`Error::errno`] gives the errno back. With `std`, every error type
//! of the crate implements `std::error::Error + Send + Sync + 'static`, so `?` takes it
//! (the parsers' [`MalformedEvent`] and [`MalformedDirent`] too) into `io::Error`,
//! `Box<dyn Error>` or `anyhow::Error`; `Errno::from_error` finds the errno in any of
//! them:
//!
//! ```
//! use inotify_raw::{Errno, EventBuffer, Inotify, WatchMask};
//!
//! /// The names of what is created in `dir` while `make` runs.
//! fn created(
//!     dir: &str,
//!     make: impl FnOnce() -> std::io::Result<()>,
//! ) -> std::io::Result<Vec<Vec<u8>>> {
//!     let inotify = Inotify::new()?;
//!     inotify.add_watch(dir, WatchMask::CREATE)?;
//!     make()?;
//!     let mut buffer = EventBuffer::<4096>::new();
//!     let mut names = Vec::new();
//!     for event in inotify.read(&mut buffer)? {
//!         names.extend(event?.name().map(<[u8]>::to_vec));
//!     }
//!     Ok(names)
//! }
//!
//! let dir = std::env::temp_dir().join(format!("inotify-raw-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let names = created(dir.to_str().unwrap(), || {
//!     std::fs::File::create(dir.join("new")).map(drop)
//! })?;
//! assert_eq!(names, [b"new"]);
//! std::fs::remove_dir_all(&dir)?;
//!
//! let error = created("/no/such/directory", || Ok(())).unwrap_err();
//! assert_eq!(Errno::from_error(&error), Some(Errno::ENOENT));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Without `std`, [`Error`], [`Errno`] and the parse errors implement
//! `core::fmt::Display` and `Debug` but no error trait: `core::error::Error` is stable
//! only since Rust 1.81, and this crate builds with 1.63.
//!
//! Six error types, each for one kind of failure:
//! - [`Errno`]: the kernel's number, with its name and message, and no libc;
//! - [`Error`]: a call of the core that failed (which call, the errno, the limit that
//!   applied), an argument refused before any call, or, after `?`, what a parser
//!   refused; `no_std`, no allocation, so a `no_std` loop returns `Result<_, Error>`;
//! - `PathError` (`std`): an [`Error`] and the path it was about;
//! - [`MalformedEvent`], [`MalformedDirent`]: bytes given to a parser that are not whole
//!   inotify events or directory entries, with the offset (the parsers are pure
//!   functions of bytes, below [`Error`], so they have no errno); `?` turns them into an
//!   [`Error`] or an `io::Error`;
//! - `WatchError` (`std`): what ends a watcher's stream: an I/O error, an event of the
//!   terminal set (the Python package's `TerminalEventException`), or a tree with no
//!   root left.
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

// The core. Its layers, bottom to top (a module names only those before it): `sys`;
// `mask`; `parse` (pure functions of bytes); `error`; `clock`, `path`, `fd`; `inotify`,
// `fanotify`; `dir`, `epoll`, `raw`; `wait`; `wait_path` (`tests/layers.rs` checks it).
mod clock;
mod dir;
mod epoll;
mod error;
mod fanotify;
#[allow(unsafe_code)]
mod fd;
mod inotify;
mod mask;
mod parse;
mod path;
pub mod raw;
#[allow(unsafe_code)]
mod sys;
mod wait;
mod wait_path;
// The std layer.
#[cfg(feature = "std")]
mod adapter;

#[cfg(feature = "std")]
pub use adapter::{
    FilterStop, FsBuilder, FsWatcher, Origin, TreeBuilder, TreeWatcher, WatchError, WatchEvent,
    WatchEventRef, WatchEvents, Watcher,
};
pub use dir::{file_kind, Directory};
pub use epoll::{Epoll, EpollEvent, OnInterrupt, Readiness};
#[cfg(feature = "std")]
pub use error::PathError;
pub use error::{Call, Error, Limit};
pub use fanotify::{name_to_handle_at, open_by_handle_at, Fanotify, OwnedFileHandle};
pub use fd::{AsDescriptor, BorrowedDescriptor, OwnedDescriptor};
pub use inotify::{InitFlags, Inotify, Limits};
pub use mask::{
    EventMask, FanotifyInitFlags, FanotifyMarkFlags, FanotifyMask, InotifywaitEvents, MaskNames,
    NameStyle, WatchMask,
};
pub use parse::{
    Dirent, Dirents, Event, EventBuffer, Events, FanotifyEvent, FanotifyEvents, FidRecord,
    FileHandle, FileKind, InfoRecord, InfoRecords, MalformedDirent, MalformedEvent,
    MalformedFanotifyEvent, WatchDescriptor, DIRENT_HEADER_LEN, EVENT_HEADER_LEN,
    FANOTIFY_METADATA_LEN, MIN_DIRENT_BUFFER_LEN, MIN_EVENT_BUFFER_LEN, MIN_FANOTIFY_BUFFER_LEN,
};
pub use path::PathBytes;
pub use sys::{Errno, NAME_MAX, PATH_MAX};
pub use wait::{EventSource, EventWaiter, Wait, DEFAULT_BLOCK_DURATION};
pub use wait_path::{wait_for_path, PathWait, PathWaiter, Presence};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
