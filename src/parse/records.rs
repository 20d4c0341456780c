//! [`Records`]: the zero-copy iterator over a buffer of variable-length kernel records,
//! shared by the inotify event parser and the directory-entry parser, and the macro that
//! gives each of them its public iterator type.

use core::fmt;
use core::marker::PhantomData;

/// A kernel record that can be split off the front of a byte buffer: an inotify event
/// or a directory entry.
pub(crate) trait Record<'a>: Sized {
    /// Why the bytes at the front are not a whole record.
    type Malformed;

    /// The record at the start of `bytes` and the bytes after it, when they start with
    /// the kind's most common shape; `None` otherwise, and then
    /// [`split_first`](Record::split_first) decides. Tried first, before any other check,
    /// so it must return `Some` only where `split_first` returns the same `Ok`: then a
    /// malformed tail never parses here either, and the iterator stays fused.
    #[inline(always)]
    fn split_common(bytes: &'a [u8]) -> Option<(Self, &'a [u8])> {
        let _ = bytes;
        None
    }

    /// Parses the record at the start of `bytes`, and returns it with the bytes after
    /// it. An error describes a record at offset 0.
    fn split_first(bytes: &'a [u8]) -> Result<(Self, &'a [u8]), Self::Malformed>;

    /// The same error, for a record that starts `offset` bytes into the buffer.
    fn malformed_at(error: Self::Malformed, offset: usize) -> Self::Malformed;
}

/// An iterator over the records in a byte slice, as a system call filled it.
///
/// Yields `Ok(record)` for each whole record. At bytes that are not a whole record it
/// yields one `Err` saying where and why, then stops; the bytes it could not parse stay
/// available through [`remainder`](Records::remainder). It never panics, never
/// allocates and never reads outside the slice, whatever the bytes. The slice need not
/// be aligned.
pub(crate) struct Records<'a, R> {
    rest: &'a [u8],
    len: usize,
    failed: bool,
    record: PhantomData<fn() -> R>,
}

impl<'a, R: Record<'a>> Records<'a, R> {
    /// Iterates over the records in `bytes`.
    #[inline]
    pub(super) const fn new(bytes: &'a [u8]) -> Records<'a, R> {
        Records {
            rest: bytes,
            len: bytes.len(),
            failed: false,
            record: PhantomData,
        }
    }

    /// The bytes not yet parsed: empty after a clean end, the malformed tail after an
    /// error.
    pub(super) fn remainder(&self) -> &'a [u8] {
        self.rest
    }

    /// How many bytes the records yielded so far span.
    pub(super) fn consumed(&self) -> usize {
        self.len - self.rest.len()
    }

    /// True when there are no bytes left to parse: for a fresh iterator, the system
    /// call returned nothing (end of file, end of directory).
    pub(super) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

impl<'a, R: Record<'a>> Iterator for Records<'a, R> {
    type Item = Result<R, R::Malformed>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if let Some((record, rest)) = R::split_common(self.rest) {
            self.rest = rest;
            return Some(Ok(record));
        }
        if self.rest.is_empty() || self.failed {
            return None;
        }
        match R::split_first(self.rest) {
            Ok((record, rest)) => {
                self.rest = rest;
                Some(Ok(record))
            }
            Err(error) => {
                self.failed = true;
                Some(Err(R::malformed_at(error, self.consumed())))
            }
        }
    }
}

impl<'a, R: Record<'a>> core::iter::FusedIterator for Records<'a, R> {}

impl<R> Clone for Records<'_, R> {
    fn clone(&self) -> Self {
        Records {
            rest: self.rest,
            len: self.len,
            failed: self.failed,
            record: PhantomData,
        }
    }
}

impl<R> fmt::Debug for Records<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Records")
            .field("consumed", &(self.len - self.rest.len()))
            .field("remaining", &self.rest.len())
            .field("failed", &self.failed)
            .finish()
    }
}

/// Defines a public iterator type over the records of one kind: a thin wrapper around
/// [`Records`], so that the generic machinery stays private.
macro_rules! record_iterator {
    (
        $(#[$doc:meta])* $name:ident, $record:ident, $malformed:ident;
        $(#[$more:meta])*
    ) => {
        $(#[$doc])*
        ///
        /// Yields `Ok(record)` for each whole record. It never panics, never allocates and
        /// never reads outside the slice, whatever the bytes. The slice need not be
        /// aligned.
        ///
        /// # Errors
        ///
        #[doc = concat!(
            "At bytes that are not a whole record it yields one `Err` ([`",
            stringify!($malformed),
            "`]) saying where and why, then stops; the bytes it could not parse stay \
             available through [`remainder`](Self::remainder)."
        )]
        $(#[$more])*
        #[derive(Clone, Debug)]
        pub struct $name<'a>(Records<'a, $record<'a>>);

        impl<'a> $name<'a> {
            /// Iterates over the records in `bytes`.
            #[inline]
            pub const fn new(bytes: &'a [u8]) -> $name<'a> {
                $name(Records::new(bytes))
            }

            /// The bytes not yet parsed: empty after a clean end, the malformed tail after
            /// an error.
            pub fn remainder(&self) -> &'a [u8] {
                self.0.remainder()
            }

            /// How many bytes the records yielded so far span.
            pub fn consumed(&self) -> usize {
                self.0.consumed()
            }

            /// True when there are no bytes left to parse: for a fresh iterator, the
            /// system call returned nothing (end of file, end of directory).
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl<'a> Iterator for $name<'a> {
            type Item = Result<$record<'a>, $malformed>;

            #[inline]
            fn next(&mut self) -> Option<Self::Item> {
                self.0.next()
            }
        }

        impl core::iter::FusedIterator for $name<'_> {}
    };
}
pub(crate) use record_iterator;
