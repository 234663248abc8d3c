#!/usr/bin/env bash
# Creates (or verifies) the Python virtualenv that holds the conformance runner, the
# durable-execution emulator and PyYAML. Safe to run repeatedly; prints the venv path last.
#
#   CONF_VENV   venv location (default: ${XDG_CACHE_HOME:-$HOME/.cache}/durable-lambda-rs/conformance-venv)
#   PYTHON      interpreter used to create it (default: python3; 3.11 or newer)
#   --force     reinstall even if the venv already matches the pinned versions
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VENV=${CONF_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/durable-lambda-rs/conformance-venv}
PY=${PYTHON:-python3}
RUNNER_PKG=aws-durable-execution-conformance-tests
RUNNER_VER=1.0.0
EMULATOR_PKG=aws-durable-execution-sdk-python-testing
EMULATOR_VER=1.4.0
PYYAML_VER=6.0.4
FORCE=0
[[ ${1:-} == --force ]] && FORCE=1

STAMP="$VENV/.durable-conformance-stamp"

# Serialise concurrent setups of the same venv (e.g. several test binaries starting at once);
# the second caller waits and then finds the venv ready.
mkdir -p "$(dirname "$VENV")"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$VENV.lock"
  flock 9
fi
WANT=$(cat "$HERE/constraints.txt"; echo "$RUNNER_PKG==$RUNNER_VER $EMULATOR_PKG==$EMULATOR_VER PyYAML==$PYYAML_VER")

if [[ $FORCE == 0 && -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] \
   && [[ -x "$VENV/bin/durable-execution-conformance" && -x "$VENV/bin/dex-local-runner" ]] \
   && "$VENV/bin/python" - "$RUNNER_PKG" "$RUNNER_VER" "$EMULATOR_PKG" "$EMULATOR_VER" <<'PYCHECK' 2>/dev/null
import importlib.metadata as m, sys
a = sys.argv[1:]
ok = all(m.version(a[i]) == a[i + 1] for i in range(0, len(a), 2))
import yaml  # noqa: F401
sys.exit(0 if ok else 1)
PYCHECK
then
  echo "setup: already set up" >&2
  echo "$VENV"
  exit 0
fi

if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "setup: need Python 3.11 or newer (got: $("$PY" -V 2>&1)); set PYTHON=..." >&2
  exit 1
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "setup: creating venv at $VENV with $("$PY" -V 2>&1)" >&2
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

DL=$(mktemp -d)
trap 'rm -rf "$DL"' EXIT
# The runner wheel declares Requires-Python >=3.14 but runs on 3.11+, so fetch it without the check.
echo "setup: downloading $RUNNER_PKG==$RUNNER_VER" >&2
"${PIP[@]}" download -q --no-deps --ignore-requires-python --only-binary=:all: \
  -d "$DL" "$RUNNER_PKG==$RUNNER_VER" >&2
WHEEL=$(ls "$DL"/*.whl)
echo "setup: installing runner, $EMULATOR_PKG==$EMULATOR_VER, PyYAML==$PYYAML_VER" >&2
"${PIP[@]}" install -q --ignore-requires-python -c "$HERE/constraints.txt" \
  "$WHEEL" "$EMULATOR_PKG==$EMULATOR_VER" "PyYAML==$PYYAML_VER" >&2
"$VENV/bin/durable-execution-conformance" --help >/dev/null
"$VENV/bin/dex-local-runner" --help >/dev/null
printf '%s' "$WANT" > "$STAMP"
echo "setup: done" >&2
echo "$VENV"
