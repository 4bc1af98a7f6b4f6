#!/usr/bin/env bash
# A/B of the address parser: bench/bench_address_parse.py on an earlier commit and on the working tree,
# alternating, in the same run (same machine state), so the ratio holds even when the machine is busy.
#
#   bench/parser_ab.sh [REF] [ROUNDS]     # REF: the baseline commit (default b4c3319, before numba)
#
# The baseline runs from a temporary git worktree with this checkout's venv (python-crfsuite/numba are
# already there); each side prints its parse and parse_many rates per CPU second, and cpca's.
set -euo pipefail
cd "$(dirname "$0")/.."
REF="${1:-b4c3319}"
ROUNDS="${2:-3}"
CORPUS="${CITYBASE_CORPUS:-$(cd .. && pwd)/shared/data/address}"
PY="$(pwd)/.venv/bin/python"
BASE="$(mktemp -d)/baseline"
git worktree add -q --detach "$BASE" "$REF"
trap 'git worktree remove --force "$BASE"' EXIT
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
for i in $(seq "$ROUNDS"); do
  for side in baseline current; do
    dir=$([ "$side" = baseline ] && echo "$BASE" || pwd)
    (cd "$dir" && "$PY" bench/bench_address_parse.py --rounds 2 --corpus "$CORPUS") \
      | awk -v side="$side" -v round="$i" -F'|' '/^\| (citybase|cpca)/ {gsub(/ +$/, "", $2); print side, round, $2 ":", $3}'
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
