#!/usr/bin/env bash
# build_clang: the project configures and builds with clang and
# -DTAU_WERROR=ON, so a GCC-only flag or a warning only clang gives breaks
# the suite even when it runs with gcc.  The build goes into a temp dir
# (unit tests off, to save time); the test fails when clang is missing
# (scripts/setup.sh installs it).  4-8 s on a 2-core machine.
. "$(dirname "$0")/../lib.sh"

CLANG=${TAU_CLANG:-clang}
if ! command -v "$CLANG" >/dev/null 2>&1; then
	t_fail "clang not found (scripts/setup.sh test installs the Debian package clang)"
	t_done
	exit 1
fi

if CC=$CLANG cmake -S "$TAU_SOURCE_DIR" -B "$T/build" -DTAU_WERROR=ON -DTAU_BUILD_TESTS=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$T/configure.log" 2>&1; then
	t_ok "configure with clang"
else
	t_fail "configure with clang"
	tail -20 "$T/configure.log" >&2
fi
t_eq "the compiler is clang" 'set(CMAKE_C_COMPILER_ID "Clang")' \
	"$(grep -h 'set(CMAKE_C_COMPILER_ID ' "$T/build/CMakeFiles"/*/CMakeCCompiler.cmake 2>/dev/null)"

if cmake --build "$T/build" -j"$(nproc)" >"$T/build.log" 2>&1; then
	t_ok "build with clang -Werror"
else
	t_fail "build with clang -Werror; the first errors:"
	grep -m 20 -E 'error|warning' "$T/build.log" >&2
fi
t_eq "no warnings" "" "$(grep -E 'warning:' "$T/build.log")"
t_match "the binary runs" '^tau-gateway ' "$("$T/build/tau-gateway" --version 2>&1 | head -1)"
t_done
