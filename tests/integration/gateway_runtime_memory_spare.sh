#!/usr/bin/env bash
# gateway_runtime_memory_spare: a runner cycle replaces each touched actor's
# MEMORY.md through its spare (.MEMORY.md.spare beside it: overwritten in
# place, synced, then exchanged with MEMORY.md by renameat2 RENAME_EXCHANGE).
#  - a first cycle leaves an empty spare beside each new MEMORY.md; the next
#    cycle's exchange leaves the previous MEMORY.md (its very inode) in the
#    spare; no temp file is left; every MEMORY.md is the reference render
#    (lib/records.py --memory);
#  - nothing reads a spare: channel-store inspect prints the same with a
#    spare full of garbage;
#  - kill -9 during the spare's write (strace: SIGKILL on entering the
#    ftruncate that ends it, the spare holding the new text and a torn
#    tail) and at the first exchange: every MEMORY.md is byte for byte what
#    it was; the rerun completes and every MEMORY.md is the reference render;
#  - an exchange the kernel refuses (strace injects EINVAL into renameat2,
#    as a file system without RENAME_EXCHANGE answers): the cycle still
#    replaces every MEMORY.md (the spare renamed over it), and the next
#    cycle, allowed to exchange, makes a new spare and exchanges it.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"

command -v strace >/dev/null || { t_fail "strace is needed (scripts/setup.sh installs it)"; t_done; exit 1; }
G=$TAU_SOURCE_DIR/bench/gen_fixture.py
R=$TAU_SOURCE_DIR/tests/integration/lib/records.py
python3 "$G" 400 "$T/k1.json" --actors 4 --malformed-every 0 --name k1
python3 "$G" 40 "$T/k2.json" --actors 4 --malformed-every 0 --first 400 --name k2
python3 "$G" 40 "$T/k3.json" --actors 4 --malformed-every 0 --first 440 --name k3
python3 "$G" 40 "$T/k4.json" --actors 4 --malformed-every 0 --first 480 --name k4

cycle() { "$TAU_BIN" --gateway-contract-runner --gateway-fixture "$1" --gateway-state-dir "$2" \
	--gateway-queue-limit 10000 --gateway-processed-case-cap 100000 >/dev/null 2>>"$T/err"; }
# mismatches DIR: how many actors' MEMORY.md differ from the reference render
mismatches() {
	python3 "$R" --memory-check "$1"
}
# memories DIR: the checksums of every MEMORY.md
memories() { (cd "$1/channel-store/gateway" && md5sum */MEMORY.md); }
A=channel-store/gateway/actor-0000

# ---- the exchange ---------------------------------------------------------------
B=$T/base
cycle "$T/k1.json" "$B"
t_eq "first cycle: 4 MEMORY.md, each the reference render" "4 0" \
	"$(find "$B/channel-store" -name MEMORY.md | wc -l) $(mismatches "$B")"
t_eq "... and beside each an empty spare" "4 4" \
	"$(find "$B/channel-store" -name .MEMORY.md.spare | wc -l) $(find "$B/channel-store" -name .MEMORY.md.spare -empty | wc -l)"
cp "$B/$A/MEMORY.md" "$T/before.md"
ino_mem=$(stat -c %i "$B/$A/MEMORY.md")
ino_spare=$(stat -c %i "$B/$A/.MEMORY.md.spare")
cycle "$T/k2.json" "$B"
t_eq "second cycle: every MEMORY.md the reference render" "0" "$(mismatches "$B")"
t_check "... the spare holds the previous MEMORY.md" cmp -s "$T/before.md" "$B/$A/.MEMORY.md.spare"
t_eq "... exchanged, both inodes kept (MEMORY.md is the old spare)" "$ino_spare $ino_mem" \
	"$(stat -c %i "$B/$A/MEMORY.md") $(stat -c %i "$B/$A/.MEMORY.md.spare")"
t_eq "... no temp file left" "" "$(find "$B" -name '.*.tmp-*')"

# ---- nothing reads a spare ----------------------------------------------------------
C=$T/garbage
cp -a "$B" "$C"
inspect() { "$TAU_BIN" --gateway-state-dir "$1" --channel-store-root "$1/channel-store" \
	--channel-store-inspect gateway/actor-0000 2>&1 | sed "s#$1/#PLACE/#g"; }
want=$(inspect "$B")
head -c 300000 /dev/zero | tr '\0' 'x' >"$C/$A/.MEMORY.md.spare"
t_eq "channel-store inspect: the same with a spare full of garbage" "$want" "$(inspect "$C")"
t_match "... (it reports MEMORY.md)" "memory" "$want"

# ---- kill -9 ---------------------------------------------------------------------
# point NAME SYSCALL FILE: runs k3 on a copy of the base whose spares hold
# a torn 300 KB of garbage (longer than any MEMORY.md, so the write ends in
# an ftruncate), killed on entering the first SYSCALL naming FILE (found by
# tracing the same cycle on another copy: its calls come in a fixed order).
point() {
	local name=$1 sc=$2 file=$3 d=$T/point-$1 n f
	rm -rf "$d" "$d-trace"
	cp -a "$B" "$d"
	for f in "$d"/channel-store/gateway/*/.MEMORY.md.spare; do
		head -c 300000 /dev/zero | tr '\0' 'x' >"$f"
	done
	cp -a "$d" "$d-trace"
	strace -f -qq -y -o "$T/trace" -e trace="$sc" \
		"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/k3.json" --gateway-state-dir "$d-trace" \
		--gateway-queue-limit 10000 --gateway-processed-case-cap 100000 >/dev/null 2>&1
	n=$(grep -v -e '^[0-9]* +++' -e '^[0-9]* ---' "$T/trace" | grep -n -m 1 -E "(, |\(|<)\"?$d-trace/$file(\"[,)]|>)" | cut -d: -f1)
	t_match "$name: the cycle makes that call" '^[0-9]+$' "$n"
	local was
	was=$(memories "$d")
	strace -f -qq -o /dev/null -e inject="$sc":signal=KILL:when="${n:-1}" \
		"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/k3.json" --gateway-state-dir "$d" \
		--gateway-queue-limit 10000 --gateway-processed-case-cap 100000 >/dev/null 2>&1
	t_eq "$name: killed there" "137" "$?"
	t_eq "$name: every MEMORY.md is whole, as it was" "$was" "$(memories "$d")"
	if [ "$sc" = ftruncate ]; then
		t_eq "$name: the kill left the spare torn (the new text, then garbage)" \
			"# Tau Gateway Snapshot (|x" \
			"$(head -c 24 "$d/$A/.MEMORY.md.spare")|$(tail -c 1 "$d/$A/.MEMORY.md.spare")"
	fi
	"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/k3.json" --gateway-state-dir "$d" \
		--gateway-queue-limit 10000 --gateway-processed-case-cap 100000 >/dev/null 2>"$T/rerun.err"
	t_eq "$name: the rerun completes" "0" "$?"
	t_contains "$name: ... undoing the killed cycle's appends" "undid the channel-store appends" \
		"$(cat "$T/rerun.err")"
	t_eq "$name: every MEMORY.md the reference render" "0" "$(mismatches "$d")"
	t_eq "$name: no temp file left" "" "$(find "$d" -name '.*.tmp-*')"
}
point spare-write ftruncate "$A/.MEMORY.md.spare"
point exchange renameat2 "$A/MEMORY.md"

# ---- an exchange refused ---------------------------------------------------------------
X=$T/refused
cp -a "$B" "$X"
ino_spare=$(stat -c %i "$X/$A/.MEMORY.md.spare")
# (LeakSanitizer cannot stop a traced process: under ASan the leak check is
# left to the other runs)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -qq -o "$T/refused-trace" -e trace=renameat2 -e inject=renameat2:error=EINVAL \
	"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/k3.json" --gateway-state-dir "$X" \
	--gateway-queue-limit 10000 --gateway-processed-case-cap 100000 >/dev/null 2>>"$T/err"
t_eq "refused: the cycle completes" "0" "$?"
t_eq "... the exchange was tried and refused for each actor" "4" "$(grep -c 'RENAME_EXCHANGE.*EINVAL' "$T/refused-trace")"
t_eq "... every MEMORY.md the reference render" "0" "$(mismatches "$X")"
t_eq "... MEMORY.md is the spare renamed over it, no spare left" "$ino_spare 0" \
	"$(stat -c %i "$X/$A/MEMORY.md") $(find "$X/channel-store" -name .MEMORY.md.spare | wc -l)"
t_eq "... no temp file left" "" "$(find "$X" -name '.*.tmp-*')"
ino_mem=$(stat -c %i "$X/$A/MEMORY.md")
cycle "$T/k4.json" "$X"
t_eq "the next cycle, allowed: every MEMORY.md the reference render" "0" "$(mismatches "$X")"
t_eq "... a new spare, exchanged (it holds the old MEMORY.md's inode)" "$ino_mem" \
	"$(stat -c %i "$X/$A/.MEMORY.md.spare")"
t_eq "no errors on stderr" "" "$(cat "$T/err")"
t_done
