#!/usr/bin/env bash
# POST /v1/chat/completions and GET /v1/models over loopback with curl:
# local/echo plain and streamed (chat.completion.chunk frames, data: [DONE],
# stream_options.include_usage), the same content either way; through an
# openai/* model in front of the upstream stub (tests/stub): an image_url
# part reaching the upstream, a tool call and its result (round trip), a
# streamed tool call, an upstream 500 as a 502 in OpenAI's error envelope;
# 400s naming the field, 401, 405 with Allow; /v1/models' list; the
# Server-Timing header (present and parseable) on /v1/chat/completions and
# /v1/responses; tau_gateway_overhead_seconds in /metrics counting every
# answer of the two routes; nothing stored.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

h_gateway GW
ECHO=$ADDR
h_stub
OPENAI_API_KEY=stub-key h_gateway UP --gateway-state-dir "$T/up" --model openai/stub-model \
	--provider-base-url "$STUB_URL" --provider-max-retries 0
UP_ADDR=$ADDR

# chat POST BODY [curl args]: to $ADDR, body in $T/body, headers in $T/hdr
chat() {
	local body=$1
	shift
	HS=$(curl -s -D "$T/hdr" -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' --data-binary "$body" "$@" \
		"http://$ADDR/v1/chat/completions")
}
timing() { grep -i '^server-timing:' "$T/hdr" | tr -d '\r' | sed 's/^[^:]*: //'; }
TIMING_RE='^gateway;dur=[0-9]+\.[0-9]{3}, upstream;dur=[0-9]+\.[0-9]{3}$'

# ---- local/echo: plain -------------------------------------------------------
ADDR=$ECHO
chat '{"model":"local/echo","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello chat world"}]}'
t_eq "plain: 200" 200 "$HS"
t_eq "plain: object" chat.completion "$(h_jq .object)"
t_match "plain: chatcmpl id" '^chatcmpl-[0-9a-f]{32}$' "$(h_jq .id)"
t_eq "plain: served model" local/echo "$(h_jq .model)"
t_eq "plain: one choice, assistant" "1 assistant 0" "$(h_jq '"\(.choices|length) \(.choices[0].message.role) \(.choices[0].index)"')"
t_contains "plain: the echo of the user text" 'hello chat world' "$(h_jq '.choices[0].message.content')"
t_eq "plain: finish_reason stop" stop "$(h_jq '.choices[0].finish_reason')"
t_eq "plain: usage adds up" true "$(h_jq '.usage.total_tokens == .usage.prompt_tokens + .usage.completion_tokens and .usage.completion_tokens > 0')"
t_eq "plain: no tool_calls" null "$(h_jq '.choices[0].message.tool_calls')"
t_match "plain: Server-Timing parseable" "$TIMING_RE" "$(timing)"
PLAIN=$(h_jq '.choices[0].message.content')
id=$(h_jq .id)

# ---- local/echo: streamed ----------------------------------------------------
sse() { grep '^data: ' "$T/body" | sed 's/^data: //'; }
chat '{"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello chat world"}]}'
t_eq "stream: 200" 200 "$HS"
t_match "stream: event-stream" 'text/event-stream' "$(grep -i '^content-type' "$T/hdr")"
t_match "stream: Server-Timing in the headers" "$TIMING_RE" "$(timing)"
t_eq "stream: last line is [DONE]" '[DONE]' "$(sse | tail -1)"
t_eq "stream: every other frame is a chunk" true "$(sse | sed '$d' | jq -s 'all(.object == "chat.completion.chunk") and length > 3')"
t_eq "stream: one id throughout" 1 "$(sse | sed '$d' | jq -s '[.[].id] | unique | length')"
t_eq "stream: role first" assistant "$(sse | head -1 | jq -r '.choices[0].delta.role')"
t_eq "stream: content equals the JSON answer's" "$PLAIN" "$(sse | sed '$d' | jq -rsj '[.[].choices[0].delta.content // empty] | join("")')"
t_eq "stream: finish chunk" stop "$(sse | sed '$d' | jq -rs '[.[] | .choices[0].finish_reason // empty] | last')"
t_eq "stream: usage chunk last, choices empty" "0 true" "$(sse | sed '$d' | tail -1 | jq -r '"\(.choices|length) \(.usage.total_tokens > 0)"')"
t_eq "stream: usage null on the other chunks" true "$(sse | sed '$d' | sed '$d' | jq -s 'all(.usage == null)')"
chat '{"stream":true,"messages":[{"role":"user","content":"no usage please"}]}'
t_eq "stream without include_usage: no usage member" 0 "$(sse | sed '$d' | jq -s '[.[] | select(has("usage"))] | length')"
t_eq "stream without include_usage: [DONE]" '[DONE]' "$(sse | tail -1)"

# ---- errors ------------------------------------------------------------------
err() { # NAME STATUS CODE PARAM BODY
	chat "$5"
	t_eq "$1: status" "$2" "$HS"
	t_eq "$1: code and param" "$3 $4" "$(h_jq '"\(.error.code) \(.error.param)"')"
	t_eq "$1: error type" invalid_request_error "$(h_jq .error.type)"
	t_match "$1: Server-Timing" "$TIMING_RE" "$(timing)"
}
err "malformed JSON" 400 malformed_json null '{"messages":'
err "no messages" 400 missing_required_parameter messages '{"model":"x"}'
err "empty messages" 400 invalid_value messages '{"messages":[]}'
err "bad role" 400 invalid_value 'messages[1].role' '{"messages":[{"role":"user","content":"a"},{"role":"robot","content":"b"}]}'
err "image without url" 400 missing_required_parameter 'messages[0].content[1].image_url.url' \
	'{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{}}]}]}'
err "tool call without id" 400 missing_required_parameter 'messages[1].tool_calls[0].id' \
	'{"messages":[{"role":"user","content":"a"},{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}'
err "tool message without tool_call_id" 400 missing_required_parameter 'messages[1].tool_call_id' \
	'{"messages":[{"role":"user","content":"a"},{"role":"tool","content":"r"}]}'
err "tool without name" 400 missing_required_parameter 'tools[0].function.name' \
	'{"messages":[{"role":"user","content":"a"}],"tools":[{"type":"function","function":{}}]}'
err "max_tokens zero" 400 invalid_value max_tokens '{"max_tokens":0,"messages":[{"role":"user","content":"a"}]}'
err "two choices" 400 invalid_value n '{"n":2,"messages":[{"role":"user","content":"a"}]}'
HS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Authorization: Bearer wrong' --data-binary '{}' "http://$ADDR/v1/chat/completions")
t_eq "bad token: 401" 401 "$HS"
t_eq "bad token: envelope" unauthorized "$(h_jq .error.code)"
HS=$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/v1/models")
t_eq "models without token: 401" 401 "$HS"
h_req GET /v1/chat/completions -D "$T/hdr"
t_eq "GET chat: 405" 405 "$HS"
t_eq "GET chat: Allow POST" "POST" "$(grep -i '^allow:' "$T/hdr" | tr -d '\r' | sed 's/^[^:]*: //')"
h_req DELETE /v1/models -D "$T/hdr"
t_eq "DELETE models: 405" 405 "$HS"
t_eq "DELETE models: Allow GET" "GET" "$(grep -i '^allow:' "$T/hdr" | tr -d '\r' | sed 's/^[^:]*: //')"

# ---- /v1/models ----------------------------------------------------------------
h_req GET /v1/models
t_eq "models: 200" 200 "$HS"
t_eq "models: list of local/echo" "list local/echo model local" \
	"$(h_jq '"\(.object) \([.data[].id]|join(",")) \(.data[0].object) \(.data[0].owned_by)"')"
t_eq "models: created is a time" true "$(h_jq '.data[0].created > 1600000000')"

# ---- nothing stored: the id is not a stored response -----------------------------
h_req GET "/v1/responses/$id"
t_eq "chat answers are not stored" 404 "$HS"

# ---- /v1/responses carries Server-Timing too ------------------------------------
HS=$(curl -s -D "$T/hdr" -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	--data-binary '{"input":"hi","store":false}' "http://$ADDR/v1/responses")
t_eq "responses: 200" 200 "$HS"
t_match "responses: Server-Timing parseable" "$TIMING_RE" "$(timing)"
HS=$(curl -s -N -D "$T/hdr" -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	--data-binary '{"input":"hi","store":false,"stream":true}' "http://$ADDR/v1/responses")
t_match "responses stream: Server-Timing parseable" "$TIMING_RE" "$(timing)"

# ---- the overhead histogram: one sample per answer of the two routes ---------------
answers() {
	curl -s -H "Authorization: Bearer $TOKEN" "http://$ADDR/metrics" |
		awk '/^tau_gateway_http_requests_total\{route="\/v1\/(responses|chat\/completions)",/ {n += $2} END {print n + 0}'
}
h_wait_metric tau_gateway_overhead_seconds_count "$(answers)"
m=$(curl -s -H "Authorization: Bearer $TOKEN" "http://$ADDR/metrics")
t_match "overhead: a histogram" '# TYPE tau_gateway_overhead_seconds histogram' "$m"
t_eq "overhead: count = answers of /v1/responses and /v1/chat/completions" "$(answers)" \
	"$(grep '^tau_gateway_overhead_seconds_count ' <<<"$m" | cut -d' ' -f2)"
t_eq "overhead: +Inf bucket = count" "$(grep '^tau_gateway_overhead_seconds_count ' <<<"$m" | cut -d' ' -f2)" \
	"$(grep '^tau_gateway_overhead_seconds_bucket{le="+Inf"} ' <<<"$m" | cut -d' ' -f2)"
t_match "metrics: chat route label" 'tau_gateway_http_requests_total\{route="/v1/chat/completions",status="200"\}' "$m"
t_match "metrics: models route label" 'tau_gateway_http_requests_total\{route="/v1/models",status="200"\}' "$m"

# ---- through the openai upstream stub ------------------------------------------
ADDR=$UP_ADDR
chat '{"messages":[{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"low"}}]}]}'
t_eq "image: 200" 200 "$HS"
t_eq "image: stub reply" "stub reply: what is this" "$(h_jq '.choices[0].message.content')"
t_eq "image: the upstream got the image part" "data:image/png;base64,iVBORw0KGgo= low" \
	"$(tail -1 "$STUB_REC" | jq -r '.body.messages[-1].content[] | select(.type == "image_url") | "\(.image_url.url) \(.image_url.detail)"')"
t_eq "image: model named upstream" stub-model "$(tail -1 "$STUB_REC" | jq -r .body.model)"
t_match "upstream: Server-Timing parseable" "$TIMING_RE" "$(timing)"
t_eq "upstream: upstream time is measured" true \
	"$(timing | sed 's/.*upstream;dur=//' | awk '{print ($1 > 0) ? "true" : "false"}')"
TOOLS='[{"type":"function","function":{"name":"get_weather","description":"w","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]'
chat '{"messages":[{"role":"user","content":"weather?"}],"tools":'"$TOOLS"',"tool_choice":"auto"}'
t_eq "tool call: 200" 200 "$HS"
t_eq "tool call: finish_reason" tool_calls "$(h_jq '.choices[0].finish_reason')"
t_eq "tool call: the call" 'call_stub_1 function get_weather {"city":"Paris"}' \
	"$(h_jq '.choices[0].message.tool_calls[0] | "\(.id) \(.type) \(.function.name) \(.function.arguments)"')"
t_eq "tool call: content null" null "$(h_jq '.choices[0].message.content')"
t_eq "tool call: the upstream got the tool" get_weather "$(tail -1 "$STUB_REC" | jq -r '.body.tools[0].function.name')"
chat '{"messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_stub_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"call_stub_1","content":"sunny, 21C"}],"tools":'"$TOOLS"'}'
t_eq "tool result: 200" 200 "$HS"
t_eq "tool result: the model saw it" "stub saw tool result: sunny, 21C" "$(h_jq '.choices[0].message.content')"
t_eq "tool result: the upstream got call and result" "assistant call_stub_1 tool call_stub_1" \
	"$(tail -1 "$STUB_REC" | jq -r '.body.messages | "\(.[1].role) \(.[1].tool_calls[0].id) \(.[2].role) \(.[2].tool_call_id)"')"
chat '{"stream":true,"messages":[{"role":"user","content":"weather?"}],"tools":'"$TOOLS"'}'
t_eq "streamed tool call: arguments reassembled" '{"city":"Paris"}' \
	"$(sse | sed '$d' | jq -rsj '[.[].choices[0].delta.tool_calls[0]?.function.arguments // empty] | join("")')"
t_eq "streamed tool call: id and name once" "call_stub_1 get_weather" \
	"$(sse | sed '$d' | jq -rs '[.[].choices[0].delta.tool_calls[0]? | select(.id != null)] | "\(length) \(.[0].id) \(.[0].function.name)"' | cut -d' ' -f2-)"
t_eq "streamed tool call: finish tool_calls, [DONE]" "tool_calls [DONE]" \
	"$(sse | sed '$d' | jq -rs '[.[] | .choices[0].finish_reason // empty] | last') $(sse | tail -1)"
chat '{"messages":[{"role":"user","content":"[stub:status500] fail please"}]}'
t_eq "upstream 500: 502" 502 "$HS"
t_eq "upstream 500: envelope" "upstream_error server_error" "$(h_jq '"\(.error.code) \(.error.type)"')"
chat '{"stream":true,"messages":[{"role":"user","content":"[stub:status500] fail please"}]}'
t_eq "upstream 500 streamed: an error frame, no [DONE]" "upstream_error 0" \
	"$(sse | jq -r '.error.code // empty') $(grep -c '^data: \[DONE\]' "$T/body")"
h_req GET /v1/models
t_eq "models: the configured model" openai/stub-model "$(h_jq '.data[0].id')"

t_match "request log: the chat completion's id" "request method=POST path=/v1/chat/completions status=200 .*response_id=$id" \
	"$(cat "$T/GW.err")"
h_stop "$GW"
t_eq "graceful stop" 0 "$HRC"
h_stop "$UP"
t_eq "graceful stop (upstream gateway)" 0 "$HRC"
t_done
