//! Pure functions of bytes: the kernel's variable-length records (inotify events,
//! directory entries, fanotify events and their info records) parsed in place. No system call, no allocation, no panic, and no
//! read outside the slice given, whatever the bytes are; fuzzed and run under Miri.
//!
//! Safe code but for one `unsafe` block: the SSE2 compare that finds the end of a short
//! name on x86_64 (`event.rs`).

mod dirent;
mod event;
mod fanotify;
mod records;

pub use dirent::{
    Dirent, Dirents, FileKind, MalformedDirent, DIRENT_HEADER_LEN, MIN_DIRENT_BUFFER_LEN,
};
pub use event::{
    Event, EventBuffer, Events, MalformedEvent, WatchDescriptor, EVENT_HEADER_LEN,
    MIN_EVENT_BUFFER_LEN,
};
pub use fanotify::{
    FanotifyEvent, FanotifyEvents, FidRecord, FileHandle, InfoRecord, InfoRecords,
    MalformedFanotifyEvent, FANOTIFY_METADATA_LEN, MIN_FANOTIFY_BUFFER_LEN,
};
