#!/usr/bin/env bash
# Fuzzes durable-proto with the cargo-fuzz targets in fuzz/ (docs/reliability.md, "Fuzzing").
#
#   scripts/fuzz.sh [seconds-per-target] [target...]     default: 30 s, every target
#
# Exits non-zero if any target finds something (a panic, a broken invariant, a timeout); the
# input is saved under fuzz/artifacts/<target>/. New corpus entries go to
# fuzz/target/fuzz-corpus/<target>/ (not committed); the committed seeds in fuzz/corpus/ are
# read only.
#
# Environment:
#   FUZZ_SANITIZER=address  build with AddressSanitizer (default: none). Sanitizers need
#                           nightly flags, so the script then sets RUSTC_BOOTSTRAP=1.
#   FUZZ_STRICT=1           do not skip inputs that hit known, reported bugs (the bug-*
#                           reproducers in fuzz/corpus/ then fail at once).
#   FUZZ_ARGS="..."         extra libFuzzer flags, e.g. "-jobs=2 -workers=2".
set -euo pipefail

seconds="${1:-30}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

sanitizer="${FUZZ_SANITIZER:-none}"
if [ "$sanitizer" != none ]; then
    export RUSTC_BOOTSTRAP=1
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build --sanitizer "$sanitizer"

failed=()
mkdir -p target/fuzz-logs
for t in "${targets[@]}"; do
    work="target/fuzz-corpus/$t"
    log="target/fuzz-logs/$t.log"
    mkdir -p "$work" "corpus/$t"
    echo "== $t: ${seconds}s (log: fuzz/$log)"
    status=ok
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    if ! cargo fuzz run --sanitizer "$sanitizer" "$t" "$work" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=60 -print_final_stats=1 ${FUZZ_ARGS:-} \
        >"$log" 2>&1; then
        status=FAILED
        failed+=("$t")
        grep -E "panicked at|^thread|Test unit written|ERROR: libFuzzer" -A2 "$log" | head -20 || true
    fi
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
    took=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' | tail -1 || true)
    printf '%-18s %s  %ss  %s executions\n' "$t" "$status" "${took:-?}" "${execs:-?}"
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "findings in: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "no findings"
