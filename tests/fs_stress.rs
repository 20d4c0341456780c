//! The seeded stress test of `tests/tree_stress.rs`, run on `FsWatcher` on a tmpfs of its
//! own (see `tests/stress_support`): threads race random operations against the reader,
//! and at quiescence every delivered path existed (**no phantom path**), the delivered
//! events replayed give the tree on disk (**replay consistency**; a directory moved in is
//! reported by its `IN_MOVED_TO` alone, so the replay puts there what it held, as a
//! reader that lists it would), and each creation is reported where it was made
//! (**paths as of the event**). `FsWatcher` lists nothing, so it has no listing races:
//! the three checks always fail the test.
//!
//! Knobs: `FS_STRESS_SEEDS` (comma-separated), `FS_STRESS_WORKERS` (default 3),
//! `FS_STRESS_OPERATIONS` (per worker, default 2000), `FS_STRESS_LOG` (a file for every
//! operation and event of a failed round), `FS_STRESS_TRACE_NAMES`.
#![cfg(feature = "std")]

mod common;
mod fs_support;
mod stress_support;

use std::time::Duration;

use fs_support::{described, fs_watcher_tmpfs, root_watched, sh, synced};
use inotify_raw::{FsWatcher, WatchMask};
use stress_support::{stress_round, Settings};

#[test]
#[cfg_attr(miri, ignore)]
fn random_operations_racing_the_reader_give_paths_as_of_each_event() {
    let settings = Settings {
        prefix: "FS_STRESS",
        arrival_alone: true,
    };
    let workers = settings.number("WORKERS", 3);
    let operations = settings.number("OPERATIONS", 2000);
    for seed in settings.seeds(&[1, 2, 3, 4, 5, 0x5eed]) {
        let tmpfs = match fs_watcher_tmpfs() {
            Some(tmpfs) => tmpfs,
            None => return,
        };
        let root = tmpfs.join("root");
        let outside = tmpfs.join("outside");
        std::fs::create_dir(&root).unwrap();
        std::fs::create_dir(&outside).unwrap();
        stress_round(
            &settings,
            seed,
            (workers, operations),
            (&root, &outside),
            |root| {
                let mut watcher = FsWatcher::builder()
                    .mask(WatchMask::ALL_EVENTS)
                    .watch([root])
                    .unwrap_or_else(|error| panic!("FsWatcher: {}", error));
                watcher.set_block_duration(Some(Duration::from_millis(20)));
                watcher
            },
            |_| {},
        );
    }
}

// What the stress test found, each alone.

/// A directory made outside the roots and moved in before its events were read: what was
/// made in it before is not reported (it is not where the events say).
#[test]
fn what_is_made_in_a_directory_before_it_moves_in_is_not_reported() {
    let mask = WatchMask::CREATE | WatchMask::MOVE;
    let (_tmpfs, root, mut watcher) = match root_watched(mask, "true") {
        Some(watched) => watched,
        None => return,
    };
    sh(
        &root,
        "mkdir -p ../away/x/sub && touch ../away/x/sub/f && mv ../away/x x && touch x/g",
    );
    assert_eq!(
        described(&synced(&mut watcher), &root),
        ["IN_MOVED_TO|IN_ISDIR x", "IN_CREATE x/g"]
    );
}

/// The kernel merges a directory's deletion into its creation while that is still
/// queued, when one process made both (so not through `sh`): the events inside it,
/// queued between the two, come after the merged event.
#[test]
fn a_directory_made_and_deleted_before_its_creation_is_read_keeps_the_events_inside_it() {
    let mask = WatchMask::CREATE | WatchMask::DELETE | WatchMask::MOVE;
    let (_tmpfs, root, mut watcher) = match root_watched(mask, "true") {
        Some(watched) => watched,
        None => return,
    };
    std::fs::create_dir(root.join("d")).unwrap();
    std::fs::File::create(root.join("d/f")).unwrap();
    std::fs::rename(root.join("d/f"), root.join("g")).unwrap();
    std::fs::remove_dir(root.join("d")).unwrap();
    assert_eq!(
        described(&synced(&mut watcher), &root),
        [
            "IN_CREATE|IN_ISDIR d",
            "IN_DELETE|IN_ISDIR d",
            "IN_CREATE d/f",
            "IN_MOVED_FROM d/f",
            "IN_MOVED_TO g",
        ]
    );
}
