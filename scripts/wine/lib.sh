# Shared by scripts/wine/prefix and scripts/wine/exec (sourced, not run): the
# one definition of the environment every Wine process of the Windows test
# phase runs in.

# wine_env DIR sets the environment for the prefix made in DIR.
wine_env() {
	export WINEPREFIX="$1/prefix"
	# wineboot links the Windows profile's Desktop, Documents ... to $HOME, so
	# Wine gets a throwaway home: a test writing to its Windows profile must
	# never write into the real one.
	export HOME="$1/home"
	export WINEDEBUG=${WINEDEBUG:--all}
	# No Mono or Gecko installer (it would try to download one), and no
	# winemenubuilder (it would write desktop entries and MIME handlers for
	# whatever protocol a test registers).
	export WINEDLLOVERRIDES='mscoree,mshtml=;winemenubuilder.exe=d'
	# Wine's null display driver serves console programs; an inherited
	# DISPLAY would put windows on a developer's screen.
	unset DISPLAY WAYLAND_DISPLAY
}

# find_wine64 prints the path of Debian's wine64 loader (not on PATH there);
# wineserver sits beside it.
find_wine64() {
	local w
	for w in "$(command -v wine64 || true)" /usr/lib/wine/wine64; do
		if [ -n "$w" ] && [ -x "$w" ]; then
			echo "$w"
			return 0
		fi
	done
	echo "wine64 not found; install it: apt-get install wine64" >&2
	return 1
}

# wine_shell_open URL opens URL the way a browser hands a link to Windows:
# through the shell's protocol association (Wine's start.exe calls
# ShellExecuteEx, which runs the registered command with %1 replaced), and
# waits for that command. Its exit status is the command's, or 124 after
# 120 s. Run it after wine_env; the prefix's ready file names the loader.
# scripts/test-msi.sh and scripts/wine/test-open.sh both open links this way.
wine_shell_open() {
	timeout --kill-after=10 120 "$(cat "$(dirname "$WINEPREFIX")/ready")" start /wait "$1" </dev/null
}
