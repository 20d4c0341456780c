//! Integration tests against the real kernel: every test works in a fresh temporary
//! directory and waits for events with a deadline (never a sleep).
//!
//! Every test takes a shared lock on `FDS` for as long as it has descriptors open; the one
//! test that checks that dropping closes a descriptor takes it exclusively, so that no
//! other test can be handed the freed number in between.
#![cfg(feature = "std")]

mod common;

use std::ffi::{CString, OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use common::{
    collect_at_least, collect_quietly, record, wait_readable, write_all, OwnedEvent, TempDir,
    EVENT_TIMEOUT,
};
use inotify_raw::{
    Call, Epoll, Errno, Error, EventBuffer, EventMask, InitFlags, Inotify, Limits, OwnedDescriptor,
    WatchDescriptor, WatchMask, MIN_EVENT_BUFFER_LEN, NAME_MAX, PATH_MAX,
};

/// Shared by every test that has descriptors open; exclusive for `drop_closes_descriptors`.
static FDS: RwLock<()> = RwLock::new(());

fn fds_shared() -> RwLockReadGuard<'static, ()> {
    FDS.read().unwrap_or_else(PoisonError::into_inner)
}

/// A temporary directory and a blocking inotify instance, with the shared descriptor lock.
/// Fields drop in order: the directory goes first (its removal opens descriptors), the
/// lock last.
struct Fixture {
    dir: TempDir,
    inotify: Inotify,
    _fds: RwLockReadGuard<'static, ()>,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with_flags(InitFlags::BLOCKING)
    }

    fn with_flags(flags: InitFlags) -> Fixture {
        let fds = fds_shared();
        Fixture {
            dir: TempDir::new(),
            inotify: Inotify::init(flags).expect("inotify_init1"),
            _fds: fds,
        }
    }

    fn watch_dir(&self, mask: WatchMask) -> WatchDescriptor {
        self.inotify
            .add_watch(self.dir.path(), mask)
            .expect("inotify_add_watch on the temporary directory")
    }
}

/// The `len` the kernel gives a record with `name`: the name, its NUL, padded to 16 bytes.
fn padded_len(name: Option<&[u8]>) -> u32 {
    match name {
        None => 0,
        Some(name) => ((name.len() + 1 + 15) / 16 * 16) as u32,
    }
}

/// The event the kernel should give.
fn expected(wd: WatchDescriptor, mask: EventMask, cookie: u32, name: Option<&[u8]>) -> OwnedEvent {
    OwnedEvent {
        wd,
        mask,
        cookie,
        name: name.map(<[u8]>::to_vec),
        len: padded_len(name),
    }
}

fn syscall_error(call: Call, errno: Errno) -> Error {
    Error::Syscall {
        call,
        errno,
        limit: None,
    }
}

/// The `flags:` field of `/proc/self/fdinfo/FD` (octal in the file).
fn fdinfo_flags(fd: i32) -> u32 {
    let info = fs::read_to_string(format!("/proc/self/fdinfo/{}", fd)).expect("read fdinfo");
    let field = info
        .lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .unwrap_or_else(|| panic!("no flags: line in fdinfo of {}: {:?}", fd, info));
    u32::from_str_radix(field.trim(), 8).expect("octal flags")
}

/// The event bits of watch `wd` as the kernel reports them in `/proc/self/fdinfo/FD`.
fn fdinfo_watch_events(fd: i32, wd: WatchDescriptor) -> u32 {
    let info = fs::read_to_string(format!("/proc/self/fdinfo/{}", fd)).expect("read fdinfo");
    let prefix = format!("inotify wd:{:x} ", wd.raw());
    let line = info
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line for wd {} in fdinfo: {:?}", wd, info));
    let mask = line
        .split_whitespace()
        .find_map(|field| field.strip_prefix("mask:"))
        .unwrap_or_else(|| panic!("no mask: in {:?}", line));
    u32::from_str_radix(mask, 16).expect("hex mask") & WatchMask::ALL_EVENTS.bits()
}

#[test]
#[cfg_attr(miri, ignore)]
fn create_is_reported_with_name_and_wd() {
    let fx = Fixture::new();
    let wd = fx.watch_dir(WatchMask::CREATE);
    assert!(wd.raw() >= 1, "a watch descriptor is positive: {}", wd);
    File::create(fx.dir.join("new")).unwrap();
    let events = collect_at_least(&fx.inotify, 1);
    assert_eq!(
        events,
        [expected(wd, EventMask::CREATE, 0, Some(b"new"))],
        "exactly one IN_CREATE, named, cookie 0, len padded to 16"
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn modify_is_reported() {
    let fx = Fixture::new();
    let path = fx.dir.join("file");
    File::create(&path).unwrap();
    let wd = fx.watch_dir(WatchMask::MODIFY);
    let mut file = OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all(b"hello").unwrap();
    let events = collect_at_least(&fx.inotify, 1);
    assert_eq!(events, [expected(wd, EventMask::MODIFY, 0, Some(b"file"))]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn chmod_gives_attrib() {
    let fx = Fixture::new();
    let path = fx.dir.join("file");
    File::create(&path).unwrap();
    let wd = fx.watch_dir(WatchMask::ATTRIB);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let events = collect_at_least(&fx.inotify, 1);
    assert_eq!(events, [expected(wd, EventMask::ATTRIB, 0, Some(b"file"))]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn open_is_reported() {
    let fx = Fixture::new();
    let path = fx.dir.join("file");
    File::create(&path).unwrap();
    let wd = fx.watch_dir(WatchMask::OPEN);
    drop(File::open(&path).unwrap());
    let events = collect_at_least(&fx.inotify, 1);
    assert_eq!(events, [expected(wd, EventMask::OPEN, 0, Some(b"file"))]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn closing_a_file_opened_for_writing_gives_close_write() {
    let fx = Fixture::new();
    let path = fx.dir.join("file");
    File::create(&path).unwrap();
    let wd = fx.watch_dir(WatchMask::CLOSE);
    drop(OpenOptions::new().write(true).open(&path).unwrap());
    let events = collect_at_least(&fx.inotify, 1);
    assert_eq!(
        events,
        [expected(wd, EventMask::CLOSE_WRITE, 0, Some(b"file"))],
        "IN_CLOSE_WRITE only, not IN_CLOSE_NOWRITE"
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn closing_a_file_opened_for_reading_gives_close_nowrite() {
    let fx = Fixture::new();
    let path = fx.dir.join("file");
    File::create(&path).unwrap();
    let wd = fx.watch_dir(WatchMask::CLOSE);
    drop(File::open(&path).unwrap());
    let events = collect_at_least(&fx.inotify, 1);
    assert_eq!(
        events,
        [expected(wd, EventMask::CLOSE_NOWRITE, 0, Some(b"file"))],
        "IN_CLOSE_NOWRITE only, not IN_CLOSE_WRITE"
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn rename_inside_a_directory_pairs_by_cookie() {
    let fx = Fixture::new();
    File::create(fx.dir.join("old")).unwrap();
    let wd = fx.watch_dir(WatchMask::MOVE);
    fs::rename(fx.dir.join("old"), fx.dir.join("new")).unwrap();
    let events = collect_at_least(&fx.inotify, 2);
    assert_eq!(events.len(), 2, "{:?}", events);
    let cookie = events[0].cookie;
    assert_ne!(cookie, 0, "a move has a non-zero cookie");
    assert_eq!(
        events,
        [
            expected(wd, EventMask::MOVED_FROM, cookie, Some(b"old")),
            expected(wd, EventMask::MOVED_TO, cookie, Some(b"new")),
        ]
    );

    // A second rename is a different move: a different cookie.
    fs::rename(fx.dir.join("new"), fx.dir.join("old")).unwrap();
    let events = collect_at_least(&fx.inotify, 2);
    assert_eq!(events.len(), 2, "{:?}", events);
    let second = events[0].cookie;
    assert_ne!(second, 0);
    assert_ne!(second, cookie, "each move gets its own cookie");
    assert_eq!(
        events,
        [
            expected(wd, EventMask::MOVED_FROM, second, Some(b"new")),
            expected(wd, EventMask::MOVED_TO, second, Some(b"old")),
        ]
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn rename_between_two_watched_directories_shares_the_cookie() {
    let fx = Fixture::new();
    let (a, b) = (fx.dir.join("a"), fx.dir.join("b"));
    fs::create_dir(&a).unwrap();
    fs::create_dir(&b).unwrap();
    File::create(a.join("x")).unwrap();
    let wd_a = fx.inotify.add_watch(&a, WatchMask::MOVE).unwrap();
    let wd_b = fx.inotify.add_watch(&b, WatchMask::MOVE).unwrap();
    assert_ne!(wd_a, wd_b);
    fs::rename(a.join("x"), b.join("y")).unwrap();
    let events = collect_at_least(&fx.inotify, 2);
    assert_eq!(events.len(), 2, "{:?}", events);
    let cookie = events[0].cookie;
    assert_ne!(cookie, 0);
    assert_eq!(
        events,
        [
            expected(wd_a, EventMask::MOVED_FROM, cookie, Some(b"x")),
            expected(wd_b, EventMask::MOVED_TO, cookie, Some(b"y")),
        ]
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn unlink_gives_delete() {
    let fx = Fixture::new();
    let path = fx.dir.join("doomed");
    File::create(&path).unwrap();
    let wd = fx.watch_dir(WatchMask::DELETE);
    fs::remove_file(&path).unwrap();
    let events = collect_at_least(&fx.inotify, 1);
    assert_eq!(
        events,
        [expected(wd, EventMask::DELETE, 0, Some(b"doomed"))]
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn removing_a_watched_directory_gives_delete_self_then_ignored() {
    let fx = Fixture::new();
    let sub = fx.dir.join("sub");
    fs::create_dir(&sub).unwrap();
    let wd = fx.inotify.add_watch(&sub, WatchMask::DELETE_SELF).unwrap();
    fs::remove_dir(&sub).unwrap();
    let events = collect_at_least(&fx.inotify, 2);
    assert_eq!(events.len(), 2, "{:?}", events);
    // Kernels since 5.x also set IN_ISDIR on IN_DELETE_SELF of a directory; older ones
    // do not. Nothing else may be set.
    let mut delete_self = events[0].clone();
    delete_self.mask = delete_self.mask - EventMask::ISDIR;
    assert_eq!(
        delete_self,
        expected(wd, EventMask::DELETE_SELF, 0, None),
        "{:?}",
        events
    );
    assert_eq!(events[1], expected(wd, EventMask::IGNORED, 0, None));
    // The kernel removed the watch by itself.
    assert_eq!(
        fx.inotify.rm_watch(wd),
        Err(syscall_error(Call::InotifyRmWatch, Errno::EINVAL))
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn mkdir_and_rmdir_carry_isdir() {
    let fx = Fixture::new();
    let wd = fx.watch_dir(WatchMask::CREATE | WatchMask::DELETE);
    fs::create_dir(fx.dir.join("sub")).unwrap();
    fs::remove_dir(fx.dir.join("sub")).unwrap();
    File::create(fx.dir.join("file")).unwrap();
    fs::remove_file(fx.dir.join("file")).unwrap();
    let events = collect_at_least(&fx.inotify, 4);
    assert_eq!(
        events,
        [
            expected(wd, EventMask::CREATE | EventMask::ISDIR, 0, Some(b"sub")),
            expected(wd, EventMask::DELETE | EventMask::ISDIR, 0, Some(b"sub")),
            expected(wd, EventMask::CREATE, 0, Some(b"file")),
            expected(wd, EventMask::DELETE, 0, Some(b"file")),
        ],
        "IN_ISDIR for the directory, not for the file"
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn oneshot_watch_is_gone_after_its_first_event() {
    let fx = Fixture::new();
    let wd = fx.watch_dir(WatchMask::CREATE | WatchMask::ONESHOT);
    File::create(fx.dir.join("first")).unwrap();
    let events = collect_at_least(&fx.inotify, 2);
    assert_eq!(
        events,
        [
            expected(wd, EventMask::CREATE, 0, Some(b"first")),
            expected(wd, EventMask::IGNORED, 0, None),
        ]
    );
    File::create(fx.dir.join("second")).unwrap();
    assert_eq!(collect_quietly(&fx.inotify), [], "no event after a oneshot");
    assert_eq!(
        fx.inotify.rm_watch(wd),
        Err(syscall_error(Call::InotifyRmWatch, Errno::EINVAL))
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn mask_add_adds_and_a_plain_add_replaces() {
    let fx = Fixture::new();
    let fd = fx.inotify.as_raw_fd();
    let wd = fx.watch_dir(WatchMask::CREATE);
    assert_eq!(fdinfo_watch_events(fd, wd), WatchMask::CREATE.bits());

    let added = fx.watch_dir(WatchMask::DELETE | WatchMask::MASK_ADD);
    assert_eq!(added, wd, "MASK_ADD on the same path keeps the watch");
    assert_eq!(
        fdinfo_watch_events(fd, wd),
        (WatchMask::CREATE | WatchMask::DELETE).bits()
    );
    File::create(fx.dir.join("a")).unwrap();
    fs::remove_file(fx.dir.join("a")).unwrap();
    let events = collect_at_least(&fx.inotify, 2);
    assert_eq!(
        events,
        [
            expected(wd, EventMask::CREATE, 0, Some(b"a")),
            expected(wd, EventMask::DELETE, 0, Some(b"a")),
        ]
    );

    let replaced = fx.watch_dir(WatchMask::DELETE);
    assert_eq!(replaced, wd, "a plain add on the same path keeps the watch");
    assert_eq!(fdinfo_watch_events(fd, wd), WatchMask::DELETE.bits());
    File::create(fx.dir.join("b")).unwrap();
    fs::remove_file(fx.dir.join("b")).unwrap();
    let events = collect_at_least(&fx.inotify, 1);
    assert_eq!(
        events,
        [expected(wd, EventMask::DELETE, 0, Some(b"b"))],
        "IN_CREATE is no longer reported"
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn mask_create_on_a_watched_path_is_eexist() {
    let fx = Fixture::new();
    let wd = fx.watch_dir(WatchMask::CREATE);
    assert_eq!(
        fx.inotify
            .add_watch(fx.dir.path(), WatchMask::CREATE | WatchMask::MASK_CREATE),
        Err(syscall_error(Call::InotifyAddWatch, Errno::EEXIST))
    );
    // The refused call left the watch as it was.
    assert_eq!(
        fdinfo_watch_events(fx.inotify.as_raw_fd(), wd),
        WatchMask::CREATE.bits()
    );
    // On a path not yet watched, MASK_CREATE makes a new watch.
    let sub = fx.dir.join("sub");
    fs::create_dir(&sub).unwrap();
    let wd_sub = fx
        .inotify
        .add_watch(&sub, WatchMask::CREATE | WatchMask::MASK_CREATE)
        .unwrap();
    assert_ne!(wd_sub, wd);
    // MASK_ADD and MASK_CREATE together are refused.
    let err = fx
        .inotify
        .add_watch(
            &sub,
            WatchMask::CREATE | WatchMask::MASK_CREATE | WatchMask::MASK_ADD,
        )
        .unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EINVAL));
}

#[test]
#[cfg_attr(miri, ignore)]
fn the_same_path_twice_gives_the_same_wd() {
    let fx = Fixture::new();
    let sub = fx.dir.join("sub");
    fs::create_dir(&sub).unwrap();
    let first = fx.watch_dir(WatchMask::CREATE);
    let second = fx.watch_dir(WatchMask::CREATE);
    assert_eq!(first, second);
    // Another spelling of the same directory is the same inode, so the same watch.
    let dotted = fx
        .inotify
        .add_watch(&sub.join(".."), WatchMask::CREATE)
        .unwrap();
    assert_eq!(dotted, first);
    let other = fx.inotify.add_watch(&sub, WatchMask::CREATE).unwrap();
    assert_ne!(other, first, "a different directory is a different watch");
}

#[test]
#[cfg_attr(miri, ignore)]
fn onlydir_on_a_regular_file_is_enotdir() {
    let fx = Fixture::new();
    let file = fx.dir.join("file");
    File::create(&file).unwrap();
    assert_eq!(
        fx.inotify
            .add_watch(&file, WatchMask::CREATE | WatchMask::ONLYDIR),
        Err(syscall_error(Call::InotifyAddWatch, Errno::ENOTDIR))
    );
    // Without ONLYDIR the same file can be watched.
    assert!(fx.inotify.add_watch(&file, WatchMask::CREATE).is_ok());
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_missing_path_is_enoent_through_display_and_io_error() {
    let fx = Fixture::new();
    let err = fx
        .inotify
        .add_watch(&fx.dir.join("missing"), WatchMask::CREATE)
        .unwrap_err();
    assert_eq!(err, syscall_error(Call::InotifyAddWatch, Errno::ENOENT));
    assert_eq!(err.errno(), Some(Errno::ENOENT));
    let message = err.to_string();
    assert!(message.contains("ENOENT"), "{}", message);
    assert!(message.contains("inotify_add_watch"), "{}", message);

    let io: std::io::Error = err.into();
    assert_eq!(Errno::from_error(&io), Some(Errno::ENOENT));
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert!(io.to_string().contains("ENOENT"), "{}", io);

    let raw: std::io::Error = Errno::ENOENT.into();
    assert_eq!(raw.raw_os_error(), Some(2));
    assert_eq!(Errno::from_error(&raw), Some(Errno::ENOENT));
}

#[test]
#[cfg_attr(miri, ignore)]
fn nul_inside_and_overlong_paths_are_refused_before_the_kernel() {
    let fx = Fixture::new();
    let dir = fx.dir.path().as_os_str().as_bytes();
    let wd = fx.watch_dir(WatchMask::CREATE);

    // Were this handed to the kernel, it would watch `dir` (the part before the NUL).
    let mut with_nul = dir.to_vec();
    with_nul.extend_from_slice(b"\0junk");
    assert_eq!(
        fx.inotify.add_watch(&with_nul[..], WatchMask::CREATE),
        Err(Error::PathContainsNul {
            position: dir.len()
        })
    );

    // Leading slashes make a path of any length that names `dir`. The kernel takes
    // PATH_MAX - 1 bytes; PATH_MAX bytes would be ENAMETOOLONG from it, PathTooLong here.
    let spelled = |len: usize| {
        let mut path = vec![b'/'; len - dir.len()];
        path.extend_from_slice(dir);
        assert_eq!(path.len(), len);
        path
    };
    assert_eq!(PATH_MAX, 4096);
    assert_eq!(
        fx.inotify.add_watch(&spelled(4096)[..], WatchMask::CREATE),
        Err(Error::PathTooLong { len: 4096 })
    );
    assert_eq!(
        fx.inotify.add_watch(&spelled(4095)[..], WatchMask::CREATE),
        Ok(wd),
        "the longest path the kernel takes reaches it"
    );
    // A C string is used in place, and its length is checked all the same.
    let c_path = std::ffi::CString::new(spelled(4096)).unwrap();
    assert_eq!(
        fx.inotify.add_watch(c_path.as_c_str(), WatchMask::CREATE),
        Err(Error::PathTooLong { len: 4096 })
    );
    let c_path = std::ffi::CString::new(spelled(4095)).unwrap();
    assert_eq!(
        fx.inotify.add_watch(c_path.as_c_str(), WatchMask::CREATE),
        Ok(wd)
    );
    // Nothing was watched by the refused calls: the only watch is the directory's, with
    // its mask unchanged.
    assert_eq!(
        fdinfo_watch_events(fx.inotify.as_raw_fd(), wd),
        WatchMask::CREATE.bits()
    );
    assert!(Error::PathContainsNul { position: 3 }
        .to_string()
        .contains("NUL"));
    assert!(Error::PathTooLong { len: 4096 }
        .to_string()
        .contains("4096"));
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_non_utf8_name_comes_back_byte_exact() {
    let fx = Fixture::new();
    let wd = fx.watch_dir(WatchMask::CREATE);
    // 0xe9 (Latin-1 "é") opens a three-byte UTF-8 sequence that never comes: not UTF-8.
    let name: &[u8] = b"caf\xe9";
    File::create(fx.dir.join(OsStr::from_bytes(name))).unwrap();
    let events = collect_at_least(&fx.inotify, 1);
    assert_eq!(events, [expected(wd, EventMask::CREATE, 0, Some(name))]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_255_byte_name_comes_back_whole_in_a_minimal_buffer() {
    let fx = Fixture::with_flags(InitFlags::NONBLOCK);
    let wd = fx.watch_dir(WatchMask::CREATE);
    let name = [b'n'; NAME_MAX];
    File::create(fx.dir.join(OsStr::from_bytes(&name))).unwrap();
    // The event is queued when `create` returns; the smallest buffer allowed holds it.
    let mut buffer = [0u8; MIN_EVENT_BUFFER_LEN];
    let mut events = fx.inotify.read_into(&mut buffer).expect("read");
    let event = events.next().expect("one event").expect("well formed");
    assert_eq!(event.wd(), wd);
    assert_eq!(event.mask(), EventMask::CREATE);
    assert_eq!(event.cookie(), 0);
    assert_eq!(event.name(), Some(&name[..]));
    assert_eq!(event.len() % 16, 0, "len {}", event.len());
    assert!(event.len() >= 256, "len {}", event.len());
    assert_eq!(event.span_len(), 16 + event.len() as usize);
    assert!(events.next().is_none());
    assert!(events.remainder().is_empty());
}

#[test]
#[cfg_attr(miri, ignore)]
fn every_path_type_is_accepted() {
    let fx = Fixture::new();
    let path: &Path = fx.dir.path();
    let wd = fx.watch_dir(WatchMask::CREATE);
    let text: &str = path.to_str().expect("the temporary directory is UTF-8");
    let bytes: &[u8] = path.as_os_str().as_bytes();
    let cstring = CString::new(bytes).unwrap();
    let mut with_nul = bytes.to_vec();
    with_nul.push(0);
    let mask = WatchMask::CREATE;
    let ino = &fx.inotify;
    let results: Vec<(&str, Result<WatchDescriptor, Error>)> = vec![
        ("&CStr", ino.add_watch(cstring.as_c_str(), mask)),
        ("CString", ino.add_watch(&cstring, mask)),
        ("&Path", ino.add_watch(path, mask)),
        ("PathBuf", ino.add_watch(&PathBuf::from(path), mask)),
        ("&OsStr", ino.add_watch(path.as_os_str(), mask)),
        ("OsString", ino.add_watch(&OsString::from(path), mask)),
        ("&[u8]", ino.add_watch(bytes, mask)),
        ("&[u8] ending in NUL", ino.add_watch(&with_nul[..], mask)),
        ("Vec<u8>", ino.add_watch(&bytes.to_vec(), mask)),
        ("&str", ino.add_watch(text, mask)),
        ("String", ino.add_watch(&String::from(text), mask)),
    ];
    for (kind, result) in results {
        assert_eq!(result, Ok(wd), "add_watch with {}", kind);
    }
    File::create(fx.dir.join("f")).unwrap();
    assert_eq!(
        collect_at_least(&fx.inotify, 1),
        [expected(wd, EventMask::CREATE, 0, Some(b"f"))]
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn rm_watch_gives_ignored_and_an_unknown_wd_is_einval() {
    let fx = Fixture::new();
    let wd = fx.watch_dir(WatchMask::CREATE);
    fx.inotify.rm_watch(wd).expect("rm_watch");
    assert_eq!(
        collect_at_least(&fx.inotify, 1),
        [expected(wd, EventMask::IGNORED, 0, None)]
    );
    File::create(fx.dir.join("after")).unwrap();
    assert_eq!(collect_quietly(&fx.inotify), [], "the watch is gone");
    let einval = Err(syscall_error(Call::InotifyRmWatch, Errno::EINVAL));
    assert_eq!(fx.inotify.rm_watch(wd), einval, "removed twice");
    assert_eq!(
        fx.inotify
            .rm_watch(WatchDescriptor::from_raw(wd.raw() + 1000)),
        einval,
        "never added"
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn read_into_a_small_buffer_is_refused_without_reading() {
    let fx = Fixture::with_flags(InitFlags::NONBLOCK);
    let wd = fx.watch_dir(WatchMask::CREATE);
    File::create(fx.dir.join("a")).unwrap();
    // A 32-byte event is queued: a real read into 100 bytes would succeed and consume it.
    let mut small = [0u8; 100];
    assert_eq!(
        fx.inotify.read_into(&mut small).map(|e| e.count()),
        Err(Error::BufferTooSmall { len: 100, min: 272 })
    );
    let mut almost = [0u8; MIN_EVENT_BUFFER_LEN - 1];
    assert_eq!(
        fx.inotify.read_into(&mut almost).map(|e| e.count()),
        Err(Error::BufferTooSmall { len: 271, min: 272 })
    );
    assert!(Error::BufferTooSmall { len: 100, min: 272 }
        .to_string()
        .contains("272"));
    // The event is still there. An unaligned slice is fine.
    let mut storage = [0u8; MIN_EVENT_BUFFER_LEN + 1];
    let unaligned = &mut storage[1..];
    let events: Vec<OwnedEvent> = fx
        .inotify
        .read_into(unaligned)
        .expect("read")
        .map(|e| OwnedEvent::from_event(&e.expect("well formed")))
        .collect();
    assert_eq!(events, [expected(wd, EventMask::CREATE, 0, Some(b"a"))]);
}

/// Fills the queue past `max_queued_events` without reading, then reads it all: exactly
/// `max_queued_events` events, then one `IN_Q_OVERFLOW` with wd -1 and no name.
#[test]
#[cfg_attr(miri, ignore)]
fn queue_overflow_is_reported_after_max_queued_events() {
    // First, so that reading the limit (which opens a file) happens under the lock.
    let fx = Fixture::with_flags(InitFlags::NONBLOCK);
    let limits = Limits::read().expect("read /proc/sys/fs/inotify");
    let max = usize::try_from(limits.max_queued_events).unwrap();
    assert!(max > 0);
    let names: [&[u8]; 2] = [b"a", b"b"];
    let mut files = [
        File::create(fx.dir.join("a")).unwrap(),
        File::create(fx.dir.join("b")).unwrap(),
    ];
    let wd = fx.watch_dir(WatchMask::MODIFY);
    // The kernel merges an event identical to the last one queued: alternate two files
    // so that every write is an event of its own.
    for i in 0..max + 100 {
        let written = files[i % 2].write(b"x").unwrap();
        assert_eq!(written, 1);
    }

    let mut buffer = Box::new(EventBuffer::<65536>::new());
    let mut count = 0usize;
    let mut overflow = None;
    loop {
        let events = match fx.inotify.read(&mut buffer) {
            Ok(events) => events,
            Err(error) if error.is_would_block() => break,
            Err(error) => panic!("read: {}", error),
        };
        assert!(!events.is_empty(), "end of file on inotify");
        for event in events {
            let event = event.expect("well formed");
            assert!(
                overflow.is_none(),
                "an event after IN_Q_OVERFLOW: {:?}",
                event
            );
            if event.mask().contains(EventMask::Q_OVERFLOW) {
                overflow = Some(OwnedEvent::from_event(&event));
                continue;
            }
            assert_eq!(event.wd(), wd, "event {}", count);
            assert_eq!(event.mask(), EventMask::MODIFY, "event {}", count);
            assert_eq!(event.cookie(), 0, "event {}", count);
            assert_eq!(event.name(), Some(names[count % 2]), "event {}", count);
            count += 1;
        }
    }
    assert_eq!(count, max, "events queued before the overflow");
    let overflow = overflow.expect("an IN_Q_OVERFLOW event at the end");
    assert_eq!(overflow.wd, WatchDescriptor::OVERFLOW);
    assert_eq!(overflow.wd.raw(), -1);
    assert_eq!(
        overflow,
        expected(WatchDescriptor::OVERFLOW, EventMask::Q_OVERFLOW, 0, None)
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn records_written_into_a_pipe_read_back_field_exact() {
    let _fds = fds_shared();
    let (reader, writer) = std::io::pipe().expect("pipe");
    let inotify = Inotify::from(OwnedFd::from(reader));

    let long_name = [b'z'; NAME_MAX];
    let odd_name: &[u8] = b"caf\xe9-\x01\xff";
    let mut bytes = Vec::new();
    bytes.extend(record(7, 0x4000_0100, 0, b"hello", 16));
    bytes.extend(record(-1, 0x4000, 0, b"", 0));
    bytes.extend(record(3, 0x40, 0xdead_beef, odd_name, 32));
    bytes.extend(record(i32::MAX, u32::MAX, u32::MAX, &long_name, 256));
    assert_eq!(bytes.len(), 32 + 16 + 48 + 272);
    write_all(&writer, &bytes);

    let mut buffer = EventBuffer::<4096>::new();
    let mut events = inotify.read(&mut buffer).expect("read");
    let got: Vec<OwnedEvent> = events
        .by_ref()
        .map(|e| OwnedEvent::from_event(&e.expect("well formed")))
        .collect();
    assert_eq!(events.consumed(), bytes.len());
    assert!(events.remainder().is_empty());
    let event = |wd: i32, mask: u32, cookie: u32, name: Option<&[u8]>, len: u32| OwnedEvent {
        wd: WatchDescriptor::from_raw(wd),
        mask: EventMask::from_bits_retain(mask),
        cookie,
        name: name.map(<[u8]>::to_vec),
        len,
    };
    assert_eq!(
        got,
        [
            event(7, 0x4000_0100, 0, Some(b"hello"), 16),
            event(-1, 0x4000, 0, None, 0),
            event(3, 0x40, 0xdead_beef, Some(odd_name), 32),
            event(i32::MAX, u32::MAX, u32::MAX, Some(&long_name), 256),
        ]
    );
    assert_eq!(got[0].mask, EventMask::CREATE | EventMask::ISDIR);
    assert_eq!(got[1].wd, WatchDescriptor::OVERFLOW);

    drop(writer);
    assert!(
        wait_readable(&inotify, EVENT_TIMEOUT),
        "no end of file: dropping the writer did not close it"
    );
    let events = inotify.read(&mut buffer).expect("read at end of file");
    assert!(events.is_empty());
    assert_eq!(events.count(), 0);
}

#[test]
#[cfg_attr(miri, ignore)]
fn an_inotify_from_a_std_owned_fd_reads_its_bytes() {
    let _fds = fds_shared();
    let (ours, theirs) = UnixStream::pair().expect("socketpair");
    let fd = ours.as_raw_fd();
    let inotify = Inotify::from(OwnedFd::from(ours));
    assert_eq!(inotify.as_raw_fd(), fd);
    let mut writer = theirs;
    writer
        .write_all(&record(5, 0x100, 0, b"from-std", 16))
        .unwrap();
    let mut buffer = EventBuffer::<4096>::new();
    let got: Vec<OwnedEvent> = inotify
        .read(&mut buffer)
        .expect("read")
        .map(|e| OwnedEvent::from_event(&e.expect("well formed")))
        .collect();
    assert_eq!(
        got,
        [expected(
            WatchDescriptor::from_raw(5),
            EventMask::CREATE,
            0,
            Some(b"from-std")
        )]
    );
    drop(writer);
    assert!(wait_readable(&inotify, EVENT_TIMEOUT), "no end of file");
    assert!(inotify.read(&mut buffer).expect("read at end").is_empty());
    // And back: the descriptor goes to std whole.
    let back = OwnedFd::from(inotify);
    assert_eq!(back.as_raw_fd(), fd);
}

#[test]
#[cfg_attr(miri, ignore)]
fn descriptors_are_close_on_exec() {
    let _fds = fds_shared();
    const O_CLOEXEC: u32 = 0o2_000_000;
    const O_NONBLOCK: u32 = 0o4000;

    let blocking = Inotify::new().unwrap();
    let flags = fdinfo_flags(blocking.as_raw_fd());
    assert_ne!(flags & O_CLOEXEC, 0, "Inotify::new: flags {:o}", flags);
    assert_eq!(flags & O_NONBLOCK, 0, "Inotify::new is blocking");
    assert_eq!(blocking.is_nonblocking(), Ok(false));

    let nonblocking = Inotify::init(InitFlags::NONBLOCK).unwrap();
    let flags = fdinfo_flags(nonblocking.as_raw_fd());
    assert_ne!(
        flags & O_CLOEXEC,
        0,
        "Inotify::init(NONBLOCK): flags {:o}",
        flags
    );
    assert_ne!(
        flags & O_NONBLOCK,
        0,
        "Inotify::init(NONBLOCK) is non-blocking"
    );
    assert_eq!(nonblocking.is_nonblocking(), Ok(true));

    // set_nonblocking flips O_NONBLOCK and keeps close-on-exec.
    blocking.set_nonblocking(true).unwrap();
    let flags = fdinfo_flags(blocking.as_raw_fd());
    assert_ne!(flags & O_NONBLOCK, 0);
    assert_ne!(flags & O_CLOEXEC, 0);
    blocking.set_nonblocking(false).unwrap();
    assert_eq!(fdinfo_flags(blocking.as_raw_fd()) & O_NONBLOCK, 0);

    let epoll = Epoll::new().unwrap();
    let flags = fdinfo_flags(epoll.as_raw_fd());
    assert_ne!(flags & O_CLOEXEC, 0, "Epoll::new: flags {:o}", flags);
}

/// Dropping closes the descriptor. Runs with `FDS` held exclusively, so no other test in
/// this binary can open a descriptor (and be given the same number) in between.
#[test]
#[cfg_attr(miri, ignore)]
fn drop_closes_descriptors() {
    let _exclusive = FDS.write().unwrap_or_else(PoisonError::into_inner);
    let link = |fd: i32| fs::read_link(format!("/proc/self/fd/{}", fd));

    let inotify = Inotify::new().unwrap();
    let fd = inotify.as_raw_fd();
    assert_eq!(
        link(fd).unwrap(),
        Path::new("anon_inode:inotify"),
        "fd {} is an inotify instance",
        fd
    );
    drop(inotify);
    assert!(link(fd).is_err(), "fd {} still open", fd);

    let epoll = Epoll::new().unwrap();
    let fd = epoll.as_raw_fd();
    assert_eq!(link(fd).unwrap(), Path::new("anon_inode:[eventpoll]"));
    drop(epoll);
    assert!(link(fd).is_err(), "fd {} still open", fd);

    // Handing the descriptor to std does not close it; dropping std's OwnedFd does.
    let inotify = Inotify::new().unwrap();
    let fd = inotify.as_raw_fd();
    let owned = OwnedFd::from(inotify);
    assert!(link(fd).is_ok(), "converting closed the descriptor");
    drop(owned);
    assert!(link(fd).is_err());

    // into_raw gives ownership up: the number stays open until closed by hand.
    let inotify = Inotify::new().unwrap();
    let raw = OwnedDescriptor::from(inotify).into_raw();
    assert!(link(raw).is_ok(), "into_raw closed the descriptor");
    // SAFETY: `raw` is open and owned by nothing else since into_raw.
    drop(unsafe { OwnedDescriptor::from_raw(raw) });
    assert!(link(raw).is_err());
}
