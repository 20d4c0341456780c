//! `TreeWatcher`: whole directory trees, kept right as directories are created, moved
//! in, moved out, moved inside, and after a queue overflow.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::TempDir;
use inotify_raw::{EventMask, Limits, TreeWatcher, WatchError, WatchEvent, WatchMask};

fn quick_tree(root: &Path, mask: WatchMask) -> TreeWatcher {
    let mut tree = TreeWatcher::with_mask([root], mask).expect("tree");
    tree.set_block_duration(Some(Duration::from_millis(50)));
    tree
}

/// Events until `done` holds for the ones seen, or 5 s pass (then the test fails).
fn events_until(tree: &mut TreeWatcher, done: impl Fn(&[WatchEvent]) -> bool) -> Vec<WatchEvent> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    for item in tree.events().yield_nones(true) {
        if let Some(event) = item.expect("no error") {
            seen.push(event);
        }
        if done(&seen) {
            return seen;
        }
        assert!(Instant::now() < deadline, "timed out; seen: {:#?}", seen);
    }
    seen
}

/// Every event that arrives within `quiet` of the last one.
fn events_settled(tree: &mut TreeWatcher) -> Vec<WatchEvent> {
    tree.events()
        .timeout(Duration::from_millis(300))
        .yield_nones(false)
        .map(|item| item.expect("no error").expect("no None"))
        .collect()
}

fn created_paths(events: &[WatchEvent]) -> BTreeSet<PathBuf> {
    events
        .iter()
        .filter(|event| event.mask.contains(EventMask::CREATE))
        .map(WatchEvent::path)
        .collect()
}

fn touch(path: &Path) {
    std::fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {}", path.display(), e));
}

#[test]
#[cfg_attr(miri, ignore)]
fn existing_subdirectories_are_watched_at_the_start() {
    let dir = TempDir::new();
    std::fs::create_dir_all(dir.join("a/b/c")).unwrap();
    std::fs::create_dir_all(dir.join("d")).unwrap();
    let mut tree = quick_tree(dir.path(), WatchMask::CREATE);
    assert_eq!(tree.watcher().watches().count(), 5);
    touch(&dir.join("a/b/c/deep"));
    touch(&dir.join("d/side"));
    let events = events_until(&mut tree, |seen| seen.len() >= 2);
    assert_eq!(
        created_paths(&events),
        [dir.join("a/b/c/deep"), dir.join("d/side")]
            .into_iter()
            .collect()
    );
    let deep = events.iter().find(|e| e.name == "deep").unwrap();
    assert_eq!(deep.watch_path, dir.join("a/b/c"));
    assert_eq!(Some(deep.wd), tree.watcher().wd_of(dir.join("a/b/c")));
}

#[test]
#[cfg_attr(miri, ignore)]
fn what_a_new_directory_holds_before_its_watch_is_reported_as_created() {
    let dir = TempDir::new();
    let mut tree = quick_tree(dir.path(), WatchMask::CREATE);
    // All of this exists before the tree sees the first IN_CREATE: only the listing
    // that follows the new watch can report the rest.
    std::fs::create_dir_all(dir.join("a/b/c")).unwrap();
    touch(&dir.join("a/b/c/f"));
    touch(&dir.join("a/g"));
    let expected: BTreeSet<PathBuf> = ["a", "a/b", "a/b/c", "a/b/c/f", "a/g"]
        .iter()
        .map(|p| dir.join(p))
        .collect();
    let events = events_until(&mut tree, |seen| {
        created_paths(seen).len() >= expected.len()
    });
    assert_eq!(created_paths(&events), expected);
    for event in &events {
        let is_dir = std::fs::metadata(event.path()).unwrap().is_dir();
        assert_eq!(event.mask.contains(EventMask::ISDIR), is_dir, "{:?}", event);
    }
    // And the new directories are watched: a file made deep inside is seen.
    touch(&dir.join("a/b/c/later"));
    let later = events_until(&mut tree, |seen| seen.iter().any(|e| e.name == "later"));
    assert!(later.iter().any(|e| e.path() == dir.join("a/b/c/later")));
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_moved_inside_the_tree_keeps_its_watches_under_the_new_path() {
    let dir = TempDir::new();
    std::fs::create_dir_all(dir.join("x/y")).unwrap();
    let mut tree = quick_tree(dir.path(), WatchMask::CREATE | WatchMask::MOVE);
    let watches_before = tree.watcher().watches().count();
    std::fs::rename(dir.join("x"), dir.join("z")).unwrap();
    let moved = events_until(&mut tree, |seen| {
        seen.iter().any(|e| e.mask.contains(EventMask::MOVED_TO))
    });
    let from = moved
        .iter()
        .find(|e| e.mask.contains(EventMask::MOVED_FROM))
        .unwrap();
    let to = moved
        .iter()
        .find(|e| e.mask.contains(EventMask::MOVED_TO))
        .unwrap();
    assert_eq!(from.cookie, to.cookie);
    touch(&dir.join("z/y/f"));
    let events = events_until(&mut tree, |seen| seen.iter().any(|e| e.name == "f"));
    let created = events.iter().find(|e| e.name == "f").unwrap();
    assert_eq!(created.path(), dir.join("z/y/f"));
    assert_eq!(tree.watcher().wd_of(dir.join("x/y")), None);
    assert_eq!(
        tree.watcher().path_of(created.wd),
        Some(dir.join("z/y").as_path())
    );
    assert_eq!(tree.watcher().watches().count(), watches_before);
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_moved_out_of_the_tree_loses_its_watches() {
    let outside = TempDir::new();
    let dir = TempDir::new();
    std::fs::create_dir_all(dir.join("x/y")).unwrap();
    let mut tree = quick_tree(dir.path(), WatchMask::CREATE | WatchMask::MOVE);
    assert_eq!(tree.watcher().watches().count(), 3);
    std::fs::rename(dir.join("x"), outside.join("x")).unwrap();
    let _ = events_until(&mut tree, |seen| {
        seen.iter().any(|e| e.mask.contains(EventMask::MOVED_FROM))
    });
    // The move is settled once no IN_MOVED_TO can follow: after a quiet cycle.
    touch(&outside.join("x/y/not-seen"));
    let later = events_settled(&mut tree);
    assert!(later.iter().all(|e| e.name != "not-seen"), "{:?}", later);
    assert_eq!(tree.watcher().watches().count(), 1);
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_moved_into_the_tree_is_watched_with_what_it_holds() {
    let outside = TempDir::new();
    let dir = TempDir::new();
    std::fs::create_dir_all(outside.join("m/n")).unwrap();
    let mut tree = quick_tree(dir.path(), WatchMask::CREATE | WatchMask::MOVE);
    std::fs::rename(outside.join("m"), dir.join("m")).unwrap();
    let _ = events_until(&mut tree, |seen| {
        seen.iter().any(|e| e.mask.contains(EventMask::MOVED_TO))
    });
    touch(&dir.join("m/n/f"));
    let events = events_until(&mut tree, |seen| seen.iter().any(|e| e.name == "f"));
    assert!(events.iter().any(|e| e.path() == dir.join("m/n/f")));
}

#[test]
#[cfg_attr(miri, ignore)]
fn after_a_queue_overflow_the_tree_is_walked_again() {
    let dir = TempDir::new();
    let mut tree = quick_tree(dir.path(), WatchMask::ALL_EVENTS);
    let limit = Limits::read().unwrap().max_queued_events;
    let file = dir.join("f");
    touch(&file);
    for _ in 0..(limit / 2 + 16) {
        drop(std::fs::File::open(&file).unwrap());
    }
    // Its IN_CREATE is lost in the full queue: only the walk after the overflow finds it.
    std::fs::create_dir(dir.join("late")).unwrap();
    let mut overflowed = false;
    for item in tree
        .events()
        .yield_nones(false)
        .timeout(Duration::from_secs(5))
    {
        if let Err(WatchError::Terminal(terminal)) = item {
            assert_eq!(terminal.type_name, "IN_Q_OVERFLOW");
            overflowed = true;
        }
    }
    assert!(overflowed);
    assert!(
        tree.watcher().wd_of(dir.join("late")).is_some(),
        "the new directory is watched"
    );
    touch(&dir.join("late/seen"));
    let events = events_until(&mut tree, |seen| seen.iter().any(|e| e.name == "seen"));
    assert!(events.iter().any(|e| e.path() == dir.join("late/seen")));
}

#[test]
#[cfg_attr(miri, ignore)]
fn several_roots_and_only_the_asked_events() {
    let one = TempDir::new();
    let two = TempDir::new();
    std::fs::create_dir(one.join("sub")).unwrap();
    let mut tree =
        TreeWatcher::with_mask([one.path(), two.path()], WatchMask::CLOSE_WRITE).unwrap();
    tree.set_block_duration(Some(Duration::from_millis(50)));
    assert_eq!(
        tree.roots(),
        [one.path().to_path_buf(), two.path().to_path_buf()]
    );
    std::fs::create_dir(two.join("new")).unwrap();
    // The tree follows the new directory even though IN_CREATE is not delivered: the
    // iteration yields nothing for it (just a None), but the watch is there afterwards.
    let deadline = Instant::now() + Duration::from_secs(5);
    while tree.watcher().wd_of(two.join("new")).is_none() {
        assert!(Instant::now() < deadline);
        let item = tree.events().next().unwrap().unwrap();
        assert!(item.is_none(), "{:?}", item);
    }
    std::fs::write(one.join("sub/a"), b"x").unwrap();
    std::fs::write(two.join("new/b"), b"y").unwrap();
    let events = events_until(&mut tree, |seen| seen.len() >= 2);
    let paths: BTreeSet<_> = events.iter().map(WatchEvent::path).collect();
    assert!(paths.contains(&one.join("sub/a")), "{:?}", paths);
    assert!(paths.contains(&two.join("new/b")), "{:?}", paths);
    assert!(
        events.iter().all(|e| e.mask == EventMask::CLOSE_WRITE),
        "{:?}",
        events
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_root_that_is_missing_or_a_file_is_an_error_naming_it() {
    let dir = TempDir::new();
    let missing = dir.join("missing");
    let error = TreeWatcher::new(&missing).unwrap_err();
    assert!(error.to_string().contains("ENOENT"), "{}", error);
    assert!(
        error.to_string().contains(&missing.display().to_string()),
        "{}",
        error
    );
    touch(&dir.join("file"));
    let error = TreeWatcher::new(dir.join("file")).unwrap_err();
    assert!(error.to_string().contains("ENOTDIR"), "{}", error);
}
