//! [`WatchTable`]: the two-way map between watched paths and watch descriptors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::vec::Vec;

use crate::parse::WatchDescriptor;

/// One watch: the path it was first added under, and any other path that named the same
/// object (the kernel gives one descriptor per inode, so a directory and a symbolic link
/// to it share one).
#[derive(Clone, Debug)]
struct Entry {
    path: PathBuf,
    aliases: Vec<PathBuf>,
}

/// Paths to watch descriptors and back. Every path maps to a descriptor whose entry
/// lists it, and every descriptor's paths map back to it: the two directions never
/// disagree.
#[derive(Clone, Debug, Default)]
pub(crate) struct WatchTable {
    by_path: HashMap<PathBuf, WatchDescriptor>,
    by_wd: HashMap<WatchDescriptor, Entry>,
}

impl WatchTable {
    /// An empty table.
    pub(super) fn new() -> WatchTable {
        WatchTable::default()
    }

    /// Records that `path` is watched as `wd`.
    ///
    /// If `wd` is already recorded under another path, `path` becomes an alias: events
    /// keep the first path. If `path` was recorded under another descriptor (its object
    /// was replaced, or a symbolic link now points elsewhere), that record goes; when no
    /// other path names the old descriptor, it is returned, so that the caller can
    /// remove the kernel's watch too.
    pub(super) fn insert(&mut self, path: &Path, wd: WatchDescriptor) -> Option<WatchDescriptor> {
        let orphaned = match self.by_path.get(path) {
            Some(&known) if known == wd => return None,
            Some(_) => match self.remove_path(path) {
                Some((old, true)) => Some(old),
                _ => None,
            },
            None => None,
        };
        self.by_path.insert(path.to_path_buf(), wd);
        match self.by_wd.get_mut(&wd) {
            Some(entry) => entry.aliases.push(path.to_path_buf()),
            None => {
                self.by_wd.insert(
                    wd,
                    Entry {
                        path: path.to_path_buf(),
                        aliases: Vec::new(),
                    },
                );
            }
        }
        orphaned
    }

    /// The descriptor `path` is watched as.
    pub(super) fn wd(&self, path: &Path) -> Option<WatchDescriptor> {
        self.by_path.get(path).copied()
    }

    /// The path events of `wd` are reported under.
    pub(super) fn path(&self, wd: WatchDescriptor) -> Option<&Path> {
        self.by_wd.get(&wd).map(|entry| entry.path.as_path())
    }

    /// Forgets `wd` and every path that named it. Returns its primary path.
    pub(super) fn remove_wd(&mut self, wd: WatchDescriptor) -> Option<PathBuf> {
        let entry = self.by_wd.remove(&wd)?;
        for alias in &entry.aliases {
            self.by_path.remove(alias);
        }
        self.by_path.remove(&entry.path);
        Some(entry.path)
    }

    /// Forgets one path. If it was the descriptor's primary path and the descriptor has
    /// aliases, the first alias becomes primary; otherwise the descriptor goes too.
    /// Returns the descriptor, and whether the descriptor is now gone from the table.
    pub(super) fn remove_path(&mut self, path: &Path) -> Option<(WatchDescriptor, bool)> {
        let wd = self.by_path.remove(path)?;
        let entry = match self.by_wd.get_mut(&wd) {
            Some(entry) => entry,
            None => return Some((wd, true)),
        };
        if entry.path == path {
            if entry.aliases.is_empty() {
                self.by_wd.remove(&wd);
                return Some((wd, true));
            }
            entry.path = entry.aliases.remove(0);
        } else {
            entry.aliases.retain(|alias| alias != path);
        }
        Some((wd, false))
    }

    /// Every watch: descriptor and primary path.
    pub(super) fn iter(&self) -> impl Iterator<Item = (WatchDescriptor, &Path)> {
        self.by_wd
            .iter()
            .map(|(wd, entry)| (*wd, entry.path.as_path()))
    }

    /// How many descriptors are recorded.
    #[allow(clippy::len_without_is_empty)]
    pub(super) fn len(&self) -> usize {
        self.by_wd.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wd(n: i32) -> WatchDescriptor {
        WatchDescriptor::from_raw(n)
    }

    fn consistent(table: &WatchTable) {
        for (path, w) in &table.by_path {
            let entry = &table.by_wd[w];
            assert!(&entry.path == path || entry.aliases.contains(path));
        }
        for (w, entry) in &table.by_wd {
            assert_eq!(table.by_path[&entry.path], *w);
            for alias in &entry.aliases {
                assert_eq!(table.by_path[alias], *w);
            }
        }
    }

    #[test]
    fn aliases_share_a_descriptor_and_go_with_it() {
        let mut table = WatchTable::new();
        table.insert(Path::new("/srv/data"), wd(1));
        table.insert(Path::new("/link"), wd(1));
        table.insert(Path::new("/var"), wd(2));
        consistent(&table);
        assert_eq!(table.path(wd(1)), Some(Path::new("/srv/data")));
        assert_eq!(table.wd(Path::new("/link")), Some(wd(1)));
        assert_eq!(
            table.remove_path(Path::new("/srv/data")),
            Some((wd(1), false))
        );
        assert_eq!(table.path(wd(1)), Some(Path::new("/link")));
        consistent(&table);
        assert_eq!(table.remove_wd(wd(1)), Some(PathBuf::from("/link")));
        assert_eq!(table.remove_wd(wd(1)), None);
        consistent(&table);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn a_path_moved_to_a_new_descriptor_leaves_the_old_one() {
        let mut table = WatchTable::new();
        assert_eq!(table.insert(Path::new("/a"), wd(1)), None);
        assert_eq!(table.insert(Path::new("/a"), wd(5)), Some(wd(1)));
        consistent(&table);
        assert_eq!(table.path(wd(1)), None);
        assert_eq!(table.path(wd(5)), Some(Path::new("/a")));
    }
}
