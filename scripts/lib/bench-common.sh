# shellcheck shell=bash
# The steps scripts/bench.sh and scripts/bench-signin.sh share: checking the
# arguments and the loopback PostgreSQL URL, building roster and
# roster-load, creating a fresh store, seeding, starting and stopping
# `roster serve` on a loopback port and waiting until it is ready, running
# roster-load bounded in time, and describing the machine.
#
# Sourced, not run. The calling script keeps `set -euo pipefail` and calls
# bench_init first; the functions then use these variables:
#
#   store       sqlite or postgres (the script's argument)
#   root        the repository
#   dir         the work directory (BENCH_DIR, or the script's default)
#   bin         $dir/bin, where roster and roster-load are built
#   port, url   the server's loopback port (BENCH_PORT) and base URL
#   pg          the PostgreSQL server URL without database (BENCH_PG_URL)
#   db          the PostgreSQL database of the benchmark
#   store_args  the store flags of `roster dev seed` and `roster serve`
#   server_env  NAME=value words `roster serve` alone runs with (empty)
#   pid         the running server's process id, or empty
#   load_cmd    the roster-load command bench_run_load runs

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# bench_init STORE DEFAULT_DIR DEFAULT_PORT DATABASE checks the store
# argument and the PostgreSQL URL, and sets the variables above.
bench_init() {
	store=$1
	case $store in
	sqlite | postgres) ;;
	*) die "usage: scripts/$(basename "$0") sqlite|postgres" ;;
	esac
	root=$(cd "$(dirname "$0")/.." && pwd)
	dir=${BENCH_DIR:-$2}
	bin=$dir/bin
	port=${BENCH_PORT:-$3}
	url=http://127.0.0.1:$port
	pg=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
	db=$4
	server_env=()
	pid=
	load_cmd=()

	if [ "$store" = postgres ]; then
		local pg_host
		pg_host=$(sed -E 's#^postgres(ql)?://([^@/]*@)?(\[[^]]*\]|[^:/?]*).*#\3#' <<<"$pg")
		case $pg_host in
		127.* | localhost | "[::1]") ;;
		*) die "BENCH_PG_URL must name a loopback PostgreSQL server, not $pg_host" ;;
		esac
		command -v psql >/dev/null || die "psql is needed to create the $db database"
	fi
	store_args=(--data-dir "$dir/data")
	# With PostgreSQL the data directory only holds the generated server secret.
	[ "$store" = sqlite ] || store_args+=(--database-url "$pg/$db?sslmode=disable")
}

# bench_build builds roster and roster-load into $bin, from $root (which it
# makes the working directory).
bench_build() {
	mkdir -p "$bin"
	cd "$root"
	echo "== build"
	go build -o "$bin/roster" ./cmd/roster
	go build -o "$bin/roster-load" ./cmd/roster-load
}

# bench_fresh_store removes the data directory and, on PostgreSQL, drops
# and creates the database $db.
bench_fresh_store() {
	rm -rf "$dir/data"
	if [ "$store" = postgres ]; then
		timeout 60 psql "$pg/postgres" -v ON_ERROR_STOP=1 -q \
			-c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
	fi
}

# bench_check_port refuses a port something already listens on.
bench_check_port() {
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		die "something already listens on 127.0.0.1:$port; set BENCH_PORT to a free port"
	fi
}

# bench_seed TIMEOUT runs `roster dev seed` with $accounts accounts of $users
# users into $dir/seed.json, for at most TIMEOUT seconds.
bench_seed() {
	local seed_cmd=("$bin/roster" dev seed --accounts "$accounts" --users-per-account "$users" --seed 1 "${store_args[@]}")
	echo "\$ ${seed_cmd[*]} > $dir/seed.json"
	timeout "$1" "${seed_cmd[@]}" >"$dir/seed.json"
}

# bench_start_server IDLE starts roster serve (in this shell, so that $pid
# is its child), appending its output to $dir/server.log, and waits until
# /readyz answers 200. It sets ready_line to roster-load's account of the
# time from exec to ready and of the memory after IDLE idle.
bench_start_server() {
	local t0
	t0=$(date +%s%N)
	env "${server_env[@]}" "$bin/roster" serve --addr "127.0.0.1:$port" "${store_args[@]}" >>"$dir/server.log" 2>&1 &
	pid=$!
	if ! ready_line=$("$bin/roster-load" --wait-ready --url "$url" --since-ns "$t0" --server-pid "$pid" --idle "$1"); then
		tail -n 20 "$dir/server.log" >&2
		die "the server did not become ready; its log is $dir/server.log"
	fi
}

# bench_stop_server stops the server, gracefully within 10 s, else by force.
bench_stop_server() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	pid=
}

# bench_run_load TIMEOUT adds to load_cmd the PostgreSQL backends (when the
# postmaster is local and readable) and BENCH_LOAD_ARGS, runs it for at
# most TIMEOUT seconds, its output also into $dir/results.txt, and sets
# loadavg_before and loadavg_after.
bench_run_load() {
	if [ "$store" = postgres ]; then
		# The backends' CPU time counts too, when the postmaster is local and readable.
		local pgdata postmaster
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
	timeout "$1" "${load_cmd[@]}" | tee "$dir/results.txt"
	loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)
}

# bench_pg_version prints the PostgreSQL server's version.
bench_pg_version() { psql "$pg/postgres" -tAc 'SHOW server_version'; }

# bench_machine prints this machine's CPUs, memory and Go version.
bench_machine() {
	echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem:/ { print $2 }') GB RAM, $(go version | cut -d' ' -f3)"
}
