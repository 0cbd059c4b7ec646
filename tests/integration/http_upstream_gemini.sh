#!/usr/bin/env bash
# google/<model> against the Gemini stub: the request on the wire (the
# model in the path, :generateContent and :streamGenerateContent?alt=sse,
# x-goog-api-key, systemInstruction, user/model turns, inlineData and
# fileData, functionCall (with a thought signature)/functionResponse, functionDeclarations, toolConfig,
# generationConfig), and the Open Responses output, plain and streamed
# (CRLF-framed events), equal in shape to what openai/<model> gives on the
# OpenAI stub for the same request: text, a tool call round trip, an image,
# MAX_TOKENS -> incomplete, split UTF-8, upstream 4xx/5xx mapped as
# openai's, 429 retried after Retry-After, an error object mid-stream,
# garbage; the upstream's x-request-id in the log line of a failed attempt;
# GOOGLE_API_KEY accepted when GEMINI_API_KEY is not set.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
. "$(dirname "$0")/lib/wire.sh"

export OPENAI_API_KEY=sk-test-key GEMINI_API_KEY=gm-test
unset GOOGLE_API_KEY
w_start google/gemini-test gemini_stub.py /v1beta

# the request on the wire
h_post '{"instructions":"Be brief","temperature":0.5,"top_p":0.9,"max_output_tokens":60,"input":[
 {"type":"message","role":"system","content":"sys"},
 {"type":"message","role":"user","content":[{"type":"input_text","text":"see"},{"type":"input_image","image_url":"data:image/png;base64,AAAA"},{"type":"input_image","image_url":"https://img.test/cat.webp"}]},
 {"type":"message","role":"assistant","content":"ok"},
 {"type":"function_call","call_id":"call_9","name":"f","arguments":"{\"a\":1}"},
 {"type":"function_call_output","call_id":"call_9","output":"42"},
 {"type":"message","role":"user","content":"hello stub"}]}'
t_eq "json: 200" 200 "$HS"
r=$(w_vlast)
t_eq "upstream path" "/v1beta/models/gemini-test:generateContent" "$(jq -r .path <<<"$r")"
t_eq "x-goog-api-key" gm-test "$(jq -r '.headers["x-goog-api-key"]' <<<"$r")"
t_eq "no bearer header" null "$(jq -r '.headers.authorization' <<<"$r")"
t_eq "no model in the body" null "$(jq -r .body.model <<<"$r")"
t_eq "systemInstruction" $'Be brief\n\nsys' "$(jq -r '.body.systemInstruction.parts[0].text' <<<"$r")"
t_eq "turns" "user model user" "$(jq -r '[.body.contents[].role]|join(" ")' <<<"$r")"
t_eq "image parts" '[{"inlineData":{"mimeType":"image/png","data":"AAAA"}},{"fileData":{"mimeType":"image/webp","fileUri":"https://img.test/cat.webp"}}]' \
	"$(jq -c '[.body.contents[0].parts[] | select(.inlineData or .fileData)]' <<<"$r")"
t_eq "functionCall with the model's text, the sentinel signature" '[{"text":"ok"},{"functionCall":{"name":"f","args":{"a":1}},"thoughtSignature":"skip_thought_signature_validator"}]' \
	"$(jq -c '.body.contents[1].parts' <<<"$r")"
t_eq "functionResponse named after its call" '[{"functionResponse":{"name":"f","response":{"result":"42"}}},{"text":"hello stub"}]' \
	"$(jq -c '.body.contents[2].parts' <<<"$r")"
t_eq "generationConfig" '{"temperature":0.5,"topP":0.9,"maxOutputTokens":60}' "$(jq -c .body.generationConfig <<<"$r")"
t_eq "reply text" "stub reply: hello stub" "$(h_jq .output_text)"
h_post '{"input":"x","tools":[{"type":"function","name":"get_weather","description":"w","parameters":{"type":"object","properties":{"city":{"type":"string"}},"additionalProperties":false}}],"tool_choice":{"type":"function","name":"get_weather"}}'
r=$(w_vlast)
t_eq "functionDeclarations, the schema as JSON Schema" '[{"functionDeclarations":[{"name":"get_weather","description":"w","parametersJsonSchema":{"type":"object","properties":{"city":{"type":"string"}},"additionalProperties":false}}]}]' "$(jq -c .body.tools <<<"$r")"
t_eq "toolConfig: a forced function" '{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}}' "$(jq -c .body.toolConfig <<<"$r")"
curl -s -N -o "$T/sse" -H "Authorization: Bearer $TOKEN" -d '{"input":"s","stream":true}' "http://$ADDR/v1/responses"
t_eq "stream: the streaming path" "/v1beta/models/gemini-test:streamGenerateContent?alt=sse" "$(w_vlast | jq -r .path)"

# the same requests through openai and google: the same output
w_same "plain" '{"input":"hello stub"}'
t_eq "plain: text" "stub reply: hello stub" "$(h_jq .output_text)"
t_eq "plain: several deltas" 1 "$(($(grep -c '^event: response.output_text.delta' "$T/sse") > 1))"
tools='"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]'
w_same "tool call" "{\"input\":\"weather?\",$tools}"
t_eq "tool call: item" function_call "$(h_jq '.output[0].type')"
t_eq "tool call: arguments" '{"city":"Paris"}' "$(h_jq '.output[0].arguments')"
t_eq "tool call (stream): arguments delta" '{"city":"Paris"}' \
	"$(grep '^data: {"type":"response.function_call_arguments.delta"' "$T/sse" | cut -c7- | jq -r .delta)"
# the call id the gateway made up comes back in the next turn's input
cid=$(h_jq '.output[0].call_id')
w_same "tool result" "{\"input\":[{\"type\":\"message\",\"role\":\"user\",\"content\":\"weather?\"},{\"type\":\"function_call\",\"call_id\":\"$cid\",\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"},{\"type\":\"function_call_output\",\"call_id\":\"$cid\",\"output\":\"sunny\"}],$tools}"
t_eq "tool result: reply" "stub saw tool result: sunny" "$(h_jq .output_text)"
t_eq "tool result: the response names the function" get_weather \
	"$(w_vlast | jq -r '.body.contents[-1].parts[-1].functionResponse.name')"
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
w_same "404" '{"input":"[stub:status404] x"}'
t_eq "404: 502 upstream_error" "502 upstream_error" "$HS $(h_jq .error.code)"
t_eq "404: not retried (json + stream)" 2 "$(($(w_vcount) - n0))"
n0=$(w_vcount)
w_same "503" '{"input":"[stub:status503] x"}'
t_eq "503: 2 attempts each (json + stream)" 4 "$(($(w_vcount) - n0))"
t_eq "503: upstream body not echoed" 0 "$(grep -c 'stub forced' "$T/body" || true)"
# (the line is written before the call's done callback, so before the answer)
t_match "503: the upstream's x-request-id logged" 'status 503\) \[x-request-id req_stub_[0-9]+\]; giving up' \
	"$(cat "$T/GWV.err" "$T/GWV.out")"
n0=$(w_vcount)
h_post '{"input":"[stub:status429-once] x"}'
t_eq "429 once: retried after Retry-After, 200" 200 "$HS"
t_eq "429 once: 2 attempts" 2 "$(($(w_vcount) - n0))"
n0=$(w_vcount)
curl -s -N -o "$T/sse" -H "Authorization: Bearer $TOKEN" -d '{"input":"[stub:error_event] x","stream":true}' "http://$ADDR/v1/responses"
t_eq "error mid-stream: response.failed" upstream_error "$(grep '^data: {"type":"response.failed"' "$T/sse" | cut -c7- | jq -r .response.error.code)"
t_eq "error mid-stream: not retried" 1 "$(($(w_vcount) - n0))"
w_same "garbage" '{"input":"[stub:garbage] x"}'
t_eq "garbage: 502" 502 "$HS"
# the upstream closing part-way: as openai's, and never retried after the first byte
n0=$(w_vcount)
w_same "close mid-stream" '{"input":"[stub:close_mid_stream] x"}'
t_eq "close mid-stream: 502" 502 "$HS"
t_eq "close mid-stream: not retried (json + stream)" 2 "$(($(w_vcount) - n0))"
t_eq "close mid-stream (stream): response.failed" upstream_error \
	"$(grep '^data: {"type":"response.failed"' "$T/sse" | cut -c7- | jq -r .response.error.code)"
h_stop "$GWV"

# GOOGLE_API_KEY when GEMINI_API_KEY is not set; neither: refused, both named
unset GEMINI_API_KEY
GOOGLE_API_KEY=gk-test h_gateway GWK --gateway-state-dir "$T/gw-k" --model google/gemini-test \
	--provider-base-url "http://127.0.0.1:$VS_PORT/v1beta"
h_post '{"input":"k"}'
t_eq "GOOGLE_API_KEY: sent" gk-test "$(w_vlast | jq -r '.headers["x-goog-api-key"]')"
h_stop "$GWK"
env -u GOOGLE_GEMINI_BASE_URL "$TAU_BIN" $(t_state_args "$T/nokey") --gateway-openresponses-server \
	--gateway-openresponses-auth-token x --model google/gemini-test >"$T/nokey.out" 2>"$T/nokey.err"
t_eq "no key: usage exit" 64 "$?"
t_contains "no key: names both variables" "needs GEMINI_API_KEY (or GOOGLE_API_KEY)" "$(cat "$T/nokey.err")"
# the base URL from GOOGLE_GEMINI_BASE_URL
GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:$VS_PORT/v1beta" h_gateway GWE --gateway-state-dir "$T/gw-e" \
	--model google/gemini-env
h_post '{"input":"e"}'
t_eq "GOOGLE_GEMINI_BASE_URL: used, no key needed" "200 /v1beta/models/gemini-env:generateContent" \
	"$HS $(w_vlast | jq -r .path)"
h_stop "$GWE"
h_stop "$GWO"
t_done
