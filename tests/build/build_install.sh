#!/usr/bin/env bash
# build_install: `cmake --install BUILD --prefix P` puts tau-gateway, the
# tau-coding-agent alias, the man page and the bash completion (with its
# tau-coding-agent link) under P and nowhere else; the alias is a relative
# symlink (tau-coding-agent -> tau-gateway) that runs.  The
# same with DESTDIR (staged under $DESTDIR/P, nothing in P itself).  The
# prefix the build was configured with is left alone.  Installs from
# $TAU_BUILD_DIR (which gets its install_manifest.txt, as any install does).
. "$(dirname "$0")/../lib.sh"

B=${TAU_BUILD_DIR:-$TAU_SOURCE_DIR/build}
cache() { sed -n "s/^$1:[A-Z]*=//p" "$B/CMakeCache.txt"; }
CFG_PREFIX=$(cache CMAKE_INSTALL_PREFIX)
BINDIR=$(cache CMAKE_INSTALL_BINDIR)
MANDIR=$(cache CMAKE_INSTALL_MANDIR)
BINDIR=${BINDIR:-bin}
MANDIR=${MANDIR:-share/man}
DATADIR=$(cache CMAKE_INSTALL_DATADIR)
COMPDIR=${DATADIR:-share}/bash-completion/completions
EXPECTED=$(printf '%s\n' "$BINDIR/tau-coding-agent" "$BINDIR/tau-gateway" "$MANDIR/man1/tau-gateway.1" \
	"$COMPDIR/tau-gateway" "$COMPDIR/tau-coding-agent" | sort)

# installed_files ROOT: every file and link under ROOT, relative, sorted
installed_files() { (cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort); }

# check_alias NAME DIR: DIR/tau-coding-agent is a relative link to
# tau-gateway next to it, and it runs
check_alias() {
	local name=$1 dir=$2
	t_eq "$name: tau-coding-agent is a symlink" "yes" "$([ -L "$dir/tau-coding-agent" ] && echo yes || echo no)"
	t_eq "$name: the link is relative, to tau-gateway" "tau-gateway" "$(readlink "$dir/tau-coding-agent")"
	t_eq "$name: tau-gateway is an executable file" "yes" \
		"$([ -f "$dir/tau-gateway" ] && [ ! -L "$dir/tau-gateway" ] && [ -x "$dir/tau-gateway" ] && echo yes || echo no)"
	t_match "$name: tau-coding-agent --version runs" '^tau-gateway [0-9]' \
		"$("$dir/tau-coding-agent" --version 2>&1 | head -1)"
}

# configured_prefix_untouched NAME: none of our files in the configure-time
# prefix is newer than the marker made before the install
configured_prefix_untouched() {
	local f newer=""
	for f in $EXPECTED; do
		if [ -e "$CFG_PREFIX/$f" ] || [ -L "$CFG_PREFIX/$f" ]; then
			[ -n "$(find "$CFG_PREFIX/$f" -maxdepth 0 -newer "$T/marker")" ] && newer="$newer $CFG_PREFIX/$f"
		fi
	done
	t_eq "$1: nothing written to the configured prefix $CFG_PREFIX" "" "$newer"
}

# --- --prefix ---------------------------------------------------------------------
P=$T/prefix
touch "$T/marker"
if cmake --install "$B" --prefix "$P" >"$T/install.log" 2>&1; then
	t_ok "prefix: install"
else
	t_fail "prefix: install"
	cat "$T/install.log" >&2
fi
check_alias prefix "$P/$BINDIR"
t_eq "prefix: the completion is the contrib script" "" \
	"$(cmp "$TAU_SOURCE_DIR/contrib/completion/tau-gateway.bash" "$P/$COMPDIR/tau-gateway" 2>&1)"
t_eq "prefix: the alias's completion is a relative link to it" "tau-gateway" \
	"$(readlink "$P/$COMPDIR/tau-coding-agent")"
t_eq "prefix: exactly our files under the prefix" "$EXPECTED" "$(installed_files "$P")"
t_eq "prefix: the manifest lists only files under the prefix" "" \
	"$(grep -v "^$P/" "$B/install_manifest.txt")"
t_contains "prefix: the manifest lists the alias" "$P/$BINDIR/tau-coding-agent" "$(cat "$B/install_manifest.txt")"
configured_prefix_untouched prefix

# --- DESTDIR ----------------------------------------------------------------------
D=$T/dest
STAGED=/opt/tau-gateway-install-test-$$
touch "$T/marker"
if DESTDIR=$D cmake --install "$B" --prefix "$STAGED" >"$T/install-destdir.log" 2>&1; then
	t_ok "DESTDIR: install"
else
	t_fail "DESTDIR: install"
	cat "$T/install-destdir.log" >&2
fi
check_alias DESTDIR "$D$STAGED/$BINDIR"
t_eq "DESTDIR: exactly our files under DESTDIR, all under the prefix" \
	"$(printf '%s\n' "$EXPECTED" | sed "s|^|${STAGED#/}/|")" "$(installed_files "$D")"
t_eq "DESTDIR: nothing in the prefix itself" "no" "$([ -e "$STAGED" ] && echo yes || echo no)"
configured_prefix_untouched DESTDIR
rm -rf "$STAGED" 2>/dev/null

t_done
