#!/bin/sh
# Runs after the deb or rpm is removed (and during upgrades). Drop
# trustlaunch.desktop from the MIME cache. Nothing else is removed here: the
# admin whitelist in /etc/trustlaunch and the users' whitelists are never
# deleted by uninstall (dpkg leaves /etc/trustlaunch in place while it holds
# files the package did not install).
set -e

if command -v update-desktop-database >/dev/null 2>&1; then
	update-desktop-database -q /usr/share/applications || true
fi
exit 0
