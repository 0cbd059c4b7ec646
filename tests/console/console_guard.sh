#!/usr/bin/env bash
# Never start curses on a pipe: no action and no terminal prints usage and
# exits 64; --console without a terminal exits 64 too.
. "$(dirname "$0")/../lib.sh"

"$TAU_BIN" </dev/null >"$T/out" 2>"$T/err"
st=$?
out=$(cat "$T/out")
t_eq "no action, stdin and stdout not a tty: exit 64" "64" "$st"
t_eq "nothing on stdout" "" "$out"
t_contains "usage on stderr" "Usage: tau-gateway" "$(cat "$T/err")"
t_contains "says why" "no terminal for the console" "$(cat "$T/err")"
t_eq "no escape sequences" "0" "$(grep -c $'\e' "$T/err")"

"$TAU_BIN" --console </dev/null >"$T/out" 2>"$T/err"
t_eq "--console on a pipe: exit 64" "64" "$?"
t_contains "--console: message" "needs a terminal" "$(cat "$T/err")"
t_eq "--console: nothing on stdout" "0" "$(wc -c <"$T/out")"

echo q | "$TAU_BIN" --console --gateway-state-dir "$T/s" >"$T/out" 2>"$T/err"
t_eq "--console with piped stdin: exit 64" "64" "$?"
t_eq "no state dir created" "no" "$([ -e "$T/s" ] && echo yes || echo no)"
t_done
