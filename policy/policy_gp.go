package policy

import (
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/oslog"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// Windows Group Policy (docs/admin.md "Windows Group Policy"). The ADMX template
// packaging/windows/admx/trustlaunch.admx writes these under
// HKLM\Software\Policies\trustlaunch; TestADMXMatchesCode keeps the two in
// step. A setting Group Policy gives replaces the same setting from the
// files, as Chrome's platform policy does; the others still come from the
// files. Everything here is pure: the registry is read by
// platform.ReadGroupPolicy and fed in, so the merge is tested on every OS.
const (
	GPAllowAdminListOnly = "AllowAdminListOnly" // REG_DWORD 0|1: the admin list's mode
	GPRequireSigned      = "RequireSigned"      // REG_DWORD 0|1: require_signed
	GPOSLog              = "OSLog"              // REG_SZ info|warning|error|off: os_log
	GPServers            = "Servers"            // subkey: the admin list's entries, one REG_SZ a value
	GPProxies            = "Proxies"            // subkey: [[proxies]], "ADDRESS [sha256/PIN ...]"
	GPDestinations       = "Destinations"       // subkey: [[destinations]], "ADDRESS [tls] [sha256/PIN ...] [ca=BASE64-DER ...]"
	GPPublishers         = "Publishers"         // subkey: [[publishers]], value name = name, "BASE64-SPKI [ORIGIN ...]"
)

// GPValueNames are the values of the key itself that the code
// reads, GPListKeys its subkeys (ADMX <list> elements).
var (
	GPValueNames = []string{GPAllowAdminListOnly, GPRequireSigned, GPOSLog}
	GPListKeys   = []string{GPServers, GPProxies, GPDestinations, GPPublishers}
)

// GPError is Group Policy that cannot be used: a value that is
// malformed, of the wrong type or unknown, or a key that cannot be read.
// Like an unsafe admin file it stops every launch: skipping a bad value
// would quietly allow more than the administrator set.
type GPError struct {
	Value string // the registry value or key at fault
	Msg   string // sanitized
	hint  string // when not empty, in place of Group Policy's (macOS managed preferences)
	label string // what it is, when not Group Policy: "managed preferences"
}

func (e *GPError) Error() string {
	label := e.label
	if label == "" {
		label = "group policy"
	}
	return label + " " + e.Value + ": " + e.Msg
}

// Hint tells the user what to do.
func (e *GPError) Hint() string {
	if e.hint != "" {
		return e.hint
	}
	return "every launch stops until Group Policy is fixed: an administrator corrects or removes the value with the trustlaunch ADMX template (gpedit.msc, Intune) or reg.exe; trustlaunch whitelist paths shows what is read"
}

// GPSettings is Group Policy parsed: a Has* flag says the setting
// is given, and then replaces the file's.
type GPSettings struct {
	HasServers       bool
	Servers          []whitelist.Entry // Line is the value's number
	HasAdminOnly     bool
	AdminOnly        bool
	HasRequireSigned bool
	RequireSigned    bool
	HasProxies       bool
	Proxies          []Proxy
	HasDestinations  bool
	Destinations     []Destination
	HasPublishers    bool
	Publishers       []descriptor.Publisher
	HasOSLog         bool
	OSLog            oslog.Level
}

// Any reports whether Group Policy gives any setting.
func (s *GPSettings) Any() bool {
	return s.HasServers || s.HasAdminOnly || s.HasRequireSigned || s.HasProxies || s.HasDestinations || s.HasPublishers || s.HasOSLog
}

// GPValuePath names a value of the policy key, or of one of its subkeys
// when sub is not empty, as messages and `whitelist show` print it.
func GPValuePath(sub, name string) string { return groupPolicy.value(sub, name) }

// GPListPath names a subkey of the policy key.
func GPListPath(sub string) string { return groupPolicy.list(sub) }

// machineNames says how messages name the settings of a machine policy
// and where they come from: Windows Group Policy's registry key, or on
// macOS the managed preferences file (managedprefs.go), whose settings
// have the same names and forms and go through the same parser.
type machineNames struct {
	root  string                        // the key or file, as a whole
	value func(sub, name string) string // a value of the root, or of one of its lists when sub is not empty
	list  func(sub string) string       // one of its lists
	hint  string                        // the fix, for GPError.Hint; empty: Group Policy's
	label string                        // what GPError.Error calls it; empty: "group policy"
}

var groupPolicy = machineNames{
	root: platform.GroupPolicyPath,
	value: func(sub, name string) string {
		if sub == "" {
			return platform.GroupPolicyPath + `\` + name
		}
		return platform.GroupPolicyPath + `\` + sub + ` value "` + name + `"`
	},
	list: func(sub string) string { return platform.GroupPolicyPath + `\` + sub },
}

// ParseGP interprets what platform.ReadGroupPolicy read. Any
// problem is a *GPError naming the value; the settings are then
// unusable as a whole. A list subkey with no values is not given (what the
// Group Policy client leaves when a list policy is disabled).
func ParseGP(gp platform.GroupPolicy) (GPSettings, error) { return parseGP(gp, groupPolicy) }

func parseGP(gp platform.GroupPolicy, n machineNames) (GPSettings, error) {
	var s GPSettings
	if gp.Absent != "" {
		return s, nil
	}
	for _, v := range gp.Values {
		var err error
		switch v.Name {
		case GPAllowAdminListOnly:
			s.HasAdminOnly = true
			s.AdminOnly, err = gpBool(v)
		case GPRequireSigned:
			s.HasRequireSigned = true
			s.RequireSigned, err = gpBool(v)
		case GPOSLog:
			s.HasOSLog = true
			s.OSLog, err = gpLevel(v)
		default:
			err = fmt.Errorf("unknown value; the trustlaunch template defines %s and the subkeys %s", strings.Join(GPValueNames, ", "), strings.Join(GPListKeys, ", "))
		}
		if err != nil {
			return GPSettings{}, &GPError{Value: n.value("", safetext.Sanitize(v.Name)), Msg: err.Error(), hint: n.hint, label: n.label}
		}
	}
	for _, sk := range gp.Subkeys {
		if !slices.Contains(GPListKeys, sk.Name) {
			return GPSettings{}, &GPError{Value: n.list(safetext.Sanitize(sk.Name)), Msg: "unknown subkey; the trustlaunch template defines " + strings.Join(GPListKeys, ", "), hint: n.hint, label: n.label}
		}
		if len(sk.Values) == 0 {
			continue
		}
		for _, v := range sk.Values {
			if err := s.listValue(n, sk.Name, v); err != nil {
				return GPSettings{}, &GPError{Value: n.value(sk.Name, safetext.Sanitize(v.Name)), Msg: err.Error(), hint: n.hint, label: n.label}
			}
		}
		switch sk.Name {
		case GPServers:
			s.HasServers = true
		case GPProxies:
			s.HasProxies = true
		case GPDestinations:
			s.HasDestinations = true
		case GPPublishers:
			s.HasPublishers = true
		}
	}
	// require_signed with no publisher is checked by Merge: the
	// publishers may come from the file.
	return s, nil
}

func gpBool(v platform.RegistryValue) (bool, error) {
	if v.Type != platform.RegDWORD {
		return false, fmt.Errorf("is %s, want REG_DWORD 0 or 1", platform.RegTypeName(v.Type))
	}
	switch v.Number {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, fmt.Errorf("is %d, want REG_DWORD 0 or 1", v.Number)
}

// gpLevel reads the OS log's level, REG_SZ as the template's list of
// levels writes it.
func gpLevel(v platform.RegistryValue) (oslog.Level, error) {
	if v.Type != platform.RegSZ {
		return 0, fmt.Errorf("is %s, want REG_SZ %s", platform.RegTypeName(v.Type), oslog.Levels())
	}
	l, err := oslog.ParseLevel(v.String)
	if err != nil {
		return 0, fmt.Errorf("is %s, want one of %s", safetext.QuoteExcerpt(v.String, 40), oslog.Levels())
	}
	return l, nil
}

// listValue parses one entry of a list subkey into s.
func (s *GPSettings) listValue(n machineNames, sub string, v platform.RegistryValue) error {
	if v.Type != platform.RegSZ {
		return fmt.Errorf("is %s, want REG_SZ", platform.RegTypeName(v.Type))
	}
	e := gpEntry{src: n.value(sub, v.Name), name: v.Name, fields: strings.Fields(v.String)}
	if sub != GPPublishers {
		// The template's lists number their values 1, 2, ... (valuePrefix
		// ""); the number is the entry's position in messages.
		n, err := strconv.Atoi(v.Name)
		if err != nil || n < 1 || strconv.Itoa(n) != v.Name {
			return errors.New("value names in this list are 1, 2, 3, ... (what the template writes)")
		}
		e.num = n
	}
	if len(e.fields) == 0 {
		return errors.New("is empty")
	}
	switch sub {
	case GPServers:
		return s.server(e)
	case GPProxies:
		return s.proxy(e)
	case GPDestinations:
		return s.destination(e)
	case GPPublishers:
		return s.publisher(e)
	}
	return nil // not reached: ParseGP checked the subkey's name
}

// gpEntry is one value of a list subkey: its data split on white space,
// the value's name and number, and where it is, for messages.
type gpEntry struct {
	src    string   // GPValuePath of the value
	name   string   // the value's name
	num    int      // its number (1, 2, ...), 0 for Publishers
	fields []string // the data, at least one field
}

// address parses an address with the whitelist's entry parser, as the
// policy file does, numbered as the value is.
func (e gpEntry) address(text string) (whitelist.Entry, error) {
	w, err := whitelist.ParseEntry(text)
	if err != nil {
		return whitelist.Entry{}, errors.New(safetext.Sanitize(err.Error()))
	}
	w.Line = e.num
	return w, nil
}

// server: "HOST[:PORT]", one a value.
func (s *GPSettings) server(e gpEntry) error {
	if len(e.fields) != 1 {
		return fmt.Errorf("holds %d entries; give one host or host:port a value", len(e.fields))
	}
	w, err := e.address(e.fields[0])
	if err != nil {
		return err
	}
	s.Servers = append(s.Servers, w)
	return nil
}

// proxy: "ADDRESS [sha256/PIN ...]".
func (s *GPSettings) proxy(e gpEntry) error {
	w, err := e.address(e.fields[0])
	if err != nil {
		return err
	}
	pins := e.fields[1:]
	for _, p := range pins {
		if err := checkPin(p); err != nil {
			return err
		}
	}
	s.Proxies = append(s.Proxies, Proxy{Entry: w, Pins: pins, Line: e.num, Src: e.src})
	return nil
}

// destination: "ADDRESS [tls] [sha256/PIN ...] [ca=BASE64-DER ...]".
func (s *GPSettings) destination(e gpEntry) error {
	w, err := e.address(e.fields[0])
	if err != nil {
		return err
	}
	d := Destination{Entry: w, Line: e.num, Src: e.src}
	var cas []string
	for _, tok := range e.fields[1:] {
		switch {
		case tok == "tls":
			d.TLS = true
		case strings.HasPrefix(tok, "ca="):
			der, err := base64.StdEncoding.DecodeString(tok[len("ca="):])
			if err != nil {
				return fmt.Errorf("%s is not ca= and the base64 of a DER certificate", safetext.QuoteExcerpt(tok, 40))
			}
			cas = append(cas, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
		default:
			if err := checkPin(tok); err != nil {
				return fmt.Errorf("%v (a destination takes tls, sha256/PIN and ca=BASE64-DER after its address)", err)
			}
			d.Pins = append(d.Pins, tok)
		}
	}
	if len(cas) > 0 {
		certs, err := descriptor.ParseCAPEM(strings.Join(cas, ""))
		if err != nil {
			return errors.New("ca= " + err.Error())
		}
		d.CAPEM = strings.Join(cas, "")
		d.roots = newPool(certs)
	}
	if len(d.Pins) > 0 || d.CAPEM != "" {
		d.TLS = true // as in the file: pins or a CA mean end-to-end TLS
	}
	s.Destinations = append(s.Destinations, d)
	return nil
}

// publisher: the value's name is the publisher's; the data is
// "BASE64-SPKI [ORIGIN ...]".
func (s *GPSettings) publisher(e gpEntry) error {
	if strings.TrimSpace(e.name) == "" || len(e.name) > 100 || safetext.Sanitize(e.name) != e.name {
		return errors.New("the value name is the publisher's name: 1 to 100 printable characters")
	}
	der, err := base64.StdEncoding.DecodeString(e.fields[0])
	if err != nil {
		return errors.New("the data starts with the publisher key: the base64 of its DER SubjectPublicKeyInfo (the lines of trustlaunch descriptor keygen's FILE.pub between BEGIN and END)")
	}
	pub := descriptor.Publisher{Name: e.name, Line: e.num, Src: e.src}
	if pub.Key, pub.Alg, err = descriptor.ParsePublicKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})); err != nil {
		return err
	}
	if pub.KeyID, err = descriptor.KeyID(pub.Key); err != nil {
		return err
	}
	if slices.ContainsFunc(s.Publishers, func(p descriptor.Publisher) bool { return p.KeyID == pub.KeyID }) {
		return errors.New("the same key is given to two publishers")
	}
	for _, o := range e.fields[1:] {
		w, err := e.address(o)
		if err != nil {
			return err
		}
		w.Line = 0
		pub.Origins = append(pub.Origins, w)
	}
	s.Publishers = append(s.Publishers, pub)
	return nil
}

// MergeAdmin returns the admin whitelist as a launch sees it: the file's
// (from whitelist.LoadAdmin) with the entries and the mode that Group
// Policy gives in their place. An admin file that cannot be used still
// stops every launch, and so does Group Policy that cannot be read or
// parsed (gpErr, or a malformed value): fail closed both ways.
func MergeAdmin(admin whitelist.Source, gp platform.GroupPolicy, gpErr error) whitelist.Source {
	return mergeAdmin(admin, gp, gpErr, groupPolicy)
}

func mergeAdmin(admin whitelist.Source, gp platform.GroupPolicy, gpErr error, n machineNames) whitelist.Source {
	set, err := groupPolicySettings(gp, gpErr, n)
	if err != nil {
		return whitelist.Source{Path: admin.Path, Err: err}
	}
	if admin.Err != nil || (!set.HasServers && !set.HasAdminOnly) {
		return admin
	}
	out := whitelist.Source{Path: admin.Path}
	var entries []whitelist.Entry
	listPath, adminOnly, modeFrom, registry := admin.Path, false, "", false
	if admin.List != nil {
		entries, adminOnly = admin.List.Entries, admin.List.AdminOnly
		out.Problems = admin.Problems
	}
	if set.HasServers {
		entries, listPath, registry = set.Servers, n.list(GPServers), true
		out.Problems = nil
		if admin.List != nil {
			modeFrom = admin.Path
		}
	}
	if set.HasAdminOnly {
		adminOnly, modeFrom = set.AdminOnly, n.value("", GPAllowAdminListOnly)
	}
	l := whitelist.NewList(listPath, adminOnly, entries)
	l.ModeFrom, l.Registry = modeFrom, registry
	out.List = l
	return out
}

// Merge returns the admin policy as a launch sees it: the file's
// (from Load's file step) with each setting Group Policy gives in
// place of the file's. The result must still make sense as a whole:
// require_signed with no publisher from either place stops every launch.
func Merge(pol Source, gp platform.GroupPolicy, gpErr error) Source {
	return merge(pol, gp, gpErr, groupPolicy)
}

func merge(pol Source, gp platform.GroupPolicy, gpErr error, n machineNames) Source {
	set, err := groupPolicySettings(gp, gpErr, n)
	if err != nil {
		return Source{Path: pol.Path, Err: err}
	}
	if pol.Err != nil || (!set.HasRequireSigned && !set.HasProxies && !set.HasDestinations && !set.HasPublishers && !set.HasOSLog) {
		return pol
	}
	var p Policy
	if pol.Policy != nil {
		p = *pol.Policy
	} else {
		// No file: every setting is Group Policy's or absent.
		p.Path = n.root
	}
	if set.HasRequireSigned {
		p.RequireSigned, p.RequireSignedFrom = set.RequireSigned, n.value("", GPRequireSigned)
	}
	if set.HasProxies {
		p.Proxies, p.RestrictProxies, p.ProxiesFrom = set.Proxies, true, n.list(GPProxies)
	}
	if set.HasDestinations {
		p.Destinations, p.RestrictDestinations, p.DestinationsFrom = set.Destinations, true, n.list(GPDestinations)
	}
	if set.HasPublishers {
		p.Publishers, p.PublishersFrom = set.Publishers, n.list(GPPublishers)
	}
	if set.HasOSLog {
		p.OSLog, p.OSLogFrom = set.OSLog, n.value("", GPOSLog)
	}
	if p.RequireSigned && len(p.Publishers) == 0 {
		return Source{Path: pol.Path, Err: &GPError{
			Value: p.source(p.RequireSignedFrom),
			Msg:   "require a signature with no publisher in " + n.root + " or " + pol.Path + " refuses every descriptor; add the portal's publisher key",
			hint:  n.hint,
			label: n.label,
		}}
	}
	return Source{Path: pol.Path, Policy: &p}
}

func groupPolicySettings(gp platform.GroupPolicy, gpErr error, n machineNames) (GPSettings, error) {
	if gpErr != nil {
		var ge *GPError
		var ue *platform.UnsafeFileError
		if errors.As(gpErr, &ge) || errors.As(gpErr, &ue) {
			// An unsafe managed preferences file keeps its own message
			// and fix (the directory at fault, the chmod).
			return GPSettings{}, gpErr
		}
		return GPSettings{}, &GPError{Value: n.root, Msg: "cannot be read: " + safetext.Sanitize(gpErr.Error()), hint: n.hint, label: n.label}
	}
	return parseGP(gp, n)
}

// LoadAdmin is whitelist.LoadAdmin with this machine's Group Policy merged
// in (MergeAdmin): what every command that decides or shows a launch uses.
func LoadAdmin(path string) whitelist.Source {
	return readMachinePolicy().applyAdmin(whitelist.LoadAdmin(path))
}
