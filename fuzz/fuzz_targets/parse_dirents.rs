//! Feeds arbitrary bytes to the directory-entry parser and checks its invariants: no
//! panic, every name inside its record and without NUL, record lengths that add up to
//! what was consumed, consumed plus remainder equal to the input, at most one error and
//! only as the last item.
#![no_main]

mod records_invariants;

use inotify_raw::{Dirent, Dirents, FileKind, MalformedDirent, DIRENT_HEADER_LEN};
use libfuzzer_sys::fuzz_target;
use records_invariants::inside;

fuzz_target!(|data: &[u8]| {
    records_invariants::check::<Dirents>(
        data,
        Dirent::record_len,
        |entry, record| {
            assert!(record.len() > DIRENT_HEADER_LEN);
            let name = entry.name();
            assert!(!name.contains(&0));
            // The name and its NUL fit inside the record, after the header.
            assert!(name.len() < record.len() - DIRENT_HEADER_LEN);
            assert!(inside(record, name), "name outside its record");
            assert_eq!(
                name.as_ptr() as usize,
                record.as_ptr() as usize + DIRENT_HEADER_LEN
            );
            assert_eq!(record[DIRENT_HEADER_LEN + name.len()], 0);
            assert_eq!(entry.is_dot_or_dot_dot(), name == b"." || name == b"..");
            let file_type = entry.kind();
            assert_eq!(file_type.dirent_type(), entry.dirent_type());
            assert_eq!(FileKind::from_dirent_type(entry.dirent_type()), file_type);
            let _ = (entry.ino(), entry.offset());
        },
        |error, offset| {
            assert_eq!(error.offset(), offset);
            if let MalformedDirent::TruncatedHeader { available, .. } = *error {
                assert!(usize::from(available) < DIRENT_HEADER_LEN);
            }
        },
    );
});
