#!/bin/sh
# Runs after the deb or rpm is installed or upgraded. Index the desktop entry
# so that xdg-mime and GIO find trustlaunch.desktop as the handler for
# x-scheme-handler/trustlaunch. The package sets no default (see
# docs/admin.md): being the only handler is enough, and a user's own default
# still wins. Debian's desktop-file-utils also does this from a dpkg trigger;
# running it here covers rpm and systems without the trigger.
#
# /etc/trustlaunch is created by the package, empty: the admin whitelist is
# the administrator's to push, and no package script ever writes or deletes it.
set -e

if command -v update-desktop-database >/dev/null 2>&1; then
	update-desktop-database -q /usr/share/applications || true
fi
exit 0
