//! The no-libc binary (`examples/nolibc`) doing its own work on the same kernel: watching
//! a directory and printing inotifywait's lines, and waiting for a path to appear.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::check::{ensure, fail, skip, Context, Failure, Outcome};
use crate::observe::{await_exit, await_watch_on};

/// The binary, or why the check cannot run.
fn binary<'a>(cx: &'a Context<'_>) -> Result<&'a Path, Failure> {
    cx.settings
        .nolibc
        .as_deref()
        .ok_or_else(|| skip("no no-libc binary: set INOTIFY_NOLIBC to examples/nolibc's build"))
}

/// Starts `binary ARGS` in `dir`, its standard output and error piped.
fn start(binary: &Path, dir: &Path, args: &[&str]) -> Result<Child, Failure> {
    Command::new(binary)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| fail(format!("cannot start {}: {error}", binary.display())))
}

/// Waits for `child` to exit; its status code and what it wrote on each stream.
fn finish(mut child: Child, what: &str) -> Result<(Option<i32>, String, String), Failure> {
    let status = await_exit(&mut child, what)?;
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout)?;
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr)?;
    }
    Ok((status.code(), stdout, stderr))
}

/// `inotify-nolibc w 4` prints inotifywait's four lines for a file written in `w`.
pub fn prints_inotifywait_lines(cx: &Context<'_>) -> Outcome {
    let binary = binary(cx)?;
    let watched = cx.dir.join("w");
    fs::create_dir(&watched)?;
    let child = start(binary, &cx.dir, &["w", "4"])?;
    await_watch_on(&child.id().to_string(), &watched)?;
    fs::write(watched.join("f"), b"hello")?;
    let (code, stdout, stderr) = finish(child, "inotify-nolibc w 4")?;
    let expected = "w/ CREATE f\nw/ OPEN f\nw/ MODIFY f\nw/ CLOSE_WRITE,CLOSE f\n";
    ensure(
        code == Some(0) && stdout == expected && stderr.is_empty(),
        || {
            format!(
                "exit {code:?}, printed {stdout:?} and {stderr:?} on stderr; expected {expected:?}"
            )
        },
    )?;
    Ok(format!(
        "{} printed {} lines as inotifywait -m does",
        binary.display(),
        stdout.lines().count()
    ))
}

/// `child` exits with `code` and prints nothing.
fn expect_silent_exit(child: Child, what: &str, code: i32) -> Result<(), Failure> {
    let (status, stdout, stderr) = finish(child, what)?;
    ensure(
        status == Some(code) && stdout.is_empty() && stderr.is_empty(),
        || {
            format!("{what}: exit {status:?}, printed {stdout:?} and {stderr:?} on stderr; expected exit {code} and nothing printed")
        },
    )
}

/// `inotify-nolibc wait a/b/ready 10` exits 0 once the path is made below a directory
/// it watches; `wait never 0` exits 2 at once.
pub fn waits_for_a_path(cx: &Context<'_>) -> Outcome {
    let binary = binary(cx)?;
    let child = start(binary, &cx.dir, &["wait", "a/b/ready", "10"])?;
    await_watch_on(&child.id().to_string(), &cx.dir)?;
    fs::create_dir_all(cx.dir.join("a/b"))?;
    fs::write(cx.dir.join("a/b/ready"), b"")?;
    expect_silent_exit(child, "inotify-nolibc wait a/b/ready 10", 0)?;
    let child = start(binary, &cx.dir, &["wait", "never", "0"])?;
    expect_silent_exit(child, "inotify-nolibc wait never 0", 2)?;
    Ok("wait a/b/ready 10: exit 0 once made; wait never 0: exit 2".to_string())
}
