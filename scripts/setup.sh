#!/usr/bin/env bash
# scripts/setup.sh - shared set-up for scripts/run and scripts/test.
#
#   tau_setup build|test|bench   install what is missing (apt-get), nothing else
#   tau_build DIR [cmake args]   configure and build into DIR
#
# Only missing packages are installed, and the script says which.  Not root:
# sudo when available, otherwise the exact apt-get line is printed.
set -euo pipefail

TAU_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

TAU_PKGS_BUILD="cmake gcc make pkg-config libncurses-dev libmicrohttpd-dev libcjson-dev libcurl4-openssl-dev libreadline-dev libcmocka-dev libjemalloc-dev libpq-dev libwslay-dev"
# tests: tmux drives the console, curl, jq and python3 (upstream stub) the HTTP
# tests, chromium + node the webchat test; procps/time/util-linux for ps,
# /usr/bin/time and unshare; clang for build_clang (and CC=clang scripts/test),
# libclang-rt-14-dev for its libFuzzer and sanitizer runtimes (build_fuzz);
# mandoc for build_manlint (mandoc -Tlint on the man page); postgresql
# (server and psql) for the throwaway cluster of the fleet tests
# (tests/integration/lib/pg.sh; libpq-dev is a build package); strace for
# gateway_runtime_store_crash (kills a runner on entering one syscall) and
# http_chain_offloop (which thread reads stored responses).
TAU_PKGS_TEST="tmux curl jq python3 chromium procps time util-linux ncurses-bin clang libclang-rt-14-dev mandoc postgresql strace"
TAU_PKGS_BENCH="wrk nginx-light iproute2 linux-perf"

tau_missing() {
	local p missing=()
	for p in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
			missing+=("$p")
		fi
	done
	echo "${missing[@]:-}"
}

tau_apt() {
	local pkgs=$1
	[ -n "$pkgs" ] || return 0
	echo "tau-gateway setup: installing missing packages: $pkgs" >&2
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo=(sudo)
		else
			echo "tau-gateway setup: not root and no sudo; run as root:" >&2
			echo "  apt-get update && apt-get install -y $pkgs" >&2
			exit 1
		fi
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# shellcheck disable=SC2086
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >&2
}

tau_setup() {
	local what=${1:-build} pkgs=$TAU_PKGS_BUILD
	case $what in
	test) pkgs="$pkgs $TAU_PKGS_TEST" ;;
	bench) pkgs="$pkgs $TAU_PKGS_TEST $TAU_PKGS_BENCH" ;;
	esac
	local missing
	missing=$(tau_missing $pkgs)
	# node and npm: accept any installed node (e.g. nodesource); else Debian's
	if [ "$what" != build ] && ! { command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; }; then
		missing="$missing nodejs npm"
	fi
	tau_apt "$(echo $missing)"
}

tau_build() {
	local dir=$1
	shift
	cmake -S "$TAU_ROOT" -B "$dir" "$@" >/dev/null
	cmake --build "$dir" -j"$(nproc)"
}
