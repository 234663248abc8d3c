#!/usr/bin/env bash
# The durable-execution emulator (AWS's dex-local-runner) plus the harness shim, on loopback.
#
#   scripts/emulator.sh setup
#       Creates/verifies the pinned Python venv (PyPI only; idempotent, a second run returns at
#       once). Prints the venv path as the last stdout line.
#   scripts/emulator.sh start <emulator_port> <shim_port> <workdir> [template.yaml] [handler-cmd-json]
#       Starts dex-local-runner (real time, memory store, dummy AWS credentials/region) on
#       127.0.0.1:<emulator_port> and tests/harness/shim.py on 127.0.0.1:<shim_port>, the
#       emulator's --lambda-endpoint. Waits until both answer their health checks, then exits,
#       leaving both running. Prints "key=value" lines on stdout:
#         emulator_pid=  shim_pid=  watchdog_pid=  emulator_url=  shim_url=  workdir=
#       Logs and pid files go to <workdir>: emulator.log, shim.log, handlers.log,
#       function-configs.json, emulator.pid, shim.pid, watchdog.pid.
#   scripts/emulator.sh stop <workdir>
#       Stops what `start` left running for <workdir> (by PID; SIGTERM, then SIGKILL after 5 s).
#       The shim stops its handler processes on SIGTERM.
#
# Environment for `start` (positional arguments win over the variables):
#   SAM_TEMPLATE          SAM-style template listing the functions (see tests/harness/README.md)
#   HANDLER_CMD_TEMPLATE  handler command: a JSON argv list, or {"mode": ..., "cmd": [...]}
#   HANDLER_MODE          stdin | runtime-api (optional; the JSON "mode" may say it instead;
#                         the shim's default is stdin)
#   NORMALIZE             1 (default): the shim fills known emulator history gaps; 0: raw
#   OWNER_PID             optional: a watchdog stops both services once this process is gone
#                         (so a killed test run leaks nothing)
#   CONF_VENV             venv location (default ${XDG_CACHE_HOME:-$HOME/.cache}/durable-lambda-rs/conformance-venv)
#
# Exit status: 0 ok; 1 a service failed to start (the log to read is named); 2 usage error.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HARNESS=$ROOT/tests/harness
VENV=${CONF_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/durable-lambda-rs/conformance-venv}
export CONF_VENV=$VENV

usage() {
  awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "${BASH_SOURCE[0]}" >&2
  exit 2
}
die() { echo "emulator.sh: $1" >&2; exit "${2:-1}"; }  # die MESSAGE [STATUS]

# A PID is "ours" only if it still runs the expected program (guards against PID reuse).
is_ours() {  # is_ours PID PATTERN
  local pid=$1 pattern=$2 state
  [[ -r /proc/$pid/cmdline ]] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo X)
  [[ $state != Z && $state != X ]] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$pattern"
}

stop_pid() {  # stop_pid PID PATTERN NAME
  local pid=$1 pattern=$2 name=$3 i
  is_ours "$pid" "$pattern" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    is_ours "$pid" "$pattern" || { echo "stopped $name (pid $pid)" >&2; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  echo "killed $name (pid $pid) after SIGTERM timed out" >&2
}

cmd_setup() {
  [[ $# -eq 0 ]] || usage
  "$HARNESS/setup.sh"
}

http_ok() {  # http_ok URL -> 0 when it answers 200
  "$VENV/bin/python" -c 'import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=1).status == 200 else 1)
except Exception:
    sys.exit(1)' "$1"
}

port_in_use() {
  "$VENV/bin/python" -c 'import socket, sys
s = socket.socket(); s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}

wait_up() {  # wait_up URL PID NAME LOG
  local i
  for i in $(seq 1 150); do
    http_ok "$1" && return 0
    if ! kill -0 "$2" 2>/dev/null; then
      tail -20 "$4" >&2 || true
      die "$3 exited during startup; read $4"
    fi
    sleep 0.2
  done
  tail -20 "$4" >&2 || true
  die "$3 did not answer $1 within 30 s; read $4"
}

cmd_start() {
  [[ $# -ge 3 && $# -le 5 ]] || usage
  local eport=$1 sport=$2 work=$3
  local template=${4:-${SAM_TEMPLATE:-}} cmd=${5:-${HANDLER_CMD_TEMPLATE:-}}
  [[ $eport =~ ^[0-9]+$ && $sport =~ ^[0-9]+$ ]] || die "ports must be numbers (got '$eport', '$sport')" 2
  [[ -n $template ]] || die "no template: pass it as 4th argument or set SAM_TEMPLATE" 2
  [[ -f $template ]] || die "template not found: $template" 2
  [[ -n $cmd ]] || die "no handler command: pass it as 5th argument or set HANDLER_CMD_TEMPLATE" 2
  [[ -x $VENV/bin/dex-local-runner ]] \
    || die "emulator not installed in $VENV; run: scripts/emulator.sh setup" 2
  template="$(cd "$(dirname "$template")" && pwd)/$(basename "$template")"
  mkdir -p "$work" || die "cannot create workdir $work" 2
  work=$(cd "$work" && pwd)
  local p
  for p in "$eport" "$sport"; do
    port_in_use "$p" && die "127.0.0.1:$p is already in use (choose other ports)" 2
  done

  # Dummy credentials and region: the emulator signs its Invoke calls with boto3, which refuses
  # to sign without credentials. Only loopback endpoints are contacted; nothing checks signatures.
  unset AWS_PROFILE AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_SESSION_TOKEN=local
  export AWS_DEFAULT_REGION=us-west-2 AWS_REGION=us-west-2
  # Python handlers (fixtures) must not leave __pycache__ in the source tree.
  export PYTHONDONTWRITEBYTECODE=1
  export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

  SAM_TEMPLATE=$template "$VENV/bin/python" "$HARNESS/shim.py" --print-function-configs \
    > "$work/function-configs.json" 2> "$work/function-configs.err" \
    || { cat "$work/function-configs.err" >&2; die "could not read functions from $template"; }
  rm -f "$work/function-configs.err"

  : > "$work/handlers.log"
  "$VENV/bin/dex-local-runner" start-server --host 127.0.0.1 --port "$eport" \
    --lambda-endpoint "http://127.0.0.1:$sport" --local-runner-endpoint "http://127.0.0.1:$eport" \
    --store-type memory --log-level WARNING --function-configs "file://$work/function-configs.json" \
    --no-skip-time < /dev/null > "$work/emulator.log" 2>&1 &
  epid=$!  # global: the EXIT trap below reads it
  echo "$epid" > "$work/emulator.pid"

  SAM_TEMPLATE=$template HANDLER_CMD_TEMPLATE=$cmd HANDLER_MODE=${HANDLER_MODE:-} \
  SHIM_PORT=$sport EMULATOR_URL="http://127.0.0.1:$eport" \
  HANDLER_ENV_LAMBDA_ENDPOINT="http://127.0.0.1:$sport" SHIM_NORMALIZE_HISTORY=${NORMALIZE:-1} \
  SHIM_HANDLER_LOG="$work/handlers.log" \
    "$VENV/bin/python" -u "$HARNESS/shim.py" < /dev/null > "$work/shim.log" 2>&1 &
  spid=$!
  echo "$spid" > "$work/shim.pid"

  # If startup fails, stop what was started.
  trap 'stop_pid "$spid" shim.py shim; stop_pid "$epid" dex-local-runner emulator' EXIT
  wait_up "http://127.0.0.1:$eport/health" "$epid" emulator "$work/emulator.log"
  wait_up "http://127.0.0.1:$sport/_shim/health" "$spid" shim "$work/shim.log"
  trap - EXIT

  local wpid=""
  if [[ -n ${OWNER_PID:-} ]]; then
    # Watchdog: once the owner is gone, stop both services; exit when both are gone anyway.
    (
      trap '' INT HUP
      while kill -0 "$OWNER_PID" 2>/dev/null; do
        is_ours "$spid" shim.py || is_ours "$epid" dex-local-runner || exit 0
        sleep 1
      done
      stop_pid "$spid" shim.py shim
      stop_pid "$epid" dex-local-runner emulator
    ) < /dev/null >> "$work/watchdog.log" 2>&1 &
    wpid=$!
    echo "$wpid" > "$work/watchdog.pid"
  fi

  echo "emulator_pid=$epid"
  echo "shim_pid=$spid"
  echo "watchdog_pid=$wpid"
  echo "emulator_url=http://127.0.0.1:$eport"
  echo "shim_url=http://127.0.0.1:$sport"
  echo "workdir=$work"
}

cmd_stop() {
  [[ $# -eq 1 ]] || usage
  local work=$1 pid
  [[ -d $work ]] || die "no such workdir: $work" 2
  if [[ -f $work/watchdog.pid ]]; then
    pid=$(cat "$work/watchdog.pid")
    if [[ -n $pid ]] && is_ours "$pid" emulator.sh; then kill -TERM "$pid" 2>/dev/null || true; fi
  fi
  # The shim first: on SIGTERM it stops the handler processes it started.
  [[ -f $work/shim.pid ]] && stop_pid "$(cat "$work/shim.pid")" shim.py shim
  [[ -f $work/emulator.pid ]] && stop_pid "$(cat "$work/emulator.pid")" dex-local-runner emulator
  rm -f "$work/shim.pid" "$work/emulator.pid" "$work/watchdog.pid"
}

case ${1:-} in
  setup) shift; cmd_setup "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) usage ;;
esac
