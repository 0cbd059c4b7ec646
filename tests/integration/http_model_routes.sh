#!/usr/bin/env bash
# --gateway-routes: the request's model picks the route (a public name, an
# alias, or the default when it names none) and the response names the
# route; an unknown model is 400 model_not_found naming nothing of the
# routes; "model" is no longer an ignored field; a local target answers
# inline.  /v1/chat/completions selects routes the same way, and
# /v1/models lists the routes' public names.  Fallback: a first target
# answering 503 is followed by the second (the client sees a normal 200),
# a 400 is not, and nothing is retried elsewhere once the stream carried
# upstream output; a target that times out (its timeout_ms against a stub
# that delays) or answers 429 with retry-after falls back too, counted on
# that target (errors, breaker, metrics); "retries": N asks the same
# target N more times before the next.  The upstream's request id (x-request-id) is in the
# request log line with the target that answered, and a failed attempt's
# in the server log and the event log (runtime-events.jsonl, "kind":
# "upstream", outcome fallback or failed).  Circuit breaker: open
# after N consecutive failures (the target is skipped), one probe after the
# cooldown, closed by a successful probe.  /gateway/status, /metrics and
# the request log name the targets.  Without a session every routed call
# runs on an event loop's engine: no transfer thread or worker is started.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

# two OpenAI stubs: A fails its first 3 requests with 503, B answers
stub() { # VAR MODE
	t_spawn "$1" python3 "$TAU_SOURCE_DIR/tests/stub/upstream_stub.py" --port 0 \
		--record "$T/$1.jsonl" --mode "$2"
	t_wait_line "$T/$1.out" '^upstream stub listening: port=' 20 || exit 1
	printf -v "${1}_URL" 'http://127.0.0.1:%s/v1' "$(sed -n 's/^upstream stub listening: port=//p' "$T/$1.out")"
	: >>"$T/$1.jsonl"
}
stub SA status503-3
stub SB ok
stub SC slow
na() { wc -l <"$T/SA.jsonl"; }
nb() { wc -l <"$T/SB.jsonl"; }

COOL=1500
# a port nothing listens on: bound and closed again (connect is refused)
DEAD_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$T/routes.json" <<EOF
{"version": 1, "default": "main",
 "breaker": {"failures": 2, "cooldown_ms": $COOL},
 "routes": [
  {"model": "main", "aliases": ["primary"],
   "targets": [
    {"provider": "openai", "model": "m-a", "base_url": "$SA_URL", "api_key_env": "ROUTES_KEY_A", "timeout_ms": 3000, "retries": 0},
    {"provider": "openai", "model": "m-b", "base_url": "$SB_URL", "timeout_ms": 3000}]},
  {"model": "split",
   "targets": [
    {"provider": "openai", "model": "m-s", "base_url": "$SA_URL", "timeout_ms": 3000},
    {"provider": "openai", "model": "m-b", "base_url": "$SB_URL"}]},
  {"model": "dead", "targets": [
    {"provider": "openai", "model": "m-x", "base_url": "http://127.0.0.1:$DEAD_PORT/v1", "timeout_ms": 3000},
    {"provider": "openai", "model": "m-b", "base_url": "$SB_URL"}]},
  {"model": "late", "targets": [
    {"provider": "openai", "model": "m-t", "base_url": "$SC_URL", "timeout_ms": 300, "retries": 0},
    {"provider": "openai", "model": "m-b", "base_url": "$SB_URL"}]},
  {"model": "busy", "targets": [
    {"provider": "openai", "model": "m-q", "base_url": "$SA_URL", "timeout_ms": 3000, "retries": 0},
    {"provider": "openai", "model": "m-b", "base_url": "$SB_URL"}]},
  {"model": "again", "targets": [
    {"provider": "openai", "model": "m-r", "base_url": "$SA_URL", "timeout_ms": 3000, "retries": 2},
    {"provider": "openai", "model": "m-b", "base_url": "$SB_URL"}]},
  {"model": "echo", "aliases": ["local-echo"], "targets": [{"provider": "local"}]}]}
EOF
export ROUTES_KEY_A=sk-route-secret-a
h_gateway GW --gateway-routes "$T/routes.json" --request-timeout-ms 3000

# the local target, inline; the route's public name in the response
h_post '{"model":"echo","input":"hi there"}'
t_eq "local: 200" 200 "$HS"
t_contains "local: echo answers" 'heard: "hi there"' "$(h_jq .output_text)"
t_eq "local: model is the route's name" echo "$(h_jq .model)"
t_eq "model is not an ignored field" '[]' "$(jq -c .ignored_fields "$T/body")"
h_post '{"model":"local-echo","input":"x"}'
t_eq "alias: the route's public name" echo "$(h_jq .model)"

# unknown model: 400 model_not_found, nothing of the routes in it
h_post '{"model":"nope","input":"x"}'
t_eq "unknown model: 400" 400 "$HS"
t_eq "unknown model: code" model_not_found "$(h_jq .error.code)"
t_eq "unknown model: param" model "$(h_jq .error.param)"
for secret in m-a m-b 127.0.0.1 "$ROUTES_KEY_A" ROUTES_KEY_A main; do
	if grep -qF -- "$secret" "$T/body"; then t_fail "unknown model: the answer names $secret"; else t_ok "unknown model: no $secret"; fi
done

# /v1/chat/completions picks the route the same way; /v1/models lists the routes
h_req POST /v1/chat/completions -H 'Content-Type: application/json' \
	-d '{"model":"local-echo","messages":[{"role":"user","content":"chat hi"}]}'
t_eq "chat: alias served" 200 "$HS"
t_eq "chat: the route's public name" echo "$(h_jq .model)"
t_contains "chat: the local target answered" 'heard: "chat hi"' "$(h_jq '.choices[0].message.content')"
h_req POST /v1/chat/completions -H 'Content-Type: application/json' \
	-d '{"model":"nope","messages":[{"role":"user","content":"x"}]}'
t_eq "chat: unknown model 400" 400 "$HS"
t_eq "chat: model_not_found" model_not_found "$(h_jq .error.code)"
h_req GET /v1/models
t_eq "models: the routes' public names, in file order" '["main","split","dead","late","busy","again","echo"]' "$(jq -c '[.data[].id]' "$T/body")"

# fallback: A answers 503, B answers; the client sees a normal 200
h_post '{"model":"main","input":"first"}'
t_eq "fallback: 200" 200 "$HS"
t_eq "fallback: B's text" "stub reply: first" "$(h_jq .output_text)"
t_eq "fallback: model main" main "$(h_jq .model)"
t_eq "fallback: A tried once" 1 "$(na)"
t_eq "fallback: B answered" 1 "$(nb)"
t_eq "fallback: A got its key from the env variable" "Bearer $ROUTES_KEY_A" "$(head -1 "$T/SA.jsonl" | jq -r .headers.authorization)"
t_eq "fallback: B got no key" null "$(tail -1 "$T/SB.jsonl" | jq -r .headers.authorization)"
t_eq "fallback: B's upstream model" m-b "$(tail -1 "$T/SB.jsonl" | jq -r .body.model)"
rid_a=$(head -1 "$T/SA.jsonl" | jq -r .request_id) rid_b=$(tail -1 "$T/SB.jsonl" | jq -r .request_id)
t_check "request log names the target that answered and its upstream request id" \
	t_wait_line "$T/GW.err" "status=200 .*target=openai/m-b upstream_request_id=$rid_b\$" 5
t_contains "server log: the failed attempt's upstream request id" \
	"model main: target 1 (openai/m-a) failed (upstream returned HTTP status 503) [upstream request id $rid_a]; trying target 2 (openai/m-b)" \
	"$(cat "$T/GW.err")"
# the server writes its event lines off its threads, just after the answer
events() { jq -c "select(.kind == \"upstream\") | [.outcome, .route, .target, .upstream_status, .upstream_request_id]" "$T/state/runtime-events.jsonl"; }
last_event() { events | tail -1; }
want='["fallback","main","openai/m-a",503,"'"$rid_a"'"]'
t_eq "event log: the failed attempt that fell back" "$want" "$(t_settled "$want" events)"

# the default route (no model) and the alias; the second failure opens A
h_post '{"input":"second"}'
t0=$(date +%s%N)
t_eq "default route: 200" 200 "$HS"
t_eq "default route: model main" main "$(h_jq .model)"
t_eq "second: A tried again" 2 "$(na)"
h_req GET /gateway/status
t_eq "status: A open after 2 failures" open "$(jq -r '.routes.routes[0].targets[0].circuit' "$T/body")"
t_eq "status: A requests" 2 "$(jq -r '.routes.routes[0].targets[0].requests' "$T/body")"
t_eq "status: A errors" 2 "$(jq -r '.routes.routes[0].targets[0].errors' "$T/body")"
t_eq "status: B closed" closed "$(jq -r '.routes.routes[0].targets[1].circuit' "$T/body")"
t_eq "status: fallbacks" 2 "$(jq -r '.routes.routes[0].fallbacks' "$T/body")"
t_eq "status: no key in it" 0 "$(grep -c -- "$ROUTES_KEY_A" "$T/body")"
h_req GET /metrics
t_contains "metrics: A's circuit open" 'tau_gateway_route_target_circuit_state{route="main",target="0",provider="openai",model="m-a"} 1' "$(cat "$T/body")"
t_contains "metrics: fallbacks" 'tau_gateway_route_fallbacks_total{route="main"} 2' "$(cat "$T/body")"

# open: A is skipped, B answers at once
h_post '{"model":"primary","input":"third"}'
t_eq "open: 200" 200 "$HS"
t_eq "open: A skipped" 2 "$(na)"
t_eq "open: B answered" 3 "$(nb)"
h_req GET /gateway/status
t_eq "status: A skipped once" 1 "$(jq -r '.routes.routes[0].targets[0].skipped' "$T/body")"

# after the cooldown one probe goes to A: it fails (A's third 503), the
# circuit opens again; the next probe after another cooldown succeeds
probe() { # wait (bounded) until a request reaches A; prints when
	local i
	for ((i = 0; i < 60; i++)); do
		h_post '{"model":"main","input":"probe"}'
		[ "$HS" = 200 ] || { echo "probe: status $HS" >&2; return 1; }
		[ "$(na)" -gt "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
t_check "half-open: a probe reaches A after the cooldown" probe 2
t1=$(date +%s%N)
t_eq "half-open: not before the cooldown" 1 "$(((t1 - t0) / 1000000 >= COOL - 100))"
h_req GET /gateway/status
t_eq "half-open: the failed probe opens A again" open "$(jq -r '.routes.routes[0].targets[0].circuit' "$T/body")"
t_check "half-open: a second probe after another cooldown" probe 3
h_req GET /gateway/status
t_eq "closed: the successful probe closes A" closed "$(jq -r '.routes.routes[0].targets[0].circuit' "$T/body")"
t_eq "closed: A answered the probe" probe "$(tail -1 "$T/SA.jsonl" | jq -r '.body.messages[-1].content')"
n=$(nb)
h_post '{"model":"main","input":"back"}'
t_eq "closed: A answers" "$n" "$(nb)"

# a connect error falls back too
b=$(nb)
h_post '{"model":"dead","input":"anyone"}'
t_eq "connect error: 200" 200 "$HS"
t_eq "connect error: B answered" $((b + 1)) "$(nb)"
h_req GET /gateway/status
t_eq "connect error: counted on the dead target" 1 "$(jq -r '.routes.routes[2].targets[0].errors' "$T/body")"

# a timeout falls back: C delays its answer 0.9 s, past its target's 300 ms
b=$(nb)
h_post '{"model":"late","input":"in time?"}'
t_eq "timeout: 200" 200 "$HS"
t_eq "timeout: B answered" "$((b + 1)) stub reply: in time?" "$(nb) $(h_jq .output_text)"
t_eq "timeout: C was asked" 1 "$(wc -l <"$T/SC.jsonl")"
last_reason() { jq -c 'select(.kind == "upstream") | [.outcome, .route, .target, .upstream_status, .reason]' "$T/state/runtime-events.jsonl" | tail -1; }
want='["fallback","late","openai/m-t",0,"upstream did not answer within 300 ms"]'
t_eq "timeout: the event log names the timeout" "$want" "$(t_settled "$want" last_reason)"

# 429 with retry-after falls back at once (retries 0), counted on A
# (B's own "status429-twice" is used up first, by asking it directly)
for i in 1 2; do curl -s -o /dev/null -H 'X-Stub-Mode: status429-twice' -d '{"messages":[]}' "$SB_URL/chat/completions"; done
a=$(na) b=$(nb)
h_post '{"model":"busy","input":"[stub:status429-twice] hurry"}'
t_eq "429: 200" 200 "$HS"
t_eq "429: A tried once, B answered" "$((a + 1)) $((b + 1))" "$(na) $(nb)"
rid_a=$(tail -1 "$T/SA.jsonl" | jq -r .request_id)
last429() { events | tail -1 | jq -c '[.[0], .[1], .[3], .[4]]'; }
want='["fallback","busy",429,"'"$rid_a"'"]'
t_eq "429: the event log" "$want" "$(t_settled "$want" last429)"
h_req GET /gateway/status
t_eq "429: an error on A, a fallback of the route" "1 1 0" \
	"$(jq -r '.routes.routes[4] | "\(.targets[0].errors) \(.fallbacks) \(.targets[1].errors)"' "$T/body")"
h_req GET /metrics
t_contains "429: metrics count the error" 'tau_gateway_route_target_errors_total{route="busy",target="0",provider="openai",model="m-q"} 1' "$(cat "$T/body")"
t_contains "429: metrics count the fallback" 'tau_gateway_route_fallbacks_total{route="busy"} 1' "$(cat "$T/body")"
h_post '{"model":"busy","input":"[stub:status429-twice] hurry"}'
h_req GET /gateway/status
t_eq "429: a second one opens A's breaker (failures 2)" open "$(jq -r '.routes.routes[4].targets[0].circuit' "$T/body")"

# retries 2: A is asked 3 times, then B (B's "status500-3" used up first)
for i in 1 2 3; do curl -s -o /dev/null -H 'X-Stub-Mode: status500-3' -d '{"messages":[]}' "$SB_URL/chat/completions"; done
a=$(na) b=$(nb)
h_post '{"model":"again","input":"[stub:status500-3] persist"}'
t_eq "retries: 200" 200 "$HS"
t_eq "retries: A asked 1 + 2 times, then B once" "$((a + 3)) $((b + 1))" "$(na) $(nb)"
t_eq "retries: B's answer" "stub reply: [stub:status500-3] persist" "$(h_jq .output_text)"
h_req GET /gateway/status
t_eq "retries: A's attempts 3, one request, one error" "3 1 1" \
	"$(jq -r '.routes.routes[5].targets[0] | "\(.attempts) \(.requests) \(.errors)"' "$T/body")"

# no fallback for a refusal of the request (400)
a=$(na) b=$(nb)
h_post '{"model":"split","input":"[stub:status400] x"}'
t_eq "400: the client sees the upstream error" 502 "$HS"
t_eq "400: A tried" $((a + 1)) "$(na)"
t_eq "400: B not tried" "$b" "$(nb)"
rid_400=$(tail -1 "$T/SA.jsonl" | jq -r .request_id)
t_check "400: the request log names its upstream request id" t_wait_line "$T/GW.err" \
	"path=/v1/responses status=502 .*target=openai/m-s upstream_request_id=$rid_400\$" 5

# no fallback once the stream carried upstream output
a=$(na) b=$(nb)
curl -s -N -o "$T/sse" -H "Authorization: Bearer $TOKEN" \
	-d '{"model":"split","input":"[stub:close_mid_stream] stream me","stream":true}' "http://$ADDR/v1/responses"
t_eq "stream: A tried" $((a + 1)) "$(na)"
t_eq "stream: B never asked" "$b" "$(nb)"
t_eq "stream: some output reached the client" 1 "$(($(grep -c '^event: response.output_text.delta' "$T/sse") > 0))"
t_eq "stream: ends with response.failed" "event: response.failed" "$(grep '^event:' "$T/sse" | tail -1)"

# a stream that fails before any output falls back like a JSON request
# (B's own "status500-once" is used up first, by asking it directly)
curl -s -o /dev/null -H 'X-Stub-Mode: status500-once' -d '{"messages":[]}' "$SB_URL/chat/completions"
a=$(na) b=$(nb)
curl -s -N -o "$T/sse" -H "Authorization: Bearer $TOKEN" \
	-d '{"model":"split","input":"[stub:status500-once] s","stream":true}' "http://$ADDR/v1/responses"
t_eq "stream fallback: A tried" $((a + 1)) "$(na)"
t_eq "stream fallback: B answered" $((b + 1)) "$(nb)"
t_eq "stream fallback: completed" "event: response.completed" "$(grep '^event:' "$T/sse" | tail -1)"
t_eq "stream fallback: one response.created" 1 "$(grep -c '^event: response.created' "$T/sse")"
rid_b=$(tail -1 "$T/SB.jsonl" | jq -r .request_id)
t_check "stream fallback: the request log names B and its upstream request id" \
	t_wait_line "$T/GW.err" "status=200 .*target=openai/m-b upstream_request_id=$rid_b\$" 5
rid_a=$(tail -1 "$T/SA.jsonl" | jq -r .request_id)
want='["fallback","split","openai/m-s",500,"'"$rid_a"'"]'
t_eq "stream fallback: the event log" "$want" "$(t_settled "$want" last_event)"
# the event lines are written in order: once the stream's is there, the
# 400's would be too
t_eq "400: a refusal of the request is no event (the request log has it)" "" \
	"$(events | grep -F "\"$rid_400\"")"

# every routed call above (JSON, streams, fallbacks, a connect error, an
# open circuit) ran on an event loop's engine: no target's own transfer
# thread (tau-upstream) was started, no worker (tau-work) ran a call
threads=$(cat /proc/"$GW"/task/*/comm 2>/dev/null)
t_eq "routed calls on the loops: no tau-upstream thread" 0 "$(grep -c '^tau-upstream$' <<<"$threads")"
t_eq "routed calls on the loops: no tau-work thread" 0 "$(grep -c '^tau-work$' <<<"$threads")"

h_stop "$GW"
t_eq "clean stop" 0 "$HRC"
t_done
