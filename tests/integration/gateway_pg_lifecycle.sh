#!/usr/bin/env bash
# gateway_pg_lifecycle: the runbook's lifecycle and inspect commands on
# PostgreSQL (--gateway-state-url) give what they give on a state
# directory; writers on PostgreSQL serialise; deployments are apart.
#  1. one sequence of start / stop (reason) / status (text, JSON) / status
#     inspect (text, JSON) / transport health (text, JSON) / start, run on a
#     state directory and on a database: every exit status and every output
#     is the same once the place (state_path, events_log_path) and the clock
#     (*_unix_ms) are masked (and the "does not exist" message, whose
#     advice differs: only the file store runs the contract runner yet);
#  2. the posture row holds the same service block state.json does, and
#     the event rows the same lifecycle lines runtime-events.jsonl does; a
#     posture with a runner's health and guardrail (copied from a state
#     directory after a cycle) keeps them through a stop, and the health,
#     service and guardrail views match the directory's;
#  3. 20 starts at once: startup_attempts is 20, and 20 start events with
#     attempts 1..20 each once (no lost update);
#  4. two deployments in one database do not see each other;
#  5. a writer waits for a held row no longer than --gateway-lock-wait-ms
#     (exit 69 naming the deployment), gets in once it is free, and after a
#     second names the holder when the holder is a gateway (its
#     application_name), as a state directory's lock wait does.
# Uses $TAU_TEST_PG_URL (scripts/test starts one cluster) or starts its own.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
pg_ensure
pg_createdb URL "tau_lifecycle_$$" || { t_fail "create the test database"; t_done; exit 1; }

D=$T/state
mask() {
	sed -E -e 's/(state_path|events_log_path)=[^ ]*/\1=PLACE/g' \
		-e 's/"(state_path|events_log_path)": "[^"]*"/"\1": "PLACE"/g' \
		-e 's/(unix_ms[=":]+ ?)[0-9]+/\1N/g' \
		-e 's/^tau-gateway: state (file )?[^ ]+ does not exist .*/tau-gateway: MISSING/'
}
# seq STORE-ARGS...: the sequence; prints each command's exit status and masked output
seq_run() {
	local cmd
	while IFS= read -r cmd; do
		# shellcheck disable=SC2086
		out=$("$TAU_BIN" "$@" $cmd 2>&1)
		printf '== %s -> %s\n%s\n' "$cmd" "$?" "$(printf '%s\n' "$out" | mask)"
	done <<'EOF'
--gateway-status-inspect
--gateway-service-status
--gateway-service-start
--gateway-service-status --gateway-service-status-json
--gateway-service-stop --gateway-service-stop-reason emergency_rollback
--gateway-service-status
--gateway-status-inspect
--gateway-status-inspect --gateway-status-json
--transport-health-inspect gateway
--transport-health-inspect gateway --transport-health-json
--gateway-service-start
--gateway-service-status --gateway-service-status-json
EOF
}
files=$(seq_run --gateway-state-dir "$D")
pg=$(seq_run --gateway-state-url "$URL")
t_match "the sequence ran on files" '== --gateway-service-stop --gateway-service-stop-reason emergency_rollback -> 0' "$files"
t_contains "before any start, inspect is 66 on files" "== --gateway-status-inspect -> 66" "$files"
t_contains "the stop is recorded on PostgreSQL" "last_stop_reason=emergency_rollback" "$pg"
if [ "$files" == "$pg" ]; then
	t_ok "PostgreSQL and files: same exit statuses and outputs"
else
	t_fail "PostgreSQL and files differ:"
	diff <(printf '%s\n' "$files") <(printf '%s\n' "$pg") | head -20 >&2
fi
t_contains "PostgreSQL names its place, not a path" \
	"state_path=postgresql:tau_lifecycle_$$/default/posture" \
	"$("$TAU_BIN" --gateway-state-url "$URL" --gateway-service-status)"
t_contains "no password-free URL part leaks into the report either" "events_log_path=postgresql:tau_lifecycle_$$/default/events " \
	"$("$TAU_BIN" --gateway-state-url "$URL" --gateway-status-inspect)"

# --- 2. the rows hold what the files hold ------------------------------------
row_service=$(pg_sql "$URL" "SELECT posture FROM tau_deployment WHERE name = 'default'" |
	python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["service"]))' | mask)
file_service=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["service"]))' \
	"$D/state.json" | mask)
t_eq "the posture row's service block is state.json's" "$file_service" "$row_service"
t_eq "the event rows are the event log's lines" \
	"$(mask <"$D/runtime-events.jsonl")" \
	"$(pg_sql "$URL" "SELECT line FROM tau_event WHERE deployment = 'default' ORDER BY seq" | mask)"

# a runner's posture, carried over: health and guardrail survive a transition
D2=$T/state2
"$TAU_BIN" --gateway-state-dir "$D2" --gateway-contract-runner \
	--gateway-fixture "$FIXTURES/mixed-outcomes.json" --gateway-retry-base-delay-ms 0 >/dev/null 2>&1
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({k: d[k] for k in ("schema_version","health","guardrail","service")}))' \
	"$D2/state.json" >"$T/posture.json"
t_match "the cycle left a health block worth carrying" '"last_cycle_discovered": [1-9]' "$(cat "$T/posture.json")"
"$TAU_BIN" --gateway-state-url "$URL" --gateway-deployment seeded --gateway-service-status >/dev/null
# (psql quotes the variable; it interpolates only in what it reads, not in -c)
echo "INSERT INTO tau_deployment (name, posture, created_unix_ms) VALUES ('seeded', :'p', 0)" |
	psql -X -q -v ON_ERROR_STOP=1 -d "$URL" -v p="$(cat "$T/posture.json")" >/dev/null
t_eq "seeded a deployment with that posture" 0 "$?"
views() { # STORE-ARGS...: the posture views, masked
	"$TAU_BIN" "$@" --transport-health-inspect gateway --transport-health-json | mask
	"$TAU_BIN" "$@" --gateway-service-status --gateway-service-status-json | mask
	"$TAU_BIN" "$@" --gateway-status-inspect --gateway-status-json |
		jq -c '{health_state, health_reason, rollout_gate, rollout_reason_code, guardrail_gate, guardrail_failure_streak, guardrail_last_failed_cases, guardrail_last_retryable_failures}'
}
t_eq "health, service and guardrail views: the database's are the directory's" \
	"$(views --gateway-state-dir "$D2")" "$(views --gateway-state-url "$URL" --gateway-deployment seeded)"
"$TAU_BIN" --gateway-state-dir "$D2" --gateway-service-stop --gateway-service-stop-reason r >/dev/null
"$TAU_BIN" --gateway-state-url "$URL" --gateway-deployment seeded --gateway-service-stop --gateway-service-stop-reason r >/dev/null
t_eq "after a stop on both: still the same" \
	"$(views --gateway-state-dir "$D2")" "$(views --gateway-state-url "$URL" --gateway-deployment seeded)"
t_eq "the row kept the runner's health and guardrail through the stop" \
	"$(jq -cS '{health, guardrail}' "$T/posture.json")" \
	"$(pg_sql "$URL" "SELECT posture FROM tau_deployment WHERE name = 'seeded'" | jq -cS '{health, guardrail}')"

# --- 3. 20 concurrent starts serialise ----------------------------------------
pids=()
for i in $(seq 1 20); do
	"$TAU_BIN" --gateway-state-url "$URL" --gateway-deployment conc --gateway-service-start \
		>"$T/conc.$i.out" 2>"$T/conc.$i.err" &
	pids+=($!)
	T_PIDS+=($!) # killed by t_cleanup if the test stops early
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
t_eq "20 concurrent starts: all exit 0" 0 "$bad"
# serialised, the first start records and the other 19 find it running:
# they record nothing and say so (two records would be a lost update)
t_contains "20 concurrent starts: one recorded" "startup_attempts=1 " \
	"$("$TAU_BIN" --gateway-state-url "$URL" --gateway-deployment conc --gateway-service-status)"
t_eq "one start event" "1" \
	"$(pg_sql "$URL" "SELECT count(*) FROM tau_event WHERE deployment = 'conc'")"
t_eq "the 19 others said already running" "19" "$(cat "$T"/conc.*.err | grep -c '^tau-gateway: already running; nothing recorded$')"
t_eq "every answer shows attempt 1" "$(printf '1 %.0s' $(seq 1 20))" \
	"$(cat "$T"/conc.*.out | sed -E 's/.* startup_attempts=([0-9]+) .*/\1/' | sort -n | tr '\n' ' ')"

# --- 4. deployments are apart ----------------------------------------------------
"$TAU_BIN" --gateway-state-url "$URL" --gateway-deployment staging --gateway-service-start >/dev/null
"$TAU_BIN" --gateway-state-url "$URL" --gateway-deployment staging --gateway-service-stop \
	--gateway-service-stop-reason staging_only >/dev/null
t_contains "staging is stopped" "service_status=stopped" \
	"$("$TAU_BIN" --gateway-state-url "$URL" --gateway-deployment staging --gateway-service-status)"
prod=$("$TAU_BIN" --gateway-state-url "$URL" --gateway-deployment production --gateway-service-status)
t_contains "production, never started, has the defaults" "service_status=running" "$prod"
t_contains "production saw no start of staging's" "startup_attempts=0 " "$prod"
t_contains "the default deployment kept its own posture" "startup_attempts=2 " \
	"$("$TAU_BIN" --gateway-state-url "$URL" --gateway-service-status)"
"$TAU_BIN" --gateway-state-url "$URL" --gateway-deployment production --gateway-status-inspect >"$T/p.out" 2>"$T/p.err"
t_eq "production has no posture to inspect: 66" 66 "$?"
t_contains "and says which deployment" "tau_lifecycle_$$/production/posture" "$(cat "$T/p.err")"
t_eq "staging's events are staging's alone" "2" \
	"$(pg_sql "$URL" "SELECT count(*) FROM tau_event WHERE deployment = 'staging'")"
TAU_GATEWAY_DEPLOYMENT=staging "$TAU_BIN" --gateway-state-url "$URL" --gateway-service-status >"$T/env.out"
t_contains "TAU_GATEWAY_DEPLOYMENT picks the deployment" "last_stop_reason=staging_only" "$(cat "$T/env.out")"
TAU_GATEWAY_STATE_URL=$URL "$TAU_BIN" --gateway-service-status >"$T/env.out"
t_contains "TAU_GATEWAY_STATE_URL picks the database" "state_path=postgresql:tau_lifecycle_$$/default/posture" \
	"$(cat "$T/env.out")"

# --- 5. the row lock's wait is bounded ------------------------------------------------
mkfifo "$T/hold.sql"
PGAPPNAME=tau-holder t_spawn H psql -X -q -At -d "$URL" -f "$T/hold.sql"
exec 7>"$T/hold.sql"
echo "BEGIN; SELECT 1 FROM tau_deployment WHERE name = 'default' FOR UPDATE;" >&7
# held COND: one session whose application_name matches COND (SQL) sits in
# its open transaction, so it holds what it locked (polled, bounded: 10 s)
held() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(pg_sql "$URL" "SELECT count(*) FROM pg_stat_activity WHERE application_name $1 AND state = 'idle in transaction'")" = 1 ] &&
			return 0
		sleep 0.05
	done
	return 1
}
t_check "another session holds the default deployment's row" held "= 'tau-holder'"
t0=$(date +%s%N)
"$TAU_BIN" --gateway-state-url "$URL" --gateway-lock-wait-ms 300 --gateway-service-stop >"$T/w.out" 2>"$T/w.err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
t_eq "a held row: the stop gives up with 69" 69 "$rc"
t_eq "and says what it waited for, once" "tau-gateway: gave up waiting for deployment 'default' of tau_lifecycle_$$ after 300 ms: held by another session (--gateway-lock-wait-ms sets the bound)" \
	"$(cat "$T/w.err")"
echo "# gave up after ${ms} ms (bound 300 ms)"
[ "$ms" -ge 300 ] && [ "$ms" -lt 5000 ]
t_eq "it waited the bound, not forever" 0 "$?"
st=$("$TAU_BIN" --gateway-state-url "$URL" --gateway-service-status)
t_contains "nothing was written: still running" "service_status=running " "$st"
t_contains "nothing was written: no stop counted" "startup_attempts=2 " "$st"
echo "ROLLBACK;" >&7
exec 7>&-
wait "$H"
"$TAU_BIN" --gateway-state-url "$URL" --gateway-lock-wait-ms 300 --gateway-service-stop >"$T/w.out" 2>"$T/w.err"
t_eq "the row free again: the stop exits 0" 0 "$?"

# a writer names itself (application_name) for the length of its transaction,
# so a waiter says whom it waits for after a second, as a directory's does;
# here a session that names itself the way a runner cycle would holds the row
mkfifo "$T/hold2.sql"
PGAPPNAME="tau-gateway default pid 4242 (runner cycle)" t_spawn H2 psql -X -q -At -d "$URL" -f "$T/hold2.sql"
exec 8>"$T/hold2.sql"
echo "BEGIN; SELECT 1 FROM tau_deployment WHERE name = 'default' FOR UPDATE;" >&8
t_check "a 'runner cycle' holds the row" held "LIKE 'tau-gateway default pid 4242 %'"
t_spawn WAITER "$TAU_BIN" --gateway-state-url "$URL" --gateway-lock-wait-ms 20000 --gateway-service-start
t_check "after a second the waiter names the holder" t_wait_line "$T/WAITER.err" \
	"^tau-gateway: waiting for deployment 'default' of tau_lifecycle_$$ held by pid 4242 \\(runner cycle\\) on local$" 10
t_eq "and has written nothing meanwhile" "" "$(cat "$T/WAITER.out")"
echo "ROLLBACK;" >&8
exec 8>&-
wait "$H2"
wait "$WAITER"
t_eq "the holder gone, the waiter's start goes through" 0 "$?"
t_contains "and is recorded" "service_status=running" "$(cat "$T/WAITER.out")"
t_eq "the notice was said once" 1 "$(grep -c 'waiting for deployment' "$T/WAITER.err")"
t_done
