//! `inotify-nolibc [DIR [COUNT]]`: `inotifywait -m DIR` as a static binary with no libc.
//! `inotify-nolibc wait PATH [SECONDS]`: wait for PATH to exist, as an initramfs waits for
//! its root device.
//!
//! Watches DIR (default `.`) for every event (`IN_ALL_EVENTS`) and prints one line per
//! event on standard output, in inotifywait's default format (`%w %,e %f`):
//!
//! ```text
//! dir/ CREATE file
//! dir/ CLOSE_WRITE,CLOSE file
//! dir/ CREATE,ISDIR sub
//! dir/ DELETE file
//! ```
//!
//! - The watched path is printed as given, with a `/` appended when it names a directory
//!   (not a symbolic link to one) and does not already end in `/`: `.` prints as `./`.
//! - The event names are joined by `,` in inotifytools' order, which puts `CLOSE` after
//!   `CLOSE_WRITE`/`CLOSE_NOWRITE` and `MOVE_SELF` and `ISDIR` after it.
//! - An event about the watched object itself has no name: its line ends in a space.
//! - Only events with an `IN_ALL_EVENTS` bit are printed (not `IGNORED` or `Q_OVERFLOW`
//!   alone), as inotifywait does.
//!
//! With COUNT it exits with status 0 after COUNT events; without, it runs until a signal
//! ends it. Unlike `inotifywait -m`, which then waits forever, it also exits with status 0
//! when the kernel removes its watch (`IN_IGNORED`: the directory was deleted or its file
//! system unmounted). A queue overflow is reported on standard error. On an error it
//! prints one line on standard error, with the errno's name, and exits with status 1.
//!
//! `wait PATH [SECONDS]` blocks until PATH resolves (as `test -e` sees it: a symbolic
//! link counts once its target exists), with inotify-raw's `PathWaiter`: directories that
//! do not exist yet are waited for too, and links are followed. It exits with status 0
//! when PATH is there, 2 when SECONDS (a whole number; 0 checks once) pass first, and 1
//! on an error, with one line on standard error. Without SECONDS it waits as long as it
//! takes. (To watch a directory named `wait`, write `./wait`.)
//!
//! There is no libc: `_start` below is the entry point, the system calls are
//! inotify-raw's, and `mem.rs` has the few C functions compiled code calls.

#![no_std]
#![no_main]

mod mem;

use core::time::Duration;

use inotify_raw::raw;
use inotify_raw::{
    BorrowedDescriptor, Errno, Error, EventBuffer, EventMask, FileKind, Inotify, PathWait,
    PathWaiter, Presence, WatchMask,
};

const STDOUT: BorrowedDescriptor<'static> = BorrowedDescriptor::STDOUT;
const STDERR: BorrowedDescriptor<'static> = BorrowedDescriptor::STDERR;
const PROGRAM: &[u8] = b"inotify-nolibc";
const USAGE: &[u8] = b"usage: inotify-nolibc [DIR [COUNT]], or inotify-nolibc wait PATH [SECONDS]";

/// An upper bound on the length of the event names of one line, commas included.
const EVENT_NAMES_MAX_LEN: usize = 192;

/// The process's entry point: the kernel jumps here with the stack pointer at `argc`,
/// followed by the `argv` pointers, a null, the environment and the auxiliary vector.
///
/// # Safety
/// Only the kernel may call it, once, as the program starts.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "xor ebp, ebp",      // the outermost frame, for debuggers
        "mov rdi, rsp",      // the initial stack: argc, argv..., as the first argument
        "and rsp, -16",      // the ABI's alignment before a call (the kernel gives it already)
        "call {entry}",
        "ud2",
        entry = sym entry,
    )
}

/// The process's entry point: the kernel jumps here with `sp` at `argc`, followed by the
/// `argv` pointers, a null, the environment and the auxiliary vector.
///
/// # Safety
/// Only the kernel may call it, once, as the program starts.
#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "mov x29, xzr", // the outermost frame, for debuggers
        "mov x30, xzr",
        "mov x0, sp", // the initial stack: argc, argv..., as the first argument
        "bl {entry}",
        "udf #0",
        entry = sym entry,
    )
}

/// Called by `_start` with a pointer to the initial stack.
///
/// # Safety
/// `stack` must point at `argc` followed by `argc` pointers to NUL-terminated strings.
unsafe extern "C" fn entry(stack: *const usize) -> ! {
    // SAFETY: the kernel lays out the initial stack this way (System V ABI, "Process
    // Initialization"); the strings stay for the life of the process.
    let args = unsafe {
        Args {
            argc: *stack,
            argv: stack.add(1) as *const *const u8,
        }
    };
    run(&args)
}

/// The command-line arguments, straight from the initial stack.
struct Args {
    argc: usize,
    argv: *const *const u8,
}

impl Args {
    /// Argument `i` with its terminating NUL, if there is one.
    fn get(&self, i: usize) -> Option<&'static [u8]> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: `i < argc`, so `argv[i]` is one of the kernel's pointers to a
        // NUL-terminated string that lives as long as the process.
        unsafe {
            let arg = *self.argv.add(i);
            if arg.is_null() {
                return None;
            }
            Some(core::slice::from_raw_parts(arg, c_strlen(arg) + 1))
        }
    }
}

/// The length of a NUL-terminated string, without the NUL.
///
/// Volatile reads keep LLVM from turning the loop into a call to `strlen`, which does
/// not exist here.
///
/// # Safety
/// `s` must point at a NUL-terminated string.
unsafe fn c_strlen(s: *const u8) -> usize {
    let mut len = 0;
    // SAFETY: every byte up to and including the NUL is readable.
    while unsafe { core::ptr::read_volatile(s.add(len)) } != 0 {
        len += 1;
    }
    len
}

/// `bytes` without its last byte (the NUL of a C string).
fn without_nul(bytes: &[u8]) -> &[u8] {
    match bytes.split_last() {
        Some((_, rest)) => rest,
        None => bytes,
    }
}

fn run(args: &Args) -> ! {
    if args.get(1) == Some(b"wait\0") {
        wait(args);
    }
    if args.argc > 3 {
        fail(&[b"too many arguments; ", USAGE]);
    }
    let dir = args.get(1).unwrap_or(b".\0");
    let count = match args.get(2) {
        Some(text) => match parse_count(without_nul(text)) {
            Some(count) => Some(count),
            None => fail(&[
                b"COUNT must be a positive whole number, not '",
                without_nul(text),
                b"'; ",
                USAGE,
            ]),
        },
        None => None,
    };

    let inotify = match Inotify::new() {
        Ok(inotify) => inotify,
        Err(error) => fail_with(&[], b"", &error),
    };
    // `dir` ends in its NUL, so inotify-raw hands it to the kernel in place.
    let wd = match inotify.add_watch(dir, WatchMask::ALL_EVENTS) {
        Ok(wd) => wd,
        Err(error) => fail_with(&[b"cannot watch ", without_nul(dir)], b"", &error),
    };
    // inotifywait decides on the slash after adding the watch, with lstat: so do we.
    let dir_slash: &[u8] = if is_directory(dir) && !without_nul(dir).ends_with(b"/") {
        b"/"
    } else {
        b""
    };
    let dir = without_nul(dir);

    let mut out = Out::<8192>::new(STDOUT);
    let mut buffer = EventBuffer::<4096>::new();
    let mut printed: u64 = 0;
    loop {
        let events = match inotify.read(&mut buffer) {
            Ok(events) => events,
            Err(error) if error.is_interrupted() => continue,
            Err(error) => fail_with(&[b"cannot read events"], b"", &error),
        };
        for event in events {
            let event = match event {
                Ok(event) => event,
                Err(_) => fail(&[b"malformed event buffer from the kernel"]),
            };
            let mask = event.mask();
            if mask.intersects(EventMask::Q_OVERFLOW) {
                warn(&[b"the kernel's event queue overflowed: events were lost"]);
            }
            if mask.bits() & WatchMask::ALL_EVENTS.bits() != 0 {
                let name = event.name().unwrap_or(b"");
                // Flush first if the line might not fit, so that a line is never split
                // between two writes.
                let line_max = dir.len() + 2 + EVENT_NAMES_MAX_LEN + name.len() + 2;
                if out.len + line_max > out.buf.len() {
                    flush_stdout(&mut out);
                }
                if let Err(errno) = print_event(&mut out, dir, dir_slash, mask.bits(), name) {
                    fail_errno(&[b"cannot write to standard output"], errno);
                }
                printed += 1;
                if Some(printed) == count {
                    flush_stdout(&mut out);
                    raw::exit_group(0);
                }
            }
            if mask.intersects(EventMask::IGNORED) && event.wd() == wd {
                // The watch is gone: no event can come any more.
                flush_stdout(&mut out);
                raw::exit_group(0);
            }
        }
        flush_stdout(&mut out);
    }
}

/// `wait PATH [SECONDS]`: exits 0 when PATH resolves, 2 after SECONDS, 1 on an error.
fn wait(args: &Args) -> ! {
    let path = match (args.get(2), args.argc) {
        (Some(path), 3..=4) => path,
        (None, _) => fail(&[b"wait needs a PATH; ", USAGE]),
        _ => fail(&[b"too many arguments; ", USAGE]),
    };
    let mut waiter = PathWaiter::new(Presence::Resolves);
    if let Some(text) = args.get(3) {
        match parse_number(without_nul(text)) {
            Some(seconds) => waiter = waiter.timeout(Duration::from_secs(seconds)),
            None => fail(&[
                b"SECONDS must be a whole number, not '",
                without_nul(text),
                b"'; ",
                USAGE,
            ]),
        }
    }
    // `path` ends in its NUL, so inotify-raw uses it in place.
    match waiter.wait(path) {
        Ok(PathWait::Found(_)) => raw::exit_group(0),
        Ok(PathWait::TimedOut) => raw::exit_group(2),
        Err(error) => {
            let path = without_nul(path);
            fail_with(&[b"cannot wait for ", path], path, &error)
        }
    }
}

/// A decimal number.
fn parse_number(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut number: u64 = 0;
    for &byte in text {
        if !byte.is_ascii_digit() {
            return None;
        }
        number = number
            .checked_mul(10)?
            .checked_add(u64::from(byte - b'0'))?;
    }
    Some(number)
}

/// A decimal number of events, at least 1.
fn parse_count(text: &[u8]) -> Option<u64> {
    parse_number(text).filter(|&count| count > 0)
}

/// Whether `path` (NUL-terminated) is a directory itself, not a symbolic link to one.
fn is_directory(path: &[u8]) -> bool {
    inotify_raw::file_kind(path) == Ok(FileKind::Directory)
}

/// Appends one line: `DIR[/] NAMES NAME\n`.
fn print_event<const N: usize>(
    out: &mut Out<N>,
    dir: &[u8],
    dir_slash: &[u8],
    mask: u32,
    name: &[u8],
) -> Result<(), Errno> {
    out.push(dir)?;
    out.push(dir_slash)?;
    let mut separator: &[u8] = b" ";
    for event_name in EventMask::from_bits_retain(mask).inotifywait_events() {
        out.push(separator)?;
        out.push(event_name.as_bytes())?;
        separator = b",";
    }
    out.push(b" ")?;
    out.push(name)?;
    out.push(b"\n")
}

/// A buffered writer on a descriptor, with no allocation.
struct Out<const N: usize> {
    fd: BorrowedDescriptor<'static>,
    len: usize,
    buf: [u8; N],
}

impl<const N: usize> Out<N> {
    const fn new(fd: BorrowedDescriptor<'static>) -> Self {
        Out {
            fd,
            len: 0,
            buf: [0; N],
        }
    }

    fn push(&mut self, mut bytes: &[u8]) -> Result<(), Errno> {
        while !bytes.is_empty() {
            let room = match self.buf.get_mut(self.len..) {
                Some(room) if !room.is_empty() => room,
                _ => {
                    self.flush()?;
                    continue;
                }
            };
            let n = room.len().min(bytes.len());
            let (head, tail) = bytes.split_at(n);
            room[..n].copy_from_slice(head);
            self.len += n;
            bytes = tail;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Errno> {
        let pending = self.buf.get(..self.len).unwrap_or(&[]);
        self.len = 0;
        write_all(self.fd, pending)
    }
}

/// Writes all of `bytes`, retrying after partial writes and signals.
fn write_all(fd: BorrowedDescriptor<'static>, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        match raw::write(fd, bytes) {
            Ok(0) => return Err(Errno::EIO),
            Ok(n) => bytes = bytes.get(n..).unwrap_or(&[]),
            Err(errno) if errno == Errno::EINTR => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}

fn flush_stdout<const N: usize>(out: &mut Out<N>) {
    if let Err(errno) = out.flush() {
        fail_errno(&[b"cannot write to standard output"], errno);
    }
}

/// Starts a message on standard error: `inotify-nolibc: ` and `parts`.
fn message(parts: &[&[u8]]) -> Out<1024> {
    let mut err = Out::<1024>::new(STDERR);
    let _ = err.push(PROGRAM);
    let _ = err.push(b": ");
    for part in parts {
        let _ = err.push(part);
    }
    err
}

/// Ends a message with a newline and writes it; nothing is left to do if that fails.
fn finish(mut err: Out<1024>) {
    let _ = err.push(b"\n");
    let _ = err.flush();
}

fn warn(parts: &[&[u8]]) {
    finish(message(parts));
}

fn fail(parts: &[&[u8]]) -> ! {
    finish(message(parts));
    raw::exit_group(1)
}

/// Fails with `parts`, then the call that failed and the errno's name:
/// `inotify-nolibc: cannot watch DIR: inotify_add_watch: ENOENT`. An error about a
/// component of `path` names it first: `cannot wait for a/b/c: a/b: statx: EACCES`.
///
/// (`Error`'s `Display` says more, but formatting it with `core::fmt` makes this binary
/// twice as large: see README.md.)
fn fail_with(parts: &[&[u8]], path: &[u8], error: &Error) -> ! {
    let mut err = message(parts);
    if !parts.is_empty() {
        let _ = err.push(b": ");
    }
    match *error {
        Error::Syscall { call, errno, .. } | Error::PathComponent { call, errno, .. } => {
            if let Some(prefix) = error.failing_prefix(path) {
                // Empty: the current directory, where a relative path starts.
                let _ = err.push(if prefix.is_empty() { b"." } else { prefix });
                let _ = err.push(b": ");
            }
            let _ = err.push(call.name().as_bytes());
            push_errno(&mut err, errno);
        }
        Error::EmptyPath => {
            let _ = err.push(b"the path is empty");
        }
        // Not reachable from here: argv strings are NUL-terminated, and the buffer is
        // large enough.
        _ => {
            let _ = err.push(b"invalid argument");
        }
    }
    finish(err);
    raw::exit_group(1)
}

/// Fails with `parts` and the errno's name.
fn fail_errno(parts: &[&[u8]], errno: Errno) -> ! {
    let mut err = message(parts);
    push_errno(&mut err, errno);
    finish(err);
    raw::exit_group(1)
}

/// Appends `: ENAME` (the kernel returns no errno the table lacks).
fn push_errno(err: &mut Out<1024>, errno: Errno) {
    let _ = err.push(b": ");
    let _ = err.push(errno.name().unwrap_or("unknown errno").as_bytes());
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    let _ = raw::write(STDERR, b"panic\n");
    raw::exit_group(101)
}
