//! Zero-copy parsing of the kernel's event buffer: [`Event`] views and the [`Events`]
//! iterator, plus the aligned [`EventBuffer`] to read into.
//!
//! Everything here is a pure function of bytes: no system call, no allocation, no panic,
//! and no read outside the slice it is given, whatever the bytes are.

use core::fmt;

use super::records::{record_iterator, Record, Records};
use crate::mask::EventMask;
use crate::sys::NAME_MAX;

/// Size of `struct inotify_event`'s fixed part: `wd`, `mask`, `cookie`, `len`.
pub const EVENT_HEADER_LEN: usize = 16;

/// The smallest buffer the kernel accepts for any event: one header and the longest
/// name with its NUL. A smaller read buffer can fail with `EINVAL`.
pub const MIN_EVENT_BUFFER_LEN: usize = EVENT_HEADER_LEN + NAME_MAX + 1;

/// The name field of most events: the kernel pads a name and its NUL to a multiple of 16
/// bytes, so every name of up to 15 bytes takes 16.
const SHORT_FIELD_LEN: usize = 16;

/// A whole event with a [`SHORT_FIELD_LEN`] name field.
const SHORT_EVENT_LEN: usize = EVENT_HEADER_LEN + SHORT_FIELD_LEN;

/// A watch descriptor: the kernel's number for one watch of one inotify instance.
///
/// `-1` is the descriptor of `IN_Q_OVERFLOW` events, which belong to no watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WatchDescriptor(i32);

impl WatchDescriptor {
    /// The descriptor the kernel gives queue-overflow events: -1.
    pub const OVERFLOW: WatchDescriptor = WatchDescriptor(-1);

    /// Wraps a raw number.
    pub const fn from_raw(wd: i32) -> WatchDescriptor {
        WatchDescriptor(wd)
    }

    /// The raw number.
    pub const fn raw(self) -> i32 {
        self.0
    }
}

impl fmt::Display for WatchDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Why parsing stopped before the end of the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MalformedEvent {
    /// Fewer than [`EVENT_HEADER_LEN`] bytes were left for a header.
    TruncatedHeader {
        /// Where the header starts, from the start of the buffer.
        offset: usize,
        /// How many bytes were left: fewer than [`EVENT_HEADER_LEN`].
        available: u16,
    },
    /// The header's `len` runs past the end of the bytes (how far: the header is at the
    /// start of [`Events::remainder`]).
    TruncatedName {
        /// Where the event starts, from the start of the buffer.
        offset: usize,
        /// The `len` field of the header.
        name_len: u32,
    },
}

impl fmt::Display for MalformedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MalformedEvent::TruncatedHeader { offset, available } => write!(
                f,
                "malformed inotify buffer: {} byte(s) at offset {} are too few for a {}-byte \
                 event header; pass whole reads from an inotify descriptor",
                available, offset, EVENT_HEADER_LEN
            ),
            MalformedEvent::TruncatedName { offset, name_len } => write!(
                f,
                "malformed inotify buffer: the event at offset {} has a {}-byte name, which \
                 runs past the end of the bytes; pass whole reads from an inotify descriptor",
                offset, name_len
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for MalformedEvent {}

#[cfg(feature = "std")]
impl From<MalformedEvent> for std::io::Error {
    /// `InvalidData`, with the message: so that `?` works in a function that returns
    /// `io::Result`.
    fn from(error: MalformedEvent) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, error)
    }
}

/// One event: a view into the bytes it was read into. Copying it copies two references.
///
/// Two events are equal when their headers and names are (whatever the bytes after a
/// name's first NUL).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    header: &'a [u8; EVENT_HEADER_LEN],
    /// The name field up to its first NUL (found when the event is parsed); empty for
    /// no name.
    name: &'a [u8],
}

/// Reads the native-endian `u32` at `at` of a header (a fixed offset: never out of range).
#[inline(always)]
fn header_u32(header: &[u8; EVENT_HEADER_LEN], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&header[at..at + 4]);
    u32::from_ne_bytes(word)
}

impl<'a> Event<'a> {
    /// The watch the event is about (`-1` for a queue overflow).
    #[inline]
    pub fn wd(&self) -> WatchDescriptor {
        WatchDescriptor(header_u32(self.header, 0) as i32)
    }

    /// What happened.
    #[inline]
    pub fn mask(&self) -> EventMask {
        EventMask::from_bits_retain(header_u32(self.header, 4))
    }

    /// The cookie that pairs an `IN_MOVED_FROM` with its `IN_MOVED_TO`; 0 otherwise.
    #[inline]
    pub fn cookie(&self) -> u32 {
        header_u32(self.header, 8)
    }

    /// The `len` field: the size of the name field, NUL padding included.
    #[inline]
    #[allow(clippy::len_without_is_empty)] // the kernel's field name; not a container
    pub fn len(&self) -> u32 {
        header_u32(self.header, 12)
    }

    /// The name of the entry inside a watched directory, without its NUL padding; `None`
    /// when the event is about the watched object itself. Bytes, not UTF-8.
    #[inline]
    pub fn name(&self) -> Option<&'a [u8]> {
        if self.name.is_empty() {
            None
        } else {
            Some(self.name)
        }
    }

    /// The name as an `OsStr` (any bytes, no UTF-8 needed).
    #[cfg(feature = "std")]
    #[inline]
    pub fn name_os(&self) -> Option<&'a std::ffi::OsStr> {
        use std::os::unix::ffi::OsStrExt;
        self.name().map(std::ffi::OsStr::from_bytes)
    }

    /// How many bytes the whole record takes: header and name field.
    #[inline]
    pub fn span_len(&self) -> usize {
        // The parser checked that the `len` bytes are there, so this cannot overflow.
        EVENT_HEADER_LEN + self.len() as usize
    }
}

impl<'a> Record<'a> for Event<'a> {
    type Malformed = MalformedEvent;

    /// An event with a 16-byte name field, the shape of most: one length check for the
    /// whole record, and fixed offsets. It also lets the processor start on the next
    /// record without waiting for this one's `len` to load: the branch on it is predicted.
    #[inline(always)]
    fn split_common(bytes: &'a [u8]) -> Option<(Event<'a>, &'a [u8])> {
        let record: &'a [u8; SHORT_EVENT_LEN] = bytes.get(..SHORT_EVENT_LEN)?.try_into().ok()?;
        let rest = bytes.get(SHORT_EVENT_LEN..)?;
        let (header, field) = record.split_at(EVENT_HEADER_LEN);
        let header: &'a [u8; EVENT_HEADER_LEN] = header.try_into().ok()?;
        let field: &'a [u8; SHORT_FIELD_LEN] = field.try_into().ok()?;
        if header_u32(header, 12) as usize != SHORT_FIELD_LEN {
            return None;
        }
        let name = up_to_first_nul_16(field);
        Some((Event { header, name }, rest))
    }

    #[inline(always)]
    fn split_first(bytes: &'a [u8]) -> Result<(Event<'a>, &'a [u8]), MalformedEvent> {
        let header: &'a [u8; EVENT_HEADER_LEN] = match bytes
            .get(..EVENT_HEADER_LEN)
            .map(<&[u8; EVENT_HEADER_LEN]>::try_from)
        {
            Some(Ok(header)) => header,
            _ => {
                return Err(MalformedEvent::TruncatedHeader {
                    offset: 0,
                    // Fewer than EVENT_HEADER_LEN bytes: the cast loses nothing.
                    available: bytes.len() as u16,
                });
            }
        };
        let after_header = bytes.get(EVENT_HEADER_LEN..).unwrap_or_default();
        let name_len = header_u32(header, 12);
        match usize::try_from(name_len) {
            Ok(len) if len <= after_header.len() => {
                let (field, rest) = after_header.split_at(len);
                let name = up_to_first_nul(field);
                Ok((Event { header, name }, rest))
            }
            _ => Err(MalformedEvent::TruncatedName {
                offset: 0,
                name_len,
            }),
        }
    }

    fn malformed_at(error: MalformedEvent, offset: usize) -> MalformedEvent {
        match error {
            MalformedEvent::TruncatedHeader { available, .. } => {
                MalformedEvent::TruncatedHeader { offset, available }
            }
            MalformedEvent::TruncatedName { name_len, .. } => {
                MalformedEvent::TruncatedName { offset, name_len }
            }
        }
    }
}

impl fmt::Debug for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("wd", &self.wd().raw())
            .field("mask", &self.mask())
            .field("cookie", &self.cookie())
            .field("len", &self.len())
            .field("name", &self.name().map(ByteStr))
            .finish()
    }
}

/// The bytes of `field` before its first NUL; all of it when it has none.
#[inline(always)]
pub(super) fn up_to_first_nul(field: &[u8]) -> &[u8] {
    if field.is_empty() {
        field // no name: the event is about the watched object itself
    } else {
        up_to_first_nul_by_chunks(field)
    }
}

/// [`up_to_first_nul`] sixteen bytes at a time (the kernel pads names to a multiple of 16
/// bytes), then, for a field that is not a multiple of 16 bytes long (not the kernel's),
/// byte by byte. Out of line: the common 16-byte field has a path of its own
/// ([`Record::split_common`]), and this keeps the code of each loop over events small.
#[inline(never)]
fn up_to_first_nul_by_chunks(field: &[u8]) -> &[u8] {
    let mut chunks = field.chunks_exact(SHORT_FIELD_LEN);
    let mut end = 0;
    for chunk in &mut chunks {
        let nul = match <&[u8; SHORT_FIELD_LEN]>::try_from(chunk) {
            Ok(chunk) => first_nul_16(chunk),
            Err(_) => break, // never: the chunks are 16 bytes long
        };
        end += nul;
        if nul < SHORT_FIELD_LEN {
            return field.get(..end).unwrap_or(field);
        }
    }
    let tail = chunks.remainder();
    end += tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
    field.get(..end).unwrap_or(field)
}

/// [`up_to_first_nul`] of a 16-byte field.
#[inline(always)]
fn up_to_first_nul_16(field: &[u8; SHORT_FIELD_LEN]) -> &[u8] {
    field.get(..first_nul_16(field)).unwrap_or(field)
}

/// The index of the first NUL of a 16-byte field, 16 when it has none; with no loop. One
/// SSE2 compare of the 16 bytes with zero where the target has SSE2 (every x86_64 target
/// but the soft-float ones), two 8-byte words elsewhere.
#[inline(always)]
fn first_nul_16(field: &[u8; SHORT_FIELD_LEN]) -> usize {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // Bit i is set when byte i is NUL; bit 16, above them, stands for "none".
        (nul_bits_sse2(field) | 1 << 16).trailing_zeros() as usize
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        first_nul_16_by_words(field)
    }
}

/// One bit per byte of `field`, bit i set when byte i is NUL: `PCMPEQB` with zero, then
/// `PMOVMSKB`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[allow(unsafe_code)]
#[inline(always)]
fn nul_bits_sse2(field: &[u8; SHORT_FIELD_LEN]) -> u32 {
    use core::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_setzero_si128,
    };
    // SAFETY: the target has SSE2 (the cfg above), so the intrinsics are supported. The
    // load reads exactly the 16 bytes of `field`, which the reference makes valid to
    // read, and `loadu` needs no alignment.
    let mask = unsafe {
        let bytes = _mm_loadu_si128(field.as_ptr().cast());
        _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_setzero_si128()))
    };
    // PMOVMSKB sets only the low 16 bits.
    mask as u32
}

/// [`first_nul_16`] in plain integer arithmetic: two 8-byte words.
#[cfg(any(not(all(target_arch = "x86_64", target_feature = "sse2")), test))]
#[inline(always)]
fn first_nul_16_by_words(field: &[u8; SHORT_FIELD_LEN]) -> usize {
    /// Flags the high bit of each zero byte of `word`. A borrow can flag a byte after a
    /// zero byte too, but never one before the first: the lowest flag is exact.
    fn zero_bytes(word: u64) -> u64 {
        const LOW_BITS: u64 = 0x0101_0101_0101_0101;
        const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
        word.wrapping_sub(LOW_BITS) & !word & HIGH_BITS
    }
    // Little-endian on purpose, on any target: byte 0 is the lowest byte.
    let both = u128::from_le_bytes(*field);
    let low = zero_bytes(both as u64);
    if low != 0 {
        return (low.trailing_zeros() / 8) as usize;
    }
    // 16 when the high word has no zero byte either (64 trailing zeros).
    8 + (zero_bytes((both >> 64) as u64).trailing_zeros() / 8) as usize
}

/// Shows bytes as a string, escaping what is not printable ASCII.
pub(crate) struct ByteStr<'a>(pub(crate) &'a [u8]);

impl fmt::Debug for ByteStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for &b in self.0 {
            for c in core::ascii::escape_default(b) {
                fmt::Write::write_char(f, c as char)?;
            }
        }
        f.write_str("\"")
    }
}

record_iterator! {
    /// An iterator over the inotify events in a byte slice, as `read(2)` filled it.
    Events, Event, MalformedEvent;
    ///
    /// # Examples
    ///
    /// The events of one read from [`Inotify::read`](crate::Inotify::read):
    ///
    /// ```
    /// use inotify_raw::{EventBuffer, EventMask, Events, Inotify, WatchMask};
    ///
    /// let dir = std::env::temp_dir().join(format!("inotify-raw-doc-events-{}", std::process::id()));
    /// std::fs::create_dir(&dir)?;
    /// let inotify = Inotify::new()?;
    /// inotify.add_watch(dir.as_path(), WatchMask::CREATE)?;
    /// for name in ["a", "b", "c"] {
    ///     std::fs::write(dir.join(name), b"")?;
    /// }
    ///
    /// let mut buffer = EventBuffer::<4096>::new();
    /// let events: Events<'_> = inotify.read(&mut buffer)?;
    /// let mut names = Vec::new();
    /// for event in events {
    ///     let event = event?; // a MalformedEvent converts into io::Error, anyhow, ...
    ///     assert_eq!(event.mask(), EventMask::CREATE);
    ///     names.push(event.name().unwrap_or_default().to_vec());
    /// }
    /// assert_eq!(names, [b"a", b"b", b"c"]);
    ///
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// It parses any bytes, with no system call: bytes that are not a whole event end
    /// the iteration with an error, and stay in the remainder.
    ///
    /// ```
    /// use inotify_raw::{Events, MalformedEvent};
    ///
    /// let mut events = Events::new(&[0u8; 10]);
    /// assert_eq!(
    ///     events.next(),
    ///     Some(Err(MalformedEvent::TruncatedHeader { offset: 0, available: 10 }))
    /// );
    /// assert_eq!(events.next(), None);
    /// assert_eq!(events.remainder().len(), 10);
    /// ```
}

/// A read buffer for inotify events: `N` bytes aligned for `struct inotify_event`.
///
/// `N` must be at least [`MIN_EVENT_BUFFER_LEN`] (272), so a read can never fail with
/// `EINVAL` for want of room; a smaller `N` is a compile-time error. The default, 4096
/// bytes, holds about 128 events with short names and fits comfortably on the stack.
///
/// # Examples
///
/// A read takes as many whole events as fit; the others wait for the next read:
///
/// ```
/// use inotify_raw::{EventBuffer, Inotify, WatchMask};
///
/// let dir = std::env::temp_dir().join(format!("inotify-raw-doc-buffer-{}", std::process::id()));
/// std::fs::create_dir(&dir)?;
/// let inotify = Inotify::new()?;
/// inotify.add_watch(dir.as_path(), WatchMask::CREATE)?;
/// for i in 0..20 {
///     std::fs::write(dir.join(format!("file-{:02}", i)), b"")?;
/// }
///
/// // Each of these events takes 32 bytes (a 16-byte header, "file-NN" padded to 16).
/// let mut buffer = EventBuffer::<512>::new();
/// let first = inotify.read(&mut buffer)?.count();
/// let second = inotify.read(&mut buffer)?.count();
/// assert_eq!((first, second), (16, 4));
///
/// // The default size, 4096 bytes, on the stack.
/// let _buffer: EventBuffer = EventBuffer::new();
///
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A buffer too small for the longest event does not compile:
///
/// ```compile_fail
/// let buffer = inotify_raw::EventBuffer::<256>::new();
/// ```
#[repr(C, align(8))]
pub struct EventBuffer<const N: usize = 4096> {
    bytes: [u8; N],
}

impl<const N: usize> EventBuffer<N> {
    const ROOM_FOR_ANY_EVENT: () = assert!(
        N >= MIN_EVENT_BUFFER_LEN,
        "EventBuffer<N> needs N >= 272 (an event header plus NAME_MAX + 1)"
    );

    /// A zeroed buffer.
    #[allow(clippy::let_unit_value)] // forces the compile-time size check
    pub const fn new() -> EventBuffer<N> {
        let () = Self::ROOM_FOR_ANY_EVENT;
        EventBuffer { bytes: [0; N] }
    }

    /// The whole buffer, to read into.
    pub fn as_mut_bytes(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// The whole buffer.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl<const N: usize> Default for EventBuffer<N> {
    fn default() -> EventBuffer<N> {
        EventBuffer::new()
    }
}

impl<const N: usize> fmt::Debug for EventBuffer<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventBuffer<{}>", N)
    }
}

#[cfg(test)]
mod tests {
    use super::{first_nul_16, first_nul_16_by_words, up_to_first_nul, up_to_first_nul_16};

    /// What the contract says: the bytes before the first NUL, all of them without one.
    fn by_bytes(field: &[u8]) -> &[u8] {
        &field[..field.iter().position(|&b| b == 0).unwrap_or(field.len())]
    }

    /// Checks every way to find the name in `field` against a byte scan; `what` says
    /// which field it is when one fails.
    fn check(field: &[u8], what: impl core::fmt::Debug) {
        let expected = by_bytes(field);
        let found = up_to_first_nul(field);
        assert_eq!(found, expected, "{:?}", what);
        assert_eq!(found.as_ptr(), field.as_ptr(), "{:?}", what);
        if let Ok(field) = <&[u8; 16]>::try_from(field) {
            assert_eq!(up_to_first_nul_16(field), expected, "{:?}", what);
            assert_eq!(first_nul_16(field), expected.len(), "{:?}", what);
            assert_eq!(first_nul_16_by_words(field), expected.len(), "{:?}", what);
        }
    }

    #[test]
    fn up_to_first_nul_matches_a_byte_scan() {
        let mut field = [0xffu8; 40];
        for len in 0..=field.len() {
            for nul in 0..=len {
                let mut bytes = field;
                if nul < len {
                    bytes[nul] = 0;
                    // A byte of 1 after the NUL is what a borrow could flag wrongly.
                    if nul + 1 < len {
                        bytes[nul + 1] = 1;
                    }
                }
                check(&bytes[..len], ("len", len, "nul", nul));
            }
            field[len.min(field.len() - 1)] = 0x80;
        }
    }

    #[test]
    fn up_to_first_nul_takes_the_first_of_several_nuls() {
        // Every placement of two NULs in fields of 16 and 33 bytes (bytes from outside
        // the kernel can have NULs inside a name), over bytes a borrow could misread.
        for len in [16, 33] {
            for first in 0..len {
                for second in first..len {
                    let mut field = [1u8; 33];
                    field[first] = 0;
                    field[second] = 0;
                    check(&field[..len], ("len", len, "NULs at", first, second));
                }
            }
        }
    }
}
