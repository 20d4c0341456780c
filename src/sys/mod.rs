//! Raw Linux system calls: the only module with inline assembly and system-call numbers,
//! and the bottom layer: it imports nothing else of the crate.
//!
//! Each function here issues one system call and decodes its result with
//! [`Errno::decode`]; nothing is retried, nothing is allocated. Descriptors are plain
//! [`RawFd`] integers at this level; the owning types live in `crate::fd` and above.
//! Everything here is crate-private; `crate::raw` re-exports the few calls a program
//! with no libc needs.
//!
//! The calls go through this crate's own assembly (`x86_64.rs`, `aarch64.rs`), or through
//! the `sc` crate when the `sc` feature is on.

mod errno;
mod fanotify;

pub use errno::Errno;
pub(crate) use fanotify::*;

#[cfg(not(target_os = "linux"))]
compile_error!("inotify-raw speaks to the Linux kernel: it builds for target_os = \"linux\" only");

// The flag values, errno numbers and structure layouts here are those of x86_64,
// aarch64 and riscv64 (64-bit, generic errno table); other targets differ in some of them.
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
)))]
compile_error!(
    "inotify-raw supports x86_64 and aarch64 (its own assembly) and riscv64 (with the `sc` \
     feature): other targets have other flag values, errno numbers or structure layouts"
);

#[cfg(not(any(feature = "sc", target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!(
    "inotify-raw has its own system-call assembly for x86_64 and aarch64 only; \
     on this target enable the `sc` feature to issue calls through the `sc` crate"
);

/// The built-in backend for x86_64: inline `syscall`. Built with `sc` too, so that a test
/// can compare the two.
#[cfg(target_arch = "x86_64")]
#[cfg_attr(feature = "sc", allow(dead_code))]
#[path = "x86_64.rs"]
pub(crate) mod asm;

/// The built-in backend for aarch64: inline `svc #0`. Built with `sc` too, so that a test
/// can compare the two.
#[cfg(target_arch = "aarch64")]
#[cfg_attr(feature = "sc", allow(dead_code))]
#[path = "aarch64.rs"]
pub(crate) mod asm;

/// The `sc` crate's backend.
#[cfg(feature = "sc")]
#[path = "sc.rs"]
pub(crate) mod sc_backend;

#[cfg(feature = "sc")]
use sc_backend as backend;

#[cfg(not(feature = "sc"))]
use asm as backend;

use backend::nr;

#[cfg(all(test, feature = "sc"))]
mod backends_test;

/// A raw file descriptor number, as the kernel sees it.
pub(crate) type RawFd = i32;

/// `PATH_MAX`: the most bytes the kernel accepts for a path, its final NUL included.
pub const PATH_MAX: usize = 4096;

/// `NAME_MAX`: the longest file name, in bytes.
pub const NAME_MAX: usize = 255;

/// A byte string that ends in its only NUL byte, ready to hand to the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NulTerminated<'a>(&'a [u8]);

impl<'a> NulTerminated<'a> {
    /// Checks that `bytes` ends in a NUL and has no other. Returns `None` otherwise.
    /// A `const fn`, so a constant path is checked at compile time.
    pub(crate) const fn new(bytes: &'a [u8]) -> Option<NulTerminated<'a>> {
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == 0 {
                return if i + 1 == bytes.len() {
                    Some(NulTerminated(bytes))
                } else {
                    None
                };
            }
            i += 1;
        }
        None
    }

    /// `bytes` up to and including position `nul`, if a NUL is there. Unlike
    /// [`new`](NulTerminated::new) it looks for no other NUL: for buffers built from
    /// bytes that were checked already. (Were one there, the kernel would see the path
    /// up to it; it never reads past the final NUL either way.)
    pub(crate) fn up_to_nul(bytes: &'a [u8], nul: usize) -> Option<NulTerminated<'a>> {
        match bytes.get(..=nul) {
            Some(with_nul @ [.., 0]) => Some(NulTerminated(with_nul)),
            _ => None,
        }
    }

    /// The bytes before the NUL.
    pub(crate) fn to_bytes(self) -> &'a [u8] {
        self.0.split_last().map(|(_, before)| before).unwrap_or(&[])
    }

    /// A pointer to the first byte, for a system call.
    pub(crate) fn as_ptr(self) -> *const u8 {
        self.0.as_ptr()
    }
}

/// `AT_FDCWD`: resolve a relative path from the current directory.
pub(crate) const AT_FDCWD: RawFd = -100;

/// `O_RDONLY`.
pub(crate) const O_RDONLY: u32 = 0;
/// `O_NONBLOCK`.
pub(crate) const O_NONBLOCK: u32 = 0o4000;
/// `O_CLOEXEC`.
pub(crate) const O_CLOEXEC: u32 = 0o2_000_000;
/// `O_DIRECTORY`: 0o200000 in the generic table (x86_64, riscv64), 0o40000 on aarch64.
#[cfg(not(target_arch = "aarch64"))]
pub(crate) const O_DIRECTORY: u32 = 0o200_000;
/// `O_DIRECTORY`: 0o200000 in the generic table (x86_64, riscv64), 0o40000 on aarch64.
#[cfg(target_arch = "aarch64")]
pub(crate) const O_DIRECTORY: u32 = 0o40_000;
/// `O_NOFOLLOW`: 0o400000 in the generic table (x86_64, riscv64), 0o100000 on aarch64.
#[cfg(not(target_arch = "aarch64"))]
pub(crate) const O_NOFOLLOW: u32 = 0o400_000;
/// `O_NOFOLLOW`: 0o400000 in the generic table (x86_64, riscv64), 0o100000 on aarch64.
#[cfg(target_arch = "aarch64")]
pub(crate) const O_NOFOLLOW: u32 = 0o100_000;

/// `AT_SYMLINK_NOFOLLOW`: for `statx`, describe a symbolic link itself.
pub(crate) const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
/// `STATX_TYPE | STATX_MODE | STATX_INO`: the fields a directory walk needs.
pub(crate) const STATX_TYPE_MODE_INO: u32 = 0x1 | 0x2 | 0x100;
/// `STATX_NLINK`: the link count.
pub(crate) const STATX_NLINK: u32 = 0x4;
/// `AT_EMPTY_PATH`: for `statx`, describe the descriptor itself when the path is empty.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(crate) const AT_EMPTY_PATH: u32 = 0x1000;
/// `O_PATH`: a descriptor that only names an object: it cannot be read, and opening and
/// closing it raise no inotify event.
pub(crate) const O_PATH: u32 = 0o10_000_000;

/// `F_GETFL`: read a descriptor's status flags.
pub(crate) const F_GETFL: u32 = 3;
/// `F_SETFL`: set a descriptor's status flags.
pub(crate) const F_SETFL: u32 = 4;

/// `CLOCK_MONOTONIC`.
pub(crate) const CLOCK_MONOTONIC: u32 = 1;

/// `EPOLL_CTL_ADD`.
pub(crate) const EPOLL_CTL_ADD: u32 = 1;
/// `EPOLL_CTL_DEL`.
pub(crate) const EPOLL_CTL_DEL: u32 = 2;
/// `EPOLL_CTL_MOD`.
pub(crate) const EPOLL_CTL_MOD: u32 = 3;

/// `struct epoll_event`: packed on x86_64 (12 bytes), naturally aligned elsewhere (16).
#[cfg_attr(target_arch = "x86_64", repr(C, packed))]
#[cfg_attr(not(target_arch = "x86_64"), repr(C))]
#[derive(Clone, Copy, Default)]
pub struct EpollEvent {
    /// The `EPOLL*` readiness bits.
    pub events: u32,
    /// The caller's value, given back with each readiness report.
    pub data: u64,
}

impl core::fmt::Debug for EpollEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Copy the fields out: references into a packed struct are not allowed.
        let (events, data) = (self.events, self.data);
        f.debug_struct("EpollEvent")
            .field("events", &events)
            .field("data", &data)
            .finish()
    }
}

/// `struct timespec` on 64-bit Linux.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds, `0..1_000_000_000`.
    pub tv_nsec: i64,
}

/// `struct statx_timestamp`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StatxTimestamp {
    /// Seconds since the epoch.
    pub tv_sec: i64,
    /// Nanoseconds.
    pub tv_nsec: u32,
    reserved: i32,
}

/// `struct statx`: 256 bytes, the same layout on every architecture.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Statx {
    /// Which fields the kernel filled in (`STATX_*`).
    pub stx_mask: u32,
    /// Preferred I/O block size.
    pub stx_blksize: u32,
    /// `STATX_ATTR_*` flags.
    pub stx_attributes: u64,
    /// Hard-link count.
    pub stx_nlink: u32,
    /// Owner.
    pub stx_uid: u32,
    /// Group.
    pub stx_gid: u32,
    /// File type and permission bits (`S_IFMT` and the mode).
    pub stx_mode: u16,
    spare0: u16,
    /// Inode number.
    pub stx_ino: u64,
    /// Size in bytes.
    pub stx_size: u64,
    /// 512-byte blocks allocated.
    pub stx_blocks: u64,
    /// Which `STATX_ATTR_*` flags are supported.
    pub stx_attributes_mask: u64,
    /// Last access.
    pub stx_atime: StatxTimestamp,
    /// Creation.
    pub stx_btime: StatxTimestamp,
    /// Last status change.
    pub stx_ctime: StatxTimestamp,
    /// Last modification.
    pub stx_mtime: StatxTimestamp,
    /// Device number, for a device file: major.
    pub stx_rdev_major: u32,
    /// Device number, for a device file: minor.
    pub stx_rdev_minor: u32,
    /// Device holding the file: major.
    pub stx_dev_major: u32,
    /// Device holding the file: minor.
    pub stx_dev_minor: u32,
    /// Mount ID.
    pub stx_mnt_id: u64,
    spare: [u64; 13],
}

/// A descriptor number as a system-call argument (sign-extended, as the kernel expects).
#[inline(always)]
fn fd_arg(fd: RawFd) -> usize {
    fd as isize as usize
}

/// A descriptor number from a successful system call: always in `0..=i32::MAX`.
#[inline(always)]
fn fd_result(ret: Result<usize, Errno>) -> Result<RawFd, Errno> {
    ret.map(|n| n as RawFd)
}

/// `read(2)`: reads up to `buf.len()` bytes from `fd`. Returns how many; 0 means end of
/// file.
#[inline]
pub(crate) fn read(fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, which we borrow
    // mutably for the call.
    Errno::decode(unsafe {
        backend::syscall3(nr::READ, fd_arg(fd), buf.as_mut_ptr() as usize, buf.len())
    })
}

/// `write(2)`: writes up to `buf.len()` bytes to `fd`. Returns how many.
#[inline]
pub(crate) fn write(fd: RawFd, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel reads at most `buf.len()` bytes from `buf`.
    Errno::decode(unsafe {
        backend::syscall3(nr::WRITE, fd_arg(fd), buf.as_ptr() as usize, buf.len())
    })
}

/// `close(2)`.
///
/// # Safety
/// `fd` must be open and owned by the caller, and must not be used again: another thread
/// may be handed the same number by its next `open`.
#[inline]
pub(crate) unsafe fn close(fd: RawFd) -> Result<(), Errno> {
    Errno::decode(backend::syscall1(nr::CLOSE, fd_arg(fd))).map(drop)
}

/// `exit_group(2)`: ends every thread of the process with `status`.
pub(crate) fn exit_group(status: i32) -> ! {
    // SAFETY: exit_group takes no pointer and never returns.
    unsafe { backend::syscall1_noreturn(nr::EXIT_GROUP, status as isize as usize) }
}

/// `inotify_init1(2)`: a new inotify instance. `flags` is `IN_CLOEXEC`/`IN_NONBLOCK`.
#[inline]
pub(crate) fn inotify_init1(flags: u32) -> Result<RawFd, Errno> {
    // SAFETY: no pointer arguments.
    fd_result(Errno::decode(unsafe {
        backend::syscall1(nr::INOTIFY_INIT1, flags as usize)
    }))
}

/// `inotify_add_watch(2)`: watches `path` for the events in `mask`. Returns the watch
/// descriptor.
#[inline]
pub(crate) fn inotify_add_watch(
    fd: RawFd,
    path: NulTerminated<'_>,
    mask: u32,
) -> Result<i32, Errno> {
    // SAFETY: `path` is NUL-terminated, so the kernel's string copy stays inside it.
    let ret = unsafe {
        backend::syscall3(
            nr::INOTIFY_ADD_WATCH,
            fd_arg(fd),
            path.as_ptr() as usize,
            mask as usize,
        )
    };
    Errno::decode(ret).map(|wd| wd as i32)
}

/// `inotify_rm_watch(2)`: removes watch `wd`.
#[inline]
pub(crate) fn inotify_rm_watch(fd: RawFd, wd: i32) -> Result<(), Errno> {
    // SAFETY: no pointer arguments.
    Errno::decode(unsafe {
        backend::syscall2(nr::INOTIFY_RM_WATCH, fd_arg(fd), wd as isize as usize)
    })
    .map(drop)
}

/// `epoll_create1(2)`. `flags` is `EPOLL_CLOEXEC` or 0.
#[inline]
pub(crate) fn epoll_create1(flags: u32) -> Result<RawFd, Errno> {
    // SAFETY: no pointer arguments.
    fd_result(Errno::decode(unsafe {
        backend::syscall1(nr::EPOLL_CREATE1, flags as usize)
    }))
}

/// `epoll_ctl(2)`: `op` is `EPOLL_CTL_ADD`, `EPOLL_CTL_MOD` or `EPOLL_CTL_DEL`.
#[inline]
pub(crate) fn epoll_ctl(epfd: RawFd, op: u32, fd: RawFd, event: &EpollEvent) -> Result<(), Errno> {
    // SAFETY: the kernel reads one `epoll_event` from `event`, which we borrow.
    Errno::decode(unsafe {
        backend::syscall4(
            nr::EPOLL_CTL,
            fd_arg(epfd),
            op as usize,
            fd_arg(fd),
            event as *const EpollEvent as usize,
        )
    })
    .map(drop)
}

/// `epoll_pwait(2)` with no signal mask: waits up to `timeout_ms` (-1: forever) and fills
/// `events`. Returns how many entries were filled.
#[inline]
pub(crate) fn epoll_pwait(
    epfd: RawFd,
    events: &mut [EpollEvent],
    timeout_ms: i32,
) -> Result<usize, Errno> {
    // The kernel refuses more than INT_MAX / sizeof(struct epoll_event) entries.
    let max = events
        .len()
        .min(i32::MAX as usize / core::mem::size_of::<EpollEvent>());
    // SAFETY: the kernel writes at most `max` entries into `events`, which we borrow
    // mutably; the null signal mask means "leave the mask alone".
    Errno::decode(unsafe {
        backend::syscall6(
            nr::EPOLL_PWAIT,
            fd_arg(epfd),
            events.as_mut_ptr() as usize,
            max,
            timeout_ms as isize as usize,
            0,
            8,
        )
    })
}

/// `getdents64(2)`: reads directory entries (`struct linux_dirent64` records) into `buf`.
/// Returns how many bytes; 0 at the end of the directory.
#[inline]
pub(crate) fn getdents64(fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
    Errno::decode(unsafe {
        backend::syscall3(
            nr::GETDENTS64,
            fd_arg(fd),
            buf.as_mut_ptr() as usize,
            buf.len(),
        )
    })
}

/// `openat(2)`: opens `path` relative to `dirfd` (or [`AT_FDCWD`]).
#[inline]
pub(crate) fn openat(
    dirfd: RawFd,
    path: NulTerminated<'_>,
    flags: u32,
    mode: u32,
) -> Result<RawFd, Errno> {
    // SAFETY: `path` is NUL-terminated.
    fd_result(Errno::decode(unsafe {
        backend::syscall4(
            nr::OPENAT,
            fd_arg(dirfd),
            path.as_ptr() as usize,
            flags as usize,
            mode as usize,
        )
    }))
}

/// `statx(2)`: describes `path` relative to `dirfd`, filling the fields in `mask`.
#[inline]
pub(crate) fn statx(
    dirfd: RawFd,
    path: NulTerminated<'_>,
    flags: u32,
    mask: u32,
    out: &mut Statx,
) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated; the kernel writes one `struct statx` into `out`.
    Errno::decode(unsafe {
        backend::syscall5(
            nr::STATX,
            fd_arg(dirfd),
            path.as_ptr() as usize,
            flags as usize,
            mask as usize,
            out as *mut Statx as usize,
        )
    })
    .map(drop)
}

/// `readlinkat(2)`: reads the target of the symbolic link `path` (relative to `dirfd`)
/// into `buf`, without a NUL. Returns how many bytes; a result of `buf.len()` may mean
/// the target was cut short.
#[inline]
pub(crate) fn readlinkat(
    dirfd: RawFd,
    path: NulTerminated<'_>,
    buf: &mut [u8],
) -> Result<usize, Errno> {
    // SAFETY: `path` is NUL-terminated; the kernel writes at most `buf.len()` bytes into
    // `buf`, which we borrow mutably for the call.
    Errno::decode(unsafe {
        backend::syscall4(
            nr::READLINKAT,
            fd_arg(dirfd),
            path.as_ptr() as usize,
            buf.as_mut_ptr() as usize,
            buf.len(),
        )
    })
}

/// `fcntl(fd, F_GETFL)`: the descriptor's status flags (`O_NONBLOCK`, ...).
#[inline]
pub(crate) fn fcntl_getfl(fd: RawFd) -> Result<u32, Errno> {
    // SAFETY: F_GETFL takes no argument.
    Errno::decode(unsafe { backend::syscall3(nr::FCNTL, fd_arg(fd), F_GETFL as usize, 0) })
        .map(|flags| flags as u32)
}

/// `fcntl(fd, F_SETFL, flags)`: sets the descriptor's status flags.
#[inline]
pub(crate) fn fcntl_setfl(fd: RawFd, flags: u32) -> Result<(), Errno> {
    // SAFETY: F_SETFL takes an integer, not a pointer.
    Errno::decode(unsafe {
        backend::syscall3(nr::FCNTL, fd_arg(fd), F_SETFL as usize, flags as usize)
    })
    .map(drop)
}

/// `FIONREAD`: how many bytes a read of the descriptor would find now.
#[cfg(feature = "std")]
const FIONREAD: usize = 0x541b;

/// `ioctl(fd, FIONREAD, &len)`: how many bytes are queued for reading on `fd` (for an
/// inotify instance, the length of the events it holds).
#[cfg(feature = "std")]
#[inline]
pub(crate) fn queued_bytes(fd: RawFd) -> Result<usize, Errno> {
    let mut len: i32 = 0;
    // SAFETY: for FIONREAD the kernel writes one `int` into `len`.
    Errno::decode(unsafe {
        backend::syscall3(
            nr::IOCTL,
            fd_arg(fd),
            FIONREAD,
            &mut len as *mut i32 as usize,
        )
    })?;
    Ok(len.max(0) as usize)
}

/// `RLIMIT_NOFILE`: the limit on the descriptor numbers a process may open.
pub(crate) const RLIMIT_NOFILE: u32 = 7;

/// `prlimit64(0, resource, NULL, &old)`: this process's soft limit on `resource`
/// (`RLIM_INFINITY`, `u64::MAX`, for none).
#[inline]
pub(crate) fn soft_rlimit(resource: u32) -> Result<u64, Errno> {
    // struct rlimit64: the soft limit, then the hard one.
    let mut limits = [0u64; 2];
    // SAFETY: the kernel writes one `struct rlimit64` (two u64) into `limits`; the null
    // new-limit pointer means "change nothing".
    Errno::decode(unsafe {
        backend::syscall4(
            nr::PRLIMIT64,
            0,
            resource as usize,
            0,
            limits.as_mut_ptr() as usize,
        )
    })?;
    Ok(limits[0])
}

/// `clock_gettime(2)` for `clock` (such as [`CLOCK_MONOTONIC`]).
#[inline]
pub(crate) fn clock_gettime(clock: u32) -> Result<Timespec, Errno> {
    let mut now = Timespec::default();
    // SAFETY: the kernel writes one `struct timespec` into `now`.
    Errno::decode(unsafe {
        backend::syscall2(
            nr::CLOCK_GETTIME,
            clock as usize,
            &mut now as *mut Timespec as usize,
        )
    })?;
    Ok(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_struct_sizes() {
        assert_eq!(core::mem::size_of::<Statx>(), 256);
        assert_eq!(core::mem::size_of::<Timespec>(), 16);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(core::mem::size_of::<EpollEvent>(), 12);
        #[cfg(target_arch = "aarch64")]
        assert_eq!(core::mem::size_of::<EpollEvent>(), 16);
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn the_soft_descriptor_limit_is_what_proc_self_limits_says() {
        use std::string::ToString;
        let soft = soft_rlimit(RLIMIT_NOFILE).expect("prlimit64");
        let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
        let line = limits
            .lines()
            .find_map(|line| line.strip_prefix("Max open files"))
            .expect("a Max open files line");
        let field = line.split_whitespace().next().expect("the soft limit");
        let expected = if soft == u64::MAX {
            "unlimited".to_string()
        } else {
            soft.to_string()
        };
        assert_eq!(field, expected);
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn errors_come_back_decoded() {
        let mut buf = [0u8; 8];
        assert_eq!(read(-1, &mut buf), Err(Errno::EBADF));
        assert_eq!(inotify_rm_watch(-1, 1), Err(Errno::EBADF));
    }
}
