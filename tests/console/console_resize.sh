#!/usr/bin/env bash
# Resizing works; below 40x10 one centred "enlarge the terminal" line is
# shown and q still quits.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

tc_start
tc_expect "console up at 120x40" 'Service (RUNNING|NO STATE YET)'
tc_tmux resize-window -t tc -x 30 -y 8
tc_expect "30x8: the enlarge line" 'enlarge the terminal'
s=$(tc_screen)
t_eq "30x8: nothing else on screen" "1" "$(printf '%s\n' "$s" | grep -c '[^ ]')"
t_eq "30x8: the line is on the middle row" "enlarge the terminal" "$(printf '%s\n' "$s" | sed -n 5p | sed -E 's/^ *//; s/ \(.*//')"
tc_keys s
tc_tmux resize-window -t tc -x 120 -y 40
tc_expect "back to 120x40: the full layout" 'F1 Help .*F10 Quit'
t_match "keys other than q do nothing while too small" 'Service (RUNNING|NO STATE YET)' "$(tc_screen)"
t_eq "...and s did not write state" "no" "$([ -e "$SD/state.json" ] && echo yes || echo no)"
tc_tmux resize-window -t tc -x 80 -y 24
tc_expect "80x24: the layout adapts" '^ Failure streak +[^ ]+ 0/2'
tc_tmux resize-window -t tc -x 30 -y 8
tc_expect "small again" 'enlarge the terminal'
tc_keys q
tc_expect "q quits while too small" 'CONSOLE_EXIT=0'
t_done
