#!/usr/bin/env bash
# Runs the sign-in benchmark of Roster (issue 3) on one store, end to end:
#
#   scripts/bench-signin.sh sqlite|postgres
#
# It builds roster and roster-load, creates a fresh store (a new SQLite data
# directory, or the PostgreSQL database roster_bench_signin, dropped first),
# seeds 64 accounts of 10 users (each with an active Admin
# admin@acct<k>.example who can sign in), starts `roster serve` on a
# loopback port and runs `roster-load --sign-in` against it, which measures
# in one run:
#
#   1. the hash limit of this machine: argon2id with the server's parameters
#      on GOMAXPROCS goroutines, with the server idle;
#   2. closed-loop sign-ins (GET /sign-in once per worker, then POST
#      /sign-in, 303 with a session cookie) at concurrency 16 and 64, as a
#      share of that limit, and the server's CPU per sign-in besides the hash;
#   3. a flood of open-loop sign-ins at 10× the hash limit: 303s against fast
#      429s, and the server's memory against its idle memory.
#
# The sign-ins come from 1,024 loopback source addresses (127.1.x.y), as
# from that many client IPs, so that the server's per-IP throttle (30
# attempts at once) limits no one: each closed-loop worker is one person on
# one address, and the flood goes round all of them. Everything stays on
# the loopback interface, and every step is bounded in time.
#
# Environment (all optional):
#   BENCH_DIR       work directory (default: ${TMPDIR:-/tmp}/roster-bench-signin-STORE);
#                   holds seed.json, server.log, results.txt and results.json
#   BENCH_ACCOUNTS  accounts to seed, one Admin each (default 64)
#   BENCH_USERS     further users per account (default 10)
#   BENCH_REQUESTS  at most this many sign-ins per closed-loop run (default 20000)
#   BENCH_DURATION  at most this long per closed-loop run (default 10s)
#   BENCH_PORT      loopback port of the server (default 18081)
#   BENCH_PG_URL    PostgreSQL server URL without database
#                   (default postgres://postgres@127.0.0.1:5432)
#   BENCH_LOAD_ARGS extra roster-load flags, e.g. "--sign-in-concurrency 16
#                   --flood-factor 0" (see roster-load -h)
#   BENCH_SERVER_ENV extra environment of `roster serve` only, e.g.
#                   "GOMEMLIMIT=48MiB GOGC=50", to try runtime settings
set -euo pipefail

die() { echo "bench-signin.sh: $*" >&2; exit 1; }

store=${1:-}
case $store in
sqlite | postgres) ;;
*) die "usage: scripts/bench-signin.sh sqlite|postgres" ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/roster-bench-signin-$store}
accounts=${BENCH_ACCOUNTS:-64}
users=${BENCH_USERS:-10}
requests=${BENCH_REQUESTS:-20000}
duration=${BENCH_DURATION:-10s}
port=${BENCH_PORT:-18081}
pg=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
db=roster_bench_signin
url=http://127.0.0.1:$port

if [ "$store" = postgres ]; then
	pg_host=$(sed -E 's#^postgres(ql)?://([^@/]*@)?(\[[^]]*\]|[^:/?]*).*#\3#' <<<"$pg")
	case $pg_host in
	127.* | localhost | "[::1]") ;;
	*) die "BENCH_PG_URL must name a loopback PostgreSQL server, not $pg_host" ;;
	esac
	command -v psql >/dev/null || die "psql is needed to create the $db database"
fi

mkdir -p "$dir/bin"
bin=$dir/bin
cd "$root"

echo "== build"
go build -o "$bin/roster" ./cmd/roster
go build -o "$bin/roster-load" ./cmd/roster-load

echo "== fresh $store store"
rm -rf "$dir/data"
case $store in
sqlite) store_args=(--data-dir "$dir/data") ;;
postgres)
	timeout 60 psql "$pg/postgres" -v ON_ERROR_STOP=1 -q \
		-c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
	# The data directory only holds the generated server secret here.
	store_args=(--data-dir "$dir/data" --database-url "$pg/$db?sslmode=disable")
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

echo "== seed: $accounts accounts of $users users and an Admin"
seed_cmd=("$bin/roster" dev seed --accounts "$accounts" --users-per-account "$users" --seed 1 "${store_args[@]}")
echo "\$ ${seed_cmd[*]} > $dir/seed.json"
timeout 600 "${seed_cmd[@]}" >"$dir/seed.json"

echo "== start"
: >"$dir/server.log"
# shellcheck disable=SC2206 # BENCH_SERVER_ENV is a list of NAME=value
server_env=(${BENCH_SERVER_ENV:-})
[ ${#server_env[@]} = 0 ] || echo "server environment: ${server_env[*]}"
t0=$(date +%s%N)
env "${server_env[@]}" "$bin/roster" serve --addr "127.0.0.1:$port" "${store_args[@]}" >>"$dir/server.log" 2>&1 &
pid=$!
if ! startup=$("$bin/roster-load" --wait-ready --url "$url" --since-ns "$t0" --server-pid "$pid" --idle 2s); then
	tail -n 20 "$dir/server.log" >&2
	die "the server did not become ready; its log is $dir/server.log"
fi
echo "$startup"

echo "== sign-in benchmark (server pid $pid)"
load_cmd=("$bin/roster-load" --sign-in --url "$url" --seed-json "$dir/seed.json" --server-pid "$pid"
	--sign-in-concurrency 16,64 --requests "$requests" --duration "$duration" --timeout 10s
	--hash-duration 5s --flood-factor 10 --flood-duration 10s --source-ips 1024 --json "$dir/results.json")
if [ "$store" = postgres ]; then
	# The backends' CPU time counts too, when the postmaster is local and readable.
	pgdata=$(psql "$pg/postgres" -tAc 'SHOW data_directory' 2>/dev/null || true)
	postmaster=$(head -n 1 "$pgdata/postmaster.pid" 2>/dev/null || true)
	if [ -n "$postmaster" ] && [ -r "/proc/$postmaster/stat" ]; then
		load_cmd+=(--pg-postmaster "$postmaster" --pg-database "$db")
	else
		echo "note: cannot find the PostgreSQL postmaster's process; the database's CPU time is not reported"
	fi
fi
# shellcheck disable=SC2206 # BENCH_LOAD_ARGS is a list of flags
load_cmd+=(${BENCH_LOAD_ARGS:-})
echo "\$ ${load_cmd[*]}"
# Other work on the machine skews the figures: record how busy it was.
loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
timeout 600 "${load_cmd[@]}" | tee "$dir/results.txt"
loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)
stop_server

case $store in
sqlite) version="SQLite (modernc.org/sqlite), data dir $dir/data" ;;
postgres) version="PostgreSQL $(psql "$pg/postgres" -tAc 'SHOW server_version'), database $db" ;;
esac

cat <<EOF

== summary ($store)
machine:  $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem:/ { print $2 }') GB RAM, $(go version | cut -d' ' -f3)
store:    $version; $accounts accounts x $users users
server environment: ${BENCH_SERVER_ENV:-(none added)}
$startup
load average (1, 5, 15 min) before the benchmark: $loadavg_before; after: $loadavg_after
results:  $dir/results.txt, $dir/results.json; server log $dir/server.log
EOF
