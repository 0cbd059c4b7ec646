#!/usr/bin/env bash
# gateway_runtime_queue_drain: a fixture larger than --gateway-queue-limit
# drains over successive cycles (processed cases are skipped before the
# limit applies), queue_depth reports the unprocessed remainder, and the
# processed-case cap bounds the dedupe memory.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"

GEN=$TAU_SOURCE_DIR/bench/gen_fixture.py
python3 "$GEN" 150 "$T/f150.json" --actors 7 --malformed-every 0 --name drain-150
S=$T/state

# cycle N: expected queued, duplicate_skips, queue_depth
cycle() {
	local n=$1 queued=$2 dups=$3 depth=$4 out
	out=$("$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/f150.json" --gateway-state-dir "$S" \
		--gateway-queue-limit 64 2>&1)
	t_eq "cycle $n: exit 0" "0" "$?"
	t_eq "cycle $n: summary" "gateway runner summary: discovered=150 queued=$queued applied=$queued duplicate_skips=$dups malformed=0 retryable_failures=0 retries=0 failed=0 upserted_requests=$queued" "$(sed -n 1p <<<"$out")"
	t_eq "cycle $n: queue_depth is the remainder" "gateway runner health: state=healthy failure_streak=0 queue_depth=$depth reason=no recent transport failures observed" "$(sed -n 2p <<<"$out")"
}
cycle 1 64 0 86
t_contains "cycle 1: backpressure reason code" '"reason_codes":["queue_backpressure_applied"],' "$(tail -n 1 "$S/runtime-events.jsonl")"
t_contains "cycle 1: backlog in the event line" '"backlog_cases":86,' "$(tail -n 1 "$S/runtime-events.jsonl")"
"$TAU_BIN" --gateway-state-dir "$S" --transport-health-inspect gateway >"$T/out"
t_contains "cycle 1: transport health shows the depth" " queue_depth=86 " "$(cat "$T/out")"
cycle 2 64 64 22
t_contains "cycle 2: backpressure and duplicates" '"reason_codes":["queue_backpressure_applied","duplicate_cases_skipped"],' "$(tail -n 1 "$S/runtime-events.jsonl")"
cycle 3 22 128 0
t_contains "cycle 3: drained" '"reason_codes":["duplicate_cases_skipped"],' "$(tail -n 1 "$S/runtime-events.jsonl")"
cycle 4 0 150 0
t_eq "drained: 150 processed keys, 150 records" "150 150" "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(len(d["processed_case_keys"]), len(d["requests"]))' "$S/state.json")"
"$TAU_BIN" --gateway-state-dir "$S" --gateway-status-inspect >"$T/out"
t_contains "status inspect: 4 cycles" " cycle_reports=4 invalid_cycle_reports=0 " "$(cat "$T/out")"
t_contains "status inspect: queue empty" " queue_depth=0 " "$(cat "$T/out")"

# Every case was applied exactly once: one log line per case across actors.
t_eq "channel store: one log line per case" "150" "$(cat "$S"/channel-store/gateway/*/log.jsonl | wc -l)"
t_eq "channel store: 7 actors" "7" "$(ls "$S/channel-store/gateway" | wc -l)"

# The processed-case cap keeps only the newest keys.
C=$T/capped
"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/f150.json" --gateway-state-dir "$C" \
	--gateway-queue-limit 1000 --gateway-processed-case-cap 100 >"$T/out" 2>&1
t_eq "cap: first cycle applies all 150" "gateway runner summary: discovered=150 queued=150 applied=150 duplicate_skips=0 malformed=0 retryable_failures=0 retries=0 failed=0 upserted_requests=150" "$(sed -n 1p "$T/out")"
t_eq "cap: 100 keys kept, the newest" '100 case-00000050 case-00000149' "$(python3 -c '
import json, sys
k = json.load(open(sys.argv[1]))["processed_case_keys"]
print(len(k), k[0].split(":")[-1], k[-1].split(":")[-1])' "$C/state.json")"

t_done
