//! [`Reader`]: the read loop that [`Watcher`](super::Watcher) and
//! [`TreeWatcher`](super::TreeWatcher) share: one large read at a time, each event parsed
//! once, and the Python package's cycles (an end after each read, or after a block
//! duration with no event).

use std::boxed::Box;
use std::time::Duration;

use super::event::WatchError;
use crate::inotify::Inotify;
use crate::mask::EventMask;
use crate::parse::{EventBuffer, Events, WatchDescriptor};
use crate::wait::{EventWaiter, Wait, DEFAULT_BLOCK_DURATION};

/// Bytes read per `read(2)`: room for about 2,000 events with short names.
pub(crate) const READ_LEN: usize = 64 * 1024;

/// A function asked before each blocking wait how long it may block.
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
}

pub(crate) struct Reader {
    waiter: EventWaiter,
    /// Set by `set_block_duration_fn`; a fixed duration lives in the waiter.
    block_duration_fn: Option<BlockDurationFn>,
    buffer: Box<EventBuffer<READ_LEN>>,
    batch_len: usize,
    batch_pos: usize,
    /// The `EBADF` that ended the stream: other code closed the descriptor. Every later
    /// call returns it again, and the number (which may name another file by now) is
    /// not touched.
    closed: Option<crate::Error>,
}

impl Reader {
    pub(crate) fn new() -> Result<Reader, crate::Error> {
        Ok(Reader {
            waiter: EventWaiter::new(Inotify::new()?, Some(DEFAULT_BLOCK_DURATION))?,
            block_duration_fn: None,
            buffer: Box::new(EventBuffer::new()),
            batch_len: 0,
            batch_pos: 0,
            closed: None,
        })
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
        self.block_duration_fn = Some(duration);
    }

    /// The name of `event`, from the buffer it was read into (valid until the next read).
    pub(crate) fn name(&self, event: &RawEvent) -> Option<&[u8]> {
        if event.name_start == event.name_end {
            return None;
        }
        self.buffer.as_bytes().get(event.name_start..event.name_end)
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
                return self.parse_next().map(Step::Event);
            }
            if self.batch_len > 0 {
                self.batch_len = 0;
                self.batch_pos = 0;
                if block {
                    return Ok(Step::BatchEnd);
                }
            }
            if !block {
                let read = match self.waiter.inotify().read(&mut self.buffer) {
                    Ok(events) => Ok(events.remainder().len()),
                    Err(error) => Err(error),
                };
                match read {
                    Ok(0) => return Ok(Step::Empty),
                    Ok(len) => self.start_batch(len),
                    Err(error) if error.is_would_block() => return Ok(Step::Empty),
                    Err(error) => return Err(self.failed(error)),
                }
                continue;
            }
            if !self.waiter.is_draining() {
                if let Some(duration) = self.block_duration_fn.as_mut() {
                    self.waiter.set_block_duration(duration());
                }
            }
            let len = match self.waiter.wait(&mut self.buffer) {
                Ok(Wait::Events(events)) => events.remainder().len(),
                // The queue is empty: wait for more, up to a block duration.
                Ok(Wait::Drained) => continue,
                Ok(Wait::TimedOut) | Ok(Wait::Interrupted) => return Ok(Step::TimedOut),
                Err(error) => return Err(self.failed(error)),
            };
            self.start_batch(len);
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
    }

    /// Parses the event at the batch position, once, and moves past it. A malformed
    /// buffer drops the rest of the batch and is an error.
    fn parse_next(&mut self) -> Result<RawEvent, WatchError> {
        let start = self.batch_pos;
        let bytes = self
            .buffer
            .as_bytes()
            .get(start..self.batch_len)
            .unwrap_or(&[]);
        let parsed = Events::new(bytes).next();
        match parsed {
            Some(Ok(event)) => {
                self.batch_pos = start + event.span_len();
                let name_start = start + crate::parse::EVENT_HEADER_LEN;
                let name_len = event.name().map_or(0, <[u8]>::len);
                Ok(RawEvent {
                    wd: event.wd(),
                    mask: event.mask(),
                    cookie: event.cookie(),
                    len: event.len(),
                    name_start,
                    name_end: name_start + name_len,
                })
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
}
