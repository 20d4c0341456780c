//! Feeds arbitrary bytes to the fanotify parser and checks its invariants: no panic,
//! events that tile the input from its start, consumed plus remainder equal to the input,
//! at most one error and only as the last item, and in every event info records that
//! tile it, with each handle and name inside its record.
#![no_main]

mod fanotify_invariants;
mod records_invariants;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanotify_invariants::check_events(data);
});
