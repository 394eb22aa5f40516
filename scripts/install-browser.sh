#!/usr/bin/env bash
# Debian's Chromium for the browser test (Playwright drives it; its own browser download is not used).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if command -v apt-get >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "installing Debian's chromium for the browser test…"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
else
  echo "WARNING: no /usr/bin/chromium and no apt-get: the browser test will be skipped" >&2
fi
