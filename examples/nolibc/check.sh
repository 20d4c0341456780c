#!/usr/bin/env bash
# check.sh: build the nolibc program for aarch64 and x86_64, check with readelf that both
# are static ELF executables (no program interpreter, no dynamic section), run them (the
# aarch64 one under qemu-aarch64-static) against real file operations, compare their output
# line by line with what `inotifywait -m` prints, run `wait PATH [SECONDS]` on paths that
# exist, appear later or never do (exit status 0, 2, 1), and check that both stripped
# sizes are within the budget of 16 KiB (and print them in bytes).
#
# Usage: bash examples/nolibc/check.sh     (from anywhere; as root if packages are missing)
#
# Debian 12 amd64. What is missing is installed with apt: binutils (readelf),
# qemu-user-static, gcc-aarch64-linux-gnu (the linker), inotify-tools (for the side-by-side
# run with inotifywait). The aarch64 `core` comes from
# `rustup target add aarch64-unknown-linux-gnu` when rustup can add it, otherwise from
# Debian's rustc-web with libstd-rust-web-dev:arm64 (which must be Rust 1.88 or later, for
# naked functions: bookworm-security has it).
#
# Re-runnable; exits non-zero on any failure.
# Env: CHECK_TIMEOUT  seconds to wait for a watch, or for the program to exit (default 30)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The build goes under the repository's cargo target directory (CARGO_TARGET_DIR, taken
# from where this script was started, or target/ at the root), in a directory of its
# own, never into the source tree.
BUILD_ROOT=${CARGO_TARGET_DIR:-$(cd "$here/../.." && pwd)/target}/nolibc
case $BUILD_ROOT in /*) ;; *) BUILD_ROOT=$PWD/$BUILD_ROOT ;; esac
cd "$here" # cargo reads .cargo/config.toml (the static, libc-free link) from here

TARGET=aarch64-unknown-linux-gnu
MIN_MINOR=88
SIZE_BUDGET=16384
TIMEOUT=${CHECK_TIMEOUT:-30}
export DEBIAN_FRONTEND=noninteractive
t0=${EPOCHREALTIME/./}

# Anything that would replace the config's rustflags, change the profile or the target.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
for var in $(compgen -e); do
  case $var in CARGO_BUILD_* | CARGO_PROFILE_* | CARGO_TARGET_*) unset "$var" ;; esac
done

say() { printf '[check] %s\n' "$*" >&2; }
die() {
  printf '[check] FAILED: %s\n' "$*" >&2
  exit 1
}

APTLOG=$(mktemp)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK" "$APTLOG"
}
trap cleanup EXIT

# --- packages -----------------------------------------------------------------------

installed() { dpkg-query -W -f='${db:Status-Status}\n' "$1" 2>/dev/null | grep -qx installed; }

APT_UPDATED=
apt_install() { # apt_install PKG...: installs those not installed yet
  local need=() p
  for p in "$@"; do installed "$p" || need+=("$p"); done
  [ "${#need[@]}" -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing packages ${need[*]}: run as root to install them"
  say "apt-get install ${need[*]}"
  if [ -z "$APT_UPDATED" ]; then
    apt-get -q update >>"$APTLOG" 2>&1 || {
      tail -n 30 "$APTLOG" >&2
      die "apt-get update"
    }
    APT_UPDATED=1
  fi
  apt-get -q -y -o Dpkg::Use-Pty=0 install --no-install-recommends "${need[@]}" >>"$APTLOG" 2>&1 || {
    tail -n 30 "$APTLOG" >&2
    die "apt-get install ${need[*]}"
  }
}

apt_install binutils qemu-user-static gcc-aarch64-linux-gnu inotify-tools
command -v readelf >/dev/null || die "readelf not found after installing binutils"
command -v qemu-aarch64-static >/dev/null || die "qemu-aarch64-static not found"
command -v aarch64-linux-gnu-gcc >/dev/null || die "aarch64-linux-gnu-gcc not found"

# --- toolchain: rustup's, or Debian's rustc-web -------------------------------------

if command -v rustup >/dev/null && rustup target add "$TARGET" >>"$APTLOG" 2>&1; then
  CARGO=cargo
  RUSTC_BIN=rustc
  TARGET_DIR=$BUILD_ROOT
  say "toolchain: rustup ($(rustc -V)), target $TARGET added"
else
  say "rustup cannot add $TARGET here: using Debian's rustc-web and libstd-rust-web-dev:arm64"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    [ "$(id -u)" -eq 0 ] || die "dpkg --add-architecture arm64 needs root"
    dpkg --add-architecture arm64
    APT_UPDATED=
  fi
  apt_install rustc-web cargo-web libstd-rust-web-dev libstd-rust-web-dev:arm64
  CARGO=/usr/bin/cargo
  RUSTC_BIN=/usr/bin/rustc
  export RUSTC=/usr/bin/rustc
  TARGET_DIR=$BUILD_ROOT/debian-rustc # apart from rustup's builds
fi
minor=$("$RUSTC_BIN" -V | awk '{ split($2, v, "."); print v[2] }')
[ "${minor:-0}" -ge "$MIN_MINOR" ] ||
  die "$("$RUSTC_BIN" -V) is too old: the program needs Rust 1.$MIN_MINOR or later"

# --- build ----------------------------------------------------------------------------

t_build=${EPOCHREALTIME/./}
"$CARGO" build --release --target-dir "$TARGET_DIR" -q || die "x86_64 build"
"$CARGO" build --release --target-dir "$TARGET_DIR" --target "$TARGET" -q || die "aarch64 build"
say "built both in $(((${EPOCHREALTIME/./} - t_build) / 1000)) ms"
BIN_X86=$TARGET_DIR/release/inotify-nolibc
BIN_ARM=$TARGET_DIR/$TARGET/release/inotify-nolibc

# --- readelf --------------------------------------------------------------------------

check_elf() { # check_elf LABEL BIN MACHINE
  local label=$1 bin=$2 machine=$3 report
  report=$(LC_ALL=C readelf -h -l -d "$bin") || die "readelf $bin"
  grep -Eq '^[[:space:]]*Type:[[:space:]]+EXEC ' <<<"$report" ||
    die "$bin is not an ELF EXEC: $(grep 'Type:' <<<"$report")"
  grep -Eq "^[[:space:]]*Machine:[[:space:]]+$machine\$" <<<"$report" ||
    die "$bin is not for $machine: $(grep 'Machine:' <<<"$report")"
  ! grep -q 'INTERP' <<<"$report" || die "$bin has a program interpreter"
  grep -q 'There is no dynamic section in this file.' <<<"$report" ||
    die "$bin has a dynamic section"
  say "$label: $(grep -E 'Type:|Machine:' <<<"$report" | sed 's/^ *//; s/  */ /g' |
    paste -sd ';' | sed 's/;/; /'); no INTERP program header; no dynamic section"
}
check_elf x86_64 "$BIN_X86" 'Advanced Micro Devices X86-64'
check_elf aarch64 "$BIN_ARM" 'AArch64'

# --- runs -----------------------------------------------------------------------------

wait_watch() { # wait_watch PID: until PID has an inotify watch (a line in its fdinfo)
  local pid=$1 deadline=$((SECONDS + TIMEOUT))
  until grep -qs '^inotify wd:' /proc/"$pid"/fdinfo/*; do
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.01
  done
}

wait_exit() { # wait_exit PID: sets STATUS to its exit status; fails after TIMEOUT
  local pid=$1 deadline=$((SECONDS + TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.01
  done
  STATUS=0
  wait "$pid" || STATUS=$?
}

wait_lines() { # wait_lines FILE N: until FILE has N lines; fails after TIMEOUT
  local deadline=$((SECONDS + TIMEOUT))
  until [ "$(wc -l <"$1")" -ge "$2" ]; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.01
  done
}

# What `inotifywait -m w` (inotify-tools 3.22.6) prints for the operations in run_case.
EXPECTED='w/ CREATE file
w/ OPEN file
w/ MODIFY file
w/ CLOSE_WRITE,CLOSE file
w/ CREATE,ISDIR sub
w/ MOVED_FROM file
w/ MOVED_TO renamed
w/ DELETE renamed
w/ DELETE,ISDIR sub
w/ ATTRIB,ISDIR '

run_case() { # run_case LABEL CMD...: the program as CMD w 10, on a fresh directory
  local label=$1 dir iw_pid= pid status
  shift
  dir=$(mktemp -d "$WORK/run.XXXX")
  mkdir "$dir/w"
  if command -v inotifywait >/dev/null; then # the real thing, on the same operations
    (cd "$dir" && exec inotifywait -m -q w >"$dir/inotifywait.out" 2>/dev/null) &
    iw_pid=$!
    PIDS+=("$iw_pid")
    wait_watch "$iw_pid" || die "$label: inotifywait did not start watching"
  fi
  (cd "$dir" && exec "$@" w 10 >"$dir/out" 2>"$dir/err") &
  pid=$!
  PIDS+=("$pid")
  wait_watch "$pid" || die "$label: no inotify watch within ${TIMEOUT}s: $(cat "$dir/err")"

  printf hello >"$dir/w/file"
  mkdir "$dir/w/sub"
  mv "$dir/w/file" "$dir/w/renamed"
  rm "$dir/w/renamed"
  rmdir "$dir/w/sub"
  chmod 700 "$dir/w"
  : >"$dir/w/extra" # an eleventh event, not to be printed

  wait_exit "$pid" || die "$label: did not exit within ${TIMEOUT}s"
  [ "$STATUS" -eq 0 ] || die "$label: exit status $STATUS: $(cat "$dir/err")"
  [ ! -s "$dir/err" ] || die "$label: wrote to stderr: $(cat "$dir/err")"
  diff -u <(printf '%s\n' "$EXPECTED") "$dir/out" >&2 || die "$label: unexpected output (above)"
  if [ -n "$iw_pid" ]; then
    wait_lines "$dir/inotifywait.out" 10 || die "$label: inotifywait printed fewer than 10 lines"
    kill "$iw_pid" 2>/dev/null || true
    wait "$iw_pid" 2>/dev/null || true
    diff -u <(head -n 10 "$dir/inotifywait.out") "$dir/out" >&2 ||
      die "$label: output differs from inotifywait's (above)"
    say "$label: 10 lines as expected, the same as inotifywait -m's"
  else
    say "$label: 10 lines as expected (inotifywait not installed: no side-by-side run)"
  fi
  PIDS=() # all waited for

  local err
  status=0
  err=$(cd "$dir" && "$@" missing 2>&1 >/dev/null) || status=$?
  [ "$status" -eq 1 ] || die "$label: exit status $status for a missing directory"
  [ "$err" = "inotify-nolibc: cannot watch missing: inotify_add_watch: ENOENT" ] ||
    die "$label: unexpected error message: $err"
  say "$label: missing directory: exit 1, \"$err\""
}

wait_case() { # wait_case LABEL CMD...: `CMD wait PATH [SECONDS]` in a fresh directory
  local label=$1 dir pid status err t0 ms
  shift
  dir=$(mktemp -d "$WORK/wait.XXXX")
  : >"$dir/file"
  ln -s nowhere "$dir/dangling"

  # There already: exit 0 at once.
  status=0
  (cd "$dir" && "$@" wait file 0) || status=$?
  [ "$status" -eq 0 ] || die "$label: wait file 0: exit status $status"

  # Made during the wait, two directories deep: exit 0.
  (cd "$dir" && exec "$@" wait a/b/new "$TIMEOUT" 2>"$dir/err") &
  pid=$!
  PIDS+=("$pid")
  wait_watch "$pid" || die "$label: wait: no inotify watch within ${TIMEOUT}s: $(cat "$dir/err")"
  mkdir -p "$dir/a/b"
  : >"$dir/a/b/new"
  wait_exit "$pid" || die "$label: wait a/b/new did not exit within ${TIMEOUT}s"
  [ "$STATUS" -eq 0 ] || die "$label: wait a/b/new: exit status $STATUS: $(cat "$dir/err")"
  [ ! -s "$dir/err" ] || die "$label: wait a/b/new wrote to stderr: $(cat "$dir/err")"
  PIDS=()

  # A dangling link resolves once its target is made: exit 0.
  (cd "$dir" && exec "$@" wait dangling "$TIMEOUT" 2>"$dir/err") &
  pid=$!
  PIDS+=("$pid")
  wait_watch "$pid" || die "$label: wait dangling: no inotify watch within ${TIMEOUT}s"
  mkdir "$dir/nowhere"
  wait_exit "$pid" || die "$label: wait dangling did not exit within ${TIMEOUT}s"
  [ "$STATUS" -eq 0 ] || die "$label: wait dangling: exit status $STATUS: $(cat "$dir/err")"
  PIDS=()

  # Never there: exit 2, no sooner than asked.
  t0=${EPOCHREALTIME/./}
  status=0
  err=$(cd "$dir" && "$@" wait never/there 1 2>&1) || status=$?
  ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
  [ "$status" -eq 2 ] || die "$label: wait never/there 1: exit status $status: $err"
  [ -z "$err" ] || die "$label: wait never/there 1 printed: $err"
  [ "$ms" -ge 1000 ] || die "$label: wait never/there 1 timed out after $ms ms"

  # An error: exit 1 with one line naming the component.
  status=0
  err=$(cd "$dir" && "$@" wait file/below 1 2>&1 >/dev/null) || status=$?
  [ "$status" -eq 1 ] || die "$label: wait file/below: exit status $status"
  [ "$err" = "inotify-nolibc: cannot wait for file/below: file: statx: ENOTDIR" ] ||
    die "$label: wait file/below: unexpected error message: $err"
  say "$label: wait: 0 when there or made later, 2 after $ms ms for 1 s, 1 and \"$err\""
}

t_run=${EPOCHREALTIME/./}
run_case "aarch64 (qemu)" qemu-aarch64-static "$BIN_ARM"
run_case "x86_64" "$BIN_X86"
wait_case "aarch64 (qemu)" qemu-aarch64-static "$BIN_ARM"
wait_case "x86_64" "$BIN_X86"
say "runs took $(((${EPOCHREALTIME/./} - t_run) / 1000)) ms"

# --- sizes ----------------------------------------------------------------------------

size_x86=$(stat -c %s "$BIN_X86")
size_arm=$(stat -c %s "$BIN_ARM")
echo "x86_64  stripped size: $size_x86 bytes ($BIN_X86)"
echo "aarch64 stripped size: $size_arm bytes ($BIN_ARM)"
[ "$size_x86" -le "$SIZE_BUDGET" ] || die "x86_64: $size_x86 bytes, over the budget of $SIZE_BUDGET"
[ "$size_arm" -le "$SIZE_BUDGET" ] || die "aarch64: $size_arm bytes, over the budget of $SIZE_BUDGET"
say "all checks passed in $(((${EPOCHREALTIME/./} - t0) / 1000)) ms"
