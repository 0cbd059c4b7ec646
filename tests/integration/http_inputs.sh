#!/usr/bin/env bash
# Every input form of POST /v1/responses (string, message items with each
# role, input_text / input_image parts, function_call and
# function_call_output items, a single object), ignored_fields, and the
# complete ResponseResource (every required field of openapi.json).
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
SPEC=$TAU_SOURCE_DIR/tests/integration/lib/openapi.json  # copy of the Open Responses schema (Apache-2.0)

h_gateway GW

schema_ok() {
	local out
	out=$(python3 "$TAU_SOURCE_DIR/tests/integration/lib/check_response.py" "$SPEC" "$T/body")
	t_eq "$1: schema-complete ResponseResource" "" "$out"
}

# string input
h_post '{"input":"hello world"}'
t_eq "string: 200" 200 "$HS"
schema_ok string
t_eq "string: status" completed "$(h_jq .status)"
t_eq "string: object" response "$(h_jq .object)"
t_eq "string: echo quotes the text" 'local/echo heard: "hello world". Instructions: none. Context: 1 item.' "$(h_jq .output_text)"
t_eq "string: message item" message "$(h_jq '.output[0].type')"
t_eq "string: assistant role" assistant "$(h_jq '.output[0].role')"
t_eq "string: part type" output_text "$(h_jq '.output[0].content[0].type')"
t_eq "string: annotations" "[]" "$(jq -c '.output[0].content[0].annotations' "$T/body")"
t_eq "string: usage input words" 2 "$(h_jq .usage.input_tokens)"
t_eq "string: usage output words" "$(h_jq .output_text | wc -w)" "$(h_jq .usage.output_tokens)"
t_eq "string: usage total" "$(($(h_jq .usage.input_tokens) + $(h_jq .usage.output_tokens)))" "$(h_jq .usage.total_tokens)"
t_eq "string: no ignored fields" "[]" "$(jq -c .ignored_fields "$T/body")"
t_match "string: created_at seconds" '^1[0-9]{9}$' "$(h_jq .created_at)"
t_eq "string: store default true" true "$(h_jq .store)"
t_eq "string: model served" local/echo "$(h_jq .model)"

# message items with every role, text and image parts, instructions
h_post '{"instructions":"Be concise","input":[
 {"type":"message","role":"system","content":"sys rule"},
 {"type":"message","role":"developer","content":[{"type":"input_text","text":"dev rule"}]},
 {"role":"user","content":[{"type":"input_text","text":"look at"},{"type":"input_image","image_url":"https://example.com/cat.png"},{"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo="}]},
 {"type":"message","role":"assistant","content":[{"type":"output_text","text":"I see a cat"}]},
 {"type":"message","role":"user","content":"and now?"}]}'
t_eq "items: 200" 200 "$HS"
schema_ok items
t_eq "items: last user text quoted, instructions reported, 5 items" \
	'local/echo heard: "and now?". Instructions: Be concise. Context: 5 items.' "$(h_jq .output_text)"
t_eq "items: instructions echoed" "Be concise" "$(h_jq .instructions)"

# function_call and function_call_output items
h_post '{"input":[{"type":"message","role":"user","content":"weather?"},
 {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
 {"type":"function_call_output","call_id":"call_1","output":"sunny"}]}'
t_eq "function items: 200" 200 "$HS"
t_contains "function items: 3 items" "Context: 3 items." "$(h_jq .output_text)"
h_post '{"input":[{"type":"function_call_output","call_id":"c9","output":{"temp":21}}]}'
t_eq "function output as JSON: 200" 200 "$HS"

# a single object as input
h_post '{"input":{"role":"user","content":"single object"}}'
t_eq "object input: 200" 200 "$HS"
t_contains "object input text" '"single object"' "$(h_jq .output_text)"

# ignored_fields: unknown top-level fields, model, unsupported items and parts
h_post '{"model":"gpt-4o","frobnicate":1,"zeta":null,"reasoning":{"effort":"low"},"input":[
 {"type":"message","role":"user","content":[{"type":"input_text","text":"hi"},{"type":"input_file","file_id":"f"}]},
 {"type":"reasoning","summary":[]}, 7]}'
t_eq "ignored: 200" 200 "$HS"
t_eq "ignored: sorted list" '["frobnicate","input[0].content[1]","input[1]","input[2]","model","reasoning","zeta"]' \
	"$(jq -c .ignored_fields "$T/body")"
t_eq "ignored: model still the CLI's" local/echo "$(h_jq .model)"

# parameters are reflected in the response
h_post '{"input":"params","temperature":0.2,"top_p":0.5,"max_output_tokens":64,"metadata":{"k":"v"},"parallel_tool_calls":false,"store":false,
 "tools":[{"type":"function","name":"f","description":"d","parameters":{"type":"object"}}],"tool_choice":"none"}'
t_eq "params: 200" 200 "$HS"
schema_ok params
t_eq "params: temperature" 0.2 "$(h_jq .temperature)"
t_eq "params: top_p" 0.5 "$(h_jq .top_p)"
t_eq "params: max_output_tokens" 64 "$(h_jq .max_output_tokens)"
t_eq "params: metadata" '{"k":"v"}' "$(jq -c .metadata "$T/body")"
t_eq "params: store false" false "$(h_jq .store)"
t_eq "params: parallel_tool_calls" false "$(h_jq .parallel_tool_calls)"
t_eq "params: tools normalized" '[{"type":"function","name":"f","description":"d","parameters":{"type":"object"},"strict":null}]' \
	"$(jq -c .tools "$T/body")"
t_eq "params: tool_choice" none "$(h_jq .tool_choice)"
id=$(h_jq .id)
h_req GET "/v1/responses/$id"
t_eq "store false: not stored" 404 "$HS"

# max_output_tokens bounds the offline reply: status incomplete
h_post '{"input":"a long question with many words","max_output_tokens":3}'
t_eq "incomplete: status" incomplete "$(h_jq .status)"
t_eq "incomplete: reason" max_output_tokens "$(h_jq .incomplete_details.reason)"
t_eq "incomplete: 3 words" 3 "$(h_jq .output_text | wc -w)"
t_eq "incomplete: item status" incomplete "$(h_jq '.output[0].status')"
schema_ok incomplete

# a forced tool call answers with a function_call output item
h_post '{"input":"call it","tools":[{"type":"function","name":"lookup","parameters":{"type":"object"}}],"tool_choice":{"type":"function","name":"lookup"}}'
t_eq "tool: item type" function_call "$(h_jq '.output[0].type')"
t_eq "tool: name" lookup "$(h_jq '.output[0].name')"
t_eq "tool: arguments" '{"input":"call it"}' "$(h_jq '.output[0].arguments')"
t_match "tool: call_id" '^call_' "$(h_jq '.output[0].call_id')"
schema_ok tool

# ids are unique
for i in 1 2 3; do h_post '{"input":"x","store":false}'; h_jq .id; done >"$T/ids"
t_eq "ids unique" 3 "$(sort -u "$T/ids" | wc -l)"

h_stop "$GW"
t_done
