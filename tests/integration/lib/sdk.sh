# tests/integration/lib/sdk.sh - run a test file of the official OpenAI
# Node SDK (tests/sdk, npm "openai" pinned) against the real server.
# Source tests/lib.sh and lib/http.sh first.
#
#   sdk_run FILE COUNT   installs the SDK when missing (npm ci), starts the
#                        upstream stub, a gateway with an openai/* model in
#                        front of it (GATEWAY_UPSTREAM_URL) and a local/echo
#                        gateway (GATEWAY_URL, pid in GW; the upstream one
#                        in UP), runs `node --test tests/sdk/FILE` and checks
#                        that it passed with COUNT tests run and none
#                        skipped; its TAP output is left in $T/sdk.tap

sdk_run() {
	local file=$1 count=$2 sdk=$TAU_SOURCE_DIR/tests/sdk rc
	command -v node >/dev/null && command -v npm >/dev/null ||
		{ t_fail "node and npm are needed (scripts/test installs them)"; return 1; }
	if [ ! -d "$sdk/node_modules/openai" ]; then
		(cd "$sdk" && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 ||
			{ t_fail "npm ci in tests/sdk: $(tail -3 "$T/npm.log")"; return 1; }
	fi
	h_stub || return 1
	OPENAI_API_KEY=stub-key h_gateway UP --gateway-state-dir "$T/up" --model openai/stub-model \
		--provider-base-url "$STUB_URL" || return 1
	local up_addr=$ADDR
	h_gateway GW || return 1
	GATEWAY_URL="http://$ADDR" GATEWAY_UPSTREAM_URL="http://$up_addr" GATEWAY_TOKEN=$TOKEN \
		node --test "$sdk/$file" >"$T/sdk.tap" 2>&1
	rc=$?
	grep -E '^(not )?ok ' "$T/sdk.tap"
	t_eq "the SDK's tests in $file pass (node --test exit status)" 0 "$rc"
	[ "$rc" -eq 0 ] || sed -n '/^not ok/,/^ok /p' "$T/sdk.tap" | head -60 >&2
	t_eq "all $count SDK tests ran, none skipped" "$count 0" \
		"$(grep -c '^ok ' "$T/sdk.tap") $(sed -n 's/^# skipped //p' "$T/sdk.tap")"
}
