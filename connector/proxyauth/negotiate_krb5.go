//go:build !windows

package proxyauth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/krberror"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// krb5Context is Kerberos from the user's credential cache: one AP-REQ
// for HTTP/host, wrapped in SPNEGO.
type krb5Context struct {
	host   string
	spn    string
	ccache string // the cache as the user names it (FILE:/tmp/krb5cc_1000)
	cl     *client.Client
	who    string
	realm  string // the ticket's realm
	conf   *config.Config
	sent   bool
}

const hintKinit = "sign on to the domain with kinit (or log in again), then retry"

func newSecContext(host string, cfg Config) (secContext, error) {
	name, path, err := ccachePath(cfg)
	if err != nil {
		return nil, err
	}
	cc, err := credentials.LoadCCache(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{Msg: "no Kerberos ticket: credential cache " + name + " does not exist", Hint: hintKinit, Err: err}
		}
		if errors.Is(err, fs.ErrPermission) {
			return nil, &Error{Msg: "cannot read credential cache " + name + ": permission denied", Hint: "KRB5CCNAME must name your own credential cache", Err: err}
		}
		return nil, &Error{Msg: "credential cache " + name + " is not a Kerberos credential cache trustlaunch can read", Hint: hintKinit + " (kinit -c FILE:PATH)", Err: err}
	}
	principal := cc.DefaultPrincipal
	who := strings.Join(principal.PrincipalName.NameString, "/") + "@" + principal.Realm
	tgt, ok := cc.GetEntry(types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", principal.Realm}})
	if !ok {
		return nil, &Error{Msg: "no Kerberos ticket: credential cache " + name + " holds no ticket-granting ticket for " + safetext.Quote(who), Hint: hintKinit}
	}
	if now := cfg.now(); !now.Before(tgt.EndTime) {
		return nil, &Error{Msg: fmt.Sprintf("the Kerberos ticket of %s in %s expired at %s", safetext.Quote(who), name, tgt.EndTime.UTC().Format(time.RFC3339)), Hint: "renew it with kinit (or log in again), then retry"}
	}
	conf, confName, err := krb5Config(cfg)
	if err != nil {
		return nil, err
	}
	if _, _, err := conf.GetKDCs(principal.Realm, true); err != nil {
		return nil, &Error{Msg: fmt.Sprintf("the realm %s of your ticket has no KDC in %s", safetext.Quote(principal.Realm), confName),
			Hint: "the Kerberos configuration must name your realm's KDCs (or enable dns_lookup_kdc): ask your administrator", Err: err}
	}
	cl, err := client.NewFromCCache(cc, conf, client.DisablePAFXFAST(true))
	if err != nil {
		return nil, &Error{Msg: "credential cache " + name + " cannot be used: " + safetext.Excerpt(err.Error(), 200), Hint: hintKinit, Err: err}
	}
	return &krb5Context{host: host, spn: "HTTP/" + host, ccache: name, cl: cl, who: who, realm: principal.Realm, conf: conf}, nil
}

func (k *krb5Context) identity() string { return k.who }

func (k *krb5Context) close() { k.cl.Destroy() }

func (k *krb5Context) step(in []byte) ([]byte, error) {
	if k.sent {
		// Kerberos takes one round: a second challenge is the proxy's
		// refusal (its reject token or a fresh 407).
		return nil, &Error{Msg: "the proxy refused the login of " + safetext.Quote(k.who),
			Hint: "the proxy did not accept the Kerberos ticket for " + k.spn + ": ask the proxy team to check its keytab for that service principal"}
	}
	k.sent = true
	tkt, key, err := k.cl.GetServiceTicket(k.spn)
	if err != nil {
		return nil, k.ticketError(err)
	}
	init, err := spnego.NewNegTokenInitKRB5(k.cl, tkt, key)
	if err != nil {
		return nil, &Error{Msg: "building the Negotiate token for " + k.spn + ": " + safetext.Excerpt(err.Error(), 200), Err: err}
	}
	tok := spnego.SPNEGOToken{Init: true, NegTokenInit: init}
	b, err := tok.Marshal()
	if err != nil {
		return nil, &Error{Msg: "building the Negotiate token for " + k.spn + ": " + safetext.Excerpt(err.Error(), 200), Err: err}
	}
	return b, nil
}

// ticketError words the failure to get a service ticket for the proxy.
// gokrb5 flattens the KDC's error into text; its category (RootCause)
// is the typed part, and the realms say which case this is.
func (k *krb5Context) ticketError(err error) error {
	var ke krberror.Krberror
	kdcSaid := errors.As(err, &ke) && ke.RootCause == krberror.KDCError
	spnRealm := k.conf.ResolveRealm(k.host)
	cause := safetext.Excerpt(err.Error(), 300)
	switch {
	case kdcSaid && spnRealm != "" && spnRealm != k.realm:
		return &Error{Msg: fmt.Sprintf("no Kerberos ticket for %s: the proxy is in realm %s, your ticket is for %s, and the KDC gave no way between them",
			k.spn, safetext.Quote(spnRealm), safetext.Quote(k.realm)),
			Hint: "sign on with an account of the proxy's realm (kinit USER@" + spnRealm + "), or ask your administrator for a trust between the realms", Err: err}
	case kdcSaid:
		return &Error{Msg: fmt.Sprintf("the KDC of %s refused a ticket for %s (%s)", safetext.Quote(k.realm), k.spn, cause),
			Hint: "the outbound proxy must be named as its service principal is (HTTP/" + k.host + "): ask the proxy team which name to use, or to register that principal", Err: err}
	}
	return &Error{Msg: fmt.Sprintf("no Kerberos ticket for %s: the KDC of %s could not be reached (%s)", k.spn, safetext.Quote(k.realm), cause),
		Hint: "check the network connection to the domain's KDCs (the Kerberos configuration names them)", Err: err}
}

// ccachePath finds the user's credential cache as MIT Kerberos does:
// KRB5CCNAME, else FILE:/tmp/krb5cc_UID. It returns the name for
// messages and the path of the FILE: cache to read.
func ccachePath(cfg Config) (name, path string, err error) {
	name = cfg.getenv("KRB5CCNAME")
	if name == "" {
		name = fmt.Sprintf("FILE:/tmp/krb5cc_%d", os.Getuid())
	}
	typ, rest, ok := strings.Cut(name, ":")
	if !ok || strings.HasPrefix(name, "/") {
		typ, rest = "FILE", name
	}
	shown := safetext.Quote(name)
	unsupported := func(why string) error {
		return &Error{Msg: "credential cache " + shown + " is not supported: " + why,
			Hint: fmt.Sprintf("get a file cache: kinit -c FILE:/tmp/krb5cc_%[1]d, and set KRB5CCNAME=FILE:/tmp/krb5cc_%[1]d", os.Getuid())}
	}
	switch strings.ToUpper(typ) {
	case "FILE":
		path = rest
	case "DIR":
		// DIR::/path/tkt names one cache; DIR:/dir the collection,
		// whose "primary" file names the default cache in it.
		if strings.HasPrefix(rest, ":") {
			path = rest[1:]
			break
		}
		b, err := os.ReadFile(filepath.Join(rest, "primary"))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return shown, "", &Error{Msg: "no Kerberos ticket: credential cache collection " + shown + " has no primary cache", Hint: hintKinit, Err: err}
			}
			return shown, "", &Error{Msg: "cannot read credential cache collection " + shown + ": " + err.Error(), Hint: hintKinit, Err: err}
		}
		p := strings.TrimSpace(string(b))
		if p == "" || strings.ContainsAny(p, "/\\") {
			return shown, "", &Error{Msg: "credential cache collection " + shown + " has an invalid primary file", Hint: hintKinit}
		}
		path = filepath.Join(rest, p)
	case "KCM":
		return "", "", unsupported("the KCM daemon (sssd-kcm, Heimdal) is reachable only through the Kerberos C libraries")
	case "KEYRING":
		return "", "", unsupported("kernel keyring caches are readable only through the Kerberos C libraries")
	case "API":
		return "", "", unsupported("the macOS credential cache daemon is reachable only through the system's Kerberos framework")
	case "MEMORY", "MSLSA":
		return "", "", unsupported("it belongs to another process")
	default:
		return "", "", unsupported("unknown cache type")
	}
	if path == "" || !filepath.IsAbs(path) {
		return "", "", &Error{Msg: "credential cache " + shown + " is not an absolute path", Hint: "set KRB5CCNAME=FILE:/ABSOLUTE/PATH"}
	}
	return shown, path, nil
}

// krb5Config loads the Kerberos configuration as MIT Kerberos finds it:
// KRB5_CONFIG (a colon-separated list; the first file that exists), else
// /etc/krb5.conf.
func krb5Config(cfg Config) (*config.Config, string, error) {
	list := cfg.getenv("KRB5_CONFIG")
	if list == "" {
		list = "/etc/krb5.conf"
	}
	for _, p := range filepath.SplitList(list) {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		c, err := config.Load(p)
		if err != nil {
			return nil, "", &Error{Msg: "the Kerberos configuration " + safetext.Quote(p) + " does not parse: " + safetext.Excerpt(err.Error(), 200), Hint: "ask your administrator to fix it", Err: err}
		}
		return c, safetext.Quote(p), nil
	}
	return nil, "", &Error{Msg: "no Kerberos configuration: " + safetext.Quote(list) + " not found", Hint: "install the domain's krb5.conf (or set KRB5_CONFIG)"}
}
