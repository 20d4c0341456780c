//! What a check is, what it returns, and the loop that runs them and counts.

use std::any::Any;
use std::fmt::Display;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a check waits for something it expects (an event, a watch, a process to
/// exit) before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How the program runs, for the checks that need to know.
#[derive(Debug)]
pub struct Settings {
    /// Process 1: the machine is the program's own.
    pub as_init: bool,
    /// Effective user 0 (fanotify needs `CAP_SYS_ADMIN`).
    pub as_root: bool,
    /// The no-libc binary (`examples/nolibc`), when there is one.
    pub nolibc: Option<PathBuf>,
}

/// What a check gets: a fresh, empty directory of its own, and the settings.
#[derive(Debug)]
pub struct Context<'a> {
    pub dir: PathBuf,
    pub settings: &'a Settings,
}

/// A check passes with a line that says what it saw.
pub type Outcome = Result<String, Failure>;

/// Why a check did not pass.
#[derive(Debug)]
pub enum Failure {
    /// What was wrong.
    Failed(String),
    /// Why it could not run here.
    Skipped(String),
}

/// Any error, with its chain of sources: each error of the crate says each thing once.
impl<E: std::error::Error> From<E> for Failure {
    fn from(error: E) -> Failure {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Failure::Failed(message)
    }
}

pub fn fail(message: impl Display) -> Failure {
    Failure::Failed(message.to_string())
}

pub fn skip(reason: impl Display) -> Failure {
    Failure::Skipped(reason.to_string())
}

/// `Ok` when `condition` holds, the failure `message()` says otherwise.
pub fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failure> {
    if condition {
        Ok(())
    } else {
        Err(Failure::Failed(message()))
    }
}

/// A duration as milliseconds with one decimal: `57.0 ms`.
pub fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// A named check.
pub struct Check {
    pub name: &'static str,
    run: fn(&Context<'_>) -> Outcome,
}

impl Check {
    pub const fn new(name: &'static str, run: fn(&Context<'_>) -> Outcome) -> Check {
        Check { name, run }
    }
}

/// How many checks passed, failed and were skipped.
#[derive(Debug, Default)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// Runs each check in a fresh directory `scratch/NAME`, removed afterwards, and prints
/// one line for it. As process 1 a skip counts as a failure.
pub fn run_all(checks: &[Check], scratch: &Path, settings: &Settings) -> Summary {
    let mut summary = Summary::default();
    for check in checks {
        let dir = scratch.join(check.name);
        let start = Instant::now();
        let outcome = fs::create_dir(&dir)
            .map_err(Failure::from)
            .and_then(|()| run_one(check, &dir, settings));
        let outcome = match (outcome, fs::remove_dir_all(&dir)) {
            (Ok(_), Err(error)) => Err(fail(format!("cannot remove {}: {error}", dir.display()))),
            (outcome, _) => outcome,
        };
        let (verdict, message) = match outcome {
            Ok(message) => {
                summary.passed += 1;
                ("ok", message)
            }
            Err(Failure::Skipped(reason)) if settings.as_init => {
                summary.failed += 1;
                (
                    "FAILED",
                    format!("skipped as /init, where it must run: {reason}"),
                )
            }
            Err(Failure::Skipped(reason)) => {
                summary.skipped += 1;
                ("skipped", reason)
            }
            Err(Failure::Failed(message)) => {
                summary.failed += 1;
                ("FAILED", message)
            }
        };
        println!(
            "{verdict:<7} {} ({}): {message}",
            check.name,
            ms(start.elapsed())
        );
    }
    summary
}

/// One check; a panic in it is a failure with the panic's message.
fn run_one(check: &Check, dir: &Path, settings: &Settings) -> Outcome {
    let context = Context {
        dir: dir.to_path_buf(),
        settings,
    };
    panic::catch_unwind(AssertUnwindSafe(|| (check.run)(&context)))
        .unwrap_or_else(|payload| Err(fail(format!("panicked: {}", panic_message(&*payload)))))
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "(not a string)"
    }
}
