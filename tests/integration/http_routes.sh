#!/usr/bin/env bash
# Every route of the HTTP gateway: /healthz, /webchat (CSP), /gateway/status
# (bearer, sorted keys, server counters), /metrics (bearer, Prometheus),
# POST/GET/DELETE /v1/responses[/{id}], GET /v1/responses/{id}/input_items
# (list shape, order, limit, after), 404 JSON, 405 with Allow,
# keep-alive reuse for GET and POST, and a damaged stored record (500, logged,
# the server keeps serving).
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

h_gateway GW

# /healthz: unauthenticated, no state details
HS=$(curl -s -o "$T/body" -w '%{http_code}' "http://$ADDR/healthz")
t_eq "healthz status" 200 "$HS"
t_eq "healthz body" '{"status":"ok"}' "$(cat "$T/body")"

# /webchat: the page, a hash-based CSP that matches its inline script and style
curl -s -D "$T/hdr" -o "$T/page" "http://$ADDR/webchat"
t_match "webchat 200" '^HTTP/1.1 200' "$(head -1 "$T/hdr")"
t_match "webchat html" 'text/html; charset=utf-8' "$(grep -i '^content-type' "$T/hdr")"
t_contains "webchat title" "Tau Gateway Webchat" "$(cat "$T/page")"
csp=$(grep -i '^content-security-policy:' "$T/hdr" | tr -d '\r')
t_contains "csp default-src none" "default-src 'none'" "$csp"
t_contains "csp connect-src self" "connect-src 'self'" "$csp"
t_contains "csp frame-ancestors" "frame-ancestors 'none'" "$csp"
want=$(python3 - "$T/page" <<'PY'
import base64, hashlib, re, sys
html = open(sys.argv[1], encoding="utf-8").read()
out = []
for tag, d in (("script", "script-src"), ("style", "style-src")):
    body = re.search(r"<%s>(.*?)</%s>" % (tag, tag), html, re.S).group(1)
    out.append("%s 'sha256-%s'" % (d, base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()))
print("\n".join(out))
PY
)
while IFS= read -r d; do t_contains "csp has ${d%% *} hash" "$d" "$csp"; done <<<"$want"
t_eq "webchat has no external assets" "" "$(grep -Eo '(src|href)="(https?:)?//[^"]*' "$T/page" || true)"

# /gateway/status: bearer; service + gateway + server blocks, sorted keys
HS=$(curl -s -o "$T/body" -w '%{http_code}' "http://$ADDR/gateway/status")
t_eq "status without token is 401" 401 "$HS"
h_req GET /gateway/status
t_eq "status 200" 200 "$HS"
t_eq "status service running" running "$(h_jq .service.service_status)"
t_eq "status gateway endpoint" /v1/responses "$(h_jq .gateway.responses_endpoint)"
t_eq "status model" local/echo "$(h_jq .gateway.model)"
t_eq "status state place" "$(t_state_place "$T/state")" "$(h_jq '.gateway.state_dir // .gateway.state_store')"
t_eq "status server bind" "$ADDR" "$(h_jq .server.bind)"
t_match "status uptime" '^[0-9]+$' "$(h_jq .server.uptime_ms)"
t_match "status requests counter" '^[0-9]+$' "$(h_jq .server.requests)"
t_eq "status active streams" 0 "$(h_jq .server.active_streams)"
t_eq "status keys sorted at every level" "$(jq -cS . "$T/body")" "$(jq -c . "$T/body")"

# POST /v1/responses, then GET and DELETE it
h_post '{"input":"route check"}'
t_eq "post 200" 200 "$HS"
id=$(h_jq .id)
t_match "response id" '^resp_[0-9a-f]{32}$' "$id"
h_req GET "/v1/responses/$id"
t_eq "get stored 200" 200 "$HS"
t_eq "get stored id" "$id" "$(h_jq .id)"
t_eq "get stored text" "$(h_jq .output_text)" "$(h_jq .output[0].content[0].text)"
HS=$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/v1/responses/$id")
t_eq "get without token is 401" 401 "$HS"
h_req DELETE "/v1/responses/$id"
t_eq "delete 200" 200 "$HS"
t_eq "delete body" "true" "$(h_jq .deleted)"
h_req GET "/v1/responses/$id"
t_eq "get deleted 404" 404 "$HS"
t_eq "get deleted code" response_not_found "$(h_jq .error.code)"
h_req DELETE "/v1/responses/$id"
t_eq "delete again 404" 404 "$HS"
h_req GET "/v1/responses/..%2f..%2fstate"
t_eq "id with escapes is not found" 404 "$HS"

# /metrics: bearer, Prometheus text with the required families
HS=$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/metrics")
t_eq "metrics without token 401" 401 "$HS"
h_req GET /metrics
t_eq "metrics 200" 200 "$HS"
m=$(cat "$T/body")
t_contains "metrics by route and status" 'tau_gateway_http_requests_total{route="/v1/responses",status="200"} 1' "$m"
t_contains "metrics 401 counted" 'tau_gateway_http_requests_total{route="/gateway/status",status="401"} 1' "$m"
t_contains "metrics histogram" 'tau_gateway_http_request_duration_seconds_bucket{route="/v1/responses",le="+Inf"} 1' "$m"
t_contains "metrics active streams" 'tau_gateway_active_streams 0' "$m"
t_match "metrics bytes in" 'tau_gateway_http_bytes_received_total [1-9]' "$m"
t_match "metrics bytes out" 'tau_gateway_http_bytes_sent_total [1-9]' "$m"
t_contains "metrics upstream family" '# TYPE tau_gateway_upstream_requests_total counter' "$m"
t_contains "metrics upstream errors family" '# TYPE tau_gateway_upstream_errors_total counter' "$m"

# 404 JSON and 405 with Allow
h_req GET /nope
t_eq "unknown route 404" 404 "$HS"
t_eq "404 is JSON" not_found "$(h_jq .error.code)"
curl -s -D "$T/hdr" -o "$T/body" -X PUT -H "Authorization: Bearer $TOKEN" "http://$ADDR/v1/responses"
t_match "405" '^HTTP/1.1 405' "$(head -1 "$T/hdr")"
t_match "405 Allow GET, POST (GET: the WebSocket)" '^Allow: GET, POST$' "$(grep -i '^allow' "$T/hdr" | tr -d '\r')"
t_eq "405 body" method_not_allowed "$(h_jq .error.code)"
curl -s -D "$T/hdr" -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" "http://$ADDR/gateway/status"
t_match "405 status Allow GET" '^Allow: GET' "$(grep -i '^allow' "$T/hdr" | tr -d '\r')"
curl -s -D "$T/hdr" -o /dev/null -X POST "http://$ADDR/v1/responses/resp_x"
t_match "405 id Allow GET, DELETE" '^Allow: GET, DELETE' "$(grep -i '^allow' "$T/hdr" | tr -d '\r')"

# keep-alive: several requests on one connection (GET and POST)
curl -sv -o /dev/null -o /dev/null -o /dev/null -H "Authorization: Bearer $TOKEN" \
	"http://$ADDR/gateway/status" "http://$ADDR/healthz" "http://$ADDR/nope" 2>"$T/v"
t_eq "GETs reuse one connection" 2 "$(grep -c 'Re-using existing connection' "$T/v")"
curl -sv -o /dev/null -o /dev/null -H "Authorization: Bearer $TOKEN" -d '{"input":"a","store":false}' \
	"http://$ADDR/v1/responses" "http://$ADDR/v1/responses" 2>"$T/v"
t_eq "POSTs reuse one connection" 1 "$(grep -c 'Re-using existing connection' "$T/v")"

# GET /v1/responses/{id}/input_items: the context the model saw, as a list
h_post '{"input":"first turn"}'
p1=$(h_jq .id)
r1=$(h_jq '.output[0].id')
h_post "{\"input\":[{\"type\":\"message\",\"role\":\"user\",\"content\":\"second\"},{\"type\":\"message\",\"role\":\"user\",\"content\":\"third\"}],\"previous_response_id\":\"$p1\"}"
id=$(h_jq .id)
h_req GET "/v1/responses/$id/input_items"
t_eq "input_items 200" 200 "$HS"
t_eq "input_items list shape" '["data","first_id","has_more","last_id","object"] list false' \
	"$(jq -c 'keys' "$T/body") $(h_jq .object) $(h_jq .has_more)"
t_eq "input_items newest first (default desc)" "user:third user:second assistant user:first turn" \
	"$(jq -r '[.data[] | .role + (if .role == "user" then ":" + .content[0].text else "" end)] | join(" ")' "$T/body")"
t_eq "input_items every item has an id" 4 "$(jq '[.data[].id | strings] | unique | length' "$T/body")"
t_eq "input_items first_id/last_id" "$(h_jq '.data[0].id') $(h_jq '.data[-1].id')" "$(h_jq .first_id) $(h_jq .last_id)"
t_eq "input_items keeps the reply's own id" "$r1" "$(h_jq '.data[2].id')"
h_req GET "/v1/responses/$id/input_items?order=asc&limit=2"
t_eq "asc, limit 2" "user|assistant" "$(jq -r '[.data[].role] | join("|")' "$T/body")"
t_eq "asc, limit 2: has_more" true "$(h_jq .has_more)"
h_req GET "/v1/responses/$id/input_items?order=asc&limit=2&after=$(h_jq .last_id)"
t_eq "after: the next page" "second|third" "$(jq -r '[.data[] | .content[0].text] | join("|")' "$T/body")"
t_eq "after: last page" false "$(h_jq .has_more)"
h_req GET "/v1/responses/$id/input_items?limit=0"
t_eq "limit 0: 400" "400 invalid_value limit" "$HS $(h_jq .error.code) $(h_jq .error.param)"
h_req GET "/v1/responses/$id/input_items?order=sideways"
t_eq "bad order: 400" "400 order" "$HS $(h_jq .error.param)"
h_req GET "/v1/responses/$id/input_items?after=nope"
t_eq "unknown after: 400" "400 after" "$HS $(h_jq .error.param)"
h_req GET "/v1/responses/resp_unknown/input_items"
t_eq "input_items of an unknown response: 404" "404 response_not_found" "$HS $(h_jq .error.code)"
HS=$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/v1/responses/$id/input_items")
t_eq "input_items without token is 401" 401 "$HS"
h_req DELETE "/v1/responses/$id/input_items"
t_eq "input_items DELETE is 405" 405 "$HS"
h_req GET "/v1/responses/$id/other"
t_eq "other sub-resource is 404" 404 "$HS"

# a damaged stored response fails its own requests with a 500 and a log
# line, never the server (it crashed on input_items [[1,2]])
# (on pg the same record as a row of tau_response)
if t_on_pg; then
	tb_psql "INSERT INTO tau_response (deployment, id, input_items, response, created_unix_ms)
		VALUES (:'dep', 'resp_bad', '[[1,2]]', '{\"id\":\"resp_bad\",\"output\":[]}',
		(extract(epoch from now()) * 1000)::bigint)" "$(t_state_dep "$T/state")"
	bad_where="resp_bad: input_items[0]"
else
	printf '%s\n' '{"id":"resp_bad","session_key":"","input_items":[[1,2]],"response":{"id":"resp_bad","output":[]}}' \
		>"$T/state/openresponses/responses/resp_bad.json"
	bad_where="resp_bad.json: input_items[0]"
fi
h_req GET /v1/responses/resp_bad/input_items
t_eq "damaged record: input_items is 500" "500 stored_response_invalid" "$HS $(h_jq .error.code)"
h_req GET /v1/responses/resp_bad
t_eq "damaged record: GET is 500" "500 stored_response_invalid" "$HS $(h_jq .error.code)"
h_post '{"input":"go on","previous_response_id":"resp_bad"}'
t_eq "damaged record as previous_response_id: 500" "500 previous_response_id" "$HS $(h_jq .error.param)"
t_contains "damaged record is logged with its file (row) and item" "$bad_where" "$(cat "$T/GW.err")"
HS=$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/healthz")
t_eq "the server still serves after a damaged record" 200 "$HS"

h_stop "$GW"
t_eq "clean exit" 0 "$HRC"
t_done
