#!/usr/bin/env bash
# The official OpenAI Node SDK (tests/sdk, npm "openai" pinned), unchanged,
# against /v1/chat/completions and /v1/models: chat.completions.create
# plain and streamed (include_usage), the SDK's stream accumulator, a tool
# call and its result and a streamed tool call through an openai/* model in
# front of the upstream stub, models.list, and errors as the SDK's typed
# exceptions (400 with its param, 401).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

SDK=$TAU_SOURCE_DIR/tests/sdk
command -v node >/dev/null && command -v npm >/dev/null || { t_fail "node and npm are needed (scripts/test installs them)"; t_done; exit; }
if [ ! -d "$SDK/node_modules/openai" ]; then
	(cd "$SDK" && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 ||
		{ t_fail "npm ci in tests/sdk: $(tail -3 "$T/npm.log")"; t_done; exit; }
fi

h_stub
OPENAI_API_KEY=stub-key h_gateway UP --gateway-state-dir "$T/up" --model openai/stub-model \
	--provider-base-url "$STUB_URL"
UP_ADDR=$ADDR
h_gateway GW
GATEWAY_URL="http://$ADDR" GATEWAY_UPSTREAM_URL="http://$UP_ADDR" GATEWAY_TOKEN=$TOKEN \
	node --test "$SDK/openai_chat.test.mjs" >"$T/sdk.tap" 2>&1
rc=$?
grep -E '^(not )?ok ' "$T/sdk.tap"
t_eq "the SDK's chat tests pass (node --test exit status)" 0 "$rc"
[ "$rc" -eq 0 ] || sed -n '/^not ok/,/^ok /p' "$T/sdk.tap" | head -60 >&2
t_eq "all six SDK chat tests ran, none skipped" "6 0" \
	"$(grep -c '^ok ' "$T/sdk.tap") $(sed -n 's/^# skipped //p' "$T/sdk.tap")"
t_eq "the stub received the SDK's three upstream requests" 3 \
	"$(jq -s '[.[] | select(.body.model == "stub-model")] | length' "$STUB_REC")"
h_stop "$GW"
t_eq "graceful stop" 0 "$HRC"
h_stop "$UP"
t_eq "graceful stop (upstream gateway)" 0 "$HRC"
t_done
