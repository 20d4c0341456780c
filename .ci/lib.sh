# .ci/lib.sh: helpers shared by the scripts in .ci/ (sourced, not run).
#
#   ci_step NAME CMD...   print "== NAME", run CMD, print "== NAME: ok (12.3s)" or
#                         "== NAME: FAILED, exit N (12.3s)". Returns CMD's exit status and
#                         leaves it in CI_STEP_RC and the elapsed microseconds in CI_STEP_US.
#                         CMD runs in a subshell with errexit on, also inside functions.
#                         The caller's errexit setting is kept: with `set -e` on, a failed
#                         step ends the calling script.
#                         If CI_STEP_LOG is set, CMD's stdout+stderr is also appended to it
#                         (the output stays visible).
#   ci_secs US            format microseconds as "12.3s"
#   ci_need_root WHO      fail unless running as root
#   ci_apt_install PKG... install the Debian packages that are not installed yet
#                         (apt-get update first, once per script); quiet unless it fails
#
# Building for aarch64 on an amd64 Debian 12 host, with Debian's packages only (no rustup
# target is needed): the compiler is Debian's rustc-web (/usr/bin/rustc, /usr/bin/cargo),
# the exact build that made the multiarch arm64 standard library it finds under its own
# sysroot (libstd-rust-web-dev:arm64); the linker is aarch64-linux-gnu-gcc, with the
# cross glibc (libc6-dev-arm64-cross, which has the static libc.a too).
#   ci_aarch64_install    install all of that (root; adds the arm64 dpkg architecture)
#   ci_aarch64_check      fail unless it is all there; print the compiler's version
#   ci_aarch64_env        export RUSTC, RUSTDOC and the linker for $CI_AARCH64_TARGET, so
#                         that /usr/bin/cargo builds with them. RUSTDOC too: doctests
#                         compiled by rustup's rustdoc fail with E0463.

export DEBIAN_FRONTEND=noninteractive

ci_now_us() {
  local t=${EPOCHREALTIME/[.,]/}
  echo "$t"
}

ci_secs() {
  local us=$1
  printf '%d.%01ds' $((us / 1000000)) $((us / 100000 % 10))
}

ci_step() {
  local name=$1
  shift
  local t0 rc errexit=off
  if [[ $- == *e* ]]; then errexit=on; fi
  echo "== $name"
  t0=$(ci_now_us)
  # CMD runs in a subshell in plain context, with errexit switched off around it, so that the
  # subshell's own `set -e` applies to everything in it. (Had the subshell stood in an
  # `if`/`||`/`&&` context, bash would ignore errexit inside it, even within functions.)
  # For the same reason, call ci_step itself in plain context, not as `ci_step ... || x`.
  set +e
  if [ -n "${CI_STEP_LOG:-}" ]; then
    (set -e; "$@") 2>&1 | tee -a "$CI_STEP_LOG"
    rc=${PIPESTATUS[0]}
  else
    (set -e; "$@")
    rc=$?
  fi
  if [ "$errexit" = on ]; then set -e; fi
  CI_STEP_US=$(($(ci_now_us) - t0))
  # shellcheck disable=SC2034  # read by the scripts that source this file
  CI_STEP_RC=$rc
  if [ "$rc" -eq 0 ]; then
    echo "== $name: ok ($(ci_secs "$CI_STEP_US"))"
  else
    echo "== $name: FAILED, exit $rc ($(ci_secs "$CI_STEP_US"))"
  fi
  return "$rc"
}

ci_need_root() {
  [ "$(id -u)" -eq 0 ] || {
    echo "$1: must run as root (it installs Debian packages with apt-get)" >&2
    exit 1
  }
}

CI_APT_UPDATED=${CI_APT_UPDATED:-}
CI_APT_LOG=${CI_APT_LOG:-/tmp/ci-apt.log}

ci_apt() { # ci_apt ARGS...: apt-get, output to $CI_APT_LOG, shown only on failure
  if ! apt-get -q -y -o Dpkg::Use-Pty=0 "$@" >>"$CI_APT_LOG" 2>&1; then
    echo "apt-get $* failed; last lines of $CI_APT_LOG:" >&2
    tail -n 40 "$CI_APT_LOG" >&2
    return 1
  fi
}

ci_apt_update() {
  [ -n "$CI_APT_UPDATED" ] && return 0
  ci_apt update
  CI_APT_UPDATED=1
}

ci_apt_install() {
  local p need=()
  for p in "$@"; do
    dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || need+=("$p")
  done
  [ "${#need[@]}" -eq 0 ] && return 0
  echo "apt-get install ${need[*]}"
  ci_apt_update
  ci_apt install --no-install-recommends "${need[@]}"
}

CI_AARCH64_TARGET=aarch64-unknown-linux-gnu

ci_aarch64_install() {
  ci_need_root "building for $CI_AARCH64_TARGET"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    CI_APT_UPDATED= # the arm64 package lists are not there yet
  fi
  ci_apt_install \
    ca-certificates \
    rustc-web cargo-web libstd-rust-web-dev:amd64 \
    libstd-rust-web-dev:arm64 libc6:arm64 libgcc-s1:arm64 \
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross
}

ci_aarch64_check() {
  local libdir
  libdir=$(/usr/bin/rustc --print target-libdir --target "$CI_AARCH64_TARGET")
  compgen -G "$libdir/libstd-*.rlib" >/dev/null || { echo "no arm64 std in $libdir" >&2; return 1; }
  command -v aarch64-linux-gnu-gcc >/dev/null || { echo "aarch64-linux-gnu-gcc missing" >&2; return 1; }
  echo "$(/usr/bin/rustc --version); $(/usr/bin/cargo --version)"
}

ci_aarch64_env() {
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
  export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
}
