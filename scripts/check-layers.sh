#!/usr/bin/env bash
# scripts/check-layers.sh - the include rules that keep the layers apart
# (docs/architecture.md, "Shape").  Prints each broken rule as
# file:line: rule, and exits 1 when there is any; 0 otherwise.
#   src/core/base           includes no other layer, no libcurl
#   src/core/store          includes base only, no libcurl
#   src/core/gateway        includes base and store (never openresponses), no
#                           libcurl
#   src/core/openresponses  includes base and store (never gateway)
#   libpq                   only in the PostgreSQL backend, store_pg.c
#   src/core/**             includes no face (cli, tui, server), no curses,
#                           readline or libmicrohttpd
#   src/cli                 includes no console or server code (only the
#                           server's plain configuration struct), no curses,
#                           readline or libmicrohttpd (the console uses the
#                           flags, never the reverse)
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
bad=0
# rule DIR REGEX WHY [ALLOW]: no #include line under DIR may match REGEX,
# except those that match ALLOW
rule() {
	local hits
	hits=$(grep -rnE --include='*.c' --include='*.h' "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($2)" "$1" 2>/dev/null |
		grep -vE "${4:-^$}")
	if [ -n "$hits" ]; then
		while IFS= read -r h; do
			printf 'check-layers: %s  <- %s\n' "$h" "$3" >&2
		done <<<"$hits"
		bad=1
	fi
}
face_libs='ncurses|curses\.h|readline/|microhttpd\.h'
rule src/core/base 'core/gateway/|core/openresponses/|core/store/|curl/' 'base includes no other layer and no libcurl'
rule src/core/store 'core/gateway/|core/openresponses/|curl/' 'the store includes base only'
rule src 'libpq-fe\.h|libpq/|postgresql/' 'libpq is called only by the PostgreSQL backend' '^src/core/store/store_pg\.c:'
rule src/core/gateway 'core/openresponses/|curl/' 'gateway never includes openresponses or libcurl'
rule src/core/openresponses 'core/gateway/' 'openresponses never includes gateway'
rule src/core "cli/|tui/|server/|$face_libs" 'the core includes no face and no face library'
rule src/cli "tui/|server/|$face_libs" 'the flags include no console or server code and no face library' '"server/srv_config\.h"'
[ "$bad" -eq 0 ] || exit 1
echo "check-layers: ok"
