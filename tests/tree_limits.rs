//! `TreeWatcher` where it cannot watch everything: a directory it may not read (as an
//! unprivileged user), the inotify watch limit (in a user namespace with a low
//! `user.max_inotify_watches`), and paths past `PATH_MAX`. A test of a limit runs a
//! helper test of this binary in another process, which prints its verdict on a
//! `helper-result:` line.
#![cfg(feature = "std")]

mod common;
mod tree_support;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{rerun, Rerun, TempDir};
use inotify_raw::{
    Directory, Errno, EventMask, Origin, TreeWatcher, WatchError, WatchEvent, WatchMask, PATH_MAX,
};
use tree_support::{touch, DEADLINE};

/// Every event of the changes made so far, for a helper: its error as the verdict.
fn synced(tree: &mut TreeWatcher) -> Result<Vec<WatchEvent>, String> {
    tree_support::try_synced(tree).map_err(|error| format!("sync, then drain: {}", error))
}

/// Where the helpers work: a directory made by the parent test for them.
const HELPER_DIR: &str = "INOTIFY_RAW_TREE_HELPER_DIR";

fn helper_dir() -> Option<PathBuf> {
    std::env::var_os(HELPER_DIR).map(PathBuf::from)
}

/// A fresh directory anyone may write in (the helper may run as nobody).
fn shared_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "inotify-raw-tree-limits-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    ));
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

/// Prints a helper's verdict for the test that started it.
fn report(verdict: Result<(), String>) {
    match verdict {
        Ok(()) => println!("helper-result: ok"),
        Err(why) => println!("helper-result: {}", why),
    }
}

/// Runs the helper test `helper` in another process, `how`, in a fresh shared
/// directory, and fails unless it says ok (or the machine cannot run it).
fn run_helper(helper: &str, how: Rerun) {
    let dir = shared_dir();
    let verdict = rerun(helper, (HELPER_DIR, dir.as_os_str()), how);
    fs::remove_dir_all(&dir).unwrap();
    if let Some(verdict) = verdict {
        assert_eq!(verdict, "ok");
    }
}

/// Run as user nobody: a tree with an unreadable subdirectory (at the start, and one
/// moved in later) starts, reports each as skipped, watches the rest, and goes on.
#[test]
#[cfg_attr(miri, ignore)]
fn unreadable_helper() {
    let dir = match helper_dir() {
        Some(dir) => dir,
        None => return,
    };
    let verdict = (|| -> Result<(), String> {
        fs::create_dir_all(dir.join("open/below")).map_err(|e| e.to_string())?;
        fs::create_dir_all(dir.join("locked/inner")).map_err(|e| e.to_string())?;
        fs::set_permissions(dir.join("locked"), fs::Permissions::from_mode(0o000))
            .map_err(|e| e.to_string())?;
        let mut tree = TreeWatcher::new(&dir).map_err(|e| format!("new: {}", e))?;
        tree.set_block_duration(Some(Duration::from_millis(20)));
        let first = tree
            .next_event()
            .map_err(|e| e.to_string())?
            .map(|e| e.to_owned_event());
        match first {
            Some(event)
                if event.origin == Origin::Skipped(Errno::EACCES)
                    && event.path() == dir.join("locked") => {}
            other => return Err(format!("no skipped event for locked/: {:?}", other)),
        }
        // One moved in later, unreadable too.
        let outside = dir.with_extension("outside");
        fs::create_dir_all(outside.join("later")).map_err(|e| e.to_string())?;
        // Not readable; writable, which moving a directory to another parent needs.
        fs::set_permissions(outside.join("later"), fs::Permissions::from_mode(0o300))
            .map_err(|e| e.to_string())?;
        fs::rename(outside.join("later"), dir.join("open/later")).map_err(|e| e.to_string())?;
        let _ = fs::remove_dir(&outside);
        let events = synced(&mut tree)?;
        if !events.iter().any(|e| {
            e.origin == Origin::Skipped(Errno::EACCES) && e.path() == dir.join("open/later")
        }) {
            return Err(format!("no skipped event for open/later: {:?}", events));
        }
        // The stream goes on, and the rest is watched.
        touch(&dir.join("open/below/still"));
        let events = synced(&mut tree)?;
        if !events
            .iter()
            .any(|e| e.path() == dir.join("open/below/still"))
        {
            return Err(format!("no event after the skips: {:?}", events));
        }
        let mut watched: Vec<PathBuf> = tree.watches().into_iter().map(|(_, p)| p).collect();
        watched.sort();
        let wanted = [dir.clone(), dir.join("open"), dir.join("open/below")];
        if watched != wanted {
            return Err(format!("watches {:?}", watched));
        }
        Ok(())
    })();
    // Let the parent remove everything.
    let _ = fs::set_permissions(dir.join("locked"), fs::Permissions::from_mode(0o700));
    let _ = fs::set_permissions(dir.join("open/later"), fs::Permissions::from_mode(0o700));
    report(verdict);
}

#[test]
#[cfg_attr(miri, ignore)]
fn an_unreadable_subdirectory_is_reported_and_skipped_and_the_rest_is_watched() {
    run_helper("unreadable_helper", Rerun::AsNobody);
}

/// How many directories the watch-limit helper makes, root included.
const LIMITED_TREE: u64 = 30;

/// The watch limit in the helper's user namespace.
const WATCH_LIMIT: u32 = 12;

/// Run in a user namespace whose watch limit is `WATCH_LIMIT`: by default the tree
/// fails with advice that names that limit (`user.max_inotify_watches`) and its value; told to go on, it watches what it can and says how many
/// directories are left out, once.
#[test]
#[cfg_attr(miri, ignore)]
fn watch_limit_helper() {
    let dir = match helper_dir() {
        Some(dir) => dir,
        None => return,
    };
    let verdict = (|| -> Result<(), String> {
        tree_support::make_tree(&dir, LIMITED_TREE as usize - 1, 3);
        let error = match TreeWatcher::new(&dir) {
            Ok(_) => return Err("no error at the watch limit".into()),
            Err(error) => error,
        };
        let message = error.to_string();
        // The limit that applied here is the namespace's own, named with its value.
        let named = format!("user.max_inotify_watches is {};", WATCH_LIMIT);
        if Errno::from_error(&error) != Some(Errno::ENOSPC)
            || !message.contains(&named)
            || !message.contains(dir.to_str().unwrap())
        {
            return Err(format!("the error does not say what to do: {}", message));
        }
        let mut tree = TreeWatcher::builder()
            .keep_going_at_watch_limit(true)
            .watch([&dir])
            .map_err(|e| format!("keep going: {}", e))?;
        tree.set_block_duration(Some(Duration::from_millis(20)));
        let mut notices = Vec::new();
        while let Some(event) = tree.try_next_event().map_err(|e| e.to_string())? {
            notices.push((event.origin, event.mask, event.path.to_path_buf()));
        }
        let watched = tree.watch_count() as u64;
        match notices.as_slice() {
            [(Origin::WatchLimit { unwatched }, mask, path)]
                if *unwatched + watched == LIMITED_TREE
                    && watched <= u64::from(WATCH_LIMIT)
                    && mask.is_empty()
                    && path == &dir => {}
            other => {
                return Err(format!(
                    "{} watched; want one notice for the other {}: {:?}",
                    watched,
                    LIMITED_TREE - watched,
                    other
                ))
            }
        }
        // What is watched still reports.
        touch(&dir.join("at-the-top"));
        let events = synced(&mut tree)?;
        if !events
            .iter()
            .any(|e| e.mask.contains(EventMask::CREATE) && e.name == OsStr::new("at-the-top"))
        {
            return Err(format!("no event at the top: {:?}", events));
        }
        Ok(())
    })();
    report(verdict);
}

#[test]
#[cfg_attr(miri, ignore)]
fn at_the_watch_limit_the_tree_fails_with_advice_or_goes_on_and_counts() {
    run_helper("watch_limit_helper", Rerun::WithWatchLimit(WATCH_LIMIT));
}

/// A name of 200 bytes: 21 of them make a path past `PATH_MAX`.
fn long_name(level: usize) -> String {
    format!("{:03}{}", level, "n".repeat(197))
}

/// Makes `name` in the directory `dir` names, through `/proc/self/fd` (a short path,
/// wherever `dir` is), and opens it.
fn make_below(dir: &Directory, name: &str) -> Directory {
    fs::create_dir(format!("/proc/self/fd/{}/{}", dir.as_raw_fd(), name)).unwrap();
    dir.open_at(name).unwrap()
}

/// A directory whose path is longer than `PATH_MAX` (4096 bytes) is watched like any
/// other, through a descriptor opened a part of its path at a time: at the start, and
/// when it is made later; its events carry their full paths.
#[test]
#[cfg_attr(miri, ignore)]
fn directories_past_path_max_are_watched_and_report_their_full_paths() {
    let base = TempDir::new();
    let depth = 24;
    let mut path = base.path().to_path_buf();
    let mut dir = Directory::open(base.path()).unwrap();
    for level in 0..depth {
        dir = make_below(&dir, &long_name(level));
        path.push(long_name(level));
    }
    assert!(
        path.as_os_str().len() > PATH_MAX + 200,
        "{}",
        path.as_os_str().len()
    );

    let mut tree = tree_support::quick_tree(&[base.path()], WatchMask::ALL_EVENTS);
    // Each notice, with the length of its path (the paths are long to print).
    let notices = |events: &[WatchEvent]| -> Vec<(Origin, usize)> {
        events
            .iter()
            .filter(|event| !matches!(event.origin, Origin::Kernel | Origin::Scan))
            .map(|event| (event.origin, event.path().as_os_str().len()))
            .collect()
    };
    let skipped = notices(&tree_support::synced(&mut tree));
    assert!(skipped.is_empty(), "{:?}", skipped);
    assert_eq!(tree.watch_count(), depth + 1);
    assert!(tree.watches().iter().any(|(_, watched)| *watched == path));

    // A file in the deepest directory, and a directory made below it with a file in it.
    fs::write(format!("/proc/self/fd/{}/file", dir.as_raw_fd()), b"x").unwrap();
    let events = tree_support::synced(&mut tree);
    assert_eq!(
        tree_support::named(&events, "file").path(),
        path.join("file")
    );
    let newer = make_below(&dir, "newer");
    fs::write(format!("/proc/self/fd/{}/inside", newer.as_raw_fd()), b"x").unwrap();
    let events = tree_support::synced(&mut tree);
    let inside = tree_support::named(&events, "inside");
    assert_eq!(inside.path(), path.join("newer/inside"));
    let skipped = notices(&events);
    assert!(skipped.is_empty(), "{:?}", skipped);
    assert_eq!(tree.watch_count(), depth + 2);
}

/// The soft `RLIMIT_NOFILE` (`ulimit -n`) of the descriptor-limit helper.
const DESCRIPTOR_LIMIT: u32 = 64;

/// Runs `f` with every descriptor but `free` taken (each a `/dev/null`), then gives
/// them back.
fn with_free_descriptors<T>(free: usize, f: impl FnOnce() -> T) -> T {
    let mut taken = Vec::new();
    while let Ok(file) = fs::File::open("/dev/null") {
        taken.push(file);
    }
    taken.truncate(taken.len().saturating_sub(free));
    f()
}

/// The notices of `tree` queued now: origin, mask and path.
fn queued_notices(tree: &mut TreeWatcher) -> Result<Vec<(Origin, EventMask, PathBuf)>, String> {
    let mut notices = Vec::new();
    while let Some(event) = tree.try_next_event().map_err(|e| e.to_string())? {
        if !matches!(event.origin, Origin::Kernel | Origin::Scan) {
            notices.push((event.origin, event.mask, event.path.to_path_buf()));
        }
    }
    Ok(notices)
}

/// The first error `tree` gives before the deadline, or `None`.
fn first_error(tree: &mut TreeWatcher) -> Option<WatchError> {
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline {
        if let Err(error) = tree.next_event() {
            return Some(error);
        }
    }
    None
}

/// Whether `error` is `EMFILE` with advice that names `RLIMIT_NOFILE`, its value, how
/// to raise it, and the directory `dir`.
fn names_the_descriptor_limit(error: &(dyn std::error::Error + 'static), dir: &Path) -> bool {
    let message = error.to_string();
    Errno::from_error(error) == Some(Errno::EMFILE)
        && message.contains(&format!("RLIMIT_NOFILE is {};", DESCRIPTOR_LIMIT))
        && message.contains("ulimit -n")
        && message.contains(dir.to_str().unwrap())
}

/// Run under `ulimit -n DESCRIPTOR_LIMIT`: with no descriptor free to list a directory,
/// a tree fails (at the start and later) with advice that names `RLIMIT_NOFILE`; told
/// to go on, it watches what it can and says how many directories it could not list.
/// A wide directory moved in is watched whole with few descriptors to spare.
#[test]
#[cfg_attr(miri, ignore)]
fn descriptor_limit_helper() {
    let dir = match helper_dir() {
        Some(dir) => dir,
        None => return,
    };
    let verdict = (|| -> Result<(), String> {
        tree_support::make_tree(&dir, LIMITED_TREE as usize - 1, 3);
        // Two free: the tree's inotify and epoll instances, and none to list the root.
        match with_free_descriptors(2, || TreeWatcher::new(&dir)) {
            Ok(_) => return Err("no error at the descriptor limit".into()),
            Err(error) if names_the_descriptor_limit(&error, &dir) => {}
            Err(error) => return Err(format!("the start's error does not say it: {}", error)),
        }
        let mut tree = with_free_descriptors(2, || {
            TreeWatcher::builder()
                .keep_going_at_descriptor_limit(true)
                .watch([&dir])
        })
        .map_err(|e| format!("keep going: {}", e))?;
        tree.set_block_duration(Some(Duration::from_millis(20)));
        match queued_notices(&mut tree)?.as_slice() {
            [(Origin::DescriptorLimit { unlisted: 1 }, mask, path)]
                if mask.is_empty() && path == &dir && tree.watch_count() == 1 => {}
            other => {
                return Err(format!(
                    "{} watched; want the root and one notice: {:?}",
                    tree.watch_count(),
                    other
                ))
            }
        }
        // Later, with none free to look at a new directory.
        fs::create_dir(dir.join("at-the-limit")).map_err(|e| e.to_string())?;
        let mut notices = Vec::new();
        // (No descriptor is free to make a sync marker with: read until the notice.)
        with_free_descriptors(0, || -> Result<(), String> {
            let deadline = Instant::now() + DEADLINE;
            while notices.is_empty() && Instant::now() < deadline {
                tree.next_event().map_err(|e| e.to_string())?;
                notices = queued_notices(&mut tree)?;
            }
            Ok(())
        })?;
        match notices.as_slice() {
            [(Origin::DescriptorLimit { unlisted: 1 }, _, path)] if path == &dir => {}
            other => return Err(format!("no notice for at-the-limit: {:?}", other)),
        }
        fs::remove_dir(dir.join("at-the-limit")).map_err(|e| e.to_string())?;
        // A directory of many moved in with a few free: one notice counts all those
        // that could not be opened; each of the others is watched.
        let many = dir.with_extension("many");
        for i in 0..40 {
            fs::create_dir_all(many.join(format!("m{}", i))).map_err(|e| e.to_string())?;
        }
        let before = tree.watch_count();
        let notices = with_free_descriptors(4, || -> Result<_, String> {
            fs::rename(&many, dir.join("many")).map_err(|e| e.to_string())?;
            tree.sync(DEADLINE).map_err(|e| format!("sync: {}", e))?;
            queued_notices(&mut tree)
        })?;
        let added = (tree.watch_count() - before) as u64;
        match notices.as_slice() {
            [(Origin::DescriptorLimit { unlisted }, _, path)]
                if path == &dir && *unlisted > 1 && added + unlisted >= 41 => {}
            other => return Err(format!("{} watched of 41: {:?}", added, other)),
        }
        let mut tree = TreeWatcher::new(&dir).map_err(|e| format!("new: {}", e))?;
        tree.set_block_duration(Some(Duration::from_millis(20)));
        fs::create_dir(dir.join("at-the-limit")).map_err(|e| e.to_string())?;
        match with_free_descriptors(0, || first_error(&mut tree)) {
            // It names the directory it could not open to look at the new one.
            Some(error) if names_the_descriptor_limit(&error, &dir) => {}
            Some(error) => return Err(format!("the later error does not say it: {}", error)),
            None => return Err("no error for a directory made at the limit".into()),
        }
        // A directory with many subdirectories, moved in: the scan holds few
        // descriptors at a time, so all of them are watched.
        let mut tree = TreeWatcher::new(&dir).map_err(|e| format!("new: {}", e))?;
        tree.set_block_duration(Some(Duration::from_millis(20)));
        let before = tree.watch_count();
        let wide = dir.with_extension("wide");
        for i in 0..3 * DESCRIPTOR_LIMIT {
            fs::create_dir_all(wide.join(format!("w{}/inner", i))).map_err(|e| e.to_string())?;
        }
        fs::rename(&wide, dir.join("wide")).map_err(|e| e.to_string())?;
        touch(&dir.join("wide/w0/inner/last"));
        let events = synced(&mut tree)?;
        let notices: Vec<&WatchEvent> = events
            .iter()
            .filter(|e| !matches!(e.origin, Origin::Kernel | Origin::Scan))
            .collect();
        let wanted = before + 1 + 6 * DESCRIPTOR_LIMIT as usize;
        if !notices.is_empty() || tree.watch_count() != wanted {
            return Err(format!(
                "{} watched, {} wanted: {:?}",
                tree.watch_count(),
                wanted,
                notices
            ));
        }
        Ok(())
    })();
    report(verdict);
}

#[test]
#[cfg_attr(miri, ignore)]
fn at_the_descriptor_limit_the_tree_fails_with_advice_or_goes_on_and_counts() {
    run_helper(
        "descriptor_limit_helper",
        Rerun::WithDescriptorLimit(DESCRIPTOR_LIMIT),
    );
}
