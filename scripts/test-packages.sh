#!/usr/bin/env bash
# Builds the release packages with the pinned goreleaser and tests the .debs:
# trustlaunch, and trustlaunch-tokencheck (the proxy host's package).
#
#   scripts/test-packages.sh              goreleaser check, a snapshot build for
#                                         linux/amd64, and checks of the .deb's
#                                         contents, scripts and checksums
#   scripts/test-packages.sh --install    also installs the .deb on THIS machine
#                                         with dpkg -i, checks it, then removes
#                                         and purges it (needs root)
#   scripts/test-packages.sh --all-targets   build every target of
#                                         goreleaser.yaml (slow: ~6 min on 2 cores)
#
# Installing changes the machine, so it happens only as root and only when CI
# is set or --install is given; a developer's plain run never touches dpkg.
# It refuses to start if trustlaunch is already installed, if
# /usr/bin/trustlaunch exists, or if /etc/trustlaunch/whitelist.txt exists, so
# it can never remove or overwrite a real installation or a real admin list.
#
# Needs: go, dpkg-deb, man (man-db); for --install also dpkg, xdg-utils and
# desktop-file-utils (test.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS=0

install=false
all_targets=false
for arg in "$@"; do
	case $arg in
	--install) install=true ;;
	--all-targets) all_targets=true ;;
	-h | --help)
		sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "test-packages.sh: unknown argument $arg (see --help)" >&2
		exit 2
		;;
	esac
done
if [ -n "${CI:-}" ] && [ "$(id -u)" -eq 0 ]; then
	install=true
fi

step() { printf '\n==> %s (%ds)\n' "$*" "$SECONDS"; }
fail() {
	echo "test-packages.sh: FAIL: $*" >&2
	exit 1
}
ok() { echo "ok: $*"; }

if $install; then
	[ "$(id -u)" -eq 0 ] || fail "--install needs root: it runs dpkg -i and dpkg -r"
	command -v dpkg >/dev/null || fail "--install needs dpkg (Debian or Ubuntu)"
	if dpkg-query -W -f='${Status}' trustlaunch 2>/dev/null | grep -q installed; then
		fail "the trustlaunch package is already installed here; this test installs and removes it, so remove it first (dpkg -r trustlaunch)"
	fi
	[ ! -e /usr/bin/trustlaunch ] || fail "/usr/bin/trustlaunch exists; this test would overwrite it"
	if dpkg-query -W -f='${Status}' trustlaunch-tokencheck 2>/dev/null | grep -q installed; then
		fail "the trustlaunch-tokencheck package is already installed here; this test installs and removes it, so remove it first (dpkg -r trustlaunch-tokencheck)"
	fi
	[ ! -e /usr/bin/trustlaunch-tokencheck ] || fail "/usr/bin/trustlaunch-tokencheck exists; this test would overwrite it"
	[ ! -e /etc/trustlaunch/whitelist.txt ] || fail "/etc/trustlaunch/whitelist.txt exists; this test creates and deletes one there, so it will not run on a machine with a real admin list"
	for tool in xdg-mime update-desktop-database desktop-file-validate; do
		command -v "$tool" >/dev/null || fail "$tool not found: install xdg-utils and desktop-file-utils (sudo apt-get install xdg-utils desktop-file-utils)"
	done
fi

step "goreleaser (pinned in scripts/goreleaser.sh)"
goreleaser() { scripts/goreleaser.sh "$@"; }

step "goreleaser check"
goreleaser check

# The package test needs only the linux/amd64 .deb, and cross-compiling all
# six targets takes minutes, so build from a copy of goreleaser.yaml that keeps
# only that target. Everything else (nfpm, archives, checksums) is the real
# configuration.
config=goreleaser.yaml
if ! $all_targets; then
	config=.cache/goreleaser-linux-amd64.yaml
	mkdir -p .cache
	sed -e 's/^    goos: \[linux, darwin, windows\]$/    goos: [linux]/' \
		-e 's/^    goarch: \[amd64, arm64\]$/    goarch: [amd64]/' goreleaser.yaml >"$config"
	grep -q '^    goos: \[linux\]$' "$config" && grep -q '^    goarch: \[amd64\]$' "$config" ||
		fail "the builds section of goreleaser.yaml changed: update the sed in $0 that keeps only linux/amd64"
fi

step "goreleaser release --snapshot ($config)"
goreleaser release --snapshot --clean --config "$config"

version=$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' dist/metadata.json)
[ -n "$version" ] || fail "no version in dist/metadata.json"
shopt -s nullglob
all_debs=(dist/*_amd64.deb)
all_rpms=(dist/*.x86_64.rpm)
[ ${#all_debs[@]} -eq 2 ] || fail "want two amd64 .debs in dist/ (trustlaunch, trustlaunch-tokencheck), found ${#all_debs[@]}: ${all_debs[*]:-none}"
[ ${#all_rpms[@]} -eq 2 ] || fail "want two x86_64 .rpms in dist/, found ${#all_rpms[@]}: ${all_rpms[*]:-none}"
# The names differ after "trustlaunch": "_" for the launcher's .deb,
# "-tokencheck" for the helper's (rpm: "-VERSION" and "-tokencheck-").
debs=(dist/trustlaunch_*_amd64.deb)
rpms=(dist/trustlaunch-[0-9]*.x86_64.rpm)
tc_debs=(dist/trustlaunch-tokencheck_*_amd64.deb)
tc_rpms=(dist/trustlaunch-tokencheck-[0-9]*.x86_64.rpm)
[ ${#debs[@]} -eq 1 ] && [ ${#rpms[@]} -eq 1 ] || fail "want one trustlaunch .deb and .rpm, found ${debs[*]:-none} ${rpms[*]:-none}"
[ ${#tc_debs[@]} -eq 1 ] && [ ${#tc_rpms[@]} -eq 1 ] || fail "want one trustlaunch-tokencheck .deb and .rpm, found ${tc_debs[*]:-none} ${tc_rpms[*]:-none}"
deb=${debs[0]}
tc_deb=${tc_debs[0]}
ok "built $deb, ${rpms[0]}, $tc_deb and ${tc_rpms[0]} (version $version)"

step "checksums"
(cd dist && sha256sum --check --strict checksums.txt)
for f in "$deb" "${rpms[0]}" dist/trustlaunch_"${version}"_linux_amd64.tar.gz "$tc_deb" "${tc_rpms[0]}" dist/trustlaunch-tokencheck_"${version}"_linux_amd64.tar.gz; do
	grep -q " $(basename "$f")\$" dist/checksums.txt || fail "checksums.txt does not list $(basename "$f")"
done
ok "checksums.txt covers the packages and the archives"

step "contents of $deb"
tmp=$(mktemp -d)
cleanup_tmp() { rm -rf "$tmp"; }
trap cleanup_tmp EXIT
dpkg-deb --contents "$deb" >"$tmp/contents"
cat "$tmp/contents"
want_entry() { # mode owner path
	awk -v m="$1" -v o="$2" -v p="$3" '$1 == m && $2 == o && ($6 == p || $6 == p "/") { found = 1 } END { exit !found }' "$tmp/contents" ||
		fail "$deb: want $3 with mode $1 and owner $2"
}
want_entry -rwxr-xr-x root/root ./usr/bin/trustlaunch
want_entry -rw-r--r-- root/root ./usr/share/applications/trustlaunch.desktop
want_entry drwxr-xr-x root/root ./etc/trustlaunch
want_entry -rw-r--r-- root/root ./usr/share/man/man1/trustlaunch.1.gz
want_entry -rw-r--r-- root/root ./usr/share/bash-completion/completions/trustlaunch
want_entry -rw-r--r-- root/root ./usr/share/zsh/vendor-completions/_trustlaunch
want_entry -rw-r--r-- root/root ./usr/share/fish/vendor_completions.d/trustlaunch.fish
if grep -q 'whitelist' "$tmp/contents"; then
	fail "$deb ships a whitelist file; the admin list is the administrator's to push"
fi
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/applications/trustlaunch.desktop >"$tmp/trustlaunch.desktop"
cmp "$tmp/trustlaunch.desktop" packaging/trustlaunch.desktop || fail "$deb: the desktop entry differs from packaging/trustlaunch.desktop"
dpkg-deb --control "$deb" "$tmp/control"
cmp "$tmp/control/postinst" packaging/postinstall.sh || fail "$deb: postinst is not packaging/postinstall.sh"
cmp "$tmp/control/postrm" packaging/postremove.sh || fail "$deb: postrm is not packaging/postremove.sh"
grep -q '^Recommends:.*xdg-utils' "$tmp/control/control" || fail "$deb does not recommend xdg-utils"
[ ! -e "$tmp/control/conffiles" ] || ! grep -q whitelist "$tmp/control/conffiles" || fail "a whitelist is a conffile"
ok "binary 0755, desktop entry 0644 as in packaging/, /etc/trustlaunch 0755 root, no whitelist, scripts in place"
if grep -q 'tokencheck' "$tmp/contents"; then
	fail "$deb ships the proxy's token check; it belongs to trustlaunch-tokencheck only"
fi

step "contents of $tc_deb"
dpkg-deb --contents "$tc_deb" >"$tmp/contents"
cat "$tmp/contents"
want_entry -rwxr-xr-x root/root ./usr/bin/trustlaunch-tokencheck
want_entry -rw-r--r-- root/root ./usr/share/doc/trustlaunch-tokencheck/proxy.md
[ "$(grep -c '^-' "$tmp/contents")" -eq 2 ] || fail "$tc_deb: want exactly the helper and docs/proxy.md, found other files"
dpkg-deb --fsys-tarfile "$tc_deb" | tar -xO ./usr/share/doc/trustlaunch-tokencheck/proxy.md | cmp - docs/proxy.md || fail "$tc_deb: its copy of docs/proxy.md differs from the one in the repository"
rm -rf "$tmp/tc_control"
dpkg-deb --control "$tc_deb" "$tmp/tc_control"
for script in preinst postinst prerm postrm; do
	[ ! -e "$tmp/tc_control/$script" ] || fail "$tc_deb has a $script script; the helper's package installs files only"
done
grep -q '^Suggests:.*squid-openssl' "$tmp/tc_control/control" || fail "$tc_deb does not suggest squid-openssl"
ok "trustlaunch-tokencheck: the helper 0755 and docs/proxy.md, no maintainer scripts"

step "the manual page in $deb"
# As a reader's man renders it, with groff's warnings on: none may appear.
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/man/man1/trustlaunch.1.gz >"$tmp/trustlaunch.1.gz"
MANWIDTH=80 MANPAGER=cat PAGER=cat man --warnings -E UTF-8 -l "$tmp/trustlaunch.1.gz" >"$tmp/man.txt" 2>"$tmp/man.err" ||
	fail "man -l could not render the page: $(cat "$tmp/man.err")"
[ ! -s "$tmp/man.err" ] || fail "man -l warns about the page: $(cat "$tmp/man.err")"
grep -q "trustlaunch $version" "$tmp/man.txt" || fail "the manual page does not name version $version"
grep -q '^   trustlaunch whitelist explain$' "$tmp/man.txt" || fail "the manual page has no section for whitelist explain"
ok "man -l renders trustlaunch(1) without warnings"

if ! $install; then
	step "done without installing (run as root with --install, or in CI, to test dpkg -i)"
	echo "test-packages.sh: passed in ${SECONDS}s"
	exit 0
fi

# From here on the machine changes. The trap undoes what this script did if a
# check fails half way: it removes the package it installed and the test
# whitelist it created, and nothing else (the preconditions above made sure
# neither existed before).
installed=false
tc_installed=false
made_whitelist=false
cleanup() {
	if $installed; then dpkg --purge trustlaunch >/dev/null 2>&1 || true; fi
	if $tc_installed; then dpkg --purge trustlaunch-tokencheck >/dev/null 2>&1 || true; fi
	if $made_whitelist; then
		rm -f /etc/trustlaunch/whitelist.txt
		rmdir /etc/trustlaunch 2>/dev/null || true
	fi
	cleanup_tmp
}
trap cleanup EXIT

# A new user's view: fresh home and XDG directories, the system defaults for
# the data and config search paths, no desktop environment.
as_new_user() {
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME="$tmp/home" XDG_CURRENT_DESKTOP=X-Generic "$@"
}
mkdir -p "$tmp/home"

step "dpkg -i $deb"
installed=true
dpkg -i "$deb"

got=$(trustlaunch version | sed -n 1p) # sed reads all: "head" would close the pipe early, and pipefail would fail on the SIGPIPE (exit 141)
[ "$got" = "trustlaunch $version" ] || fail "trustlaunch version printed \"$got\", want \"trustlaunch $version\""
# The commit goreleaser read from git ("none" where it found no repository).
commit=$(sed -n 's/.*"commit":"\([^"]*\)".*/\1/p' dist/metadata.json)
if [ "$commit" != none ]; then
	got=$(trustlaunch version --json)
	[[ $got == *"\"commit\":\"$commit\""* ]] || fail "trustlaunch version --json does not name commit $commit: $got"
fi
ok "$got, commit $commit"
[ "$(command -v trustlaunch)" = /usr/bin/trustlaunch ] || fail "trustlaunch is $(command -v trustlaunch), not /usr/bin/trustlaunch"

cmp /usr/share/applications/trustlaunch.desktop packaging/trustlaunch.desktop || fail "installed desktop entry differs from packaging/trustlaunch.desktop"
desktop-file-validate /usr/share/applications/trustlaunch.desktop
grep -q '^x-scheme-handler/trustlaunch=.*trustlaunch\.desktop' /usr/share/applications/mimeinfo.cache ||
	fail "/usr/share/applications/mimeinfo.cache does not list trustlaunch.desktop: update-desktop-database did not run"
ok "desktop entry installed, valid, and in the MIME cache"

[ "$(stat -c '%U:%G %a %F' /etc/trustlaunch)" = "root:root 755 directory" ] ||
	fail "/etc/trustlaunch is $(stat -c '%U:%G %a %F' /etc/trustlaunch), want root:root 755 directory"
[ -z "$(ls -A /etc/trustlaunch)" ] || fail "/etc/trustlaunch is not empty after install: $(ls -A /etc/trustlaunch)"
ok "/etc/trustlaunch is root:root 0755 and holds no whitelist"

got=$(as_new_user xdg-mime query default x-scheme-handler/trustlaunch)
[ "$got" = trustlaunch.desktop ] || fail "xdg-mime query default x-scheme-handler/trustlaunch answers \"$got\" for a new user, want trustlaunch.desktop"
ok "xdg-mime query default x-scheme-handler/trustlaunch: $got (a new user, no default set)"
as_new_user /usr/bin/trustlaunch register --check || fail "trustlaunch register --check failed for a new user"
ok "trustlaunch register --check passes for a new user"

step "dpkg -i $tc_deb"
tc_installed=true
dpkg -i "$tc_deb"
got=$(trustlaunch-tokencheck version)
[ "$got" = "trustlaunch-tokencheck $version" ] || fail "trustlaunch-tokencheck version printed \"$got\", want \"trustlaunch-tokencheck $version\""
# The portal's key as keygen makes it, checked as the proxy would load it.
trustlaunch descriptor keygen "$tmp/portal.key" >/dev/null
trustlaunch-tokencheck squid --keys "$tmp/portal.key.pub" --issuer https://portal.example.com --audience proxy.example.com:8443 --check ||
	fail "trustlaunch-tokencheck squid --check refused a key from trustlaunch descriptor keygen"
dpkg --purge trustlaunch-tokencheck
tc_installed=false
[ ! -e /usr/bin/trustlaunch-tokencheck ] || fail "/usr/bin/trustlaunch-tokencheck remains after dpkg --purge"
[ ! -e /usr/share/doc/trustlaunch-tokencheck ] || fail "/usr/share/doc/trustlaunch-tokencheck remains after dpkg --purge"
ok "trustlaunch-tokencheck installed, checks a keygen key, and is removed"

step "admin pushes a whitelist"
made_whitelist=true
printf 'AllowAdminListOnly\nportal.example.com\n' >/etc/trustlaunch/whitelist.txt
chmod 0644 /etc/trustlaunch/whitelist.txt
cp /etc/trustlaunch/whitelist.txt "$tmp/whitelist.txt"
trustlaunch whitelist check /etc/trustlaunch/whitelist.txt
as_new_user /usr/bin/trustlaunch whitelist paths || fail "the admin whitelist in the packaged /etc/trustlaunch fails the ownership check"

step "dpkg -r trustlaunch"
dpkg -r trustlaunch
[ ! -e /usr/bin/trustlaunch ] || fail "/usr/bin/trustlaunch remains after dpkg -r"
[ ! -e /usr/share/applications/trustlaunch.desktop ] || fail "the desktop entry remains after dpkg -r"
if grep -q 'trustlaunch\.desktop' /usr/share/applications/mimeinfo.cache 2>/dev/null; then
	fail "mimeinfo.cache still lists trustlaunch.desktop after dpkg -r: update-desktop-database did not run"
fi
got=$(as_new_user xdg-mime query default x-scheme-handler/trustlaunch)
[ -z "$got" ] || fail "after dpkg -r xdg-mime still answers \"$got\""
cmp /etc/trustlaunch/whitelist.txt "$tmp/whitelist.txt" || fail "dpkg -r changed or deleted /etc/trustlaunch/whitelist.txt"
ok "package removed; the admin whitelist is kept"

step "dpkg --purge trustlaunch"
dpkg --purge trustlaunch
installed=false
cmp /etc/trustlaunch/whitelist.txt "$tmp/whitelist.txt" || fail "dpkg --purge changed or deleted /etc/trustlaunch/whitelist.txt"
ok "package purged; the admin whitelist is kept"

step "clean up the test whitelist"
rm /etc/trustlaunch/whitelist.txt
rmdir /etc/trustlaunch
made_whitelist=false

echo "test-packages.sh: passed in ${SECONDS}s"
