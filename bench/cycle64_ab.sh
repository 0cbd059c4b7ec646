#!/usr/bin/env bash
# bench/cycle64_ab.sh - the 64-case cycle on a large state, two binaries A/B
# interleaved round by round.
#
# Each binary runs on its own state directory, built beforehand by its own
# real first cycle (bench/runner.sh leaves one; so does --build below), so
# each reads the snapshot layout it writes.  Per round, one 64-case fixture
# of new cases (the same for both) is run by A, then by B (order swapped on
# odd rounds); each run is timed wall-clock (process start to exit) and by
# perf stat's task-clock (CPU, less noisy on a shared machine).  Prints
# every run and the medians with min and max.  Never fails on speed.
#
# Usage: bench/cycle64_ab.sh --a BIN --state-a DIR --b BIN --state-b DIR
#          [--n PROCESSED] [--rounds R] [--build FIXTURE]
# --n is how many cases the states hold (new cases are numbered from it, or
# from the number a previous invocation left in DIR/.bench-next);
# --build FIXTURE first builds both states from FIXTURE (rm -rf first).
# A state built by a binary from before MEMORY.md spares (.MEMORY.md.spare)
# has none: a newer binary's first cycle on each actor then creates its
# spare (a new inode, as a temp file was), and only later cycles reuse it;
# a state its own first cycle built has an empty spare beside every
# MEMORY.md, as bench/runner.sh's has.  --build compares like with like.
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
a="" b="" sa="" sb="" n=1000000 rounds=7 build=""
while [ $# -gt 0 ]; do
	case "$1" in
	--a) a=$2; shift 2 ;;
	--b) b=$2; shift 2 ;;
	--state-a) sa=$2; shift 2 ;;
	--state-b) sb=$2; shift 2 ;;
	--n) n=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	-h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "cycle64_ab.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -n "$a" ] && [ -n "$b" ] && [ -n "$sa" ] && [ -n "$sb" ] || { echo "cycle64_ab.sh: --a, --b, --state-a, --state-b are needed" >&2; exit 2; }
command -v perf >/dev/null || { echo "cycle64_ab.sh: needs perf" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "$build" ]; then
	for x in a b; do
		bin=${!x}; st=$sa; [ $x = b ] && st=$sb
		rm -rf "$st"
		"$bin" --gateway-contract-runner --gateway-fixture "$build" --gateway-state-dir "$st" \
			--gateway-queue-limit "$n" --gateway-processed-case-cap $((2 * n)) >/dev/null || exit 1
	done
fi
# new case numbers: past what earlier invocations added (kept beside the state)
first=$n
for st in "$sa" "$sb"; do
	x=$(cat "$st/.bench-next" 2>/dev/null || echo 0)
	((x > first)) && first=$x
done
declare -a wa wb ca cb
run() { # BIN STATE FIXTURE -> "wall_ms cpu_ms"
	local t0 t1
	t0=$(date +%s%N)
	perf stat -x, -e task-clock -o "$tmp/perf" "$1" --gateway-contract-runner --gateway-fixture "$3" \
		--gateway-state-dir "$2" --gateway-queue-limit 64 --gateway-processed-case-cap $((2 * n)) >"$tmp/out" 2>&1
	t1=$(date +%s%N)
	grep -q ' applied=64 ' "$tmp/out" || { echo "cycle64_ab.sh: $1 did not apply 64 cases:" >&2; cat "$tmp/out" >&2; exit 1; }
	echo "$(((t1 - t0) / 1000000)) $(awk -F, '/task-clock/ { printf "%.1f", $1 }' "$tmp/perf")"
}
for ((r = 0; r < rounds; r++)); do
	fx=$tmp/fx-$r.json
	python3 "$root/bench/gen_fixture.py" 64 "$fx" --actors 1000 --malformed-every 0 \
		--first $((first + r * 64)) --name "ab-64-$r" || exit 1
	if ((r % 2 == 0)); then
		read -r w1 c1 < <(run "$a" "$sa" "$fx"); read -r w2 c2 < <(run "$b" "$sb" "$fx")
	else
		read -r w2 c2 < <(run "$b" "$sb" "$fx"); read -r w1 c1 < <(run "$a" "$sa" "$fx")
	fi
	[ -n "$w1" ] && [ -n "$w2" ] || exit 1
	wa+=("$w1"); wb+=("$w2"); ca+=("$c1"); cb+=("$c2")
	printf 'round %d: A wall %5d ms cpu %7.1f ms   B wall %5d ms cpu %7.1f ms\n' "$((r + 1))" "$w1" "$c1" "$w2" "$c2"
done
echo $((first + rounds * 64)) >"$sa/.bench-next"
echo $((first + rounds * 64)) >"$sb/.bench-next"
med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%s (%s to %s)", m, v[1], v[NR] }'; }
echo "A $a: wall median $(med "${wa[@]}") ms, task-clock median $(med "${ca[@]}") ms"
echo "B $b: wall median $(med "${wb[@]}") ms, task-clock median $(med "${cb[@]}") ms"
