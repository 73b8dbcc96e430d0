#!/bin/sh
# Bring the one system package the test suite needs beyond pip: Debian's chromium, in which the
# report tests open the HTML reports (a real headless browser, not a mock).
#
# - chromium already on the machine (or MDRSIM_CHROMIUM names a binary): nothing to do.
# - running as root with apt-get (a fresh Debian machine, CI): `apt-get install chromium`.
# - otherwise: say what is missing and go on; the browser tests then fail (never skip) with a
#   message naming the missing binary, and every other test still runs.
set -eu
if [ -n "${MDRSIM_CHROMIUM:-}" ] && [ -x "${MDRSIM_CHROMIUM}" ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing Debian's chromium for the report tests (apt-get)" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null
  command -v chromium >/dev/null 2>&1 && exit 0
  echo "ensure-chromium: apt-get ran but no chromium is on PATH" >&2
  exit 1
fi
echo "ensure-chromium: chromium is not installed and cannot be installed here (needs root and" >&2
echo "  apt-get). The report tests in tests/report will FAIL with 'Chromium not found'. Install it" >&2
echo "  with 'sudo apt-get install chromium', or set MDRSIM_CHROMIUM=/path/to/chromium." >&2
exit 0
