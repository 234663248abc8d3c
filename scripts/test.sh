#!/usr/bin/env bash
# The project's full test command (CI runs it through .ci/run):
#
#   scripts/test.sh
#
# Stages, in order (each prints a header; a summary and a final "N passed, M failed" line of
# test counts come last):
#   1. setup   scripts/emulator.sh setup: the pinned emulator venv (PyPI; idempotent, seconds),
#              and scripts/browser.sh: Debian's chromium for the HTML timeline's browser test,
#              installed when missing and the machine allows (it says so when it cannot)
#   2. fmt     cargo fmt --all -- --check
#   3. clippy  cargo clippy --workspace --all-targets -- -D warnings
#   4. test    cargo test --workspace                         (unit, integration and doc tests)
#   5. docs    cargo doc --workspace --no-deps with RUSTDOCFLAGS="-D warnings" (broken links,
#              bad doc syntax)
#   6. package cargo package of the crates users depend on ($PUBLISHED, in dependency order):
#              manifests, READMEs, included files, and each crate building from its .crate
#              alone, with the workspace dependencies taken from the other .crate files
#              (cargo's workspace packaging; the registry's dependencies from crates.io or the
#              local cache). --allow-dirty: it checks the packages, not the git tree. A failure
#              whose error lines name the network is retried once (package_check)
#   7. template scripts/template.sh check: templates/durable-function generated into a temp
#              dir with its placeholders filled, pointed at this workspace, its tests run
#   8. e2e     cargo test --workspace --tests -- --ignored --test-threads=1
#   9. conformance  scripts/conformance.sh: all ten public conformance suites against both
#                   drivers' bootstrap binaries; about six minutes (the drivers run in parallel)
#  10. serve   scripts/conformance-serve.sh $SERVE_SUITES: the same harness with the project's
#              own `durable-local serve` standing in for AWS's emulator (async driver, virtual
#              time; default suites step wait map parallel wait_for_condition)
#  11. fuzz    scripts/fuzz.sh $FUZZ_SECONDS (default 15): every cargo-fuzz target briefly, on
#              the committed corpus (which holds the reproducers of past findings)
#
# Convention: in this workspace `#[ignore]` marks end-to-end tests that need the emulator
# (e.g. `#[ignore = "e2e: needs the emulator venv (scripts/test.sh runs it)"]`); stage 8 runs
# exactly those, one at a time. `--tests` keeps ```ignore doc examples out of it.
#
# Every stage runs even if an earlier one failed (so one run shows everything); the exit
# status is non-zero if any stage failed. Environment:
#   FAIL_FAST=1        stop at the first failing stage
#   SKIP_E2E=1         skip stages 1, 8, 9 and 10 (no Python needed)
#   SKIP_CONFORMANCE=1 skip stages 9 and 10
#   SKIP_FUZZ=1        skip stage 11; FUZZ_SECONDS per fuzz target (default 15)
#   SKIP_PACKAGE=1     skip stages 5-7 (docs, package, template)
#   CARGO_BUILD_JOBS   default 2 (sized for the 2-core CI machine); RUST_TEST_THREADS default 2
#   CARGO_INCREMENTAL  default 0 when CI=true (disk: see the [profile.dev] note in Cargo.toml)
#   TEST_LOG_DIR       where each stage's output is kept (default target/test-logs)
#   CONF_VENV          emulator venv (default ${XDG_CACHE_HOME:-$HOME/.cache}/durable-lambda-rs/conformance-venv)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
LOG_DIR=${TEST_LOG_DIR:-$ROOT/target/test-logs}
mkdir -p "$LOG_DIR"
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
# A one-off build gains nothing from incremental state, which was ~2 GB of a clean run's target/.
[[ ${CI:-} == true ]] && export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-2}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# cargo retries a spurious network error 3 times by default; CI's only network is the registries.
export CARGO_NET_RETRY=${CARGO_NET_RETRY:-6}
FAIL_FAST=${FAIL_FAST:-0}
SKIP_E2E=${SKIP_E2E:-0}
SKIP_CONFORMANCE=${SKIP_CONFORMANCE:-0}
SKIP_FUZZ=${SKIP_FUZZ:-0}
SKIP_PACKAGE=${SKIP_PACKAGE:-0}
# The crates users depend on, dependencies first; stage 6 packages them.
PUBLISHED=(durable-proto durable-service durable-tokio durable-blocking durable-local durable-otel)

NAMES=() STATUSES=() TIMES=()
TOTAL=11
N=0
FAILED=0

record() {  # record NAME STATUS SECONDS
  NAMES+=("$1") STATUSES+=("$2") TIMES+=("$3")
}

stage() {  # stage NAME COMMAND... ; output goes to the terminal and to $LOG_DIR/NAME.log
  local name=$1 t0 rc
  shift
  N=$((N + 1))
  printf '\n%s\n== [%d/%d] %s: %s\n%s\n' \
    "================================================================================" \
    "$N" "$TOTAL" "$name" "$*" \
    "================================================================================"
  t0=$SECONDS
  if "$@" 2>&1 | tee "$LOG_DIR/$name.log"; then rc=0; else rc=$?; fi
  if [[ $rc -eq 0 ]]; then
    record "$name" ok $((SECONDS - t0))
  else
    record "$name" "FAILED (exit $rc; log $LOG_DIR/$name.log)" $((SECONDS - t0))
    FAILED=$((FAILED + 1))
    if [[ $FAIL_FAST == 1 ]]; then
      summary
      exit 1
    fi
  fi
}

skip() {  # skip NAME REASON
  N=$((N + 1))
  printf '\n== [%d/%d] %s: skipped (%s)\n' "$N" "$TOTAL" "$1" "$2"
  record "$1" "skipped ($2)" 0
}

# Stage 6. `cargo package` refreshes the crates.io index once per package, so a network blip
# fails it with exit 101 while everything else passed (seen once in CI, never reproduced): the
# error lines are printed apart from the build noise, and a failure that names the network is
# retried once. Any other failure is final.
package_check() {
  local log errors rc=0
  # cargo's wordings of a failed fetch (not bare "tls" / "http", which name crates and URLs too)
  local network='spurious network|failed to download|download of .* failed|unable to update registry|failed to (fetch|query|get)|timed out|resolve host|connect error|connection (reset|refused|closed)'
  log=$(mktemp)
  cargo package --allow-dirty "${PUBLISHED[@]/#/--package=}" 2>&1 | tee "$log" || rc=$?
  if [[ $rc -ne 0 ]]; then
    errors=$(grep -E -A8 '^(error|warning: spurious)' "$log" | head -60 || true)
    printf -- '-- cargo package failed (exit %s); its error lines:\n%s\n' "$rc" "$errors"
    if grep -q -i -E "$network" <<<"$errors"; then
      echo "-- the failure names the network: retrying once"
      rc=0
      cargo package --allow-dirty "${PUBLISHED[@]/#/--package=}" || rc=$?
    fi
  fi
  rm -f "$log"
  return "$rc"
}

# Sums cargo's "test result: ok. 3 passed; 1 failed; 2 ignored; ..." lines of the test stages
# (test, template, e2e),
# plus the conformance and serve stages' final "N passed, M failed" (requirements x drivers).
count_tests() {
  local f files=()
  for f in "$LOG_DIR/test.log" "$LOG_DIR/template.log" "$LOG_DIR/e2e.log"; do
    [[ -f $f ]] && files+=("$f")
  done
  {
    [[ ${#files[@]} -gt 0 ]] \
      && sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "${files[@]}"
    for f in "$LOG_DIR/conformance.log" "$LOG_DIR/serve.log"; do
      [[ -f $f ]] && sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$f" | tail -1
    done
  } | awk '{p += $1; f += $2} END {print p + 0, f + 0}'
}

summary() {
  local i passed failed
  printf '\n%s\n== summary\n' "================================================================================"
  for i in "${!NAMES[@]}"; do
    printf '  %-11s %5ss  %s\n' "${NAMES[$i]}" "${TIMES[$i]}" "${STATUSES[$i]}"
  done
  read -r passed failed < <(count_tests)
  printf '  stages failed: %d; total time %ss; logs in %s\n' "$FAILED" "$SECONDS" "$LOG_DIR"
  echo "$passed passed, $failed failed"
}

# Only the stages' own logs are summed: start from clean ones.
rm -f "$LOG_DIR"/{setup,fmt,clippy,test,docs,package,template,e2e,conformance,serve,fuzz}.log

if [[ $SKIP_E2E == 1 ]]; then
  skip setup "SKIP_E2E=1"
else
  stage setup bash -c 'scripts/emulator.sh setup && scripts/browser.sh'
fi
stage fmt cargo fmt --all -- --check
stage clippy cargo clippy --workspace --all-targets -- -D warnings
stage test cargo test --workspace
if [[ $SKIP_PACKAGE == 1 ]]; then
  skip docs "SKIP_PACKAGE=1"
  skip package "SKIP_PACKAGE=1"
  skip template "SKIP_PACKAGE=1"
else
  stage docs env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
  stage package package_check
  stage template scripts/template.sh check
fi
if [[ $SKIP_E2E == 1 ]]; then
  skip e2e "SKIP_E2E=1"
elif [[ ${STATUSES[0]} != ok ]]; then
  skip e2e "emulator setup failed"
  FAILED=$((FAILED + 1))
else
  stage e2e cargo test --workspace --tests -- --ignored --test-threads=1
fi
if [[ $SKIP_E2E == 1 || $SKIP_CONFORMANCE == 1 ]]; then
  skip conformance "SKIP_E2E=1 or SKIP_CONFORMANCE=1"
elif [[ ${STATUSES[0]} != ok ]]; then
  skip conformance "emulator setup failed"
else
  stage conformance scripts/conformance.sh
fi
if [[ $SKIP_E2E == 1 || $SKIP_CONFORMANCE == 1 ]]; then
  skip serve "SKIP_E2E=1 or SKIP_CONFORMANCE=1"
elif [[ ${STATUSES[0]} != ok ]]; then
  skip serve "emulator setup failed"
else
  # shellcheck disable=SC2086 # the suites are words
  stage serve scripts/conformance-serve.sh ${SERVE_SUITES:-step wait map parallel wait_for_condition}
fi
if [[ $SKIP_FUZZ == 1 ]]; then
  skip fuzz "SKIP_FUZZ=1"
else
  stage fuzz scripts/fuzz.sh "${FUZZ_SECONDS:-15}"
fi

summary
[[ $FAILED -eq 0 ]]
