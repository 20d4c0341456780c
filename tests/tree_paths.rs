//! The paths a `TreeWatcher` delivers: each event's path is the one its object had when
//! the kernel queued the event (as far as the moves delivered before it say), and an
//! event that happened inside the tree is delivered even when its directory has left
//! the tree before the tree reads it.
#![cfg(feature = "std")]

mod common;
mod stress_support;
mod tree_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::TempDir;
use inotify_raw::{EventMask, Origin, TreeWatcher, WatchEvent, WatchMask};
use stress_support::{disk_model, Model, Replay};
use tree_support::{assert_reported, synced, touch};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Every event up to a barrier, read with `next_event` (blocking reads) or
/// `try_next_event`.
fn drain(tree: &mut TreeWatcher, blocking: bool) -> Vec<WatchEvent> {
    tree.sync(TIMEOUT).unwrap();
    let mut events = Vec::new();
    loop {
        let next = if blocking {
            tree.next_event()
        } else {
            tree.try_next_event()
        };
        match next.unwrap() {
            Some(event) => events.push(event.to_owned_event()),
            None => return events,
        }
    }
}

/// `mv old new && touch new/later && mv new ../out`, all before the tree reads: the
/// creation happened inside the tree, at `new/later`, and is delivered there, between
/// the two moves. (The directory's own `IN_MOVE_SELF` for the second move happened
/// outside the tree, and is not delivered.)
#[test]
#[cfg_attr(miri, ignore)]
fn a_creation_in_a_directory_that_left_the_tree_before_it_was_read_is_delivered() {
    for blocking in [true, false] {
        let dir = TempDir::new();
        let (root, out) = (dir.join("root"), dir.join("out"));
        fs::create_dir_all(root.join("old")).unwrap();
        fs::create_dir(&out).unwrap();
        let mut tree = TreeWatcher::new(&root).unwrap();
        fs::rename(root.join("old"), root.join("new")).unwrap();
        touch(&root.join("new/later"));
        fs::rename(root.join("new"), out.join("new")).unwrap();
        let events = drain(&mut tree, blocking);
        let seen: Vec<(EventMask, PathBuf)> = events
            .iter()
            .filter(|e| !e.mask.intersects(EventMask::OPEN | EventMask::CLOSE))
            .map(|e| (e.mask, e.path().strip_prefix(&root).unwrap().to_path_buf()))
            .collect();
        let expected = [
            (
                EventMask::MOVED_FROM | EventMask::ISDIR,
                PathBuf::from("old"),
            ),
            (EventMask::MOVED_TO | EventMask::ISDIR, PathBuf::from("new")),
            (EventMask::MOVE_SELF, PathBuf::from("new")),
            (EventMask::CREATE, PathBuf::from("new/later")),
            (
                EventMask::MOVED_FROM | EventMask::ISDIR,
                PathBuf::from("new"),
            ),
        ];
        assert_eq!(
            seen, expected,
            "blocking reads: {}; {:#?}",
            blocking, events
        );
    }
}

/// Files made in `b/s` while `a` and `b` swap names 2,000 times (a file after each
/// swap, so each is made in `b/s`, whichever directory that is then), read while it
/// goes on: each kernel event reports it in `b/s`, where it was made, never in `a/s`.
#[test]
#[cfg_attr(miri, ignore)]
fn files_made_under_a_name_that_swaps_are_reported_where_they_were_made() {
    let dir = TempDir::new();
    let root = dir.path().to_path_buf();
    fs::create_dir_all(root.join("a/s")).unwrap();
    fs::create_dir_all(root.join("b/s")).unwrap();
    let mut tree = TreeWatcher::with_mask([&root], WatchMask::CREATE | WatchMask::MOVE).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (root, done) = (root.clone(), done.clone());
        thread::spawn(move || {
            let mut made = Vec::new();
            for n in 0..2000 {
                fs::rename(root.join("a"), root.join("t")).unwrap();
                fs::rename(root.join("b"), root.join("a")).unwrap();
                fs::rename(root.join("t"), root.join("b")).unwrap();
                let name = format!("f{}", n);
                fs::File::create(root.join("b/s").join(&name)).unwrap();
                made.push(name);
            }
            done.store(true, Ordering::SeqCst);
            made
        })
    };
    let mut reported = Vec::new();
    while !done.load(Ordering::SeqCst) {
        while let Some(event) = tree.try_next_event().unwrap() {
            reported.push(event.to_owned_event());
        }
    }
    let made = swapper.join().unwrap();
    reported.extend(drain(&mut tree, false));
    // The kernel's events say where each file was made. A reader far enough behind
    // holds more events than the tree keeps for directories between the halves of their
    // moves; those directories are listed again once placed, and what the listing finds
    // is reported as found there (`Origin::Scan`): in `a/s` or `b/s`, wherever that
    // directory was then.
    let files: Vec<&WatchEvent> = reported
        .iter()
        .filter(|e| e.name.to_string_lossy().starts_with('f'))
        .collect();
    let swapping = [root.join("a/s"), root.join("b/s")];
    let wrong: Vec<&&WatchEvent> = files
        .iter()
        .filter(|e| match e.origin {
            Origin::Scan => !swapping.contains(&e.watch_path),
            _ => e.watch_path != root.join("b/s"),
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} files made in b/s reported elsewhere, e.g. {:#?}",
        wrong.len(),
        made.len(),
        &wrong[..wrong.len().min(5)]
    );
    // A slow reader (qemu-user) can let the queue overflow: then events were lost, and
    // the overflow is delivered; the paths that were delivered are still checked above.
    let overflowed = reported
        .iter()
        .any(|e| e.mask.contains(EventMask::Q_OVERFLOW));
    let listed_again = files.iter().any(|e| e.origin == Origin::Scan);
    if !overflowed {
        let names: std::collections::HashSet<String> = files
            .iter()
            .map(|e| e.name.to_string_lossy().into_owned())
            .collect();
        let missing: Vec<&String> = made.iter().filter(|name| !names.contains(*name)).collect();
        assert!(
            missing.is_empty(),
            "files made and never reported: {:?}",
            missing
        );
    }
    if !overflowed && !listed_again {
        assert_eq!(files.len(), made.len(), "each file made is reported once");
    }
}

/// `mv a/c a/d && mv a z`, the reads racing the renames: each round either reads a few
/// events between the two renames, or reads with `next_event` in this thread while
/// another thread renames. The four moves are all there is: `z/d` came by them, so no
/// event of the tree's own may report it again (a creation of it would break replay).
#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_renamed_then_moved_with_its_parent_is_reported_by_the_moves_alone() {
    let expected: Vec<(EventMask, PathBuf)> = [
        (EventMask::MOVED_FROM, "a/c"),
        (EventMask::MOVED_TO, "a/d"),
        (EventMask::MOVED_FROM, "a"),
        (EventMask::MOVED_TO, "z"),
    ]
    .iter()
    .map(|&(mask, path)| (mask | EventMask::ISDIR, PathBuf::from(path)))
    .collect();
    let mut wrong = Vec::new();
    for round in 0..60 {
        let dir = TempDir::new();
        let root = dir.path().to_path_buf();
        fs::create_dir_all(root.join("a/c")).unwrap();
        let mask = WatchMask::CREATE | WatchMask::MOVED_FROM | WatchMask::MOVED_TO;
        let mut tree = TreeWatcher::with_mask([&root], mask).unwrap();
        tree.set_block_duration(Some(Duration::from_millis(1)));
        let mut events = Vec::new();
        let reads_between = round % 6;
        if reads_between < 5 {
            fs::rename(root.join("a/c"), root.join("a/d")).unwrap();
            for _ in 0..reads_between {
                if let Some(event) = tree.try_next_event().unwrap() {
                    events.push(event.to_owned_event());
                }
            }
            fs::rename(root.join("a"), root.join("z")).unwrap();
        } else {
            let renamer = {
                let root = root.clone();
                thread::spawn(move || {
                    fs::rename(root.join("a/c"), root.join("a/d")).unwrap();
                    fs::rename(root.join("a"), root.join("z")).unwrap();
                })
            };
            while !renamer.is_finished() {
                if let Some(event) = tree.next_event().unwrap() {
                    events.push(event.to_owned_event());
                }
            }
            renamer.join().unwrap();
        }
        events.extend(drain(&mut tree, false));
        let seen: Vec<(EventMask, PathBuf)> = events
            .iter()
            .map(|e| (e.mask, e.path().strip_prefix(&root).unwrap().to_path_buf()))
            .collect();
        if seen != expected {
            let origins = described(&events);
            wrong.push((round, origins));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of 60 rounds wrong: {:#?}",
        wrong.len(),
        wrong
    );
}

/// A tree on `root` (beside `out`) that holds `holds`, a path below it; its top
/// directory then leaves for `out` and comes back as `back`, before the tree reads: it
/// arrives with no `IN_MOVED_FROM` the caller had, and is listed again.
fn back_from_outside(holds: &str, back: &str) -> (TempDir, PathBuf, Model, TreeWatcher) {
    let dir = TempDir::new();
    let (root, out) = (dir.join("root"), dir.join("out"));
    fs::create_dir_all(root.join(holds)).unwrap();
    fs::create_dir(&out).unwrap();
    let start = disk_model(&root);
    let tree = TreeWatcher::new(&root).unwrap();
    let top = holds.split('/').next().unwrap_or(holds);
    fs::rename(root.join(top), out.join(top)).unwrap();
    fs::rename(out.join(top), root.join(back)).unwrap();
    (dir, root, start, tree)
}

/// The tree below `root` that `events` give, replayed in order from `start`.
fn replayed(start: Model, root: &Path, events: &[WatchEvent]) -> Model {
    let mut replay = Replay::on(start);
    for event in events {
        let path = event.path().strip_prefix(root).unwrap().to_path_buf();
        replay.take(event, &path, None);
    }
    replay.model
}

/// Asserts that `events`, replayed in order from `start`, give the tree on disk below
/// `root`; a failure shows `described`.
fn assert_replays_to_disk(start: Model, root: &Path, events: &[WatchEvent], described: &[String]) {
    assert_eq!(
        replayed(start, root, events),
        disk_model(root),
        "{:#?}",
        described
    );
}

/// Each event as its mask, origin and path, for a failure's message.
fn described(events: &[WatchEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| format!("{:?} {:?} {}", e.mask, e.origin, e.path().display()))
        .collect()
}

/// `mkdir n && mv pre a && touch a/f && mv a n/b`, all before the tree reads: the
/// listing of the new `n` finds `pre` at `n/b`, ahead of the events, which have it at
/// `a` first. `f` was made at `a/f` and is reported there; the directory is reported at
/// `n/b` only once the events have taken it from `a`.
#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_found_after_two_moves_is_at_the_first_place_for_the_events_in_between() {
    let dir = TempDir::new();
    let root = dir.path().to_path_buf();
    fs::create_dir_all(root.join("pre/sub")).unwrap();
    let start = disk_model(&root);
    let mut tree = TreeWatcher::new(&root).unwrap();
    fs::create_dir(root.join("n")).unwrap();
    fs::rename(root.join("pre"), root.join("a")).unwrap();
    touch(&root.join("a/f"));
    fs::rename(root.join("a"), root.join("n/b")).unwrap();
    let events = synced(&mut tree);
    let described = described(&events);
    let made: Vec<&WatchEvent> = events
        .iter()
        .filter(|e| e.origin == Origin::Kernel && e.mask.contains(EventMask::CREATE))
        .filter(|e| e.name == "f")
        .collect();
    assert_eq!(made.len(), 1, "{:#?}", described);
    assert_eq!(made[0].path(), root.join("a/f"), "{:#?}", described);
    assert_replays_to_disk(start, &root, &events, &described);
}

/// A directory moved out and back in is listed again (it came back with what it holds
/// unknown), and that listing finds `w` and `w2`, ahead of the events of
/// `mkdir w && mv w w2 && mkdir w`, made before the tree reads. Those events repeat what
/// the listing reported, and must not move the directories the listing placed: a file
/// made later in `w2` is reported in `w2`, and the events replay to the disk.
#[test]
#[cfg_attr(miri, ignore)]
fn events_that_repeat_a_listing_leave_the_directories_it_found_in_their_places() {
    let (_dir, root, start, mut tree) = back_from_outside("pre", "m");
    fs::create_dir(root.join("m/w")).unwrap();
    fs::rename(root.join("m/w"), root.join("m/w2")).unwrap();
    fs::create_dir(root.join("m/w")).unwrap();
    touch(&root.join("m/w2/g"));
    let mut events = synced(&mut tree);
    touch(&root.join("m/w2/h"));
    events.extend(synced(&mut tree));
    let described = described(&events);
    let later = events
        .iter()
        .find(|e| e.name == "h" && e.mask.contains(EventMask::CREATE));
    assert_eq!(
        later.map(|e| (e.origin, e.path())),
        Some((Origin::Kernel, root.join("m/w2/h"))),
        "{:#?}",
        described
    );
    assert_replays_to_disk(start, &root, &events, &described);
}

/// A tree over `root`, which holds the empty directory `d`; then, all before the tree
/// reads: `mv d ../out/d`, `in_out` on `../out/d`, `mv ../out/d d`, someone else's open
/// and close of `d`, and a few hundred events about files. `d` comes back where the
/// caller had no place for it, so the tree lists it again, and the other close of `d` is
/// read first, where the close of the tree's own listing is expected. Returns the temporary
/// directory, `root`, the tree below `root` before any of this, and the tree.
fn listed_again_after_another_close(
    in_out: impl FnOnce(&Path),
) -> (TempDir, PathBuf, Model, TreeWatcher) {
    let dir = TempDir::new();
    let (root, out) = (dir.join("root"), dir.join("out"));
    fs::create_dir_all(root.join("d")).unwrap();
    fs::create_dir(&out).unwrap();
    let start = disk_model(&root);
    let tree = TreeWatcher::new(&root).unwrap();
    fs::rename(root.join("d"), out.join("d")).unwrap();
    in_out(&out.join("d"));
    fs::rename(out.join("d"), root.join("d")).unwrap();
    drop(fs::read_dir(root.join("d")).unwrap());
    for i in 0..300 {
        fs::write(root.join(format!("f{}", i)), b"x").unwrap();
    }
    (dir, root, start, tree)
}

/// [`listed_again_after_another_close`], then `mkdir d/x` before the tree reads: the
/// listing finds `x`, and the kernel's `IN_CREATE` of it, read hundreds of events after
/// the other close, was queued before the listing, so it repeats what the listing found.
/// `x` is reported once, and the events replay to the disk.
#[test]
#[cfg_attr(miri, ignore)]
fn a_listing_ended_early_by_another_close_still_reports_what_it_found_once() {
    let (_dir, root, start, mut tree) = listed_again_after_another_close(|_| {});
    fs::create_dir(root.join("d/x")).unwrap();
    let events = synced(&mut tree);
    let described = described(&events);
    let made = events
        .iter()
        .filter(|e| e.mask.contains(EventMask::CREATE) && e.path() == root.join("d/x"))
        .count();
    assert_eq!(made, 1, "{:#?}", described);
    assert_replays_to_disk(start, &root, &events, &described);
}

/// [`listed_again_after_another_close`] with `mkdir n` in `d` while it is out, then
/// `mv d/n d/n2` before the tree reads: the listing finds `n2`. The `IN_MOVED_FROM` of
/// `n`, read hundreds of events after the other close, was queued before the listing:
/// the caller never had `n` there, and is not told it left.
#[test]
#[cfg_attr(miri, ignore)]
fn a_listing_ended_early_by_another_close_still_hides_what_left_before_it() {
    let (_dir, root, start, mut tree) =
        listed_again_after_another_close(|d| fs::create_dir(d.join("n")).unwrap());
    fs::rename(root.join("d/n"), root.join("d/n2")).unwrap();
    let events = synced(&mut tree);
    let described = described(&events);
    let never_had = events.iter().any(|e| e.path() == root.join("d/n"));
    assert!(!never_had, "{:#?}", described);
    assert_replays_to_disk(start, &root, &events, &described);
}

/// `mkdir n && mv x/y n/y && mkdir n/y/c n/y/c/p`, then (`rename_n`) `mv n n2`, all
/// before the tree reads. The listing of the new `n` finds `y`, whose move the events
/// have not reached; `y`'s move then never ends where the caller can see (`n` was not
/// watched yet), so `y` arrives as one the caller never had there, with what it holds.
/// The creation of `c`, read while `y` is away, is listed there and then, and `y`'s
/// arrival lists `c` again before the first listing's close is read: the second
/// listing's `IN_OPEN` and `IN_ACCESS` are the tree's own too, and none reaches the
/// caller. Every directory is reported once, each after its parent: what the first
/// listing found and had not handed out gives way to `y`'s listing. The events replay
/// to the disk.
#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_listed_twice_before_its_first_close_makes_no_event() {
    for rename_n in [false, true] {
        let dir = TempDir::new();
        let root = dir.path().to_path_buf();
        fs::create_dir_all(root.join("x/y")).unwrap();
        let start = disk_model(&root);
        let mut tree = TreeWatcher::new(&root).unwrap();
        fs::create_dir(root.join("n")).unwrap();
        fs::rename(root.join("x/y"), root.join("n/y")).unwrap();
        fs::create_dir_all(root.join("n/y/c/p")).unwrap();
        let n = if rename_n {
            fs::rename(root.join("n"), root.join("n2")).unwrap();
            root.join("n2")
        } else {
            root.join("n")
        };
        let events = synced(&mut tree);
        let described = described(&events);
        let reported: Vec<PathBuf> = events
            .iter()
            .filter(|e| e.origin == Origin::Scan)
            .map(|e| e.path())
            .collect();
        let expected = [n.join("y"), n.join("y/c"), n.join("y/c/p")];
        assert_eq!(reported, expected, "{:#?}", described);
        let own_noise = events
            .iter()
            .any(|e| e.mask.intersects(EventMask::OPEN | EventMask::ACCESS));
        assert!(!own_noise, "{:#?}", described);
        assert_replays_to_disk(start, &root, &events, &described);
    }
}

/// `mkdir n && mv pre n/m && touch n/m/x/f && mv n/m/x y`, all before the tree reads:
/// the events have `pre` in a move (its other half never comes: `n` was not watched
/// yet) when `x` leaves it for `y`. The caller never had `x` anywhere but in `pre`, so
/// its arrival at `y` is reported with what it holds, and `f`, made in `n/m/x`, is not
/// reported at `y/f` by the kernel's event.
#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_that_leaves_one_in_a_move_arrives_with_what_it_holds() {
    let dir = TempDir::new();
    let root = dir.path().to_path_buf();
    fs::create_dir_all(root.join("pre/x")).unwrap();
    let start = disk_model(&root);
    let mut tree = TreeWatcher::new(&root).unwrap();
    fs::create_dir(root.join("n")).unwrap();
    fs::rename(root.join("pre"), root.join("n/m")).unwrap();
    touch(&root.join("n/m/x/f"));
    fs::rename(root.join("n/m/x"), root.join("y")).unwrap();
    let events = synced(&mut tree);
    let described = described(&events);
    let misplaced = events.iter().any(|e| {
        e.origin == Origin::Kernel
            && e.mask.contains(EventMask::CREATE)
            && e.name == "f"
            && e.path() != root.join("n/m/x/f")
    });
    assert!(!misplaced, "{:#?}", described);
    assert_reported(&events, EventMask::CREATE, &root.join("y/f"));
    assert_replays_to_disk(start, &root, &events, &described);
}

/// `mkdir n && mv pre n/m`, then the tree reads the creation of `n` (its listing finds
/// `m`, ahead of the events, which still have it at `pre`), then
/// `mkdir n2 && mv n/m n2/m`. The events take `pre` away, then `m` out of `n`, with no
/// event to put it there between: the caller is never told of `n/m` (neither found there
/// nor moved from there), only of `n2/m` (found by the listing of `n2`), and the events
/// replay to the disk.
#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_found_where_it_leaves_from_before_the_events_took_it_there_is_not_reported() {
    let dir = TempDir::new();
    let root = dir.path().to_path_buf();
    fs::create_dir_all(root.join("pre/sub")).unwrap();
    let start = disk_model(&root);
    let mut tree = TreeWatcher::new(&root).unwrap();
    fs::create_dir(root.join("n")).unwrap();
    fs::rename(root.join("pre"), root.join("n/m")).unwrap();
    let first = tree.try_next_event().unwrap().unwrap().to_owned_event();
    assert_eq!(first.path(), root.join("n"), "{:?}", first);
    let mut events = vec![first];
    fs::create_dir(root.join("n2")).unwrap();
    fs::rename(root.join("n/m"), root.join("n2/m")).unwrap();
    events.extend(synced(&mut tree));
    let described = described(&events);
    assert!(
        events
            .iter()
            .all(|e| !e.path().starts_with(root.join("n/m"))),
        "{:#?}",
        described
    );
    assert_replays_to_disk(start, &root, &events, &described);
}

/// `mkdir n && mv pre n/m && mkdir -p n/m/y/x/c`, read up to just short of the queue's
/// end (the events still have `pre` in a move, so `x`, found by the listing of the new
/// `y`, waits for its report), then `mkdir n2 && touch n/m/y/x/f && mv n/m/y/x/c z &&
/// mv n/m/y/x n2/x`. The listing of `n2` finds `x` before the tree reads the events of
/// `f` and `c`, which happened in `n/m/y/x`, where the caller never had `x`: none is
/// delivered in `n2/x` (`n2/x/c` never existed), `x` is reported at `n2/x` with what it
/// holds, and the events replay to the disk.
#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_found_before_its_report_then_elsewhere_takes_no_event_of_its_first_place() {
    let dir = TempDir::new();
    let root = dir.path().to_path_buf();
    fs::create_dir_all(root.join("pre/sub")).unwrap();
    let start = disk_model(&root);
    let mut tree = TreeWatcher::new(&root).unwrap();
    fs::create_dir(root.join("n")).unwrap();
    fs::rename(root.join("pre"), root.join("n/m")).unwrap();
    fs::create_dir_all(root.join("n/m/y/x/c")).unwrap();
    touch(&root.join("g"));
    // Up to the creation of `g`: short of the queue's end, where a quiet wait would end
    // the move of `pre`.
    let mut events = Vec::new();
    while !events.iter().any(|e: &WatchEvent| e.name == "g") {
        let event = tree.try_next_event().unwrap().expect("the creation of g");
        events.push(event.to_owned_event());
    }
    assert!(
        tree.wd_of(root.join("n/m/y/x")).is_some(),
        "x is watched by now: {:#?}",
        events
    );
    fs::create_dir(root.join("n2")).unwrap();
    touch(&root.join("n/m/y/x/f"));
    fs::rename(root.join("n/m/y/x/c"), root.join("z")).unwrap();
    fs::rename(root.join("n/m/y/x"), root.join("n2/x")).unwrap();
    events.extend(synced(&mut tree));
    let described = described(&events);
    let misplaced = events.iter().any(|e| {
        e.origin == Origin::Kernel
            && ((e.name == "f" && e.path() != root.join("n/m/y/x/f"))
                || (e.name == "c" && e.path() != root.join("n/m/y/x/c")))
    });
    assert!(!misplaced, "{:#?}", described);
    assert_reported(&events, EventMask::CREATE, &root.join("n2/x/f"));
    assert_replays_to_disk(start, &root, &events, &described);
}

/// `mv x/d a/b/m/d && mv a/b/m a/c/m2 && mv a e/a2`, all before the tree reads (with
/// and without `mkdir a/b/n` first): the changes in `m`, `b` and `c` are read after
/// `a` left the path the tree has for it, so each of them waits for `a` to be placed;
/// then `b`, listed first, no longer holds `m`, which `c` holds under another name. `m`
/// is listed once it is placed, and `d`, which came into it, stays watched.
#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_moved_into_one_that_moves_with_its_parent_before_the_tree_reads_is_watched() {
    for first_in_b in [false, true] {
        let dir = TempDir::new();
        let root = dir.path().to_path_buf();
        for path in ["a/b/m", "a/c", "x/d/sub", "e"] {
            fs::create_dir_all(root.join(path)).unwrap();
        }
        let start = disk_model(&root);
        let mut tree = TreeWatcher::new(&root).unwrap();
        if first_in_b {
            fs::create_dir(root.join("a/b/n")).unwrap();
        }
        fs::rename(root.join("x/d"), root.join("a/b/m/d")).unwrap();
        fs::rename(root.join("a/b/m"), root.join("a/c/m2")).unwrap();
        fs::rename(root.join("a"), root.join("e/a2")).unwrap();
        let events = synced(&mut tree);
        let described = described(&events);
        tree_support::assert_matches_disk(&mut tree, &[&root]);
        assert_eq!(
            replayed(start, &root, &events),
            disk_model(&root),
            "mkdir a/b/n first: {}; {:#?}",
            first_in_b,
            described
        );
    }
}

/// `mkdir u && mv a/d u/d`, read up to just short of the queue's end (the listing of
/// the new `u` finds `d`, whose report waits for the events to take it there; the
/// `IN_MOVED_FROM` of `a/d` is delivered, and `d` is in a move), then `mv u/d p/t/d2 &&
/// mv p/t p/t2`. The second move of `d` is read while the path of `t` no longer names
/// it: `d` arrives in `t` with no `IN_MOVED_FROM` the caller had, and is reported with
/// what it holds once `t` is placed, so the events replay to the disk.
#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_that_arrives_where_the_disk_has_moved_on_is_reported_with_what_it_holds() {
    let dir = TempDir::new();
    let root = dir.path().to_path_buf();
    fs::create_dir_all(root.join("a/d/s")).unwrap();
    fs::create_dir_all(root.join("p/t")).unwrap();
    touch(&root.join("a/d/f"));
    touch(&root.join("a/d/s/g"));
    let start = disk_model(&root);
    let mut tree = TreeWatcher::new(&root).unwrap();
    fs::create_dir(root.join("u")).unwrap();
    fs::rename(root.join("a/d"), root.join("u/d")).unwrap();
    touch(&root.join("mark"));
    // Up to the creation of `mark`: short of the queue's end, where a quiet wait would
    // end the move of `d`.
    let mut events = Vec::new();
    while !events.iter().any(|e: &WatchEvent| e.name == "mark") {
        let event = tree
            .try_next_event()
            .unwrap()
            .expect("the creation of mark");
        events.push(event.to_owned_event());
    }
    fs::rename(root.join("u/d"), root.join("p/t/d2")).unwrap();
    fs::rename(root.join("p/t"), root.join("p/t2")).unwrap();
    events.extend(synced(&mut tree));
    let described = described(&events);
    tree_support::assert_matches_disk(&mut tree, &[&root]);
    assert_replays_to_disk(start, &root, &events, &described);
}

/// `mv d ../out/d && mkdir ../out/d/a && mv ../out/d d2 && mv d2/a a2`, all before the
/// tree reads (with and without `f` made in `a`, and with `a2` in a new `x`): `a` was
/// made outside the tree, so the caller never had it, and the listing of `d2` (which
/// arrived with no `IN_MOVED_FROM` the caller had) does not see it, gone by then. Its
/// move out of `d2` is not delivered, and its arrival at `a2` is reported with what it
/// holds, so the events replay to the disk.
#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_that_left_one_before_its_listing_arrives_with_what_it_holds() {
    for (with_file, into_new) in [(false, false), (true, false), (false, true), (true, true)] {
        let dir = TempDir::new();
        let (root, out) = (dir.join("root"), dir.join("out"));
        fs::create_dir_all(root.join("d")).unwrap();
        fs::create_dir(&out).unwrap();
        let start = disk_model(&root);
        let mut tree = TreeWatcher::new(&root).unwrap();
        fs::rename(root.join("d"), out.join("d")).unwrap();
        fs::create_dir(out.join("d/a")).unwrap();
        if with_file {
            touch(&out.join("d/a/f"));
        }
        fs::rename(out.join("d"), root.join("d2")).unwrap();
        let to = if into_new {
            fs::create_dir(root.join("x")).unwrap();
            root.join("x/a2")
        } else {
            root.join("a2")
        };
        fs::rename(root.join("d2/a"), &to).unwrap();
        let events = synced(&mut tree);
        let described = described(&events);
        tree_support::assert_matches_disk(&mut tree, &[&root]);
        assert!(
            events
                .iter()
                .all(|e| !e.path().starts_with(root.join("d2/a"))),
            "f in a: {}, a2 in x: {}; {:#?}",
            with_file,
            into_new,
            described
        );
        assert_replays_to_disk(start, &root, &events, &described);
    }
}

/// `mv d ../out/d && mv ../out/d d2 && mkdir d2/a/n && mv d2/a a2`, all before the tree
/// reads: `d2` arrives with no `IN_MOVED_FROM` the caller had, and its listing does not
/// see `a`, gone by then. The caller, told all that listing saw, never had `a` in `d2`:
/// the creation of `n` in it, read next, is not delivered at `d2/a/n`, nor is the move
/// of `a` out of `d2`; `a` arrives at `a2` with what it holds, and the events replay to
/// the disk.
#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_the_listing_of_its_parent_did_not_see_takes_no_event_there() {
    let (_dir, root, start, mut tree) = back_from_outside("d/a", "d2");
    fs::create_dir(root.join("d2/a/n")).unwrap();
    fs::rename(root.join("d2/a"), root.join("a2")).unwrap();
    let events = synced(&mut tree);
    let described = described(&events);
    tree_support::assert_matches_disk(&mut tree, &[&root]);
    assert!(
        events
            .iter()
            .all(|e| !e.path().starts_with(root.join("d2/a"))),
        "{:#?}",
        described
    );
    assert_replays_to_disk(start, &root, &events, &described);
}

/// `mv d ../out/d && mv ../out/d d2`, then `mkdir d2/w && mv d2/w d2/w-r && mkdir d2/w`
/// (with `s` made in `w-r`; or `rmdir` for the move; or files for the directories), all
/// before the tree reads: `d2` arrives with no `IN_MOVED_FROM` the caller had and is
/// listed, finding the second `w` (and `w-r`). The kernel's events of the first `w`
/// (made, then moved or deleted) were queued before that listing: the caller, told what
/// the listing saw, has the second `w` once, and is told of no change of the first one
/// at `d2/w` (a file's writes are still delivered). The events replay to the disk.
#[test]
#[cfg_attr(miri, ignore)]
fn a_name_used_twice_before_a_listing_is_reported_once() {
    let cases = [
        ("directory moved", true, true, false),
        ("directory moved, s in it", true, true, true),
        ("directory removed", true, false, false),
        ("file moved", false, true, false),
        ("file removed", false, false, false),
    ];
    for (case, is_dir, moved, with_sub) in cases {
        let (_dir, root, start, mut tree) = back_from_outside("d", "d2");
        let (w, w_r) = (root.join("d2/w"), root.join("d2/w-r"));
        let make = |path: &Path| {
            if is_dir {
                fs::create_dir(path).unwrap();
            } else {
                touch(path);
            }
        };
        make(&w);
        match (moved, is_dir) {
            (true, _) => fs::rename(&w, &w_r).unwrap(),
            (false, true) => fs::remove_dir(&w).unwrap(),
            (false, false) => fs::remove_file(&w).unwrap(),
        }
        make(&w);
        if with_sub {
            fs::create_dir(w_r.join("s")).unwrap();
        }
        let events = synced(&mut tree);
        let described = described(&events);
        tree_support::assert_matches_disk(&mut tree, &[&root]);
        let changes =
            EventMask::CREATE | EventMask::DELETE | EventMask::MOVED_FROM | EventMask::MOVED_TO;
        let at_w: Vec<&WatchEvent> = events
            .iter()
            .filter(|e| e.path() == w && e.mask.intersects(changes))
            .collect();
        assert!(
            at_w.len() == 1 && at_w[0].mask.contains(EventMask::CREATE),
            "{}: {:#?}",
            case,
            described
        );
        assert_replays_to_disk(start, &root, &events, &described);
    }
}

/// A name used for two directories (or one directory that leaves and comes back) before
/// the tree reads, with `d` watched: each event at `w` is delivered once, in order, and
/// what the directory at `w` now holds is reported after the creation that brought it
/// (not under the first `w`, which went elsewhere). The events replay to the disk.
#[test]
#[cfg_attr(miri, ignore)]
fn a_name_used_twice_before_the_tree_reads_gives_each_directory_its_own_events() {
    let cases: [(&str, &[&str]); 6] = [
        (
            "moved",
            &["mkdir w", "mv w w-r", "mkdir w", "mkdir w/in", "mv w-r d/x"],
        ),
        ("removed", &["mkdir w", "rmdir w", "mkdir w", "mkdir w/in"]),
        (
            "moved, then its place moved into a new directory",
            &[
                "mkdir w",
                "mv w w-r",
                "mkdir w",
                "mkdir w/in",
                "touch w-r/f",
                "mv w-r d/x",
                "mkdir n",
                "mv d n/d",
            ],
        ),
        (
            "moved, then its place renamed",
            &[
                "mkdir w",
                "mv w w-r",
                "mkdir w",
                "mkdir w-r/g",
                "mv w-r d/x",
                "mv d e",
            ],
        ),
        (
            "the same one out and back",
            &["mkdir w", "mkdir w/in", "mv w w-r", "mv w-r w"],
        ),
        (
            "the same one out and back twice",
            &[
                "mkdir w",
                "mkdir w/in",
                "mv w w-r",
                "mv w-r w",
                "mv w d/x",
                "mv d/x w",
            ],
        ),
    ];
    for (case, ops) in cases {
        let dir = TempDir::new();
        let root = dir.join("root");
        fs::create_dir_all(root.join("d")).unwrap();
        let start = disk_model(&root);
        let mut tree = TreeWatcher::new(&root).unwrap();
        for op in ops {
            let words: Vec<&str> = op.split(' ').collect();
            let path = root.join(words[1]);
            match words[0] {
                "mkdir" => fs::create_dir(path).unwrap(),
                "rmdir" => fs::remove_dir(path).unwrap(),
                "touch" => touch(&path),
                _ => fs::rename(path, root.join(words[2])).unwrap(),
            }
        }
        let events = synced(&mut tree);
        let described = described(&events);
        tree_support::assert_matches_disk(&mut tree, &[&root]);
        let w = root.join("w");
        let at_w: Vec<EventMask> = events
            .iter()
            .filter(|e| e.path() == w)
            .map(|e| e.mask - EventMask::ISDIR)
            .collect();
        let arrivals = at_w
            .iter()
            .filter(|mask| mask.intersects(EventMask::CREATE | EventMask::MOVED_TO))
            .count();
        let departures = at_w.len() - arrivals;
        assert!(
            at_w.first() == Some(&EventMask::CREATE) && arrivals == departures + 1,
            "{}: {:#?}",
            case,
            described
        );
        // What `w` holds is reported after the last arrival at `w`.
        let last_arrival = events
            .iter()
            .rposition(|e| {
                e.path() == w && e.mask.intersects(EventMask::CREATE | EventMask::MOVED_TO)
            })
            .unwrap();
        let below_w_before = events[..last_arrival]
            .iter()
            .any(|e| e.path().starts_with(&w) && e.path() != w);
        assert!(!below_w_before, "{}: {:#?}", case, described);
        assert_replays_to_disk(start, &root, &events, &described);
    }
}
