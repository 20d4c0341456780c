//! What process 1 does that std has no function for: mounting, unmounting and powering
//! off, through the C library this static binary carries anyway.

use std::ffi::{c_char, c_int, c_ulong, c_void, CString};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

extern "C" {
    fn mount(
        source: *const c_char,
        target: *const c_char,
        fstype: *const c_char,
        flags: c_ulong,
        data: *const c_void,
    ) -> c_int;
    fn umount2(target: *const c_char, flags: c_int) -> c_int;
    fn reboot(op: c_int) -> c_int;
    fn geteuid() -> u32;
    fn sync();
}

/// `RB_POWER_OFF` (`LINUX_REBOOT_CMD_POWER_OFF`).
const RB_POWER_OFF: c_int = 0x4321_fedc_u32 as c_int;

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in a path"))
}

/// Mounts a file system of type `fstype` (no device: proc, tmpfs, devtmpfs) on `target`.
pub fn mount_special(fstype: &str, target: &Path) -> io::Result<()> {
    let fstype = CString::new(fstype)?;
    let target_c = c_path(target)?;
    // SAFETY: every pointer is to a NUL-terminated string that lives across the call, or
    // null for the data, which these file systems accept.
    let rc = unsafe {
        mount(
            fstype.as_ptr(),
            target_c.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        let error = io::Error::last_os_error();
        let fstype = fstype.to_string_lossy();
        Err(io::Error::new(
            error.kind(),
            format!("mount -t {fstype} on {}: {error}", target.display()),
        ))
    }
}

/// A file system mounted by [`Mounted::tmpfs`], unmounted on drop.
#[derive(Debug)]
pub struct Mounted(PathBuf);

impl Mounted {
    /// A fresh tmpfs on `target`, which must be a directory.
    pub fn tmpfs(target: &Path) -> io::Result<Mounted> {
        mount_special("tmpfs", target)?;
        Ok(Mounted(target.to_path_buf()))
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let Ok(target) = c_path(&self.0) else { return };
        // SAFETY: `target` is a NUL-terminated string that lives across the call.
        if unsafe { umount2(target.as_ptr(), 0) } != 0 {
            let error = io::Error::last_os_error();
            println!(
                "inotify-initramfs: cannot unmount {}: {error}",
                self.0.display()
            );
        }
    }
}

/// What process 1 sets up before the checks: `/proc`, `/dev` (devtmpfs, for
/// `/dev/null`) and a tmpfs on `/tmp`.
pub fn set_up_as_init() -> io::Result<()> {
    for (fstype, target) in [("proc", "/proc"), ("devtmpfs", "/dev"), ("tmpfs", "/tmp")] {
        fs::create_dir_all(target)?;
        mount_special(fstype, Path::new(target))?;
    }
    Ok(())
}

/// Whether the effective user is root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { geteuid() == 0 }
}

/// Powers the machine off (as process 1). Should that fail, exits, which makes the
/// kernel panic; with `panic=-1` it then reboots, and `qemu -no-reboot` exits.
pub fn power_off() -> ! {
    // SAFETY: sync has no preconditions; reboot takes a plain integer and, with this
    // command, returns only on failure.
    let rc = unsafe {
        sync();
        reboot(RB_POWER_OFF)
    };
    println!(
        "inotify-initramfs: power off failed ({}: {}); exiting instead",
        rc,
        io::Error::last_os_error()
    );
    std::process::exit(1)
}

/// The kernel's release, the architecture, and the seconds since boot:
/// `Linux 6.1.0-57-cloud-arm64, aarch64, 2.95 s after boot`.
pub fn describe() -> String {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let uptime = fs::read_to_string("/proc/uptime").unwrap_or_default();
    let uptime = uptime.split_whitespace().next().unwrap_or("?");
    format!(
        "Linux {}, {}, {uptime} s after boot",
        release.trim(),
        std::env::consts::ARCH
    )
}
