//! A differential test: the same operations, watched at once by `TreeWatcher` and by
//! `FsWatcher` (the same root on a tmpfs of the test's own, the same mask and
//! exclusion), give the same events. Operations are made one at a time, each followed by
//! a `sync` of both, and each operation's events are compared after this normalisation,
//! which covers what the two may honestly do differently:
//! - **Per path**: each side's events are grouped by path (below the root). The order
//!   between paths is not compared: fanotify merges a later event into a queued one on
//!   the same entry, which moves it ahead of other paths' events.
//! - **Entry events** (`IN_CREATE`, `IN_DELETE`, `IN_MOVED_FROM`, `IN_MOVED_TO`,
//!   `IN_DELETE_SELF`, `IN_MOVE_SELF`, `IN_IGNORED`, ...) are compared in order at each
//!   path, a repeat of the same kind right after itself counted once.
//! - **Content events** (`IN_OPEN`, `IN_ACCESS`, `IN_MODIFY`, `IN_ATTRIB`,
//!   `IN_CLOSE_WRITE`, `IN_CLOSE_NOWRITE`) are compared as a set at each path: merged
//!   events come split in a fixed order (a truncating open's `IN_MODIFY` comes before its
//!   `IN_OPEN` from inotify, after it from `FsWatcher`).
//! - **Directory reads** (`IN_OPEN`, `IN_ACCESS`, `IN_CLOSE_NOWRITE` with `IN_ISDIR`) are
//!   left out on both sides: `FsWatcher` sees `TreeWatcher`'s own listings.
//! - **Moves**: a cookie is compared as the pairing it makes (the path at the other end,
//!   or none), not as a value; `wd` is not compared (`FsWatcher` has no watches).
//! - **`TreeWatcher`'s scans** (`Origin::Scan`): a creation it found by listing a new
//!   directory counts as the `IN_CREATE` it stands for where `FsWatcher` reports a
//!   creation at that path; there the tree may have missed the entry's content events
//!   (they came before its watch), so its set need only be within `FsWatcher`'s. Other
//!   scan events (what a directory moved in holds, which `FsWatcher` reports by the
//!   `IN_MOVED_TO` alone) are left out.
//! - **The tree's late watches**: `TreeWatcher` watches a directory from when it reads
//!   its creation (or arrival); what happens inside it before then reaches the tree only
//!   as what its listing finds, and its own `IN_DELETE_SELF` and `IN_MOVE_SELF` not at
//!   all. So where the two differ only below directories made or moved in during the
//!   operation, and in the own events of directories made during it, the operation is
//!   compared by its net effect instead: each side's events, replayed on the tree as it
//!   was before (a directory moved in holding what the disk shows below it after), give
//!   the tree on disk after. Each test prints how many operations were compared which
//!   way.
//!
//! A failure names the operation (and the seed, for the random sequence) and prints both
//! streams. `FS_DIFFERENTIAL_SEEDS` (comma-separated) and `FS_DIFFERENTIAL_OPERATIONS`
//! (per seed, default 250) widen the random sequence.
#![cfg(feature = "std")]

mod common;
mod fs_support;
mod stress_support;
mod tree_support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use fs_support::{fs_watcher_tmpfs, root_watched, Tmpfs};
use inotify_raw::{EventMask, FsWatcher, Origin, TreeWatcher, WatchEvent, WatchMask};
use stress_support::{disk_model, Model, Replay, Rng, Settings, World};

/// What each side delivered at one path for one operation.
#[derive(Debug, Default, PartialEq, Eq)]
struct AtPath {
    /// The entry events, in order, a repeat right after itself counted once.
    entries: Vec<String>,
    /// The content events.
    content: BTreeSet<String>,
}

/// One side's events of one operation, by path below the root.
type Summary = BTreeMap<PathBuf, AtPath>;

const CONTENT: EventMask = EventMask::OPEN
    .union(EventMask::ACCESS)
    .union(EventMask::MODIFY)
    .union(EventMask::ATTRIB)
    .union(EventMask::CLOSE_WRITE)
    .union(EventMask::CLOSE_NOWRITE);

const DIRECTORY_READS: EventMask = EventMask::OPEN
    .union(EventMask::ACCESS)
    .union(EventMask::CLOSE_NOWRITE);

/// Both watchers of one root, and the tmpfs it is on.
struct Both {
    _tmpfs: Tmpfs,
    root: PathBuf,
    away: PathBuf,
    tree: TreeWatcher,
    fs: FsWatcher,
    /// The tree on disk after the last operation.
    disk: Model,
    /// How many operations were compared event by event, and by their net effect.
    exact: usize,
    by_effect: usize,
}

/// Leaves out every directory called `skip`, and (for the random sequence) those whose
/// name ends in 7.
fn skip_excluded(_parent: &Path, name: &OsStr) -> bool {
    name == "skip" || name.to_string_lossy().ends_with('7')
}

impl Both {
    /// A tmpfs with `root` and `away` (beside it), `setup` run in `root` first, and both
    /// watchers of `root` for `mask`, leaving out what `skip_excluded` says; `None` where
    /// fanotify cannot run here.
    fn new(mask: WatchMask, setup: impl FnOnce(&Path, &Path)) -> Option<Both> {
        let tmpfs = fs_watcher_tmpfs()?;
        let root = tmpfs.join("root");
        let away = tmpfs.join("away");
        fs::create_dir(&root).unwrap();
        fs::create_dir(&away).unwrap();
        setup(&root, &away);
        let mut tree = TreeWatcher::builder()
            .mask(mask)
            .exclude(skip_excluded)
            .watch([&root])
            .expect("TreeWatcher");
        tree.set_block_duration(Some(std::time::Duration::from_millis(20)));
        let fs = FsWatcher::builder()
            .mask(mask)
            .exclude(skip_excluded)
            .watch([&root])
            .expect("FsWatcher");
        let disk = visible(&root);
        Some(Both {
            _tmpfs: tmpfs,
            root,
            away,
            tree,
            fs,
            disk,
            exact: 0,
            by_effect: 0,
        })
    }

    /// Makes `operation`, then checks that both watchers gave the same events for it;
    /// `what` names it in a failure.
    fn check(&mut self, what: &str, operation: impl FnOnce(&Path, &Path)) {
        // No program starts meanwhile: a child holding a file this operation closes
        // would make its close come late, to one watcher and not the other.
        let forks = fs_support::forks_held();
        operation(&self.root, &self.away);
        let tree = tree_support::synced(&mut self.tree);
        let fs = fs_support::synced(&mut self.fs);
        drop(forks);
        let before = std::mem::replace(&mut self.disk, visible(&self.root));
        let fs_summary = summary(&fs, &self.root, None);
        let tree_summary = summary(&tree, &self.root, Some(&fs_summary));
        let differences = differences(&tree_summary, &fs_summary);
        let fail = |why: &str, lines: &[String]| -> ! {
            panic!(
                "{}: {}\n{}\nTreeWatcher:\n{}FsWatcher:\n{}",
                what,
                why,
                lines.join("\n"),
                listed(&tree, &self.root),
                listed(&fs, &self.root)
            )
        };
        if differences.is_empty() {
            self.exact += 1;
            return;
        }
        let late = LateWatches::of(&tree, &fs, &self.root);
        let unexplained: Vec<String> = differences
            .iter()
            .filter(|(path, _)| !late.explains(path, &tree_summary, &fs_summary))
            .map(|(_, line)| line.clone())
            .collect();
        if !unexplained.is_empty() {
            fail("the watchers differ at", &unexplained);
        }
        for (side, events) in [("TreeWatcher", &tree), ("FsWatcher", &fs)] {
            let replayed = replayed(events, &self.root, &before, &self.disk);
            if replayed != self.disk {
                let only = |a: &Model, b: &Model| -> Vec<PathBuf> {
                    a.0.keys()
                        .filter(|p| !b.0.contains_key(*p))
                        .cloned()
                        .collect()
                };
                let why = format!(
                    "the watchers differ inside new directories, and {}'s events do not \
                     replay to the disk: only in the replay {:?}, only on disk {:?}",
                    side,
                    only(&replayed, &self.disk),
                    only(&self.disk, &replayed)
                );
                let lines: Vec<String> = differences.iter().map(|(_, l)| l.clone()).collect();
                fail(&why, &lines);
            }
        }
        self.by_effect += 1;
    }
}

impl Drop for Both {
    fn drop(&mut self) {
        eprintln!(
            "{} operations compared event by event, {} by their net effect (the tree \
             watched a new directory late)",
            self.exact, self.by_effect
        );
    }
}

/// What the watchers can report below `root`: what is on disk, less what lies below an
/// excluded directory.
fn visible(root: &Path) -> Model {
    let mut model = disk_model(root);
    model.0.retain(|path, _| {
        let mut parents = path.ancestors().skip(1);
        !parents.any(|dir| {
            let name = dir.file_name().unwrap_or_default();
            skip_excluded(dir, name)
        })
    });
    model
}

/// `events` replayed on `before`: a directory moved in holds what `after` has below it.
fn replayed(events: &[WatchEvent], root: &Path, before: &Model, after: &Model) -> Model {
    let mut arrived_with = HashMap::new();
    for event in events {
        if event.mask.contains(EventMask::MOVED_TO | EventMask::ISDIR) {
            let held = after.clone().take(&below(event, root));
            arrived_with.insert(event.name.to_string_lossy().into_owned(), held);
        }
    }
    let mut replay = Replay::on(before.clone());
    for event in events {
        replay.take(event, &below(event, root), Some(&arrived_with));
    }
    replay.model
}

/// The directories `TreeWatcher` may have watched late in one operation.
struct LateWatches {
    /// Made or moved in during it: what lies below may differ.
    new: BTreeSet<PathBuf>,
    /// Made during it (and where it moved): its own events may be missing.
    made: BTreeSet<PathBuf>,
}

impl LateWatches {
    fn of(tree: &[WatchEvent], fs: &[WatchEvent], root: &Path) -> LateWatches {
        let mut late = LateWatches {
            new: BTreeSet::new(),
            made: BTreeSet::new(),
        };
        for events in [tree, fs] {
            let mut made_moved: HashMap<u32, bool> = HashMap::new();
            for event in events.iter().filter(|e| e.mask.contains(EventMask::ISDIR)) {
                let path = below(event, root);
                if event.mask.contains(EventMask::CREATE) {
                    late.new.insert(path.clone());
                    late.made.insert(path);
                } else if event.mask.contains(EventMask::MOVED_FROM) {
                    made_moved.insert(event.cookie, late.made.contains(&path));
                } else if event.mask.contains(EventMask::MOVED_TO) {
                    late.new.insert(path.clone());
                    if made_moved.get(&event.cookie) == Some(&true) {
                        late.made.insert(path);
                    }
                }
            }
        }
        late
    }

    /// Whether the difference at `path` can come from a late watch: it lies below a new
    /// directory, or is a directory made in the operation that differs only by its own
    /// events.
    fn explains(&self, path: &Path, tree: &Summary, fs: &Summary) -> bool {
        if self
            .new
            .iter()
            .any(|dir| path != dir && path.starts_with(dir))
        {
            return true;
        }
        if !self.made.contains(path) {
            return false;
        }
        let empty = AtPath::default();
        let (at_tree, at_fs) = (
            tree.get(path).unwrap_or(&empty),
            fs.get(path).unwrap_or(&empty),
        );
        let not_own = |at: &AtPath| -> Vec<String> {
            at.entries
                .iter()
                .filter(|kind| {
                    !kind.starts_with("IN_DELETE_SELF") && !kind.starts_with("IN_MOVE_SELF")
                })
                .cloned()
                .collect()
        };
        not_own(at_tree) == not_own(at_fs) && at_tree.content.is_subset(&at_fs.content)
    }
}

/// The path of `event` below `root`.
fn below(event: &WatchEvent, root: &Path) -> PathBuf {
    let path = event.path();
    path.strip_prefix(root).unwrap_or(&path).to_path_buf()
}

/// The events, one a line, as a failure prints them.
fn listed(events: &[WatchEvent], root: &Path) -> String {
    events
        .iter()
        .map(|event| {
            format!(
                "  {} {} cookie {} {:?}\n",
                event.type_names().join("|"),
                below(event, root).display(),
                event.cookie,
                event.origin
            )
        })
        .collect()
}

/// One side's events, normalised as the module says. `fs`: for the tree's side, the
/// other side's summary (its creations decide what the tree's scan events stand for).
fn summary(events: &[WatchEvent], root: &Path, fs: Option<&Summary>) -> Summary {
    let mut ends: HashMap<u32, (Option<PathBuf>, Option<PathBuf>)> = HashMap::new();
    for event in events {
        let path = below(event, root);
        if event.mask.contains(EventMask::MOVED_FROM) {
            ends.entry(event.cookie).or_default().0 = Some(path);
        } else if event.mask.contains(EventMask::MOVED_TO) {
            ends.entry(event.cookie).or_default().1 = Some(path);
        }
    }
    let end = |path: &Option<PathBuf>| match path {
        Some(path) => format!("{:?}", path),
        None => "nowhere".to_owned(),
    };
    let mut summary = Summary::new();
    for event in events {
        let mask = event.mask;
        let is_dir = mask.contains(EventMask::ISDIR);
        if is_dir && mask.intersects(DIRECTORY_READS) {
            continue;
        }
        let path = below(event, root);
        let mut kind = event.type_names().join("|");
        if event.origin == Origin::Scan {
            let created = format!("IN_CREATE{}", if is_dir { "|IN_ISDIR" } else { "" });
            let stands_for = fs
                .and_then(|fs| fs.get(&path))
                .map_or(false, |there| there.entries.contains(&created));
            if !stands_for {
                continue;
            }
            kind = format!("{}{}", created, LISTED);
        } else if mask.contains(EventMask::MOVED_FROM) {
            kind = format!("{} to {}", kind, end(&ends[&event.cookie].1));
        } else if mask.contains(EventMask::MOVED_TO) {
            kind = format!("{} from {}", kind, end(&ends[&event.cookie].0));
        }
        let at = summary.entry(path).or_default();
        if mask.intersects(CONTENT) {
            at.content.insert(kind);
        } else if at.entries.last() != Some(&kind) {
            at.entries.push(kind);
        }
    }
    summary
}

/// The paths where the tree's summary and `FsWatcher`'s differ, each with a line that
/// shows both sides.
fn differences(tree: &Summary, fs: &Summary) -> Vec<(PathBuf, String)> {
    let empty = AtPath::default();
    let paths: BTreeSet<&PathBuf> = tree.keys().chain(fs.keys()).collect();
    let mut found = Vec::new();
    for path in paths {
        let at_tree = tree.get(path).unwrap_or(&empty);
        let at_fs = fs.get(path).unwrap_or(&empty);
        let listed = at_tree
            .entries
            .first()
            .map_or(false, |k| k.ends_with(LISTED));
        let same = if listed {
            // Found by a listing: the creation it stands for, and content events that
            // the tree may have missed.
            let mut entries = at_tree.entries.clone();
            entries[0] = entries[0].trim_end_matches(LISTED).to_owned();
            entries == at_fs.entries && at_tree.content.is_subset(&at_fs.content)
        } else {
            at_tree == at_fs
        };
        if !same {
            found.push((
                path.clone(),
                format!(
                    "  {:?}\n    TreeWatcher {:?} {:?}\n    FsWatcher   {:?} {:?}",
                    path, at_tree.entries, at_tree.content, at_fs.entries, at_fs.content
                ),
            ));
        }
    }
    found
}

/// What marks the tree's creation found by a listing, in its summary.
const LISTED: &str = " (listed)";

/// The events every test asks for: all of them.
const ALL: WatchMask = WatchMask::ALL_EVENTS;

fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap_or_else(|e| panic!("write {}: {}", path.display(), e));
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn mkdir_p_with_files() {
    let mut both = match Both::new(ALL, |_, _| {}) {
        Some(both) => both,
        None => return,
    };
    both.check("mkdir -p a/b/c and a file in each", |root, _| {
        fs::create_dir_all(root.join("a/b/c")).unwrap();
        write(&root.join("a/f"), b"1");
        write(&root.join("a/b/f"), b"2");
        write(&root.join("a/b/c/f"), b"3");
    });
    both.check("mkdir -p below what exists", |root, _| {
        fs::create_dir_all(root.join("a/b/c/d/e")).unwrap();
        write(&root.join("a/b/c/d/e/f"), b"4");
    });
}

#[test]
fn moves_within_into_and_out_of_the_root() {
    let mut both = match Both::new(ALL, |root, away| {
        fs::create_dir_all(root.join("d/e")).unwrap();
        fs::create_dir_all(away.join("x/y")).unwrap();
        write(&away.join("x/y/held"), b"");
    }) {
        Some(both) => both,
        None => return,
    };
    both.check("a directory renamed", |root, _| {
        fs::rename(root.join("d"), root.join("d2")).unwrap()
    });
    both.check("a file made below it", |root, _| {
        write(&root.join("d2/e/f"), b"")
    });
    both.check("a directory moved in", |root, away| {
        fs::rename(away.join("x"), root.join("x")).unwrap()
    });
    both.check("a file made in what moved in", |root, _| {
        write(&root.join("x/y/g"), b"")
    });
    both.check("a directory moved within, deeper", |root, _| {
        fs::rename(root.join("x"), root.join("d2/e/x")).unwrap()
    });
    both.check("a file moved within", |root, _| {
        fs::rename(root.join("d2/e/f"), root.join("d2/e/x/f")).unwrap()
    });
    both.check("a directory moved out", |root, away| {
        fs::rename(root.join("d2"), away.join("d3")).unwrap()
    });
    both.check("a file made in what moved out", |_, away| {
        write(&away.join("d3/h"), b"")
    });
    both.check("a file moved in and out", |root, away| {
        write(&away.join("file"), b"");
        fs::rename(away.join("file"), root.join("file")).unwrap();
        fs::rename(root.join("file"), away.join("file")).unwrap();
    });
}

#[test]
fn renames_of_directories_with_files_queued_below() {
    let mut both = match Both::new(ALL, |_, _| {}) {
        Some(both) => both,
        None => return,
    };
    both.check("made, filled and renamed at once", |root, _| {
        fs::create_dir_all(root.join("a/b")).unwrap();
        write(&root.join("a/b/early"), b"");
        fs::rename(root.join("a"), root.join("z")).unwrap();
        write(&root.join("z/b/late"), b"");
    });
    both.check("renamed twice with files between", |root, _| {
        write(&root.join("z/b/one"), b"");
        fs::rename(root.join("z/b"), root.join("z/c")).unwrap();
        write(&root.join("z/c/two"), b"");
        fs::rename(root.join("z"), root.join("y")).unwrap();
        write(&root.join("y/c/three"), b"");
    });
}

#[test]
fn deletes() {
    let mut both = match Both::new(ALL, |root, _| {
        fs::create_dir_all(root.join("old/sub")).unwrap();
        write(&root.join("old/sub/file"), b"");
    }) {
        Some(both) => both,
        None => return,
    };
    both.check("rm -r of what was there before", |root, _| {
        fs::remove_dir_all(root.join("old")).unwrap()
    });
    both.check("made", |root, _| {
        fs::create_dir_all(root.join("a/b/c")).unwrap();
        write(&root.join("a/b/f"), b"");
        write(&root.join("a/g"), b"");
    });
    both.check("a file removed", |root, _| {
        fs::remove_file(root.join("a/g")).unwrap()
    });
    both.check("an empty directory removed", |root, _| {
        fs::remove_dir(root.join("a/b/c")).unwrap()
    });
    both.check("rm -r", |root, _| {
        fs::remove_dir_all(root.join("a")).unwrap()
    });
    both.check("made and removed at once", |root, _| {
        fs::create_dir_all(root.join("m/n")).unwrap();
        write(&root.join("m/n/f"), b"");
        fs::remove_dir_all(root.join("m")).unwrap();
    });
}

#[test]
fn writes_and_attributes() {
    let mut both = match Both::new(ALL, |root, _| {
        fs::create_dir(root.join("d")).unwrap();
        write(&root.join("d/f"), b"before");
    }) {
        Some(both) => both,
        None => return,
    };
    both.check("a file made with content", |root, _| {
        write(&root.join("d/new"), b"content")
    });
    both.check("a file rewritten (truncated)", |root, _| {
        write(&root.join("d/f"), b"after")
    });
    both.check("a file appended to", |root, _| {
        use std::io::Write;
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(root.join("d/f"))
            .unwrap();
        file.write_all(b"more").unwrap();
        file.write_all(b"and more").unwrap();
    });
    both.check("a file read", |root, _| {
        fs::read(root.join("d/f")).unwrap();
    });
    both.check("a file's mode", |root, _| chmod(&root.join("d/f"), 0o600));
    both.check("a directory's mode", |root, _| {
        chmod(&root.join("d"), 0o700)
    });
    both.check("the root's mode", |root, _| chmod(root, 0o755));
    both.check("a file truncated", |root, _| {
        fs::OpenOptions::new()
            .write(true)
            .open(root.join("d/new"))
            .unwrap()
            .set_len(1)
            .unwrap();
    });
}

#[test]
fn exclusion() {
    let mut both = match Both::new(ALL, |root, _| {
        fs::create_dir_all(root.join("skip/inside")).unwrap();
    }) {
        Some(both) => both,
        None => return,
    };
    both.check("inside an excluded directory", |root, _| {
        write(&root.join("skip/inside/f"), b"");
        fs::create_dir(root.join("skip/inside/d")).unwrap();
    });
    both.check("an excluded directory made, and filled", |root, _| {
        fs::create_dir_all(root.join("a/skip/x")).unwrap();
        write(&root.join("a/skip/x/f"), b"");
    });
    both.check("moved from an excluded name", |root, _| {
        fs::rename(root.join("a/skip"), root.join("a/kept")).unwrap()
    });
    both.check("inside what was excluded", |root, _| {
        write(&root.join("a/kept/x/g"), b"")
    });
    both.check("moved to an excluded name", |root, _| {
        fs::rename(root.join("a/kept"), root.join("skip/inside/skip")).unwrap();
        fs::rename(root.join("a"), root.join("skip/a")).unwrap();
    });
    both.check("an excluded directory removed", |root, _| {
        fs::remove_dir_all(root.join("skip")).unwrap()
    });
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_seeded_random_sequence() {
    let settings = Settings {
        prefix: "FS_DIFFERENTIAL",
        arrival_alone: true,
    };
    let operations = settings.number("OPERATIONS", 250);
    for seed in settings.seeds(&[1, 2]) {
        let mut world = None;
        let mut both = match Both::new(ALL, |root, away| {
            world = Some(World::populate(root, away));
        }) {
            Some(both) => both,
            None => return,
        };
        let mut world = world.unwrap();
        world.content = true;
        let mut rng = Rng::new(seed);
        for n in 0..operations {
            let done = world.log().len();
            world.operate(&mut rng, 0, n);
            let what = format!(
                "{}, operation {}: {}",
                settings.context(seed),
                n,
                world.log()[done..].join("; ")
            );
            both.check(&what, |_, _| {});
        }
    }
}

// What this test found, each alone, as `TreeWatcher` (and inotify) give it.

#[test]
fn a_directory_s_own_events_have_no_isdir_bit() {
    let mask = WatchMask::DELETE | WatchMask::DELETE_SELF | WatchMask::MOVE_SELF;
    let (_tmpfs, root, mut watcher) = match root_watched(mask, "mkdir root/d root/e") {
        Some(watched) => watched,
        None => return,
    };
    fs_support::sh(&root, "mv e f && rmdir d");
    assert_eq!(
        fs_support::described(&fs_support::synced(&mut watcher), &root),
        ["IN_MOVE_SELF f", "IN_DELETE_SELF d", "IN_DELETE|IN_ISDIR d"]
    );
}

#[test]
fn only_a_directory_moved_within_reports_its_own_move() {
    let mask = WatchMask::MOVE | WatchMask::MOVE_SELF;
    let (_tmpfs, root, mut watcher) = match root_watched(mask, "mkdir away/x") {
        Some(watched) => watched,
        None => return,
    };
    fs_support::sh(&root, "mv ../away/x x");
    let arrived = fs_support::synced(&mut watcher);
    assert_eq!(
        fs_support::described(&arrived, &root),
        ["IN_MOVED_TO|IN_ISDIR x"]
    );
    fs_support::sh(&root, "mv x y && mv y ../away/z");
    assert_eq!(
        fs_support::described(&fs_support::synced(&mut watcher), &root),
        [
            "IN_MOVED_FROM|IN_ISDIR x",
            "IN_MOVED_TO|IN_ISDIR y",
            "IN_MOVE_SELF y",
            "IN_MOVED_FROM|IN_ISDIR y",
        ]
    );
}
