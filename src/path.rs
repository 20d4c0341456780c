//! Paths for system calls: NUL-terminated in a stack buffer, without allocating.

use crate::error::Error;
use crate::sys::{NulTerminated, PATH_MAX};

/// Something that names a file: its bytes, without a terminating NUL.
///
/// Implemented for `[u8]`, `str` and byte arrays, and with the `std` feature for
/// `CStr`, `Path`, `OsStr` and their owned forms. Paths are bytes: nothing here assumes
/// UTF-8.
pub trait PathBytes {
    /// The path's bytes. One NUL at the very end is taken as the terminator (a C string
    /// is then used in place, without a copy); a NUL anywhere else is an error when the
    /// path is used.
    fn path_bytes(&self) -> &[u8];
}

impl PathBytes for [u8] {
    fn path_bytes(&self) -> &[u8] {
        self
    }
}

impl<const N: usize> PathBytes for [u8; N] {
    fn path_bytes(&self) -> &[u8] {
        self
    }
}

impl PathBytes for str {
    fn path_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl<T: PathBytes + ?Sized> PathBytes for &T {
    fn path_bytes(&self) -> &[u8] {
        (**self).path_bytes()
    }
}

#[cfg(feature = "alloc")]
impl PathBytes for alloc::string::String {
    fn path_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

#[cfg(feature = "alloc")]
impl PathBytes for alloc::vec::Vec<u8> {
    fn path_bytes(&self) -> &[u8] {
        self
    }
}

#[cfg(feature = "std")]
mod std_paths {
    use super::PathBytes;
    use std::ffi::{CStr, CString, OsStr, OsString};
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};

    impl PathBytes for CStr {
        fn path_bytes(&self) -> &[u8] {
            self.to_bytes_with_nul()
        }
    }

    impl PathBytes for CString {
        fn path_bytes(&self) -> &[u8] {
            self.as_bytes_with_nul()
        }
    }

    impl PathBytes for OsStr {
        fn path_bytes(&self) -> &[u8] {
            self.as_bytes()
        }
    }

    impl PathBytes for OsString {
        fn path_bytes(&self) -> &[u8] {
            self.as_bytes()
        }
    }

    impl PathBytes for Path {
        fn path_bytes(&self) -> &[u8] {
            self.as_os_str().as_bytes()
        }
    }

    impl PathBytes for PathBuf {
        fn path_bytes(&self) -> &[u8] {
            self.as_os_str().as_bytes()
        }
    }
}

/// The empty path, NUL-terminated.
const EMPTY: NulTerminated<'static> = match NulTerminated::new(b"\0") {
    Some(empty) => empty,
    None => panic!("one NUL is a NUL-terminated string"),
};

/// A path copied into a `PATH_MAX` stack buffer with its NUL appended.
pub(crate) struct StackPath {
    bytes: [u8; PATH_MAX],
    len_with_nul: usize,
}

impl StackPath {
    /// Copies `path` and appends a NUL.
    ///
    /// Fails with [`Error::PathContainsNul`] if the path has a NUL byte, and with
    /// [`Error::PathTooLong`] if it has `PATH_MAX` bytes or more; nothing is truncated.
    pub(crate) fn new(path: &[u8]) -> Result<StackPath, Error> {
        if let Some(position) = path.iter().position(|&b| b == 0) {
            return Err(Error::PathContainsNul { position });
        }
        if path.len() >= PATH_MAX {
            return Err(Error::PathTooLong { len: path.len() });
        }
        let mut bytes = [0u8; PATH_MAX];
        bytes[..path.len()].copy_from_slice(path);
        Ok(StackPath {
            bytes,
            len_with_nul: path.len() + 1,
        })
    }

    /// The path with its NUL.
    pub(crate) fn as_nul_terminated(&self) -> NulTerminated<'_> {
        NulTerminated::new(self.bytes.get(..self.len_with_nul).unwrap_or(&[0])).unwrap_or(EMPTY)
    }
}

/// Runs `f` with `path` NUL-terminated: in place if it already ends in its only NUL,
/// otherwise copied into a stack buffer.
pub(crate) fn with_nul_terminated<T>(
    path: &[u8],
    f: impl FnOnce(NulTerminated<'_>) -> T,
) -> Result<T, Error> {
    if path.is_empty() || path == b"\0" {
        return Err(Error::EmptyPath);
    }
    if let Some(ready) = NulTerminated::new(path) {
        let len = ready.to_bytes().len();
        if len >= PATH_MAX {
            return Err(Error::PathTooLong { len });
        }
        return Ok(f(ready));
    }
    let copy = StackPath::new(path)?;
    Ok(f(copy.as_nul_terminated()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_rules() {
        assert!(NulTerminated::new(b"a\0").is_some());
        assert!(NulTerminated::new(b"a").is_none());
        assert!(NulTerminated::new(b"a\0b\0").is_none());
        assert_eq!(
            StackPath::new(b"a\0b").err(),
            Some(Error::PathContainsNul { position: 1 })
        );
        let long = [b'x'; PATH_MAX];
        assert_eq!(
            StackPath::new(&long).err(),
            Some(Error::PathTooLong { len: PATH_MAX })
        );
        let fits = StackPath::new(&long[..PATH_MAX - 1]).unwrap();
        assert_eq!(fits.as_nul_terminated().to_bytes().len(), PATH_MAX - 1);
    }
}
