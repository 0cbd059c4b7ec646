#!/usr/bin/env bash
# openai/<model> against the upstream stub: request translation (asserted on
# what the stub recorded) and reply translation, JSON and SSE; tool calls;
# usage; finish_reason length; retries on 500/429 (Retry-After) and none
# after the first streamed byte; timeouts (504), garbage and a broken stream
# (502 naming the status); split UTF-8 in the SSE stream; 32 concurrent
# calls on the provider's one transfer thread; a session with an upstream.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

h_stub
export OPENAI_API_KEY=sk-test-key
h_gateway GW --model openai/gpt-test --provider-base-url "$STUB_URL" --request-timeout-ms 2000 \
	--provider-max-retries 2
last() { tail -1 "$STUB_REC"; }
nrec() { wc -l <"$STUB_REC"; }

# request translation, non-stream
h_post '{"instructions":"Be brief","temperature":0.3,"top_p":0.9,"max_output_tokens":50,"input":[
 {"type":"message","role":"system","content":"sys"},
 {"type":"message","role":"developer","content":"dev"},
 {"type":"message","role":"user","content":[{"type":"input_text","text":"see"},{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"}]},
 {"type":"message","role":"assistant","content":"ok"},
 {"type":"function_call","call_id":"call_9","name":"f","arguments":"{\"a\":1}"},
 {"type":"function_call_output","call_id":"call_9","output":"42"},
 {"type":"message","role":"user","content":"hello stub"}]}'
t_eq "json: 200" 200 "$HS"
r=$(last)
t_eq "upstream path" /v1/chat/completions "$(jq -r .path <<<"$r")"
t_eq "upstream auth header" "Bearer sk-test-key" "$(jq -r '.headers.authorization' <<<"$r")"
t_eq "upstream model" gpt-test "$(jq -r .body.model <<<"$r")"
t_eq "upstream roles" "system system system user assistant tool user" "$(jq -r '[.body.messages[].role]|join(" ")' <<<"$r")"
t_eq "instructions first" "Be brief" "$(jq -r '.body.messages[0].content' <<<"$r")"
t_eq "developer becomes system" dev "$(jq -r '.body.messages[2].content' <<<"$r")"
t_eq "image part" '{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}' "$(jq -c '.body.messages[3].content[1]' <<<"$r")"
t_eq "text part" '{"type":"text","text":"see"}' "$(jq -c '.body.messages[3].content[0]' <<<"$r")"
t_eq "assistant text with its tool_calls" '{"role":"assistant","content":"ok","tool_calls":[{"id":"call_9","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}' "$(jq -c '.body.messages[4]' <<<"$r")"
t_eq "function output to tool message" '{"role":"tool","tool_call_id":"call_9","content":"42"}' "$(jq -c '.body.messages[5]' <<<"$r")"
t_eq "temperature" 0.3 "$(jq -r .body.temperature <<<"$r")"
t_eq "top_p" 0.9 "$(jq -r .body.top_p <<<"$r")"
t_eq "max_tokens" 50 "$(jq -r .body.max_tokens <<<"$r")"
t_eq "no stream flag" null "$(jq -r .body.stream <<<"$r")"
t_eq "reply text" "stub reply: hello stub" "$(h_jq .output_text)"
t_match "usage from upstream" '^[1-9][0-9]*$' "$(h_jq .usage.input_tokens)"
t_eq "usage total" "$(($(h_jq .usage.input_tokens) + $(h_jq .usage.output_tokens)))" "$(h_jq .usage.total_tokens)"

# tools and tool_choice; the stub answers with a tool call
h_post '{"input":"weather?","tools":[{"type":"function","name":"get_weather","description":"w","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}],"tool_choice":{"type":"function","name":"get_weather"}}'
r=$(last)
t_eq "tools translated" '[{"type":"function","function":{"name":"get_weather","description":"w","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]' "$(jq -c .body.tools <<<"$r")"
t_eq "tool_choice translated" '{"type":"function","function":{"name":"get_weather"}}' "$(jq -c .body.tool_choice <<<"$r")"
t_eq "function_call item" function_call "$(h_jq '.output[0].type')"
t_eq "call id from upstream" call_stub_1 "$(h_jq '.output[0].call_id')"
t_eq "call name" get_weather "$(h_jq '.output[0].name')"
t_eq "call arguments" '{"city":"Paris"}' "$(h_jq '.output[0].arguments')"
prev=$(h_jq .id)
h_post "{\"previous_response_id\":\"$prev\",\"input\":[{\"type\":\"function_call_output\",\"call_id\":\"call_stub_1\",\"output\":\"sunny\"}],\"tools\":[{\"type\":\"function\",\"name\":\"get_weather\"}]}"
r=$(last)
t_eq "tool loop: history replayed" "user assistant tool" "$(jq -r '[.body.messages[].role]|join(" ")' <<<"$r")"
t_eq "tool loop: reply" "stub saw tool result: sunny" "$(h_jq .output_text)"

# streaming: stream flags, deltas, usage from the final chunk, tool call args
curl -s -N -o "$T/sse" -H "Authorization: Bearer $TOKEN" -d '{"input":"stream me please now","stream":true}' "http://$ADDR/v1/responses"
r=$(last)
t_eq "stream: upstream stream flag" true "$(jq -r .body.stream <<<"$r")"
t_eq "stream: include_usage" true "$(jq -r .body.stream_options.include_usage <<<"$r")"
t_eq "stream: several deltas" 1 "$(($(grep -c '^event: response.output_text.delta' "$T/sse") > 1))"
fin=$(grep '^data: {"type":"response.completed"' "$T/sse" | cut -c7-)
t_eq "stream: final text" "stub reply: stream me please now" "$(jq -r .response.output_text <<<"$fin")"
t_match "stream: usage" '^[1-9]' "$(jq -r .response.usage.total_tokens <<<"$fin")"
curl -s -N -o "$T/sse" -H "Authorization: Bearer $TOKEN" -d '{"input":"w","stream":true,"tools":[{"type":"function","name":"get_weather"}]}' "http://$ADDR/v1/responses"
t_eq "stream: argument deltas" 2 "$(grep -c '^event: response.function_call_arguments.delta' "$T/sse")"
t_eq "stream: arguments done" '{"city":"Paris"}' "$(grep '^data: {"type":"response.function_call_arguments.done"' "$T/sse" | cut -c7- | jq -r .arguments)"

# split UTF-8 and split lines across network reads
curl -s -N -o "$T/sse" -H "Authorization: Bearer $TOKEN" -d '{"input":"[stub:split_utf8] x","stream":true}' "http://$ADDR/v1/responses"
t_eq "split utf8: text intact" "héllo wörld ✓ 日本" "$(grep '^data: {"type":"response.completed"' "$T/sse" | cut -c7- | jq -r .response.output_text)"
h_post '{"input":"[stub:split_utf8] x"}'
t_eq "split utf8 json: text intact" "héllo wörld ✓ 日本" "$(h_jq .output_text)"

# finish_reason length -> incomplete
h_post '{"input":"[stub:length] x"}'
t_eq "length: incomplete" incomplete "$(h_jq .status)"
t_eq "length: reason" max_output_tokens "$(h_jq .incomplete_details.reason)"

# failures: 500 retried (1 + 2 retries), then 502 naming the status; body not echoed
n0=$(nrec)
h_post '{"input":"[stub:status500] x"}'
t_eq "500: 502" 502 "$HS"
t_eq "500: code" upstream_error "$(h_jq .error.code)"
t_contains "500: names status" "500" "$(h_jq .error.message)"
t_eq "500: upstream body not echoed" 0 "$(grep -c 'stub forced' "$T/body" || true)"
t_eq "500: 3 attempts" 3 "$(($(nrec) - n0))"
t_eq "500: attempt header" "0 1 2" "$(tail -3 "$STUB_REC" | jq -r '.headers["x-tau-retry-attempt"]' | xargs)"
# 429 once with Retry-After: 1 -> retried after it, then success
n0=$(nrec)
h_post '{"input":"[stub:status429-once] x"}'
t_eq "429 once: success" 200 "$HS"
t_eq "429 once: 2 attempts" 2 "$(($(nrec) - n0))"
h_post '{"input":"[stub:status500-once] x","stream":true}'
t_eq "500 once (stream): retried before any byte" 200 "$HS"
# hang -> 504 after --request-timeout-ms
h_post '{"input":"[stub:hang] x"}'
t_eq "hang: 504" 504 "$HS"
t_eq "hang: code" upstream_timeout "$(h_jq .error.code)"
# garbage -> 502
h_post '{"input":"[stub:garbage] x"}'
t_eq "garbage: 502" 502 "$HS"
t_eq "garbage: code" upstream_error "$(h_jq .error.code)"
curl -s -N -o "$T/sse" -H "Authorization: Bearer $TOKEN" -d '{"input":"[stub:garbage] x","stream":true}' "http://$ADDR/v1/responses"
t_eq "garbage stream: response.failed" 1 "$(grep -c '^event: response.failed' "$T/sse")"
# close mid-stream: JSON -> 502; SSE -> response.failed after deltas, no retry
h_post '{"input":"[stub:close_mid_stream] x"}'
t_eq "close mid json: 502" 502 "$HS"
n0=$(nrec)
curl -s -N -o "$T/sse" -H "Authorization: Bearer $TOKEN" -d '{"input":"[stub:close_mid_stream] x","stream":true}' "http://$ADDR/v1/responses"
t_eq "close mid stream: failed event" upstream_error "$(grep '^data: {"type":"response.failed"' "$T/sse" | cut -c7- | jq -r .response.error.code)"
t_eq "close mid stream: ends with [DONE]" "data: [DONE]" "$(tail -2 "$T/sse" | head -1)"
t_eq "close mid stream: no retry after first byte" 1 "$(($(nrec) - n0))"

# Server-Timing splits a JSON answer's time where the wait is: the stub's
# 0.9 s ("slow") is the upstream's, and the gateway's own share (reading
# the reply, building and queueing the answer) stays far below it
h_req POST /v1/responses -D "$T/hdr" -H 'Content-Type: application/json' --data-binary '{"input":"[stub:slow] timing","store":false}'
t_eq "timing: 200" 200 "$HS"
st=$(grep -i '^server-timing:' "$T/hdr" | tr -d '\r' | sed 's/^[^:]*: //')
t_match "timing: header" '^gateway;dur=[0-9]+\.[0-9]{3}, upstream;dur=[0-9]+\.[0-9]{3}$' "$st"
t_eq "timing: the stub's delay is upstream time (>= 900 ms)" true \
	"$(sed 's/.*upstream;dur=//' <<<"$st" | awk '{print ($1 >= 900) ? "true" : "false"}')"
t_eq "timing: the gateway's own share is not (< 300 ms)" true \
	"$(sed 's/^gateway;dur=\([0-9.]*\),.*/\1/' <<<"$st" | awk '{print ($1 < 300) ? "true" : "false"}')"

# many calls at once share the provider's one transfer thread: 32 stateless
# requests (half JSON, half SSE) held by the stub together ("slow": 0.9 s
# before a JSON reply, 0.3 s between stream chunks), each answered with its
# own text and sent upstream once
n0=$(nrec)
pids=()
for i in $(seq 1 32); do
	stream=false
	((i % 2)) || stream=true
	curl -s -N -o "$T/par$i" -H "Authorization: Bearer $TOKEN" \
		-d "{\"input\":\"[stub:slow] parallel $i\",\"stream\":$stream,\"store\":false}" \
		"http://$ADDR/v1/responses" &
	pids+=($!)
done
wait "${pids[@]}"
own=0
for i in $(seq 1 32); do
	if ((i % 2)); then
		text=$(jq -r .output_text "$T/par$i")
	else
		text=$(grep '^data: {"type":"response.completed"' "$T/par$i" | cut -c7- | jq -r .response.output_text)
	fi
	[ "$text" == "stub reply: [stub:slow] parallel $i" ] && own=$((own + 1))
done
t_eq "32 concurrent calls: each answered with its own text" 32 "$own"
t_eq "32 concurrent calls: each sent upstream once" 32 "$(($(nrec) - n0))"
t_match "32 concurrent calls: held by the stub together (>= 8 at once)" '^([89]|[1-9][0-9]+)$' \
	"$(tail -32 "$STUB_REC" | jq -s 'map(.in_flight) | max')"

# a session with an upstream model (worker pool, blocking provider call):
# the second turn sends the first exchange upstream
h_post '{"input":"remember the colour teal","metadata":{"session_id":"up-1"}}'
t_eq "session turn 1: 200" 200 "$HS"
h_post '{"input":"what colour?","metadata":{"session_id":"up-1"}}'
t_eq "session turn 2: 200" 200 "$HS"
t_eq "session turn 2: history sent upstream" \
	"user:remember the colour teal assistant:stub reply: remember the colour teal user:what colour?" \
	"$(last | jq -r '[.body.messages[] | .role + ":" + (.content | if type == "string" then . else map(.text) | join("") end)] | join(" ")')"

# metrics: upstream attempts and errors by status
h_req GET /metrics
t_match "metrics upstream 500 errors" 'tau_gateway_upstream_errors_total\{status="500"\} [1-9]' "$(cat "$T/body")"
t_match "metrics upstream 200" 'tau_gateway_upstream_requests_total\{status="200"\} [1-9]' "$(cat "$T/body")"
h_stop "$GW"

# the event log (files: fleet mode writes no such line).  While another
# process holds the state directory's lock, a failure's line waits for it
# (the answer does not).  Then 40 concurrent failing requests (500, no
# retries) while contract-runner cycles append to the same log: every line
# parses, every failure is a line of its own or counted in a "suppressed"
# line, the lines written one by one stay within the rate limit (a burst of
# 20, then 5 a second), and no cycle line is lost.  (Before the server's
# lines went through one writer under the lock, an unlocked append could
# cut another writer's line as a torn tail.)
if ! t_on_pg; then
	h_gateway EV --gateway-state-dir "$T/ev" --model openai/gpt-test --provider-base-url "$STUB_URL" \
		--provider-max-retries 0
	E=$T/ev/runtime-events.jsonl
	failed() { grep -c '"outcome":"failed"' "$E" || true; }
	mkfifo "$T/release"
	flock -x "$T/ev/.lock" -c "echo held >'$T/held'; read -r _ <'$T/release'" &
	HOLDER=$!
	T_PIDS+=("$HOLDER")
	t_check "lock held by another process" t_wait_line "$T/held" held 10
	h_post '{"input":"[stub:status500] while locked"}'
	t_eq "locked: the failure is answered" 502 "$HS"
	t_eq "locked: its event line is not written under another's lock" 0 "$(failed)"
	echo go >"$T/release"
	wait "$HOLDER"
	t_eq "unlocked: the line follows" 1 "$(t_settled 1 failed)"

	(for i in 1 2 3 4 5; do
		"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/mixed-outcomes.json" \
			--gateway-state-dir "$T/ev" >/dev/null 2>&1
	done) &
	RUNNERS=$!
	T_PIDS+=("$RUNNERS")
	t0=$(date +%s%N)
	seq 40 | xargs -P 20 -I{} curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" \
		-d '{"input":"[stub:status500] ev {}"}' "http://$ADDR/v1/responses"
	secs=$((($(date +%s%N) - t0) / 1000000000 + 1))
	wait "$RUNNERS"
	said() { jq -s '[.[] | select(.kind == "upstream") | if .outcome == "suppressed" then .count else 1 end] | add' "$E"; }
	# the count of the lines turned away is written a second after the
	# burst, not only at the stop
	t_eq "event log: each failure a line or counted as suppressed, while it runs" 41 "$(t_settled 41 said)"
	h_stop "$EV" # the writer empties its queue before the stop is recorded
	t_eq "event log: every line parses" "$(wc -l <"$E")" "$(jq -c . "$E" 2>/dev/null | wc -l)"
	t_eq "event log: the runners' five cycles" 5 "$(jq -s '[.[] | select(.kind == "cycle")] | length' "$E")"
	t_eq "event log: failures written one by one within the rate limit ($secs s)" 1 \
		"$(($(failed) <= 21 + 5 * secs))"
fi

# a model that needs a key: refused at start-up, naming the variable
unset OPENAI_API_KEY
"$TAU_BIN" $(t_state_args "$T/nokey") --gateway-openresponses-server --gateway-openresponses-auth-token x \
	--model openai/gpt-test >"$T/nokey.out" 2>"$T/nokey.err"
rc=$?
t_eq "no key: usage exit" 64 "$rc"
t_contains "no key: names OPENAI_API_KEY" OPENAI_API_KEY "$(cat "$T/nokey.err")"
t_done
