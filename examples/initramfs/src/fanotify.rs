//! fanotify against the kernel: one filesystem mark on a private tmpfs reports a
//! `mkdir` and a rename, each with the directory's file handle and the entry's names, and
//! the new directory's own handle.

use std::fs;

use inotify_raw::{
    name_to_handle_at, EventBuffer, Fanotify, FanotifyEvent, FanotifyInitFlags, FanotifyMarkFlags,
    FanotifyMask, FileHandle, InfoRecord, OwnedFileHandle,
};

use crate::check::{ensure, skip, Context, Outcome};
use crate::inotify::until_empty;
use crate::system::Mounted;

/// The files whose handles the events may carry, with the names they are shown by.
struct Known<'a>(&'a [(&'a str, OwnedFileHandle)]);

impl Known<'_> {
    fn name_of(&self, handle: FileHandle<'_>) -> &str {
        self.0
            .iter()
            .find(|(_, known)| known.as_handle() == handle)
            .map_or("an unknown handle", |(name, _)| name)
    }

    /// `MASK (BITS) by PID: Kind(directory, name), Fid(file)`, handles shown by their names.
    fn describe(&self, event: &FanotifyEvent<'_>) -> String {
        let records: Vec<String> = event
            .info_records()
            .map(|r| self.describe_record(r))
            .collect();
        let mask = event.mask();
        format!(
            "{mask} ({:#x}) by {}: {}",
            mask.bits(),
            event.pid(),
            records.join(", ")
        )
    }

    fn describe_record(&self, record: InfoRecord<'_>) -> String {
        let (kind, fid) = match record {
            InfoRecord::Fid(fid) => ("Fid", fid),
            InfoRecord::Dfid(fid) => ("Dfid", fid),
            InfoRecord::DfidName(fid) => ("DfidName", fid),
            InfoRecord::OldDfidName(fid) => ("OldDfidName", fid),
            InfoRecord::NewDfidName(fid) => ("NewDfidName", fid),
            other => return format!("{other:?}"),
        };
        match fid.name() {
            Some(name) => format!(
                "{kind}({}, {})",
                self.name_of(fid.handle()),
                name.escape_ascii()
            ),
            None => format!("{kind}({})", self.name_of(fid.handle())),
        }
    }
}

/// A group reporting the directory's handle, the entry's name and the entry's own handle
/// (`FAN_REPORT_DFID_NAME_TARGET`), with one `FAN_MARK_FILESYSTEM` mark on a tmpfs of
/// its own, sees `mkdir made` as `FAN_CREATE | FAN_ONDIR` and `mv made renamed` as one
/// `FAN_RENAME | FAN_ONDIR` with both ends, each caused by this process; every handle is
/// the one `name_to_handle_at` gives for the same file.
pub fn filesystem_mark_reports_mkdir(cx: &Context<'_>) -> Outcome {
    if !cx.settings.as_root {
        return Err(skip("fanotify needs CAP_SYS_ADMIN: run as root"));
    }
    let root = cx.dir.join("tmpfs");
    fs::create_dir(&root)?;
    let _tmpfs = Mounted::tmpfs(&root)?;
    let fanotify =
        Fanotify::init(FanotifyInitFlags::REPORT_DFID_NAME_TARGET | FanotifyInitFlags::NONBLOCK)?;
    let ondir = FanotifyMask::ONDIR;
    fanotify.mark(
        FanotifyMarkFlags::ADD | FanotifyMarkFlags::FILESYSTEM,
        FanotifyMask::CREATE | FanotifyMask::RENAME | ondir,
        root.as_path(),
    )?;
    fs::create_dir(root.join("made"))?;
    fs::rename(root.join("made"), root.join("renamed"))?;

    let handles = [
        ("root", name_to_handle_at(root.as_path())?),
        ("made", name_to_handle_at(root.join("renamed").as_path())?),
    ];
    let known = Known(&handles);
    let mut buffer = EventBuffer::<4096>::new();
    let seen = until_empty(|seen| {
        for event in fanotify.read(&mut buffer)? {
            seen.push(known.describe(&event?));
        }
        Ok(())
    })?;
    let pid = std::process::id();
    let expected = [
        (
            FanotifyMask::CREATE | ondir,
            "DfidName(root, made), Fid(made)",
        ),
        (
            FanotifyMask::RENAME | ondir,
            "OldDfidName(root, made), NewDfidName(root, renamed), Fid(made)",
        ),
    ];
    let expected: Vec<String> = expected
        .iter()
        .map(|(mask, records)| format!("{mask} ({:#x}) by {pid}: {records}", mask.bits()))
        .collect();
    ensure(seen == expected, || {
        format!("events {seen:?}, expected {expected:?}")
    })?;
    Ok(format!(
        "one filesystem mark on a tmpfs: {}",
        seen.join("; ")
    ))
}
