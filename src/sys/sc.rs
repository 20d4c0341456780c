//! The optional backend that issues every call through the `sc` crate.
//!
//! Same functions, same numbers, someone else's assembly: useful on a target this crate
//! has no assembly for, and as a cross-check of the built-in backend.

pub(crate) use sc::{syscall1, syscall2, syscall3, syscall4, syscall5, syscall6};

/// System-call numbers, as the `sc` crate lists them for this target.
///
/// Each constant is the number of the system call of the same name.
pub(crate) mod nr {
    pub(crate) use sc::nr::{
        CLOCK_GETTIME, CLOSE, EPOLL_CREATE1, EPOLL_CTL, EPOLL_PWAIT, EXIT_GROUP, FANOTIFY_INIT,
        FANOTIFY_MARK, FCNTL, FSTATFS, GETDENTS64, INOTIFY_ADD_WATCH, INOTIFY_INIT1,
        INOTIFY_RM_WATCH, NAME_TO_HANDLE_AT, OPENAT, OPEN_BY_HANDLE_AT, PRLIMIT64, READ,
        READLINKAT, STATX, WRITE,
    };
    // Only the tree's reader asks how much is queued.
    #[cfg(feature = "std")]
    pub(crate) use sc::nr::IOCTL;
}

/// Issues system call `n`, which does not return, with one argument.
///
/// # Safety
/// `n` must be a call that never returns, such as `exit_group`.
pub(crate) unsafe fn syscall1_noreturn(n: usize, a1: usize) -> ! {
    sc::syscall1(n, a1);
    // exit_group does not return; should the kernel ever refuse, spin rather than fall
    // through into code that assumes the process is gone.
    loop {
        core::hint::spin_loop();
    }
}
