#!/usr/bin/env bash
# Validate docker-compose.yml without a Docker engine.
#  1. against the official Compose Specification JSON schema, which the PyPI
#     package check-jsonschema vendors (no download needed);
#  2. the project's own invariants (tests/deploy/test_compose.py);
#  3. if the Compose v2 plugin is installed, `docker compose config -q`
#     (parses and interpolates the file; needs no engine).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

"$PYTHON" -m check_jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
"$PYTHON" -m pytest -q tests/deploy

if docker compose version >/dev/null 2>&1; then
    ROSE_ASH_ADMIN_TOKEN="${ROSE_ASH_ADMIN_TOKEN:-check-only}" ROSE_ASH_OIDC_BLOG_SECRET="${ROSE_ASH_OIDC_BLOG_SECRET:-check-only}" \
        ROSE_ASH_OIDC_EVENTS_SECRET="${ROSE_ASH_OIDC_EVENTS_SECRET:-check-only}" \
        ROSE_ASH_OIDC_SHOP_SECRET="${ROSE_ASH_OIDC_SHOP_SECRET:-check-only}" docker compose config -q
    echo "docker compose config: ok"
else
    echo "docker compose (v2 plugin) not installed: skipped 'docker compose config'"
fi
