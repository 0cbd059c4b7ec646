# tests/lib.sh - shared helpers for the shell tests.  Source it first.
#
#   TAU_BIN        the tau-gateway binary (set by ctest; defaults to build/)
#   t_tmpdir       a fresh temp dir, removed on exit
#   t_spawn VAR cmd...   start a background process, remember its PID in VAR
#                  and in the cleanup list; stdout/stderr go to $T/<VAR>.out/.err
#   t_wait_line FILE REGEX [SECS]   wait (polling the file, bounded) for a line
#   t_ok / t_fail / t_eq / t_match / t_contains   assertions that count
#   t_check NAME cmd...   t_ok NAME when cmd succeeds, t_fail NAME when it
#                  fails (for waits: t_check "x" t_wait_line F RE, never a
#                  bare `wait && t_ok`, which cannot fail)
#   t_done         prints "N passed, N failed" and exits non-zero on failure
# Every process started with t_spawn is killed by PID on exit.  Then any
# sanitizer report that a process (started with t_spawn or not) wrote into
# a file under $T fails the test, so a sanitizer build (scripts/test
# --sanitize / --tsan) checks the servers and tools a test runs, not just
# its own assertions.
set -u
TAU_SOURCE_DIR=${TAU_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
TAU_BIN=${TAU_BIN:-$TAU_SOURCE_DIR/build/tau-gateway}
FIXTURES=$TAU_SOURCE_DIR/fixtures/gateway-contract
T=$(mktemp -d "${TMPDIR:-/tmp}/tau-test.XXXXXX")
T_PIDS=()
T_PASS=0
T_FAIL=0

T_SANITIZER_RE='ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|SUMMARY: UndefinedBehaviorSanitizer'
t_cleanup() {
	local pid f bad=0
	for pid in "${T_PIDS[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	while IFS= read -r f; do
		echo "not ok - sanitizer report in ${f#"$T"/}:" >&2
		grep -m 5 -E -A 3 "$T_SANITIZER_RE" "$f" >&2
		bad=1
	done < <(grep -rlE "$T_SANITIZER_RE" "$T" 2>/dev/null)
	rm -rf "$T"
	[ "$bad" -eq 0 ] || exit 1
}
trap t_cleanup EXIT

t_spawn() {
	local var=$1
	shift
	"$@" >"$T/$var.out" 2>"$T/$var.err" &
	local pid=$!
	T_PIDS+=("$pid")
	printf -v "$var" '%s' "$pid"
}

t_wait_line() {
	local file=$1 re=$2 secs=${3:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		if [ -f "$file" ] && grep -Eq -- "$re" "$file"; then
			return 0
		fi
		sleep 0.05
	done
	echo "timed out after ${secs}s waiting for /$re/ in $file" >&2
	[ -f "$file" ] && tail -5 "$file" >&2
	return 1
}

# t_settled WANT CMD...: CMD's output once it equals WANT, or what it is
# after 5 s (for what another thread of the server writes just after the
# answer, such as its event-log lines); the caller compares it with WANT
t_settled() {
	local want=$1 got i
	shift
	for ((i = 0; i < 250; i++)); do
		got=$("$@")
		[ "$got" = "$want" ] && break
		sleep 0.02
	done
	printf '%s' "$got"
}

t_ok() { T_PASS=$((T_PASS + 1)); echo "ok - $1"; }
t_fail() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $1" >&2; }
# t_eq NAME EXPECTED ACTUAL
t_eq() {
	if [ "$2" == "$3" ]; then t_ok "$1"; else t_fail "$1: expected [$2] got [$3]"; fi
}
# t_match NAME REGEX TEXT
t_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then t_ok "$1"; else t_fail "$1: /$2/ not in [$3]"; fi
}
# t_contains NAME NEEDLE TEXT
t_contains() {
	case "$3" in *"$2"*) t_ok "$1" ;; *) t_fail "$1: [$2] not in [$3]" ;; esac
}
# t_check NAME CMD...: the assertion is that CMD exits 0
t_check() {
	local name=$1
	shift
	if "$@"; then t_ok "$name"; else t_fail "$name"; fi
}
t_done() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}
