#!/usr/bin/env bash
# POST /v1/responses/compact: the local/echo compaction, exact and the same
# twice; its window used as the input of a new /v1/responses chain (no
# previous_response_id); a window from previous_response_id (the stored
# chain, then the request's input); an upstream compaction against the
# stub (the summary request carries the older turns and not the recent
# ones, which come back verbatim), through a route and through --model on
# the loop's engine; a short window asks no model; an upstream failure
# (502); bad input (no input, bad JSON, unknown model, stream, bad token,
# GET) as error objects; metrics and Server-Timing as a model route.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

h_stub
nrec() { wc -l <"$STUB_REC"; }
cat >"$T/routes.json" <<EOF
{"version": 1, "default": "echo",
 "routes": [
  {"model": "echo", "targets": [{"provider": "local"}]},
  {"model": "up", "targets": [{"provider": "openai", "model": "m-up", "base_url": "$STUB_URL", "timeout_ms": 3000, "retries": 0}]}]}
EOF
h_gateway GW --gateway-routes "$T/routes.json" --request-timeout-ms 3000
GW_ADDR=$ADDR
compact() {
	h_req POST /v1/responses/compact -H 'Content-Type: application/json' -D "$T/headers" --data-binary "$1"
}
u() { printf '{"type":"message","role":"user","content":[{"type":"input_text","text":"%s"}]}' "$1"; }
a() { printf '{"type":"message","role":"assistant","content":[{"type":"output_text","text":"%s"}]}' "$1"; }

# --- local/echo: exact, deterministic --------------------------------------
WIN='[{"role":"system","content":"be brief"},
 {"role":"user","content":"plan   the\ntrip"},{"role":"assistant","content":"Rome, then Naples"},
 {"role":"user","content":"book it"},
 {"type":"function_call","call_id":"c1","name":"book","arguments":"{\"city\":\"Rome\"}"},
 {"type":"function_call_output","call_id":"c1","output":"booked"},
 {"role":"assistant","content":"done"},{"role":"user","content":"thanks"}]'
compact "{\"model\":\"echo\",\"input\":$WIN}"
t_eq "echo: 200" 200 "$HS"
t_eq "echo: object" response.compaction "$(h_jq .object)"
t_match "echo: a compaction id, not a response id" '^cmp_[0-9a-f]{32}$' "$(h_jq .id)"
t_eq "echo: model is the route's name" echo "$(h_jq .model)"
SUMMARY='Summary of the earlier conversation:\n- user: plan the trip\n- assistant: Rome, then Naples'
want="[{\"type\":\"message\",\"role\":\"system\",\"content\":[{\"type\":\"input_text\",\"text\":\"be brief\"}]},$(u "$SUMMARY"),$(u 'book it'),{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"book\",\"arguments\":\"{\\\"city\\\":\\\"Rome\\\"}\"},{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"booked\"},$(a done),$(u thanks)]"
t_eq "echo: the exact window" "$(jq -c . <<<"$want")" "$(jq -c .output "$T/body")"
t_eq "echo: usage (words in, words of the summary out)" '14 15 29' "$(h_jq '[.usage.input_tokens,.usage.output_tokens,.usage.total_tokens]|join(" ")')"
first=$(jq -c '{output,usage}' "$T/body")
t_match "echo: Server-Timing as a model route" '^Server-Timing: gateway;dur=' "$(grep -i '^server-timing' "$T/headers" | tr -d '\r')"
compact "{\"model\":\"echo\",\"input\":$WIN}"
t_eq "echo: the same window twice, the same compaction" "$first" "$(jq -c '{output,usage}' "$T/body")"

# --- the compacted window starts a new chain --------------------------------
in=$(jq -c ".output + [$(u 'and the hotel?')]" "$T/body")
h_post "{\"model\":\"echo\",\"input\":$in}"
t_eq "new chain: 200" 200 "$HS"
t_eq "new chain: no previous response" null "$(h_jq .previous_response_id)"
t_contains "new chain: the model saw the window and the new turn" 'heard: "and the hotel?". Instructions: none. Context: 8 items.' "$(h_jq .output_text)"
h_req GET "/v1/responses/$(h_jq .id)/input_items?order=asc&limit=100"
t_eq "new chain: stored with the summary item in its base" "$(jq -r '.output[1].content[0].text' <<<"$first")" \
	"$(h_jq '.data[1].content[0].text')"

# --- a window from previous_response_id -------------------------------------
h_post '{"model":"echo","input":"alpha"}'
id1=$(h_jq .id)
r1=$(h_jq .output_text)
h_post "{\"model\":\"echo\",\"input\":\"beta\",\"previous_response_id\":\"$id1\"}"
id2=$(h_jq .id)
r2=$(h_jq .output_text)
h_post "{\"model\":\"echo\",\"input\":\"gamma\",\"previous_response_id\":\"$id2\"}"
id3=$(h_jq .id)
r3=$(h_jq .output_text)
compact "{\"model\":\"echo\",\"previous_response_id\":\"$id3\"}"
t_eq "chain: 200" 200 "$HS"
t_eq "chain: summary, then the last two turns" 5 "$(h_jq '.output|length')"
t_eq "chain: the first turn folded" "Summary of the earlier conversation:
- user: alpha
- assistant: $r1" "$(h_jq '.output[0].content[0].text')"
t_eq "chain: recent turns verbatim" "beta|$r2|gamma|$r3" "$(h_jq '[.output[1:][].content[0].text]|join("|")')"
compact "{\"model\":\"echo\",\"previous_response_id\":\"$id3\",\"input\":\"delta\"}"
t_eq "chain + input: the input ends the window" "gamma|$r3|delta" "$(h_jq '[.output[1:][].content[0].text]|join("|")')"
t_contains "chain + input: beta folded" "- user: beta" "$(h_jq '.output[0].content[0].text')"
# a session turn's chain: compacted without joining the session
h_post '{"model":"echo","input":"in a session","metadata":{"session_id":"s1"}}'
compact "{\"model\":\"echo\",\"previous_response_id\":\"$(h_jq .id)\",\"input\":\"x\"}"
t_eq "session chain: 200" 200 "$HS"
h_post '{"model":"echo","input":"next","metadata":{"session_id":"s1"}}'
t_contains "session chain: the session did not grow" "Context: 3 items." "$(h_jq .output_text)"
compact '{"model":"echo","previous_response_id":"resp_0123456789abcdef0123456789abcdef"}'
t_eq "unknown previous response: 400" 400 "$HS"
t_eq "unknown previous response: code" previous_response_not_found "$(h_jq .error.code)"

# --- upstream: the model summarizes the older turns -------------------------
UPWIN="[$(u older-one),$(a older-reply),$(u recent-two),$(a recent-reply),$(u recent-three)]"
n0=$(nrec)
compact "{\"model\":\"up\",\"instructions\":\"Speak French\",\"input\":$UPWIN}"
t_eq "upstream: 200" 200 "$HS"
t_eq "upstream: one summary request" 1 "$(($(nrec) - n0))"
r=$(tail -1 "$STUB_REC")
t_match "upstream: summarizing instructions, the request's after them" '^You compact conversations.*The conversation ran under these instructions:.Speak French$' "$(jq -r '.body.messages[0].content' <<<"$r" | tr '\n' ' ' | sed 's/ $//')"
sent=$(jq -r '.body.messages[1].content' <<<"$r")
t_eq "upstream: the older turns reached the model" 'Conversation to summarize:
- user: older-one
- assistant: older-reply' "$sent"
t_eq "upstream: no tools offered" null "$(jq -r .body.tools <<<"$r")"
t_eq "upstream: the summary item is the model's reply" "Summary of the earlier conversation:
stub reply: $sent" "$(h_jq '.output[0].content[0].text')"
t_eq "upstream: recent turns verbatim" "$(jq -c '.[2:]' <<<"$UPWIN")" "$(jq -c '.output[1:]' "$T/body")"
t_match "upstream: usage from the upstream" '^[1-9][0-9]*$' "$(h_jq .usage.input_tokens)"
t_eq "upstream: model" up "$(h_jq .model)"
# a window of two turns: nothing to fold, no model call
n0=$(nrec)
compact "{\"model\":\"up\",\"input\":[$(u one),$(a two),$(u three)]}"
t_eq "short window: 200" 200 "$HS"
t_eq "short window: the model is not asked" 0 "$(($(nrec) - n0))"
t_eq "short window: returned as it was" "[$(u one),$(a two),$(u three)]" "$(jq -c .output "$T/body")"
# the upstream fails: 502 with the standard error object
compact "{\"model\":\"up\",\"input\":[$(u '[stub:status500] old'),$(u mid),$(u new)]}"
t_eq "upstream failure: 502" 502 "$HS"
t_eq "upstream failure: error object" "server_error upstream_error" "$(h_jq '[.error.type,.error.code]|join(" ")')"
t_contains "upstream failure: names the status" 500 "$(h_jq .error.message)"

# --- bad input ---------------------------------------------------------------
compact '{"model":"echo"}'
t_eq "no input: 400 missing_input" "400 missing_input input" "$HS $(h_jq '[.error.code,.error.param]|join(" ")')"
compact '{"model":"echo","input":'
t_eq "bad JSON: 400 malformed_json" "400 malformed_json" "$HS $(h_jq .error.code)"
compact '{"model":"nope","input":"hi"}'
t_eq "unknown model: 400 model_not_found" "400 model_not_found model" "$HS $(h_jq '[.error.code,.error.param]|join(" ")')"
compact '{"model":"echo","input":"hi","stream":true}'
t_eq "stream: 400 naming it" "400 invalid_value stream" "$HS $(h_jq '[.error.code,.error.param]|join(" ")')"
HS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Authorization: Bearer wrong' -d '{"input":"hi"}' "http://$ADDR/v1/responses/compact")
t_eq "bad token: 401 unauthorized" "401 unauthorized" "$HS $(h_jq .error.code)"
h_req GET /v1/responses/compact
t_eq "GET: 405, not a response id" "405 method_not_allowed" "$HS $(h_jq .error.code)"
h_req GET /metrics
t_match "metrics: counted under its own route" '^tau_gateway_http_requests_total\{route="/v1/responses/compact",status="200"\} [1-9]' \
	"$(grep 'route="/v1/responses/compact",status="200"' "$T/body")"

# --- --model openai/*: the loop's engine runs the summary call ---------------
h_stop "$GW"
export OPENAI_API_KEY=sk-test-key
h_gateway GW2 --model openai/gpt-test --provider-base-url "$STUB_URL" --request-timeout-ms 3000 \
	--provider-max-retries 0
n0=$(nrec)
compact "{\"input\":$UPWIN}"
t_eq "engine: 200" 200 "$HS"
t_eq "engine: the older turns reached the model" "$sent" "$(tail -1 "$STUB_REC" | jq -r '.body.messages[1].content')"
t_eq "engine: model" openai/gpt-test "$(h_jq .model)"
compact "{\"input\":[$(u one),$(a two),$(u three)]}"
t_eq "engine, short window: no model call" "200 1" "$HS $(($(nrec) - n0))"

t_done
