//! [`Fanotify`]: a fanotify group: mark files, mounts or whole file systems, and read
//! their events into a buffer the caller owns. And file handles, the names for files
//! that a group reporting them gives: [`name_to_handle_at`] makes one for a path,
//! [`open_by_handle_at`] opens the file one names.

use core::fmt;

use crate::error::{Call, Error};
use crate::fd::{impl_descriptor_traits, AsDescriptor, OwnedDescriptor};
use crate::inotify::{nonblocking_methods, read_at_least};
use crate::mask::{FanotifyInitFlags, FanotifyMarkFlags, FanotifyMask};
use crate::parse::{EventBuffer, FanotifyEvents, FileHandle, MIN_FANOTIFY_BUFFER_LEN};
use crate::path::{with_nul_terminated, PathBytes};
use crate::sys::{self, Errno, FileHandleStorage, AT_FDCWD, O_CLOEXEC, O_PATH, O_RDONLY};

/// The flags of the descriptors that events carry (in a group that does not report
/// file handles): read-only, and closed on `exec` like every descriptor of this crate.
const EVENT_FILE_FLAGS: u32 = O_RDONLY | O_CLOEXEC;

/// A fanotify group: the marks that say what to watch, and the queue of events.
///
/// Owns its descriptor (closed on drop, never inherited across `exec`). Reads go into a
/// buffer the caller owns and come back as a zero-copy [`FanotifyEvents`] iterator, so a
/// loop of `read` and iteration allocates nothing.
///
/// One mark with [`FanotifyMarkFlags::FILESYSTEM`] watches a whole file system, however
/// many directories it holds; a group that reports directory handles and names
/// ([`FanotifyInitFlags::REPORT_DFID_NAME`]) says in each event which directory changed
/// and which entry. [`open_by_handle_at`] turns a handle back into a descriptor.
///
/// Almost everything here needs `CAP_SYS_ADMIN`; [`TreeWatcher`] watches a tree with
/// inotify and needs no privilege.
///
/// For a blocking loop with a timeout, hand it to an [`EventWaiter`](crate::EventWaiter);
/// for tokio or mio, make it non-blocking ([`FanotifyInitFlags::NONBLOCK`]) and register
/// it: it implements `AsFd` (with `std`) and [`AsDescriptor`].
///
/// [`TreeWatcher`]: https://docs.rs/inotify-raw/latest/inotify_raw/struct.TreeWatcher.html
///
/// # Examples
///
/// Every creation, deletion and rename on the file system that holds `/var/spool`, with
/// the directory's handle and the entry's name:
///
/// ```no_run
/// use inotify_raw::{
///     EventBuffer, Fanotify, FanotifyInitFlags, FanotifyMarkFlags, FanotifyMask, InfoRecord,
/// };
///
/// let fanotify = Fanotify::init(FanotifyInitFlags::REPORT_DFID_NAME | FanotifyInitFlags::REPORT_FID)?;
/// fanotify.mark(
///     FanotifyMarkFlags::ADD | FanotifyMarkFlags::FILESYSTEM,
///     FanotifyMask::CREATE | FanotifyMask::DELETE | FanotifyMask::RENAME | FanotifyMask::ONDIR,
///     "/var/spool",
/// )?;
/// let mut buffer = EventBuffer::<4096>::new();
/// loop {
///     for event in fanotify.read(&mut buffer)? {
///         let event = event?;
///         for record in event.info_records() {
///             if let InfoRecord::DfidName(entry) | InfoRecord::NewDfidName(entry) = record {
///                 println!("{:?} {:?} in {:?}", event.mask(), entry.name_os(), entry.handle());
///             }
///         }
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
///
/// [fanotify(7)](https://man7.org/linux/man-pages/man7/fanotify.7.html)
#[derive(Debug)]
pub struct Fanotify {
    fd: OwnedDescriptor,
}

impl Fanotify {
    /// A new group with `flags`; close-on-exec is always set (`FAN_CLOEXEC`, and
    /// `O_CLOEXEC` on the descriptors events carry, which are read-only).
    ///
    /// # Errors
    ///
    /// - [`Error::UnknownFanotifyFlag`] when the kernel refuses `flags` with `EINVAL`
    ///   because it does not know one of them: the error names the flag and the Linux
    ///   version that added it (`FAN_REPORT_FID` 5.1, `FAN_REPORT_DFID_NAME` 5.9,
    ///   `FAN_REPORT_TARGET_FID` 5.17, ...). To tell, a refused group is followed by one
    ///   `fanotify_init` per report flag given.
    /// - [`Error::Syscall`] from `fanotify_init`: `EPERM` without `CAP_SYS_ADMIN` (the
    ///   message says what an unprivileged group may do, and that
    ///   [`TreeWatcher`](https://docs.rs/inotify-raw/latest/inotify_raw/struct.TreeWatcher.html)
    ///   needs no privilege), `EINVAL` for flags the kernel knows but does not take
    ///   together (`REPORT_NAME` without `REPORT_DIR_FID`, ...), `EMFILE` at the limit
    ///   on groups (`fs.fanotify.max_user_groups`) or on the process's descriptors,
    ///   `ENOSYS` where the kernel (or an emulator such as qemu-user) has no fanotify.
    ///
    /// # References
    ///
    /// [fanotify_init(2)](https://man7.org/linux/man-pages/man2/fanotify_init.2.html)
    #[doc(alias = "fanotify_init")]
    pub fn init(flags: FanotifyInitFlags) -> Result<Fanotify, Error> {
        match OwnedDescriptor::from_new(init_group(flags)) {
            Ok(fd) => Ok(Fanotify { fd }),
            Err(Errno::EINVAL) => Err(match newest_unknown_flag(flags) {
                Some(flag) => Error::UnknownFanotifyFlag { flag },
                None => Error::syscall(Call::FanotifyInit, Errno::EINVAL),
            }),
            Err(errno) => Err(Error::syscall(Call::FanotifyInit, errno)),
        }
    }

    /// Wraps any descriptor: a fanotify descriptor from elsewhere, or a pipe whose bytes
    /// are fanotify events (for tests). Users reach it through `From<OwnedDescriptor>`
    /// and `From<OwnedFd>`.
    pub(crate) fn from_descriptor(fd: OwnedDescriptor) -> Fanotify {
        Fanotify { fd }
    }

    /// Adds or removes the events of `mask` on the mark of `path`, or the events to
    /// ignore there: `flags` say which ([`FanotifyMarkFlags::ADD`] or
    /// [`REMOVE`](FanotifyMarkFlags::REMOVE)), of what (the file or directory itself, its
    /// [`MOUNT`](FanotifyMarkFlags::MOUNT), or its whole
    /// [`FILESYSTEM`](FanotifyMarkFlags::FILESYSTEM)), and whether `mask` lists events to
    /// [`IGNORE`](FanotifyMarkFlags::IGNORE).
    ///
    /// The path is any [`PathBytes`], relative to the current directory; it is
    /// NUL-terminated on the stack, so nothing is allocated.
    ///
    /// # Errors
    ///
    /// - [`Error::EmptyPath`], [`Error::PathContainsNul`], [`Error::PathTooLong`]: the
    ///   path is refused before any call.
    /// - [`Error::Syscall`] from `fanotify_mark`: `EOPNOTSUPP`, `ENODEV` or `EXDEV` when
    ///   the group reports file handles and the file system has none it can report
    ///   (`/proc`, some FUSE, NFS without export support; a btrfs subvolume), `EPERM` for
    ///   a mount or file-system mark without `CAP_SYS_ADMIN`, `EINVAL` for a flag or
    ///   event the kernel does not know (the message lists which Linux added which) or
    ///   one the group cannot report (entry events need file-handle reports),
    ///   `ENOENT` when the path does not exist (or, removing, has no mark), `ENOTDIR`
    ///   with [`FanotifyMarkFlags::ONLYDIR`] on a file, `ENOSPC` at the limit on marks
    ///   (`fs.fanotify.max_user_marks`).
    ///
    /// # References
    ///
    /// [fanotify_mark(2)](https://man7.org/linux/man-pages/man2/fanotify_mark.2.html)
    #[doc(alias = "fanotify_mark")]
    pub fn mark<P: PathBytes + ?Sized>(
        &self,
        flags: FanotifyMarkFlags,
        mask: FanotifyMask,
        path: &P,
    ) -> Result<(), Error> {
        with_nul_terminated(path.path_bytes(), |path| {
            sys::fanotify_mark(
                self.fd.as_raw(),
                flags.bits(),
                u64::from(mask.bits()),
                AT_FDCWD,
                Some(path),
            )
            .map_err(|errno| Error::syscall(Call::FanotifyMark, errno))
        })?
    }

    /// Removes every mark of one kind: inode marks (`kind` empty or
    /// [`FanotifyMarkFlags::INODE`]), mount marks ([`MOUNT`](FanotifyMarkFlags::MOUNT)) or
    /// file-system marks ([`FILESYSTEM`](FanotifyMarkFlags::FILESYSTEM)).
    /// `FAN_MARK_FLUSH` is added to `kind`.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] from `fanotify_mark`: `EINVAL` for flags other than a kind.
    ///
    /// # References
    ///
    /// [fanotify_mark(2)](https://man7.org/linux/man-pages/man2/fanotify_mark.2.html)
    /// (`FAN_MARK_FLUSH`)
    #[doc(alias("fanotify_mark", "FAN_MARK_FLUSH"))]
    pub fn flush(&self, kind: FanotifyMarkFlags) -> Result<(), Error> {
        let flags = kind | FanotifyMarkFlags::FLUSH;
        sys::fanotify_mark(self.fd.as_raw(), flags.bits(), 0, AT_FDCWD, None)
            .map_err(|errno| Error::syscall(Call::FanotifyMark, errno))
    }

    /// Reads the events waiting, blocking until there is one unless the group is
    /// non-blocking (then `EAGAIN`: see [`Error::is_would_block`]).
    ///
    /// The events are views into `buffer`; nothing is copied or allocated. `N` must be
    /// at least [`MIN_FANOTIFY_BUFFER_LEN`] (1256), so that any event fits: a smaller
    /// buffer does not compile.
    ///
    /// ```compile_fail
    /// use inotify_raw::{EventBuffer, Fanotify, FanotifyInitFlags};
    ///
    /// let fanotify = Fanotify::init(FanotifyInitFlags::REPORT_FID)?;
    /// let mut buffer = EventBuffer::<1024>::new();
    /// fanotify.read(&mut buffer)?;
    /// # Ok::<(), inotify_raw::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] from `read`: `EAGAIN` when the group is non-blocking and no
    /// event is queued ([`Error::is_would_block`]), `EINTR` when a signal came first
    /// ([`Error::is_interrupted`]).
    ///
    /// # References
    ///
    /// [read(2)](https://man7.org/linux/man-pages/man2/read.2.html),
    /// [fanotify(7)](https://man7.org/linux/man-pages/man7/fanotify.7.html)
    #[allow(clippy::let_unit_value)] // forces the compile-time size check
    pub fn read<'b, const N: usize>(
        &self,
        buffer: &'b mut EventBuffer<N>,
    ) -> Result<FanotifyEvents<'b>, Error> {
        let () = RoomForAnyFanotifyEvent::<N>::CHECKED;
        self.read_into(buffer.as_mut_bytes())
    }

    /// Like [`read`](Fanotify::read), into any byte slice of at least
    /// [`MIN_FANOTIFY_BUFFER_LEN`] bytes (it need not be aligned).
    ///
    /// # Errors
    ///
    /// [`Error::BufferTooSmall`] for a slice shorter than [`MIN_FANOTIFY_BUFFER_LEN`],
    /// before any call; otherwise those of [`read`](Fanotify::read).
    ///
    /// # References
    ///
    /// [read(2)](https://man7.org/linux/man-pages/man2/read.2.html),
    /// [fanotify(7)](https://man7.org/linux/man-pages/man7/fanotify.7.html)
    #[doc(alias = "read")]
    pub fn read_into<'b>(&self, buffer: &'b mut [u8]) -> Result<FanotifyEvents<'b>, Error> {
        read_at_least(&self.fd, buffer, MIN_FANOTIFY_BUFFER_LEN).map(FanotifyEvents::new)
    }

    nonblocking_methods!();
}

impl_descriptor_traits!(Fanotify);

/// Adopts the descriptors that `events` (read, once, from a group that does not report
/// file handles) carry: the first is kept in `kept` (unless it holds one), the others
/// are closed. Such a descriptor is opened by the kernel so that it causes no event, not
/// even when it is closed. Says whether a `FAN_CLOSE_NOWRITE` was among the events.
#[cfg(feature = "std")]
#[allow(unsafe_code)]
pub(crate) fn adopt_descriptors(
    events: FanotifyEvents<'_>,
    kept: &mut Option<OwnedDescriptor>,
) -> bool {
    let mut closed = false;
    for event in events {
        let event = match event {
            Ok(event) => event,
            Err(_) => break,
        };
        closed |= event.mask().contains(FanotifyMask::CLOSE_NOWRITE);
        let fd = event.fd();
        if fd >= 0 {
            // SAFETY: the kernel opened `fd` in this process for this event, which was
            // read once, by the caller, and handed here: nothing else owns it, and it is
            // adopted once.
            let owned = unsafe { OwnedDescriptor::from_raw(fd) };
            if kept.is_none() {
                *kept = Some(owned);
            }
        }
    }
    closed
}

/// A compile-time check that an `EventBuffer<N>` holds any fanotify event.
struct RoomForAnyFanotifyEvent<const N: usize>;

impl<const N: usize> RoomForAnyFanotifyEvent<N> {
    const CHECKED: () = assert!(
        N >= MIN_FANOTIFY_BUFFER_LEN,
        "Fanotify::read needs an EventBuffer<N> with N >= 1256 (MIN_FANOTIFY_BUFFER_LEN)"
    );
}

/// `fanotify_init` for `flags` and close-on-exec.
fn init_group(flags: FanotifyInitFlags) -> Result<sys::RawFd, Errno> {
    sys::fanotify_init(
        (flags | FanotifyInitFlags::CLOEXEC).bits(),
        EVENT_FILE_FLAGS,
    )
}

/// Of the flags in `flags` that a kernel may not know, the newest that this kernel
/// refuses on its own (with the older flags it needs): why `fanotify_init` said
/// `EINVAL`. `None` when it takes each of them: then the combination was refused.
#[cold]
fn newest_unknown_flag(flags: FanotifyInitFlags) -> Option<FanotifyInitFlags> {
    FanotifyInitFlags::SINCE
        .iter()
        .rev()
        .map(|&(flag, ..)| flag)
        .filter(|&flag| flags.contains(flag))
        .find(|&flag| {
            let needs = if flag == FanotifyInitFlags::REPORT_NAME {
                FanotifyInitFlags::REPORT_DIR_FID
            } else if flag == FanotifyInitFlags::REPORT_TARGET_FID {
                FanotifyInitFlags::REPORT_DFID_NAME | FanotifyInitFlags::REPORT_FID
            } else {
                FanotifyInitFlags::empty()
            };
            // The group made, if the kernel takes the flag, is closed at once.
            OwnedDescriptor::from_new(init_group(flag | needs)).err() == Some(Errno::EINVAL)
        })
}

/// A file handle this value holds, as [`name_to_handle_at`] made it: room for the
/// largest handle (`MAX_HANDLE_SZ`, 128 bytes), on the stack, and the ID of the mount
/// the path was on.
///
/// [`as_handle`](OwnedFileHandle::as_handle) views it as a [`FileHandle`], the type the
/// handles in events have, to compare them or to [`open_by_handle_at`]. Two are equal
/// when their handles and their mount IDs are.
#[derive(Clone, Copy)]
pub struct OwnedFileHandle {
    /// A whole `struct file_handle`, as the kernel filled it.
    bytes: [u8; FileHandleStorage::LEN],
    mount_id: i32,
}

impl OwnedFileHandle {
    /// The handle.
    pub fn as_handle(&self) -> FileHandle<'_> {
        FileHandle::split_first(&self.bytes).unwrap_or(FileHandle::EMPTY)
    }

    /// The ID of the mount the path was on (as `/proc/self/mountinfo` lists it first).
    pub fn mount_id(&self) -> i32 {
        self.mount_id
    }
}

impl PartialEq for OwnedFileHandle {
    fn eq(&self, other: &OwnedFileHandle) -> bool {
        self.as_handle() == other.as_handle() && self.mount_id == other.mount_id
    }
}

impl Eq for OwnedFileHandle {}

impl core::hash::Hash for OwnedFileHandle {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_handle().hash(state);
        self.mount_id.hash(state);
    }
}

impl fmt::Debug for OwnedFileHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedFileHandle")
            .field("handle", &self.as_handle())
            .field("mount_id", &self.mount_id)
            .finish()
    }
}

/// The file handle of `path` (relative to the current directory; a final symbolic link
/// is not followed, as fanotify reports a link itself), and the ID of its mount.
///
/// A handle names a file on its file system for as long as the file exists, whatever
/// its path becomes: the one fanotify reports for the same file is equal to it.
///
/// # Errors
///
/// - [`Error::EmptyPath`], [`Error::PathContainsNul`], [`Error::PathTooLong`]: the path
///   is refused before any call.
/// - [`Error::Syscall`] from `name_to_handle_at`: `EOPNOTSUPP` when the file system has
///   no file handles, `ENOENT` when the path does not exist.
///
/// # References
///
/// [name_to_handle_at(2)](https://man7.org/linux/man-pages/man2/name_to_handle_at.2.html)
pub fn name_to_handle_at<P: PathBytes + ?Sized>(path: &P) -> Result<OwnedFileHandle, Error> {
    with_nul_terminated(path.path_bytes(), |path| handle_at(AT_FDCWD, path))?
}

/// The file handle of the directory above the directory `dir`, and the ID of the mount
/// it is on (another mount's when `dir` is the root of its own).
#[cfg(feature = "std")]
pub(crate) fn parent_handle<D: AsDescriptor + ?Sized>(dir: &D) -> Result<OwnedFileHandle, Error> {
    const DOT_DOT: sys::NulTerminated<'static> = match sys::NulTerminated::new(b"..\0") {
        Some(path) => path,
        None => panic!("a NUL-terminated constant"),
    };
    handle_at(dir.as_descriptor().as_raw(), DOT_DOT)
}

/// `name_to_handle_at(dirfd, path, 0)`.
fn handle_at(dirfd: sys::RawFd, path: sys::NulTerminated<'_>) -> Result<OwnedFileHandle, Error> {
    let mut bytes = [0u8; FileHandleStorage::LEN];
    let error = |errno| Error::syscall(Call::NameToHandleAt, errno);
    let mount_id = sys::name_to_handle_at(dirfd, path, &mut bytes, 0).map_err(error)?;
    // The kernel never says it wrote more than the room it was given.
    if FileHandle::split_first(&bytes).is_none() {
        return Err(error(Errno::EOVERFLOW));
    }
    Ok(OwnedFileHandle { bytes, mount_id })
}

/// Opens the file or directory `handle` names, on the file system that `mount` (any
/// descriptor of a file on it: a directory opened with `O_PATH` will do) is on, as an
/// `O_PATH` descriptor: it names the object, for `openat`, `statx` or the link
/// `/proc/self/fd/N` that gives its path, but cannot be read.
///
/// `handle` comes from an event of a group that reports file handles, or from
/// [`name_to_handle_at`].
///
/// # Errors
///
/// [`Error::Syscall`] from `open_by_handle_at`: `ESTALE` when the file is gone
/// (deleted) or the handle is of another file system, `EPERM` without
/// `CAP_DAC_READ_SEARCH`, `EINVAL` for a handle the file system does not take.
///
/// # References
///
/// [open_by_handle_at(2)](https://man7.org/linux/man-pages/man2/open_by_handle_at.2.html)
pub fn open_by_handle_at<M: AsDescriptor + ?Sized>(
    mount: &M,
    handle: FileHandle<'_>,
) -> Result<OwnedDescriptor, Error> {
    let opened = sys::open_by_handle_at(
        mount.as_descriptor().as_raw(),
        handle.as_struct_bytes(),
        O_PATH | O_CLOEXEC,
    );
    OwnedDescriptor::from_new(opened).map_err(|errno| Error::syscall(Call::OpenByHandleAt, errno))
}
