//! [`Keys`]: the handle key of each directory an [`FsWatcher`](crate::FsWatcher) has met,
//! stored once, back to back in one buffer, and found again by its bytes through an
//! index of node ids: about 7 bytes a node beside the key's own bytes, and no allocation
//! of its own per directory.

use std::vec::Vec;

use crate::adapter::nodes::{IdTable, NodeId};

/// The keys, by node, and the node of each key.
#[derive(Debug)]
pub(super) struct Keys {
    /// Where each node's key starts in `bytes`, by node.
    starts: Vec<u32>,
    /// Each node's key length, by node; 0 for a node with no key.
    lens: Vec<u8>,
    /// The keys back to back; removed keys leave garbage, compacted now and then.
    bytes: Vec<u8>,
    garbage: usize,
    /// The nodes with a key, by the key's hash, tagged: a probe compares keys only
    /// where the tag matches.
    index: IdTable,
}

impl Default for Keys {
    fn default() -> Keys {
        Keys {
            starts: Vec::new(),
            lens: Vec::new(),
            bytes: Vec::new(),
            garbage: 0,
            index: IdTable::tagged(),
        }
    }
}

/// The hash of a key, eight bytes at a time (a key is 20 to 40 bytes: a file system id
/// and a file handle).
fn key_hash(key: &[u8]) -> u64 {
    const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (key.len() as u64).wrapping_mul(MULTIPLIER);
    for chunk in key.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word))
            .wrapping_mul(MULTIPLIER)
            .rotate_left(31);
    }
    h ^= h >> 32;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 29)
}

/// The key of `id` in the arrays of [`Keys`] (empty when it has none).
fn key_of<'k>(starts: &[u32], lens: &[u8], bytes: &'k [u8], id: NodeId) -> &'k [u8] {
    let at = id as usize;
    match (starts.get(at), lens.get(at)) {
        (Some(&start), Some(&len)) => bytes
            .get(start as usize..start as usize + usize::from(len))
            .unwrap_or(&[]),
        _ => &[],
    }
}

impl Keys {
    /// The node whose key is `key`.
    pub(super) fn node(&self, key: &[u8]) -> Option<NodeId> {
        let (starts, lens, bytes) = (&self.starts, &self.lens, &self.bytes);
        self.index
            .find(key_hash(key), |id| key_of(starts, lens, bytes, id) == key)
    }

    /// The key of the node `id`, if it has one.
    pub(super) fn key(&self, id: NodeId) -> Option<&[u8]> {
        let key = key_of(&self.starts, &self.lens, &self.bytes, id);
        (!key.is_empty()).then_some(key)
    }

    /// Gives the node `id` the key `key` (at most 255 bytes: a handle's are at most 144),
    /// in place of any it had.
    pub(super) fn insert(&mut self, id: NodeId, key: &[u8]) {
        let len = match u8::try_from(key.len()) {
            Ok(len) if len > 0 => len,
            _ => return,
        };
        self.remove(id);
        let at = id as usize;
        if self.starts.len() <= at {
            self.starts.resize(at + 1, 0);
            self.lens.resize(at + 1, 0);
        }
        self.starts[at] = self.bytes.len() as u32;
        self.lens[at] = len;
        self.bytes.extend_from_slice(key);
        let (starts, lens, bytes) = (&self.starts, &self.lens, &self.bytes);
        self.index.insert(id, key_hash(key), |other| {
            key_hash(key_of(starts, lens, bytes, other))
        });
    }

    /// Takes the key of the node `id` away, if it has one.
    pub(super) fn remove(&mut self, id: NodeId) {
        let key = key_of(&self.starts, &self.lens, &self.bytes, id);
        if key.is_empty() {
            return;
        }
        let (starts, lens, bytes) = (&self.starts, &self.lens, &self.bytes);
        self.index.remove(id, key_hash(key), |other| {
            key_hash(key_of(starts, lens, bytes, other))
        });
        self.garbage += usize::from(self.lens[id as usize]);
        self.lens[id as usize] = 0;
        self.maybe_compact();
    }

    /// Copies the live keys into a new buffer once garbage is most of it.
    fn maybe_compact(&mut self) {
        if self.garbage < 64 * 1024 || self.garbage * 2 < self.bytes.len() {
            return;
        }
        let mut bytes = Vec::with_capacity(self.bytes.len() - self.garbage);
        for at in 0..self.starts.len() {
            let key = key_of(&self.starts, &self.lens, &self.bytes, at as NodeId);
            if !key.is_empty() {
                self.starts[at] = bytes.len() as u32;
                bytes.extend_from_slice(key);
            }
        }
        self.bytes = bytes;
        self.garbage = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_by_their_bytes_after_removals_and_compaction() {
        let mut keys = Keys::default();
        let key = |i: u32| -> Vec<u8> {
            let mut key = std::vec![7u8; 20];
            key.extend_from_slice(&i.to_ne_bytes());
            key
        };
        // Enough removed keys to be compacted, but under Miri.
        let count = if cfg!(miri) { 300 } else { 40_000 };
        for i in 0..count {
            keys.insert(i, &key(i));
        }
        for i in (0..count).filter(|i| i % 3 != 0) {
            keys.remove(i);
        }
        keys.insert(5, &key(99_999));
        for i in 0..count {
            let expected = (i % 3 == 0).then_some(i);
            assert_eq!(keys.node(&key(i)), expected, "{}", i);
        }
        assert_eq!(keys.node(&key(99_999)), Some(5));
        assert_eq!(keys.key(5), Some(&key(99_999)[..]));
        assert_eq!(keys.key(4), None);
        assert!(
            keys.bytes.len() < 40_000 * 24,
            "compacted: {}",
            keys.bytes.len()
        );
    }
}
