#!/usr/bin/env bash
# The public conformance suites against `durable-local serve` instead of AWS's emulator:
#
#   scripts/conformance-serve.sh [suite...]        (default: step wait)
#
# The harness (tests/harness) is used unchanged: a venv overlay replaces only its
# `dex-local-runner` with a wrapper that starts `durable-local serve --lambda-endpoint <shim>
# --function-configs <file>` with the flags the harness passes, so the shim runs the
# handlers exactly as it does for the emulator. Suites whose tests complete callbacks from
# outside run on real time (on virtual time the server jumps past the callback's timeout
# before the test sends it); the others on virtual time.
#
# Environment: DRIVER (tokio | blocking, default tokio), PROFILE (default dev), OUT (default
# target/conformance-serve), CONF_VENV (the harness venv; scripts/emulator.sh setup makes
# it), EMULATOR_PORT / SHIM_PORT (default 5810 / 5811).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SUITES=${*:-step wait}
DRIVER=${DRIVER:-tokio}
PROFILE=${PROFILE:-dev}
OUT=${OUT:-$ROOT/target/conformance-serve}
VENV=${CONF_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/durable-lambda-rs/conformance-venv}
die() { echo "conformance-serve: $1" >&2; exit "${2:-2}"; }

"$ROOT/tests/harness/setup.sh" > /dev/null || die "harness setup failed"
echo "== build: durable-local and conformance-$DRIVER ($PROFILE)"
cargo build -p durable-local-server --bin durable-local --profile "$PROFILE" || die "build failed" 1
cargo build -p conformance --bin "conformance-$DRIVER" --profile "$PROFILE" || die "build failed" 1
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case $PROFILE in dev) BIN=$TARGET/debug ;; *) BIN=$TARGET/$PROFILE ;; esac

# The overlay: every entry of the real venv, but dex-local-runner is durable-local serve.
OVERLAY=$(mktemp -d "${TMPDIR:-/tmp}/conformance-serve.XXXXXX") || die "no temp dir"
trap 'rm -rf "$OVERLAY"' EXIT
mkdir -p "$OVERLAY/bin"
for f in "$VENV"/*; do [[ $(basename "$f") == bin ]] || ln -s "$f" "$OVERLAY/"; done
for f in "$VENV"/bin/*; do
  [[ $(basename "$f") == dex-local-runner ]] || ln -s "$f" "$OVERLAY/bin/"
done
cat > "$OVERLAY/bin/dex-local-runner" <<EOF
#!/usr/bin/env bash
# dex-local-runner start-server --host H --port P --lambda-endpoint L --function-configs F ...
host=127.0.0.1 port=5000 lambda= configs=
while [[ \$# -gt 0 ]]; do
  case \$1 in
    --host) host=\$2; shift 2 ;;
    --port) port=\$2; shift 2 ;;
    --lambda-endpoint) lambda=\$2; shift 2 ;;
    --function-configs) configs=\$2; shift 2 ;;
    --*) if [[ \${2:-} == --* || -z \${2:-} ]]; then shift; else shift 2; fi ;;
    *) shift ;;
  esac
done
exec "$BIN/durable-local" serve --quiet --host "\$host" --port "\$port" \
  --lambda-endpoint "\$lambda" \${configs:+--function-configs "\$configs"} \${DL_FLAGS:-}
EOF
chmod +x "$OVERLAY/bin/dex-local-runner"

CMD=$(printf '{"mode": "runtime-api", "cmd": ["%s", "{handler}"]}' "$BIN/conformance-$DRIVER")
passed=0 failed=0 rc=0
for suite in $SUITES; do
  template=$ROOT/tests/conformance/template_$suite.yaml
  [[ -f $template ]] || die "no template for suite $suite"
  case $suite in callback | wait_for_callback) flags=--real-time ;; *) flags= ;; esac
  log=$OUT/$suite.log
  mkdir -p "$OUT"
  DL_FLAGS=$flags CONF_VENV=$OVERLAY OUT=$OUT/$suite \
    EMULATOR_PORT=${EMULATOR_PORT:-5810} SHIM_PORT=${SHIM_PORT:-5811} \
    "$ROOT/tests/harness/run_suite.sh" "$template" "$suite" "rust-$DRIVER" "$CMD" > "$log" 2>&1 \
    || rc=1
  line=$(grep -E "^== $suite: " "$log" | tail -1)
  echo "${line:-== $suite: did not run (see $log)} [durable-local serve${flags:+ $flags}]"
  if [[ $line =~ ([0-9]+)/([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    passed=$((passed + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[3]))
  else
    rc=1
  fi
done
echo "$passed passed, $failed failed"
exit $rc
