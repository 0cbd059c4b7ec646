#!/usr/bin/env bash
# build_embed: the webchat page cannot silently go missing.  cmake/embed.cmake
# fails on a missing or empty input, naming it, writes no output and removes
# a stale one; on a real file it writes the bytes and their count.  A copy
# of the source tree without src/server/webchat.html fails to configure with
# a message naming the file (the copy with it configures).
. "$(dirname "$0")/../lib.sh"

EMBED=$TAU_SOURCE_DIR/cmake/embed.cmake

# embed_fails NAME IN: embed.cmake exits non-zero, names IN on stderr and
# leaves no output (a stale one from an earlier run is removed)
embed_fails() {
	local name=$1 in=$2 rc
	echo stale >"$T/out.c"
	cmake -DIN="$in" -DOUT="$T/out.c" -P "$EMBED" >"$T/embed.out" 2>"$T/embed.err"
	rc=$?
	t_eq "$name: fails" "yes" "$([ "$rc" -ne 0 ] && echo yes || echo no)"
	t_contains "$name: the message names the file" "cannot embed $in" "$(tr -s '\n ' ' ' <"$T/embed.err")"
	t_eq "$name: no output left" "no" "$([ -e "$T/out.c" ] && echo yes || echo no)"
}

embed_fails "missing input" "$T/no-such-dir/webchat.html"
: >"$T/empty.html"
embed_fails "empty input" "$T/empty.html"

printf '<p>hi</p>\n' >"$T/page.html"
rm -f "$T/out.c"
if cmake -DIN="$T/page.html" -DOUT="$T/out.c" -P "$EMBED" >"$T/embed.out" 2>&1; then
	t_ok "real input: succeeds"
else
	t_fail "real input: succeeds"
	cat "$T/embed.out" >&2
fi
t_contains "real input: the bytes" "{0x3c,0x70,0x3e,0x68,0x69,0x3c,0x2f,0x70,0x3e,0x0a, 0x00}" "$(cat "$T/out.c" 2>/dev/null)"
t_contains "real input: the length" "srv_webchat_html_len = 10;" "$(cat "$T/out.c" 2>/dev/null)"

# --- configure: a tree without the page fails ------------------------------------
mkdir "$T/src"
cp -r "$TAU_SOURCE_DIR"/{CMakeLists.txt,cmake,src,man,bench} "$T/src/"
if cmake -S "$T/src" -B "$T/with" -DTAU_BUILD_TESTS=OFF >"$T/with.log" 2>&1; then
	t_ok "with webchat.html: configures"
else
	t_fail "with webchat.html: configures"
	tail -20 "$T/with.log" >&2
fi
rm "$T/src/src/server/webchat.html"
cmake -S "$T/src" -B "$T/without" -DTAU_BUILD_TESTS=OFF >"$T/without.log" 2>&1
rc=$?
t_eq "without webchat.html: configure fails" "yes" "$([ "$rc" -ne 0 ] && echo yes || echo no)"
t_contains "without webchat.html: the message names the file" \
	"$T/src/src/server/webchat.html is missing" "$(tr -s '\n ' ' ' <"$T/without.log")"
t_done
