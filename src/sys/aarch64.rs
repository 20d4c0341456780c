//! aarch64: the `svc #0` instruction and this architecture's system-call numbers.
//!
//! The number goes in `x8` and the arguments in `x0` to `x5`; the result comes back in
//! `x0`. No other general-purpose register is changed. The kernel may discard SVE state
//! (the vector bits above 128); the NEON registers this target's code uses are kept.

use core::arch::asm;

/// System-call numbers for aarch64 (the generic table, `include/uapi/asm-generic/unistd.h`).
///
/// Each constant is the number of the system call of the same name.
#[allow(missing_docs)]
pub(crate) mod nr {
    pub(crate) const EPOLL_CREATE1: usize = 20;
    pub(crate) const EPOLL_CTL: usize = 21;
    pub(crate) const EPOLL_PWAIT: usize = 22;
    pub(crate) const FCNTL: usize = 25;
    // Only the tree's reader asks how much is queued.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) const IOCTL: usize = 29;
    pub(crate) const FSTATFS: usize = 44;
    pub(crate) const INOTIFY_INIT1: usize = 26;
    pub(crate) const INOTIFY_ADD_WATCH: usize = 27;
    pub(crate) const INOTIFY_RM_WATCH: usize = 28;
    pub(crate) const OPENAT: usize = 56;
    pub(crate) const CLOSE: usize = 57;
    pub(crate) const GETDENTS64: usize = 61;
    pub(crate) const READ: usize = 63;
    pub(crate) const WRITE: usize = 64;
    pub(crate) const READLINKAT: usize = 78;
    pub(crate) const EXIT_GROUP: usize = 94;
    pub(crate) const CLOCK_GETTIME: usize = 113;
    pub(crate) const PRLIMIT64: usize = 261;
    pub(crate) const FANOTIFY_INIT: usize = 262;
    pub(crate) const FANOTIFY_MARK: usize = 263;
    pub(crate) const NAME_TO_HANDLE_AT: usize = 264;
    pub(crate) const OPEN_BY_HANDLE_AT: usize = 265;
    pub(crate) const STATX: usize = 291;
}

/// Issues system call `n` with one argument.
///
/// # Safety
/// The call must be sound for the kernel to perform: any pointer among the arguments
/// must be valid for what the call does with it.
#[inline(always)]
pub(crate) unsafe fn syscall1(n: usize, a1: usize) -> usize {
    let ret;
    asm!("svc 0", in("x8") n, inlateout("x0") a1 => ret, options(nostack, preserves_flags));
    ret
}

/// Issues system call `n` with two arguments.
///
/// # Safety
/// As for [`syscall1`].
#[inline(always)]
pub(crate) unsafe fn syscall2(n: usize, a1: usize, a2: usize) -> usize {
    let ret;
    asm!("svc 0", in("x8") n, inlateout("x0") a1 => ret, in("x1") a2,
        options(nostack, preserves_flags));
    ret
}

/// Issues system call `n` with three arguments.
///
/// # Safety
/// As for [`syscall1`].
#[inline(always)]
pub(crate) unsafe fn syscall3(n: usize, a1: usize, a2: usize, a3: usize) -> usize {
    let ret;
    asm!("svc 0", in("x8") n, inlateout("x0") a1 => ret, in("x1") a2, in("x2") a3,
        options(nostack, preserves_flags));
    ret
}

/// Issues system call `n` with four arguments.
///
/// # Safety
/// As for [`syscall1`].
#[inline(always)]
pub(crate) unsafe fn syscall4(n: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> usize {
    let ret;
    asm!("svc 0", in("x8") n, inlateout("x0") a1 => ret, in("x1") a2, in("x2") a3,
        in("x3") a4, options(nostack, preserves_flags));
    ret
}

/// Issues system call `n` with five arguments.
///
/// # Safety
/// As for [`syscall1`].
#[inline(always)]
pub(crate) unsafe fn syscall5(
    n: usize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
) -> usize {
    let ret;
    asm!("svc 0", in("x8") n, inlateout("x0") a1 => ret, in("x1") a2, in("x2") a3,
        in("x3") a4, in("x4") a5, options(nostack, preserves_flags));
    ret
}

/// Issues system call `n` with six arguments.
///
/// # Safety
/// As for [`syscall1`].
#[inline(always)]
pub(crate) unsafe fn syscall6(
    n: usize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
    a6: usize,
) -> usize {
    let ret;
    asm!("svc 0", in("x8") n, inlateout("x0") a1 => ret, in("x1") a2, in("x2") a3,
        in("x3") a4, in("x4") a5, in("x5") a6, options(nostack, preserves_flags));
    ret
}

/// Issues system call `n`, which does not return, with one argument.
///
/// # Safety
/// `n` must be a call that never returns, such as `exit_group`.
#[inline(always)]
pub(crate) unsafe fn syscall1_noreturn(n: usize, a1: usize) -> ! {
    asm!("svc 0", in("x8") n, in("x0") a1, options(noreturn, nostack));
}
