//! [`Later`]: where directories were before their next rename or deletion, as the events
//! read ahead of the one being taken say. A directory never met is resolved from the
//! disk, which is ahead of the events; what the queue says happened to it afterwards
//! puts it back where it was when its event was queued.

use std::boxed::Box;
use std::collections::{HashMap, VecDeque};

/// One rename or deletion of a directory, read ahead: where it was before it.
#[derive(Debug)]
struct Was {
    /// The event's place in the stream (the count of events taken before it, plus one).
    seq: u64,
    /// The directory it was in (its handle key), and its name there.
    dir: Box<[u8]>,
    name: Box<[u8]>,
}

/// The renames and deletions of directories read ahead, by the directory's handle key.
#[derive(Debug, Default)]
pub(super) struct Later {
    by_key: HashMap<Box<[u8]>, VecDeque<Was>>,
}

impl Later {
    /// Notes that event `seq` renamed or deleted the directory `child`, which was `name`
    /// in the directory `dir`. Says whether it is the first such event of `child` ahead.
    pub(super) fn note(&mut self, seq: u64, child: &[u8], dir: &[u8], name: &[u8]) -> bool {
        let was = Was {
            seq,
            dir: dir.into(),
            name: name.into(),
        };
        match self.by_key.get_mut(child) {
            Some(queue) => {
                queue.push_back(was);
                false
            }
            None => {
                self.by_key.insert(child.into(), VecDeque::from([was]));
                true
            }
        }
    }

    /// Where the directory `key` was before the first of its renames and deletions
    /// still to be taken: its directory's key and its name.
    pub(super) fn first(&self, key: &[u8]) -> Option<(&[u8], &[u8])> {
        let was = self.by_key.get(key)?.front()?;
        Some((&was.dir, &was.name))
    }

    /// Event `seq`, about the directory `child`, is being taken: it is no longer ahead.
    pub(super) fn taken(&mut self, seq: u64, child: &[u8]) {
        if let Some(queue) = self.by_key.get_mut(child) {
            while queue.front().map_or(false, |was| was.seq <= seq) {
                queue.pop_front();
            }
            if queue.is_empty() {
                self.by_key.remove(child);
            }
        }
    }
}
