#!/usr/bin/env bash
# Start (and on first use install and create) a throwaway PostgreSQL + PostGIS cluster for the tests.
# PostgreSQL refuses to run as root, so the cluster runs as the `postgres` user; tests connect over
# TCP on 127.0.0.1:${CITYBASE_PG_PORT:-54329} with trust auth (local only, never for production).
# Prints the database URL on its last line.
set -euo pipefail
PORT="${CITYBASE_PG_PORT:-54329}"
NAME=citybase_test
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  echo "installing PostgreSQL + PostGIS from Debian packages..." >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql postgresql-contrib postgis >&2
fi
VERSION=$(ls /usr/share/postgresql/*/extension/postgis.control | sed -E 's#.*/postgresql/([0-9]+)/.*#\1#' | sort -n | tail -1)

if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$VERSION $NAME"; then
  $SUDO pg_createcluster "$VERSION" "$NAME" -p "$PORT" -- --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2
  # Small, fast, throwaway: durability is not needed for tests.
  cat > "/etc/postgresql/$VERSION/$NAME/conf.d/citybase-test.conf" <<CONF
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 256MB
CONF
fi
if ! pg_lsclusters -h | awk -v v="$VERSION" -v n="$NAME" '$1==v && $2==n {print $4}' | grep -q online; then
  $SUDO pg_ctlcluster "$VERSION" "$NAME" start >&2
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p "$PORT" && break
  sleep 1
done
psql_() { $SUDO -u postgres psql -q -h 127.0.0.1 -p "$PORT" -v ON_ERROR_STOP=1 "$@" >&2; }
[ -n "$SUDO" ] || psql_() { su postgres -c "psql -q -h 127.0.0.1 -p $PORT -v ON_ERROR_STOP=1 $(printf '%q ' "$@")" >&2; }
if ! psql_ -tAc "SELECT 1 FROM pg_roles WHERE rolname='citybase'" 2>/dev/null | grep -q 1; then
  psql_ -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='citybase') THEN CREATE ROLE citybase LOGIN SUPERUSER; END IF; END \$\$"
fi
echo "postgresql://citybase@127.0.0.1:${PORT}/postgres"
