#!/usr/bin/env bash
# bench/fleet_store_ab.sh - A/B of two tau-gateway binaries on the fleet
# mode's stored-response path: POST /v1/responses local/echo with the
# default store:true, each response an INSERT into tau_response on the
# stored-response pool.  Rounds interleaved (A, B, A, B, ...), so a busy
# machine slows both sides alike.  Prints figures; never fails on speed.
#
#   bench/fleet_store_ab.sh A_BIN [B_BIN]    B_BIN defaults to build/tau-gateway
#   BENCH_ROUNDS=5 BENCH_SECS=5 BENCH_CONNS=64   wrk settings (1 thread)
#
# A throwaway cluster (tests/integration/lib/pg.sh: PostgreSQL's defaults,
# fsync and synchronous_commit on, Unix socket, no TCP); each run a fresh
# server on one database whose tau_response is emptied first (so every
# run inserts into the same size of table), wrk --latency.  Per run:
# req/s, p99 latency (ms) and the server's CPU time per request (utime +
# stime from /proc over the requests wrk completed); then medians with
# min..max.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
A=${1:?usage: bench/fleet_store_ab.sh A_BIN [B_BIN]}
B=${2:-$ROOT/build/tau-gateway}
ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECS:-5}
CONNS=${BENCH_CONNS:-64}
command -v wrk >/dev/null || { echo "bench/fleet_store_ab.sh: needs wrk (apt-get install wrk)" >&2; exit 69; }
# shellcheck source=tests/integration/lib/pg.sh
. "$ROOT/tests/integration/lib/pg.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/tau-fleet-ab.XXXXXX")
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	pg_cluster_stop
	rm -rf "$W"
}
trap cleanup EXIT
pg_cluster_start || exit 69
pg_sql "$TAU_TEST_PG_URL" "CREATE DATABASE tau_bench_ab" >/dev/null
URL=$(pg_url_db tau_bench_ab)
{
	echo 'wrk.method = "POST"'
	echo "wrk.body = '{\"input\":\"hello\"}'"
	echo 'wrk.headers["Content-Type"] = "application/json"'
	echo 'wrk.headers["Authorization"] = "Bearer bench-ab-token"'
} >"$W/post.lua"

# run NAME BIN: one server, one wrk run; prints NAME RPS P99_MS US
run() {
	local name=$1 bin=$2 i addr t0 t1 out n p99
	pg_sql "$URL" "DO \$\$ BEGIN IF to_regclass('tau_response') IS NOT NULL THEN TRUNCATE tau_response; END IF; END \$\$" >/dev/null
	rm -f "$W/out" "$W/err"
	"$bin" --gateway-state-url "$URL" --gateway-openresponses-server \
		--gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token bench-ab-token \
		--quiet >"$W/out" 2>"$W/err" &
	PID=$!
	for ((i = 0; i < 200; i++)); do
		grep -q '^gateway openresponses server listening: ' "$W/out" 2>/dev/null && break
		sleep 0.05
	done
	addr=$(sed -n 's/^gateway openresponses server listening: .* addr=\([^ ]*\) .*/\1/p' "$W/out")
	if [ -z "$addr" ]; then
		echo "# $name did not start: $(tail -c 300 "$W/err" "$W/out" | tr '\n' ' ')" >&2
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
		PID=
		return 0
	fi
	t0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
	out=$(wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$W/post.lua" "http://$addr/v1/responses")
	t1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
	kill "$PID"
	wait "$PID" 2>/dev/null
	PID=
	n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
	# wrk prints "99%   12.34ms" (or us / s)
	p99=$(awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
		printf "%.2f", u == "us" ? v / 1000 : (u == "s" ? v * 1000 : v) }' <<<"$out")
	if grep -q 'Non-2xx' <<<"$out"; then
		echo "# $name: $(grep 'Non-2xx' <<<"$out")" >&2
	fi
	printf '%s %s %s %s\n' "$name" "$(sed -n 's/^Requests\/sec: *//p' <<<"$out")" "$p99" \
		"$(awk -v t=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')"
}

echo "A: $A"
echo "B: $B"
echo "PostgreSQL $(pg_sql "$URL" 'SHOW server_version'): fsync $(pg_sql "$URL" 'SHOW fsync'), synchronous_commit $(pg_sql "$URL" 'SHOW synchronous_commit'), Unix socket"
echo "wrk -t1 -c$CONNS -d${SECS}s --latency, POST /v1/responses local/echo store:true, $ROUNDS rounds"
for ((r = 1; r <= ROUNDS; r++)); do
	run A "$A"
	run B "$B"
done > >(tee "$W/res")
wait $! 2>/dev/null || sleep 0.2
med() { # column name
	grep "^$2 " "$W/res" | awk -v c="$1" '{print $c}' | sort -n |
		awk '{a[NR] = $1} END {printf "%.2f (%.2f..%.2f)", a[int((NR + 1) / 2)], a[1], a[NR]}'
}
for n in A B; do
	printf '%-2s req/s median %s   p99 ms median %s   server CPU us/request median %s\n' "$n" \
		"$(med 2 "$n")" "$(med 3 "$n")" "$(med 4 "$n")"
done
