//! [`EventWaiter`]: blocking reads of an [`Inotify`] with a block duration, on [`Epoll`].
//!
//! This is the engine of the Python package's `event_gen`, without allocation: wait up to
//! one block duration for the instance to become readable, then read until the kernel
//! has nothing left (`EAGAIN`), then report the end of the cycle.

use core::time::Duration;

use crate::epoll::{Epoll, EpollEvent, OnInterrupt, Readiness};
use crate::error::Error;
use crate::inotify::Inotify;
use crate::parse::{EventBuffer, Events};

/// The Python package's default block duration: one second.
pub const DEFAULT_BLOCK_DURATION: Duration = Duration::from_secs(1);

/// What one call to [`EventWaiter::wait`] found.
#[derive(Debug)]
pub enum Wait<'b> {
    /// A batch of events, read into the caller's buffer. More may follow in this cycle.
    Events(Events<'b>),
    /// The cycle ended: every event queued has been read (the kernel said `EAGAIN`).
    Drained,
    /// The cycle ended: a whole block duration passed with no event.
    TimedOut,
    /// A signal arrived while waiting (only with [`OnInterrupt::Return`]).
    Interrupted,
}

/// Waits for and reads the events of one [`Inotify`], one block duration at a time.
///
/// The instance is switched to non-blocking reads, so that a cycle can read until the
/// queue is empty. Each call to [`wait`](EventWaiter::wait) returns one batch of events,
/// or the end of a cycle: [`Wait::Drained`] after events, [`Wait::TimedOut`] after a block
/// duration with none. The Python package yields `None` at both.
#[derive(Debug)]
pub struct EventWaiter {
    inotify: Inotify,
    epoll: Epoll,
    block_duration: Option<Duration>,
    on_interrupt: OnInterrupt,
    draining: bool,
}

impl EventWaiter {
    /// Takes `inotify` and waits on it at most `block_duration` at a time (`None`: until
    /// an event comes). Signals during the wait are retried.
    pub fn new(inotify: Inotify, block_duration: Option<Duration>) -> Result<EventWaiter, Error> {
        inotify.set_nonblocking(true)?;
        let epoll = Epoll::new()?;
        epoll.add(&inotify, Readiness::IN, 0)?;
        Ok(EventWaiter {
            inotify,
            epoll,
            block_duration,
            on_interrupt: OnInterrupt::Retry,
            draining: false,
        })
    }

    /// The inotify instance, to add and remove watches. Reading from it, or making it
    /// blocking, takes events from the waiter or stalls it.
    pub fn inotify(&self) -> &Inotify {
        &self.inotify
    }

    /// Gives the inotify instance back (still non-blocking).
    pub fn into_inotify(self) -> Inotify {
        self.inotify
    }

    /// The longest one wait blocks.
    pub fn block_duration(&self) -> Option<Duration> {
        self.block_duration
    }

    /// Changes the longest one wait blocks; takes effect at the next wait.
    pub fn set_block_duration(&mut self, block_duration: Option<Duration>) {
        self.block_duration = block_duration;
    }

    /// True between a readiness report and the `EAGAIN` that ends it: the next
    /// [`wait`](EventWaiter::wait) reads without blocking.
    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// Chooses what a signal during the wait does (the default is
    /// [`OnInterrupt::Retry`]).
    pub fn set_on_interrupt(&mut self, on_interrupt: OnInterrupt) {
        self.on_interrupt = on_interrupt;
    }

    /// Returns the next batch of events, or the end of a cycle. See [`Wait`].
    pub fn wait<'b, const N: usize>(
        &mut self,
        buffer: &'b mut EventBuffer<N>,
    ) -> Result<Wait<'b>, Error> {
        if !self.draining {
            let mut ready = [EpollEvent::default()];
            match self
                .epoll
                .wait(&mut ready, self.block_duration, self.on_interrupt)
            {
                Ok(0) => return Ok(Wait::TimedOut),
                Ok(_) => self.draining = true,
                Err(error) if error.is_interrupted() => return Ok(Wait::Interrupted),
                Err(error) => return Err(error),
            }
        }
        match self.inotify.read(buffer) {
            Ok(events) if events.is_empty() => {
                // End of file: only a descriptor that is not inotify (a pipe) gets here.
                self.draining = false;
                Ok(Wait::Drained)
            }
            Ok(events) => Ok(Wait::Events(events)),
            Err(error) if error.is_would_block() => {
                self.draining = false;
                Ok(Wait::Drained)
            }
            Err(error) => Err(error),
        }
    }
}
