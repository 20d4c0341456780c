//! [`Watcher`]: the Python package's `inotify.adapters.Inotify` in Rust: watched paths,
//! a block duration, and the `event_gen` iterator, with its faults fixed.

use std::boxed::Box;
use std::fmt;
use std::io;
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::time::Duration;

use super::event::{FilterStop, WatchError, WatchEvent, WatchEventRef};
use super::iter::{EventSource, WatchEvents};
use super::table::WatchTable;
use crate::error::PathError;
use crate::inotify::Inotify;
use crate::mask::{EventMask, WatchMask};
use crate::parse::{Event, EventBuffer, Events, MalformedEvent, WatchDescriptor};
use crate::wait::{EventWaiter, Wait, DEFAULT_BLOCK_DURATION};

/// Bytes read per `read(2)`: room for about 2,000 events with short names.
pub(crate) const WATCHER_BUFFER_LEN: usize = 64 * 1024;

/// A function asked before each blocking wait how long it may block.
type BlockDurationFn = Box<dyn FnMut() -> Option<Duration> + Send>;

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
    waiter: EventWaiter,
    table: WatchTable,
    /// Set by `set_block_duration_fn`; a fixed duration lives in the waiter.
    block_duration_fn: Option<BlockDurationFn>,
    buffer: Box<EventBuffer<WATCHER_BUFFER_LEN>>,
    batch_len: usize,
    batch_pos: usize,
    /// An `IN_IGNORED` event was handed out for this watch; it leaves the table at the
    /// next step, so the event itself could still carry its path.
    ignored_pending: Option<WatchDescriptor>,
    last_filter_stop: Option<FilterStop>,
}

/// Where the next event is in the buffer, or the end of a cycle.
enum Step {
    Event { start: usize, end: usize },
    CycleEnd,
}

impl Watcher {
    /// A watcher with no watches and the default block duration of one second.
    pub fn new() -> io::Result<Watcher> {
        let waiter = EventWaiter::new(Inotify::new()?, Some(DEFAULT_BLOCK_DURATION))?;
        Ok(Watcher {
            waiter,
            table: WatchTable::new(),
            block_duration_fn: None,
            buffer: Box::new(EventBuffer::new()),
            batch_len: 0,
            batch_pos: 0,
            ignored_pending: None,
            last_filter_stop: None,
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
        self.block_duration_fn = None;
        self.waiter.set_block_duration(duration);
    }

    /// Asks `duration` before every wait that may block how long it may block: once per
    /// cycle, like the Python package's callable `block_duration_s`.
    pub fn set_block_duration_fn<F>(&mut self, duration: F)
    where
        F: FnMut() -> Option<Duration> + Send + 'static,
    {
        self.block_duration_fn = Some(Box::new(duration));
    }

    /// Watches `path` for the events in `mask` and returns its watch descriptor.
    ///
    /// Adding a path that is already watched returns the same descriptor; the kernel
    /// replaces the watch's mask, or adds to it when `mask` has
    /// [`WatchMask::MASK_ADD`]. An error names the path, the system call and the errno.
    pub fn add_watch<P: AsRef<Path>>(
        &mut self,
        path: P,
        mask: WatchMask,
    ) -> io::Result<WatchDescriptor> {
        let path = path.as_ref();
        let wd = self
            .waiter
            .inotify()
            .add_watch(path, mask)
            .map_err(|source| PathError {
                path: path.to_path_buf(),
                source,
            })?;
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
        match self.waiter.inotify().rm_watch(wd) {
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

    /// The path-to-descriptor table, for the recursive tree that builds on this type.
    pub(crate) fn table_mut(&mut self) -> &mut WatchTable {
        &mut self.table
    }

    /// The inotify instance underneath, for what this type does not offer (its
    /// descriptor, `Limits`). Reading from it, or making it blocking, takes events from
    /// the watcher or stalls it.
    pub fn inotify(&self) -> &Inotify {
        self.waiter.inotify()
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

    /// The next event, borrowed from the watcher's buffer, or `None` at the end of a
    /// cycle (the Python package's `None`). Allocates nothing.
    ///
    /// Blocks for at most one block duration. Events of watches this watcher no longer
    /// tracks are skipped; a queue overflow is delivered with no watch path.
    pub fn next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        match self.step()? {
            Step::CycleEnd => Ok(None),
            Step::Event { start, end } => {
                let bytes = self.buffer.as_bytes().get(start..end).unwrap_or(&[]);
                let event = first_event(bytes)?;
                Ok(Some(WatchEventRef {
                    event,
                    watch_path: self.table.path(event.wd()),
                }))
            }
        }
    }

    /// Moves to the next event to hand out. When a batch (one read) is used up, that is
    /// the end of a cycle, as in the Python package, whose cycle is one poll and one read;
    /// then it waits for the next batch, at most one block duration.
    fn step(&mut self) -> Result<Step, WatchError> {
        if let Some(wd) = self.ignored_pending.take() {
            self.table.remove_wd(wd);
        }
        loop {
            if self.batch_pos < self.batch_len {
                let bytes = self
                    .buffer
                    .as_bytes()
                    .get(self.batch_pos..self.batch_len)
                    .unwrap_or(&[]);
                let (event, span) = match first_event(bytes) {
                    Ok(event) => (event, event.span_len()),
                    Err(error) => {
                        self.batch_pos = self.batch_len;
                        return Err(error.into());
                    }
                };
                let start = self.batch_pos;
                self.batch_pos += span;
                let wd = event.wd();
                if wd != WatchDescriptor::OVERFLOW && self.table.path(wd).is_none() {
                    continue;
                }
                if event.mask().contains(EventMask::IGNORED) {
                    self.ignored_pending = Some(wd);
                }
                return Ok(Step::Event {
                    start,
                    end: start + span,
                });
            }
            if self.batch_len > 0 {
                self.batch_len = 0;
                self.batch_pos = 0;
                return Ok(Step::CycleEnd);
            }
            if !self.waiter.is_draining() {
                if let Some(duration) = self.block_duration_fn.as_mut() {
                    self.waiter.set_block_duration(duration());
                }
            }
            match self.waiter.wait(&mut self.buffer)? {
                Wait::Events(events) => {
                    self.batch_len = events.remainder().len();
                    self.batch_pos = 0;
                }
                // The queue is empty: wait for more, up to a block duration.
                Wait::Drained => {}
                Wait::TimedOut | Wait::Interrupted => return Ok(Step::CycleEnd),
            }
        }
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
            .field("block_duration", &self.waiter.block_duration())
            .field("block_duration_fn", &self.block_duration_fn.is_some())
            .finish()
    }
}

impl AsRawFd for Watcher {
    fn as_raw_fd(&self) -> RawFd {
        self.waiter.inotify().as_raw_fd()
    }
}

impl AsFd for Watcher {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.waiter.inotify().as_fd()
    }
}

/// The event at the start of `bytes` (which hold at least one byte).
fn first_event(bytes: &[u8]) -> Result<Event<'_>, MalformedEvent> {
    Events::new(bytes)
        .next()
        .unwrap_or(Err(MalformedEvent::TruncatedHeader {
            offset: 0,
            available: 0,
        }))
}
