#!/usr/bin/env bash
# The server panel (issue 12, defect 3 and section 2): the uptime moves
# once a second while the server runs and nothing redraws while it is
# stopped; req/s and err/s with 60 s sparklines (ASCII under NO_COLOR);
# latency p50/p99 over 60 s in microseconds below 1 ms; counts by status
# class and route; the request list newest first with client, status,
# latency, model and response id; a warning line when the service is
# STOPPED but the server answers 200s, and one when health is healthy but
# upstream attempts fail.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

TOKEN=panel-token
stats=$T/console.stats
frames() { sed -nE 's/.*frames=([0-9]+).*/\1/p' "$stats"; }
uptime_text() { tc_screen | sed -nE 's/.*Server 127\.0\.0\.1:[0-9]+  up ([0-9.]+ m?s|[0-9]+m[0-9]+s).*/\1/p' | head -1; }
post() {
	curl -s -o "$T/resp.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' -d "{\"model\":\"local/echo\",\"input\":\"$1\"}" \
		"http://127.0.0.1:$port/v1/responses"
}

TC_ENV="TAU_CONSOLE_STATS_FILE=$stats" tc_start --gateway-openresponses-bind 127.0.0.1:0 \
	--gateway-openresponses-auth-token "$TOKEN"
tc_expect "console up" 'Service (RUNNING|NO STATE YET)'
tc_keys w
tc_expect "w starts the server" 'Server 127\.0\.0\.1:[0-9]+  up '
port=$(tc_screen | sed -nE 's/.*Server 127\.0\.0\.1:([0-9]+).*/\1/p' | head -1)

# defect 3: no request arrives, yet the uptime moves (it stayed "0 ms")
u1=$(uptime_text)
u2=$u1
for _ in $(seq 60); do
	u2=$(uptime_text)
	[ -n "$u2" ] && [ "$u2" != "$u1" ] && break
	sleep 0.05
done
t_check "the uptime moves with no request ($u1 -> $u2)" test -n "$u2" -a "$u2" != "$u1"
f1=$(frames)
tc_wait "up [2-9]\\.[0-9] s" 5 >/dev/null
f2=$(frames)
t_check "running and idle: about one frame a second ($f1 -> $f2)" test "$((f2 - f1))" -ge 1 -a "$((f2 - f1))" -le 4

ids=()
for i in 1 2 3; do
	t_eq "POST $i answers 200" 200 "$(post "hello $i")"
	ids+=("$(sed -nE 's/^\{"id":"(resp_[0-9a-f]+)".*/\1/p' "$T/resp.json")")
done
t_eq "no token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' -d '{}' "http://127.0.0.1:$port/v1/responses")"
tc_expect "req/s: a sparkline block once the second ends" 'req/s +[0-9]+ ▕ *[▁▂▃▄▅▆▇█]+ *▏ 60s 4  total 4' 5
tc_expect "err/s line" 'err/s +0 ▕ *▏ 60s 0  5xx 0'
tc_expect "latency over 60 s, microseconds below 1 ms" 'latency 60s p50 [0-9.]+ (µs|ms)  p99 [0-9.]+ (µs|ms)'
t_match "a request under 1 ms shows in µs" '(p50|p99) [0-9]{1,3} µs|p50 [0-9.]+ ms' "$(tc_screen)"
tc_expect "by status class and route" 'status  2xx 3  4xx 1  5xx 0   model local/echo   routes  /v1/responses 4'
tc_expect "the list's column heads" 'time +client +st +latency +model +response +request'
rows=$(tc_screen | grep -A4 'time  *client' | tail -4)
t_match "newest first: the 401 on top" '^ [0-9:]{8}  127\.0\.0\.1 +401 ' "$(sed -n 1p <<<"$rows")"
t_match "then the last 200 with its model and response id" \
	"^ [0-9:]{8}  127\\.0\\.0\\.1 +200 +[0-9.]+ (µs|ms) +local/echo +${ids[2]} +POST /v1/responses" \
	"$(sed -n 2p <<<"$rows")"
t_match "and the first 200 last" "${ids[0]}" "$(sed -n 4p <<<"$rows")"
t_eq "no warning while the posture agrees" "0" "$(tc_screen | grep -c '^ ! ')"

# Tab moves j/k/Enter to the request list; Enter opens the stored response
tc_keys Tab
tc_expect "Tab: the request list has the keys" 'requests: j/k select, Enter response, Tab back'
tc_keys Enter
tc_expect "Enter on the 401: it names no response" 'POST /v1/responses \(401\) names no response'
f0=$(frames)
tc_keys j j
for _ in $(seq 100); do [ "$(frames)" -gt "$f0" ] && break; sleep 0.02; done
t_check "a frame drew the selection" test "$(frames)" -gt "$f0"
# new requests push the rows down; the selection stays on its request
t_eq "a newer request: 200" 200 "$(post "newer 1")"
t_eq "another: 200" 200 "$(post "newer 2")"
tc_expect "both in the list" 'total 6( |$)' 5
tc_keys Enter
tc_expect "Enter on the second 200: its stored response" "stored response ${ids[1]}"
tc_expect "the response's JSON" '"status": "completed"'
t_match "the output text" 'hello 2' "$(tc_screen)"
tc_keys Escape
tc_wait 'Tab back' 3 >/dev/null
tc_keys Tab
tc_expect "Tab again: back to the events" 'Tab: requests'

# the service stopped while this server answers 200s
tc_keys S
tc_expect "S asks for a reason" 'stop reason'
tc_type "panel_check"
tc_keys Enter
tc_expect "stopped" 'Service STOPPED'
t_eq "a model request after the stop: 200" 200 "$(post "after stop")"
tc_expect "warning: STOPPED yet answering 200" '! service STOPPED, yet this server answered 200 to a model request at [0-9:]{8}'
tc_keys s
tc_expect "started again" 'Service RUNNING'
tc_wait 'Service RUNNING' 2 >/dev/null
t_eq "the warning goes with the stop" "0" "$(tc_screen | grep -c 'service STOPPED, yet')"

# stopped: nothing wakes the console (the once-a-second refresh ends)
tc_keys w
tc_wait 'record a service stop' 5 || true
tc_keys y
tc_expect "w stops the server" 'server stopped'
# the stop's own state write and event line redraw once more: wait for them
tc_expect "the server's stop is recorded" 'lifecycle +stop +openresponses_server_shutdown'
# rows in view redraw once a second while an event is under a minute old
# (their ages): a filter that matches none leaves only this timer to check
tc_keys /
tc_type "no-such-row-anywhere"
tc_keys Enter
tc_expect "no row in view" 'Events 0 matching'
f1=$(frames)
for _ in $(seq 20); do
	sleep 0.2
	f0=$f1
	f1=$(frames)
	[ "$f0" == "$f1" ] && break
done
sleep 2.5 # the window in which nothing may be drawn
f2=$(frames)
t_eq "server stopped and idle: no frame in 2.5 s" "$f1" "$f2"

# an upstream that refuses connections while health says healthy
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tc_keys :
tc_type "--gateway-openresponses-server --model openai/gpt-test --provider-base-url http://127.0.0.1:$dead/v1 --provider-max-retries 0"
tc_keys Enter
tc_expect "the server on the dead upstream" 'server listening on 127\.0\.0\.1:[0-9]+ \(model openai/gpt-test\)'
port=$(tc_screen | sed -nE 's/.*Server 127\.0\.0\.1:([0-9]+).*/\1/p' | head -1)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' -d '{"input":"x"}' "http://127.0.0.1:$port/v1/responses")
t_match "the request fails upstream (5xx)" '^5[0-9][0-9]$' "$code"
tc_expect "warning: healthy yet upstream failing" '! health healthy, yet 1 upstream attempts failed in the last 60 s'
tc_expect "err/s counts it" 'err/s +[0-9]+ ▕ *[▁▂▃▄▅▆▇█]+ *▏ 60s 1  5xx 1' 5
tc_expect "upstream attempts and failures" 'upstream 1, failed 1'
tc_expect "the failed request's row" " $code .* openai/gpt-test +resp_[0-9a-f]+ +POST /v1/responses"
tc_keys w
tc_wait 'record a service stop' 5 || true
tc_keys y
tc_expect "stopped" 'server stopped'

# NO_COLOR at 80x24: ASCII sparklines and "us", the list still shown
TC_COLS=80 TC_ROWS=24 TC_ENV="NO_COLOR=1" tc_start --gateway-openresponses-bind 127.0.0.1:0 \
	--gateway-openresponses-auth-token "$TOKEN"
tc_expect "console up (NO_COLOR, 80x24)" 'Service (RUNNING|STOPPED)'
tc_keys w
tc_expect "server up" 'Server 127\.0\.0\.1:[0-9]+  up '
port=$(tc_screen | sed -nE 's/.*Server 127\.0\.0\.1:([0-9]+).*/\1/p' | head -1)
t_eq "POST answers 200" 200 "$(post "mono")"
tc_expect "ASCII sparkline" 'req/s +[0-9]+ \[ *[.:=+*#@-]+ *\] 60s 1' 5
t_eq "no block characters" "0" "$(tc_screen | grep -c '[▁▂▃▄▅▆▇█▕▏]')"
tc_expect "latency in us" 'p50 [0-9.]+ (us|ms)'
tc_expect "a request row at 80x24" ' 200 +[0-9.]+ (us|ms) +local/echo +resp_'
tc_keys q
tc_expect "q asks while the server runs" 'quit: stop the server on .* record a service stop'
tc_keys y
tc_expect "y quits" 'CONSOLE_EXIT=0'
t_done
