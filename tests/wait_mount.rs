//! A file system mounted over a directory of the path during a wait raises no inotify
//! event in the directory it covers: the wait sees the path below the mount only with a
//! re-check interval. A real tmpfs, mounted and unmounted.
//!
//! A file of its own, so a test binary of its own: it starts `mount` and `umount` (see
//! `tests/unmount.rs`).
#![cfg(feature = "std")]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{mount_tmpfs, wait_until_watched, TempDir};
use inotify_raw::{FileKind, PathWait, PathWaiter, Presence};

fn unmount(at: &Path) {
    let status = common::status(Command::new("umount").arg(at)).unwrap();
    assert!(status.success(), "umount {}: {}", at.display(), status);
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_mount_over_an_ancestor_during_the_wait_is_found_by_the_recheck() {
    let dir = TempDir::new();
    let mountpoint = dir.join("mnt");
    std::fs::create_dir(&mountpoint).unwrap();
    // Can this machine mount at all? (Root and CAP_SYS_ADMIN are needed.)
    if !mount_tmpfs(&mountpoint) {
        return;
    }
    unmount(&mountpoint);
    let target = mountpoint.join("sub/file");

    // The waiter watches `mnt` (the directory the mount covers) before the mount; nothing
    // happens in that directory afterwards, so only the re-check can find the file.
    let maker = {
        let mountpoint = mountpoint.clone();
        std::thread::spawn(move || {
            wait_until_watched(&mountpoint);
            assert!(mount_tmpfs(&mountpoint));
            std::fs::create_dir(mountpoint.join("sub")).unwrap();
            std::fs::write(mountpoint.join("sub/file"), b"").unwrap();
        })
    };
    let seen = PathWaiter::new(Presence::Exists)
        .timeout(common::EVENT_TIMEOUT)
        .recheck_every(Duration::from_millis(50))
        .wait(target.as_path());
    maker.join().unwrap();
    unmount(&mountpoint);
    assert_eq!(seen, Ok(PathWait::Found(FileKind::Regular)));
}
