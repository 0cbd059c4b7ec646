#!/usr/bin/env bash
# anthropic/<model> against the Anthropic stub: the request on the wire
# (path, x-api-key, anthropic-version, system, merged turns, image blocks,
# tool_use/tool_result, tools, tool_choice, max_tokens and its default),
# and the Open Responses output, plain and streamed, equal in shape to what
# openai/<model> gives on the OpenAI stub for the same request: text, a tool
# call round trip, an image, length -> incomplete, split UTF-8, upstream
# 4xx/5xx mapped as openai's, a close mid-reply (status kept in the message, 5xx retried),
# 429 retried after Retry-After, an error event mid-stream, garbage; the
# upstream's request-id in the log line of a failed attempt.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
. "$(dirname "$0")/lib/wire.sh"

export OPENAI_API_KEY=sk-test-key ANTHROPIC_API_KEY=sk-ant-test
w_start anthropic/claude-test anthropic_stub.py ""

# the request on the wire
h_post '{"instructions":"Be brief","temperature":0.3,"input":[
 {"type":"message","role":"developer","content":"dev"},
 {"type":"message","role":"user","content":[{"type":"input_text","text":"see"},{"type":"input_image","image_url":"data:image/png;base64,AAAA"},{"type":"input_image","image_url":"https://img.test/cat.png"}]},
 {"type":"message","role":"assistant","content":"ok"},
 {"type":"function_call","call_id":"call_9","name":"f","arguments":"{\"a\":1}"},
 {"type":"function_call_output","call_id":"call_9","output":"42"},
 {"type":"message","role":"user","content":"hello stub"}]}'
t_eq "json: 200" 200 "$HS"
r=$(w_vlast)
t_eq "upstream path" /v1/messages "$(jq -r .path <<<"$r")"
t_eq "x-api-key" sk-ant-test "$(jq -r '.headers["x-api-key"]' <<<"$r")"
t_eq "anthropic-version" 2023-06-01 "$(jq -r '.headers["anthropic-version"]' <<<"$r")"
t_eq "no bearer header" null "$(jq -r '.headers.authorization' <<<"$r")"
t_eq "model" claude-test "$(jq -r .body.model <<<"$r")"
t_eq "max_tokens default" 4096 "$(jq -r .body.max_tokens <<<"$r")"
t_eq "system: instructions then developer" $'Be brief\n\ndev' "$(jq -r .body.system <<<"$r")"
t_eq "turns alternate" "user assistant user" "$(jq -r '[.body.messages[].role]|join(" ")' <<<"$r")"
t_eq "image blocks" '[{"type":"base64","media_type":"image/png","data":"AAAA"},{"type":"url","url":"https://img.test/cat.png"}]' \
	"$(jq -c '[.body.messages[0].content[] | select(.type == "image") | .source]' <<<"$r")"
t_eq "tool_use with the assistant text" '[{"type":"text","text":"ok"},{"type":"tool_use","id":"call_9","name":"f","input":{"a":1}}]' \
	"$(jq -c '.body.messages[1].content' <<<"$r")"
t_eq "tool_result with the next user text" '[{"type":"tool_result","tool_use_id":"call_9","content":"42"},{"type":"text","text":"hello stub"}]' \
	"$(jq -c '.body.messages[2].content' <<<"$r")"
t_eq "temperature" 0.3 "$(jq -r .body.temperature <<<"$r")"
t_eq "reply text" "stub reply: hello stub" "$(h_jq .output_text)"
h_post '{"input":"x","max_output_tokens":50,"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}],"tool_choice":"required","parallel_tool_calls":false}'
r=$(w_vlast)
t_eq "max_output_tokens -> max_tokens" 50 "$(jq -r .body.max_tokens <<<"$r")"
t_eq "tools" '[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]' "$(jq -c .body.tools <<<"$r")"
t_eq "tool_choice required -> any, parallel off" '{"type":"any","disable_parallel_tool_use":true}' "$(jq -c .body.tool_choice <<<"$r")"
curl -s -N -o "$T/sse" -H "Authorization: Bearer $TOKEN" -d '{"input":"s","stream":true}' "http://$ADDR/v1/responses"
t_eq "stream: upstream stream flag" true "$(w_vlast | jq -r .body.stream)"

# the same requests through openai and anthropic: the same output
w_same "plain" '{"input":"hello stub"}'
t_eq "plain: text" "stub reply: hello stub" "$(h_jq .output_text)"
t_eq "plain: several deltas" 1 "$(($(grep -c '^event: response.output_text.delta' "$T/sse") > 1))"
tools='"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]'
w_same "tool call" "{\"input\":\"weather?\",$tools}"
t_eq "tool call: item" function_call "$(h_jq '.output[0].type')"
t_eq "tool call: arguments" '{"city":"Paris"}' "$(h_jq '.output[0].arguments')"
t_eq "tool call: the upstream's id" call_stub_1 "$(h_jq '.output[0].call_id')"
t_eq "tool call (stream): argument deltas" 2 "$(grep -c '^event: response.function_call_arguments.delta' "$T/sse")"
w_same "tool result" "{\"input\":[{\"type\":\"message\",\"role\":\"user\",\"content\":\"weather?\"},{\"type\":\"function_call\",\"call_id\":\"call_stub_1\",\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"},{\"type\":\"function_call_output\",\"call_id\":\"call_stub_1\",\"output\":\"sunny\"}],$tools}"
t_eq "tool result: reply" "stub saw tool result: sunny" "$(h_jq .output_text)"
w_same "image" '{"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"what is it"},{"type":"input_image","image_url":"data:image/jpeg;base64,/9j/AA=="}]}]}'
t_eq "image: reply" "stub reply: what is it" "$(h_jq .output_text)"
w_same "length" '{"input":"[stub:length] x"}'
t_eq "length: incomplete" incomplete "$(h_jq .status)"
t_eq "length: reason" max_output_tokens "$(h_jq .incomplete_details.reason)"
w_same "split utf8" '{"input":"[stub:split_utf8] x"}'
t_eq "split utf8: text intact" "héllo wörld ✓ 日本" "$(h_jq .output_text)"
t_eq "split utf8 (stream): text intact" "héllo wörld ✓ 日本" \
	"$(grep '^data: {"type":"response.completed"' "$T/sse" | cut -c7- | jq -r .response.output_text)"

# failures: 4xx not retried, 5xx retried (1 + 1), both 502 naming the status
n0=$(w_vcount)
w_same "400" '{"input":"[stub:status400] x"}'
t_eq "400: 502 upstream_error" "502 upstream_error" "$HS $(h_jq .error.code)"
t_contains "400: names the status" 400 "$(h_jq .error.message)"
t_eq "400: not retried (json + stream)" 2 "$(($(w_vcount) - n0))"
n0=$(w_vcount)
h_post '{"input":"[stub:status529] x"}'
t_eq "529: 502" 502 "$HS"
t_eq "529: 2 attempts (1 retry)" 2 "$(($(w_vcount) - n0))"
t_eq "529: upstream body not echoed" 0 "$(grep -c 'stub forced' "$T/body" || true)"
# (the line is written before the call's done callback, so before the answer)
t_match "529: the upstream's request-id logged" 'upstream attempt 2 failed \(upstream returned HTTP status 529\) \[request-id req_stub_[0-9]+\]; giving up' \
	"$(cat "$T/GWV.err" "$T/GWV.out")"
n0=$(w_vcount)
h_post '{"input":"[stub:status429-once] x"}'
t_eq "429 once: retried after Retry-After, 200" 200 "$HS"
t_eq "429 once: 2 attempts" 2 "$(($(w_vcount) - n0))"
t_match "429 once: retry logged with the request-id" 'status 429\) \[request-id req_stub_[0-9]+\]; retrying in 1000 ms' \
	"$(cat "$T/GWV.err" "$T/GWV.out")"
# an error event after the first byte: response.failed, no retry
n0=$(w_vcount)
curl -s -N -o "$T/sse" -H "Authorization: Bearer $TOKEN" -d '{"input":"[stub:error_event] x","stream":true}' "http://$ADDR/v1/responses"
t_eq "error event: response.failed" upstream_error "$(grep '^data: {"type":"response.failed"' "$T/sse" | cut -c7- | jq -r .response.error.code)"
t_eq "error event: not retried" 1 "$(($(w_vcount) - n0))"
w_same "garbage" '{"input":"[stub:garbage] x"}'
t_eq "garbage: 502" 502 "$HS"
# the upstream closing part-way: as openai's, and never retried after the first byte
n0=$(w_vcount)
w_same "close mid-stream" '{"input":"[stub:close_mid_stream] x"}'
t_eq "close mid-stream: 502" 502 "$HS"
t_eq "close mid-stream: not retried (json + stream)" 2 "$(($(w_vcount) - n0))"
t_eq "close mid-stream (stream): response.failed" upstream_error \
	"$(grep '^data: {"type":"response.failed"' "$T/sse" | cut -c7- | jq -r .response.error.code)"

# a key is required unless a base URL is given, named by its variable
unset ANTHROPIC_API_KEY
env -u ANTHROPIC_BASE_URL "$TAU_BIN" $(t_state_args "$T/nokey") --gateway-openresponses-server \
	--gateway-openresponses-auth-token x --model anthropic/claude-test >"$T/nokey.out" 2>"$T/nokey.err"
t_eq "no key: usage exit" 64 "$?"
t_contains "no key: names ANTHROPIC_API_KEY" "needs ANTHROPIC_API_KEY" "$(cat "$T/nokey.err")"
h_stop "$GWV"
h_stop "$GWO"
t_done
