#!/usr/bin/env bash
# Headless Chromium test of the gateway's /webchat page.
#
# Usage: tests/browser/run.sh <path-to-tau-gateway-binary>
#
# Starts the gateway on 127.0.0.1:0 with a fresh temporary state dir, waits for
# its "listening" line, runs `node --test webchat.test.mjs` against it and stops
# the gateway (by PID) on every exit path.
#
# Environment:
#   CHROMIUM_PATH       browser binary (default /usr/bin/chromium)
#   READY_TIMEOUT_S     how long to wait for the listening line (default 30)
#   WEBCHAT_SCREENSHOT  screenshot path (default: webchat.png in the temporary
#                       directory, removed with it unless KEEP_TMP=1)
#   KEEP_TMP=1          keep the temporary directory (state dir, logs, screenshot)
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 <path-to-tau-gateway-binary>" >&2
    exit 64
fi

bin=$1
case "$bin" in
    /*) ;;
    *) bin="$PWD/$bin" ;;
esac
if [ ! -x "$bin" ]; then
    echo "run.sh: gateway binary not found or not executable: $bin" >&2
    exit 66
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
token=webchat-test-token
ready_timeout=${READY_TIMEOUT_S:-30}
export CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}

command -v node >/dev/null 2>&1 || { echo "run.sh: node is required" >&2; exit 69; }
command -v npm >/dev/null 2>&1 || { echo "run.sh: npm is required" >&2; exit 69; }

if [ ! -x "$CHROMIUM_PATH" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "run.sh: $CHROMIUM_PATH missing; installing the Debian chromium package" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
    fi
    if [ ! -x "$CHROMIUM_PATH" ]; then
        echo "run.sh: chromium not found at $CHROMIUM_PATH (set CHROMIUM_PATH)" >&2
        exit 69
    fi
fi

if [ ! -d "$here/node_modules/playwright-core" ]; then
    if [ -f "$here/package-lock.json" ]; then
        (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
    else
        (cd "$here" && npm install --no-audit --no-fund --loglevel=error) >&2
    fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tau-webchat.XXXXXX")
state_dir="$tmp/state"
out="$tmp/gateway.stdout"
err="$tmp/gateway.stderr"
gw_pid=""

cleanup() {
    rc=$?
    trap - EXIT INT TERM
    if [ -n "$gw_pid" ] && kill -0 "$gw_pid" 2>/dev/null; then
        kill -INT "$gw_pid" 2>/dev/null || true
        # bounded wait for a graceful stop, then force it
        for _ in $(seq 1 50); do
            kill -0 "$gw_pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$gw_pid" 2>/dev/null; then
            kill -KILL "$gw_pid" 2>/dev/null || true
        fi
        wait "$gw_pid" 2>/dev/null || true
    fi
    if [ "$rc" -ne 0 ]; then
        echo "run.sh: failed (exit $rc); gateway stdout:" >&2
        sed 's/^/  | /' "$out" >&2 2>/dev/null || true
        echo "run.sh: gateway stderr:" >&2
        sed 's/^/  | /' "$err" >&2 2>/dev/null || true
    fi
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "run.sh: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

: >"$out"
"$bin" --gateway-openresponses-server \
    --gateway-openresponses-bind 127.0.0.1:0 \
    --gateway-openresponses-auth-token "$token" \
    --gateway-state-dir "$state_dir" \
    </dev/null >"$out" 2>"$err" &
gw_pid=$!

# Poll the gateway's stdout for the ready line (bounded; fails fast if it exits).
ready_re='^gateway openresponses server listening: endpoint=/v1/responses addr=([^ ]+) state_dir=(.*)$'
addr=""
deadline=$((SECONDS + ready_timeout))
while [ -z "$addr" ]; do
    while IFS= read -r line; do
        if [[ $line =~ $ready_re ]]; then
            addr=${BASH_REMATCH[1]}
            break
        fi
    done <"$out"
    [ -n "$addr" ] && break
    if ! kill -0 "$gw_pid" 2>/dev/null; then
        echo "run.sh: gateway exited before it was ready" >&2
        exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "run.sh: timed out after ${ready_timeout}s waiting for the gateway listening line" >&2
        exit 1
    fi
    sleep 0.05
done

export GATEWAY_URL="http://$addr"
export GATEWAY_TOKEN="$token"
shot=${WEBCHAT_SCREENSHOT:-$tmp/webchat.png}
export WEBCHAT_SCREENSHOT=$shot
echo "run.sh: gateway pid $gw_pid at $GATEWAY_URL (state dir $state_dir)" >&2

cd "$here"
node --test webchat.test.mjs
# the screenshot went where it was asked to (by default into $tmp, which
# the cleanup removes), not to a fixed path shared with other runs
if [ ! -s "$shot" ]; then
    echo "run.sh: no screenshot at $shot" >&2
    exit 1
fi
