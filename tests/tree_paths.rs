//! The paths a `TreeWatcher` delivers: each event's path is the one its object had when
//! the kernel queued the event (as far as the moves delivered before it say), and an
//! event that happened inside the tree is delivered even when its directory has left
//! the tree before the tree reads it.
#![cfg(feature = "std")]

mod common;
mod tree_support;

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::TempDir;
use inotify_raw::{EventMask, TreeWatcher, WatchEvent, WatchMask};
use tree_support::touch;

const TIMEOUT: Duration = Duration::from_secs(60);

/// Every event up to a barrier, read with `next_event` (blocking reads) or
/// `try_next_event`.
fn drain(tree: &mut TreeWatcher, blocking: bool) -> Vec<WatchEvent> {
    tree.sync(TIMEOUT).unwrap();
    let mut events = Vec::new();
    loop {
        let next = if blocking {
            tree.next_event()
        } else {
            tree.try_next_event()
        };
        match next.unwrap() {
            Some(event) => events.push(event.to_owned_event()),
            None => return events,
        }
    }
}

/// `mv old new && touch new/later && mv new ../out`, all before the tree reads: the
/// creation happened inside the tree, at `new/later`, and is delivered there, between
/// the two moves. (The directory's own `IN_MOVE_SELF` for the second move happened
/// outside the tree, and is not delivered.)
#[test]
#[cfg_attr(miri, ignore)]
fn a_creation_in_a_directory_that_left_the_tree_before_it_was_read_is_delivered() {
    for blocking in [true, false] {
        let dir = TempDir::new();
        let (root, out) = (dir.join("root"), dir.join("out"));
        fs::create_dir_all(root.join("old")).unwrap();
        fs::create_dir(&out).unwrap();
        let mut tree = TreeWatcher::new(&root).unwrap();
        fs::rename(root.join("old"), root.join("new")).unwrap();
        touch(&root.join("new/later"));
        fs::rename(root.join("new"), out.join("new")).unwrap();
        let events = drain(&mut tree, blocking);
        let seen: Vec<(EventMask, PathBuf)> = events
            .iter()
            .filter(|e| !e.mask.intersects(EventMask::OPEN | EventMask::CLOSE))
            .map(|e| (e.mask, e.path().strip_prefix(&root).unwrap().to_path_buf()))
            .collect();
        let expected = [
            (
                EventMask::MOVED_FROM | EventMask::ISDIR,
                PathBuf::from("old"),
            ),
            (EventMask::MOVED_TO | EventMask::ISDIR, PathBuf::from("new")),
            (EventMask::MOVE_SELF, PathBuf::from("new")),
            (EventMask::CREATE, PathBuf::from("new/later")),
            (
                EventMask::MOVED_FROM | EventMask::ISDIR,
                PathBuf::from("new"),
            ),
        ];
        assert_eq!(
            seen, expected,
            "blocking reads: {}; {:#?}",
            blocking, events
        );
    }
}

/// Files made in `b/s` while `a` and `b` swap names 2,000 times (a file after each
/// swap, so each is made in `b/s`, whichever directory that is then), read while it
/// goes on: each is reported in `b/s`, where it was made, never in `a/s`.
#[test]
#[cfg_attr(miri, ignore)]
fn files_made_under_a_name_that_swaps_are_reported_where_they_were_made() {
    let dir = TempDir::new();
    let root = dir.path().to_path_buf();
    fs::create_dir_all(root.join("a/s")).unwrap();
    fs::create_dir_all(root.join("b/s")).unwrap();
    let mut tree = TreeWatcher::with_mask([&root], WatchMask::CREATE | WatchMask::MOVE).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (root, done) = (root.clone(), done.clone());
        thread::spawn(move || {
            let mut made = Vec::new();
            for n in 0..2000 {
                fs::rename(root.join("a"), root.join("t")).unwrap();
                fs::rename(root.join("b"), root.join("a")).unwrap();
                fs::rename(root.join("t"), root.join("b")).unwrap();
                let name = format!("f{}", n);
                fs::File::create(root.join("b/s").join(&name)).unwrap();
                made.push(name);
            }
            done.store(true, Ordering::SeqCst);
            made
        })
    };
    let mut reported = Vec::new();
    while !done.load(Ordering::SeqCst) {
        while let Some(event) = tree.try_next_event().unwrap() {
            reported.push(event.to_owned_event());
        }
    }
    let made = swapper.join().unwrap();
    reported.extend(drain(&mut tree, false));
    let wrong: Vec<&WatchEvent> = reported
        .iter()
        .filter(|e| e.name.to_string_lossy().starts_with('f'))
        .filter(|e| e.watch_path != root.join("b/s"))
        .collect();
    let found = reported
        .iter()
        .filter(|e| e.name.to_string_lossy().starts_with('f'))
        .count();
    assert!(
        wrong.is_empty(),
        "{} of {} files made in b/s reported elsewhere, e.g. {:#?}",
        wrong.len(),
        made.len(),
        &wrong[..wrong.len().min(5)]
    );
    // A slow reader (qemu-user) can let the queue overflow: then events were lost, and
    // the overflow is delivered; the paths that were delivered are still checked above.
    let overflowed = reported
        .iter()
        .any(|e| e.mask.contains(EventMask::Q_OVERFLOW));
    if !overflowed {
        assert_eq!(found, made.len(), "each file made is reported once");
    }
}

/// `mv a/c a/d && mv a z`, the reads racing the renames: each round either reads a few
/// events between the two renames, or reads with `next_event` in this thread while
/// another thread renames. The four moves are all there is: `z/d` came by them, so no
/// event of the tree's own may report it again (a creation of it would break replay).
#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_renamed_then_moved_with_its_parent_is_reported_by_the_moves_alone() {
    let expected: Vec<(EventMask, PathBuf)> = [
        (EventMask::MOVED_FROM, "a/c"),
        (EventMask::MOVED_TO, "a/d"),
        (EventMask::MOVED_FROM, "a"),
        (EventMask::MOVED_TO, "z"),
    ]
    .iter()
    .map(|&(mask, path)| (mask | EventMask::ISDIR, PathBuf::from(path)))
    .collect();
    let mut wrong = Vec::new();
    for round in 0..60 {
        let dir = TempDir::new();
        let root = dir.path().to_path_buf();
        fs::create_dir_all(root.join("a/c")).unwrap();
        let mask = WatchMask::CREATE | WatchMask::MOVED_FROM | WatchMask::MOVED_TO;
        let mut tree = TreeWatcher::with_mask([&root], mask).unwrap();
        tree.set_block_duration(Some(Duration::from_millis(1)));
        let mut events = Vec::new();
        let reads_between = round % 6;
        if reads_between < 5 {
            fs::rename(root.join("a/c"), root.join("a/d")).unwrap();
            for _ in 0..reads_between {
                if let Some(event) = tree.try_next_event().unwrap() {
                    events.push(event.to_owned_event());
                }
            }
            fs::rename(root.join("a"), root.join("z")).unwrap();
        } else {
            let renamer = {
                let root = root.clone();
                thread::spawn(move || {
                    fs::rename(root.join("a/c"), root.join("a/d")).unwrap();
                    fs::rename(root.join("a"), root.join("z")).unwrap();
                })
            };
            while !renamer.is_finished() {
                if let Some(event) = tree.next_event().unwrap() {
                    events.push(event.to_owned_event());
                }
            }
            renamer.join().unwrap();
        }
        events.extend(drain(&mut tree, false));
        let seen: Vec<(EventMask, PathBuf)> = events
            .iter()
            .map(|e| (e.mask, e.path().strip_prefix(&root).unwrap().to_path_buf()))
            .collect();
        if seen != expected {
            let origins: Vec<String> = events
                .iter()
                .map(|e| format!("{:?} {:?} {}", e.mask, e.origin, e.path().display()))
                .collect();
            wrong.push((round, origins));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of 60 rounds wrong: {:#?}",
        wrong.len(),
        wrong
    );
}
