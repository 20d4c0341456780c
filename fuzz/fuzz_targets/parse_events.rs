//! Feeds arbitrary bytes to the event parser and checks its invariants: no panic, every
//! name inside its record and exactly its field up to the first NUL, the records' lengths
//! adding up to what was consumed, consumed plus remainder equal to the input, at most one
//! error and only as the last item.
#![no_main]

mod records_invariants;

use inotify_raw::{Event, Events, EVENT_HEADER_LEN};
use libfuzzer_sys::fuzz_target;
use records_invariants::inside;

fuzz_target!(|data: &[u8]| {
    records_invariants::check::<Events>(
        data,
        Event::span_len,
        |event, record| {
            assert_eq!(record.len(), EVENT_HEADER_LEN + event.len() as usize);
            // The name is the field up to its first NUL, all of it when it has none.
            let field = &record[EVENT_HEADER_LEN..];
            let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
            match event.name() {
                Some(name) => {
                    assert!(inside(record, name), "name outside its record");
                    assert_eq!(name.as_ptr(), field.as_ptr(), "name not at its field");
                    assert_eq!(name, &field[..end]);
                }
                None => assert_eq!(end, 0, "a name was dropped"),
            }
            let _ = (event.wd(), event.mask(), event.cookie());
        },
        |error, offset| {
            let at = match *error {
                inotify_raw::MalformedEvent::TruncatedHeader { offset, .. } => offset,
                inotify_raw::MalformedEvent::TruncatedName { offset, .. } => offset,
            };
            assert_eq!(at, offset);
        },
    );
});
