//! The few raw system calls a program with no libc needs besides inotify: writing its
//! output and ending the process. Everything else goes through the crate's types.

use crate::fd::BorrowedDescriptor;
use crate::sys;
use crate::sys::Errno;

/// `write(2)`: writes up to `bytes.len()` bytes to `fd` and returns how many were
/// written (possibly fewer: call again with the rest).
///
/// # Errors
/// The errno: `EINTR` if a signal came first, `EAGAIN` on a full non-blocking
/// descriptor, `EPIPE` when a pipe's reader is gone, `EBADF` when `fd` is not open for
/// writing.
///
/// # References
/// [write(2)](https://man7.org/linux/man-pages/man2/write.2.html)
///
/// ```
/// use inotify_raw::raw;
/// use inotify_raw::BorrowedDescriptor;
///
/// raw::write(BorrowedDescriptor::STDOUT, b"hello\n")?;
/// # Ok::<(), inotify_raw::Errno>(())
/// ```
pub fn write(fd: BorrowedDescriptor<'_>, bytes: &[u8]) -> Result<usize, Errno> {
    sys::write(fd.as_raw(), bytes)
}

/// `exit_group(2)`: ends every thread of the process with `status`. Nothing is flushed
/// and no destructor runs.
///
/// # References
/// [exit_group(2)](https://man7.org/linux/man-pages/man2/exit_group.2.html)
#[doc(alias = "_exit")]
pub fn exit_group(status: i32) -> ! {
    sys::exit_group(status)
}
