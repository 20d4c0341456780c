//! [`Error`]: what went wrong, which call failed, and what to do about it.

use core::fmt;

use crate::mask::FanotifyInitFlags;
use crate::parse::{MalformedDirent, MalformedEvent, MalformedFanotifyEvent};
use crate::sys::Errno;

/// The system call that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Call {
    /// `inotify_init1`
    InotifyInit,
    /// `inotify_add_watch`
    InotifyAddWatch,
    /// `inotify_rm_watch`
    InotifyRmWatch,
    /// `read`
    Read,
    /// `epoll_create1`
    EpollCreate,
    /// `epoll_ctl`
    EpollCtl,
    /// `epoll_pwait`
    EpollWait,
    /// `fcntl`
    Fcntl,
    /// `clock_gettime`
    ClockGettime,
    /// `openat`
    Open,
    /// `getdents64`
    Getdents,
    /// `statx`
    Statx,
    /// `readlinkat`
    Readlink,
    /// `fanotify_init`
    FanotifyInit,
    /// `fanotify_mark`
    FanotifyMark,
    /// `name_to_handle_at`
    NameToHandleAt,
    /// `open_by_handle_at`
    OpenByHandleAt,
    /// `fstatfs`
    Fstatfs,
}

impl Call {
    /// The system call's name, as in its man page.
    pub const fn name(self) -> &'static str {
        match self {
            Call::InotifyInit => "inotify_init1",
            Call::InotifyAddWatch => "inotify_add_watch",
            Call::InotifyRmWatch => "inotify_rm_watch",
            Call::Read => "read",
            Call::EpollCreate => "epoll_create1",
            Call::EpollCtl => "epoll_ctl",
            Call::EpollWait => "epoll_pwait",
            Call::Fcntl => "fcntl",
            Call::ClockGettime => "clock_gettime",
            Call::Open => "openat",
            Call::Fstatfs => "fstatfs",
            Call::Getdents => "getdents64",
            Call::Statx => "statx",
            Call::Readlink => "readlinkat",
            Call::FanotifyInit => "fanotify_init",
            Call::FanotifyMark => "fanotify_mark",
            Call::NameToHandleAt => "name_to_handle_at",
            Call::OpenByHandleAt => "open_by_handle_at",
        }
    }
}

/// What a [`Limit`] limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum LimitKind {
    /// inotify watches per user.
    Watches,
    /// inotify instances per user.
    Instances,
    /// Descriptors per process: `RLIMIT_NOFILE`.
    OpenFiles,
}

/// A kernel limit that a call ran into, with its value when the error was made:
/// attached to `ENOSPC` from `inotify_add_watch` and to `EMFILE` from the calls that
/// open a descriptor (`inotify_init1`, `epoll_create1`, `openat`).
///
/// inotify's limits are counted per user in each user namespace, from the caller's up
/// to the initial one, and a watch or an instance must fit under each of them. In the
/// initial namespace they are `fs.inotify.max_user_watches` and
/// `fs.inotify.max_user_instances`; in another one (a container, `unshare --user`) that
/// namespace has its own `user.max_inotify_watches` and `user.max_inotify_instances`
/// (in `/proc/sys/user/`), and the initial namespace's apply as well. [`name`](Limit::name)
/// and [`value`](Limit::value) give the lower of the two, the one most likely hit (a
/// namespace between the two, which `/proc` does not show, may have a lower one still).
///
/// The error's message says all this; a program can also act on it:
///
/// ```
/// use inotify_raw::{Error, Inotify, WatchMask};
///
/// let inotify = Inotify::new()?;
/// match inotify.add_watch("/tmp", WatchMask::CREATE) {
///     Ok(_) => {}
///     Err(Error::Syscall { limit: Some(limit), .. }) => {
///         eprintln!("{} is {:?}; it is set in {:?}", limit.name(), limit.value(), limit.file());
///     }
///     Err(error) => return Err(error),
/// }
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limit {
    kind: LimitKind,
    /// The caller is in a user namespace other than the initial one.
    nested: bool,
    /// In a user namespace: its own `user.max_inotify_*`, or [`UNKNOWN`].
    own: u32,
    /// The initial namespace's `fs.inotify.max_user_*`, or the `RLIMIT_NOFILE` soft
    /// limit, or [`UNKNOWN`].
    initial: u32,
}

/// A value that could not be read. (`u32`, not `Option<u64>`, keeps [`Error`] small:
/// the kernel keeps these limits in an `int`, and `RLIMIT_NOFILE` cannot pass
/// `fs.nr_open`, at most `INT_MAX` too.)
pub(crate) const UNKNOWN: u32 = u32::MAX;

/// `value` as stored in a [`Limit`].
pub(crate) const fn stored(value: Option<u64>) -> u32 {
    match value {
        Some(value) if value < UNKNOWN as u64 => value as u32,
        Some(_) => UNKNOWN - 1,
        None => UNKNOWN,
    }
}

/// A value stored in a [`Limit`].
const fn known(value: u32) -> Option<u64> {
    if value == UNKNOWN {
        None
    } else {
        Some(value as u64)
    }
}

impl Limit {
    /// A limit of `kind` for a caller in a user namespace other than the initial one
    /// (`nested`) or not, with the values that could be read (as [`stored`]). `own`
    /// counts only when `nested`.
    pub(crate) const fn new(kind: LimitKind, nested: bool, own: u32, initial: u32) -> Limit {
        Limit {
            kind,
            nested,
            own,
            initial,
        }
    }

    /// Whether the user namespace's own limit is the one that applies: the lower one,
    /// or the one known ([`UNKNOWN`] is the highest value).
    const fn own_applies(&self) -> bool {
        self.nested && (self.own <= self.initial)
    }

    /// The limit's name: `fs.inotify.max_user_watches` or
    /// `fs.inotify.max_user_instances` in the initial user namespace,
    /// `user.max_inotify_watches` or `user.max_inotify_instances` in another one (unless
    /// the initial namespace's is lower), `RLIMIT_NOFILE` for descriptors.
    pub const fn name(&self) -> &'static str {
        match (self.kind, self.own_applies()) {
            (LimitKind::Watches, false) => "fs.inotify.max_user_watches",
            (LimitKind::Watches, true) => "user.max_inotify_watches",
            (LimitKind::Instances, false) => "fs.inotify.max_user_instances",
            (LimitKind::Instances, true) => "user.max_inotify_instances",
            (LimitKind::OpenFiles, _) => "RLIMIT_NOFILE",
        }
    }

    /// Its value when the error was made (for `RLIMIT_NOFILE`, the soft limit); `None`
    /// when it could not be read (`/proc` not mounted).
    pub const fn value(&self) -> Option<u64> {
        known(if self.own_applies() {
            self.own
        } else {
            self.initial
        })
    }

    /// The file in `/proc` that shows the limit and sets it (`None` for
    /// `RLIMIT_NOFILE`, which is set with `setrlimit`, `ulimit -n` or `prlimit`).
    pub const fn file(&self) -> Option<&'static str> {
        Some(match (self.kind, self.own_applies()) {
            (LimitKind::Watches, false) => "/proc/sys/fs/inotify/max_user_watches",
            (LimitKind::Watches, true) => "/proc/sys/user/max_inotify_watches",
            (LimitKind::Instances, false) => "/proc/sys/fs/inotify/max_user_instances",
            (LimitKind::Instances, true) => "/proc/sys/user/max_inotify_instances",
            (LimitKind::OpenFiles, _) => return None,
        })
    }

    /// Whether the caller was in a user namespace other than the initial one (always
    /// `false` for `RLIMIT_NOFILE`, which belongs to the process, not the namespace).
    pub const fn in_user_namespace(&self) -> bool {
        self.nested
    }

    /// Writes what the limit is, its value and what to do.
    fn write_advice(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            LimitKind::Watches => {
                self.write_inotify_advice(f, "inotify watch limit", "remove watches")
            }
            LimitKind::Instances => self.write_inotify_advice(
                f,
                "limit on inotify instances",
                "close inotify instances",
            ),
            LimitKind::OpenFiles => self.write_descriptor_advice(f),
        }
    }

    /// The advice for `RLIMIT_NOFILE`.
    fn write_descriptor_advice(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("this process has no descriptor free: RLIMIT_NOFILE")?;
        match known(self.initial) {
            Some(value) => write!(f, " is {}", value)?,
            None => f.write_str(" is reached")?,
        }
        f.write_str(
            "; close descriptors, or raise it (ulimit -n N in the shell that starts the \
             program, prlimit --nofile=N, or setrlimit)",
        )
    }

    /// The advice for an inotify limit: which one is reached (`what`), in which
    /// namespace, its value, how to raise it or what else to do (`remove`), and the
    /// other limit that applies in a user namespace.
    fn write_inotify_advice(
        &self,
        f: &mut fmt::Formatter<'_>,
        what: &str,
        remove: &str,
    ) -> fmt::Result {
        let name = self.name();
        let whose = match (self.nested, self.own_applies()) {
            (false, _) => "",
            (true, true) => " of this user namespace",
            (true, false) => " of the initial user namespace",
        };
        write!(f, "the per-user {}{} is reached: {}", what, whose, name)?;
        write_value(f, self.value())?;
        if self.nested && !self.own_applies() {
            write!(
                f,
                " there; raise it on the host (sysctl -w {}=N) or {}",
                name, remove
            )?;
        } else {
            write!(f, "; raise it (sysctl -w {}=N) or {}", name, remove)?;
        }
        self.write_other_limit(f)
    }

    /// In a user namespace: ` (...)`, the other of the two inotify limits that apply,
    /// with its value.
    fn write_other_limit(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.nested {
            return Ok(());
        }
        let own_applies = self.own_applies();
        let (other, value) = match (self.kind, own_applies) {
            (LimitKind::Watches, true) => ("fs.inotify.max_user_watches", self.initial),
            (LimitKind::Instances, true) => ("fs.inotify.max_user_instances", self.initial),
            (LimitKind::Watches, false) => ("user.max_inotify_watches", self.own),
            (LimitKind::Instances, false) => ("user.max_inotify_instances", self.own),
            (LimitKind::OpenFiles, _) => return Ok(()),
        };
        if own_applies {
            write!(f, " (the initial namespace's {}", other)?;
        } else {
            write!(f, " (this namespace's own {}", other)?;
        }
        if let Some(value) = known(value) {
            write!(f, ", {},", value)?;
        }
        f.write_str(if own_applies {
            " applies too)"
        } else {
            " is higher)"
        })
    }
}

/// ` is N`, or nothing when the value is not known.
fn write_value(f: &mut fmt::Formatter<'_>, value: Option<u64>) -> fmt::Result {
    match value {
        Some(value) => write!(f, " is {}", value),
        None => Ok(()),
    }
}

/// An error from this crate: a system call the kernel refused, an argument refused
/// before any call was made, or bytes given to a parser that are not whole records.
///
/// `?` turns a [`MalformedEvent`] or a [`MalformedDirent`] into an `Error`, so one loop
/// that reads and parses can return `Result<_, Error>`, with or without `std`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The kernel returned an error.
    Syscall {
        /// Which call.
        call: Call,
        /// The error number.
        errno: Errno,
        /// The limit that was hit, with its value: for `ENOSPC` from
        /// `inotify_add_watch` and `EMFILE` from a call that opens a descriptor.
        limit: Option<Limit>,
    },
    /// A path has a NUL byte before its end; the kernel would see only the part before it.
    PathContainsNul {
        /// The NUL's position in the path.
        position: usize,
    },
    /// A path has `PATH_MAX` (4096) bytes or more.
    PathTooLong {
        /// The path's length in bytes.
        len: usize,
    },
    /// A buffer is too small to be sure of holding one record: an inotify event or a
    /// directory entry (`len` and `min` in bytes), or an epoll event (in
    /// `EpollEvent`s: an empty slice).
    BufferTooSmall {
        /// The buffer's length.
        len: usize,
        /// The least that holds any record of its kind.
        min: usize,
    },
    /// A file under `/proc/sys/fs/inotify` did not start with a decimal number.
    NotANumber,
    /// A path is empty: it names nothing (write `.` for the current directory).
    EmptyPath,
    /// One component of a path stops it from being resolved: a directory that cannot be
    /// searched or watched (`EACCES`), a component that is not a directory but has more
    /// path below it (`ENOTDIR`), too many symbolic links (`ELOOP`), or a path that grows
    /// past `PATH_MAX` as links are expanded (`ENAMETOOLONG`).
    ///
    /// `offset` and `len` locate the component in the path as the caller gave it;
    /// [`Error::failing_prefix`] cuts the path there. A component reached through a
    /// symbolic link is reported as the link's own component.
    PathComponent {
        /// The call that failed, or that would fail (`ENOTDIR` is found from the file's
        /// type, before the kernel is asked).
        call: Call,
        /// The error number.
        errno: Errno,
        /// Where the component starts in the path, in bytes.
        offset: usize,
        /// Its length in bytes: 0 for the current directory, where a relative path
        /// starts.
        len: usize,
    },
    /// Bytes given to [`Events`](crate::Events) that are not whole inotify events.
    MalformedEvent(MalformedEvent),
    /// Bytes given to [`Dirents`](crate::Dirents) that are not whole directory entries.
    MalformedDirent(MalformedDirent),
    /// Bytes given to [`FanotifyEvents`](crate::FanotifyEvents) that are not whole
    /// fanotify events.
    MalformedFanotifyEvent(MalformedFanotifyEvent),
    /// `fanotify_init` failed with `EINVAL` because this kernel does not know `flag`: it
    /// is older than the Linux version that added the flag, which the message names.
    /// [`errno`](Error::errno) gives `EINVAL`.
    UnknownFanotifyFlag {
        /// The flag the kernel refused: of those it does not know, the newest.
        flag: FanotifyInitFlags,
    },
}

impl From<MalformedFanotifyEvent> for Error {
    fn from(error: MalformedFanotifyEvent) -> Error {
        Error::MalformedFanotifyEvent(error)
    }
}

impl From<MalformedEvent> for Error {
    fn from(error: MalformedEvent) -> Error {
        Error::MalformedEvent(error)
    }
}

impl From<MalformedDirent> for Error {
    fn from(error: MalformedDirent) -> Error {
        Error::MalformedDirent(error)
    }
}

impl Error {
    /// An error from `call`, with no limit attached.
    pub const fn syscall(call: Call, errno: Errno) -> Error {
        Error::Syscall {
            call,
            errno,
            limit: None,
        }
    }

    /// The error number, when the kernel gave one (or, for
    /// [`Error::PathComponent`], would give one).
    pub const fn errno(&self) -> Option<Errno> {
        match *self {
            Error::Syscall { errno, .. } | Error::PathComponent { errno, .. } => Some(errno),
            Error::UnknownFanotifyFlag { .. } => Some(Errno::EINVAL),
            _ => None,
        }
    }

    /// For an [`Error::PathComponent`] about `path`: the part of `path` that names the
    /// directory or file at fault, up to and including its component (`/a/locked` for
    /// `/a/locked/b`). Empty when the fault is the current directory, where a relative
    /// path starts. `None` for other errors, or a path the offsets do not fit.
    ///
    /// ```
    /// use inotify_raw::{Errno, Error, Presence, PathWaiter};
    ///
    /// let path = "/dev/null/x"; // /dev/null is a device, not a directory
    /// let error = PathWaiter::new(Presence::Exists).wait(path).unwrap_err();
    /// assert_eq!(error.errno(), Some(Errno::ENOTDIR));
    /// assert_eq!(error.failing_prefix(path.as_bytes()), Some(&b"/dev/null"[..]));
    /// ```
    pub fn failing_prefix<'p>(&self, path: &'p [u8]) -> Option<&'p [u8]> {
        match *self {
            Error::PathComponent { offset, len, .. } => path.get(..offset.checked_add(len)?),
            _ => None,
        }
    }

    /// True for `EAGAIN` from a non-blocking descriptor with nothing to read.
    pub const fn is_would_block(&self) -> bool {
        matches!(self, Error::Syscall { errno, .. } if errno.is_would_block())
    }

    /// True for `EINTR`: a signal arrived during the call.
    pub const fn is_interrupted(&self) -> bool {
        matches!(self, Error::Syscall { errno, .. } if errno.raw() == Errno::EINTR.raw())
    }
}

/// What to do about an [`Error::Syscall`]: the advice of the call, or else of the
/// errno.
fn syscall_advice(call: Call, errno: Errno) -> Option<&'static str> {
    let of_call = match call {
        Call::InotifyAddWatch => add_watch_advice(errno),
        Call::InotifyRmWatch if errno == Errno::EINVAL => Some(
            "the watch descriptor is not (or no longer) valid for this instance; the kernel \
             removes a watch by itself when its object is deleted or unmounted (IN_IGNORED)",
        ),
        Call::EpollWait if errno == Errno::EINVAL => {
            Some("the descriptor is not an epoll instance")
        }
        Call::EpollCtl => epoll_ctl_advice(errno),
        Call::Getdents if errno == Errno::EINVAL => Some(
            "the buffer is too small for the next directory entry: use at least \
             MIN_DIRENT_BUFFER_LEN (280) bytes; 4 KiB or more is sensible",
        ),
        Call::Open | Call::Statx => lookup_advice(call, errno),
        Call::FanotifyInit => fanotify_init_advice(errno),
        Call::FanotifyMark => fanotify_mark_advice(errno),
        Call::NameToHandleAt | Call::OpenByHandleAt => file_handle_advice(call, errno),
        _ => None,
    };
    of_call.or_else(|| descriptor_advice(call, errno))
}

/// What to do about `inotify_add_watch`'s errors, but for the watch limit with a
/// [`Limit`].
fn add_watch_advice(errno: Errno) -> Option<&'static str> {
    Some(match errno {
        // Without a `Limit` (an error made with `Error::syscall`): what it may be.
        Errno::ENOSPC => {
            "the per-user inotify watch limit is reached: raise fs.inotify.max_user_watches \
             (user.max_inotify_watches in a user namespace) or remove watches"
        }
        Errno::ENOENT => {
            "the path does not exist, a directory leading to it is missing, or it is a \
             symbolic link whose target is missing (IN_DONT_FOLLOW watches the link itself)"
        }
        Errno::ENOTDIR => {
            "a component of the path is not a directory, or IN_ONLYDIR was given for a path \
             that is not a directory"
        }
        Errno::EACCES => "watching needs read permission on the path",
        Errno::EEXIST => {
            "the path is already watched by this instance and IN_MASK_CREATE was given"
        }
        Errno::EINVAL => {
            "the mask has no event bit, or combines IN_MASK_ADD with IN_MASK_CREATE, or the \
             descriptor is not an inotify instance"
        }
        _ => return None,
    })
}

/// What to do about `fanotify_init`'s errors. (`EINVAL` for a flag the kernel does not
/// know is an [`Error::UnknownFanotifyFlag`].)
fn fanotify_init_advice(errno: Errno) -> Option<&'static str> {
    Some(match errno {
        Errno::EPERM => {
            "fanotify needs CAP_SYS_ADMIN (run as root, or grant the program the capability); \
             without it, Linux 5.13 and later allow only FAN_CLASS_NOTIF with file-handle \
             reports (FAN_REPORT_FID...) and inode marks. TreeWatcher watches a tree with \
             inotify and needs no privilege"
        }
        Errno::EINVAL => {
            "the kernel knows each flag but refuses the combination: FAN_REPORT_NAME needs \
             FAN_REPORT_DIR_FID, FAN_REPORT_TARGET_FID needs FAN_REPORT_DFID_NAME and \
             FAN_REPORT_FID, file-handle reports need FAN_CLASS_NOTIF, and FAN_REPORT_PIDFD \
             cannot go with FAN_REPORT_TID"
        }
        Errno::EMFILE => {
            "the per-user limit on fanotify groups is reached (fs.fanotify.max_user_groups, 128 \
             by default), or this process has no descriptor free (RLIMIT_NOFILE, ulimit -n)"
        }
        Errno::ENOSYS => no_fanotify(),
        _ => return None,
    })
}

/// What to do about `fanotify_mark`'s errors.
fn fanotify_mark_advice(errno: Errno) -> Option<&'static str> {
    Some(match errno {
        Errno::EPERM => {
            "mount and file-system marks need CAP_SYS_ADMIN; a group made without it (Linux \
             5.13 and later) can mark files and directories only"
        }
        Errno::EOPNOTSUPP => no_file_handles(),
        Errno::ENODEV => {
            "this file system has no file system ID, so its file handles cannot be reported: \
             mark it in a group that does not report file handles, or watch it with inotify \
             (TreeWatcher)"
        }
        Errno::EXDEV => {
            "the path is in a subvolume whose file system ID is not its file system's (btrfs), \
             so file handles from a mark there could not be told apart: mark each subvolume's \
             own root, or watch it with inotify (TreeWatcher)"
        }
        Errno::EINVAL => {
            "a flag or event this kernel does not know (FAN_MARK_FILESYSTEM needs Linux 4.20, \
             FAN_CREATE, FAN_DELETE, FAN_MOVED_*, FAN_ATTRIB and the *_SELF events 5.1, \
             FAN_FS_ERROR 5.16, FAN_RENAME 5.17, FAN_MARK_EVICTABLE 5.19, FAN_MARK_IGNORE \
             6.0), or a mask this group cannot report: entry events need a group that reports \
             file handles, permission events a content class"
        }
        Errno::ENOENT => {
            "the path does not exist, or FAN_MARK_REMOVE was given for a mark that is not there"
        }
        Errno::ENOTDIR => {
            "a component of the path is not a directory, or FAN_MARK_ONLYDIR was given for a \
             path that is not a directory"
        }
        Errno::EISDIR => {
            "an ignore mark (FAN_MARK_IGNORE) on a directory needs FAN_MARK_IGNORED_SURV_MODIFY \
             too: use FAN_MARK_IGNORE_SURV"
        }
        Errno::ENOSPC => {
            "the per-user limit on fanotify marks is reached (fs.fanotify.max_user_marks): \
             raise it, remove marks, or make the group with FAN_UNLIMITED_MARKS"
        }
        Errno::ENOSYS => no_fanotify(),
        _ => return None,
    })
}

/// What to do about the errors of `name_to_handle_at` and `open_by_handle_at`.
fn file_handle_advice(call: Call, errno: Errno) -> Option<&'static str> {
    Some(match (call, errno) {
        (_, Errno::EOPNOTSUPP) => no_file_handles(),
        (Call::OpenByHandleAt, Errno::ESTALE) => {
            "the file the handle names is gone (deleted), or the handle is of another file \
             system than the mount descriptor's"
        }
        (Call::OpenByHandleAt, Errno::EPERM) => {
            "open_by_handle_at needs CAP_DAC_READ_SEARCH (run as root, or grant the program \
             the capability)"
        }
        _ => return None,
    })
}

/// `ENOSYS` from a fanotify call.
const fn no_fanotify() -> &'static str {
    "this kernel has no fanotify (built without CONFIG_FANOTIFY), or an emulator such as \
     qemu-user does not implement it"
}

/// `EOPNOTSUPP` from a fanotify mark or `name_to_handle_at`.
const fn no_file_handles() -> &'static str {
    "this file system has no file handles (such as /proc, some FUSE file systems, NFS \
     without export support): mark it in a group that does not report file handles, or \
     watch it with inotify (TreeWatcher)"
}

/// What to do when `epoll_ctl` refuses a descriptor.
fn epoll_ctl_advice(errno: Errno) -> Option<&'static str> {
    Some(match errno {
        Errno::EPERM => {
            "this file cannot be polled: a regular file or a directory is always ready, so \
             epoll refuses it; read it directly, or watch it with inotify"
        }
        Errno::EEXIST => {
            "the descriptor is already registered with this epoll instance: use modify to \
             change what it is watched for, or delete it first"
        }
        Errno::ENOENT => "the descriptor is not registered with this epoll instance: add it first",
        _ => return None,
    })
}

/// What to do when `openat` or `statx` cannot find or resolve a path.
fn lookup_advice(call: Call, errno: Errno) -> Option<&'static str> {
    Some(match (call, errno) {
        (Call::Open, Errno::ENOTDIR) => {
            "a component of the path is not a directory, or (not following links) the last \
             one is a symbolic link"
        }
        (_, Errno::ENOTDIR) => "a component of the path is not a directory: check the path",
        (_, Errno::ENOENT) => {
            "the path does not exist (an entry can be removed after it was listed)"
        }
        _ => return None,
    })
}

/// What to do about an errno that means the same from every call: no descriptor to be
/// had, or a descriptor that is not open. (With a [`Limit`], `EMFILE` says more.)
fn descriptor_advice(call: Call, errno: Errno) -> Option<&'static str> {
    Some(match (call, errno) {
        (Call::InotifyInit, Errno::EMFILE) => {
            "the per-user limit on inotify instances is reached (fs.inotify.max_user_instances, \
             user.max_inotify_instances in a user namespace), or this process has no \
             descriptor free (RLIMIT_NOFILE, ulimit -n)"
        }
        (Call::EpollCreate, Errno::EMFILE) | (Call::Open, Errno::EMFILE) => {
            "this process has no descriptor free: close descriptors, or raise its limit \
             (RLIMIT_NOFILE, ulimit -n)"
        }
        (_, Errno::ENFILE) => "the system-wide limit on open files is reached (fs.file-max)",
        (_, Errno::EBADF) => {
            "the descriptor is not open: other code closed it behind its owner's back (a \
             close of its raw number); its owner cannot go on, make a new one"
        }
        _ => return None,
    })
}

/// What to do about an [`Error::PathComponent`].
fn component_advice(call: Call, errno: Errno) -> Option<&'static str> {
    Some(match (call, errno) {
        (Call::InotifyAddWatch, Errno::EACCES) => {
            "cannot watch this directory: inotify needs read (r) permission on every \
             directory on the path; grant it (chmod o+r), or wait as a user who has it"
        }
        (_, Errno::EACCES) => {
            "cannot search this directory: resolving a path needs search (x) permission on \
             every directory on it; grant it (chmod o+x), or wait as a user who has it"
        }
        (_, Errno::ENOTDIR) => {
            "this is not a directory (a file, or a link to one), yet the path goes on below \
             it: check the path"
        }
        (_, Errno::ELOOP) => {
            "more than 40 symbolic links were followed from here: is there a loop of links?"
        }
        (_, Errno::ENAMETOOLONG) => {
            "with its symbolic links expanded, the path grows past PATH_MAX (4096 bytes), or a \
             name is longer than NAME_MAX (255): use a shorter path or shorter link targets"
        }
        _ => return None,
    })
}

/// `Error::PathComponent`'s message, with the component's text when the path is known.
fn write_component(f: &mut fmt::Formatter<'_>, error: &Error, path: Option<&[u8]>) -> fmt::Result {
    let (call, errno, offset, len) = match *error {
        Error::PathComponent {
            call,
            errno,
            offset,
            len,
        } => (call, errno, offset, len),
        _ => return Ok(()),
    };
    match path.and_then(|path| error.failing_prefix(path)) {
        Some([]) => f.write_str("the current directory")?,
        Some(prefix) => write_path(f, prefix)?,
        None => write!(
            f,
            "the path's component at bytes {}..{}",
            offset,
            offset.saturating_add(len)
        )?,
    }
    write!(f, ": {}: {}", call.name(), errno)?;
    if let Some(advice) = component_advice(call, errno) {
        write!(f, ": {}", advice)?;
    }
    Ok(())
}

/// Writes a path as text: each invalid UTF-8 sequence as U+FFFD, and each NUL byte
/// (which a path passed to the kernel cannot hold) as `\0`, never raw.
pub(crate) fn write_path(f: &mut fmt::Formatter<'_>, path: &[u8]) -> fmt::Result {
    for (i, piece) in path.split(|&byte| byte == 0).enumerate() {
        if i > 0 {
            f.write_str("\\0")?;
        }
        write_lossy(f, piece)?;
    }
    Ok(())
}

/// Writes bytes as text, each invalid UTF-8 sequence as U+FFFD.
fn write_lossy(f: &mut fmt::Formatter<'_>, mut bytes: &[u8]) -> fmt::Result {
    while !bytes.is_empty() {
        match core::str::from_utf8(bytes) {
            Ok(text) => return f.write_str(text),
            Err(error) => {
                let (valid, after) = bytes.split_at(error.valid_up_to());
                f.write_str(core::str::from_utf8(valid).unwrap_or(""))?;
                f.write_str("\u{fffd}")?;
                let skip = error.error_len().unwrap_or(after.len());
                bytes = after.get(skip..).unwrap_or(&[]);
            }
        }
    }
    Ok(())
}

/// `CALL: ERRNO: ADVICE`: the message of an [`Error::Syscall`].
fn write_syscall(
    f: &mut fmt::Formatter<'_>,
    call: Call,
    errno: Errno,
    limit: Option<Limit>,
) -> fmt::Result {
    write!(f, "{}: {}", call.name(), errno)?;
    if let Some(limit) = limit {
        f.write_str(": ")?;
        return limit.write_advice(f);
    }
    match syscall_advice(call, errno) {
        Some(advice) => write!(f, ": {}", advice),
        None => Ok(()),
    }
}

/// The message of an argument refused before any call: a path, or a buffer.
fn write_refused(f: &mut fmt::Formatter<'_>, error: &Error) -> fmt::Result {
    match *error {
        Error::PathContainsNul { position } => write!(
            f,
            "path has a NUL byte at position {}: a path passed to the kernel cannot contain NUL",
            position
        ),
        Error::PathTooLong { len } => write!(
            f,
            "path is {} bytes long; the kernel takes at most {} (PATH_MAX less the final NUL): \
             use a shorter or relative path",
            len,
            crate::sys::PATH_MAX - 1
        ),
        Error::EmptyPath => f.write_str(
            "the path is empty (\"\"): it names nothing; give a file or directory (. for the \
             current directory)",
        ),
        Error::BufferTooSmall { len: 0, min: 1 } => {
            f.write_str("the events slice is empty: epoll_pwait needs room for at least one entry")
        }
        Error::BufferTooSmall { len, min } => write!(
            f,
            "read buffer is {} bytes; at least {} are needed to hold any record: use an \
             EventBuffer for events, MIN_DIRENT_BUFFER_LEN or more for directories",
            len, min
        ),
        _ => Ok(()),
    }
}

/// `Error::UnknownFanotifyFlag`'s message: the flag, and the Linux version that added it.
fn write_unknown_fanotify_flag(f: &mut fmt::Formatter<'_>, flag: FanotifyInitFlags) -> fmt::Result {
    write!(f, "{}: {}: ", Call::FanotifyInit.name(), Errno::EINVAL)?;
    match FanotifyInitFlags::SINCE
        .iter()
        .find(|(known, ..)| *known == flag)
    {
        Some((_, name, version)) => write!(
            f,
            "this kernel does not know {}, which Linux {} added: run on Linux {} or later, or \
             do without the flag",
            name, version, version
        ),
        None => write!(
            f,
            "this kernel does not know the flag {:#x}: run on a newer kernel, or do without it",
            flag.bits()
        ),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Syscall { call, errno, limit } => write_syscall(f, call, errno, limit),
            Error::NotANumber => f.write_str(
                "a file under /proc/sys/fs/inotify did not hold a number: is /proc a procfs?",
            ),
            Error::PathComponent { .. } => write_component(f, self, None),
            Error::MalformedEvent(error) => fmt::Display::fmt(&error, f),
            Error::MalformedDirent(error) => fmt::Display::fmt(&error, f),
            Error::PathContainsNul { .. }
            | Error::PathTooLong { .. }
            | Error::EmptyPath
            | Error::BufferTooSmall { .. } => write_refused(f, self),
            Error::MalformedFanotifyEvent(error) => fmt::Display::fmt(&error, f),
            Error::UnknownFanotifyFlag { flag } => write_unknown_fanotify_flag(f, flag),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    /// Keeps the message and advice; `Errno::from_error` gets the errno back.
    fn from(error: Error) -> std::io::Error {
        let kind = match error {
            Error::MalformedEvent(_)
            | Error::MalformedDirent(_)
            | Error::MalformedFanotifyEvent(_) => std::io::ErrorKind::InvalidData,
            _ => match error.errno() {
                Some(errno) => errno.kind(),
                None => std::io::ErrorKind::InvalidInput,
            },
        };
        std::io::Error::new(kind, error)
    }
}

/// An [`Error`] about one path: what `std` users get from adding or removing a watch.
///
/// Its message names the path, the system call and the errno, and says what to do:
/// it shows `source` (the field) in full, so [`source()`](std::error::Error::source)
/// returns `None` and a report that walks the chain (anyhow's `{:#}`) says it once.
/// `Errno::from_error` finds the errno, here or inside an `io::Error` made from it.
#[cfg(feature = "std")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathError {
    /// The path as the caller gave it.
    pub path: std::path::PathBuf,
    /// What failed.
    pub source: Error,
}

#[cfg(feature = "std")]
impl fmt::Display for PathError {
    /// `PATH: ERROR`; for an [`Error::PathComponent`], the component is named by its
    /// text: `/a/locked/b: /a/locked: statx: Permission denied (EACCES): ...`. A NUL byte
    /// in the path is shown as `\0`. The empty path is named by the error alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use std::os::unix::ffi::OsStrExt;
        let path = self.path.as_os_str().as_bytes();
        match (path.is_empty(), self.source) {
            (true, Error::EmptyPath) => {}
            (true, _) => f.write_str("\"\": ")?,
            (false, _) => {
                write_path(f, path)?;
                f.write_str(": ")?;
            }
        }
        match self.source {
            Error::PathComponent { .. } => write_component(f, &self.source, Some(path)),
            _ => fmt::Display::fmt(&self.source, f),
        }
    }
}

/// No `source()`: the message shows the [`Error`] already.
#[cfg(feature = "std")]
impl std::error::Error for PathError {}

#[cfg(feature = "std")]
impl From<PathError> for std::io::Error {
    fn from(error: PathError) -> std::io::Error {
        let kind = std::io::Error::from(error.source).kind();
        std::io::Error::new(kind, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    fn message(call: Call, errno: Errno, limit: Limit) -> std::string::String {
        Error::Syscall {
            call,
            errno,
            limit: Some(limit),
        }
        .to_string()
    }

    #[test]
    fn the_initial_namespace_names_fs_inotify() {
        let limit = Limit::new(LimitKind::Watches, false, stored(None), stored(Some(8192)));
        assert_eq!(limit.name(), "fs.inotify.max_user_watches");
        assert_eq!(limit.value(), Some(8192));
        assert_eq!(limit.file(), Some("/proc/sys/fs/inotify/max_user_watches"));
        assert_eq!(
            message(Call::InotifyAddWatch, Errno::ENOSPC, limit),
            "inotify_add_watch: No space left on device (ENOSPC): the per-user inotify watch \
             limit is reached: fs.inotify.max_user_watches is 8192; raise it (sysctl -w \
             fs.inotify.max_user_watches=N) or remove watches"
        );
        let limit = Limit::new(LimitKind::Instances, false, stored(None), stored(Some(128)));
        assert_eq!(limit.name(), "fs.inotify.max_user_instances");
        assert_eq!(
            message(Call::InotifyInit, Errno::EMFILE, limit),
            "inotify_init1: Too many open files (EMFILE): the per-user limit on inotify \
             instances is reached: fs.inotify.max_user_instances is 128; raise it (sysctl -w \
             fs.inotify.max_user_instances=N) or close inotify instances"
        );
    }

    #[test]
    fn a_user_namespace_names_the_lower_of_its_own_limit_and_the_initial_one() {
        let limit = Limit::new(
            LimitKind::Watches,
            true,
            stored(Some(12)),
            stored(Some(8192)),
        );
        assert_eq!(limit.name(), "user.max_inotify_watches");
        assert_eq!(limit.value(), Some(12));
        assert_eq!(limit.file(), Some("/proc/sys/user/max_inotify_watches"));
        assert_eq!(
            message(Call::InotifyAddWatch, Errno::ENOSPC, limit),
            "inotify_add_watch: No space left on device (ENOSPC): the per-user inotify watch \
             limit of this user namespace is reached: user.max_inotify_watches is 12; raise it \
             (sysctl -w user.max_inotify_watches=N) or remove watches (the initial namespace's \
             fs.inotify.max_user_watches, 8192, applies too)"
        );
        let limit = Limit::new(
            LimitKind::Instances,
            true,
            stored(Some(2147483647)),
            stored(Some(128)),
        );
        assert_eq!(limit.name(), "fs.inotify.max_user_instances");
        assert_eq!(limit.value(), Some(128));
        assert_eq!(
            message(Call::InotifyInit, Errno::EMFILE, limit),
            "inotify_init1: Too many open files (EMFILE): the per-user limit on inotify \
             instances of the initial user namespace is reached: fs.inotify.max_user_instances \
             is 128 there; raise it on the host (sysctl -w fs.inotify.max_user_instances=N) or \
             close inotify instances (this namespace's own user.max_inotify_instances, \
             2147483647, is higher)"
        );
        // Nothing readable: the namespace's own name, no value.
        let limit = Limit::new(LimitKind::Watches, true, stored(None), stored(None));
        assert_eq!(limit.name(), "user.max_inotify_watches");
        assert_eq!(limit.value(), None);
    }

    #[test]
    fn the_descriptor_limit_is_told_from_the_instance_limit() {
        let limit = Limit::new(
            LimitKind::OpenFiles,
            false,
            stored(None),
            stored(Some(1024)),
        );
        assert_eq!(limit.name(), "RLIMIT_NOFILE");
        assert_eq!(limit.value(), Some(1024));
        assert_eq!(limit.file(), None);
        assert_eq!(
            message(Call::EpollCreate, Errno::EMFILE, limit),
            "epoll_create1: Too many open files (EMFILE): this process has no descriptor free: \
             RLIMIT_NOFILE is 1024; close descriptors, or raise it (ulimit -n N in the shell \
             that starts the program, prlimit --nofile=N, or setrlimit)"
        );
    }
}
