//! Feeds arbitrary bytes to the directory-entry parser and checks its invariants: no
//! panic, every name inside its record and without NUL, record lengths that add up to
//! what was consumed, consumed plus remainder equal to the input, at most one error and
//! only as the last item.
#![no_main]

use inotify_raw::dir::{Dirent, Dirents, FileType, MalformedDirent, DIRENT_HEADER_LEN};
use libfuzzer_sys::fuzz_target;

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let start = outer.as_ptr() as usize;
    let end = start + outer.len();
    let inner_start = inner.as_ptr() as usize;
    inner_start >= start && inner_start + inner.len() <= end
}

fuzz_target!(|data: &[u8]| {
    let mut entries = Dirents::new(data);
    let mut spans = 0usize;
    let mut saw_error = false;
    while let Some(item) = entries.next() {
        assert!(!saw_error, "an item followed an error");
        match item {
            Ok(entry) => {
                let span = entry.record_len();
                assert!(span > DIRENT_HEADER_LEN);
                let name = entry.name();
                assert!(!name.contains(&0));
                // The name and its NUL fit inside the record, after the header.
                assert!(name.len() < span - DIRENT_HEADER_LEN);
                let record = &data[spans..spans + span];
                assert!(inside(record, name), "name outside its record");
                assert_eq!(
                    name.as_ptr() as usize,
                    record.as_ptr() as usize + DIRENT_HEADER_LEN
                );
                assert_eq!(record[DIRENT_HEADER_LEN + name.len()], 0);
                assert_eq!(entry.is_dot_or_dot_dot(), name == b"." || name == b"..");
                let file_type = entry.file_type();
                assert_eq!(file_type.dirent_type(), entry.dirent_type());
                assert_eq!(FileType::from_dirent_type(entry.dirent_type()), file_type);
                let _ = (entry.ino(), entry.offset());
                spans += span;
                assert_eq!(entries.consumed(), spans);
            }
            Err(error) => {
                assert_eq!(error.offset(), spans);
                if let MalformedDirent::TruncatedHeader { available, .. } = error {
                    assert!(available < DIRENT_HEADER_LEN);
                }
                saw_error = true;
            }
        }
    }
    assert!(spans <= data.len());
    assert_eq!(entries.consumed(), spans);
    assert_eq!(spans + entries.remainder().len(), data.len());
    assert!(inside(data, entries.remainder()));
    assert_eq!(saw_error, !entries.remainder().is_empty());
    assert!(entries.next().is_none(), "the iterator is fused");
    // Parsing from the start of the remainder agrees with the iterator's verdict.
    if !entries.remainder().is_empty() {
        assert!(Dirent::parse(entries.remainder()).is_err());
    }
});
