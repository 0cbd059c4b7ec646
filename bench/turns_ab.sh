#!/usr/bin/env bash
# bench/turns_ab.sh - A/B of two tau-gateway binaries on a 20-turn
# previous_response_id conversation (bench/turns.py prev), both backends:
# four servers at once (A and B, each on a state directory and on a
# database of its own in one throwaway cluster), every turns.py run
# rotating over the four conversation by conversation; the runs alternate
# which binary comes first in the paired-branches and CPU phases (which
# turns.py runs backend after backend), so a busy machine slows both
# alike.  Prints turns.py's figures per run; never fails on speed.
#
#   bench/turns_ab.sh A_BIN [B_BIN]       B_BIN defaults to build/tau-gateway
#   BENCH_RUNS=2 BENCH_TURNS=20 BENCH_TURN_CONVS=20
#
# CPU per continuation (turns.py's BENCH_TURN_CPU, /proc schedstat): on
# files the gateway's threads; on PostgreSQL the gateway's plus the
# cluster's (the postmaster and its children), each database's backends
# serving only its own gateway, so "pg" figures count both sides.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(realpath "${1:?usage: bench/turns_ab.sh A_BIN [B_BIN]}")
B=$(realpath "${2:-$ROOT/build/tau-gateway}")
A=$BIN
RUNS=${BENCH_RUNS:-2}
TURNS=${BENCH_TURNS:-20}
CONVS=${BENCH_TURN_CONVS:-20}
TOKEN=bench-turns-ab
# shellcheck source=tests/integration/lib/pg.sh
. "$ROOT/tests/integration/lib/pg.sh"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/tau-turns-ab.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	pg_cluster_stop
	rm -rf "$W"
}
trap cleanup EXIT
pg_cluster_start || exit 69
echo "A: $A"
echo "B: $B"
for side in A B; do
	db=turns_$(tr '[:upper:]' '[:lower:]' <<<"$side")
	pg_sql "$TAU_TEST_PG_URL" "CREATE DATABASE $db" >/dev/null
	if [ "$side" = A ]; then BIN=$A; else BIN=$B; fi
	bench_gw_start "FILES_$side" "$W/state-$side" --quiet
	bench_gw_start "PG_$side" "$(pg_url_db "$db")" --quiet
done
echo "   $(bench_pg_settings "$(pg_url_db turns_a)")"
PM=$(head -1 "$PG_DIR/data/postmaster.pid")
echo "$TURNS-turn conversations, $CONVS per server and run, $RUNS runs"
for ((r = 0; r < RUNS; r++)); do
	if ((r % 2 == 0)); then order=(A B); else order=(B A); fi
	args=() cpu=
	for kind in files pg; do
		for side in "${order[@]}"; do
			if [ "$kind" = files ]; then
				pid_var=FILES_${side}_PID addr_var=FILES_${side}_ADDR
				cpu+="$kind-$side=${!pid_var};"
			else
				pid_var=PG_${side}_PID addr_var=PG_${side}_ADDR
				cpu+="$kind-$side=${!pid_var},$PM+;"
			fi
			args+=("$kind-$side=${!addr_var}")
		done
	done
	echo
	echo "run $((r + 1)) (order ${order[*]})"
	BENCH_TURN_CPU=$cpu python3 "$ROOT/bench/turns.py" prev "$CONVS" "$TURNS" "$TOKEN" "${args[@]}"
done
