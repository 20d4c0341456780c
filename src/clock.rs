//! [`MonotonicTime`]: the monotonic clock, read with `clock_gettime` (no libc, no vDSO).

use core::time::Duration;

use crate::error::{Call, Error};
use crate::sys::{self, CLOCK_MONOTONIC};

/// A reading of `CLOCK_MONOTONIC`: time since an arbitrary start, never going back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct MonotonicTime(Duration);

impl MonotonicTime {
    /// The time now. (Not inlined: a system call costs more than a call, and the
    /// callers are many.)
    #[inline(never)]
    pub(crate) fn now() -> Result<MonotonicTime, Error> {
        let now = sys::clock_gettime(CLOCK_MONOTONIC)
            .map_err(|errno| Error::syscall(Call::ClockGettime, errno))?;
        let secs = u64::try_from(now.tv_sec).unwrap_or(0);
        let nanos = u32::try_from(now.tv_nsec).unwrap_or(0).min(999_999_999);
        Ok(MonotonicTime(Duration::new(secs, nanos)))
    }

    /// `self + duration`, or the farthest representable time.
    pub(crate) fn saturating_add(self, duration: Duration) -> MonotonicTime {
        MonotonicTime(self.0.checked_add(duration).unwrap_or(Duration::MAX))
    }

    /// How long from `earlier` to `self`; zero if `earlier` is later.
    pub(crate) fn saturating_duration_since(self, earlier: MonotonicTime) -> Duration {
        self.0.checked_sub(earlier.0).unwrap_or(Duration::ZERO)
    }
}
