//! [`EventWaiter`]: blocking reads of an [`Inotify`] (or a [`Fanotify`]) with a block
//! duration, on [`Epoll`].
//!
//! This is the engine of the Python package's `event_gen`, without allocation: wait up to
//! one block duration for the instance to become readable, then read until the kernel
//! has nothing left (`EAGAIN`), then report the end of the cycle.

use core::time::Duration;

use crate::epoll::{Epoll, EpollEvent, OnInterrupt, Readiness};
use crate::error::{Call, Error};
use crate::fanotify::Fanotify;
use crate::fd::AsDescriptor;
use crate::inotify::Inotify;
use crate::parse::{EventBuffer, Events, FanotifyEvents};
use crate::sys::Errno;

/// The Python package's default block duration: one second.
pub const DEFAULT_BLOCK_DURATION: Duration = Duration::from_secs(1);

/// How long a wait with no block duration sleeps between two checks that the
/// instance's descriptor is still open: closing it does not wake epoll.
const OPEN_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// What the instance is registered for, with token 0.
const INTEREST: Readiness = Readiness::IN;

/// What one call to [`EventWaiter::wait`] found. `E` is a batch of events: [`Events`]
/// from an [`Inotify`], [`FanotifyEvents`] from a [`Fanotify`].
#[derive(Debug)]
pub enum Wait<E> {
    /// A batch of events, read into the caller's buffer. More may follow in this cycle.
    Events(E),
    /// The cycle ended: every event queued has been read (the kernel said `EAGAIN`).
    Drained,
    /// The cycle ended: a whole block duration passed with no event.
    TimedOut,
    /// A signal arrived while waiting (only with [`OnInterrupt::Return`]).
    Interrupted,
}

/// What an [`EventWaiter`] waits on and reads: an [`Inotify`] or a [`Fanotify`]. Sealed:
/// this crate's types are the only ones.
pub trait EventSource<'b>: AsDescriptor + sealed::Sealed {
    /// The events of one read, views into the buffer: [`Events`] or [`FanotifyEvents`].
    type Events;

    /// Makes reads fail with `EAGAIN` instead of blocking.
    #[doc(hidden)]
    fn make_nonblocking(&self) -> Result<(), Error>;

    /// Reads the events waiting into `buffer`.
    #[doc(hidden)]
    fn read_events(&self, buffer: &'b mut [u8]) -> Result<Self::Events, Error>;

    /// True for a read that returned nothing: end of file.
    #[doc(hidden)]
    fn is_end_of_file(events: &Self::Events) -> bool;
}

mod sealed {
    /// Keeps [`EventSource`](super::EventSource) to this crate's types.
    pub trait Sealed {}
    impl Sealed for crate::inotify::Inotify {}
    impl Sealed for crate::fanotify::Fanotify {}
}

/// Implements [`EventSource`] for a type with `set_nonblocking` and a `read_into` that
/// returns `$events`.
macro_rules! impl_event_source {
    ($source:ident, $events:ident) => {
        impl<'b> EventSource<'b> for $source {
            type Events = $events<'b>;

            fn make_nonblocking(&self) -> Result<(), Error> {
                self.set_nonblocking(true)
            }

            fn read_events(&self, buffer: &'b mut [u8]) -> Result<$events<'b>, Error> {
                self.read_into(buffer)
            }

            fn is_end_of_file(events: &$events<'b>) -> bool {
                events.is_empty()
            }
        }
    };
}

impl_event_source!(Inotify, Events);
impl_event_source!(Fanotify, FanotifyEvents);

/// Waits for and reads the events of one [`Inotify`] (or one [`Fanotify`]: an
/// `EventWaiter<Fanotify>`), one block duration at a time.
///
/// The instance is switched to non-blocking reads, so that a cycle can read until the
/// queue is empty. Each call to [`wait`](EventWaiter::wait) returns one batch of events,
/// or the end of a cycle: [`Wait::Drained`] after events, [`Wait::TimedOut`] after a block
/// duration with none. The Python package yields `None` at both.
///
/// Closing the instance's descriptor behind the waiter's back (a `close` of its raw
/// number) does not wake epoll. So after each block duration with no event (and once a
/// second when there is no block duration) the waiter checks that the descriptor is
/// still the one it registered, and returns `EBADF` when it is not, instead of timing
/// out for ever.
///
/// # Examples
///
/// Wait at most 100 ms at a time for events in a fresh directory:
///
/// ```
/// use std::time::Duration;
/// use inotify_raw::{EventBuffer, EventMask, EventWaiter, Inotify, Wait, WatchMask};
///
/// let dir = std::env::temp_dir().join(format!("inotify-raw-doc-waiter-{}", std::process::id()));
/// std::fs::create_dir(&dir)?;
/// let inotify = Inotify::new()?;
/// inotify.add_watch(dir.as_path(), WatchMask::CREATE | WatchMask::CLOSE_WRITE)?;
/// let mut waiter = EventWaiter::new(inotify, Some(Duration::from_millis(100)))?;
/// let mut buffer = EventBuffer::<4096>::new();
///
/// // A quiet directory: the block duration passes.
/// assert!(matches!(waiter.wait(&mut buffer)?, Wait::TimedOut));
///
/// std::fs::write(dir.join("report.txt"), b"done")?;
/// let mut seen = Vec::new();
/// for _ in 0..50 {
///     match waiter.wait(&mut buffer)? {
///         Wait::Events(events) => {
///             for event in events {
///                 seen.push(event?.mask());
///             }
///         }
///         // Every queued event is read: the end of this cycle.
///         Wait::Drained if seen.len() >= 2 => break,
///         Wait::Drained | Wait::TimedOut | Wait::Interrupted => {}
///     }
/// }
/// assert_eq!(seen, [EventMask::CREATE, EventMask::CLOSE_WRITE]);
///
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
///
/// [epoll_pwait(2)](https://man7.org/linux/man-pages/man2/epoll_pwait.2.html),
/// [read(2)](https://man7.org/linux/man-pages/man2/read.2.html),
/// [inotify(7)](https://man7.org/linux/man-pages/man7/inotify.7.html)
#[derive(Debug)]
pub struct EventWaiter<S = Inotify> {
    source: S,
    epoll: Epoll,
    block_duration: Option<Duration>,
    on_interrupt: OnInterrupt,
    draining: bool,
}

impl<S: for<'b> EventSource<'b>> EventWaiter<S> {
    /// Takes `source` (an [`Inotify`] or a [`Fanotify`]) and waits on it at most
    /// `block_duration` at a time (`None`: until an event comes). Signals during the
    /// wait are retried.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] from `fcntl` (making `source` non-blocking), from
    /// `epoll_create1` (`EMFILE` when the process has no descriptor free, `ENFILE`), or
    /// from `epoll_ctl`. `source` is dropped then.
    pub fn new(source: S, block_duration: Option<Duration>) -> Result<EventWaiter<S>, Error> {
        source.make_nonblocking()?;
        let epoll = Epoll::new()?;
        epoll.add(&source, INTEREST, 0)?;
        Ok(EventWaiter {
            source,
            epoll,
            block_duration,
            on_interrupt: OnInterrupt::Retry,
            draining: false,
        })
    }

    /// The instance, to add and remove watches or marks. Reading from it, or making it
    /// blocking, takes events from the waiter or stalls it.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Gives the instance back (still non-blocking).
    pub fn into_source(self) -> S {
        self.source
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
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] from `epoll_pwait` or `read` (not `EAGAIN`, which ends the
    /// cycle as [`Wait::Drained`], nor `EINTR`, which is retried or returned as
    /// [`Wait::Interrupted`]), or from `clock_gettime` (see [`Epoll::wait`]). `EBADF`
    /// (from `read`, or from `epoll_ctl` when a wait ends with no event) when other code
    /// has closed the instance's descriptor: the waiter cannot go on.
    ///
    /// # References
    ///
    /// [epoll_pwait(2)](https://man7.org/linux/man-pages/man2/epoll_pwait.2.html),
    /// [read(2)](https://man7.org/linux/man-pages/man2/read.2.html)
    pub fn wait<'b, const N: usize>(
        &mut self,
        buffer: &'b mut EventBuffer<N>,
    ) -> Result<Wait<<S as EventSource<'b>>::Events>, Error> {
        self.wait_into(buffer.as_mut_bytes())
    }

    /// Like [`wait`](EventWaiter::wait), into any byte slice long enough for one event.
    pub(crate) fn wait_into<'b>(
        &mut self,
        buffer: &'b mut [u8],
    ) -> Result<Wait<<S as EventSource<'b>>::Events>, Error> {
        while !self.draining {
            let mut ready = [EpollEvent::default()];
            let slice = self.block_duration.unwrap_or(OPEN_CHECK_INTERVAL);
            match self.epoll.wait(&mut ready, Some(slice), self.on_interrupt) {
                Ok(0) => {
                    self.check_open()?;
                    if self.block_duration.is_some() {
                        return Ok(Wait::TimedOut);
                    }
                }
                Ok(_) => self.draining = true,
                Err(error) if error.is_interrupted() => return Ok(Wait::Interrupted),
                Err(error) => return Err(error),
            }
        }
        match self.source.read_events(buffer) {
            Ok(events) if S::is_end_of_file(&events) => {
                // End of file: only a descriptor that is neither inotify nor fanotify (a
                // pipe) gets here.
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

    /// Checks that the instance's descriptor is still registered under its number: when
    /// other code has closed it, epoll dropped it (`EBADF` for the number, or `ENOENT` or
    /// `EPERM` when the number names another file by now). Each is `EBADF` for the
    /// descriptor this waiter owns.
    fn check_open(&self) -> Result<(), Error> {
        self.epoll
            .modify(&self.source, INTEREST, 0)
            .map_err(|_| Error::syscall(Call::EpollCtl, Errno::EBADF))
    }
}

impl EventWaiter<Inotify> {
    /// The inotify instance: [`source`](EventWaiter::source).
    pub fn inotify(&self) -> &Inotify {
        &self.source
    }

    /// Gives the inotify instance back (still non-blocking):
    /// [`into_source`](EventWaiter::into_source).
    pub fn into_inotify(self) -> Inotify {
        self.source
    }
}
