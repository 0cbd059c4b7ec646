#!/usr/bin/env bash
# --gateway-routes with one target of each provider: one gateway routes
# model "o" to the OpenAI stub, "a" to the Anthropic stub and "g" to the
# Gemini stub (each key from the variable its target names), and the same
# request - plain, tool call, tool result, image, length - gets the same
# Open Responses output from all three, as JSON and as a stream (shapes
# compared with lib/wire.sh's normalisation: ids, times, the model and
# token counts legitimately differ).  Each stub saw its own wire format and
# its own key.  A streamed /v1/chat/completions tool call that follows a
# text block (Anthropic's content block 1) is tool_calls[].index 0 from
# every provider, its text and arguments whole.  A route whose anthropic target answers 503 is answered by
# its google target, and the client sees a normal 200.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
. "$(dirname "$0")/lib/wire.sh"

h_stub || exit 1
h_stub_as AS anthropic_stub.py || exit 1
h_stub_as GS gemini_stub.py || exit 1
h_stub_as AF anthropic_stub.py --mode status503 || exit 1
cat >"$T/routes.json" <<EOF
{"version": 1, "default": "o",
 "routes": [
  {"model": "o", "targets": [{"provider": "openai", "model": "gpt-test", "base_url": "$STUB_URL", "api_key_env": "T_KEY_O"}]},
  {"model": "a", "targets": [{"provider": "anthropic", "model": "claude-test", "base_url": "http://127.0.0.1:$AS_PORT", "api_key_env": "T_KEY_A"}]},
  {"model": "g", "targets": [{"provider": "google", "model": "gemini-test", "base_url": "http://127.0.0.1:$GS_PORT/v1beta", "api_key_env": "T_KEY_G"}]},
  {"model": "ag", "targets": [
    {"provider": "anthropic", "model": "claude-test", "base_url": "http://127.0.0.1:$AF_PORT", "api_key_env": "T_KEY_A"},
    {"provider": "google", "model": "gemini-test", "base_url": "http://127.0.0.1:$GS_PORT/v1beta", "api_key_env": "T_KEY_G"}]}]}
EOF
export T_KEY_O=key-openai T_KEY_A=key-anthropic T_KEY_G=key-gemini
t_check "the gateway starts on the routes file" h_gateway GW --gateway-routes "$T/routes.json" \
	--request-timeout-ms 3000

# same NAME JSON: JSON with model o, a and g, plain and streamed, same shapes
same() {
	local name=$1 json=$2 m s ref sref
	for m in o a g; do
		s=$(w_post "$ADDR" "$(jq -c --arg m "$m" '. + {model: $m}' <<<"$json")" "$T/r-$m")
		if jq -e .error "$T/r-$m" >/dev/null; then
			printf '%s %s\n' "$s" "$(jq -S -c "$w_err" "$T/r-$m")" >"$T/n-$m"
		else
			printf '%s %s\n' "$s" "$(jq -S -c "$w_norm" "$T/r-$m")" >"$T/n-$m"
		fi
		curl -s -N -o "$T/s-$m" -H "Authorization: Bearer $TOKEN" \
			-d "$(jq -c --arg m "$m" '. + {model: $m, stream: true}' <<<"$json")" "http://$ADDR/v1/responses"
		w_sse_shape "$T/s-$m" >"$T/ns-$m"
	done
	ref=$(cat "$T/n-o")
	sref=$(cat "$T/ns-o")
	t_match "$name: openai answered" '^200 ' "$ref"
	for m in a g; do
		t_eq "$name: $m's response as openai's" "$ref" "$(cat "$T/n-$m")"
		t_eq "$name (stream): $m's events and final response as openai's" "$sref" "$(cat "$T/ns-$m")"
	done
}

tools='"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]'
same "plain" '{"input":"hello stub"}'
t_eq "plain: the text" "stub reply: hello stub" "$(jq -r .output_text "$T/r-g")"
same "tool call" "{\"input\":\"weather?\",$tools}"
t_eq "tool call: a function_call item" function_call "$(jq -r '.output[0].type' "$T/r-a")"
same "tool result" "{\"input\":[{\"type\":\"message\",\"role\":\"user\",\"content\":\"weather?\"},{\"type\":\"function_call\",\"call_id\":\"call_stub_1\",\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"},{\"type\":\"function_call_output\",\"call_id\":\"call_stub_1\",\"output\":\"sunny\"}],$tools}"
same "image" '{"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"what is it"},{"type":"input_image","image_url":"data:image/jpeg;base64,/9j/AA=="}]}]}'
same "length" '{"input":"[stub:length] x"}'
t_eq "length: incomplete" incomplete "$(jq -r .status "$T/r-a")"

# a tool call after a text block, streamed as chat completion chunks: the
# call is index 0 among the tool calls whatever the provider numbers it
# (Anthropic: content block 1); the stubs split the stream mid-character
for m in o a g; do
	curl -s -N -o "$T/c-$m" -H "Authorization: Bearer $TOKEN" -d "{\"model\":\"$m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"[stub:text_then_tool] weather?\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}]}" \
		"http://$ADDR/v1/chat/completions"
	t_eq "chat stream, text then tool ($m): text, call index 0, arguments, finish" \
		'Let me check ✓ |0|get_weather|{"city":"Paris"}|tool_calls' \
		"$(sed -n 's/^data: //p' "$T/c-$m" | sed '$d' | jq -rsj '([.[].choices[0]?.delta.content // empty] | join("")),
			"|", ([.[].choices[0]?.delta.tool_calls[]?.index] | unique | map(tostring) | join(",")),
			"|", ([.[].choices[0]?.delta.tool_calls[]? | select(.id) | .function.name] | join(",")),
			"|", ([.[].choices[0]?.delta.tool_calls[]?.function.arguments // empty] | join("")),
			"|", ([.[].choices[0]?.finish_reason // empty] | last)')"
done

# each stub saw its own wire format and its own key
t_match "openai: chat completions with its key" 'Bearer key-openai' "$(tail -1 "$STUB_REC")"
t_eq "anthropic: the Messages API with its key" "/v1/messages key-anthropic" \
	"$(tail -1 "$AS_REC" | jq -r '"\(.path) \(.headers["x-api-key"])"')"
t_match "google: generateContent with its key" 'models/gemini-test:.*key-gemini' \
	"$(tail -1 "$GS_REC" | jq -c '[.path, .headers["x-goog-api-key"]]')"

# a failing anthropic target, then google: a normal 200
before=$(wc -l <"$AF_REC")
s=$(w_post "$ADDR" '{"model":"ag","input":"fall back"}' "$T/r-ag")
t_eq "fallback across providers: 200" 200 "$s"
t_eq "fallback: google's answer" "stub reply: fall back" "$(jq -r .output_text "$T/r-ag")"
t_eq "fallback: the anthropic target was tried first" 1 "$(($(wc -l <"$AF_REC") > before))"
t_done
