#!/usr/bin/env bash
# gateway_pg_runner: the contract runner and channel-store inspect on
# PostgreSQL (--gateway-state-url) give what they give on a state directory.
#  1. one sequence (the contract fixtures and the worked examples' runs,
#     invalid fixtures, a contract mismatch, a queue limit with backlog, a
#     processed-case cap that drops old keys, a stop and --gateway-fail-on-
#     hold, status inspect and transport health in text and JSON, channel-
#     store inspect of every actor, a missing one and a bad ref) run on a
#     fresh directory and on a fresh database: every exit status, stdout
#     and stderr is the same byte for byte once the place (the directory, or
#     postgresql:<db>/default) and the clock are masked;
#  2. what the runner stored is the same: the event lines (runtime-events
#     .jsonl vs tau_event), every actor's log and context lines (log.jsonl,
#     context.jsonl vs tau_channel_line) and MEMORY.md (vs tau_channel),
#     the processed keys in processing order and the request records
#     (the records store, read by lib/records.py, vs tau_record);
#  3. two runners (two processes, one database, as two replicas would be)
#     released at once over the same fixture, both past their first read
#     before either writes: the cycles serialise, every case is applied
#     exactly once (one log line per case, applied counts summing to the
#     cases, the other runner skipping them all), and the posture counts
#     each case once.
# Uses $TAU_TEST_PG_URL (scripts/test starts one cluster) or starts its own.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
pg_ensure
DB="tau_runner_$$"
pg_createdb URL "$DB" || { t_fail "create the test database"; t_done; exit 1; }
FIX=$TAU_SOURCE_DIR/fixtures/gateway-contract
D=$T/state
PGPLACE="postgresql:$DB/default"

# fixtures beyond the repository's: a contract mismatch (a new actor), and
# twelve cases over three actors for the queue limit and the cap
python3 - "$FIX/rollout-pass.json" "$T" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
m = json.loads(json.dumps(d))
c = json.loads(json.dumps(d["cases"][1]))
c["case_id"] = "zz-mismatch"
c["actor_id"] = "other-bot"
c["expected"]["response_body"]["status"] = "queued"
m["cases"].append(c)
json.dump(m, open(sys.argv[2] + "/mismatch.json", "w"))
many = json.loads(json.dumps(d))
many["name"] = "gateway-many"
many["cases"] = []
for i in range(12):
    c = json.loads(json.dumps(d["cases"][i % 2]))
    c["case_id"] = "many-%02d" % i
    c["actor_id"] = " ops@bot#%d " % (i % 3)   # trimmed, then sanitised
    c["expected"]["response_body"]["actor_id"] = c["actor_id"].strip()
    many["cases"].append(c)
json.dump(many, open(sys.argv[2] + "/many.json", "w"))
EOF

mask() {
	sed -E -e "s#$D#PLACE#g" -e "s#$PGPLACE#PLACE#g" \
		-e 's#PLACE/(state\.json|posture)#PLACE/STATE#g' \
		-e 's#PLACE/(runtime-events\.jsonl|events)#PLACE/EVENTS#g' \
		-e 's/(unix_ms[=":]+ ?)[0-9]+/\1N/g' -e 's/("?cycle_duration_ms"?[=:] ?)[0-9]+/\1N/g' \
		-e 's/^tau-gateway: state file PLACE/tau-gateway: state PLACE/'
	# (a posture row is no file: "state PLACE/STATE does not exist", the advice the same)
}
# seq_run STORE-ARGS...: the sequence; each command's exit status, stdout, stderr (masked)
seq_run() {
	local cmd
	while IFS= read -r cmd; do
		cmd=${cmd//@FIX@/$FIX}
		cmd=${cmd//@T@/$T}
		# shellcheck disable=SC2086
		"$TAU_BIN" "$@" $cmd >"$T/o" 2>"$T/e"
		printf '== %s -> %s\n%s\n-- stderr\n%s\n' "$cmd" "$?" "$(mask <"$T/o")" "$(mask <"$T/e")"
	done <<'EOF'
--gateway-status-inspect
--channel-store-inspect gateway/ops-bot
--gateway-contract-runner --gateway-fixture @FIX@/mixed-outcomes.json
--gateway-contract-runner --gateway-fixture @FIX@/mixed-outcomes.json
--gateway-status-inspect --gateway-status-json
--gateway-contract-runner --gateway-fixture @FIX@/mixed-outcomes.json --gateway-fail-on-hold
--gateway-contract-runner --gateway-fixture @FIX@/rollout-pass.json
--gateway-contract-runner --gateway-fixture @FIX@/rollout-pass.json
--gateway-contract-runner --gateway-fixture @FIX@/invalid-duplicate-case-id.json
--gateway-contract-runner --gateway-fixture @FIX@/invalid-error-code.json
--gateway-contract-runner --gateway-fixture @T@/mismatch.json
--channel-store-inspect gateway/other-bot
--gateway-contract-runner --gateway-fixture @T@/many.json --gateway-queue-limit 5
--gateway-contract-runner --gateway-fixture @T@/many.json --gateway-queue-limit 5
--gateway-contract-runner --gateway-fixture @FIX@/rollout-pass.json --gateway-processed-case-cap 3
--gateway-contract-runner --gateway-fixture @T@/many.json --gateway-processed-case-cap 3
--gateway-status-inspect
--transport-health-inspect gateway
--transport-health-inspect gateway --transport-health-json
--gateway-service-stop --gateway-service-stop-reason drill
--gateway-contract-runner --gateway-fixture @FIX@/rollout-pass.json --gateway-fail-on-hold
--gateway-service-start
--gateway-contract-runner --gateway-fixture @FIX@/mixed-outcomes.json
--gateway-status-inspect
--gateway-status-inspect --gateway-status-json
--channel-store-inspect gateway/ops-bot
--channel-store-inspect gateway/ops-release-bot
--channel-store-inspect gateway/ops@bot#0
--channel-store-inspect gateway/ops_bot_1
--channel-store-inspect gateway/ops_bot_2
--channel-store-inspect gateway/nobody
--channel-store-inspect nobody
EOF
}
files=$(seq_run --gateway-state-dir "$D")
pg=$(seq_run --gateway-state-url "$URL")
t_contains "the sequence ran on files" '-- stderr' "$files"
t_contains "files: the runner ran" 'gateway runner summary: discovered=3 queued=3 applied=1' "$files"
# the first cap run (3) kept the 2 pinned keys of its fixture and the newest
# other, so the next run of many.json re-applies the 11 dropped ones; its own
# cap then keeps its 12 pinned keys only
t_contains "files: the cap dropped keys that were then applied again" \
	'discovered=12 queued=11 applied=11 duplicate_skips=1 ' "$files"
t_contains "files: and kept the running fixture's twelve" 'processed_case_count=12 request_count=17 ' "$files"
t_contains "files: inspect found a sanitised actor" 'channel_id=ops@bot#0 dir=PLACE/channel-store/gateway/ops_bot_0 log_records=' "$files"
t_eq "every exit status, stdout and stderr is the file store's" "$files" "$pg"
if [ "$files" != "$pg" ]; then diff <(echo "$files") <(echo "$pg") | head -40 >&2; fi

# --- 2. what was stored -------------------------------------------------------------
untime() { sed -E 's/"(timestamp_unix_ms|updated_unix_ms)":[0-9]+/"\1":N/g; s/"cycle_duration_ms":[0-9]+/"cycle_duration_ms":N/g'; }
t_eq "the event lines" "$(untime <"$D/runtime-events.jsonl")" \
	"$(pg_sql "$URL" "SELECT line FROM tau_event WHERE deployment = 'default' ORDER BY seq" | untime)"
t_eq "the events: 11 cycles (the invalid and mismatched runs write none) and 2 lifecycle lines" "11 2" \
	"$(grep -c '"kind":"cycle"' "$D/runtime-events.jsonl") $(grep -c '"kind":"lifecycle"' "$D/runtime-events.jsonl")"
actors=$(cd "$D/channel-store/gateway" && LC_ALL=C ls)
t_eq "the actors' channels" "$actors" \
	"$(pg_sql "$URL" "SELECT channel FROM tau_channel WHERE deployment = 'default' AND transport = 'gateway' ORDER BY channel COLLATE \"C\"")"
t_eq "five channels (ops-bot, ops-release-bot, ops_bot_0..2)" 5 "$(echo "$actors" | wc -l)"
for a in $actors; do
	for k in log context; do
		t_eq "$a: $k lines" "$(untime <"$D/channel-store/gateway/$a/$k.jsonl")" \
			"$(pg_sql "$URL" "SELECT line FROM tau_channel_line WHERE deployment = 'default' AND transport = 'gateway' AND channel = '$a' AND kind = '$k' ORDER BY seq" | untime)"
	done
	# (psql's output drops the final newline; md5 of the stored text compares the bytes)
	t_eq "$a: MEMORY.md" "$(md5sum <"$D/channel-store/gateway/$a/MEMORY.md" | cut -d' ' -f1)" \
		"$(pg_sql "$URL" "SELECT md5(memory) FROM tau_channel WHERE deployment = 'default' AND channel = '$a'")"
done
python3 "$TAU_SOURCE_DIR/tests/integration/lib/records.py" "$D" >"$T/records.json"
t_eq "the processed keys, in processing order" \
	"$(jq -r '.processed_case_keys[]' "$T/records.json")" \
	"$(pg_sql "$URL" "SELECT key FROM tau_record WHERE deployment = 'default' AND seq > 0 ORDER BY seq")"
t_eq "16 of them: the cap's 12, then rollout-pass's 2 and mixed-outcomes' 2" 16 \
	"$(jq '.processed_case_keys | length' "$T/records.json")"
t_eq "the request records" \
	"$(jq -c '.requests[] | {case_key, case_id, method, endpoint, actor_id, status_code, outcome, error_code, response_body}' "$T/records.json")" \
	"$(pg_sql "$URL" "SELECT json_build_object('case_key', key, 'r', record::json) FROM tau_record WHERE deployment = 'default' AND record IS NOT NULL ORDER BY key" |
		jq -c '{case_key} + .r | {case_key, case_id, method, endpoint, actor_id, status_code, outcome, error_code, response_body}')"

# --- 3. two runners at once serialise ------------------------------------------------
python3 - "$FIX/rollout-pass.json" "$T/race.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["name"] = "gateway-race"
cases = []
for i in range(200):
    c = json.loads(json.dumps(d["cases"][i % 2]))
    c["case_id"] = "race-%03d" % i
    c["actor_id"] = "race-%d" % (i % 7)
    c["expected"]["response_body"]["actor_id"] = c["actor_id"]
    cases.append(c)
d["cases"] = cases
json.dump(d, open(sys.argv[2], "w"))
EOF
R=(--gateway-state-url "$URL" --gateway-deployment race)
"$TAU_BIN" "${R[@]}" --gateway-service-start >/dev/null
# hold the deployment's row so both runners queue on it, then let them go
# together: each reads (step A) before either writes (step C)
mkfifo "$T/hold.in"
psql -X -q -At -d "$URL" <"$T/hold.in" >"$T/hold.out" 2>&1 &
HOLD=$!
T_PIDS+=($HOLD)
exec 7>"$T/hold.in"
echo "BEGIN; SELECT 'held' FROM tau_deployment WHERE name = 'race' FOR UPDATE;" >&7
t_wait_line "$T/hold.out" '^held$' 10 || t_fail "the row is held"
pids=()
for i in 1 2; do
	"$TAU_BIN" "${R[@]}" --gateway-contract-runner --gateway-fixture "$T/race.json" --gateway-queue-limit 500 \
		--gateway-lock-wait-ms 60000 >"$T/race.$i.out" 2>"$T/race.$i.err" &
	pids+=($!)
	T_PIDS+=($!)
done
# both wait on the row lock (awaited, bounded: 20 s)
waiting=0
for _ in $(seq 1 200); do
	waiting=$(pg_sql "$URL" "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'tau-gateway race pid % (runner cycle)' AND wait_event_type = 'Lock'")
	[ "$waiting" = 2 ] && break
	sleep 0.1
done
t_eq "both runners wait for the held row" 2 "$waiting"
echo "COMMIT;" >&7
exec 7>&-
wait "$HOLD"
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
t_eq "two runners: both exit 0" 0 "$bad"
sums=$(cat "$T"/race.*.out | sed -nE 's/.* applied=([0-9]+) duplicate_skips=([0-9]+) .*/\1 \2/p' |
	awk '{a += $1; d += $2} END {print a, d}')
t_eq "two runners: 200 applied in all, the other runner skipped all 200" "200 200" "$sums"
t_eq "two runners: one read before the other wrote, and skipped all it had evaluated" 1 \
	"$(cat "$T"/race.*.out | grep -c 'queued=200 applied=0 duplicate_skips=200 ')"
t_eq "two runners: one log line per case, each case once" "200 200" \
	"$(pg_sql "$URL" "SELECT count(*), count(DISTINCT line::json->>'event_key') FROM tau_channel_line WHERE deployment = 'race' AND kind = 'log'" | tr '|' ' ')"
t_eq "two runners: two cycle events, in commit order the first applied" "200 0" \
	"$(pg_sql "$URL" "SELECT line::json->>'applied_cases' FROM tau_event WHERE deployment = 'race' AND line::json->>'kind' = 'cycle' ORDER BY seq" | tr '\n' ' ' | sed 's/ $//')"
t_contains "two runners: the posture counts 200 keys and records once" "processed_case_count=200 request_count=200 " \
	"$("$TAU_BIN" "${R[@]}" --gateway-status-inspect)"

# --- 4. a stop during a cycle ends it ----------------------------------------------
# (as gateway_runtime_stop_during_cycle on files: the runner sleeps through
# a 60 s backoff with no transaction open and reads the posture row)
in_backoff() {
	local w s
	w=$(cat "/proc/$1/wchan" 2>/dev/null) || return 1
	[[ $w == *nanosleep* ]] && return 0
	s=$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)
	[[ $s == 230 || $s == 115 ]]
}
wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 20; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
gone() { ! kill -0 "$1" 2>/dev/null; }
S=(--gateway-state-url "$URL" --gateway-deployment stopme)
"$TAU_BIN" "${S[@]}" --gateway-service-start >/dev/null
t_spawn RUN "$TAU_BIN" "${S[@]}" --gateway-contract-runner --gateway-fixture "$FIX/mixed-outcomes.json" \
	--gateway-retry-base-delay-ms 60000
t_check "stop: the runner reached its retry backoff" wait_until 20 in_backoff "$RUN"
t_contains "stop: recorded at once" "service_status=stopped" \
	"$(timeout 10 "$TAU_BIN" "${S[@]}" --gateway-service-stop --gateway-service-stop-reason emergency_rollback)"
if wait_until 5 gone "$RUN"; then
	t_ok "stop: the cycle ended early (within 5 s of the stop)"
	wait "$RUN"
	t_eq "stop: runner exit 0" 0 "$?"
else
	t_fail "stop: the cycle ended early (within 5 s of the stop)"
fi
t_eq "stop: the runner says so" "tau-gateway: warning: the service was stopped during the cycle (reason emergency_rollback); the cycle ended early and applied no case" "$(cat "$T/RUN.err")"
t_eq "stop: nothing applied" "gateway runner summary: discovered=3 queued=3 applied=0 duplicate_skips=0 malformed=0 retryable_failures=0 retries=0 failed=0 upserted_requests=0" "$(sed -n 1p "$T/RUN.out")"
t_contains "stop: the last event says service_stopped" '"reason_codes":["service_stopped"],' \
	"$(pg_sql "$URL" "SELECT line FROM tau_event WHERE deployment = 'stopme' ORDER BY seq DESC LIMIT 1")"
t_eq "stop: no record, no channel" "0 0" \
	"$(pg_sql "$URL" "SELECT (SELECT count(*) FROM tau_record WHERE deployment = 'stopme'), (SELECT count(*) FROM tau_channel WHERE deployment = 'stopme')" | tr '|' ' ')"
t_done
