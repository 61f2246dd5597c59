// Package debpkg records every program the tests and the test scripts run,
// with the Debian package that provides it.
//
// It is the one place test.sh's install check (internal/testsh programs)
// reads, and internal/peers.RequireBinary refuses a program it does not list.
// TestEveryProgramRecorded (internal/testsh) derives the programs from the
// source (exec.Command, exec.CommandContext, exec.LookPath and RequireBinary
// literals, testscript exec lines, the scripts' commands) and fails when one
// is missing here, so a new peer cannot be used without the package that
// installs it on a fresh machine.
//
// Test support only: nothing in the product imports it.
package debpkg

// GoToolchain stands for the Go toolchain in Programs: go and gofmt come from
// the Go installation test.sh runs under (README: Go 1.26), not from Debian.
const GoToolchain = "(go toolchain)"

// Programs maps each program to the Debian package whose files provide it
// (after alternatives and the merged /usr are resolved, as dpkg -S names it).
// The install check fails when that package is neither in the closure of
// test.sh's DEBIAN_PACKAGES over Depends and Pre-Depends nor Essential.
var Programs = map[string]string{
	// Real peers.
	"squid":            "squid-openssl",
	"websockify":       "python3-websockify",
	"nginx":            "nginx",
	"redis-server":     "redis-tools", // redis-server is a link to redis-check-rdb, in redis-tools (a dependency of redis-server)
	"haproxy":          "haproxy",
	"stunnel4":         "stunnel4",
	"s3270":            "s3270",
	"c3270":            "c3270",
	"hercules":         "hercules",
	"node":             "nodejs", // runs docs/portal.md's Node.js portal sample
	"proxytunnel":      "proxytunnel",
	"rsyslogd":         "rsyslog",
	"openssl":          "openssl",
	"/usr/bin/python3": "python3.11-minimal", // Debian's, with the modules the packages bring (PATH may find another)
	"tmux":             "tmux",
	"xterm":            "xterm",
	"getent":           "libc-bin",
	"sleep":            "coreutils",
	"cat":              "coreutils",
	"sh":               "dash",
	"bash":             "bash",
	"zsh":              "zsh",    // loads the zsh completion (cmd/trustlaunch)
	"fish":             "fish",   // loads the fish completion
	"man":              "man-db", // renders the manual page: man -l, in the tests and scripts/test-packages.sh
	"go":               GoToolchain,
	"gofmt":            GoToolchain,
	"git":              "git",
	"ip":               "iproute2",
	"unshare":          "util-linux",
	"env":              "coreutils",
	// The outbound proxy's Kerberos sign-on (internal/peers.StartKDC,
	// StartNegotiateSquid).
	"krb5kdc":                                "krb5-kdc",
	"kdb5_util":                              "krb5-kdc",
	"kadmin.local":                           "krb5-admin-server",
	"kinit":                                  "krb5-user",
	"/usr/lib/squid/negotiate_kerberos_auth": "squid-openssl",

	// The scripts' and test.sh's own tools (Essential packages, but mawk
	// and apt, are on every Debian system).
	"awk":                    "mawk",
	"apt-get":                "apt",
	"apt-cache":              "apt",
	"dpkg":                   "dpkg",
	"dpkg-deb":               "dpkg",
	"dpkg-query":             "dpkg",
	"basename":               "coreutils",
	"chmod":                  "coreutils",
	"cp":                     "coreutils",
	"dirname":                "coreutils",
	"head":                   "coreutils",
	"id":                     "coreutils",
	"ls":                     "coreutils",
	"mkdir":                  "coreutils",
	"mkfifo":                 "coreutils",
	"mktemp":                 "coreutils",
	"mv":                     "coreutils",
	"realpath":               "coreutils",
	"rm":                     "coreutils",
	"rmdir":                  "coreutils",
	"seq":                    "coreutils",
	"sha256sum":              "coreutils",
	"sort":                   "coreutils",
	"stat":                   "coreutils",
	"tee":                    "coreutils",
	"timeout":                "coreutils",
	"tr":                     "coreutils",
	"uniq":                   "coreutils",
	"wc":                     "coreutils",
	"cksum":                  "coreutils", // the Bom's checksum (internal/macpkg)
	"cut":                    "coreutils",
	"du":                     "coreutils",
	"od":                     "coreutils",
	"cmp":                    "diffutils",
	"diff":                   "diffutils",
	"find":                   "findutils",
	"grep":                   "grep",
	"sed":                    "sed",
	"tar":                    "tar",
	"gzip":                   "gzip",
	"x86_64-w64-mingw32-gcc": "gcc-mingw-w64-x86-64-win32",
	"gcc":                    "gcc-12", // run by go for cgo, which -race needs (not named in our source)

	// The real-browser and URL-handler tests.
	"chromium":                "chromium",
	"firefox-esr":             "firefox-esr",
	"Xvfb":                    "xvfb",
	"xdg-open":                "xdg-utils",
	"xdg-mime":                "xdg-utils",
	"update-desktop-database": "desktop-file-utils",
	"desktop-file-validate":   "desktop-file-utils",

	// The Windows phase (scripts/wine/) and the MSI.
	"wine64":       "wine64",
	"wineboot":     "wine",
	"wixl":         "wixl",
	"msiinfo":      "msitools",
	"msiextract":   "msitools",
	"osslsigncode": "osslsigncode",

	// The macOS bundle and package, built and read back on Linux.
	"bsdtar":    "libarchive-tools",
	"plistutil": "libplist-utils",
}
