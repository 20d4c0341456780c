//! Zero-copy parsing of `getdents64` output: [`Dirent`] views, the [`Dirents`] iterator,
//! and [`FileKind`].
//!
//! Everything here is a pure function of bytes, like [`Events`](crate::Events): no system
//! call, no allocation, no panic, and no read outside the slice it is given, whatever the
//! bytes are.

use core::fmt;

use super::event::ByteStr;
use super::records::{record_iterator, Record, Records};
use crate::sys::NAME_MAX;

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

/// The type of a directory entry, from its `d_type` (`DT_*`) or from a mode's `S_IFMT`
/// bits (which hold the same numbers shifted left by 12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// `DT_UNKNOWN` (0): the file system does not say in its directory entries (some,
    /// such as older XFS or some network file systems, never do). Ask with
    /// [`Directory::kind_of`](crate::Directory::kind_of).
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

impl FileKind {
    /// The type a `d_type` value (`DT_*`) stands for.
    pub const fn from_dirent_type(d_type: u8) -> FileKind {
        match d_type {
            0 => FileKind::Unknown,
            1 => FileKind::Fifo,
            2 => FileKind::CharDevice,
            4 => FileKind::Directory,
            6 => FileKind::BlockDevice,
            8 => FileKind::Regular,
            10 => FileKind::Symlink,
            12 => FileKind::Socket,
            other => FileKind::Other(other),
        }
    }

    /// The type the `S_IFMT` bits of a mode (`st_mode`, `stx_mode`) stand for. A mode
    /// with no type bits gives [`FileKind::Unknown`].
    pub const fn from_mode(mode: u32) -> FileKind {
        FileKind::from_dirent_type(((mode & S_IFMT) >> 12) as u8)
    }

    /// The `d_type` value: the inverse of [`from_dirent_type`](FileKind::from_dirent_type).
    pub const fn dirent_type(self) -> u8 {
        match self {
            FileKind::Unknown => 0,
            FileKind::Fifo => 1,
            FileKind::CharDevice => 2,
            FileKind::Directory => 4,
            FileKind::BlockDevice => 6,
            FileKind::Regular => 8,
            FileKind::Symlink => 10,
            FileKind::Socket => 12,
            FileKind::Other(other) => other,
        }
    }

    /// True for [`FileKind::Directory`].
    pub const fn is_dir(self) -> bool {
        matches!(self, FileKind::Directory)
    }

    /// True for [`FileKind::Regular`].
    pub const fn is_file(self) -> bool {
        matches!(self, FileKind::Regular)
    }

    /// True for [`FileKind::Symlink`].
    pub const fn is_symlink(self) -> bool {
        matches!(self, FileKind::Symlink)
    }

    /// True for [`FileKind::Unknown`]: the entry's type must be asked for with
    /// [`Directory::kind_of`](crate::Directory::kind_of).
    pub const fn is_unknown(self) -> bool {
        matches!(self, FileKind::Unknown)
    }
}

/// Why parsing stopped before the end of the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MalformedDirent {
    /// Fewer than [`DIRENT_HEADER_LEN`] bytes were left for a header.
    TruncatedHeader {
        /// Where the header starts, from the start of the buffer.
        offset: usize,
        /// How many bytes were left: fewer than [`DIRENT_HEADER_LEN`].
        available: u16,
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
        /// How many bytes were left, header included: fewer than `record_len`.
        available: u16,
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

#[cfg(feature = "std")]
impl From<MalformedDirent> for std::io::Error {
    /// `InvalidData`, with the message: so that `?` works in a function that returns
    /// `io::Result`.
    fn from(error: MalformedDirent) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, error)
    }
}

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

    /// The entry's type, from `d_type`. [`FileKind::Unknown`] when the file system does
    /// not say: then ask with [`Directory::kind_of`](crate::Directory::kind_of). A symbolic link is
    /// [`FileKind::Symlink`], whatever it points to.
    #[inline]
    pub fn kind(&self) -> FileKind {
        FileKind::from_dirent_type(self.dirent_type())
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
        let header: &[u8; DIRENT_HEADER_LEN] = bytes
            .get(..DIRENT_HEADER_LEN)
            .and_then(|header| header.try_into().ok())
            .ok_or(MalformedDirent::TruncatedHeader {
                offset: 0,
                // Fewer than DIRENT_HEADER_LEN bytes when this is the error: the cast
                // loses nothing then.
                available: bytes.len() as u16,
            })?;
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
                    // Fewer bytes than `record_len`, a u16: the cast loses nothing.
                    available: bytes.len() as u16,
                });
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
            .field("kind", &self.kind())
            .field("name", &ByteStr(self.name))
            .finish()
    }
}

record_iterator! {
    /// An iterator over the directory entries in a byte slice, as `getdents64` filled it.
    Dirents, Dirent, MalformedDirent;
    ///
    /// # Examples
    ///
    /// See [`Directory`](crate::Directory), whose [`read`](crate::Directory::read)
    /// returns one.
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
            let file_type = FileKind::from_dirent_type(d_type);
            assert_eq!(file_type.dirent_type(), d_type);
            if let FileKind::Other(other) = file_type {
                assert!(![0, 1, 2, 4, 6, 8, 10, 12].contains(&other));
            }
        }
        assert_eq!(FileKind::from_mode(0o040_755), FileKind::Directory);
        assert_eq!(FileKind::from_mode(0o100_644), FileKind::Regular);
        assert_eq!(FileKind::from_mode(0o120_777), FileKind::Symlink);
        assert_eq!(FileKind::from_mode(0o010_644), FileKind::Fifo);
        assert_eq!(FileKind::from_mode(0o140_755), FileKind::Socket);
        assert_eq!(FileKind::from_mode(0o020_600), FileKind::CharDevice);
        assert_eq!(FileKind::from_mode(0o060_600), FileKind::BlockDevice);
        assert_eq!(FileKind::from_mode(0o644), FileKind::Unknown);
    }
}
