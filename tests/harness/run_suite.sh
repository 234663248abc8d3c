#!/usr/bin/env bash
# Runs one conformance suite against local handlers, entirely on 127.0.0.1.
#
#   run_suite.sh <template.yaml> <suite> <language> <handler-cmd-json> [runner args...]
#
# Starts the durable-execution emulator and the shim, runs the unmodified conformance runner
# with its AWS endpoints pointed at the shim, stops everything it started, and exits with the
# runner's status (non-zero when any requirement FAILED; 2 for harness/setup problems).
#
# Environment:
#   CONF_VENV      venv made by setup.sh (default ${XDG_CACHE_HOME:-$HOME/.cache}/durable-lambda-rs/conformance-venv)
#   OUT            output directory (default ./conformance-out/<suite>)
#   EMULATOR_PORT  emulator port (5000)        SHIM_PORT  shim port (3001)
#   NORMALIZE      1 (default) fills known emulator history gaps; 0 shows raw emulator history
#   HANDLER_MODE   stdin (default) or runtime-api; or put "mode" in the handler-cmd JSON object
set -uo pipefail

die() { echo "run_suite: $*" >&2; exit 2; }
[[ $# -ge 4 ]] || die "usage: run_suite.sh <template.yaml> <suite> <language> <handler-cmd-json> [runner args...]"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -f $1 ]] || die "template not found: $1"
TEMPLATE="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
SUITE=$2 LANGUAGE=$3 CMD=$4
shift 4

VENV=${CONF_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/durable-lambda-rs/conformance-venv}
PY=$VENV/bin/python
[[ -x $VENV/bin/durable-execution-conformance && -x $VENV/bin/dex-local-runner ]] \
  || die "runner/emulator not found in $VENV; run $HERE/setup.sh first (or set CONF_VENV)"
EMULATOR_PORT=${EMULATOR_PORT:-5000}
SHIM_PORT=${SHIM_PORT:-3001}
NORMALIZE=${NORMALIZE:-1}
OUT=${OUT:-$PWD/conformance-out/$SUITE}
mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
rm -rf "$OUT/history" "$OUT/report.json" "$OUT/report.xml" "$OUT/handlers.log"

http_ok() {  # http_ok URL -> 0 when it answers 200
  "$PY" -c 'import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=1).status == 200 else 1)
except Exception:
    sys.exit(1)' "$1"
}
port_in_use() {
  "$PY" -c 'import socket, sys
s = socket.socket(); s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}
for p in "$EMULATOR_PORT" "$SHIM_PORT"; do
  port_in_use "$p" && die "127.0.0.1:$p is already in use (set EMULATOR_PORT / SHIM_PORT)"
done

# Credentials and region are dummies; only loopback endpoints are ever contacted.
unset AWS_PROFILE AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-west-2 AWS_REGION=us-west-2

SAM_TEMPLATE=$TEMPLATE "$PY" "$HERE/shim.py" --print-function-configs > "$OUT/function-configs.json" \
  || die "could not read functions from $TEMPLATE"

PIDS=()
cleanup() {
  local pid i
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill -TERM "$pid" 2>/dev/null; done
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$VENV/bin/dex-local-runner" start-server --host 127.0.0.1 --port "$EMULATOR_PORT" \
  --lambda-endpoint "http://127.0.0.1:$SHIM_PORT" --local-runner-endpoint "http://127.0.0.1:$EMULATOR_PORT" \
  --store-type memory --log-level WARNING --function-configs "file://$OUT/function-configs.json" \
  > "$OUT/emulator.log" 2>&1 &
EMULATOR_PID=$!
PIDS+=("$EMULATOR_PID")

SAM_TEMPLATE=$TEMPLATE HANDLER_CMD_TEMPLATE=$CMD HANDLER_MODE=${HANDLER_MODE:-} \
SHIM_PORT=$SHIM_PORT EMULATOR_URL="http://127.0.0.1:$EMULATOR_PORT" \
HANDLER_ENV_LAMBDA_ENDPOINT="http://127.0.0.1:$SHIM_PORT" SHIM_NORMALIZE_HISTORY=$NORMALIZE \
SHIM_HANDLER_LOG="$OUT/handlers.log" \
  "$PY" -u "$HERE/shim.py" > "$OUT/shim.log" 2>&1 &
SHIM_PID=$!
PIDS+=("$SHIM_PID")

wait_up() {  # wait_up URL PID NAME LOG
  local i
  for i in $(seq 1 100); do
    http_ok "$1" && return 0
    kill -0 "$2" 2>/dev/null || { tail -20 "$4" >&2; die "$3 exited during startup (log: $4)"; }
    sleep 0.2
  done
  tail -20 "$4" >&2
  die "$3 did not come up on $1 (log: $4)"
}
wait_up "http://127.0.0.1:$EMULATOR_PORT/health" "$EMULATOR_PID" emulator "$OUT/emulator.log"
wait_up "http://127.0.0.1:$SHIM_PORT/_shim/health" "$SHIM_PID" shim "$OUT/shim.log"

# The runner writes build/ and output/ under its working directory, so run it inside OUT.
# It runs in the background (so a signal reaches the trap at once) and its log is followed live.
: > "$OUT/runner.log"
( cd "$OUT" && exec env PATH="$HERE/fakebin:$PATH" \
    AWS_ENDPOINT_URL_LAMBDA="http://127.0.0.1:$SHIM_PORT" \
    AWS_ENDPOINT_URL_CLOUDFORMATION="http://127.0.0.1:$SHIM_PORT" \
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS="http://127.0.0.1:$SHIM_PORT" \
    "$VENV/bin/durable-execution-conformance" --template "$TEMPLATE" --language "$LANGUAGE" \
      --suite "$SUITE" --name "local-$SUITE" --no-cleanup --history-dir "$OUT/history" \
      --report console json junit --report-file "$OUT/report" "$@" ) >> "$OUT/runner.log" 2>&1 &
RUNNER_PID=$!
PIDS=("$RUNNER_PID" ${PIDS[@]+"${PIDS[@]}"})
tail -n +1 -f "$OUT/runner.log" &
PIDS+=("$!")
wait "$RUNNER_PID"
RC=$?
sleep 0.5  # let the log follower print the last lines

cleanup

if [[ -f $OUT/report.json ]]; then
  "$PY" - "$OUT/report.json" "$SUITE" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
print(f"== {sys.argv[2]}: {s['passed']}/{s['total']} passed, {s['failed']} failed, "
      f"{s['optional_failed']} optional_failed, {s['not_implemented']} not_implemented, "
      f"{s['uncovered']} uncovered")
sys.exit(1 if s["failed"] else 0)
PY
  [[ $? -ne 0 && $RC -eq 0 ]] && RC=1
else
  echo "== $SUITE: no report written (runner exit code $RC); see $OUT/runner.log" >&2
fi
echo "== outputs: $OUT"
exit "$RC"
