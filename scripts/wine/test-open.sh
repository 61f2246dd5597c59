#!/usr/bin/env bash
# A trustlaunch:// link opened the way a browser on Windows opens it, end to
# end under Wine: the test build (-tags wineprefix, so that the
# admin-file and system-handler checks accept the prefix's owner) is put in
# C:\Program Files\trustlaunch and registered with `register --system`
# (HKLM: Wine's ShellExecute does not read HKCU\Software\Classes), and each
# link goes through the shell's protocol association (wine_shell_open in
# lib.sh: start.exe, ShellExecuteEx, the registered command). A local HTTPS
# portal on 127.0.0.1 (portal.py, its certificate in the admin CA bundle
# ca.pem) logs every request, so each case says whether the descriptor was
# fetched:
#
#   admin-only list, another origin   exit 3, nothing fetched, audit
#                                     "admin-only-refused"
#   user-listed origin (admin list    exit 1: fetched, the local checks
#   in prompt mode)                   passed, then the proxy it names refuses
#                                     TCP; audit "user-listed", the
#                                     descriptor's session, step "tcp", and
#                                     the user told in a message box
#                                     ("told":"window": no console)
#   a link with a `"`                 ShellExecute splits "%1" into several
#                                     arguments; open refuses them (exit 2),
#                                     nothing fetched, nothing recorded
#   a malformed link                  exit 2, audit "launch-url"
#   a socks5:// HTTPS_PROXY           exit 2, audit "outbound-proxy", the
#                                     user told in a message box
#   an admin list that cannot be read exit 3, audit "admin-file-unsafe"
#     (a directory)
#   a prompt with no console to ask   = No: exit 3, audit "prompt-no"
#     on (Wine's start gives none)
#   a user list that cannot be read   one warning naming it and the fix,
#     (a directory; open run directly then asked: No (exit 3)
#     to read its stderr)
#   an admin policy that refuses      exit 3: fetched, then refused before
#     the descriptor's proxy          any connection; audit "refused-policy"
#   trustlaunch demo --yes, run       exit 0: the embedded portal, proxy and
#     directly                        host; audit "launched", demo marked
#   the demo again, Ctrl-C during     exit 130: audit "interrupted", demo
#     its session (SIGINT, which      marked
#     Wine hands the program as a
#     console's CTRL_C_EVENT)
#
# Each run that records a launch also reports it in the event log: Wine
# keeps no events, but its debug channels (advapi's fixme, eventlog's
# trace, warn and err) show the source, type, event ID and strings of each
# ReportEventW, and scripts/wine/eventcheck.py holds them to the audit
# record: one event, the documented ID and type of its decision, every
# field with the record's value, and no ticket or token. Between them the
# runs end in each of the six outcomes.
#
# A script rather than a Go test under Wine: the thing tested is the
# registry, start.exe and a separate trustlaunch.exe process started by the
# shell, which a test binary would have to build or impersonate; here the
# real binary runs as a browser would start it, and each case is three
# lines. Bounded: every Wine command under timeout, the portal under
# timeout 300 and killed at exit. It leaves the prefix as it found it (no
# key, no C:\Program Files\trustlaunch, no user files), which
# scripts/test-msi.sh, run after it in test.sh, checks.
#
#   scripts/wine/test-open.sh   uses $TRUSTLAUNCH_WINE when it names a prefix
#                               made by scripts/wine/prefix (test.sh shares
#                               its own), else makes one and stops it
#   TRUSTLAUNCH_OPEN_EXE=FILE   tests FILE instead of building the test build
#                               (how a broken build is shown to fail it)
#
# Needs: go, openssl, Debian's /usr/bin/python3, wine64, gcc-mingw-w64-x86-64. About 60 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
me=scripts/wine/test-open.sh
SECONDS=0
case ${1:-} in
'') ;;
-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
*) echo "$me: unknown argument $1 (see --help)" >&2; exit 2 ;;
esac
for tool in openssl /usr/bin/python3; do
	command -v "$tool" >/dev/null || { echo "$me: $tool not found: apt-get install $tool" >&2; exit 1; }
done

work=$(mktemp -d)
own_prefix=false
portal_pid=
PF= EXE=
cleanup() {
	[ -z "$portal_pid" ] || kill "$portal_pid" 2>/dev/null || true
	# The message boxes of the failed launches wait for a click that never
	# comes (or their timeout): close them with the program they run.
	[ -z "$EXE" ] || timeout 60 "$wine" taskkill /f /im trustlaunch.exe </dev/null >/dev/null 2>&1 || true
	if [ -n "$PF" ] && [ -f "$PF/trustlaunch.exe" ]; then
		timeout 60 "$wine" "$EXE" unregister --system </dev/null >/dev/null 2>&1 || true
	fi
	[ -z "$PF" ] || rm -rf "$PF" "$appdata/trustlaunch" "$localappdata/trustlaunch"
	if $own_prefix; then scripts/wine/prefix --stop "$TRUSTLAUNCH_WINE" || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "$me: FAIL: $*" >&2
	exit 1
}
ok() { echo "ok: $*"; }

if [ -z "${TRUSTLAUNCH_WINE:-}" ] || [ ! -f "$TRUSTLAUNCH_WINE/ready" ]; then
	export TRUSTLAUNCH_WINE=$work/wine
	own_prefix=true
	scripts/wine/prefix "$TRUSTLAUNCH_WINE"
fi
# Everything go builds is built before wine_env gives Wine a throwaway HOME.
if [ -n "${TRUSTLAUNCH_OPEN_EXE:-}" ]; then
	cp "$TRUSTLAUNCH_OPEN_EXE" "$work/trustlaunch.exe"
else
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -tags wineprefix -trimpath -o "$work/trustlaunch.exe" ./cmd/trustlaunch
fi
. scripts/wine/lib.sh
wine_env "$TRUSTLAUNCH_WINE"
wine=$(cat "$TRUSTLAUNCH_WINE/ready")
w() { timeout 120 "$wine" "$@" </dev/null; }
# The debug channels that show what ReportEventW was given.
EVENTDEBUG=-all,fixme+advapi,trace+eventlog,warn+eventlog,err+eventlog

drive_c=$WINEPREFIX/drive_c
user=$(w cmd /c echo %USERNAME% | tr -d '\r')
appdata=$drive_c/users/$user/AppData/Roaming
localappdata=$drive_c/users/$user/AppData/Local
[ ! -e "$drive_c/Program Files/trustlaunch" ] || fail "C:\\Program Files\\trustlaunch exists before the test"
[ ! -e "$appdata/trustlaunch" ] || fail "$appdata/trustlaunch exists before the test"
PF=$drive_c/Program\ Files/trustlaunch
EXE='C:\Program Files\trustlaunch\trustlaunch.exe'
mkdir -p "$PF"
cp "$work/trustlaunch.exe" "$PF/"

# The portal: a self-signed certificate for 127.0.0.1, trusted through the
# admin CA bundle; the port it listens on comes back on its stdout. The
# descriptor names the raw profile, which needs no emulator installed, so
# a launch gets as far as the tunnel.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$work/portal.key" -out "$work/portal.crt" 2>/dev/null
cp "$work/portal.crt" "$PF/ca.pem"
cat >"$work/descriptor.json" <<'EOF'
{"version": 1, "session": "Wine shell test", "profile": "raw",
 "proxy": {"address": "127.0.0.1:1", "transport": "connect"},
 "destination": {"host": "mainframe.example.com", "port": 23},
 "token": "tok-wine-shell-test-9f2c"}
EOF
: >"$work/requests"
exec {portal_out}< <(exec timeout 300 /usr/bin/python3 scripts/wine/portal.py "$work/portal.crt" "$work/portal.key" "$work/descriptor.json" "$work/requests")
portal_pid=$!
read -r -t 20 -u "$portal_out" port || fail "the portal did not start"
origin=https://127.0.0.1:$port
link() { printf 'trustlaunch://launch?url=https%%3A%%2F%%2F127.0.0.1%%3A%s%%2Fd%%3Fticket%%3D%s' "$port" "$1"; }

for args in "register --system" "register --check --system"; do
	rc=0
	# shellcheck disable=SC2086 # two words each, on purpose
	w "$EXE" $args >"$work/out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || { cat "$work/out" >&2; fail "$args exited $rc"; }
done
ok "the test build is registered under HKLM"

# records: how many audit records there are; last: the newest one.
records() { w "$EXE" log --json -n 1000 | tr -d '\r' | grep -c . || true; }
last() { w "$EXE" log --json -n 1 | tr -d '\r'; }
# expect_open NAME LINK CODE: the shell-opened LINK must exit with CODE.
expect_open() {
	local rc=0
	WINEDEBUG=$EVENTDEBUG wine_shell_open "$2" 2>"$work/events" || rc=$?
	[ "$rc" = "$3" ] || fail "$1: the shell-opened link exited $rc, want $3"
}
# expect_last NAME PATTERN...: the newest audit record must match each
# extended regular expression.
expect_last() {
	local name=$1 rec
	shift
	rec=$(last)
	for re in "$@"; do
		grep -Eq -- "$re" <<<"$rec" || { echo "$rec" >&2; fail "$name: the audit record does not match $re"; }
	done
	! grep -Eq 'tok-wine-shell-test|tkt-|demo-[0-9a-f]{32}' <<<"$rec" || { echo "$rec" >&2; fail "$name: the audit record holds the token or the ticket"; }
	/usr/bin/python3 scripts/wine/eventcheck.py "$work/events" "$rec" tok-wine-shell-test tkt- 'demo-[0-9a-f]{32}' || fail "$name: the event log"
}
fetched() { grep -c "GET /d?ticket=$1\$" "$work/requests" || true; }

# 1. An admin-only list that does not list the portal: refused before any
# request, whatever the user's list says.
mkdir -p "$appdata/trustlaunch"
printf '127.0.0.1:%s\r\n' "$port" >"$appdata/trustlaunch/whitelist.txt"
printf 'AllowAdminListOnly\r\nportal.example.com\r\n' >"$PF/whitelist.txt"
expect_open "admin-only" "$(link tkt-1)" 3
[ "$(fetched tkt-1)" = 0 ] || fail "admin-only: the descriptor was fetched from a refused origin"
expect_last "admin-only" "\"origin\":\"$origin\"" '"decision":"refused-whitelist"' '"step":"admin-only-refused"'
ok "admin-only list: $origin refused (exit 3) before any request, in the audit log"

# 2. The admin list in prompt mode, the portal in the user's list: the
# descriptor is fetched, the profile's program is found (the local checks
# come before the proxy sees the token), and its proxy (127.0.0.1:1)
# refuses TCP, exit 1. Started without a console, the launch tells the
# user in a message box of its own.
printf 'portal.example.com\r\n' >"$PF/whitelist.txt"
expect_open "user-listed" "$(link tkt-2)" 1
[ "$(fetched tkt-2)" = 1 ] || { cat "$work/requests" >&2; fail "user-listed: the descriptor was not fetched once"; }
expect_last "user-listed" "\"origin\":\"$origin\"" '"whitelist":"user-listed"' '"session":"Wine shell test"' \
	'"proxy":"127.0.0.1:1"' '"decision":"failed"' '"step":"tcp"' '"told":"window"'
ok "user-listed origin: descriptor fetched, the proxy's TCP step failed (exit 1), the user told in a message box, in the audit log"

# 3. A link with a `"`: the registered command is "EXE" open -- "%1", so
# ShellExecute ends the quoted argument there and the rest becomes more
# arguments; a launcher that took the first would let a page add flags.
n=$(records)
expect_open "quote" "$(link tkt-3)\" --user-whitelist C:\\x.txt" 2
[ "$(grep -c 'tkt-3' "$work/requests" || true)" = 0 ] || fail "quote: the descriptor was fetched"
[ "$(records)" = "$n" ] || { last >&2; fail "quote: a launch was recorded"; }
/usr/bin/python3 scripts/wine/eventcheck.py --none "$work/events" || fail "quote: an event was reported"
ok "a link with a \" (split into several arguments by ShellExecute): refused (exit 2), nothing fetched"

# 4. Bad input, as on Linux: one clear line (recorded), the right code.
expect_open "malformed" "trustlaunch://launch?url=https://127.0.0.1:$port/d?a=1&ticket=tkt-4" 2
expect_last "malformed" '"decision":"failed"' '"step":"launch-url"' 'unknown parameter \\"ticket\\"; only url is accepted'
[ "$(fetched tkt-4)" = 0 ] || fail "malformed: the descriptor was fetched"
ok "a malformed link (unencoded &): exit 2, in the audit log"

# An outbound proxy setting trustlaunch cannot use (a socks5:// HTTPS_PROXY,
# as a desktop session may set for every program): stopped before anything
# is asked or fetched, recorded, and the user told in a message box.
HTTPS_PROXY=socks5://proxy.corp.example:1080 expect_open "outbound" "$(link tkt-9)" 2
expect_last "outbound" '"decision":"failed"' '"step":"outbound-proxy"' 'proxy scheme \\"socks5\\" is not supported' '"told":"window"'
[ "$(fetched tkt-9)" = 0 ] || fail "outbound: the descriptor was fetched"
ok "an unusable outbound proxy setting (socks5:// HTTPS_PROXY): exit 2, the user told in a message box, in the audit log"

rm "$PF/whitelist.txt"
mkdir "$PF/whitelist.txt"
expect_open "admin list unreadable" "$(link tkt-5)" 3
expect_last "admin list unreadable" '"step":"admin-file-unsafe"' 'whitelist.txt: a directory, not a regular file'
rmdir "$PF/whitelist.txt"
ok "an admin list that cannot be read (a directory): exit 3 (fail closed), in the audit log"

# Nobody can answer the prompt: start.exe under Wine's null driver gives
# the console program no console to draw on, as a console closed before
# the answer would. That is No.
rm "$appdata/trustlaunch/whitelist.txt"
expect_open "no console" "$(link tkt-6)" 3
expect_last "no console" "\"origin\":\"$origin\"" '"decision":"refused-user"' '"step":"prompt-no"'
[ "$(fetched tkt-6)" = 0 ] || fail "no console: the descriptor was fetched"
[ ! -e "$appdata/trustlaunch/whitelist.txt" ] || fail "no console: the user list was written"
ok "a prompt nobody can answer: No (exit 3), nothing written, in the audit log"

# A user list that cannot be read (a directory): ignored with one warning
# naming it and the fix, never a launch without asking. Run directly, not
# through the shell, to read open's stderr (start.exe gives the program a
# console of its own, which nobody reads here); no console to ask on = No.
mkdir "$appdata/trustlaunch/whitelist.txt"
rc=0
w "$EXE" open -- "$(link tkt-7)" >"$work/out" 2>"$work/err" || rc=$?
tr -d '\r' <"$work/err" >"$work/err.txt"
[ "$rc" = 3 ] || { cat "$work/err.txt" >&2; fail "user list unreadable: open exited $rc, want 3"; }
grep -q '^trustlaunch: warning: ignoring your user list, so the servers in it will be asked about: C:\\users\\.*\\trustlaunch\\whitelist.txt: a directory, not a regular file.*; fix: replace ' "$work/err.txt" ||
	{ cat "$work/err.txt" >&2; fail "user list unreadable: no one-line warning naming the file and the fix"; }
grep -q '^trustlaunch: error: Launch refused: the trust prompt got no answer' "$work/err.txt" ||
	{ cat "$work/err.txt" >&2; fail "user list unreadable: the launch was not refused for want of an answer"; }
[ "$(grep -vc '^trustlaunch: ' "$work/err.txt" || true)" = 0 ] || { cat "$work/err.txt" >&2; fail "user list unreadable: stderr has lines that are not trustlaunch's one-line messages"; }
[ "$(fetched tkt-7)" = 0 ] || fail "user list unreadable: the descriptor was fetched"
rmdir "$appdata/trustlaunch/whitelist.txt"
ok "a user list that cannot be read (a directory): one warning naming it and the fix, then asked: No (exit 3)"

# An admin policy that lists no proxy: the descriptor is fetched from the
# user-listed portal and refused before any connection.
printf '127.0.0.1:%s\r\n' "$port" >"$appdata/trustlaunch/whitelist.txt"
printf 'proxies = []\r\n' >"$PF/policy.toml"
expect_open "policy" "$(link tkt-8)" 3
[ "$(fetched tkt-8)" = 1 ] || fail "policy: the descriptor was not fetched once"
expect_last "policy" "\"origin\":\"$origin\"" '"decision":"refused-policy"' '"step":"policy"' '"session":"Wine shell test"'
rm "$PF/policy.toml"
ok "an admin policy that lists no proxy: refused (exit 3) after the fetch, in the audit log and the event log"

# A launch that runs: the demo's embedded portal, proxy and host, its raw
# profile relaying a file to the line host. Run directly, as there is no
# link to open.
printf 'hello wine\r\n' >"$work/lines.txt"
rc=0
WINEDEBUG=$EVENTDEBUG timeout 120 "$wine" "$EXE" demo --yes --admin-whitelist 'C:\nonexistent-trustlaunch-test\whitelist.txt' \
	<"$work/lines.txt" >"$work/out" 2>"$work/events" || rc=$?
[ "$rc" = 0 ] || { cat "$work/out" "$work/events" >&2; fail "demo exited $rc, want 0"; }
grep -q 'HELLO WINE' "$work/out" || { cat "$work/out" >&2; fail "demo: the line host's answer is not on stdout"; }
expect_last "demo" '"decision":"launched"' '"step":"launched"' '"demo":true' '"exit_status":0'
ok "trustlaunch demo --yes: launched (exit 0), marked demo, in the audit log and the event log"

# A session ended by Ctrl-C: the demo again, its input left open so that
# the session lasts, and SIGINT to the program once the host has answered.
# Wine turns SIGINT into the console's CTRL_C_EVENT (its handler runs the
# program's SetConsoleCtrlHandler routines), as a Ctrl-C in a console does.
mkfifo "$work/demo-in" "$work/demo-out"
WINEDEBUG=$EVENTDEBUG timeout 120 "$wine" "$EXE" demo --yes --admin-whitelist 'C:\nonexistent-trustlaunch-test\whitelist.txt' \
	<"$work/demo-in" >"$work/demo-out" 2>"$work/events" &
demo_pid=$!
exec {demo_in}>"$work/demo-in" {demo_out}<"$work/demo-out"
echo 'hello wine' >&"$demo_in"
answered=false
while read -r -t 60 -u "$demo_out" line; do
	case $line in *'HELLO WINE'*) answered=true && break ;; esac
done
$answered || fail "interrupted: the demo's host did not answer"
# timeout's one child is the program: Wine's loader becomes it.
read -r demo_exe _ <"/proc/$demo_pid/task/$demo_pid/children" || true
[ -n "${demo_exe:-}" ] || fail "interrupted: no program under timeout ($demo_pid)"
kill -INT "$demo_exe"
rc=0
wait "$demo_pid" || rc=$?
exec {demo_in}>&- {demo_out}<&-
[ "$rc" = 130 ] || { cat "$work/events" >&2; fail "interrupted demo exited $rc, want 130"; }
expect_last "interrupted" '"decision":"interrupted"' '"demo":true'
ok "Ctrl-C during the demo's session: interrupted (exit 130), marked demo, in the audit log and the event log"

echo "shell-open tests passed ($SECONDS s)"
