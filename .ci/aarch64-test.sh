#!/usr/bin/env bash
# .ci/aarch64-test.sh: `cargo test` for aarch64-unknown-linux-gnu, run under qemu-user.
#
# Usage (from the repository root, as root, on a Debian 12 amd64 machine):
#   bash .ci/aarch64-test.sh [ARGS for cargo test...]
#   e.g. bash .ci/aarch64-test.sh --features sc
#        bash .ci/aarch64-test.sh --all-features -- --nocapture
#
# Everything comes from Debian's packages and crates.io; no rustup target is needed.
#   compiler  Debian's rustc-web and cargo-web (/usr/bin/rustc, /usr/bin/cargo). rustup's
#             toolchain is not used: the compiler must be the exact build that made the
#             arm64 standard library below. RUSTC and RUSTDOC are both pointed at Debian's,
#             otherwise doctests are compiled by rustup's rustdoc and fail with E0463.
#   arm64 std libstd-rust-web-dev:arm64 (multiarch), found by rustc under its own sysroot.
#   linker    aarch64-linux-gnu-gcc (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross).
#   runner    qemu-aarch64-static, deliberately WITHOUT -L. The arm64 loader and libc come
#             from libc6:arm64 (/lib/ld-linux-aarch64.so.1). Passing -L /usr/aarch64-linux-gnu
#             makes the loader mix the cross glibc with the multiarch one (via the host's
#             ld.so.cache) and test binaries then hang at 100% CPU at their first thread.
#
# Environment:
#   CROSS_TARGET_DIR   cargo target dir (default target/cross-aarch64, apart from rustup's)
#   CI_TEST_BIN_TIMEOUT  seconds allowed per run of a test binary under qemu (default 300;
#                      see test-runner.sh, which runs one that hangs once more)
#   INOTIFY_RAW_EXAMPLE_RUNNER  how tests start example binaries (default qemu-aarch64-static)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

TARGET=$CI_AARCH64_TARGET
TARGET_DIR=${CROSS_TARGET_DIR:-target/cross-aarch64}

ci_need_root aarch64-test.sh
[ -f Cargo.toml ] || { echo "aarch64-test.sh: run from the crate root (no Cargo.toml in $PWD)" >&2; exit 1; }
[ "$(dpkg --print-architecture)" = amd64 ] || { echo "aarch64-test.sh: needs an amd64 Debian host" >&2; exit 1; }

install_cross() {
  ci_aarch64_install
  ci_apt_install qemu-user-static
}

check_cross() {
  ci_aarch64_check
  command -v qemu-aarch64-static >/dev/null || { echo "qemu-aarch64-static missing" >&2; return 1; }
  [ -e /lib/ld-linux-aarch64.so.1 ] || { echo "/lib/ld-linux-aarch64.so.1 missing (libc6:arm64)" >&2; return 1; }
  qemu-aarch64-static --version | head -n1
}

cross_test() {
  ci_aarch64_env
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="bash $here/test-runner.sh qemu-aarch64-static"
  # Tests that start a built example (tests/seed_readme.rs) run it through this runner: the
  # example is an arm64 binary too, and this machine has no binfmt_misc hook for it.
  export INOTIFY_RAW_EXAMPLE_RUNNER=${INOTIFY_RAW_EXAMPLE_RUNNER:-qemu-aarch64-static}
  echo "cargo test --target $TARGET --target-dir $TARGET_DIR $*"
  /usr/bin/cargo test --target "$TARGET" --target-dir "$TARGET_DIR" "$@"
}

ci_step "aarch64: install Debian rustc-web, arm64 std, cross gcc, qemu" install_cross
ci_step "aarch64: toolchain check" check_cross
ci_step "aarch64: cargo test ${*:-(default features)}" cross_test "$@"
