//! [`Inotify`]: an inotify instance: add and remove watches, read events into a buffer
//! the caller owns.

use crate::error::{stored, Call, Error, Limit, LimitKind, UNKNOWN};
use crate::fd::{impl_descriptor_traits, OwnedDescriptor};
use crate::mask::WatchMask;
use crate::parse::{EventBuffer, Events, WatchDescriptor, MIN_EVENT_BUFFER_LEN};
use crate::path::{with_nul_terminated, PathBytes};
use crate::sys::{self, Errno, NulTerminated, O_CLOEXEC, O_NONBLOCK};

/// Flags for [`Inotify::init`]. Close-on-exec is always set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InitFlags(u32);

impl InitFlags {
    /// Blocking reads (the default).
    pub const BLOCKING: InitFlags = InitFlags(0);
    /// `IN_NONBLOCK`: a read with no event waiting fails with `EAGAIN` instead of blocking.
    pub const NONBLOCK: InitFlags = InitFlags(O_NONBLOCK);
}

/// An inotify instance.
///
/// Owns its descriptor (closed on drop, never inherited across `exec`). Reads go into a
/// buffer the caller owns and come back as a zero-copy [`Events`] iterator, so a loop of
/// `read` and iteration allocates nothing.
///
/// For a blocking loop with a timeout, hand it to an [`EventWaiter`](crate::EventWaiter);
/// for tokio or mio, make it non-blocking ([`InitFlags::NONBLOCK`]) and register it: it
/// implements `AsFd` (with `std`) and [`AsDescriptor`](crate::AsDescriptor).
///
/// # Examples
///
/// Watch a fresh directory, make a file in it, read the event, remove the watch:
///
/// ```
/// use inotify_raw::{EventBuffer, EventMask, Inotify, WatchMask};
///
/// let dir = std::env::temp_dir().join(format!("inotify-raw-doc-inotify-{}", std::process::id()));
/// std::fs::create_dir(&dir)?;
///
/// let inotify = Inotify::new()?;
/// let wd = inotify.add_watch(dir.as_path(), WatchMask::CREATE | WatchMask::DELETE)?;
/// std::fs::write(dir.join("hello.txt"), b"hi")?;
///
/// let mut buffer = EventBuffer::<4096>::new();
/// let event = inotify.read(&mut buffer)?.next().expect("an event")?;
/// assert_eq!(event.wd(), wd);
/// assert_eq!(event.mask(), EventMask::CREATE);
/// assert_eq!(event.name(), Some(&b"hello.txt"[..]));
///
/// // Removing the watch queues its IN_IGNORED.
/// inotify.rm_watch(wd)?;
/// let event = inotify.read(&mut buffer)?.next().expect("an event")?;
/// assert!(event.mask().contains(EventMask::IGNORED));
///
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
///
/// [inotify(7)](https://man7.org/linux/man-pages/man7/inotify.7.html)
#[derive(Debug)]
pub struct Inotify {
    fd: OwnedDescriptor,
}

impl Inotify {
    /// A new instance with blocking reads: [`init`](Inotify::init) with
    /// [`InitFlags::BLOCKING`].
    ///
    /// # Errors
    ///
    /// As for [`init`](Inotify::init): `EMFILE` at the limit on inotify instances or on
    /// the process's descriptors, `ENFILE` at the system's limit on open files, `ENOMEM`.
    ///
    /// # References
    ///
    /// [inotify_init1(2)](https://man7.org/linux/man-pages/man2/inotify_init1.2.html)
    #[doc(alias("inotify_init1", "inotify_init"))]
    pub fn new() -> Result<Inotify, Error> {
        Inotify::init(InitFlags::BLOCKING)
    }

    /// A new instance with `flags`; close-on-exec is always set.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] from `inotify_init1`:
    /// - `EMFILE`: the limit on inotify instances per user is reached
    ///   (`fs.inotify.max_user_instances`; in a user namespace, also its own
    ///   `user.max_inotify_instances`), or the process has no descriptor free
    ///   (`RLIMIT_NOFILE`). The error says which, and carries it as a
    ///   [`Limit`](crate::Limit) with its value.
    /// - `ENFILE`: the system-wide limit on open files is reached.
    /// - `ENOMEM`: the kernel is out of memory.
    ///
    /// # References
    ///
    /// [inotify_init1(2)](https://man7.org/linux/man-pages/man2/inotify_init1.2.html)
    #[doc(alias("inotify_init1", "inotify_init"))]
    pub fn init(flags: InitFlags) -> Result<Inotify, Error> {
        match OwnedDescriptor::from_new(sys::inotify_init1(O_CLOEXEC | flags.0)) {
            Ok(fd) => Ok(Inotify { fd }),
            Err(errno) => Err(with_limit(Error::syscall(Call::InotifyInit, errno))),
        }
    }

    /// Wraps any descriptor: an inotify descriptor from elsewhere, or a pipe whose
    /// bytes are inotify records (for tests and benchmarks). Users reach it through
    /// `From<OwnedDescriptor>` and `From<OwnedFd>`.
    pub(crate) fn from_descriptor(fd: OwnedDescriptor) -> Inotify {
        Inotify { fd }
    }

    /// How many bytes of events the instance holds now, not yet read (`FIONREAD`).
    #[cfg(feature = "std")]
    pub(crate) fn queued_bytes(&self) -> Result<usize, crate::sys::Errno> {
        sys::queued_bytes(self.fd.as_raw())
    }

    /// Watches `path` for the events in `mask`, and returns the watch's descriptor.
    ///
    /// Watching a path that is already watched returns the same descriptor and replaces
    /// its mask (or adds to it with [`WatchMask::MASK_ADD`]). The path is any
    /// [`PathBytes`]; it is NUL-terminated on the stack, so nothing is allocated.
    ///
    /// # Errors
    ///
    /// - [`Error::EmptyPath`], [`Error::PathContainsNul`], [`Error::PathTooLong`]: the
    ///   path is refused before any call.
    /// - [`Error::Syscall`] from `inotify_add_watch`: `ENOSPC` when the watch limit is
    ///   reached (the error names the limit that applied, `fs.inotify.max_user_watches`
    ///   or in a user namespace `user.max_inotify_watches`, and carries it as a
    ///   [`Limit`](crate::Limit) with its value), `ENOENT` when the
    ///   path does not exist (or is a dangling symbolic link), `EACCES` without read
    ///   permission on it, `ENOTDIR` with [`WatchMask::ONLYDIR`] on a file, `EEXIST`
    ///   with [`WatchMask::MASK_CREATE`] on a path already watched, `EINVAL` for a mask
    ///   with no event bit.
    ///
    /// # References
    ///
    /// [inotify_add_watch(2)](https://man7.org/linux/man-pages/man2/inotify_add_watch.2.html)
    #[doc(alias = "inotify_add_watch")]
    pub fn add_watch<P: PathBytes + ?Sized>(
        &self,
        path: &P,
        mask: WatchMask,
    ) -> Result<WatchDescriptor, Error> {
        with_nul_terminated(path.path_bytes(), |path| self.add_watch_nul(path, mask))?
    }

    /// [`add_watch`](Inotify::add_watch) for a path that is NUL-terminated already.
    pub(crate) fn add_watch_nul(
        &self,
        path: NulTerminated<'_>,
        mask: WatchMask,
    ) -> Result<WatchDescriptor, Error> {
        match sys::inotify_add_watch(self.fd.as_raw(), path, mask.bits()) {
            Ok(wd) => Ok(WatchDescriptor::from_raw(wd)),
            Err(errno) => Err(with_limit(Error::syscall(Call::InotifyAddWatch, errno))),
        }
    }

    /// Removes a watch. The kernel then queues an `IN_IGNORED` event for it.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] from `inotify_rm_watch`: `EINVAL` when `wd` is not a watch of
    /// this instance (any more: the kernel removes a watch by itself when its object is
    /// deleted or unmounted, and says so with `IN_IGNORED`).
    ///
    /// # References
    ///
    /// [inotify_rm_watch(2)](https://man7.org/linux/man-pages/man2/inotify_rm_watch.2.html)
    #[doc(alias = "inotify_rm_watch")]
    pub fn rm_watch(&self, wd: WatchDescriptor) -> Result<(), Error> {
        sys::inotify_rm_watch(self.fd.as_raw(), wd.raw())
            .map_err(|errno| Error::syscall(Call::InotifyRmWatch, errno))
    }

    /// Reads the events waiting, blocking until there is one unless the instance is
    /// non-blocking (then `EAGAIN`: see [`Error::is_would_block`]).
    ///
    /// The events are views into `buffer`; nothing is copied or allocated. An empty
    /// iterator means end of file, which only a descriptor that is not inotify (a pipe
    /// whose writer closed) can give. The iterator yields an error for bytes that are
    /// not a whole event ([`MalformedEvent`](crate::MalformedEvent)), which the kernel
    /// never gives.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] from `read`: `EAGAIN` when the instance is non-blocking and
    /// no event is queued ([`Error::is_would_block`]), `EINTR` when a signal came
    /// first ([`Error::is_interrupted`]).
    ///
    /// # References
    ///
    /// [read(2)](https://man7.org/linux/man-pages/man2/read.2.html),
    /// [inotify(7)](https://man7.org/linux/man-pages/man7/inotify.7.html)
    pub fn read<'b, const N: usize>(
        &self,
        buffer: &'b mut EventBuffer<N>,
    ) -> Result<Events<'b>, Error> {
        self.read_into(buffer.as_mut_bytes())
    }

    /// Like [`read`](Inotify::read), into any byte slice of at least
    /// [`MIN_EVENT_BUFFER_LEN`] bytes (it need not be aligned).
    ///
    /// # Errors
    ///
    /// [`Error::BufferTooSmall`] for a slice shorter than [`MIN_EVENT_BUFFER_LEN`],
    /// before any call; otherwise those of [`read`](Inotify::read).
    ///
    /// # References
    ///
    /// [read(2)](https://man7.org/linux/man-pages/man2/read.2.html),
    /// [inotify(7)](https://man7.org/linux/man-pages/man7/inotify.7.html)
    #[doc(alias = "read")]
    pub fn read_into<'b>(&self, buffer: &'b mut [u8]) -> Result<Events<'b>, Error> {
        read_at_least(&self.fd, buffer, MIN_EVENT_BUFFER_LEN).map(Events::new)
    }

    nonblocking_methods!();
}

impl_descriptor_traits!(Inotify);

/// `read` from `fd` into `buffer`, which must hold at least `min` bytes: the bytes read.
///
/// Fails with [`Error::BufferTooSmall`] for a shorter buffer, before any call.
pub(crate) fn read_at_least<'b>(
    fd: &OwnedDescriptor,
    buffer: &'b mut [u8],
    min: usize,
) -> Result<&'b [u8], Error> {
    if buffer.len() < min {
        return Err(Error::BufferTooSmall {
            len: buffer.len(),
            min,
        });
    }
    let filled =
        sys::read(fd.as_raw(), buffer).map_err(|errno| Error::syscall(Call::Read, errno))?;
    Ok(buffer.get(..filled).unwrap_or(&[]))
}

/// `is_nonblocking` and `set_nonblocking` for a type whose descriptor is its field `fd`.
macro_rules! nonblocking_methods {
    () => {
        /// Whether reads fail with `EAGAIN` instead of blocking (`O_NONBLOCK`).
        ///
        /// # Errors
        ///
        /// [`Error::Syscall`] from `fcntl`: `EBADF` if the descriptor is not open (it
        /// always is, unless adopted wrongly).
        ///
        /// # References
        ///
        /// [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html) (`F_GETFL`)
        #[doc(alias("fcntl", "F_GETFL", "O_NONBLOCK"))]
        pub fn is_nonblocking(&self) -> Result<bool, Error> {
            self.fd
                .is_nonblocking()
                .map_err(|errno| Error::syscall(Call::Fcntl, errno))
        }

        /// Sets or clears non-blocking reads (`O_NONBLOCK`), as tokio's `AsyncFd` and mio
        /// need.
        ///
        /// # Errors
        ///
        /// [`Error::Syscall`] from `fcntl`: `EBADF` if the descriptor is not open (it
        /// always is, unless adopted wrongly).
        ///
        /// # References
        ///
        /// [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html) (`F_GETFL`,
        /// `F_SETFL`)
        #[doc(alias("fcntl", "F_SETFL", "O_NONBLOCK"))]
        pub fn set_nonblocking(&self, nonblocking: bool) -> Result<(), Error> {
            self.fd
                .set_nonblocking(nonblocking)
                .map_err(|errno| Error::syscall(Call::Fcntl, errno))
        }
    };
}
pub(crate) use nonblocking_methods;

/// The kernel's inotify limits for this user, from `/proc/sys/fs/inotify`: those of the
/// initial user namespace, which apply in every namespace (inside another one, its own
/// `user.max_inotify_*` in `/proc/sys/user` apply as well; an error at a limit names
/// the one that applied: see [`Limit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `max_user_watches`: watches per user, over all instances.
    pub max_user_watches: u64,
    /// `max_user_instances`: inotify instances per user.
    pub max_user_instances: u64,
    /// `max_queued_events`: events queued per instance before `IN_Q_OVERFLOW`.
    pub max_queued_events: u64,
}

impl Limits {
    const MAX_USER_WATCHES: NulTerminated<'static> =
        proc_path(b"/proc/sys/fs/inotify/max_user_watches\0");
    const MAX_USER_INSTANCES: NulTerminated<'static> =
        proc_path(b"/proc/sys/fs/inotify/max_user_instances\0");
    const MAX_QUEUED_EVENTS: NulTerminated<'static> =
        proc_path(b"/proc/sys/fs/inotify/max_queued_events\0");

    /// Reads the three limits.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] from `openat` or `read` when `/proc` is not mounted (as in an
    /// early initramfs) or does not have the files; [`Error::NotANumber`] when a file
    /// does not start with a number.
    ///
    /// # References
    ///
    /// [inotify(7)](https://man7.org/linux/man-pages/man7/inotify.7.html) (`/proc
    /// interfaces`)
    pub fn read() -> Result<Limits, Error> {
        Ok(Limits {
            max_user_watches: read_proc_number(Limits::MAX_USER_WATCHES)?,
            max_user_instances: read_proc_number(Limits::MAX_USER_INSTANCES)?,
            max_queued_events: read_proc_number(Limits::MAX_QUEUED_EVENTS)?,
        })
    }
}

/// `/proc/sys/user/max_inotify_watches`: the watch limit of the caller's user namespace.
const USER_MAX_WATCHES: NulTerminated<'static> = proc_path(b"/proc/sys/user/max_inotify_watches\0");
/// `/proc/sys/user/max_inotify_instances`: the instance limit of the caller's user
/// namespace.
const USER_MAX_INSTANCES: NulTerminated<'static> =
    proc_path(b"/proc/sys/user/max_inotify_instances\0");
/// The link that names the caller's user namespace (`user:[INODE]`).
const NS_USER: NulTerminated<'static> = proc_path(b"/proc/self/ns/user\0");
/// What [`NS_USER`] reads in the initial user namespace, whose inode is fixed
/// (`PROC_USER_INIT_INO`).
const INITIAL_NS_USER: &[u8] = b"user:[4026531837]";

/// Names the limit behind `error`, with its value read now, when its errno says a limit
/// was hit: `ENOSPC` from `inotify_add_watch`, `EMFILE` from a call that opens a
/// descriptor. Other errors come back as they are.
///
/// `EMFILE` from `inotify_init1` is the instance limit, or the process's descriptor
/// limit. Reading the instance limit from `/proc` opens a descriptor, which fails with
/// `EMFILE` too when none is free: then it is the descriptor limit. `RLIMIT_NOFILE` is
/// read with `prlimit64`, which needs no descriptor. Allocation-free: the `/proc` files
/// are read into buffers on the stack. (Kept small and out of line: a static binary with
/// no libc carries it.)
#[cold]
#[inline(never)]
pub(crate) fn with_limit(error: Error) -> Error {
    let (call, errno) = match error {
        Error::Syscall {
            call,
            errno,
            limit: None,
        } => (call, errno),
        other => return other,
    };
    let emfile = errno == Errno::EMFILE;
    let files = if errno == Errno::ENOSPC && call == Call::InotifyAddWatch {
        Some((
            LimitKind::Watches,
            Limits::MAX_USER_WATCHES,
            USER_MAX_WATCHES,
        ))
    } else if emfile && call == Call::InotifyInit {
        Some((
            LimitKind::Instances,
            Limits::MAX_USER_INSTANCES,
            USER_MAX_INSTANCES,
        ))
    } else if emfile && (call == Call::EpollCreate || call == Call::Open) {
        None
    } else {
        return error;
    };
    let limit = match files {
        Some((kind, initial, own)) => match proc_number(initial) {
            // `openat` takes a descriptor number before it looks at the path: no
            // descriptor is free, and that is the limit `inotify_init1` hit.
            Err(Errno::EMFILE) if kind == LimitKind::Instances => open_files_limit(),
            // In the initial user namespace, `own` is the same setting as `initial`.
            initial => Limit::new(
                kind,
                in_user_namespace(),
                proc_number(own).unwrap_or(UNKNOWN),
                initial.unwrap_or(UNKNOWN),
            ),
        },
        None => open_files_limit(),
    };
    Error::Syscall {
        call,
        errno,
        limit: Some(limit),
    }
}

/// The process's limit on descriptors: the soft `RLIMIT_NOFILE`, read with `prlimit64`,
/// which needs no descriptor.
fn open_files_limit() -> Limit {
    let soft = sys::soft_rlimit(sys::RLIMIT_NOFILE).ok();
    Limit::new(LimitKind::OpenFiles, false, UNKNOWN, stored(soft))
}

/// Whether this process is in a user namespace other than the initial one. `false`
/// when `/proc/self/ns/user` cannot be read: a kernel without user namespaces has only
/// the initial one (and without `/proc` no limit can be read anyway).
fn in_user_namespace() -> bool {
    let mut link = [0u8; 32];
    match sys::readlinkat(sys::AT_FDCWD, NS_USER, &mut link) {
        Ok(len) => link.get(..len) != Some(INITIAL_NS_USER),
        Err(_) => false,
    }
}

/// A constant path, checked for its single final NUL at compile time.
const fn proc_path(bytes: &'static [u8]) -> NulTerminated<'static> {
    match NulTerminated::new(bytes) {
        Some(path) => path,
        None => panic!("a /proc path constant must end in its only NUL"),
    }
}

/// Reads a decimal number from a small file such as `/proc/sys/fs/inotify/*`.
fn read_proc_number(path: NulTerminated<'_>) -> Result<u64, Error> {
    let opened = sys::openat(sys::AT_FDCWD, path, sys::O_RDONLY | O_CLOEXEC, 0);
    let fd =
        OwnedDescriptor::from_new(opened).map_err(|errno| Error::syscall(Call::Open, errno))?;
    let mut text = [0u8; 32];
    let len =
        sys::read(fd.as_raw(), &mut text).map_err(|errno| Error::syscall(Call::Read, errno))?;
    parse_number(text.get(..len).unwrap_or(&[])).ok_or(Error::NotANumber)
}

/// [`read_proc_number`] for the advice on a limit, as a [`Limit`] stores it: the
/// errno when the file cannot be opened, [`UNKNOWN`] when it cannot be read.
fn proc_number(path: NulTerminated<'_>) -> Result<u32, Errno> {
    let opened = sys::openat(sys::AT_FDCWD, path, sys::O_RDONLY | O_CLOEXEC, 0);
    let fd = OwnedDescriptor::from_new(opened)?;
    let mut text = [0u8; 24];
    let len = sys::read(fd.as_raw(), &mut text).unwrap_or(0);
    Ok(stored(parse_number(text.get(..len).unwrap_or(&[]))))
}

/// The decimal number at the start of `text` (saturating), if it starts with a digit.
fn parse_number(text: &[u8]) -> Option<u64> {
    let mut value: Option<u64> = None;
    for &b in text.iter().take_while(|b| b.is_ascii_digit()) {
        let so_far = value.unwrap_or(0);
        value = Some(
            so_far
                .saturating_mul(10)
                .saturating_add(u64::from(b - b'0')),
        );
    }
    value
}
