#!/usr/bin/env bash
# .ci/miri.sh: run the pure (syscall-free) tests under Miri to catch undefined behaviour.
#
# Usage (from the repository root): bash .ci/miri.sh
#
# Miri is a rustup component of the nightly toolchain; the download may not work on every
# machine. If `rustup component add` fails, this prints one line saying so and exits 0.
# Miri cannot run inline asm, so tests that make syscalls carry
# #[cfg_attr(miri, ignore)]; what runs here is tests/parser.rs, tests/dir.rs and the
# library's unit tests (the fanotify parser's among them, in src/parse/fanotify.rs).
# Env: MIRIFLAGS is passed through as set (none are needed).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

[ -f Cargo.toml ] || { echo "miri.sh: run from the crate root (no Cargo.toml in $PWD)" >&2; exit 1; }

log=$(mktemp)
if ! rustup component add miri rust-src --toolchain nightly >"$log" 2>&1; then
  rm -f "$log"
  echo "miri: not available on this machine (component download failed); skipping"
  exit 0
fi
rm -f "$log"

[ -f tests/parser.rs ] || { echo "miri.sh: tests/parser.rs (the pure parser tests) is missing" >&2; exit 1; }

ci_step "miri: setup (sysroot)" cargo +nightly miri setup
ci_step "miri: cargo miri test --test parser" cargo +nightly miri test --test parser
ci_step "miri: cargo miri test --test dir" cargo +nightly miri test --test dir
ci_step "miri: cargo miri test --lib" cargo +nightly miri test --lib
