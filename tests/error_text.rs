//! Every error of the crate says each thing once, however it is printed: its own
//! `Display`, anyhow's `{:#}` (the message and its causes on one line) and `{:?}` (with
//! a "Caused by" list), and a `Box<dyn Error>` whose `source()` chain is walked. An
//! error shows its cause in its message or returns it from `source()`, never both.
//!
//! The errors come from real calls where one can make them: a missing path, a NUL in a
//! path, the empty path, a file where a directory is needed, malformed bytes, and (in a
//! user namespace with a low `user.max_inotify_watches`) the watch limit, from the core,
//! the `Watcher`, the start of a tree and a running tree.
#![cfg(feature = "std")]

mod common;

use std::error::Error as StdError;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{rerun, Rerun, TempDir};
use inotify_raw::{
    raw, wait_for_path, AsDescriptor, Call, Directory, Dirents, Epoll, Errno, Error, EventMask,
    Events, FsWatcher, Inotify, OnInterrupt, PathError, PathWaiter, Presence, TreeWatcher,
    WatchError, WatchMask, Watcher,
};

/// The clauses of a printed error: its lines, cut at each `: ` and `; `, trimmed, less
/// the labels anyhow adds ("Caused by", the causes' numbers).
fn clauses(text: &str) -> Vec<&str> {
    text.lines()
        .flat_map(|line| line.split(": "))
        .flat_map(|part| part.split("; "))
        .map(|clause| clause.trim().trim_end_matches(':'))
        .filter(|clause| {
            !clause.is_empty()
                && *clause != "Caused by"
                && !clause.bytes().all(|b| b.is_ascii_digit())
        })
        .collect()
}

/// Fails when `text` says a clause twice, or holds a raw NUL byte.
fn assert_says_each_once(how: &str, text: &str) {
    assert!(
        !text.contains('\0'),
        "{} shows a raw NUL byte: {:?}",
        how,
        text
    );
    let all = clauses(text);
    for (i, clause) in all.iter().enumerate() {
        assert!(
            !all[..i].contains(clause),
            "{} says {:?} twice:\n{}",
            how,
            clause,
            text
        );
    }
}

/// The messages of `error` and of each error down its `source()` chain, joined as
/// anyhow's `{:#}` joins them.
fn source_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

/// Prints `error` every way and checks that each says each clause once; returns its
/// `Display` for further checks.
fn printed_once<E: StdError + Send + Sync + 'static>(error: E) -> String {
    let display = error.to_string();
    assert_says_each_once("Display", &display);
    let boxed: Box<dyn StdError + Send + Sync> = Box::new(error);
    assert_says_each_once("the source() chain", &source_chain(&*boxed));
    let any = anyhow::Error::from_boxed(boxed);
    assert_says_each_once("anyhow {:#}", &format!("{:#}", any));
    let debug = format!("{:?}", any);
    // A backtrace (RUST_BACKTRACE=1) repeats frames; only the messages count.
    let messages = debug.split("\n\nStack backtrace:").next().unwrap_or("");
    assert_says_each_once("anyhow {:?}", messages);
    display
}

/// `PathError` in the `io::Error` that carries it, printed every way too.
fn path_error_of(error: &std::io::Error) -> PathError {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<PathError>())
        .unwrap_or_else(|| panic!("no PathError in {:?}", error))
        .clone()
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_missing_path_is_explained_once() {
    let dir = TempDir::new();
    let missing = dir.join("missing");
    let core = Inotify::new()
        .unwrap()
        .add_watch(&missing, WatchMask::CREATE)
        .unwrap_err();
    let text = printed_once(core);
    assert!(text.contains("the path does not exist"), "{}", text);

    let io = Watcher::new()
        .unwrap()
        .add_watch(&missing, WatchMask::CREATE)
        .unwrap_err();
    let text = printed_once(path_error_of(&io));
    assert!(text.starts_with(missing.to_str().unwrap()), "{}", text);
    assert_eq!(printed_once(io), text);

    let io = TreeWatcher::new(&missing).unwrap_err();
    let text = printed_once(WatchError::from(io));
    assert!(text.contains(missing.to_str().unwrap()), "{}", text);
    assert!(text.contains("ENOENT"), "{}", text);

    printed_once(Directory::open(&missing).unwrap_err());
    printed_once(std::io::Error::from(Directory::open(&missing).unwrap_err()));
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_path_with_a_nul_is_shown_escaped() {
    let with_nul = Path::new(std::ffi::OsStr::new("a\0b"));
    let core = Inotify::new()
        .unwrap()
        .add_watch(with_nul, WatchMask::CREATE)
        .unwrap_err();
    assert_eq!(core, Error::PathContainsNul { position: 1 });
    printed_once(core);

    let io = Watcher::new()
        .unwrap()
        .add_watch(with_nul, WatchMask::CREATE)
        .unwrap_err();
    let text = printed_once(path_error_of(&io));
    assert!(text.starts_with("a\\0b: "), "{}", text);
    printed_once(io);
    let io = TreeWatcher::new(with_nul).unwrap_err();
    assert!(printed_once(io).starts_with("a\\0b: "));
    let io = PathWaiter::new(Presence::Exists)
        .wait_path(with_nul)
        .unwrap_err();
    assert!(printed_once(io).starts_with("a\\0b: "));
}

#[test]
#[cfg_attr(miri, ignore)]
fn the_empty_path_reads_well() {
    let core = Inotify::new()
        .unwrap()
        .add_watch("", WatchMask::CREATE)
        .unwrap_err();
    assert_eq!(core, Error::EmptyPath);
    let text = printed_once(core);
    assert!(text.starts_with("the path is empty"), "{}", text);

    for io in [
        Watcher::new()
            .unwrap()
            .add_watch("", WatchMask::CREATE)
            .unwrap_err(),
        TreeWatcher::new("").unwrap_err(),
        PathWaiter::new(Presence::Exists)
            .wait_path(Path::new(""))
            .unwrap_err(),
    ] {
        let text = printed_once(io);
        assert!(text.starts_with("the path is empty"), "{}", text);
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_file_where_a_directory_is_needed_is_named() {
    let dir = TempDir::new();
    let file = dir.join("file");
    fs::write(&file, b"").unwrap();

    // As the root of a tree: the tree asked for IN_ONLYDIR, not the caller.
    let io = TreeWatcher::new(&file).unwrap_err();
    assert_eq!(Errno::from_error(&io), Some(Errno::ENOTDIR));
    let text = printed_once(io);
    assert!(text.starts_with(file.to_str().unwrap()), "{}", text);
    assert!(
        text.contains("root of a tree must be a directory"),
        "{}",
        text
    );
    assert!(!text.contains("ONLYDIR"), "{}", text);

    // A component of the path: tree, core, Watcher, and the path walk of wait_for_path.
    let below = file.join("below");
    let io = TreeWatcher::new(&below).unwrap_err();
    assert_eq!(Errno::from_error(&io), Some(Errno::ENOTDIR));
    let text = printed_once(io);
    assert!(text.starts_with(below.to_str().unwrap()), "{}", text);
    assert!(!text.contains("ONLYDIR"), "{}", text);
    printed_once(
        Inotify::new()
            .unwrap()
            .add_watch(&below, WatchMask::CREATE)
            .unwrap_err(),
    );
    printed_once(
        Watcher::new()
            .unwrap()
            .add_watch(&below, WatchMask::CREATE)
            .unwrap_err(),
    );
    let component = wait_for_path(&below, Presence::Exists, Some(Duration::ZERO)).unwrap_err();
    assert!(matches!(component, Error::PathComponent { .. }));
    printed_once(component);
    let io = PathWaiter::new(Presence::Exists)
        .wait_path(&below)
        .unwrap_err();
    let text = printed_once(io);
    assert!(
        text.starts_with(&format!("{}: {}: ", below.display(), file.display())),
        "{}",
        text
    );
}

#[test]
fn malformed_bytes_are_explained_once() {
    let mut bytes = [0u8; 20];
    bytes[12..16].copy_from_slice(&255u32.to_ne_bytes());
    let event = Events::new(&bytes).find_map(Result::err).unwrap();
    printed_once(event);
    printed_once(Error::from(event));
    printed_once(std::io::Error::from(event));
    printed_once(WatchError::from(event));

    let dirent = Dirents::new(&[1, 2, 3]).find_map(Result::err).unwrap();
    printed_once(dirent);
    printed_once(Error::from(dirent));
    printed_once(std::io::Error::from(dirent));
}

#[test]
#[cfg_attr(miri, ignore)]
fn the_other_errors_are_explained_once() {
    // Errno, from a raw call: an inotify descriptor cannot be written to.
    let inotify = Inotify::new().unwrap();
    let errno = raw::write(inotify.as_descriptor(), b"x").unwrap_err();
    printed_once(errno);
    printed_once(std::io::Error::from(errno));
    printed_once(WatchError::from(std::io::Error::from(errno)));

    // No room for epoll events; a path too long.
    let epoll = Epoll::new().unwrap();
    printed_once(
        epoll
            .wait(&mut [], Some(Duration::ZERO), OnInterrupt::Return)
            .unwrap_err(),
    );
    let long = "x".repeat(5000);
    printed_once(inotify.add_watch(&*long, WatchMask::CREATE).unwrap_err());
    printed_once(
        Watcher::new()
            .unwrap()
            .add_watch(&long, WatchMask::CREATE)
            .unwrap_err(),
    );
    // What no call here can make: built as the crate builds it.
    printed_once(Error::NotANumber);
    printed_once(Error::BufferTooSmall { len: 8, min: 16 });
    printed_once(Error::syscall(Call::InotifyAddWatch, Errno::ENOSPC));

    // A terminal event, and a tree whose only root is gone.
    let dir = TempDir::new();
    let mut watcher = Watcher::new().unwrap();
    watcher.add_watch(dir.path(), WatchMask::CREATE).unwrap();
    fs::write(dir.join("new"), b"").unwrap();
    let terminal = watcher
        .events()
        .terminal_events(EventMask::CREATE)
        .idle_timeout(Duration::from_secs(5))
        .find_map(Result::err)
        .expect("IN_CREATE ends the iteration");
    assert!(matches!(terminal, WatchError::Terminal { .. }));
    printed_once(terminal);

    let root = dir.join("root");
    fs::create_dir(&root).unwrap();
    let mut tree = TreeWatcher::new(&root).unwrap();
    fs::remove_dir(&root).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let ended = loop {
        assert!(Instant::now() < deadline, "the tree never ended");
        if let Err(error) = tree.next_event() {
            break error;
        }
    };
    assert!(matches!(ended, WatchError::Ended), "{}", ended);
    printed_once(ended);

    // FsWatcher's roots: missing, a file, a file system with no file handles (or, where
    // there is no fanotify, the error that says so).
    printed_once(FsWatcher::new(dir.join("missing")).unwrap_err());
    printed_once(FsWatcher::new(dir.join("new")).unwrap_err());
    printed_once(FsWatcher::new("/proc").unwrap_err());
}

/// Set in the helper's environment: the directory it works in.
const HELPER_DIR: &str = "INOTIFY_RAW_ERROR_TEXT_DIR";

/// The watch limit in the helper's user namespace.
const WATCH_LIMIT: u32 = 12;

/// Run in a user namespace whose watch limit is `WATCH_LIMIT`: the limit from the core,
/// from a `Watcher`, from the start of a tree (naming the root and the directory where
/// it was hit) and from a running tree, each printed every way.
#[test]
#[cfg_attr(miri, ignore)]
fn watch_limit_helper() {
    let dir = match std::env::var_os(HELPER_DIR) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => return,
    };
    let many: Vec<_> = (0..2 * WATCH_LIMIT)
        .map(|i| dir.join(format!("d{}", i)))
        .collect();
    for sub in &many {
        fs::create_dir(sub).unwrap();
    }
    let named = format!("user.max_inotify_watches is {};", WATCH_LIMIT);

    let inotify = Inotify::new().unwrap();
    let core = many
        .iter()
        .find_map(|sub| inotify.add_watch(sub, WatchMask::CREATE).err())
        .expect("an error at the limit");
    assert!(printed_once(core).contains(&named));
    drop(inotify);

    let mut watcher = Watcher::new().unwrap();
    let io = many
        .iter()
        .find_map(|sub| watcher.add_watch(sub, WatchMask::CREATE).err())
        .expect("an error at the limit");
    assert!(printed_once(path_error_of(&io)).contains(&named));
    assert!(printed_once(io).contains(&named));
    drop(watcher);

    // The start of a tree: the root, and the directory below it where the limit was hit.
    let io = TreeWatcher::new(&dir).unwrap_err();
    assert_eq!(Errno::from_error(&io), Some(Errno::ENOSPC));
    let text = printed_once(io);
    let root = format!("{}:", dir.display());
    let below = format!("{}/d", dir.display());
    assert!(
        text.contains(&named) && text.contains(&root) && text.contains(&below),
        "does not name the root, the directory and the limit: {}",
        text
    );

    // A running tree that meets the limit as directories are made in it.
    let small = dir.join("d0");
    let mut tree = TreeWatcher::new(&small).unwrap();
    tree.set_block_duration(Some(Duration::from_millis(20)));
    for i in 0..2 * WATCH_LIMIT {
        fs::create_dir(small.join(format!("n{}", i))).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let error = loop {
        assert!(Instant::now() < deadline, "no error at the watch limit");
        if let Err(error) = tree.next_event() {
            break error;
        }
    };
    assert_eq!(Errno::from_error(&error), Some(Errno::ENOSPC), "{}", error);
    assert!(printed_once(error).contains(&named));
    println!("helper-result: ok");
}

#[test]
#[cfg_attr(miri, ignore)]
fn the_watch_limit_is_explained_once() {
    let dir = TempDir::new();
    let verdict = rerun(
        "watch_limit_helper",
        (HELPER_DIR, dir.path().as_os_str()),
        Rerun::WithWatchLimit(WATCH_LIMIT),
    );
    if let Some(verdict) = verdict {
        assert_eq!(verdict, "ok");
    }
}
