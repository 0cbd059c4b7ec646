# tests/integration/lib/wire.sh - the same Open Responses request through
# two gateways, one on the OpenAI stub and one on another vendor's stub
# (http_upstream_anthropic.sh, http_upstream_gemini.sh), compared by shape.
# Source tests/lib.sh and lib/http.sh first.
#
#   w_start VENDOR_MODEL STUB_SCRIPT BASE_PATH [gateway flags...]
#                     starts the OpenAI stub and its gateway (address in
#                     W_OPENAI), the vendor's stub (VS_PID, VS_PORT, VS_REC)
#                     and its gateway (W_VENDOR, pid GWV); leaves ADDR on
#                     the vendor's gateway
#   w_norm            jq program: a response with what legitimately differs
#                     (ids, times, model, token counts, call ids: Gemini
#                     gives none, so the gateway makes one up) replaced by
#                     placeholders
#   w_same NAME JSON  POSTs JSON to both gateways (stream:false), then again
#                     with stream:true, and checks that the status, the
#                     normalized response, the streamed event types (runs of
#                     one type collapsed) and the normalized
#                     response.completed/incomplete/failed payload are equal;
#                     the vendor's reply is left in $T/body and $T/sse
#   w_vlast           the vendor stub's last recorded request
#   w_vcount          how many requests the vendor stub recorded

w_norm='def n: walk(if type == "number" then (if . > 0 then "+" else . end) else . end);
	del(.created_at, .completed_at) | .id = "ID" | .model = "MODEL"
	| .output |= map(.id = "ID" | if has("call_id") then .call_id = "CALL" else . end)
	| if .usage then .usage |= n else . end'

w_err='.error | .message |= gsub("[0-9]+ bytes"; "N bytes")'

w_start() {
	local model=$1 script=$2 path=$3
	shift 3
	h_stub || return 1
	h_gateway GWO --gateway-state-dir "$T/gw-openai" --model openai/gpt-test \
		--provider-base-url "$STUB_URL" --request-timeout-ms 3000 --provider-max-retries 1 "$@" || return 1
	W_OPENAI=$ADDR
	h_stub_as VS "$script" || return 1
	h_gateway GWV --gateway-state-dir "$T/gw-vendor" --model "$model" \
		--provider-base-url "http://127.0.0.1:$VS_PORT$path" --request-timeout-ms 3000 \
		--provider-max-retries 1 "$@" || return 1
	W_VENDOR=$ADDR
}

w_vlast() { tail -1 "$VS_REC"; }
w_vcount() { wc -l <"$VS_REC"; }

# w_post ADDR JSON OUT: the status on stdout, the body in OUT
w_post() {
	curl -s -o "$3" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' --data-binary "$2" "http://$1/v1/responses"
}

# w_sse_shape FILE: the event types (runs collapsed), then the terminal payload normalized
w_sse_shape() {
	grep '^event: ' "$1" | uniq
	grep -E '^data: \{"type":"response\.(completed|incomplete|failed)"' "$1" | cut -c7- |
		jq -S -c ".response | $w_norm"
}

w_same() {
	local name=$1 json=$2 so sv
	so=$(w_post "$W_OPENAI" "$json" "$T/w-openai")
	sv=$(w_post "$W_VENDOR" "$json" "$T/body")
	HS=$sv
	t_eq "$name: status as openai's" "$so" "$sv"
	if jq -e .error "$T/body" >/dev/null 2>&1; then
		# (a byte count in curl's words is the stub's, not the gateway's)
		t_eq "$name: error as openai's" "$(jq -S -c "$w_err" "$T/w-openai")" "$(jq -S -c "$w_err" "$T/body")"
	else
		t_eq "$name: response shape as openai's" "$(jq -S -c "$w_norm" "$T/w-openai")" \
			"$(jq -S -c "$w_norm" "$T/body")"
	fi
	local sjson
	sjson=$(jq -c '. + {stream: true}' <<<"$json")
	curl -s -N -o "$T/w-openai.sse" -H "Authorization: Bearer $TOKEN" -d "$sjson" "http://$W_OPENAI/v1/responses"
	curl -s -N -o "$T/sse" -H "Authorization: Bearer $TOKEN" -d "$sjson" "http://$W_VENDOR/v1/responses"
	t_eq "$name (stream): events and final response as openai's" "$(w_sse_shape "$T/w-openai.sse")" \
		"$(w_sse_shape "$T/sse")"
}
