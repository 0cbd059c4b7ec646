#!/usr/bin/env bash
# bench/fleet_server.sh - the server in fleet mode (issue 10): how long a
# stop or start made by another process takes to reach every replica's
# /gateway/status, and what a fleet thread costs an idle server.
# Prints figures; asserts nothing (fleet_server_replicas asserts the 1 s
# bound).
#
#   bench/fleet_server.sh [TAU_BIN]      (default: build/tau-gateway)
#   ROUNDS=20 IDLE_SECS=10 REPLICAS=3 to scale.
#
# A throwaway cluster (tests/integration/lib/pg.sh: PostgreSQL's defaults,
# fsync and synchronous_commit on, Unix socket), REPLICAS servers on one
# deployment, local/echo.
# 1. ROUNDS stops and starts alternating, each by a separate tau-gateway
#    process: ms from that process's exit until the replica's
#    /gateway/status shows the new service_status (curl in a loop, about
#    5 ms per probe, so the figure includes up to one probe's delay); one
#    figure per replica per round; median, p10, p90.
# 2. one idle server's CPU over IDLE_SECS (heartbeats and replica lists
#    every second, from /proc/<pid>/stat).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-${TAU_BIN:-$SRC/build/tau-gateway}}
ROUNDS=${ROUNDS:-20}
IDLE_SECS=${IDLE_SECS:-10}
REPLICAS=${REPLICAS:-3}
TOKEN=bench-fleet-token
# shellcheck source=tests/integration/lib/pg.sh
. "$SRC/tests/integration/lib/pg.sh"
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/tau-bench-fleetsrv.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
	pg_cluster_stop
	rm -rf "$W"
}
trap cleanup EXIT
pg_cluster_start
pg_sql "$TAU_TEST_PG_URL" "CREATE DATABASE bench" >/dev/null
URL=$(pg_url_db bench)
now_ms() { date +%s%3N; }
ADDRS=()
for i in $(seq "$REPLICAS"); do
	bench_gw_start "S$i" "$URL" --quiet || exit 1
	v=S${i}_ADDR
	ADDRS+=("${!v}")
done
echo "tau-gateway fleet server bench ($BIN)"
echo "machine: $(nproc) cores, $(uname -r); PostgreSQL $(pg_sql "$URL" 'SHOW server_version')," \
	"synchronous_commit=$(pg_sql "$URL" 'SHOW synchronous_commit'), fsync=$(pg_sql "$URL" 'SHOW fsync');" \
	"$REPLICAS replicas"
status_of() {
	curl -s -H "Authorization: Bearer $TOKEN" "http://$1/gateway/status" | jq -r .service.service_status
}
: >"$W/lags"
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then act=--gateway-service-stop want=stopped; else act=--gateway-service-start want=running; fi
	"$BIN" --gateway-state-url "$URL" "$act" >/dev/null
	t0=$(now_ms)
	for a in "${ADDRS[@]}"; do
		for _ in $(seq 1000); do [ "$(status_of "$a")" = "$want" ] && break; done
		echo $(($(now_ms) - t0)) >>"$W/lags"
	done
done
sort -n "$W/lags" | awk '{v[NR]=$1} END {
	printf "1. change elsewhere -> every replica'"'"'s /gateway/status (%d figures): median %d ms, p10 %d ms, p90 %d ms, max %d ms\n",
		NR, v[int((NR+1)/2)], v[int(NR*0.1)+1], v[int(NR*0.9)], v[NR] }'
pid=${PIDS[0]}
hz=$(getconf CLK_TCK)
t1=$(awk '{print $14+$15}' "/proc/$pid/stat")
sleep "$IDLE_SECS"
t2=$(awk '{print $14+$15}' "/proc/$pid/stat")
awk -v a="$t1" -v b="$t2" -v hz="$hz" -v s="$IDLE_SECS" \
	'BEGIN { printf "2. an idle replica'"'"'s CPU over %d s: %.2f %% of one core\n", s, (b-a)*100/hz/s }'
