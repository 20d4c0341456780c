//! Shared by the tree tests: a tree with a short block duration, every event of the
//! changes made so far (`sync`, then a drain), and the check that the tree's watches are
//! exactly the directories on disk.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use inotify_raw::{EventMask, TreeWatcher, WatchDescriptor, WatchError, WatchEvent, WatchMask};

/// How long a `sync` may wait for its marker: long, for emulated CPUs (qemu-user) on a
/// loaded machine running several of these tests at once; only a hung run reaches it.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A tree over `roots` that blocks at most 20 ms at a time.
pub fn quick_tree(roots: &[&Path], mask: WatchMask) -> TreeWatcher {
    let mut tree = TreeWatcher::with_mask(roots.iter().copied(), mask).expect("tree");
    tree.set_block_duration(Some(Duration::from_millis(20)));
    tree
}

/// Every event of the changes made so far: a `sync` barrier, then a drain with
/// `try_next_event`, which never waits. Nothing of a change made before the call is
/// still to come, so what this returns is all there is (and an empty list means that
/// nothing was delivered).
pub fn synced(tree: &mut TreeWatcher) -> Vec<WatchEvent> {
    try_synced(tree).unwrap_or_else(|error| panic!("sync, then drain: {}", error))
}

/// [`synced`], with its error returned (for a helper that reports its own verdict).
pub fn try_synced(tree: &mut TreeWatcher) -> Result<Vec<WatchEvent>, WatchError> {
    tree.sync(DEADLINE)?;
    let mut seen = Vec::new();
    while let Some(event) = tree.try_next_event()? {
        seen.push(event.to_owned_event());
    }
    Ok(seen)
}

/// The first of `events` about an entry called `name`; fails the test when none is.
pub fn named<'e>(events: &'e [WatchEvent], name: &str) -> &'e WatchEvent {
    events
        .iter()
        .find(|e| e.name == std::ffi::OsStr::new(name))
        .unwrap_or_else(|| panic!("no event about {:?} in {:?}", name, events))
}

/// Fails the test unless one of `events` has every bit of `mask` and is at `path`.
pub fn assert_reported(events: &[WatchEvent], mask: EventMask, path: &Path) {
    assert!(
        events
            .iter()
            .any(|e| e.mask.contains(mask) && e.path() == path),
        "no {:?} at {}: {:#?}",
        mask,
        path.display(),
        events
    );
}

/// The paths of the `IN_CREATE` events.
pub fn created_paths(events: &[WatchEvent]) -> BTreeSet<PathBuf> {
    events
        .iter()
        .filter(|event| event.mask.contains(EventMask::CREATE))
        .map(WatchEvent::path)
        .collect()
}

pub fn touch(path: &Path) {
    fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {}", path.display(), e));
}

/// Touches files in `dir` until more events than `max_queued_events` are queued: a tree
/// that watches `dir` and reads none of them overflows.
pub fn overflow_queue(dir: &Path) {
    let max = inotify_raw::Limits::read().unwrap().max_queued_events;
    for i in 0..=max {
        touch(&dir.join(format!("f{}", i % 64)));
    }
}

/// Makes a tree of `count` directories below `root` (not counting it), `fanout` per
/// directory, breadth first, with one small file in each.
pub fn make_tree(root: &Path, count: usize, fanout: usize) {
    let mut queue = std::collections::VecDeque::from([root.to_path_buf()]);
    let mut made = 0;
    while let Some(dir) = queue.pop_front() {
        for i in 0..fanout {
            if made == count {
                return;
            }
            let sub = dir.join(format!("d{}", i));
            fs::create_dir(&sub).unwrap();
            fs::write(sub.join("f"), b"x").unwrap();
            made += 1;
            queue.push_back(sub);
        }
    }
}

/// Every directory at and below each root, by path, with its inode; symbolic links are
/// not followed.
pub fn disk_directories(roots: &[&Path]) -> BTreeMap<PathBuf, u64> {
    let mut found = BTreeMap::new();
    let mut stack: Vec<PathBuf> = roots.iter().map(|r| r.to_path_buf()).collect();
    while let Some(dir) = stack.pop() {
        let meta = match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => meta,
            _ => continue,
        };
        found.insert(dir.clone(), meta.ino());
        if let Ok(entries) = fs::read_dir(&dir) {
            for entry in entries.flatten() {
                if entry.file_type().map_or(false, |t| t.is_dir()) {
                    stack.push(entry.path());
                }
            }
        }
    }
    found
}

/// The kernel's own list of the tree's watches: descriptor to inode, from
/// `/proc/self/fdinfo`.
pub fn kernel_watches(tree: &TreeWatcher) -> BTreeMap<i32, u64> {
    let text = fs::read_to_string(format!("/proc/self/fdinfo/{}", tree.as_raw_fd())).unwrap();
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("inotify wd:")?;
            let mut fields = rest.split_whitespace();
            // Both in hex, as the kernel prints them.
            let wd = i32::from_str_radix(fields.next()?, 16).ok()?;
            let ino = fields.next()?.strip_prefix("ino:")?;
            Some((wd, u64::from_str_radix(ino, 16).ok()?))
        })
        .collect()
}

/// The tree watches exactly the directories on disk, each under its real path (the
/// kernel's inode for its descriptor is the inode at its path), and its two lookups
/// agree.
pub fn assert_matches_disk(tree: &mut TreeWatcher, roots: &[&Path]) {
    let disk = disk_directories(roots);
    let watches = tree.watches();
    let by_path: BTreeMap<PathBuf, WatchDescriptor> = watches
        .iter()
        .map(|(wd, path)| (path.clone(), *wd))
        .collect();
    let watched: BTreeSet<&PathBuf> = by_path.keys().collect();
    let on_disk: BTreeSet<&PathBuf> = disk.keys().collect();
    assert_eq!(
        watched.len(),
        watches.len(),
        "two watches under one path: {:#?}",
        watches
    );
    let missing: Vec<_> = on_disk.difference(&watched).collect();
    let extra: Vec<_> = watched.difference(&on_disk).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "unwatched directories: {:#?}\nwatches that are not directories: {:#?}",
        missing,
        extra
    );
    let kernel = kernel_watches(tree);
    assert_eq!(
        kernel.len(),
        watches.len(),
        "the kernel has watches the tree does not know: {:?} vs {:?}",
        kernel,
        watches
    );
    for (wd, path) in &watches {
        assert_eq!(
            kernel.get(&wd.raw()),
            disk.get(path),
            "watch {} is not on the directory at {}",
            wd,
            path.display()
        );
        assert_eq!(tree.wd_of(path), Some(*wd), "wd_of({})", path.display());
        assert_eq!(tree.path_of(*wd).as_ref(), Some(path), "path_of({})", wd);
    }
}
