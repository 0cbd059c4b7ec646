# shellcheck shell=bash
# bench/lib.sh - what the HTTP benches share: starting a tau-gateway
# server and reading its address, so each bench does not carry its own copy.
#
#   bench_gw_start NAME STATE [flags...]
#       starts "$BIN" as an openresponses server (local/echo unless flags
#       say otherwise) on 127.0.0.1:0 with bearer token $TOKEN and the
#       connection caps raised to 1024; STATE is a state directory, or a
#       postgresql:// URL (fleet mode, --gateway-state-url).  Its output
#       goes to $W/NAME.out and $W/NAME.err.  Waits for the "listening:"
#       line (the server's readiness signal), then sets NAME_PID and
#       NAME_ADDR (host:port) and appends the PID to the array PIDS, which
#       the caller's EXIT trap kills.  Returns 1 (with the server's last
#       words on stderr) when the server exits or says nothing for 10 s.
#   bench_routes_echo FILE
#       writes a routes file whose default route is local/echo among four
#       (two openai targets on a port nothing serves, never asked), for
#       the routes lookup's price on local/echo
#   bench_pg_settings URL
#       one line naming the PostgreSQL settings that decide a commit's cost
#       (version, synchronous_commit, fsync, wal_sync_method, commit_delay,
#       full_page_writes, shared_buffers, max_connections), so a figure is
#       never read without them.

bench_gw_start() {
	local name=$1 state=$2 i addr= pid
	shift 2
	local where=(--gateway-state-dir "$state")
	case $state in
	postgres://* | postgresql://*) where=(--gateway-state-url "$state") ;;
	esac
	# BENCH_GW_CPUS=LIST: the server runs on those CPUs alone (taskset; it
	# keeps one event loop per core online, all on those CPUs)
	local pin=()
	[ -n "${BENCH_GW_CPUS:-}" ] && pin=(taskset -c "$BENCH_GW_CPUS")
	OPENAI_API_KEY=bench "${pin[@]}" "$BIN" "${where[@]}" --gateway-openresponses-server \
		--gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token "$TOKEN" \
		--gateway-openresponses-max-connections 1024 --gateway-openresponses-max-connections-per-ip 1024 \
		"$@" >"$W/$name.out" 2>"$W/$name.err" &
	pid=$!
	PIDS+=("$pid")
	for ((i = 0; i < 1000; i++)); do
		# `|| true`: the shell may not have made NAME.out yet, and under
		# set -e sed's failure there would end the caller
		addr=$(sed -n 's/^gateway openresponses server listening: .* addr=\([^ ]*\) .*/\1/p' "$W/$name.out" 2>/dev/null || true)
		[ -n "$addr" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	if [ -z "$addr" ]; then
		echo "bench: $name did not start: $(tail -c 400 "$W/$name.err" | tr '\n' ' ')" >&2
		return 1
	fi
	printf -v "${name}_PID" '%s' "$pid"
	printf -v "${name}_ADDR" '%s' "$addr"
}

bench_pg_settings() {
	local s
	s=$(pg_sql "$1" "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
		FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'wal_sync_method',
		'commit_delay', 'full_page_writes', 'shared_buffers', 'max_connections', 'wal_level')")
	echo "PostgreSQL $(pg_sql "$1" 'SHOW server_version') (initdb defaults, Unix socket): $s"
}

bench_routes_echo() {
	cat >"$1" <<'EOF'
{"version": 1, "default": "echo",
 "routes": [
  {"model": "smart", "aliases": ["best"], "targets": [
    {"provider": "openai", "model": "gpt-4o-mini", "base_url": "http://127.0.0.1:9/v1"}]},
  {"model": "echo", "aliases": ["local-echo"], "targets": [{"provider": "local"}]},
  {"model": "cheap", "targets": [{"provider": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"}]},
  {"model": "other", "targets": [{"provider": "local"}]}]}
EOF
}
