package policy

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/oslog"
	"github.com/trustlaunch/trustlaunch/internal/plural"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/internal/tomlpos"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// Step is the step at which a descriptor outside the admin policy is
// refused, and at which an admin policy that cannot be used stops a launch.
// It comes after the descriptor is fetched and before any connection, so
// the token is never sent to a proxy the policy does not name.
const Step = "policy"

// maxPolicyFileBytes bounds policy.toml; a real one is a few KiB.
const maxPolicyFileBytes = 1 << 20

// DefaultFile returns the admin policy's path, platform.AdminPolicyPath.
func DefaultFile() string { return platform.AdminPolicyPath() }

// Policy is a parsed admin policy (docs/design.md "Admin policy"). A nil *Policy is no policy: today's behaviour, where the
// origin's word is final. The zero lists mean "no restriction" only when
// the key is absent from the file: "proxies = []" admits no proxy.
type Policy struct {
	Path          string
	RequireSigned bool
	// Proxies and Destinations restrict what a descriptor may name when
	// RestrictProxies and RestrictDestinations are set (the file has the
	// key).
	Proxies              []Proxy
	RestrictProxies      bool
	Destinations         []Destination
	RestrictDestinations bool
	Publishers           []descriptor.Publisher
	// OSLog is the least severe launch record that also goes to the OS's
	// log (journald or syslog, the Windows Event Log): os_log in the file,
	// oslog.LevelInfo (every record) when absent (docs/admin.md "Launch
	// records").
	OSLog oslog.Level
	// OutboundPAC is the URL of the proxy auto-config script (PAC) that
	// chooses trustlaunch's outbound proxy when neither --outbound-proxy
	// nor HTTPS_PROXY is given: outbound_pac in the file, "" when absent
	// (docs/admin.md "Outbound proxy / PAC"). It chooses only the outbound
	// proxy: Proxies still decide which security proxies a tunnel may
	// reach.
	OutboundPAC string
	// MacOSLaunch lets `open` launch on macOS (macos_launch in the file,
	// MacOSLaunch in the managed preferences), once the owner check's
	// first-run checklist has passed on this fleet's Macs
	// (docs/macos.md). Ignored elsewhere.
	MacOSLaunch     bool
	MacOSLaunchFrom string // where MacOSLaunch came from when not Path: the managed preferences file
	// RequireSignedFrom, ProxiesFrom, DestinationsFrom, PublishersFrom and
	// OSLogFrom name where a setting came from when it is not Path: the
	// Group Policy value or key that replaced the file's (Merge).
	RequireSignedFrom, ProxiesFrom, DestinationsFrom, PublishersFrom, OSLogFrom string
}

// OSLogLevel returns the level of the launch records in the OS's log that
// src sets: every record when there is no policy, or one that cannot be
// used (that launch stops, and its record is the one to see).
func (src Source) OSLogLevel() oslog.Level {
	if src.Err != nil || src.Policy == nil {
		return oslog.LevelInfo
	}
	return src.Policy.OSLog
}

// source returns from, or the policy file when from is empty.
func (p *Policy) source(from string) string {
	if from != "" {
		return from
	}
	return p.Path
}

// MacOSLaunchSource names where MacOSLaunch came from: the managed
// preferences' key, or the policy file.
func (p *Policy) MacOSLaunchSource() string { return p.source(p.MacOSLaunchFrom) }

// PublishersSource names where the publishers came from, for messages; ""
// for a nil policy (descriptor.Publishers).
func (p *Policy) PublishersSource() string {
	if p == nil {
		return ""
	}
	return p.source(p.PublishersFrom)
}

// Proxy is one [[proxies]] table: a whitelist entry (host or
// host:port, whitelist.ParseEntry) and the SPKI pins the proxy must present.
type Proxy struct {
	Entry whitelist.Entry
	Pins  []string
	Line  int
	Src   string // where it came from when not the file's line: a Group Policy value
}

// Destination is one [[destinations]] table: a whitelist entry,
// whether end-to-end TLS is required, and the pins or private CA the
// destination's certificate must match (either implies TLS).
type Destination struct {
	Entry whitelist.Entry
	TLS   bool
	Pins  []string
	CAPEM string
	roots *x509.CertPool
	Line  int
	Src   string // where it came from when not the file's line: a Group Policy value
}

// Source is the admin policy as a launch sees it.
type Source struct {
	Path   string
	Policy *Policy // nil when the file does not exist
	Err    error   // the file exists but cannot be used: every launch stops
}

// Problem is one thing wrong in a policy file. Line is 0 when the
// TOML decoder gives no position; Key then names the setting.
type Problem struct {
	Line int
	Key  string
	Msg  string // sanitized
}

// Format returns "FILE:LINE: message", or "FILE: key: message" without a
// line, the form `trustlaunch policy check` prints.
func (p Problem) Format(path string) string {
	if p.Line > 0 {
		return path + ":" + strconv.Itoa(p.Line) + ": " + p.Msg
	}
	if p.Key != "" {
		return path + ": " + p.Key + ": " + p.Msg
	}
	return path + ": " + p.Msg
}

// FileError is a policy file with problems. At launch time any
// problem stops every launch: skipping a bad require_signed or publisher
// would quietly allow more than the administrator wrote.
type FileError struct {
	Path     string
	Problems []Problem
}

func (e *FileError) Error() string {
	msg := "admin policy " + e.Problems[0].Format(e.Path)
	if n := len(e.Problems) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more problems)", n)
	}
	return msg
}

// Hint tells the user what to do.
func (e *FileError) Hint() string {
	return "every launch stops until the admin policy is fixed; an administrator can list its problems with: trustlaunch policy check " + e.Path
}

// Error is a descriptor that the admin policy refuses: Field is the
// descriptor field at fault ("proxy.address", "destination", "signature"),
// Value its value (sanitized), Path the policy file.
type Error struct {
	Path  string
	Field string
	Value string
	msg   string
}

func (e *Error) Error() string {
	return "admin policy " + e.Path + " refuses the descriptor: " + e.msg
}

// Hint tells the user what to do.
func (e *Error) Hint() string {
	return "your administrator's policy does not allow this session; nothing was sent to the proxy. Tell your administrator, quoting this message"
}

// Load reads the admin policy at path under the admin file's
// ownership rule (platform.CheckAdminFile). A missing file is no policy; a
// file that is unsafe, unreadable or has any problem is Err, which stops
// every launch (fail closed, as for the admin whitelist).
//
// On Windows, Group Policy settings replace the file's (Merge), and on
// macOS the managed preferences' (managedprefs.go); a machine policy that
// cannot be read or has a malformed value is Err too.
func Load(path string) Source {
	return readMachinePolicy().apply(loadPolicy(path, platform.CheckAdminFile))
}

func loadPolicy(path string, check func(string) error) Source {
	src := Source{Path: path}
	if err := check(path); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			src.Err = fmt.Errorf("admin policy: %w", err)
		}
		return src
	}
	p, probs, err := ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Removed between the check and the read: as if it never existed.
	case err != nil:
		src.Err = err
	case len(probs) > 0:
		src.Err = &FileError{Path: path, Problems: probs}
	default:
		src.Policy = p
	}
	return src
}

// ReadFile reads and parses the policy at path with no ownership
// check, for `trustlaunch policy check` and `descriptor verify`.
func ReadFile(path string) (*Policy, []Problem, error) {
	data, err := platform.ReadRegularFile(path, maxPolicyFileBytes)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("admin policy: %w", err)
	}
	p, probs := Parse(path, data)
	return p, probs, nil
}

// Parse parses a policy file:
//
//	require_signed = true
//
//	[[proxies]]
//	address = "proxy.example.com:8443"   # host or host:port, as in the whitelist
//	pins = ["sha256/..."]                # optional
//
//	[[destinations]]
//	address = "mainframe.example.com:992"
//	tls = true                           # end-to-end TLS required
//	pins = ["sha256/..."]                # optional; implies tls
//	ca_pem = """-----BEGIN CERTIFICATE-----..."""  # optional; implies tls
//
//	[[publishers]]
//	name = "Payroll portal"
//	key = """-----BEGIN PUBLIC KEY-----..."""      # Ed25519 or ECDSA P-256
//	origins = ["portal.example.com"]     # optional
//
//	os_log = "warning"                   # info (default), warning, error or off
//	macos_launch = true                  # let open launch on macOS (docs/macos.md)
//
// It returns every problem found, each with its line where the TOML
// library knows it. The Policy is complete only when there are none.
func Parse(path string, data []byte) (*Policy, []Problem) {
	pp := &policyParser{pol: &Policy{Path: path}}
	text := strings.TrimPrefix(string(data), "\ufeff")
	var root map[string]toml.Primitive
	md, err := toml.Decode(text, &root)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			pp.add(pe.Position.Line, "", "%s", safetext.Sanitize(pe.Message))
		} else {
			pp.add(0, "", "%s", safetext.Sanitize(err.Error()))
		}
		return pp.pol, pp.probs
	}
	pp.md = &md
	for _, key := range slices.Sorted(maps.Keys(root)) {
		prim := root[key]
		switch key {
		case "require_signed":
			if err := md.PrimitiveDecode(prim, &pp.pol.RequireSigned); err != nil {
				pp.add(tomlpos.Line(&md, prim), key, "require_signed must be true or false")
			}
		case "proxies":
			pp.pol.RestrictProxies = true
			for _, t := range pp.tables(key, prim) {
				pp.proxy(t)
			}
		case "destinations":
			pp.pol.RestrictDestinations = true
			for _, t := range pp.tables(key, prim) {
				pp.destination(t)
			}
		case "publishers":
			for _, t := range pp.tables(key, prim) {
				pp.publisher(t)
			}
		case "os_log":
			var level string
			err := md.PrimitiveDecode(prim, &level)
			if err == nil {
				pp.pol.OSLog, err = oslog.ParseLevel(level)
			}
			if err != nil {
				pp.add(tomlpos.Line(&md, prim), key, "os_log must be one of %s: the least severe launch record the system log gets", oslog.Levels())
			}
		case "outbound_pac":
			var raw string
			err := md.PrimitiveDecode(prim, &raw)
			if err == nil {
				err = CheckPACURL(raw)
			}
			if err != nil {
				pp.add(tomlpos.Line(&md, prim), key, "outbound_pac must be the http:// or https:// URL of a PAC script: %v", err)
				break
			}
			pp.pol.OutboundPAC = raw
		case "macos_launch":
			if err := md.PrimitiveDecode(prim, &pp.pol.MacOSLaunch); err != nil {
				pp.add(tomlpos.Line(&md, prim), key, "macos_launch must be true or false")
			}
		default:
			pp.add(tomlpos.FirstLine(&md, prim), key, "unknown key %s; a policy has require_signed, os_log, outbound_pac, macos_launch, [[proxies]], [[destinations]] and [[publishers]]", safetext.QuoteExcerpt(key, 60))
		}
	}
	if pp.pol.RequireSigned && len(pp.pol.Publishers) == 0 && len(pp.probs) == 0 {
		pp.add(tomlpos.Line(&md, root["require_signed"]), "require_signed", "require_signed = true with no [[publishers]] refuses every descriptor; add the portal's publisher key")
	}
	slices.SortStableFunc(pp.probs, func(a, b Problem) int { return a.Line - b.Line })
	return pp.pol, pp.probs
}

// CheckPACURL checks the URL of a PAC script: http or https, a host, no
// user information (a password in it would reach messages). Its errors
// quote nothing of the URL.
func CheckPACURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("the URL does not parse")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("want an http:// or https:// URL")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("the URL has no host")
	case u.User != nil:
		return errors.New("the URL has a user name or password, which trustlaunch does not send")
	case strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return errors.New("the URL has a space or a control character")
	}
	return nil
}

type policyParser struct {
	md    *toml.MetaData
	pol   *Policy
	probs []Problem
}

// policyTable is one [[name]] table with the line it starts on (the first
// of its keys: the library keeps no position for the header).
type policyTable struct {
	name string
	keys map[string]toml.Primitive
	line int
}

func (pp *policyParser) add(line int, key, format string, args ...any) {
	pp.probs = append(pp.probs, Problem{Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// tables decodes an array of tables, reporting a value of another shape.
func (pp *policyParser) tables(name string, prim toml.Primitive) []policyTable {
	var arr []toml.Primitive
	if err := pp.md.PrimitiveDecode(prim, &arr); err != nil {
		pp.add(tomlpos.FirstLine(pp.md, prim), name, "%s must be tables, as in [[%s]]", name, name)
		return nil
	}
	var out []policyTable
	for i, el := range arr {
		var keys map[string]toml.Primitive
		if !tomlpos.IsTable(pp.md, el) || pp.md.PrimitiveDecode(el, &keys) != nil {
			pp.add(tomlpos.Line(pp.md, prim), fmt.Sprintf("%s[%d]", name, i), "%s must be tables, as in [[%s]]", name, name)
			continue
		}
		t := policyTable{name: name, keys: keys}
		for _, k := range keys {
			if l := tomlpos.Line(pp.md, k); l > 0 && (t.line == 0 || l < t.line) {
				t.line = l
			}
		}
		out = append(out, t)
	}
	return out
}

// known reports the keys of t outside allowed.
func (pp *policyParser) known(t policyTable, allowed ...string) {
	for _, k := range slices.Sorted(maps.Keys(t.keys)) {
		if !slices.Contains(allowed, k) {
			pp.add(pp.line(t, k), t.name+"."+k, "unknown key %s in [[%s]]; it has %s", safetext.QuoteExcerpt(k, 60), t.name, strings.Join(allowed, ", "))
		}
	}
}

// line returns the line of key k of t, or the table's when unknown.
func (pp *policyParser) line(t policyTable, k string) int {
	if prim, ok := t.keys[k]; ok {
		if l := tomlpos.Line(pp.md, prim); l > 0 {
			return l
		}
	}
	return t.line
}

func (pp *policyParser) str(t policyTable, k string, required bool) (string, bool) {
	prim, ok := t.keys[k]
	if !ok {
		if required {
			pp.add(t.line, t.name+"."+k, "[[%s]] has no %s", t.name, k)
		}
		return "", false
	}
	var s string
	if err := pp.md.PrimitiveDecode(prim, &s); err != nil {
		pp.add(pp.line(t, k), t.name+"."+k, "%s must be a string", k)
		return "", false
	}
	return s, true
}

func (pp *policyParser) strs(t policyTable, k string) []string {
	prim, ok := t.keys[k]
	if !ok {
		return nil
	}
	var ss []string
	if err := pp.md.PrimitiveDecode(prim, &ss); err != nil {
		pp.add(pp.line(t, k), t.name+"."+k, "%s must be an array of strings", k)
		return nil
	}
	return ss
}

// entry parses an address with the whitelist's entry parser, so that a
// policy entry means exactly what the same text means in whitelist.txt.
func (pp *policyParser) entry(t policyTable, k, s string) (whitelist.Entry, bool) {
	e, err := whitelist.ParseEntry(s)
	if err != nil {
		pp.add(pp.line(t, k), t.name+"."+k, "%s", safetext.Sanitize(err.Error()))
		return whitelist.Entry{}, false
	}
	return e, true
}

func (pp *policyParser) pins(t policyTable) []string {
	pins := pp.strs(t, "pins")
	for _, p := range pins {
		if err := checkPin(p); err != nil {
			pp.add(pp.line(t, "pins"), t.name+".pins", "%v", err)
		}
	}
	return pins
}

func (pp *policyParser) proxy(t policyTable) {
	pp.known(t, "address", "pins")
	addr, ok := pp.str(t, "address", true)
	pins := pp.pins(t)
	if !ok {
		return
	}
	if e, ok := pp.entry(t, "address", addr); ok {
		pp.pol.Proxies = append(pp.pol.Proxies, Proxy{Entry: e, Pins: pins, Line: t.line})
	}
}

func (pp *policyParser) destination(t policyTable) {
	pp.known(t, "address", "tls", "pins", "ca_pem")
	d := Destination{Line: t.line}
	addr, ok := pp.str(t, "address", true)
	if ok {
		d.Entry, ok = pp.entry(t, "address", addr)
	}
	if prim, has := t.keys["tls"]; has {
		if err := pp.md.PrimitiveDecode(prim, &d.TLS); err != nil {
			pp.add(pp.line(t, "tls"), "destinations.tls", "tls must be true or false")
		}
	}
	d.Pins = pp.pins(t)
	if ca, has := pp.str(t, "ca_pem", false); has {
		certs, err := descriptor.ParseCAPEM(ca)
		if err != nil {
			pp.add(pp.line(t, "ca_pem"), "destinations.ca_pem", "ca_pem %s", err)
		} else {
			d.CAPEM, d.roots = ca, newPool(certs)
		}
	}
	if (len(d.Pins) > 0 || d.CAPEM != "") && !d.TLS {
		if _, has := t.keys["tls"]; has {
			pp.add(pp.line(t, "tls"), "destinations.tls", "pins and ca_pem check the destination's certificate, which needs tls = true")
		}
		d.TLS = true // pins or a CA mean end-to-end TLS; say so by requiring it
	}
	if ok {
		pp.pol.Destinations = append(pp.pol.Destinations, d)
	}
}

func (pp *policyParser) publisher(t policyTable) {
	pp.known(t, "name", "key", "origins")
	name, nameOK := pp.str(t, "name", true)
	if nameOK {
		switch {
		case strings.TrimSpace(name) == "" || len(name) > 100 || safetext.Sanitize(name) != name:
			pp.add(pp.line(t, "name"), "publishers.name", "name %s must be 1 to 100 printable characters", safetext.QuoteExcerpt(name, 60))
			nameOK = false
		case slices.ContainsFunc(pp.pol.Publishers, func(p descriptor.Publisher) bool { return p.Name == name }):
			pp.add(pp.line(t, "name"), "publishers.name", "publisher %s is named twice", safetext.Quote(name))
			nameOK = false
		}
	}
	keyPEM, keyOK := pp.str(t, "key", true)
	var pub descriptor.Publisher
	if keyOK {
		var err error
		if pub.Key, pub.Alg, err = descriptor.ParsePublicKeyPEM([]byte(keyPEM)); err != nil {
			pp.add(pp.line(t, "key"), "publishers.key", "%v", err)
			keyOK = false
		} else if pub.KeyID, err = descriptor.KeyID(pub.Key); err != nil {
			pp.add(pp.line(t, "key"), "publishers.key", "%v", err)
			keyOK = false
		} else if slices.ContainsFunc(pp.pol.Publishers, func(p descriptor.Publisher) bool { return p.KeyID == pub.KeyID }) {
			pp.add(pp.line(t, "key"), "publishers.key", "the same key is given to two publishers")
			keyOK = false
		}
	}
	originsOK := true
	for _, o := range pp.strs(t, "origins") {
		e, ok := pp.entry(t, "origins", o)
		originsOK = originsOK && ok
		pub.Origins = append(pub.Origins, e)
	}
	if nameOK && keyOK && originsOK {
		pub.Name, pub.Line = name, t.line
		pp.pol.Publishers = append(pp.pol.Publishers, pub)
	}
}

// checkPin is connector.ParsePin, the one pin rule, for a pin of the
// policy file or of Group Policy; the error quotes the pin, as the
// administrator wrote it.
func checkPin(pin string) error {
	if _, err := connector.ParsePin(pin); err != nil {
		return fmt.Errorf("%s %w", safetext.QuoteExcerpt(pin, 80), err)
	}
	return nil
}

func newPool(certs []*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}

// Publisher returns the publisher whose key has the kid; none for a nil
// policy (descriptor.Publishers).
func (p *Policy) Publisher(kid string) (*descriptor.Publisher, bool) {
	if p == nil {
		return nil, false
	}
	for i := range p.Publishers {
		if p.Publishers[i].KeyID == kid {
			return &p.Publishers[i], true
		}
	}
	return nil, false
}

// Grant is what the policy adds to a descriptor it allows: the
// admin's pins for the proxy, and TLS, pins and roots for the destination.
type Grant struct {
	ProxyPins []string
	Dest      *Destination
}

// Apply adds the grant to a connector configuration built from the
// descriptor.
func (g Grant) Apply(cfg *connector.Config) {
	cfg.PolicyPins = slices.Clone(g.ProxyPins)
	if g.Dest != nil {
		cfg.DestPins = slices.Clone(g.Dest.Pins)
		if g.Dest.roots != nil {
			cfg.DestRootCAs = g.Dest.roots
		}
	}
}

// refuse names, as the Error's Path, where the setting that refuses
// came from: the policy file or the Group Policy value that replaced it.
func (p *Policy) refuse(field, value, format string, args ...any) error {
	from := p.Path
	switch {
	case field == "signature":
		from = p.source(p.RequireSignedFrom)
	case strings.HasPrefix(field, "proxy."):
		from = p.source(p.ProxiesFrom)
	case strings.HasPrefix(field, "destination"):
		from = p.source(p.DestinationsFrom)
	}
	return &Error{Path: from, Field: field, Value: value, msg: fmt.Sprintf(format, args...)}
}

// Check decides whether the policy allows a descriptor: it must be signed
// when require_signed says so, and name a listed proxy and destination,
// with end-to-end TLS where the destination's entry requires it. A nil
// policy allows everything. Errors are *Error, naming the field, the
// value and the policy file.
func (p *Policy) Check(d *descriptor.Descriptor) (Grant, error) {
	var g Grant
	if p == nil {
		return g, nil
	}
	if p.RequireSigned && d.Publisher == "" {
		return g, p.refuse("signature", "", "the descriptor is not signed, and the policy requires a signature (require_signed = true)")
	}
	addr := safetext.Quote(d.Proxy.Address)
	if p.RestrictProxies {
		o, err := decidedOrigin(d.Proxy.Address)
		rule, ok := -1, false
		if err == nil {
			rule, ok = bestMatch(len(p.Proxies), func(i int) whitelist.Entry { return p.Proxies[i].Entry }, o)
		}
		if !ok {
			return g, p.refuse("proxy.address", d.Proxy.Address, "proxy.address %s is not a proxy the policy lists%s", addr, spellingNote(err))
		}
		g.ProxyPins = p.Proxies[rule].Pins
	}
	dest := net.JoinHostPort(d.Destination.Host, strconv.Itoa(d.Destination.Port))
	if p.RestrictDestinations {
		o, err := decidedOrigin(dest)
		rule, ok := -1, false
		if err == nil {
			rule, ok = bestMatch(len(p.Destinations), func(i int) whitelist.Entry { return p.Destinations[i].Entry }, o)
		}
		if !ok {
			return g, p.refuse("destination", dest, "destination %s is not a destination the policy lists%s", safetext.Quote(dest), spellingNote(err))
		}
		g.Dest = &p.Destinations[rule]
		if g.Dest.TLS && !d.Destination.TLS {
			at := fmt.Sprintf("line %d", g.Dest.Line)
			if g.Dest.Src != "" {
				at = fmt.Sprintf("value %d", g.Dest.Line)
			}
			return g, p.refuse("destination.tls", "false", "destination %s requires end-to-end TLS (%s), and the descriptor has destination.tls false", safetext.Quote(dest), at)
		}
	}
	return g, nil
}

// errOtherSpelling is decidedOrigin's error for a host:port that the
// policy would compare in another spelling than the one the connector is
// given.
var errOtherSpelling = errors.New("not in the spelling the policy compares")

// decidedOrigin returns the origin the policy matches for a descriptor's
// host:port, which must be spelled exactly as that origin is (a host
// canonicalHost made): the connector is given the descriptor's spelling,
// so the policy decides on that very spelling, never on one it folded
// ("10.1.2.3." matching "10.1.2.3" while the proxy is asked for a DNS
// name). descriptor.Decode writes hosts so; a descriptor built another way
// that is not is refused.
func decidedOrigin(hostport string) (whitelist.Origin, error) {
	o, err := whitelist.ParseOrigin("https://" + hostport + "/")
	if err != nil {
		return o, err
	}
	if o.HostPort() != hostport {
		return whitelist.Origin{}, errOtherSpelling
	}
	return o, nil
}

// spellingNote adds to a refusal why decidedOrigin refused a host whose
// spelling was not the policy's.
func spellingNote(err error) string {
	if errors.Is(err, errOtherSpelling) {
		return " in this spelling (it must be in lower case, without a trailing dot)"
	}
	return ""
}

// bestMatch returns the entry that admits o, preferring one with o's port
// over a bare host, so that "mainframe:992" with its pins is not bypassed
// by a "mainframe" line above it. Matching is whitelist.Entry.Matches.
func bestMatch(n int, entry func(int) whitelist.Entry, o whitelist.Origin) (int, bool) {
	best := -1
	for i := range n {
		e := entry(i)
		if !e.Matches(o) {
			continue
		}
		if e.Port != 0 {
			return i, true
		}
		if best < 0 {
			best = i
		}
	}
	return best, best >= 0
}

// Summary describes the policy in one line for status and logs.
func (p *Policy) Summary() string {
	if p == nil {
		return "no admin policy"
	}
	var parts []string
	if p.RestrictProxies {
		parts = append(parts, plural.Count(len(p.Proxies), "proxy", "proxies"))
	} else {
		parts = append(parts, "any proxy")
	}
	if p.RestrictDestinations {
		parts = append(parts, plural.Count(len(p.Destinations), "destination", "destinations"))
	} else {
		parts = append(parts, "any destination")
	}
	parts = append(parts, plural.Count(len(p.Publishers), "publisher", "publishers"))
	if p.RequireSigned {
		parts = append(parts, "signature required")
	}
	if p.OutboundPAC != "" {
		// Scheme, host and path: a query may hold a key.
		u, _ := url.Parse(p.OutboundPAC) // CheckPACURL parsed it
		parts = append(parts, "outbound_pac "+safetext.Quote((&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()))
	}
	if p.OSLog != oslog.LevelInfo {
		parts = append(parts, "os_log "+p.OSLog.String())
	}
	if p.MacOSLaunch {
		parts = append(parts, "macos_launch")
	}
	return strings.Join(parts, ", ")
}
