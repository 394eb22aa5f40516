# Sourced by scripts/test: exports TEST_DATABASE_URL when PostgreSQL can be had, starting a local
# cluster that is installed but down. Without one: loud warning, or failure under CI=true.
pg_url="${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}"
pg_ready() { .venv/bin/python - "$pg_url" <<'PY'
import asyncio, sys
import asyncpg
async def main(url):
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
    await conn.close()
try:
    asyncio.run(main(sys.argv[1]))
except Exception as exc:
    print(f"PostgreSQL not reachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
}
if ! pg_ready 2>/dev/null && [ -z "${TEST_DATABASE_URL:-}" ] && command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "starting the local PostgreSQL cluster…"
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  done
  for _ in $(seq 1 20); do pg_ready 2>/dev/null && break; sleep 0.5; done
fi
if pg_ready; then
  export TEST_DATABASE_URL="$pg_url"
  echo "tests run on SQLite and on PostgreSQL ($pg_url)"
elif [ "${CI:-}" = "true" ]; then
  echo "ERROR: PostgreSQL is required in CI and is not reachable at $pg_url" >&2
  exit 1
else
  echo "" >&2
  echo "##########################################################################" >&2
  echo "## WARNING: no PostgreSQL at $pg_url" >&2
  echo "## The suite runs on SQLite ONLY. Set TEST_DATABASE_URL to test PostgreSQL." >&2
  echo "##########################################################################" >&2
  echo "" >&2
  export TEST_DATABASE_URL=""
fi
