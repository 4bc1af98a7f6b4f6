#!/usr/bin/env bash
# The benchmark (docs/benchmarks.md): load + index and request rates on SQLite and PostGIS, each beside
# a raw-SQL baseline. `make bench` runs it at the demo scale; arguments go to bench/run.py, e.g.
#   ./scripts/bench.sh --db both --scale city --duration 20
# Installs wrk (the load generator) from Debian's packages when missing and starts the local PostGIS
# test cluster (scripts/pg-test-cluster.sh) when PostGIS is benchmarked. Loopback only, bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

ARGS=("$@")
[ ${#ARGS[@]} -gt 0 ] || ARGS=(--db both --scale "${SCALE:-demo}" --duration 20)

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk from Debian packages (the load generator)..." >&2
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >&2; then
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >&2 ||
      echo "wrk unavailable: falling back to the Python load generator" >&2
  fi
fi

db=both
for ((i = 0; i < ${#ARGS[@]}; i++)); do
  case "${ARGS[$i]}" in
    --db) db="${ARGS[$((i + 1))]:-both}" ;;
    --db=*) db="${ARGS[$i]#--db=}" ;;
  esac
done
if [ "$db" != sqlite ] && [[ " ${ARGS[*]} " != *" --pg-url"* ]]; then
  PG_URL=$(./scripts/pg-test-cluster.sh | tail -1)
  ARGS+=(--pg-url "$PG_URL")
fi

exec "$VENV/bin/python" bench/run.py "${ARGS[@]}"
