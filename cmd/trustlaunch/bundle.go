package main

import (
	"archive/zip"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"time"

	"github.com/trustlaunch/trustlaunch/audit"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/launcher"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// The support bundle (doctor --bundle FILE): a zip a user attaches to a
// ticket. What it holds is listed in bundleReadme; what it never holds is
// any secret: every file passes through bundleRedact, which removes what
// looks like one (a URL's password, query and fragment; a JWS; a bearer
// or basic credential; the value after token=, ticket=, password=), and
// then through the process's registry of secrets (the URL given to doctor,
// the outbound proxy's password), which catches their other spellings.
// The audit log is already free of tokens and tickets by design; the
// bundle does not rely on it, since anything may have edited the file.

// bundleReadme is README.txt of every bundle.
const bundleReadme = `trustlaunch support bundle, written by "trustlaunch doctor --bundle".

  README.txt     this file
  version.json   trustlaunch's version, commit, Go version and platform
  settings.json  every setting doctor read and where it came from (a
                 flag, the environment, or the per-OS default)
  doctor.json    the doctor's report (doctor.txt: the same for people)
  profiles.json  the effective emulator profiles and their sources
  files/         the admin and user whitelists and the admin policy, as
                 read (at most 256 KiB each)
  audit.jsonl    the last audit records, one JSON object a line

Never included: session tokens, descriptors, tickets and other query
strings, fragments, passwords in proxy URLs, private keys. What looks like
one of them is replaced with [redacted]. The files are stored without
compression, so "grep" on the zip itself checks that.
`

// maxBundleFile bounds each configuration file copied into a bundle.
const maxBundleFile = 256 << 10

var (
	// bundleURL is a URL with a scheme; its password, query and fragment
	// are removed.
	bundleURL = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\s"'<>\\]+`)
	// bundleJWS is a JWS or JWT: base64url JSON headers start with "eyJ".
	bundleJWS = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}(\.[A-Za-z0-9_-]*){1,2}`)
	// bundleCredential is an HTTP credential after its scheme.
	bundleCredential = regexp.MustCompile(`(?i)\b(bearer|basic|negotiate)\s+[A-Za-z0-9._~+/=-]{6,}`)
	// bundleNamed is a value after a name that says it is a secret.
	bundleNamed = regexp.MustCompile(`(?i)\b(token|ticket|password|passwd|pwd|secret|authorization|proxy-authorization)(\\?["']?\s*[:=]\s*\\?["']?)([^\s"'&,;\\]+)`)
)

// bundleRedact removes what looks like a secret from text.
func bundleRedact(text string) string {
	text = bundleURL.ReplaceAllStringFunc(text, func(raw string) string {
		scheme, rest, _ := strings.Cut(raw, "://")
		// The user information first, up to the last "@" anywhere: a
		// password with an unencoded "/", "?" or "#" would otherwise end
		// the authority early and keep its start.
		rest = redactUserinfo(rest)
		if i := strings.IndexAny(rest, "?#"); i >= 0 {
			rest = rest[:i] + "?[redacted]"
		}
		return scheme + "://" + rest
	})
	text = bundleJWS.ReplaceAllString(text, "[redacted]")
	text = bundleCredential.ReplaceAllString(text, "$1 [redacted]")
	return bundleNamed.ReplaceAllString(text, "$1$2[redacted]")
}

// redactUserinfo replaces everything up to the last "@" of s, a URL
// without its scheme or a proxy setting, with "[redacted]@".
func redactUserinfo(s string) string {
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		return "[redacted]@" + s[at+1:]
	}
	return s
}

// settingJSON is one setting and where it came from.
type settingJSON struct {
	Value string `json:"value"`
	From  string `json:"from"` // "default", "--FLAG" or "environment"
}

// bundleSettings is settings.json.
type bundleSettings struct {
	Files       map[string]settingJSON `json:"files"`
	Outbound    settingJSON            `json:"outbound_proxy"`
	Environment map[string]string      `json:"environment"` // as set, each value redacted
	AuditLog    string                 `json:"audit_log"`
	Written     string                 `json:"written"` // when, RFC 3339 UTC
}

// bundleEnv are the variables that change what trustlaunch reads or how
// it connects; only those that are set are recorded.
var bundleEnv = []string{
	"HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy",
	"XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_DATA_DIRS", "XDG_CURRENT_DESKTOP",
	"APPDATA", "LOCALAPPDATA", "PROGRAMFILES", "DISPLAY", "WAYLAND_DISPLAY", "TERM", "NO_COLOR", "GODEBUG",
}

func settingFrom(value, flag, def string) settingJSON {
	if value != "" {
		return settingJSON{Value: value, From: "--" + flag}
	}
	return settingJSON{Value: def, From: "default"}
}

// newBundleSettings gathers settings.json: each file doctor read and
// where its path came from, the outbound proxy, the environment that
// changes what trustlaunch reads, and the audit log.
func newBundleSettings(s *stdio, o doctorOptions, now time.Time, auditLog *audit.Log, auditErr error) bundleSettings {
	set := bundleSettings{
		Files:       map[string]settingJSON{},
		Environment: map[string]string{},
		Written:     now.Format(time.RFC3339),
	}
	userList, _ := platform.UserWhitelistPath()
	userProfiles, _ := launcher.DefaultUserProfilesFile()
	set.Files["admin_whitelist"] = settingFrom(o.given.admin, "admin-whitelist", platform.AdminWhitelistPath())
	set.Files["user_whitelist"] = settingFrom(o.given.user, "user-whitelist", userList)
	set.Files["admin_policy"] = settingFrom(o.given.policy, "admin-policy", platform.AdminPolicyPath())
	set.Files["admin_profiles"] = settingFrom(o.profiles.admin, "admin-profiles", launcher.DefaultAdminProfilesFile())
	set.Files["user_profiles"] = settingFrom(o.profiles.user, "user-profiles", userProfiles)
	set.Files["ca_bundle"] = settingFrom(o.caBundle, "ca-bundle", descriptor.DefaultCAFile())
	if ob, err := outboundWithCredentials(s, o.outbound, o.lists.policy); err == nil {
		from := ob.Source()
		if o.outbound.url != "" {
			from = "--outbound-proxy"
		}
		set.Outbound = settingJSON{Value: ob.String(), From: from}
	} else {
		set.Outbound = settingJSON{Value: "unusable: " + err.Error(), From: "environment"}
	}
	for _, name := range bundleEnv {
		if v := s.getenv(name); v != "" {
			// A proxy URL may be written without its scheme
			// (USER:PASSWORD@HOST:PORT), which bundleRedact's URLs miss,
			// and its password is registered only when doctor could
			// read the setting.
			set.Environment[name] = redactUserinfo(v)
		}
	}
	if auditErr == nil {
		set.AuditLog = auditLog.Path()
	} else {
		set.AuditLog = "unknown: " + auditErr.Error()
	}

	return set
}

// writeBundle writes the support bundle to path, which must not exist:
// whole or not at all (writePrivateFile), readable by this user only.
func writeBundle(ctx context.Context, s *stdio, path string, o doctorOptions, doc doctorJSON, auditN int) error {
	var buf bytes.Buffer
	bw := bundleWriter{zw: zip.NewWriter(&buf), now: time.Now().UTC(), run: s}
	auditLog, auditErr := audit.New(audit.Options{})
	var text bytes.Buffer
	printDoctor(&stdio{stdout: &text, stderr: &text, secrets: s.secrets}, doc)
	bw.addJSON("version.json", doc.Build)
	bw.addJSON("settings.json", newBundleSettings(s, o, bw.now, auditLog, auditErr))
	bw.addJSON("doctor.json", doc)
	bw.addJSON("profiles.json", loadProfilesReport(o.profiles).doc)
	bw.add("README.txt", []byte(bundleReadme))
	bw.add("doctor.txt", text.Bytes())
	for _, f := range []struct{ name, path string }{
		{"files/admin-whitelist.txt", o.lists.admin},
		{"files/user-whitelist.txt", o.lists.user},
		{"files/admin-policy.toml", o.lists.policy},
	} {
		if data, ok := bundleConfigFile(f.path); ok {
			bw.add(f.name, data)
		}
	}
	bw.add("audit.jsonl", bundleAuditRecords(auditLog, auditErr, auditN))
	if bw.err != nil {
		return bw.err
	}
	if err := bw.zw.Close(); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return writePrivateFile(path, buf.Bytes())
}

// bundleWriter adds files to the bundle's zip, each redacted, and keeps
// the first error.
type bundleWriter struct {
	zw  *zip.Writer
	now time.Time
	run *stdio // whose registry of secrets scrubs every file
	err error
}

func (bw *bundleWriter) add(name string, data []byte) {
	if bw.err != nil {
		return
	}
	// Stored, not deflated: see bundleReadme.
	w, err := bw.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: bw.now})
	if err == nil {
		_, err = w.Write([]byte(bw.run.secrets.Scrub(bundleRedact(string(data)))))
	}
	bw.err = err
}

func (bw *bundleWriter) addJSON(name string, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		bw.err = cmp.Or(bw.err, err)
		return
	}
	bw.add(name, append(data, '\n'))
}

// bundleConfigFile reads a list or the policy for the bundle; ok is false
// when the file does not exist. A UTF-16 list is stored as the UTF-8 it
// means, so that the redaction reads it.
func bundleConfigFile(path string) (data []byte, ok bool) {
	data, err := platform.ReadRegularFile(path, maxBundleFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false
	case err != nil:
		return []byte(fmt.Sprintf("# not included: %v\n", err)), true
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		l, _, perr := whitelist.Parse(path, data)
		if perr != nil {
			return []byte(fmt.Sprintf("# UTF-16 file, not included: %v\n", perr)), true
		}
		return []byte("# UTF-16 file; entries as read:\n" + entriesText(l)), true
	}
	return data, true
}

// bundleAuditRecords returns the last n audit records, one JSON object a
// line, or a line saying why they could not be read.
func bundleAuditRecords(l *audit.Log, openErr error, n int) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if openErr != nil {
		enc.Encode(map[string]string{"bundle_error": openErr.Error()})
		return b.Bytes()
	}
	if n == 0 {
		return nil
	}
	recs, err := l.ReadRecent(n)
	if err != nil {
		enc.Encode(map[string]string{"bundle_error": err.Error()})
	}
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			enc.Encode(map[string]string{"bundle_error": err.Error()})
		}
	}
	return b.Bytes()
}

// entriesText lists a whitelist's entries one a line.
func entriesText(l *whitelist.List) string {
	if l == nil {
		return ""
	}
	var b strings.Builder
	for _, e := range l.Entries {
		b.WriteString(e.String() + "\n")
	}
	return b.String()
}
