//go:build linux

package peers

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// KDCOptions configures StartKDC.
type KDCOptions struct {
	// Realm is the Kerberos realm, CORP.TEST when empty.
	Realm string
	// Domain is the DNS domain whose hosts belong to the realm, in the
	// [domain_realm] of Krb5Conf: corp.test when empty.
	Domain string
	// ExtraDomainRealm are more lines of the [domain_realm] section of
	// Krb5Conf (".other.test = OTHER.TEST"): hosts of a realm this KDC
	// has no trust with.
	ExtraDomainRealm []string
}

// KDC is an MIT Kerberos KDC (krb5kdc) with its own database: a realm
// whose users and service keys a test makes with AddUser and AddService,
// and whose users get their tickets with kinit (Kinit), as a company's
// Active Directory or MIT realm gives them.
type KDC struct {
	Realm    string
	Addr     string // 127.0.0.1:PORT, UDP and TCP
	Dir      string
	Krb5Conf string // a krb5.conf naming the realm and this KDC, for KRB5_CONFIG
	*Process
	env []string
}

// StartKDC creates a realm database in a temporary directory, starts
// krb5kdc on it and returns once the KDC answers on TCP.
func StartKDC(t testing.TB, opts KDCOptions) *KDC {
	t.Helper()
	kdc := RequireBinary(t, "krb5kdc")
	kdbUtil := RequireBinary(t, "kdb5_util")
	RequireBinary(t, "kadmin.local")
	k := &KDC{Realm: opts.Realm, Dir: t.TempDir()}
	if k.Realm == "" {
		k.Realm = "CORP.TEST"
	}
	domain := opts.Domain
	if domain == "" {
		domain = "corp.test"
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	k.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	k.writeConf(t, domain, opts.ExtraDomainRealm)
	k.env = append(os.Environ(), "KRB5_CONFIG="+k.Krb5Conf, "KRB5_KDC_PROFILE="+filepath.Join(k.Dir, "kdc.conf"))
	k.run(t, kdbUtil, "create", "-s", "-r", k.Realm, "-P", "master-"+k.Realm)

	cmd := exec.Command(kdc, "-n", "-r", k.Realm)
	cmd.Env = k.env
	cmd.Dir = k.Dir
	p, err := startProcess(t, "krb5kdc", k.Dir, cmd)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.waitLine(t.Context(), DefaultStartTimeout, func(l string) bool { return strings.Contains(l, "commencing operation") })
	p.doneWatching()
	if err != nil {
		p.Stop()
		t.Fatalf("krb5kdc did not start: %v\n%s", err, tail(p.Log()))
	}
	if err := p.waitDialable(t.Context(), DefaultStartTimeout, k.Addr); err != nil {
		p.Stop()
		t.Fatalf("krb5kdc did not start: %v", err)
	}
	k.Process = p
	return k
}

// writeConf writes the KDC's kdc.conf and the clients' krb5.conf.
func (k *KDC) writeConf(t testing.TB, domain string, extraDomainRealm []string) {
	t.Helper()
	// Only AES: what a current Active Directory or MIT realm issues,
	// and what gokrb5 and Squid's helper both take.
	writeFile(t, filepath.Join(k.Dir, "kdc.conf"), []byte(fmt.Sprintf(`[kdcdefaults]
 kdc_listen = %[2]s
 kdc_tcp_listen = %[2]s
[realms]
 %[1]s = {
  database_name = %[3]s/principal
  key_stash_file = %[3]s/stash
  acl_file = %[3]s/kadm5.acl
  max_life = 10h
  max_renewable_life = 0
  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
  master_key_type = aes256-cts-hmac-sha1-96
 }
[logging]
 kdc = STDERR
`, k.Realm, k.Addr, k.Dir)), 0o600)
	writeFile(t, filepath.Join(k.Dir, "kadm5.acl"), nil, 0o600)
	k.Krb5Conf = filepath.Join(k.Dir, "krb5.conf")
	extra := ""
	for _, l := range extraDomainRealm {
		extra += " " + l + "\n"
	}
	writeFile(t, k.Krb5Conf, []byte(fmt.Sprintf(`[libdefaults]
 default_realm = %[1]s
 dns_lookup_kdc = false
 dns_lookup_realm = false
 dns_canonicalize_hostname = false
 rdns = false
 udp_preference_limit = 1
 forwardable = false
[realms]
 %[1]s = {
  kdc = %[2]s
 }
[domain_realm]
 .%[3]s = %[1]s
 %[3]s = %[1]s
%[4]s`, k.Realm, k.Addr, domain, extra)), 0o644)
}

// run runs a Kerberos tool against this realm and fails the test when it
// fails. It returns the tool's output.
func (k *KDC) run(t testing.TB, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = k.env
	cmd.Dir = k.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (k *KDC) kadmin(t testing.TB, query string) {
	t.Helper()
	k.run(t, RequireBinary(t, "kadmin.local"), "-r", k.Realm, "-q", query)
}

// AddUser adds the user principal name@Realm with password.
func (k *KDC) AddUser(t testing.TB, name, password string) {
	t.Helper()
	k.kadmin(t, fmt.Sprintf("addprinc -pw %s %s@%s", password, name, k.Realm))
}

// AddService adds the service principal spn (HTTP/proxy.corp.test) with
// a random key and writes its keys to a new keytab, whose path it
// returns: what the proxy team gets from the domain administrators.
func (k *KDC) AddService(t testing.TB, spn string) string {
	t.Helper()
	k.kadmin(t, fmt.Sprintf("addprinc -randkey %s@%s", spn, k.Realm))
	kt := filepath.Join(k.Dir, strings.NewReplacer("/", "_", "@", "_").Replace(spn)+".keytab")
	k.kadmin(t, fmt.Sprintf("ktadd -k %s %s@%s", kt, spn, k.Realm))
	return kt
}

// Kinit signs name@Realm on with password into the credential cache
// ccache (FILE:PATH, ...), as the user does at login; extra are more
// kinit arguments (-l 1h). The credential cache is the user's own: mode
// 0600, as kinit makes it.
func (k *KDC) Kinit(t testing.TB, name, password, ccache string, extra ...string) {
	t.Helper()
	kinit := RequireBinary(t, "kinit")
	args := append([]string{"-c", ccache}, extra...)
	args = append(args, name+"@"+k.Realm)
	cmd := exec.Command(kinit, args...)
	cmd.Env = k.env
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Rekey gives the service principal spn a new random key in the
// database, leaving the keytabs written before with the old one: the
// proxy's keytab is then stale, as after a password reset of the
// proxy's account in the domain.
func (k *KDC) Rekey(t testing.TB, spn string) {
	t.Helper()
	k.kadmin(t, fmt.Sprintf("cpw -randkey %s@%s", spn, k.Realm))
}
