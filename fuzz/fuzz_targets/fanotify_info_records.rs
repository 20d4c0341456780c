//! Feeds arbitrary bytes to the fanotify parser as the info records of one event: the
//! input goes after well-formed metadata whose `event_len` covers it, so that every run
//! reaches the info-record parser (random bytes rarely pass the metadata's checks). The
//! invariants are those of `parse_fanotify`.
#![no_main]

mod fanotify_invariants;
mod records_invariants;

use inotify_raw::FANOTIFY_METADATA_LEN;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let len = match u32::try_from(FANOTIFY_METADATA_LEN + data.len()) {
        Ok(len) => len,
        Err(_) => return,
    };
    let mut event = Vec::with_capacity(len as usize);
    event.extend_from_slice(&len.to_ne_bytes());
    event.push(3); // vers: FANOTIFY_METADATA_VERSION
    event.push(0);
    event.extend_from_slice(&(FANOTIFY_METADATA_LEN as u16).to_ne_bytes());
    event.extend_from_slice(&0x100u64.to_ne_bytes()); // FAN_CREATE
    event.extend_from_slice(&(-1i32).to_ne_bytes()); // FAN_NOFD
    event.extend_from_slice(&1i32.to_ne_bytes());
    event.extend_from_slice(data);
    fanotify_invariants::check_events(&event);
});
