//! Exclusion in a `TreeWatcher`: an excluded directory is outside the tree, whatever
//! renames take it out or bring it back. Nothing that happens below an excluded name is
//! delivered. The excluded directory is itself an entry of a watched directory: its
//! creation and deletion are delivered, whether the kernel reports it or a scan finds
//! it, like a file's. A rename to or from an excluded name is a move out of or into the
//! tree: a directory that comes back is reported once, with what it holds.
#![cfg(feature = "std")]

mod common;
mod tree_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::TempDir;
use inotify_raw::{EventMask, Origin, TreeWatcher, WatchEvent};
use tree_support::{assert_matches_disk, touch};

const TIMEOUT: Duration = Duration::from_secs(60);

fn excluding_git(root: &Path) -> TreeWatcher {
    TreeWatcher::builder()
        .exclude(|_path, name| name == ".git" || name == "node_modules")
        .watch([root])
        .unwrap()
}

/// Every event up to a barrier, and a quiet read after it.
fn drain(tree: &mut TreeWatcher) -> Vec<WatchEvent> {
    tree.sync(TIMEOUT).unwrap();
    let mut events = Vec::new();
    for _ in 0..2 {
        while let Some(event) = tree.try_next_event().unwrap() {
            events.push(event.to_owned_event());
        }
    }
    events
}

/// The events that say what exists: creations, deletions, moves.
fn structure(events: &[WatchEvent], root: &Path) -> Vec<(EventMask, PathBuf, Origin)> {
    let wanted =
        EventMask::CREATE | EventMask::DELETE | EventMask::MOVED_FROM | EventMask::MOVED_TO;
    events
        .iter()
        .filter(|e| e.mask.intersects(wanted))
        .map(|e| {
            (
                e.mask,
                e.path().strip_prefix(root).unwrap().to_path_buf(),
                e.origin,
            )
        })
        .collect()
}

/// `mv lib/stuff lib/.git`, a write below it, `mv lib/.git lib/stuff`, all before the
/// tree reads: the caller sees `stuff` leave, and come back once with what it holds.
/// The write made while it was excluded is never delivered as such.
#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_renamed_to_an_excluded_name_and_back_is_reported_once() {
    let dir = TempDir::new();
    let root = dir.path();
    fs::create_dir_all(root.join("lib/stuff/inner")).unwrap();
    touch(&root.join("lib/stuff/inner/old"));
    let mut tree = excluding_git(root);
    fs::rename(root.join("lib/stuff"), root.join("lib/.git")).unwrap();
    fs::write(root.join("lib/.git/inner/early"), b"while excluded").unwrap();
    fs::rename(root.join("lib/.git"), root.join("lib/stuff")).unwrap();
    let events = drain(&mut tree);
    let seen = structure(&events, root);
    let dir_moved = EventMask::MOVED_FROM | EventMask::ISDIR;
    let dir_arrived = EventMask::MOVED_TO | EventMask::ISDIR;
    let expected = [
        (dir_moved, PathBuf::from("lib/stuff"), Origin::Kernel),
        (dir_arrived, PathBuf::from("lib/stuff"), Origin::Kernel),
        (
            EventMask::CREATE | EventMask::ISDIR,
            PathBuf::from("lib/stuff/inner"),
            Origin::Scan,
        ),
    ];
    assert_eq!(seen[..3], expected[..], "{:#?}", events);
    let mut files: Vec<&Path> = seen[3..]
        .iter()
        .map(|(_, path, _)| path.as_path())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            Path::new("lib/stuff/inner/early"),
            Path::new("lib/stuff/inner/old")
        ]
    );
    assert!(seen[3..]
        .iter()
        .all(|(mask, _, origin)| *mask == EventMask::CREATE && *origin == Origin::Scan));
    assert!(
        !events
            .iter()
            .any(|e| e.path().to_string_lossy().contains(".git")),
        "nothing at or below the excluded name: {:#?}",
        events
    );
    assert!(
        !events.iter().any(|e| e
            .mask
            .intersects(EventMask::MODIFY | EventMask::CLOSE_WRITE)),
        "the write made while excluded: {:#?}",
        events
    );
    assert_matches_disk(&mut tree, &[root]);
}

/// An excluded directory's own creation is delivered whether the kernel reports it or a
/// scan finds it, and so is its deletion; nothing below it is.
#[test]
#[cfg_attr(miri, ignore)]
fn an_excluded_directory_is_reported_itself_the_same_way_always() {
    let dir = TempDir::new();
    let root = dir.path();
    fs::create_dir(root.join("lib")).unwrap();
    let mut tree = excluding_git(root);
    // Made in a watched directory: the kernel reports it.
    fs::create_dir(root.join("lib/node_modules")).unwrap();
    // Made inside a new directory: a scan finds it.
    fs::create_dir_all(root.join("newproj/.git/objects")).unwrap();
    touch(&root.join("newproj/.git/HEAD"));
    touch(&root.join("newproj/README"));
    let events = drain(&mut tree);
    fs::remove_dir(root.join("lib/node_modules")).unwrap();
    let events = [events, drain(&mut tree)].concat();
    let seen: Vec<(EventMask, PathBuf)> = structure(&events, root)
        .into_iter()
        .map(|(mask, path, _)| (mask, path))
        .collect();
    let dir_made = EventMask::CREATE | EventMask::ISDIR;
    let mut expected = vec![
        (dir_made, PathBuf::from("lib/node_modules")),
        (dir_made, PathBuf::from("newproj")),
        (dir_made, PathBuf::from("newproj/.git")),
        (EventMask::CREATE, PathBuf::from("newproj/README")),
        (
            EventMask::DELETE | EventMask::ISDIR,
            PathBuf::from("lib/node_modules"),
        ),
    ];
    // A scan reports what it finds in the order of the listing.
    let mut seen_sorted = seen.clone();
    seen_sorted[2..4.min(seen.len())].sort();
    expected[2..4].sort();
    assert_eq!(seen_sorted, expected, "{:#?}", events);
}

/// A directory renamed to an excluded name leaves the tree at once: it is no longer
/// watched, and the two counts agree.
#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_renamed_to_an_excluded_name_is_let_go_at_once() {
    let dir = TempDir::new();
    let root = dir.path();
    fs::create_dir_all(root.join("lib/stuff/a/b")).unwrap();
    let mut tree = excluding_git(root);
    assert_eq!(tree.watch_count(), 5);
    fs::rename(root.join("lib/stuff"), root.join("lib/.git")).unwrap();
    // Both halves are queued: one read holds them. The first is delivered, the second
    // (the excluded name) is followed, and the batch ends: no quiet wait, no barrier.
    let event = tree.next_event().unwrap().map(|e| e.to_owned_event());
    assert_eq!(
        event.map(|e| e.mask),
        Some(EventMask::MOVED_FROM | EventMask::ISDIR)
    );
    assert!(tree.next_event().unwrap().is_none());
    assert_eq!(tree.watch_count(), 2, "root and lib");
    assert_eq!(tree.watches().len(), 2);
    let mut watched: Vec<PathBuf> = tree.watches().into_iter().map(|(_, p)| p).collect();
    watched.sort();
    assert_eq!(watched, [root.to_path_buf(), root.join("lib")]);
}
