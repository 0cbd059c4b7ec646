#!/usr/bin/env bash
# bench/http_ab.sh - A/B of two tau-gateway binaries on the request path,
# rounds interleaved (A, B, B through a trusted proxy, A, B, ...), so a
# busy machine slows every side alike.  Prints figures; never fails on
# speed.
#
#   bench/http_ab.sh A_BIN [B_BIN]     B_BIN defaults to build/tau-gateway
#   BENCH_ROUNDS=7 BENCH_SECS=5 BENCH_CONNS=64   wrk settings (1 thread)
#
# Each run: a fresh server (--quiet, local/echo, a temporary state
# directory), wrk POSTing {"input":"hello","store":false} to
# /v1/responses.  Per run it prints req/s and the server's CPU time per
# request (utime + stime from /proc over the requests wrk completed),
# which a loaded machine disturbs less than req/s; then medians with
# min..max.  "B+xff" is B with --gateway-openresponses-trusted-proxies
# 127.0.0.1 and an X-Forwarded-For header of two entries on every
# request, the cost of naming the client behind a load balancer.
#   BENCH_AB_ROUTES=1   instead of B+xff: every side POSTs
#                       {"model":"echo","input":"hello","store":false}, and
#                       "B+routes" is B with --gateway-routes naming the
#                       route "echo" (one local target) plus three other
#                       routes, the cost of the routes lookup (A and B
#                       list the model in ignored_fields); the order of
#                       the three turns each round
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
A=$(realpath "${1:?usage: bench/http_ab.sh A_BIN [B_BIN]}")
B=$(realpath "${2:-$ROOT/build/tau-gateway}")
ROUNDS=${BENCH_ROUNDS:-7}
SECS=${BENCH_SECS:-5}
CONNS=${BENCH_CONNS:-64}
command -v wrk >/dev/null || { echo "bench/http_ab.sh: needs wrk (apt-get install wrk)" >&2; exit 69; }
W=$(mktemp -d "${TMPDIR:-/tmp}/tau-ab.XXXXXX")
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

for v in plain xff model; do
	{
		echo 'wrk.method = "POST"'
		if [ "$v" = model ]; then
			echo "wrk.body = '{\"model\":\"echo\",\"input\":\"hello\",\"store\":false}'"
		else
			echo "wrk.body = '{\"input\":\"hello\",\"store\":false}'"
		fi
		echo 'wrk.headers["Content-Type"] = "application/json"'
		echo 'wrk.headers["Authorization"] = "Bearer bench-ab-token"'
		[ "$v" = xff ] && echo 'wrk.headers["X-Forwarded-For"] = "198.51.100.1, 203.0.113.7"'
	} >"$W/$v.lua"
done

# run NAME BIN SCRIPT [flags...]: one server, one wrk run; prints NAME RPS US
run() {
	local name=$1 bin=$2 script=$3 i addr t0 t1 out n
	shift 3
	rm -rf "$W/state" "$W/out" "$W/err" # else the wait below may read the last run's lines
	"$bin" --gateway-state-dir "$W/state" --gateway-openresponses-server \
		--gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token bench-ab-token \
		--quiet "$@" >"$W/out" 2>"$W/err" &
	PID=$!
	for ((i = 0; i < 200; i++)); do
		grep -q '^gateway openresponses server listening: .* state_dir=' "$W/out" 2>/dev/null && break
		sleep 0.05
	done
	addr=$(sed -n 's/^gateway openresponses server listening: .* addr=\([^ ]*\) .*/\1/p' "$W/out")
	if [ -z "$addr" ]; then
		echo "# $name did not start: $(tail -c 300 "$W/err" "$W/out" | tr '\n' ' ')" >&2
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
		PID=
		return 0
	fi
	t0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
	out=$(wrk -t1 -c"$CONNS" -d"${SECS}s" -s "$script" "http://$addr/v1/responses")
	t1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
	kill "$PID"
	wait "$PID" 2>/dev/null || true
	PID=
	n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
	printf '%s %s %s\n' "$name" "$(sed -n 's/^Requests\/sec: *//p' <<<"$out")" \
		"$(awk -v t=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')"
}

echo "A: $A"
echo "B: $B"
echo "wrk -t1 -c$CONNS -d${SECS}s, POST /v1/responses local/echo store:false, $ROUNDS rounds"
bench_routes_echo "$W/routes.json"
sides=(A B B+xff)
[ "${BENCH_AB_ROUTES:-0}" = 1 ] && sides=(A B B+routes)
# in this shell, not a pipeline's subshell, so the EXIT trap sees PID
for ((r = 1; r <= ROUNDS; r++)); do
	if [ "${BENCH_AB_ROUTES:-0}" = 1 ]; then
		case $((r % 3)) in
		1) order=(A B B+routes) ;;
		2) order=(B B+routes A) ;;
		0) order=(B+routes A B) ;;
		esac
		for side in "${order[@]}"; do
			case $side in
			A) run A "$A" "$W/model.lua" ;;
			B) run B "$B" "$W/model.lua" ;;
			B+routes) run B+routes "$B" "$W/model.lua" --gateway-routes "$W/routes.json" ;;
			esac
		done
		continue
	fi
	run A "$A" "$W/plain.lua"
	run B "$B" "$W/plain.lua"
	run B+xff "$B" "$W/xff.lua" --gateway-openresponses-trusted-proxies 127.0.0.1
done > >(tee "$W/res")
wait $! 2>/dev/null || sleep 0.2 # tee has written everything
med() { # column name
	grep "^$2 " "$W/res" | awk -v c="$1" '{print $c}' | sort -n |
		awk '{a[NR] = $1} END {printf "%.2f (%.2f..%.2f)", a[int((NR + 1) / 2)], a[1], a[NR]}'
}
for n in "${sides[@]}"; do
	printf '%-6s req/s median %s   server CPU us/request median %s\n' "$n" "$(med 2 "$n")" "$(med 3 "$n")"
done
