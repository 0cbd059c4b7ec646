#!/usr/bin/env bash
# gateway_runtime_runbook: every non-HTTP command of the operations runbook,
# run as written (cwd = a scratch "repository root", state dir .tau/gateway),
# with its exact text line format or its JSON keys in order.  The
# tau-coding-agent alias in the build dir must behave the same.
# On PostgreSQL (pg.gateway_runtime_runbook) the same commands run against
# the deployment standing for .tau/gateway; reports name the place
# (state.json or postgresql:<db>/<deployment>/posture), so every output is
# read with the place normalised (<posture>, <events>); what only a
# state directory has (state.json's bytes, records.log, the default
# directory) is files-only.
# backends: files pg
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/backend.sh"

ALIAS=$(dirname "$TAU_BIN")/tau-coding-agent

# keys FILE [PYTHON-PATH]: comma-joined keys of the JSON object at
# data<PATH> (order preserved), e.g. keys f '[0]["health"]'.
keys() {
	python3 - "$1" "${2:-}" <<'EOF'
import json, sys
from collections import OrderedDict
d = json.load(open(sys.argv[1]), object_pairs_hook=OrderedDict)
v = eval("d" + sys.argv[2])
print(",".join(v.keys()))
EOF
}
# jget FILE PYTHON-PATH: the JSON value at data<PATH>, compact.
jget() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps(eval("d" + sys.argv[2]), separators=(",", ":")))
EOF
}

HEALTH_KEYS="updated_unix_ms,cycle_duration_ms,queue_depth,active_runs,failure_streak,last_cycle_discovered,last_cycle_processed,last_cycle_completed,last_cycle_failed,last_cycle_duplicates"
N='[0-9]+'
SERVICE_LINE_RE="^gateway service status: state_path=<posture> service_status=(running|stopped) rollout_gate=(pass|hold) rollout_reason_code=[a-z_]+ guardrail_gate=(pass|hold) guardrail_reason_code=[a-z_]+ startup_attempts=$N startup_failure_streak=$N last_startup_error=[^ ]+ last_started_unix_ms=$N last_stopped_unix_ms=$N last_transition_unix_ms=$N last_stop_reason=[^ ]+ queue_depth=$N failure_streak=$N last_cycle_failed=$N last_cycle_completed=$N\$"

mkdir -p "$T/repo"
cd "$T/repo" || exit 1
t_state ST .tau/gateway
# gw ARGS...: the binary on the test's state, its stdout with the place
# normalised; its exit status
gw() {
	"$TAU_BIN" "${ST[@]}" "$@" | t_state_norm .tau/gateway
	return "${PIPESTATUS[0]}"
}
# posture_file: the posture (state.json on files) in a file, for keys
posture_file() { t_posture .tau/gateway >"$T/posture.json"; echo "$T/posture.json"; }

# --- service start ------------------------------------------------------------
gw --gateway-service-start >"$T/out" 2>"$T/err"
t_eq "service start: exit 0" "0" "$?"
t_eq "service start: one line" "1" "$(wc -l <"$T/out")"
t_match "service start: line format" "$SERVICE_LINE_RE" "$(cat "$T/out")"
t_contains "service start: running, gate pass" "service_status=running rollout_gate=pass rollout_reason_code=guardrail_checks_passing" "$(cat "$T/out")"
t_contains "service start: attempts 1, no error, no stop reason" "startup_attempts=1 startup_failure_streak=0 last_startup_error=none" "$(cat "$T/out")"
t_contains "service start: last_stop_reason none" "last_stop_reason=none" "$(cat "$T/out")"
t_eq "service start: quiet stderr" "" "$(cat "$T/err")"
t_check "service start: the posture written" t_posture .tau/gateway
t_eq "state.json: top-level keys in order" "schema_version,records,health,guardrail,service" "$(keys "$(posture_file)")"
t_eq "state.json: service keys in order" "status,startup_attempts,startup_failure_streak,last_startup_error,last_started_unix_ms,last_stopped_unix_ms,last_transition_unix_ms,last_stop_reason" "$(keys "$(posture_file)" '["service"]')"
t_eq "state.json: guardrail keys in order" "gate,reason_code,failure_streak_threshold,retryable_failures_threshold,failure_streak,last_failed_cases,last_retryable_failures,updated_unix_ms" "$(keys "$(posture_file)" '["guardrail"]')"
t_eq "state.json: health keys in order" "$HEALTH_KEYS" "$(keys "$(posture_file)" '["health"]')"
t_files_only "state.json's bytes" &&
	t_eq "state.json: pretty, no trailing newline" "}" "$(tail -c 1 .tau/gateway/state.json)"

# --- one runner cycle, so the inspect commands have something to show --------
gw --gateway-contract-runner --gateway-fixture "$FIXTURES/rollout-pass.json" >"$T/out" 2>"$T/err"
t_eq "runner: exit 0" "0" "$?"
t_eq "runner: summary line" "gateway runner summary: discovered=2 queued=2 applied=2 duplicate_skips=0 malformed=0 retryable_failures=0 retries=0 failed=0 upserted_requests=2" "$(sed -n 1p "$T/out")"
t_eq "runner: health line" "gateway runner health: state=healthy failure_streak=0 queue_depth=0 reason=no recent transport failures observed" "$(sed -n 2p "$T/out")"
t_eq "runner: two lines" "2" "$(wc -l <"$T/out")"
# (the snapshot generation and the log's length are the file store's own)
rkeys=next_seq,processed_case_count,request_count,method_counts,status_code_counts,error_code_counts
t_on_pg || rkeys=generation,log_bytes,$rkeys
t_eq "state.json: records block keys in order" "$rkeys" "$(keys "$(posture_file)" '["records"]')"
t_files_only "records.log is a file of the state directory" &&
	t_eq "records.log: request record keys in order" "case_id,method,endpoint,actor_id,status_code,outcome,error_code,response_body,updated_unix_ms" \
		"$(head -n 1 .tau/gateway/records.log | python3 -c 'import json,sys; from collections import OrderedDict; print(",".join(json.loads(sys.stdin.read(), object_pairs_hook=OrderedDict)[3].keys()))')"
# what the reports show of the cycle: two cases
C=2 COUNTS="processed_case_count=2 request_count=2 method_counts=GET:1,POST:1 status_code_counts=200:1,201:1"
CYCLES="cycle_reports=1 invalid_cycle_reports=0 last_reason_codes=healthy_cycle reason_code_counts=healthy_cycle:1"
JCOUNTS='[{"GET":1,"POST":1},{"200":1,"201":1},{},1,["healthy_cycle"]]'

# --- service stop with a reason ------------------------------------------------
gw --gateway-service-stop \
	--gateway-service-stop-reason maintenance_window >"$T/out" 2>"$T/err"
t_eq "service stop: exit 0" "0" "$?"
t_match "service stop: line format" "$SERVICE_LINE_RE" "$(cat "$T/out")"
t_contains "service stop: stopped, rollout hold by service_stopped" "service_status=stopped rollout_gate=hold rollout_reason_code=service_stopped guardrail_gate=pass guardrail_reason_code=guardrail_checks_passing" "$(cat "$T/out")"
t_contains "service stop: reason recorded" "last_stop_reason=maintenance_window" "$(cat "$T/out")"
t_contains "service stop: cycle counters carried" "last_cycle_failed=0 last_cycle_completed=$C" "$(cat "$T/out")"

# --- service status (text and JSON) ---------------------------------------------
gw --gateway-service-status >"$T/out"
t_eq "service status text: exit 0" "0" "$?"
t_match "service status text: line format" "$SERVICE_LINE_RE" "$(cat "$T/out")"
gw --gateway-service-status --gateway-service-status-json >"$T/svc.json"
t_eq "service status json: exit 0" "0" "$?"
t_eq "service status json: keys in order" "state_path,service_status,rollout_gate,rollout_reason_code,guardrail_gate,guardrail_reason_code,service_startup_attempts,service_startup_failure_streak,service_last_startup_error,service_last_started_unix_ms,service_last_stopped_unix_ms,service_last_transition_unix_ms,service_last_stop_reason,health" "$(keys "$T/svc.json")"
t_eq "service status json: health keys" "$HEALTH_KEYS" "$(keys "$T/svc.json" '["health"]')"
t_eq "service status json: values" '["<posture>","stopped","hold","service_stopped","maintenance_window",1]' \
	"$(jget "$T/svc.json" '["state_path"],d["service_status"],d["rollout_gate"],d["rollout_reason_code"],d["service_last_stop_reason"],d["service_startup_attempts"]')"
t_eq "service status json: pretty with 2-space indent" '  "state_path": "<posture>",' "$(sed -n 2p "$T/svc.json")"
gw --gateway-service-status --gateway-service-status-json=false >"$T/out"
t_match "service status json=false: text line" "$SERVICE_LINE_RE" "$(cat "$T/out")"

# A stop of a stopped service records nothing and says so (issue 12: the
# reference recorded it again, overwriting the incident's reason); exit 0.
gw --gateway-service-stop >"$T/out" 2>"$T/err"
t_eq "a repeated stop: exit 0" 0 "$?"
t_eq "a repeated stop: says so, with the reason in force" \
	"tau-gateway: already stopped (reason maintenance_window); nothing recorded" "$(cat "$T/err")"
t_contains "a repeated stop: the reason is kept" "last_stop_reason=maintenance_window" "$(cat "$T/out")"
gw --gateway-service-start >"$T/out"
t_contains "restart: running, attempts 2, stop reason kept" "service_status=running rollout_gate=pass" "$(cat "$T/out")"
t_contains "restart: attempts 2" "startup_attempts=2 " "$(cat "$T/out")"
t_contains "restart: last stop reason kept" "last_stop_reason=maintenance_window" "$(cat "$T/out")"
gw --gateway-service-start >"$T/out" 2>"$T/err"
t_eq "a repeated start: says so" "tau-gateway: already running; nothing recorded" "$(cat "$T/err")"
t_contains "a repeated start: not counted" "startup_attempts=2 " "$(cat "$T/out")"

# --- transport health inspect -----------------------------------------------------
gw --transport-health-inspect gateway >"$T/out"
t_eq "transport health text: exit 0" "0" "$?"
t_match "transport health text: line format" "^transport health inspect: transport=gateway target=gateway-service state_path=<posture> updated_unix_ms=$N cycle_duration_ms=$N queue_depth=0 active_runs=0 failure_streak=0 last_cycle_discovered=$C last_cycle_processed=$C last_cycle_completed=$C last_cycle_failed=0 last_cycle_duplicates=0\$" "$(cat "$T/out")"
gw --transport-health-inspect gateway --transport-health-json >"$T/th.json"
t_eq "transport health json: exit 0" "0" "$?"
t_eq "transport health json: an array of one row" "1" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/th.json")"
t_eq "transport health json: row keys in order" "transport,target,state_path,health" "$(keys "$T/th.json" '[0]')"
t_eq "transport health json: health keys in order" "$HEALTH_KEYS" "$(keys "$T/th.json" '[0]["health"]')"
t_eq "transport health json: row values" '["gateway","gateway-service","<posture>"]' "$(jget "$T/th.json" '[0]["transport"],d[0]["target"],d[0]["state_path"]')"
gw --transport-health-inspect ' GateWay ' >"$T/out"
t_eq "transport health: target trimmed, case-insensitive" "0" "$?"

# --- gateway status inspect ---------------------------------------------------------
gw --gateway-status-inspect >"$T/out"
t_eq "status inspect text: exit 0" "0" "$?"
t_match "status inspect text: line format" "^gateway status inspect: state_path=<posture> events_log_path=<events> events_log_present=true health_state=healthy health_reason=no recent transport failures observed rollout_gate=pass rollout_reason_code=guardrail_checks_passing service_status=running service_last_transition_unix_ms=$N service_last_started_unix_ms=$N service_last_stopped_unix_ms=$N service_last_stop_reason=maintenance_window service_startup_attempts=2 service_startup_failure_streak=0 service_last_startup_error=none guardrail_gate=pass guardrail_reason_code=guardrail_checks_passing $COUNTS error_code_counts=none guardrail_failure_streak_threshold=2 guardrail_retryable_failures_threshold=2 guardrail_failure_streak=0 guardrail_last_failed_cases=0 guardrail_last_retryable_failures=0 $CYCLES queue_depth=0 failure_streak=0 last_cycle_failed=0 last_cycle_completed=$C\$" "$(cat "$T/out")"
gw --gateway-status-inspect --gateway-status-json >"$T/st.json"
t_eq "status inspect json: exit 0" "0" "$?"
t_eq "status inspect json: keys in order" "state_path,events_log_path,events_log_present,health_state,health_reason,rollout_gate,rollout_reason_code,service_status,service_last_transition_unix_ms,service_last_started_unix_ms,service_last_stopped_unix_ms,service_last_stop_reason,service_startup_attempts,service_startup_failure_streak,service_last_startup_error,guardrail_gate,guardrail_reason_code,processed_case_count,request_count,method_counts,status_code_counts,error_code_counts,guardrail_failure_streak_threshold,guardrail_retryable_failures_threshold,guardrail_failure_streak,guardrail_last_failed_cases,guardrail_last_retryable_failures,cycle_reports,invalid_cycle_reports,last_reason_codes,reason_code_counts,health" "$(keys "$T/st.json")"
t_eq "status inspect json: counts" "$JCOUNTS" "$(jget "$T/st.json" '["method_counts"],d["status_code_counts"],d["error_code_counts"],d["cycle_reports"],d["last_reason_codes"]')"
t_eq "status inspect json: empty map rendered {}" '  "error_code_counts": {},' "$(grep '"error_code_counts"' "$T/st.json")"

# Status inspect counts only cycle lines (the events log also holds lifecycle
# lines: 4 start/stop transitions above) and reports garbage lines as invalid.
t_eq "events log: lifecycle lines present (the repeated stop and start wrote none)" "3" "$(t_events .tau/gateway | grep -c '"kind":"lifecycle"')"
t_eq "events log: one cycle line" 1 "$(t_events .tau/gateway | grep -c '"kind":"cycle"')"

# --- channel store inspect -----------------------------------------------------------
gw --channel-store-inspect gateway/ops-release-bot >"$T/out2"
t_eq "channel store inspect: exit 0" "0" "$?"
t_eq "channel store inspect: line" "channel store inspect: transport=gateway channel_id=ops-release-bot dir=<state>/channel-store/gateway/ops-release-bot log_records=2 context_records=2 invalid_log_lines=0 invalid_context_lines=0 artifact_records=0 invalid_artifact_lines=0 active_artifacts=0 expired_artifacts=0 memory_exists=true memory_bytes=185" \
	"$(t_state_norm .tau/gateway <"$T/out2")"
if t_files_only "--channel-store-root names a directory"; then
	"$TAU_BIN" --channel-store-root .tau/gateway/channel-store --channel-store-inspect gateway/ops-release-bot >"$T/out"
	t_eq "channel store inspect --channel-store-root: exit 0" "0" "$?"
	t_eq "channel store root defaults to <state-dir>/channel-store" "$(t_state_norm .tau/gateway <"$T/out")" \
		"$(t_state_norm .tau/gateway <"$T/out2")"
	t_eq "runbook path: channel-store/gateway/<actor_id>/ (no channels/ level)" "MEMORY.md,context.jsonl,log.jsonl,schema.json" \
		"$(ls .tau/gateway/channel-store/gateway/ops-release-bot | LC_ALL=C sort | paste -sd,)"
fi

# --- the default state dir is .tau/gateway ---------------------------------------------
t_files_only "the default state is the directory .tau/gateway" &&
"$TAU_BIN" --gateway-service-status >"$T/out" &&
t_contains "default state dir .tau/gateway" "state_path=.tau/gateway/state.json service_status=running" "$(cat "$T/out")"

# --- env variables drive the same flags -------------------------------------------------
# (on pg the state by TAU_GATEWAY_STATE_URL and TAU_GATEWAY_DEPLOYMENT)
if t_on_pg; then
	envs=(TAU_GATEWAY_STATE_URL="$TB_URL" TAU_GATEWAY_DEPLOYMENT="$(t_state_dep .tau/gateway)")
else
	envs=(TAU_GATEWAY_STATE_DIR=.tau/gateway)
fi
env "${envs[@]}" TAU_GATEWAY_STATUS_INSPECT=true "$TAU_BIN" >"$T/env.out" 2>&1
t_eq "env: TAU_GATEWAY_STATUS_INSPECT runs the inspect" "0" "$?"
t_match "env: same report" "^gateway status inspect: state_path=<posture> " "$(t_state_norm .tau/gateway <"$T/env.out")"

# --- the tau-coding-agent alias -------------------------------------------------------
t_eq "alias exists next to the binary" "yes" "$([ -x "$ALIAS" ] && echo yes)"
for args in "--gateway-service-status" "--gateway-service-status --gateway-service-status-json" \
	"--transport-health-inspect gateway --transport-health-json" "--gateway-status-inspect --gateway-status-json" \
	"--channel-store-inspect gateway/ops-release-bot"; do
	# shellcheck disable=SC2086 # word splitting of the flag list is intended
	gw $args >"$T/a" 2>&1
	# shellcheck disable=SC2086
	"$ALIAS" "${ST[@]}" $args 2>&1 | t_state_norm .tau/gateway >"$T/b"
	t_eq "alias: same output for $args" "$(cat "$T/a")" "$(cat "$T/b")"
done
"$ALIAS" "${ST[@]}" --gateway-service-stop --gateway-service-stop-reason emergency_rollback >"$T/out"
t_contains "alias: rollback stop" "service_status=stopped rollout_gate=hold rollout_reason_code=service_stopped" "$(cat "$T/out")"
t_contains "alias: rollback reason" "last_stop_reason=emergency_rollback" "$(cat "$T/out")"

t_done
