#!/usr/bin/env bash
# Runs every suite that has a template in <template-dir> (template_<suite>.yaml).
#
#   run_all.sh <template-dir> <language> <handler-cmd-json> [runner args...]
#
# Prints one tally line per suite and a final "N passed, M failed" line (requirements).
# Exits non-zero if any suite had a failure or could not run.
#   OUT     root for per-suite outputs (default ./conformance-out); each suite uses OUT/<suite>
#   SUITES  space-separated subset/order (default: every suite the installed runner ships)
#   plus everything run_suite.sh reads (CONF_VENV, EMULATOR_PORT, SHIM_PORT, NORMALIZE, HANDLER_MODE)
set -uo pipefail

[[ $# -ge 3 ]] || { echo "usage: run_all.sh <template-dir> <language> <handler-cmd-json> [runner args...]" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -d $1 ]] || { echo "run_all: not a directory: $1" >&2; exit 2; }
TDIR=$(cd "$1" && pwd)
LANGUAGE=$2 CMD=$3
shift 3
VENV=${CONF_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/durable-lambda-rs/conformance-venv}
PY=$VENV/bin/python
[[ -x $PY ]] || { echo "run_all: no venv at $VENV; run $HERE/setup.sh first" >&2; exit 2; }
OUT_ROOT=${OUT:-$PWD/conformance-out}
mkdir -p "$OUT_ROOT" && OUT_ROOT=$(cd "$OUT_ROOT" && pwd)

if [[ -z ${SUITES:-} ]]; then
  # Suites shipped with the installed runner, in dependency-friendly order, then any others.
  SUITES=$("$PY" - <<'PY'
from importlib.resources import files
root = files("aws_durable_execution_conformance_tests").joinpath("test_requirements")
have = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_"))
order = ["step", "wait", "child", "callback", "wait_for_callback", "wait_for_condition",
         "parallel", "map", "invoke", "plugin"]
print(" ".join([s for s in order if s in have] + [s for s in have if s not in order]))
PY
)
fi

total_pass=0 total_fail=0 bad=0 ran=0
t_all=$(date +%s)
for s in $SUITES; do
  tpl=$TDIR/template_$s.yaml
  [[ -f $tpl ]] || continue
  ran=$((ran + 1))
  t0=$(date +%s)
  mkdir -p "$OUT_ROOT/$s"
  OUT=$OUT_ROOT/$s "$HERE/run_suite.sh" "$tpl" "$s" "$LANGUAGE" "$CMD" "$@" > "$OUT_ROOT/$s/run.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - t0 ))
  if [[ -f $OUT_ROOT/$s/report.json ]]; then
    read -r p f line < <("$PY" - "$OUT_ROOT/$s/report.json" "$s" "$secs" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
extra = [f"{s[k]} {k}" for k in ("optional_failed", "not_implemented", "uncovered") if s[k]]
failed_ids = [r["id"] for r in json.load(open(sys.argv[1]))["results"] if r["status"] == "FAILED"]
tail = f" [{', '.join(extra)}]" if extra else ""
ids = f" failed: {' '.join(failed_ids)}" if failed_ids else ""
print(s["passed"], s["failed"], f"{sys.argv[2]:<20} {s['passed']:>3}/{s['total']:<3} passed, {s['failed']} failed{tail} ({sys.argv[3]}s){ids}")
PY
)
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    [[ $f -gt 0 || $rc -ne 0 ]] && bad=1
    echo "$line"
  else
    bad=1
    printf '%-20s ERROR: no report (exit %s, %ss); see %s\n' "$s" "$rc" "$secs" "$OUT_ROOT/$s/run.log"
  fi
done
[[ $ran -eq 0 ]] && { echo "run_all: no template_<suite>.yaml for any of: $SUITES" >&2; exit 2; }
echo "wall time $(( $(date +%s) - t_all ))s; outputs under $OUT_ROOT"
echo "$total_pass passed, $total_fail failed"
exit $bad
