#!/usr/bin/env bash
# gateway_pg_xfer_demo: the runbook's demo state round-trips through
# PostgreSQL (--gateway-state-import, then --gateway-state-export) with
# nothing lost, the runner's records and channel store included.
#  1. scripts/demo/gateway.sh (its 8 steps) makes a state directory; a
#     second runner cycle (mixed outcomes: a retryable failure, whose record
#     has no processed key) and a third whose actor's name is sanitised
#     ("Ops Team@east" -> Ops_Team_east) add channels and records, and a
#     server adds stored responses and two sessions;
#  2. it is imported into a deployment (the summary counts 8 records and 3
#     channels; the database holds them: records, processed keys, channel
#     lines, MEMORY.md texts) and exported into a new directory;
#  3. every file of the two trees is the same bytes, except the documented
#     ones: the records snapshot and log (the export writes one fresh
#     snapshot generation: records-1.snap, no records.log), state.json's
#     "generation" and "log_bytes" (which name them), .lock files and the
#     runner's MEMORY.md spares (scratch that nothing reads: the import
#     skips them and the export writes none);
#  4. every report prints the same bytes on the original, on the deployment
#     and on the export (paths masked): service status, status inspect,
#     transport-health inspect (text and JSON), channel-store inspect of
#     every channel; a rerun of each runner fixture skips every case as a
#     duplicate with the same summary on all three; and GET / input_items
#     of every stored response answer the same bytes from a server on each.
#  5. a killed cycle's .cycle-journal is resolved before the channel store
#     is read (its uncommitted line does not move); what the rows cannot hold is refused (64, naming it; the deployment
#     stays empty): an artifacts/ directory in a channel, a schema.json the
#     runner would not write; and a blank line in log.jsonl (65); an export
#     of a channel row named '..' is refused (65) and leaves no directory.
# Uses $TAU_TEST_PG_URL (scripts/test starts one cluster) or starts its own.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/http.sh"
pg_ensure
pg_createdb URL "tau_xferdemo_$$" || { t_fail "create the test database"; t_done; exit 1; }
TOKEN=xfer-demo-token-81a2
gw() { "$TAU_BIN" "$@"; }
# holds DEPLOYMENT: "posture|events|records|processed|channels|lines|responses|sessions"
holds() {
	pg_sql "$URL" "SELECT (SELECT count(posture) FROM tau_deployment WHERE name = '$1')
		|| '|' || (SELECT count(*) FROM tau_event WHERE deployment = '$1')
		|| '|' || (SELECT count(record) FROM tau_record WHERE deployment = '$1')
		|| '|' || (SELECT count(*) FROM tau_record WHERE deployment = '$1' AND seq > 0)
		|| '|' || (SELECT count(*) FROM tau_channel WHERE deployment = '$1')
		|| '|' || (SELECT count(*) FROM tau_channel_line WHERE deployment = '$1')
		|| '|' || (SELECT count(*) FROM tau_response WHERE deployment = '$1')
		|| '|' || (SELECT count(*) FROM tau_session WHERE deployment = '$1')"
}

# --- 1. the demo's state, and more ------------------------------------------------
ROOT=$T/repo
mkdir -p "$ROOT/fixtures"
cp -r "$TAU_SOURCE_DIR/fixtures/gateway-contract" "$ROOT/fixtures/"
bash "$TAU_SOURCE_DIR/scripts/demo/gateway.sh" --skip-build --binary "$TAU_BIN" --repo-root "$ROOT" \
	--timeout-seconds 60 >"$T/demo.out" 2>&1
t_eq "the demo passes its 8 steps" "0 [demo:gateway] summary: total=8 passed=8 failed=0" \
	"$? $(tail -n 1 "$T/demo.out")"
S=$ROOT/.tau/demo-gateway
FX=$ROOT/fixtures/gateway-contract
ODD=$T/odd-actor.json
jq '.name = "odd-actor" | .cases |= map(.case_id += "-odd" | .actor_id = "Ops Team@east"
	| .expected.response_body.actor_id = "Ops Team@east")' "$FX/rollout-pass.json" >"$ODD"
FIXES=("$FX/rollout-pass.json" "$FX/mixed-outcomes.json" "$ODD")
for f in "$FX/mixed-outcomes.json" "$ODD"; do
	gw --gateway-contract-runner --gateway-fixture "$f" --gateway-state-dir "$S" >/dev/null
	t_eq "a runner cycle on $(basename "$f")" 0 "$?"
done
h_gateway GW --gateway-state-dir "$S"
h_post '{"model":"local/echo","input":"first turn"}'
R1=$(h_jq .id)
h_post "{\"model\":\"local/echo\",\"input\":\"second turn\",\"previous_response_id\":\"$R1\"}"
R2=$(h_jq .id)
for t in 'one a' 'one b' 'two a'; do
	h_post "{\"model\":\"local/echo\",\"input\":\"session $t\",\"metadata\":{\"session_id\":\"s-${t% *}\"}}"
done
R3=$(h_jq .id)
h_stop "$GW"
chans() { (cd "$S/channel-store" && ls -d */* | sort); }
t_eq "the source holds three channels" "gateway/Ops_Team_east gateway/ops-bot gateway/ops-release-bot" \
	"$(chans | paste -sd' ')"
t_contains "the odd actor's schema.json names it unsanitised" '"channel_id": "Ops Team@east"' \
	"$(cat "$S/channel-store/gateway/Ops_Team_east/schema.json")"

# --- 2. import, export ---------------------------------------------------------------
out=$(gw --gateway-state-url "$URL" --gateway-deployment d --gateway-state-import "$S" 2>&1)
t_eq "import: exit 0" 0 "$?"
t_eq "import: the summary" "imported $S into postgresql:tau_xferdemo_$$/d: posture 1, events $(wc -l <"$S/runtime-events.jsonl"), records 7, channel store 3, responses 5, sessions 2" "$out"
t_eq "the deployment holds every record, processed key, channel and channel line" \
	"1|$(wc -l <"$S/runtime-events.jsonl")|7|6|3|$(cat "$S"/channel-store/*/*/*.jsonl | wc -l)|5|2" "$(holds d)"
E=$T/exported
out=$(gw --gateway-state-url "$URL" --gateway-deployment d --gateway-state-export "$E" 2>&1)
t_eq "export: exit 0 and the summary" "0 exported postgresql:tau_xferdemo_$$/d into $E: posture 1, events $(wc -l <"$S/runtime-events.jsonl"), records 7, channel store 3, responses 5, sessions 2" "$? $out"

# --- 3. the trees --------------------------------------------------------------------
tree() { (cd "$1" && find . -type f ! -name .lock ! -name .run.lock ! -name 'records-*.snap' \
	! -name records.log ! -name '.*.spare' | sort); }
t_check "the original holds MEMORY.md spares (else the import skipped none)" \
	test -n "$(find "$S/channel-store" -name .MEMORY.md.spare)"
t_eq "the two trees hold the same files (records store, locks, spares aside)" "$(tree "$S")" "$(tree "$E")"
t_eq "the export's records are one fresh snapshot" "./records-1.snap" \
	"$(cd "$E" && find . -name 'records*' | sort | paste -sd' ')"
differ="" same=0
while IFS= read -r f; do
	if [ "$f" = ./state.json ]; then
		jmask() { sed -E 's/"(generation|log_bytes)": [0-9]+/"\1": N/' "$1"; }
		[ "$(jmask "$S/$f")" = "$(jmask "$E/$f")" ] && same=$((same + 1)) || differ+=" $f"
	elif cmp -s "$S/$f" "$E/$f"; then same=$((same + 1)); else differ+=" $f"; fi
done < <(tree "$S")
t_eq "every file is the same bytes (state.json: its generation and log_bytes masked)" "" "$differ"
t_eq "files compared" "$(tree "$S" | wc -l)" "$same"
t_eq "... among them every channel's 4 files" 12 "$(tree "$S" | grep -c '^./channel-store/')"

# --- 4. the reports, the runner, the server ---------------------------------------------
reports() { # STORE-ARGS... (a state directory's or the deployment's)
	gw "$@" --gateway-service-status
	gw "$@" --gateway-service-status --gateway-service-status-json
	gw "$@" --gateway-status-inspect
	gw "$@" --gateway-status-inspect --gateway-status-json
	gw "$@" --transport-health-inspect gateway
	gw "$@" --transport-health-inspect gateway --transport-health-json
}
chan_reports() { # [--channel-store-root DIR | STORE-ARGS...]
	local c
	for c in $(chans); do gw "$@" --channel-store-inspect "$c"; done
}
mask() { sed -E -e "s#$S/#PLACE/#g" -e "s#$E/#PLACE/#g" -e "s#postgresql:tau_xferdemo_$$/d/#PLACE/#g" \
	-e 's#(state_path|events_log_path)=[^ ]*#\1=PLACE#g' \
	-e 's#"(state_path|events_log_path)": "[^"]*"#"\1": "PLACE"#g'; }
PG=(--gateway-state-url "$URL" --gateway-deployment d)
rs=$({ reports --gateway-state-dir "$S"; chan_reports --channel-store-root "$S/channel-store"; } 2>&1 | mask)
re=$({ reports --gateway-state-dir "$E"; chan_reports --channel-store-root "$E/channel-store"; } 2>&1 | mask)
rp=$({ reports "${PG[@]}"; chan_reports "${PG[@]}"; } 2>&1 | mask)
t_match "the reports ran (the server's stop, after the demo's)" 'startup_attempts=2 .*last_stop_reason=openresponses_server_shutdown' "$rs"
t_contains "... and channel-store inspect of the odd actor" 'channel_id=Ops_Team_east dir=PLACE/channel-store/gateway/Ops_Team_east log_records=2 context_records=2 invalid_log_lines=0' "$rs"
t_eq "every report: the export's are the original's, byte for byte" "$rs" "$re"
t_eq "every report: the deployment's are the original's (place masked)" "$rs" "$rp"

rerun() { # STORE-ARGS...
	local f
	for f in "${FIXES[@]}"; do gw --gateway-contract-runner --gateway-fixture "$f" "$@" 2>&1 | mask; done
}
us=$(rerun --gateway-state-dir "$S")
ue=$(rerun --gateway-state-dir "$E")
up=$(rerun "${PG[@]}")
t_contains "a rerun skips every case of the demo's fixture" \
	'gateway runner summary: discovered=2 queued=0 applied=0 duplicate_skips=2' "$us"
t_eq "a rerun of every fixture: the export's summaries are the original's" "$us" "$ue"
t_eq "a rerun of every fixture: the deployment's summaries are the original's" "$us" "$up"
cs=$(chan_reports --channel-store-root "$S/channel-store" | mask)
t_eq "... after it, channel-store inspect still agrees (export)" "$cs" \
	"$(chan_reports --channel-store-root "$E/channel-store" | mask)"
t_eq "... (deployment)" "$cs" "$(chan_reports "${PG[@]}" 2>&1 | mask)"

answers() {
	local id
	for id in "$R1" "$R2" "$R3"; do
		h_req GET "/v1/responses/$id"
		printf '%s %s\n' "$HS" "$(cat "$T/body")"
		h_req GET "/v1/responses/$id/input_items"
		printf '%s %s\n' "$HS" "$(cat "$T/body")"
	done
}
h_gateway GS --gateway-state-dir "$S"
as=$(answers)
h_stop "$GS"
h_gateway GE --gateway-state-dir "$E"
ae=$(answers)
h_stop "$GE"
h_gateway GP "${PG[@]}"
ap=$(answers)
h_stop "$GP"
t_eq "GET and input_items: 6 answers, all 200" 6 "$(printf '%s\n' "$as" | grep -c '^200 ')"
t_eq "the export's server answers the original's bytes" "$as" "$ae"
t_eq "the deployment's server answers the original's bytes" "$as" "$ap"

# --- 5. what cannot move ------------------------------------------------------------------
refused() { # NAME DIR EXIT MESSAGE
	local out
	out=$(gw --gateway-state-url "$URL" --gateway-deployment "$1" --gateway-state-import "$2" 2>&1)
	t_eq "$1: exit $3" "$3" "$?"
	t_eq "... one line naming it" "$4" "$out"
	t_eq "... the deployment is empty" "0|0|0|0|0|0|0|0" "$(holds "$1")"
}
B=$T/bad
cp -r "$E" "$B"
mkdir -p "$B/channel-store/gateway/ops-bot/artifacts"
echo '{"id":"a1"}' >"$B/channel-store/gateway/ops-bot/artifacts/index.jsonl"
refused artifacts "$B" 64 "tau-gateway: cannot import $B: it holds channel-store/gateway/ops-bot/artifacts, which the channel store in PostgreSQL does not keep (only log.jsonl, context.jsonl, MEMORY.md and schema.json); nothing was written"
rm -rf "$B/channel-store/gateway/ops-bot/artifacts"
sed -i 's/"ops-bot"/"ops-bot-2"/' "$B/channel-store/gateway/ops-bot/schema.json"
refused schema "$B" 64 "tau-gateway: cannot import $B: channel-store/gateway/ops-bot/schema.json is not the one the runner writes for that channel, which is all the channel store in PostgreSQL can give back; nothing was written"
cp "$E/channel-store/gateway/ops-bot/schema.json" "$B/channel-store/gateway/ops-bot/"
printf '\n' >>"$B/channel-store/gateway/ops-bot/log.jsonl"
refused blank "$B" 65 "tau-gateway: $B/channel-store/gateway/ops-bot/log.jsonl line $(wc -l <"$B/channel-store/gateway/ops-bot/log.jsonl") is blank; the channel store in PostgreSQL keeps only the runner's JSON lines"
# a cycle killed after its channel appends, before its state save, left a
# journal: the import resolves it as the next runner would, so the
# uncommitted line does not move
J=$T/journal
cp -r "$E" "$J"
L=channel-store/gateway/ops-bot/log.jsonl
printf 'tau-gateway cycle journal 1 1\n%s %s\n' "$(stat -c %s "$J/$L")" "$L" >"$J/.cycle-journal"
echo '{"uncommitted":true}' >>"$J/$L"
gw --gateway-state-url "$URL" --gateway-deployment journal --gateway-state-import "$J" >/dev/null 2>&1
t_eq "an import past a killed cycle's journal: exit 0" 0 "$?"
t_eq "... the uncommitted line is not in the deployment" \
	"$(wc -l <"$E/$L")" "$(pg_sql "$URL" "SELECT count(*) FROM tau_channel_line WHERE deployment = 'journal' AND channel = 'ops-bot' AND kind = 'log'")"
t_check "... and the directory is as its committed state says (the journal resolved)" cmp "$E/$L" "$J/$L"
t_eq "... its journal gone" no "$([ -e "$J/.cycle-journal" ] && echo yes || echo no)"

# a channel row whose name is not the runner's (written behind its back) never becomes a path
pg_sql "$URL" "INSERT INTO tau_channel (deployment, transport, channel) VALUES ('d', 'gateway', '..')" >/dev/null
out=$(gw "${PG[@]}" --gateway-state-export "$T/dotdot" 2>&1)
t_eq "export of a channel named '..': 65, naming it" "65 tau-gateway: cannot export the channel gateway/..: not a name the runner writes" "$? $out"
t_eq "... no directory, no staging directory" "" "$(ls -d "$T"/dotdot* 2>/dev/null)"
t_done
