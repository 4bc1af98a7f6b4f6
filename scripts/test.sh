#!/usr/bin/env bash
# Every check, locally and in CI, at full strictness: ruff, mypy, import layers, and the whole test
# suite on SQLite and on PostgreSQL + PostGIS, with the portal tests in a real headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if [ ! -x /usr/bin/chromium ]; then
  echo "installing Chromium from Debian packages (for the portal tests)..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi

PG_URL=$(./scripts/pg-test-cluster.sh | tail -1)
export CITYBASE_TEST_POSTGRES_URL="$PG_URL"
echo "PostGIS test server: $CITYBASE_TEST_POSTGRES_URL"

"$VENV/bin/ruff" check src tests bench
"$VENV/bin/mypy"
set +e
"$VENV/bin/pytest" "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$status"
