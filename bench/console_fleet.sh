#!/usr/bin/env bash
# bench/console_fleet.sh - the console on PostgreSQL (issue 10): how long a
# posture change made by another process takes to reach the screen.
# Prints figures; asserts nothing (console_fleet asserts the 1 s bound).
#
#   bench/console_fleet.sh [TAU_BIN]     (default: build/tau-gateway)
#   ROUNDS=20 IDLE_SECS=10 REPLICAS=3 to scale.
#
# A throwaway cluster (tests/integration/lib/pg.sh: PostgreSQL's defaults,
# fsync and synchronous_commit on, Unix socket), REPLICAS test replicas
# heartbeating every 200 ms (tau-replica), one console in tmux.
# 1. ROUNDS stops and starts alternating, each by a separate
#    tau-gateway process: ms from that process's exit to the pane showing
#    the new posture (read with capture-pane in a loop, a few ms each, so
#    the figure includes up to one capture's delay); median, p10, p90.
# 2. the console's CPU over IDLE_SECS with the Replicas panel refreshing
#    every second (from /proc/<pid>/stat).
# 3. its first frame (TAU_CONSOLE_STATS_FILE).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-${TAU_BIN:-$SRC/build/tau-gateway}}
REPLICA=${TAU_REPLICA:-$(dirname "$BIN")/tau-replica}
ROUNDS=${ROUNDS:-20}
IDLE_SECS=${IDLE_SECS:-10}
REPLICAS=${REPLICAS:-3}
# shellcheck source=tests/integration/lib/pg.sh
. "$SRC/tests/integration/lib/pg.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/tau-bench-fleet.XXXXXX")
SOCK="tau-bench-fleet-$$"
PIDS=()
cleanup() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	pg_cluster_stop
	rm -rf "$W"
}
trap cleanup EXIT
pg_cluster_start
pg_sql "$TAU_TEST_PG_URL" "CREATE DATABASE bench" >/dev/null
URL=$(pg_url_db bench)
gw() { "$BIN" --gateway-state-url "$URL" "$@" >/dev/null; }
now_ms() { date +%s%3N; }
screen() { tmux -L "$SOCK" capture-pane -p -t bench; }
gw --gateway-service-start
for i in $(seq "$REPLICAS"); do
	"$REPLICA" run "$URL&application_name=bench-replica" default "host-$i" "10.0.0.$i:8080" 200 \
		>"$W/r$i.out" 2>&1 &
	PIDS+=($!)
done

echo "tau-gateway fleet console bench ($BIN)"
echo "machine: $(nproc) cores, $(uname -r); PostgreSQL $(pg_sql "$URL" 'SHOW server_version')," \
	"synchronous_commit=$(pg_sql "$URL" 'SHOW synchronous_commit'), fsync=$(pg_sql "$URL" 'SHOW fsync')"
tmux -L "$SOCK" -f /dev/null new-session -d -s bench -x 120 -y 40 \
	"env TAU_CONSOLE_STATS_FILE=$W/stats XDG_STATE_HOME=$W/xdg $BIN --console --gateway-state-url '$URL'"
for _ in $(seq 400); do screen | grep -q "Replicas $REPLICAS" && break; sleep 0.01; done
pane=$(tmux -L "$SOCK" list-panes -t bench -F '#{pane_pid}')
pid=$(pgrep -P "$pane" -x tau-gateway || echo "$pane")

# waits for REGEX on the pane; prints ms since t0
await() {
	local re=$1 t0=$2
	for _ in $(seq 2000); do
		if screen | grep -Eq -- "$re"; then
			echo $(($(now_ms) - t0))
			return
		fi
	done
	echo 99999
}
lags=()
for i in $(seq "$ROUNDS"); do
	gw --gateway-service-stop --gateway-service-stop-reason "bench_$i"
	t0=$(now_ms)
	lags+=("$(await "last stop: bench_$i\) +Rollout HOLD service_stopped" "$t0")")
	gw --gateway-service-start
	t0=$(now_ms)
	lags+=("$(await "Service RUNNING \(last stop: bench_$i\) +Rollout PASS" "$t0")")
done
printf '%s\n' "${lags[@]}" | sort -n >"$W/lags"
n=$(wc -l <"$W/lags")
pick() { sed -n "$(( ($1 * (n - 1)) / 100 + 1 ))p" "$W/lags"; }
echo "1. posture change -> screen over $n changes: median $(pick 50) ms, p10 $(pick 10) ms," \
	"p90 $(pick 90) ms, max $(tail -1 "$W/lags") ms (target: under 1000 ms)"

TCK=$(getconf CLK_TCK)
c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
sleep "$IDLE_SECS"
c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
echo "2. CPU with the Replicas panel refreshing (1 s), $REPLICAS replicas heartbeating: $(( (c1 - c0) * 1000 / TCK )) ms" \
	"over ${IDLE_SECS} s ($(awk -v c=$((c1 - c0)) -v t="$TCK" -v s="$IDLE_SECS" 'BEGIN{printf "%.2f", c*100/t/s}')%)"
echo "3. first frame: $(sed -nE 's/.*first_frame_ms=([0-9]+).*/\1/p' "$W/stats") ms;" \
	"RSS $(awk '/VmRSS/{print $2}' "/proc/$pid/status") kB"
