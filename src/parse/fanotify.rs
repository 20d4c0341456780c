//! Zero-copy parsing of what a read from a fanotify group returns: [`FanotifyEvent`]
//! views of `struct fanotify_event_metadata`, the [`FanotifyEvents`] iterator, and the
//! info records after each event's metadata ([`InfoRecord`], [`FidRecord`],
//! [`FileHandle`]).
//!
//! Everything here is a pure function of bytes, like [`Events`](crate::Events): no system
//! call, no allocation, no panic, and no read outside the slice it is given, whatever the
//! bytes are. Every length in the bytes is the kernel's word, and each is checked before
//! it is used: `vers`, `metadata_len` and `event_len` of each event, `len` of each info
//! record, `handle_bytes` of each file handle.

use core::fmt;

use super::event::{up_to_first_nul, ByteStr};
use super::records::{record_iterator, Record, Records};
use crate::mask::FanotifyMask;
use crate::sys::{
    info_type, FanotifyEventInfoError as ErrorInfo, FanotifyEventInfoFid as FidInfo,
    FanotifyEventInfoHeader as InfoHeader, FanotifyEventInfoPidfd as PidfdInfo,
    FanotifyEventMetadata as Metadata, FileHandleStorage, FANOTIFY_METADATA_VERSION, MAX_HANDLE_SZ,
    NAME_MAX,
};

/// `FAN_EVENT_METADATA_LEN`: the size of `struct fanotify_event_metadata`, the fixed
/// part at the start of every event (24 bytes).
pub const FANOTIFY_METADATA_LEN: usize = Metadata::LEN;

/// The largest info record with a file handle: its header and file system ID, the
/// handle's header and [`MAX_HANDLE_SZ`] bytes, a name of [`NAME_MAX`] bytes and its NUL,
/// rounded up to 4 as the kernel pads records.
const MAX_FID_RECORD_LEN: usize =
    (FidInfo::LEN + FileHandleStorage::HEADER_LEN + MAX_HANDLE_SZ + NAME_MAX + 1 + 3) / 4 * 4;

/// The smallest read buffer sure to hold any event (1256 bytes): the metadata, three
/// records with the largest handles and names (a rename's two directory entries and the
/// file's own handle), a pidfd record and an error record.
///
/// A read fails with `EINVAL` when the next event does not fit the buffer. The default
/// [`EventBuffer`](crate::EventBuffer), 4096 bytes, holds a few dozen events with file
/// handles and short names.
pub const MIN_FANOTIFY_BUFFER_LEN: usize =
    FANOTIFY_METADATA_LEN + 3 * MAX_FID_RECORD_LEN + PidfdInfo::LEN + ErrorInfo::LEN;

/// The `N` bytes at `at` in `bytes`, if they are there.
#[inline(always)]
fn array_at<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..)?.get(..N)?.try_into().ok()
}

/// The native-endian `u16` at `at` (0 when out of range: callers check lengths first).
#[inline(always)]
fn u16_at(bytes: &[u8], at: usize) -> u16 {
    array_at(bytes, at).map_or(0, u16::from_ne_bytes)
}

/// The native-endian `u32` at `at` (0 when out of range: callers check lengths first).
#[inline(always)]
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    array_at(bytes, at).map_or(0, u32::from_ne_bytes)
}

/// The native-endian `i32` at `at` (0 when out of range: callers check lengths first).
#[inline(always)]
fn i32_at(bytes: &[u8], at: usize) -> i32 {
    array_at(bytes, at).map_or(0, i32::from_ne_bytes)
}

/// Why parsing stopped before the end of the bytes.
///
/// `offset` is where the event that could not be parsed starts, from the start of the
/// buffer: the iterator's [`remainder`](FanotifyEvents::remainder) starts there. For a
/// fault inside an info record, `at` is where that record starts, from the start of the
/// event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MalformedFanotifyEvent {
    /// Fewer than [`FANOTIFY_METADATA_LEN`] bytes were left for an event's metadata.
    TruncatedMetadata {
        /// Where the event starts.
        offset: usize,
        /// How many bytes were left: fewer than [`FANOTIFY_METADATA_LEN`].
        available: u8,
    },
    /// The metadata's `vers` is not `FANOTIFY_METADATA_VERSION` (3), the only layout
    /// this parser knows.
    UnknownVersion {
        /// Where the event starts.
        offset: usize,
        /// The `vers` field.
        version: u8,
    },
    /// The metadata's `metadata_len` is less than [`FANOTIFY_METADATA_LEN`], or more than
    /// its `event_len`.
    BadMetadataLen {
        /// Where the event starts.
        offset: usize,
        /// The `metadata_len` field.
        metadata_len: u16,
        /// The `event_len` field.
        event_len: u32,
    },
    /// The metadata's `event_len` runs past the end of the bytes.
    TruncatedEvent {
        /// Where the event starts.
        offset: usize,
        /// The `event_len` field.
        event_len: u32,
    },
    /// Fewer than the 4 bytes of an info record's header were left before the end of
    /// the event.
    TruncatedInfoHeader {
        /// Where the event starts.
        offset: usize,
        /// Where the record would start, from the start of the event.
        at: u32,
        /// How many bytes were left: fewer than 4.
        available: u8,
    },
    /// An info record's `len` is less than its kind needs (4 for any record, 20 for one
    /// with a file handle, 8 for a pidfd, 12 for an error), or runs past the end of the
    /// event.
    BadInfoLen {
        /// Where the event starts.
        offset: usize,
        /// Where the record starts, from the start of the event.
        at: u32,
        /// The record's `info_type`.
        info_type: u8,
        /// The record's `len` field.
        len: u16,
    },
    /// A file handle's `handle_bytes` runs past the end of its info record. (The handle
    /// is 12 bytes into the record: its `handle_bytes` is at `offset + at + 12` of the
    /// buffer, at `at + 12` of the [`remainder`](FanotifyEvents::remainder).)
    BadHandleLen {
        /// Where the event starts.
        offset: usize,
        /// Where the record starts, from the start of the event.
        at: u32,
        /// The record's `len` field.
        len: u16,
    },
}

impl MalformedFanotifyEvent {
    /// Where the event that could not be parsed starts, from the start of the buffer.
    pub const fn offset(&self) -> usize {
        match *self {
            MalformedFanotifyEvent::TruncatedMetadata { offset, .. }
            | MalformedFanotifyEvent::UnknownVersion { offset, .. }
            | MalformedFanotifyEvent::BadMetadataLen { offset, .. }
            | MalformedFanotifyEvent::TruncatedEvent { offset, .. }
            | MalformedFanotifyEvent::TruncatedInfoHeader { offset, .. }
            | MalformedFanotifyEvent::BadInfoLen { offset, .. }
            | MalformedFanotifyEvent::BadHandleLen { offset, .. } => offset,
        }
    }

    /// The same error for an event that starts at `offset`.
    fn at_offset(self, offset: usize) -> MalformedFanotifyEvent {
        use MalformedFanotifyEvent as M;
        match self {
            M::TruncatedMetadata { available, .. } => M::TruncatedMetadata { offset, available },
            M::UnknownVersion { version, .. } => M::UnknownVersion { offset, version },
            M::BadMetadataLen {
                metadata_len,
                event_len,
                ..
            } => M::BadMetadataLen {
                offset,
                metadata_len,
                event_len,
            },
            M::TruncatedEvent { event_len, .. } => M::TruncatedEvent { offset, event_len },
            M::TruncatedInfoHeader { at, available, .. } => M::TruncatedInfoHeader {
                offset,
                at,
                available,
            },
            M::BadInfoLen {
                at, info_type, len, ..
            } => M::BadInfoLen {
                offset,
                at,
                info_type,
                len,
            },
            M::BadHandleLen { at, len, .. } => M::BadHandleLen { offset, at, len },
        }
    }

    /// The same error for an info record `by` bytes further into the event.
    fn info_moved(self, by: u32) -> MalformedFanotifyEvent {
        use MalformedFanotifyEvent as M;
        match self {
            M::TruncatedInfoHeader {
                offset,
                at,
                available,
            } => M::TruncatedInfoHeader {
                offset,
                at: at.saturating_add(by),
                available,
            },
            M::BadInfoLen {
                offset,
                at,
                info_type,
                len,
            } => M::BadInfoLen {
                offset,
                at: at.saturating_add(by),
                info_type,
                len,
            },
            M::BadHandleLen { offset, at, len } => M::BadHandleLen {
                offset,
                at: at.saturating_add(by),
                len,
            },
            other => other,
        }
    }
}

impl fmt::Display for MalformedFanotifyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use MalformedFanotifyEvent as M;
        f.write_str("malformed fanotify buffer: ")?;
        match *self {
            M::TruncatedMetadata { offset, available } => write!(
                f,
                "{} byte(s) at offset {} are too few for the {}-byte metadata of an event",
                available, offset, FANOTIFY_METADATA_LEN
            )?,
            M::UnknownVersion { offset, version } => write!(
                f,
                "the event at offset {} has metadata version {}; this parser knows version {} \
                 only",
                offset, version, FANOTIFY_METADATA_VERSION
            )?,
            M::BadMetadataLen {
                offset,
                metadata_len,
                event_len,
            } => write!(
                f,
                "the event at offset {} has metadata_len {} and event_len {}: metadata_len must \
                 be at least {} and at most event_len",
                offset, metadata_len, event_len, FANOTIFY_METADATA_LEN
            )?,
            M::TruncatedEvent { offset, event_len } => write!(
                f,
                "the event at offset {} has event_len {}, which runs past the end of the bytes",
                offset, event_len
            )?,
            M::TruncatedInfoHeader {
                offset,
                at,
                available,
            } => write!(
                f,
                "the event at offset {} has {} byte(s) left at its byte {}, too few for the \
                 {}-byte header of an info record",
                offset,
                available,
                at,
                InfoHeader::LEN
            )?,
            M::BadInfoLen {
                offset,
                at,
                info_type,
                len,
            } => write!(
                f,
                "the event at offset {} has an info record of type {} at its byte {} with len \
                 {}, too short for its kind or running past the end of the event",
                offset, info_type, at, len
            )?,
            M::BadHandleLen { offset, at, len } => write!(
                f,
                "the event at offset {} has an info record at its byte {} whose file handle \
                 runs past the record's len of {} bytes",
                offset, at, len
            )?,
        }
        f.write_str("; pass whole reads from a fanotify descriptor")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for MalformedFanotifyEvent {}

#[cfg(feature = "std")]
impl From<MalformedFanotifyEvent> for std::io::Error {
    /// `InvalidData`, with the message: so that `?` works in a function that returns
    /// `io::Result`.
    fn from(error: MalformedFanotifyEvent) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, error)
    }
}

/// One fanotify event: a view of its `struct fanotify_event_metadata` and of the info
/// records after it, in the bytes it was read into. Copying it copies two references.
///
/// Every length in it was checked when it was parsed: its info records, from
/// [`info_records`](FanotifyEvent::info_records), are whole.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FanotifyEvent<'a> {
    metadata: &'a [u8; FANOTIFY_METADATA_LEN],
    /// The info records: the bytes from `metadata_len` to `event_len`.
    info: &'a [u8],
}

impl<'a> FanotifyEvent<'a> {
    /// `event_len`: how many bytes the whole event takes, info records included.
    #[inline]
    pub fn event_len(&self) -> u32 {
        u32_at(self.metadata, Metadata::EVENT_LEN_AT)
    }

    /// `metadata_len`: where the info records start, from the start of the event.
    #[inline]
    pub fn metadata_len(&self) -> u16 {
        u16_at(self.metadata, Metadata::METADATA_LEN_AT)
    }

    /// What happened: the file-system event bits, the low 32 bits of the kernel's mask.
    #[inline]
    pub fn mask(&self) -> FanotifyMask {
        FanotifyMask::from_bits_retain(self.raw_mask() as u32)
    }

    /// The kernel's whole 64-bit mask: above [`mask`](FanotifyEvent::mask)'s bits, the
    /// type of a mount-namespace event (Linux 6.15).
    #[inline]
    pub fn raw_mask(&self) -> u64 {
        array_at(self.metadata, Metadata::MASK_AT).map_or(0, u64::from_ne_bytes)
    }

    /// `fd`: the descriptor of the file the event is about, which the reader owns and
    /// must close. -1 (`FAN_NOFD`) when there is none: in every event of a group that
    /// reports file handles, and in `FAN_Q_OVERFLOW`. With `FAN_REPORT_FD_ERROR`, a
    /// negative errno when the file could not be opened.
    ///
    /// A number, not an owned descriptor: the parser reads any bytes, so it cannot know
    /// that the number is open, nor that no other view owns it. Adopt it once, with
    /// [`OwnedDescriptor::from_raw`](crate::OwnedDescriptor::from_raw).
    #[inline]
    pub fn fd(&self) -> i32 {
        i32_at(self.metadata, Metadata::FD_AT)
    }

    /// `pid`: the process (with `FAN_REPORT_TID`, the thread) that caused the event; 0
    /// when it is not in the reader's PID namespace.
    #[inline]
    pub fn pid(&self) -> i32 {
        i32_at(self.metadata, Metadata::PID_AT)
    }

    /// The info records after the metadata, in the kernel's order.
    #[inline]
    pub fn info_records(&self) -> InfoRecords<'a> {
        InfoRecords(Records::new(self.info))
    }

    /// How many bytes the whole event takes: [`event_len`](FanotifyEvent::event_len).
    #[inline]
    pub fn span_len(&self) -> usize {
        self.event_len() as usize
    }
}

impl<'a> Record<'a> for FanotifyEvent<'a> {
    type Malformed = MalformedFanotifyEvent;

    fn split_first(bytes: &'a [u8]) -> Result<(FanotifyEvent<'a>, &'a [u8]), Self::Malformed> {
        use MalformedFanotifyEvent as M;
        let metadata: &'a [u8; FANOTIFY_METADATA_LEN] = match bytes
            .get(..FANOTIFY_METADATA_LEN)
            .map(<&[u8; FANOTIFY_METADATA_LEN]>::try_from)
        {
            Some(Ok(metadata)) => metadata,
            _ => {
                return Err(M::TruncatedMetadata {
                    offset: 0,
                    // Fewer than FANOTIFY_METADATA_LEN bytes: the cast loses nothing.
                    available: bytes.len() as u8,
                });
            }
        };
        let version = metadata[Metadata::VERS_AT];
        if version != FANOTIFY_METADATA_VERSION {
            return Err(M::UnknownVersion { offset: 0, version });
        }
        let event_len = u32_at(metadata, Metadata::EVENT_LEN_AT);
        let metadata_len = u16_at(metadata, Metadata::METADATA_LEN_AT);
        if usize::from(metadata_len) < FANOTIFY_METADATA_LEN || u32::from(metadata_len) > event_len
        {
            return Err(M::BadMetadataLen {
                offset: 0,
                metadata_len,
                event_len,
            });
        }
        let (event, rest) = match usize::try_from(event_len) {
            Ok(len) if len <= bytes.len() => bytes.split_at(len),
            _ => {
                return Err(M::TruncatedEvent {
                    offset: 0,
                    event_len,
                })
            }
        };
        let info = event.get(usize::from(metadata_len)..).unwrap_or_default();
        // Check every record now, so that the event's records iterate without errors.
        for record in Records::<InfoRecord<'a>>::new(info) {
            if let Err(error) = record {
                return Err(error.info_moved(u32::from(metadata_len)));
            }
        }
        Ok((FanotifyEvent { metadata, info }, rest))
    }

    fn malformed_at(error: Self::Malformed, offset: usize) -> Self::Malformed {
        error.at_offset(offset)
    }
}

impl fmt::Debug for FanotifyEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FanotifyEvent")
            .field("event_len", &self.event_len())
            .field("mask", &self.mask())
            .field("raw_mask", &format_args!("{:#x}", self.raw_mask()))
            .field("fd", &self.fd())
            .field("pid", &self.pid())
            .field("info_records", &self.info_records())
            .finish()
    }
}

record_iterator! {
    /// An iterator over the fanotify events in a byte slice, as `read(2)` from a fanotify
    /// group filled it.
    FanotifyEvents, FanotifyEvent, MalformedFanotifyEvent;
    ///
    /// An event whose info records are not whole (a record's `len`, or a handle's
    /// `handle_bytes`, that runs past its end) is an error too: every event it yields
    /// has whole records.
    ///
    /// # Examples
    ///
    /// See [`Fanotify`](crate::Fanotify), whose [`read`](crate::Fanotify::read) returns
    /// one. It parses any bytes, with no system call:
    ///
    /// ```
    /// use inotify_raw::{FanotifyEvents, MalformedFanotifyEvent};
    ///
    /// let mut events = FanotifyEvents::new(&[0u8; 10]);
    /// assert_eq!(
    ///     events.next(),
    ///     Some(Err(MalformedFanotifyEvent::TruncatedMetadata { offset: 0, available: 10 }))
    /// );
    /// assert_eq!(events.next(), None);
    /// assert_eq!(events.remainder().len(), 10);
    /// ```
}

/// A `struct file_handle`: a view of the kernel's opaque name for a file, which
/// [`open_by_handle_at`](crate::open_by_handle_at) opens again.
///
/// Two handles are equal when their types and bytes are: then, on one file system,
/// they name the same file.
#[doc(alias = "file_handle")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileHandle<'a> {
    /// The whole `struct file_handle`: its 8-byte header and exactly `handle_bytes`
    /// bytes.
    bytes: &'a [u8],
}

impl<'a> FileHandle<'a> {
    /// A handle of no bytes.
    pub(crate) const EMPTY: FileHandle<'static> = FileHandle { bytes: &[0; 8] };

    /// The handle at the start of `bytes`, if its header is there and its
    /// `handle_bytes` fit in them.
    pub(crate) fn split_first(bytes: &'a [u8]) -> Option<FileHandle<'a>> {
        let handle_bytes = usize::try_from(u32_at(bytes, FileHandleStorage::HANDLE_BYTES_AT))
            .ok()?
            .checked_add(FileHandleStorage::HEADER_LEN)?;
        let bytes = bytes.get(..handle_bytes)?;
        Some(FileHandle { bytes })
    }

    /// `handle_type`: which of its kinds of handle the file system made.
    #[inline]
    pub fn handle_type(&self) -> i32 {
        i32_at(self.bytes, FileHandleStorage::HANDLE_TYPE_AT)
    }

    /// `f_handle`: the opaque bytes, `handle_bytes` of them.
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
            .get(FileHandleStorage::HEADER_LEN..)
            .unwrap_or_default()
    }

    /// The whole `struct file_handle`, header included, as `open_by_handle_at` takes it.
    #[inline]
    pub(crate) fn as_struct_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

impl fmt::Debug for FileHandle<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileHandle")
            .field("handle_type", &self.handle_type())
            .field("bytes", &Hex(self.bytes()))
            .finish()
    }
}

/// Shows bytes as one hexadecimal number, two digits a byte.
struct Hex<'a>(&'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{:02x}", byte)?;
        }
        Ok(())
    }
}

/// An info record that names a file: `FAN_EVENT_INFO_TYPE_FID`, `DFID`, `DFID_NAME`,
/// `OLD_DFID_NAME` or `NEW_DFID_NAME`. The file system's ID and a file handle, and for
/// the `DFID_NAME` kinds the name of an entry in the directory the handle names.
#[doc(alias("fanotify_event_info_fid", "fid"))]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FidRecord<'a> {
    fsid: [u8; 8],
    handle: FileHandle<'a>,
    name: Option<&'a [u8]>,
}

impl<'a> FidRecord<'a> {
    /// The ID of the file system the handle belongs to (`__kernel_fsid_t`, as `statfs`
    /// gives it in `f_fsid`).
    #[inline]
    pub fn fsid(&self) -> [i32; 2] {
        [i32_at(&self.fsid, 0), i32_at(&self.fsid, 4)]
    }

    /// The file's handle (for `DFID` and the `DFID_NAME` kinds, the directory's).
    #[inline]
    pub fn handle(&self) -> FileHandle<'a> {
        self.handle
    }

    /// For the `DFID_NAME` kinds, the entry's name in the directory, up to its NUL:
    /// bytes, not UTF-8 (`.` for an event on the directory itself). `None` for `FID` and
    /// `DFID` records.
    #[inline]
    pub fn name(&self) -> Option<&'a [u8]> {
        self.name
    }

    /// The name as an `OsStr` (any bytes, no UTF-8 needed).
    #[cfg(feature = "std")]
    #[inline]
    pub fn name_os(&self) -> Option<&'a std::ffi::OsStr> {
        use std::os::unix::ffi::OsStrExt;
        self.name.map(std::ffi::OsStr::from_bytes)
    }

    /// The record in `record` (header included), whose `len` was checked: `None` when
    /// its handle does not fit in it.
    fn parse(record: &'a [u8], with_name: bool) -> Option<FidRecord<'a>> {
        let fsid = array_at(record, FidInfo::FSID_AT)?;
        let handle = FileHandle::split_first(record.get(FidInfo::LEN..)?)?;
        let after = record.get(FidInfo::LEN + handle.bytes.len()..)?;
        let name = if with_name {
            Some(up_to_first_nul(after))
        } else {
            None
        };
        Some(FidRecord { fsid, handle, name })
    }
}

impl fmt::Debug for FidRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FidRecord")
            .field("fsid", &self.fsid())
            .field("handle", &self.handle)
            .field("name", &self.name.map(ByteStr))
            .finish()
    }
}

/// One info record after an event's metadata.
#[doc(alias("fanotify_event_info_header", "FAN_EVENT_INFO_TYPE"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InfoRecord<'a> {
    /// `FAN_EVENT_INFO_TYPE_FID`: the handle of the file the event is about
    /// (`FAN_REPORT_FID`; with `FAN_REPORT_TARGET_FID`, the entry's).
    Fid(FidRecord<'a>),
    /// `FAN_EVENT_INFO_TYPE_DFID`: the handle of the directory (`FAN_REPORT_DIR_FID`
    /// without `FAN_REPORT_NAME`).
    Dfid(FidRecord<'a>),
    /// `FAN_EVENT_INFO_TYPE_DFID_NAME`: the directory's handle and the entry's name
    /// (`FAN_REPORT_DFID_NAME`).
    DfidName(FidRecord<'a>),
    /// `FAN_EVENT_INFO_TYPE_OLD_DFID_NAME`: where a renamed entry was (`FAN_RENAME`).
    OldDfidName(FidRecord<'a>),
    /// `FAN_EVENT_INFO_TYPE_NEW_DFID_NAME`: where a renamed entry is now (`FAN_RENAME`).
    NewDfidName(FidRecord<'a>),
    /// `FAN_EVENT_INFO_TYPE_PIDFD`: a pidfd of the process that caused the event
    /// (`FAN_REPORT_PIDFD`), which the reader owns and must close; or -1
    /// (`FAN_NOPIDFD`: the process is gone) or -2 (`FAN_EPIDFD`: no pidfd could be made).
    /// A number: see [`FanotifyEvent::fd`] for why.
    Pidfd(i32),
    /// `FAN_EVENT_INFO_TYPE_ERROR`: a file-system error (`FAN_FS_ERROR`).
    Error {
        /// The errno of the first error.
        error: i32,
        /// How many errors came since the last such event was read.
        error_count: u32,
    },
    /// A record of a kind this parser does not know (a newer kernel's): its type and its
    /// bytes after the 4-byte header.
    Other {
        /// The record's `info_type`.
        info_type: u8,
        /// The bytes after the header, padding included.
        body: &'a [u8],
    },
}

impl<'a> Record<'a> for InfoRecord<'a> {
    type Malformed = MalformedFanotifyEvent;

    fn split_first(bytes: &'a [u8]) -> Result<(InfoRecord<'a>, &'a [u8]), Self::Malformed> {
        use MalformedFanotifyEvent as M;
        let header: [u8; InfoHeader::LEN] = match array_at(bytes, 0) {
            Some(header) => header,
            None => {
                return Err(M::TruncatedInfoHeader {
                    offset: 0,
                    at: 0,
                    // Fewer than 4 bytes: the cast loses nothing.
                    available: bytes.len() as u8,
                });
            }
        };
        let kind = header[InfoHeader::INFO_TYPE_AT];
        let len = u16_at(&header, InfoHeader::LEN_AT);
        let bad_len = M::BadInfoLen {
            offset: 0,
            at: 0,
            info_type: kind,
            len,
        };
        let least = match kind {
            info_type::FID
            | info_type::DFID
            | info_type::DFID_NAME
            | info_type::OLD_DFID_NAME
            | info_type::NEW_DFID_NAME => FidInfo::LEN + FileHandleStorage::HEADER_LEN,
            info_type::PIDFD => PidfdInfo::LEN,
            info_type::ERROR => ErrorInfo::LEN,
            _ => InfoHeader::LEN,
        };
        if usize::from(len) < least || usize::from(len) > bytes.len() {
            return Err(bad_len);
        }
        let (record, rest) = bytes.split_at(usize::from(len));
        let fid = |with_name| {
            FidRecord::parse(record, with_name).ok_or(M::BadHandleLen {
                offset: 0,
                at: 0,
                len,
            })
        };
        let parsed = match kind {
            info_type::FID => InfoRecord::Fid(fid(false)?),
            info_type::DFID => InfoRecord::Dfid(fid(false)?),
            info_type::DFID_NAME => InfoRecord::DfidName(fid(true)?),
            info_type::OLD_DFID_NAME => InfoRecord::OldDfidName(fid(true)?),
            info_type::NEW_DFID_NAME => InfoRecord::NewDfidName(fid(true)?),
            info_type::PIDFD => InfoRecord::Pidfd(i32_at(record, PidfdInfo::PIDFD_AT)),
            info_type::ERROR => InfoRecord::Error {
                error: i32_at(record, ErrorInfo::ERROR_AT),
                error_count: u32_at(record, ErrorInfo::ERROR_COUNT_AT),
            },
            unknown => InfoRecord::Other {
                info_type: unknown,
                body: record.get(InfoHeader::LEN..).unwrap_or_default(),
            },
        };
        Ok((parsed, rest))
    }

    fn malformed_at(error: Self::Malformed, offset: usize) -> Self::Malformed {
        // `offset` is from the start of the records; the event's parser moves it on by
        // the metadata's length.
        error.info_moved(u32::try_from(offset).unwrap_or(u32::MAX))
    }
}

/// An iterator over the info records of one [`FanotifyEvent`], in the kernel's order.
///
/// The event's parser has checked every record, so this yields each whole record and
/// no error. A record of a kind the parser does not know comes as
/// [`InfoRecord::Other`], and the next one is found by its `len`.
#[derive(Clone)]
pub struct InfoRecords<'a>(Records<'a, InfoRecord<'a>>);

impl<'a> Iterator for InfoRecords<'a> {
    type Item = InfoRecord<'a>;

    #[inline]
    fn next(&mut self) -> Option<InfoRecord<'a>> {
        // An error cannot come (the event was checked); were one to, it ends the records.
        self.0.next()?.ok()
    }
}

impl core::iter::FusedIterator for InfoRecords<'_> {}

impl fmt::Debug for InfoRecords<'_> {
    /// The records not yet yielded, as a list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const FSID: [i32; 2] = [0x1234, -7];

    /// One info record with a file handle, as the kernel lays it out: header, fsid,
    /// handle, then for named kinds the name and its NUL, padded to 4.
    fn fid_record(kind: u8, handle: &[u8], name: Option<&[u8]>) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&FSID[0].to_ne_bytes());
        body.extend_from_slice(&FSID[1].to_ne_bytes());
        body.extend_from_slice(&(handle.len() as u32).to_ne_bytes());
        body.extend_from_slice(&1i32.to_ne_bytes());
        body.extend_from_slice(handle);
        if let Some(name) = name {
            body.extend_from_slice(name);
            body.push(0);
        }
        info_record(kind, &body)
    }

    /// An info record of `kind` with `body` after its header, padded to 4.
    fn info_record(kind: u8, body: &[u8]) -> Vec<u8> {
        let len = (InfoHeader::LEN + body.len() + 3) / 4 * 4;
        let mut record = std::vec![kind, 0];
        record.extend_from_slice(&(len as u16).to_ne_bytes());
        record.extend_from_slice(body);
        record.resize(len, 0);
        record
    }

    /// An event: metadata, then `records`.
    fn event(mask: u64, fd: i32, pid: i32, records: &[Vec<u8>]) -> Vec<u8> {
        let len = FANOTIFY_METADATA_LEN + records.iter().map(Vec::len).sum::<usize>();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(len as u32).to_ne_bytes());
        bytes.push(FANOTIFY_METADATA_VERSION);
        bytes.push(0);
        bytes.extend_from_slice(&(FANOTIFY_METADATA_LEN as u16).to_ne_bytes());
        bytes.extend_from_slice(&mask.to_ne_bytes());
        bytes.extend_from_slice(&fd.to_ne_bytes());
        bytes.extend_from_slice(&pid.to_ne_bytes());
        for record in records {
            bytes.extend_from_slice(record);
        }
        bytes
    }

    /// A creation in a directory, as a group with `FAN_REPORT_DFID_NAME | FAN_REPORT_FID`
    /// reports it.
    fn creation(name: &[u8]) -> Vec<u8> {
        event(
            0x100,
            -1,
            42,
            &[
                fid_record(info_type::DFID_NAME, &[1, 2, 3, 4, 5, 6, 7, 8], Some(name)),
                fid_record(info_type::FID, &[9; 12], None),
            ],
        )
    }

    fn parse(
        bytes: &[u8],
    ) -> (
        Vec<Result<FanotifyEvent<'_>, MalformedFanotifyEvent>>,
        usize,
    ) {
        let mut events = FanotifyEvents::new(bytes);
        let items: Vec<_> = events.by_ref().collect();
        assert!(events.next().is_none(), "fused");
        (items, events.remainder().len())
    }

    #[test]
    fn constants() {
        assert_eq!(FANOTIFY_METADATA_LEN, 24);
        assert_eq!(MAX_FID_RECORD_LEN, 404);
        assert_eq!(MIN_FANOTIFY_BUFFER_LEN, 1256);
        assert_eq!(core::mem::size_of::<MalformedFanotifyEvent>(), 16);
    }

    #[test]
    fn an_entry_event_gives_its_directory_name_and_file() {
        let bytes = creation(b"hello.txt");
        let (items, left) = parse(&bytes);
        assert_eq!((items.len(), left), (1, 0));
        let event = items[0].unwrap();
        assert_eq!(event.mask(), FanotifyMask::CREATE);
        assert_eq!(event.raw_mask(), 0x100);
        assert_eq!((event.fd(), event.pid()), (-1, 42));
        assert_eq!(event.span_len(), bytes.len());
        assert_eq!(usize::from(event.metadata_len()), FANOTIFY_METADATA_LEN);
        let records: Vec<_> = event.info_records().collect();
        assert_eq!(records.len(), 2);
        let dir = match records[0] {
            InfoRecord::DfidName(dir) => dir,
            other => panic!("{:?}", other),
        };
        assert_eq!(dir.fsid(), FSID);
        assert_eq!(dir.name(), Some(&b"hello.txt"[..]));
        assert_eq!(dir.handle().handle_type(), 1);
        assert_eq!(dir.handle().bytes(), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(dir.handle().as_struct_bytes().len(), 16);
        let file = match records[1] {
            InfoRecord::Fid(file) => file,
            other => panic!("{:?}", other),
        };
        assert_eq!(file.name(), None);
        assert_eq!(file.handle().bytes(), [9; 12]);
        assert_ne!(file.handle(), dir.handle());
        // Debug names the records and shows the name.
        let debug = std::format!("{:?}", event);
        assert!(
            debug.contains("DfidName") && debug.contains("hello.txt"),
            "{}",
            debug
        );
    }

    #[test]
    fn a_rename_gives_both_ends_and_other_kinds_come_through() {
        let rename = event(
            0x1000_0000 | 0x4000_0000,
            -1,
            1,
            &[
                fid_record(info_type::OLD_DFID_NAME, &[1; 8], Some(b"old")),
                fid_record(info_type::NEW_DFID_NAME, &[2; 8], Some(b"new")),
                info_record(info_type::PIDFD, &7i32.to_ne_bytes()),
                info_record(99, b"future"),
                fid_record(info_type::DFID, &[3; 8], None),
            ],
        );
        let mut error_body = Vec::new();
        error_body.extend_from_slice(&(-5i32).to_ne_bytes());
        error_body.extend_from_slice(&3u32.to_ne_bytes());
        let error = event(0x8000, -1, 0, &[info_record(info_type::ERROR, &error_body)]);
        let overflow = event(0x4000, -1, 0, &[]);
        let bytes = [rename, error, overflow].concat();
        let (items, left) = parse(&bytes);
        assert_eq!((items.len(), left), (3, 0));
        let rename = items[0].unwrap();
        assert_eq!(rename.mask(), FanotifyMask::RENAME | FanotifyMask::ONDIR);
        let records: Vec<_> = rename.info_records().collect();
        assert!(matches!(records[0], InfoRecord::OldDfidName(r) if r.name() == Some(b"old")));
        assert!(matches!(records[1], InfoRecord::NewDfidName(r) if r.name() == Some(b"new")));
        assert_eq!(records[2], InfoRecord::Pidfd(7));
        assert!(matches!(
            records[3],
            InfoRecord::Other { info_type: 99, body } if body.starts_with(b"future")
        ));
        assert!(matches!(records[4], InfoRecord::Dfid(r) if r.handle().bytes() == [3; 8]));
        let error: Vec<_> = items[1].unwrap().info_records().collect();
        assert_eq!(
            error,
            [InfoRecord::Error {
                error: -5,
                error_count: 3
            }]
        );
        let overflow = items[2].unwrap();
        assert_eq!(overflow.mask(), FanotifyMask::Q_OVERFLOW);
        assert_eq!(overflow.info_records().count(), 0);
    }

    #[test]
    fn a_longer_metadata_moves_the_records() {
        // A metadata_len of 28: four bytes the parser skips before the records.
        let mut bytes = creation(b"x");
        bytes[6..8].copy_from_slice(&28u16.to_ne_bytes());
        bytes.splice(24..24, [0xee; 4]);
        let len = bytes.len() as u32;
        bytes[..4].copy_from_slice(&len.to_ne_bytes());
        let (items, _) = parse(&bytes);
        let names: Vec<_> = items[0]
            .unwrap()
            .info_records()
            .filter_map(|record| match record {
                InfoRecord::DfidName(record) => record.name(),
                _ => None,
            })
            .collect();
        assert_eq!(names, [b"x"]);
    }

    /// `bytes` after two good events, and the error it gives there.
    fn error_after_two(bad: &[u8]) -> MalformedFanotifyEvent {
        let good = [creation(b"a"), creation(b"b")].concat();
        let bytes = [&good[..], bad].concat();
        let (items, left) = parse(&bytes);
        assert_eq!(items.len(), 3, "two events, then one error");
        assert!(items[0].is_ok() && items[1].is_ok());
        assert_eq!(left, bad.len(), "the remainder starts at the bad event");
        let error = items[2].unwrap_err();
        assert_eq!(error.offset(), good.len());
        let message = std::format!("{}", error);
        assert!(
            message.starts_with("malformed fanotify buffer: "),
            "{}",
            message
        );
        assert!(
            message.contains(&std::format!("offset {}", good.len())),
            "{}",
            message
        );
        error
    }

    #[test]
    fn each_length_is_checked() {
        use MalformedFanotifyEvent as M;
        let offset = 2 * creation(b"a").len();
        let good = creation(b"hello");
        let set = |at: usize, value: &[u8]| {
            let mut bytes = good.clone();
            bytes[at..at + value.len()].copy_from_slice(value);
            bytes
        };
        assert_eq!(
            error_after_two(&good[..23]),
            M::TruncatedMetadata {
                offset,
                available: 23
            }
        );
        assert_eq!(
            error_after_two(&set(4, &[2])),
            M::UnknownVersion { offset, version: 2 }
        );
        let event_len = good.len() as u32;
        for metadata_len in [0u16, 23, event_len as u16 + 1] {
            assert_eq!(
                error_after_two(&set(6, &metadata_len.to_ne_bytes())),
                M::BadMetadataLen {
                    offset,
                    metadata_len,
                    event_len
                }
            );
        }
        assert_eq!(
            error_after_two(&good[..good.len() - 1]),
            M::TruncatedEvent { offset, event_len }
        );
        assert_eq!(
            error_after_two(&set(0, &u32::MAX.to_ne_bytes())),
            M::TruncatedEvent {
                offset,
                event_len: u32::MAX
            }
        );
        // The first record (DFID_NAME) starts at byte 24.
        for len in [0u16, 3, 19, 1000] {
            assert_eq!(
                error_after_two(&set(26, &len.to_ne_bytes())),
                M::BadInfoLen {
                    offset,
                    at: 24,
                    info_type: info_type::DFID_NAME,
                    len
                }
            );
        }
        // The second record (FID): its handle_bytes, 1 past it and at the largest.
        let second = 24 + usize::from(u16::from_ne_bytes([good[26], good[27]]));
        assert_eq!(good[second], info_type::FID);
        for handle_bytes in [13u32, u32::MAX] {
            assert_eq!(
                error_after_two(&set(second + 12, &handle_bytes.to_ne_bytes())),
                M::BadHandleLen {
                    offset,
                    at: second as u32,
                    len: 32
                }
            );
        }
        // A pidfd record too short for its pidfd; an error record too short for its count.
        for (kind, len) in [(info_type::PIDFD, 4u16), (info_type::ERROR, 8)] {
            let mut bytes = event(0, -1, 0, &[info_record(kind, &[0; 8])]);
            bytes[26..28].copy_from_slice(&len.to_ne_bytes());
            assert_eq!(
                error_after_two(&bytes),
                M::BadInfoLen {
                    offset,
                    at: 24,
                    info_type: kind,
                    len
                }
            );
        }
        // Three bytes after the records: too few for another record's header.
        let mut bytes = creation(b"hello");
        bytes.extend_from_slice(&[0; 3]);
        let len = bytes.len() as u32;
        bytes[..4].copy_from_slice(&len.to_ne_bytes());
        assert_eq!(
            error_after_two(&bytes),
            M::TruncatedInfoHeader {
                offset,
                at: len - 3,
                available: 3
            }
        );
    }

    #[test]
    fn any_prefix_and_any_changed_byte_parse_without_panic() {
        let first = creation(b"name");
        let bytes = [first.clone(), creation(b"other-name")].concat();
        for end in 0..=bytes.len() {
            let (items, left) = parse(&bytes[..end]);
            let whole = items.iter().filter(|item| item.is_ok()).count();
            let expected = usize::from(end >= first.len()) + usize::from(end == bytes.len());
            assert_eq!(whole, expected, "{} bytes", end);
            assert_eq!(left, end - [0, first.len(), bytes.len()][whole]);
        }
        // Fewer values under Miri, which runs this some thousand times slower.
        let values: &[u8] = if cfg!(miri) {
            &[0, 0xff]
        } else {
            &[0, 1, 0x7f, 0xff, 0x80]
        };
        for at in 0..bytes.len() {
            for &value in values.iter().chain([bytes[at].wrapping_add(1)].iter()) {
                let mut changed = bytes.clone();
                changed[at] = value;
                let (items, left) = parse(&changed);
                let consumed: usize = items
                    .iter()
                    .filter_map(|item| item.as_ref().ok())
                    .map(|event| {
                        // Every record of a yielded event comes through, whatever it holds.
                        for record in event.info_records() {
                            if let InfoRecord::DfidName(fid) | InfoRecord::Fid(fid) = record {
                                assert!(fid.handle().bytes().len() <= event.span_len());
                                assert!(!fid.name().unwrap_or_default().contains(&0));
                            }
                        }
                        event.span_len()
                    })
                    .sum();
                assert_eq!(consumed + left, changed.len());
            }
        }
    }
}
