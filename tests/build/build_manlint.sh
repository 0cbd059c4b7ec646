#!/usr/bin/env bash
# build_manlint: `mandoc -Tlint` reports nothing for man/tau-gateway.1 (not
# even STYLE notes such as a text line over 80 bytes) and exits 0.  Its .Xr
# check looks the referenced pages up on this machine: a page that is not
# installed is a STYLE report (and fails this test); one that is installed
# but missing from mandoc.db, which Debian (man-db) does not build, gives a
# note without a file or line ("outdated mandoc.db lacks ps(1) entry, run
# makewhatis"), which is about the machine's database and is dropped here.
# A copy of the page with known faults must be reported, so the check can
# fail.  The test fails when mandoc is missing (scripts/setup.sh test
# installs the Debian package mandoc).
. "$(dirname "$0")/../lib.sh"

PAGE=$TAU_SOURCE_DIR/man/tau-gateway.1
if ! command -v mandoc >/dev/null 2>&1; then
	t_fail "mandoc not found (scripts/setup.sh test installs the Debian package mandoc)"
	t_done
	exit 1
fi
# lint PAGE: mandoc's exit status; its reports, less the database notes, in $T/lint.out
lint() {
	local st=0
	mandoc -Tlint "$1" >"$T/lint.raw" 2>&1 || st=$?
	grep -Ev '^mandoc: outdated mandoc\.db lacks [^ ]+ entry, run makewhatis ' "$T/lint.raw" >"$T/lint.out"
	return "$st"
}

if lint "$PAGE"; then st=0; else st=$?; fi
t_eq "mandoc -Tlint exits 0" 0 "$st"
t_eq "mandoc -Tlint reports nothing" "" "$(sed "s|$TAU_SOURCE_DIR/||" "$T/lint.out")"

# the failing branch: copies of the page with one known fault each (mandoc
# leaves out STYLE notes once a page has an ERROR, so one fault per copy)
# faulty NAME LINE NEEDLE: LINE appended to a copy is reported as NEEDLE
faulty() {
	local st=0
	{ cat "$PAGE"; printf '%s\n' "$2"; } >"$T/bad.1"
	lint "$T/bad.1" || st=$?
	t_eq "$1: mandoc -Tlint exits non-zero" 1 "$([ "$st" -ne 0 ] && echo 1 || echo 0)"
	t_contains "$1: reported" "$3" "$(cat "$T/lint.out")"
}
faulty "a text line over 80 bytes" "$(printf 'word %.0s' {1..20})" "STYLE: input text line longer than 80 bytes"
faulty "an unknown macro" ".Zz bogus" "unknown macro: .Zz"
faulty "a reference to a page that is not installed" ".Xr no-such-page-tau 7" \
	"referenced manual not found: Xr no-such-page-tau 7"
t_done
