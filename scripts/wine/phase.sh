#!/usr/bin/env bash
# The Windows phase of the test command (test.sh runs it; as root inside a
# network namespace of its own, see there): the Windows build's tests for
# the packages given as arguments, under Wine in one throwaway prefix made
# here (10-30 s) and removed at exit, then a trustlaunch:// link opened
# through the Windows shell and the MSI test, in the same prefix.
#
#   scripts/wine/phase.sh ./tui/ ./platform/ ...
#
# -tags wineprefix lets the admin-file checks accept the prefix's owner
# (platform/wineprefix_on_windows.go); the admin-file tests then run once
# more without it, the release way, and must see the user-owned file
# refused. The two platform tests that need symbolic links are skipped:
# Wine 8.0's CreateSymbolicLink reports success and makes nothing
# (CONTRIBUTING.md, "Windows tests under Wine").
set -euo pipefail
cd "$(dirname "$0")/../.."

step() { printf '\n==> %s (at %ds of the Windows phase)\n' "$*" "$SECONDS"; }

if [ $# -eq 0 ]; then
	echo "scripts/wine/phase.sh: usage: scripts/wine/phase.sh PACKAGE..." >&2
	exit 2
fi

step "Windows tests under Wine (GOOS=windows, -tags wineprefix)"
wine_dir=$(mktemp -d)
export TRUSTLAUNCH_WINE="$wine_dir/wine"
trap 'scripts/wine/prefix --stop "$TRUSTLAUNCH_WINE"; rm -rf "$wine_dir"' EXIT
scripts/wine/prefix "$TRUSTLAUNCH_WINE"
# -trimpath and CGO_ENABLED=0, as test.sh vets and builds for Windows (and
# goreleaser builds the release): the dependencies are compiled once.
run() { CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go test -trimpath -count=1 -timeout "$@"; }
exec_wine=(-exec "$PWD/scripts/wine/exec")
run 4m -tags wineprefix -skip '^(TestWriteFileAtomicRefusesNonRegularTarget|TestRegisterExecutable)$' \
	"${exec_wine[@]}" "$@"
run 2m -run '^TestAdminFileWinePrefixOwner$' "${exec_wine[@]}" ./platform/
# The unsafe-admin-file cases of the CA bundle, the policy and the
# profiles, which the tagged build cannot show (internal/testadmin), the
# release way.
run 2m -run '^TestFetchRefusals$/^unsafe' "${exec_wine[@]}" ./descriptor/
run 2m -run '^TestLoadPolicy$/^unsafe' "${exec_wine[@]}" ./policy/
run 2m -run '^TestUnsafeAdminProfiles$' "${exec_wine[@]}" ./launcher/
# The same for the CLI: explain, paths and show on an admin list or policy
# the user could write ([realadmincheck] in cmd/trustlaunch's scripts).
run 2m -run '^TestUnsafeAdminFilesCLI$' "${exec_wine[@]}" ./cmd/trustlaunch/

step "the outbound proxy's Negotiate sign-on through SSPI: trustlaunch.exe under Wine, an MIT KDC and Squid"
CGO_ENABLED=0 go test -count=1 -timeout 10m -run '^TestWineNegotiate$' ./internal/peers/

step "a trustlaunch:// link opened through the Windows shell, under Wine"
# About 10 s: register --system, then start.exe (ShellExecute, the HKLM
# command) opens links against a local HTTPS portal: admin-only refusal, a
# user-listed fetch, a link with a quote, bad input; each checked in the
# audit log. It leaves the prefix clean for the MSI test, which checks that.
scripts/wine/test-open.sh

step "MSI: build, sign, install, upgrade, downgrade, uninstall under Wine"
# About 7 s; --mutants (about 14 s more) shows the test failing on broken
# packages.
scripts/test-msi.sh --mutants
step "Windows phase passed"
