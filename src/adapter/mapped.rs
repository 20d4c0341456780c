//! Arrays long enough that malloc (glibc's and musl's) maps memory for each of them by
//! itself: a page costs nothing until it is written, and an array freed or moved leaves
//! nothing resident in the heap.

use std::vec::Vec;

/// The length from which malloc maps each allocation by itself, whatever the heap holds:
/// 256 KiB. Both map from 128 KiB, but glibc first takes what fits in the free end of its
/// heap, which it keeps up to 128 KiB long. (glibc also raises its threshold when a
/// longer mapped allocation is freed: after that, arrays come from the heap again.)
const MAPPED_BYTES: usize = 256 * 1024;

/// Makes room in `array` for `len` items in all; when it has to grow, for at least
/// 256 KiB of them, so that the new array is mapped on its own.
pub(crate) fn reserve_mapped<T>(array: &mut Vec<T>, len: usize) {
    if array.capacity() < len {
        let mapped = MAPPED_BYTES / core::mem::size_of::<T>().max(1);
        array.reserve_exact(len.max(mapped) - array.len());
    }
}

/// `len` zeroed bytes for the kernel to write into, in a mapped allocation of at least
/// 256 KiB: only the pages the kernel writes become resident (a buffer from the heap is
/// zeroed, so resident, whole).
pub(crate) fn zeroed_bytes(len: usize) -> Vec<u8> {
    // `vec![0; n]` asks for zeroed memory, which a mapping already is: nothing is
    // written here.
    let mut bytes = std::vec![0u8; len.max(MAPPED_BYTES)];
    bytes.truncate(len);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grown_array_holds_at_least_256_kib() {
        let mut array: Vec<u32> = Vec::new();
        reserve_mapped(&mut array, 10);
        assert_eq!(array.capacity(), 64 * 1024);
        reserve_mapped(&mut array, 100_000);
        assert!(array.capacity() >= 100_000);
        let before = array.capacity();
        reserve_mapped(&mut array, 5);
        assert_eq!(
            array.capacity(),
            before,
            "an array long enough is left alone"
        );
    }

    #[test]
    fn zeroed_bytes_are_as_long_as_asked_and_zero() {
        let bytes = zeroed_bytes(64 * 1024);
        assert_eq!(bytes.len(), 64 * 1024);
        assert!(bytes.capacity() >= MAPPED_BYTES);
        assert!(bytes.iter().all(|&b| b == 0));
        assert_eq!(zeroed_bytes(256 * 1024).len(), 256 * 1024);
    }
}
