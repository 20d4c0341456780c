//! [`Reader`]: the read loop that [`Watcher`](super::Watcher) and
//! [`TreeWatcher`](super::TreeWatcher) share: one large read at a time, each event parsed
//! once, and the Python package's cycles (an end after each read, or after a block
//! duration with no event).

use std::boxed::Box;
use std::io;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::barrier::{MarkerDir, MarkerNames, MarkerPlace};
use super::event::WatchError;
use super::mapped::zeroed_bytes;
use crate::error::PathError;
use crate::inotify::Inotify;
use crate::mask::{EventMask, WatchMask};
use crate::parse::{Events, WatchDescriptor, EVENT_HEADER_LEN};
use crate::wait::{EventWaiter, Wait, DEFAULT_BLOCK_DURATION};

/// Bytes read per `read(2)`: room for about 2,000 events with short names.
pub(crate) const READ_LEN: usize = 64 * 1024;

/// A function asked before each blocking wait how long it may block.
///
/// Only `Send` is asked of it. The reader keeps it in a [`Mutex`] so that the reader,
/// and the watchers that own one, are `Sync` whatever the function captures: it is
/// called only through `&mut self` ([`Mutex::get_mut`], which never locks), so a shared
/// `&Reader` can never reach it.
type BlockDurationFn = Box<dyn FnMut() -> Option<Duration> + Send>;

/// One kernel event, parsed: its fields, and where its name lies in the read buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawEvent {
    pub(crate) wd: WatchDescriptor,
    pub(crate) mask: EventMask,
    pub(crate) cookie: u32,
    pub(crate) len: u32,
    /// The name's start and end in the buffer; equal when there is no name.
    name_start: usize,
    name_end: usize,
}

impl RawEvent {
    /// An event the tree makes (or replays) itself, with its name elsewhere.
    pub(crate) fn made(
        wd: WatchDescriptor,
        mask: EventMask,
        cookie: u32,
        name_len: usize,
    ) -> RawEvent {
        let len = if name_len == 0 {
            0
        } else {
            // The kernel's name field: the name and a NUL, padded to 16 bytes.
            ((name_len + 1 + 15) / 16 * 16) as u32
        };
        RawEvent {
            wd,
            mask,
            cookie,
            len,
            name_start: 0,
            name_end: 0,
        }
    }
}

/// What [`Reader::next`] found.
pub(crate) enum Step {
    Event(RawEvent),
    /// The end of a cycle: a batch is used up.
    BatchEnd,
    /// The end of a cycle: a block duration passed with no event (or a signal came).
    TimedOut,
    /// Only when not blocking: nothing is queued now.
    Empty,
    /// Every event queued before the last `sync` marker has been handed out.
    Synced,
}

/// What is queued now ([`Reader::queued`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Queued {
    /// Where the kernel's stream of events ends.
    pub(crate) end: u64,
    /// How many events, at most, are still to be handed out.
    pub(crate) events_at_most: u64,
}

/// Events that take an entry away from its directory.
const LEAVING: EventMask = EventMask::MOVED_FROM.union(EventMask::DELETE);

/// How many bytes of the backlog [`Reader::name_leaves_later`] looks through, at most.
const LOOK_AHEAD: usize = 16 * 1024;

/// Where the last event of `batch` that takes an entry away ends; 0 when none does.
fn last_leaving_end(batch: &[u8]) -> usize {
    let mut at = 0;
    let mut end = 0;
    for event in Events::new(batch).map_while(Result::ok) {
        at += event.span_len();
        if event.mask().intersects(LEAVING) {
            end = at;
        }
    }
    end
}

/// A queue of at most this many events is cheap to ask about.
const CHEAP_QUEUE: u64 = 256;

/// A longer queue is asked about once per this many events it held, at most: each call
/// costs a walk over this many events, amortized.
const EVENTS_PER_ASK: u64 = 16;

/// The kernel's default `max_queued_events`.
const DEFAULT_MAX_QUEUED_EVENTS: usize = 16_384;

pub(crate) struct Reader {
    waiter: EventWaiter,
    /// Set by `set_block_duration_fn`; a fixed duration lives in the waiter.
    block_duration_fn: Option<Mutex<BlockDurationFn>>,
    /// [`READ_LEN`] bytes: only the pages reads have written are resident.
    buffer: Vec<u8>,
    batch_len: usize,
    batch_pos: usize,
    /// Events read ahead by [`sync`](Reader::sync), in the kernel's order, handed out
    /// before anything read later; from `backlog_pos` on.
    backlog: Vec<u8>,
    backlog_pos: usize,
    /// Where in `backlog` the last sync's marker was: [`Step::Synced`] is said there.
    barrier_at: Option<usize>,
    markers: MarkerNames,
    /// A directory of the reader's own for markers, for a watcher with no other place
    /// for them, and its watch; made at the first [`sync_in_own_dir`](Reader::sync_in_own_dir).
    own_dir: Option<(MarkerDir, WatchDescriptor)>,
    /// The `EBADF` that ended the stream: other code closed the descriptor. Every later
    /// call returns it again, and the number (which may name another file by now) is
    /// not touched.
    closed: Option<crate::Error>,
    /// Every byte `read(2)` has returned so far: where the kernel's stream of events
    /// stands, as far as it has been read.
    stream_read: u64,
    /// Where the current batch came from.
    batch_from: BatchFrom,
    /// `stream_read` when the backlog last grew: no event in it ends later.
    backlog_read_by: u64,
    /// Where the last `IN_MOVED_FROM` or `IN_DELETE` of the batch ends (0: none), once
    /// [`name_leaves_later`](Reader::name_leaves_later) has looked.
    leaving_end: Option<usize>,
    /// What [`queued_cheaply`](Reader::queued_cheaply) last had the kernel say, and how
    /// many calls since did not ask it.
    last_queued: Option<Queued>,
    asks_skipped: u64,
}

impl Reader {
    pub(crate) fn new() -> Result<Reader, crate::Error> {
        Ok(Reader {
            waiter: EventWaiter::new(Inotify::new()?, Some(DEFAULT_BLOCK_DURATION))?,
            block_duration_fn: None,
            buffer: zeroed_bytes(READ_LEN),
            batch_len: 0,
            batch_pos: 0,
            backlog: Vec::new(),
            backlog_pos: 0,
            barrier_at: None,
            markers: MarkerNames::new(),
            own_dir: None,
            closed: None,
            stream_read: 0,
            batch_from: BatchFrom::Nowhere,
            backlog_read_by: 0,
            leaving_end: None,
            last_queued: None,
            asks_skipped: 0,
        })
    }

    /// Whether `wd` is the watch of the reader's own marker directory.
    pub(crate) fn is_own_dir_watch(&self, wd: WatchDescriptor) -> bool {
        self.own_dir.as_ref().map_or(false, |(_, own)| *own == wd)
    }

    pub(crate) fn inotify(&self) -> &Inotify {
        self.waiter.inotify()
    }

    pub(crate) fn block_duration(&self) -> Option<Duration> {
        self.waiter.block_duration()
    }

    pub(crate) fn has_block_duration_fn(&self) -> bool {
        self.block_duration_fn.is_some()
    }

    pub(crate) fn set_block_duration(&mut self, duration: Option<Duration>) {
        self.block_duration_fn = None;
        self.waiter.set_block_duration(duration);
    }

    pub(crate) fn set_block_duration_fn(&mut self, duration: BlockDurationFn) {
        self.block_duration_fn = Some(Mutex::new(duration));
    }

    /// What is queued now: where the kernel's stream of events ends (every event queued
    /// so far ends there or before), and how many events, at most, are still to be
    /// handed out (the ones read and not yet handed out, and the ones the kernel holds).
    /// Every event takes at least 16 bytes. When the kernel cannot say what it holds,
    /// the end is that of what was read, and its default limit (16,384 events) stands
    /// for the count.
    pub(crate) fn queued(&self) -> Queued {
        let read = self.unread_bytes();
        let held = self.waiter.inotify().queued_bytes().ok();
        let queued = held.unwrap_or(DEFAULT_MAX_QUEUED_EVENTS * EVENT_HEADER_LEN);
        Queued {
            end: self.stream_read + held.unwrap_or(0) as u64,
            events_at_most: ((read + queued) / EVENT_HEADER_LEN) as u64,
        }
    }

    /// How many bytes of events were read and not yet handed out (in the batch and the
    /// backlog).
    fn unread_bytes(&self) -> usize {
        self.batch_len.saturating_sub(self.batch_pos)
            + self.backlog.len().saturating_sub(self.backlog_pos)
    }

    /// What is queued, as [`queued`](Reader::queued) says, but asking the kernel (whose
    /// `FIONREAD` walks its whole queue) only while the queue it last saw was short, or
    /// once every so many calls in proportion to its length, so that calls made while a
    /// long queue waits cost O(1) each, amortized. Between asks, `end` is where the
    /// stream ended at the last ask (a place every event queued by then ends at or
    /// before, so still a bound for what was queued before now), and `events_at_most`
    /// adds the kernel's default limit to what was read and not handed out.
    pub(crate) fn queued_cheaply(&mut self) -> Queued {
        if let Some(last) = self.last_queued {
            let long = last.events_at_most > CHEAP_QUEUE;
            if long && self.asks_skipped.saturating_mul(EVENTS_PER_ASK) < last.events_at_most {
                self.asks_skipped += 1;
                let read = self.unread_bytes();
                let at_most = (read / EVENT_HEADER_LEN + DEFAULT_MAX_QUEUED_EVENTS) as u64;
                return Queued {
                    end: last.end,
                    events_at_most: at_most,
                };
            }
        }
        let queued = self.queued();
        self.last_queued = Some(queued);
        self.asks_skipped = 0;
        queued
    }

    /// Where in the kernel's stream of events the last event handed out ends, or a
    /// place after it: every byte of it was queued by then.
    pub(crate) fn last_event_end(&self) -> u64 {
        match self.batch_from {
            BatchFrom::Read(at) => at + self.batch_pos as u64,
            BatchFrom::Backlog => self.backlog_read_by,
            BatchFrom::Nowhere => self.stream_read,
        }
    }

    /// The name of the event read next, if it is in the same batch and is the
    /// `IN_MOVED_TO` with `cookie` on the watch `wd`: the other half of a rename within
    /// one directory.
    pub(crate) fn next_moved_to(&self, wd: WatchDescriptor, cookie: u32) -> Option<&[u8]> {
        let bytes = self.buffer.get(self.batch_pos..self.batch_len)?;
        let next = Events::new(bytes).next()?.ok()?;
        let moved_to = next.mask().contains(EventMask::MOVED_TO);
        (moved_to && next.wd() == wd && next.cookie() == cookie)
            .then(|| next.name())
            .flatten()
    }

    /// Whether an event read but not yet handed out takes the entry `name` of the watch
    /// `wd` away (an `IN_MOVED_FROM` or `IN_DELETE` of it): then what that name holds on
    /// disk now arrived after the event handed out last.
    pub(crate) fn name_leaves_later(&mut self, wd: WatchDescriptor, name: &[u8]) -> bool {
        let leaving_end = match self.leaving_end {
            Some(end) => end,
            None => {
                let batch = self.buffer.get(..self.batch_len).unwrap_or(&[]);
                let end = last_leaving_end(batch);
                self.leaving_end = Some(end);
                end
            }
        };
        self.any_later(leaving_end, wd, name, LEAVING)
    }

    /// Whether an event read but not yet handed out brings an entry `name` to the watch
    /// `wd` (an `IN_CREATE` or `IN_MOVED_TO` of it).
    pub(crate) fn name_arrives_later(&self, wd: WatchDescriptor, name: &[u8]) -> bool {
        let arriving = EventMask::CREATE | EventMask::MOVED_TO;
        self.any_later(self.batch_len, wd, name, arriving)
    }

    /// Whether an event of one of the `kinds` about `name` of the watch `wd` is among
    /// those read and not yet handed out: in the batch up to `batch_end`, or in the
    /// first [`LOOK_AHEAD`] bytes of the backlog.
    fn any_later(
        &self,
        batch_end: usize,
        wd: WatchDescriptor,
        name: &[u8],
        kinds: EventMask,
    ) -> bool {
        let batch = self
            .buffer
            .get(self.batch_pos..batch_end.min(self.batch_len));
        let backlog = self.backlog.get(self.backlog_pos..).unwrap_or(&[]);
        let backlog = backlog.get(..LOOK_AHEAD).unwrap_or(backlog);
        [batch.unwrap_or(&[]), backlog].iter().any(|bytes| {
            Events::new(bytes).map_while(Result::ok).any(|event| {
                event.wd() == wd && event.mask().intersects(kinds) && event.name() == Some(name)
            })
        })
    }

    /// The name of `event`, from the buffer it was read into (valid until the next read).
    pub(crate) fn name(&self, event: &RawEvent) -> Option<&[u8]> {
        if event.name_start == event.name_end {
            return None;
        }
        self.buffer.get(event.name_start..event.name_end)
    }

    /// The next event, or the end of a cycle. With `block`, waits for a batch for at
    /// most one block duration; without, reads only what is queued and says
    /// [`Step::Empty`] when nothing is.
    pub(crate) fn next(&mut self, block: bool) -> Result<Step, WatchError> {
        if let Some(error) = self.closed {
            return Err(error.into());
        }
        loop {
            if self.batch_pos < self.batch_len {
                match self.parse_next()? {
                    Some(event) => return Ok(Step::Event(event)),
                    None => continue, // a sync marker's event
                }
            }
            if self.batch_len > 0 {
                self.batch_len = 0;
                self.batch_pos = 0;
                self.batch_from = BatchFrom::Nowhere;
                if block {
                    return Ok(Step::BatchEnd);
                }
            }
            match self.next_from_backlog() {
                Some(FromBacklog::Synced) => return Ok(Step::Synced),
                Some(FromBacklog::Batch) => continue,
                None => {}
            }
            if !block {
                let read = match self.waiter.inotify().read_into(&mut self.buffer) {
                    Ok(events) => Ok(events.remainder().len()),
                    Err(error) => Err(error),
                };
                match read {
                    Ok(0) => return Ok(Step::Empty),
                    Ok(len) => self.start_read_batch(len),
                    Err(error) if error.is_would_block() => return Ok(Step::Empty),
                    Err(error) => return Err(self.failed(error)),
                }
                continue;
            }
            if !self.waiter.is_draining() {
                if let Some(duration) = self.block_duration_fn.as_mut() {
                    // Never locked, so never poisoned; a poisoned one would still hold
                    // the function.
                    let duration = duration.get_mut().unwrap_or_else(PoisonError::into_inner);
                    self.waiter.set_block_duration(duration());
                }
            }
            let len = match self.waiter.wait_into(&mut self.buffer) {
                Ok(Wait::Events(events)) => events.remainder().len(),
                // The queue is empty: wait for more, up to a block duration.
                Ok(Wait::Drained) => continue,
                Ok(Wait::TimedOut) | Ok(Wait::Interrupted) => return Ok(Step::TimedOut),
                Err(error) => return Err(self.failed(error)),
            };
            self.start_read_batch(len);
        }
    }

    /// `error` as the stream's error; an `EBADF` is kept, to be returned for ever.
    fn failed(&mut self, error: crate::Error) -> WatchError {
        if error.errno() == Some(crate::Errno::EBADF) {
            self.closed = Some(error);
        }
        error.into()
    }

    fn start_batch(&mut self, len: usize) {
        self.batch_len = len;
        self.batch_pos = 0;
        self.leaving_end = None;
    }

    /// Starts a batch of `len` bytes just read into the buffer.
    fn start_read_batch(&mut self, len: usize) {
        self.batch_from = BatchFrom::Read(self.stream_read);
        self.stream_read += len as u64;
        self.start_batch(len);
    }

    /// Parses the event at the batch position, once, and moves past it: `None` for an
    /// event about a sync marker. A malformed buffer drops the rest of the batch and is
    /// an error.
    fn parse_next(&mut self) -> Result<Option<RawEvent>, WatchError> {
        let start = self.batch_pos;
        let bytes = self.buffer.get(start..self.batch_len).unwrap_or(&[]);
        let parsed = Events::new(bytes).next();
        match parsed {
            Some(Ok(event)) => {
                self.batch_pos = start + event.span_len();
                let name_start = start + crate::parse::EVENT_HEADER_LEN;
                let name = event.name().unwrap_or(&[]);
                if self.markers.is_marker(name) {
                    return Ok(None);
                }
                let name_len = name.len();
                Ok(Some(RawEvent {
                    wd: event.wd(),
                    mask: event.mask(),
                    cookie: event.cookie(),
                    len: event.len(),
                    name_start,
                    name_end: name_start + name_len,
                }))
            }
            Some(Err(error)) => {
                self.batch_pos = self.batch_len;
                Err(error.into())
            }
            None => {
                self.batch_pos = self.batch_len;
                Err(WatchError::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "an empty event batch",
                )))
            }
        }
    }

    /// Reads every event queued before a marker file that it makes in the first of
    /// `places` it can (directories this instance watches for `IN_CREATE`), and keeps
    /// them, in order, to hand out before anything read later. The marker's own events
    /// are never handed out; reading reaches the marker's place with [`Step::Synced`].
    ///
    /// Errors: no marker could be made (the error says where and why), its event did not
    /// come back within `timeout`, or reading failed.
    pub(crate) fn sync(
        &mut self,
        places: &[MarkerPlace],
        timeout: Duration,
    ) -> Result<(), WatchError> {
        let deadline = Instant::now() + timeout;
        self.keep_unread_batch();
        let mut marker = self.markers.create_in(places)?;
        let saved_duration = self.waiter.block_duration();
        let result = loop {
            let len = match self.read_before(deadline) {
                Ok(Some(len)) => len,
                Ok(None) => {
                    break Err(WatchError::Io(io::Error::new(
                        io::ErrorKind::TimedOut,
                        std::format!(
                            "sync: the kernel did not report the marker file within {:?} \
                             (a stopped or very slow machine?): give it more time",
                            timeout
                        ),
                    )))
                }
                Err(error) => break Err(error),
            };
            match self.keep_batch(len, marker.name(), |_, _, _| false) {
                Ok(Kept::Marker) => break Ok(()),
                // The marker's event may have been lost with the rest: make another.
                Ok(Kept::Overflow) => match self.markers.create_in(places) {
                    Ok(again) => marker = again,
                    Err(error) => break Err(error.into()),
                },
                Ok(Kept::Events) => {}
                Err(error) => break Err(error),
            }
        };
        self.waiter.set_block_duration(saved_duration);
        result
    }

    /// [`sync`](Reader::sync) with the marker in a directory of the reader's own, made
    /// at the first call in the temporary directory (`TMPDIR`, else `/tmp`), watched for
    /// `IN_CREATE`, and removed on drop.
    ///
    /// Errors: as for `sync`, or the directory or its watch could not be made.
    pub(crate) fn sync_in_own_dir(&mut self, timeout: Duration) -> Result<(), WatchError> {
        let (dir, wd) = match self.own_dir.take() {
            Some(own) => own,
            None => self.make_own_dir()?,
        };
        let place = MarkerPlace::at(dir.path());
        self.own_dir = Some((dir, wd));
        self.sync(core::slice::from_ref(&place), timeout)
    }

    /// Makes the reader's own marker directory and watches it.
    fn make_own_dir(&self) -> io::Result<(MarkerDir, WatchDescriptor)> {
        let dir = MarkerDir::create(&self.markers)?;
        let mask = WatchMask::CREATE | WatchMask::ONLYDIR;
        match self.inotify().add_watch(dir.path(), mask) {
            Ok(wd) => Ok((dir, wd)),
            Err(source) => Err(PathError {
                path: dir.path().to_path_buf(),
                source,
            }
            .into()),
        }
    }

    /// Moves what is left of the current batch to the front of the backlog.
    fn keep_unread_batch(&mut self) {
        let unread = self
            .buffer
            .get(self.batch_pos..self.batch_len)
            .unwrap_or(&[]);
        if !unread.is_empty() {
            let mut backlog = Vec::with_capacity(unread.len() + self.backlog.len());
            backlog.extend_from_slice(unread);
            backlog.extend_from_slice(self.backlog.get(self.backlog_pos..).unwrap_or(&[]));
            self.barrier_at = self
                .barrier_at
                .map(|at| at - self.backlog_pos + unread.len());
            self.backlog = backlog;
            self.backlog_pos = 0;
            self.backlog_read_by = self.stream_read;
        }
        self.batch_len = 0;
        self.batch_pos = 0;
        self.batch_from = BatchFrom::Nowhere;
    }

    /// Reads one batch into the buffer, waiting until `deadline` at most: its length,
    /// or `None` when the deadline passed.
    fn read_before(&mut self, deadline: Instant) -> Result<Option<usize>, WatchError> {
        loop {
            let left = match deadline.checked_duration_since(Instant::now()) {
                Some(left) => left,
                None => return Ok(None),
            };
            self.waiter.set_block_duration(Some(left));
            match self.waiter.wait_into(&mut self.buffer)? {
                Wait::Events(events) => return Ok(Some(events.remainder().len())),
                Wait::Drained | Wait::TimedOut | Wait::Interrupted => {}
            }
        }
    }

    /// Reads what is queued now, without waiting, and keeps it, in order, to hand out
    /// after what is kept already; but for the events `dropped(wd, mask, name)` takes
    /// out, and those about sync markers.
    pub(crate) fn read_ahead<F>(&mut self, mut dropped: F) -> Result<(), WatchError>
    where
        F: FnMut(WatchDescriptor, EventMask, &[u8]) -> bool,
    {
        if let Some(error) = self.closed {
            return Err(error.into());
        }
        self.keep_unread_batch();
        loop {
            let read = match self.waiter.inotify().read_into(&mut self.buffer) {
                Ok(events) => Ok(events.remainder().len()),
                Err(error) => Err(error),
            };
            let len = match read {
                Ok(0) => return Ok(()),
                Ok(len) => len,
                Err(error) if error.is_would_block() => return Ok(()),
                Err(error) => return Err(self.failed(error)),
            };
            self.keep_batch(len, &[], &mut dropped)?;
        }
    }

    /// Appends the `len` bytes of events just read to the backlog, but for those about
    /// sync markers and those `dropped` takes out; says whether the marker `marker` was
    /// among them.
    fn keep_batch<F>(
        &mut self,
        len: usize,
        marker: &[u8],
        mut dropped: F,
    ) -> Result<Kept, WatchError>
    where
        F: FnMut(WatchDescriptor, EventMask, &[u8]) -> bool,
    {
        self.stream_read += len as u64;
        self.backlog_read_by = self.stream_read;
        let bytes = self.buffer.get(..len).unwrap_or(&[]);
        let mut kept = Kept::Events;
        let mut at = 0;
        for event in Events::new(bytes) {
            let event = event?;
            let span = bytes.get(at..at + event.span_len()).unwrap_or(&[]);
            at += event.span_len();
            let name = event.name().unwrap_or(&[]);
            if self.markers.is_marker(name) {
                if name == marker && event.mask().contains(EventMask::CREATE) {
                    kept = Kept::Marker;
                    self.barrier_at = Some(self.backlog.len());
                }
                continue;
            }
            if dropped(event.wd(), event.mask(), name) {
                continue;
            }
            if event.mask().contains(EventMask::Q_OVERFLOW) && !matches!(kept, Kept::Marker) {
                kept = Kept::Overflow;
            }
            self.backlog.extend_from_slice(span);
        }
        Ok(kept)
    }

    /// The next batch from the backlog, put in the buffer, or the last marker's place;
    /// `None` when the backlog is empty.
    fn next_from_backlog(&mut self) -> Option<FromBacklog> {
        if self.barrier_at == Some(self.backlog_pos) {
            self.barrier_at = None;
            self.drop_used_backlog();
            return Some(FromBacklog::Synced);
        }
        let end = self.barrier_at.unwrap_or(self.backlog.len());
        let rest = self.backlog.get(self.backlog_pos..end)?;
        if rest.is_empty() {
            return None;
        }
        // Whole events, as many as the buffer holds.
        let mut len = 0;
        for event in Events::new(rest).flatten() {
            if len + event.span_len() > READ_LEN {
                break;
            }
            len += event.span_len();
        }
        if len == 0 {
            // Cannot be: the backlog holds only events parsed when they were kept.
            self.backlog_pos = end;
            self.drop_used_backlog();
            return None;
        }
        let batch = rest.get(..len)?;
        self.buffer.get_mut(..len)?.copy_from_slice(batch);
        self.backlog_pos += len;
        self.batch_from = BatchFrom::Backlog;
        self.start_batch(len);
        self.drop_used_backlog();
        Some(FromBacklog::Batch)
    }

    /// Frees the backlog once all of it has been handed out.
    fn drop_used_backlog(&mut self) {
        if self.backlog_pos == self.backlog.len() && self.barrier_at.is_none() {
            self.backlog = Vec::new();
            self.backlog_pos = 0;
        }
    }
}

/// Where the current batch came from, for where its events lie in the kernel's stream.
#[derive(Clone, Copy, Debug)]
enum BatchFrom {
    /// Read straight into the buffer, starting at this place in the stream.
    Read(u64),
    /// Copied from the backlog: its events were read by `backlog_read_by`.
    Backlog,
    /// No batch.
    Nowhere,
}

/// What the backlog gave.
enum FromBacklog {
    /// A batch, now in the buffer.
    Batch,
    /// The place of the last sync's marker.
    Synced,
}

/// What a batch read by `sync` held.
enum Kept {
    Events,
    Marker,
    Overflow,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;

    /// A fresh directory of this test's own under the temporary directory.
    fn fresh_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(std::format!(
            "inotify-raw-reader-{}-{}",
            name,
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        dir
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn a_long_queue_is_asked_about_once_per_so_many_calls() {
        let dir = fresh_dir("queued");
        let mut reader = Reader::new().unwrap();
        reader.inotify().add_watch(&dir, WatchMask::CREATE).unwrap();
        let made = 4 * CHEAP_QUEUE as usize;
        for i in 0..made {
            fs::File::create(dir.join(std::format!("f{}", i))).unwrap();
        }
        let first = reader.queued_cheaply();
        assert!(first.events_at_most >= made as u64, "asked: {:?}", first);
        // More is queued, but the next calls do not ask the kernel: the end stays, and
        // the count is bounded by the kernel's limit instead.
        fs::File::create(dir.join("later")).unwrap();
        let calls = first.events_at_most / EVENTS_PER_ASK;
        for _ in 0..calls {
            let stale = reader.queued_cheaply();
            assert_eq!(stale.end, first.end);
            assert!(stale.events_at_most >= DEFAULT_MAX_QUEUED_EVENTS as u64);
        }
        // Then it asks again, and sees the event queued since.
        let fresh = reader.queued_cheaply();
        assert!(fresh.end > first.end, "{:?} after {:?}", fresh, first);
        fs::remove_dir_all(&dir).unwrap();
    }
}
