#!/usr/bin/env bash
# 500 concurrent streams on local/echo (issue 9, section 3): every one
# answers 200 with a valid event sequence (response.created first,
# response.completed last, rising sequence_number, deltas adding up to the
# final text, data: [DONE]), and afterwards the server's threads and
# descriptors are back to what they were before, and its resident memory
# within 8 MiB of it.
#
# The baseline is taken after a warm-up burst of the same size, so memory
# the server keeps for reuse at its high-water mark (thread caches, the
# stored-response directory's pages) is in it.  jemalloc is told to return
# freed pages at once (MALLOC_CONF), otherwise it keeps them dirty until a
# later allocation and RSS would say nothing about the server's own
# memory.  Under AddressSanitizer (whose quarantine keeps freed memory) and
# ThreadSanitizer (whose shadow memory grows with every address a thread
# touches) RSS is not checked; the leak checker is, under ASan.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
ABUSE=$(dirname "$0")/lib/abuse.py

export MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0
h_gateway GW --gateway-openresponses-max-connections 600 --gateway-openresponses-max-connections-per-ip 100
# threads descriptors rss_kib
usage() {
	echo "$(awk '/^Threads:/ {print $2}' "/proc/$GW/status") $(ls "/proc/$GW/fd" | wc -l)" \
		"$(awk '/^VmRSS:/ {print $2}' "/proc/$GW/status")"
}
asan=no # (any sanitizer)
grep -qE '__(asan|tsan)_init' "$TAU_BIN" && asan=yes

warm=$(python3 "$ABUSE" streams "$ADDR" 500 "$TOKEN")
t_eq "warm-up: 500 streams valid" "streams valid: 500 of 500" "$(grep '^streams valid' <<<"$warm")"
read -r thr0 fd0 rss0 < <(usage)
work0=$(cat /proc/"$GW"/task/*/comm 2>/dev/null | grep -c '^tau-work$')
echo "# baseline: threads=$thr0 descriptors=$fd0 rss=${rss0} KiB"
for run in 1 2; do
	out=$(python3 "$ABUSE" streams "$ADDR" 500 "$TOKEN")
	echo "$out" | sed 's/^/# /'
	t_eq "run $run: 500 concurrent streams all valid" "streams valid: 500 of 500" "$(grep '^streams valid' <<<"$out")"
	# the last connections close as the client does: poll, bounded
	for ((i = 0; i < 100; i++)); do
		read -r thr fd rss < <(usage)
		[ "$thr" -le "$thr0" ] && [ "$fd" -le "$fd0" ] && break
		sleep 0.05
	done
	echo "# after run $run: threads=$thr descriptors=$fd rss=$rss KiB"
	if t_on_pg; then
		# on PostgreSQL a worker waits for a pooled connection to commit,
		# so the on-demand pool (never shrinking, bounded by
		# --gateway-openresponses-max-connections) can pass the warm-up's
		# high-water mark: the threads other than workers come back, the
		# workers stay within the bound
		work=$(cat /proc/"$GW"/task/*/comm 2>/dev/null | grep -c '^tau-work$')
		echo "# after run $run: workers=$work (baseline $work0)"
		t_eq "run $run: threads other than workers back to the baseline" "$((thr0 - work0))" "$((thr - work))"
		t_check "run $run: workers within the pool's bound ($work <= 600)" test "$work" -le 600
	else
		t_eq "run $run: threads back to the baseline" "$thr0" "$thr"
	fi
	t_eq "run $run: descriptors back to the baseline" "$fd0" "$fd"
	if [ "$asan" = no ] && t_files_only "RSS bound: the worker pool may grow on PostgreSQL (see above)"; then
		t_check "run $run: RSS within 8 MiB of the baseline ($rss KiB, baseline $rss0 KiB)" \
			test "$rss" -le $((rss0 + 8192))
	fi
done
h_req GET /healthz -m 5
t_eq "healthy afterwards" 200 "$HS"
h_stop "$GW"
t_eq "clean exit" 0 "$HRC"
t_done
