#!/usr/bin/env bash
# The official OpenAI Node SDK (tests/sdk, npm "openai" pinned), unchanged,
# against the real server: responses.create with string and item input,
# roles, function tools and a function_call_output round trip;
# previous_response_id; retrieve, inputItems.list and delete; stream: true
# and the SDK's own stream accumulator (responses.stream); errors as the
# SDK's typed exceptions (401, 400 previous_response_not_found); and through
# an openai/* model in front of the upstream stub (tests/stub): text, a
# tool call, its result and a streamed reply.
# backends: files pg
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
	node --test "$SDK/openai_sdk.test.mjs" >"$T/sdk.tap" 2>&1
rc=$?
grep -E '^(not )?ok ' "$T/sdk.tap"
t_eq "the SDK's tests pass (node --test exit status)" 0 "$rc"
[ "$rc" -eq 0 ] || sed -n '/^not ok/,/^ok /p' "$T/sdk.tap" | head -40 >&2
t_eq "all nine SDK tests ran, none skipped" "9 0" \
	"$(grep -c '^ok ' "$T/sdk.tap") $(sed -n 's/^# skipped //p' "$T/sdk.tap")"
t_eq "the stub received the SDK's requests, translated" 3 \
	"$(jq -s '[.[] | select(.body.model == "stub-model")] | length' "$STUB_REC")"
h_stop "$GW"
t_eq "graceful stop" 0 "$HRC"
h_stop "$UP"
t_eq "graceful stop (upstream gateway)" 0 "$HRC"
t_done
