//! [`Taken`]: what an [`FsWatcher`](super::FsWatcher) keeps of one fanotify event, copied
//! out of the read buffer into buffers it reuses, and the order in which a merged
//! event's kinds are delivered.

use std::vec::Vec;

use super::dirs::key_into;
use crate::mask::{EventMask, FanotifyMask};
use crate::parse::{FanotifyEvent, FidRecord, InfoRecord};

/// The fanotify events an `FsWatcher` delivers, with their inotify names, in the order
/// a merged event's kinds are delivered: what can happen first to an entry comes first.
pub(super) const DELIVERED_ORDER: [(FanotifyMask, EventMask); 10] = [
    (FanotifyMask::CREATE, EventMask::CREATE),
    (FanotifyMask::OPEN, EventMask::OPEN),
    (FanotifyMask::ACCESS, EventMask::ACCESS),
    (FanotifyMask::MODIFY, EventMask::MODIFY),
    (FanotifyMask::ATTRIB, EventMask::ATTRIB),
    (FanotifyMask::CLOSE_WRITE, EventMask::CLOSE_WRITE),
    (FanotifyMask::CLOSE_NOWRITE, EventMask::CLOSE_NOWRITE),
    (FanotifyMask::MOVE_SELF, EventMask::MOVE_SELF),
    (FanotifyMask::DELETE, EventMask::DELETE),
    (FanotifyMask::DELETE_SELF, EventMask::DELETE_SELF),
];

/// A directory (its handle key) and an entry's name in it.
#[derive(Debug, Default)]
pub(super) struct Entry {
    pub(super) dir: Vec<u8>,
    pub(super) name: Vec<u8>,
}

impl Entry {
    fn copy_from(&mut self, record: &FidRecord<'_>) {
        key_into(&mut self.dir, record.fsid(), record.handle());
        self.name.clear();
        self.name
            .extend_from_slice(record.name().unwrap_or_default());
    }
}

/// One event's mask and records.
#[derive(Debug, Default)]
pub(super) struct Taken {
    pub(super) mask: FanotifyMask,
    entry: Entry,
    old: Entry,
    new: Entry,
    child: Vec<u8>,
    /// Which of the four the event has.
    has: [bool; 4],
}

impl Taken {
    /// Copies what the watcher reads of `event`.
    pub(super) fn copy_from(&mut self, event: &FanotifyEvent<'_>) {
        self.mask = event.mask();
        self.has = [false; 4];
        for record in event.info_records() {
            match record {
                InfoRecord::DfidName(record) => {
                    self.entry.copy_from(&record);
                    self.has[0] = true;
                }
                InfoRecord::OldDfidName(record) => {
                    self.old.copy_from(&record);
                    self.has[1] = true;
                }
                InfoRecord::NewDfidName(record) => {
                    self.new.copy_from(&record);
                    self.has[2] = true;
                }
                InfoRecord::Fid(record) => {
                    key_into(&mut self.child, record.fsid(), record.handle());
                    self.has[3] = true;
                }
                _ => {}
            }
        }
    }

    /// The directory and name of the entry (`.` for the directory itself).
    pub(super) fn entry(&self) -> Option<&Entry> {
        self.has[0].then_some(&self.entry)
    }

    /// Where a renamed entry was.
    pub(super) fn renamed_from(&self) -> Option<&Entry> {
        self.has[1].then_some(&self.old)
    }

    /// Where a renamed entry is now.
    pub(super) fn renamed_to(&self) -> Option<&Entry> {
        self.has[2].then_some(&self.new)
    }

    /// The handle key of the entry itself.
    pub(super) fn child(&self) -> Option<&[u8]> {
        self.has[3].then_some(&self.child[..])
    }
}
