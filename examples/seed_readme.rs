//! The Python package's README example, in Rust: watch a directory and log one line per
//! event, in the same format. With `-r`, the README's recursive example: watch the whole
//! tree below the directory (`InotifyTree`).
//!
//! ```text
//! cargo run --example seed_readme -- /tmp
//! cargo run --example seed_readme -- -r /tmp/watch_tree
//! ```
//!
//! Then, in another shell: `touch /tmp/aa; rm /tmp/aa; mkdir /tmp/dir1; rmdir /tmp/dir1`.
//! Each line is `DATE TIME,MS - __main__ - INFO - WD=(..) MASK=(..) ...`, written to
//! stdout and flushed at once. The time is UTC.

use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use inotify_raw::{TreeWatcher, WatchEvent, WatchMask, Watcher};

/// `2015-04-24 05:02:06,667`: Python logging's default `asctime`, in UTC.
fn asctime(now: SystemTime) -> String {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (days, day_secs) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02},{:03}",
        year,
        month,
        day,
        day_secs / 3600,
        day_secs % 3600 / 60,
        day_secs % 60,
        since_epoch.subsec_millis()
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn log_event(event: &WatchEvent) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    write!(out, "{} - __main__ - INFO - ", asctime(SystemTime::now()))?;
    event.write_log_line(&mut out)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// `InotifyTree(path)`: every directory below `dir`, new ones as they come.
fn watch_tree(dir: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let mut tree = TreeWatcher::new(dir)?;
    for event in tree.events() {
        if let Some(event) = event? {
            log_event(&event)?;
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).peekable();
    let recursive = args.next_if(|arg| arg == "-r").is_some();
    let dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    if recursive {
        return watch_tree(dir);
    }

    let mut watcher = Watcher::new()?;
    watcher.add_watch(&dir, WatchMask::ALL_EVENTS)?;

    let result = (|| -> Result<(), Box<dyn std::error::Error>> {
        for event in watcher.events() {
            if let Some(event) = event? {
                log_event(&event)?;
            }
        }
        Ok(())
    })();

    // The Python example's `finally: i.remove_watch('/tmp')`. Dropping the watcher would
    // release everything anyway.
    watcher.remove_watch(&dir)?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn asctime_matches_python_logging() {
        let at = UNIX_EPOCH + Duration::from_millis(1_429_851_726_667);
        assert_eq!(asctime(at), "2015-04-24 05:02:06,667");
        assert_eq!(asctime(UNIX_EPOCH), "1970-01-01 00:00:00,000");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(asctime(leap), "2000-02-29 00:00:00,000");
    }
}
