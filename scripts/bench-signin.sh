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
#   1. at concurrency 16 and 64, after one untimed sign-in per worker,
#      BENCH_ROUNDS rounds of: the hash limit of this machine (argon2id with
#      the server's parameters on GOMAXPROCS goroutines, the server idle)
#      for 2 s, then closed-loop sign-ins (GET /sign-in once per worker,
#      then POST /sign-in, 303 with a session cookie) for 3 s. The sums of
#      the rounds give the sign-ins' share of the hash limit and the
#      server's CPU per sign-in besides the hash; alternating short rounds
#      keeps both sides of each ratio on the same machine speed, which on a
#      shared VM drifts by a third within a minute. Each round's own
#      figures are listed too, to show that noise;
#   2. a flood of open-loop sign-ins at 10× the hash limit: 303s against fast
#      429s, and the server's memory against its idle memory.
#
# The whole script takes about two minutes.
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
#   BENCH_ROUNDS    rounds of hashing then sign-ins per concurrency (default 6)
#   BENCH_PORT      loopback port of the server (default 18081)
#   BENCH_PG_URL    PostgreSQL server URL without database
#                   (default postgres://postgres@127.0.0.1:5432)
#   BENCH_LOAD_ARGS extra roster-load flags, e.g. "--sign-in-concurrency 16
#                   --flood-factor 0", or "--hash-round 3s --sign-in-round 5s"
#                   (see roster-load -h)
#   BENCH_SERVER_ENV extra environment of `roster serve` only, e.g.
#                   "GOMEMLIMIT=48MiB GOGC=50", to try runtime settings
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/bench-common.sh
. "$(dirname "$0")/lib/bench-common.sh"

bench_init "${1:-}" "${TMPDIR:-/tmp}/roster-bench-signin-${1:-}" 18081 roster_bench_signin
accounts=${BENCH_ACCOUNTS:-64}
users=${BENCH_USERS:-10}
rounds=${BENCH_ROUNDS:-6}
# shellcheck disable=SC2206 # BENCH_SERVER_ENV is a list of NAME=value
server_env=(${BENCH_SERVER_ENV:-})

bench_build

echo "== fresh $store store"
bench_fresh_store

bench_check_port
trap bench_stop_server EXIT

echo "== seed: $accounts accounts of $users users and an Admin"
bench_seed 600

echo "== start"
: >"$dir/server.log"
[ ${#server_env[@]} = 0 ] || echo "server environment: ${server_env[*]}"
bench_start_server 2s
startup=$ready_line
echo "$startup"

echo "== sign-in benchmark (server pid $pid)"
load_cmd=("$bin/roster-load" --sign-in --url "$url" --seed-json "$dir/seed.json" --server-pid "$pid"
	--sign-in-concurrency 16,64 --rounds "$rounds" --hash-round 2s --sign-in-round 3s --timeout 10s
	--flood-factor 10 --flood-duration 10s --source-ips 1024 --json "$dir/results.json")
bench_run_load 600
bench_stop_server

case $store in
sqlite) version="SQLite (modernc.org/sqlite), data dir $dir/data" ;;
postgres) version="PostgreSQL $(bench_pg_version), database $db" ;;
esac

cat <<EOF

== summary ($store)
machine:  $(bench_machine)
store:    $version; $accounts accounts x $users users
server environment: ${BENCH_SERVER_ENV:-(none added)}
$startup
load average (1, 5, 15 min) before the benchmark: $loadavg_before; after: $loadavg_after
results:  $dir/results.txt, $dir/results.json; server log $dir/server.log
EOF
