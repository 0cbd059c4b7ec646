#!/usr/bin/env bash
# --gateway-routes-check FILE: a good routes file exits 0 with a summary;
# a bad one exits 65 with exactly one line naming the file, the line and
# the column and what is wrong (bad JSON, missing version, unknown
# provider, a duplicate model or alias, a default naming nothing, a key in
# the file, an api_key_env that is not a variable name); a missing file is
# 66.  The server refuses a bad file at start the same way (65) before it
# records anything.  Nothing is written by a check.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"

cd "$T" || exit 1

# the issue's example, plus a local route
cat >good.json <<'EOF'
{"version": 1, "default": "smart",
 "routes": [
   {"model": "smart", "aliases": ["best"],
    "targets": [
      {"provider": "anthropic", "model": "claude-sonnet-4-5", "base_url": "https://api.anthropic.com", "api_key_env": "ANTHROPIC_API_KEY", "timeout_ms": 60000, "retries": 1},
      {"provider": "openai", "model": "gpt-4o-mini", "base_url": "https://api.openai.com/v1", "api_key_env": "OPENAI_API_KEY"}]},
   {"model": "echo", "targets": [{"provider": "local"}]}]}
EOF
"$TAU_BIN" --gateway-routes-check good.json >out 2>err
t_eq "good: exit 0" 0 "$?"
t_eq "good: summary" "routes ok: file=good.json routes=2 targets=3 default=smart" "$(cat out)"
t_eq "good: no stderr" "" "$(cat err)"

# bad NAME TEXT EXPECTED_LINE: exit 65 and exactly that one line on stderr
bad() {
	printf '%s' "$2" >"$1.json"
	"$TAU_BIN" --gateway-routes-check "$1.json" >out 2>err
	t_eq "$1: exit 65" 65 "$?"
	t_eq "$1: message" "tau-gateway: $3" "$(cat err)"
	t_eq "$1: no stdout" "" "$(cat out)"
}
bad badjson $'{"version": 1,\n "routes": [}' \
	'badjson.json: invalid JSON at line 2 column 13: unexpected character'
bad noversion $'{\n  "routes": [{"model": "a", "targets": [{"provider": "local"}]}]}' \
	'noversion.json: line 1 column 1: missing "version" (expected 1)'
bad version2 '{"version": 2, "routes": []}' \
	'version2.json: line 1 column 13: unsupported version (expected 1)'
bad provider $'{"version": 1,\n "routes": [{"model": "a",\n   "targets": [{"provider": "azure", "model": "x"}]}]}' \
	'provider.json: line 3 column 29: route "a" target 1: unknown provider "azure" (expected openai, anthropic, google or local)'
bad dupmodel $'{"version": 1, "routes": [\n {"model": "a", "targets": [{"provider": "local"}]},\n {"model": "a", "targets": [{"provider": "local"}]}]}' \
	'dupmodel.json: line 3 column 12: model name "a" is already used by route "a"'
bad dupalias $'{"version": 1, "routes": [\n {"model": "a", "targets": [{"provider": "local"}]},\n {"model": "b", "aliases": ["c", "a"], "targets": [{"provider": "local"}]}]}' \
	'dupalias.json: line 3 column 34: model name "a" is already used by route "a"'
bad default $'{"version": 1, "default": "b",\n "routes": [{"model": "a", "targets": [{"provider": "local"}]}]}' \
	'default.json: line 1 column 27: default "b" names no route or alias'
bad key $'{"version": 1, "routes": [{"model": "a", "targets": [\n  {"provider": "openai", "model": "x", "api_key": "sk-live-123"}]}]}' \
	'key.json: line 2 column 40: route "a" target 1: "api_key": keys never go in the routes file; name the environment variable that holds it in api_key_env'
bad keyenv $'{"version": 1, "routes": [{"model": "a", "targets": [\n  {"provider": "openai", "model": "x", "api_key_env": "sk-live-123"}]}]}' \
	'keyenv.json: line 2 column 55: route "a" target 1: api_key_env must name an environment variable ([A-Za-z_][A-Za-z0-9_]*); keys never go in the routes file'
bad notargets '{"version": 1, "routes": [{"model": "a", "targets": []}]}' \
	'notargets.json: line 1 column 53: route "a": targets must not be empty'
bad retries '{"version": 1, "routes": [{"model": "a", "targets": [{"provider": "openai", "model": "x", "retries": 11}]}]}' \
	'retries.json: line 1 column 102: route "a" target 1: retries must be an integer from 0 to 10'
bad localmodel '{"version": 1, "routes": [{"model": "a", "targets": [{"provider": "local", "model": "big"}]}]}' \
	'localmodel.json: line 1 column 67: route "a" target 1: the local provider serves only the model "echo"'

"$TAU_BIN" --gateway-routes-check missing.json >out 2>err
t_eq "missing: exit 66" 66 "$?"
t_eq "missing: one line" 1 "$(wc -l <err)"

# the server refuses a bad file at start, with the same line, recording nothing
"$TAU_BIN" --gateway-state-dir "$T/state" --gateway-openresponses-server \
	--gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token tok --gateway-routes provider.json </dev/null >out 2>err
t_eq "server: exit 65" 65 "$?"
t_contains "server: the line and column" 'provider.json: line 3 column 29: route "a" target 1: unknown provider' "$(cat err)"
t_eq "server: nothing recorded" no "$([ -e "$T/state/state.json" ] && echo yes || echo no)"
t_eq "check wrote nothing" no "$([ -e "$T/.tau" ] && echo yes || echo no)"
t_done
