# Sourced by packaging/windows/winres.sh and scripts/msi.sh: the one mapping
# from a release version to the numeric versions Windows wants.
#
# numeric_version VERSION prints MAJOR.MINOR.PATCH for VERSION, which is a
# goreleaser .Version: "1.4.2" for a release tag v1.4.2, "1.4.3-snapshot"
# for a snapshot (goreleaser.yaml: incpatch), or with another pre-release
# suffix ("1.5.0-rc.1"). The suffix is dropped: the MSI's ProductVersion
# has three numeric fields (MAJOR <= 255, MINOR <= 255, PATCH <= 65535;
# Windows Installer ignores a fourth field when it compares versions), and
# the version resource's fixed file version gets MAJOR.MINOR.PATCH.0. So a
# snapshot of 1.4.3 carries 1.4.3: it upgrades 1.4.2, and the release 1.4.3
# replaces it (trustlaunch.wxs allows same-version upgrades for that).
# A version outside those ranges is refused rather than wrapped.
numeric_version() {
	local v=${1#v} core
	core=${v%%[-+]*}
	if ! [[ $core =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]]; then
		echo "version $1: not MAJOR.MINOR.PATCH[-suffix]" >&2
		return 1
	fi
	local a=$((10#${BASH_REMATCH[1]})) b=$((10#${BASH_REMATCH[2]})) c=$((10#${BASH_REMATCH[3]}))
	if [ "$a" -gt 255 ] || [ "$b" -gt 255 ] || [ "$c" -gt 65535 ]; then
		echo "version $1: an MSI ProductVersion allows at most 255.255.65535" >&2
		return 1
	fi
	echo "$a.$b.$c"
}
