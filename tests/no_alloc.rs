//! Reading and parsing events allocates nothing: a counting global allocator watches the
//! read loop over 10,000 real kernel events, and over 10,000 records fed through a pipe.
//! Neither does waiting for a path (`PathWaiter`).
//!
//! Only allocations made by a thread while it is "armed" are counted, and the count is
//! per thread, so event generators (run before arming, or on another thread) and tests
//! running in parallel do not disturb a measurement.
#![cfg(feature = "std")]

mod common;
mod fs_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{record, wait_readable, wait_until_watched, write_all, TempDir, EVENT_TIMEOUT};
use inotify_raw::{
    Errno, EventBuffer, EventMask, EventWaiter, FileKind, InitFlags, Inotify, Limits, PathWait,
    PathWaiter, Presence, TreeWatcher, Wait, WatchDescriptor, WatchMask,
};
use std::os::unix::io::OwnedFd;

/// How many events each read loop must see.
const EVENTS: usize = 10_000;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Counts `alloc`, `alloc_zeroed`, `realloc` and `dealloc` calls of armed threads.
struct CountingAllocator;

fn note_call() {
    // try_with: during thread teardown the thread-locals may be gone; nothing is armed then.
    let armed = ARMED.try_with(Cell::get).unwrap_or(false);
    if armed {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_call();
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_call();
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_call();
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_call();
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `f` armed; returns its result and how many allocator calls this thread made.
/// The result is dropped by the caller, after disarming.
fn count_allocator_calls<R>(f: impl FnOnce() -> R) -> (R, usize) {
    ALLOCATIONS.with(|n| n.set(0));
    ARMED.with(|a| a.set(true));
    let result = f();
    ARMED.with(|a| a.set(false));
    (result, ALLOCATIONS.with(Cell::get))
}

/// What an armed loop found: events seen, and how many did not match what was expected.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    seen: usize,
    mismatched: usize,
}

#[test]
fn the_counter_counts() {
    // Without this, a counter that never counts would pass every test below.
    let (v, calls) = count_allocator_calls(|| Vec::<u8>::with_capacity(64));
    assert_eq!(v.capacity(), 64);
    assert_eq!(calls, 1);
    let ((), calls) = count_allocator_calls(|| drop(String::from("allocates, then frees")));
    assert_eq!(calls, 2);
    // Other threads are not counted: one allocates while this one is armed and waits.
    static START: AtomicBool = AtomicBool::new(false);
    static DONE: AtomicBool = AtomicBool::new(false);
    let other = std::thread::spawn(|| {
        while !START.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
        for i in 0..100 {
            drop(vec![i as u8; 16]);
        }
        DONE.store(true, Ordering::Release);
    });
    let ((), calls) = count_allocator_calls(|| {
        START.store(true, Ordering::Release);
        while !DONE.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
    });
    other.join().unwrap();
    assert_eq!(calls, 0, "another thread's allocations were counted");
    let ((), calls) = count_allocator_calls(|| ());
    assert_eq!(calls, 0);
}

/// Reads a non-blocking instance until `EAGAIN`, checking each event against the writes
/// of one round: `MODIFY` on the watch, alternately named `a` and `b`. Must not allocate.
fn read_round(inotify: &Inotify, buffer: &mut EventBuffer<4096>, wd: WatchDescriptor) -> Tally {
    const NAMES: [&[u8]; 2] = [b"a", b"b"];
    let mut tally = Tally::default();
    loop {
        match inotify.read(buffer) {
            Ok(events) => {
                if events.is_empty() {
                    tally.mismatched += 1; // end of file: not from inotify
                    return tally;
                }
                for event in events {
                    match event {
                        Ok(event) => {
                            let ok = event.wd() == wd
                                && event.mask() == EventMask::MODIFY
                                && event.mask().kernel_names().eq(["IN_MODIFY"])
                                && event.cookie() == 0
                                && event.name() == Some(NAMES[tally.seen % 2]);
                            if !ok {
                                tally.mismatched += 1;
                            }
                            tally.seen += 1;
                        }
                        Err(_) => tally.mismatched += 1,
                    }
                }
            }
            Err(error) if error.is_would_block() => return tally,
            Err(_) => {
                tally.mismatched += 1;
                return tally;
            }
        }
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn reading_10_000_kernel_events_allocates_nothing() {
    let max = Limits::read().unwrap().max_queued_events as usize;
    // Each round stays below the queue limit, so nothing is lost to an overflow.
    let round = max.saturating_sub(1).clamp(1, 2500);
    let dir = TempDir::new();
    let inotify = Inotify::init(InitFlags::NONBLOCK).unwrap();
    let mut files = [
        File::create(dir.join("a")).unwrap(),
        File::create(dir.join("b")).unwrap(),
    ];
    let wd = inotify.add_watch(dir.path(), WatchMask::MODIFY).unwrap();
    let mut buffer = EventBuffer::<4096>::new();

    let mut seen = 0;
    let mut rounds = 0;
    while seen < EVENTS {
        // Disarmed: make `round` events. Alternating files keeps the kernel from merging
        // a write's event into the previous one.
        for i in 0..round {
            assert_eq!(files[i % 2].write(b"x").unwrap(), 1);
        }
        let (tally, calls) = count_allocator_calls(|| read_round(&inotify, &mut buffer, wd));
        assert_eq!(calls, 0, "round {}: {:?}", rounds, tally);
        assert_eq!(
            tally,
            Tally {
                seen: round,
                mismatched: 0
            },
            "round {}",
            rounds
        );
        seen += tally.seen;
        rounds += 1;
    }
    assert!(seen >= EVENTS);
}

/// The name of synthetic record `i`: `e` and eight hex digits, built without allocating.
fn synthetic_name(i: u32) -> [u8; 9] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut name = [b'e'; 9];
    for (k, digit) in name[1..].iter_mut().enumerate() {
        *digit = HEX[((i >> (28 - 4 * k)) & 0xf) as usize];
    }
    name
}

fn synthetic_mask(i: u32) -> u32 {
    if i % 2 == 0 {
        EventMask::CREATE.bits()
    } else {
        (EventMask::CREATE | EventMask::ISDIR).bits()
    }
}

fn synthetic_cookie(i: u32) -> u32 {
    i.wrapping_mul(2_654_435_761)
}

#[test]
#[cfg_attr(miri, ignore)]
fn reading_10_000_records_from_a_pipe_allocates_nothing() {
    let (reader, writer) = std::io::pipe().expect("pipe");
    let inotify = Inotify::from(OwnedFd::from(reader));

    // The writer runs on its own thread (its allocations are not counted), 128 records
    // of 32 bytes per write: each write is atomic (at most PIPE_BUF bytes).
    let generator = std::thread::spawn(move || {
        let mut chunk = Vec::with_capacity(4096);
        for i in 0..EVENTS as u32 {
            chunk.extend(record(
                i as i32,
                synthetic_mask(i),
                synthetic_cookie(i),
                &synthetic_name(i),
                16,
            ));
            if chunk.len() == 4096 {
                write_all(&writer, &chunk);
                chunk.clear();
            }
        }
        write_all(&writer, &chunk);
        drop(writer); // end of file for the reader
    });

    let mut buffer = EventBuffer::<4096>::new();
    let (tally, calls) = count_allocator_calls(|| {
        let mut tally = Tally::default();
        // Stops at EVENTS rather than at end of file, which depends on the writer's
        // descriptor being closed (checked below, with a timeout).
        while tally.seen < EVENTS {
            let events = match inotify.read(&mut buffer) {
                Ok(events) => events,
                Err(_) => {
                    tally.mismatched += 1;
                    break;
                }
            };
            if events.is_empty() {
                break; // end of file too early
            }
            for event in events {
                let i = tally.seen as u32;
                match event {
                    Ok(event) => {
                        let ok = event.wd().raw() == i as i32
                            && event.mask().bits() == synthetic_mask(i)
                            && event.cookie() == synthetic_cookie(i)
                            && event.len() == 16
                            && event.name() == Some(&synthetic_name(i)[..]);
                        if !ok {
                            tally.mismatched += 1;
                        }
                        tally.seen += 1;
                    }
                    Err(_) => tally.mismatched += 1,
                }
            }
        }
        tally
    });
    generator.join().expect("generator thread");
    assert!(
        wait_readable(&inotify, EVENT_TIMEOUT),
        "no end of file after the writer was dropped"
    );
    assert!(inotify.read(&mut buffer).expect("read at end").is_empty());
    assert_eq!(calls, 0, "{:?}", tally);
    assert_eq!(
        tally,
        Tally {
            seen: EVENTS,
            mismatched: 0
        }
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn event_waiter_cycles_allocate_nothing() {
    let dir = TempDir::new();
    let inotify = Inotify::new().unwrap();
    let wd = inotify.add_watch(dir.path(), WatchMask::MODIFY).unwrap();
    let mut files = [
        File::create(dir.join("a")).unwrap(),
        File::create(dir.join("b")).unwrap(),
    ];
    let mut waiter = EventWaiter::new(inotify, Some(EVENT_TIMEOUT)).unwrap();
    // Reads until EAGAIN below: a blocking instance would hang instead of failing.
    assert_eq!(waiter.inotify().is_nonblocking(), Ok(true));
    let mut buffer = EventBuffer::<4096>::new();
    const ROUND: usize = 1000;
    for round in 0..3 {
        for i in 0..ROUND {
            assert_eq!(files[i % 2].write(b"x").unwrap(), 1);
        }
        let ((tally, drained), calls) = count_allocator_calls(|| {
            let mut tally = Tally::default();
            let drained = loop {
                match waiter.wait(&mut buffer) {
                    Ok(Wait::Events(events)) => {
                        for event in events {
                            match event {
                                Ok(e)
                                    if e.wd() == wd
                                        && e.mask() == EventMask::MODIFY
                                        && e.name()
                                            == Some(if tally.seen % 2 == 0 {
                                                &b"a"[..]
                                            } else {
                                                &b"b"[..]
                                            }) =>
                                {
                                    tally.seen += 1
                                }
                                _ => {
                                    tally.seen += 1;
                                    tally.mismatched += 1
                                }
                            }
                        }
                    }
                    Ok(Wait::Drained) => break true,
                    Ok(_) | Err(_) => break false,
                }
            };
            (tally, drained)
        });
        assert_eq!(calls, 0, "round {}: {:?}", round, tally);
        assert!(
            drained,
            "round {} ended without Drained: {:?}",
            round, tally
        );
        assert_eq!(
            tally,
            Tally {
                seen: ROUND,
                mismatched: 0
            }
        );
    }
    // Idle: one more wait times out, still without allocating.
    waiter.set_block_duration(Some(Duration::from_millis(10)));
    let (timed_out, calls) =
        count_allocator_calls(|| matches!(waiter.wait(&mut buffer), Ok(Wait::TimedOut)));
    assert!(timed_out);
    assert_eq!(calls, 0);
}

/// Writes `EVENTS` events into two files of `dir`, a round at a time, and reads each
/// round back through `$watcher.next_event()` while counting allocations: there must be
/// none, and every event must be the `IN_MODIFY` of the right file, under `dir`.
macro_rules! next_event_allocates_nothing {
    ($watcher:expr, $dir:expr) => {{
        let watcher = &mut $watcher;
        let dir: &TempDir = $dir;
        let max = Limits::read().unwrap().max_queued_events as usize;
        let round = max.saturating_sub(1).clamp(1, 2500);
        let mut files = [
            File::create(dir.join("a")).unwrap(),
            File::create(dir.join("b")).unwrap(),
        ];
        // The creations above are events too: read them before counting.
        while watcher.next_event().unwrap().is_some() {}
        let wanted = [dir.join("a"), dir.join("b")];
        let mut seen = 0;
        while seen < EVENTS {
            for i in 0..round {
                assert_eq!(files[i % 2].write(b"x").unwrap(), 1);
            }
            let (tally, calls) = count_allocator_calls(|| {
                let mut tally = Tally::default();
                // Every event of the round: a cycle ends after each read (2,048 events of
                // 32 bytes fill the buffer), so read until all came, or a cycle passes
                // with none.
                let mut empty_cycles = 0;
                while tally.seen < round && empty_cycles < 2 {
                    let event = match watcher.next_event() {
                        Ok(Some(event)) => event,
                        Ok(None) => {
                            empty_cycles += 1;
                            continue;
                        }
                        Err(_) => {
                            tally.mismatched += 1;
                            break;
                        }
                    };
                    empty_cycles = 0;
                    let ok = event.mask == EventMask::MODIFY
                        && event.watch_path == dir.path()
                        && event.path == wanted[tally.seen % 2].as_path();
                    tally.mismatched += usize::from(!ok);
                    tally.seen += 1;
                }
                tally
            });
            assert_eq!(calls, 0, "{:?}", tally);
            assert_eq!(
                tally,
                Tally {
                    seen: round,
                    mismatched: 0
                }
            );
            seen += tally.seen;
        }
    }};
}

/// The `Watcher`'s borrowing read: events with their paths, no allocation.
#[test]
#[cfg_attr(miri, ignore)]
fn watcher_next_event_allocates_nothing() {
    let dir = TempDir::new();
    let mut watcher = inotify_raw::Watcher::new().unwrap();
    watcher.set_block_duration(Some(Duration::from_millis(10)));
    watcher
        .add_watch(dir.path(), WatchMask::MODIFY | WatchMask::CREATE)
        .unwrap();
    next_event_allocates_nothing!(watcher, &dir);
}

/// The tree's borrowing read, in directories it already watches: events with their full
/// paths built from its nodes, no allocation.
#[test]
#[cfg_attr(miri, ignore)]
fn tree_next_event_allocates_nothing() {
    let top = TempDir::new();
    let dir = TempDir::new_in(&top.join("a/b"));
    let mut tree = TreeWatcher::with_mask([top.path()], WatchMask::MODIFY).unwrap();
    tree.set_block_duration(Some(Duration::from_millis(10)));
    next_event_allocates_nothing!(tree, &dir);
}

/// `FsWatcher`'s borrowing read, in directories it has met: events with their full
/// paths built from its cache, no allocation. One write, then its event read (fanotify
/// merges a file's queued modifications into one event).
#[test]
#[cfg_attr(miri, ignore)]
fn fs_watcher_next_event_allocates_nothing() {
    let tmpfs = match fs_support::fs_watcher_tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    std::fs::create_dir_all(tmpfs.join("a/b")).unwrap();
    let dir = tmpfs.join("a/b");
    let mut watcher = fs_support::watch(&[tmpfs.path()], WatchMask::MODIFY);
    let mut files = [
        File::create(dir.join("a")).unwrap(),
        File::create(dir.join("b")).unwrap(),
    ];
    let wanted = [dir.join("a"), dir.join("b")];
    // The first event of each meets the directories: the cache grows then.
    for file in files.iter_mut() {
        file.write_all(b"x").unwrap();
        while watcher.next_event().unwrap().is_none() {}
    }
    let mut calls = 0;
    let mut mismatched = 0;
    for i in 0..EVENTS {
        assert_eq!(files[i % 2].write(b"x").unwrap(), 1);
        let (ok, counted) = count_allocator_calls(|| loop {
            match watcher.next_event() {
                Ok(Some(event)) => {
                    break event.mask == EventMask::MODIFY && event.path == wanted[i % 2];
                }
                Ok(None) => continue,
                Err(_) => break false,
            }
        });
        calls += counted;
        mismatched += usize::from(!ok);
    }
    assert_eq!((calls, mismatched), (0, 0));
}

/// Waiting for a path: found at once, made by another thread during the wait (through a
/// dangling link, a level at a time), timed out with re-checks, and refused with an
/// error naming a component. The buffers are on the stack; nothing is allocated.
#[test]
#[cfg_attr(miri, ignore)]
fn waiting_for_a_path_allocates_nothing() {
    let dir = TempDir::new();
    std::fs::write(dir.join("there"), b"").unwrap();
    std::os::unix::fs::symlink("made/later/file", dir.join("link")).unwrap();
    let there = dir.join("there");
    let link = dir.join("link");
    let missing = dir.join("missing");
    let below_a_file = dir.join("there/below");
    let waiter = PathWaiter::new(Presence::Resolves).timeout(Duration::from_secs(20));

    let (found, calls) = count_allocator_calls(|| waiter.wait(there.as_path()));
    assert_eq!(found, Ok(PathWait::Found(FileKind::Regular)));
    assert_eq!(calls, 0, "found at once");

    // Spawned before arming: the thread's own allocations are on it, not counted.
    let maker = {
        let dir = dir.path().to_path_buf();
        std::thread::spawn(move || {
            let mut at = dir.clone();
            for name in ["made", "later"] {
                wait_until_watched(&at);
                at.push(name);
                std::fs::create_dir(&at).unwrap();
            }
            wait_until_watched(&at);
            std::fs::write(at.join("file"), b"").unwrap();
        })
    };
    let (found, calls) = count_allocator_calls(|| waiter.wait(link.as_path()));
    maker.join().unwrap();
    assert_eq!(found, Ok(PathWait::Found(FileKind::Regular)));
    assert_eq!(calls, 0, "found during the wait");

    let short = PathWaiter::new(Presence::Exists)
        .timeout(Duration::from_millis(50))
        .recheck_every(Duration::from_millis(10));
    let (timed_out, calls) = count_allocator_calls(|| short.wait(missing.as_path()));
    assert_eq!(timed_out, Ok(PathWait::TimedOut));
    assert_eq!(calls, 0, "timed out");

    let (refused, calls) = count_allocator_calls(|| {
        waiter
            .wait(below_a_file.as_path())
            .map_err(|error| error.errno())
    });
    assert_eq!(refused, Err(Some(Errno::ENOTDIR)));
    assert_eq!(calls, 0, "refused");
}
