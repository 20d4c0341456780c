//! `FsWatcher` against the real kernel, on a tmpfs of each test's own (see
//! `tests/fs_support`): the behaviours of `tests/tree.rs` that apply to it.
#![cfg(feature = "std")]

mod common;
mod fs_support;
mod stress_support;

use common::{rerun, Rerun, EVENT_TIMEOUT};
use fs_support::{
    described, fs_watcher_tmpfs as tmpfs, root_watched, sh, skip, synced, watch, Tmpfs,
};
use inotify_raw::{Errno, FsWatcher, WatchError, WatchEvent, WatchMask};
use stress_support::Rng;

/// A tmpfs and a watcher of all of it, or `None` where fanotify cannot run here.
fn watched(mask: WatchMask) -> Option<(Tmpfs, FsWatcher)> {
    let tmpfs = tmpfs()?;
    let watcher = watch(&[tmpfs.path()], mask);
    Some((tmpfs, watcher))
}

#[test]
fn mkdir_p_and_a_file_give_four_creations() {
    let (tmpfs, mut watcher) = match watched(WatchMask::CREATE) {
        Some(watched) => watched,
        None => return,
    };
    sh(tmpfs.path(), "mkdir -p a/b/c && touch a/b/c/f");
    let events = synced(&mut watcher);
    assert_eq!(
        described(&events, tmpfs.path()),
        [
            "IN_CREATE|IN_ISDIR a",
            "IN_CREATE|IN_ISDIR a/b",
            "IN_CREATE|IN_ISDIR a/b/c",
            "IN_CREATE a/b/c/f"
        ]
    );
}

#[test]
fn moves_within_into_and_out_of_the_root() {
    let tmpfs = match tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    let root = tmpfs.join("root");
    let away = tmpfs.join("away");
    std::fs::create_dir_all(root.join("d/e")).unwrap();
    std::fs::create_dir_all(away.join("x/y")).unwrap();
    let mut watcher = watch(&[&root], WatchMask::CREATE | WatchMask::MOVE);
    sh(&root, "mv d d2 && touch d2/e/f && mv ../away/x x && touch x/y/g && mv d2 ../away/d3 && touch ../away/d3/h");
    let events = synced(&mut watcher);
    assert_eq!(
        described(&events, &root),
        [
            "IN_MOVED_FROM|IN_ISDIR d",
            "IN_MOVED_TO|IN_ISDIR d2",
            "IN_CREATE d2/e/f",
            "IN_MOVED_TO|IN_ISDIR x",
            "IN_CREATE x/y/g",
            "IN_MOVED_FROM|IN_ISDIR d2",
        ]
    );
    let cookies: Vec<u32> = events.iter().map(|event| event.cookie).collect();
    assert_eq!(cookies[0], cookies[1]);
    assert_ne!(cookies[0], 0);
}

#[test]
fn directories_met_outside_are_delivered_once_moved_in() {
    let setup = "mkdir -p away/p/q/r away/p/s";
    let (tmpfs, root, mut watcher) = match root_watched(WatchMask::CREATE | WatchMask::MOVE, setup)
    {
        Some(watched) => watched,
        None => return,
    };
    // Met outside first: each one, and those above it, are then known to lie outside.
    sh(tmpfs.path(), "touch away/p/q/r/f away/p/s/f away/p/f");
    assert_eq!(described(&synced(&mut watcher), &root), [] as [&str; 0]);
    sh(
        tmpfs.path(),
        "mv away/p/q root/q && touch root/q/r/g && mv away/p root/p2 && touch root/p2/s/g",
    );
    assert_eq!(
        described(&synced(&mut watcher), &root),
        [
            "IN_MOVED_TO|IN_ISDIR q",
            "IN_CREATE q/r/g",
            "IN_MOVED_TO|IN_ISDIR p2",
            "IN_CREATE p2/s/g",
        ]
    );
}

#[test]
fn a_directory_never_met_is_named_where_it_was_though_one_above_it_moved_out() {
    let setup = "mkdir -p root/y/x away/known && touch away/known/f";
    let (tmpfs, root, mut watcher) = match root_watched(WatchMask::CREATE | WatchMask::MOVE, setup)
    {
        Some(watched) => watched,
        None => return,
    };
    // `away` is then known to lie outside.
    sh(tmpfs.path(), "touch away/known/g");
    assert_eq!(described(&synced(&mut watcher), &root), [] as [&str; 0]);
    // Read only after `y` has left: on the disk `x` lies outside, below `away`.
    sh(tmpfs.path(), "touch root/y/x/f && mv root/y away/y");
    assert_eq!(
        described(&synced(&mut watcher), &root),
        ["IN_CREATE y/x/f", "IN_MOVED_FROM|IN_ISDIR y"]
    );
}

#[test]
fn a_rename_of_a_directory_renames_what_is_queued_below_it() {
    let (tmpfs, mut watcher) = match watched(WatchMask::CREATE | WatchMask::MOVE) {
        Some(watched) => watched,
        None => return,
    };
    sh(
        tmpfs.path(),
        "mkdir -p a/b && touch a/b/early && mv a z && touch z/b/late",
    );
    let events = synced(&mut watcher);
    assert_eq!(
        described(&events, tmpfs.path()),
        [
            "IN_CREATE|IN_ISDIR a",
            "IN_CREATE|IN_ISDIR a/b",
            "IN_CREATE a/b/early",
            "IN_MOVED_FROM|IN_ISDIR a",
            "IN_MOVED_TO|IN_ISDIR z",
            "IN_CREATE z/b/late",
        ]
    );
}

#[test]
fn deletes_and_the_roots_end() {
    let tmpfs = match tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    let root = tmpfs.join("root");
    std::fs::create_dir(&root).unwrap();
    let mask = WatchMask::CREATE | WatchMask::DELETE | WatchMask::DELETE_SELF;
    let mut watcher = watch(&[&root], mask);
    sh(&root, "mkdir -p a/b && touch a/b/f && rm -r a");
    let events = synced(&mut watcher);
    assert_eq!(
        described(&events, &root),
        [
            "IN_CREATE|IN_ISDIR a",
            "IN_CREATE|IN_ISDIR a/b",
            "IN_CREATE a/b/f",
            "IN_DELETE a/b/f",
            "IN_DELETE_SELF a/b",
            "IN_DELETE|IN_ISDIR a/b",
            "IN_DELETE_SELF a",
            "IN_DELETE|IN_ISDIR a",
        ]
    );
    std::fs::remove_dir(&root).unwrap();
    let mut ends = Vec::new();
    loop {
        match watcher.next_event() {
            Ok(Some(event)) => ends.push(event.to_owned_event()),
            Ok(None) => {}
            Err(WatchError::Ended) => break,
            Err(error) => panic!("{}", error),
        }
    }
    assert_eq!(described(&ends, &root), ["IN_DELETE_SELF ", "IN_IGNORED "]);
}

#[test]
fn a_new_file_is_created_opened_changed_and_closed_in_that_order() {
    let (tmpfs, mut watcher) = match watched(WatchMask::ALL_EVENTS) {
        Some(watched) => watched,
        None => return,
    };
    // One process: fanotify merges these into one queued event, which is split again.
    let forks = fs_support::forks_held();
    std::fs::write(tmpfs.join("f"), b"x").unwrap();
    let events = synced(&mut watcher);
    drop(forks);
    assert_eq!(
        described(&events, tmpfs.path()),
        [
            "IN_CREATE f",
            "IN_OPEN f",
            "IN_MODIFY f",
            "IN_CLOSE_WRITE f"
        ]
    );
}

#[test]
fn only_the_mask_is_delivered() {
    let (tmpfs, mut watcher) = match watched(WatchMask::CLOSE_WRITE) {
        Some(watched) => watched,
        None => return,
    };
    sh(
        tmpfs.path(),
        "mkdir d && echo x > d/f && mv d e && cat e/f >/dev/null && rm -r e",
    );
    let events = synced(&mut watcher);
    assert_eq!(described(&events, tmpfs.path()), ["IN_CLOSE_WRITE d/f"]);
}

#[test]
fn nothing_below_an_excluded_name_and_its_renames_are_moves_out_and_in() {
    let tmpfs = match tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    std::fs::create_dir_all(tmpfs.join("lib/stuff/inner")).unwrap();
    let mut watcher = FsWatcher::builder()
        .mask(WatchMask::CREATE | WatchMask::DELETE | WatchMask::MOVE | WatchMask::CLOSE_WRITE)
        .exclude(|_, name| name == ".git")
        .watch([tmpfs.path()])
        .unwrap();
    sh(
        tmpfs.path(),
        "mkdir -p .git/objects && echo x > .git/objects/o && mv lib/stuff lib/.git \
         && echo y > lib/.git/inner/early && mv lib/.git lib/stuff && echo z > lib/stuff/inner/late \
         && rm -r .git",
    );
    let events = synced(&mut watcher);
    assert_eq!(
        described(&events, tmpfs.path()),
        [
            "IN_CREATE|IN_ISDIR .git",
            "IN_MOVED_FROM|IN_ISDIR lib/stuff",
            "IN_MOVED_TO|IN_ISDIR lib/stuff",
            "IN_CREATE lib/stuff/inner/late",
            "IN_CLOSE_WRITE lib/stuff/inner/late",
            "IN_DELETE|IN_ISDIR .git",
        ]
    );
    let (from, to) = (&events[1], &events[2]);
    assert_ne!(
        from.cookie, to.cookie,
        "a move to an excluded name is unpaired"
    );
}

#[test]
fn roots_added_and_removed() {
    let tmpfs = match tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    let (one, two) = (tmpfs.join("one"), tmpfs.join("two"));
    std::fs::create_dir(&one).unwrap();
    std::fs::create_dir(&two).unwrap();
    let mut watcher = watch(&[&one], WatchMask::CREATE);
    watcher.add_root(&two).unwrap();
    assert_eq!(watcher.roots(), [one.clone(), two.clone()]);
    sh(tmpfs.path(), "touch one/a two/b outside");
    let events = synced(&mut watcher);
    let paths: Vec<_> = events.iter().map(WatchEvent::path).collect();
    assert_eq!(paths, [one.join("a"), two.join("b")]);
    assert!(watcher.remove_root(&one).unwrap());
    assert!(!watcher.remove_root(&one).unwrap());
    sh(tmpfs.path(), "touch one/c two/d");
    let events = synced(&mut watcher);
    let paths: Vec<_> = events.iter().map(WatchEvent::path).collect();
    assert_eq!(paths, [two.join("d")]);
    assert!(watcher.remove_root(&two).unwrap());
    assert!(matches!(watcher.next_event(), Err(WatchError::Ended)));
}

#[test]
fn thousands_of_changes_are_all_in_hand_at_the_barrier() {
    let (tmpfs, mut watcher) = match watched(WatchMask::CREATE | WatchMask::DELETE) {
        Some(watched) => watched,
        None => return,
    };
    let root = tmpfs.path().to_path_buf();
    let writers: Vec<_> = (0..3)
        .map(|writer| {
            let root = root.clone();
            std::thread::spawn(move || {
                for i in 0..1000 {
                    let dir = root.join(format!("w{}-{}", writer, i % 10));
                    let _ = std::fs::create_dir(&dir);
                    std::fs::write(dir.join(format!("f{}", i)), b"").unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    watcher.sync(EVENT_TIMEOUT).unwrap();
    let mut files = 0;
    while let Some(event) = watcher.try_next_event().unwrap() {
        if !event.mask.contains(inotify_raw::EventMask::ISDIR) {
            assert!(event.path.exists(), "{}", event.path.display());
            files += 1;
        }
    }
    assert_eq!(files, 3000);
}

#[test]
fn an_overflow_is_delivered_once_and_paths_are_resolved_afresh() {
    let (tmpfs, mut watcher) = match watched(WatchMask::CREATE | WatchMask::MOVE) {
        Some(watched) => watched,
        None => return,
    };
    sh(tmpfs.path(), "mkdir -p a/b");
    assert_eq!(synced(&mut watcher).len(), 2, "a and a/b are known");
    // The queue holds 16,384 events: fill it, then rename, so the rename is lost.
    let many = tmpfs.join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..17_000 {
        std::fs::File::create(many.join(i.to_string())).unwrap();
    }
    std::fs::rename(tmpfs.join("a"), tmpfs.join("z")).unwrap();
    std::fs::File::create(tmpfs.join("z/b/late")).unwrap();
    let events = synced(&mut watcher);
    let overflows = events
        .iter()
        .filter(|event| event.mask.contains(inotify_raw::EventMask::Q_OVERFLOW))
        .count();
    assert_eq!(overflows, 1);
    std::fs::File::create(tmpfs.join("z/b/later")).unwrap();
    let events = synced(&mut watcher);
    assert_eq!(described(&events, tmpfs.path()), ["IN_CREATE z/b/later"]);
}

/// Fills the kernel's queue (16,384 events) in `dir`, so that what follows is lost.
fn overflow_queue(dir: &std::path::Path) {
    let many = dir.join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..17_000 {
        std::fs::File::create(many.join(i.to_string())).unwrap();
    }
}

#[test]
fn directories_met_before_an_overflow_are_checked_against_the_disk() {
    let setup = "mkdir -p root/kept/deep root/renamed/below root/again root/f root/g root/leaves";
    let (tmpfs, root, mut watcher) = match root_watched(WatchMask::CREATE | WatchMask::MOVE, setup)
    {
        Some(watched) => watched,
        None => return,
    };
    // Every directory met: each one's first event resolves it.
    sh(
        &root,
        "for d in kept/deep renamed/below again f g leaves; do touch $d/x; done",
    );
    synced(&mut watcher);
    std::fs::create_dir(root.join("unmet")).unwrap();
    overflow_queue(&root);
    // Lost in the overflow: a rename, a deletion and a new directory of the same name,
    // a swap of two names, a move out of the root, a move in.
    sh(
        tmpfs.path(),
        "mv root/renamed root/now && rm -r root/again && mkdir root/again && \
         mv root/f root/t && mv root/g root/f && mv root/t root/g && mv root/leaves away/ && \
         mkdir -p away/comes/in && mv away/comes root/",
    );
    let events = synced(&mut watcher);
    assert_eq!(
        events
            .iter()
            .filter(|event| event.mask.contains(inotify_raw::EventMask::Q_OVERFLOW))
            .count(),
        1
    );
    sh(
        tmpfs.path(),
        "for d in root/kept/deep root/now/below root/again root/f root/g away/leaves \
         root/comes/in root/unmet; do touch $d/y; done",
    );
    let events = synced(&mut watcher);
    assert_eq!(
        described(&events, &root),
        [
            "IN_CREATE kept/deep/y",
            "IN_CREATE now/below/y",
            "IN_CREATE again/y",
            "IN_CREATE f/y",
            "IN_CREATE g/y",
            "IN_CREATE comes/in/y",
            "IN_CREATE unmet/y",
        ]
    );
}

/// Every directory below `dir` (not `dir` itself), as paths relative to `root`.
fn directories_below(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() && entry.file_name() != "many" {
            let path = entry.path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            directories_below(root, &path, out);
        }
    }
}

#[test]
fn after_overflows_with_random_renames_every_path_is_right() {
    let seeds: Vec<u64> = match std::env::var("FS_OVERFLOW_SEEDS") {
        Ok(seeds) => seeds
            .split(',')
            .map(|s| s.trim().parse().unwrap())
            .collect(),
        Err(_) => std::vec![0x5eed, 7, 1234],
    };
    for seed in seeds {
        let (_tmpfs, root, mut watcher) = match root_watched(
            WatchMask::CREATE | WatchMask::MOVE | WatchMask::DELETE,
            "true",
        ) {
            Some(watched) => watched,
            None => return,
        };
        let mut random = Rng::new(seed);
        let mut made = 0;
        for round in 0..3 {
            // Grow the tree, and meet every directory in it.
            for _ in 0..20 {
                let mut dirs = Vec::new();
                directories_below(&root, &root, &mut dirs);
                let parent = match random.below(dirs.len() + 1) {
                    0 => root.clone(),
                    at => root.join(&dirs[at - 1]),
                };
                made += 1;
                std::fs::create_dir(parent.join(format!("d{}", made))).unwrap();
            }
            let mut dirs = Vec::new();
            directories_below(&root, &root, &mut dirs);
            for dir in &dirs {
                std::fs::File::create(root.join(dir).join("met")).unwrap();
            }
            synced(&mut watcher);
            // Lost in an overflow: renames anywhere in the tree, deletions, new ones.
            overflow_queue(&root);
            for _ in 0..15 {
                let mut dirs = Vec::new();
                directories_below(&root, &root, &mut dirs);
                if dirs.is_empty() {
                    break;
                }
                let from = dirs[random.below(dirs.len())].clone();
                let into: Vec<&String> = dirs
                    .iter()
                    .filter(|dir| **dir != from && !dir.starts_with(&format!("{}/", from)))
                    .collect();
                made += 1;
                match random.below(6) {
                    0 => std::fs::remove_dir_all(root.join(&from)).unwrap(),
                    1 | 2 if !into.is_empty() => {
                        let to = into[random.below(into.len())].clone();
                        std::fs::rename(root.join(&from), root.join(to).join(format!("r{}", made)))
                            .unwrap()
                    }
                    _ => {
                        std::fs::rename(root.join(&from), root.join(format!("r{}", made))).unwrap()
                    }
                }
            }
            std::fs::remove_dir_all(root.join("many")).unwrap();
            synced(&mut watcher);
            // Every directory now: a file made in each must be reported there.
            let mut dirs = Vec::new();
            directories_below(&root, &root, &mut dirs);
            for dir in &dirs {
                std::fs::File::create(root.join(dir).join(format!("probe{}", round))).unwrap();
            }
            let mut reported = described(&synced(&mut watcher), &root);
            let mut expected: Vec<String> = dirs
                .iter()
                .map(|dir| format!("IN_CREATE {}/probe{}", dir, round))
                .collect();
            reported.sort();
            expected.sort();
            assert_eq!(
                reported, expected,
                "seed {} (FS_OVERFLOW_SEEDS={} replays it), round {}",
                seed, seed, round
            );
        }
    }
}

/// Set for the helper test that runs as user nobody.
const HELPER: &str = "INOTIFY_RAW_FS_WATCHER_HELPER";

/// Run by `without_cap_sys_admin_the_error_says_what_to_do` as nobody; does nothing
/// otherwise.
#[test]
fn unprivileged_helper() {
    if std::env::var_os(HELPER).is_none() {
        return;
    }
    let outcome = match FsWatcher::new("/tmp") {
        Ok(_) => "watching".to_string(),
        Err(error) => format!(
            "{:?}|{:?}|{}",
            Errno::from_error(&error),
            error.kind(),
            error
        ),
    };
    println!("helper-result: {}", outcome);
}

#[test]
fn without_cap_sys_admin_the_error_says_what_to_do() {
    if tmpfs().is_none() {
        return;
    }
    let line = match rerun(
        "unprivileged_helper",
        (HELPER, std::ffi::OsStr::new("1")),
        Rerun::AsNobody,
    ) {
        Some(line) => line,
        None => return skip("cannot run a helper as user nobody"),
    };
    assert!(
        line.starts_with("Some(EPERM)|PermissionDenied|"),
        "{}",
        line
    );
    assert!(line.contains("CAP_SYS_ADMIN"), "{}", line);
    assert!(line.contains("TreeWatcher"), "{}", line);
    let mut sentences: Vec<&str> = line.split("; ").collect();
    let said = sentences.len();
    sentences.sort_unstable();
    sentences.dedup();
    assert_eq!(sentences.len(), said, "each sentence once: {}", line);
}

#[test]
fn a_file_system_without_file_handles_is_named_with_the_reason() {
    if tmpfs().is_none() {
        return;
    }
    let error = FsWatcher::new("/proc").unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with("/proc: "), "{}", text);
    assert!(text.contains("no file handles"), "{}", text);
    assert!(text.contains("TreeWatcher"), "{}", text);
}

#[test]
fn resolving_directories_it_never_met_makes_no_event() {
    let tmpfs = match tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    std::fs::create_dir_all(tmpfs.join("a/b")).unwrap();
    let mut watcher = watch(&[tmpfs.path()], WatchMask::ALL_EVENTS);
    let forks = fs_support::forks_held();
    std::fs::write(tmpfs.join("a/b/f"), b"x").unwrap();
    std::fs::write(tmpfs.join("a/g"), b"x").unwrap();
    let events = synced(&mut watcher);
    drop(forks);
    assert_eq!(
        described(&events, tmpfs.path()),
        [
            "IN_CREATE a/b/f",
            "IN_OPEN a/b/f",
            "IN_MODIFY a/b/f",
            "IN_CLOSE_WRITE a/b/f",
            "IN_CREATE a/g",
            "IN_OPEN a/g",
            "IN_MODIFY a/g",
            "IN_CLOSE_WRITE a/g"
        ]
    );
}

#[test]
fn roots_on_two_file_systems_and_a_bind_mount() {
    let (first, second) = match (tmpfs(), tmpfs()) {
        (Some(first), Some(second)) => (first, second),
        _ => return,
    };
    std::fs::create_dir_all(second.join("deep/inner/x")).unwrap();
    // A bind mount of a directory of the second file system, inside the first.
    let bound = first.join("bound");
    std::fs::create_dir(&bound).unwrap();
    let status = common::status(
        std::process::Command::new("mount")
            .args(["--bind"])
            .arg(second.join("deep/inner"))
            .arg(&bound),
    )
    .unwrap();
    assert!(status.success());
    let _unbind = Unmount(bound.clone());
    let mask = WatchMask::CREATE;
    let mut watcher = watch(&[bound.as_path(), first.path(), second.path()], mask);
    std::fs::write(bound.join("x/via-bind"), b"").unwrap();
    std::fs::write(first.join("on-first"), b"").unwrap();
    std::fs::write(second.join("deep/on-second"), b"").unwrap();
    let events = synced(&mut watcher);
    let paths: Vec<_> = events.iter().map(WatchEvent::path).collect();
    // A file system's event is named once, below the root that holds it most closely
    // on the mount it was resolved through: the bind mount's root names its own.
    assert_eq!(
        paths,
        [
            bound.join("x/via-bind"),
            first.join("on-first"),
            second.join("deep/on-second")
        ]
    );
}

/// Unmounts a path on drop.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = common::status(std::process::Command::new("umount").arg("-l").arg(&self.0));
    }
}

#[test]
fn a_directory_never_met_is_named_where_it_was_when_renamed_later() {
    let tmpfs = match tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    std::fs::create_dir_all(tmpfs.join("old/inner")).unwrap();
    let mut watcher = watch(&[tmpfs.path()], WatchMask::CREATE | WatchMask::MOVE);
    sh(
        tmpfs.path(),
        "touch old/inner/f && mv old new && touch new/inner/g",
    );
    let events = synced(&mut watcher);
    assert_eq!(
        described(&events, tmpfs.path()),
        [
            "IN_CREATE old/inner/f",
            "IN_MOVED_FROM|IN_ISDIR old",
            "IN_MOVED_TO|IN_ISDIR new",
            "IN_CREATE new/inner/g",
        ]
    );
}

#[test]
fn a_directory_never_met_and_deleted_before_it_is_read_is_named() {
    let tmpfs = match tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    std::fs::create_dir_all(tmpfs.join("a/x")).unwrap();
    std::fs::create_dir_all(tmpfs.join("b")).unwrap();
    std::fs::create_dir_all(tmpfs.join("old/inner")).unwrap();
    let mask = WatchMask::CREATE | WatchMask::DELETE | WatchMask::MOVE;
    let mut watcher = watch(&[tmpfs.path()], mask);
    sh(
        tmpfs.path(),
        "touch a/x/f && mv a/x b/x && touch b/x/g && touch old/inner/f && rm -r old",
    );
    let events = synced(&mut watcher);
    assert_eq!(
        described(&events, tmpfs.path()),
        [
            "IN_CREATE a/x/f",
            "IN_MOVED_FROM|IN_ISDIR a/x",
            "IN_MOVED_TO|IN_ISDIR b/x",
            "IN_CREATE b/x/g",
            "IN_CREATE old/inner/f",
            "IN_DELETE old/inner/f",
            "IN_DELETE|IN_ISDIR old/inner",
            "IN_DELETE|IN_ISDIR old",
        ]
    );
}

#[test]
fn opening_a_root_makes_no_event_even_with_children_forked_meanwhile() {
    let tmpfs = match tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let forking = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            use std::os::unix::process::CommandExt;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut command = std::process::Command::new("true");
                // SAFETY: the child only sleeps (nanosleep, async-signal-safe) before
                // its exec: it holds copies of the parent's descriptors meanwhile.
                unsafe {
                    command.pre_exec(|| {
                        std::thread::sleep(std::time::Duration::from_millis(3));
                        Ok(())
                    });
                }
                // Until its exec, the child would also hold other tests' files.
                let forks = fs_support::forks_held();
                let mut child = common::spawn_past_exec(&mut command);
                drop(forks);
                let _ = child.wait();
            }
        })
    };
    let mut leaked = Vec::new();
    for round in 0..300 {
        let root = tmpfs.join(&format!("round{}", round));
        std::fs::create_dir(&root).unwrap();
        // A watcher of the same root before this one: its opening's close must not come
        // late, from a child, to the next.
        drop(watch(&[&root], WatchMask::CREATE));
        let mut watcher = watch(&[&root], WatchMask::ALL_EVENTS);
        let second = tmpfs.join(&format!("second{}", round));
        std::fs::create_dir(&second).unwrap();
        watcher.add_root(&second).unwrap();
        std::fs::write(root.join("f"), b"x").unwrap();
        let events = synced(&mut watcher);
        leaked.extend(
            events
                .iter()
                .filter(|event| event.mask.contains(inotify_raw::EventMask::ISDIR))
                .map(|event| {
                    format!(
                        "round {}: {:?} {}",
                        round,
                        event.mask,
                        event.path().display()
                    )
                }),
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    forking.join().unwrap();
    assert!(leaked.is_empty(), "{:#?}", leaked);
}

#[test]
fn exclude_is_asked_with_the_directorys_own_path_as_a_tree_asks() {
    let tmpfs = match tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut watcher = FsWatcher::builder()
        .mask(WatchMask::CREATE)
        .exclude({
            let asked = asked.clone();
            move |path, name| {
                asked
                    .lock()
                    .unwrap()
                    .push((path.to_path_buf(), name.to_os_string()));
                false
            }
        })
        .watch([tmpfs.path()])
        .unwrap();
    sh(tmpfs.path(), "mkdir -p a/b");
    synced(&mut watcher);
    let asked = asked.lock().unwrap().clone();
    assert_eq!(
        asked,
        [
            (tmpfs.join("a"), "a".into()),
            (tmpfs.join("a/b"), "b".into())
        ]
    );
}

#[test]
fn a_root_inside_another_is_refused_as_a_tree_refuses_it() {
    let tmpfs = match tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    std::fs::create_dir_all(tmpfs.join("a/b")).unwrap();
    let mut watcher = watch(&[tmpfs.path()], WatchMask::CREATE);
    for inside in [tmpfs.join("a/b"), tmpfs.path().to_path_buf()] {
        let error = watcher.add_root(&inside).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::AlreadyExists, "{}", error);
        assert!(
            error
                .to_string()
                .contains("a root cannot be inside another"),
            "{}",
            error
        );
    }
    assert_eq!(watcher.roots(), [tmpfs.path().to_path_buf()]);
}

#[test]
fn a_directory_never_met_renamed_while_it_is_resolved_keeps_its_path_as_of_the_event() {
    let tmpfs = match tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    let mut wrong = Vec::new();
    for round in 0..150 {
        let root = tmpfs.join(&format!("r{}", round));
        std::fs::create_dir_all(root.join("a/b/c")).unwrap();
        let mut watcher = watch(&[&root], WatchMask::CREATE);
        watcher.set_block_duration(Some(std::time::Duration::from_millis(1)));
        let writer = {
            let root = root.clone();
            std::thread::spawn(move || {
                std::fs::rename(root.join("a/b"), root.join("x")).unwrap();
                std::fs::write(root.join("x/c/f"), b"").unwrap();
                for _ in 0..round % 7 {
                    std::thread::yield_now();
                }
                std::fs::rename(root.join("x/c"), root.join("a/d")).unwrap();
            })
        };
        // Read while the writer runs: the first event meets `c`, never met before.
        let mut made = None;
        while made.is_none() {
            if let Some(event) = watcher.next_event().unwrap() {
                made = Some(event.path.to_path_buf());
            }
        }
        writer.join().unwrap();
        let made = made.unwrap();
        if made != root.join("x/c/f") {
            wrong.push(made);
        }
    }
    assert!(wrong.is_empty(), "{:#?}", wrong);
}
