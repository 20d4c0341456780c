//! `sync()`: a barrier after which every event of a change made before it is already in
//! hand. Tested by racing: threads make thousands of seeded random changes, then one
//! `sync`, then a drain that never waits must hold every one of them.
//!
//! Seeds: `SYNC_SEEDS` (comma-separated), or a fixed list. A failure names its seed.
#![cfg(feature = "std")]

mod common;
mod stress_support;
mod tree_support;

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use common::TempDir;
use inotify_raw::{EventMask, TreeWatcher, WatchError, WatchMask, Watcher};
use stress_support::Rng;

const TIMEOUT: Duration = Duration::from_secs(60);

fn seeds() -> Vec<u64> {
    match std::env::var("SYNC_SEEDS") {
        Ok(list) => list
            .split(',')
            .map(|seed| seed.trim().parse().expect("SYNC_SEEDS: numbers"))
            .collect(),
        Err(_) => std::vec![1, 2],
    }
}

/// Each of `workers` threads makes `per_worker` files (and, for a tree, the directories
/// above them, `mkdir -p` style, up to three levels) below `root`, from `seed`. Returns
/// every path made, relative to `root`.
fn race(
    root: &Path,
    seed: u64,
    workers: u64,
    per_worker: usize,
    nested: bool,
) -> BTreeSet<PathBuf> {
    let handles: Vec<_> = (0..workers)
        .map(|worker| {
            let root = root.to_path_buf();
            thread::spawn(move || {
                let mut rng = Rng::new(seed * 1000 + worker);
                let mut made = Vec::new();
                for n in 0..per_worker {
                    let mut dir = PathBuf::new();
                    if nested {
                        for _ in 0..rng.below(4) {
                            dir.push(format!("d{}", rng.below(6)));
                            if fs::create_dir(root.join(&dir)).is_ok() {
                                made.push(dir.clone());
                            }
                        }
                    }
                    let file = dir.join(format!("w{}-{}", worker, n));
                    fs::write(root.join(&file), b"x").expect("write a file");
                    made.push(file);
                }
                made
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|handle| handle.join().expect("a worker panicked"))
        .collect()
}

/// Every path made was seen.
fn assert_all_seen(seed: u64, made: &BTreeSet<PathBuf>, seen: &BTreeSet<PathBuf>) {
    let missing: Vec<_> = made.difference(seen).take(5).collect();
    assert!(
        missing.is_empty(),
        "seed {}: {} of {} creations not in hand after sync, e.g. {:?}",
        seed,
        made.difference(seen).count(),
        made.len(),
        missing
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn after_a_watcher_syncs_every_earlier_change_is_in_hand() {
    for seed in seeds() {
        let dir = TempDir::new();
        let mut watcher = Watcher::new().unwrap();
        watcher.add_watch(dir.path(), WatchMask::CREATE).unwrap();
        let made = race(dir.path(), seed, 2, 1500, false);
        watcher.sync(TIMEOUT).unwrap();
        let mut seen = BTreeSet::new();
        while let Some(event) = watcher.try_next_event().unwrap() {
            assert!(
                event.mask.contains(EventMask::CREATE),
                "seed {}: {:?}",
                seed,
                event
            );
            seen.insert(PathBuf::from(event.name.expect("a name")));
        }
        assert_all_seen(seed, &made, &seen);
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn after_a_tree_syncs_every_earlier_change_is_in_hand() {
    for seed in seeds() {
        let dir = TempDir::new();
        let mut tree = TreeWatcher::with_mask([dir.path()], WatchMask::CREATE).unwrap();
        let made = race(dir.path(), seed, 3, 800, true);
        tree.sync(TIMEOUT).unwrap();
        let mut seen = BTreeSet::new();
        while let Some(event) = tree.try_next_event().unwrap() {
            let path = event.path.strip_prefix(dir.path()).unwrap().to_path_buf();
            assert!(seen.insert(path.clone()), "seed {}: {:?} twice", seed, path);
        }
        assert_all_seen(seed, &made, &seen);
        assert_eq!(
            seen.len(),
            made.len(),
            "seed {}: events for paths never made",
            seed
        );
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn after_a_tree_syncs_directories_moved_out_are_let_go_with_no_wait() {
    for seed in seeds() {
        let dir = TempDir::new();
        let (root, outside) = (dir.join("root"), dir.join("outside"));
        fs::create_dir(&root).unwrap();
        fs::create_dir(&outside).unwrap();
        let mut tree = TreeWatcher::with_mask([&root], WatchMask::CREATE).unwrap();
        race(&root, seed, 2, 200, true);
        let mut rng = Rng::new(seed);
        for n in 0..40 {
            let mut from = root.clone();
            for _ in 0..=rng.below(2) {
                from.push(format!("d{}", rng.below(6)));
            }
            // Out of the tree, or within it; a missing source is fine.
            let to = if n % 2 == 0 {
                outside.join(format!("out{}", n))
            } else {
                root.join(format!("moved{}", n))
            };
            let _ = fs::rename(&from, &to);
        }
        tree.sync(TIMEOUT).unwrap();
        while tree.try_next_event().unwrap().is_some() {}
        tree_support::assert_matches_disk(&mut tree, &[&root]);
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_moved_out_is_let_go_at_the_barrier() {
    let dir = TempDir::new();
    let (root, outside) = (dir.join("root"), dir.join("outside"));
    fs::create_dir_all(root.join("a/b")).unwrap();
    fs::create_dir(&outside).unwrap();
    let mut tree = TreeWatcher::new(&root).unwrap();
    fs::rename(root.join("a"), outside.join("a")).unwrap();
    tree.sync(TIMEOUT).unwrap();
    let mut events = Vec::new();
    while let Some(event) = tree.try_next_event().unwrap() {
        events.push(event.to_owned_event());
    }
    assert_eq!(events.len(), 1, "{:?}", events);
    assert!(events[0]
        .mask
        .contains(EventMask::MOVED_FROM | EventMask::ISDIR));
    // No quiet wait has passed: only the barrier says that `a` is not coming back.
    tree_support::assert_matches_disk(&mut tree, &[&root]);
    assert_eq!(tree.watch_count(), 1);
}

#[test]
#[cfg_attr(miri, ignore)]
fn events_after_the_barrier_come_after_those_before_it() {
    let dir = TempDir::new();
    let mut tree = TreeWatcher::with_mask([dir.path()], WatchMask::CREATE).unwrap();
    fs::write(dir.join("before"), b"").unwrap();
    tree.sync(TIMEOUT).unwrap();
    fs::write(dir.join("after"), b"").unwrap();
    let first = tree.try_next_event().unwrap().map(|e| e.to_owned_event());
    assert_eq!(first.map(|e| e.name), Some("before".into()));
    tree.sync(TIMEOUT).unwrap();
    let second = tree.try_next_event().unwrap().map(|e| e.to_owned_event());
    assert_eq!(second.map(|e| e.name), Some("after".into()));
    assert!(tree.try_next_event().unwrap().is_none());
}

#[test]
#[cfg_attr(miri, ignore)]
fn the_markers_are_never_delivered() {
    let dir = TempDir::new();
    let mut tree = TreeWatcher::new(dir.path()).unwrap();
    let mut watcher = Watcher::new().unwrap();
    watcher
        .add_watch(dir.path(), WatchMask::ALL_EVENTS)
        .unwrap();
    for _ in 0..3 {
        tree.sync(TIMEOUT).unwrap();
        watcher.sync(TIMEOUT).unwrap();
    }
    fs::write(dir.join("last"), b"").unwrap();
    tree.sync(TIMEOUT).unwrap();
    watcher.sync(TIMEOUT).unwrap();
    let mut names = Vec::new();
    while let Some(event) = tree.try_next_event().unwrap() {
        names.push(event.to_owned_event().name);
    }
    while let Some(event) = watcher.try_next_event().unwrap() {
        names.push(event.to_owned_event().name);
    }
    assert!(
        names.iter().all(|name| name == "last"),
        "only the caller's file: {:?}",
        names
    );
    assert!(names.len() >= 2, "each saw the caller's file: {:?}", names);
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["last"], "no marker file is left behind");
}

/// How a root is replaced at its path before the tree has read anything about it.
#[derive(Clone, Copy, Debug)]
enum Replace {
    /// `rm -rf root && mkdir root`.
    Delete,
    /// `mv root root.old && mkdir root`.
    MoveAway,
}

impl Replace {
    fn apply(self, root: &Path) {
        match self {
            Replace::Delete => fs::remove_dir_all(root).unwrap(),
            Replace::MoveAway => fs::rename(root, root.with_extension("old")).unwrap(),
        }
        fs::create_dir(root).unwrap();
    }
}

/// A `sync` that returned must be prompt: the marker's round trip, not its timeout.
const PROMPT: Duration = Duration::from_secs(10);

/// Every event up to the end of the stream (`WatchError::Ended`) or, if it does not end,
/// up to the first empty read.
fn drain_to_end(tree: &mut TreeWatcher) -> (Vec<inotify_raw::WatchEvent>, bool) {
    let mut events = Vec::new();
    loop {
        match tree.try_next_event() {
            Ok(Some(event)) => events.push(event.to_owned_event()),
            Ok(None) => return (events, false),
            Err(WatchError::Ended) => return (events, true),
            Err(error) => panic!("after {:?}: {}", events, error),
        }
    }
}

/// What the tree hands out after a barrier, and then, while the root `ending` has not
/// ended (`IN_IGNORED` at its path), what comes until it does, for at most a minute. A
/// deleted directory's `IN_IGNORED` is queued when its inode is freed: after the
/// barrier when another process still holds a descriptor of it (a child forked by
/// another test, before its `exec`).
fn drain_to_root_end(
    tree: &mut TreeWatcher,
    ending: &std::path::Path,
) -> (Vec<inotify_raw::WatchEvent>, bool) {
    let (mut events, mut ended) = drain_to_end(tree);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let has_ended = |events: &[inotify_raw::WatchEvent]| {
        events
            .iter()
            .any(|e| e.mask.contains(EventMask::IGNORED) && e.path() == ending)
    };
    while !ended && !has_ended(&events) && std::time::Instant::now() < deadline {
        match tree.next_event() {
            Ok(Some(event)) => events.push(event.to_owned_event()),
            Ok(None) => {}
            Err(WatchError::Ended) => ended = true,
            Err(error) => panic!("after {:?}: {}", events, error),
        }
    }
    (events, ended)
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_root_replaced_at_its_path_before_its_end_is_read_still_syncs() {
    for how in [Replace::Delete, Replace::MoveAway] {
        let dir = TempDir::new();
        let root = dir.join("root");
        fs::create_dir_all(root.join("a")).unwrap();
        let mut tree = TreeWatcher::with_mask([&root], WatchMask::CREATE).unwrap();
        fs::write(root.join("a/before"), b"").unwrap();
        how.apply(&root);
        let started = std::time::Instant::now();
        let synced = tree.sync(PROMPT);
        assert!(
            synced.is_ok(),
            "{:?}: sync after {:?}: {:?}",
            how,
            started.elapsed(),
            synced
        );
        let (events, ended) = drain_to_root_end(&mut tree, &root);
        assert!(
            ended,
            "{:?}: the stream ends with its only root: {:?}",
            how, events
        );
        assert_eq!(
            events.first().map(|e| (e.mask, e.path())),
            Some((EventMask::CREATE, root.join("a/before"))),
            "{:?}: the change before the barrier is in hand: {:?}",
            how,
            events
        );
        let last = events.last().unwrap();
        assert!(
            last.mask.contains(EventMask::IGNORED) && last.path() == root,
            "{:?}: the root's end comes last: {:?}",
            how,
            events
        );
        let left: Vec<_> = fs::read_dir(&root).unwrap().collect();
        assert!(left.is_empty(), "{:?}: no marker left in the new root", how);
        assert!(
            matches!(tree.sync(PROMPT), Err(WatchError::Ended)),
            "{:?}: no root is left",
            how
        );
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_root_replaced_at_its_path_leaves_the_barrier_to_another_root() {
    for how in [Replace::Delete, Replace::MoveAway] {
        let dir = TempDir::new();
        let (gone, kept) = (dir.join("gone"), dir.join("kept"));
        fs::create_dir(&gone).unwrap();
        fs::create_dir(&kept).unwrap();
        let mut tree = TreeWatcher::with_mask([&gone, &kept], WatchMask::CREATE).unwrap();
        fs::write(gone.join("in-gone"), b"").unwrap();
        fs::write(kept.join("in-kept"), b"").unwrap();
        how.apply(&gone);
        let synced = tree.sync(PROMPT);
        assert!(synced.is_ok(), "{:?}: {:?}", how, synced);
        let (events, ended) = drain_to_root_end(&mut tree, &gone);
        assert!(!ended, "{:?}: the other root goes on: {:?}", how, events);
        let paths: Vec<_> = events.iter().map(|e| (e.mask, e.path())).collect();
        assert_eq!(
            paths,
            [
                (EventMask::CREATE, gone.join("in-gone")),
                (EventMask::CREATE, kept.join("in-kept")),
                (EventMask::IGNORED, gone.clone()),
            ],
            "{:?}",
            how
        );
        assert_eq!(tree.roots(), std::slice::from_ref(&kept), "{:?}", how);
        fs::write(kept.join("after"), b"").unwrap();
        tree.sync(PROMPT).unwrap();
        let (events, _) = drain_to_end(&mut tree);
        assert_eq!(events.len(), 1, "{:?}: {:?}", how, events);
        assert_eq!(events[0].path(), kept.join("after"), "{:?}", how);
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_root_that_cannot_take_a_marker_is_an_error_that_says_so() {
    let dir = TempDir::new();
    let root = dir.join("root");
    fs::create_dir(&root).unwrap();
    let mut tree = TreeWatcher::new(&root).unwrap();
    let read_only = ReadOnly::make(&root);
    let error = match tree.sync(TIMEOUT) {
        Err(WatchError::Io(error)) => error,
        other => panic!(
            "sync on a root it cannot write to: {:?}",
            other.map(|()| "Ok")
        ),
    };
    let text = error.to_string();
    assert!(text.contains("sync could not make its marker"), "{}", text);
    assert!(
        text.contains(&root.display().to_string()),
        "names the root: {}",
        text
    );
    let why = if read_only.mounted {
        "Read-only file system"
    } else {
        "Permission denied"
    };
    assert!(text.contains(why), "says why: {}", text);
    drop(read_only);
    tree.sync(TIMEOUT).unwrap();
}

/// A directory made read-only for the test: a read-only bind mount when running as root
/// (root writes through permissions), mode 0555 otherwise; undone on drop.
struct ReadOnly {
    path: PathBuf,
    mounted: bool,
}

impl ReadOnly {
    fn make(path: &Path) -> ReadOnly {
        let is_root = fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"));
        let mounted = is_root && bind_read_only(path).is_ok();
        if !mounted {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(path, fs::Permissions::from_mode(0o555)).unwrap();
        }
        ReadOnly {
            path: path.to_path_buf(),
            mounted,
        }
    }
}

fn bind_read_only(path: &Path) -> io::Result<()> {
    let run = |args: &[&str]| -> io::Result<()> {
        let status = common::status(
            std::process::Command::new("mount")
                .args(args)
                .arg(path)
                .arg(path),
        )?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::Other, "mount failed"))
        }
    };
    run(&["--bind"])?;
    let status = common::status(
        std::process::Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(path),
    )?;
    if status.success() {
        Ok(())
    } else {
        let _ = common::status(std::process::Command::new("umount").arg(path));
        Err(io::Error::new(
            io::ErrorKind::Other,
            "remount read-only failed",
        ))
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.mounted {
            let _ = common::status(std::process::Command::new("umount").arg(&self.path));
        } else {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&self.path, fs::Permissions::from_mode(0o755));
        }
    }
}
