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

die() { echo "bench.sh: $*" >&2; exit 1; }

store=${1:-}
case $store in
sqlite | postgres) ;;
*) die "usage: scripts/bench.sh sqlite|postgres" ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/roster-bench-$store}
accounts=${BENCH_ACCOUNTS:-10}
users=${BENCH_USERS:-100000}
requests=${BENCH_REQUESTS:-20000}
duration=${BENCH_DURATION:-10s}
port=${BENCH_PORT:-18080}
pg=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
url=http://127.0.0.1:$port

if [ "$store" = postgres ]; then
	pg_host=$(sed -E 's#^postgres(ql)?://([^@/]*@)?(\[[^]]*\]|[^:/?]*).*#\3#' <<<"$pg")
	case $pg_host in
	127.* | localhost | "[::1]") ;;
	*) die "BENCH_PG_URL must name a loopback PostgreSQL server, not $pg_host" ;;
	esac
	command -v psql >/dev/null || die "psql is needed to create the roster_bench database"
fi

mkdir -p "$dir/bin"
bin=$dir/bin
cd "$root"

echo "== build"
go build -o "$bin/roster" ./cmd/roster
go build -o "$bin/roster-load" ./cmd/roster-load

reuse=${BENCH_REUSE:-}
if [ -n "$reuse" ] && [ ! -s "$dir/seed.json" ]; then
	die "BENCH_REUSE is set but $dir/seed.json is missing; run once without it"
fi
if [ -n "$reuse" ]; then echo "== reusing the $store store in $dir"; else echo "== fresh $store store"; fi
case $store in
sqlite)
	[ -n "$reuse" ] || rm -rf "$dir/data"
	store_args=(--data-dir "$dir/data")
	;;
postgres)
	if [ -z "$reuse" ]; then
		timeout 60 psql "$pg/postgres" -v ON_ERROR_STOP=1 -q \
			-c 'DROP DATABASE IF EXISTS roster_bench WITH (FORCE)' -c 'CREATE DATABASE roster_bench'
		# The data directory only holds the generated server secret here.
		rm -rf "$dir/data"
	fi
	store_args=(--data-dir "$dir/data" --database-url "$pg/roster_bench?sslmode=disable")
	;;
esac

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
	die "something already listens on 127.0.0.1:$port; set BENCH_PORT to a free port"
fi

pid=
stop_server() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		# Give a graceful shutdown 10 s, then end it.
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	pid=
}
trap stop_server EXIT

if [ -z "$reuse" ]; then
	echo "== seed: $accounts accounts of $users users"
	seed_cmd=("$bin/roster" dev seed --accounts "$accounts" --users-per-account "$users" --seed 1 "${store_args[@]}")
	echo "\$ ${seed_cmd[*]} > $dir/seed.json"
	t0=$(date +%s%N)
	timeout 1800 "${seed_cmd[@]}" >"$dir/seed.json"
	seed_s=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	echo "seeded in $seed_s s"
	echo "seeding:  $accounts accounts x $users users in $seed_s s" >"$dir/seeding.txt"
fi

: >"$dir/server.log"
# start_server starts roster serve (in this shell, so that $pid is its child)
# and appends to startup.txt the time from exec to the first 200 from /readyz
# and the memory after one idle second.
start_server() {
	local t0
	t0=$(date +%s%N)
	"$bin/roster" serve --addr "127.0.0.1:$port" "${store_args[@]}" >>"$dir/server.log" 2>&1 &
	pid=$!
	printf 'start %s: ' "$1" >>"$dir/startup.txt"
	if ! "$bin/roster-load" --wait-ready --url "$url" --since-ns "$t0" --server-pid "$pid" --idle 1s >>"$dir/startup.txt"; then
		tail -n 20 "$dir/server.log" >&2
		die "the server did not become ready; its log is $dir/server.log"
	fi
	tail -n 1 "$dir/startup.txt"
}

echo "== start to ready (the schema is current after seeding)"
: >"$dir/startup.txt"
for i in 1 2 3; do
	start_server "$i"
	[ "$i" = 3 ] || stop_server
done

echo "== load (server pid $pid)"
load_cmd=("$bin/roster-load" --url "$url" --seed-json "$dir/seed.json" --server-pid "$pid"
	--requests "$requests" --duration "$duration" --json "$dir/results.json")
if [ "$store" = postgres ]; then
	# The backends' CPU time counts too, when the postmaster is local and readable.
	pgdata=$(psql "$pg/postgres" -tAc 'SHOW data_directory' 2>/dev/null || true)
	postmaster=$(head -n 1 "$pgdata/postmaster.pid" 2>/dev/null || true)
	if [ -n "$postmaster" ] && [ -r "/proc/$postmaster/stat" ]; then
		load_cmd+=(--pg-postmaster "$postmaster" --pg-database roster_bench)
	else
		echo "note: cannot find the PostgreSQL postmaster's process; the database's CPU time is not reported"
	fi
fi
# shellcheck disable=SC2206 # BENCH_LOAD_ARGS is a list of flags
load_cmd+=(${BENCH_LOAD_ARGS:-})
echo "\$ ${load_cmd[*]}"
# Other work on the machine skews the figures: record how busy it was.
loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
timeout 1200 "${load_cmd[@]}" | tee "$dir/results.txt"
loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)
peak=$(awk '/^VmHWM/ { printf "%.1f MB", $2 / 1024 }' "/proc/$pid/status")
stop_server

case $store in
sqlite) size=$(du -sh "$dir/data" | cut -f1) version="SQLite (modernc.org/sqlite), data dir $dir/data" ;;
postgres)
	size=$(psql "$pg/postgres" -tAc "SELECT pg_size_pretty(pg_database_size('roster_bench'))")
	version=$(psql "$pg/postgres" -tAc 'SHOW server_version')
	version="PostgreSQL $version, database roster_bench"
	;;
esac

cat <<EOF

== summary ($store)
machine:  $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem:/ { print $2 }') GB RAM, $(go version | cut -d' ' -f3)
store:    $version, $size after seeding and load$([ -z "$reuse" ] || echo " (reused)")
$(cat "$dir/seeding.txt" 2>/dev/null)
$(cat "$dir/startup.txt")
load average (1, 5, 15 min) before the load: $loadavg_before; after: $loadavg_after
server peak RSS over the run: $peak
results:  $dir/results.txt, $dir/results.json; server log $dir/server.log
EOF
