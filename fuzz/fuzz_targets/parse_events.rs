//! Feeds arbitrary bytes to the event parser and checks its invariants: no panic, every
//! name inside the input, consumed plus remainder equal to the input, at most one error
//! and only as the last item.
#![no_main]

use inotify_raw::{Event, Events, EVENT_HEADER_LEN};
use libfuzzer_sys::fuzz_target;

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let start = outer.as_ptr() as usize;
    let end = start + outer.len();
    let inner_start = inner.as_ptr() as usize;
    inner_start >= start && inner_start + inner.len() <= end
}

fuzz_target!(|data: &[u8]| {
    let mut events = Events::new(data);
    let mut spans = 0usize;
    let mut saw_error = false;
    while let Some(item) = events.next() {
        assert!(!saw_error, "an item followed an error");
        match item {
            Ok(event) => {
                let span = event.span_len();
                assert!(span >= EVENT_HEADER_LEN);
                assert_eq!(span, EVENT_HEADER_LEN + event.len() as usize);
                spans += span;
                if let Some(name) = event.name() {
                    assert!(inside(data, name), "name outside the input");
                    assert!(!name.is_empty() && !name.contains(&0));
                }
                let _ = (event.wd(), event.mask(), event.cookie());
            }
            Err(_) => saw_error = true,
        }
    }
    assert!(spans <= data.len());
    assert_eq!(events.consumed(), spans);
    assert_eq!(spans + events.remainder().len(), data.len());
    assert!(inside(data, events.remainder()));
    assert_eq!(saw_error, !events.remainder().is_empty());
    // Parsing from the start of the remainder agrees with the iterator's verdict.
    if !events.remainder().is_empty() {
        assert!(Event::parse(events.remainder()).is_err());
    }
});
