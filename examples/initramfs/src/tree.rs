//! `TreeWatcher` (std) against the kernel: `mkdir -p a/b/c && touch a/b/c/f` gives four
//! creations, each once; a rename of `a` is one pair of moves, and what is made below it
//! afterwards has the new path.

use std::fs;
use std::path::{Path, PathBuf};

use inotify_raw::{EventMask, TreeWatcher, WatchMask};

use crate::check::{ensure, Context, Failure, Outcome, TIMEOUT};

/// An event as (mask, path below the root).
type Made = (EventMask, PathBuf);

/// Everything the tree has read up to a barrier (`sync`) made now.
fn drain_to_barrier(tree: &mut TreeWatcher, root: &Path) -> Result<Vec<Made>, Failure> {
    tree.sync(TIMEOUT)?;
    let mut made = Vec::new();
    while let Some(event) = tree.try_next_event()? {
        let below = event.path.strip_prefix(root).unwrap_or(event.path);
        made.push((event.mask, below.to_path_buf()));
    }
    Ok(made)
}

fn expect(made: &[Made], expected: &[(EventMask, &str)]) -> Result<(), Failure> {
    let matches = made.len() == expected.len()
        && made
            .iter()
            .zip(expected)
            .all(|((mask, path), (want_mask, want_path))| {
                mask == want_mask && path == Path::new(want_path)
            });
    ensure(matches, || {
        format!("events {made:?}, expected {expected:?}")
    })
}

pub fn new_tree_and_move(cx: &Context<'_>) -> Outcome {
    let root = &cx.dir;
    let mask = WatchMask::CREATE | WatchMask::MOVED_FROM | WatchMask::MOVED_TO;
    let mut tree = TreeWatcher::with_mask([root], mask)?;
    fs::create_dir_all(root.join("a/b/c"))?;
    fs::write(root.join("a/b/c/f"), b"")?;
    let dir = EventMask::CREATE | EventMask::ISDIR;
    expect(
        &drain_to_barrier(&mut tree, root)?,
        &[
            (dir, "a"),
            (dir, "a/b"),
            (dir, "a/b/c"),
            (EventMask::CREATE, "a/b/c/f"),
        ],
    )?;
    let watched = tree.watch_count();
    ensure(watched == 4, || {
        format!("{watched} watches, expected 4 (the root, a, a/b, a/b/c)")
    })?;

    fs::rename(root.join("a"), root.join("z"))?;
    fs::write(root.join("z/b/c/g"), b"")?;
    expect(
        &drain_to_barrier(&mut tree, root)?,
        &[
            (EventMask::MOVED_FROM | EventMask::ISDIR, "a"),
            (EventMask::MOVED_TO | EventMask::ISDIR, "z"),
            (EventMask::CREATE, "z/b/c/g"),
        ],
    )?;
    Ok(format!(
        "mkdir -p a/b/c && touch a/b/c/f: four creations, {watched} watches; a renamed to z: \
         one pair of moves, then z/b/c/g created below the new name"
    ))
}
