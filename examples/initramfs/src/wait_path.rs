//! `PathWaiter` against the kernel: a wait that descends as the directories of its path
//! appear, one watch at a time, and follows a dangling link once its target is made; a
//! wait that times out no sooner than asked; an error that names the component at fault.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use inotify_raw::{Errno, FileKind, PathWait, PathWaiter, Presence};

use crate::check::{ensure, fail, ms, Context, Failure, Outcome, TIMEOUT};
use crate::observe::await_watch_on;

/// Runs `make` on another thread while this one waits for `path` as `presence`; the
/// wait's result and how long it took.
fn wait_while(
    path: &Path,
    presence: Presence,
    make: impl FnOnce() -> Result<(), Failure> + Send + 'static,
) -> Result<(PathWait, Duration), Failure> {
    let maker = thread::spawn(make);
    let start = Instant::now();
    let waited = PathWaiter::new(presence).timeout(TIMEOUT).wait(path);
    let took = start.elapsed();
    maker
        .join()
        .map_err(|_| fail("the thread making the path panicked"))??;
    Ok((waited?, took))
}

/// `dir/a/b/ready`, made one directory at a time, each once the waiter watches its
/// parent (seen in this process's fdinfo); then a dangling link, resolved once its
/// target is made.
pub fn descends_as_directories_appear(cx: &Context<'_>) -> Outcome {
    let dir = cx.dir.clone();
    let ready = dir.join("a/b/ready");
    let (found, took) = wait_while(&ready, Presence::Kind(FileKind::Regular), move || {
        await_watch_on("self", &dir)?;
        fs::create_dir(dir.join("a"))?;
        await_watch_on("self", &dir.join("a"))?;
        fs::create_dir(dir.join("a/b"))?;
        await_watch_on("self", &dir.join("a/b"))?;
        fs::write(dir.join("a/b/ready"), b"")?;
        Ok(())
    })?;
    ensure(found == PathWait::Found(FileKind::Regular), || {
        format!("waiting for a/b/ready gave {found:?}")
    })?;

    let link = cx.dir.join("link");
    symlink("target", &link)?;
    let dir = cx.dir.clone();
    let (through_link, link_took) = wait_while(&link, Presence::Resolves, move || {
        await_watch_on("self", &dir)?;
        fs::create_dir(dir.join("target"))?;
        Ok(())
    })?;
    ensure(through_link == PathWait::Found(FileKind::Directory), || {
        format!("waiting for a link to a missing directory gave {through_link:?}")
    })?;
    Ok(format!(
        "a/b/ready found in {}, its directories made one at a time as each parent was \
         watched; a dangling link resolved in {} when its target was made",
        ms(took),
        ms(link_took)
    ))
}

/// A missing path times out no sooner than asked; a file with more path below it is an
/// `ENOTDIR` error that names the file.
pub fn times_out_and_names_the_component(cx: &Context<'_>) -> Outcome {
    let timeout = Duration::from_millis(100);
    let start = Instant::now();
    let missing = PathWaiter::new(Presence::Exists)
        .timeout(timeout)
        .wait(cx.dir.join("never/there").as_path())?;
    let took = start.elapsed();
    ensure(missing == PathWait::TimedOut && took >= timeout, || {
        format!(
            "a wait of {} for a missing path gave {missing:?} after {}",
            ms(timeout),
            ms(took)
        )
    })?;

    let file = cx.dir.join("file");
    fs::write(&file, b"")?;
    let below = file.join("below");
    let path = below.as_os_str().as_bytes();
    let error = match PathWaiter::new(Presence::Exists).wait(path) {
        Ok(found) => {
            return Err(fail(format!(
                "{} gave {found:?}, expected ENOTDIR",
                below.display()
            )))
        }
        Err(error) => error,
    };
    let named = error.failing_prefix(path);
    ensure(
        error.errno() == Some(Errno::ENOTDIR) && named == Some(file.as_os_str().as_bytes()),
        || {
            format!(
                "{}: {error} (errno {:?}, names {:?})",
                below.display(),
                error.errno(),
                named.map(|n| n.escape_ascii().to_string())
            )
        },
    )?;
    Ok(format!(
        "TimedOut after {} of {}; \"{error}\"",
        ms(took),
        ms(timeout)
    ))
}
