//! `Fanotify` against the real kernel: each test mounts a tmpfs of its own on a fresh
//! directory, so that a file-system mark sees only the test's own writes, and unmounts
//! it at the end (a guard, so also when the test fails).
//!
//! fanotify needs `CAP_SYS_ADMIN`, and qemu-user (the aarch64 CI) does not implement it
//! (`ENOSYS`): there the tests skip, and say why. With `INOTIFY_RAW_REQUIRE_FANOTIFY=1`
//! a skip is a failure (the x86_64 CI sets it).
//!
//! A file of its own, so a test binary of its own: it starts `mount` and `umount` (see
//! `tests/unmount.rs`).
#![cfg(feature = "std")]

mod common;
mod fs_support;

use std::ffi::OsStr;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{rerun, Rerun, EVENT_TIMEOUT, QUIET_TIMEOUT};
use fs_support::{skip, Tmpfs};
use inotify_raw::{
    name_to_handle_at, open_by_handle_at, Epoll, EpollEvent, Errno, Error, EventBuffer,
    EventWaiter, Fanotify, FanotifyEvent, FanotifyInitFlags, FanotifyMarkFlags, FanotifyMask,
    InfoRecord, OnInterrupt, OwnedFileHandle, Readiness, Wait, MIN_FANOTIFY_BUFFER_LEN,
};

/// The flags of a group that watches entries: directory handles with names, and the
/// entry's own handle.
fn entry_flags() -> FanotifyInitFlags {
    FanotifyInitFlags::REPORT_DFID_NAME_TARGET
}

/// A group, or `None` where fanotify is not permitted here (the test skips).
fn group(flags: FanotifyInitFlags) -> Option<Fanotify> {
    match Fanotify::init(flags) {
        Ok(fanotify) => Some(fanotify),
        Err(error) if matches!(error.errno(), Some(Errno::EPERM) | Some(Errno::ENOSYS)) => {
            skip(&format!("fanotify is not permitted here: {}", error));
            None
        }
        Err(error) => panic!("fanotify_init: {}", error),
    }
}

/// A tmpfs and a group marking all of it for `mask`.
fn marked(flags: FanotifyInitFlags, mask: FanotifyMask) -> Option<(Tmpfs, Fanotify)> {
    let fanotify = group(flags)?;
    let tmpfs = Tmpfs::mount()?;
    fanotify
        .mark(
            FanotifyMarkFlags::ADD | FanotifyMarkFlags::FILESYSTEM,
            mask,
            tmpfs.path(),
        )
        .unwrap_or_else(|e| panic!("mark {}: {}", tmpfs.path().display(), e));
    Some((tmpfs, fanotify))
}

/// An info record copied out of the read buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Record {
    /// The kind (`Fid`, `DfidName`, ...), the handle's type and bytes, the name.
    Fid(&'static str, i32, Vec<u8>, Option<Vec<u8>>),
    Other(String),
}

/// An event copied out of the read buffer.
#[derive(Clone, Debug)]
struct Owned {
    mask: FanotifyMask,
    fd: i32,
    records: Vec<Record>,
}

impl Owned {
    fn of(event: &FanotifyEvent<'_>) -> Owned {
        let records = event
            .info_records()
            .map(|record| {
                let (kind, fid) = match record {
                    InfoRecord::Fid(fid) => ("Fid", fid),
                    InfoRecord::Dfid(fid) => ("Dfid", fid),
                    InfoRecord::DfidName(fid) => ("DfidName", fid),
                    InfoRecord::OldDfidName(fid) => ("OldDfidName", fid),
                    InfoRecord::NewDfidName(fid) => ("NewDfidName", fid),
                    other => return Record::Other(format!("{:?}", other)),
                };
                let handle = fid.handle();
                Record::Fid(
                    kind,
                    handle.handle_type(),
                    handle.bytes().to_vec(),
                    fid.name().map(<[u8]>::to_vec),
                )
            })
            .collect();
        Owned {
            mask: event.mask(),
            fd: event.fd(),
            records,
        }
    }

    /// The record of `kind`, as (handle type, handle bytes, name).
    fn record(&self, kind: &str) -> (i32, Vec<u8>, Option<Vec<u8>>) {
        self.records
            .iter()
            .find_map(|record| match record {
                Record::Fid(k, handle_type, bytes, name) if *k == kind => {
                    Some((*handle_type, bytes.clone(), name.clone()))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no {} record in {:?}", kind, self))
    }
}

/// The handle of `path`, as a record holds it: (type, bytes).
fn handle_of(path: &Path) -> (i32, Vec<u8>) {
    let handle = name_to_handle_at(path)
        .unwrap_or_else(|e| panic!("name_to_handle_at {}: {}", path.display(), e));
    let view = handle.as_handle();
    (view.handle_type(), view.bytes().to_vec())
}

/// Reads events (waiting on epoll, never longer than `timeout` in all) until there are
/// at least `count`; returns what came.
fn collect(fanotify: &Fanotify, count: usize, timeout: Duration) -> Vec<Owned> {
    collect_until(fanotify, |events| events.len() >= count, timeout)
}

/// Reads events (waiting on epoll, never longer than `timeout` in all) until `done`
/// holds for what came; returns it.
fn collect_until(
    fanotify: &Fanotify,
    done: impl Fn(&[Owned]) -> bool,
    timeout: Duration,
) -> Vec<Owned> {
    let epoll = Epoll::new().unwrap();
    epoll.add(fanotify, Readiness::IN, 0).unwrap();
    let deadline = Instant::now() + timeout;
    let mut buffer = EventBuffer::<4096>::new();
    let mut events = Vec::new();
    while !done(&events) {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut ready = [EpollEvent::default()];
        if epoll
            .wait(&mut ready, Some(left), OnInterrupt::Retry)
            .unwrap()
            == 0
        {
            break;
        }
        for event in fanotify.read(&mut buffer).expect("read") {
            events.push(Owned::of(&event.expect("the kernel's bytes parse")));
        }
    }
    events
}

#[test]
#[cfg_attr(miri, ignore)]
fn creations_deletions_and_renames_come_with_names_and_handles() {
    let mask = FanotifyMask::CREATE | FanotifyMask::DELETE | FanotifyMask::RENAME;
    let (tmpfs, fanotify) = match marked(entry_flags(), mask | FanotifyMask::ONDIR) {
        Some(marked) => marked,
        None => return,
    };
    std::fs::create_dir(tmpfs.join("sub")).unwrap();
    std::fs::write(tmpfs.join("sub/file"), b"x").unwrap();
    let root = handle_of(tmpfs.path());
    let sub = handle_of(&tmpfs.join("sub"));
    let file = handle_of(&tmpfs.join("sub/file"));
    std::fs::rename(tmpfs.join("sub/file"), tmpfs.join("moved")).unwrap();
    std::fs::remove_file(tmpfs.join("moved")).unwrap();

    let events = collect(&fanotify, 4, EVENT_TIMEOUT);
    let masks: Vec<_> = events.iter().map(|event| event.mask).collect();
    assert_eq!(
        masks,
        [
            FanotifyMask::CREATE | FanotifyMask::ONDIR,
            FanotifyMask::CREATE,
            FanotifyMask::RENAME,
            FanotifyMask::DELETE,
        ],
        "{:#?}",
        events
    );
    assert!(events.iter().all(|event| event.fd == -1), "no descriptors");
    let named = |dir: &(i32, Vec<u8>), name: &str| (dir.0, dir.1.clone(), Some(name.into()));
    assert_eq!(events[0].record("DfidName"), named(&root, "sub"));
    assert_eq!(events[0].record("Fid"), (sub.0, sub.1.clone(), None));
    assert_eq!(events[1].record("DfidName"), named(&sub, "file"));
    assert_eq!(events[1].record("Fid"), (file.0, file.1.clone(), None));
    // A rename: where it was, where it is, and what moved.
    assert_eq!(events[2].record("OldDfidName"), named(&sub, "file"));
    assert_eq!(events[2].record("NewDfidName"), named(&root, "moved"));
    assert_eq!(events[2].record("Fid"), (file.0, file.1.clone(), None));
    assert_eq!(events[3].record("DfidName"), named(&root, "moved"));
    assert_eq!(events[3].record("Fid"), (file.0, file.1, None));
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_handle_opens_to_its_path_wherever_it_moves() {
    let (tmpfs, fanotify) = match marked(entry_flags(), FanotifyMask::CREATE | FanotifyMask::ONDIR)
    {
        Some(marked) => marked,
        None => return,
    };
    std::fs::create_dir(tmpfs.join("dir")).unwrap();
    let events = collect(&fanotify, 1, EVENT_TIMEOUT);
    assert_eq!(events.len(), 1, "{:?}", events);
    // The directory's handle, as the event gave it.
    let held = name_to_handle_at(&tmpfs.join("dir")).unwrap();
    let (handle_type, bytes, _) = events[0].record("Fid");
    assert_eq!((handle_type, bytes), handle_of(&tmpfs.join("dir")));

    let mount = std::fs::File::open(tmpfs.path()).unwrap();
    let path_of = |handle: &OwnedFileHandle| {
        let fd = open_by_handle_at(&mount, handle.as_handle()).expect("open_by_handle_at");
        std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap()
    };
    assert_eq!(path_of(&held), tmpfs.join("dir"));
    std::fs::rename(tmpfs.join("dir"), tmpfs.join("renamed")).unwrap();
    assert_eq!(path_of(&held), tmpfs.join("renamed"));
    assert_eq!(
        held.mount_id(),
        name_to_handle_at(tmpfs.path()).unwrap().mount_id()
    );

    // Gone: ESTALE, with advice. The kernel may drop its last reference to the
    // directory (held by the descriptors opened above) a moment after the removal, and
    // the handle opens until then: wait for that, within a bound.
    std::fs::remove_dir(tmpfs.join("renamed")).unwrap();
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    let error = loop {
        match open_by_handle_at(&mount, held.as_handle()) {
            Err(error) => break error,
            Ok(_) if std::time::Instant::now() < deadline => std::thread::yield_now(),
            Ok(fd) => panic!("a removed directory still opens by its handle: {:?}", fd),
        }
    };
    assert_eq!(error.errno(), Some(Errno::ESTALE));
    assert!(error.to_string().contains("gone"), "{}", error);
}

#[test]
#[cfg_attr(miri, ignore)]
fn epoll_and_the_event_waiter_see_a_group_become_readable() {
    let flags = entry_flags() | FanotifyInitFlags::NONBLOCK;
    let (tmpfs, fanotify) = match marked(flags, FanotifyMask::CREATE) {
        Some(marked) => marked,
        None => return,
    };
    assert!(fanotify.is_nonblocking().unwrap());
    let epoll = Epoll::new().unwrap();
    epoll.add(&fanotify, Readiness::IN, 7).unwrap();
    let mut ready = [EpollEvent::default()];
    assert_eq!(
        epoll
            .wait(&mut ready, Some(Duration::ZERO), OnInterrupt::Retry)
            .unwrap(),
        0
    );
    let mut buffer = EventBuffer::<4096>::new();
    assert!(fanotify.read(&mut buffer).unwrap_err().is_would_block());
    std::fs::write(tmpfs.join("a"), b"").unwrap();
    assert_eq!(
        epoll
            .wait(&mut ready, Some(EVENT_TIMEOUT), OnInterrupt::Retry)
            .unwrap(),
        1
    );
    assert_eq!(ready[0].token(), 7);
    assert_eq!(fanotify.read(&mut buffer).unwrap().count(), 1);
    epoll.delete(&fanotify).unwrap();

    // The same through an EventWaiter: quiet, then a batch, then the end of the cycle.
    let mut waiter = EventWaiter::new(fanotify, Some(QUIET_TIMEOUT)).unwrap();
    assert!(matches!(waiter.wait(&mut buffer).unwrap(), Wait::TimedOut));
    std::fs::write(tmpfs.join("b"), b"").unwrap();
    let mut masks = Vec::new();
    let deadline = Instant::now() + EVENT_TIMEOUT;
    while Instant::now() < deadline {
        match waiter.wait(&mut buffer).unwrap() {
            Wait::Events(events) => {
                masks.extend(events.map(|event| event.unwrap().mask()));
            }
            Wait::Drained if !masks.is_empty() => break,
            Wait::Drained | Wait::TimedOut | Wait::Interrupted => {}
        }
    }
    assert_eq!(masks, [FanotifyMask::CREATE]);
    assert!(waiter.source().is_nonblocking().unwrap());
}

#[test]
#[cfg_attr(miri, ignore)]
fn marks_are_removed_flushed_and_ignored() {
    let (tmpfs, fanotify) = match marked(entry_flags(), FanotifyMask::CREATE) {
        Some(marked) => marked,
        None => return,
    };
    // Makes the files, then returns the names of the creations read up to the last one,
    // which must be reported: it is the barrier (a group's events come in order, so
    // what is not there before it was not reported).
    let created = |names: &[&str]| {
        for name in names {
            std::fs::write(tmpfs.join(name), b"").unwrap();
        }
        let barrier = names[names.len() - 1].rsplit('/').next().unwrap();
        let name = |event: &Owned| String::from_utf8(event.record("DfidName").2.unwrap());
        let is_barrier = |event: &Owned| name(event).map_or(false, |name| name == barrier);
        let events = collect_until(
            &fanotify,
            |events| events.last().map_or(false, is_barrier),
            EVENT_TIMEOUT,
        );
        let seen: Vec<_> = events.iter().map(|event| name(event).unwrap()).collect();
        assert!(
            events.last().map_or(false, is_barrier),
            "no event for the barrier {:?}: {:?}",
            barrier,
            seen
        );
        seen
    };
    std::fs::create_dir(tmpfs.join("skip")).unwrap();
    assert_eq!(created(&["skip/before"]), ["before"]);
    // An ignore mark on a directory, for its children's creations.
    let children = FanotifyMask::CREATE | FanotifyMask::EVENT_ON_CHILD;
    fanotify
        .mark(
            FanotifyMarkFlags::ADD | FanotifyMarkFlags::IGNORE_SURV,
            children,
            &tmpfs.join("skip"),
        )
        .unwrap();
    assert_eq!(created(&["skip/hidden", "shown"]), ["shown"]);
    // Without the ignore mark, the directory's children show again.
    fanotify
        .mark(
            FanotifyMarkFlags::REMOVE | FanotifyMarkFlags::IGNORE_SURV,
            children,
            &tmpfs.join("skip"),
        )
        .unwrap();
    assert_eq!(created(&["skip/seen"]), ["seen"]);
    // Removing a mark that is not there: ENOENT.
    let error = fanotify
        .mark(
            FanotifyMarkFlags::REMOVE,
            FanotifyMask::CREATE,
            &tmpfs.join("skip"),
        )
        .unwrap_err();
    assert_eq!(error.errno(), Some(Errno::ENOENT));
    // Flushing the file-system marks ends their events; an inode mark on a directory,
    // placed after, reports its children's (the barrier).
    fanotify.flush(FanotifyMarkFlags::FILESYSTEM).unwrap();
    fanotify
        .mark(FanotifyMarkFlags::ADD, children, &tmpfs.join("skip"))
        .unwrap();
    assert_eq!(created(&["after", "skip/barrier"]), ["barrier"]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn proc_has_no_file_handles_and_the_error_says_so() {
    let fanotify = match group(entry_flags()) {
        Some(fanotify) => fanotify,
        None => return,
    };
    let error = fanotify
        .mark(
            FanotifyMarkFlags::ADD | FanotifyMarkFlags::FILESYSTEM,
            FanotifyMask::CREATE,
            "/proc",
        )
        .unwrap_err();
    let errno = error.errno().unwrap();
    if errno == Errno::EPERM {
        // A group made without CAP_SYS_ADMIN (Linux 5.13 and later) marks no file system.
        return skip(&format!(
            "file-system marks are not permitted here: {}",
            error
        ));
    }
    assert!(
        [Errno::EOPNOTSUPP, Errno::ENODEV, Errno::EXDEV].contains(&errno),
        "{}",
        error
    );
    let message = error.to_string();
    assert!(message.starts_with("fanotify_mark: "), "{}", message);
    assert!(message.contains("file handles"), "{}", message);
    assert!(message.contains("TreeWatcher"), "{}", message);
}

#[test]
#[cfg_attr(miri, ignore)]
fn flags_the_kernel_knows_but_refuses_together_are_told_apart() {
    if group(entry_flags()).is_none() {
        return;
    }
    // REPORT_NAME needs REPORT_DIR_FID: every flag is known, the combination is not.
    let error = Fanotify::init(FanotifyInitFlags::REPORT_NAME).unwrap_err();
    assert_eq!(error.errno(), Some(Errno::EINVAL));
    assert!(matches!(error, Error::Syscall { .. }), "{:?}", error);
    assert!(
        error.to_string().contains("refuses the combination"),
        "{}",
        error
    );
    // An old kernel's refusal, as the message shows it.
    let old = Error::UnknownFanotifyFlag {
        flag: FanotifyInitFlags::REPORT_DIR_FID,
    };
    assert_eq!(old.errno(), Some(Errno::EINVAL));
    assert_eq!(
        old.to_string(),
        "fanotify_init: Invalid argument (EINVAL): this kernel does not know \
         FAN_REPORT_DIR_FID, which Linux 5.9 added: run on Linux 5.9 or later, or do without \
         the flag"
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_buffer_too_small_for_any_event_is_refused() {
    // The error type stays small, fanotify's variants included.
    assert_eq!(std::mem::size_of::<Error>(), 24);
    let fanotify = match group(entry_flags()) {
        Some(fanotify) => fanotify,
        None => return,
    };
    let mut small = [0u8; MIN_FANOTIFY_BUFFER_LEN - 1];
    assert_eq!(
        fanotify.read_into(&mut small).unwrap_err(),
        Error::BufferTooSmall {
            len: MIN_FANOTIFY_BUFFER_LEN - 1,
            min: MIN_FANOTIFY_BUFFER_LEN
        }
    );
}

/// Tells the helper to run.
const HELPER: &str = "INOTIFY_RAW_FANOTIFY_HELPER";

/// Run as user nobody: what `fanotify_init` and a file-system mark say without
/// `CAP_SYS_ADMIN`.
#[test]
#[cfg_attr(miri, ignore)]
fn unprivileged_helper() {
    if std::env::var_os(HELPER).is_none() {
        return;
    }
    let describe = |result: Result<(), Error>| match result {
        Ok(()) => "ok".to_string(),
        Err(error) => format!("{:?}|{}", error.errno(), error),
    };
    // A group that gets open descriptors needs the capability.
    let plain = describe(Fanotify::init(FanotifyInitFlags::CLASS_NOTIF).map(drop));
    // One that reports file handles does not (Linux 5.13), but its file-system mark does.
    let mark = describe(Fanotify::init(entry_flags()).and_then(|fanotify| {
        fanotify.mark(
            FanotifyMarkFlags::ADD | FanotifyMarkFlags::FILESYSTEM,
            FanotifyMask::CREATE,
            "/",
        )
    }));
    println!("helper-result: {}#{}", plain, mark);
}

#[test]
#[cfg_attr(miri, ignore)]
fn without_cap_sys_admin_the_error_says_what_is_needed() {
    if group(entry_flags()).is_none() {
        return;
    }
    let line = match rerun(
        "unprivileged_helper",
        (HELPER, OsStr::new("1")),
        Rerun::AsNobody,
    ) {
        Some(line) => line,
        None => return skip("cannot run a helper as user nobody"),
    };
    let (plain, mark) = line.split_once('#').unwrap();
    assert!(
        plain.starts_with("Some(EPERM)|fanotify_init: "),
        "{}",
        plain
    );
    assert!(plain.contains("CAP_SYS_ADMIN"), "{}", plain);
    assert!(plain.contains("TreeWatcher"), "{}", plain);
    // The mark's refusal: EPERM from the mark (or from init, before Linux 5.13).
    assert!(mark.starts_with("Some(EPERM)|"), "{}", mark);
    assert!(mark.contains("CAP_SYS_ADMIN"), "{}", mark);
}
