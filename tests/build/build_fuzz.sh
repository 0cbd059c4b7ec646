#!/usr/bin/env bash
# build_fuzz: the libFuzzer targets of tests/fuzz/ build with clang
# (-DTAU_FUZZ=ON: ASan + UBSan + libFuzzer) and each runs for a short,
# fixed time from its committed seeds (tests/fuzz/corpus/<target>/, the
# crash inputs found so far included).  A crash, leak, hang (one input
# over 10 s), memory blow-up or UB report fails the test.
#   TAU_FUZZ_SECS      seconds per target (default 8)
#   TAU_FUZZ_BUILD_DIR the clang build, kept between runs so it is
#                      incremental (default <source>/build-fuzz)
# bench/fuzz.sh runs the same targets for longer and prints figures.
. "$(dirname "$0")/../lib.sh"

SECS=${TAU_FUZZ_SECS:-8}
B=${TAU_FUZZ_BUILD_DIR:-$TAU_SOURCE_DIR/build-fuzz}
if ! command -v clang >/dev/null 2>&1; then
	t_fail "clang not found (scripts/setup.sh test installs clang and libclang-rt-14-dev)"
	t_done
	exit 1
fi
if CC=clang cmake -S "$TAU_SOURCE_DIR" -B "$B" -DTAU_FUZZ=ON -DTAU_BUILD_TESTS=OFF -DTAU_WERROR=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$T/configure.log" 2>&1 &&
	cmake --build "$B" -j"$(nproc)" --target fuzz >"$T/build.log" 2>&1; then
	t_ok "fuzz targets build (clang, libFuzzer, ASan, UBSan)"
else
	t_fail "fuzz targets build; the first errors:"
	grep -m 20 -E 'error|Error' "$T/configure.log" "$T/build.log" >&2
	t_done
	exit 1
fi

n=0
for src in "$TAU_SOURCE_DIR"/tests/fuzz/fuzz_*.c; do
	t=${src##*/fuzz_}
	t=${t%.c}
	n=$((n + 1))
	seeds=$TAU_SOURCE_DIR/tests/fuzz/corpus/$t
	if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
		t_fail "$t: no seeds in tests/fuzz/corpus/$t/"
		continue
	fi
	mkdir -p "$T/corpus-$t"
	# new inputs go to $T; the committed seeds are only read.  The log
	# lives outside $T: a fuzzer's own sanitizer report is judged here,
	# with its input, not by lib.sh's scan.
	log=$B/build_fuzz-$t.log
	dict=()
	[ -f "$TAU_SOURCE_DIR/tests/fuzz/$t.dict" ] && dict=(-dict="$TAU_SOURCE_DIR/tests/fuzz/$t.dict")
	if "$B/fuzz_$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		"${dict[@]}" -artifact_prefix="$T/$t-" "$T/corpus-$t" "$seeds" >"$log" 2>&1; then
		t_ok "$t: $(sed -n 's/^stat::number_of_executed_units: *//p' "$log") runs, no crash"
	else
		t_fail "$t: the fuzzer found a failure (log $log):"
		grep -m 8 -E 'ERROR|SUMMARY|runtime error|Test unit written|Running:' "$log" >&2
		for a in "$T/$t-"*; do
			[ -f "$a" ] || continue
			keep=$B/${a##*/}
			cp "$a" "$keep"
			echo "  input kept in $keep; replay: $B/fuzz_$t $keep" >&2
		done
	fi
done
t_check "every target ran ($n)" [ "$n" -ge 8 ]
t_done
