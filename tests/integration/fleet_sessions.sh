#!/usr/bin/env bash
# fleet_sessions: sessions (metadata.session_id, conversation) shared by
# three servers on one database (fleet mode), ephemeral ports on 127.0.0.1,
# on a database of its own.
#  - a version 3 database (no tau_session) is migrated to version 6 by the
#    first replica;
#  - a 20-turn conversation by metadata.session_id whose turns go round
#    robin across the three replicas: every turn's answer counts the whole
#    history (local/echo says "Context: N items"), and its stored context,
#    read on another replica, is every earlier turn in order; the session's
#    row holds the same JSONL text a state directory's <key>.jsonl would;
#  - the same by `conversation` (the same session key space as the file
#    backend: a conversation id names a session);
#  - 50 concurrent turns on one session key from all three replicas (17,
#    17, 16), JSON and SSE mixed, while 30 turns on other keys run beside
#    them: none lost, none interleaved (the row holds 50 user/assistant
#    pairs, each pair adjacent, and the answers' context sizes are exactly
#    1, 3, ..., 99: every turn saw all the turns before it), the other keys
#    all served, and the replicas stay inside their connection pools;
#  - with a slow upstream (the stub's 0.9 s "slow" mode), 12 turns on one
#    key from two replicas (10 on one: more than its pool) queue inside each replica (keygate.h) holding no
#    pooled connection: at most one connection per replica waits on the
#    row, and 16 turns on other keys sent meanwhile are all served at once
#    (without the gate they would find every pooled connection waiting on
#    the row: 503 state_unavailable); the 12 all complete, serialised;
#  - a turn held longer than the wait bound (--request-timeout-ms on a
#    replica, the row locked by hand) answers 503 session_busy;
#  - the TTL sweeps in fleet mode: two replicas of another deployment with
#    --gateway-session-ttl 2 --gateway-response-ttl 2 remove an expired
#    session and stored response (awaited by bounded polling), each row
#    removed once across both replicas' notices.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/http.sh"
TOKEN=fleet-sess-token-61d2
pg_ensure
pg_createdb URL tau_fleet_sessions
cd "$T" || exit 1

# fs_context: N of the last answer's "Context: N items"
fs_context() {
	h_jq '.output[0].content[0].text' | sed -n 's/.*Context: \([0-9]*\) item.*/\1/p'
}

# --- a version 3 database is upgraded -------------------------------------------------------
"$TAU_BIN" --gateway-state-url "$URL" --gateway-service-status >/dev/null 2>"$T/status.err"
t_eq "a status creates the schema" 0 "$?"
pg_sql "$URL" "DROP TABLE tau_session_line, tau_session" "DROP FUNCTION tau_session_body_guard()" \
	"UPDATE tau_schema SET version = 3" >/dev/null
t_eq "the database is at version 3, without tau_session" "3|" \
	"$(pg_sql "$URL" "SELECT version, to_regclass('tau_session') FROM tau_schema")"

t_check "replica a starts" h_replica RA
t_check "replica b starts" h_replica RB
t_check "replica c starts" h_replica RC
# (the runner's tables stay: step 5 finds them and, IF NOT EXISTS, passes on)
t_eq "the first replica migrated it to version 6" "6|tau_session|tau_record|tau_session_line" \
	"$(pg_sql "$URL" "SELECT version, to_regclass('tau_session'), to_regclass('tau_record'), to_regclass('tau_session_line') FROM tau_schema")"
REPS=(RA RB RC)

# --- 20 turns of one session, round robin ----------------------------------------------------
# fs_turns KIND SEED: 20 turns, round robin, by metadata.session_id or
# conversation; checks every turn's context on the next replica
fs_turns() {
	local kind=$1 seed=$2 i body ok_status=0 ok_count=0 ok_items=0 want got next id
	for ((i = 1; i <= 20; i++)); do
		h_on "${REPS[$(((i - 1) % 3))]}"
		if [ "$kind" = session ]; then
			body="{\"model\":\"local/echo\",\"input\":\"$seed turn $i\",\"metadata\":{\"session_id\":\"$seed\"}}"
		else
			body="{\"model\":\"local/echo\",\"input\":\"$seed turn $i\",\"conversation\":\"$seed\"}"
		fi
		h_post "$body"
		[ "$HS $(h_jq .status)" = "200 completed" ] && ok_status=$((ok_status + 1))
		# the history before turn i is 2(i-1) items, plus its own input
		[ "$(fs_context)" = $((2 * i - 1)) ] && ok_count=$((ok_count + 1))
		id=$(h_jq .id)
		# its stored context, read on the next replica: every user turn in
		# order, each answered by the echo of it
		h_on "${REPS[$((i % 3))]}"
		h_req GET "/v1/responses/$id/input_items?order=asc&limit=100"
		want=$(for ((k = 1; k <= i; k++)); do
			printf 'user:%s turn %d\n' "$seed" "$k"
			[ "$k" -lt "$i" ] && printf 'assistant:%s turn %d\n' "$seed" "$k"
		done | paste -sd,)
		got=$(h_jq '[.data[] | if .role == "user" then "user:\(.content[0].text)"
			else "assistant:\(.content[0].text | capture("heard: \"(?<t>[^\"]*)\"").t)" end] | join(",")')
		[ "$HS:$got" = "200:$want" ] && ok_items=$((ok_items + 1))
	done
	t_eq "$kind: 20 turns across three replicas, each 200 completed" 20 "$ok_status"
	t_eq "$kind: each turn's answer counted the whole history (1, 3, ..., 39 items)" 20 "$ok_count"
	t_eq "$kind: each turn's stored context, read on another replica, is every turn in order" 20 \
		"$ok_items"
}
fs_turns session rr-session
fs_turns conversation rr-conv

# the row holds what a state directory's file would: the meta line, then
# one item line per item (40 of them)
body=$(pg_session_text "$URL" "key = 'rr-session'")
t_eq "the row starts with the file format's meta line" \
	'{"record_type":"meta","schema_version":1}' "$(head -n 1 <<<"$body")"
t_eq "and holds 40 item lines" 40 "$(grep -c '"record_type":"item"' <<<"$body")"
t_eq "conversation rr-conv has a row of its own with 40 items" 40 \
	"$(pg_session_text "$URL" "key = 'rr-conv'" | grep -c '"record_type":"item"')"

# --- 50 concurrent turns on one key from three replicas ----------------------------------
cat >"$T/hot.py" <<'PY'
import json, re, sys, threading, urllib.request
token, out, addrs = sys.argv[1], sys.argv[2], sys.argv[3:]
lock = threading.Lock()
res = {"hot": [], "other": 0, "errors": []}
def post(addr, body, stream):
    req = urllib.request.Request("http://%s/v1/responses" % addr, method="POST",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        if r.status != 200:
            raise Exception("status %d" % r.status)
        if not stream:
            return json.load(r)
        final = None
        for line in r.read().decode().split("\n"):
            if line.startswith("data: {"):
                ev = json.loads(line[6:])
                if ev.get("type") == "response.completed":
                    final = ev["response"]
        if final is None:
            raise Exception("no response.completed")
        return final
def hot(i):
    addr = addrs[i % len(addrs)]
    stream = i % 2 == 1
    try:
        r = post(addr, {"model": "local/echo", "input": "hot %d" % i, "stream": stream,
                        "metadata": {"session_id": "hot"}}, stream)
        text = r["output"][0]["content"][0]["text"]
        n = int(re.search(r"Context: (\d+) item", text).group(1))
        with lock:
            res["hot"].append(n)
    except Exception as e:
        with lock:
            res["errors"].append("hot %d: %s" % (i, e))
def other(i):
    addr = addrs[i % len(addrs)]
    try:
        r = post(addr, {"model": "local/echo", "input": "other %d" % i,
                        "metadata": {"session_id": "other-%d" % i}}, False)
        if r["status"] == "completed":
            with lock:
                res["other"] += 1
    except Exception as e:
        with lock:
            res["errors"].append("other %d: %s" % (i, e))
ts = [threading.Thread(target=hot, args=(i,)) for i in range(50)]
ts += [threading.Thread(target=other, args=(i,)) for i in range(30)]
for t in ts: t.start()
for t in ts: t.join()
json.dump(res, open(out, "w"))
PY
python3 "$T/hot.py" "$TOKEN" "$T/hot.json" "$RA_ADDR" "$RB_ADDR" "$RC_ADDR" 2>"$T/hot.err"
t_eq "50 concurrent turns on one key: every one 200 completed" "50 0" \
	"$(jq -r '"\(.hot | length) \(.errors | length)"' "$T/hot.json")"
want=$(seq 1 2 99 | paste -sd,)
t_eq "their context sizes are 1, 3, ..., 99: each saw every turn before it (none lost)" "$want" \
	"$(jq -r '.hot | sort | map(tostring) | join(",")' "$T/hot.json")"
t_eq "30 turns on other keys beside them: all served" 30 "$(jq -r .other "$T/hot.json")"
pg_session_text "$URL" "key = 'hot'" >"$T/hot.jsonl"
# pairs: each user "hot N" item directly followed by the assistant's echo of it
t_eq "the row holds 50 user/assistant pairs, each pair adjacent, 50 distinct turns" "50 50 50" \
	"$(jq -rs '[.[] | select(.record_type == "item") | .item] as $it
		| [range(0; $it | length; 2) | [$it[.], $it[. + 1]]] as $p
		| [$p[] | select(.[0].content[0].text as $u | .[0].role == "user"
			and .[1].role == "assistant"
			and (.[1].content[0].text | contains("heard: \"" + $u + "\"")))]
		| "\($p | length) \(length) \([.[][0].content[0].text] | unique | length)"' "$T/hot.jsonl")"
conns=$(pg_sql "$URL" "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name LIKE 'tau-gateway%'")
t_eq "the replicas hold at most 3 x (8 pooled + 1 fleet) connections (${conns})" yes \
	"$([ "$conns" -le 27 ] && echo yes || echo no)"

# --- a slow upstream: one key's queue does not hold the pool -------------------------------
h_stub
export OPENAI_API_KEY=sk-x
for r in RS RT; do
	t_check "replica $r (openai/m on the stub) starts" h_replica "$r" --model openai/m \
		--provider-base-url "$STUB_URL"
done
cat >"$T/slow.py" <<'PY'
import json, sys, threading, time, urllib.request
token, kind, n, out, addrs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
res = []
lock = threading.Lock()
def one(i):
    addr = addrs[i % len(addrs)]
    if kind == "hot":
        body = {"model": "openai/m", "input": "[stub:slow] hot %d" % i,
                "metadata": {"session_id": "slow-hot"}}
    else:
        body = {"model": "openai/m", "input": "quick %d" % i,
                "metadata": {"session_id": "quick-%d" % i}}
    req = urllib.request.Request("http://%s/v1/responses" % addr, method="POST",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            st = "%d %s" % (r.status, json.load(r)["status"])
    except urllib.error.HTTPError as e:
        st = "%d %s" % (e.code, json.load(e)["error"]["code"])
    except Exception as e:
        st = "error %s" % e
    with lock:
        res.append([st, int((time.monotonic() - t0) * 1000)])
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join()
json.dump(res, open(out, "w"))
PY
# 10 of them on RS (more than its 8 pooled connections), 2 on RT
python3 "$T/slow.py" "$TOKEN" hot 12 "$T/slow-hot.json" "$RS_ADDR" "$RS_ADDR" "$RS_ADDR" "$RS_ADDR" \
	"$RS_ADDR" "$RT_ADDR" 2>"$T/slow-hot.err" &
SLOW=$!
T_PIDS+=("$SLOW")
# fs_row_waiters: connections waiting on a row lock of tau_session
fs_row_waiters() {
	pg_sql "$URL" "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND wait_event_type = 'Lock' AND application_name LIKE 'tau-gateway%'"
}
waiting=no
for ((i = 0; i < 200; i++)); do # bounded, ~4 s: one turn in the stub, another waiting on the row
	[ "$(fs_row_waiters)" -ge 1 ] && { waiting=yes; break; }
	sleep 0.02
done
t_eq "turns on slow-hot queue: one calls the stub, another waits on the row" yes "$waiting"
python3 "$T/slow.py" "$TOKEN" quick 16 "$T/slow-quick.json" "$RS_ADDR" "$RT_ADDR" 2>"$T/slow-quick.err"
most=$(fs_row_waiters)
t_eq "meanwhile 16 turns on other keys are all 200 completed" "16" \
	"$(jq '[.[] | select(.[0] == "200 completed")] | length' "$T/slow-quick.json")"
t_eq "each answered within 1.5 s, not behind the queue ($(jq -c '[.[][1]] | max' \
	"$T/slow-quick.json") ms)" true "$(jq '[.[][1]] | max < 1500' "$T/slow-quick.json")"
t_eq "at most one connection per replica waits on the row (${most})" yes \
	"$([ "$most" -le 2 ] && echo yes || echo no)"
wait "$SLOW"
t_eq "the 12 slow turns on one key all complete" 12 \
	"$(jq '[.[] | select(.[0] == "200 completed")] | length' "$T/slow-hot.json")"
t_eq "serialised: the last answered after 12 x 0.9 s" true \
	"$(jq '[.[][1]] | max >= 10000' "$T/slow-hot.json")"
t_eq "and the session holds all 12 turns" 24 \
	"$(pg_session_text "$URL" "key = 'slow-hot'" | grep -c '"record_type":"item"')"

# --- a wait past the bound ------------------------------------------------------------------
t_check "replica d (wait bound 300 ms) starts" h_replica RD --request-timeout-ms 300
h_on RD
h_post '{"model":"local/echo","input":"first","metadata":{"session_id":"held"}}'
t_eq "a turn on key held" 200 "$HS"
# hold the row from psql for 3 s, as a turn on another replica would
pg_sql "$URL" "BEGIN" "SELECT 1 FROM tau_session WHERE key = 'held' FOR UPDATE" \
	"SELECT pg_sleep(3)" "COMMIT" >/dev/null &
HOLDER=$!
T_PIDS+=("$HOLDER")
held=no
for ((i = 0; i < 100; i++)); do # until psql holds the row (bounded, ~2 s)
	# the FOR UPDATE is done once its session is in pg_sleep
	[ "$(pg_sql "$URL" "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'
		AND query = 'SELECT pg_sleep(3)'")" = 1 ] && { held=yes; break; }
	sleep 0.02
done
t_eq "another session holds the row" yes "$held"
t0=$(date +%s%N)
h_post '{"model":"local/echo","input":"second","metadata":{"session_id":"held"}}'
ms=$((($(date +%s%N) - t0) / 1000000))
t_eq "a turn that waits past the bound is 503 session_busy" "503 session_busy" \
	"$HS $(h_jq .error.code)"
t_eq "after about the bound (${ms} ms), not the holder's 3 s" yes \
	"$([ "$ms" -ge 250 ] && [ "$ms" -lt 2000 ] && echo yes || echo no)"
wait "$HOLDER"
h_post '{"model":"local/echo","input":"third","metadata":{"session_id":"held"}}'
t_eq "once the holder commits, the key is served again" "200 3" "$HS $(fs_context)"

# --- TTL sweeps in fleet mode --------------------------------------------------------------
for r in RE RF; do
	t_check "replica $r (deployment ttl, TTLs 2 s) starts" h_replica "$r" --gateway-deployment ttl \
		--gateway-session-ttl 2 --gateway-response-ttl 2
done
h_on RE
h_post '{"model":"local/echo","input":"soon gone","metadata":{"session_id":"ephemeral"}}'
t_eq "a session turn on deployment ttl" 200 "$HS"
EID=$(h_jq .id)
t_eq "its session and response rows exist" "1 1" \
	"$(pg_sql "$URL" "SELECT (SELECT count(*) FROM tau_session WHERE deployment = 'ttl'),
		(SELECT count(*) FROM tau_response WHERE deployment = 'ttl')" | tr '|' ' ')"
gone=no
for ((i = 0; i < 200; i++)); do # bounded: ~10 s
	[ "$(pg_sql "$URL" "SELECT (SELECT count(*) FROM tau_session WHERE deployment = 'ttl')
		+ (SELECT count(*) FROM tau_response WHERE deployment = 'ttl')")" = 0 ] && { gone=yes; break; }
	sleep 0.05
done
t_eq "the sweep removed both once they expired" yes "$gone"
h_on RF
h_req GET "/v1/responses/$EID"
t_eq "the expired response is 404 on the other ttl replica" "404 response_not_found" \
	"$HS $(h_jq .error.code)"
sessions=0
responses=0
for r in RE RF; do
	while read -r a b; do
		sessions=$((sessions + a))
		responses=$((responses + b))
	done < <(sed -n 's/.*expired: removed \([0-9]*\) session(s) and \([0-9]*\) stored.*/\1 \2/p' \
		"$T/$r.out" "$T/$r.err")
done
t_eq "the notices count 1 session and 1 response in all" "1 1" "$sessions $responses"
t_eq "the default deployment's sessions were left alone" 3 \
	"$(pg_sql "$URL" "SELECT count(*) FROM tau_session WHERE deployment = 'default'
		AND key IN ('rr-session', 'rr-conv', 'hot')")"

for r in RA RB RC RD RE RF RS RT; do
	h_stop "${!r}"
	t_eq "$r stops cleanly" 0 "$HRC"
done
t_done
