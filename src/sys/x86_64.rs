//! x86_64: the `syscall` instruction and this architecture's system-call numbers.
//!
//! The number goes in `rax` and the arguments in `rdi`, `rsi`, `rdx`, `r10`, `r8`, `r9`;
//! the result comes back in `rax`. The instruction overwrites `rcx` (return address) and
//! `r11` (saved flags), and restores the flags before returning.

use core::arch::asm;

/// System-call numbers for x86_64 (`arch/x86/entry/syscalls/syscall_64.tbl`).
///
/// Each constant is the number of the system call of the same name.
#[allow(missing_docs)]
pub(crate) mod nr {
    pub(crate) const READ: usize = 0;
    pub(crate) const WRITE: usize = 1;
    pub(crate) const CLOSE: usize = 3;
    // Only the tree's reader asks how much is queued.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) const IOCTL: usize = 16;
    pub(crate) const FCNTL: usize = 72;
    pub(crate) const FSTATFS: usize = 138;
    pub(crate) const GETDENTS64: usize = 217;
    pub(crate) const CLOCK_GETTIME: usize = 228;
    pub(crate) const EXIT_GROUP: usize = 231;
    pub(crate) const EPOLL_CTL: usize = 233;
    pub(crate) const INOTIFY_ADD_WATCH: usize = 254;
    pub(crate) const INOTIFY_RM_WATCH: usize = 255;
    pub(crate) const OPENAT: usize = 257;
    pub(crate) const READLINKAT: usize = 267;
    pub(crate) const EPOLL_PWAIT: usize = 281;
    pub(crate) const EPOLL_CREATE1: usize = 291;
    pub(crate) const INOTIFY_INIT1: usize = 294;
    pub(crate) const FANOTIFY_INIT: usize = 300;
    pub(crate) const FANOTIFY_MARK: usize = 301;
    pub(crate) const PRLIMIT64: usize = 302;
    pub(crate) const NAME_TO_HANDLE_AT: usize = 303;
    pub(crate) const OPEN_BY_HANDLE_AT: usize = 304;
    pub(crate) const STATX: usize = 332;
}

/// Issues system call `n` with one argument.
///
/// # Safety
/// The call must be sound for the kernel to perform: any pointer among the arguments
/// must be valid for what the call does with it.
#[inline(always)]
pub(crate) unsafe fn syscall1(n: usize, a1: usize) -> usize {
    let ret;
    asm!("syscall", inlateout("rax") n => ret, in("rdi") a1,
        lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    ret
}

/// Issues system call `n` with two arguments.
///
/// # Safety
/// As for [`syscall1`].
#[inline(always)]
pub(crate) unsafe fn syscall2(n: usize, a1: usize, a2: usize) -> usize {
    let ret;
    asm!("syscall", inlateout("rax") n => ret, in("rdi") a1, in("rsi") a2,
        lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    ret
}

/// Issues system call `n` with three arguments.
///
/// # Safety
/// As for [`syscall1`].
#[inline(always)]
pub(crate) unsafe fn syscall3(n: usize, a1: usize, a2: usize, a3: usize) -> usize {
    let ret;
    asm!("syscall", inlateout("rax") n => ret, in("rdi") a1, in("rsi") a2, in("rdx") a3,
        lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    ret
}

/// Issues system call `n` with four arguments.
///
/// # Safety
/// As for [`syscall1`].
#[inline(always)]
pub(crate) unsafe fn syscall4(n: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> usize {
    let ret;
    asm!("syscall", inlateout("rax") n => ret, in("rdi") a1, in("rsi") a2, in("rdx") a3,
        in("r10") a4, lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
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
    asm!("syscall", inlateout("rax") n => ret, in("rdi") a1, in("rsi") a2, in("rdx") a3,
        in("r10") a4, in("r8") a5, lateout("rcx") _, lateout("r11") _,
        options(nostack, preserves_flags));
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
    asm!("syscall", inlateout("rax") n => ret, in("rdi") a1, in("rsi") a2, in("rdx") a3,
        in("r10") a4, in("r8") a5, in("r9") a6, lateout("rcx") _, lateout("r11") _,
        options(nostack, preserves_flags));
    ret
}

/// Issues system call `n`, which does not return, with one argument.
///
/// # Safety
/// `n` must be a call that never returns, such as `exit_group`.
#[inline(always)]
pub(crate) unsafe fn syscall1_noreturn(n: usize, a1: usize) -> ! {
    asm!("syscall", in("rax") n, in("rdi") a1, options(noreturn, nostack));
}
