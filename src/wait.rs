//! [`EventWaiter`]: blocking reads of an [`Inotify`] with a block duration, on [`Epoll`].
//!
//! This is the engine of the Python package's `event_gen`, without allocation: wait up to
//! one block duration for the instance to become readable, then read until the kernel
//! has nothing left (`EAGAIN`), then report the end of the cycle.

use core::time::Duration;

use crate::epoll::{Epoll, EpollEvent, OnInterrupt, Readiness};
use crate::error::{Call, Error};
use crate::inotify::Inotify;
use crate::parse::{EventBuffer, Events};
use crate::sys::Errno;

/// The Python package's default block duration: one second.
pub const DEFAULT_BLOCK_DURATION: Duration = Duration::from_secs(1);

/// How long a wait with no block duration sleeps between two checks that the inotify
/// descriptor is still open: closing it does not wake epoll.
const OPEN_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// What the inotify instance is registered for, with token 0.
const INTEREST: Readiness = Readiness::IN;

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
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] from `fcntl` (making `inotify` non-blocking), from
    /// `epoll_create1` (`EMFILE` when the process has no descriptor free, `ENFILE`), or
    /// from `epoll_ctl`. `inotify` is dropped then.
    pub fn new(inotify: Inotify, block_duration: Option<Duration>) -> Result<EventWaiter, Error> {
        inotify.set_nonblocking(true)?;
        let epoll = Epoll::new()?;
        epoll.add(&inotify, INTEREST, 0)?;
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
    ) -> Result<Wait<'b>, Error> {
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

    /// Checks that the inotify descriptor is still registered under its number: when
    /// other code has closed it, epoll dropped it (`EBADF` for the number, or `ENOENT` or
    /// `EPERM` when the number names another file by now). Each is `EBADF` for the
    /// descriptor this waiter owns.
    fn check_open(&self) -> Result<(), Error> {
        self.epoll
            .modify(&self.inotify, INTEREST, 0)
            .map_err(|_| Error::syscall(Call::EpollCtl, Errno::EBADF))
    }
}
