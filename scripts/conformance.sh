#!/usr/bin/env bash
# Runs the public durable-execution conformance suites against both drivers:
#
#   scripts/conformance.sh
#
# Builds the Lambda bootstrap binaries of tests/conformance/ (conformance-tokio,
# conformance-blocking), then runs every suite that has a tests/conformance/template_<suite>.yaml
# through tests/harness/run_all.sh in runtime-api mode (the binaries run as real custom
# runtimes, as on Lambda), once per driver. Ends with a suite x driver tally, the failing
# requirement ids, and a final "N passed, M failed" line counted in requirements. Exits 1 if
# any requirement failed or a suite could not run, 2 on a usage or setup error.
#
# Environment:
#   DRIVERS      drivers to run, in order (default "tokio blocking")
#   SUITES       suites to run (default: every template_<suite>.yaml in tests/conformance)
#   PARALLEL     1 (default): the drivers run at the same time, each with its own emulator and
#                shim on its own ports; 0: one after the other
#   MAX_WORKERS  requirements the runner validates at once per suite (default 8; the work is
#                mostly waiting on timers, so this is fine on 2 cores)
#   PORT_BASE    first of 2 consecutive loopback ports per driver (emulator, shim); by default
#                free ports are picked
#   PROFILE      cargo profile for the binaries (default dev; e.g. release)
#   OUT          outputs (default target/conformance): OUT/<driver>/<suite>/{runner.log,
#                report.json, history/, handlers.log, shim.log, emulator.log}, OUT/<driver>.log
#   CONF_VENV    harness venv (default ${XDG_CACHE_HOME:-$HOME/.cache}/durable-lambda-rs/conformance-venv)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
HARNESS=$ROOT/tests/harness
TEMPLATES=$ROOT/tests/conformance
DRIVERS=${DRIVERS:-tokio blocking}
PARALLEL=${PARALLEL:-1}
MAX_WORKERS=${MAX_WORKERS:-8}
PROFILE=${PROFILE:-dev}
OUT=${OUT:-$ROOT/target/conformance}
VENV=${CONF_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/durable-lambda-rs/conformance-venv}
export CONF_VENV=$VENV

die() { echo "conformance: $1" >&2; exit "${2:-2}"; }

if [[ -z ${SUITES:-} ]]; then
  SUITES=$(find "$TEMPLATES" -maxdepth 1 -name 'template_*.yaml' -printf '%f\n' \
    | sed 's/^template_\(.*\)\.yaml$/\1/' | sort | tr '\n' ' ')
  # step and wait first (the order the harness documents), the rest after.
  SUITES=$(for s in step wait; do [[ " $SUITES " == *" $s "* ]] && printf '%s ' "$s"; done
           for s in $SUITES; do [[ $s == step || $s == wait ]] || printf '%s ' "$s"; done)
fi
SUITES=$(echo $SUITES)  # one space between names, none around
[[ -n $SUITES ]] || die "no tests/conformance/template_<suite>.yaml found"
for s in $SUITES; do
  [[ -f $TEMPLATES/template_$s.yaml ]] || die "no template for suite '$s': $TEMPLATES/template_$s.yaml"
done
for d in $DRIVERS; do
  [[ $d == tokio || $d == blocking ]] || die "unknown driver '$d' (tokio, blocking)"
done

t0=$SECONDS
echo "== setup: $HARNESS/setup.sh"
"$HARNESS/setup.sh" > /dev/null || die "harness setup failed"
PY=$VENV/bin/python

echo "== build: cargo build -p conformance --bins --profile $PROFILE"
cargo build -p conformance --bins --profile "$PROFILE" || die "build failed" 1
case $PROFILE in dev) BIN_DIR=$ROOT/target/debug ;; *) BIN_DIR=$ROOT/target/$PROFILE ;; esac

# Two loopback ports per driver, all distinct.
ndrivers=$(wc -w <<< "$DRIVERS")
if [[ -n ${PORT_BASE:-} ]]; then
  PORTS=$(seq "$PORT_BASE" $((PORT_BASE + 2 * ndrivers - 1)) | tr '\n' ' ')
else
  PORTS=$("$PY" - "$((2 * ndrivers))" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
) || die "cannot pick free ports"
fi
read -r -a PORT_LIST <<< "$PORTS"

PIDS=()
stop_all() {
  local pid
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill -TERM "$pid" 2>/dev/null; done
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do wait "$pid" 2>/dev/null; done
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)

run_driver() {  # run_driver DRIVER EMULATOR_PORT SHIM_PORT: run_all.sh for one driver
  local driver=$1 cmd
  rm -rf "${OUT:?}/$driver"
  mkdir -p "$OUT/$driver"
  cmd=$(printf '{"mode": "runtime-api", "cmd": ["%s", "{handler}"]}' "$BIN_DIR/conformance-$driver")
  OUT=$OUT/$driver EMULATOR_PORT=$2 SHIM_PORT=$3 SUITES=$SUITES \
    "$HARNESS/run_all.sh" "$TEMPLATES" "rust-$driver" "$cmd" --max-workers "$MAX_WORKERS" \
    > "$OUT/$driver.log" 2>&1
}

declare -A RC
i=0
for d in $DRIVERS; do
  ep=${PORT_LIST[$i]} sp=${PORT_LIST[$((i + 1))]}
  i=$((i + 2))
  echo "== run: $d driver, suites: $SUITES (emulator :$ep, shim :$sp; log $OUT/$d.log)"
  if [[ $PARALLEL == 1 ]]; then
    run_driver "$d" "$ep" "$sp" &
    PIDS+=("$!")
  else
    run_driver "$d" "$ep" "$sp"
    RC[$d]=$?
  fi
done
if [[ $PARALLEL == 1 ]]; then
  i=0
  for d in $DRIVERS; do
    wait "${PIDS[$i]}"
    RC[$d]=$?
    i=$((i + 1))
  done
  PIDS=()
fi
for d in $DRIVERS; do
  echo "-- $d (exit ${RC[$d]}):"
  sed 's/^/   /' "$OUT/$d.log"
done

# The tally, from each suite's report.json (a suite without one counts all its requirements
# as failed).
"$PY" - "$OUT" "$TEMPLATES" "$SUITES" "$DRIVERS" "$((SECONDS - t0))" <<'PY'
import json, os, re, sys

out, templates, suites, drivers, secs = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split(), sys.argv[5]
passed = failed = 0
rows, notes = [], []
for s in suites:
    cells = []
    for d in drivers:
        path = os.path.join(out, d, s, "report.json")
        if not os.path.exists(path):
            tpl = open(os.path.join(templates, f"template_{s}.yaml")).read()
            n = len(re.findall(r'TestDescription:\s*\[\s*"', tpl))
            failed += n
            cells.append("NO REPORT")
            notes.append(f"{s}/{d}: no report; see {os.path.join(out, d + '.log')}")
            continue
        rep = json.load(open(path))
        sm = rep["summary"]
        passed += sm["passed"]
        failed += sm["failed"]
        extra = [f"{sm[k]} {k}" for k in ("optional_failed", "not_implemented", "uncovered") if sm[k]]
        cells.append(f"{sm['passed']}/{sm['total']}" + (f" ({', '.join(extra)})" if extra else ""))
        for r in rep["results"]:
            if r["status"] not in ("PASSED", "NOT_IMPLEMENTED"):
                first = (r.get("errors") or [""])[0]
                notes.append(f"{s}/{d}: {r['id']} {r['status']} ({r['function']}): {first[:160]}")
    rows.append((s, cells))
w = max([len("suite")] + [len(s) for s in suites])
cw = max([len(d) for d in drivers] + [len(c) for _, cells in rows for c in cells])
print()
print("== conformance tally (requirements passed / total)")
print(f"  {'suite':<{w}}  " + "  ".join(f"{d:<{cw}}" for d in drivers))
for s, cells in rows:
    print(f"  {s:<{w}}  " + "  ".join(f"{c:<{cw}}" for c in cells))
for n in notes:
    print(f"  {n}")
print(f"  outputs under {out}; total time {secs}s")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
tally=$?
status=0
for d in $DRIVERS; do
  if [[ ${RC[$d]} -ne 0 ]]; then
    status=1
    [[ $tally -eq 0 ]] && echo "conformance: run_all.sh for $d exited ${RC[$d]}; see $OUT/$d.log" >&2
  fi
done
[[ $tally -ne 0 ]] && status=1
exit "$status"
