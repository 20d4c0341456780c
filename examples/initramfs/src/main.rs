//! `inotify-initramfs`: inotify-raw's checks against a real kernel, built to run as the
//! `/init` of an initramfs (`.ci/aarch64-kernel.sh` boots it under an arm64 kernel).
//!
//! As process 1 it mounts `/proc`, `/dev` and a tmpfs on `/tmp` itself, runs every
//! check in a fresh directory of that tmpfs, prints one line per check and then
//!
//! ```text
//! inotify-raw kernel checks: 12 passed, 0 failed, 0 skipped (Linux 6.1.0-57-cloud-arm64, aarch64, 2.95 s after boot)
//! ```
//!
//! and powers the machine off. A check that would skip counts as failed there: an
//! initramfs has everything each check needs. Run as any other process (as root, with
//! `INOTIFY_NOLIBC` set to the no-libc binary), it runs the same checks in a directory
//! under `$TMPDIR`, skips those that need to be process 1 or root, and exits with status
//! 0 when none failed.

mod check;
mod epoll;
mod fanotify;
mod inotify;
mod nolibc;
mod observe;
mod system;
mod tree;
mod wait_path;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::{env, fs};

use check::{Check, Settings, Summary};

/// Every check, in the order they run.
const CHECKS: &[Check] = &[
    Check::new("inotify", inotify::events_in_order),
    Check::new("parser", inotify::parser_on_kernel_bytes),
    Check::new("overflow", inotify::queue_overflow),
    Check::new("epoll", epoll::wakes_a_blocked_wait),
    Check::new("event-waiter", epoll::event_waiter_cycles),
    Check::new("wait-for-path", wait_path::descends_as_directories_appear),
    Check::new(
        "wait-for-path-errors",
        wait_path::times_out_and_names_the_component,
    ),
    Check::new("tree", tree::new_tree_and_move),
    Check::new("nolibc-watch", nolibc::prints_inotifywait_lines),
    Check::new("nolibc-wait", nolibc::waits_for_a_path),
    Check::new("fanotify", fanotify::filesystem_mark_reports_mkdir),
    Check::new("fs-watcher", tree::fs_watcher_follows_a_move),
];

/// Where the no-libc binary is in the initramfs.
const NOLIBC_IN_INITRAMFS: &str = "/bin/inotify-nolibc";

fn main() -> ExitCode {
    let as_init = std::process::id() == 1;
    if as_init {
        if let Err(error) = system::set_up_as_init() {
            println!("inotify-initramfs: cannot set up the system: {error}");
            system::power_off();
        }
        println!(
            "inotify-initramfs: started as /init ({})",
            system::describe()
        );
    }
    let summary = match scratch_root(as_init) {
        Ok(scratch) => run_in(&scratch, as_init),
        Err(error) => {
            println!("inotify-initramfs: cannot make a scratch directory: {error}");
            Summary::default()
        }
    };
    println!(
        "inotify-raw kernel checks: {} passed, {} failed, {} skipped ({})",
        summary.passed,
        summary.failed,
        summary.skipped,
        system::describe()
    );
    if as_init {
        system::power_off();
    }
    if summary.passed > 0 && summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The directory the checks make theirs in: `/tmp` (a tmpfs of its own) as process 1,
/// a fresh one under the temporary directory otherwise.
fn scratch_root(as_init: bool) -> std::io::Result<PathBuf> {
    if as_init {
        return Ok(PathBuf::from("/tmp"));
    }
    let dir = env::temp_dir().join(format!("inotify-initramfs-{}", std::process::id()));
    fs::create_dir(&dir)?;
    Ok(dir)
}

fn run_in(scratch: &Path, as_init: bool) -> Summary {
    let nolibc = if as_init {
        Some(PathBuf::from(NOLIBC_IN_INITRAMFS))
    } else {
        env::var_os("INOTIFY_NOLIBC").map(PathBuf::from)
    };
    let settings = Settings {
        as_init,
        as_root: system::is_root(),
        nolibc,
    };
    let summary = check::run_all(CHECKS, scratch, &settings);
    if !as_init {
        if let Err(error) = fs::remove_dir(scratch) {
            println!(
                "inotify-initramfs: cannot remove {}: {error}",
                scratch.display()
            );
        }
    }
    summary
}
