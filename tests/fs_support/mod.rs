//! What the fanotify tests share: a private tmpfs per test (so that a file-system mark
//! sees only the test's own writes), and skipping, with the reason said, where fanotify
//! or mounting is not permitted (a failure when `INOTIFY_RAW_REQUIRE_FANOTIFY=1`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use inotify_raw::{Errno, FsWatcher};

use super::common::TempDir;

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
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64m", "inotify-raw-fanotify"])
            .arg(&mountpoint)
            .output();
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

    /// Mounts one where an `FsWatcher` can watch it, or says why not (then the test
    /// skips): no right to mount, or no fanotify (`EPERM` without `CAP_SYS_ADMIN`,
    /// `ENOSYS` under qemu-user).
    pub fn for_fs_watcher() -> Option<Tmpfs> {
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
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.mountpoint)
            .status();
    }
}
