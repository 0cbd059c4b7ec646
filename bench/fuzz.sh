#!/usr/bin/env bash
# bench/fuzz.sh - runs every libFuzzer target of tests/fuzz/ (or the ones
# named) for a while and prints, per target: executions, exec/s, coverage
# (libFuzzer's cov/ft at the start and the end), corpus growth and the
# crashes found.  Exits 1 when any target crashed, leaked, hung or ran out
# of memory; the input is kept in build-fuzz/fuzz-artifacts/.
#
#   bench/fuzz.sh [-t SECS] [-j JOBS] [TARGET...]
#     -t SECS   per target (default $FUZZ_SECS or 600: ten minutes)
#     -j JOBS   targets run at once (default $FUZZ_JOBS or 1)
#     TARGET    fixture state events respstore request sse cli auth
#               (default: all of tests/fuzz/fuzz_*.c)
#   FUZZ_BUILD_DIR   the clang build (default build-fuzz/; configured here)
#
# New inputs go to <build dir>/fuzz-corpus/<target>/ (kept between runs;
# the committed seeds in tests/fuzz/corpus/ are only read).  To keep an
# input in the suite, copy it into tests/fuzz/corpus/<target>/.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
SECS=${FUZZ_SECS:-600}
JOBS=${FUZZ_JOBS:-1}
while getopts t:j:h opt; do
	case $opt in
	t) SECS=$OPTARG ;;
	j) JOBS=$OPTARG ;;
	*)
		sed -n '2,20p' "$0"
		[ "$opt" = h ] && exit 0
		exit 64
		;;
	esac
done
shift $((OPTIND - 1))
case $SECS$JOBS in *[!0-9]*)
	echo "bench/fuzz.sh: -t and -j take whole numbers" >&2
	exit 64
	;;
esac
B=${FUZZ_BUILD_DIR:-$SRC/build-fuzz}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$SRC"/tests/fuzz/fuzz_*.c; do
		t=${f##*/fuzz_}
		targets+=("${t%.c}")
	done
fi

CC=clang cmake -S "$SRC" -B "$B" -DTAU_FUZZ=ON -DTAU_BUILD_TESTS=OFF -DTAU_WERROR=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$B" -j"$(nproc)" --target fuzz >/dev/null

LOG=$B/fuzz-logs
ART=$B/fuzz-artifacts
mkdir -p "$LOG" "$ART"

run_one() {
	local t=$1 work=$B/fuzz-corpus/$1
	mkdir -p "$work"
	# -timeout: one input taking 10 s is a hang; -rss_limit_mb: a leak or a
	# blow-up; leaks are reported by ASan (detect_leaks)
	local dict=()
	[ -f "$SRC/tests/fuzz/$t.dict" ] && dict=(-dict="$SRC/tests/fuzz/$t.dict")
	"$B/fuzz_$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		"${dict[@]}" -artifact_prefix="$ART/$t-" "$work" "$SRC/tests/fuzz/corpus/$t" \
		>"$LOG/$t.log" 2>&1 || true
}

running=0
for t in "${targets[@]}"; do
	if [ ! -x "$B/fuzz_$t" ]; then
		echo "bench/fuzz.sh: no target '$t' (tests/fuzz/fuzz_$t.c)" >&2
		exit 64
	fi
	rm -f "$ART/$t-"*
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait

# stat NAME LOG: one of libFuzzer's -print_final_stats figures
stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }
# field NAME LINE: "cov: 123" -> 123
field() { sed -n "s/.* $1: \([0-9]*\).*/\1/p" <<<"$2"; }
printf '%-10s %12s %8s %15s %15s %13s  %s\n' target executions exec/s cov ft corpus crashes
bad=0
for t in "${targets[@]}"; do
	l=$LOG/$t.log
	first=$(grep -m1 -E '^#[0-9]+\s+INITED' "$l" || true)
	last=$(grep -E '^#[0-9]+\s+(DONE|NEW|REDUCE|pulse|INITED)' "$l" | tail -1 || true)
	n0=$(sed -n 's/.*corp: \([0-9]*\)\/.*/\1/p' <<<"$first")
	n1=$(sed -n 's/.*corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
	arts=$(find "$ART" -name "$t-*" -type f | wc -l)
	found=$arts
	[ "$arts" -gt 0 ] && found="$arts: $(find "$ART" -name "$t-*" -type f | head -3 | tr '\n' ' ')"
	[ "$arts" -gt 0 ] && bad=1
	printf '%-10s %12s %8s %15s %15s %13s  %s\n' "$t" "$(stat number_of_executed_units "$l")" \
		"$(stat average_exec_per_sec "$l")" \
		"$(field cov "$first")->$(field cov "$last")" "$(field ft "$first")->$(field ft "$last")" \
		"${n0:-?}->${n1:-?}" "$found"
done
echo "logs: $LOG"
exit "$bad"
