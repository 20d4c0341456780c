//! `TreeWatcher` and `FsWatcher` (std) against the kernel: `mkdir -p a/b/c && touch
//! a/b/c/f` gives four creations, each once; a rename of `a` is one pair of moves, and
//! what is made below it afterwards has the new path.

use std::fs;
use std::path::{Path, PathBuf};

use std::time::Duration;

use inotify_raw::{EventMask, FsWatcher, TreeWatcher, WatchError, WatchEventRef, WatchMask};

use crate::check::{ensure, skip, Context, Failure, Outcome, TIMEOUT};
use crate::system::Mounted;

/// An event as (mask, path below the root).
type Made = (EventMask, PathBuf);

/// What both watchers do: a barrier, and reads of what is in hand.
trait Watching {
    fn sync(&mut self, timeout: Duration) -> Result<(), WatchError>;
    fn try_next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError>;
}

impl Watching for TreeWatcher {
    fn sync(&mut self, timeout: Duration) -> Result<(), WatchError> {
        TreeWatcher::sync(self, timeout)
    }
    fn try_next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        TreeWatcher::try_next_event(self)
    }
}

impl Watching for FsWatcher {
    fn sync(&mut self, timeout: Duration) -> Result<(), WatchError> {
        FsWatcher::sync(self, timeout)
    }
    fn try_next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        FsWatcher::try_next_event(self)
    }
}

/// Everything the watcher has read up to a barrier (`sync`) made now.
fn drain_to_barrier(watcher: &mut impl Watching, root: &Path) -> Result<Vec<Made>, Failure> {
    watcher.sync(TIMEOUT)?;
    let mut made = Vec::new();
    while let Some(event) = watcher.try_next_event()? {
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
    let mut tree = TreeWatcher::with_mask([root], MASK)?;
    let line = make_and_move(&mut tree, root)?;
    let watched = tree.watch_count();
    ensure(watched == 4, || {
        format!("{watched} watches, expected 4 (the root, a, a/b, a/b/c)")
    })?;
    Ok(format!("{line}; {watched} watches"))
}

/// The same on `FsWatcher`, on a tmpfs of its own: one file-system mark, no watches.
pub fn fs_watcher_follows_a_move(cx: &Context<'_>) -> Outcome {
    if !cx.settings.as_root {
        return Err(skip("fanotify needs CAP_SYS_ADMIN: run as root"));
    }
    let root = cx.dir.join("tmpfs");
    fs::create_dir(&root)?;
    let _tmpfs = Mounted::tmpfs(&root)?;
    let mut watcher = FsWatcher::builder().mask(MASK).watch([&root])?;
    let line = make_and_move(&mut watcher, &root)?;
    Ok(format!("{line}; one file-system mark"))
}

const MASK: WatchMask = WatchMask::CREATE
    .union(WatchMask::MOVED_FROM)
    .union(WatchMask::MOVED_TO);

/// `mkdir -p a/b/c && touch a/b/c/f`, then `a` renamed to `z` and `z/b/c/g` made.
fn make_and_move(watcher: &mut impl Watching, root: &Path) -> Outcome {
    fs::create_dir_all(root.join("a/b/c"))?;
    fs::write(root.join("a/b/c/f"), b"")?;
    let dir = EventMask::CREATE | EventMask::ISDIR;
    expect(
        &drain_to_barrier(watcher, root)?,
        &[
            (dir, "a"),
            (dir, "a/b"),
            (dir, "a/b/c"),
            (EventMask::CREATE, "a/b/c/f"),
        ],
    )?;
    fs::rename(root.join("a"), root.join("z"))?;
    fs::write(root.join("z/b/c/g"), b"")?;
    expect(
        &drain_to_barrier(watcher, root)?,
        &[
            (EventMask::MOVED_FROM | EventMask::ISDIR, "a"),
            (EventMask::MOVED_TO | EventMask::ISDIR, "z"),
            (EventMask::CREATE, "z/b/c/g"),
        ],
    )?;
    Ok(
        "mkdir -p a/b/c && touch a/b/c/f: four creations; a renamed to z: one pair of \
        moves, then z/b/c/g created below the new name"
            .to_string(),
    )
}
