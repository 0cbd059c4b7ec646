#!/usr/bin/env bash
# fleet_responses: stored responses shared by three servers on one
# database (fleet mode), ephemeral ports on 127.0.0.1, on the test's own
# private cluster (it stops the database).
#  - a version 2 database (no tau_response, no tau_session, no runner
#    tables) is migrated to version 6 by the first replica;
#  - a 20-turn conversation by previous_response_id whose turns go round
#    robin across the three replicas: input_items of the last response,
#    asked of another replica, lists every earlier turn in order;
#  - read-your-writes: a response POSTed on A (JSON, and SSE) is found by
#    an immediate GET on B; DELETE on C, then GET on A is 404;
#  - a chain continued on a replica with --gateway-session-max-messages 6
#    is bounded there: the new response's context holds 6 items + its own;
#  - 3 x 64 concurrent store:true requests all succeed while the replicas
#    hold at most 8 pooled connections each (plus the fleet thread's);
#  - a response deleted on one replica cuts the chains through it on
#    another (the walk reads rows ahead in one recursive query);
#  - the database stopped: store:true answers 503 state_unavailable in
#    under 1 s, store:false is still 200; started again, store:true works
#    again without restarting the servers.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/http.sh"
TOKEN=fleet-resp-token-3a7f
pg_private # this test stops its server
URL=$TAU_TEST_PG_URL
cd "$T" || exit 1


# --- a version 2 database is upgraded ------------------------------------------------
"$TAU_BIN" --gateway-state-url "$URL" --gateway-service-status >/dev/null 2>"$T/status.err"
t_eq "a status creates the schema" 0 "$?"
pg_sql "$URL" "DROP TABLE tau_channel_line, tau_channel, tau_record" \
	"DROP TABLE tau_session_line, tau_session" "DROP FUNCTION tau_session_body_guard()" \
	"DROP TABLE tau_response" "UPDATE tau_schema SET version = 2" >/dev/null
t_eq "the database is at version 2, without tau_response" "2|" \
	"$(pg_sql "$URL" "SELECT version, to_regclass('tau_response') FROM tau_schema")"

t_check "replica a starts" h_replica RA
t_check "replica b starts" h_replica RB
t_check "replica c starts" h_replica RC
t_eq "the first replica migrated it to version 6" "6|tau_response|tau_session|tau_record|tau_session_line" \
	"$(pg_sql "$URL" "SELECT version, to_regclass('tau_response'), to_regclass('tau_session'), to_regclass('tau_record'), to_regclass('tau_session_line') FROM tau_schema")"

# --- 20 turns round robin ------------------------------------------------------------------
REPS=(RA RB RC)
prev=
ok=0
for ((i = 1; i <= 20; i++)); do
	h_on "${REPS[$(( (i - 1) % 3 ))]}"
	if [ -z "$prev" ]; then
		h_post "{\"model\":\"local/echo\",\"input\":\"turn $i\"}"
	else
		h_post "{\"model\":\"local/echo\",\"input\":\"turn $i\",\"previous_response_id\":\"$prev\"}"
	fi
	[ "$HS $(h_jq .status)" = "200 completed" ] && ok=$((ok + 1))
	prev=$(h_jq .id)
	IDS[i]=$prev
done
t_eq "20 turns across three replicas, each 200 completed" 20 "$ok"
LAST=$prev
h_on RA # turn 20 ran on RB
h_req GET "/v1/responses/$LAST/input_items?order=asc&limit=100"
t_eq "input_items of the last response is 200 on replica a" 200 "$HS"
want=$(for ((i = 1; i <= 20; i++)); do printf 'user:turn %d\n' "$i"; done | paste -sd,)
t_eq "it lists every user turn, in order" "$want" \
	"$(h_jq '[.data[] | select(.role == "user") | "user:\(.content[0].text)"] | join(",")')"
t_eq "with the 19 answers between them (39 context items + the last input)" 39 \
	"$(h_jq '.data | length')"
t_eq "the 19 continuations hold their own turn only (no copied history)" "19|1" \
	"$(pg_sql "$URL" "SELECT count(*), max(json_array_length(input_items::json)) FROM tau_response
		WHERE previous_response_id IS NOT NULL")"

# --- read-your-writes ----------------------------------------------------------------------
h_on RA
h_post '{"model":"local/echo","input":"written on a"}'
ID=$(h_jq .id)
h_on RB
h_req GET "/v1/responses/$ID"
t_eq "POST on A, then GET on B at once: found" "200 $ID" "$HS $(h_jq .id)"
h_on RA
h_post '{"model":"local/echo","input":"streamed on a","stream":true}'
t_eq "a stream on A is 200" 200 "$HS"
SID=$(grep '^data: ' "$T/body" | sed 's/^data: //' | jq -r 'select(.type == "response.completed") | .response.id')
h_on RB
h_req GET "/v1/responses/$SID"
t_eq "its terminal event, then GET on B at once: found" "200 $SID completed" \
	"$HS $(h_jq .id) $(h_jq .status)"
h_on RC
h_req DELETE "/v1/responses/$ID"
t_eq "DELETE on C" "200 true" "$HS $(h_jq .deleted)"
h_on RA
h_req GET "/v1/responses/$ID"
t_eq "then GET on A is 404" "404 response_not_found" "$HS $(h_jq .error.code)"
h_req GET "/v1/responses/$ID/input_items"
t_eq "and its input_items on A too" 404 "$HS"

# --- a chain continued where the bound is smaller ----------------------------------------
t_check "replica d (session bound 6) starts" h_replica RD --gateway-session-max-messages 6
h_on RD
h_post "{\"model\":\"local/echo\",\"input\":\"turn 21\",\"previous_response_id\":\"$LAST\"}"
t_eq "turn 21 on replica d" "200 completed" "$HS $(h_jq .status)"
B=$(h_jq .id)
h_on RB
h_req GET "/v1/responses/$B/input_items?order=asc&limit=100"
t_eq "its context is the 6 newest items of the chain, then its input" \
	"user:turn 18,assistant,user:turn 19,assistant,user:turn 20,assistant,user:turn 21" \
	"$(h_jq '[.data[] | if .role == "user" then "user:\(.content[0].text)" else .role end] | join(",")')"

# --- 64 concurrent requests per replica stay inside the connection pool ------------------
cat >"$T/burst.py" <<'PY'
import json, sys, threading, urllib.request
token, addrs = sys.argv[1], sys.argv[2:]
ok = []
def one(addr, i):
    req = urllib.request.Request("http://%s/v1/responses" % addr, method="POST",
        data=json.dumps({"model": "local/echo", "input": "burst %d" % i}).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            if r.status == 200 and json.load(r)["status"] == "completed":
                ok.append(1)
    except Exception as e:
        print(addr, e, file=sys.stderr)
ts = [threading.Thread(target=one, args=(a, i)) for a in addrs for i in range(64)]
for t in ts: t.start()
for t in ts: t.join()
print(len(ok))
PY
t_eq "3 x 64 concurrent store:true requests are all 200 completed" 192 \
	"$(python3 "$T/burst.py" "$TOKEN" "$RA_ADDR" "$RB_ADDR" "$RC_ADDR" 2>"$T/burst.err")"
conns=$(pg_sql "$URL" "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name = 'tau-gateway'")
t_eq "the replicas hold at most 4 x (8 pooled + 1 fleet) connections (${conns})" yes \
	"$([ "$conns" -le 36 ] && echo yes || echo no)"

# --- the database stopped ------------------------------------------------------------------
t_check "PostgreSQL stops" pg_server_stop
for r in RA RB RC; do
	h_on $r
	t0=$(date +%s%N)
	h_post '{"model":"local/echo","input":"while down"}'
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	t_eq "$r: store:true is 503 state_unavailable" "503 state_unavailable" "$HS $(h_jq .error.code)"
	t_eq "$r: answered within 1 s (${ms} ms)" yes "$([ "$ms" -lt 1000 ] && echo yes || echo no)"
	h_req GET "/v1/responses/$B"
	t_eq "$r: GET is 503 state_unavailable" "503 state_unavailable" "$HS $(h_jq .error.code)"
	h_post '{"model":"local/echo","input":"while down","store":false}'
	t_eq "$r: store:false is still 200" "200 completed" "$HS $(h_jq .status)"
done
t_check "PostgreSQL starts again" pg_server_start
# each worker reconnects on its next request (its backoff is at most 1 s)
h_on RC
back=no
for ((i = 0; i < 60; i++)); do # bounded at ~3 s
	h_post "{\"model\":\"local/echo\",\"input\":\"after the restart\",\"previous_response_id\":\"$B\"}"
	[ "$HS" = 200 ] && { back=yes; break; }
	sleep 0.05
done
t_eq "after the restart store:true works again, same servers" yes "$back"
N=$(h_jq .id)
h_on RA
ok=no
for ((i = 0; i < 60; i++)); do
	h_req GET "/v1/responses/$N"
	[ "$HS" = 200 ] && { ok=yes; break; }
	sleep 0.05
done
t_eq "and another replica finds it" "yes $N" "$ok $(h_jq .id)"

# --- a deleted response cuts the chains through it ---------------------------------------
h_on RC
h_req DELETE "/v1/responses/${IDS[10]}"
t_eq "DELETE turn 10 on C" 200 "$HS"
h_on RB
h_req GET "/v1/responses/$LAST/input_items?order=asc&limit=100"
t_eq "input_items on B, its first request since the restart, is 200" 200 "$HS"
want=$(for ((i = 11; i <= 20; i++)); do printf 'user:turn %d\n' "$i"; done | paste -sd,)
t_eq "the last response's context on B now starts after turn 10" "$want" \
	"$(h_jq '[.data[] | select(.role == "user") | "user:\(.content[0].text)"] | join(",")')"

for r in RA RB RC RD; do
	h_stop "${!r}"
	t_eq "$r stops cleanly" 0 "$HRC"
done
t_done
