//! `memcpy`, `memmove`, `memset`, `memcmp` and `bcmp`: the C functions compiled Rust code
//! calls for copies, fills and comparisons, which libc would otherwise provide.
//!
//! Plain byte loops here would be recognised by LLVM and compiled back into calls to these
//! very functions (endless recursion); volatile accesses are never rewritten. The copies
//! this program makes are small, so byte-at-a-time is fast enough.

use core::ptr::{read_volatile, write_volatile};

/// Copies `n` bytes from `src` to `dest`; the two must not overlap.
///
/// # Safety
/// As for C's `memcpy`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees both ranges are valid for `n` bytes.
        unsafe { write_volatile(dest.add(i), read_volatile(src.add(i))) };
        i += 1;
    }
    dest
}

/// Copies `n` bytes from `src` to `dest`; the two may overlap.
///
/// # Safety
/// As for C's `memmove`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize) <= (src as usize) {
        // SAFETY: copying forwards never overwrites a source byte not yet read.
        unsafe { memcpy(dest, src, n) }
    } else {
        let mut i = n;
        while i > 0 {
            i -= 1;
            // SAFETY: the caller guarantees both ranges are valid for `n` bytes.
            unsafe { write_volatile(dest.add(i), read_volatile(src.add(i))) };
        }
        dest
    }
}

/// Fills `n` bytes at `dest` with the low byte of `c`.
///
/// # Safety
/// As for C's `memset`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees `dest` is valid for `n` bytes.
        unsafe { write_volatile(dest.add(i), c as u8) };
        i += 1;
    }
    dest
}

/// Compares `n` bytes: negative, zero or positive, as the first difference says.
///
/// # Safety
/// As for C's `memcmp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees both ranges are valid for `n` bytes.
        let (x, y) = unsafe { (read_volatile(a.add(i)), read_volatile(b.add(i))) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

/// Zero when the `n` bytes are equal, non-zero otherwise.
///
/// # Safety
/// As for C's `bcmp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract.
    unsafe { memcmp(a, b, n) }
}

/// Referenced by the precompiled `core` (built to unwind) in unoptimised builds; with
/// `panic = "abort"` it is never called. Optimised builds drop it.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}
