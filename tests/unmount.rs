//! `IN_UNMOUNT` is a terminal event by default: a real tmpfs, mounted and unmounted.
//!
//! A file of its own, so a test binary of its own: it starts `mount` and `umount`, and a
//! fork made while another test has a file open would hold that file open, and delay
//! the `IN_CLOSE_WRITE` those tests wait for.

mod common;
mod tree_support;

use std::path::Path;
use std::time::Duration;

use common::TempDir;
use inotify_raw::{WatchError, WatchMask, Watcher};

/// Unmounts `mountpoint`, waiting while it is busy: a child forked meanwhile by another
/// test holds copies of this process's descriptors until its `exec`.
fn unmount_when_free(mountpoint: &Path) {
    let deadline = std::time::Instant::now() + tree_support::DEADLINE;
    while !common::status(
        std::process::Command::new("umount")
            .arg(mountpoint)
            .stderr(std::process::Stdio::null()),
    )
    .unwrap()
    .success()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "umount: busy for a minute"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn unmount_is_terminal_when_a_tmpfs_can_be_mounted() {
    let dir = TempDir::new();
    let mountpoint = dir.join("mnt");
    std::fs::create_dir(&mountpoint).unwrap();
    if !common::mount_tmpfs(&mountpoint) {
        return;
    }
    let mut watcher = Watcher::new().unwrap();
    watcher.set_block_duration(Some(Duration::from_millis(50)));
    watcher
        .add_watch(&mountpoint, WatchMask::ALL_EVENTS)
        .unwrap();
    unmount_when_free(&mountpoint);
    let mut terminal = None;
    for item in watcher
        .events()
        .idle_timeout(Duration::from_secs(2))
        .yield_nones(false)
    {
        if let Err(WatchError::Terminal { type_name, event }) = item {
            terminal = Some((type_name, event));
        }
    }
    let (type_name, event) = terminal.expect("IN_UNMOUNT ends the iteration");
    assert_eq!(type_name, "IN_UNMOUNT");
    assert_eq!(event.watch_path, mountpoint);
}

/// A tree whose root is a file system that is unmounted: `IN_UNMOUNT`, then the root's
/// `IN_IGNORED` ends it; another root goes on, and with none left the stream ends.
#[test]
#[cfg_attr(miri, ignore)]
fn an_unmounted_root_ends_and_the_other_goes_on() {
    use inotify_raw::{EventMask, TreeWatcher};
    let dir = TempDir::new();
    let mountpoint = dir.join("mnt");
    let other = dir.join("other");
    std::fs::create_dir(&mountpoint).unwrap();
    std::fs::create_dir(&other).unwrap();
    if !common::mount_tmpfs(&mountpoint) {
        return;
    }
    std::fs::create_dir_all(mountpoint.join("a/b")).unwrap();
    let mut tree = TreeWatcher::with_roots([&mountpoint, &other]).unwrap();
    tree.set_block_duration(Some(Duration::from_millis(20)));
    assert_eq!(tree.watch_count(), 4);
    unmount_when_free(&mountpoint);
    // Read until the root's end: before it, a sync would make its marker at the root's
    // path, in the directory below the mount, which no watch sees.
    let deadline = std::time::Instant::now() + tree_support::DEADLINE;
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|(mask, path): &(EventMask, std::path::PathBuf)| {
            mask.contains(EventMask::IGNORED) && path == &mountpoint
        })
    {
        assert!(std::time::Instant::now() < deadline, "no end: {:?}", seen);
        if let Some(event) = tree.next_event().unwrap() {
            seen.push((event.mask, event.path.to_path_buf()));
        }
    }
    assert!(seen
        .iter()
        .any(|(mask, _)| mask.contains(EventMask::UNMOUNT)));
    assert_eq!(tree.roots(), std::slice::from_ref(&other));
    std::fs::File::create(other.join("still")).unwrap();
    let events = tree_support::synced(&mut tree);
    assert_eq!(
        tree_support::named(&events, "still").path(),
        other.join("still")
    );
    assert!(tree.remove_root(&other).unwrap());
    assert!(matches!(tree.next_event(), Err(WatchError::Ended)));
}
