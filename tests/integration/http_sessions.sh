#!/usr/bin/env bash
# Conversation continuity by each of the three keys (metadata.session_id,
# conversation, previous_response_id), previous_response_id across a
# restart, session-key sanitisation and bounds, history bounded by
# --gateway-session-max-messages, and 32 concurrent requests on one session
# (in one process, then from two processes): all answered, all stored, none
# dropped from the history; a session held elsewhere for longer than the
# request timeout is refused with 503 session_busy.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
SESS=$T/state/openresponses/sessions
# What the test checks of the history files is files-only (t_files_only);
# the behaviour runs on both backends.
# sess_lines KEY: lines of a session's history file
sess_lines() { wc -l <"$SESS/$1.jsonl"; }

h_gateway GW --gateway-session-max-messages 200

# context size the offline provider reports: "Context: N items."
ctx() { h_jq .output_text | sed -n 's/.*Context: \([0-9]*\) item.*/\1/p'; }

# 1. metadata.session_id
h_post '{"input":"one","metadata":{"session_id":"alpha"}}'
t_eq "session_id: first turn sees 1 item" 1 "$(ctx)"
h_post '{"input":"two","metadata":{"session_id":"alpha"}}'
t_eq "session_id: second turn sees history" 3 "$(ctx)"
if t_files_only "the history file's lines"; then
	t_eq "session_id: file lines (meta + 4 items)" 5 "$(sess_lines alpha)"
	t_eq "session_id: first line is meta" meta "$(head -1 "$SESS/alpha.jsonl" | jq -r .record_type)"
	t_eq "session_id: instructions are not stored" 0 "$(grep -c instructions "$SESS/alpha.jsonl" || true)"
fi
h_post '{"input":"other","metadata":{"session_id":"beta"}}'
t_eq "session_id: another key is separate" 1 "$(ctx)"

# 2. conversation (string and object forms)
h_post '{"input":"c1","conversation":"conv-1"}'
t_eq "conversation: first" 1 "$(ctx)"
h_post '{"input":"c2","conversation":{"id":"conv-1"}}'
t_eq "conversation: continues" 3 "$(ctx)"
h_post '{"input":"c3","conversation":"conv-1","metadata":{"session_id":"alpha"}}'
t_eq "session_id wins over conversation" 5 "$(ctx)"

# 3. previous_response_id (no session key): chains through stored responses
h_post '{"input":"p1"}'
t_eq "no key: stateless" 1 "$(ctx)"
p1=$(h_jq .id)
h_post "{\"input\":\"p2\",\"previous_response_id\":\"$p1\"}"
t_eq "previous_response_id: sees input+output" 3 "$(ctx)"
t_eq "previous_response_id echoed" "$p1" "$(h_jq .previous_response_id)"
p2=$(h_jq .id)
h_post "{\"input\":\"p3\",\"previous_response_id\":\"$p2\"}"
t_eq "previous_response_id: chain of two" 5 "$(ctx)"
p3=$(h_jq .id)
h_post "{\"input\":\"branch\",\"previous_response_id\":\"$p1\"}"
t_eq "previous_response_id: branch from the first" 3 "$(ctx)"
# a response continued from a session turn keeps recording into that session
h_post '{"input":"s1","metadata":{"session_id":"gamma"}}'
g1=$(h_jq .id)
h_post "{\"input\":\"s2\",\"previous_response_id\":\"$g1\"}"
# (and a third turn on the key sees both exchanges)
h_post '{"input":"s3","metadata":{"session_id":"gamma"}}'
t_eq "previous_response_id inherits the session" 5 "$(ctx)"

# ... across a restart
h_stop "$GW"
t_eq "first server exit" 0 "$HRC"
h_gateway GW2 --gateway-session-max-messages 200
h_post "{\"input\":\"after restart\",\"previous_response_id\":\"$p3\"}"
t_eq "restart: 200" 200 "$HS"
t_eq "restart: previous_response_id continues" 7 "$(ctx)"
h_post '{"input":"three","metadata":{"session_id":"alpha"}}'
t_eq "restart: session continues" 7 "$(ctx)"
h_post '{"input":"new id"}'
t_eq "restart: ids stay unique" 0 "$(grep -c "$(h_jq .id)" <<<"$p1 $p2 $p3" || true)"

# sanitisation: distinct seeds, distinct files; unsafe bytes escaped; bounded
for k in 'a.b' 'a b' 'a_b' '../../etc'; do
	h_post "{\"input\":\"k\",\"metadata\":{\"session_id\":\"$k\"}}"
	t_eq "key '$k' starts fresh" 1 "$(ctx)"
done
if t_files_only "session keys as file names"; then
	t_eq "distinct seeds give distinct files" "a_20b.jsonl a_2eb.jsonl a_5fb.jsonl" "$(cd "$SESS" && echo a_*.jsonl)"
	t_eq "path-like key stays inside" "_2e_2e_2f_2e_2e_2fetc.jsonl" "$(cd "$SESS" && echo _2e*.jsonl)"
	t_eq "nothing written outside the state dir" "" "$(find "$T" -maxdepth 2 -name '*etc*')"
fi
long=$(head -c 500 /dev/zero | tr '\0' z)
h_post "{\"input\":\"k\",\"metadata\":{\"session_id\":\"$long\"}}"
t_eq "long key: 200" 200 "$HS"
t_files_only "a long key's file name" &&
	t_eq "long key file name bounded" 1 "$(ls "$SESS" | awk 'length($0) <= 86' | grep -c '^zzzz.*~[0-9a-f]\{24\}\.jsonl$')"

h_stop "$GW2"

# history bound: at most 4 items are loaded
h_gateway GW3 --gateway-state-dir "$T/bounded" --gateway-session-max-messages 4
for i in 1 2 3 4 5 6; do h_post "{\"input\":\"turn $i\",\"metadata\":{\"session_id\":\"b\"}}"; done
t_eq "bounded: context capped (4 history + 1 input)" 5 "$(ctx)"
t_files_only "compaction of the history file" &&
	t_match "bounded: file compacted" '^([0-9]|1[0-2])$' "$(wc -l <"$T/bounded/openresponses/sessions/b.jsonl")"
h_stop "$GW3"

# 32 concurrent requests on one session: serialised, none dropped
h_gateway GW4 --gateway-state-dir "$T/conc"
pids=()
for i in $(seq 1 32); do
	curl -s -o "$T/c$i" -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" \
		-d "{\"input\":\"msg $i\",\"metadata\":{\"session_id\":\"busy\"}}" "http://$ADDR/v1/responses" >"$T/s$i" &
	pids+=($!)
done
wait "${pids[@]}"
ok=0
for i in $(seq 1 32); do [ "$(cat "$T/s$i")" == 200 ] && ok=$((ok + 1)); done
t_eq "concurrent: all 32 answered 200" 32 "$ok"
t_files_only "items in the history file" &&
	t_eq "concurrent: 64 items in the session" 64 "$(grep -c '"record_type":"item"' "$T/conc/openresponses/sessions/busy.jsonl")"
for i in $(seq 1 32); do jq -r .output_text "$T/c$i" | sed -n 's/.*Context: \([0-9]*\) item.*/\1/p'; done | sort -n >"$T/ctxs"
t_eq "concurrent: each saw all earlier exchanges (1,3,..,63)" "$(seq 1 2 63)" "$(cat "$T/ctxs")"
stored=0
for i in $(seq 1 32); do t_resp_get "$T/conc" "$(jq -r .id "$T/c$i")" >/dev/null && stored=$((stored + 1)); done
t_eq "concurrent: all 32 stored" 32 "$stored"

# two processes on one state dir (one deployment on pg) and session: the
# flock (on pg the session's lock) serialises them too
ADDR1=$ADDR
h_gateway GW5 --gateway-state-dir "$T/conc"
ADDR2=$ADDR
pids=()
for i in $(seq 1 16); do
	for a in "$ADDR1" "$ADDR2"; do
		curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" \
			-d "{\"input\":\"x $i\",\"metadata\":{\"session_id\":\"shared\"}}" "http://$a/v1/responses" >"$T/two-$i-${a##*:}" &
		pids+=($!)
	done
done
wait "${pids[@]}"
cat "$T"/two-* >"$T/two"
t_eq "two processes: 32 answered" 32 "$(grep -c '^200$' "$T/two")"
t_files_only "items in the history file" &&
	t_eq "two processes: 64 items" 64 "$(grep -c '"record_type":"item"' "$T/conc/openresponses/sessions/shared.jsonl")"
# (and a turn after them saw all 32 exchanges)
h_post '{"input":"after","metadata":{"session_id":"shared"}}'
t_eq "two processes: the next turn sees 64 items" 65 "$(ctx)"
h_stop "$GW4"
h_stop "$GW5"

# a session held elsewhere is waited for at most --request-timeout-ms, then
# refused with 503 session_busy; once released it serves again
if t_files_only "holds the session's .lock with flock (on pg a lock of part sessions)"; then
mkdir -p "$T/held/openresponses/sessions"
t_spawn HOLDER python3 -c 'import fcntl, signal, sys
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
print("held", flush=True)
signal.pause()' "$T/held/openresponses/sessions/held.lock"
t_wait_line "$T/HOLDER.out" '^held$' 10
h_gateway GW6 --gateway-state-dir "$T/held" --request-timeout-ms 300
h_post '{"input":"wait","metadata":{"session_id":"held"}}'
t_eq "busy session: 503" 503 "$HS"
t_eq "busy session: code" session_busy "$(h_jq .error.code)"
t_contains "busy session: names the key" "'held'" "$(h_jq .error.message)"
h_post '{"input":"free","metadata":{"session_id":"other"}}'
t_eq "busy session: other keys unaffected" 200 "$HS"
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null
h_post '{"input":"again","metadata":{"session_id":"held"}}'
t_eq "released session: 200" 200 "$HS"
t_eq "released session: the refused turn left no trace" 1 "$(ctx)"
h_stop "$GW6"
fi
t_done
