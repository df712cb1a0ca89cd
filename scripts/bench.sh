#!/usr/bin/env bash
# Runs the load benchmark of Roster on one store, end to end:
#
#   scripts/bench.sh sqlite|postgres
#
# It builds roster and roster-load, creates a fresh store (a new SQLite data
# directory, or the PostgreSQL database roster_bench, dropped first), seeds
# 10 accounts of 100,000 users, starts `roster serve` on a loopback port
# (three times, measuring start to ready with the schema already current and
# the idle memory), runs every roster-load workload against the first
# account, prints the results and stops the server. Everything stays on
# 127.0.0.1, and every step is bounded in time.
#
# Environment (all optional):
#   BENCH_DIR       work directory (default: ${TMPDIR:-/tmp}/roster-bench-STORE);
#                   holds seed.json, server.log, results.txt and results.json
#   BENCH_ACCOUNTS  accounts to seed (default 10)
#   BENCH_USERS     users per account (default 100000)
#   BENCH_REQUESTS  at most this many requests per workload (default 20000)
#   BENCH_DURATION  at most this long per workload (default 10s)
#   BENCH_PORT      loopback port of the server (default 18080)
#   BENCH_PG_URL    PostgreSQL server URL without database
#                   (default postgres://postgres@127.0.0.1:5432)
#   BENCH_LOAD_ARGS extra roster-load flags, e.g. "--workloads get,list"
#   BENCH_REUSE=1   keep the store and seed.json of an earlier run in BENCH_DIR
#                   (skip creating and seeding; the invite workloads of the
#                   earlier runs have added their users)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/bench-common.sh
. "$(dirname "$0")/lib/bench-common.sh"

bench_init "${1:-}" "${TMPDIR:-/tmp}/roster-bench-${1:-}" 18080 roster_bench
accounts=${BENCH_ACCOUNTS:-10}
users=${BENCH_USERS:-100000}
requests=${BENCH_REQUESTS:-20000}
duration=${BENCH_DURATION:-10s}

bench_build

reuse=${BENCH_REUSE:-}
if [ -n "$reuse" ] && [ ! -s "$dir/seed.json" ]; then
	die "BENCH_REUSE is set but $dir/seed.json is missing; run once without it"
fi
if [ -n "$reuse" ]; then
	echo "== reusing the $store store in $dir"
else
	echo "== fresh $store store"
	bench_fresh_store
fi

bench_check_port
trap bench_stop_server EXIT

if [ -z "$reuse" ]; then
	echo "== seed: $accounts accounts of $users users"
	t0=$(date +%s%N)
	bench_seed 1800
	seed_s=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	echo "seeded in $seed_s s"
	echo "seeding:  $accounts accounts x $users users in $seed_s s" >"$dir/seeding.txt"
fi

: >"$dir/server.log"
echo "== start to ready (the schema is current after seeding)"
: >"$dir/startup.txt"
for i in 1 2 3; do
	bench_start_server 1s
	echo "start $i: $ready_line" | tee -a "$dir/startup.txt"
	[ "$i" = 3 ] || bench_stop_server
done

echo "== load (server pid $pid)"
load_cmd=("$bin/roster-load" --url "$url" --seed-json "$dir/seed.json" --server-pid "$pid"
	--requests "$requests" --duration "$duration" --json "$dir/results.json")
bench_run_load 1200
peak=$(awk '/^VmHWM/ { printf "%.1f MB", $2 / 1024 }' "/proc/$pid/status")
bench_stop_server

case $store in
sqlite) size=$(du -sh "$dir/data" | cut -f1) version="SQLite (modernc.org/sqlite), data dir $dir/data" ;;
postgres)
	size=$(psql "$pg/postgres" -tAc "SELECT pg_size_pretty(pg_database_size('$db'))")
	version="PostgreSQL $(bench_pg_version), database $db"
	;;
esac

cat <<EOF

== summary ($store)
machine:  $(bench_machine)
store:    $version, $size after seeding and load$([ -z "$reuse" ] || echo " (reused)")
$(cat "$dir/seeding.txt" 2>/dev/null)
$(cat "$dir/startup.txt")
load average (1, 5, 15 min) before the load: $loadavg_before; after: $loadavg_after
server peak RSS over the run: $peak
results:  $dir/results.txt, $dir/results.json; server log $dir/server.log
EOF
