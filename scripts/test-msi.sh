#!/usr/bin/env bash
# The MSI install test (CONTRIBUTING.md "Windows packages"), under Wine's msiexec,
# on this Linux machine. It builds two test packages (0.9.0 and 1.0.0) the
# release way (packaging/windows/winres.sh, scripts/msi.sh) but with the
# Windows test tag wineprefix, so that the ownership checks accept the Wine
# prefix's owner; signs both with a throwaway self-signed certificate and
# verifies the signatures with osslsigncode; then, in a Wine prefix:
#
#   install 0.9.0 (msiexec /i /qn): the binary, every registry value of the
#     handler, the event source of the launch records (in the MSI's Registry
#     table and in the registry), the version resource, `trustlaunch version`,
#     `register --check` and `--check --system` happy, a trustlaunch:// URL
#     opened through the shell (cmd /c start, i.e. ShellExecute and the
#     registered command) reaching `open`, refused by an admin-only list put
#     there by hand, and the refusal in the audit log;
#     `unregister --system` refusing to remove the MSI's keys;
#   upgrade to 1.0.0: one product left, the new version in place;
#   install 0.9.0 again: refused, 1.0.0 still there;
#   uninstall (msiexec /x /qn): binary, keys and event source gone, the
#     admin whitelist still there.
#
#   scripts/test-msi.sh            uses $TRUSTLAUNCH_WINE when it names a
#                                  prefix made by scripts/wine/prefix (test.sh
#                                  shares its own), else makes one and stops it
#   scripts/test-msi.sh --mutants  also builds five broken packages (a wrong
#                                  command value; another UpgradeCode in the
#                                  newer one; the handler in an unmanaged
#                                  component, which uninstall leaves; a
#                                  shipped whitelist.txt, which uninstall
#                                  removes; a wrong event message file) and
#                                  fails unless the install test fails on
#                                  each, at the check of the rule it breaks
#
# Needs: go, wixl, osslsigncode, openssl, wine64, gcc-mingw-w64-x86-64
# (test.sh installs them). Takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
me=scripts/test-msi.sh
SECONDS=0

mutants=false
case ${1:-} in
--mutants) mutants=true ;;
'') ;;
-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
*) echo "$me: unknown argument $1 (see --help)" >&2; exit 2 ;;
esac
for tool in wixl osslsigncode openssl; do
	command -v "$tool" >/dev/null || { echo "$me: $tool not found: apt-get install ${tool/wixl/wixl msitools}" >&2; exit 1; }
done

work=$(mktemp -d)
own_prefix=false
cleanup() {
	if $own_prefix; then scripts/wine/prefix --stop "$TRUSTLAUNCH_WINE" || true; fi
	packaging/windows/winres.sh --clean
	rm -rf "$work"
}
trap cleanup EXIT
if [ -z "${TRUSTLAUNCH_WINE:-}" ] || [ ! -f "$TRUSTLAUNCH_WINE/ready" ]; then
	export TRUSTLAUNCH_WINE=$work/wine
	own_prefix=true
	scripts/wine/prefix "$TRUSTLAUNCH_WINE"
fi
EXE='C:\Program Files\trustlaunch\trustlaunch.exe'
KEY='HKLM\Software\Classes\trustlaunch'
EVKEY='SYSTEM\CurrentControlSet\Services\EventLog\Application\trustlaunch' # the event source of the launch records

step() { printf '==> %s (%ds)\n' "$*" "$SECONDS"; }
# fail exits (the subshell of a mutant's run, or the script): set -e does
# not act inside an if condition, so no check may rely on it.
fail() {
	echo "$me: FAIL: $*" >&2
	exit 1
}
ok() { echo "ok: $*"; }
w() { timeout 120 "$wine" "$@" </dev/null; }

# A throwaway code-signing certificate, self-signed: it does not chain to
# any root, so verify is given it as its own CA.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=trustlaunch test signing' \
	-addext extendedKeyUsage=codeSigning -keyout "$work/sign.key" -out "$work/sign.crt" 2>/dev/null
export TRUSTLAUNCH_SIGN_CERT=$work/sign.crt TRUSTLAUNCH_SIGN_KEY=$work/sign.key

# build VERSION: the test EXE and MSI of VERSION in $work/VERSION/.
build() {
	local v=$1 d=$work/$1
	mkdir -p "$d"
	packaging/windows/winres.sh "$v" windows amd64
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -tags wineprefix -trimpath \
		-ldflags "-s -w -X main.version=$v" -o "$d/trustlaunch.exe" ./cmd/trustlaunch
	scripts/msi.sh "$v" windows amd64 "$d/trustlaunch.exe" "$d/trustlaunch.msi" 2>"$d/msi.log" || { cat "$d/msi.log" >&2; return 1; }
}

step "build and sign 0.9.0 and 1.0.0"
build 0.9.0
build 1.0.0
for f in "$work"/0.9.0/trustlaunch.exe "$work"/0.9.0/trustlaunch.msi "$work"/1.0.0/trustlaunch.msi; do
	osslsigncode verify -CAfile "$work/sign.crt" -in "$f" >"$work/verify.log" 2>&1 ||
		{ cat "$work/verify.log" >&2; fail "osslsigncode verify $f"; }
	grep -q 'Signature verification: ok' "$work/verify.log" || { cat "$work/verify.log" >&2; fail "no good signature on $f"; }
done
# The EXE inside the MSI is the signed one.
mkdir "$work/x" && (cd "$work/x" && msiextract "$work/1.0.0/trustlaunch.msi" >/dev/null)
inner=$(find "$work/x" -name trustlaunch.exe | sed -n 1p)
osslsigncode verify -CAfile "$work/sign.crt" -in "$inner" >/dev/null 2>&1 || fail "the EXE in the MSI is not signed"
ok "EXE and MSI signed; osslsigncode verify passes (-CAfile: the throwaway certificate)"
echo "MSI size: $(stat -c %s "$work/1.0.0/trustlaunch.msi") bytes"

# Wine's environment (lib.sh) has a throwaway HOME, so everything go
# builds is built above, with the user's module and build caches.
go build -o "$work/peversion" ./packaging/windows/peversion
. scripts/wine/lib.sh
wine_env "$TRUSTLAUNCH_WINE"
wine=$(cat "$TRUSTLAUNCH_WINE/ready")
PF="$WINEPREFIX/drive_c/Program Files/trustlaunch"

product_code() { msiinfo export "$1" Property | awk -F'\t' '$1 == "ProductCode" { print $2 }' | tr -d '\r'; }
# products: how many installed products are called trustlaunch.
products() {
	w reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall' /s 2>/dev/null | tr -d '\r' |
		grep -c 'DisplayName[[:space:]]*REG_SZ[[:space:]]*trustlaunch[[:space:]]*$' || true
}
# regval KEY NAME: the REG_SZ data of a value ("" for the default value).
regval() {
	local out
	if [ -z "$2" ]; then
		out=$(w reg query "$1" /ve 2>/dev/null) || return 1
		printf '%s\n' "$out" | tr -d '\r' | sed -n 's/^ *(Default) *REG_SZ *//p'
	else
		out=$(w reg query "$1" /v "$2" 2>/dev/null) || return 1
		printf '%s\n' "$out" | tr -d '\r' | sed -n "s/^ *$2 *REG_SZ *//p"
	fi
}
expect_val() {
	local got
	got=$(regval "$1" "$2") || fail "no value [$2] under $1"
	[ "$got" = "$3" ] || fail "$1 [$2] = '$got', want '$3'"
}
check_version() {
	local res
	res=$("$work/peversion" "$PF/trustlaunch.exe")
	for want in "fixed.FileVersion=$1.0" "fixed.ProductVersion=$1.0" "string.ProductVersion=$1" \
		string.ProductName=trustlaunch string.FileDescription=trustlaunch string.CompanyName=trustlaunch \
		icon.groups=1 manifest.asInvoker=true manifest.activeCodePage=UTF-8 manifest.longPathAware=true; do
		grep -qxF "$want" <<<"$res" || { echo "$res" >&2; fail "version resource of the installed EXE lacks $want"; }
	done
	[ "$(w "$EXE" version | tr -d '\r' | sed -n 1p)" = "trustlaunch $1" ] || fail "trustlaunch version does not say $1: $(w "$EXE" version)"
}

# check_event_source MSI: the MSI's Registry table registers the event
# source of the launch records, and the installed key has its message file
# (a full path: Wine's System64Folder) and types (internal/oslog).
check_event_source() {
	local rows
	# ENVIRON, not awk -v, which would read the key's backslashes as escapes.
	rows=$(msiinfo export "$1" Registry | tr -d '\r' | EVK="$EVKEY\\" awk -F'\t' '$2 == 2 && $3 == ENVIRON["EVK"] { print $4 "=" $5 }' | sort)
	[ "$rows" = "$(printf 'EventMessageFile=[System64Folder]EventCreate.exe\nTypesSupported=#7')" ] ||
		fail "the MSI's Registry table has, under HKLM\\$EVKEY: $rows"
	expect_val "HKLM\\$EVKEY" EventMessageFile 'C:\windows\system32\EventCreate.exe'
	rows=$(w reg query "HKLM\\$EVKEY" /v TypesSupported 2>/dev/null | tr -d '\r')
	grep -q '^ *TypesSupported *REG_DWORD *0x7$' <<<"$rows" ||
		fail "HKLM\\$EVKEY [TypesSupported] is not REG_DWORD 7"
}

# The install test proper, for the MSIs in $1 (0.9.0) and $2 (1.0.0).
install_test() {
	local old=$1 new=$2 t0=$SECONDS
	[ ! -e "$PF" ] || fail "$PF exists before the test"
	step "install 0.9.0"
	w msiexec /i "$old" /qn || fail "msiexec /i 0.9.0 exited $?"
	[ -f "$PF/trustlaunch.exe" ] || fail "no $PF/trustlaunch.exe"
	local code; code=$(product_code "$old")
	expect_val "$KEY" "" "URL:trustlaunch Protocol"
	expect_val "$KEY" "URL Protocol" ""
	expect_val "$KEY" "X-Trustlaunch-Registered-By" "trustlaunch MSI $code"
	expect_val "$KEY\\DefaultIcon" "" "$EXE,0"
	expect_val "$KEY\\shell\\open" "FriendlyAppName" "trustlaunch"
	expect_val "$KEY\\shell\\open\\command" "" "\"$EXE\" open -- \"%1\""
	[ "$(products)" = 1 ] || fail "$(products) products installed, want 1"
	check_version 0.9.0
	check_event_source "$old"
	ok "0.9.0 installed: files, registry values, event source, version resource"

	w "$EXE" register --check >"$work/check.out" 2>&1 || { cat "$work/check.out" >&2; fail "register --check exited $?"; }
	w "$EXE" register --check --system >"$work/check.out" 2>&1 || { cat "$work/check.out" >&2; fail "register --check --system exited $?"; }
	grep -q "written by the trustlaunch MSI, ProductCode $code" "$work/check.out" || { cat "$work/check.out" >&2; fail "register --check does not name the MSI"; }
	! grep -q 'warning' "$work/check.out" || { cat "$work/check.out" >&2; fail "register --check warns about the MSI's entry"; }
	ok "register --check and --check --system: ok"

	local rc=0
	w "$EXE" unregister --system >"$work/unreg.out" 2>&1 || rc=$?
	[ "$rc" = 1 ] && grep -q "msiexec /x $code" "$work/unreg.out" || { cat "$work/unreg.out" >&2; fail "unregister --system exited $rc without naming msiexec /x $code"; }
	expect_val "$KEY\\shell\\open\\command" "" "\"$EXE\" open -- \"%1\""
	ok "unregister --system refuses and names msiexec /x $code"

	# An admin pushes an admin-only list; a link to another server, opened
	# through the shell, must reach open and be refused (exit 3), and the
	# audit log must say so.
	printf 'AllowAdminListOnly\r\nportal.example.com\r\n' >"$PF/whitelist.txt"
	rc=0
	wine_shell_open "trustlaunch://launch?url=https%3A%2F%2Fevil.example%2Fd" || rc=$?
	[ "$rc" = 3 ] || fail "the shell-opened link exited $rc, want 3 (refused by the admin-only list)"
	w "$EXE" log --json -n 1 | tr -d '\r' >"$work/log.json"
	grep -q '"origin":"https://evil.example".*"step":"admin-only-refused"' "$work/log.json" ||
		{ cat "$work/log.json" >&2; fail "the audit log has no admin-only refusal of https://evil.example"; }
	ok "trustlaunch://launch opened through the shell reached open: refused by the admin list, logged"

	step "upgrade to 1.0.0"
	w msiexec /i "$new" /qn || fail "msiexec /i 1.0.0 over 0.9.0 exited $?"
	[ "$(products)" = 1 ] || fail "$(products) products installed after the upgrade, want 1"
	check_version 1.0.0
	expect_val "$KEY" "X-Trustlaunch-Registered-By" "trustlaunch MSI $(product_code "$new")"
	ok "upgrade: one product, 1.0.0 in place"

	step "downgrade to 0.9.0"
	rc=0
	w msiexec /i "$old" /qn || rc=$?
	[ "$rc" != 0 ] || fail "installing 0.9.0 over 1.0.0 succeeded"
	[ "$(products)" = 1 ] || fail "$(products) products installed after the refused downgrade, want 1"
	check_version 1.0.0
	ok "downgrade refused (msiexec exit $rc), 1.0.0 still installed"

	step "uninstall"
	w msiexec /x "$new" /qn || fail "msiexec /x exited $?"
	[ ! -e "$PF/trustlaunch.exe" ] || fail "trustlaunch.exe still there after uninstall"
	! w reg query "$KEY" >/dev/null 2>&1 || fail "$KEY still there after uninstall"
	! w reg query "HKLM\\$EVKEY" >/dev/null 2>&1 || fail "the event source HKLM\\$EVKEY is still there after uninstall"
	[ "$(products)" = 0 ] || fail "$(products) products left after uninstall"
	[ -f "$PF/whitelist.txt" ] && grep -q portal.example.com "$PF/whitelist.txt" || fail "uninstall removed the admin whitelist"
	ok "uninstall: binary and keys gone, the admin whitelist kept"
	rm -f "$PF/whitelist.txt"
	rmdir "$PF"
	echo "install test: $((SECONDS - t0)) s"
}

install_test "$work/0.9.0/trustlaunch.msi" "$work/1.0.0/trustlaunch.msi"

if $mutants; then
	# Each mutant changes one rule of the .wxs; the install test must fail.
	wxs=packaging/windows/trustlaunch.wxs
	declare -A mutant=(
		[command]='s|open -- \&quot;%1\&quot;|open \&quot;%1\&quot;|'
		[upgradecode]='s/36EBCB2D-29D8-4463-921B-C20FDB4D46C9/36EBCB2D-29D8-4463-921B-C20FDB4D46CA/g'
		[unmanaged]='s/83719F18-7573-4EDC-B830-4A905E8DA1C3//'
		[whitelist]='0,\|KeyPath="yes"/>|s||KeyPath="yes"/><File Id="wl" Name="whitelist.txt" Source="trustlaunch.ico"/>|'
		[eventsource]='s|EventCreate\.exe|EventCreat.exe|'
	)
	# What the first failure of each must say: a mutant that fails the
	# install test somewhere else (a step that broke on its own) shows
	# nothing about the rule it breaks.
	declare -A caught=(
		[command]='shell\\open\\command \[\] = .* open "%1"'
		[upgradecode]='2 products installed after the upgrade'
		[unmanaged]='trustlaunch still there after uninstall'
		[whitelist]='uninstall removed the admin whitelist'
		[eventsource]='EventLog\\Application\\trustlaunch: EventMessageFile=\[System64Folder\]EventCreat\.exe'
	)
	for m in command upgradecode unmanaged whitelist eventsource; do
		step "mutant: $m"
		sed "${mutant[$m]}" "$wxs" >"$work/$m.wxs"
		! cmp -s "$wxs" "$work/$m.wxs" || fail "mutant $m changed nothing"
		for v in 0.9.0 1.0.0; do
			mkdir -p "$work/$m/$v"
			TRUSTLAUNCH_WXS=$work/$m.wxs scripts/msi.sh "$v" windows amd64 "$work/$v/trustlaunch.exe" "$work/$m/$v/trustlaunch.msi" 2>"$work/$m.msi.log" ||
				{ cat "$work/$m.msi.log" >&2; fail "mutant $m: scripts/msi.sh failed"; }
		done
		# The upgradecode mutant changes only the newer package, as a
		# release that lost the UpgradeCode would.
		[ "$m" = upgradecode ] && cp "$work/0.9.0/trustlaunch.msi" "$work/$m/0.9.0/trustlaunch.msi"
		if (install_test "$work/$m/0.9.0/trustlaunch.msi" "$work/$m/1.0.0/trustlaunch.msi") >"$work/$m.log" 2>&1; then
			cat "$work/$m.log"
			fail "the install test passed on the $m mutant"
		fi
		first=$(grep -m1 FAIL "$work/$m.log" || true)
		echo "$first"
		grep -Eq -- "${caught[$m]}" <<<"$first" ||
			{ cat "$work/$m.log" >&2; fail "mutant $m: the install test failed, but not where the mutant breaks it (want ${caught[$m]})"; }
		ok "mutant $m: the install test fails"
		# Leave the prefix clean for the next one.
		for v in 1.0.0 0.9.0; do w msiexec /x "$work/$m/$v/trustlaunch.msi" /qn >/dev/null 2>&1 || true; done
		w reg delete "$KEY" /f >/dev/null 2>&1 || true
		rm -rf "$PF"
	done
fi
step "MSI tests passed"
