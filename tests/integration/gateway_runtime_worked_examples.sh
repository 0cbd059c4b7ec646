#!/usr/bin/env bash
# gateway_runtime_worked_examples: the reference's worked examples (§13),
# with the counts of our corrected runner (issue 2):
#   - processed cases are skipped before the queue limit, so `queued` counts
#     only pending cases;
#   - retryable failures are counted per case (1 for a case that failed all
#     its attempts), retries per extra attempt;
#   - failed and malformed cases are stored as request records with their
#     error_code (so upserted_requests counts them and status inspect shows
#     real error-code counts);
#   - a contract mismatch writes nothing at all.
# Also: MEMORY.md content, channel-store lines, the events log ("kind":"cycle"
# and "kind":"lifecycle" lines) and status inspect counting only cycle lines.
# On PostgreSQL the same through lib/backend.sh: the posture row, tau_event,
# tau_record, tau_channel (MEMORY.md) and tau_channel_line; schema.json is a
# file of the channel store only.
# backends: files pg
# shellcheck disable=SC2046 # $(t_state_args DIR): its flags, one a line, no blanks
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/backend.sh"

# jget FILE PYTHON-EXPR: evaluates EXPR with d = the parsed file, prints it
# compactly (tuples as arrays).
jget() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps(eval(sys.argv[2]), separators=(",", ":")))
EOF
}
# rget DIR PYTHON-EXPR: jget over the state's keys and records (d =
# {"processed_case_keys": [...], "requests": [...]}, read from the store by
# t_records: lib/records.py, or the tau_record rows).
rget() {
	t_records "$1" >"$T/records.json" && jget "$T/records.json" "$2"
}
# pget DIR PYTHON-EXPR: jget over the posture (state.json, or its row)
pget() {
	t_posture "$1" >"$T/posture.json" && jget "$T/posture.json" "$2"
}
# untime: a filter; every "timestamp_unix_ms":N / "updated_unix_ms":N
# becomes <T>, so lines can be compared exactly.
untime() {
	sed -E 's/"(timestamp_unix_ms|updated_unix_ms)":[0-9]+/"\1":<T>/g; s/"cycle_duration_ms":[0-9]+/"cycle_duration_ms":<D>/g'
}

run() { # run DIR FIXTURE: one runner cycle, stdout in $T/out
	"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$2" $(t_state_args "$1") >"$T/out" 2>"$T/err"
}

# ===== §13.1 mixed-outcomes.json, run 1 ======================================
S=$T/mixed
run "$S" "$FIXTURES/mixed-outcomes.json"
t_eq "mixed run 1: exit 0 (gate hold does not fail the run)" "0" "$?"
t_eq "mixed run 1: summary" "gateway runner summary: discovered=3 queued=3 applied=1 duplicate_skips=0 malformed=1 retryable_failures=1 retries=3 failed=1 upserted_requests=3" "$(sed -n 1p "$T/out")"
t_eq "mixed run 1: health" "gateway runner health: state=degraded failure_streak=1 queue_depth=0 reason=recent transport failures observed (failure_streak=1, last_cycle_failed=1)" "$(sed -n 2p "$T/out")"
t_eq "mixed run 1: processed keys (queue order, retryable not processed)" \
	'["TRACE:/v1/tasks:gateway-malformed-unsupported-method","POST:/v1/tasks:gateway-success"]' \
	"$(rget "$S" 'd["processed_case_keys"]')"
t_eq "mixed run 1: request records in case_key order, failures included" \
	'[["GET:/v1/tasks/42:gateway-retryable-backend",503,"retryable_failure","gateway_backend_unavailable"],["POST:/v1/tasks:gateway-success",201,"success",""],["TRACE:/v1/tasks:gateway-malformed-unsupported-method",405,"malformed_input","gateway_unsupported_method"]]' \
	"$(rget "$S" '[[r["case_key"],r["status_code"],r["outcome"],r["error_code"]] for r in d["requests"]]')"
t_eq "mixed run 1: success record body" '{"actor_id":"ops-bot","endpoint":"/v1/tasks","method":"POST","status":"accepted"}' \
	"$(rget "$S" '[r for r in d["requests"] if r["outcome"]=="success"][0]["response_body"]')"
t_eq "mixed run 1: health block" '[0,0,1,3,3,2,1,0]' \
	"$(pget "$S" '[d["health"][k] for k in ("queue_depth","active_runs","failure_streak","last_cycle_discovered","last_cycle_processed","last_cycle_completed","last_cycle_failed","last_cycle_duplicates")]')"
t_eq "mixed run 1: guardrail hold by malformed input (1 retryable case < threshold 2)" \
	'["hold","malformed_input_observed",2,2,1,1,1]' \
	"$(pget "$S" '[d["guardrail"][k] for k in ("gate","reason_code","failure_streak_threshold","retryable_failures_threshold","failure_streak","last_failed_cases","last_retryable_failures")]')"
t_eq "mixed run 1: service block defaults (running, 0 attempts)" '["running",0,0,"",0,""]' \
	"$(pget "$S" '[d["service"][k] for k in ("status","startup_attempts","startup_failure_streak","last_startup_error","last_stopped_unix_ms","last_stop_reason")]')"

t_eq "mixed run 1: one events line" "1" "$(t_events "$S" | wc -l)"
t_eq "mixed run 1: events line" '{"timestamp_unix_ms":<T>,"kind":"cycle","health_state":"degraded","health_reason":"recent transport failures observed (failure_streak=1, last_cycle_failed=1)","rollout_gate":"hold","rollout_reason_code":"malformed_input_observed","guardrail_failure_streak_threshold":2,"guardrail_retryable_failures_threshold":2,"reason_codes":["malformed_inputs_observed","retry_attempted","retryable_failures_observed","case_processing_failed"],"discovered_cases":3,"queued_cases":3,"applied_cases":1,"duplicate_skips":0,"malformed_cases":1,"retryable_failures":1,"retry_attempts":3,"failed_cases":1,"upserted_requests":3,"backlog_cases":0,"failure_streak":1,"cycle_duration_ms":<D>,"fixture":"gateway-mixed-outcomes"}' \
	"$(t_events "$S" | untime)"

t_eq "mixed run 1: log.jsonl" '{"timestamp_unix_ms":<T>,"direction":"system","event_key":"TRACE:/v1/tasks:gateway-malformed-unsupported-method","source":"tau-gateway-runner","payload":{"case_id":"gateway-malformed-unsupported-method","endpoint":"/v1/tasks","error_code":"gateway_unsupported_method","method":"TRACE","outcome":"malformed_input","status_code":405}}
{"timestamp_unix_ms":<T>,"direction":"system","event_key":"GET:/v1/tasks/42:gateway-retryable-backend","source":"tau-gateway-runner","payload":{"case_id":"gateway-retryable-backend","endpoint":"/v1/tasks/42","error_code":"gateway_backend_unavailable","method":"GET","outcome":"retryable_failure","status_code":503}}
{"timestamp_unix_ms":<T>,"direction":"system","event_key":"POST:/v1/tasks:gateway-success","source":"tau-gateway-runner","payload":{"case_id":"gateway-success","endpoint":"/v1/tasks","method":"POST","outcome":"success","response_body":{"actor_id":"ops-bot","endpoint":"/v1/tasks","method":"POST","status":"accepted"},"status_code":201}}' \
	"$(t_chan_lines "$S" ops-bot log | untime)"
t_eq "mixed run 1: context.jsonl" '{"timestamp_unix_ms":<T>,"role":"system","text":"gateway case gateway-malformed-unsupported-method outcome=malformed_input error_code=gateway_unsupported_method status=405"}
{"timestamp_unix_ms":<T>,"role":"system","text":"gateway case gateway-retryable-backend outcome=retryable_failure error_code=gateway_backend_unavailable status=503"}
{"timestamp_unix_ms":<T>,"role":"system","text":"gateway case gateway-success applied method=POST endpoint=/v1/tasks status=201"}' \
	"$(t_chan_lines "$S" ops-bot context | untime)"
MEMORY1='# Tau Gateway Snapshot (ops-bot)

- gateway-retryable-backend GET /v1/tasks/42 status=503 outcome=retryable_failure
- gateway-success POST /v1/tasks status=201 outcome=success
- gateway-malformed-unsupported-method TRACE /v1/tasks status=405 outcome=malformed_input'
t_eq "mixed run 1: MEMORY.md (every record of the actor, case_key order)" "$MEMORY1" "$(t_chan_memory "$S" ops-bot)"
t_eq "mixed run 1: MEMORY.md ends with a newline" "1" "$(t_chan_memory "$S" ops-bot | tail -c 1 | wc -l)"
t_files_only "schema.json is a file of the channel store" &&
	t_eq "mixed run 1: schema.json" '{"schema_version":1,"transport":"gateway","channel_id":"ops-bot"}' \
		"$(jget "$S/channel-store/gateway/ops-bot/schema.json" 'd')"

"$TAU_BIN" $(t_state_args "$S") --gateway-status-inspect --gateway-status-json >"$T/st.json"
t_eq "mixed run 1: status inspect counts from real records" \
	'[3,2,{"GET":1,"POST":1,"TRACE":1},{"201":1,"405":1,"503":1},{"gateway_backend_unavailable":1,"gateway_unsupported_method":1}]' \
	"$(jget "$T/st.json" '[d["request_count"],d["processed_case_count"],d["method_counts"],d["status_code_counts"],d["error_code_counts"]]')"

# ===== §13.2 mixed-outcomes.json, run 2 and run 3 ===========================
run "$S" "$FIXTURES/mixed-outcomes.json"
t_eq "mixed run 2: summary (2 skipped before the queue; the retryable case again)" "gateway runner summary: discovered=3 queued=1 applied=0 duplicate_skips=2 malformed=0 retryable_failures=1 retries=3 failed=1 upserted_requests=1" "$(sed -n 1p "$T/out")"
t_eq "mixed run 2: health" "gateway runner health: state=degraded failure_streak=2 queue_depth=0 reason=recent transport failures observed (failure_streak=2, last_cycle_failed=1)" "$(sed -n 2p "$T/out")"
t_eq "mixed run 2: guardrail hold by failure streak" '["hold","failure_streak_threshold_exceeded",2,1,1]' \
	"$(pget "$S" '[d["guardrail"][k] for k in ("gate","reason_code","failure_streak","last_failed_cases","last_retryable_failures")]')"
t_eq "mixed run 2: health block" '[2,3,3,0,1,2]' \
	"$(pget "$S" '[d["health"][k] for k in ("failure_streak","last_cycle_discovered","last_cycle_processed","last_cycle_completed","last_cycle_failed","last_cycle_duplicates")]')"
t_eq "mixed run 2: still 3 records, 2 processed keys" '[3,2]' "$(rget "$S" '[len(d["requests"]),len(d["processed_case_keys"])]')"
t_eq "mixed run 2: reason codes" '["duplicate_cases_skipped","retry_attempted","retryable_failures_observed","case_processing_failed"]' \
	"$(t_events "$S" | tail -n 1 | python3 -c 'import json,sys; print(json.dumps(json.loads(sys.stdin.read())["reason_codes"],separators=(",",":")))')"
t_eq "mixed run 2: one more log and context line (retryable case)" "4 4" "$(t_chan_lines "$S" ops-bot log | wc -l) $(t_chan_lines "$S" ops-bot context | wc -l)"
t_contains "mixed run 2: the new log line is the retryable case" '"event_key":"GET:/v1/tasks/42:gateway-retryable-backend"' "$(t_chan_lines "$S" ops-bot log | tail -n 1)"
t_eq "mixed run 2: MEMORY.md content unchanged" "$MEMORY1" "$(t_chan_memory "$S" ops-bot)"
run "$S" "$FIXTURES/mixed-outcomes.json"
t_eq "mixed run 3: failing" "gateway runner health: state=failing failure_streak=3 queue_depth=0 reason=transport failures are sustained (failure_streak=3)" "$(sed -n 2p "$T/out")"
t_eq "mixed: one cycle line per run" "3" "$(t_events "$S" | grep -c '"kind":"cycle"')"

# ===== §13.3 rollout-pass.json, run 1 and run 2 ==============================
R=$T/rollout
run "$R" "$FIXTURES/rollout-pass.json"
t_eq "rollout run 1: exit 0" "0" "$?"
t_eq "rollout run 1: output" "gateway runner summary: discovered=2 queued=2 applied=2 duplicate_skips=0 malformed=0 retryable_failures=0 retries=0 failed=0 upserted_requests=2
gateway runner health: state=healthy failure_streak=0 queue_depth=0 reason=no recent transport failures observed" "$(cat "$T/out")"
t_eq "rollout run 1: processed keys" '["GET:/v1/tasks/42:gateway-rollout-fetch-task","POST:/v1/tasks:gateway-rollout-post-task"]' "$(rget "$R" 'd["processed_case_keys"]')"
t_eq "rollout run 1: GET record" '["GET:/v1/tasks/42:gateway-rollout-fetch-task","gateway-rollout-fetch-task","GET","/v1/tasks/42","ops-release-bot",200,"success","",{"actor_id":"ops-release-bot","endpoint":"/v1/tasks/42","method":"GET","status":"accepted"}]' \
	"$(rget "$R" '[d["requests"][0][k] for k in ("case_key","case_id","method","endpoint","actor_id","status_code","outcome","error_code","response_body")]')"
t_eq "rollout run 1: guardrail pass" '["pass","guardrail_checks_passing",2,2,0,0,0]' \
	"$(pget "$R" '[d["guardrail"][k] for k in ("gate","reason_code","failure_streak_threshold","retryable_failures_threshold","failure_streak","last_failed_cases","last_retryable_failures")]')"
t_contains "rollout run 1: events line" '"kind":"cycle","health_state":"healthy","health_reason":"no recent transport failures observed","rollout_gate":"pass","rollout_reason_code":"guardrail_checks_passing","guardrail_failure_streak_threshold":2,"guardrail_retryable_failures_threshold":2,"reason_codes":["healthy_cycle"],"discovered_cases":2,"queued_cases":2,"applied_cases":2,"duplicate_skips":0,"malformed_cases":0,"retryable_failures":0,"retry_attempts":0,"failed_cases":0,"upserted_requests":2,"backlog_cases":0,"failure_streak":0,' "$(t_events "$R")"
t_eq "rollout run 1: context.jsonl" '{"timestamp_unix_ms":<T>,"role":"system","text":"gateway case gateway-rollout-fetch-task applied method=GET endpoint=/v1/tasks/42 status=200"}
{"timestamp_unix_ms":<T>,"role":"system","text":"gateway case gateway-rollout-post-task applied method=POST endpoint=/v1/tasks status=201"}' "$(t_chan_lines "$R" ops-release-bot context | untime)"
t_eq "rollout run 1: MEMORY.md" '# Tau Gateway Snapshot (ops-release-bot)

- gateway-rollout-fetch-task GET /v1/tasks/42 status=200 outcome=success
- gateway-rollout-post-task POST /v1/tasks status=201 outcome=success' "$(t_chan_memory "$R" ops-release-bot)"
t_eq "rollout run 1: MEMORY.md is 185 bytes" "185" "$(t_chan_memory "$R" ops-release-bot | wc -c)"
store_sum=$(t_chan_digest "$R" ops-release-bot)

run "$R" "$FIXTURES/rollout-pass.json"
t_eq "rollout run 2: summary" "gateway runner summary: discovered=2 queued=0 applied=0 duplicate_skips=2 malformed=0 retryable_failures=0 retries=0 failed=0 upserted_requests=0" "$(sed -n 1p "$T/out")"
t_eq "rollout run 2: health unchanged" "gateway runner health: state=healthy failure_streak=0 queue_depth=0 reason=no recent transport failures observed" "$(sed -n 2p "$T/out")"
t_contains "rollout run 2: events reason codes and gate" '"rollout_gate":"pass","rollout_reason_code":"guardrail_checks_passing","guardrail_failure_streak_threshold":2,"guardrail_retryable_failures_threshold":2,"reason_codes":["duplicate_cases_skipped"]' "$(t_events "$R" | tail -n 1)"
t_eq "rollout run 2: health counters" '[2,0,2]' "$(pget "$R" '[d["health"][k] for k in ("last_cycle_processed","last_cycle_completed","last_cycle_duplicates")]')"
t_eq "rollout run 2: channel store untouched (MEMORY.md not rewritten)" "$store_sum" "$(t_chan_digest "$R" ops-release-bot)"

# ===== events log: cycle and lifecycle lines; inspect counts cycles only ====
# (the cycles left the service running: a start first would record nothing)
"$TAU_BIN" $(t_state_args "$R") --gateway-service-stop --gateway-service-stop-reason drill >/dev/null
"$TAU_BIN" $(t_state_args "$R") --gateway-service-start >/dev/null
t_eq "events: lifecycle lines" '[["stop","stopped","drill"],["start","running",""]]' \
	"$(python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
print(json.dumps([[r["transition"], r["service_status"], r["reason"]] for r in rows if r["kind"] == "lifecycle"], separators=(",", ":")))' < <(t_events "$R"))"
t_eq "events: every line is cycle or lifecycle" "4" "$(t_events "$R" | grep -cE '^\{"timestamp_unix_ms":[0-9]+,"kind":"(cycle|lifecycle)",')"
"$TAU_BIN" $(t_state_args "$R") --gateway-status-inspect --gateway-status-json >"$T/st.json"
t_eq "status inspect: 2 cycle reports, 0 invalid, lifecycle lines not counted" '[2,0,["duplicate_cases_skipped"],{"duplicate_cases_skipped":1,"healthy_cycle":1}]' \
	"$(jget "$T/st.json" '[d["cycle_reports"],d["invalid_cycle_reports"],d["last_reason_codes"],d["reason_code_counts"]]')"
t_event_add "$R" 'invalid-json-line'
"$TAU_BIN" $(t_state_args "$R") --gateway-status-inspect >"$T/out"
t_contains "status inspect: a garbage line is an invalid cycle report" "cycle_reports=2 invalid_cycle_reports=1 last_reason_codes=duplicate_cases_skipped reason_code_counts=duplicate_cases_skipped:1,healthy_cycle:1" "$(cat "$T/out")"

# ===== a contract mismatch writes nothing ====================================
python3 - "$FIXTURES/rollout-pass.json" "$T/mismatch.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
# a new case whose expected body disagrees with the evaluation
c = json.loads(json.dumps(d["cases"][1]))
c["case_id"] = "zz-mismatch"
c["actor_id"] = "other-bot"
c["expected"]["response_body"]["status"] = "queued"
d["cases"].append(c)
json.dump(d, open(sys.argv[2], "w"))
EOF
before=$(t_state_digest "$R")
run "$R" "$T/mismatch.json"
t_eq "contract mismatch: exit 1" "1" "$?"
t_match "contract mismatch: message names the case and the difference" "zz-mismatch.*response_body" "$(cat "$T/err")"
t_eq "contract mismatch: no stdout summary" "" "$(cat "$T/out")"
t_eq "contract mismatch: everything stored unchanged" "$before" "$(t_state_digest "$R")"
t_eq "contract mismatch: no channel store for the new actor" "no" "$(t_chan_exists "$R" other-bot && echo yes || echo no)"
run "$T/fresh-mismatch" "$T/mismatch.json"
t_eq "contract mismatch on a fresh dir: exit 1" "1" "$?"
if t_on_pg; then
	# (the deployment's row is there, as the directory and its .lock are:
	# the cycle locked it; it holds no posture)
	F=$T/fresh-mismatch
	t_eq "contract mismatch on a fresh deployment: no posture, no events, no records, no store" \
		'no 0 {"processed_case_keys":[],"requests":[]} 0' \
		"$(t_posture "$F" >/dev/null && echo yes || echo no) $(t_events "$F" | wc -l) $(t_records "$F") $(t_chan_list "$F" | wc -l)"
else
	t_eq "contract mismatch on a fresh dir: no state.json, no events, no store" "" \
		"$(cd "$T/fresh-mismatch" 2>/dev/null && find . -type f ! -name .lock | sort)"
fi

t_done
