#!/usr/bin/env bash
# Installs Debian's `chromium` for the HTML timeline's browser test
# (crates/durable-local-server/tests/viewer.rs) when it is missing and the machine allows:
#
#   scripts/browser.sh
#
# Needs root and Debian's package archive; otherwise it says clearly that it could not, and
# the viewer test then checks the page's data without rendering it (and says so). Exits 0
# either way: a missing browser is reported, not a setup failure.
set -uo pipefail

if command -v chromium > /dev/null || command -v chromium-browser > /dev/null \
  || { [[ -n ${CHROMIUM:-} ]] && [[ -x $CHROMIUM ]]; }; then
  echo "browser: $(command -v chromium || command -v chromium-browser || echo "$CHROMIUM") present"
  exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get > /dev/null; then
  echo "browser: NOT INSTALLED: chromium is missing and this machine cannot install it here" \
    "(needs root and apt-get); the HTML timeline's browser test will skip its rendering part"
  exit 0
fi
echo "browser: installing Debian's chromium (apt-get)"
if DEBIAN_FRONTEND=noninteractive apt-get update -qq > /dev/null \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium > /dev/null; then
  echo "browser: $(command -v chromium) installed"
else
  echo "browser: NOT INSTALLED: apt-get could not install chromium; the HTML timeline's" \
    "browser test will skip its rendering part"
fi
exit 0
