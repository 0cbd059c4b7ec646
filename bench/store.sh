#!/usr/bin/env bash
# bench/store.sh - what one runbook command costs on each store: a state
# directory (files) against PostgreSQL (fleet mode, a throwaway cluster on a
# Unix socket from tests/integration/lib/pg.sh, PostgreSQL's default
# settings: fsync=on, synchronous_commit=on, shared_buffers=128MB), and, when
# a second binary is given, that binary on the file store (the single-host
# path before a change).  Each round runs every variant once, in turn
# (interleaved A/B, so drift hits all alike); the figure is the wall time of
# the whole process, start to exit, in ms: median and p10..p90 over the
# rounds.  Prints figures; never fails on speed.
#
#   bench/store.sh [ROUNDS] [BASELINE_BIN]      (default 40 rounds)
#   TAU_BIN=build/tau-gateway by default
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TAU_BIN:-$ROOT/build/tau-gateway}
ROUNDS=${1:-40}
BASE=${2:-}
# shellcheck source=tests/integration/lib/pg.sh
. "$ROOT/tests/integration/lib/pg.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/tau-bench-store.XXXXXX")
trap 'pg_cluster_stop; rm -rf "$W"' EXIT
pg_cluster_start
pg_sql "$TAU_TEST_PG_URL" "CREATE DATABASE bench" >/dev/null
URL=$(pg_url_db bench)

variants=(files pg)
[ -n "$BASE" ] && variants=(base files pg)
args_for() {
	case $1 in
	base | files) echo "--gateway-state-dir $W/$1" ;;
	pg) echo "--gateway-state-url $URL" ;;
	esac
}
bin_for() { [ "$1" = base ] && echo "$BASE" || echo "$BIN"; }

commands=("--gateway-service-start" "--gateway-service-status" "--gateway-status-inspect"
	"--transport-health-inspect gateway")
# warm up (schema creation, first start)
for v in "${variants[@]}"; do
	# shellcheck disable=SC2046
	"$(bin_for "$v")" $(args_for "$v") --gateway-service-start >/dev/null
done
for c in "${commands[@]}"; do
	for v in "${variants[@]}"; do : >"$W/t.$v"; done
	for ((r = 0; r < ROUNDS; r++)); do
		for v in "${variants[@]}"; do
			t0=$(date +%s%N)
			# shellcheck disable=SC2046,SC2086
			"$(bin_for "$v")" $(args_for "$v") $c >/dev/null
			echo $((($(date +%s%N) - t0) / 1000)) >>"$W/t.$v"
		done
	done
	for v in "${variants[@]}"; do
		sort -n "$W/t.$v" | awk -v c="$c" -v v="$v" '{ a[NR] = $1 } END {
			printf "%-36s %-6s median %6.2f ms  p10 %6.2f  p90 %6.2f  (n=%d)\n", c, v,
			    a[int((NR + 1) / 2)] / 1000, a[int(NR * 0.1) + 1] / 1000, a[int(NR * 0.9)] / 1000, NR }'
	done
done
