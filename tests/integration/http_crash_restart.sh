#!/usr/bin/env bash
# http_crash_restart: kill -9 of the server while 50 streams (with sessions
# and stored responses) are in flight, then a restart on the same state
# directory.  state.json, every session file and every stored response
# parse; every session and stored response still loads through the API;
# and the restart records that the last run ended uncleanly: an
# "unclean_shutdown" lifecycle event naming the killed pid, just before the
# "start" event.  A clean stop and start records no such event.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

D=$T/state
SESS=$D/openresponses/sessions
RESP=$D/openresponses/responses
EVENTS=$D/runtime-events.jsonl
N=50

h_stub --mode slow
gw() { h_gateway "$1" --gateway-state-dir "$D" --model openai/gpt-test --provider-base-url "$STUB_URL" \
	--request-timeout-ms 20000; }
count_unclean() { grep -c '"transition":"unclean_shutdown"' "$EVENTS" || true; }

gw GW
# earlier exchanges, finished before the crash
for k in 0 1 2 3 4; do
	h_post "{\"input\":\"[stub:ok] before $k\",\"metadata\":{\"session_id\":\"b$k\"}}"
	t_eq "before the crash: exchange $k" 200 "$HS"
done
t_eq "a first start records no unclean shutdown" 0 "$(count_unclean)"
before=$(grep -c . "$STUB_REC")

# --- 50 streams in flight, then kill -9 --------------------------------------------------
pids=()
for ((i = 0; i < N; i++)); do
	curl -s -N -m 30 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		--data-binary "{\"input\":\"[stub:slow] stream $i\",\"stream\":true,\"metadata\":{\"session_id\":\"s$i\"}}" \
		"http://$ADDR/v1/responses" >"$T/stream$i" 2>/dev/null &
	pids+=($!)
done
# every stream has reached the upstream (the stub records each request)
for ((w = 0; w < 400; w++)); do
	[ "$(grep -c . "$STUB_REC")" -ge $((before + N)) ] && break
	sleep 0.05
done
t_eq "all $N streams reached the upstream before the kill" $((before + N)) "$(grep -c . "$STUB_REC")"
killed=$GW
kill -9 "$GW"
wait "$GW" 2>/dev/null
wait "${pids[@]}"
t_check "some streams were cut (the kill landed mid-flight)" \
	test "$(grep -L '^event: response.completed' "$T"/stream* | grep -c .)" -gt 0

# --- everything on disk parses ---------------------------------------------------------------
t_eq "state.json parses" ok "$(python3 -c 'import json,sys; json.load(open(sys.argv[1])); print("ok")' "$D/state.json" 2>&1)"
# a kill can leave a torn last line (no newline) in a session: every
# complete line parses (the next open cuts the torn one)
python3 - "$SESS" "$RESP" >"$T/parse" 2>&1 <<'EOF'
import json, os, sys
sess, resp = sys.argv[1], sys.argv[2]
bad, n = [], 0
for f in sorted(os.listdir(sess)):
    if f.endswith(".jsonl"):
        n += 1
        for l in open(os.path.join(sess, f)).read().split("\n")[:-1]:
            try:
                json.loads(l)
            except ValueError:
                bad.append(f)
for f in sorted(os.listdir(resp)):
    if f.endswith(".json"):
        n += 1
        try:
            json.load(open(os.path.join(resp, f)))
        except ValueError:
            bad.append(f)
print("files=%d bad=%s" % (n, ",".join(bad)))
EOF
t_match "every session and stored response parses" '^files=[0-9]+ bad=$' "$(cat "$T/parse")"
earlier=("$SESS"/b[0-9].jsonl)
t_eq "the earlier sessions are there" 5 "${#earlier[@]}"

# --- the restart records the unclean end -------------------------------------------------------
gw GW2
t_eq "the restart records one unclean shutdown" 1 "$(count_unclean)"
tail -2 "$EVENTS" | jq -r '.kind + " " + .transition' >"$T/last2"
t_eq "unclean_shutdown comes just before the start" "lifecycle unclean_shutdown
lifecycle start" "$(cat "$T/last2")"
t_contains "the event names the killed run" "the previous run (pid $killed, started_unix_ms " \
	"$(grep '"unclean_shutdown"' "$EVENTS" | jq -r .reason)"

# every session and stored response loads through the API
bad=0
for f in "$SESS"/*.jsonl; do
	k=$(basename "$f" .jsonl)
	h_post "{\"input\":\"[stub:ok] after\",\"store\":false,\"metadata\":{\"session_id\":\"$k\"}}"
	[ "$HS" = 200 ] || { bad=$((bad + 1)); echo "# session $k: $HS $(cat "$T/body")"; }
done
t_eq "every session loads after the crash" 0 "$bad"
bad=0
for f in "$RESP"/*.json; do
	id=$(basename "$f" .json)
	h_req GET "/v1/responses/$id"
	[ "$HS" = 200 ] || { bad=$((bad + 1)); echo "# $id: $HS $(cat "$T/body")"; }
done
t_eq "every stored response loads after the crash" 0 "$bad"

# --- a clean stop and start records none ---------------------------------------------------------
h_stop "$GW2"
t_eq "clean stop" 0 "$HRC"
t_check "a clean stop closes the run" test ! -e "$D/.run"
gw GW3
t_eq "a start after a clean stop records no unclean shutdown" 1 "$(count_unclean)"
h_stop "$GW3"
t_eq "clean stop again" 0 "$HRC"

t_done
