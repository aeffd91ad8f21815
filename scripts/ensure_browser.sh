#!/usr/bin/env bash
# Make sure the system Chromium the browser tests drive (tests/publish/browser.py uses
# /usr/bin/chromium through Playwright, no browser download) is installed, so that
# `make test` passes on a fresh Debian/Ubuntu machine with only Python on it.
# Skips at once when the browser is already there; installs Debian's `chromium` package
# with apt-get otherwise (through sudo when not root). `CIBLAGE_SKIP_BROWSER=1` skips the
# install entirely (the browser tests then fail, saying the browser is missing).
set -euo pipefail

CHROMIUM="${CIBLAGE_CHROMIUM:-/usr/bin/chromium}"  # overridable for its own test

if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "${CIBLAGE_SKIP_BROWSER:-0}" = "1" ]; then
  echo "ensure_browser: $CHROMIUM missing, install skipped (CIBLAGE_SKIP_BROWSER=1)" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_browser: $CHROMIUM missing and no apt-get here: install Chromium at $CHROMIUM" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "ensure_browser: $CHROMIUM missing; run 'apt-get install chromium' as root" >&2
    exit 1
  fi
  SUDO="sudo"
fi
echo "ensure_browser: installing Debian's chromium for the browser tests (apt-get)" >&2
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
test -x "$CHROMIUM" || { echo "ensure_browser: chromium installed but $CHROMIUM absent" >&2; exit 1; }
