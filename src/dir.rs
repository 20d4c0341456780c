//! Reading directories with `getdents64`, without allocating: an open [`Directory`], the
//! zero-copy [`Dirents`] parser for the records the kernel writes, and [`FileType`].
//!
//! The parser is a pure function of bytes, like [`Events`](crate::Events): no system
//! call, no allocation, no panic, and no read outside the slice it is given, whatever the
//! bytes are.
//!
//! ```no_run
//! use inotify_raw::dir::{Directory, FileType};
//!
//! let dir = Directory::open("/tmp")?;
//! let mut buffer = [0u8; 4096];
//! loop {
//!     let entries = dir.read(&mut buffer)?;
//!     if entries.is_empty() {
//!         break; // the end of the directory
//!     }
//!     for entry in entries {
//!         let entry = entry?;
//!         if entry.is_dot_or_dot_dot() {
//!             continue;
//!         }
//!         let file_type = match entry.file_type() {
//!             FileType::Unknown => inotify_raw::dir::file_type_of(&dir, entry.name())?,
//!             known => known,
//!         };
//!         println!("{:?} {:?}", file_type, entry.name_os());
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use crate::error::{Call, Error};
use crate::event::{ByteStr, NAME_MAX};
use crate::fd::{impl_descriptor_traits, OwnedDescriptor};
use crate::path::{with_nul_terminated, PathBytes};
use crate::records::{Record, Records};
use crate::sys::{
    self, RawFd, Statx, AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW,
    O_RDONLY, STATX_TYPE_MODE_INO,
};

/// Size of `struct linux_dirent64`'s fixed part: `d_ino` (8 bytes), `d_off` (8),
/// `d_reclen` (2) and `d_type` (1). The name starts right after it.
pub const DIRENT_HEADER_LEN: usize = 19;

/// The smallest `d_reclen` the parser accepts: a header and the name's NUL.
const MIN_RECORD_LEN: usize = DIRENT_HEADER_LEN + 1;

/// The smallest read buffer sure to hold any entry: a header and the longest name
/// ([`NAME_MAX`], 255 bytes) with its NUL, rounded up to 8 as the kernel pads records:
/// 280 bytes.
///
/// `getdents64` fails with `EINVAL` when the next entry does not fit the buffer, so a
/// smaller buffer works only until it meets a long name. 4 KiB or more is sensible: one
/// call then returns some hundred entries with short names.
pub const MIN_DIRENT_BUFFER_LEN: usize = (DIRENT_HEADER_LEN + NAME_MAX + 1 + 7) / 8 * 8;

/// `S_IFMT`: the file-type bits of a mode.
const S_IFMT: u32 = 0o170_000;

/// `STATX_TYPE`: `stx_mask` has this bit when the type bits of `stx_mode` are filled in.
const STATX_TYPE: u32 = 0x1;

/// The type of a directory entry, from its `d_type` (`DT_*`) or from a mode's `S_IFMT`
/// bits (which hold the same numbers shifted left by 12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    /// `DT_UNKNOWN` (0): the file system does not say in its directory entries (some,
    /// such as older XFS or some network file systems, never do). Ask with
    /// [`file_type_of`].
    Unknown,
    /// `DT_FIFO` (1): a named pipe.
    Fifo,
    /// `DT_CHR` (2): a character device.
    CharDevice,
    /// `DT_DIR` (4): a directory.
    Directory,
    /// `DT_BLK` (6): a block device.
    BlockDevice,
    /// `DT_REG` (8): a regular file.
    Regular,
    /// `DT_LNK` (10): a symbolic link.
    Symlink,
    /// `DT_SOCK` (12): a Unix domain socket.
    Socket,
    /// Any other value: `DT_WHT` (14, a whiteout, not seen on Linux) or a number no
    /// kernel gives. Never one of the values above.
    Other(u8),
}

impl FileType {
    /// The type a `d_type` value (`DT_*`) stands for.
    pub const fn from_dirent_type(d_type: u8) -> FileType {
        match d_type {
            0 => FileType::Unknown,
            1 => FileType::Fifo,
            2 => FileType::CharDevice,
            4 => FileType::Directory,
            6 => FileType::BlockDevice,
            8 => FileType::Regular,
            10 => FileType::Symlink,
            12 => FileType::Socket,
            other => FileType::Other(other),
        }
    }

    /// The type the `S_IFMT` bits of a mode (`st_mode`, `stx_mode`) stand for. A mode
    /// with no type bits gives [`FileType::Unknown`].
    pub const fn from_mode(mode: u32) -> FileType {
        FileType::from_dirent_type(((mode & S_IFMT) >> 12) as u8)
    }

    /// The `d_type` value: the inverse of [`from_dirent_type`](FileType::from_dirent_type).
    pub const fn dirent_type(self) -> u8 {
        match self {
            FileType::Unknown => 0,
            FileType::Fifo => 1,
            FileType::CharDevice => 2,
            FileType::Directory => 4,
            FileType::BlockDevice => 6,
            FileType::Regular => 8,
            FileType::Symlink => 10,
            FileType::Socket => 12,
            FileType::Other(other) => other,
        }
    }

    /// True for [`FileType::Directory`].
    pub const fn is_dir(self) -> bool {
        matches!(self, FileType::Directory)
    }

    /// True for [`FileType::Regular`].
    pub const fn is_file(self) -> bool {
        matches!(self, FileType::Regular)
    }

    /// True for [`FileType::Symlink`].
    pub const fn is_symlink(self) -> bool {
        matches!(self, FileType::Symlink)
    }

    /// True for [`FileType::Unknown`]: the entry's type must be asked for with
    /// [`file_type_of`].
    pub const fn is_unknown(self) -> bool {
        matches!(self, FileType::Unknown)
    }
}

/// Why parsing stopped before the end of the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MalformedDirent {
    /// Fewer than [`DIRENT_HEADER_LEN`] bytes were left for a header.
    TruncatedHeader {
        /// Where the header starts, from the start of the buffer.
        offset: usize,
        /// How many bytes were left.
        available: usize,
    },
    /// The header's `d_reclen` is too small for a header and a NUL (0 included).
    BadRecordLength {
        /// Where the entry starts, from the start of the buffer.
        offset: usize,
        /// The `d_reclen` field.
        record_len: u16,
    },
    /// The header's `d_reclen` runs past the end of the bytes.
    TruncatedRecord {
        /// Where the entry starts, from the start of the buffer.
        offset: usize,
        /// The `d_reclen` field.
        record_len: u16,
        /// How many bytes were left, header included.
        available: usize,
    },
    /// The record has no NUL after its header: the name has no end.
    UnterminatedName {
        /// Where the entry starts, from the start of the buffer.
        offset: usize,
        /// The `d_reclen` field.
        record_len: u16,
    },
}

impl MalformedDirent {
    /// Where the entry (or header) that could not be parsed starts, from the start of
    /// the buffer.
    pub const fn offset(&self) -> usize {
        match *self {
            MalformedDirent::TruncatedHeader { offset, .. }
            | MalformedDirent::BadRecordLength { offset, .. }
            | MalformedDirent::TruncatedRecord { offset, .. }
            | MalformedDirent::UnterminatedName { offset, .. } => offset,
        }
    }
}

impl fmt::Display for MalformedDirent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MalformedDirent::TruncatedHeader { offset, available } => write!(
                f,
                "malformed getdents64 buffer: {} byte(s) at offset {} are too few for a {}-byte \
                 entry header; pass whole getdents64 results",
                available, offset, DIRENT_HEADER_LEN
            ),
            MalformedDirent::BadRecordLength { offset, record_len } => write!(
                f,
                "malformed getdents64 buffer: the entry at offset {} has d_reclen {}, less than \
                 the {} bytes of a header and a NUL; pass whole getdents64 results",
                offset, record_len, MIN_RECORD_LEN
            ),
            MalformedDirent::TruncatedRecord {
                offset,
                record_len,
                available,
            } => write!(
                f,
                "malformed getdents64 buffer: the entry at offset {} has d_reclen {} but only {} \
                 byte(s) are left; pass whole getdents64 results",
                offset, record_len, available
            ),
            MalformedDirent::UnterminatedName { offset, record_len } => write!(
                f,
                "malformed getdents64 buffer: the entry at offset {} ({} bytes) has no NUL after \
                 its name; pass whole getdents64 results",
                offset, record_len
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for MalformedDirent {}

/// One directory entry: a view of a `struct linux_dirent64` record in the bytes it was
/// read into. Copying it copies two references.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Dirent<'a> {
    header: &'a [u8; DIRENT_HEADER_LEN],
    name: &'a [u8],
}

/// Reads `N` bytes at the fixed offset `at` of a header (never out of range: every caller
/// passes a constant that fits).
#[inline(always)]
fn header_bytes<const N: usize>(header: &[u8; DIRENT_HEADER_LEN], at: usize) -> [u8; N] {
    let mut bytes = [0u8; N];
    if let Some(field) = header.get(at..at + N) {
        bytes.copy_from_slice(field);
    }
    bytes
}

impl<'a> Dirent<'a> {
    /// Parses the entry at the start of `bytes`. On success returns the entry and the
    /// number of bytes it spans (its `d_reclen`).
    #[inline]
    pub fn parse(bytes: &'a [u8]) -> Result<(Dirent<'a>, usize), MalformedDirent> {
        let (entry, _) = Dirent::split_first(bytes)?;
        Ok((entry, entry.record_len()))
    }

    /// The inode number (`d_ino`).
    #[inline]
    pub fn ino(&self) -> u64 {
        u64::from_ne_bytes(header_bytes(self.header, 0))
    }

    /// `d_off`: the file system's position cookie for the entry after this one. Opaque:
    /// only good for `lseek` on the same directory.
    #[inline]
    pub fn offset(&self) -> i64 {
        i64::from_ne_bytes(header_bytes(self.header, 8))
    }

    /// `d_reclen`: how many bytes the record takes, header, name, NUL and padding.
    #[inline]
    pub fn record_len(&self) -> usize {
        usize::from(u16::from_ne_bytes(header_bytes(self.header, 16)))
    }

    /// The raw `d_type` byte (`DT_*`).
    #[inline]
    pub fn dirent_type(&self) -> u8 {
        self.header[18]
    }

    /// The entry's type, from `d_type`. [`FileType::Unknown`] when the file system does
    /// not say: then ask with [`file_type_of`]. A symbolic link is
    /// [`FileType::Symlink`], whatever it points to.
    #[inline]
    pub fn file_type(&self) -> FileType {
        FileType::from_dirent_type(self.dirent_type())
    }

    /// The name, up to (not including) its first NUL. Bytes, not UTF-8. The kernel never
    /// gives an empty name or one with a `/`, but a hand-built buffer can.
    #[inline]
    pub fn name(&self) -> &'a [u8] {
        self.name
    }

    /// The name as an `OsStr` (any bytes, no UTF-8 needed).
    #[cfg(feature = "std")]
    #[inline]
    pub fn name_os(&self) -> &'a std::ffi::OsStr {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::OsStr::from_bytes(self.name)
    }

    /// True for the entries `.` and `..`, which the kernel lists in every directory; a
    /// tree walk skips them.
    #[inline]
    pub fn is_dot_or_dot_dot(&self) -> bool {
        self.name == b"." || self.name == b".."
    }
}

impl<'a> Record<'a> for Dirent<'a> {
    type Malformed = MalformedDirent;

    #[inline(always)]
    fn split_first(bytes: &'a [u8]) -> Result<(Dirent<'a>, &'a [u8]), MalformedDirent> {
        let truncated_header = MalformedDirent::TruncatedHeader {
            offset: 0,
            available: bytes.len(),
        };
        let header: &[u8; DIRENT_HEADER_LEN] = bytes
            .get(..DIRENT_HEADER_LEN)
            .and_then(|header| header.try_into().ok())
            .ok_or(truncated_header)?;
        let record_len = u16::from_ne_bytes(header_bytes(header, 16));
        let len = usize::from(record_len);
        if len < MIN_RECORD_LEN {
            return Err(MalformedDirent::BadRecordLength {
                offset: 0,
                record_len,
            });
        }
        let (record, rest) = match (bytes.get(..len), bytes.get(len..)) {
            (Some(record), Some(rest)) => (record, rest),
            _ => {
                return Err(MalformedDirent::TruncatedRecord {
                    offset: 0,
                    record_len,
                    available: bytes.len(),
                })
            }
        };
        let name_field = record.get(DIRENT_HEADER_LEN..).unwrap_or(&[]);
        match name_field.iter().position(|&b| b == 0) {
            Some(end) => {
                let name = name_field.get(..end).unwrap_or(&[]);
                Ok((Dirent { header, name }, rest))
            }
            None => Err(MalformedDirent::UnterminatedName {
                offset: 0,
                record_len,
            }),
        }
    }

    fn malformed_at(error: MalformedDirent, offset: usize) -> MalformedDirent {
        match error {
            MalformedDirent::TruncatedHeader { available, .. } => {
                MalformedDirent::TruncatedHeader { offset, available }
            }
            MalformedDirent::BadRecordLength { record_len, .. } => {
                MalformedDirent::BadRecordLength { offset, record_len }
            }
            MalformedDirent::TruncatedRecord {
                record_len,
                available,
                ..
            } => MalformedDirent::TruncatedRecord {
                offset,
                record_len,
                available,
            },
            MalformedDirent::UnterminatedName { record_len, .. } => {
                MalformedDirent::UnterminatedName { offset, record_len }
            }
        }
    }
}

impl fmt::Debug for Dirent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dirent")
            .field("ino", &self.ino())
            .field("offset", &self.offset())
            .field("record_len", &self.record_len())
            .field("file_type", &self.file_type())
            .field("name", &ByteStr(self.name))
            .finish()
    }
}

/// An iterator over the entries in a byte slice: [`Records`] of [`Dirent`]. See [`Records`]
/// for what it yields and guarantees.
pub type Dirents<'a> = Records<'a, Dirent<'a>>;

/// An open directory, to list with [`read`](Directory::read) and to open entries of
/// with [`open_at`](Directory::open_at).
///
/// Owns its descriptor (opened read-only with `O_DIRECTORY` and close-on-exec, closed
/// on drop). Entries come back as a zero-copy [`Dirents`] iterator over a buffer the
/// caller owns, so listing a tree allocates nothing. Opening a subdirectory relative to
/// its parent's descriptor resolves one name instead of a whole path, and keeps working
/// when a directory above is renamed.
#[derive(Debug)]
pub struct Directory {
    fd: OwnedDescriptor,
}

impl Directory {
    /// Opens the directory at `path`, following a symbolic link (as `opendir` does).
    ///
    /// The path is any [`PathBytes`]; it is NUL-terminated on the stack, so nothing is
    /// allocated. A path with a NUL inside or of `PATH_MAX` bytes or more is refused
    /// before any call. `ENOTDIR` means the path is not a directory, `ENOENT` that it
    /// does not exist.
    pub fn open<P: PathBytes + ?Sized>(path: &P) -> Result<Directory, Error> {
        Directory::open_raw(AT_FDCWD, path.path_bytes(), 0)
    }

    /// Like [`open`](Directory::open), but fails if the last component of `path` is a
    /// symbolic link (`O_NOFOLLOW`: the kernel answers `ELOOP` or `ENOTDIR`). Links
    /// earlier in the path are followed.
    pub fn open_nofollow<P: PathBytes + ?Sized>(path: &P) -> Result<Directory, Error> {
        Directory::open_raw(AT_FDCWD, path.path_bytes(), O_NOFOLLOW)
    }

    /// Opens the directory `name` relative to this one: an entry's name, for walking a
    /// tree without resolving whole paths again.
    ///
    /// Never follows a symbolic link as the last component (`O_NOFOLLOW`): a link fails
    /// with `ELOOP` or `ENOTDIR`, so a walk cannot loop or leave the tree through one.
    /// `name` may have several components (`a/b`), and links among the earlier ones are
    /// followed; an absolute path ignores this directory. `ENOENT` means the entry has
    /// gone since it was listed.
    pub fn open_at<P: PathBytes + ?Sized>(&self, name: &P) -> Result<Directory, Error> {
        Directory::open_raw(self.fd.as_raw(), name.path_bytes(), O_NOFOLLOW)
    }

    /// `openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | extra)`.
    fn open_raw(dirfd: RawFd, path: &[u8], extra: u32) -> Result<Directory, Error> {
        let opened = with_nul_terminated(path, |path| {
            sys::openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | extra, 0)
        })?;
        OwnedDescriptor::from_new(opened)
            .map(|fd| Directory { fd })
            .map_err(|errno| Error::syscall(Call::Open, errno))
    }

    /// Wraps a descriptor that is open on a directory (`O_PATH` will not do: reading
    /// needs a descriptor opened for reading).
    pub fn from_descriptor(fd: OwnedDescriptor) -> Directory {
        Directory { fd }
    }

    /// The descriptor.
    pub fn descriptor(&self) -> &OwnedDescriptor {
        &self.fd
    }

    /// The descriptor number, still owned by `self`.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw()
    }

    /// Reads the next entries: one `getdents64` call. An empty iterator means the end of
    /// the directory (and so does every later call).
    ///
    /// The entries are views into `buffer`; nothing is copied or allocated. The buffer
    /// need not be aligned; 4 KiB or more is sensible. A buffer of less than
    /// [`MIN_DIRENT_BUFFER_LEN`] (280) bytes, the least that holds any entry, is refused
    /// with [`Error::BufferTooSmall`] before any call. The kernel lists `.` and `..` too (see
    /// [`Dirent::is_dot_or_dot_dot`]). Entries added or removed while a directory is
    /// being read may or may not be listed, as with `readdir`.
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

/// The type of the entry `name` in `dir`, from `statx` (with `AT_SYMLINK_NOFOLLOW`: a
/// symbolic link is [`FileType::Symlink`]). For entries whose `d_type` is
/// [`FileType::Unknown`], which some file systems give for every entry.
///
/// `ENOENT` means the entry has gone since it was listed. A file system that does not
/// report the type even to `statx` gives [`FileType::Unknown`].
pub fn file_type_of<P: PathBytes + ?Sized>(dir: &Directory, name: &P) -> Result<FileType, Error> {
    let mut stat = Statx::default();
    with_nul_terminated(name.path_bytes(), |name| {
        sys::statx(
            dir.fd.as_raw(),
            name,
            AT_SYMLINK_NOFOLLOW,
            STATX_TYPE_MODE_INO,
            &mut stat,
        )
    })?
    .map_err(|errno| Error::syscall(Call::Statx, errno))?;
    if stat.stx_mask & STATX_TYPE == 0 {
        return Ok(FileType::Unknown);
    }
    Ok(FileType::from_mode(u32::from(stat.stx_mode)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants() {
        assert_eq!(MIN_DIRENT_BUFFER_LEN, 280);
        assert_eq!(MIN_RECORD_LEN, 20);
    }

    #[test]
    fn file_types_round_trip() {
        for d_type in 0..=u8::MAX {
            let file_type = FileType::from_dirent_type(d_type);
            assert_eq!(file_type.dirent_type(), d_type);
            if let FileType::Other(other) = file_type {
                assert!(![0, 1, 2, 4, 6, 8, 10, 12].contains(&other));
            }
        }
        assert_eq!(FileType::from_mode(0o040_755), FileType::Directory);
        assert_eq!(FileType::from_mode(0o100_644), FileType::Regular);
        assert_eq!(FileType::from_mode(0o120_777), FileType::Symlink);
        assert_eq!(FileType::from_mode(0o010_644), FileType::Fifo);
        assert_eq!(FileType::from_mode(0o140_755), FileType::Socket);
        assert_eq!(FileType::from_mode(0o020_600), FileType::CharDevice);
        assert_eq!(FileType::from_mode(0o060_600), FileType::BlockDevice);
        assert_eq!(FileType::from_mode(0o644), FileType::Unknown);
    }
}
