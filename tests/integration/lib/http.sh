# tests/integration/lib/http.sh - helpers for the http_*.sh tests.  Source
# tests/lib.sh first.  Needs curl, jq and python3.
#
#   h_gateway VAR [flags...]   start tau-gateway --gateway-openresponses-server
#                              on 127.0.0.1:0 (token $TOKEN, state $T/state
#                              unless --gateway-state-dir is given); waits for
#                              the listening line; sets VAR (pid) and ADDR.
#                              The state follows the test's backend
#                              (backend.sh, sourced here): on pg every
#                              --gateway-state-dir DIR becomes DIR's
#                              deployment in the test's database
#   h_replica VAR [flags...]   a fleet replica: h_gateway on the database $URL
#                              (--gateway-state-url), its address in VAR_ADDR;
#                              ADDR is left as it was
#   h_on VAR                   the next h_* request goes to replica VAR
#   h_stub [flags...]          start the upstream stub; sets STUB_PID,
#                              STUB_PORT, STUB_URL and STUB_REC (record file)
#   h_stub_as VAR SCRIPT [flags...]  start tests/stub/SCRIPT (upstream_stub.py,
#                              anthropic_stub.py, gemini_stub.py); sets
#                              VAR_PID, VAR_PORT and VAR_REC
#   h_req METHOD PATH [curl args...]   request with the bearer token; the body
#                              goes to $T/body, the status to $HS
#   h_post JSON                POST /v1/responses with JSON; same outputs
#   h_jq FILTER                jq -r FILTER on the last body
#   h_stop PID                 SIGTERM and wait (exit status in $HRC)
# shellcheck source=tests/integration/lib/backend.sh
. "$TAU_SOURCE_DIR/tests/integration/lib/backend.sh"
TOKEN=${TOKEN:-test-token-123}
HS=0
HRC=0

h_gateway() {
	local var=$1
	shift
	local state=() args=()
	case " $* " in *" --gateway-state-dir "* | *" --gateway-state-url "*) ;; *) t_state state "$T/state" ;; esac
	t_state_translate args "$@"
	t_spawn "$var" "$TAU_BIN" "${state[@]}" --gateway-openresponses-server \
		--gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token "$TOKEN" "${args[@]}"
	t_wait_line "$T/$var.out" '^gateway openresponses server listening: ' 20 || return 1
	ADDR=$(sed -n 's/^gateway openresponses server listening: endpoint=\/v1\/responses addr=\([^ ]*\) .*/\1/p' \
		"$T/$var.out" | tail -1)
}

h_replica() {
	local var=$1 keep=${ADDR-}
	shift
	h_gateway "$var" --gateway-state-url "$URL" "$@" || return 1
	printf -v "${var}_ADDR" '%s' "$ADDR"
	ADDR=$keep
}

h_on() {
	local v=${1}_ADDR
	ADDR=${!v}
}

h_stub() {
	h_stub_as STUB upstream_stub.py "$@" || return 1
	STUB_URL=http://127.0.0.1:$STUB_PORT/v1
}

h_stub_as() {
	local v=$1 script=$2
	shift 2
	local rec=$T/${v,,}-record.jsonl
	[ "$v" == STUB ] && rec=$T/stub-record.jsonl
	: >"$rec"
	printf -v "${v}_REC" '%s' "$rec"
	t_spawn "${v}_PID" python3 "$TAU_SOURCE_DIR/tests/stub/$script" --port 0 --record "$rec" "$@"
	t_wait_line "$T/${v}_PID.out" '^upstream stub listening: port=' 20 || return 1
	printf -v "${v}_PORT" '%s' "$(sed -n 's/^upstream stub listening: port=//p' "$T/${v}_PID.out")"
}

h_req() {
	local method=$1 path=$2
	shift 2
	HS=$(curl -s -o "$T/body" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $TOKEN" \
		"$@" "http://$ADDR$path")
}

h_post() {
	h_req POST /v1/responses -H 'Content-Type: application/json' --data-binary "$1"
}

h_jq() {
	jq -r "$1" "$T/body"
}

h_stop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	HRC=$?
}

# h_wait_metric NAME VALUE: polls /metrics (bounded) until the sample equals VALUE
h_wait_metric() {
	local i line
	for ((i = 0; i < 100; i++)); do
		line=$(curl -s -H "Authorization: Bearer $TOKEN" "http://$ADDR/metrics" | grep -E "^$1 " || true)
		[ "${line##* }" == "$2" ] && return 0
		sleep 0.05
	done
	echo "metric $1 never reached $2 (last: $line)" >&2
	return 1
}
