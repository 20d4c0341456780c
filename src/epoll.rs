//! [`Epoll`]: an epoll instance, to wait for readiness on descriptors with a timeout.

use core::time::Duration;

use crate::clock::MonotonicTime;
use crate::error::{Call, Error};
use crate::fd::{impl_descriptor_traits, AsDescriptor, OwnedDescriptor};
use crate::inotify::with_limit;
use crate::sys::{self, O_CLOEXEC};

pub use crate::sys::EpollEvent;

/// Readiness bits for [`Epoll::add`] and [`EpollEvent::readiness`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Readiness(u32);

impl Readiness {
    /// `EPOLLIN`: readable.
    pub const IN: Readiness = Readiness(0x001);
    /// `EPOLLPRI`: urgent data.
    pub const PRI: Readiness = Readiness(0x002);
    /// `EPOLLOUT`: writable.
    pub const OUT: Readiness = Readiness(0x004);
    /// `EPOLLERR`: an error condition (always reported).
    pub const ERR: Readiness = Readiness(0x008);
    /// `EPOLLHUP`: hang-up (always reported).
    pub const HUP: Readiness = Readiness(0x010);
    /// `EPOLLRDHUP`: the peer closed its writing end.
    pub const RDHUP: Readiness = Readiness(0x2000);
    /// `EPOLLONESHOT`: disable the descriptor after one report.
    pub const ONESHOT: Readiness = Readiness(1 << 30);
    /// `EPOLLET`: edge-triggered.
    pub const EDGE_TRIGGERED: Readiness = Readiness(1 << 31);

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// A set with exactly these bits.
    pub const fn from_bits_retain(bits: u32) -> Readiness {
        Readiness(bits)
    }

    /// True when every bit of `other` is set in `self`.
    pub const fn contains(self, other: Readiness) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when `self` and `other` share a bit.
    pub const fn intersects(self, other: Readiness) -> bool {
        self.0 & other.0 != 0
    }
}

impl core::ops::BitOr for Readiness {
    type Output = Readiness;
    fn bitor(self, rhs: Readiness) -> Readiness {
        Readiness(self.0 | rhs.0)
    }
}

impl EpollEvent {
    /// A readiness report or registration for `token`.
    pub const fn new(readiness: Readiness, token: u64) -> EpollEvent {
        EpollEvent {
            events: readiness.0,
            data: token,
        }
    }

    /// What the descriptor is ready for.
    pub fn readiness(&self) -> Readiness {
        Readiness(self.events)
    }

    /// The token given when the descriptor was added.
    pub fn token(&self) -> u64 {
        self.data
    }
}

/// What [`Epoll::wait`] does when a signal interrupts it (`EINTR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnInterrupt {
    /// Return the `EINTR` error, so the caller can look at what the signal handler set.
    Return,
    /// Wait again for the time that is left.
    Retry,
}

/// Turns a timeout into epoll's milliseconds: `None` waits forever (-1); a fraction of
/// a millisecond rounds up, so a short timeout never turns into a busy poll; a timeout
/// past `i32::MAX` ms (about 24.8 days) saturates.
pub(crate) fn timeout_to_millis(timeout: Option<Duration>) -> i32 {
    let timeout = match timeout {
        None => return -1,
        Some(timeout) => timeout,
    };
    let whole = timeout.as_millis();
    let rounded = if timeout.subsec_nanos() % 1_000_000 != 0 {
        whole.saturating_add(1)
    } else {
        whole
    };
    i32::try_from(rounded).unwrap_or(i32::MAX)
}

/// An epoll instance: waits, with a timeout, until one of the descriptors registered
/// with it is ready.
///
/// Owns its descriptor (close-on-exec, closed on drop). Registrations take a borrowed
/// descriptor ([`AsDescriptor`]: with `std`, anything `AsFd`), never a bare number. An
/// `Epoll` is itself a descriptor, so it can be registered in another event loop.
///
/// # Examples
///
/// Wait for an [`Inotify`](crate::Inotify) to have an event, with a timeout:
///
/// ```
/// use std::time::Duration;
/// use inotify_raw::{Epoll, EpollEvent, EventBuffer, InitFlags, Inotify, OnInterrupt, Readiness, WatchMask};
///
/// let dir = std::env::temp_dir().join(format!("inotify-raw-doc-epoll-{}", std::process::id()));
/// std::fs::create_dir(&dir)?;
/// let inotify = Inotify::init(InitFlags::NONBLOCK)?;
/// inotify.add_watch(dir.as_path(), WatchMask::CREATE)?;
///
/// let epoll = Epoll::new()?;
/// epoll.add(&inotify, Readiness::IN, 7)?;
/// let mut ready = [EpollEvent::default(); 4];
///
/// // Nothing has happened yet: the wait times out.
/// let n = epoll.wait(&mut ready, Some(Duration::from_millis(10)), OnInterrupt::Retry)?;
/// assert_eq!(n, 0);
///
/// std::fs::write(dir.join("new"), b"")?;
/// let n = epoll.wait(&mut ready, Some(Duration::from_secs(5)), OnInterrupt::Retry)?;
/// assert_eq!(n, 1);
/// assert_eq!(ready[0].token(), 7);
/// assert!(ready[0].readiness().contains(Readiness::IN));
///
/// let mut buffer = EventBuffer::<4096>::new();
/// let event = inotify.read(&mut buffer)?.next().expect("an event")?;
/// assert_eq!(event.name(), Some(&b"new"[..]));
///
/// epoll.delete(&inotify)?;
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
///
/// [epoll(7)](https://man7.org/linux/man-pages/man7/epoll.7.html)
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedDescriptor,
}

impl Epoll {
    /// A new epoll instance, close-on-exec.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] from `epoll_create1`: `EMFILE` when the process has no
    /// descriptor free (the error carries its limit, `RLIMIT_NOFILE`), `ENFILE` at the
    /// system's limit on open files, `ENOMEM`.
    ///
    /// # References
    ///
    /// [epoll_create1(2)](https://man7.org/linux/man-pages/man2/epoll_create1.2.html)
    #[doc(alias("epoll_create1", "epoll_create"))]
    pub fn new() -> Result<Epoll, Error> {
        let fd = OwnedDescriptor::from_new(sys::epoll_create1(O_CLOEXEC))
            .map_err(|errno| with_limit(Error::syscall(Call::EpollCreate, errno)))?;
        Ok(Epoll { fd })
    }

    /// Wraps an epoll descriptor from elsewhere (through `From<OwnedDescriptor>`).
    pub(crate) fn from_descriptor(fd: OwnedDescriptor) -> Epoll {
        Epoll { fd }
    }

    fn ctl<F: AsDescriptor + ?Sized>(
        &self,
        op: u32,
        fd: &F,
        event: EpollEvent,
    ) -> Result<(), Error> {
        sys::epoll_ctl(self.fd.as_raw(), op, fd.as_descriptor().as_raw(), &event)
            .map_err(|errno| Error::syscall(Call::EpollCtl, errno))
    }

    /// Starts watching `fd` for `readiness`; reports carry `token`.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] from `epoll_ctl`: `EEXIST` if `fd` is already registered,
    /// `EPERM` if it cannot be polled (a regular file, a directory), `ENOSPC` past
    /// `fs.epoll.max_user_watches`, `EINVAL` if `fd` is this instance itself.
    ///
    /// # References
    ///
    /// [epoll_ctl(2)](https://man7.org/linux/man-pages/man2/epoll_ctl.2.html) (`EPOLL_CTL_ADD`)
    #[doc(alias("epoll_ctl", "EPOLL_CTL_ADD"))]
    pub fn add<F: AsDescriptor + ?Sized>(
        &self,
        fd: &F,
        readiness: Readiness,
        token: u64,
    ) -> Result<(), Error> {
        self.ctl(sys::EPOLL_CTL_ADD, fd, EpollEvent::new(readiness, token))
    }

    /// Changes what `fd` is watched for, and its token.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] from `epoll_ctl`: `ENOENT` if `fd` is not registered.
    ///
    /// # References
    ///
    /// [epoll_ctl(2)](https://man7.org/linux/man-pages/man2/epoll_ctl.2.html) (`EPOLL_CTL_MOD`)
    #[doc(alias("epoll_ctl", "EPOLL_CTL_MOD"))]
    pub fn modify<F: AsDescriptor + ?Sized>(
        &self,
        fd: &F,
        readiness: Readiness,
        token: u64,
    ) -> Result<(), Error> {
        self.ctl(sys::EPOLL_CTL_MOD, fd, EpollEvent::new(readiness, token))
    }

    /// Stops watching `fd`.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] from `epoll_ctl`: `ENOENT` if `fd` is not registered.
    ///
    /// # References
    ///
    /// [epoll_ctl(2)](https://man7.org/linux/man-pages/man2/epoll_ctl.2.html) (`EPOLL_CTL_DEL`)
    #[doc(alias("epoll_ctl", "EPOLL_CTL_DEL"))]
    pub fn delete<F: AsDescriptor + ?Sized>(&self, fd: &F) -> Result<(), Error> {
        self.ctl(sys::EPOLL_CTL_DEL, fd, EpollEvent::default())
    }

    /// Waits until a watched descriptor is ready or `timeout` passes (`None`: no limit),
    /// fills `events`, and returns how many it filled: 0 means the timeout passed.
    ///
    /// Timeouts are rounded up to whole milliseconds and saturate at about 24.8 days.
    /// `on_interrupt` decides what a signal does: return `EINTR`, or wait again for the
    /// time left.
    ///
    /// # Errors
    ///
    /// - [`Error::BufferTooSmall`] (`len: 0, min: 1`, counted in events) for an empty
    ///   `events` slice, before any call.
    /// - [`Error::Syscall`] from `epoll_pwait`: `EINTR` when a signal came and
    ///   `on_interrupt` is [`OnInterrupt::Return`] ([`Error::is_interrupted`]).
    /// - [`Error::Syscall`] from `clock_gettime`, when a deadline is needed (a retry
    ///   after a signal, a timeout past 24.8 days): only on a kernel without
    ///   `CLOCK_MONOTONIC`.
    ///
    /// # References
    ///
    /// [epoll_pwait(2)](https://man7.org/linux/man-pages/man2/epoll_pwait.2.html)
    #[doc(alias("epoll_pwait", "epoll_wait"))]
    pub fn wait(
        &self,
        events: &mut [EpollEvent],
        timeout: Option<Duration>,
        on_interrupt: OnInterrupt,
    ) -> Result<usize, Error> {
        if events.is_empty() {
            return Err(Error::BufferTooSmall { len: 0, min: 1 });
        }
        // A deadline is needed to retry after a signal with the time left, and to keep
        // waiting past the longest timeout one call takes (about 24.8 days).
        let needs_deadline = match timeout {
            Some(timeout) => {
                on_interrupt == OnInterrupt::Retry || timeout_to_millis(Some(timeout)) == i32::MAX
            }
            None => false,
        };
        let deadline = match timeout {
            Some(timeout) if needs_deadline => Some(MonotonicTime::now()?.saturating_add(timeout)),
            _ => None,
        };
        let mut wait_for = timeout;
        loop {
            match sys::epoll_pwait(self.fd.as_raw(), events, timeout_to_millis(wait_for)) {
                Ok(0) if deadline.is_some() => {}
                Ok(ready) => return Ok(ready),
                Err(errno) => {
                    let error = Error::syscall(Call::EpollWait, errno);
                    if !(error.is_interrupted() && on_interrupt == OnInterrupt::Retry) {
                        return Err(error);
                    }
                }
            }
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(MonotonicTime::now()?);
                if left.is_zero() {
                    return Ok(0);
                }
                wait_for = Some(left);
            }
        }
    }
}

impl_descriptor_traits!(Epoll);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_milliseconds_and_saturate() {
        let ms = |d: Duration| timeout_to_millis(Some(d));
        assert_eq!(timeout_to_millis(None), -1, "no timeout waits forever");
        assert_eq!(ms(Duration::ZERO), 0);
        assert_eq!(ms(Duration::from_nanos(1)), 1);
        assert_eq!(ms(Duration::from_nanos(999_999)), 1);
        assert_eq!(ms(Duration::from_millis(1)), 1);
        assert_eq!(ms(Duration::from_nanos(1_000_001)), 2);
        assert_eq!(ms(Duration::from_micros(1500)), 2);
        assert_eq!(ms(Duration::from_millis(50)), 50);
        assert_eq!(ms(Duration::new(3, 999_999_999)), 4000);
        let max = i32::MAX as u64;
        assert_eq!(ms(Duration::from_millis(max - 1)), i32::MAX - 1);
        assert_eq!(ms(Duration::from_millis(max)), i32::MAX);
        assert_eq!(
            ms(Duration::from_millis(max) - Duration::from_nanos(1)),
            i32::MAX
        );
        assert_eq!(ms(Duration::from_millis(max + 1)), i32::MAX);
        assert_eq!(ms(Duration::from_secs(1 << 40)), i32::MAX);
        assert_eq!(ms(Duration::MAX), i32::MAX);
    }
}
