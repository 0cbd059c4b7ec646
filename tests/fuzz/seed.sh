#!/usr/bin/env bash
# tests/fuzz/seed.sh - (re)generates the seed corpora in tests/fuzz/corpus/
# from the project's own inputs: the contract fixtures, the request bodies
# of the HTTP tests, state and event files and stored responses written by
# the real binary (TAU_BIN, default build/tau-gateway), SSE captures from
# tests/stub, and flag and prompt lines.  Seeds are named by their SHA-1
# (libFuzzer's naming), so rerunning adds only new ones; crash inputs kept
# in the corpus (crash-*) are left alone.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/http.sh"
C=$TAU_SOURCE_DIR/tests/fuzz/corpus

# seed TARGET FILE: copies FILE into the target's corpus under its SHA-1
seed() {
	mkdir -p "$C/$1"
	cp "$2" "$C/$1/$(sha1sum <"$2" | cut -c1-40)"
}
# seed_text TARGET TEXT (printf %s, so escapes stay literal)
seed_text() {
	printf '%s' "$2" >"$T/s"
	seed "$1" "$T/s"
}

# fixture: the contract fixtures (ours and the reference's)
for f in "$FIXTURES"/*.json /work/shared/reference/fixtures/*.json; do
	[ -f "$f" ] && seed fixture "$f"
done

# request: every JSON body the HTTP tests send, a few richer ones; the
# first byte picks the input limit (fuzz_request.c), '\003' the largest
bodies=$T/bodies
grep -ho "'{\"input[^']*}'" "$TAU_SOURCE_DIR"/tests/integration/*.sh | sed "s/^'//; s/'\$//" | sort -u >"$bodies"
cat >>"$bodies" <<'JSON'
{"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"see"},{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"}]}],"instructions":"be brief","temperature":0.5,"top_p":1,"max_output_tokens":64,"parallel_tool_calls":false}
{"input":[{"role":"user","content":"hi"},{"type":"function_call","call_id":"c1","name":"f","arguments":"{\"a\":1}"},{"type":"function_call_output","call_id":"c1","output":"42"}],"tools":[{"type":"function","name":"f","parameters":{"type":"object"}}],"tool_choice":"auto"}
{"input":[{"role":"system","content":"s"},{"role":"developer","content":"d"},{"role":"assistant","content":[{"type":"output_text","text":"a"}]},{"role":"user","content":"u"}],"metadata":{"session_id":"s1","k":"v"},"model":"x","store":false,"stream":true}
{"input":"h\u00e9llo \ud83d\ude00","conversation":{"id":"c"},"previous_response_id":"resp_0123"}
JSON
while IFS= read -r b; do
	printf '\003%s' "$b" >"$T/s"
	seed request "$T/s"
done <"$bodies"

# state and events: what the runner and the lifecycle write
st=$T/state
"$TAU_BIN" --gateway-state-dir "$st" --gateway-service-start >/dev/null
"$TAU_BIN" --gateway-state-dir "$st" --gateway-contract-runner --gateway-fixture "$FIXTURES/mixed-outcomes.json" >/dev/null 2>&1 || true
cp "$st/state.json" "$T/state-1.json"
"$TAU_BIN" --gateway-state-dir "$st" --gateway-contract-runner --gateway-fixture "$FIXTURES/rollout-pass.json" >/dev/null 2>&1 || true
"$TAU_BIN" --gateway-state-dir "$st" --gateway-service-stop --gateway-service-stop-reason maintenance >/dev/null
seed state "$T/state-1.json"
seed state "$st/state.json"
seed events "$st/runtime-events.jsonl"
head -c 300 "$st/runtime-events.jsonl" >"$T/partial.jsonl" # a torn last line
seed events "$T/partial.jsonl"
seed_text state '{"schema_version": 1, "requests": {"not": "an array"}}'

# respstore: stored responses of a real server (local/echo), with a
# conversation, a tool call and an image
TOKEN=fuzz-seed
h_gateway GW --gateway-state-dir "$T/srv"
h_post '{"input":"first turn","metadata":{"session_id":"alpha"}}'
prev=$(h_jq .id)
h_post "{\"input\":\"second\",\"previous_response_id\":\"$prev\"}"
h_post '{"input":"call it","tools":[{"type":"function","name":"lookup","parameters":{"type":"object"}}],"tool_choice":"required"}'
h_post '{"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"see"},{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"}]}]}'
h_post '{"input":[{"type":"function_call_output","call_id":"c1","output":"42"}],"instructions":"x"}'
h_stop "$GW"
for f in "$T"/srv/openresponses/responses/*.json; do
	seed respstore "$f"
done
# issue 9 defect 3: an item that is not an object
seed_text respstore '{"id":"resp_bad","session_key":"","input_items":[[1,2]],"response":{"id":"resp_bad","output":[]}}'
# chains (issue 10): a continuation of the target's fixed parent, one of a
# missing record, and a record that continues itself (a loop)
for prev in resp_fuzzp resp_gone resp_fuzz; do
	seed_text respstore "{\"id\":\"resp_fuzz\",\"session_key\":\"\",\"previous_response_id\":\"$prev\",\"history_items\":2,\"input_items\":[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"u\"}]}],\"response\":{\"id\":\"resp_fuzz\",\"output\":[{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"a\"}]}]}}"
done

# sse: chat-completions streams from the stub; the first byte (0: no
# sizes) makes fuzz_sse.c feed the stream in 256-byte chunks
h_stub
sse() {
	curl -s -N -H 'Content-Type: application/json' ${2:+-H "X-Stub-Mode: $2"} \
		--data-binary "$1" "$STUB_URL/chat/completions" >"$T/sse.raw"
	{ printf '\000'; cat "$T/sse.raw"; } >"$T/s"
	seed sse "$T/s"
}
msgs='"messages":[{"role":"user","content":"hello there"}]'
sse "{\"model\":\"m\",\"stream\":true,$msgs}"
sse "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},$msgs}"
sse "{\"model\":\"m\",\"stream\":true,$msgs,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}]}"
sse "{\"model\":\"m\",\"stream\":true,$msgs}" split_utf8
sse "{\"model\":\"m\",\"stream\":true,$msgs}" length
sse "{\"model\":\"m\",\"stream\":true,$msgs}" garbage
# and a non-stream reply (also tried as one by fuzz_sse.c)
sse "{\"model\":\"m\",$msgs}"
{ printf '\003\001\007\040'; printf 'data: {"choices":[{"delta":{"content":"h\xc3\xa9"}}]}\r\n\r\n: comment\ndata: [DONE]\n\n'; } >"$T/s"
seed sse "$T/s"
h_stop "$STUB_PID"

# cli: flag lines (mode byte 0, words split at newlines) and prompt lines
# (mode byte 1) as the console tests type them
flags() { printf '\000' >"$T/s"; printf '%s\n' "$@" >>"$T/s"; seed cli "$T/s"; }
prompt() { printf '\001%s' "$1" >"$T/s"; seed cli "$T/s"; }
flags --gateway-service-start --gateway-state-dir /tmp/x
flags --gateway-contract-runner --gateway-fixture fixtures/gateway-contract/mixed-outcomes.json --gateway-processed-case-cap 10 --gateway-retry-max-attempts 3
flags --gateway-openresponses-server --gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token t --model openai/gpt-4o-mini --provider-base-url http://127.0.0.1:1/v1
flags --gateway-service-stop --gateway-service-stop-reason=emergency_rollback
flags --gateway-health-inspect --gateway-health-json --help --version
flags --gateway-openresponses-max-connections 18446744073709551615 --gateway-session-max-messages 2147483648
prompt 'start'
prompt 'stop "planned maintenance"'
prompt 'run fixtures/gateway-contract/rollout-pass.json'
prompt 'serve 127.0.0.1:0'
prompt "--gateway-service-status --gateway-service-status-json"
prompt "status 'x y' \"a\\\"b\""
printf '\002gateway-fixture\nx.json\ngateway-retry-max-attempts\n99999999999999999999\n' >"$T/s"
seed cli "$T/s"

# auth: <token length><token><header value>
auth() { { printf "\\$(printf '%03o' "${#1}")%s" "$1"; printf '%s' "$2"; } >"$T/s"; seed auth "$T/s"; }
auth test-token-123 "Bearer test-token-123"
auth test-token-123 "bearer   test-token-123 "
auth test-token-123 "Bearer test-token-12"
auth tok "Basic dG9rOg=="
{ printf '\003tokBearer tok\000x'; } >"$T/s"
seed auth "$T/s"

# proxy: <trusted list>\n<peer>\n<X-Forwarded-For value>\n... (the
# headers http_trusted_proxies.sh sends, and bad lists)
proxy() { printf '%s\n' "$@" | head -c -1 >"$T/s"; seed proxy "$T/s"; }
proxy "10.0.0.0/8, 127.0.0.0/8" 10.0.0.1 "198.51.100.1, 203.0.113.8, 10.1.2.3"
proxy 10.0.0.0/8 10.0.0.1 192.0.2.9 10.0.0.9
proxy "2001:db8:f::/48,::1" 2001:db8:f::1 "[2001:db8::7]:4711, [2001:db8:f::2]:80"
proxy 127.0.0.1 127.0.0.1 "203.0.113.10, unknown, 10.0.0.2" "fe80::1%eth0"
proxy "::ffff:198.51.100.0/120,0.0.0.0/0" 198.51.100.9 "1.2.3.4:5678,::ffff:192.0.2.77"
proxy 192.168.1.7 192.0.2.50 203.0.113.7
proxy 10.0.0.0/33
proxy "10.0.0.1/8,foo,,"

# dictionaries: every JSON member name in a target's seeds
for t in fixture state events respstore request sse; do
	grep -haoE '"[A-Za-z_]+" ?:' "$C/$t"/* | sed 's/ \?:$//; s/"$//; s/^"//' | sort -u |
		sed 's/.*/"\\"&\\":"/' >"$TAU_SOURCE_DIR/tests/fuzz/$t.dict"
done

for d in "$C"/*/; do
	echo "seed.sh: $(basename "$d"): $(find "$d" -type f | wc -l) seeds"
done
exit 0
