//! [`Directory`]: an open directory, read with `getdents64` without allocating, and
//! [`file_kind`], the type of the file at a path.

use crate::error::{Call, Error};
use crate::fd::{impl_descriptor_traits, OwnedDescriptor};
use crate::inotify::with_limit;
use crate::parse::{Dirents, FileKind, MIN_DIRENT_BUFFER_LEN};
use crate::path::{with_nul_terminated, PathBytes};
use crate::sys::{
    self, NulTerminated, RawFd, Statx, AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_CLOEXEC, O_DIRECTORY,
    O_NOFOLLOW, O_RDONLY, STATX_NLINK, STATX_TYPE_MODE_INO,
};

#[cfg(feature = "std")]
use crate::sys::{AT_EMPTY_PATH, O_PATH, PATH_MAX};

/// `STATX_TYPE`: `stx_mask` has this bit when the type bits of `stx_mode` are filled in.
const STATX_TYPE: u32 = 0x1;

/// An open directory, to list with [`read`](Directory::read) and to open entries of
/// with [`open_at`](Directory::open_at).
///
/// Owns its descriptor (opened read-only with `O_DIRECTORY` and close-on-exec, closed
/// on drop). Entries come back as a zero-copy [`Dirents`] iterator over a buffer the
/// caller owns, so listing a tree allocates nothing. Opening a subdirectory relative to
/// its parent's descriptor resolves one name instead of a whole path, and keeps working
/// when a directory above is renamed.
///
/// # Examples
///
/// List a directory, asking for the kind of an entry only where the file system does not
/// give it:
///
/// ```
/// use inotify_raw::{Directory, FileKind};
///
/// let dir = std::env::temp_dir().join(format!("inotify-raw-doc-dir-{}", std::process::id()));
/// std::fs::create_dir_all(dir.join("sub"))?;
/// std::fs::write(dir.join("file"), b"")?;
///
/// let opened = Directory::open(dir.as_path())?;
/// let mut buffer = [0u8; 4096];
/// let mut found = Vec::new();
/// loop {
///     let entries = opened.read(&mut buffer)?;
///     if entries.is_empty() {
///         break; // the end of the directory
///     }
///     for entry in entries {
///         let entry = entry?;
///         if entry.is_dot_or_dot_dot() {
///             continue;
///         }
///         let kind = match entry.kind() {
///             FileKind::Unknown => opened.kind_of(entry.name())?,
///             known => known,
///         };
///         found.push((entry.name().to_vec(), kind));
///     }
/// }
/// found.sort_by(|a, b| a.0.cmp(&b.0));
/// assert_eq!(
///     found,
///     [(b"file".to_vec(), FileKind::Regular), (b"sub".to_vec(), FileKind::Directory)]
/// );
///
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Directory {
    fd: OwnedDescriptor,
}

impl Directory {
    /// Opens the directory at `path`, following a symbolic link (as `opendir` does).
    ///
    /// The path is any [`PathBytes`]; it is NUL-terminated on the stack, so nothing is
    /// allocated.
    ///
    /// # Errors
    ///
    /// - [`Error::EmptyPath`], [`Error::PathContainsNul`], [`Error::PathTooLong`]: the
    ///   path is refused before any call.
    /// - [`Error::Syscall`] from `openat`: `ENOENT` when the path does not exist,
    ///   `ENOTDIR` when it is not a directory, `EACCES` without read permission,
    ///   `EMFILE` when the process has no descriptor free (the error carries its limit,
    ///   `RLIMIT_NOFILE`), `ENFILE`.
    ///
    /// # References
    ///
    /// [openat(2)](https://man7.org/linux/man-pages/man2/openat.2.html) (`O_RDONLY |
    /// O_DIRECTORY | O_CLOEXEC`)
    #[doc(alias("openat", "opendir"))]
    pub fn open<P: PathBytes + ?Sized>(path: &P) -> Result<Directory, Error> {
        Directory::open_raw(AT_FDCWD, path.path_bytes(), 0)
    }

    /// Like [`open`](Directory::open), but fails if the last component of `path` is a
    /// symbolic link (`O_NOFOLLOW`: the kernel answers `ELOOP` or `ENOTDIR`). Links
    /// earlier in the path are followed.
    ///
    /// # Errors
    ///
    /// Those of [`open`](Directory::open), and `ELOOP` or `ENOTDIR` for a final
    /// symbolic link.
    ///
    /// # References
    ///
    /// [openat(2)](https://man7.org/linux/man-pages/man2/openat.2.html) (`O_NOFOLLOW`)
    #[doc(alias("openat", "O_NOFOLLOW"))]
    pub fn open_nofollow<P: PathBytes + ?Sized>(path: &P) -> Result<Directory, Error> {
        Directory::open_raw(AT_FDCWD, path.path_bytes(), O_NOFOLLOW)
    }

    /// Opens the directory `name` relative to this one: an entry's name, for walking a
    /// tree without resolving whole paths again.
    ///
    /// Never follows a symbolic link as the last component (`O_NOFOLLOW`): a link fails
    /// with `ELOOP` or `ENOTDIR`, so a walk cannot loop or leave the tree through one.
    /// `name` may have several components (`a/b`), and links among the earlier ones are
    /// followed; an absolute path ignores this directory.
    ///
    /// # Errors
    ///
    /// Those of [`open`](Directory::open); `ENOENT` means the entry has gone since it
    /// was listed, `ELOOP` or `ENOTDIR` that it is a symbolic link or not a directory.
    ///
    /// # References
    ///
    /// [openat(2)](https://man7.org/linux/man-pages/man2/openat.2.html)
    #[doc(alias = "openat")]
    pub fn open_at<P: PathBytes + ?Sized>(&self, name: &P) -> Result<Directory, Error> {
        Directory::open_raw(self.fd.as_raw(), name.path_bytes(), O_NOFOLLOW)
    }

    /// Opens for reading the directory that `fd` (an `O_PATH` descriptor) names.
    #[cfg(feature = "std")]
    pub(crate) fn open_named(fd: &OwnedDescriptor) -> Result<Directory, Error> {
        Directory::open_raw(fd.as_raw(), b".", 0)
    }

    /// Like [`open`](Directory::open) (`follow`) or
    /// [`open_nofollow`](Directory::open_nofollow), for a path of any length (see
    /// [`at_any_length`]).
    #[cfg(feature = "std")]
    pub(crate) fn open_any_length(path: &[u8], follow: bool) -> Result<Directory, Error> {
        let extra = if follow { 0 } else { O_NOFOLLOW };
        at_any_length(path, |dirfd, rest| Directory::open_raw(dirfd, rest, extra))
    }

    /// `openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | extra)`.
    fn open_raw(dirfd: RawFd, path: &[u8], extra: u32) -> Result<Directory, Error> {
        let opened = with_nul_terminated(path, |path| {
            sys::openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | extra, 0)
        })?;
        OwnedDescriptor::from_new(opened)
            .map(|fd| Directory { fd })
            .map_err(|errno| with_limit(Error::syscall(Call::Open, errno)))
    }

    /// Wraps a descriptor that is open on a directory (`O_PATH` will not do: reading
    /// needs a descriptor opened for reading), through `From<OwnedDescriptor>`.
    pub(crate) fn from_descriptor(fd: OwnedDescriptor) -> Directory {
        Directory { fd }
    }

    /// The kind of the entry `name` in this directory, from `statx` (not following a
    /// symbolic link: a link is [`FileKind::Symlink`]). For entries whose `d_type` is
    /// [`FileKind::Unknown`], which some file systems give for every entry.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] from `statx`: `ENOENT` when the entry has gone since it was
    /// listed. A file system that does not report the type even to `statx` gives
    /// `Ok(FileKind::Unknown)`, not an error. A name with a NUL inside, or of
    /// `PATH_MAX` bytes or more, is refused before any call.
    ///
    /// # References
    ///
    /// [statx(2)](https://man7.org/linux/man-pages/man2/statx.2.html)
    /// (`AT_SYMLINK_NOFOLLOW`)
    #[doc(alias("statx", "fstatat", "lstat"))]
    pub fn kind_of<P: PathBytes + ?Sized>(&self, name: &P) -> Result<FileKind, Error> {
        kind_at(self.fd.as_raw(), name.path_bytes())
    }

    /// Reads the next entries: one `getdents64` call. An empty iterator means the end of
    /// the directory (and so does every later call).
    ///
    /// The entries are views into `buffer`; nothing is copied or allocated. The buffer
    /// need not be aligned; 4 KiB or more is sensible. A buffer of less than
    /// [`MIN_DIRENT_BUFFER_LEN`] (280) bytes, the least that holds any entry, is refused
    /// with [`Error::BufferTooSmall`] before any call. The kernel lists `.` and `..` too (see
    /// [`Dirent::is_dot_or_dot_dot`](crate::Dirent::is_dot_or_dot_dot)). Entries added
    /// or removed while a directory is being read may or may not be listed, as with
    /// `readdir`.
    ///
    /// # Errors
    ///
    /// - [`Error::BufferTooSmall`]: `buffer` is shorter than [`MIN_DIRENT_BUFFER_LEN`].
    /// - [`Error::Syscall`] from `getdents64`: `ENOENT` when the directory was removed
    ///   while open, `EINVAL` when the next entry does not fit (not with the minimum).
    ///
    /// The iterator yields a [`MalformedDirent`](crate::MalformedDirent) for bytes that
    /// are not whole entries, which the kernel never gives.
    ///
    /// # References
    ///
    /// [getdents64(2)](https://man7.org/linux/man-pages/man2/getdents64.2.html)
    #[doc(alias("getdents64", "getdents", "readdir"))]
    pub fn read<'b>(&self, buffer: &'b mut [u8]) -> Result<Dirents<'b>, Error> {
        if buffer.len() < MIN_DIRENT_BUFFER_LEN {
            return Err(Error::BufferTooSmall {
                len: buffer.len(),
                min: MIN_DIRENT_BUFFER_LEN,
            });
        }
        // The kernel takes the length as an `int`: larger values would come out negative.
        let len = buffer.len().min(i32::MAX as usize);
        let (room, _) = buffer.split_at_mut(len);
        let filled = sys::getdents64(self.fd.as_raw(), room)
            .map_err(|errno| Error::syscall(Call::Getdents, errno))?;
        let buffer: &'b [u8] = buffer;
        Ok(Dirents::new(buffer.get(..filled).unwrap_or(&[])))
    }
}

impl_descriptor_traits!(Directory);

/// The kind of file at `path`, not following a final symbolic link (`lstat`): a link is
/// [`FileKind::Symlink`], whatever it points to.
///
/// # Errors
///
/// [`Error::Syscall`] from `statx`: `ENOENT` when nothing is there, `ENOTDIR` when a
/// directory on the way is a file, `EACCES` when one cannot be searched. An empty path,
/// one with a NUL inside, or one of `PATH_MAX` bytes or more is refused before any call.
///
/// # Examples
///
/// ```
/// use inotify_raw::FileKind;
///
/// assert_eq!(inotify_raw::file_kind("/")?, FileKind::Directory);
/// # Ok::<(), inotify_raw::Error>(())
/// ```
///
/// # References
///
/// [statx(2)](https://man7.org/linux/man-pages/man2/statx.2.html) (`AT_SYMLINK_NOFOLLOW`)
#[doc(alias("statx", "lstat"))]
pub fn file_kind<P: PathBytes + ?Sized>(path: &P) -> Result<FileKind, Error> {
    kind_at(AT_FDCWD, path.path_bytes())
}

/// The kind of `path` relative to `dirfd`, from `statx` with `AT_SYMLINK_NOFOLLOW`.
fn kind_at(dirfd: RawFd, path: &[u8]) -> Result<FileKind, Error> {
    stat_at(dirfd, path, AT_SYMLINK_NOFOLLOW).map(|stat| stat.kind)
}

/// What a tree needs to know of a directory: its kind, inode and link count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    pub(crate) kind: FileKind,
    pub(crate) ino: u64,
    /// The link count; 0 when the file system did not give it.
    pub(crate) nlink: u32,
}

/// `statx(dirfd, path, flags)` for the kind, inode and link count.
fn stat_at(dirfd: RawFd, path: &[u8], flags: u32) -> Result<Stat, Error> {
    with_nul_terminated(path, |path| statx(dirfd, path, flags))?
}

/// `statx(dirfd, path, flags)` on a path ready for the kernel.
fn statx(dirfd: RawFd, path: NulTerminated<'_>, flags: u32) -> Result<Stat, Error> {
    let mut stat = Statx::default();
    sys::statx(
        dirfd,
        path,
        flags,
        STATX_TYPE_MODE_INO | STATX_NLINK,
        &mut stat,
    )
    .map_err(|errno| Error::syscall(Call::Statx, errno))?;
    let kind = if stat.stx_mask & STATX_TYPE == 0 {
        FileKind::Unknown
    } else {
        FileKind::from_mode(u32::from(stat.stx_mode))
    };
    let nlink = if stat.stx_mask & STATX_NLINK == 0 {
        0
    } else {
        stat.stx_nlink
    };
    Ok(Stat {
        kind,
        ino: stat.stx_ino,
        nlink,
    })
}

/// The kind, inode and link count of `path` (of any length: see [`at_any_length`]),
/// following a final symbolic link or not.
#[cfg(feature = "std")]
pub(crate) fn stat_path(path: &[u8], follow: bool) -> Result<Stat, Error> {
    let flags = if follow { 0 } else { AT_SYMLINK_NOFOLLOW };
    at_any_length(path, |dirfd, rest| stat_at(dirfd, rest, flags))
}

/// Calls `call(dirfd, rest)`, where `rest` relative to `dirfd` names what `path` (relative
/// to the current directory) does: `path` itself when it is shorter than `PATH_MAX`.
/// A longer path, which the kernel refuses whole, is resolved a part at a time: each
/// leading part shorter than `PATH_MAX`, ending at a `/`, is opened (`O_PATH`, following
/// links, as the kernel does for every component but the last) relative to the one
/// before, and `rest` is what is left. At most two descriptors are open at a time.
///
/// # Errors
/// Those of `call`, and of `openat` for a leading part; [`Error::PathTooLong`] when no
/// `/` leaves a part shorter than `PATH_MAX` (a name longer than `NAME_MAX`).
#[cfg(feature = "std")]
pub(crate) fn at_any_length<T>(
    path: &[u8],
    call: impl FnOnce(RawFd, &[u8]) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut held: Option<OwnedDescriptor> = None;
    let mut rest = path;
    while rest.len() >= PATH_MAX {
        let cut = rest
            .get(..PATH_MAX - 1)
            .and_then(|head| head.iter().rposition(|&b| b == b'/'))
            .filter(|&cut| cut > 0)
            .ok_or(Error::PathTooLong { len: path.len() })?;
        let (head, tail) = rest.split_at(cut);
        let dirfd = held.as_ref().map_or(AT_FDCWD, OwnedDescriptor::as_raw);
        held = Some(open_path_at(dirfd, head, 0)?);
        rest = match tail.iter().position(|&b| b != b'/') {
            Some(start) => tail.get(start..).unwrap_or(b"."),
            None => b".",
        };
    }
    call(
        held.as_ref().map_or(AT_FDCWD, OwnedDescriptor::as_raw),
        rest,
    )
}

/// `/proc/self/fd/N` for an open descriptor: the path that names exactly its object.
#[cfg(feature = "std")]
pub(crate) fn proc_fd_path(fd: &OwnedDescriptor) -> std::string::String {
    std::format!("/proc/self/fd/{}", fd.as_raw())
}

/// A descriptor that names the directory at `path` (relative to `dir`, or to the
/// current directory), not following a final symbolic link, without opening it for
/// reading: `O_PATH`, so no inotify event is raised.
#[cfg(feature = "std")]
pub(crate) fn open_path_only(
    dir: Option<&OwnedDescriptor>,
    path: &[u8],
) -> Result<OwnedDescriptor, Error> {
    open_path_with(dir, path, O_NOFOLLOW)
}

/// Like [`open_path_only`], following a final symbolic link (a tree's root may be one).
#[cfg(feature = "std")]
pub(crate) fn open_path_following(path: &[u8]) -> Result<OwnedDescriptor, Error> {
    open_path_with(None, path, 0)
}

/// `openat(dir, path, O_PATH | O_DIRECTORY | O_CLOEXEC | extra)`; a `path` relative to
/// the current directory may be of any length (see [`at_any_length`]).
#[cfg(feature = "std")]
fn open_path_with(
    dir: Option<&OwnedDescriptor>,
    path: &[u8],
    extra: u32,
) -> Result<OwnedDescriptor, Error> {
    match dir {
        Some(dir) => open_path_at(dir.as_raw(), path, extra),
        None => at_any_length(path, |dirfd, rest| open_path_at(dirfd, rest, extra)),
    }
}

/// `openat(dirfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC | extra)`.
#[cfg(feature = "std")]
fn open_path_at(dirfd: RawFd, path: &[u8], extra: u32) -> Result<OwnedDescriptor, Error> {
    let opened = with_nul_terminated(path, |path| {
        sys::openat(dirfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC | extra, 0)
    })?;
    OwnedDescriptor::from_new(opened).map_err(|errno| with_limit(Error::syscall(Call::Open, errno)))
}

/// The kind, inode and link count of the entry `name` in the directory `dir`, not
/// following a symbolic link.
#[cfg(feature = "std")]
pub(crate) fn stat_entry(dir: &OwnedDescriptor, name: &[u8]) -> Result<Stat, Error> {
    stat_at(dir.as_raw(), name, AT_SYMLINK_NOFOLLOW)
}

/// The kind, inode and link count of what `fd` names.
#[cfg(feature = "std")]
pub(crate) fn stat_descriptor(fd: &OwnedDescriptor) -> Result<Stat, Error> {
    const EMPTY: Option<NulTerminated<'static>> = NulTerminated::new(b"\0");
    match EMPTY {
        Some(empty) => statx(fd.as_raw(), empty, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW),
        None => Err(Error::EmptyPath),
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::vec::Vec;

    /// A path past `PATH_MAX` is resolved a part at a time, whatever its slashes; one
    /// with no slash early enough is refused as too long.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn paths_past_path_max_are_resolved_in_parts() {
        let base =
            std::env::temp_dir().join(std::format!("inotify-raw-long-{}", std::process::id()));
        std::fs::create_dir(&base).unwrap();
        let name = [b'n'; 200];
        let mut path: Vec<u8> = base.as_os_str().as_bytes().to_vec();
        let mut opened = open_path_only(None, &path).unwrap();
        for level in 0..24 {
            // Every other separator doubled: `a//b` names what `a/b` does.
            path.extend_from_slice(if level % 2 == 0 { b"/" } else { b"//" });
            path.extend_from_slice(&name);
            let made = std::format!("/proc/self/fd/{}/{}", opened.as_raw(), "n".repeat(200));
            std::fs::create_dir(made).unwrap();
            opened = open_path_only(Some(&opened), &name).unwrap();
        }
        assert!(path.len() > PATH_MAX + 500);
        let deepest = stat_descriptor(&opened).unwrap();
        assert_eq!(stat_path(&path, false).unwrap(), deepest);
        let named = open_path_only(None, &path).unwrap();
        assert_eq!(stat_descriptor(&named).unwrap(), deepest);
        path.push(b'/');
        assert_eq!(stat_path(&path, false).unwrap(), deepest, "a final slash");
        let mut buffer = [0u8; 4096];
        let listed = Directory::open_any_length(&path, false).unwrap();
        assert_eq!(listed.read(&mut buffer).unwrap().count(), 2, ". and ..");

        let no_slash = [b'x'; PATH_MAX + 10];
        assert_eq!(
            stat_path(&no_slash, false),
            Err(Error::PathTooLong { len: PATH_MAX + 10 })
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
