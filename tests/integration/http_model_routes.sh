#!/usr/bin/env bash
# --gateway-routes: the request's model picks the route (a public name, an
# alias, or the default when it names none) and the response names the
# route; an unknown model is 400 model_not_found naming nothing of the
# routes; "model" is no longer an ignored field; a local target answers
# inline.  /v1/chat/completions selects routes the same way, and
# /v1/models lists the routes' public names.  Fallback: a first target
# answering 503 is followed by the second (the client sees a normal 200),
# a 400 is not, and nothing is retried elsewhere once the stream carried
# upstream output.  Circuit breaker: open
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
t_eq "models: the routes' public names, in file order" '["main","split","dead","echo"]' "$(jq -c '[.data[].id]' "$T/body")"

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
t_check "request log names the target that answered" t_wait_line "$T/GW.err" 'status=200 .*target=openai/m-b' 5

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

# no fallback for a refusal of the request (400)
a=$(na) b=$(nb)
h_post '{"model":"split","input":"[stub:status400] x"}'
t_eq "400: the client sees the upstream error" 502 "$HS"
t_eq "400: A tried" $((a + 1)) "$(na)"
t_eq "400: B not tried" "$b" "$(nb)"

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

# every routed call above (JSON, streams, fallbacks, a connect error, an
# open circuit) ran on an event loop's engine: no target's own transfer
# thread (tau-upstream) was started, no worker (tau-work) ran a call
threads=$(cat /proc/"$GW"/task/*/comm 2>/dev/null)
t_eq "routed calls on the loops: no tau-upstream thread" 0 "$(grep -c '^tau-upstream$' <<<"$threads")"
t_eq "routed calls on the loops: no tau-work thread" 0 "$(grep -c '^tau-work$' <<<"$threads")"

h_stop "$GW"
t_eq "clean stop" 0 "$HRC"
t_done
