//! Feeds arbitrary bytes to the event parser and checks its invariants: no panic, every
//! name inside its record and without NUL, the records' lengths adding up to what was
//! consumed, consumed plus remainder equal to the input, at most one error and only as
//! the last item.
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
            if let Some(name) = event.name() {
                assert!(inside(record, name), "name outside its record");
                assert!(!name.is_empty() && !name.contains(&0));
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
