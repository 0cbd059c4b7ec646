# shellcheck shell=bash
# tests/integration/lib/diskfull.sh - a small file system to fill, for the
# disk-full tests.  Source it after tests/lib.sh.
#   df_mount SIZE   mounts a tmpfs of SIZE at $MNT ($T/mnt).  Where mounting
#                   is refused (not root) the test says so and exits 0.  On
#                   exit the processes t_spawn started are stopped first
#                   (they hold files on the mount), then the mount goes,
#                   then $T.
#   df_fill         fills the mount to its last block
#   df_jsonl_ok F   prints "ok" when F ends in a newline and every line is
#                   JSON, else why not
MNT=$T/mnt

df_cleanup() {
	local pid
	for pid in "${T_PIDS[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	umount "$MNT" 2>/dev/null
	t_cleanup
}

df_mount() {
	mkdir -p "$MNT"
	if ! mount -t tmpfs -o size="$1" tmpfs "$MNT" 2>"$T/mount.err"; then
		echo "# skipped: cannot mount a tmpfs here ($(cat "$T/mount.err"))"
		exit 0
	fi
	trap df_cleanup EXIT
}

df_fill() { dd if=/dev/zero of="$MNT/filler" bs=4k 2>/dev/null; }

df_jsonl_ok() {
	python3 -c '
import json, sys
data = open(sys.argv[1]).read()
assert data.endswith("\n"), "no final newline"
for line in data.splitlines():
    json.loads(line)
print("ok")' "$1" 2>&1
}
