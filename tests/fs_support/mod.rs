//! What the fanotify tests share: a private tmpfs per test (so that a file-system mark
//! sees only the test's own writes), and skipping, with the reason said, where fanotify
//! or mounting is not permitted (a failure when `INOTIFY_RAW_REQUIRE_FANOTIFY=1`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use inotify_raw::{Errno, FsWatcher, WatchEvent, WatchMask};

use super::common::{output, status, TempDir, EVENT_TIMEOUT};

/// Set to `1` to make a skip (no fanotify, no right to mount) a failure.
pub const REQUIRE: &str = "INOTIFY_RAW_REQUIRE_FANOTIFY";

/// Says why the test cannot run here, and returns; or fails, when fanotify is required.
pub fn skip(why: &str) {
    if std::env::var_os(REQUIRE).map_or(false, |value| value == "1") {
        panic!(
            "{} is set, but fanotify cannot be tested here: {}",
            REQUIRE, why
        );
    }
    eprintln!("skipped: {}", why);
}

/// A tmpfs of the test's own that an `FsWatcher` can watch, or `None` where fanotify
/// cannot run here (the test skips, and says why).
pub fn fs_watcher_tmpfs() -> Option<Tmpfs> {
    let tmpfs = Tmpfs::mount()?;
    match FsWatcher::new(tmpfs.path()) {
        Ok(_) => Some(tmpfs),
        Err(error)
            if matches!(
                Errno::from_error(&error),
                Some(Errno::EPERM) | Some(Errno::ENOSYS)
            ) =>
        {
            skip(&format!("fanotify is not permitted here: {}", error));
            None
        }
        Err(error) => panic!("FsWatcher on {}: {}", tmpfs.path().display(), error),
    }
}

/// A watcher of `roots` for `mask`.
pub fn watch<P: AsRef<Path>>(roots: &[P], mask: WatchMask) -> FsWatcher {
    FsWatcher::builder()
        .mask(mask)
        .watch(roots)
        .unwrap_or_else(|error| panic!("FsWatcher: {}", error))
}

/// A tmpfs with `root` and `away` (beside it), `setup` run in the tmpfs with `sh`, and
/// a watcher of `root` for `mask`; `None` where fanotify cannot run here.
pub fn root_watched(mask: WatchMask, setup: &str) -> Option<(Tmpfs, PathBuf, FsWatcher)> {
    let tmpfs = fs_watcher_tmpfs()?;
    sh(tmpfs.path(), &format!("mkdir root away && {}", setup));
    let root = tmpfs.join("root");
    let watcher = watch(&[&root], mask);
    Some((tmpfs, root, watcher))
}

/// Every event up to a barrier.
pub fn synced(watcher: &mut FsWatcher) -> Vec<WatchEvent> {
    watcher.sync(EVENT_TIMEOUT).expect("sync");
    let mut events = Vec::new();
    while let Some(event) = watcher.try_next_event().expect("try_next_event") {
        events.push(event.to_owned_event());
    }
    events
}

/// The events as `(mask names, path below root)`.
pub fn described(events: &[WatchEvent], root: &Path) -> Vec<String> {
    events
        .iter()
        .map(|event| {
            let path = event.path();
            let below = path.strip_prefix(root).unwrap_or(&path);
            format!("{} {}", event.type_names().join("|"), below.display())
        })
        .collect()
}

/// Runs `script` with `sh -c` in `dir`; fails the test when it fails.
pub fn sh(dir: &Path, script: &str) {
    let _forks = forks_held();
    let status = status(Command::new("sh").arg("-c").arg(script).current_dir(dir)).unwrap();
    assert!(status.success(), "{}", script);
}

/// Held while this process starts a program here, and by a test that a child forked
/// meanwhile would disturb: a child holds copies of the process's descriptors until its
/// `exec`, so a file the test closes is reported closed only then.
static FORKS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// [`FORKS`], held until the guard is dropped.
pub fn forks_held() -> std::sync::MutexGuard<'static, ()> {
    FORKS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A tmpfs mounted on a fresh directory, unmounted on drop.
pub struct Tmpfs {
    mountpoint: PathBuf,
    _dir: TempDir,
}

impl Tmpfs {
    /// Mounts one, or says why it cannot (then the test skips).
    pub fn mount() -> Option<Tmpfs> {
        let dir = TempDir::new();
        let mountpoint = dir.join("mnt");
        std::fs::create_dir(&mountpoint).unwrap();
        let _forks = forks_held();
        let output = output(
            Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=64m", "inotify-raw-fanotify"])
                .arg(&mountpoint),
        );
        match output {
            Ok(output) if output.status.success() => Some(Tmpfs {
                mountpoint,
                _dir: dir,
            }),
            Ok(output) => {
                skip(&format!(
                    "cannot mount a tmpfs (needs root): {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
                None
            }
            Err(error) => {
                skip(&format!("cannot run mount: {}", error));
                None
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.mountpoint
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.mountpoint.join(name)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a descriptor still open on it (a failed test's) must not keep it.
        let _forks = forks_held();
        let _ = status(Command::new("umount").arg("-l").arg(&self.mountpoint));
    }
}
