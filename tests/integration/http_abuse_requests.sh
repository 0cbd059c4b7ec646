#!/usr/bin/env bash
# Requests that used to hold a connection slot without an answer (issue 9,
# defects 8 and 9):
# - more than 64 query parameters: 431 too_many_query_parameters, and the
#   connection closed (libmicrohttpd logged a 431 but sent nothing and kept
#   the socket until the idle timeout);
# - a body announced to a route that takes none: 413 body_not_allowed at
#   once, without waiting for the body, and the connection closed; peers
#   that hang up leave no CLOSE-WAIT socket and their address its slots.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
ABUSE=$(dirname "$0")/lib/abuse.py

h_gateway GW
port=${ADDR##*:}

# --- query parameters --------------------------------------------------------------------------
out=$(python3 "$ABUSE" query "$ADDR" 250)
t_eq "250 query parameters: 431" "HTTP/1.1 431 Request Header Fields Too Large" "$(sed -n 's/^status: //p' <<<"$out")"
t_eq "250 query parameters: the connection is closed at once" yes "$(sed -n 's/^closed: //p' <<<"$out")"
body=$(sed -n 's/^body: //p' <<<"$out")
t_eq "250 query parameters: error code" too_many_query_parameters "$(jq -r .error.code <<<"$body")"
t_eq "250 query parameters: error type" invalid_request_error "$(jq -r .error.type <<<"$body")"
t_contains "250 query parameters: the message says the count and the limit" "250 query parameters; at most 64" \
	"$(jq -r .error.message <<<"$body")"
q=$(python3 -c 'print("&".join("p%d=%d" % (i, i) for i in range(250)))')
t_eq "curl: 250 query parameters answered 431" 431 \
	"$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$ADDR/healthz?$q")"
q=$(python3 -c 'print("&".join("p%d=%d" % (i, i) for i in range(64)))')
t_eq "64 query parameters still answered" 200 "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$ADDR/healthz?$q")"
h_req GET "/v1/responses/resp_x/input_items?limit=2&order=asc"
t_eq "a few query parameters reach the route" 404 "$HS"

# --- a body on a route that takes none -----------------------------------------------------------
out=$(python3 "$ABUSE" nobody "$ADDR" 64)
t_eq "64 x GET /healthz with a body: all answered 413 at once" "answered 413: 64" "$(grep '^answered' <<<"$out")"
t_eq "64 x GET /healthz with a body: all closed by the server" "closed by the server: 64" "$(grep '^closed' <<<"$out")"
body=$(sed -n 's/^body: //p' <<<"$out")
t_eq "body on /healthz: error code" body_not_allowed "$(jq -r .error.code <<<"$body")"
t_eq "body on /healthz: message" "GET /healthz takes no request body" "$(jq -r .error.message <<<"$body")"
for route in /gateway/status /metrics /webchat /v1/responses/resp_x /v1/responses/resp_x/input_items; do
	h_req GET "$route" -m 5 -H 'Content-Type: application/json' --data-binary '{"x":1}' -X GET
	t_eq "GET $route with a body: 413" 413 "$HS"
done
h_req DELETE /v1/responses/resp_x -m 5 -H 'Transfer-Encoding: chunked' --data-binary 'abc'
t_eq "DELETE with a chunked body: 413" 413 "$HS"
t_eq "DELETE with a chunked body: body_not_allowed" body_not_allowed "$(h_jq .error.code)"
h_req GET /webchat -m 5
t_eq "GET /webchat without a body: 200" 200 "$HS"

# peers that send part of a body and hang up without reading: no socket
# of theirs stays in CLOSE-WAIT, and their address gets its slots back
# (the default per-address cap is 64)
python3 - "$ADDR" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
socks = [socket.create_connection((host, int(port)), timeout=5) for _ in range(64)]
for s in socks:
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabcd")
for s in socks:
    s.close()
PY
closewait=-1
for ((i = 0; i < 100; i++)); do
	closewait=$(ss -tanH state close-wait "( sport = :$port )" | wc -l)
	[ "$closewait" -eq 0 ] && break
	sleep 0.05
done
t_eq "hung-up peers: no CLOSE-WAIT socket left within 5 s" 0 "$closewait"
h_req GET /healthz -m 5
t_eq "hung-up peers: their address is answered again" 200 "$HS"
h_stop "$GW"
t_eq "clean exit" 0 "$HRC"
t_done
