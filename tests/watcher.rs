//! The `Watcher`: the Python package's own tests, ported with the same assertions, and
//! tests for each thing the Python package gets wrong and this crate gets right.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TempDir;
use inotify_raw::{
    Errno, EventMask, Limits, WatchDescriptor, WatchError, WatchEvent, WatchMask, Watcher,
};

/// The Python tests' `(header, type_names, watch_path, filename)`, with the header as
/// `(wd, mask, cookie, len)`.
type SeedTuple = ((i32, u32, u32, u32), Vec<&'static str>, PathBuf, Vec<u8>);

fn seed_tuple(event: &WatchEvent) -> SeedTuple {
    (
        (event.wd.raw(), event.mask.bits(), event.cookie, event.len),
        event.type_names(),
        event.watch_path.clone(),
        event.name.as_bytes().to_vec(),
    )
}

fn expect(wd: i32, mask: u32, names: &[&'static str], path: &Path, file: &str) -> SeedTuple {
    (
        (wd, mask, 0, 16),
        names.to_vec(),
        path.to_path_buf(),
        file.as_bytes().to_vec(),
    )
}

/// A watcher that blocks briefly, so the Python tests' `timeout_s=1` reads stay fast.
fn quick_watcher() -> Watcher {
    let mut watcher = Watcher::new().expect("watcher");
    watcher.set_block_duration(Some(Duration::from_millis(50)));
    watcher
}

/// The Python tests' `__read_all_events`: `event_gen(timeout_s=..., yield_nones=False)`.
/// The events are already queued when it is called, so a short timeout loses nothing.
fn read_all_events(watcher: &mut Watcher) -> Vec<SeedTuple> {
    watcher
        .events()
        .idle_timeout(Duration::from_millis(300))
        .yield_nones(false)
        .map(|item| seed_tuple(&item.expect("no error").expect("no None")))
        .collect()
}

fn touch(path: &Path) {
    std::fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {}", path.display(), e));
}

// ---- The Python package's tests ----

#[test]
#[cfg_attr(miri, ignore)]
fn international_naming() {
    let dir = TempDir::new();
    let inner = dir.join("新增資料夾");
    std::fs::create_dir(&inner).unwrap();
    let mut watcher = quick_watcher();
    watcher.add_watch(&inner, WatchMask::ALL_EVENTS).unwrap();
    touch(&inner.join("filename"));
    assert_eq!(
        read_all_events(&mut watcher),
        vec![
            expect(1, 256, &["IN_CREATE"], &inner, "filename"),
            expect(1, 32, &["IN_OPEN"], &inner, "filename"),
            expect(1, 8, &["IN_CLOSE_WRITE"], &inner, "filename"),
        ]
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn cycle() {
    let dir = TempDir::new();
    let path1 = dir.join("aa");
    let path2 = dir.join("bb");
    std::fs::create_dir(&path1).unwrap();
    std::fs::create_dir(&path2).unwrap();
    let mut watcher = quick_watcher();
    watcher.add_watch(&path1, WatchMask::ALL_EVENTS).unwrap();

    touch(&dir.join("ignored_new_file"));
    touch(&path1.join("seen_new_file"));
    touch(&path2.join("ignored_new_file"));
    std::fs::remove_file(path1.join("seen_new_file")).unwrap();

    assert_eq!(
        read_all_events(&mut watcher),
        vec![
            expect(1, 256, &["IN_CREATE"], &path1, "seen_new_file"),
            expect(1, 32, &["IN_OPEN"], &path1, "seen_new_file"),
            expect(1, 8, &["IN_CLOSE_WRITE"], &path1, "seen_new_file"),
            expect(1, 512, &["IN_DELETE"], &path1, "seen_new_file"),
        ]
    );

    assert!(watcher.remove_watch(&path1).unwrap());
    touch(&path1.join("ignored_after_removal"));
    assert_eq!(read_all_events(&mut watcher), vec![]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn watch_list_of_paths() {
    let dir = TempDir::new();
    let path1 = dir.join("aa");
    let path2 = dir.join("bb");
    std::fs::create_dir(&path1).unwrap();
    std::fs::create_dir(&path2).unwrap();
    let mut watcher = Watcher::with_paths([&path1, &path2]).unwrap();
    watcher.set_block_duration(Some(Duration::from_millis(50)));

    touch(&dir.join("ignored_new_file"));
    touch(&path1.join("seen_new_file"));
    touch(&path2.join("seen_new_file2"));
    std::fs::remove_file(path1.join("seen_new_file")).unwrap();

    assert_eq!(
        read_all_events(&mut watcher),
        vec![
            expect(1, 256, &["IN_CREATE"], &path1, "seen_new_file"),
            expect(1, 32, &["IN_OPEN"], &path1, "seen_new_file"),
            expect(1, 8, &["IN_CLOSE_WRITE"], &path1, "seen_new_file"),
            expect(2, 256, &["IN_CREATE"], &path2, "seen_new_file2"),
            expect(2, 32, &["IN_OPEN"], &path2, "seen_new_file2"),
            expect(2, 8, &["IN_CLOSE_WRITE"], &path2, "seen_new_file2"),
            expect(1, 512, &["IN_DELETE"], &path1, "seen_new_file"),
        ]
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn error_on_watch_nonexistent_folder() {
    let mut watcher = Watcher::new().unwrap();
    let error = watcher
        .add_watch("/dev/null/foo", WatchMask::ALL_EVENTS)
        .unwrap_err();
    let errno = Errno::from_error(&error).expect("the io::Error carries the errno");
    assert_eq!(errno, Errno::ENOTDIR);
    assert_eq!(errno.message(), Some("Not a directory"));
    assert_eq!(error.raw_os_error(), None); // the message is ours, richer than strerror
    let message = error.to_string();
    assert!(message.contains("/dev/null/foo"), "{}", message);
    assert!(message.contains("ENOTDIR"), "{}", message);
    assert!(message.contains("inotify_add_watch"), "{}", message);
    assert_eq!(error.kind(), std::io::ErrorKind::NotADirectory);
}

#[test]
fn get_event_names() {
    // Every bit the Python package's table has, and the two it lacks (EXCL_UNLINK,
    // MASK_CREATE): the OR of all known bits.
    let all = EventMask::from_bits_retain(!EventMask::from_bits_retain(u32::MAX).unknown_bits());
    let names: Vec<_> = all.kernel_names().collect();
    assert_eq!(
        names,
        [
            "IN_ACCESS",
            "IN_MODIFY",
            "IN_ATTRIB",
            "IN_CLOSE_WRITE",
            "IN_CLOSE_NOWRITE",
            "IN_OPEN",
            "IN_MOVED_FROM",
            "IN_MOVED_TO",
            "IN_CREATE",
            "IN_DELETE",
            "IN_DELETE_SELF",
            "IN_MOVE_SELF",
            "IN_UNMOUNT",
            "IN_Q_OVERFLOW",
            "IN_IGNORED",
            "IN_ONLYDIR",
            "IN_DONT_FOLLOW",
            "IN_EXCL_UNLINK",
            "IN_MASK_CREATE",
            "IN_MASK_ADD",
            "IN_ISDIR",
            "IN_ONESHOT",
        ]
    );
    // The Python package names 0x800 `IN_NONBLOCK` (its init flag shares the bit).
    let move_self: Vec<_> = EventMask::MOVE_SELF.kernel_names().collect();
    assert_eq!(move_self, ["IN_MOVE_SELF"]);
}

// ---- What the Python package gets wrong ----

/// Causes more events than the queue holds, without reading: alternating open and close
/// of one file (identical consecutive events would be merged by the kernel).
fn overflow_queue(dir: &TempDir) {
    let limit = Limits::read()
        .expect("/proc/sys/fs/inotify")
        .max_queued_events;
    let file = dir.join("f");
    touch(&file);
    for _ in 0..(limit / 2 + 16) {
        drop(std::fs::File::open(&file).unwrap());
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn queue_overflow_is_delivered_and_terminal_by_default() {
    let dir = TempDir::new();
    let mut watcher = quick_watcher();
    watcher
        .add_watch(dir.path(), WatchMask::OPEN | WatchMask::CLOSE)
        .unwrap();
    overflow_queue(&dir);

    let mut seen = 0usize;
    let mut terminal = None;
    for item in watcher
        .events()
        .idle_timeout(Duration::from_secs(2))
        .yield_nones(false)
    {
        match item {
            Ok(Some(_)) => seen += 1,
            Ok(None) => unreachable!("yield_nones is off"),
            Err(error @ WatchError::Terminal { .. }) => terminal = Some(error),
            Err(error) => panic!("unexpected error: {}", error),
        }
    }
    let terminal = terminal.expect("IN_Q_OVERFLOW ends the iteration");
    let message = terminal.to_string();
    assert!(message.contains("events were lost"), "{}", message);
    assert!(
        message.contains("fs.inotify.max_queued_events"),
        "{}",
        message
    );
    let (type_name, event) = match terminal {
        WatchError::Terminal { type_name, event } => (type_name, event),
        other => panic!("not a terminal event: {}", other),
    };
    assert_eq!(type_name, "IN_Q_OVERFLOW");
    assert_eq!(event.wd, WatchDescriptor::OVERFLOW);
    assert_eq!(event.watch_path, PathBuf::new());
    assert_eq!(event.name, OsStr::new(""));
    let limit = Limits::read().unwrap().max_queued_events as usize;
    assert_eq!(seen, limit, "every queued event comes before the overflow");
}

#[test]
#[cfg_attr(miri, ignore)]
fn queue_overflow_is_yielded_when_not_terminal() {
    let dir = TempDir::new();
    let mut watcher = quick_watcher();
    watcher
        .add_watch(dir.path(), WatchMask::OPEN | WatchMask::CLOSE)
        .unwrap();
    overflow_queue(&dir);
    let overflow = watcher
        .events()
        .idle_timeout(Duration::from_secs(2))
        .yield_nones(false)
        .terminal_events(EventMask::empty())
        .map(|item| item.unwrap().unwrap())
        .find(|event| event.mask.contains(EventMask::Q_OVERFLOW))
        .expect("the overflow event");
    assert_eq!(overflow.wd.raw(), -1);
    let mut line = Vec::new();
    overflow.write_log_line(&mut line).unwrap();
    assert_eq!(
        String::from_utf8(line).unwrap(),
        "WD=(-1) MASK=(16384) COOKIE=(0) LEN=(0) MASK->NAMES=['IN_Q_OVERFLOW'] WATCH-PATH=[] FILENAME=[]"
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn non_utf8_names_never_fail() {
    let dir = TempDir::new();
    let mut watcher = quick_watcher();
    watcher.add_watch(dir.path(), WatchMask::CREATE).unwrap();
    let name = OsStr::from_bytes(b"caf\xe9-\xff");
    touch(&dir.join(name));
    let events: Vec<_> = read_all_events(&mut watcher);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].3, b"caf\xe9-\xff".to_vec());

    touch(&dir.join(OsStr::from_bytes(b"\x80")));
    let event = watcher
        .events()
        .idle_timeout(Duration::from_secs(2))
        .yield_nones(false)
        .next()
        .unwrap()
        .unwrap()
        .unwrap();
    let mut line = Vec::new();
    event.write_log_line(&mut line).unwrap();
    assert!(
        line.ends_with(b"FILENAME=[\x80]"),
        "{:?}",
        String::from_utf8_lossy(&line)
    );
    assert_eq!(event.path(), dir.join(OsStr::from_bytes(b"\x80")));
}

#[test]
#[cfg_attr(miri, ignore)]
fn removing_is_idempotent_and_maps_agree() {
    let dir = TempDir::new();
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let mut watcher = quick_watcher();
    let wd = watcher.add_watch(&sub, WatchMask::ALL_EVENTS).unwrap();
    assert_eq!(watcher.wd_of(&sub), Some(wd));
    assert_eq!(watcher.path_of(wd), Some(sub.as_path()));

    assert!(watcher.remove_watch(&sub).unwrap());
    assert!(!watcher.remove_watch(&sub).unwrap());
    assert!(!watcher.remove_watch_with_id(wd).unwrap());
    assert!(!watcher
        .remove_watch_with_id(WatchDescriptor::from_raw(9999))
        .unwrap());
    assert_eq!(watcher.wd_of(&sub), None);
    assert_eq!(watcher.path_of(wd), None);
    assert_eq!(watcher.watches().count(), 0);
}

#[test]
#[cfg_attr(miri, ignore)]
fn ignored_cleans_the_maps_when_the_kernel_drops_a_watch() {
    let dir = TempDir::new();
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let mut watcher = quick_watcher();
    let wd = watcher.add_watch(&sub, WatchMask::ALL_EVENTS).unwrap();
    std::fs::remove_dir(&sub).unwrap();

    let events = read_all_events(&mut watcher);
    let names: Vec<_> = events.iter().map(|e| e.1.clone()).collect();
    assert_eq!(names, vec![vec!["IN_DELETE_SELF"], vec!["IN_IGNORED"]]);
    assert!(events.iter().all(|e| e.2 == sub && (e.0).0 == wd.raw()));
    assert_eq!(watcher.path_of(wd), None);
    assert_eq!(watcher.wd_of(&sub), None);
    // Removing a watch the kernel already dropped is not an error.
    assert!(!watcher.remove_watch(&sub).unwrap());
}

#[test]
#[cfg_attr(miri, ignore)]
fn adding_a_path_twice_returns_the_same_wd() {
    let dir = TempDir::new();
    let mut watcher = quick_watcher();
    let first = watcher.add_watch(dir.path(), WatchMask::CREATE).unwrap();
    let again = watcher
        .add_watch(dir.path(), WatchMask::DELETE | WatchMask::MASK_ADD)
        .unwrap();
    assert_eq!(first, again);
    touch(&dir.join("x"));
    std::fs::remove_file(dir.join("x")).unwrap();
    let names: Vec<_> = read_all_events(&mut watcher)
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(names, vec![vec!["IN_CREATE"], vec!["IN_DELETE"]]);

    // Without MASK_ADD the mask is replaced.
    watcher.add_watch(dir.path(), WatchMask::DELETE).unwrap();
    touch(&dir.join("y"));
    std::fs::remove_file(dir.join("y")).unwrap();
    let names: Vec<_> = read_all_events(&mut watcher)
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(names, vec![vec!["IN_DELETE"]]);
    assert_eq!(watcher.watches().count(), 1);
}

#[test]
#[cfg_attr(miri, ignore)]
fn descriptor_is_close_on_exec() {
    let watcher = Watcher::new().unwrap();
    let fdinfo =
        std::fs::read_to_string(format!("/proc/self/fdinfo/{}", watcher.as_raw_fd())).unwrap();
    let flags = fdinfo
        .lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .map(|flags| u32::from_str_radix(flags.trim(), 8).unwrap())
        .unwrap();
    assert_ne!(flags & 0o2_000_000, 0, "O_CLOEXEC in {:o}", flags);
}

// ---- event_gen's options ----

#[test]
#[cfg_attr(miri, ignore)]
fn timeout_ends_the_iteration_after_that_long_without_events() {
    let dir = TempDir::new();
    let mut watcher = Watcher::new().unwrap();
    // 100 ms a cycle, counted: on a busy machine a cycle takes longer, so fewer of them
    // fit in the idle time, but each still gives its None.
    let cycles = Arc::new(AtomicUsize::new(0));
    let counter = cycles.clone();
    watcher.set_block_duration_fn(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        Some(Duration::from_millis(100))
    });
    watcher
        .add_watch(dir.path(), WatchMask::ALL_EVENTS)
        .unwrap();
    let start = Instant::now();
    let items: Vec<_> = watcher
        .events()
        .idle_timeout(Duration::from_millis(350))
        .collect();
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(350), "{:?}", elapsed);
    assert!(items.iter().all(|item| matches!(item, Ok(None))));
    // A None for every idle cycle but the last, whose end ends the iteration.
    assert_eq!(
        items.len() + 1,
        cycles.load(Ordering::SeqCst),
        "a None per idle cycle: {:?}",
        items
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_none_arrives_about_once_per_block_duration_when_idle() {
    let dir = TempDir::new();
    let mut watcher = Watcher::new().unwrap();
    let block = Duration::from_millis(200);
    watcher.set_block_duration(Some(block));
    watcher
        .add_watch(dir.path(), WatchMask::ALL_EVENTS)
        .unwrap();
    let mut events = watcher.events();
    for _ in 0..2 {
        let start = Instant::now();
        assert!(matches!(events.next(), Some(Ok(None))));
        let waited = start.elapsed();
        assert!(waited >= block, "{:?}", waited);
        assert!(waited < block * 5, "{:?}", waited);
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_none_follows_each_batch() {
    let dir = TempDir::new();
    let mut watcher = quick_watcher();
    watcher.add_watch(dir.path(), WatchMask::CREATE).unwrap();
    touch(&dir.join("a"));
    touch(&dir.join("b"));
    let mut events = watcher.events();
    let first: Vec<_> = (&mut events)
        .take(3)
        .map(|item| item.unwrap().map(|e| e.name))
        .collect();
    assert_eq!(first, vec![Some("a".into()), Some("b".into()), None]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn filter_false_stops_and_keeps_the_event() {
    let dir = TempDir::new();
    let mut watcher = quick_watcher();
    watcher
        .add_watch(dir.path(), WatchMask::CREATE | WatchMask::DELETE)
        .unwrap();
    touch(&dir.join("a"));
    std::fs::remove_file(dir.join("a")).unwrap();
    touch(&dir.join("after"));
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let yielded: Vec<_> = watcher
        .events()
        .yield_nones(false)
        .until(move |type_name, _| {
            counter.fetch_add(1, Ordering::SeqCst);
            type_name == "IN_DELETE"
        })
        .map(|item| item.unwrap().unwrap().name)
        .collect();
    assert_eq!(yielded, vec![OsStr::new("a").to_os_string()]);
    assert_eq!(asked.load(Ordering::SeqCst), 2);
    let stop = watcher
        .last_filter_stop()
        .expect("the stopping event is kept");
    assert_eq!(stop.type_name, "IN_DELETE");
    assert_eq!(stop.event.name, OsStr::new("a"));
    // A new iteration forgets it, as the Python package does.
    let _ = watcher
        .events()
        .idle_timeout(Duration::from_millis(10))
        .next();
    assert!(watcher.last_filter_stop().is_none());
}

#[test]
#[cfg_attr(miri, ignore)]
fn block_duration_function_is_asked_every_cycle() {
    let dir = TempDir::new();
    let mut watcher = Watcher::new().unwrap();
    watcher
        .add_watch(dir.path(), WatchMask::ALL_EVENTS)
        .unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    watcher.set_block_duration_fn(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        Some(Duration::from_millis(20))
    });
    let nones = watcher
        .events()
        .take(4)
        .filter(|item| matches!(item, Ok(None)))
        .count();
    assert_eq!(nones, 4);
    assert_eq!(asked.load(Ordering::SeqCst), 4);
}

#[test]
#[cfg_attr(miri, ignore)]
fn next_event_borrows_with_the_watch_path() {
    let dir = TempDir::new();
    let mut watcher = quick_watcher();
    let wd = watcher.add_watch(dir.path(), WatchMask::CREATE).unwrap();
    touch(&dir.join("borrowed"));
    // Read by the barrier: the next call hands it out without waiting.
    watcher.sync(common::EVENT_TIMEOUT).unwrap();
    let event = watcher.next_event().unwrap().expect("the event sync read");
    assert_eq!(event.wd, wd);
    assert_eq!(event.name, Some(OsStr::new("borrowed")));
    assert_eq!(event.watch_path, dir.path());
    assert_eq!(event.path, dir.join("borrowed"));
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_symlink_to_a_watched_directory_shares_its_watch() {
    let dir = TempDir::new();
    let real = dir.join("real");
    let link = dir.join("link");
    std::fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut watcher = quick_watcher();
    let wd = watcher.add_watch(&real, WatchMask::CREATE).unwrap();
    assert_eq!(watcher.add_watch(&link, WatchMask::CREATE).unwrap(), wd);
    assert_eq!(watcher.wd_of(&link), Some(wd));
    assert_eq!(watcher.path_of(wd), Some(real.as_path()));

    // Dropping one name keeps the kernel's watch: the other name still uses it.
    assert!(watcher.remove_watch(&link).unwrap());
    touch(&real.join("still-seen"));
    let events = read_all_events(&mut watcher);
    assert_eq!(
        events,
        vec![expect(wd.raw(), 256, &["IN_CREATE"], &real, "still-seen")]
    );

    assert!(watcher.remove_watch(&real).unwrap());
    touch(&real.join("not-seen"));
    assert_eq!(read_all_events(&mut watcher), vec![]);
}

/// `/proc/self/fdinfo` lists one `inotify wd:` line per kernel watch of the descriptor.
fn kernel_watch_count(watcher: &Watcher) -> usize {
    std::fs::read_to_string(format!("/proc/self/fdinfo/{}", watcher.as_raw_fd()))
        .unwrap()
        .lines()
        .filter(|line| line.starts_with("inotify wd:"))
        .count()
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_none_comes_after_every_read_even_when_more_is_queued() {
    let dir = TempDir::new();
    let mut watcher = quick_watcher();
    watcher.add_watch(dir.path(), WatchMask::CREATE).unwrap();
    // 3,000 events of 32 bytes: more than one 64 KiB read takes.
    for i in 0..3000 {
        touch(&dir.join(format!("f{:04}", i)));
    }
    let per_read = (64 * 1024) / 32;
    let mut since_none = 0;
    let mut nones = 0;
    let mut seen = 0;
    for item in watcher.events().idle_timeout(Duration::from_secs(2)) {
        match item.unwrap() {
            Some(_) => {
                seen += 1;
                since_none += 1;
                assert!(since_none <= per_read, "no None after a whole read");
            }
            None => {
                nones += 1;
                since_none = 0;
                if seen == 3000 {
                    break;
                }
            }
        }
    }
    assert_eq!(seen, 3000);
    assert!(nones >= 2, "{} Nones", nones);
}

#[test]
#[cfg_attr(miri, ignore)]
fn block_duration_function_is_asked_once_per_cycle_with_events() {
    let dir = TempDir::new();
    let mut watcher = Watcher::new().unwrap();
    watcher.add_watch(dir.path(), WatchMask::CREATE).unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    watcher.set_block_duration_fn(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        Some(Duration::from_millis(20))
    });
    touch(&dir.join("a"));
    let mut events = watcher.events();
    assert!(matches!(events.next(), Some(Ok(Some(_)))));
    assert!(matches!(events.next(), Some(Ok(None))));
    assert_eq!(asked.load(Ordering::SeqCst), 1);
}

#[test]
#[cfg_attr(miri, ignore)]
fn re_adding_a_path_that_names_another_object_drops_the_old_watch() {
    let dir = TempDir::new();
    std::fs::create_dir(dir.join("d1")).unwrap();
    std::fs::create_dir(dir.join("d2")).unwrap();
    let link = dir.join("link");
    std::os::unix::fs::symlink(dir.join("d1"), &link).unwrap();
    let mut watcher = quick_watcher();
    let first = watcher.add_watch(&link, WatchMask::ALL_EVENTS).unwrap();
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(dir.join("d2"), &link).unwrap();
    let second = watcher.add_watch(&link, WatchMask::ALL_EVENTS).unwrap();
    assert_ne!(first, second);
    assert_eq!(
        kernel_watch_count(&watcher),
        1,
        "the watch on d1 is gone from the kernel"
    );
    assert_eq!(watcher.path_of(first), None);
    assert_eq!(watcher.path_of(second), Some(link.as_path()));
    assert!(watcher.remove_watch(&link).unwrap());
    assert_eq!(kernel_watch_count(&watcher), 0);
}
