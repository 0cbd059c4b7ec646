#!/usr/bin/env bash
# gateway_pg_xfer: --gateway-state-import DIR / --gateway-state-export DIR
# move a state directory into a PostgreSQL deployment and back, losslessly.
#  1. a state directory made by the runbook's commands (service start, a
#     file server answering store:true requests: a chain of three by
#     previous_response_id, a stream, a store:false one, a deleted one;
#     three turns on two sessions; service stop with a reason) is imported, then exported into a new
#     directory: every file of the two trees is the same bytes (the only
#     file not carried is the server's .run.lock marker), a response file's
#     and a session file's mtime (their age for the TTLs) is kept to the
#     millisecond, and service status, status inspect and transport-health
#     inspect (text and JSON) print the same bytes on both directories (the
#     path masked), and the same as on the deployment (the place masked);
#  2. GET /v1/responses/{id} and .../input_items answer the same bytes from
#     a server on the original directory, one on the export and a replica
#     on the deployment, and a new turn of a session sees the same history
#     on each;
#  3. refusals: import into a deployment with state (73, naming it), export
#     into a non-empty directory or onto a file (73), export of a deployment
#     without state (66), either without --gateway-state-url (64), a
#     missing source (66), each leaving the deployment empty; a directory
#     holding runner records and a channel store (a runner cycle) is
#     imported (gateway_pg_xfer_demo round-trips them);
#  4. a malformed source is reported naming the file (65): state.json, and a
#     response file met after the posture and events were written, which
#     leaves the deployment empty (one transaction);
#  5. kill -9 during an import of 50,000 event lines (strace's injection:
#     at a statement early on, halfway, and at the COMMIT) leaves the
#     deployment empty each time, and a new import then succeeds with a
#     progress line per 10,000 events; kill -9 during an export (at its
#     second rename) leaves no DIR, only DIR.tmp-<pid>; the export then
#     holds every event line byte for byte, ones with quotes, backslashes,
#     braces and an empty line included.
# Uses $TAU_TEST_PG_URL (scripts/test starts one cluster) or starts its own.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/http.sh"
command -v strace >/dev/null || { t_fail "strace is needed (scripts/setup.sh installs it)"; t_done; exit 1; }
pg_ensure
pg_createdb URL "tau_xfer_$$" || { t_fail "create the test database"; t_done; exit 1; }
TOKEN=xfer-token-5c1d

gw() { "$TAU_BIN" "$@"; }
# holds DEPLOYMENT: "posture|events|responses" as the database has them
holds() {
	pg_sql "$URL" "SELECT (SELECT count(posture) FROM tau_deployment WHERE name = '$1')
		|| '|' || (SELECT count(*) FROM tau_event WHERE deployment = '$1')
		|| '|' || (SELECT count(*) FROM tau_response WHERE deployment = '$1')
		|| '|' || (SELECT count(*) FROM tau_session WHERE deployment = '$1')"
}

# --- 1. a runbook state directory, imported and exported ------------------------
S=$T/src
gw --gateway-state-dir "$S" --gateway-service-start >/dev/null
h_gateway GW --gateway-state-dir "$S"
h_post '{"model":"local/echo","input":"first turn"}'
R1=$(h_jq .id)
h_post "{\"model\":\"local/echo\",\"input\":\"second turn\",\"previous_response_id\":\"$R1\"}"
R2=$(h_jq .id)
h_post "{\"model\":\"local/echo\",\"input\":[{\"role\":\"user\",\"content\":\"third\"}],\"previous_response_id\":\"$R2\",\"instructions\":\"be brief\"}"
R3=$(h_jq .id)
curl -s -N -o "$T/sse" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data-binary '{"model":"local/echo","input":"streamed","stream":true}' "http://$ADDR/v1/responses"
RS=$(sed -n 's/^data: \(.*"type":"response.completed".*\)/\1/p' "$T/sse" | jq -r .response.id)
h_post '{"model":"local/echo","input":"not stored","store":false}'
h_post '{"model":"local/echo","input":"deleted"}'
RD=$(h_jq .id)
h_req DELETE "/v1/responses/$RD"
# two sessions (not stored as responses): s-one has two turns
for t in 'one a' 'one b' 'two a'; do
	h_post "{\"model\":\"local/echo\",\"input\":\"session $t\",\"store\":false,\"metadata\":{\"session_id\":\"s-${t% *}\"}}"
done
h_stop "$GW"
gw --gateway-state-dir "$S" --gateway-service-stop --gateway-service-stop-reason emergency_rollback >/dev/null
t_eq "the source holds 4 stored responses" 4 "$(ls "$S/openresponses/responses" | grep -c '\.json$')"
t_match "the stream was stored" '^resp_' "$RS"
t_eq "the source holds 2 sessions" 2 "$(ls "$S/openresponses/sessions" | grep -c '\.jsonl$')"

out=$(gw --gateway-state-url "$URL" --gateway-deployment a --gateway-state-import "$S" 2>"$T/imp.err")
t_eq "import: exit 0" 0 "$?"
t_eq "import: the one-line summary" \
	"imported $S into postgresql:tau_xfer_$$/a: posture 1, events 4, records 0, channel store 0, responses 4, sessions 2" "$out"
t_eq "import: nothing on stderr (no progress below 10000 items)" "" "$(cat "$T/imp.err")"
t_eq "the deployment holds the posture, every event line, every response and session" "1|4|4|2" "$(holds a)"

E=$T/exported
out=$(gw --gateway-state-url "$URL" --gateway-deployment a --gateway-state-export "$E" 2>&1)
t_eq "export: exit 0" 0 "$?"
t_eq "export: the one-line summary" \
	"exported postgresql:tau_xfer_$$/a into $E: posture 1, events 4, records 0, channel store 0, responses 4, sessions 2" "$out"
t_eq "export: no staging directory is left" "" "$(ls -d "$E".tmp-* 2>/dev/null)"

# every file, byte for byte (.run.lock, the server's run marker, is not state)
tree() { (cd "$1" && find . -type f ! -name .run.lock | sort); }
t_eq "the two trees hold the same files" "$(tree "$S")" "$(tree "$E")"
same=0 differ=""
while IFS= read -r f; do
	if cmp -s "$S/$f" "$E/$f"; then same=$((same + 1)); else differ+=" $f"; fi
done < <(tree "$S")
t_eq "every file is the same bytes" "" "$differ"
t_eq "files compared" "$(tree "$S" | wc -l)" "$same"
mtimes() { (cd "$1" && find openresponses -type f -name '*.json*' -printf '%p %TY-%Tm-%Td %TH:%TM:%TS\n' |
	sed -E 's/(\.[0-9]{3})[0-9]*$/\1/' | sort); }
t_eq "each response and session file's mtime is kept to the millisecond" "$(mtimes "$S")" "$(mtimes "$E")"

reports() { # STORE-ARGS...
	gw "$@" --gateway-service-status
	gw "$@" --gateway-service-status --gateway-service-status-json
	gw "$@" --gateway-status-inspect
	gw "$@" --gateway-status-inspect --gateway-status-json
	gw "$@" --transport-health-inspect gateway
	gw "$@" --transport-health-inspect gateway --transport-health-json
}
rs=$(reports --gateway-state-dir "$S" 2>&1 | sed "s#$S/#DIR/#g")
re=$(reports --gateway-state-dir "$E" 2>&1 | sed "s#$E/#DIR/#g")
t_match "the reports ran (a stop reason)" 'last_stop_reason=emergency_rollback' "$rs"
t_eq "every report: the export's are the original's, byte for byte" "$rs" "$re"
place() { sed -E -e 's#(state_path|events_log_path)=[^ ]*#\1=PLACE#g' \
	-e 's#"(state_path|events_log_path)": "[^"]*"#"\1": "PLACE"#g'; }
t_eq "every report: the deployment's are the directory's (place masked)" \
	"$(printf '%s\n' "$rs" | place)" \
	"$(reports --gateway-state-url "$URL" --gateway-deployment a 2>&1 | place)"

# --- 2. the stored responses, served from each ------------------------------------
answers() { # prints every GET and input_items answer of the server at ADDR
	local id
	for id in "$R1" "$R2" "$R3" "$RS" "$RD"; do
		h_req GET "/v1/responses/$id"
		printf '%s %s\n' "$HS" "$(cat "$T/body")"
		h_req GET "/v1/responses/$id/input_items"
		printf '%s %s\n' "$HS" "$(cat "$T/body")"
	done
	# a third turn of session s-one sees the two before it
	h_post '{"model":"local/echo","input":"session one c","metadata":{"session_id":"s-one"}}'
	h_req GET "/v1/responses/$(h_jq .id)/input_items"
	printf '%s %s\n' "$HS" "$(jq -c '[.data[] | .content[0].text]' "$T/body")"
}
h_gateway GS --gateway-state-dir "$S"
as=$(answers)
h_stop "$GS"
h_gateway GE --gateway-state-dir "$E"
ae=$(answers)
h_stop "$GE"
t_check "a replica on the deployment starts" h_gateway GP --gateway-state-url "$URL" --gateway-deployment a
ap=$(answers)
h_stop "$GP"
t_eq "GET and input_items: 9 answers 200, the deleted one's 2 are 404" "9 2" \
	"$(printf '%s\n' "$as" | grep -c '^200 ') $(printf '%s\n' "$as" | grep -c '^404 ')"
t_contains "input_items of the third turn lists the first" '"text":"first turn"' \
	"$(printf '%s\n' "$as" | sed -n 6p)"
t_match "a session's next turn sees its history" '^200 \["session one c",.*"session one b",.*"session one a"\]$' \
	"$(printf '%s\n' "$as" | tail -1)"
t_eq "the export's server answers the original's bytes" "$as" "$ae"
t_eq "the deployment's replica answers the original's bytes" "$as" "$ap"

# --- 3. refusals ---------------------------------------------------------------------
out=$(gw --gateway-state-url "$URL" --gateway-deployment a --gateway-state-import "$S" 2>&1)
t_eq "import into a deployment with state: 73" 73 "$?"
t_eq "... one line naming it" "tau-gateway: cannot import $S: deployment postgresql:tau_xfer_$$/a already holds state (posture, events, responses, sessions); import into a new --gateway-deployment instead; nothing was written" "$out"
# (the replica above joined an operator's stop on hold, so it recorded no
# event; its session turn stored one response)
t_eq "... and it is unchanged" "1|4|5|2" "$(holds a)"
out=$(gw --gateway-state-url "$URL" --gateway-deployment a --gateway-state-export "$E" 2>&1)
t_eq "export into a non-empty directory: 73" 73 "$?"
t_eq "... one line naming it" "tau-gateway: cannot export into $E: it is not empty (give a new or empty directory)" "$out"
: >"$T/afile"
out=$(gw --gateway-state-url "$URL" --gateway-deployment a --gateway-state-export "$T/afile" 2>&1)
t_eq "export onto a file: 73" "73 tau-gateway: cannot export into $T/afile: it exists and is not a directory" "$? $out"
mkdir "$T/empty"
gw --gateway-state-url "$URL" --gateway-deployment a --gateway-state-export "$T/empty/" >/dev/null 2>&1
t_eq "export into an empty directory (trailing slash): 0, with the deployment's 5 responses" "0 5" \
	"$? $(ls "$T/empty/openresponses/responses" | wc -l)"
out=$(gw --gateway-state-url "$URL" --gateway-deployment nothing --gateway-state-export "$T/none" 2>&1)
t_eq "export of a deployment without state: 66" "66 tau-gateway: cannot export postgresql:tau_xfer_$$/nothing: the deployment holds no state" "$? $out"
t_eq "... nothing was made" "no" "$([ -e "$T/none" ] && echo yes || echo no)"
out=$(gw --gateway-state-import "$S" 2>&1)
t_eq "import without --gateway-state-url: 64" "64" "$?"
t_contains "... saying so" "--gateway-state-import needs --gateway-state-url" "$out"
out=$(gw --gateway-state-dir "$S" --gateway-state-export "$T/x" 2>&1)
t_eq "export without --gateway-state-url: 64" "64" "$?"
t_contains "... saying so" "--gateway-state-export needs --gateway-state-url" "$out"
out=$(gw --gateway-state-url "$URL" --gateway-deployment m --gateway-state-import "$T/missing" 2>&1)
t_eq "a missing source: 66 naming it" "66 tau-gateway: cannot import $T/missing: No such file or directory" "$? $out"

# a runner cycle's records and channel store move too (the round trip of
# the demo's state is gateway_pg_xfer_demo's); refused no longer
D=$T/demo
gw --gateway-state-dir "$D" --gateway-service-start >/dev/null
gw --gateway-contract-runner --gateway-fixture "$FIXTURES/rollout-pass.json" --gateway-state-dir "$D" >/dev/null
out=$(gw --gateway-state-url "$URL" --gateway-deployment demo --gateway-state-import "$D" 2>&1)
t_eq "a directory with runner records and a channel store: imported" \
	"0 imported $D into postgresql:tau_xfer_$$/demo: posture 1, events 2, records 2, channel store 1, responses 0, sessions 0" "$? $out"

# --- 4. malformed sources ---------------------------------------------------------
B=$T/bad
cp -r "$S" "$B"
echo '{"schema_version": 2, "health": ' >"$B/state.json"
out=$(gw --gateway-state-url "$URL" --gateway-deployment bad --gateway-state-import "$B" 2>&1)
t_eq "a malformed state.json: 65" 65 "$?"
t_match "... naming it" "^tau-gateway: state file $B/state.json is corrupt: .*invalid JSON" "$out"
rm -rf "$B"
cp -r "$S" "$B"
printf '{"id":"%s","session_key":"","input_items":[],"response":[]}\n' "$R3" >"$B/openresponses/responses/$R3.json"
out=$(gw --gateway-state-url "$URL" --gateway-deployment bad --gateway-state-import "$B" 2>&1)
t_eq "a malformed response file: 65" 65 "$?"
t_eq "... naming it" "tau-gateway: $B/openresponses/responses/$R3.json is not a stored response (expected an object with input_items, response and a string session_key)" "$out"
t_eq "... and the posture and events written before it were rolled back" "0|0|0|0" "$(holds bad)"

# --- 5. kill -9 during an import; during an export -----------------------------------
K=$T/big
cp -r "$S" "$K"
head -n 1 "$S/runtime-events.jsonl" | awk '{ for (i = 0; i < 50000; i++) print }' >>"$K/runtime-events.jsonl"
# bytes an array literal or a COPY would have to escape, and an empty line
printf '%s\n' '{"kind":"note","text":"a \"quoted\" back\\slash, {braces}, NULL, tab\t, \u00e9 é"}' '' \
	'NULL' '{"x":"}"}' >>"$K/runtime-events.jsonl"
# what a whole import of K sends (libpq's sendto calls), on scratch
# deployments: the last is libpq's goodbye, the one before it the COMMIT.
# The count is not quite fixed (a large statement may take more than one
# call when the server drains the socket slowly; builds differ), so the
# fewest of three imports is the estimate, and each kill run's own trace
# says which statement its kill hit
n=
for c in 1 2 3; do
	strace -f -qq -s 64 -o "$T/trace$c" -e trace=sendto \
		"$TAU_BIN" --gateway-state-url "$URL" --gateway-deployment "kcount$c" --gateway-state-import "$K" >/dev/null 2>&1
	m=$(grep -c 'sendto(' "$T/trace$c")
	if [ -z "$n" ] || [ "$m" -lt "$n" ]; then n=$m; cp "$T/trace$c" "$T/trace"; fi
done
t_match "the statement before libpq's goodbye is the COMMIT" 'COMMIT' "$(grep 'sendto(' "$T/trace" | sed -n "$((n - 1))p")"
# killrun DEPLOYMENT WHEN: an import killed at its WHEN-th sendto; its exit
# status in KRC, the killed statement's first bytes in KHIT
killrun() {
	strace -f -qq -s 64 -o "$T/ktrace" -e trace=sendto -e inject=sendto:signal=KILL:when="$2" \
		"$TAU_BIN" --gateway-state-url "$URL" --gateway-deployment "$1" --gateway-state-import "$K" >/dev/null 2>&1
	KRC=$?
	KHIT=$(grep 'sendto(' "$T/ktrace" | tail -1)
}
for when in 6 $((n / 2)); do
	killrun k "$when"
	t_eq "import killed at its statement $when of $n: SIGKILL" 137 "$KRC"
	t_eq "... the deployment is empty" "0|0|0|0" "$(holds k)"
done
# at the COMMIT: the call count varies by a few either way between runs
# (statements split over more calls when the server drains the socket
# slowly), so the kill searches for it, each try on a deployment of its
# own: a run that finished first (or was killed at libpq's goodbye, after
# its COMMIT) is tried one call earlier, one killed at
# a statement before its COMMIT one call later, until a kill hits the
# COMMIT (5 tries). Every killed run must leave its deployment empty;
# which statement each kill hit is in the test's log
when=$((n - 1)) hits=0 killed=0 empty=0
for try in 1 2 3 4 5; do
	killrun "kc$try" "$when"
	echo "# try $try: kill at call $when: exit $KRC, hit: ${KHIT:0:60}"
	# (finished, or killed at libpq's goodbye, after its COMMIT: too late)
	if [ "$KRC" -ne 137 ] || grep -q '"X\\0\\0\\0\\4"' <<<"$KHIT"; then
		when=$((when - 1))
		continue
	fi
	killed=$((killed + 1))
	[ "$(holds "kc$try")" == "0|0|0|0" ] && empty=$((empty + 1))
	if grep -q COMMIT <<<"$KHIT"; then
		hits=$((hits + 1))
		break
	fi
	when=$((when + 1))
done
t_check "imports killed at or just before their COMMIT: $killed, $hits at the COMMIT itself" \
	test "$killed" -gt 0
t_eq "... every one left its deployment empty" "$killed" "$empty"
out=$(gw --gateway-state-url "$URL" --gateway-deployment k --gateway-state-import "$K" 2>"$T/imp2.err")
t_eq "a new import then succeeds, with every line" \
	"0 imported $K into postgresql:tau_xfer_$$/k: posture 1, events $(wc -l <"$K/runtime-events.jsonl"), records 0, channel store 0, responses $(ls "$K/openresponses/responses" | grep -c '\.json$'), sessions 2" "$? $out"
t_eq "... with progress lines for 10000 to 50000 events" "$(printf 'tau-gateway: import: events %s\n' 10000 20000 30000 40000 50000)" \
	"$(cat "$T/imp2.err")"
X=$T/killed
strace -f -qq -o /dev/null -e inject=rename:signal=KILL:when=2 \
	"$TAU_BIN" --gateway-state-url "$URL" --gateway-deployment k --gateway-state-export "$X" >/dev/null 2>&1
t_eq "an export killed at its second rename: SIGKILL" 137 "$?"
t_eq "... leaves no $X" "no" "$([ -e "$X" ] && echo yes || echo no)"
t_eq "... only its staging directory" 1 "$(ls -d "$X".tmp-* 2>/dev/null | wc -l)"
gw --gateway-state-url "$URL" --gateway-deployment k --gateway-state-export "$X" >/dev/null 2>&1
t_eq "the next export writes it whole" 0 "$?"
t_check "... every event line byte for byte (quotes, backslashes, braces, NULL, an empty line)" \
	cmp "$K/runtime-events.jsonl" "$X/runtime-events.jsonl"
t_done
