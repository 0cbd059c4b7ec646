#!/usr/bin/env bash
# '?' and F1 open a help overlay that lists every binding of the key table
# (src/tui/tui_keys.c) and every prompt word.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

keys_c=$TAU_SOURCE_DIR/src/tui/tui_keys.c
# rows look like: { "j, Down", { 'j', KEY_DOWN, 0 }, TUI_CMD_DOWN, "select the next line", ...
mapfile -t labels < <(grep -E '^\s*\{ "[^"]+", \{' "$keys_c" | sed -E 's/^\s*\{ "([^"]+)".*/\1/')
mapfile -t helps < <(grep -E '^\s*\{ "[^"]+", \{' "$keys_c" | sed -E 's/^[^}]*\}, TUI_CMD_[A-Z_]+, "([^"]+)".*/\1/')
t_eq "the key table was read" "yes" "$([ "${#labels[@]}" -ge 15 ] && echo yes || echo no)"

tc_start
tc_expect "console up" 'Service RUNNING'
tc_keys '?'
tc_expect "? opens the help" 'Prompt words'
s=$(tc_screen)
for i in "${!labels[@]}"; do
	t_match "help lists '${labels[$i]}'" "$(printf '%s' "${labels[$i]}" | sed 's/[][\.*^$?+(){}|/]/\\&/g') +$(printf '%s' "${helps[$i]}" | sed 's/[][\.*^$?+(){}|/]/\\&/g')" "$s"
done
# the words are at the end, below the fold of a 40-row screen
tc_keys End
tc_expect "End: the help's last line" 'Mouse: a click selects'
s=$(tc_screen)
for w in start stop status run serve unserve reload health inspect help quit; do
	t_match "help lists the word '$w'" "^[^a-z]*$w( |$)" "$(printf '%s\n' "$s" | sed -n '/Prompt words/,$p' | sed -E 's/^[^ ]* +//')"
done
tc_keys x
tc_wait 'Service RUNNING' 5
t_eq "any key closes the help" "0" "$(tc_screen | grep -c 'Prompt words')"
tc_keys F1
tc_expect "F1 opens it too" 'Prompt words'
tc_keys Escape
tc_keys q
tc_expect "q quits" 'CONSOLE_EXIT=0'
t_done
