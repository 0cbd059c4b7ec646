#!/usr/bin/env bash
# bench/console.sh - console speed figures (issue 4 §5).  Prints figures;
# asserts nothing.
#
#   bench/console.sh [TAU_BIN]     (default: build/tau-gateway)
#   IDLE_SECS=30 LOG_MB=1024 CASES=100000 LOAD_SECS=10 to scale.
#   PANEL_RATE=1000 PANEL_SECS=10 PANEL_ROUNDS=3 BASE_BIN=... for section 6,
#   PANEL_ONLY=1 to run section 6 alone.
#
# 1. idle CPU over IDLE_SECS in tmux, from /proc/<pid>/stat (utime+stime)
# 2. time to the first full frame with a LOG_MB runtime-events.jsonl
#    (the console's own figure from TAU_CONSOLE_STATS_FILE, and as seen
#    from outside: launch until the stats file appears)
# 3. RSS with that log
# 4. redraw rate while another process runs a CASES-case fixture and a
#    third one hammers stop/start (for at least LOAD_SECS): frames per second, and the shortest gap
#    between two data-driven frames as the console measured it
#    (min_gap_ms in the stats file; the limit is one frame per 100 ms)
# 5. a 100 KB paste at the ':' prompt (issue 12: under 100 ms): PASTE_ROUNDS
#    rounds of tmux paste-buffer of PASTE_KB bytes followed by Ctrl-G, timed
#    from the paste to "cancelled" on the screen (so every pasted byte was
#    read and handled first: the keys are handled in order); the median,
#    min and max, and the same for an empty paste (Ctrl-G alone: what tmux
#    and the screen polling cost by themselves).  SKIP_TO_PASTE=1 runs only
#    this block.
# 6. the server panel at a steady 1,000 req/s (bench/steady_load.py): the
#    console's CPU (its main thread, which reads and draws; the whole
#    process, embedded server included, beside it)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-${TAU_BIN:-$SRC/build/tau-gateway}}
IDLE_SECS=${IDLE_SECS:-30}
LOG_MB=${LOG_MB:-1024}
CASES=${CASES:-100000}
W=$(mktemp -d "${TMPDIR:-/tmp}/tau-bench-console.XXXXXX")
SOCK="tau-bench-console-$$"
PIDS=()
cleanup() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$W"
}
trap cleanup EXIT
TCK=$(getconf CLK_TCK)

# start_console NAME STATE_DIR: console in its own tmux window; echoes its pid
start_console() {
	local name=$1 sd=$2
	rm -f "$W/$name.stats"
	local cmd="env TAU_CONSOLE_STATS_FILE=$W/$name.stats XDG_STATE_HOME=$W/xdg $BIN --console --gateway-state-dir $sd"
	if tmux -L "$SOCK" has-session 2>/dev/null; then
		tmux -L "$SOCK" new-window -d -n "$name" "$cmd"
	else
		tmux -L "$SOCK" -f /dev/null new-session -d -s bench -n "$name" -x 120 -y 40 "$cmd"
	fi
	local pid=""
	for _ in $(seq 200); do
		pid=$(tmux -L "$SOCK" list-panes -t "bench:$name" -F '#{pane_pid}' 2>/dev/null || true)
		[ -n "$pid" ] && [ -s "$W/$name.stats" ] && break
		sleep 0.01
	done
	echo "$pid"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
stat_field() { sed -nE "s/.*$2=([0-9]+).*/\\1/p" "$1"; }

echo "tau-gateway console bench ($BIN)"
echo "machine: $(nproc) cores, $(uname -r)"

# ---- 5. a 100 KB paste at the prompt (defined here, run last) ------------------
# now_ns; paste_ms FILE: one round, in ms, from the paste to "cancelled"
paste_ms() {
	local t0 i
	tmux -L "$SOCK" send-keys -t bench:paste :
	for ((i = 0; i < 400; i++)); do
		tmux -L "$SOCK" capture-pane -p -t bench:paste | grep -q '^:' && break
		sleep 0.005
	done
	[ -s "$1" ] && tmux -L "$SOCK" load-buffer -b big "$1"
	t0=$(date +%s%N)
	[ -s "$1" ] && tmux -L "$SOCK" paste-buffer -b big -t bench:paste
	tmux -L "$SOCK" send-keys -t bench:paste C-g
	for ((i = 0; i < 20000; i++)); do
		tmux -L "$SOCK" capture-pane -p -t bench:paste | grep -q 'cancelled' && break
	done
	echo $((($(date +%s%N) - t0) / 1000000))
}
# stats MS...: "median M ms (min A, max B, n N)", nearest rank
ms_stats() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
		m = v[int((NR + 1) / 2)]; printf "median %d ms (min %d, max %d, n %d)", m, v[1], v[NR], NR }'
}
paste_bench() {
	local kb=${PASTE_KB:-100} rounds=${PASTE_ROUNDS:-9} r full=() empty=()
	mkdir -p "$W/paste"
	head -c $((kb * 1024)) /dev/zero | tr '\0' 'x' >"$W/paste.txt"
	: >"$W/empty.txt"
	start_console paste "$W/paste" >/dev/null
	# interleaved: a full paste, then an empty one, each round
	for ((r = 0; r < rounds; r++)); do
		full+=("$(paste_ms "$W/paste.txt")")
		empty+=("$(paste_ms "$W/empty.txt")")
	done
	echo "a ${kb} KB paste at the ':' prompt, paste to \"cancelled\" on screen: $(ms_stats "${full[@]}")"
	echo "  the same with nothing pasted (tmux + screen polling alone): $(ms_stats "${empty[@]}")"
	tmux -L "$SOCK" kill-window -t bench:paste 2>/dev/null || true
}
if [ -n "${SKIP_TO_PASTE:-}" ]; then
	paste_bench
	exit 0
fi


if [ -z "${PANEL_ONLY:-}" ]; then # PANEL_ONLY=1: section 6 alone
# ---- 1. idle CPU -------------------------------------------------------------
mkdir -p "$W/idle"
"$BIN" --gateway-contract-runner --gateway-fixture "$SRC/fixtures/gateway-contract/mixed-outcomes.json" \
	--gateway-state-dir "$W/idle" >/dev/null
pid=$(start_console idle "$W/idle")
sleep 1
t0=$(cpu_ticks "$pid"); f0=$(stat_field "$W/idle.stats" frames)
sleep "$IDLE_SECS"
t1=$(cpu_ticks "$pid"); f1=$(stat_field "$W/idle.stats" frames)
awk -v d=$((t1 - t0)) -v tck="$TCK" -v s="$IDLE_SECS" -v f=$((f1 - f0)) 'BEGIN {
	printf "idle CPU over %ds: %.3f%% of one core (%d ticks at %d Hz), %d redraws\n", s, 100 * d / (tck * s), d, tck, f }'

# ---- 2/3. first frame and RSS with a big log ----------------------------------
mkdir -p "$W/big"
line=$(tail -n 1 "$W/idle/runtime-events.jsonl")
printf '%s\n' "$line" >"$W/big/seed"
# doubling: 2^n lines of ~700 bytes
while [ "$(stat -c %s "$W/big/seed")" -lt $((LOG_MB * 1024 * 1024)) ]; do
	cat "$W/big/seed" "$W/big/seed" >"$W/big/tmp"
	mv "$W/big/tmp" "$W/big/seed"
done
head -c $((LOG_MB * 1024 * 1024)) "$W/big/seed" | head -n -1 >"$W/big/runtime-events.jsonl"
rm -f "$W/big/seed"
cp "$W/idle/state.json" "$W/big/state.json"
sync
size_mb=$(($(stat -c %s "$W/big/runtime-events.jsonl") / 1024 / 1024))
t_start=$(date +%s%N)
pid=$(start_console big "$W/big")
t_seen=$(date +%s%N)
ff=$(stat_field "$W/big.stats" first_frame_ms)
echo "first full frame with a ${size_mb} MB runtime-events.jsonl: ${ff} ms inside the console, $(((t_seen - t_start) / 1000000)) ms from launch (tmux start included)"
sleep 0.5
echo "RSS with the ${size_mb} MB log: $(awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$pid/status") (VmHWM $(awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$pid/status"))"
tmux -L "$SOCK" kill-window -t bench:big
rm -f "$W/big/runtime-events.jsonl"

# ---- 4. redraws under load ----------------------------------------------------
mkdir -p "$W/load"
python3 "$SRC/bench/gen_fixture.py" "$CASES" "$W/big.json" --actors 64 --name "bench-$CASES"
pid=$(start_console load "$W/load")
sleep 0.5
f0=$(stat_field "$W/load.stats" frames); c0=$(cpu_ticks "$pid")
t0=$(date +%s%N)
"$BIN" --gateway-contract-runner --gateway-fixture "$W/big.json" --gateway-queue-limit "$CASES" \
	--gateway-state-dir "$W/load" >/dev/null &
runner=$!
PIDS+=($runner)
n=0
end=$(($(date +%s) + ${LOAD_SECS:-10}))
while kill -0 "$runner" 2>/dev/null || [ "$(date +%s)" -lt "$end" ]; do
	"$BIN" --gateway-service-stop --gateway-service-stop-reason "bench_$n" --gateway-state-dir "$W/load" >/dev/null
	"$BIN" --gateway-service-start --gateway-state-dir "$W/load" >/dev/null
	n=$((n + 1))
done
wait "$runner" || true
t1=$(date +%s%N)
sleep 0.3
f1=$(stat_field "$W/load.stats" frames); c1=$(cpu_ticks "$pid")
ms=$(((t1 - t0) / 1000000))
awk -v f=$((f1 - f0)) -v ms="$ms" -v n="$n" -v c=$((c1 - c0)) -v tck="$TCK" -v cases="$CASES" -v gap="$(stat_field "$W/load.stats" min_gap_ms)" 'BEGIN {
	printf "under load (%d-case fixture in another process + %d stop/start pairs, %.1f s): %d redraws = %.1f per second; shortest gap between two redraws %s ms (measured by the console); console CPU %.1f%% of one core\n",
	    cases, n, ms / 1000, f, f * 1000 / ms, gap, 100 * c / (tck * ms / 1000) }'
grep -q "bench-$CASES" "$W/load/runtime-events.jsonl" && echo "the console saw the cycle line: $(tmux -L "$SOCK" capture-pane -p -t bench:load | grep -c "bench-$CASES") rows on screen mention it"

paste_bench
fi # PANEL_ONLY

# ---- 6. the server panel at a steady request rate ------------------------------
# The console's embedded server (w) under bench/steady_load.py at PANEL_RATE
# req/s (default 1000) for PANEL_SECS (default 10): the console's CPU from
# /proc over the load (its server threads excluded: only the console's main
# thread, which draws the panel), PANEL_ROUNDS rounds (default 3), median and
# min..max.  With BASE_BIN (say main's build) the rounds alternate BASE_BIN
# and BIN, round by round, so both see the same machine.  Also the CPU of a
# console whose server runs idle (the once-a-second refresh).  Target: under
# 10 % of one core at 1,000 req/s.
PANEL_RATE=${PANEL_RATE:-1000}
PANEL_SECS=${PANEL_SECS:-10}
PANEL_ROUNDS=${PANEL_ROUNDS:-3}
# main_ticks PID: utime+stime of the console's main thread only
main_ticks() { awk '{print $14 + $15}' "/proc/$1/task/$1/stat"; }
panel_round() {
	local bin=$1 label=$2
	local sd=$W/panel-$label
	rm -rf "$sd"
	mkdir -p "$sd"
	local cmd="env XDG_STATE_HOME=$W/xdg $bin --console --gateway-state-dir $sd \
--gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token bench-token"
	if tmux -L "$SOCK" has-session 2>/dev/null; then
		tmux -L "$SOCK" new-window -d -n panel "$cmd"
	else
		tmux -L "$SOCK" -f /dev/null new-session -d -s bench -n panel -x 120 -y 40 "$cmd"
	fi
	local pid="" port="" tau=""
	for _ in $(seq 200); do
		pid=$(tmux -L "$SOCK" list-panes -t "bench:panel" -F '#{pane_pid}' 2>/dev/null || true)
		tmux -L "$SOCK" capture-pane -p -t bench:panel 2>/dev/null | grep -q 'Service' && break
		sleep 0.02
	done
	tmux -L "$SOCK" send-keys -t bench:panel w
	for _ in $(seq 200); do
		port=$(tmux -L "$SOCK" capture-pane -p -t bench:panel | sed -nE 's/.*Server 127\.0\.0\.1:([0-9]+).*/\1/p' | head -1)
		[ -n "$port" ] && break
		sleep 0.02
	done
	tau=$(pgrep -P "$pid" -x tau-gateway || echo "$pid")
	sleep 1
	local c0 c1 s0 s1 idle
	c0=$(main_ticks "$tau"); sleep 3; c1=$(main_ticks "$tau")
	idle=$(awk -v d=$((c1 - c0)) -v tck="$TCK" 'BEGIN { printf "%.2f", 100 * d / (tck * 3) }')
	local p0 p1 whole
	s0=$(date +%s%N); c0=$(main_ticks "$tau"); p0=$(cpu_ticks "$tau")
	local load
	load=$(python3 "$SRC/bench/steady_load.py" "127.0.0.1:$port" bench-token "$PANEL_RATE" "$PANEL_SECS")
	c1=$(main_ticks "$tau"); p1=$(cpu_ticks "$tau"); s1=$(date +%s%N)
	whole=$(awk -v d=$((p1 - p0)) -v tck="$TCK" -v ns=$((s1 - s0)) 'BEGIN { printf "%.1f", 100 * d / (tck * ns / 1e9) }')
	local pct
	pct=$(awk -v d=$((c1 - c0)) -v tck="$TCK" -v ns=$((s1 - s0)) 'BEGIN { printf "%.2f", 100 * d / (tck * ns / 1e9) }')
	echo "$label $pct $idle $load" >>"$W/panel.rounds"
	echo "  round $label: console main thread ${pct}% of one core under load ($load; whole process, server included, ${whole}%); ${idle}% with the server idle"
	tmux -L "$SOCK" send-keys -t bench:panel q
	sleep 0.2
	tmux -L "$SOCK" send-keys -t bench:panel y
	for _ in $(seq 100); do kill -0 "$tau" 2>/dev/null || break; sleep 0.05; done
	tmux -L "$SOCK" kill-window -t bench:panel 2>/dev/null || true
}
echo "server panel at $PANEL_RATE req/s for $PANEL_SECS s, $PANEL_ROUNDS rounds${BASE_BIN:+ (A=$BASE_BIN, B=$BIN, interleaved)}:"
: >"$W/panel.rounds"
for ((r = 0; r < PANEL_ROUNDS; r++)); do
	[ -n "${BASE_BIN:-}" ] && panel_round "$BASE_BIN" A
	panel_round "$BIN" B
done
for label in A B; do
	grep -q "^$label " "$W/panel.rounds" || continue
	# nearest-rank median and the spread (sorted outside awk: mawk has no asort)
	v=$(awk -v l="$label" '$1 == l { print $2 }' "$W/panel.rounds" | sort -g | tr '\n' ' ')
	i=$(awk -v l="$label" '$1 == l { print $3 }' "$W/panel.rounds" | sort -g | tr '\n' ' ')
	awk -v l="$label" -v v="$v" -v i="$i" 'BEGIN {
		n = split(v, a, " "); split(i, b, " "); m = int((n + 1) / 2)
		printf "panel %s: console main thread at the load, median %.2f%% of one core (min..max %.2f..%.2f, %d rounds); server idle median %.2f%%\n", l, a[m], a[1], a[n], n, b[m] }'
done
