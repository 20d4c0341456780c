//! What every fanotify event the parser yields keeps, whatever the bytes: shared by the
//! fanotify fuzz targets.

use inotify_raw::{FanotifyEvent, InfoRecord, MalformedFanotifyEvent, FANOTIFY_METADATA_LEN};

use crate::records_invariants::{check, inside};

/// Parses `data` as a read from a fanotify group, and checks every event and every info
/// record it yields (see [`check_event`]), and the events' tiling of the input
/// ([`check`]).
pub fn check_events(data: &[u8]) {
    check::<inotify_raw::FanotifyEvents>(data, FanotifyEvent::span_len, check_event, check_error);
}

/// An event spans `event_len` bytes, at least its metadata; its records tile the bytes
/// from `metadata_len` to its end; each record's handle and name lie inside the record,
/// and a name has no NUL.
pub fn check_event(event: &FanotifyEvent<'_>, bytes: &[u8]) {
    assert!(bytes.len() >= FANOTIFY_METADATA_LEN);
    assert_eq!(bytes.len(), event.event_len() as usize);
    let metadata_len = usize::from(event.metadata_len());
    assert!(metadata_len >= FANOTIFY_METADATA_LEN && metadata_len <= bytes.len());
    assert_eq!(
        u64::from(event.mask().bits()),
        event.raw_mask() & 0xffff_ffff
    );
    let _ = (event.fd(), event.pid(), format!("{:?}", event));
    // Each record starts where the one before ends; its `len` (bytes 2..4) says where.
    let mut at = metadata_len;
    for record in event.info_records() {
        let len = usize::from(u16::from_ne_bytes([bytes[at + 2], bytes[at + 3]]));
        assert!(len >= 4);
        let record_bytes = &bytes[at..at + len];
        assert_eq!(record_bytes[0], kind_of(&record).unwrap_or(record_bytes[0]));
        match record {
            InfoRecord::Fid(fid)
            | InfoRecord::Dfid(fid)
            | InfoRecord::DfidName(fid)
            | InfoRecord::OldDfidName(fid)
            | InfoRecord::NewDfidName(fid) => {
                let handle = fid.handle().bytes();
                assert!(inside(record_bytes, handle), "handle outside its record");
                assert_eq!(
                    handle.as_ptr() as usize,
                    record_bytes.as_ptr() as usize + 20
                );
                let handle_bytes = u32::from_ne_bytes(record_bytes[12..16].try_into().unwrap());
                assert_eq!(handle.len(), handle_bytes as usize);
                if let Some(name) = fid.name() {
                    assert!(inside(record_bytes, name), "name outside its record");
                    assert_eq!(name.as_ptr(), handle.as_ptr_range().end);
                    assert!(!name.contains(&0));
                }
                let _ = (fid.fsid(), fid.handle().handle_type());
            }
            InfoRecord::Other { body, .. } => {
                assert!(inside(record_bytes, body));
                assert_eq!(body.len(), len - 4);
            }
            _ => {}
        }
        at += len;
    }
    assert_eq!(at, bytes.len(), "the records tile the event");
}

/// The `info_type` a parsed record came from, for the kinds that have one number.
fn kind_of(record: &InfoRecord<'_>) -> Option<u8> {
    Some(match record {
        InfoRecord::Fid(_) => 1,
        InfoRecord::DfidName(_) => 2,
        InfoRecord::Dfid(_) => 3,
        InfoRecord::Pidfd(_) => 4,
        InfoRecord::Error { .. } => 5,
        InfoRecord::OldDfidName(_) => 10,
        InfoRecord::NewDfidName(_) => 12,
        InfoRecord::Other { info_type, .. } => *info_type,
        _ => return None,
    })
}

/// An error names the offset where the event it could not parse starts, and says so.
fn check_error(error: &MalformedFanotifyEvent, offset: usize) {
    assert_eq!(error.offset(), offset);
    assert!(!error.to_string().is_empty());
}
