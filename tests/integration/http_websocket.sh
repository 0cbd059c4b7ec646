#!/usr/bin/env bash
# Open Responses over WebSocket (GET /v1/responses, issue 13), with a real
# client (Node 20's WebSocket, tests/integration/lib/ws_client.mjs, and a
# raw socket for ping and close): the handshake and its refusals (bad token
# before the upgrade, no upgrade headers), the same events as SSE with the
# same sequence numbers, sequential turns and queued creates on one socket,
# continuation from the socket's memory (store:false) and from the store
# (store:true, on a new socket), previous_response_not_found, eviction by a
# failed continuation, a compacted window (POST /v1/responses/compact on a
# chain) starting a new chain on the socket and continued from its memory,
# refused fields, sessions, a flood of creates (the
# queue's cap), 100 sockets at once, the metrics, 300 sequential turns that
# must not wake the stream ticker per turn; then, on an upstream
# model (the openai stub), a turn, a client that leaves mid-turn (the
# upstream call cancelled), the idle timeout, the age limit, the request
# log's time for a 101; a routes file with a target of each provider (the
# anthropic and google turns stream openai's events); and a shutdown with
# a turn in flight (terminal event, 1001).
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
. "$(dirname "$0")/lib/wire.sh"

WSC=$TAU_SOURCE_DIR/tests/integration/lib/ws_client.mjs
# Node's global WebSocket: behind --experimental-websocket on Node 20.10+,
# on by default from Node 22 (Debian 12's Node 18 has none)
WSNODE=(node --no-warnings)
node --experimental-websocket -e '' 2>/dev/null && WSNODE+=(--experimental-websocket)
if ! "${WSNODE[@]}" -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)'; then
	t_fail "node $(node --version 2>&1) has no global WebSocket (Node >= 20.10 is needed)"
	t_done
	exit 1
fi
# ws SCENARIOS: what they observed, one JSON line (ws_client.mjs; one
# Node start per server: a start costs a second on a loaded machine)
ws() {
	timeout 60 "${WSNODE[@]}" "$WSC" "$1" "$ADDR" "$TOKEN"
}
j() { jq -rc "$1" <<<"$2"; }

h_gateway GW
all=$(ws "badtoken,raw,turns,queued,chain,evict,compact,refused,session:wskey,flood,many:100,seq:300/$GW")

# -- the handshake ------------------------------------------------------------
key=dGhlIHNhbXBsZSBub25jZQ==
upgrade=(-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13'
	-H "Sec-WebSocket-Key: $key")
st=$(curl -s -o "$T/bad.body" -w '%{http_code}' -m 5 "${upgrade[@]}" -H 'Authorization: Bearer nope' \
	"http://$ADDR/v1/responses")
t_eq "a bad token is refused before the upgrade" 401 "$st"
t_eq "bad token: no socket opened" false "$(j .badtoken.opened "$all")"
h_req GET /v1/responses
t_eq "GET without an upgrade: 426" "426 upgrade_required" "$HS $(h_jq .error.code)"
h_req GET /v1/responses "${upgrade[@]/$key/short}"
t_eq "a malformed key: 400" "400 Sec-WebSocket-Key" "$HS $(h_jq .error.param)"
raw=$(j .raw "$all")
t_eq "101 Switching Protocols" "HTTP/1.1 101 Switching Protocols" "$(j .status "$raw")"
t_eq "Sec-WebSocket-Accept is RFC 6455's" true "$(j .accept_ok "$raw")"
t_eq "a ping gets a pong with its payload" '{"op":10,"payload":"hi"}' "$(j .pong "$raw")"
t_eq "a close gets a close (1000), then EOF" '{"op":8,"code":1000} true' \
	"$(j .close "$raw") $(j .eof "$raw")"

# -- turns ----------------------------------------------------------------------
out=$(j .turns "$all")
t_eq "single turn completes" completed "$(j .t1.status "$out")"
# the same request over SSE: the same events, in the same order, numbered alike
curl -sN -H "Authorization: Bearer $TOKEN" -d '{"stream":true,"store":false,"input":[{"type":"message","role":"user","content":"one"}]}' \
	"http://$ADDR/v1/responses" | sed -n 's/^data: {/{/p' >"$T/sse.jsonl"
t_eq "the events are SSE's (types)" "$(jq -sc 'map(.type)' "$T/sse.jsonl")" "$(j .t1.types "$out")"
t_eq "the events are SSE's (sequence numbers)" "$(jq -sc 'map(.sequence_number)' "$T/sse.jsonl")" \
	"$(j .t1.seqs "$out")"
t_eq "a second turn on the socket continues store:false from its memory" \
	'local/echo heard: "two". Instructions: none. Context: 3 items.' "$(j .t2.text "$out")"
t_eq "it starts at sequence number 0 again" 0 "$(j '.t2.seqs[0]' "$out")"

out=$(j .queued "$all")
t_eq "three creates at once: three turns, in order" '["q1","q2","q3"]' \
	"$(j '[.turns[].text | capture("heard: \"(?<q>[^\"]*)\"").q]' "$out")"
t_eq "never interleaved: each turn numbers 0..n-1 contiguously" true \
	"$(j '[.turns[] | .seqs == [range(0; .seqs | length)] and .types[-1] == "response.completed"] | all' "$out")"

out=$(j .chain "$all")
t_eq "store:true continues on a new socket from the store" \
	'local/echo heard: "s2". Instructions: none. Context: 3 items.' "$(j .s2.text "$out")"
t_eq "store:false not in this socket's memory: previous_response_not_found" \
	'{"status":400,"code":"previous_response_not_found","param":"previous_response_id"}' "$(j .f2.error "$out")"
t_eq "store:true naming a store:false response: not found in the store either" \
	previous_response_not_found "$(j .f3.error.code "$out")"
stored() { t_resp_get "$T/state" "$1" >/dev/null; }
t_check "the store:true response is stored" stored "$(j .s1.id "$out")"

out=$(j .evict "$all")
t_eq "a failed continuation fails" invalid_input "$(j .bad.error.code "$out")"
t_eq "and evicts the memory it continued" previous_response_not_found "$(j .again.error.code "$out")"

# compaction: a chain compacted, its window starts a new chain on the socket
out=$(j .compact "$all")
t_eq "compact: 200, a summary and the last two turns" "200 5" "$(j '"\(.http) \(.window | length)"' "$out")"
t_match "compact: the summary item first" '^Summary of the earlier conversation:' \
	"$(j '.window[0].content[0].text' "$out")"
t_eq "compacted window + a new message: a new chain (no previous_response_id) completes" \
	"completed null" "$(j '"\(.n1.status) \(.n1.previous)"' "$out")"
t_eq "the model saw the window and the new message" \
	"local/echo heard: \"n1\". Instructions: none. Context: $(($(j '.window | length' "$out") + 1)) items." \
	"$(j .n1.text "$out")"
t_eq "the next turn continues the new chain from the socket's memory (store:false)" \
	"local/echo heard: \"n2\". Instructions: none. Context: $(($(j '.window | length' "$out") + 3)) items." \
	"$(j .n2.text "$out")"

out=$(j .refused "$all")
for f in stream background stream_options; do
	t_eq "$f is refused with an error envelope" "{\"status\":400,\"code\":\"unsupported_parameter\",\"param\":\"$f\"}" \
		"$(j ".$f.error" "$out")"
done
t_eq "another message type is refused" "invalid_value type" "$(j '.type.error | "\(.code) \(.param)"' "$out")"
t_eq "a message that is not JSON is refused" malformed_json "$(j .json.error.code "$out")"
t_eq "the socket still serves a turn after them" completed "$(j .after.status "$out")"

out=$(j .session "$all")
t_eq "a session carries the conversation to another socket" \
	'local/echo heard: "k2". Instructions: none. Context: 3 items.' "$(j .t2.text "$out")"

out=$(j .flood "$all")
# 70 creates in one write: the first runs, 64 wait, 5 are refused
t_eq "a flood: 1 + 64 turns, 5 refused (too_many_requests)" "65 5 too_many_requests" \
	"$(j '"\(.completed) \(.refused) \(.code)"' "$out")"
out=$(j .many "$all")
t_eq "100 sockets open at once (the gauge counts them)" "100 100" "$(j '"\(.opened) \(.gauge)"' "$out")"
t_eq "each ran its own turn" 100 "$(j .completed "$out")"
t_check "every socket closed again (gauge 0)" h_wait_metric tau_gateway_websocket_connections 0
t_check "turns counted" h_wait_metric tau_gateway_websocket_turns_total "$((418 + $(j .flood.completed "$all")))"
# 300 turns one after the other: each a job after an idle moment, which
# must not wake the stream ticker (it was woken per job: 300 switches)
out=$(j .seq "$all")
t_eq "300 sequential turns complete" 300 "$(j .completed "$out")"
t_check "and wake the ticker thread a few times, not per turn ($(j .switches "$out") switches)" \
	awk -v n="$(j .switches "$out")" 'BEGIN { exit !(n != "" && n != "null" && n < 60) }'
t_match "the upgrade is in the request log" 'method=GET path=/v1/responses status=101' "$(cat "$T/GW.err")"
h_stop "$GW"
t_eq "clean exit" 0 "$HRC"

# -- an upstream model ------------------------------------------------------------
h_stub
export OPENAI_API_KEY=sk-x
h_gateway GW2 --model openai/m --provider-base-url "$STUB_URL" --request-timeout-ms 60000 \
	--gateway-state-dir "$T/state2" --gateway-openresponses-idle-timeout-ms 1000 \
	--gateway-openresponses-ws-max-age-ms 2500
all=$(ws 'single:hello upstream,upevict,hangup:[stub:slow] a b c d e f')
out=$(j .single "$all")
t_eq "a turn through the openai stub completes" completed "$(j .status "$out")"
t_match "with the stub's text" 'hello upstream' "$(j .text "$out")"

out=$(j .upevict "$all")
t_eq "an upstream failure mid-turn: the terminal event is response.failed" "response.failed failed" \
	"$(j '"\(.bad.types[-1]) \(.bad.status)"' "$out")"
t_eq "then an error envelope with its status" '{"type":"error","status":502,"code":"upstream_error"}' \
	"$(j .env "$out")"
t_eq "a 5xx continuation evicts what it continued" previous_response_not_found "$(j .again.error.code "$out")"

upstream_conns() {
	ss -tnH state established "( sport = :$STUB_PORT )" | awk '{ n = split($4, a, ":"); print a[n] }'
}
t_eq "leaving mid-turn" true "$(j .hangup.closed_mid_turn "$all")"
t_check "cancels the upstream call" h_wait_metric tau_gateway_upstream_cancelled_total 1
t_eq "no upstream connection is left" 0 "$(upstream_conns | wc -w)"

all=$(ws idle+age)
out=$(j .idle "$all")
t_eq "an idle socket is closed (1000, idle timeout)" '{"code":1000,"reason":"idle timeout"}' \
	"$(j .got.close "$out")"
out=$(j .age "$all")
t_eq "the age limit: websocket_connection_limit_reached" websocket_connection_limit_reached \
	"$(j .error.code "$out")"
t_eq "then a close (1000)" 1000 "$(j .close.code "$out")"
# the request log names each socket once, at its close, with the handshake's time
max=$(grep -o 'path=/v1/responses status=101 duration_ms=[0-9.]*' "$T/GW2.err" | sed 's/.*=//' | sort -n | tail -1)
t_check "a 101's duration is the handshake's, not the socket's (these lived over 1 s)" \
	awk -v m="$max" 'BEGIN { exit !(m != "" && m < 500) }'
t_match "after turns, at about the limit" '^[1-9][0-9]* (2[5-9]|[3-5][0-9])[0-9]{2}$' \
	"$(j '"\(.turns) \(.ms)"' "$out")"

# -- routes: the WebSocket thread takes a table of its own (no event loop's);
# one target of each provider (the anthropic and gemini stubs)
h_stub_as AS anthropic_stub.py
h_stub_as GS gemini_stub.py
export T_KEY_A=key-anthropic T_KEY_G=key-gemini
cat >"$T/routes.json" <<EOF
{"version": 1, "default": "echo",
 "routes": [
  {"model": "echo", "targets": [{"provider": "local"}]},
  {"model": "up", "targets": [{"provider": "openai", "model": "m", "base_url": "$STUB_URL"}]},
  {"model": "an", "targets": [{"provider": "anthropic", "model": "claude-test", "base_url": "http://127.0.0.1:$AS_PORT", "api_key_env": "T_KEY_A"}]},
  {"model": "go", "targets": [{"provider": "google", "model": "gemini-test", "base_url": "http://127.0.0.1:$GS_PORT/v1beta", "api_key_env": "T_KEY_G"}]}]}
EOF
GW2_ADDR=$ADDR
h_gateway GW3 --gateway-routes "$T/routes.json" --gateway-state-dir "$T/state3" \
	--gateway-openresponses-max-connections 2
all=$(ws 'models:echo|up|nope,shapes:up|an|go,caps:3')
out=$(j .models "$all")
t_match "routes: the echo route answers inline" '^local/echo heard: "to echo"' "$(j .echo.text "$out")"
t_match "routes: the upstream route answers through the stub" 'to up' "$(j .up.text "$out")"
t_eq "routes: a model no route serves" '{"status":400,"code":"model_not_found","param":"model"}' \
	"$(j .nope.error "$out")"
# every provider: the same turn streams the same events (runs of one type
# collapsed), numbered 0..n-1, and the same final response as openai's
# (lib/wire.sh's normalisation: ids, times, model, token counts differ)
shape() {
	j ".shapes[\"$1\"] | (.types | reduce .[] as \$t ([]; if .[-1] == \$t then . else . + [\$t] end)),
		(.seqs == [range(0; .seqs | length)]), (.final | $w_norm)" "$all"
}
t_match "providers: openai's turn completes with the stub's text" 'response.completed.*true.*stub reply: same words' \
	"$(shape up | tr '\n' ' ')"
for m in an go; do
	t_eq "providers: $m's WebSocket turn has openai's events and final response" "$(shape up)" "$(shape "$m")"
done
t_eq "anthropic: the Messages API with its key" "/v1/messages key-anthropic" \
	"$(tail -1 "$AS_REC" | jq -r '"\(.path) \(.headers["x-api-key"])"')"
t_match "google: generateContent with its key" 'models/gemini-test:.*key-gemini' \
	"$(tail -1 "$GS_REC" | jq -c '[.path, .headers["x-goog-api-key"]]')"
t_eq "WebSockets count in the connection cap (2): 2 open, 1 refused" '{"opened":2,"refused":1}' \
	"$(j .caps "$all")"
h_stop "$GW3"
ADDR=$GW2_ADDR

t_spawn SD "${WSNODE[@]}" "$WSC" 'shutdown:[stub:slow] a b c d e f g h' \
	"$ADDR" "$TOKEN"
t_check "a slow turn streams" t_wait_line "$T/SD.out" '^ready$' 20
h_stop "$GW2"
t_eq "clean exit with a socket open" 0 "$HRC"
wait "$SD"
out=$(tail -1 "$T/SD.out")
t_eq "shutdown: the turn's terminal event, its error, then 1001" \
	'response.failed error:server_shutdown 1001' "$(j '"\(.seen[-2]) \(.seen[-1]) \(.close.code)"' "$out")"
t_done
