#!/usr/bin/env bash
# w starts the HTTP server inside the console (bind and token from the
# flags); requests to /gateway/status and /v1/responses show up in the
# server panel, as do an open WebSocket and its turn; w again stops it; q
# asks first while it runs.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

tc_start --gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token secret-token
tc_expect "console up" 'Service RUNNING'
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

tc_expect "panel: request count" 'requests 3 '
tc_expect "panel: 4xx count" '4xx 1 '
tc_expect "panel: the status request" 'GET +/gateway/status +200'
tc_expect "panel: the responses request" 'POST +/v1/responses +200'
t_match "panel: latency percentiles" 'p50 [0-9]+ ms +p99 [0-9]+ ms' "$(tc_screen)"
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
tc_expect "q asks while the server runs" 'the server is running on 127\.0\.0\.1:[0-9]+; quit and stop it\? \(y/n\)'
tc_keys n
tc_wait 'Server 127' 5
t_match "n keeps it running" 'Server 127\.0\.0\.1' "$(tc_screen)"

tc_keys w
tc_expect "w again stops the server" 'server stopped'
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
tc_expect "q asks" 'quit and stop it'
tc_keys y
tc_expect "y quits" 'CONSOLE_EXIT=0'
t_done
