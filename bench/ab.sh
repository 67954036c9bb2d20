#!/usr/bin/env bash
# Interleaved A/B of `npm run bench -- --quick` between two built checkouts (e.g. git worktrees).
#
#   bench/ab.sh BEFORE_DIR AFTER_DIR ROUNDS OUT_DIR [bench args...]
#
# FIRST_ROUND=N numbers the rounds from N (to add rounds to an OUT_DIR that has some).
#
# Round i runs both sides, before first in odd rounds and after first in even ones (ABBA), so
# that neither side always gets the warmer or the quieter slot. Each invocation writes
# OUT_DIR/<side>-<round>.json (the bench's own results file) and its log.
#
# AFTER_ENV / BEFORE_ENV (e.g. AFTER_ENV="MOVIES_ONLY=movies") are passed to that side's bench,
# which passes its environment on to every `bin/movies` it runs.
#
# The catalogues in BENCH_DBS (default movies_bench_10k, the --quick one; add movies_bench_100k
# with --small 100000) are dropped before every invocation: the two sides migrate different
# schemas, and the bench would otherwise reuse the other side's catalogue (it checks only size
# and seed).
set -euo pipefail
before=$1 after=$2 rounds=$3 out=$4
shift 4
extra=("$@")
mkdir -p "$out"
: "${DATABASE_URL:?source .services/env first}"

dbs=${BENCH_DBS:-movies_bench_10k}
drop() {
  local db
  for db in $dbs; do psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
}

one() {
  local side=$1 dir=$2 round=$3 envs=$4
  drop
  local name="ab-$side-$round"
  echo "$(date -u +%FT%TZ) round $round $side ($dir) load $(cut -d' ' -f1 /proc/loadavg) env [$envs]" | tee -a "$out/ab.log"
  (cd "$dir" && env $envs npm run --silent bench -- --quick --name "$name" "${extra[@]}") >"$out/$side-$round.log" 2>&1
  mv "$dir/bench/results/$name.json" "$out/$side-$round.json"
  echo "$(date -u +%FT%TZ) round $round $side done load $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$out/ab.log"
}

first=${FIRST_ROUND:-1}
for ((i = first; i < first + rounds; i++)); do
  if ((i % 2)); then
    one before "$before" "$i" "${BEFORE_ENV:-}"
    one after "$after" "$i" "${AFTER_ENV:-}"
  else
    one after "$after" "$i" "${AFTER_ENV:-}"
    one before "$before" "$i" "${BEFORE_ENV:-}"
  fi
done
drop
