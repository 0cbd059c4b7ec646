#!/usr/bin/env bash
# build_deps: every library our targets link comes from its pkg-config file
# as a PkgConfig:: imported target (besides Threads::Threads and libm), GNU
# readline included, except wslay, whose Debian package ships a CMake
# package and no pkg-config file (its imported target wslay, linked by the
# server alone): configure (no build) into a temp dir with CMake's
# --graphviz dependency graph and check its edges, and that the readline
# found is the one `pkg-config --modversion readline` names.
. "$(dirname "$0")/../lib.sh"

if cmake -S "$TAU_SOURCE_DIR" -B "$T/build" -DTAU_BUILD_TESTS=OFF \
	--graphviz="$T/dot/deps.dot" >"$T/configure.log" 2>&1; then
	t_ok "configure"
else
	t_fail "configure"
	tail -20 "$T/configure.log" >&2
fi

# The graph writes each edge as a comment "// FROM -> TO"; keep the edges
# that leave one of our targets (tau*).
edges=$(sed -n 's|.*// \(tau[^ ]*\) -> \(.*\)$|\1 -> \2|p' "$T/dot/deps.dot" 2>/dev/null)
t_match "the graph has our edges" '^tau-gateway -> ' "$edges"
t_eq "our targets link libraries only through imported targets" "" \
	"$(printf '%s\n' "$edges" | awk '$3 !~ /^(tau|PkgConfig::|Threads::Threads$|m$|wslay$)/')"
t_eq "wslay (its CMake package's target) is linked by the server alone" "tauserver -> wslay" \
	"$(printf '%s\n' "$edges" | grep -- '-> wslay$')"
t_match "libpq is linked as PkgConfig::PQ, by the store alone" '^taustore -> PkgConfig::PQ$' "$edges"
t_eq "no other target links libpq directly" "" "$(printf '%s\n' "$edges" | grep -- '-> PkgConfig::PQ$' | grep -v '^taustore ')"
t_match "readline is linked as PkgConfig::READLINE" '^tau[^ ]* -> PkgConfig::READLINE$' "$edges"
t_eq "the readline that pkg-config names" "$(pkg-config --modversion readline)" \
	"$(sed -n 's/^READLINE_VERSION:INTERNAL=//p' "$T/build/CMakeCache.txt")"
t_contains "the configure log says so" "Found readline, version $(pkg-config --modversion readline)" \
	"$(cat "$T/configure.log")"
t_done
