#!/usr/bin/env bash
# .ci/msrv.sh: check that the library compiles with Rust 1.63 (the MSRV).
#
# Usage (from the repository root, as root, on Debian 12): bash .ci/msrv.sh
#
# rustup cannot fetch old toolchains here, so this uses Debian bookworm's own rustc 1.63.
# `apt-get install rustc` would clash with rustc-web (both own /usr/bin/rustc, which
# .ci/aarch64-test.sh uses), so the .debs are downloaded and unpacked into a directory of
# their own (MSRV_DIR, default /opt/rustc-1.63; kept and reused when already there) and
# that rustc runs with LD_LIBRARY_PATH and --sysroot pointing into it.
#
# That rustc cannot fetch crates, so the library is compiled directly with rustc, once per
# feature set that needs no dependency:
#   no features (no_std core), feature "alloc", features "std" + "alloc".
# (The optional `sc` dependency is not covered here.) Output goes to a temporary directory.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

MSRV=1.63
MSRV_DIR=${MSRV_DIR:-/opt/rustc-$MSRV}
CRATE_NAME=inotify_raw
RUSTC_MSRV="$MSRV_DIR/usr/bin/rustc"

[ -f src/lib.rs ] || { echo "msrv.sh: run from the crate root (no src/lib.rs in $PWD)" >&2; exit 1; }

msrv_rustc() {
  LD_LIBRARY_PATH="$MSRV_DIR/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$RUSTC_MSRV" --sysroot "$MSRV_DIR/usr" "$@"
}

msrv_ok() {
  [ -x "$RUSTC_MSRV" ] && msrv_rustc --version 2>/dev/null | grep -q "^rustc $MSRV\."
}

# The Debian version of PKG whose upstream version is $MSRV.x (empty if there is none).
debian_version() {
  apt-cache madison "$1" | awk -F'|' -v v="$MSRV." \
    '{ gsub(/ /, "", $2); if (index($2, v) == 1) { print $2; exit } }'
}

install_msrv() {
  if msrv_ok; then
    echo "using $(msrv_rustc --version) from $MSRV_DIR (already unpacked)"
    return 0
  fi
  ci_need_root msrv.sh
  ci_apt_update
  local vr vs vd
  vr=$(debian_version rustc)
  vs=$(debian_version "libstd-rust-$MSRV")
  vd=$(debian_version libstd-rust-dev)
  if [ -z "$vr" ] || [ -z "$vs" ] || [ -z "$vd" ]; then
    echo "msrv.sh: ERROR: Debian's apt sources offer no rustc $MSRV here:" >&2
    apt-cache madison rustc "libstd-rust-$MSRV" libstd-rust-dev >&2 || true
    echo "msrv.sh: cannot check the MSRV without rustc $MSRV" >&2
    return 1
  fi
  local dl
  dl=$(mktemp -d)
  echo "apt-get download rustc=$vr libstd-rust-$MSRV=$vs libstd-rust-dev=$vd"
  (cd "$dl" && ci_apt download "rustc=$vr" "libstd-rust-$MSRV=$vs" "libstd-rust-dev=$vd")
  rm -rf "$MSRV_DIR.tmp"
  mkdir -p "$MSRV_DIR.tmp"
  local deb
  for deb in "$dl"/*.deb; do
    dpkg -x "$deb" "$MSRV_DIR.tmp"
  done
  rm -rf "$dl" "$MSRV_DIR"
  mv "$MSRV_DIR.tmp" "$MSRV_DIR"
  msrv_ok || { echo "msrv.sh: unpacked $MSRV_DIR but its rustc does not run as $MSRV" >&2; return 1; }
  echo "unpacked $(msrv_rustc --version) into $MSRV_DIR"
}

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

compile() { # compile LABEL [--cfg ...]
  local label=$1
  shift
  mkdir -p "$OUT/$label"
  echo "rustc $MSRV --edition 2021 --crate-type lib --crate-name $CRATE_NAME src/lib.rs $*"
  msrv_rustc --edition 2021 --crate-type lib --crate-name "$CRATE_NAME" \
    --out-dir "$OUT/$label" "$@" src/lib.rs
}

ci_step "msrv: get Debian's rustc $MSRV" install_msrv
ci_step "msrv: rustc $MSRV, no features (no_std core)" compile core
ci_step "msrv: rustc $MSRV, feature alloc" compile alloc --cfg 'feature="alloc"'
ci_step "msrv: rustc $MSRV, features std+alloc" compile std --cfg 'feature="std"' --cfg 'feature="alloc"'
