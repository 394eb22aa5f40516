#!/usr/bin/env bash
# Install activityrelay (the LitePub/Mastodon relay the relay tests run as a real process) into a virtual
# environment of its own, tests/relay/.venv (gitignored): it pins its own dependencies, which must not meet
# the project's. Idempotent: re-running skips an install that is already in place.
#
#   scripts/install-relay.sh           install (or verify)
#   scripts/install-relay.sh --check   only report; exit 0 if installed, 1 if not
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/tests/relay/.venv"
VERSION="0.3.5"
BIN="$VENV/bin/activityrelay"
python=${PYTHON:-python3}

log() { echo "install-relay: $*" >&2; }

installed() {
  [[ -x "$BIN" ]] && [[ "$("$VENV/bin/python" -c 'import relay; print(relay.__version__)' 2>/dev/null)" == "$VERSION" ]]
}

if [[ "${1:-}" == "--check" ]]; then
  if installed; then echo "$BIN"; exit 0; fi
  log "not installed (run scripts/install-relay.sh)"
  exit 1
fi

if installed; then
  log "activityrelay $VERSION already installed at $BIN"
else
  log "installing activityrelay $VERSION into $VENV"
  rm -rf "$VENV"
  "$python" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "activityrelay==$VERSION"
  if ! installed; then
    log "install failed: activityrelay $VERSION not importable from $VENV"
    exit 1
  fi
fi
# activityrelay writes relay.yaml and relay.sqlite3 into the folder it runs in, even for --version
(cd "$VENV" && "$BIN" --version >/dev/null)
log "ok: $BIN (activityrelay $VERSION)"
echo "$BIN"
