#!/usr/bin/env bash
# w starts the HTTP server inside the console (bind and token from the
# flags); requests to /gateway/status and /v1/responses show up in the
# server panel, as do an open WebSocket and its turn; w again asks, then
# stops it; q asks first while it runs, saying the stop will be recorded
# (issue 12: defect 14, section 2).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

tc_start --gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token secret-token
tc_expect "console up" 'Service (RUNNING|NO STATE YET)'
tc_keys w
tc_expect "w starts the server" 'Server 127\.0\.0\.1:[0-9]+'
port=$(tc_screen | sed -nE 's/.*Server 127\.0\.0\.1:([0-9]+).*/\1/p' | head -1)
t_match "an ephemeral port was bound" '^[1-9][0-9]*$' "$port"
tc_expect "message: listening" 'server listening on 127\.0\.0\.1:'

code=$(curl -s -o "$T/status.json" -w '%{http_code}' -H 'Authorization: Bearer secret-token' \
	"http://127.0.0.1:$port/gateway/status")
t_eq "GET /gateway/status answers 200" "200" "$code"
code=$(curl -s -o "$T/resp.json" -w '%{http_code}' -H 'Authorization: Bearer secret-token' \
	-H 'Content-Type: application/json' -d '{"model":"local/echo","input":"hello console"}' \
	"http://127.0.0.1:$port/v1/responses")
t_eq "POST /v1/responses answers 200" "200" "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/responses" -d '{}')
t_eq "no token: 401" "401" "$code"

tc_expect "panel: request count" 'total 3( |$)'
tc_expect "panel: 4xx count" 'status +2xx 2 +4xx 1 '
tc_expect "panel: the status request" ' 200 .* GET /gateway/status'
tc_expect "panel: the responses request" ' 200 .* resp_[0-9a-f]+ +POST /v1/responses'
t_match "panel: latency percentiles" 'p50 [0-9.]+ (µs|ms) +p99 [0-9.]+ (µs|ms)' "$(tc_screen)"
# a WebSocket that ran a turn and stays open, then closes
wsnode=(node --no-warnings)
node --experimental-websocket -e '' 2>/dev/null && wsnode+=(--experimental-websocket)
t_spawn WS "${wsnode[@]}" "$TAU_SOURCE_DIR/tests/integration/lib/ws_client.mjs" hold \
	"127.0.0.1:$port" secret-token
t_check "a WebSocket turn completes" t_wait_line "$T/WS.out" '^held completed$' 20
tc_expect "panel: the open WebSocket and its turn" 'websockets 1  ws turns 1'
kill "$WS"
tc_expect "panel: the WebSocket closed" 'websockets 0  ws turns 1'

tc_keys q
tc_expect "q asks while the server runs, saying the stop is recorded" \
	'quit: stop the server on 127\.0\.0\.1:[0-9]+ and record a service stop\? \(y: stop and quit, n: cancel\)'
tc_keys n
tc_expect "n cancels" 'cancelled: the server keeps running'
t_match "n keeps it running" 'Server 127\.0\.0\.1' "$(tc_screen)"

tc_keys w
tc_expect "w on a live server asks first" \
	'stop the server on 127\.0\.0\.1:[0-9]+ and record a service stop\? \(y: stop, n: cancel\)'
tc_keys n
tc_expect "n: cancelled" 'cancelled: the server keeps running'
t_match "n: it still answers" "^[1-5][0-9][0-9]$" "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$port/gateway/status")"
tc_keys w
tc_wait 'and record a service stop' 5 || true
tc_keys y
tc_expect "y stops the server" 'server stopped'
t_eq "the panel is gone" "0" "$(tc_screen | grep -c 'Server 127')"
t_eq "the port is closed" "000" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/gateway/status")"

# the prompt words, with a bind given there
tc_keys :
tc_type "serve 127.0.0.1:0"
tc_keys Enter
tc_expect "serve [bind] starts it" 'Server 127\.0\.0\.1:[0-9]+'
tc_keys :
tc_type "unserve"
tc_keys Enter
tc_expect "unserve stops it" 'server stopped'
tc_keys :
tc_type "serve 999.1.1.1:80"
tc_keys Enter
tc_expect "a bad bind: the CLI's message" "invalid gateway socket address '999\\.1\\.1\\.1:80'"

tc_keys w
tc_expect "running again" 'Server 127\.0\.0\.1:[0-9]+'
tc_keys q
tc_expect "q asks" 'quit: stop the server'
tc_keys y
tc_expect "y quits" 'CONSOLE_EXIT=0'
t_done
