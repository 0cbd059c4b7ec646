#!/usr/bin/env bash
# Defect 2 of issue 9: cancelling a prompt whose line is a recalled and
# edited history entry freed readline's undo list twice (double free in
# rl_do_undo from rl_revert_line), killing the console.  The exact keys of
# the report; then the console must still run a command.  Under the
# sanitizer build the console's own ASan/UBSan report is written under $T,
# where lib.sh finds it.  Then a flag line carrying the bearer token runs
# but stays out of the history.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

tc_start --console-log "$T/console.log"
tc_expect "console up" 'Service RUNNING'

# `:` abc Enter: an unknown word, now in the history
tc_keys :
tc_wait '^:' 5 || true
tc_type abc
tc_keys Enter
tc_expect "abc is an unknown command" "unknown command 'abc'"

# `:` x Up j Up Backspace Ctrl-G: recall, edit, recall again, cancel
tc_keys :
tc_wait '^:' 5 || true
tc_type x
tc_wait '^:x' 5 || true
tc_keys Up
tc_wait '^:abc' 5 || true
tc_type j
tc_wait '^:abcj' 5 || true
tc_keys Up
tc_keys BSpace
tc_keys C-g
tc_expect "Ctrl-G cancels the recalled, edited line" 'cancelled'

# `/` Enter: the filter prompt, empty
tc_keys /
tc_wait '^filter:' 5 || true
tc_keys Enter

# `:` Up Enter: recall the last line and run it
tc_keys :
tc_wait '^:' 5 || true
tc_keys Up
tc_expect "Up recalls the line as it was run, not as edited" '^:abc *$'
tc_keys Enter
tc_expect "the recalled line runs (a second error message)" "console messages 2"

# the console survived: a command still works
tc_keys :
tc_wait '^:' 5 || true
tc_type "stop after history"
tc_keys Enter
tc_expect "a command after the cancel still works" 'last stop: after history'
pid=$(tc_console_pid)
t_check "the console process is still alive" test -n "$pid"

# a flag line that carries the bearer token runs, but stays out of the
# history (in memory and on disk); the token shows on no line afterwards
TOK="console-tok-Xr5$$"
tc_keys :
tc_wait '^:' 5 || true
tc_type "--gateway-openresponses-server --gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token $TOK"
tc_keys Enter
tc_expect "a flag line with the token starts the server" 'server listening on 127\.0\.0\.1:[0-9]+'
tc_keys :
tc_wait '^:' 5 || true
tc_type unserve
tc_keys Enter
tc_expect "unserve" 'server stopped'
tc_keys :
tc_wait '^:' 5 || true
tc_keys Up
tc_expect "Up: the last line" '^:unserve *$'
tc_keys Up
tc_expect "Up again: the line before the token line" '^:stop after history *$'
tc_keys C-g
tc_expect "cancelled" 'cancelled'
t_eq "the token is not on the screen" "" "$(tc_screen | grep -F "$TOK")"

tc_keys :
tc_wait '^:' 5 || true
tc_type quit
tc_keys Enter
tc_expect "quit exits 0" 'CONSOLE_EXIT=0'
t_contains "the history file has the lines run" "stop after history" "$(cat "$T/xdg/tau-gateway/history")"
t_eq "no file of the console or the state dir holds the token" "" \
	"$(grep -rlF "$TOK" "$T/xdg" "$SD" "$T/console.log")"
t_contains "the console log shows the line, its token masked" \
	"--gateway-openresponses-auth-token [redacted]" "$(cat "$T/console.log")"
t_done
