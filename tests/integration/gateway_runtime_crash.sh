#!/usr/bin/env bash
# gateway_runtime_crash: kill -9 a runner partway through a large fixture,
# many times (default 20 kills, 50k cases over 200 actors; TAU_CRASH_KILLS
# and TAU_CRASH_CASES override), at kill points spread over its whole run
# (load, evaluate, write).  After every kill: state.json parses (or is absent), every line of
# complete line of runtime-events.jsonl and of the channel-store JSONL files
# parses, and no state.json.corrupt-* copy appears (nothing was half-written).
# A partial last line (a write cut by the kill) is allowed until the next
# writer cuts it off; after the final run none may remain.
# A final uninterrupted run completes the work.  Temp files left by killed
# writers are reported.  (Sleeps here only choose kill points; nothing
# waits on them for readiness.)
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"

N=${TAU_CRASH_CASES:-50000}
KILLS=${TAU_CRASH_KILLS:-20}
python3 "$TAU_SOURCE_DIR/bench/gen_fixture.py" "$N" "$T/big.json" --actors 200 --malformed-every 1000 --name crash
S=$T/state
# Each cycle takes a tenth of the fixture, so every run that is not killed
# early has real work to write (channel stores of all 200 actors, a growing
# state.json) and the kills keep landing in writes.
CHUNK=$((N / 10))
RUN=("$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/big.json" --gateway-state-dir "$S"
	--gateway-queue-limit "$CHUNK" --gateway-processed-case-cap "$N")

# check_all WHEN: the invariants that must hold at any instant.
check_all() {
	python3 - "$S" "$1" <<'PY'
import glob, json, os, sys
d, when = sys.argv[1], sys.argv[2]
bad = []
p = os.path.join(d, "state.json")
if os.path.exists(p):
    try:
        s = json.load(open(p))
        assert s["schema_version"] == 2
    except Exception as e:
        bad.append("state.json: %s" % e)
files = [os.path.join(d, "runtime-events.jsonl")] + glob.glob(os.path.join(d, "channel-store/gateway/*/*.jsonl"))
for f in files:
    if not os.path.exists(f):
        continue
    with open(f, "rb") as fh:
        data = fh.read()
    # A write(2) is not atomic against SIGKILL (the kernel copies page by
    # page), so right after a kill the last line may be partial.  No reader
    # counts a line without '\n', and the next writer (holding the lock)
    # cuts it off; after an uninterrupted run none may remain.
    if data and not data.endswith(b"\n"):
        if when == "final":
            bad.append("%s: last line torn (no newline) after recovery" % f)
        data = data[:data.rfind(b"\n") + 1]
    for n, line in enumerate(data.splitlines(), 1):
        try:
            json.loads(line)
        except Exception:
            bad.append("%s:%d torn: %r" % (f, n, line[:60]))
            break
if glob.glob(os.path.join(d, "state.json.corrupt-*")):
    bad.append("a corrupt state.json was moved aside")
print("ok" if not bad else "; ".join(bad[:3]))
PY
}

# Time a steady-state cycle (the second one, with the store already laid
# out) elsewhere, to spread the kill points over it.
"${RUN[@]/$S/$T/timing}" >/dev/null 2>&1
start=$(date +%s%N)
"${RUN[@]/$S/$T/timing}" >/dev/null 2>&1
full_ms=$((($(date +%s%N) - start) / 1000000))
rm -rf "$T/timing"
echo "# a cycle of $CHUNK of $N cases takes ${full_ms} ms here"

completed=0
for ((k = 1; k <= KILLS; k++)); do
	# kill points at k/KILLS of a full run (plus a little jitter), so loads,
	# evaluations and writes are all hit
	delay_ms=$((full_ms * k / KILLS - RANDOM % 50))
	((delay_ms < 1)) && delay_ms=1
	t0=$(date +%s%N)
	"${RUN[@]}" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
	if kill -9 "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null
	else
		# it finished first: aim the next kills within its actual duration
		wait "$pid" 2>/dev/null
		completed=$((completed + 1))
		full_ms=$((($(date +%s%N) - t0) / 1000000))
	fi
	t_eq "kill $k at ${delay_ms} ms: state, events and store intact" "ok" "$(check_all "kill $k")"
done
echo "# $completed of $KILLS runs finished before their kill"
if [ "$completed" -lt "$KILLS" ]; then
	t_ok "$((KILLS - completed)) runs were killed partway"
else
	t_fail "every run finished before its kill: no crash was tested"
fi

leftover=$(find "$S" -name '.*.tmp-*' 2>/dev/null | wc -l)
echo "# temp files left by killed writers: $leftover"

# An uninterrupted run finishes the work.
"${RUN[@]}" --gateway-queue-limit "$N" >"$T/out" 2>"$T/err"
t_eq "final run: exit 0" "0" "$?"
# the only thing it may say is that it undid the last killed cycle's appends
final_err=$(cat "$T/err")
if [ -z "$final_err" ]; then
	t_ok "final run: stderr quiet"
else
	t_match "final run: stderr says only that it undid the killed cycle's appends" \
		'^tau-gateway: warning: undid the channel-store appends of an interrupted cycle \([0-9]+ files\)$' \
		"$final_err"
fi
t_eq "final run: invariants" "ok" "$(check_all final)"
t_eq "final run: every case processed" "$N" \
	"$(python3 "$TAU_SOURCE_DIR/tests/integration/lib/records.py" "$S" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["processed_case_keys"]))')"
"${RUN[@]}" >"$T/out" 2>&1
t_contains "after recovery a rerun only dedupes" "applied=0 duplicate_skips=$N " "$(cat "$T/out")"
"$TAU_BIN" --gateway-state-dir "$S" --gateway-status-inspect >"$T/out"
t_contains "status inspect: no invalid cycle lines" " invalid_cycle_reports=0 " "$(cat "$T/out")"
echo "# temp files still present after the recovery runs: $(find "$S" -name '.*.tmp-*' | wc -l)"
find "$S" -name '.*.tmp-*' | sed "s|^$S/|#   |" | head -5
# The cycle journal undoes the channel-store appends of a cycle killed
# before its state.json was saved, so no case is logged twice (each case
# is applied once: the fixture has no retryable cases).
t_eq "no channel-store log line was repeated by the reruns after kills" "0" "$(python3 -c '
import glob, json, sys
n = u = 0
for f in glob.glob(sys.argv[1] + "/channel-store/gateway/*/log.jsonl"):
    keys = [json.loads(l)["event_key"] for l in open(f)]
    n += len(keys); u += len(set(keys))
print(n - u)' "$S")"
t_eq "every case logged exactly once" "$N" "$(cat "$S"/channel-store/gateway/*/log.jsonl | wc -l)"
t_eq "no journal left behind" "no" "$([ -e "$S/.cycle-journal" ] && echo yes || echo no)"

t_done
