#!/usr/bin/env bash
# Runs the API key check benchmark of Roster (issue 6) on one store, end to
# end:
#
#   scripts/bench-verify.sh sqlite|postgres
#
# It builds roster and roster-load, creates a fresh store (a new SQLite data
# directory, or the PostgreSQL database roster_bench_verify, dropped first),
# seeds 10 accounts of 1,000 users (each Admin with an API key), starts
# `roster serve` on a loopback port with a gateway token, and beside it
# `roster-load --constant-server`, a trivial Go handler answering a
# constant verdict: the practical ceiling of this machine for a small JSON
# POST. Then `roster-load --verify` drives both with the same closed loop of
# 64 keep-alive connections, in alternating rounds (ceiling then check,
# check then ceiling, ...), each check
#
#   POST /api/v1/keys/verify {"key": <the first Admin's key>,
#                             "permission": "logs.view", "client_ip": "192.0.2.7"}
#
# and prints, per target, requests per second and p50/p90/p99 latency, the
# CPU per request of the server and of the ceiling's process ("other cores"
# is the rest of the machine: more than a little means other work skewed
# the run), and the check's throughput as a share of the ceiling's. Everything stays on 127.0.0.1, and every step is bounded in
# time; the whole script takes about a minute.
#
# Environment (all optional):
#   BENCH_DIR         work directory (default: ${TMPDIR:-/tmp}/roster-bench-verify-STORE)
#   BENCH_ROUNDS      rounds of each target (default 4)
#   BENCH_ROUND       length of one round (default 5s)
#   BENCH_PORT        loopback port of the server (default 18082); the ceiling
#                     listens on the next one
#   BENCH_PG_URL      PostgreSQL server URL without database
#                     (default postgres://postgres@127.0.0.1:5432)
#   BENCH_LOAD_ARGS   extra roster-load flags, e.g. "--concurrency 16"
#   BENCH_PIN         1: the server and the ceiling on CPU 0, the load
#                     generator on CPU 1 (taskset), so that the generator's
#                     work does not queue in front of the servers' requests
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/bench-common.sh
. "$(dirname "$0")/lib/bench-common.sh"

bench_init "${1:-}" "${TMPDIR:-/tmp}/roster-bench-verify-${1:-}" 18082 roster_bench_verify
accounts=10
users=1000
rounds=${BENCH_ROUNDS:-4}
round=${BENCH_ROUND:-5s}
ceiling_port=$((port + 1))
token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
server_env=(ROSTER_GATEWAY_TOKEN="$token")

bench_build

echo "== fresh $store store"
bench_fresh_store

bench_check_port
if (exec 3<>"/dev/tcp/127.0.0.1/$ceiling_port") 2>/dev/null; then
	die "something already listens on 127.0.0.1:$ceiling_port; set BENCH_PORT to a free port"
fi
ceiling_pid=
stop_all() {
	bench_stop_server
	if [ -n "$ceiling_pid" ]; then
		kill -TERM "$ceiling_pid" 2>/dev/null || true
		wait "$ceiling_pid" 2>/dev/null || true
	fi
}
trap stop_all EXIT

echo "== seed: $accounts accounts of $users users"
bench_seed 600

echo "== start the server (with a gateway token) and the ceiling"
: >"$dir/server.log"
bench_start_server 1s
echo "$ready_line"
"$bin/roster-load" --constant-server "127.0.0.1:$ceiling_port" >"$dir/ceiling.log" 2>&1 &
ceiling_pid=$!
for _ in $(seq 50); do
	grep -q listening "$dir/ceiling.log" && break
	sleep 0.1
done
grep -q listening "$dir/ceiling.log" || die "the ceiling did not start: $(cat "$dir/ceiling.log")"

pin=()
if [ "${BENCH_PIN:-}" = 1 ]; then
	command -v taskset >/dev/null || die "BENCH_PIN=1 needs taskset (util-linux)"
	taskset -a -p -c 0 "$pid" >/dev/null
	taskset -a -p -c 0 "$ceiling_pid" >/dev/null
	pin=(taskset -c 1)
	echo "pinned: the server and the ceiling on CPU 0, the load generator on CPU 1"
fi

echo "== key check benchmark (server pid $pid, ceiling pid $ceiling_pid)"
load_cmd=("${pin[@]}" "$bin/roster-load" --verify --url "$url" --seed-json "$dir/seed.json" --server-pid "$pid"
	--gateway-token "$token" --ceiling-url "http://127.0.0.1:$ceiling_port" --ceiling-pid "$ceiling_pid" --concurrency 64
	--verify-rounds "$rounds" --verify-round "$round" --json "$dir/results.json")
bench_run_load 600
stop_all
trap - EXIT

case $store in
sqlite) version="SQLite (modernc.org/sqlite), data dir $dir/data" ;;
postgres) version="PostgreSQL $(bench_pg_version), database $db" ;;
esac

cat <<SUMMARY

== summary ($store)
machine:  $(bench_machine)
store:    $version; $accounts accounts x $users users
load average (1, 5, 15 min) before the benchmark: $loadavg_before; after: $loadavg_after
results:  $dir/results.txt, $dir/results.json; server log $dir/server.log
SUMMARY
