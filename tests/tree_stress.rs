//! A seeded stress test of `TreeWatcher`: threads race thousands of random operations
//! (mkdir, mkdir -p, rmdir, rm -r, moves within, in and out, directories renamed right
//! after creation, file creations) against the reader; the round and its checks are in
//! `tests/stress_support`. At quiescence it checks:
//! - **the watches**: exactly the directories on disk, by path and by inode;
//! - **no phantom path**, **replay consistency** and **paths as of the event**.
//!
//! Every check fails the test, natively and under an emulator (qemu-user, the aarch64
//! CI), where the reader falls behind the writers as it does natively only when slowed
//! down (`TREE_STRESS_READER_DELAY_US`).
//!
//! Seeds: `TREE_STRESS_SEEDS` (comma-separated), or a fixed list. A failure names its
//! seed and prints a trace: the operations and events about the names involved (and
//! about those in `TREE_STRESS_TRACE_NAMES`, comma-separated); with `TREE_STRESS_LOG`
//! set to a file name, every operation and event of a failed round is written there.
//! `TREE_STRESS_WORKERS` (default 3) and `TREE_STRESS_OPERATIONS` (per worker, default
//! 1500) make a round harder.
#![cfg(feature = "std")]

mod common;
mod stress_support;
mod tree_support;

use common::TempDir;
use inotify_raw::WatchMask;
use stress_support::{stress_round, Settings};
use tree_support::{assert_matches_disk, quick_tree};

/// Runs in every `cargo test` (x86_64, aarch64 under qemu-user, musl, both backends) with
/// the fixed seeds; `TREE_STRESS_SEEDS` replays or widens it.
#[test]
#[cfg_attr(miri, ignore)]
fn random_operations_racing_the_reader_leave_the_tree_right() {
    let settings = Settings {
        prefix: "TREE_STRESS",
        arrival_alone: false,
    };
    let workers = settings.number("WORKERS", 3);
    let operations = settings.number("OPERATIONS", 1500);
    for seed in settings.seeds(&[1, 2, 3, 0x5eed]) {
        let root = TempDir::new();
        let outside = TempDir::new();
        stress_round(
            &settings,
            seed,
            (workers, operations),
            (root.path(), outside.path()),
            |root| quick_tree(&[root], WatchMask::ALL_EVENTS),
            |tree| assert_matches_disk(tree, &[root.path()]),
        );
    }
}
