//! What every iteration over `Records` keeps, whatever the bytes: shared by the fuzz
//! targets of both parsers.

use inotify_raw::{Record, Records};

/// True when `inner` lies inside `outer`.
pub fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let start = outer.as_ptr() as usize;
    let inner_start = inner.as_ptr() as usize;
    inner_start >= start && inner_start + inner.len() <= start + outer.len()
}

/// Iterates over the records in `data`; hands each to `check_record` with the bytes it
/// spans (`span_of` says how many), and an error to `check_error` with the offset it
/// should report. Checks that records tile the input from its start, that at most one
/// error comes and only last, that `consumed` and `remainder` account for every byte,
/// that the iterator stays fused, and that the remainder does not parse.
pub fn check<'a, R: Record<'a>>(
    data: &'a [u8],
    span_of: impl Fn(&R) -> usize,
    mut check_record: impl FnMut(&R, &'a [u8]),
    mut check_error: impl FnMut(&R::Malformed, usize),
) {
    let mut records = Records::<R>::new(data);
    let mut spans = 0usize;
    let mut saw_error = false;
    while let Some(item) = records.next() {
        assert!(!saw_error, "an item followed an error");
        match item {
            Ok(record) => {
                let span = span_of(&record);
                let bytes = &data[spans..spans + span];
                check_record(&record, bytes);
                spans += span;
                assert_eq!(records.consumed(), spans);
            }
            Err(error) => {
                check_error(&error, spans);
                saw_error = true;
            }
        }
    }
    assert!(spans <= data.len());
    assert_eq!(records.consumed(), spans);
    assert_eq!(spans + records.remainder().len(), data.len());
    assert!(inside(data, records.remainder()));
    assert_eq!(saw_error, !records.remainder().is_empty());
    assert!(records.next().is_none(), "the iterator is fused");
    if !records.remainder().is_empty() {
        assert!(R::split_first(records.remainder()).is_err());
    }
}
