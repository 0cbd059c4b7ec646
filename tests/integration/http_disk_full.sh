#!/usr/bin/env bash
# http_disk_full: the server's state directory on a full file system (a
# small tmpfs, filled).  Nothing that was not written is acknowledged: a
# stored response (store: true, the default) or a session append that
# cannot be written is a 503 storage_unavailable (a server_error object),
# never a 200; a stream ends with response.failed, never
# response.completed.  Every exchange that was answered 200 is in the
# session and in the store; the session file and every stored response
# still parse, and once space is freed the old session and stored
# responses load.  Needs root for mount(8); skipped where it is refused.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

. "$TAU_SOURCE_DIR/tests/integration/lib/diskfull.sh"
df_mount 1m
D=$MNT/state
SESS=$D/openresponses/sessions
RESP=$D/openresponses/responses
ctx() { h_jq .output_text | sed -n 's/.*Context: \([0-9]*\) item.*/\1/p'; }
storage_error() {
	t_eq "$1: 503" 503 "$HS"
	t_eq "$1: error object" "storage_unavailable server_error" "$(h_jq '.error.code + " " + .error.type')"
	t_match "$1: message says why" 'No space left on device; retry later$' "$(h_jq .error.message)"
}

h_gateway GW --gateway-state-dir "$D"

# --- the previous state: a session with two exchanges, a stored response ------------------
h_post '{"input":"one","metadata":{"session_id":"s1"}}'
t_eq "setup: first turn" 200 "$HS"
old_id=$(h_jq .id)
h_post '{"input":"two","metadata":{"session_id":"s1"}}'
t_eq "setup: second turn sees the first" 3 "$(ctx)"
old_session=$(cat "$SESS/s1.jsonl")

stored=$(ls -A "$RESP")
df_fill

# --- store: true on a full disk: 503, nothing stored -------------------------------------
h_post '{"input":"lost"}'
storage_error "store on a full disk"
t_eq "store on a full disk: no file for any new id" "$stored" "$(ls -A "$RESP")"

# concurrently too: none is a 200
pids=()
for i in $(seq 1 20); do
	curl -s -o /dev/null -w '%{http_code}\n' -m 30 -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' --data-binary "{\"input\":\"c$i\"}" \
		"http://$ADDR/v1/responses" >>"$T/codes" &
	pids+=($!)
done
wait "${pids[@]}"
t_eq "20 concurrent stores on a full disk: all 503" "20" "$(grep -c '^503$' "$T/codes")"

# --- a stream on a full disk ends with response.failed -------------------------------------
curl -s -N -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data-binary '{"input":"stream lost","stream":true}' "http://$ADDR/v1/responses" >"$T/sse"
last=$(grep '^event: ' "$T/sse" | tail -1)
t_eq "stream on a full disk: the terminal event is response.failed" "event: response.failed" "$last"
t_eq "stream on a full disk: no response.completed" 0 "$(grep -c '^event: response.completed' "$T/sse")"
t_eq "stream on a full disk: the failure names the storage error" "storage_unavailable failed" \
	"$(grep -A1 '^event: response.failed' "$T/sse" | sed -n 's/^data: //p' | jq -r '.response.error.code + " " + .response.status')"

# --- the session on a full disk (store: false): every 200 is in the file -------------------
# The session's last page may have room for a few records: those requests
# are answered 200 and must be in the file; the first that does not fit is
# a 503, and the file then holds exactly the answered exchanges.
ok=0
HS=200
for ((i = 0; i < 200 && HS == 200; i++)); do
	h_post "{\"input\":\"full $i\",\"store\":false,\"metadata\":{\"session_id\":\"s1\"}}"
	[ "$HS" = 200 ] && ok=$((ok + 1))
done
storage_error "session append on a full disk"
t_eq "session on a full disk: the file parses" ok "$(df_jsonl_ok "$SESS/s1.jsonl")"
t_eq "session on a full disk: it holds the answered exchanges and no more" $((5 + 2 * ok)) \
	"$(wc -l <"$SESS/s1.jsonl")"
t_eq "session on a full disk: it begins with the previous records" "$old_session" \
	"$(head -5 "$SESS/s1.jsonl")"
t_eq "the failed exchange is not in the session" 0 "$(grep -c "full $((ok))\"" "$SESS/s1.jsonl")"

# the log says what failed
t_match "the server logs the store failure" "cannot store response resp_[^ ]+: .*No space left on device" "$(cat "$T/GW.err")"

# --- previous state still readable while full ----------------------------------------------
h_req GET "/v1/responses/$old_id"
t_eq "the old stored response still loads" 200 "$HS"
for f in "$RESP"/*.json; do
	t_eq "${f#"$D"/} parses" ok "$(python3 -c 'import json,sys; json.load(open(sys.argv[1])); print("ok")' "$f" 2>&1)"
done
t_eq "nothing new in the store, no temp file left" "$stored" "$(ls -A "$RESP")"

# --- space comes back ------------------------------------------------------------------------
rm -f "$MNT/filler"
h_post '{"input":"three","metadata":{"session_id":"s1"}}'
t_eq "after freeing space: 200" 200 "$HS"
t_eq "after freeing space: the session continues with every answered exchange" $((5 + 2 * ok)) "$(ctx)"
new_id=$(h_jq .id)
h_req GET "/v1/responses/$new_id"
t_eq "after freeing space: the new response is stored" 200 "$HS"

h_stop "$GW"
t_eq "clean stop" 0 "$HRC"
t_done
