#!/usr/bin/env bash
# .ci/fuzz.sh: run every cargo-fuzz target in fuzz/ for a while (libFuzzer + AddressSanitizer).
#
# Usage (from the repository root): bash .ci/fuzz.sh
# Env:   FUZZ_SECONDS  seconds of fuzzing per target (default 60)
#
# Needs the rustup nightly toolchain; installs cargo-fuzz from crates.io if it is missing.
# Targets are the [[bin]]s of fuzz/Cargo.toml (`cargo fuzz list`): parse_events (the main
# one), parse_dirents, parse_fanotify, and fanotify_info_records (the fanotify parser's
# info records, after well-formed metadata); the modules they share check the parsers'
# invariants (records_invariants.rs, fanotify_invariants.rs). New corpus entries go to
# fuzz/corpus/TARGET and crashing inputs to fuzz/artifacts/TARGET (both ignored by git);
# a crash fails the step and cargo-fuzz prints how to reproduce it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

FUZZ_SECONDS=${FUZZ_SECONDS:-60}

[ -f fuzz/Cargo.toml ] || { echo "fuzz.sh: no fuzz/Cargo.toml under $PWD" >&2; exit 1; }

install_cargo_fuzz() {
  rustup run nightly rustc --version
  if cargo fuzz --version >/dev/null 2>&1; then
    cargo fuzz --version
    return 0
  fi
  cargo install cargo-fuzz --locked
  cargo fuzz --version
}

ci_step "fuzz: cargo-fuzz" install_cargo_fuzz

mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
[ "${#targets[@]}" -gt 0 ] || { echo "fuzz.sh: cargo fuzz list found no fuzz target" >&2; exit 1; }
echo "fuzz targets: ${targets[*]} (${FUZZ_SECONDS}s each)"

fuzz_one() {
  cd fuzz
  cargo +nightly fuzz build "$1"
  cargo +nightly fuzz run "$1" -- -max_total_time="$FUZZ_SECONDS"
}

for t in "${targets[@]}"; do
  ci_step "fuzz: $t for ${FUZZ_SECONDS}s" fuzz_one "$t"
done
