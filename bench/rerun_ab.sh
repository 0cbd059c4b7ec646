#!/usr/bin/env bash
# bench/rerun_ab.sh - the dedupe rerun that changes nothing, two binaries A/B
# interleaved round by round.
#
# Both binaries rerun the same fixture on the same state directory, whose
# cycles already processed every case of it (bench/runner.sh leaves one:
# bench/out/state-N and bench/out/fixture-N.json; work on a copy, since each
# rerun still saves state.json and appends an event line).  Per round A
# runs, then B (order swapped on odd rounds); each run is timed by GNU time
# (wall, user, sys, peak RSS) and by perf stat's task-clock (CPU, less noisy
# on a shared machine), and must report duplicate_skips equal to the number
# of cases.  Prints every run and the medians with min and max.  Never
# fails on speed.
#
# Usage: bench/rerun_ab.sh --a BIN --b BIN --state DIR --fixture FILE
#          [--n CASES] [--rounds R]
# --n is the fixture's case count (default 1000000; the queue limit is N and
# the processed-case cap 2N, as bench/runner.sh runs it).
set -u
a="" b="" st="" fx="" n=1000000 rounds=7
while [ $# -gt 0 ]; do
	case "$1" in
	--a) a=$2; shift 2 ;;
	--b) b=$2; shift 2 ;;
	--state) st=$2; shift 2 ;;
	--fixture) fx=$2; shift 2 ;;
	--n) n=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	-h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "rerun_ab.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -n "$a" ] && [ -n "$b" ] && [ -n "$st" ] && [ -n "$fx" ] || { echo "rerun_ab.sh: --a, --b, --state, --fixture are needed" >&2; exit 2; }
command -v perf >/dev/null || { echo "rerun_ab.sh: needs perf" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "rerun_ab.sh: needs GNU time" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { # BIN -> "wall_s user_s sys_s rss_mb cpu_ms"
	/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" perf stat -x, -e task-clock -o "$tmp/perf" \
		"$1" --gateway-contract-runner --gateway-fixture "$fx" --gateway-state-dir "$st" \
		--gateway-queue-limit "$n" --gateway-processed-case-cap $((2 * n)) >"$tmp/out" 2>&1
	grep -q " duplicate_skips=$n " "$tmp/out" || { echo "rerun_ab.sh: $1 did not skip $n cases:" >&2; cat "$tmp/out" >&2; exit 1; }
	local w u s m
	read -r w u s m <"$tmp/time"
	echo "$w $u $s $((m / 1024)) $(awk -F, '/task-clock/ { printf "%.1f", $1 }' "$tmp/perf")"
}
declare -a wa wb ua ub sa sb ca cb
for ((r = 0; r < rounds; r++)); do
	if ((r % 2 == 0)); then
		read -r w1 u1 s1 m1 c1 < <(run "$a"); read -r w2 u2 s2 m2 c2 < <(run "$b")
	else
		read -r w2 u2 s2 m2 c2 < <(run "$b"); read -r w1 u1 s1 m1 c1 < <(run "$a")
	fi
	[ -n "${c1:-}" ] && [ -n "${c2:-}" ] || exit 1
	wa+=("$w1"); wb+=("$w2"); ua+=("$u1"); ub+=("$u2"); sa+=("$s1"); sb+=("$s2"); ca+=("$c1"); cb+=("$c2")
	printf 'round %d: A wall %5.2f s user %5.2f sys %5.2f cpu %7.1f ms rss %4d MB   B wall %5.2f s user %5.2f sys %5.2f cpu %7.1f ms rss %4d MB\n' \
		"$((r + 1))" "$w1" "$u1" "$s1" "$c1" "$m1" "$w2" "$u2" "$s2" "$c2" "$m2"
done
med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%s (%s to %s)", m, v[1], v[NR] }'; }
echo "A $a: wall $(med "${wa[@]}") s, user $(med "${ua[@]}") s, sys $(med "${sa[@]}") s, task-clock $(med "${ca[@]}") ms"
echo "B $b: wall $(med "${wb[@]}") s, user $(med "${ub[@]}") s, sys $(med "${sb[@]}") s, task-clock $(med "${cb[@]}") ms"
