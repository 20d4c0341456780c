//! The event parser on hand-built buffers: pure functions of bytes, no kernel involved.
//! These tests also run under Miri.

use inotify_raw::{Event, EventMask, Events, MalformedEvent, WatchDescriptor, EVENT_HEADER_LEN};

/// One record as the kernel lays it out: header, then `name` NUL-padded to `name_field` bytes.
fn record(wd: i32, mask: u32, cookie: u32, name: &[u8], name_field: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&wd.to_ne_bytes());
    bytes.extend_from_slice(&mask.to_ne_bytes());
    bytes.extend_from_slice(&cookie.to_ne_bytes());
    bytes.extend_from_slice(&(name_field as u32).to_ne_bytes());
    bytes.extend_from_slice(name);
    bytes.resize(EVENT_HEADER_LEN + name_field, 0);
    bytes
}

/// The kernel's padding: name plus NUL, rounded up to a multiple of 16; 0 for no name.
fn kernel_name_field(name: &[u8]) -> usize {
    if name.is_empty() {
        0
    } else {
        (name.len() + 1 + 15) / 16 * 16
    }
}

fn collect(bytes: &[u8]) -> (Vec<Result<Event<'_>, MalformedEvent>>, Events<'_>) {
    let mut events = Events::new(bytes);
    let items = events.by_ref().collect();
    (items, events)
}

#[test]
fn empty_buffer_yields_nothing() {
    let (items, events) = collect(&[]);
    assert!(items.is_empty());
    assert!(events.remainder().is_empty());
    assert_eq!(events.consumed(), 0);
}

#[test]
fn exact_buffer_yields_every_field() {
    let mut bytes = record(7, 0x100, 0, b"hello", 16);
    bytes.extend(record(8, 0x4000_0200, 0, b"dir", 16));
    bytes.extend(record(9, 0x40, 1234, b"", 0));
    let (items, events) = collect(&bytes);
    assert_eq!(items.len(), 3);
    let first = items[0].unwrap();
    assert_eq!(first.wd(), WatchDescriptor::from_raw(7));
    assert_eq!(first.mask(), EventMask::CREATE);
    assert_eq!(first.cookie(), 0);
    assert_eq!(first.len(), 16);
    assert_eq!(first.name(), Some(&b"hello"[..]));
    let second = items[1].unwrap();
    assert_eq!(second.mask(), EventMask::DELETE | EventMask::ISDIR);
    assert_eq!(second.name(), Some(&b"dir"[..]));
    let third = items[2].unwrap();
    assert_eq!(third.cookie(), 1234);
    assert_eq!(third.len(), 0);
    assert_eq!(third.name(), None);
    assert!(events.remainder().is_empty());
    assert_eq!(events.consumed(), bytes.len());
}

#[test]
fn overflow_record_has_wd_minus_one() {
    let bytes = record(-1, 0x4000, 0, b"", 0);
    let (items, _) = collect(&bytes);
    let event = items[0].unwrap();
    assert_eq!(event.wd(), WatchDescriptor::OVERFLOW);
    assert!(event.mask().contains(EventMask::Q_OVERFLOW));
}

#[test]
fn truncated_header_is_reported_with_its_offset() {
    let mut bytes = record(1, 0x100, 0, b"a", 16);
    bytes.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7]);
    let (items, events) = collect(&bytes);
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    assert_eq!(
        items[1],
        Err(MalformedEvent::TruncatedHeader {
            offset: 32,
            available: 7
        })
    );
    assert_eq!(events.remainder(), &[1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(events.consumed(), 32);
}

#[test]
fn seven_bytes_alone_are_a_truncated_header() {
    let (items, events) = collect(&[0xff; 7]);
    assert_eq!(
        items,
        vec![Err(MalformedEvent::TruncatedHeader {
            offset: 0,
            available: 7
        })]
    );
    assert_eq!(events.remainder().len(), 7);
}

#[test]
fn truncated_name_is_reported_and_iteration_stops() {
    let mut bytes = record(1, 0x100, 0, b"abcdef", 32);
    bytes.truncate(EVENT_HEADER_LEN + 10);
    bytes.extend(record(2, 0x100, 0, b"never", 16)); // inside the bad record's claimed span
    let mut events = Events::new(&bytes[..EVENT_HEADER_LEN + 10]);
    assert_eq!(
        events.next(),
        Some(Err(MalformedEvent::TruncatedName {
            offset: 0,
            name_len: 32
        }))
    );
    assert_eq!(events.next(), None);
    assert_eq!(events.next(), None);
    assert_eq!(events.remainder().len(), EVENT_HEADER_LEN + 10);
}

#[test]
fn huge_len_never_reads_past_the_slice() {
    let bytes = record(1, 0x100, 0, b"", 0);
    let mut patched = bytes.clone();
    patched[12..16].copy_from_slice(&u32::MAX.to_ne_bytes());
    let (items, _) = collect(&patched);
    assert_eq!(
        items,
        vec![Err(MalformedEvent::TruncatedName {
            offset: 0,
            name_len: u32::MAX
        })]
    );
}

#[test]
fn len_not_a_multiple_of_four_is_followed_exactly() {
    let mut bytes = record(1, 0x2, 0, b"ab", 3);
    bytes.extend(record(2, 0x4, 0, b"xyz", 5));
    let (items, events) = collect(&bytes);
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].unwrap().name(), Some(&b"ab"[..]));
    assert_eq!(items[0].unwrap().span_len(), 19);
    let second = items[1].unwrap();
    assert_eq!(second.wd(), WatchDescriptor::from_raw(2));
    assert_eq!(second.name(), Some(&b"xyz"[..]));
    assert_eq!(events.consumed(), bytes.len());
}

#[test]
fn zero_len_means_no_name() {
    let bytes = record(3, 0x400, 0, b"", 0);
    let (items, _) = collect(&bytes);
    assert_eq!(items[0].unwrap().name(), None);
    assert_eq!(items[0].unwrap().span_len(), EVENT_HEADER_LEN);
}

#[test]
fn name_field_of_only_nuls_means_no_name() {
    let bytes = record(3, 0x100, 0, b"", 16);
    let (items, _) = collect(&bytes);
    assert_eq!(items[0].unwrap().name(), None);
}

#[test]
fn name_without_nul_uses_the_whole_field() {
    let bytes = record(3, 0x100, 0, b"0123456789abcdef", 16);
    let (items, _) = collect(&bytes);
    assert_eq!(items[0].unwrap().name(), Some(&b"0123456789abcdef"[..]));
}

#[test]
fn names_end_at_the_first_nul_in_fields_of_every_size() {
    // Bytes that did not come from the kernel can hold more than one NUL, and bytes
    // after the first: the name still ends at the first.
    for field in [16, 32, 48] {
        let mut bytes = record(1, 0x100, 0, b"ab\0cd\0ef", field);
        let last = bytes.len() - 1;
        bytes[last] = b'z';
        bytes.extend(record(2, 0x100, 0, b"\0x", field));
        let (items, events) = collect(&bytes);
        assert_eq!(items.len(), 2, "field {}", field);
        assert_eq!(
            items[0].unwrap().name(),
            Some(&b"ab"[..]),
            "field {}",
            field
        );
        assert_eq!(items[1].unwrap().name(), None, "field {}", field);
        assert_eq!(items[1].unwrap().span_len(), EVENT_HEADER_LEN + field);
        assert_eq!(events.consumed(), bytes.len());
    }
}

#[test]
fn a_run_of_short_events_then_a_bad_tail_stops_at_the_tail() {
    let mut bytes = Vec::new();
    for i in 0..5 {
        bytes.extend(record(i, 0x100, 0, b"name", 16));
    }
    let good = bytes.len();
    // A header that claims a 16-byte name with only 15 bytes after it.
    bytes.extend(record(9, 0x100, 0, b"cut", 16));
    bytes.pop();
    let mut events = Events::new(&bytes);
    for i in 0..5 {
        let event = events.next().unwrap().unwrap();
        assert_eq!(event.wd().raw(), i);
        assert_eq!(event.name(), Some(&b"name"[..]));
    }
    assert_eq!(
        events.next(),
        Some(Err(MalformedEvent::TruncatedName {
            offset: good,
            name_len: 16
        }))
    );
    assert_eq!(events.next(), None);
    assert_eq!(events.consumed(), good);
    assert_eq!(events.remainder().len(), EVENT_HEADER_LEN + 15);
}

#[test]
fn names_of_every_length_round_trip() {
    let mut bytes = Vec::new();
    let names: Vec<Vec<u8>> = (0..=255usize)
        .map(|len| (0..len).map(|i| b'a' + (i % 26) as u8).collect())
        .collect();
    for (i, name) in names.iter().enumerate() {
        bytes.extend(record(
            i as i32,
            0x100,
            i as u32,
            name,
            kernel_name_field(name),
        ));
    }
    let (items, events) = collect(&bytes);
    assert_eq!(items.len(), 256);
    for (i, item) in items.iter().enumerate() {
        let event = item.unwrap();
        assert_eq!(event.wd().raw(), i as i32);
        assert_eq!(event.cookie(), i as u32);
        let expected = if names[i].is_empty() {
            None
        } else {
            Some(&names[i][..])
        };
        assert_eq!(event.name(), expected);
        assert_eq!(event.len() as usize, kernel_name_field(&names[i]));
    }
    assert_eq!(events.consumed(), bytes.len());
}

#[test]
fn non_utf8_names_are_bytes() {
    let bytes = record(1, 0x100, 0, b"caf\xe9\xff", 16);
    let (items, _) = collect(&bytes);
    assert_eq!(items[0].unwrap().name(), Some(&b"caf\xe9\xff"[..]));
}

#[test]
fn misaligned_start_parses_the_same() {
    let mut plain = record(5, 0x8, 0, b"x", 16);
    plain.extend(record(6, 0x10, 0, b"yy", 16));
    for shift in 1..8 {
        let mut shifted = vec![0u8; shift];
        shifted.extend_from_slice(&plain);
        let slice = &shifted[shift..];
        let a: Vec<_> = Events::new(&plain)
            .map(|e| e.unwrap())
            .map(|e| (e.wd(), e.mask(), e.name()))
            .collect();
        let b: Vec<_> = Events::new(slice)
            .map(|e| e.unwrap())
            .map(|e| (e.wd(), e.mask(), e.name()))
            .collect();
        assert_eq!(a, b, "shift {}", shift);
    }
}

#[test]
fn every_prefix_of_a_valid_buffer_is_handled() {
    let mut bytes = record(1, 0x100, 0, b"first", 16);
    bytes.extend(record(2, 0x200, 0, b"second-name", 32));
    for cut in 0..=bytes.len() {
        let mut events = Events::new(&bytes[..cut]);
        let mut ok = 0;
        let mut errors = 0;
        for item in events.by_ref() {
            match item {
                Ok(_) => ok += 1,
                Err(_) => errors += 1,
            }
        }
        let expected_ok = if cut >= 80 {
            2
        } else if cut >= 32 {
            1
        } else {
            0
        };
        let clean_end = cut == 0 || cut == 32 || cut == 80;
        assert_eq!(ok, expected_ok, "cut {}", cut);
        assert_eq!(errors, if clean_end { 0 } else { 1 }, "cut {}", cut);
        assert_eq!(events.consumed() + events.remainder().len(), cut);
    }
}

#[test]
fn mask_names_are_in_ascending_bit_order_with_unknown_bits_kept() {
    let mask = EventMask::from_bits_retain(0x4000_0100 | 0x0010_0000);
    let kernel: Vec<_> = mask.kernel_names().collect();
    assert_eq!(kernel, ["IN_CREATE", "IN_ISDIR"]);
    let short: Vec<_> = mask.inotifywait_names().collect();
    assert_eq!(short, ["CREATE", "ISDIR"]);
    assert_eq!(mask.unknown_bits(), 0x0010_0000);
    assert_eq!(format!("{}", mask), "IN_CREATE | IN_ISDIR | 0x00100000");
    assert_eq!(format!("{}", EventMask::empty()), "(empty)");
}

/// `?` takes the parser's errors into `io::Error` (and so into `Box<dyn Error>`).
#[cfg(feature = "std")]
#[test]
fn parser_errors_convert_into_io_errors() {
    fn count(bytes: &[u8]) -> std::io::Result<usize> {
        let mut n = 0;
        for event in inotify_raw::Events::new(bytes) {
            event?;
            n += 1;
        }
        for entry in inotify_raw::Dirents::new(bytes) {
            entry?;
        }
        Ok(n)
    }
    let error = count(&[0u8; 10]).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        error.to_string().contains("malformed inotify buffer"),
        "{}",
        error
    );
}
