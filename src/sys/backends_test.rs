//! With the `sc` feature, both system-call backends are built: this crate's own assembly
//! (`sys::asm`) and the `sc` crate (`sys::sc_backend`). They must agree on every number
//! and give the same results, errors included, for the same calls.

use super::{asm, sc_backend, EpollEvent, Errno, FileHandleStorage, Statx, Timespec};
use std::prelude::v1::*;

/// Runs the same raw call through both backends.
macro_rules! both {
    ($f:ident($($arg:expr),*)) => {{
        // SAFETY: each call below passes valid pointers (or none) for what it does.
        let ours = unsafe { asm::$f($($arg),*) };
        let theirs = unsafe { sc_backend::$f($($arg),*) };
        (Errno::decode(ours), Errno::decode(theirs))
    }};
}

fn close_both(fds: (Result<usize, Errno>, Result<usize, Errno>)) {
    for fd in [fds.0, fds.1] {
        let fd = fd.expect("a descriptor");
        // SAFETY: we own the descriptor the call above returned.
        unsafe { super::close(fd as i32).unwrap() };
    }
}

#[test]
fn numbers_agree() {
    let pairs = [
        (asm::nr::READ, sc_backend::nr::READ),
        (asm::nr::WRITE, sc_backend::nr::WRITE),
        (asm::nr::CLOSE, sc_backend::nr::CLOSE),
        (asm::nr::FCNTL, sc_backend::nr::FCNTL),
        (asm::nr::IOCTL, sc_backend::nr::IOCTL),
        (asm::nr::GETDENTS64, sc_backend::nr::GETDENTS64),
        (asm::nr::CLOCK_GETTIME, sc_backend::nr::CLOCK_GETTIME),
        (asm::nr::EXIT_GROUP, sc_backend::nr::EXIT_GROUP),
        (asm::nr::EPOLL_CTL, sc_backend::nr::EPOLL_CTL),
        (asm::nr::EPOLL_PWAIT, sc_backend::nr::EPOLL_PWAIT),
        (asm::nr::EPOLL_CREATE1, sc_backend::nr::EPOLL_CREATE1),
        (asm::nr::INOTIFY_INIT1, sc_backend::nr::INOTIFY_INIT1),
        (
            asm::nr::INOTIFY_ADD_WATCH,
            sc_backend::nr::INOTIFY_ADD_WATCH,
        ),
        (asm::nr::INOTIFY_RM_WATCH, sc_backend::nr::INOTIFY_RM_WATCH),
        (asm::nr::OPENAT, sc_backend::nr::OPENAT),
        (asm::nr::PRLIMIT64, sc_backend::nr::PRLIMIT64),
        (asm::nr::READLINKAT, sc_backend::nr::READLINKAT),
        (asm::nr::STATX, sc_backend::nr::STATX),
        (asm::nr::FSTATFS, sc_backend::nr::FSTATFS),
        (asm::nr::FANOTIFY_INIT, sc_backend::nr::FANOTIFY_INIT),
        (asm::nr::FANOTIFY_MARK, sc_backend::nr::FANOTIFY_MARK),
        (
            asm::nr::NAME_TO_HANDLE_AT,
            sc_backend::nr::NAME_TO_HANDLE_AT,
        ),
        (
            asm::nr::OPEN_BY_HANDLE_AT,
            sc_backend::nr::OPEN_BY_HANDLE_AT,
        ),
    ];
    for (ours, theirs) in pairs {
        assert_eq!(ours, theirs);
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn errors_agree() {
    let mut buf = [0u8; 16];
    let ptr = buf.as_mut_ptr() as usize;
    let (a, b) = both!(syscall3(asm::nr::READ, -1isize as usize, ptr, 16));
    assert_eq!(a, Err(Errno::EBADF));
    assert_eq!(a, b);

    let missing = b"/nonexistent/inotify-raw\0";
    let init = both!(syscall1(asm::nr::INOTIFY_INIT1, 0o2_000_000));
    let (fd_a, fd_b) = (init.0.unwrap(), init.1.unwrap());
    // SAFETY: the path is NUL-terminated.
    let ours = unsafe {
        asm::syscall3(
            asm::nr::INOTIFY_ADD_WATCH,
            fd_a,
            missing.as_ptr() as usize,
            0xfff,
        )
    };
    // SAFETY: as above.
    let theirs = unsafe {
        sc_backend::syscall3(
            sc_backend::nr::INOTIFY_ADD_WATCH,
            fd_b,
            missing.as_ptr() as usize,
            0xfff,
        )
    };
    assert_eq!(Errno::decode(ours), Err(Errno::ENOENT));
    assert_eq!(Errno::decode(ours), Errno::decode(theirs));

    // SAFETY: no pointers.
    let (ours, theirs) = unsafe {
        (
            asm::syscall2(asm::nr::INOTIFY_RM_WATCH, fd_a, 12345),
            sc_backend::syscall2(sc_backend::nr::INOTIFY_RM_WATCH, fd_b, 12345),
        )
    };
    assert_eq!(Errno::decode(ours), Err(Errno::EINVAL));
    assert_eq!(Errno::decode(ours), Errno::decode(theirs));
    close_both(init);

    // fanotify: init flags no kernel knows, and a mark on no group (ENOSYS for both
    // under qemu-user, which has no fanotify).
    let (a, b) = both!(syscall2(asm::nr::FANOTIFY_INIT, u32::MAX as usize, 0));
    assert!(a.is_err());
    assert_eq!(a, b);
    let (a, b) = both!(syscall5(
        asm::nr::FANOTIFY_MARK,
        -1isize as usize,
        1,
        0x100,
        -100isize as usize,
        missing.as_ptr() as usize
    ));
    assert!(a.is_err());
    assert_eq!(a, b);
}

#[test]
#[cfg_attr(miri, ignore)]
fn results_agree() {
    // A pipe: write through one backend, read through the other, and the other way.
    use std::os::unix::io::AsRawFd;
    let pipes = [std::io::pipe().unwrap(), std::io::pipe().unwrap()];
    let message = b"both backends";
    for (reader, writer) in &pipes {
        let (read_end, write_end) = (reader.as_raw_fd(), writer.as_raw_fd());
        // SAFETY: valid buffers of the lengths given.
        let wrote = unsafe {
            asm::syscall3(
                asm::nr::WRITE,
                write_end as usize,
                message.as_ptr() as usize,
                message.len(),
            )
        };
        assert_eq!(Errno::decode(wrote), Ok(message.len()));
        let mut got = [0u8; 32];
        // SAFETY: as above.
        let read = unsafe {
            sc_backend::syscall3(
                sc_backend::nr::READ,
                read_end as usize,
                got.as_mut_ptr() as usize,
                got.len(),
            )
        };
        assert_eq!(Errno::decode(read), Ok(message.len()));
        assert_eq!(&got[..message.len()], message);
    }

    // statx of the same file: the same inode.
    let path = b"/proc/self/exe\0";
    let mut ours = Statx::default();
    let mut theirs = Statx::default();
    // SAFETY: NUL-terminated path, one statx struct to fill.
    unsafe {
        let a = asm::syscall5(
            asm::nr::STATX,
            -100isize as usize,
            path.as_ptr() as usize,
            0,
            0x7ff,
            &mut ours as *mut Statx as usize,
        );
        let b = sc_backend::syscall5(
            sc_backend::nr::STATX,
            -100isize as usize,
            path.as_ptr() as usize,
            0,
            0x7ff,
            &mut theirs as *mut Statx as usize,
        );
        assert_eq!(Errno::decode(a), Ok(0));
        assert_eq!(Errno::decode(b), Ok(0));
    }
    assert_eq!(ours.stx_ino, theirs.stx_ino);
    assert_eq!(ours.stx_size, theirs.stx_size);

    // name_to_handle_at of the same file: the same handle and mount.
    let mut handles = [[0u8; FileHandleStorage::LEN]; 2];
    let mut mounts = [0i32; 4];
    for handle in &mut handles {
        handle[..4].copy_from_slice(&(super::MAX_HANDLE_SZ as u32).to_ne_bytes());
    }
    // SAFETY: NUL-terminated path; each handle has room for MAX_HANDLE_SZ bytes, each
    // mount ID for 8.
    let (a, b) = unsafe {
        (
            asm::syscall5(
                asm::nr::NAME_TO_HANDLE_AT,
                -100isize as usize,
                path.as_ptr() as usize,
                handles[0].as_mut_ptr() as usize,
                mounts[..2].as_mut_ptr() as usize,
                0x400,
            ),
            sc_backend::syscall5(
                sc_backend::nr::NAME_TO_HANDLE_AT,
                -100isize as usize,
                path.as_ptr() as usize,
                handles[1].as_mut_ptr() as usize,
                mounts[2..].as_mut_ptr() as usize,
                0x400,
            ),
        )
    };
    assert_eq!(Errno::decode(a), Errno::decode(b));
    assert_eq!(mounts[0], mounts[2]);
    assert_eq!(handles[0], handles[1]);

    // The monotonic clock never goes back between the two.
    let mut first = Timespec::default();
    let mut second = Timespec::default();
    // SAFETY: one timespec each.
    unsafe {
        assert_eq!(
            Errno::decode(asm::syscall2(
                asm::nr::CLOCK_GETTIME,
                1,
                &mut first as *mut Timespec as usize
            )),
            Ok(0)
        );
        assert_eq!(
            Errno::decode(sc_backend::syscall2(
                sc_backend::nr::CLOCK_GETTIME,
                1,
                &mut second as *mut Timespec as usize
            )),
            Ok(0)
        );
    }
    assert!(second >= first);

    // epoll_pwait with a zero timeout on an empty epoll set: 0 ready through both.
    let epolls = both!(syscall1(asm::nr::EPOLL_CREATE1, 0o2_000_000));
    let mut events = [EpollEvent::default(); 4];
    let (a, b) = (epolls.0.unwrap(), epolls.1.unwrap());
    // SAFETY: room for 4 events; null signal mask.
    unsafe {
        let x = asm::syscall6(
            asm::nr::EPOLL_PWAIT,
            a,
            events.as_mut_ptr() as usize,
            4,
            0,
            0,
            8,
        );
        let y = sc_backend::syscall6(
            sc_backend::nr::EPOLL_PWAIT,
            b,
            events.as_mut_ptr() as usize,
            4,
            0,
            0,
            8,
        );
        assert_eq!(Errno::decode(x), Ok(0));
        assert_eq!(Errno::decode(x), Errno::decode(y));
    }
    close_both(epolls);
}
