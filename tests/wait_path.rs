//! Waiting for a path (`PathWaiter`) against the real kernel, in fresh temporary
//! directories.
//!
//! The wait runs on the test's thread; the file operations run on other threads, which
//! first wait (with a deadline, through `/proc/self/fdinfo`) until the waiter watches the
//! directory they are about to change, so that the change happens during the wait and
//! not before it. Every wait has a timeout, and every result is asserted.
#![cfg(feature = "std")]

mod common;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::{wait_until_watched, TempDir};
use inotify_raw::{wait_for_path, Call, Errno, Error, FileKind, PathWait, PathWaiter, Presence};

/// Long enough never to be reached when the path does appear, also under qemu-user on a
/// machine busy compiling.
const LONG: Duration = common::EVENT_TIMEOUT;

fn waiter(presence: Presence) -> PathWaiter {
    PathWaiter::new(presence).timeout(LONG)
}

/// Runs `make` on another thread, with `dir`, once the waiter watches `dir`.
fn after_watch(dir: &Path, make: impl FnOnce(&Path) + Send + 'static) -> JoinHandle<()> {
    let dir = dir.to_path_buf();
    thread::spawn(move || {
        wait_until_watched(&dir);
        make(&dir);
    })
}

fn bytes(path: &Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes()
}

/// The component an error names, as text.
fn failing_prefix(error: &Error, path: &Path) -> String {
    let prefix = error
        .failing_prefix(bytes(path))
        .unwrap_or_else(|| panic!("no component in {:?}", error));
    String::from_utf8_lossy(prefix).into_owned()
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_path_there_at_the_start_is_found_at_once() {
    let tmp = TempDir::new();
    fs::create_dir(tmp.join("dir")).unwrap();
    fs::write(tmp.join("dir/file"), b"").unwrap();
    // A zero timeout checks once and never waits: finding the path proves it was not
    // waited for.
    let now = |presence| PathWaiter::new(presence).timeout(Duration::ZERO);
    assert_eq!(
        now(Presence::Exists).wait(tmp.join("dir/file").as_path()),
        Ok(PathWait::Found(FileKind::Regular))
    );
    assert_eq!(
        now(Presence::Resolves).wait(tmp.join("dir").as_path()),
        Ok(PathWait::Found(FileKind::Directory))
    );
    assert_eq!(
        now(Presence::Kind(FileKind::Directory)).wait("/"),
        Ok(PathWait::Found(FileKind::Directory))
    );
    assert_eq!(
        now(Presence::Exists).wait("/dev/null"),
        Ok(PathWait::Found(FileKind::CharDevice))
    );
    // Without a timeout too.
    assert_eq!(
        wait_for_path(tmp.join("dir/file").as_path(), Presence::Exists, None),
        Ok(PathWait::Found(FileKind::Regular))
    );
    // `.`, `..`, repeated and final slashes, as the kernel resolves them.
    let odd = format!("{}//dir/./../dir/file", tmp.path().display());
    assert_eq!(
        now(Presence::Exists).wait(odd.as_str()),
        Ok(PathWait::Found(FileKind::Regular))
    );
    let slash = format!("{}/dir/", tmp.path().display());
    assert_eq!(
        now(Presence::Exists).wait(slash.as_str()),
        Ok(PathWait::Found(FileKind::Directory))
    );
    // A C string's final NUL is its terminator.
    let c_path = format!("{}/dir/file\0", tmp.path().display());
    assert_eq!(
        now(Presence::Exists).wait(c_path.as_bytes()),
        Ok(PathWait::Found(FileKind::Regular))
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_path_made_deep_after_the_start_is_found() {
    let tmp = TempDir::new();
    let target = tmp.join("a/b/c/d");
    let made = {
        after_watch(tmp.path(), move |tmp| {
            fs::create_dir_all(tmp.join("a/b/c")).unwrap(); // mkdir -p a/b/c
            fs::write(tmp.join("a/b/c/d"), b"").unwrap(); // touch a/b/c/d
        })
    };
    assert_eq!(
        waiter(Presence::Exists).wait(target.as_path()),
        Ok(PathWait::Found(FileKind::Regular))
    );
    made.join().unwrap();
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_path_made_one_level_at_a_time_is_followed_down() {
    // Each level is made only once the waiter has descended to watch its parent.
    let tmp = TempDir::new();
    let target = tmp.join("a/b/c/d");
    let made = {
        let tmp = tmp.path().to_path_buf();
        thread::spawn(move || {
            let mut dir = tmp.clone();
            for name in ["a", "b", "c"] {
                wait_until_watched(&dir);
                dir.push(name);
                fs::create_dir(&dir).unwrap();
            }
            wait_until_watched(&dir);
            fs::write(dir.join("d"), b"").unwrap();
        })
    };
    assert_eq!(
        waiter(Presence::Exists).wait(target.as_path()),
        Ok(PathWait::Found(FileKind::Regular))
    );
    made.join().unwrap();
}

#[test]
#[cfg_attr(miri, ignore)]
fn the_last_component_made_by_rename_is_found() {
    let tmp = TempDir::new();
    let made = {
        after_watch(tmp.path(), move |tmp| {
            // Another name first (an event the waiter drops), then `mv tmp final`.
            fs::write(tmp.join("tmp"), b"contents").unwrap();
            fs::rename(tmp.join("tmp"), tmp.join("final")).unwrap();
        })
    };
    assert_eq!(
        waiter(Presence::Exists).wait(tmp.join("final").as_path()),
        Ok(PathWait::Found(FileKind::Regular))
    );
    made.join().unwrap();
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_directory_renamed_in_as_a_middle_component_is_found() {
    let tmp = TempDir::new();
    let made = {
        after_watch(tmp.path(), move |tmp| {
            fs::create_dir_all(tmp.join("staging/sub")).unwrap();
            fs::write(tmp.join("staging/sub/file"), b"").unwrap();
            fs::rename(tmp.join("staging"), tmp.join("mid")).unwrap();
        })
    };
    assert_eq!(
        waiter(Presence::Exists).wait(tmp.join("mid/sub/file").as_path()),
        Ok(PathWait::Found(FileKind::Regular))
    );
    made.join().unwrap();
}

#[test]
#[cfg_attr(miri, ignore)]
fn an_ancestor_created_removed_and_created_again_is_followed() {
    let tmp = TempDir::new();
    let made = {
        after_watch(tmp.path(), move |tmp| {
            let a = tmp.join("a");
            fs::create_dir(&a).unwrap();
            wait_until_watched(&a); // the waiter has descended into a
            fs::remove_dir(&a).unwrap();
            fs::create_dir_all(a.join("b")).unwrap();
            fs::write(a.join("b/file"), b"").unwrap();
        })
    };
    assert_eq!(
        waiter(Presence::Exists).wait(tmp.join("a/b/file").as_path()),
        Ok(PathWait::Found(FileKind::Regular))
    );
    made.join().unwrap();
}

#[test]
#[cfg_attr(miri, ignore)]
fn an_ancestor_renamed_away_is_left_behind() {
    // The waiter watches a/b; a is renamed to old. A regular file made at old/b/x is not
    // a/b/x; a directory made later at a/b/x is what must be found.
    let tmp = TempDir::new();
    let made = {
        after_watch(tmp.path(), move |tmp| {
            fs::create_dir_all(tmp.join("a/b")).unwrap();
            wait_until_watched(&tmp.join("a/b"));
            fs::rename(tmp.join("a"), tmp.join("old")).unwrap();
            fs::write(tmp.join("old/b/x"), b"").unwrap();
            fs::create_dir_all(tmp.join("a/b/x")).unwrap();
        })
    };
    assert_eq!(
        waiter(Presence::Exists).wait(tmp.join("a/b/x").as_path()),
        Ok(PathWait::Found(FileKind::Directory))
    );
    made.join().unwrap();
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_dangling_link_exists_at_once_and_resolves_once_its_target_is_made() {
    let tmp = TempDir::new();
    let link = tmp.join("link");
    symlink("target", &link).unwrap();
    let now = |presence| PathWaiter::new(presence).timeout(Duration::ZERO);
    // lstat sees the link: it exists.
    assert_eq!(
        now(Presence::Exists).wait(link.as_path()),
        Ok(PathWait::Found(FileKind::Symlink))
    );
    assert_eq!(
        now(Presence::Kind(FileKind::Symlink)).wait(link.as_path()),
        Ok(PathWait::Found(FileKind::Symlink))
    );
    // stat does not: it does not resolve yet.
    assert_eq!(
        now(Presence::Resolves).wait(link.as_path()),
        Ok(PathWait::TimedOut)
    );
    let made = {
        after_watch(tmp.path(), move |tmp| {
            fs::write(tmp.join("target"), b"").unwrap();
        })
    };
    assert_eq!(
        waiter(Presence::Resolves).wait(link.as_path()),
        Ok(PathWait::Found(FileKind::Regular))
    );
    made.join().unwrap();
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_link_like_udevs_is_waited_on_through_a_missing_directory() {
    // by-uuid/disk -> ../devices/sda1, with devices/ missing: the waiter follows the link
    // and waits in the directory the target's path gets to.
    let tmp = TempDir::new();
    fs::create_dir(tmp.join("by-uuid")).unwrap();
    symlink("../devices/sda1", tmp.join("by-uuid/disk")).unwrap();
    let made = {
        after_watch(tmp.path(), move |tmp| {
            fs::create_dir(tmp.join("devices")).unwrap();
            wait_until_watched(&tmp.join("devices"));
            fs::write(tmp.join("devices/sda1"), b"").unwrap();
        })
    };
    assert_eq!(
        waiter(Presence::Kind(FileKind::Regular)).wait(tmp.join("by-uuid/disk").as_path()),
        Ok(PathWait::Found(FileKind::Regular))
    );
    made.join().unwrap();
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_link_in_the_middle_is_followed_and_waited_on() {
    let tmp = TempDir::new();
    symlink(tmp.join("real/deep"), tmp.join("mnt")).unwrap(); // an absolute target
    let made = {
        after_watch(tmp.path(), move |tmp| {
            fs::create_dir_all(tmp.join("real/deep")).unwrap();
            fs::write(tmp.join("real/deep/file"), b"").unwrap();
        })
    };
    assert_eq!(
        waiter(Presence::Exists).wait(tmp.join("mnt/file").as_path()),
        Ok(PathWait::Found(FileKind::Regular))
    );
    made.join().unwrap();
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_link_pointed_elsewhere_during_the_wait_is_followed() {
    // `ln -sfn ready link`: a new link renamed over the old one.
    let tmp = TempDir::new();
    symlink("nowhere", tmp.join("link")).unwrap();
    let made = {
        after_watch(tmp.path(), move |tmp| {
            fs::create_dir(tmp.join("ready")).unwrap();
            symlink("ready", tmp.join("link.new")).unwrap();
            fs::rename(tmp.join("link.new"), tmp.join("link")).unwrap();
        })
    };
    assert_eq!(
        waiter(Presence::Resolves).wait(tmp.join("link").as_path()),
        Ok(PathWait::Found(FileKind::Directory))
    );
    made.join().unwrap();
}

#[test]
#[cfg_attr(miri, ignore)]
fn links_are_followed_up_to_the_kernels_limit_of_40() {
    let tmp = TempDir::new();
    fs::write(tmp.join("file"), b"").unwrap();
    // l0 -> file, l1 -> l0, ..., l40 -> l39: l39 takes 40 links, l40 takes 41.
    symlink("file", tmp.join("l0")).unwrap();
    for i in 1..=40 {
        symlink(format!("l{}", i - 1), tmp.join(format!("l{}", i))).unwrap();
    }
    let forty = tmp.join("l39");
    let forty_one = tmp.join("l40");
    // The kernel agrees.
    assert!(fs::metadata(&forty).is_ok());
    assert_eq!(
        fs::metadata(&forty_one).unwrap_err().raw_os_error(),
        Some(Errno::ELOOP.raw())
    );
    let now = PathWaiter::new(Presence::Resolves).timeout(Duration::ZERO);
    assert_eq!(
        now.wait(forty.as_path()),
        Ok(PathWait::Found(FileKind::Regular))
    );
    let error = now.wait(forty_one.as_path()).unwrap_err();
    assert_eq!(error.errno(), Some(Errno::ELOOP), "{}", error);
    assert_eq!(
        failing_prefix(&error, &forty_one),
        forty_one.to_str().unwrap()
    );
    // As the middle of a path too.
    let below = tmp.join("l40/x");
    let error = now.wait(below.as_path()).unwrap_err();
    assert_eq!(error.errno(), Some(Errno::ELOOP), "{}", error);
    assert_eq!(failing_prefix(&error, &below), forty_one.to_str().unwrap());
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_loop_of_links_is_eloop_naming_the_link() {
    let tmp = TempDir::new();
    symlink("b", tmp.join("a")).unwrap();
    symlink("a", tmp.join("b")).unwrap();
    let path = tmp.join("a");
    let error = waiter(Presence::Resolves).wait(path.as_path()).unwrap_err();
    assert!(
        matches!(
            error,
            Error::PathComponent {
                errno: Errno::ELOOP,
                ..
            }
        ),
        "{:?}",
        error
    );
    assert_eq!(failing_prefix(&error, &path), path.to_str().unwrap());
    assert!(error.to_string().contains("loop of links"), "{}", error);
    // lstat does not follow it: the link itself exists.
    assert_eq!(
        waiter(Presence::Exists).wait(path.as_path()),
        Ok(PathWait::Found(FileKind::Symlink))
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_file_where_a_socket_is_awaited_keeps_the_wait_going_until_a_socket_is_bound() {
    let tmp = TempDir::new();
    let path = tmp.join("sock");
    fs::write(&path, b"not a socket").unwrap();
    let socket = Presence::Kind(FileKind::Socket);
    // A regular file is not a socket: the wait goes on until its timeout.
    let short = Duration::from_millis(100);
    let started = Instant::now();
    assert_eq!(
        PathWaiter::new(socket).timeout(short).wait(path.as_path()),
        Ok(PathWait::TimedOut)
    );
    assert!(started.elapsed() >= short);
    // Other kinds match what is there.
    assert_eq!(
        PathWaiter::new(Presence::Kind(FileKind::Regular))
            .timeout(Duration::ZERO)
            .wait(path.as_path()),
        Ok(PathWait::Found(FileKind::Regular))
    );
    let made = {
        after_watch(tmp.path(), move |tmp| {
            let path = tmp.join("sock");
            fs::write(&path, b"still not a socket").unwrap();
            fs::remove_file(&path).unwrap();
            // The socket file stays when the listener is closed.
            drop(UnixListener::bind(&path).unwrap());
        })
    };
    assert_eq!(
        waiter(socket).wait(path.as_path()),
        Ok(PathWait::Found(FileKind::Socket))
    );
    made.join().unwrap();
}

#[test]
#[cfg_attr(miri, ignore)]
fn the_timeout_is_an_outcome_no_sooner_than_asked() {
    let tmp = TempDir::new();
    let missing = tmp.join("never/there");
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    assert_eq!(
        PathWaiter::new(Presence::Exists)
            .timeout(timeout)
            .wait(missing.as_path()),
        Ok(PathWait::TimedOut)
    );
    assert!(
        started.elapsed() >= timeout,
        "timed out after {:?}",
        started.elapsed()
    );

    // Events about other names in the watched directory, and periodic re-checks, wake the
    // wait up without shortening it.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let noise = {
        let stop = stop.clone();
        after_watch(tmp.path(), move |tmp| {
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let name = tmp.join(format!("other-{}", i % 8));
                fs::write(&name, b"").unwrap();
                fs::remove_file(&name).unwrap();
                i = i.wrapping_add(1);
                thread::yield_now();
            }
        })
    };
    let started = Instant::now();
    let outcome = PathWaiter::new(Presence::Exists)
        .timeout(timeout)
        .recheck_every(Duration::from_millis(20))
        .wait(missing.as_path());
    let elapsed = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    noise.join().unwrap();
    assert_eq!(outcome, Ok(PathWait::TimedOut));
    assert!(elapsed >= timeout, "timed out after {:?}", elapsed);
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_file_in_the_middle_is_enotdir_naming_it() {
    let tmp = TempDir::new();
    fs::write(tmp.join("file"), b"").unwrap();
    let path = tmp.join("file/below");
    let error = waiter(Presence::Exists).wait(path.as_path()).unwrap_err();
    assert_eq!(
        error,
        Error::PathComponent {
            call: Call::Statx,
            errno: Errno::ENOTDIR,
            offset: bytes(tmp.path()).len() + 1,
            len: 4,
        }
    );
    assert_eq!(
        failing_prefix(&error, &path),
        tmp.join("file").to_str().unwrap()
    );
    // A final slash asks for a directory as well.
    let slash = format!("{}/file/", tmp.path().display());
    let error = waiter(Presence::Exists).wait(slash.as_str()).unwrap_err();
    assert_eq!(error.errno(), Some(Errno::ENOTDIR));
    // A link to a file, in the middle: named as the link.
    symlink("file", tmp.join("link")).unwrap();
    let through = tmp.join("link/below");
    let error = waiter(Presence::Exists)
        .wait(through.as_path())
        .unwrap_err();
    assert_eq!(error.errno(), Some(Errno::ENOTDIR));
    assert_eq!(
        failing_prefix(&error, &through),
        tmp.join("link").to_str().unwrap()
    );

    // Through std: the message names the path and the component by their text.
    let io_error = waiter(Presence::Exists).wait_path(&path).unwrap_err();
    assert_eq!(Errno::from_error(&io_error), Some(Errno::ENOTDIR));
    let message = io_error.to_string();
    assert!(
        message.starts_with(&format!(
            "{}: {}: statx: Not a directory (ENOTDIR): ",
            path.display(),
            tmp.join("file").display()
        )),
        "{}",
        message
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn bad_paths_are_refused_before_any_wait() {
    let waiter = waiter(Presence::Exists);
    assert_eq!(waiter.wait(""), Err(Error::EmptyPath));
    assert_eq!(waiter.wait(&b"\0"[..]), Err(Error::EmptyPath));
    assert_eq!(
        waiter.wait(&b"a\0b"[..]),
        Err(Error::PathContainsNul { position: 1 })
    );
    let long = "x".repeat(4096);
    assert_eq!(
        waiter.wait(long.as_str()),
        Err(Error::PathTooLong { len: 4096 })
    );
    let io_error = waiter.wait_path(Path::new("")).unwrap_err();
    assert_eq!(io_error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        io_error.to_string().contains("the path is empty"),
        "{}",
        io_error
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn relative_paths_start_from_the_current_directory() {
    // Cargo runs tests in the package's directory. The path goes up to / with `..`
    // and back down to the temporary directory.
    let cwd = std::env::current_dir().unwrap();
    let tmp = TempDir::new();
    let ups = "../".repeat(cwd.components().count());
    let relative = PathBuf::from(format!(
        "{}{}/later",
        ups,
        tmp.path().display().to_string().trim_start_matches('/')
    ));
    assert!(relative.is_relative());
    assert_eq!(
        PathWaiter::new(Presence::Exists)
            .timeout(Duration::ZERO)
            .wait("Cargo.toml"),
        Ok(PathWait::Found(FileKind::Regular))
    );
    let made = {
        after_watch(tmp.path(), move |tmp| {
            fs::write(tmp.join("later"), b"").unwrap();
        })
    };
    assert_eq!(
        waiter(Presence::Exists).wait(relative.as_path()),
        Ok(PathWait::Found(FileKind::Regular))
    );
    made.join().unwrap();
}

/// The environment variable that makes `unprivileged_helper` do its work: the path to
/// wait for.
const HELPER_PATH: &str = "INOTIFY_RAW_WAIT_HELPER_PATH";

/// Not a test by itself: run as another user by `eacces_on_an_ancestor_names_it`, with
/// the path in `INOTIFY_RAW_WAIT_HELPER_PATH`. It prints the outcome on one line.
#[test]
#[cfg_attr(miri, ignore)]
fn unprivileged_helper() {
    let path = match std::env::var_os(HELPER_PATH) {
        Some(path) => PathBuf::from(path),
        None => return,
    };
    let outcome = PathWaiter::new(Presence::Exists)
        .timeout(Duration::from_secs(5))
        .wait(path.as_path());
    match outcome {
        Err(error @ Error::PathComponent { call, errno, .. }) => println!(
            "helper-result: {} {} {}",
            call.name(),
            errno.name().unwrap_or("?"),
            failing_prefix(&error, &path)
        ),
        other => println!("helper-result: {:?}", other),
    }
}

/// Runs `unprivileged_helper` as user and group 65534 (nobody) for `path`; its result
/// line, or `None` if this process cannot change users.
fn wait_as_nobody(path: &Path) -> Option<String> {
    common::rerun(
        "unprivileged_helper",
        (HELPER_PATH, path.as_os_str()),
        common::Rerun::AsNobody,
    )
}

#[test]
#[cfg_attr(miri, ignore)]
fn eacces_on_an_ancestor_names_it() {
    let tmp = TempDir::new();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    // No read permission for others: cannot be watched.
    let unreadable = tmp.join("unreadable");
    fs::create_dir_all(unreadable.join("sub")).unwrap();
    fs::set_permissions(&unreadable, fs::Permissions::from_mode(0o711)).unwrap();
    // No search permission for others: nothing in it can be looked up.
    let unsearchable = tmp.join("unsearchable");
    fs::create_dir_all(unsearchable.join("sub")).unwrap();
    fs::set_permissions(&unsearchable, fs::Permissions::from_mode(0o744)).unwrap();

    let line = match wait_as_nobody(&unreadable.join("sub/file")) {
        Some(line) => line,
        None => {
            eprintln!("skipped: cannot start a process as user nobody (65534) here");
            return;
        }
    };
    assert_eq!(
        line,
        format!("inotify_add_watch EACCES {}", unreadable.display())
    );
    let line = wait_as_nobody(&unsearchable.join("sub/file")).unwrap();
    assert_eq!(line, format!("statx EACCES {}", unsearchable.display()));
    // The same waits as root see through both (and time out, the file being missing).
    for dir in [&unreadable, &unsearchable] {
        assert_eq!(
            PathWaiter::new(Presence::Exists)
                .timeout(Duration::ZERO)
                .wait(dir.join("sub/file").as_path()),
            Ok(PathWait::TimedOut)
        );
    }
    // And the message says what to do.
    let error = Error::PathComponent {
        call: Call::Statx,
        errno: Errno::EACCES,
        offset: 0,
        len: 4,
    };
    let message = error.to_string();
    assert!(message.contains("search (x) permission"), "{}", message);
}
