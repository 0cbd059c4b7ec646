#!/usr/bin/env bash
# A 100 KB paste into the ':' prompt: the line stops at its documented cap
# (TUI_PROMPT_MAX, 4096 bytes) with a hint, the view scrolls to the cursor
# without re-measuring the line from its start for every step (it froze
# the console for two minutes), and the prompt still edits, cancels and
# runs the next line.
# A burst of X10 mouse reports outside a prompt (twelve wheel events at
# column 82, 72 bytes: "\E[M" and three raw bytes, the column byte is s)
# is decoded by curses, not run as keys: it started a stopped service.
# At the prompt such a burst goes raw up to the ESC, the rest through curses.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

TC_ENV="TERM=tmux-256color" tc_start
tc_expect "console up" 'Service (RUNNING|NO STATE YET)'

tc_keys S
tc_wait 'stop reason' 5 || true
tc_type "before_burst"
tc_keys Enter
tc_expect "stopped" 'Service STOPPED \(last stop: before_burst\)'
wheel=""
for _ in $(seq 12); do wheel+="1b 5b 4d 61 73 26 "; done
# shellcheck disable=SC2086 # one hex byte per word
tc_keys -H $wheel
tc_keys :
tc_expect "the prompt opens after the burst" '^:'
# a burst at the prompt goes raw up to its first ESC, and curses decodes
# the rest in order: the wheel report is no text, the x after it are
xs=""
for _ in $(seq 70); do xs+="78 "; done
# shellcheck disable=SC2086 # one hex byte per word
tc_keys -H $xs 1b 5b 4d 61 73 26 78 78 78 78 78
tc_expect "a burst with a mouse report at the prompt: only its text" '^:x{75} *$'
tc_keys C-g
t_match "the mouse burst started nothing" '"status": *"stopped"' "$(cat "$SD/state.json")"
tc_keys s
tc_expect "s still starts it" 'Service RUNNING'

head -c 100000 /dev/zero | tr '\0' 'x' >"$T/paste"
tc_keys :
tc_wait '^:' 5 || true
tc_tmux load-buffer -b big "$T/paste"
tc_tmux paste-buffer -b big -t tc
tc_expect "the paste stops at the cap, with a hint" 'limited to 4096 bytes; the rest was dropped'
tc_expect "the view ends at the cursor" ':x+$'
tc_keys C-g
tc_expect "Ctrl-G still cancels" 'cancelled'

tc_keys :
tc_wait '^:' 5 || true
tc_type "stop after_paste"
tc_keys Enter
tc_expect "the next line runs" 'last stop: after_paste'
t_done
