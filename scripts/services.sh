#!/usr/bin/env bash
# Makes sure the local services the tests need are up, starting them when stopped.
# Only the local PostgreSQL is managed; a CHUTE_TEST_POSTGRES_URL elsewhere is left alone.
set -euo pipefail

url="${CHUTE_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
case "$url" in
  *@127.0.0.1*|*@localhost*|*://127.0.0.1*|*://localhost*) ;;
  *) exit 0 ;;
esac

if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  exit 0
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "services: PostgreSQL is not running and pg_ctlcluster is not installed" >&2
  exit 0  # the tests then skip, or fail under CHUTE_REQUIRE_SERVICES=1
fi
echo "services: starting PostgreSQL" >&2
for version in $(ls /etc/postgresql); do
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
done
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -p 5432 -q && exit 0
  sleep 1
done
echo "services: PostgreSQL did not come up in 30 s" >&2
