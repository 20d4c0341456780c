//! The advice at a limit: an error names the limit that applied and its value. In a user
//! namespace (`unshare --user --map-root-user`) with a low `user.max_inotify_watches` or
//! `user.max_inotify_instances`, that namespace's limit; under a low `ulimit -n`,
//! `RLIMIT_NOFILE`, from `inotify_init1` (told from the instance limit), `epoll_create1`
//! and `openat` alike. Each test runs a helper test of this binary in another process,
//! which prints its verdict on a `helper-result:` line.
#![cfg(feature = "std")]

mod common;

use std::fs;
use std::path::PathBuf;

use common::{rerun, Rerun};
use inotify_raw::{Call, Directory, Epoll, Errno, Error, Inotify, Limit, WatchMask};

/// Set (to anything) in the helper's environment; the helpers do nothing without it.
const HELPER: &str = "INOTIFY_RAW_LIMITS_HELPER";

/// The limits set for the helpers.
const WATCH_LIMIT: u32 = 12;
const INSTANCE_LIMIT: u32 = 3;
const DESCRIPTOR_LIMIT: u32 = 24;

fn is_helper() -> bool {
    std::env::var_os(HELPER).is_some()
}

fn report(verdict: Result<(), String>) {
    match verdict {
        Ok(()) => println!("helper-result: ok"),
        Err(why) => println!("helper-result: {}", why),
    }
}

/// The helper's own fresh directory (it may run in another user namespace).
fn helper_dir(name: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "inotify-raw-limits-{}-{}",
        name,
        std::process::id()
    ));
    fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {}", dir.display(), e))?;
    Ok(dir)
}

/// The limit `error` carries, after checking its call and errno.
fn limit_of(error: &Error, call: Call, errno: Errno) -> Result<Limit, String> {
    match *error {
        Error::Syscall {
            call: c,
            errno: e,
            limit: Some(limit),
        } if c == call && e == errno => Ok(limit),
        _ => Err(format!(
            "want {} {:?} with a limit, got {:?}",
            call.name(),
            errno,
            error
        )),
    }
}

/// Checks that `message` contains each of `parts`.
fn says(message: &str, parts: &[&str]) -> Result<(), String> {
    match parts.iter().find(|part| !message.contains(*part)) {
        Some(part) => Err(format!("{:?} does not say {:?}", message, part)),
        None => Ok(()),
    }
}

/// In a user namespace with `user.max_inotify_watches` = `WATCH_LIMIT`: `ENOSPC` names
/// that limit, its value and how to raise it, and says that the initial namespace's
/// applies too; so does the message after `?` into `io::Error`.
#[test]
#[cfg_attr(miri, ignore)]
fn watch_limit_helper() {
    if !is_helper() {
        return;
    }
    let dir = match helper_dir("watches") {
        Ok(dir) => dir,
        Err(why) => return report(Err(why)),
    };
    let verdict = (|| -> Result<(), String> {
        let inotify = Inotify::new().map_err(|e| e.to_string())?;
        let mut failed = None;
        for i in 0..WATCH_LIMIT + 4 {
            let sub = dir.join(i.to_string());
            fs::create_dir(&sub).map_err(|e| e.to_string())?;
            if let Err(error) = inotify.add_watch(sub.as_path(), WatchMask::CREATE) {
                failed = Some((i, error));
                break;
            }
        }
        let (watched, error) = failed.ok_or("no error past the watch limit")?;
        if watched != WATCH_LIMIT {
            return Err(format!("{} watches before the error", watched));
        }
        let limit = limit_of(&error, Call::InotifyAddWatch, Errno::ENOSPC)?;
        if limit.name() != "user.max_inotify_watches"
            || limit.value() != Some(u64::from(WATCH_LIMIT))
            || limit.file() != Some("/proc/sys/user/max_inotify_watches")
            || !limit.in_user_namespace()
        {
            return Err(format!("the wrong limit: {:?}", limit));
        }
        let expected = format!("user.max_inotify_watches is {};", WATCH_LIMIT);
        let parts = [
            "this user namespace",
            expected.as_str(),
            "sysctl -w user.max_inotify_watches=N",
            "the initial namespace's fs.inotify.max_user_watches",
        ];
        says(&error.to_string(), &parts)?;
        says(&std::io::Error::from(error).to_string(), &parts)
    })();
    let _ = fs::remove_dir_all(&dir);
    report(verdict);
}

#[test]
#[cfg_attr(miri, ignore)]
fn in_a_user_namespace_enospc_names_user_max_inotify_watches_and_its_value() {
    let verdict = rerun(
        "watch_limit_helper",
        (HELPER, "1".as_ref()),
        Rerun::WithWatchLimit(WATCH_LIMIT),
    );
    if let Some(verdict) = verdict {
        assert_eq!(verdict, "ok");
    }
}

/// In a user namespace with `user.max_inotify_instances` = `INSTANCE_LIMIT`: `EMFILE`
/// from `inotify_init1` names that limit and its value, not the descriptor limit.
#[test]
#[cfg_attr(miri, ignore)]
fn instance_limit_helper() {
    if !is_helper() {
        return;
    }
    report((|| -> Result<(), String> {
        let mut held = Vec::new();
        let error = loop {
            match Inotify::new() {
                Ok(inotify) if held.len() <= INSTANCE_LIMIT as usize => held.push(inotify),
                Ok(_) => return Err(format!("{} instances, past the limit", held.len() + 1)),
                Err(error) => break error,
            }
        };
        if held.len() != INSTANCE_LIMIT as usize {
            return Err(format!("{} instances before the error", held.len()));
        }
        let limit = limit_of(&error, Call::InotifyInit, Errno::EMFILE)?;
        if limit.name() != "user.max_inotify_instances"
            || limit.value() != Some(u64::from(INSTANCE_LIMIT))
            || limit.file() != Some("/proc/sys/user/max_inotify_instances")
        {
            return Err(format!("the wrong limit: {:?}", limit));
        }
        let expected = format!("user.max_inotify_instances is {};", INSTANCE_LIMIT);
        says(
            &error.to_string(),
            &[
                expected.as_str(),
                "sysctl -w user.max_inotify_instances=N",
                "close inotify instances",
            ],
        )
    })());
}

#[test]
#[cfg_attr(miri, ignore)]
fn in_a_user_namespace_emfile_names_user_max_inotify_instances_and_its_value() {
    let verdict = rerun(
        "instance_limit_helper",
        (HELPER, "1".as_ref()),
        Rerun::WithInstanceLimit(INSTANCE_LIMIT),
    );
    if let Some(verdict) = verdict {
        assert_eq!(verdict, "ok");
    }
}

/// Under `ulimit -n DESCRIPTOR_LIMIT`, with every descriptor taken: `EMFILE` from
/// `openat`, `epoll_create1` and `inotify_init1` names `RLIMIT_NOFILE` and its value.
#[test]
#[cfg_attr(miri, ignore)]
fn descriptor_limit_helper() {
    if !is_helper() {
        return;
    }
    report((|| -> Result<(), String> {
        let mut held = Vec::new();
        let open_error = loop {
            match Directory::open("/") {
                Ok(dir) if held.len() < DESCRIPTOR_LIMIT as usize => held.push(dir),
                Ok(_) => return Err("more descriptors than the limit".into()),
                Err(error) => break error,
            }
        };
        let epoll_error = Epoll::new()
            .err()
            .ok_or("Epoll::new with no descriptor free")?;
        let init_error = Inotify::new()
            .err()
            .ok_or("Inotify::new with no descriptor free")?;
        drop(held);
        let expected = format!("RLIMIT_NOFILE is {};", DESCRIPTOR_LIMIT);
        for (error, call) in [
            (open_error, Call::Open),
            (epoll_error, Call::EpollCreate),
            (init_error, Call::InotifyInit),
        ] {
            let limit = limit_of(&error, call, Errno::EMFILE)?;
            if limit.name() != "RLIMIT_NOFILE"
                || limit.value() != Some(u64::from(DESCRIPTOR_LIMIT))
                || limit.file().is_some()
            {
                return Err(format!("{}: the wrong limit: {:?}", call.name(), limit));
            }
            says(
                &error.to_string(),
                &["no descriptor free", expected.as_str(), "ulimit -n"],
            )?;
        }
        Ok(())
    })());
}

#[test]
#[cfg_attr(miri, ignore)]
fn at_the_descriptor_limit_emfile_names_rlimit_nofile_and_its_value_for_every_call() {
    let verdict = rerun(
        "descriptor_limit_helper",
        (HELPER, "1".as_ref()),
        Rerun::WithDescriptorLimit(DESCRIPTOR_LIMIT),
    );
    if let Some(verdict) = verdict {
        assert_eq!(verdict, "ok");
    }
}
