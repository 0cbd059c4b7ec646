#!/usr/bin/env bash
# The WebSocket transport against hostile clients (issue 13's review), with
# a raw-socket client (tests/integration/lib/ws_abuse.py): a ping flood and
# a flood of 1-byte bad messages from a client that never reads (the
# server stops reading past its output backlog, so its memory stays
# bounded; the socket still works after and others are served); invalid
# UTF-8 (1007), a binary message (1003), an oversize one (1009); the
# waiting queue's byte cap (429); the socket's memory bounded as a
# session's history (items and bytes, starting with a user turn); then, on
# a second server with a short age limit, a create sent during the turn
# that outlives it gets the limit envelope (it was dropped silently).
# backends: files
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

WSA=$TAU_SOURCE_DIR/tests/integration/lib/ws_abuse.py
wsa() { timeout 60 python3 "$WSA" "$1" "$ADDR" "$TOKEN" "${@:2}"; }
j() { jq -rc "$1" <<<"$2"; }

h_stub
export OPENAI_API_KEY=sk-x
# a body is 8 x 8192 = 65536 bytes; a session (and a socket) keeps 3 items
# and 4096 bytes
h_gateway GW --model openai/m --provider-base-url "$STUB_URL" \
	--gateway-openresponses-max-input-chars 8192 \
	--gateway-session-max-messages 3 --gateway-session-max-bytes 4096

# -- what RFC 6455 says fails a connection -------------------------------------------
out=$(wsa frames 65536)
t_eq "invalid UTF-8 in a text message: close 1007, then the socket ends" "1007 true" \
	"$(j '"\(.utf8.close) \(.utf8.eof)"' "$out")"
t_eq "a binary message: an envelope, close 1003, then the socket ends" "invalid_value 1003 true" \
	"$(j '"\(.binary.envelope) \(.binary.close) \(.binary.eof)"' "$out")"
t_eq "a message over the body limit: close 1009, then the socket ends" "1009 true" \
	"$(j '"\(.big.close) \(.big.eof)"' "$out")"
t_eq "creates waiting past 2 bodies' bytes get 429 (3 of 6), every create answered" "3 7" \
	"$(j '"\(.queue.n429) \(.queue.seen)"' "$out")"
t_match "the 429 names the byte cap" 'would pass 131072 bytes' "$(j .queue.message "$out")"

# -- floods from a client that never reads: at most +64 MB, then usable ---------------
for kind in ping bad; do
	out=$(wsa flood "$GW" "$kind" 1.5 65536)
	echo "# flood $kind: $out"
	t_eq "$kind flood: the server's memory stays bounded (grew $(j '.peak_kb - .base_kb' "$out") kB)" \
		time "$(j .stopped "$out")"
	t_eq "$kind flood: then the socket still serves a turn" completed "$(j .after "$out")"
done

# -- the socket's memory, bounded as a session's history --------------------------------
out=$(wsa memory)
t_eq "others are served after the floods: five turns" '["response.completed","response.completed","response.completed","response.completed","response.completed"]' \
	"$(j .turns "$out")"
roles() { # the roles and texts the stub got for the turn whose last input was $1
	jq -rc --arg last "$1" 'select(.body.messages[-1].content == $last) |
		[.body.messages[] | select(.role != "system") | "\(.role):\(.content | tostring | .[0:8])"]' \
		"$STUB_REC"
}
t_eq "3 items kept: the continuation starts with the user turn, not an orphan reply" \
	'["user:two","assistant:stub rep","user:three"]' "$(roles three)"
t_eq "4096 bytes kept: the 5000-byte item is dropped" \
	'["user:x","assistant:stub rep","user:y"]' "$(roles y)"

h_stop "$GW"
t_eq "clean exit" 0 "$HRC"

# -- past the age limit: a create sent during the last turn is answered -----------------
h_gateway GW2 --model openai/m --provider-base-url "$STUB_URL" --gateway-state-dir "$T/state2" \
	--gateway-openresponses-ws-max-age-ms 1000
out=$(wsa age)
t_eq "a turn outliving the age limit completes; the socket's limit envelope and the create's, then 1000" \
	'["response.completed","websocket_connection_limit_reached","websocket_connection_limit_reached","close:1000"]' \
	"$(j .seen "$out")"
h_stop "$GW2"
t_eq "clean exit" 0 "$HRC"
t_done
