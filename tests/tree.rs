//! `TreeWatcher` against the real kernel, one test per behaviour it promises: start,
//! new directories, deletions, moves inside, out and in, identity, quiet, overflow,
//! roots, per-directory errors, the watch limit, exclusion and the mask. The seeded
//! stress test is in `tree_stress.rs`, the Python package's own tests in
//! `tree_seed.rs`.
#![cfg(feature = "std")]

mod common;
mod tree_support;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::TempDir;
use inotify_raw::{EventMask, Origin, TreeWatcher, WatchError, WatchEvent, WatchMask};
use tree_support::{
    assert_matches_disk, assert_reported, created_paths, named, quick_tree, synced, touch,
};

#[test]
#[cfg_attr(miri, ignore)]
fn start_watches_every_directory_and_follows_no_link() {
    let dir = TempDir::new();
    fs::create_dir_all(dir.join("a/b/c")).unwrap();
    fs::create_dir_all(dir.join("a/d")).unwrap();
    fs::create_dir_all(dir.join("e")).unwrap();
    touch(&dir.join("a/file"));
    let outside = TempDir::new();
    fs::create_dir(outside.join("x")).unwrap();
    symlink(outside.path(), dir.join("a/link-out")).unwrap();
    // A loop: a link to an ancestor.
    symlink(dir.path(), dir.join("a/b/loop")).unwrap();
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    assert_eq!(tree.watch_count(), 6, "root, a, a/b, a/b/c, a/d, e");
    let events = synced(&mut tree);
    assert!(events.is_empty(), "nothing happened: {:#?}", events);
    // (Listing the directories to compare raises events of its own, read below.)
    assert_matches_disk(&mut tree, &[dir.path()]);
    touch(&outside.join("x/not-ours"));
    touch(&dir.join("a/b/c/ours"));
    let events = synced(&mut tree);
    named(&events, "ours");
    assert!(
        events.iter().all(|e| e.path().starts_with(dir.path())),
        "{:#?}",
        events
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_new_directory_tree_is_reported_once_each_and_then_watched() {
    let dir = TempDir::new();
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    // `mkdir -p a/b/c && touch a/b/c/f && touch a/b/g`, as fast as it goes.
    fs::create_dir_all(dir.join("a/b/c")).unwrap();
    touch(&dir.join("a/b/c/f"));
    touch(&dir.join("a/b/g"));
    let wanted: BTreeSet<PathBuf> = ["a", "a/b", "a/b/c", "a/b/c/f", "a/b/g"]
        .iter()
        .map(|p| dir.join(p))
        .collect();
    let events = synced(&mut tree);
    assert_eq!(created_paths(&events), wanted, "{:#?}", events);
    for path in &wanted {
        let count = events
            .iter()
            .filter(|e| e.mask.contains(EventMask::CREATE) && &e.path() == path)
            .count();
        assert_eq!(
            count,
            1,
            "{} reported {} times: {:#?}",
            path.display(),
            count,
            events
        );
    }
    for event in &events {
        if event.origin == Origin::Scan {
            assert!(event.mask.contains(EventMask::CREATE), "{:?}", event);
        }
        assert!(
            !event
                .mask
                .intersects(EventMask::OPEN | EventMask::ACCESS | EventMask::CLOSE_NOWRITE)
                || !event.mask.contains(EventMask::ISDIR),
            "the tree's own listing leaked: {:?}",
            event
        );
    }
    assert_matches_disk(&mut tree, &[dir.path()]);
    touch(&dir.join("a/b/c/later"));
    let events = synced(&mut tree);
    let later = named(&events, "later");
    assert_eq!(later.path(), dir.join("a/b/c/later"));
    assert_eq!(later.origin, Origin::Kernel);
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_deleted_directory_leaves_every_map_and_its_name_is_watched_again() {
    let dir = TempDir::new();
    fs::create_dir_all(dir.join("d/e")).unwrap();
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    let old = tree.wd_of(dir.join("d")).expect("d is watched");
    fs::remove_dir_all(dir.join("d")).unwrap();
    assert_reported(&synced(&mut tree), EventMask::DELETE, &dir.join("d"));
    assert_eq!(tree.wd_of(dir.join("d")), None);
    assert_eq!(tree.path_of(old), None);
    assert_matches_disk(&mut tree, &[dir.path()]);
    fs::create_dir(dir.join("d")).unwrap();
    assert_reported(&synced(&mut tree), EventMask::CREATE, &dir.join("d"));
    assert!(tree.wd_of(dir.join("d")).is_some());
    assert_matches_disk(&mut tree, &[dir.path()]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_moved_inside_keeps_its_watches_and_deep_events_have_the_new_path() {
    let dir = TempDir::new();
    fs::create_dir_all(dir.join("src/x/y/z")).unwrap();
    fs::create_dir(dir.join("dst")).unwrap();
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    let deep = tree.wd_of(dir.join("src/x/y/z")).unwrap();
    fs::rename(dir.join("src/x"), dir.join("dst/moved")).unwrap();
    touch(&dir.join("dst/moved/y/z/deep-file"));
    let events = synced(&mut tree);
    let from = events
        .iter()
        .find(|e| e.mask.contains(EventMask::MOVED_FROM))
        .unwrap();
    let to = events
        .iter()
        .find(|e| e.mask.contains(EventMask::MOVED_TO))
        .unwrap();
    assert_eq!(from.cookie, to.cookie);
    assert_eq!(from.path(), dir.join("src/x"));
    assert_eq!(to.path(), dir.join("dst/moved"));
    let file = named(&events, "deep-file");
    assert_eq!(file.path(), dir.join("dst/moved/y/z/deep-file"));
    assert_eq!(file.wd, deep, "the same watch, under its new path");
    assert_eq!(tree.wd_of(dir.join("dst/moved/y/z")), Some(deep));
    assert_matches_disk(&mut tree, &[dir.path()]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn moves_are_paired_by_cookie_while_another_writer_is_busy() {
    let dir = TempDir::new();
    fs::create_dir(dir.join("busy")).unwrap();
    for i in 0..20 {
        fs::create_dir_all(dir.join(format!("from/d{}/inner", i))).unwrap();
    }
    fs::create_dir(dir.join("to")).unwrap();
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    let busy = dir.join("busy");
    let writer = std::thread::spawn(move || {
        for i in 0..4000 {
            touch(&busy.join(format!("f{}", i)));
        }
    });
    for i in 0..20 {
        fs::rename(
            dir.join(format!("from/d{}", i)),
            dir.join(format!("to/e{}", i)),
        )
        .unwrap();
    }
    writer.join().unwrap();
    for i in 0..20 {
        touch(&dir.join(format!("to/e{}/inner/after", i)));
    }
    let events = synced(&mut tree);
    let closed_after = events
        .iter()
        .filter(|e| e.name == OsStr::new("after") && e.mask.contains(EventMask::CLOSE_WRITE))
        .count();
    assert_eq!(closed_after, 20);
    for i in 0..20 {
        let wanted = dir.join(format!("to/e{}/inner/after", i));
        assert!(
            events.iter().any(|e| e.path() == wanted),
            "no event at {}: {:#?}",
            wanted.display(),
            events
                .iter()
                .filter(|e| e.name == OsStr::new("after") || e.mask.contains(EventMask::ISDIR))
                .map(|e| (e.mask, e.path()))
                .collect::<Vec<_>>()
        );
    }
    assert_matches_disk(&mut tree, &[dir.path()]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_moved_out_is_forgotten_and_reports_nothing() {
    let dir = TempDir::new();
    let outside = TempDir::new();
    fs::create_dir_all(dir.join("leaving/sub")).unwrap();
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    fs::rename(dir.join("leaving"), outside.join("left")).unwrap();
    assert_reported(
        &synced(&mut tree),
        EventMask::MOVED_FROM,
        &dir.join("leaving"),
    );
    touch(&outside.join("left/after"));
    touch(&outside.join("left/sub/after"));
    let events = synced(&mut tree);
    assert!(
        events.iter().all(|e| e.name != OsStr::new("after")),
        "{:#?}",
        events
    );
    assert_matches_disk(&mut tree, &[dir.path()]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_moved_in_is_watched_and_what_it_holds_is_reported() {
    let dir = TempDir::new();
    let outside = TempDir::new();
    fs::create_dir_all(outside.join("coming/sub")).unwrap();
    touch(&outside.join("coming/sub/held"));
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    fs::rename(outside.join("coming"), dir.join("came")).unwrap();
    // Written at once into the directory just moved in.
    touch(&dir.join("came/at-once"));
    let wanted: BTreeSet<PathBuf> = ["came/sub", "came/sub/held", "came/at-once"]
        .iter()
        .map(|p| dir.join(p))
        .collect();
    let events = synced(&mut tree);
    for path in &wanted {
        let count = events
            .iter()
            .filter(|e| e.mask.contains(EventMask::CREATE) && &e.path() == path)
            .count();
        assert_eq!(count, 1, "{}: {:#?}", path.display(), events);
    }
    assert_matches_disk(&mut tree, &[dir.path()]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn the_temporary_directory_pattern_is_watched_and_reported() {
    let dir = TempDir::new();
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    for round in 0..20 {
        let tmp = dir.join(format!("tmp.{}", round));
        fs::create_dir_all(tmp.join("sub")).unwrap();
        touch(&tmp.join("f"));
        fs::rename(&tmp, dir.join(format!("final{}", round))).unwrap();
    }
    let events = synced(&mut tree);
    for round in 0..20 {
        let final_dir = dir.join(format!("final{}", round));
        // `f` was reported: at its final path, or at the temporary one that a reported
        // move then renamed.
        let tmp = dir.join(format!("tmp.{}", round));
        let reported = events.iter().any(|e| {
            e.mask.contains(EventMask::CREATE)
                && (e.path() == final_dir.join("f") || e.path() == tmp.join("f"))
        });
        assert!(
            reported,
            "f of round {} never reported: {:#?}",
            round, events
        );
        assert!(tree.wd_of(final_dir.join("sub")).is_some());
    }
    assert_matches_disk(&mut tree, &[dir.path()]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn replacing_by_rename_keeps_paths_and_descriptors_in_agreement() {
    let dir = TempDir::new();
    fs::create_dir(dir.join("target")).unwrap();
    fs::create_dir_all(dir.join("new/inside")).unwrap();
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    let inside = tree.wd_of(dir.join("new/inside")).unwrap();
    // `mv -T new target` over an empty directory.
    fs::rename(dir.join("new"), dir.join("target")).unwrap();
    touch(&dir.join("target/inside/x"));
    let events = synced(&mut tree);
    let x = named(&events, "x");
    assert_eq!(x.path(), dir.join("target/inside/x"));
    assert_eq!(tree.wd_of(dir.join("target/inside")), Some(inside));
    assert_eq!(tree.path_of(inside), Some(dir.join("target/inside")));
    assert_matches_disk(&mut tree, &[dir.path()]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn directories_renamed_right_after_creation_end_up_under_their_real_paths() {
    let dir = TempDir::new();
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    for i in 0..50 {
        let a = dir.join(format!("a{}", i));
        fs::create_dir(&a).unwrap();
        fs::rename(&a, dir.join(format!("b{}", i))).unwrap();
        // Another directory takes the old name at once.
        fs::create_dir(&a).unwrap();
        touch(&a.join("in-a"));
        touch(&dir.join(format!("b{}/in-b", i)));
    }
    let events = synced(&mut tree);
    let created = created_paths(&events);
    for i in 0..50 {
        for wanted in [format!("a{}/in-a", i), format!("b{}/in-b", i)] {
            assert!(
                created.contains(&dir.join(&wanted)),
                "{} not reported: {:#?}",
                wanted,
                events
            );
        }
    }
    for event in events.iter().filter(|e| e.name == OsStr::new("in-b")) {
        let parent = event
            .watch_path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(parent.starts_with('b'), "{:?}", event);
    }
    assert_matches_disk(&mut tree, &[dir.path()]);
}

/// Events read after the disk has moved on: a rename below a directory, then a rename of
/// that directory, both queued before the tree reads either. When the first is read the
/// directory's path names nothing; the tree must still end with every watch under its
/// real path, and report what it could not follow as a move.
#[test]
#[cfg_attr(miri, ignore)]
fn renames_read_after_a_rename_above_them_end_up_under_their_real_paths() {
    let dir = TempDir::new();
    fs::create_dir_all(dir.join("a/b/c/deep")).unwrap();
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    let c = tree.wd_of(dir.join("a/b/c")).unwrap();
    let deep = tree.wd_of(dir.join("a/b/c/deep")).unwrap();
    // All before the tree reads anything.
    fs::rename(dir.join("a/b/c"), dir.join("a/b/d")).unwrap();
    fs::create_dir(dir.join("a/b/new")).unwrap();
    touch(&dir.join("a/b/new/file"));
    fs::rename(dir.join("a"), dir.join("x")).unwrap();
    touch(&dir.join("x/b/d/deep/later"));
    let seen = synced(&mut tree);
    let later = named(&seen, "later");
    assert_eq!(later.path(), dir.join("x/b/d/deep/later"));
    // The same directories, with the same watches, under their new paths.
    assert_eq!(tree.wd_of(dir.join("x/b/d")), Some(c));
    assert_eq!(tree.wd_of(dir.join("x/b/d/deep")), Some(deep));
    assert!(
        created_paths(&seen).contains(&dir.join("x/b/new/file")),
        "the file in the directory made while its parent's path was out of date: {:#?}",
        seen
    );
    assert_matches_disk(&mut tree, &[dir.path()]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_tree_of_20000_directories_starts_and_recrawls_with_no_event_and_no_overflow() {
    let dir = TempDir::new();
    // Two per directory: 10,000 of them are listed, and the close of each comes twice
    // (its own watch, its parent's), more than the kernel queues by default.
    tree_support::make_tree(dir.path(), 19_999, 2);
    let flood = dir.join("flood");
    fs::create_dir(&flood).unwrap();
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    assert_eq!(tree.watch_count(), 20_001);
    let events = synced(&mut tree);
    assert!(
        events.is_empty(),
        "{} events, first {:?}",
        events.len(),
        events.first()
    );
    // Overflow the queue on purpose, with events nobody reads: then one overflow, one
    // re-crawl, and quiet again.
    let max = inotify_raw::Limits::read().unwrap().max_queued_events;
    for i in 0..=max {
        touch(&flood.join(format!("{}", i % 64)));
    }
    let events = synced(&mut tree);
    let overflows = events
        .iter()
        .filter(|e| e.mask.contains(EventMask::Q_OVERFLOW))
        .count();
    assert_eq!(overflows, 1, "the re-crawl made more");
    let noise = events.iter().filter(|e| {
        e.mask.contains(EventMask::ISDIR)
            && e.mask
                .intersects(EventMask::OPEN | EventMask::ACCESS | EventMask::CLOSE_NOWRITE)
    });
    assert_eq!(noise.count(), 0, "the re-crawl's listings leaked");
    assert!(synced(&mut tree).is_empty());
    assert_matches_disk(&mut tree, &[dir.path()]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn one_change_is_reported_once() {
    let dir = TempDir::new();
    fs::create_dir(dir.join("sub")).unwrap();
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    // chmod of a subdirectory: its parent reports it with a name, its own watch without.
    let sub = dir.join("sub");
    let mut permissions = fs::metadata(&sub).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o750);
    fs::set_permissions(&sub, permissions).unwrap();
    let events = synced(&mut tree);
    let attribs: Vec<&WatchEvent> = events
        .iter()
        .filter(|e| e.mask.contains(EventMask::ATTRIB))
        .collect();
    assert_eq!(attribs.len(), 1, "{:#?}", events);
    assert_eq!(attribs[0].path(), sub);
    assert_eq!(attribs[0].name, OsStr::new("sub"));
    // A self-only event is kept.
    fs::remove_dir(&sub).unwrap();
    assert_reported(&synced(&mut tree), EventMask::DELETE_SELF, &sub);
}

#[test]
#[cfg_attr(miri, ignore)]
fn after_an_overflow_the_watches_match_the_disk_and_new_directories_are_found() {
    let dir = TempDir::new();
    fs::create_dir_all(dir.join("old/gone")).unwrap();
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    let max = inotify_raw::Limits::read().unwrap().max_queued_events;
    for i in 0..=max {
        touch(&dir.join(format!("f{}", i % 64)));
    }
    // Made and removed while the queue is full: nothing of it is in the queue.
    fs::create_dir_all(dir.join("new/deeper")).unwrap();
    touch(&dir.join("new/deeper/held"));
    fs::remove_dir(dir.join("old/gone")).unwrap();
    let events = synced(&mut tree);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.mask.contains(EventMask::Q_OVERFLOW))
            .count(),
        1
    );
    for wanted in ["new", "new/deeper", "new/deeper/held"] {
        let path = dir.join(wanted);
        assert!(
            events
                .iter()
                .any(|e| e.origin == Origin::Scan && e.path() == path),
            "{} not found by a scan: {:#?}",
            wanted,
            events
                .iter()
                .filter(|e| e.origin == Origin::Scan)
                .collect::<Vec<_>>()
        );
    }
    assert_matches_disk(&mut tree, &[dir.path()]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_a_re_crawl_found_is_reported_when_a_rename_replaces_it() {
    let dir = TempDir::new();
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    tree_support::overflow_queue(dir.path());
    // Made while the queue is full: the re-crawl finds it.
    fs::create_dir(dir.join("new")).unwrap();
    let overflowed = synced(&mut tree);
    assert!(overflowed
        .iter()
        .any(|e| e.mask.contains(EventMask::Q_OVERFLOW)));
    fs::create_dir(dir.join("other")).unwrap();
    fs::rename(dir.join("other"), dir.join("new")).unwrap();
    let events = synced(&mut tree);
    let from = events
        .iter()
        .find(|e| e.mask.contains(EventMask::MOVED_FROM))
        .unwrap();
    assert_eq!(from.name, OsStr::new("other"));
    assert!(
        events.iter().any(|e| e.mask.contains(EventMask::MOVED_TO)
            && e.path() == dir.join("new")
            && e.cookie == from.cookie),
        "the move onto the found name is not reported: {:#?}",
        events
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn listings_whose_end_an_overflow_lost_hide_no_later_event() {
    let dir = TempDir::new();
    let outside = TempDir::new();
    // More directories than one read of the queue makes room for: the scan of the tree
    // moved in fills that room, and the ends of its later listings are lost.
    fs::create_dir(outside.join("m")).unwrap();
    tree_support::make_tree(&outside.join("m"), 3_000, 10);
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    fs::rename(outside.join("m"), dir.join("m")).unwrap();
    tree_support::overflow_queue(dir.path());
    let overflowed = synced(&mut tree);
    assert!(overflowed
        .iter()
        .any(|e| e.mask.contains(EventMask::Q_OVERFLOW)));
    // List every directory of it, 500 at a time (each listing queues six events): the
    // opening of each is reported, with its path.
    let dirs: Vec<PathBuf> = tree_support::disk_directories(&[&dir.join("m")])
        .into_keys()
        .collect();
    for chunk in dirs.chunks(500) {
        let mut waiting: BTreeSet<&PathBuf> = chunk.iter().collect();
        for sub in chunk {
            assert!(fs::read_dir(sub).unwrap().count() > 0);
        }
        let deadline = std::time::Instant::now() + tree_support::DEADLINE;
        while !waiting.is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "{} of {} openings not reported, e.g. {:?}",
                waiting.len(),
                chunk.len(),
                waiting.iter().next()
            );
            if let Some(event) = tree.next_event().unwrap() {
                if event.mask.contains(EventMask::OPEN) {
                    waiting.remove(&event.path.to_path_buf());
                }
            }
        }
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn roots_end_one_by_one_and_can_be_added_and_removed() {
    let a = TempDir::new();
    let b = TempDir::new();
    let c = TempDir::new();
    fs::create_dir(a.join("sub")).unwrap();
    let mut tree = quick_tree(&[a.path(), b.path()], WatchMask::ALL_EVENTS);
    // Deleted: an IN_IGNORED at the root's path ends it; the other goes on.
    fs::remove_dir_all(a.path()).unwrap();
    let events = synced(&mut tree);
    let ended = events
        .iter()
        .find(|e| e.mask.contains(EventMask::IGNORED))
        .unwrap_or_else(|| panic!("no IN_IGNORED: {:#?}", events));
    assert_eq!(ended.path(), a.path());
    assert_eq!(tree.roots(), [b.path().to_path_buf()]);
    touch(&b.join("still"));
    named(&synced(&mut tree), "still");
    // Added at run time.
    tree.add_root(c.path()).unwrap();
    touch(&c.join("new-root"));
    named(&synced(&mut tree), "new-root");
    // Removed at run time: nothing more from it.
    assert!(tree.remove_root(c.path()).unwrap());
    assert!(!tree.remove_root(c.path()).unwrap());
    touch(&c.join("after-removal"));
    assert!(synced(&mut tree)
        .iter()
        .all(|e| e.name != OsStr::new("after-removal")));
    // Moved away: the last root ends, and so does the stream.
    let moved = TempDir::new();
    let gone_to = moved.join("b-moved");
    fs::rename(b.path(), &gone_to).unwrap();
    let mut saw_end = false;
    loop {
        match tree.next_event() {
            Ok(Some(event)) if event.mask.contains(EventMask::IGNORED) => {
                assert_eq!(event.path, b.path());
                saw_end = true;
            }
            Ok(_) => {}
            Err(WatchError::Ended) => break,
            Err(error) => panic!("{}", error),
        }
    }
    assert!(saw_end);
    fs::rename(&gone_to, b.path()).unwrap();
    assert!(
        tree.events().next().is_none(),
        "the iterator ends with the stream"
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_that_vanishes_mid_scan_is_skipped_and_the_stream_goes_on() {
    let dir = TempDir::new();
    let mut tree = quick_tree(&[dir.path()], WatchMask::ALL_EVENTS);
    let churn = dir.path().to_path_buf();
    // The churn starts when the reading does, so that the two overlap.
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    let started = std::sync::Arc::clone(&start);
    let worker = std::thread::spawn(move || {
        started.wait();
        for i in 0..300 {
            let d = churn.join(format!("c{}", i % 7));
            let _ = fs::create_dir_all(d.join("x/y"));
            let _ = fs::remove_dir_all(&d);
        }
    });
    let mut events = 0;
    start.wait();
    while !worker.is_finished() {
        match tree.next_event() {
            Ok(Some(_)) => events += 1,
            Ok(None) => {}
            Err(error) => panic!("the stream ended: {}", error),
        }
    }
    worker.join().unwrap();
    events += synced(&mut tree).len();
    assert!(events > 0);
    assert_matches_disk(&mut tree, &[dir.path()]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn excluded_subtrees_cost_no_watch_and_no_listing() {
    let dir = TempDir::new();
    fs::create_dir_all(dir.join(".git/objects/aa")).unwrap();
    fs::create_dir_all(dir.join("src/target/debug")).unwrap();
    fs::create_dir_all(dir.join("src/lib")).unwrap();
    let mut tree = TreeWatcher::builder()
        .exclude(|_path, name| name == ".git" || name == "target")
        .watch([dir.path()])
        .unwrap();
    tree.set_block_duration(Some(Duration::from_millis(20)));
    let mut watched: Vec<PathBuf> = tree.watches().into_iter().map(|(_, p)| p).collect();
    watched.sort();
    assert_eq!(
        watched,
        [
            dir.path().to_path_buf(),
            dir.join("src"),
            dir.join("src/lib")
        ]
    );
    // Nor one made later, or renamed to an excluded name.
    fs::create_dir_all(dir.join("src/lib/target/x")).unwrap();
    fs::create_dir(dir.join("src/lib/soon")).unwrap();
    synced(&mut tree);
    fs::rename(dir.join("src/lib/soon"), dir.join("src/lib/.git")).unwrap();
    synced(&mut tree);
    let mut watched: Vec<PathBuf> = tree.watches().into_iter().map(|(_, p)| p).collect();
    watched.sort();
    assert_eq!(
        watched,
        [
            dir.path().to_path_buf(),
            dir.join("src"),
            dir.join("src/lib")
        ]
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn only_events_in_the_mask_are_yielded() {
    let dir = TempDir::new();
    let mut tree = quick_tree(&[dir.path()], WatchMask::CLOSE_WRITE);
    fs::create_dir_all(dir.join("a/b")).unwrap();
    fs::write(dir.join("a/b/file"), b"x").unwrap();
    fs::rename(dir.join("a/b/file"), dir.join("a/file2")).unwrap();
    fs::remove_file(dir.join("a/file2")).unwrap();
    // What was written before the new directories' watches existed cannot be seen
    // closing (only found, as an IN_CREATE, which is not asked for here).
    let early = synced(&mut tree);
    fs::write(dir.join("a/b/second"), b"y").unwrap();
    let events = [early, synced(&mut tree)].concat();
    assert!(
        events
            .iter()
            .all(|e| e.mask.contains(EventMask::CLOSE_WRITE)),
        "{:#?}",
        events
    );
    // The tree still followed the new directories it never reported.
    assert!(events.iter().any(|e| e.path() == dir.join("a/b/second")));
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_missing_root_or_a_file_is_an_error_that_names_it() {
    let dir = TempDir::new();
    let missing = dir.join("missing");
    let error = TreeWatcher::new(&missing).unwrap_err();
    assert!(
        error.to_string().contains(missing.to_str().unwrap()),
        "{}",
        error
    );
    touch(&dir.join("file"));
    let error = TreeWatcher::new(dir.join("file")).unwrap_err();
    assert_eq!(
        inotify_raw::Errno::from_error(&error),
        Some(inotify_raw::Errno::ENOTDIR)
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn the_descriptor_can_be_polled_and_drained_without_blocking() {
    use std::os::unix::io::AsFd;
    let dir = TempDir::new();
    let mut tree = quick_tree(&[dir.path()], WatchMask::CREATE);
    assert!(tree.try_next_event().unwrap().is_none(), "nothing yet");
    touch(&dir.join("one"));
    touch(&dir.join("two"));
    assert!(common::wait_readable(&tree.as_fd(), common::EVENT_TIMEOUT));
    let mut names = Vec::new();
    while let Some(event) = tree.try_next_event().unwrap() {
        names.push(event.name.unwrap().to_os_string());
    }
    assert_eq!(names, [OsStr::new("one"), OsStr::new("two")]);
}

#[test]
#[cfg_attr(miri, ignore)]
fn the_loop_can_add_roots_between_events() {
    let a = TempDir::new();
    let b = TempDir::new();
    let mut tree = quick_tree(&[a.path()], WatchMask::CREATE);
    touch(&a.join("go"));
    let mut events = tree.events().yield_nones(false);
    let b_path: &Path = b.path();
    let mut added = false;
    let mut seen_b = false;
    while let Some(event) = events.next() {
        let event = event.unwrap().unwrap();
        if event.name == OsStr::new("go") && !added {
            events.get_mut().add_root(b_path).unwrap();
            touch(&b_path.join("in-b"));
            added = true;
        }
        if event.name == OsStr::new("in-b") {
            seen_b = true;
            break;
        }
    }
    assert!(seen_b);
}

/// Runs `true` again and again on a thread of its own until stopped: every run forks
/// this process, and the child holds a copy of each descriptor open at that moment
/// until its `exec` closes it.
struct Forker {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<usize>,
}

impl Forker {
    fn start() -> Forker {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut runs = 0;
            while !stopped.load(Ordering::Relaxed) {
                let mut child = common::spawn_past_exec(&mut std::process::Command::new("true"));
                assert!(child.wait().unwrap().success(), "true failed");
                runs += 1;
            }
            runs
        });
        Forker { stop, thread }
    }

    /// Stops, once every child has exited (and so closed what it held): how many ran.
    fn stop(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the forking thread")
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn listings_make_no_event_even_when_a_forked_child_closes_them_late() {
    // Before the tree counted its listings' closes, 6 to 27 of them came through in
    // 60 rounds.
    const ROUNDS: usize = 60;
    let dir = TempDir::new();
    tree_support::make_tree(dir.path(), 300, 3);
    // The test opens no directory itself: any of these is the tree's own.
    let is_listing = |e: &WatchEvent| {
        e.mask
            .intersects(EventMask::OPEN | EventMask::ACCESS | EventMask::CLOSE_NOWRITE)
            && (e.mask.contains(EventMask::ISDIR) || e.name.is_empty())
    };
    let (mut leaks, mut forks) = (Vec::new(), 0);
    for round in 0..ROUNDS {
        let forker = Forker::start();
        // Listed by the crawl.
        let mut tree = TreeWatcher::new(dir.path()).unwrap();
        // Listed by scans, as their creation is read.
        let new = dir.join(format!("new{}", round));
        fs::create_dir(&new).unwrap();
        tree_support::make_tree(&new, 30, 3);
        let mut events = synced(&mut tree);
        forks += forker.stop();
        events.extend(synced(&mut tree));
        leaks.extend(events.into_iter().filter(is_listing));
        drop(tree);
        fs::remove_dir_all(&new).unwrap();
    }
    assert!(
        forks >= ROUNDS,
        "only {} children in {} rounds",
        forks,
        ROUNDS
    );
    assert!(
        leaks.is_empty(),
        "{} events of the tree's own listings in {} rounds ({} children), e.g. {:#?}",
        leaks.len(),
        ROUNDS,
        forks,
        &leaks[..leaks.len().min(4)]
    );
}
