#!/usr/bin/env bash
# fleet_server_kill9: kill -9 of one of three replicas (fleet mode, one
# database) while 20 SSE streams with store:true run across the three,
# each stream slowed by the upstream stub (0.3 s between chunks) so the
# kill lands in the middle of them.
#  - the streams on the two other replicas all complete (response.completed,
#    curl exit 0);
#  - nothing committed is lost: every response whose terminal event a
#    client received, on any replica (the killed one included), is found by
#    GET /v1/responses/{id} on another replica, completed, with the text
#    the stream delivered; every tau_response row parses whole;
#  - the dead replica's row goes stale in the others' /gateway/status within
#    8 s of the kill (5 s stale bound + 1 s list period + slack; polled),
#    and the console's Replicas panel marks it STALE (tmux);
#  - stale rows are kept while recent and removed once older than the
#    bound (TAU_GATEWAY_FLEET_REPLICA_EXPIRE_S=60 here, heartbeat aged in
#    SQL rather than waited for): at 59 s the row is still listed after two
#    more heartbeats of each live replica; at 61 s a live replica deletes it
#    and logs it; a bad value of the variable is exit 64 naming it.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/http.sh"
. "$TAU_SOURCE_DIR/tests/console/tmux_helpers.bash"
TOKEN=fleet-kill9-token-3e7a
pg_ensure
# both cleanups: the tmux servers (and the console) first, then the database
trap 'for s in "${TC_SOCKS[@]}"; do tmux -L "$s" kill-server 2>/dev/null; done; pg_test_cleanup' EXIT
DB="tau_fleet_kill9_$$"
pg_createdb URL "$DB" || { t_fail "create the test database"; t_done; exit 1; }
cd "$T" || exit 1
export OPENAI_API_KEY=sk-test-key
t_check "the upstream stub starts" h_stub

# k9_replica VAR: a server on URL, port 0, upstream the stub; sets VAR (pid)
# and VAR_ADDR
k9_replica() {
	TAU_GATEWAY_FLEET_REPLICA_EXPIRE_S=60 h_replica "$1" --model openai/gpt-test \
		--provider-base-url "$STUB_URL" --request-timeout-ms 20000
}
# k9_status ADDR: /gateway/status into $T/status.json
k9_status() {
	curl -s -o "$T/status.json" -H "Authorization: Bearer $TOKEN" "http://$1/gateway/status"
}
# k9_all_started N: every stream file shows response.created (bounded)
k9_all_started() {
	local i n
	for ((i = 0; i < 400; i++)); do
		n=$(grep -l '^event: response.created' "$T"/stream.*.sse 2>/dev/null | wc -l)
		[ "$n" -eq "$1" ] && return 0
		sleep 0.05
	done
	echo "only $n of $1 streams started" >&2
	return 1
}

t_check "replica a starts" k9_replica RA
t_check "replica b starts" k9_replica RB
t_check "replica c starts" k9_replica RC
REPLICAS=(RA RB RC)

TC_STATE_URL=$URL tc_start
tc_expect "the console shows three replicas" 'Replicas 3'

# --- 20 concurrent streams, round-robin over the three ---------------------------------
declare -A ON
for ((k = 0; k < 20; k++)); do
	r=${REPLICAS[k % 3]}
	a=${r}_ADDR
	ON[$k]=$r
	t_spawn "CURL_$k" curl -s -N -o "$T/stream.$k.sse" -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' --max-time 60 \
		--data-binary "{\"model\":\"openai/gpt-test\",\"stream\":true,\"input\":\"[stub:slow] stream $k on $r, long enough for several slow deltas\"}" \
		"http://${!a}/v1/responses"
done
t_check "all 20 streams are under way" k9_all_started 20
kill -9 "$RC"
KILLED_AT=$(date +%s%3N)
wait "$RC" 2>/dev/null
# the streams on a and b end by themselves (bounded by curl's --max-time)
for ((k = 0; k < 20; k++)); do
	pv=CURL_$k
	wait "${!pv}"
	printf '%s\n' "$?" >"$T/stream.$k.rc"
done

python3 "$TAU_SOURCE_DIR/tests/integration/lib/sse_terminal.py" "$T"/stream.*.sse >"$T/terminal.txt"
done_ab=0 done_c=0 cut_c=0
for ((k = 0; k < 20; k++)); do
	line=$(grep "/stream.$k.sse " "$T/terminal.txt")
	term=$(awk '{print $3}' <<<"$line")
	if [ "${ON[$k]}" = RC ]; then
		[ "$term" = response.completed ] && done_c=$((done_c + 1)) || cut_c=$((cut_c + 1))
	elif [ "$term" = response.completed ] && [ "$(cat "$T/stream.$k.rc")" = 0 ]; then
		done_ab=$((done_ab + 1))
	else
		echo "# stream $k on ${ON[$k]}: curl $(cat "$T/stream.$k.rc"), terminal $term" >&2
	fi
done
echo "# killed replica: $done_c streams completed before the kill, $cut_c cut"
t_eq "all 14 streams on the other replicas completed" 14 "$done_ab"
t_check "the kill landed mid-stream (at least one of c's 6 streams was cut)" test "$cut_c" -ge 1

# --- nothing committed is lost -------------------------------------------------------------
lost=0 found=0
while read -r file rid term text; do
	[ "$term" = response.completed ] || continue
	k=${file##*/stream.}
	k=${k%.sse}
	# another replica than the one that streamed it (a for c's and b's, b for a's)
	[ "${ON[$k]}" = RA ] && ADDR=$RB_ADDR || ADDR=$RA_ADDR
	h_req GET "/v1/responses/$rid"
	got=$(jq -c '[.status, .output_text]' "$T/body" 2>/dev/null)
	if [ "$HS" = 200 ] && [ "$got" = "$(jq -c --argjson t "$text" -n '["completed", $t]')" ]; then
		found=$((found + 1))
	else
		lost=$((lost + 1))
		echo "# $rid (stream $k on ${ON[$k]}): GET is $HS $got" >&2
	fi
done <"$T/terminal.txt"
t_eq "every response whose terminal event arrived is found on another replica ($found)" 0 "$lost"
t_eq "that is every completed stream" "$((done_ab + done_c))" "$found"
pg_sql "$URL" "SELECT response FROM tau_response" >"$T/rows.txt"
t_eq "every tau_response row parses whole and is completed" "" \
	"$(python3 -c 'import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        r = json.loads(line)
        assert r["status"] == "completed", r["status"]
    except Exception as e:
        print("row %d: %s" % (n, e))' "$T/rows.txt")"

# --- the dead replica goes stale ------------------------------------------------------------
for r in RA RB; do
	a=${r}_ADDR
	got="" waited=""
	for ((i = 0; i < 400; i++)); do # ~20 s at most; the bound is asserted below
		k9_status "${!a}"
		got=$(jq -r --argjson p "$RC" '[.fleet.replicas[] | select(.pid == $p) | .stale] | join(",")' \
			"$T/status.json")
		[ "$got" = true ] && { waited=$(($(date +%s%3N) - KILLED_AT)); break; }
		sleep 0.05
	done
	echo "# $r lists c stale ${waited:-never} ms after the kill"
	t_eq "$r lists the killed replica as stale" true "$got"
	t_check "$r: within 8 s of the kill (${waited:-never} ms)" test "${waited:-99999}" -lt 8000
	t_eq "$r lists the two others live" 2 \
		"$(jq '[.fleet.replicas[] | select(.stale == false)] | length' "$T/status.json")"
done
tc_expect "the console's Replicas panel marks it STALE" "STALE +[^ ]+ +127\.0\.0\.1:[0-9]* +$RC " 10
tc_expect "and counts it" 'Replicas 3 \(1 stale\)'

# --- recently-stale rows stay, old ones go ---------------------------------------------------
# k9_beats N: both live replicas heartbeat N more times (their rows' heartbeat
# timestamps change), read from the database
k9_beats() {
	local want=$1 i seen=0 cur prev
	prev=$(pg_sql "$URL" "SELECT string_agg(heartbeat::text, ',' ORDER BY id) FROM tau_replica WHERE pid <> $RC")
	for ((i = 0; i < 200 && seen < want; i++)); do
		sleep 0.05
		cur=$(pg_sql "$URL" "SELECT string_agg(heartbeat::text, ',' ORDER BY id) FROM tau_replica WHERE pid <> $RC")
		# every field changed
		if [ "$(paste -d' ' <(tr ',' '\n' <<<"$prev") <(tr ',' '\n' <<<"$cur") | awk '$1 == $2' | wc -l)" = 0 ]; then
			seen=$((seen + 1))
			prev=$cur
		fi
	done
	[ "$seen" -ge "$want" ]
}
pg_sql "$URL" "UPDATE tau_replica SET heartbeat = now() - interval '59 seconds' WHERE pid = $RC" >/dev/null
t_check "the live replicas heartbeat twice more" k9_beats 2
t_eq "a row stale for 59 s (bound 60 s) is kept" 1 \
	"$(pg_sql "$URL" "SELECT count(*) FROM tau_replica WHERE pid = $RC")"
pg_sql "$URL" "UPDATE tau_replica SET heartbeat = now() - interval '61 seconds' WHERE pid = $RC" >/dev/null
gone=1
for ((i = 0; i < 100; i++)); do # the next heartbeat (1 s) deletes it
	[ "$(pg_sql "$URL" "SELECT count(*) FROM tau_replica WHERE pid = $RC")" = 0 ] && { gone=0; break; }
	sleep 0.05
done
t_eq "a row stale for 61 s is deleted by a live replica" 0 "$gone"
t_eq "the live replicas' rows stay" 2 "$(pg_sql "$URL" "SELECT count(*) FROM tau_replica")"
said=1
for ((i = 0; i < 100; i++)); do # its log line follows the DELETE
	grep -q "fleet: removed 1 replica row stale for more than 60 s" "$T/RA.err" "$T/RB.err" &&
		{ said=0; break; }
	sleep 0.05
done
t_eq "the replica that deleted it says so" 0 "$said"
tc_expect "the console's panel drops it" 'Replicas 2( |$)'

# --- a bad bound is a usage error ---------------------------------------------------------------
TAU_GATEWAY_FLEET_REPLICA_EXPIRE_S=5 "$TAU_BIN" --gateway-state-url "$URL" \
	--gateway-openresponses-server --gateway-openresponses-bind 127.0.0.1:0 \
	--gateway-openresponses-auth-token "$TOKEN" >"$T/bad.out" 2>"$T/bad.err"
t_eq "TAU_GATEWAY_FLEET_REPLICA_EXPIRE_S=5 (not above the stale bound) exits 64" 64 "$?"
t_contains "naming the variable and the range" \
	"invalid TAU_GATEWAY_FLEET_REPLICA_EXPIRE_S '5' (expected whole seconds, 6 to 604800)" \
	"$(cat "$T/bad.err")"
t_done
