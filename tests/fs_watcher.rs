//! `FsWatcher` against the real kernel, on a tmpfs of each test's own (see
//! `tests/fs_support`): the behaviours of `tests/tree.rs` that apply to it.
#![cfg(feature = "std")]

mod common;
mod fs_support;

use std::path::Path;

use common::EVENT_TIMEOUT;
use fs_support::{skip, Tmpfs};
use inotify_raw::{Errno, FsWatcher, WatchError, WatchEvent, WatchMask};

/// A tmpfs of the test's own, or `None` where fanotify cannot run here (the test
/// skips, and says why).
fn tmpfs() -> Option<Tmpfs> {
    let tmpfs = Tmpfs::mount()?;
    match FsWatcher::new(tmpfs.path()) {
        Ok(_) => Some(tmpfs),
        Err(error)
            if matches!(
                Errno::from_error(&error),
                Some(Errno::EPERM) | Some(Errno::ENOSYS)
            ) =>
        {
            skip(&format!("fanotify is not permitted here: {}", error));
            None
        }
        Err(error) => panic!("FsWatcher on {}: {}", tmpfs.path().display(), error),
    }
}

/// A watcher of `roots` for `mask`.
fn watch<P: AsRef<Path>>(roots: &[P], mask: WatchMask) -> FsWatcher {
    FsWatcher::builder()
        .mask(mask)
        .watch(roots)
        .unwrap_or_else(|error| panic!("FsWatcher: {}", error))
}

/// A tmpfs and a watcher of all of it, or `None` where fanotify cannot run here.
fn watched(mask: WatchMask) -> Option<(Tmpfs, FsWatcher)> {
    let tmpfs = tmpfs()?;
    let watcher = watch(&[tmpfs.path()], mask);
    Some((tmpfs, watcher))
}

/// Every event up to a barrier.
fn synced(watcher: &mut FsWatcher) -> Vec<WatchEvent> {
    watcher.sync(EVENT_TIMEOUT).expect("sync");
    let mut events = Vec::new();
    while let Some(event) = watcher.try_next_event().expect("try_next_event") {
        events.push(event.to_owned_event());
    }
    events
}

/// The events as `(mask names, path below root)`.
fn described(events: &[WatchEvent], root: &Path) -> Vec<String> {
    events
        .iter()
        .map(|event| {
            let path = event.path();
            let below = path.strip_prefix(root).unwrap_or(&path);
            format!("{} {}", event.type_names().join("|"), below.display())
        })
        .collect()
}

fn sh(root: &Path, script: &str) {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(root)
        .status()
        .unwrap();
    assert!(status.success(), "{}", script);
}

#[test]
fn mkdir_p_and_a_file_give_four_creations() {
    let (tmpfs, mut watcher) = match watched(WatchMask::CREATE) {
        Some(watched) => watched,
        None => return,
    };
    sh(tmpfs.path(), "mkdir -p a/b/c && touch a/b/c/f");
    let events = synced(&mut watcher);
    assert_eq!(
        described(&events, tmpfs.path()),
        [
            "IN_CREATE|IN_ISDIR a",
            "IN_CREATE|IN_ISDIR a/b",
            "IN_CREATE|IN_ISDIR a/b/c",
            "IN_CREATE a/b/c/f"
        ]
    );
}

#[test]
fn moves_within_into_and_out_of_the_root() {
    let tmpfs = match tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    let root = tmpfs.join("root");
    let away = tmpfs.join("away");
    std::fs::create_dir_all(root.join("d/e")).unwrap();
    std::fs::create_dir_all(away.join("x/y")).unwrap();
    let mut watcher = watch(&[&root], WatchMask::CREATE | WatchMask::MOVE);
    sh(&root, "mv d d2 && touch d2/e/f && mv ../away/x x && touch x/y/g && mv d2 ../away/d3 && touch ../away/d3/h");
    let events = synced(&mut watcher);
    assert_eq!(
        described(&events, &root),
        [
            "IN_MOVED_FROM|IN_ISDIR d",
            "IN_MOVED_TO|IN_ISDIR d2",
            "IN_CREATE d2/e/f",
            "IN_MOVED_TO|IN_ISDIR x",
            "IN_CREATE x/y/g",
            "IN_MOVED_FROM|IN_ISDIR d2",
        ]
    );
    let cookies: Vec<u32> = events.iter().map(|event| event.cookie).collect();
    assert_eq!(cookies[0], cookies[1]);
    assert_ne!(cookies[0], 0);
}

#[test]
fn a_rename_of_a_directory_renames_what_is_queued_below_it() {
    let (tmpfs, mut watcher) = match watched(WatchMask::CREATE | WatchMask::MOVE) {
        Some(watched) => watched,
        None => return,
    };
    sh(
        tmpfs.path(),
        "mkdir -p a/b && touch a/b/early && mv a z && touch z/b/late",
    );
    let events = synced(&mut watcher);
    assert_eq!(
        described(&events, tmpfs.path()),
        [
            "IN_CREATE|IN_ISDIR a",
            "IN_CREATE|IN_ISDIR a/b",
            "IN_CREATE a/b/early",
            "IN_MOVED_FROM|IN_ISDIR a",
            "IN_MOVED_TO|IN_ISDIR z",
            "IN_CREATE z/b/late",
        ]
    );
}

#[test]
fn deletes_and_the_roots_end() {
    let tmpfs = match tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    let root = tmpfs.join("root");
    std::fs::create_dir(&root).unwrap();
    let mask = WatchMask::CREATE | WatchMask::DELETE | WatchMask::DELETE_SELF;
    let mut watcher = watch(&[&root], mask);
    sh(&root, "mkdir -p a/b && touch a/b/f && rm -r a");
    let events = synced(&mut watcher);
    assert_eq!(
        described(&events, &root),
        [
            "IN_CREATE|IN_ISDIR a",
            "IN_CREATE|IN_ISDIR a/b",
            "IN_CREATE a/b/f",
            "IN_DELETE a/b/f",
            "IN_DELETE_SELF|IN_ISDIR a/b",
            "IN_DELETE|IN_ISDIR a/b",
            "IN_DELETE_SELF|IN_ISDIR a",
            "IN_DELETE|IN_ISDIR a",
        ]
    );
    std::fs::remove_dir(&root).unwrap();
    let mut ends = Vec::new();
    loop {
        match watcher.next_event() {
            Ok(Some(event)) => ends.push(event.to_owned_event()),
            Ok(None) => {}
            Err(WatchError::Ended) => break,
            Err(error) => panic!("{}", error),
        }
    }
    assert_eq!(
        described(&ends, &root),
        ["IN_DELETE_SELF|IN_ISDIR ", "IN_IGNORED "]
    );
}
