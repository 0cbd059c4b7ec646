#!/usr/bin/env bash
# The error table: 401 (before the body is read), 400 malformed_json /
# missing_input / invalid_input / invalid_type / invalid_value /
# invalid_function_call_output / previous_response_not_found, 413 by
# Content-Length, by a chunked body and by translated characters, 404, 405;
# every body is {"error":{"code","message","param","type"}}.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

h_gateway GW --gateway-openresponses-max-input-chars 100

# check NAME STATUS CODE: asserts the last reply
check() {
	t_eq "$1: status" "$2" "$HS"
	t_eq "$1: code" "$3" "$(h_jq .error.code)"
	local type=invalid_request_error
	[ "$2" -ge 500 ] && type=server_error
	t_eq "$1: type" "$type" "$(h_jq .error.type)"
	t_match "$1: message" '.' "$(h_jq .error.message)"
	t_eq "$1: error keys" '["code","message","param","type"]' "$(jq -c '.error|keys' "$T/body")"
}

# 401: no header, wrong token, wrong scheme; checked before the body is read
HS=$(curl -s -o "$T/body" -w '%{http_code}' -d '{"input":"x"}' "http://$ADDR/v1/responses")
check "no token" 401 unauthorized
t_eq "401 message" "missing or invalid bearer token" "$(h_jq .error.message)"
HS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Authorization: Bearer wrong' -d '{"input":"x"}' "http://$ADDR/v1/responses")
check "wrong token" 401 unauthorized
HS=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Basic $TOKEN" -d '{"input":"x"}' "http://$ADDR/v1/responses")
check "wrong scheme" 401 unauthorized
HS=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer ${TOKEN}x" -d '{"input":"x"}' "http://$ADDR/v1/responses")
check "token with extra char" 401 unauthorized
HS=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: bearer $TOKEN" -d '{"input":"ok"}' "http://$ADDR/v1/responses")
t_eq "scheme is case-insensitive" 200 "$HS"
before=$(curl -s -H "Authorization: Bearer $TOKEN" "http://$ADDR/metrics" |
	sed -n 's/^tau_gateway_http_bytes_received_total //p')
# a large body with a wrong token is refused without reading it: the
# server answers 401 although the body is never sent (Expect: 100-continue)
head -c 2000000 /dev/zero | tr '\0' a >"$T/big"
HS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Authorization: Bearer wrong' -H 'Expect: 100-continue' \
	--data-binary @"$T/big" "http://$ADDR/v1/responses")
check "401 before body" 401 unauthorized
t_eq "401: body not received" "$before" "$(curl -s -H "Authorization: Bearer $TOKEN" "http://$ADDR/metrics" |
	sed -n 's/^tau_gateway_http_bytes_received_total //p')"

# 400s
h_post '{"input":'
check "truncated JSON" 400 malformed_json
t_match "malformed message" '^failed to parse request body: ' "$(h_jq .error.message)"
h_post ''
check "empty body" 400 malformed_json
h_post '[1,2]'
check "non-object body" 400 malformed_json
h_post '{}'
check "missing input" 400 missing_input
t_eq "missing input message" "input is required" "$(h_jq .error.message)"
h_post '{"input":null}'
check "null input" 400 missing_input
h_post '{"input":"   "}'
check "blank input" 400 missing_input
h_post '{"input":[{"type":"reasoning"}]}'
check "no usable item" 400 missing_input
h_post '{"input":42}'
check "number input" 400 invalid_input
h_post '{"input":true}'
check "bool input" 400 invalid_input
h_post '{"input":"x","stream":"yes"}'
check "stream wrong type" 400 invalid_type
t_eq "param names the field" stream "$(h_jq .error.param)"
h_post '{"input":"x","store":1}'
check "store wrong type" 400 invalid_type
h_post '{"input":"x","instructions":5}'
check "instructions wrong type" 400 invalid_type
h_post '{"input":"x","temperature":"hot"}'
check "temperature wrong type" 400 invalid_type
h_post '{"input":"x","temperature":7}'
check "temperature out of range" 400 invalid_value
h_post '{"input":"x","max_output_tokens":0}'
check "max_output_tokens zero" 400 invalid_value
h_post '{"input":"x","tools":{}}'
check "tools not array" 400 invalid_type
h_post '{"input":"x","tools":[{"type":"function"}]}'
check "tool without name" 400 missing_required_parameter
h_post '{"input":"x","tool_choice":"sometimes"}'
check "tool_choice value" 400 invalid_value
h_post '{"input":"x","metadata":[]}'
check "metadata type" 400 invalid_type
h_post '{"input":[{"type":"message","role":"wizard","content":"x"}]}'
check "unknown role" 400 invalid_value
h_post '{"input":[{"type":"function_call_output","call_id":"c1","output":"  "}]}'
check "empty function output" 400 invalid_function_call_output
t_eq "function output message" "input[0] function_call_output item requires non-empty output" "$(h_jq .error.message)"
h_post '{"input":[{"type":"function_call_output","output":"x"}]}'
check "function output without call_id" 400 missing_required_parameter
h_post '{"input":[{"role":"user","content":[{"type":"input_image"}]}]}'
check "image without url" 400 missing_required_parameter
h_post '{"input":"x","previous_response_id":"resp_00000000000000000000000000000000"}'
check "unknown previous_response_id" 400 previous_response_not_found
h_post '{"input":"x","previous_response_id":"../../state"}'
check "path-like previous_response_id" 400 previous_response_not_found

# 413: Content-Length over 8 x max-input-chars (800 bytes here), a chunked
# body over it, and translated input over max-input-chars
head -c 900 /dev/zero | tr '\0' a >"$T/900"
h_req POST /v1/responses --data-binary @"$T/900"
check "413 by content-length" 413 input_too_large
t_eq "413 message" "request body exceeds max size of 800 bytes" "$(h_jq .error.message)"
h_req POST /v1/responses -H 'Transfer-Encoding: chunked' --data-binary @"$T/900"
check "413 chunked" 413 input_too_large
h_req POST /v1/responses -H 'Transfer-Encoding: chunked' --data-binary @"$T/big"
check "413 big chunked" 413 input_too_large
h_post "{\"input\":\"$(head -c 101 /dev/zero | tr '\0' x)\"}"
check "413 translated input" 413 input_too_large
t_eq "413 translated message" "translated input exceeds max 100 characters" "$(h_jq .error.message)"
# 100 multi-byte characters are 100 characters, not 200+ bytes
h_post "{\"input\":\"$(printf 'é%.0s' $(seq 100))\",\"store\":false}"
t_eq "chars are counted as Unicode scalar values" 200 "$HS"
h_post '{"input":"ok after errors","store":false}'
t_eq "server still answers" 200 "$HS"

# 404 / 405
h_req GET /v2/anything
check "404" 404 not_found
h_req PATCH /v1/responses
check "405" 405 method_not_allowed

h_stop "$GW"
t_eq "clean exit" 0 "$HRC"
t_done
