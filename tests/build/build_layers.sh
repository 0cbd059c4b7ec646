#!/usr/bin/env bash
# build_layers: the layers stay apart (libpq too: only store_pg.c calls it).
#  1. scripts/check-layers.sh passes on the tree as it is;
#  2. it fails, naming the file, on a copy of src/ with one forbidden
#     include added for each rule (so the check itself can fail);
#  3. the unit tests link only their layer: test_strmap links no libcurl,
#     ncurses, readline or libmicrohttpd; test_cli (the flags) no ncurses,
#     readline or libmicrohttpd; test_fixture no libcurl; test_store (the
#     store layer) no libcurl and no layer above it.
. "$(dirname "$0")/../lib.sh"
check=$TAU_SOURCE_DIR/scripts/check-layers.sh

if "$check" "$TAU_SOURCE_DIR" >"$T/ok.out" 2>&1; then t_ok "the tree keeps its layers"; else
	t_fail "check-layers fails on the tree: $(cat "$T/ok.out")"; fi

# inject FILE LINE: a copy of src/ with LINE added to FILE must fail the check
inject() {
	local file=$1 line=$2 copy=$T/copy
	rm -rf "$copy" && mkdir -p "$copy" && cp -r "$TAU_SOURCE_DIR/src" "$copy/"
	printf '%s\n' "$line" >>"$copy/$file"
	if "$check" "$copy" >"$T/bad.out" 2>&1; then
		t_fail "check-layers accepted $line in $file"
	else
		t_contains "check-layers refuses $line in $file" "$file" "$(cat "$T/bad.out")"
	fi
}
inject src/core/gateway/runner.c '#include "core/openresponses/provider.h"'
inject src/core/openresponses/session.c '#include "core/gateway/state.h"'
inject src/core/base/strmap.c '#include "core/gateway/state.h"'
inject src/core/gateway/state.c '#include <curl/curl.h>'
inject src/core/store/store.c '#include "core/gateway/state.h"'
inject src/core/base/fs.c '#include "core/store/store.h"'
inject src/core/store/store.c '#include <libpq-fe.h>'
inject src/core/gateway/service.c '#include <libpq-fe.h>'
inject src/cli/cli.c '#include <libpq-fe.h>'
inject src/core/gateway/status.h '#include "tui/tui.h"'
inject src/core/openresponses/chat.c '#include "server/server.h"'
inject src/cli/cli.c '#include "tui/tui.h"'
inject src/cli/cli.c '#include <ncurses.h>'
inject src/cli/cli.c '#include <microhttpd.h>'

# the link lines CMake wrote (not ldd, which --as-needed would thin out)
links() { cat "$TAU_BUILD_DIR/CMakeFiles/$1.dir/link.txt"; }
t_not_match() { if grep -Eq -- "$2" <<<"$1"; then t_fail "$3 (found /$2/)"; else t_ok "$3"; fi; }
t_not_match "$(links test_strmap)" 'curl|ncurses|readline|microhttpd|libpq|libtau(gateway|openresponses|store|cli|tui|server)' \
	"test_strmap links base only"
t_not_match "$(links test_fixture)" 'curl|ncurses|readline|microhttpd|libtauopenresponses' \
	"test_fixture links no libcurl and no openresponses"
t_not_match "$(links test_cli)" 'ncurses|readline|microhttpd|libtau(tui|server)' \
	"test_cli (the flags) links no face"
t_not_match "$(links test_store)" 'curl|ncurses|readline|microhttpd|libtau(gateway|openresponses|cli|tui|server)' \
	"test_store links the store and base only"
t_match "test_store links the store" 'libtaustore' "$(links test_store)"
t_done
