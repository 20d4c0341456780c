//! [`OwnedDescriptor`], a file descriptor that is closed when dropped, and
//! [`BorrowedDescriptor`], one borrowed for a lifetime: I/O safety without `std`.

use core::marker::PhantomData;

use crate::sys::{self, Errno, RawFd, O_NONBLOCK};

/// A descriptor borrowed for `'fd`: open for at least that long, closed by its owner.
/// The `no_std` form of `std::os::fd::BorrowedFd`, into which it converts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BorrowedDescriptor<'fd> {
    fd: RawFd,
    owner: PhantomData<&'fd OwnedDescriptor>,
}

impl BorrowedDescriptor<'_> {
    /// Standard input (descriptor 0), which the process is given open.
    pub const STDIN: BorrowedDescriptor<'static> = BorrowedDescriptor::new(0);
    /// Standard output (descriptor 1).
    pub const STDOUT: BorrowedDescriptor<'static> = BorrowedDescriptor::new(1);
    /// Standard error (descriptor 2).
    pub const STDERR: BorrowedDescriptor<'static> = BorrowedDescriptor::new(2);

    const fn new<'a>(fd: RawFd) -> BorrowedDescriptor<'a> {
        BorrowedDescriptor {
            fd,
            owner: PhantomData,
        }
    }

    /// Borrows the descriptor number `fd`.
    ///
    /// # Safety
    /// `fd` must stay open for all of `'fd`: its owner must not close it while the
    /// borrow lives.
    pub const unsafe fn borrow_raw<'fd>(fd: RawFd) -> BorrowedDescriptor<'fd> {
        BorrowedDescriptor::new(fd)
    }

    /// The descriptor number.
    pub const fn as_raw(self) -> RawFd {
        self.fd
    }
}

/// Something that owns or borrows an open descriptor: what [`Epoll`](crate::Epoll)
/// registers. With `std`, every `AsFd` type is one (`File`, `TcpStream`, `OwnedFd`, ...,
/// and this crate's types); without it, this crate's types are.
pub trait AsDescriptor {
    /// Borrows the descriptor.
    fn as_descriptor(&self) -> BorrowedDescriptor<'_>;
}

#[cfg(feature = "std")]
impl<T: std::os::unix::io::AsFd + ?Sized> AsDescriptor for T {
    fn as_descriptor(&self) -> BorrowedDescriptor<'_> {
        use std::os::unix::io::AsRawFd;
        // SAFETY: `as_fd` promises the descriptor is open while `self` is borrowed.
        unsafe { BorrowedDescriptor::borrow_raw(self.as_fd().as_raw_fd()) }
    }
}

#[cfg(not(feature = "std"))]
impl AsDescriptor for OwnedDescriptor {
    fn as_descriptor(&self) -> BorrowedDescriptor<'_> {
        BorrowedDescriptor::new(self.0)
    }
}

#[cfg(not(feature = "std"))]
impl AsDescriptor for BorrowedDescriptor<'_> {
    fn as_descriptor(&self) -> BorrowedDescriptor<'_> {
        *self
    }
}

/// A file descriptor this value owns; dropping it closes the descriptor.
///
/// Every descriptor this crate opens is opened with close-on-exec, so none leaks into a
/// child process. With the `std` feature it converts to and from `std`'s `OwnedFd` and
/// implements `AsFd`/`AsRawFd`, so it can be handed to mio, tokio's `AsyncFd`, or
/// anything else that polls a descriptor.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OwnedDescriptor(RawFd);

impl OwnedDescriptor {
    /// Takes ownership of `fd`.
    ///
    /// # Safety
    /// `fd` must be an open descriptor that nothing else will close.
    pub const unsafe fn from_raw(fd: RawFd) -> OwnedDescriptor {
        OwnedDescriptor(fd)
    }

    /// Takes ownership of the descriptor that a call of [`crate::sys`] which opens one
    /// (`inotify_init1`, `epoll_create1`, `openat`) just returned. Crate-internal: it is
    /// sound only for such a fresh descriptor, which nothing else has seen.
    pub(crate) fn from_new(opened: Result<RawFd, Errno>) -> Result<OwnedDescriptor, Errno> {
        // SAFETY: per this function's contract, the number is a descriptor the kernel has
        // just opened for us, and no other value owns it.
        opened.map(|fd| unsafe { OwnedDescriptor::from_raw(fd) })
    }

    /// The descriptor number, still owned by `self`.
    pub const fn as_raw(&self) -> RawFd {
        self.0
    }

    /// Gives up ownership: the caller must close the returned number.
    pub fn into_raw(self) -> RawFd {
        let fd = self.0;
        core::mem::forget(self);
        fd
    }

    /// Whether reads on the descriptor return `EAGAIN` instead of blocking
    /// (`O_NONBLOCK`).
    ///
    /// # Errors
    ///
    /// The errno from `fcntl`: `EBADF` if the descriptor is not open (it always is,
    /// unless adopted wrongly).
    ///
    /// # References
    ///
    /// [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html) (`F_GETFL`)
    #[doc(alias("fcntl", "F_GETFL", "O_NONBLOCK"))]
    pub fn is_nonblocking(&self) -> Result<bool, Errno> {
        Ok(sys::fcntl_getfl(self.0)? & O_NONBLOCK != 0)
    }

    /// Sets or clears `O_NONBLOCK`.
    ///
    /// # Errors
    ///
    /// The errno from `fcntl`: `EBADF` if the descriptor is not open (it always is,
    /// unless adopted wrongly).
    ///
    /// # References
    ///
    /// [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html) (`F_GETFL`, `F_SETFL`)
    #[doc(alias("fcntl", "F_SETFL", "O_NONBLOCK"))]
    pub fn set_nonblocking(&self, nonblocking: bool) -> Result<(), Errno> {
        let flags = sys::fcntl_getfl(self.0)?;
        let wanted = if nonblocking {
            flags | O_NONBLOCK
        } else {
            flags & !O_NONBLOCK
        };
        if wanted != flags {
            sys::fcntl_setfl(self.0, wanted)?;
        }
        Ok(())
    }
}

impl Drop for OwnedDescriptor {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor and it is never used after this point. An error
        // from close (EINTR, EIO) cannot be acted on here; the descriptor is gone either way.
        #[allow(unsafe_code)]
        let _ = unsafe { sys::close(self.0) };
    }
}

#[cfg(feature = "std")]
#[allow(unsafe_code)]
mod std_impls {
    use super::OwnedDescriptor;
    use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

    impl AsRawFd for OwnedDescriptor {
        fn as_raw_fd(&self) -> RawFd {
            self.0
        }
    }

    impl AsFd for OwnedDescriptor {
        fn as_fd(&self) -> BorrowedFd<'_> {
            // SAFETY: the descriptor is open for as long as `self` is borrowed.
            unsafe { BorrowedFd::borrow_raw(self.0) }
        }
    }

    impl IntoRawFd for OwnedDescriptor {
        fn into_raw_fd(self) -> RawFd {
            self.into_raw()
        }
    }

    impl FromRawFd for OwnedDescriptor {
        unsafe fn from_raw_fd(fd: RawFd) -> OwnedDescriptor {
            OwnedDescriptor(fd)
        }
    }

    impl From<OwnedFd> for OwnedDescriptor {
        fn from(fd: OwnedFd) -> OwnedDescriptor {
            OwnedDescriptor(fd.into_raw_fd())
        }
    }

    impl From<OwnedDescriptor> for OwnedFd {
        fn from(fd: OwnedDescriptor) -> OwnedFd {
            // SAFETY: ownership moves from `fd` (which forgets the number) to the OwnedFd.
            unsafe { OwnedFd::from_raw_fd(fd.into_raw()) }
        }
    }
}

#[cfg(feature = "std")]
#[allow(unsafe_code)]
impl<'fd> From<BorrowedDescriptor<'fd>> for std::os::unix::io::BorrowedFd<'fd> {
    fn from(fd: BorrowedDescriptor<'fd>) -> std::os::unix::io::BorrowedFd<'fd> {
        // SAFETY: a `BorrowedDescriptor<'fd>` is open for all of `'fd`.
        unsafe { std::os::unix::io::BorrowedFd::borrow_raw(fd.fd) }
    }
}

/// Implements the descriptor traits (`AsDescriptor`, and with `std` `AsFd`, `AsRawFd` and
/// the `OwnedFd` conversions) for a type that wraps an [`OwnedDescriptor`] in a field
/// named `fd` and has a `from_descriptor` constructor.
macro_rules! impl_descriptor_traits {
    ($ty:ident) => {
        #[cfg(not(feature = "std"))]
        impl crate::fd::AsDescriptor for $ty {
            fn as_descriptor(&self) -> crate::fd::BorrowedDescriptor<'_> {
                crate::fd::AsDescriptor::as_descriptor(&self.fd)
            }
        }

        #[cfg(feature = "std")]
        impl std::os::unix::io::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::unix::io::RawFd {
                self.fd.as_raw()
            }
        }

        #[cfg(feature = "std")]
        impl std::os::unix::io::AsFd for $ty {
            fn as_fd(&self) -> std::os::unix::io::BorrowedFd<'_> {
                std::os::unix::io::AsFd::as_fd(&self.fd)
            }
        }

        #[cfg(feature = "std")]
        impl From<std::os::unix::io::OwnedFd> for $ty {
            fn from(fd: std::os::unix::io::OwnedFd) -> $ty {
                $ty::from_descriptor(crate::fd::OwnedDescriptor::from(fd))
            }
        }

        #[cfg(feature = "std")]
        impl From<$ty> for std::os::unix::io::OwnedFd {
            fn from(value: $ty) -> std::os::unix::io::OwnedFd {
                std::os::unix::io::OwnedFd::from(value.fd)
            }
        }

        impl From<crate::fd::OwnedDescriptor> for $ty {
            fn from(fd: crate::fd::OwnedDescriptor) -> $ty {
                $ty::from_descriptor(fd)
            }
        }

        impl From<$ty> for crate::fd::OwnedDescriptor {
            fn from(value: $ty) -> crate::fd::OwnedDescriptor {
                value.fd
            }
        }
    };
}
pub(crate) use impl_descriptor_traits;
