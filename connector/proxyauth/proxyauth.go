package proxyauth

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// Config says where the user's login is found. The zero Config reads
// the process's environment and the system clock.
type Config struct {
	// Getenv reads KRB5CCNAME and KRB5_CONFIG (Kerberos outside
	// Windows); os.Getenv when nil.
	Getenv func(string) string
	// Now is the clock the ticket's lifetime is checked against;
	// time.Now when nil.
	Now func() time.Time
	// KerberosOnly refuses a sign-on that would answer with NTLM, which
	// Windows' Negotiate falls back to: set for a proxy the setting did
	// not name itself (a PAC script's or WPAD's choice), since an NTLM
	// response can be relayed or cracked by whichever host the script
	// named, where a Kerberos ticket serves only the service it names.
	// Outside Windows NTLM is never answered, so it changes nothing there.
	KerberosOnly bool
}

// ntlmSignature starts every NTLM message (MS-NLMP 2.2.1), bare or
// wrapped in a SPNEGO token.
var ntlmSignature = []byte("NTLMSSP\x00")

// isNTLM reports whether a sign-on token carries an NTLM message.
func isNTLM(token []byte) bool { return bytes.Contains(token, ntlmSignature) }

func (c Config) getenv(name string) string {
	if c.Getenv == nil {
		return os.Getenv(name)
	}
	return c.Getenv(name)
}

func (c Config) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// Error is a sign-on that cannot go on: Msg says what failed (without the
// proxy's address, which the caller's message carries), Hint what the
// user can do. Neither holds a credential.
type Error struct {
	Msg  string
	Hint string
	Err  error // the cause, for errors.Is/As; its text is not shown
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Negotiate is one Negotiate sign-on to one proxy: a security context
// whose tokens go in Proxy-Authorization: Negotiate headers, one per
// round, on one connection (NTLM's rounds are bound to it; Kerberos
// needs one). It is not safe for concurrent use.
type Negotiate struct {
	ctx    secContext
	rounds int
	done   bool
}

// MaxRounds bounds the tokens one sign-on sends: one for Kerberos, two
// for NTLM (negotiate, authenticate), and one to spare for a
// SPNEGO mechanism exchange. A proxy that asks for more is refused.
const MaxRounds = 3

// secContext is the per-OS half: Kerberos from the credential cache, or
// SSPI.
type secContext interface {
	// step returns the next token given the proxy's (nil at first).
	step(in []byte) ([]byte, error)
	// identity names the signed-on user for messages (alice@CORP.TEST),
	// or "" when it is not known.
	identity() string
	close()
}

// NewNegotiate prepares the Negotiate sign-on of the current user to the
// proxy whose host name, as configured (the URL's host, no port), is
// host; the service principal is HTTP/host. It fails, with an *Error,
// when the user's login cannot be used at all: no ticket, an expired
// one, a credential cache of an unsupported type.
func NewNegotiate(host string, cfg Config) (*Negotiate, error) {
	if host == "" || strings.ContainsAny(host, "/@\\ :") {
		return nil, &Error{Msg: "cannot sign on: the proxy host " + safetext.Quote(host) + " is not a host name",
			Hint: "name the outbound proxy by its host name (the service principal is HTTP/HOST)"}
	}
	c, err := newSecContext(host, cfg)
	if err != nil {
		return nil, err
	}
	return &Negotiate{ctx: c}, nil
}

// Identity names the user being signed on (alice@CORP.TEST), or "".
func (n *Negotiate) Identity() string { return n.ctx.identity() }

// Next returns the value of the next Proxy-Authorization header
// ("Negotiate BASE64") given the proxy's token from its last 407 (nil
// when it offered Negotiate without one). After MaxRounds tokens it
// fails: the proxy keeps refusing.
func (n *Negotiate) Next(challenge []byte) (string, error) {
	if n.rounds >= MaxRounds {
		return "", &Error{Msg: "Negotiate sign-on refused after " + strconv.Itoa(n.rounds) + " rounds",
			Hint: "the proxy does not accept your domain login: ask the proxy team to check its Kerberos setup (keytab, service principal)"}
	}
	if n.rounds > 0 && challenge == nil {
		return "", n.refused()
	}
	n.rounds++
	tok, err := n.ctx.step(challenge)
	if err != nil {
		return "", err
	}
	return "Negotiate " + base64.StdEncoding.EncodeToString(tok), nil
}

// Rounds is how many tokens Next has produced.
func (n *Negotiate) Rounds() int { return n.rounds }

// refused is the error for a proxy that answered our token with a bare
// 407 Negotiate: it does not take the user's login.
func (n *Negotiate) refused() error {
	who := "your login"
	if id := n.ctx.identity(); id != "" {
		who = "the login of " + safetext.Quote(id)
	}
	return &Error{Msg: "the proxy refused " + who,
		Hint: "the proxy does not accept your domain login: ask the proxy team to check its keytab for the service principal, or whether your account may use the proxy"}
}

// Refused is the error for a proxy that answered the last token with a
// bare 407 (Negotiate offered again without a token of its own).
func (n *Negotiate) Refused() error { return n.refused() }

// Close releases the security context.
func (n *Negotiate) Close() { n.ctx.close() }

// Challenges is what a 407's Proxy-Authenticate headers offer (RFC 9110
// section 11.6.1: several challenges per header line, comma-separated,
// or one per line).
type Challenges struct {
	Negotiate      bool
	NegotiateToken []byte // the token68 after "Negotiate", when present and valid base64
	Basic          bool
	NTLM           bool
	// Bad is set when a Negotiate token was present but was not base64.
	Bad bool
}

// ParseChallenges reads the Proxy-Authenticate headers of h. It never
// fails: what it cannot read is not offered.
func ParseChallenges(h http.Header) Challenges {
	var c Challenges
	for _, v := range h.Values("Proxy-Authenticate") {
		for _, part := range splitOutsideQuotes(v) {
			part = strings.TrimSpace(part)
			scheme, rest, _ := strings.Cut(part, " ")
			if scheme == "" || strings.Contains(scheme, "=") {
				continue // an auth-param of the challenge before
			}
			rest = strings.TrimSpace(rest)
			switch {
			case strings.EqualFold(scheme, "Negotiate"):
				c.Negotiate = true
				if rest != "" {
					tok, err := base64.StdEncoding.DecodeString(rest)
					if err != nil || len(tok) == 0 {
						c.Bad = true
					} else {
						c.NegotiateToken = tok
					}
				}
			case strings.EqualFold(scheme, "Basic"):
				c.Basic = true
			case strings.EqualFold(scheme, "NTLM"):
				c.NTLM = true
			}
		}
	}
	return c
}

// splitOutsideQuotes splits s at commas that are not inside a quoted
// string (realm="a, b").
func splitOutsideQuotes(s string) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}
