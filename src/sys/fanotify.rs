//! fanotify and the file-handle calls that go with it: `fanotify_init`, `fanotify_mark`,
//! `name_to_handle_at` and `open_by_handle_at`, and the layouts of the records a read
//! returns.
//!
//! The kernel writes an event as a byte stream: a `struct fanotify_event_metadata`, then
//! variable-length info records. The parser (`crate::parse`) reads those bytes at the
//! offsets given here, never through a cast; the `#[repr(C)]` structs say what the
//! offsets are, and the tests check that the two agree.

use super::{backend, fd_arg, fd_result, nr, Errno, NulTerminated, RawFd};

/// `FANOTIFY_METADATA_VERSION`: the `vers` of every event this crate parses.
pub(crate) const FANOTIFY_METADATA_VERSION: u8 = 3;

/// `MAX_HANDLE_SZ`: the most bytes of an opaque file handle (`f_handle`).
pub(crate) const MAX_HANDLE_SZ: usize = 128;

/// `FAN_EVENT_INFO_TYPE_*`: the kinds of info record.
pub(crate) mod info_type {
    /// `FAN_EVENT_INFO_TYPE_FID`: the file's handle.
    pub(crate) const FID: u8 = 1;
    /// `FAN_EVENT_INFO_TYPE_DFID_NAME`: the directory's handle and the entry's name.
    pub(crate) const DFID_NAME: u8 = 2;
    /// `FAN_EVENT_INFO_TYPE_DFID`: the directory's handle.
    pub(crate) const DFID: u8 = 3;
    /// `FAN_EVENT_INFO_TYPE_PIDFD`: a pidfd of the process that caused the event.
    pub(crate) const PIDFD: u8 = 4;
    /// `FAN_EVENT_INFO_TYPE_ERROR`: a file-system error (`FAN_FS_ERROR`).
    pub(crate) const ERROR: u8 = 5;
    /// `FAN_EVENT_INFO_TYPE_OLD_DFID_NAME`: where a renamed entry was (`FAN_RENAME`).
    pub(crate) const OLD_DFID_NAME: u8 = 10;
    /// `FAN_EVENT_INFO_TYPE_NEW_DFID_NAME`: where a renamed entry is now (`FAN_RENAME`).
    pub(crate) const NEW_DFID_NAME: u8 = 12;
}

/// `struct fanotify_event_metadata`: the fixed part at the start of every event. A
/// layout: the parser reads the bytes at the offsets below.
#[allow(dead_code)] // never built: the kernel's bytes are read at its offsets
#[repr(C)]
pub(crate) struct FanotifyEventMetadata {
    event_len: u32,
    vers: u8,
    reserved: u8,
    metadata_len: u16,
    mask: u64,
    fd: i32,
    pid: i32,
}

impl FanotifyEventMetadata {
    /// `FAN_EVENT_METADATA_LEN`: 24 bytes.
    pub(crate) const LEN: usize = core::mem::size_of::<FanotifyEventMetadata>();
    /// `event_len` (`u32`): the whole event, info records included.
    pub(crate) const EVENT_LEN_AT: usize = 0;
    /// `vers` (`u8`).
    pub(crate) const VERS_AT: usize = 4;
    /// `metadata_len` (`u16`): where the info records start.
    pub(crate) const METADATA_LEN_AT: usize = 6;
    /// `mask` (`u64`).
    pub(crate) const MASK_AT: usize = 8;
    /// `fd` (`i32`).
    pub(crate) const FD_AT: usize = 16;
    /// `pid` (`i32`).
    pub(crate) const PID_AT: usize = 20;
}

/// `struct fanotify_event_info_header`: the start of every info record.
#[allow(dead_code)] // never built: the kernel's bytes are read at its offsets
#[repr(C)]
pub(crate) struct FanotifyEventInfoHeader {
    info_type: u8,
    pad: u8,
    len: u16,
}

impl FanotifyEventInfoHeader {
    /// 4 bytes.
    pub(crate) const LEN: usize = core::mem::size_of::<FanotifyEventInfoHeader>();
    /// `info_type` (`u8`): a `FAN_EVENT_INFO_TYPE_*`.
    pub(crate) const INFO_TYPE_AT: usize = 0;
    /// `len` (`u16`): the whole record, header included.
    pub(crate) const LEN_AT: usize = 2;
}

/// `struct fanotify_event_info_fid`: a header and a file system id, followed by a
/// `struct file_handle` (and, for the `DFID_NAME` kinds, a NUL-terminated name).
#[allow(dead_code)] // never built: the kernel's bytes are read at its offsets
#[repr(C)]
pub(crate) struct FanotifyEventInfoFid {
    hdr: FanotifyEventInfoHeader,
    fsid: [i32; 2],
}

impl FanotifyEventInfoFid {
    /// 12 bytes: the handle starts here.
    pub(crate) const LEN: usize = core::mem::size_of::<FanotifyEventInfoFid>();
    /// `fsid` (`__kernel_fsid_t`, two `int`s).
    pub(crate) const FSID_AT: usize = 4;
}

/// `struct fanotify_event_info_pidfd`.
#[allow(dead_code)] // never built: the kernel's bytes are read at its offsets
#[repr(C)]
pub(crate) struct FanotifyEventInfoPidfd {
    hdr: FanotifyEventInfoHeader,
    pidfd: i32,
}

impl FanotifyEventInfoPidfd {
    /// 8 bytes.
    pub(crate) const LEN: usize = core::mem::size_of::<FanotifyEventInfoPidfd>();
    /// `pidfd` (`i32`).
    pub(crate) const PIDFD_AT: usize = 4;
}

/// `struct fanotify_event_info_error`.
#[allow(dead_code)] // never built: the kernel's bytes are read at its offsets
#[repr(C)]
pub(crate) struct FanotifyEventInfoError {
    hdr: FanotifyEventInfoHeader,
    error: i32,
    error_count: u32,
}

impl FanotifyEventInfoError {
    /// 12 bytes.
    pub(crate) const LEN: usize = core::mem::size_of::<FanotifyEventInfoError>();
    /// `error` (`i32`): the errno of the first error.
    pub(crate) const ERROR_AT: usize = 4;
    /// `error_count` (`u32`): how many errors since the last event was read.
    pub(crate) const ERROR_COUNT_AT: usize = 8;
}

/// `struct file_handle` with room for the largest handle. A layout: handles are kept
/// as bytes (`[u8; FileHandleStorage::LEN]`), which the kernel reads and writes with no
/// need for alignment.
#[allow(dead_code)] // never built: handles are bytes, read at its offsets
#[repr(C)]
pub(crate) struct FileHandleStorage {
    handle_bytes: u32,
    handle_type: i32,
    f_handle: [u8; MAX_HANDLE_SZ],
}

impl FileHandleStorage {
    /// 136 bytes: the header and [`MAX_HANDLE_SZ`] bytes of handle.
    pub(crate) const LEN: usize = core::mem::size_of::<FileHandleStorage>();
    /// 8 bytes: `handle_bytes` and `handle_type`, before `f_handle`.
    pub(crate) const HEADER_LEN: usize = 8;
    /// `handle_bytes` (`u32`).
    pub(crate) const HANDLE_BYTES_AT: usize = 0;
    /// `handle_type` (`i32`).
    pub(crate) const HANDLE_TYPE_AT: usize = 4;
}

/// `fanotify_init(2)`: a new fanotify group. `flags` are the `FAN_*` init flags;
/// `event_f_flags` the `O_*` flags of the descriptors that events carry.
#[inline]
pub(crate) fn fanotify_init(flags: u32, event_f_flags: u32) -> Result<RawFd, Errno> {
    // SAFETY: no pointer arguments.
    fd_result(Errno::decode(unsafe {
        backend::syscall2(nr::FANOTIFY_INIT, flags as usize, event_f_flags as usize)
    }))
}

/// `fanotify_mark(2)`: adds, removes or flushes marks. The object is `path` relative to
/// `dirfd`, or `dirfd` itself when `path` is `None`. The 64-bit `mask` is one register
/// on the 64-bit targets this crate supports.
#[inline]
pub(crate) fn fanotify_mark(
    fd: RawFd,
    flags: u32,
    mask: u64,
    dirfd: RawFd,
    path: Option<NulTerminated<'_>>,
) -> Result<(), Errno> {
    let path = path.map_or(0, |path| path.as_ptr() as usize);
    // SAFETY: `path` is null or NUL-terminated, so the kernel's string copy stays
    // inside it.
    Errno::decode(unsafe {
        backend::syscall5(
            nr::FANOTIFY_MARK,
            fd_arg(fd),
            flags as usize,
            mask as usize,
            fd_arg(dirfd),
            path,
        )
    })
    .map(drop)
}

/// `name_to_handle_at(2)`: fills `handle` (a `struct file_handle` with room for
/// [`MAX_HANDLE_SZ`] bytes) with the handle of `path` (relative to
/// `dirfd`) and returns the ID of the mount it is on. `flags` take `AT_SYMLINK_FOLLOW`,
/// `AT_EMPTY_PATH` or `AT_HANDLE_FID`.
#[inline]
pub(crate) fn name_to_handle_at(
    dirfd: RawFd,
    path: NulTerminated<'_>,
    handle: &mut [u8; FileHandleStorage::LEN],
    flags: u32,
) -> Result<i32, Errno> {
    let room = (MAX_HANDLE_SZ as u32).to_ne_bytes();
    handle[FileHandleStorage::HANDLE_BYTES_AT..][..4].copy_from_slice(&room);
    // Room for a 64-bit mount ID (`AT_HANDLE_MNT_ID_UNIQUE`), though an `int` is what
    // the flags above give.
    let mut mount_id = [0i32; 2];
    // SAFETY: `path` is NUL-terminated; the kernel reads `handle_bytes` (MAX_HANDLE_SZ)
    // and writes at most that many bytes of handle after the 8-byte header of `handle`,
    // which has room for them; it writes at most 8 bytes into `mount_id`.
    Errno::decode(unsafe {
        backend::syscall5(
            nr::NAME_TO_HANDLE_AT,
            fd_arg(dirfd),
            path.as_ptr() as usize,
            handle.as_mut_ptr() as usize,
            mount_id.as_mut_ptr() as usize,
            flags as usize,
        )
    })?;
    Ok(mount_id[0])
}

/// `open_by_handle_at(2)`: opens the file `handle` names on the file system of
/// `mount_fd`. `handle` is a whole `struct file_handle` (its 8-byte header and
/// `handle_bytes` bytes); anything shorter is `EINVAL`, before any call.
#[inline]
pub(crate) fn open_by_handle_at(
    mount_fd: RawFd,
    handle: &[u8],
    flags: u32,
) -> Result<RawFd, Errno> {
    let handle_bytes = match handle.get(..4).map(<[u8; 4]>::try_from) {
        Some(Ok(word)) => u32::from_ne_bytes(word) as usize,
        _ => return Err(Errno::EINVAL),
    };
    if handle.len() < FileHandleStorage::HEADER_LEN
        || handle.len() - FileHandleStorage::HEADER_LEN < handle_bytes
    {
        return Err(Errno::EINVAL);
    }
    // SAFETY: the kernel reads the header, then `handle_bytes` bytes after it: all
    // inside `handle`, which we borrow (immutably, so the count cannot change).
    fd_result(Errno::decode(unsafe {
        backend::syscall3(
            nr::OPEN_BY_HANDLE_AT,
            fd_arg(mount_fd),
            handle.as_ptr() as usize,
            flags as usize,
        )
    }))
}

#[cfg_attr(not(feature = "std"), allow(dead_code))]
/// The `struct statfs` of `fstatfs(2)` on the 64-bit targets (x86_64, aarch64), of
/// which only `f_fsid` is read: eight 8-byte words come before it.
struct Statfs;

#[cfg_attr(not(feature = "std"), allow(dead_code))]
impl Statfs {
    const LEN: usize = 120;
    const FSID_AT: usize = 56;
}

#[cfg_attr(not(feature = "std"), allow(dead_code))]
/// `fstatfs(2)`: the ID of the file system `fd` is on (`f_fsid`), as fanotify's info
/// records give it.
pub(crate) fn fsid_of(fd: RawFd) -> Result<[i32; 2], Errno> {
    let mut statfs = [0u64; Statfs::LEN / 8];
    // SAFETY: the kernel writes one `struct statfs` (LEN bytes) into `statfs`, which has
    // room for it.
    Errno::decode(unsafe {
        backend::syscall2(nr::FSTATFS, fd_arg(fd), statfs.as_mut_ptr() as usize)
    })?;
    let word = statfs[Statfs::FSID_AT / 8].to_ne_bytes();
    let half = |at: usize| i32::from_ne_bytes([word[at], word[at + 1], word[at + 2], word[at + 3]]);
    Ok([half(0), half(4)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn layouts_match_the_offsets() {
        assert_eq!(FanotifyEventMetadata::LEN, 24);
        type M = FanotifyEventMetadata;
        assert_eq!(offset_of!(M, event_len), M::EVENT_LEN_AT);
        assert_eq!(offset_of!(M, vers), M::VERS_AT);
        assert_eq!(offset_of!(M, metadata_len), M::METADATA_LEN_AT);
        assert_eq!(offset_of!(M, mask), M::MASK_AT);
        assert_eq!(offset_of!(M, fd), M::FD_AT);
        assert_eq!(offset_of!(M, pid), M::PID_AT);

        type H = FanotifyEventInfoHeader;
        assert_eq!(H::LEN, 4);
        assert_eq!(offset_of!(H, info_type), H::INFO_TYPE_AT);
        assert_eq!(offset_of!(H, len), H::LEN_AT);

        assert_eq!(FanotifyEventInfoFid::LEN, 12);
        assert_eq!(
            offset_of!(FanotifyEventInfoFid, fsid),
            FanotifyEventInfoFid::FSID_AT
        );
        assert_eq!(FanotifyEventInfoPidfd::LEN, 8);
        assert_eq!(
            offset_of!(FanotifyEventInfoPidfd, pidfd),
            FanotifyEventInfoPidfd::PIDFD_AT
        );
        type E = FanotifyEventInfoError;
        assert_eq!(E::LEN, 12);
        assert_eq!(offset_of!(E, error), E::ERROR_AT);
        assert_eq!(offset_of!(E, error_count), E::ERROR_COUNT_AT);

        type F = FileHandleStorage;
        assert_eq!(F::LEN, F::HEADER_LEN + MAX_HANDLE_SZ);
        assert_eq!(offset_of!(F, handle_bytes), F::HANDLE_BYTES_AT);
        assert_eq!(offset_of!(F, handle_type), F::HANDLE_TYPE_AT);
        assert_eq!(offset_of!(F, f_handle), F::HEADER_LEN);
    }

    #[test]
    fn a_short_handle_is_refused_before_the_call() {
        // handle_bytes says 4, but only 2 bytes follow the header.
        let mut handle = [0u8; 10];
        handle[..4].copy_from_slice(&4u32.to_ne_bytes());
        assert_eq!(open_by_handle_at(-1, &handle, 0), Err(Errno::EINVAL));
        assert_eq!(open_by_handle_at(-1, &handle[..3], 0), Err(Errno::EINVAL));
        // handle_bytes near u32::MAX cannot overflow the check.
        handle[..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(open_by_handle_at(-1, &handle, 0), Err(Errno::EINVAL));
    }
}
