#!/usr/bin/env bash
# Section 5 of issue 9: the foreground server's request log and the bearer
# token.  One stderr line per request (method, path without the query
# string, status, duration, the id of a created response) in --log-format
# text and json; --quiet drops it.  With a distinctive token, requests that
# carry it right, wrong (prefixed, suffixed, cut, another scheme), in the
# query string, in the path, in other headers and in refused request
# fields (a field the server stores, the input say, is the client's
# content, not a credential, and is stored as sent): then
# no file under the state directory, nothing on the server's stdout or
# stderr (the request log included) holds the token or the wrong ones.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
TOKEN="tok-Zq7xW3vK-distinctive-$$"
WRONG="wrong-Pj4mR8-$$"
. "$(dirname "$0")/lib/http.sh"

# req METHOD PATH [curl args]: a request without the bearer token
req() {
	local method=$1 path=$2
	shift 2
	HS=$(curl -s -o "$T/body" -w '%{http_code}' -X "$method" "$@" "http://$ADDR$path")
}
nreq=0
count() { nreq=$((nreq + 1)); }

# --- text ------------------------------------------------------------------------------
h_gateway GW
req GET /healthz; count
t_eq "healthz" 200 "$HS"
h_post '{"input":"hello","store":true}'; count
t_eq "POST" 200 "$HS"
RID=$(h_jq .id)
h_post '{"input":"stream me","stream":true}'; count
SID=$(sed -n 's/^data: {"response":{"id":"\(resp_[0-9a-f]*\)".*/\1/p; s/^data: .*"response":{[^}]*"id":"\(resp_[0-9a-f]*\)".*/\1/p' "$T/body" | head -1)
h_post '{"input":"in a session","metadata":{"session_id":"s1"}}'; count
h_req GET "/v1/responses/$RID"; count
t_eq "GET the stored response" 200 "$HS"
h_req GET /gateway/status; count
h_req GET /metrics; count
# wrong tokens
for auth in "Bearer ${TOKEN}x" "Bearer x${TOKEN}" "Bearer ${TOKEN:0:12}" "Basic ${TOKEN}" "${TOKEN}" \
	"bearer $WRONG" "Bearer $WRONG"; do
	req GET /gateway/status -H "Authorization: $auth"; count
	t_eq "wrong token [${auth%% *} ...]: 401" 401 "$HS"
done
req POST /v1/responses -H "Authorization: Bearer $WRONG" -H 'Content-Type: application/json' \
	--data-binary '{"input":"x"}'; count
t_eq "POST with a wrong token: 401" 401 "$HS"
# the token in the query string, with and without the header
h_req GET "/gateway/status?token=$TOKEN&access_token=$TOKEN&key=$WRONG"; count
t_eq "token also in the query string: 200" 200 "$HS"
req GET "/gateway/status?access_token=$TOKEN"; count
t_eq "token only in the query string: 401" 401 "$HS"
req GET "/healthz?token=$TOKEN"; count
# in the path, in other headers, in request fields
h_req GET "/v1/responses/$TOKEN"; count
t_eq "token as a response id: 404" 404 "$HS"
req GET "/$TOKEN/x%0Ay"; count
t_eq "token in the path: 404" 404 "$HS"
req GET /gateway/status -H "X-Api-Key: $TOKEN" -H "Cookie: token=$TOKEN" -H "Proxy-Authorization: Bearer $TOKEN"; count
t_eq "token in other headers: 401" 401 "$HS"
h_post "{\"input\":\"x\",\"previous_response_id\":\"$TOKEN\"}"; count
t_eq "token as previous_response_id: 400" 400 "$HS"
h_post "{\"input\":5,\"instructions\":\"$TOKEN\"}"; count
t_eq "a bad request carrying the token: 400" 400 "$HS"
h_stop "$GW"
t_eq "text: exit 0" 0 "$HRC"

LOG=$(grep ' request ' "$T/GW.err")
t_eq "text: one request line per request" "$nreq" "$(printf '%s\n' "$LOG" | grep -c .)"
t_eq "text: every line has method, path, status, duration and client" "$nreq" \
	"$(printf '%s\n' "$LOG" | grep -cE '^tau-gateway: request method=[A-Z]+ path=/[^ ]* status=[0-9]{3} duration_ms=[0-9]+\.[0-9]{3} client=127\.0\.0\.1( response_id=resp_[0-9a-f]{32})?$')"
t_contains "text: healthz" "request method=GET path=/healthz status=200 duration_ms=" "$LOG"
t_contains "text: the POST names its response" "path=/v1/responses status=200 duration_ms=" "$(printf '%s\n' "$LOG" | grep "response_id=$RID")"
t_match "text: the streamed POST names its response" "response_id=$SID\$" "$(printf '%s\n' "$LOG" | grep -F "$SID")"
t_eq "text: the streamed response id was read" 1 "$([ -n "$SID" ] && echo 1 || echo 0)"
t_contains "text: a 401 is logged" "method=GET path=/gateway/status status=401" "$LOG"
t_eq "text: no query string is logged" "" "$(printf '%s\n' "$LOG" | grep -F '?')"
t_contains "text: the token in a path is redacted; a newline in it encoded" \
	"path=/[redacted]/x%0Ay status=404" "$LOG"
t_contains "text: the shutdown notice" "received SIGTERM; shutting down" "$(cat "$T/GW.err")"

# the token (and the wrong ones) nowhere
leaks() { grep -rlF -e "$TOKEN" -e "$WRONG" -e "${TOKEN:0:12}" "$@" 2>/dev/null; }
t_eq "text: nothing stored (files, or rows on pg) holds a token" "" "$(leaks "$(t_state_copy "$T/state")")"
t_eq "text: not on the server's stdout or stderr" "" "$(leaks "$T/GW.out" "$T/GW.err")"
# (the leak check above looked at something)
t_eq "text: the state was written (responses, events)" yes \
	"$([ -n "$(t_events "$T/state")" ] && t_resp_get "$T/state" "$RID" >/dev/null && echo yes || echo no)"
t_check "text: the session was written" t_sess_exists "$T/state" s1

# --- json --------------------------------------------------------------------------------
h_gateway GWJ --log-format json
req GET /healthz
h_post '{"input":"json"}'
RID=$(h_jq .id)
req GET "/$TOKEN?token=$TOKEN"
req GET /gateway/status -H "Authorization: Bearer $WRONG"
h_stop "$GWJ"
t_eq "json: exit 0" 0 "$HRC"
t_eq "json: every stderr line is a JSON object" "$(grep -c . "$T/GWJ.err")" \
	"$(jq -c 'select(type == "object")' "$T/GWJ.err" 2>/dev/null | grep -c .)"
t_eq "json: the request lines" "GET /healthz 200|POST /v1/responses 200 $RID|GET /[redacted] 404|GET /gateway/status 401" \
	"$(jq -r 'select(.event == "request") | [.method, .path, (.status | tostring), .response_id // empty] | join(" ")' "$T/GWJ.err" | paste -sd '|')"
t_eq "json: durations are numbers, times integers" 4 \
	"$(jq -c 'select(.event == "request" and (.duration_ms | type) == "number" and (.time_unix_ms | type) == "number")' "$T/GWJ.err" | grep -c .)"
t_contains "json: a message line" '"event":"message","message":"received SIGTERM; shutting down"' "$(cat "$T/GWJ.err")"
t_eq "json: no token on stdout, stderr or in the state dir" "" "$(leaks "$T/GWJ.out" "$T/GWJ.err" "$(t_state_copy "$T/state")")"

# --- quiet -------------------------------------------------------------------------------
h_gateway GWQ --quiet
req GET /healthz
h_post '{"input":"quiet"}'
t_eq "quiet: still serves" 200 "$HS"
h_stop "$GWQ"
t_eq "quiet: exit 0" 0 "$HRC"
t_eq "quiet: nothing on stderr" "" "$(cat "$T/GWQ.err")"
t_check "quiet: the listening line stays on stdout" grep -q '^gateway openresponses server listening: ' "$T/GWQ.out"

# --- the flags -----------------------------------------------------------------------------
"$TAU_BIN" --gateway-openresponses-server --gateway-openresponses-auth-token x --log-format xml \
	>"$T/out" 2>"$T/err"
t_eq "--log-format xml: exit 64" 64 "$?"
t_eq "--log-format xml: the message" "tau-gateway: invalid value 'xml' for '--log-format <FORMAT>': expected text or json" "$(cat "$T/err")"
TAU_LOG_FORMAT=yaml "$TAU_BIN" --gateway-openresponses-server --gateway-openresponses-auth-token x \
	>"$T/out" 2>"$T/err"
t_eq "TAU_LOG_FORMAT=yaml: exit 64" 64 "$?"
"$TAU_BIN" --gateway-service-status --quiet >"$T/out" 2>"$T/err"
t_eq "--quiet without the server: exit 64" 64 "$?"
t_eq "--quiet without the server: the message" "tau-gateway: --quiet requires --gateway-openresponses-server" "$(cat "$T/err")"
t_done
