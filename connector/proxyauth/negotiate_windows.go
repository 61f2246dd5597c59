//go:build windows

package proxyauth

import (
	"github.com/alexbrainman/sspi"
	"github.com/alexbrainman/sspi/negotiate"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// sspiContext is SSPI's Negotiate package for the logged-on user:
// Kerberos from the logon session's tickets, NTLM when Kerberos cannot
// be used (no domain controller reachable, no SPN), as Edge and Chrome
// sign on to a proxy. No password is given to it.
type sspiContext struct {
	spn string
	// kerberosOnly: Config.KerberosOnly.
	kerberosOnly bool
	cred         *sspi.Credentials
	ctx          *negotiate.ClientContext
	done         bool
}

// sspiFlags asks for a connection-oriented context with mutual
// authentication, and no ISC_REQ_DELEGATE, so the proxy never gets a
// forwardable ticket of the user. Mutual authentication only asks the
// proxy to prove itself; it is requested because without it a Kerberos
// context can be complete after its first token (Wine's SSPI returns
// SEC_E_OK there), which the negotiate package refuses as an error.
const sspiFlags = sspi.ISC_REQ_CONNECTION | sspi.ISC_REQ_MUTUAL_AUTH

func newSecContext(host string, cfg Config) (secContext, error) {
	cred, err := negotiate.AcquireCurrentUserCredentials()
	if err != nil {
		return nil, &Error{Msg: "cannot use your Windows login for the Negotiate sign-on: " + safetext.Excerpt(err.Error(), 200),
			Hint: "log on to Windows with your domain account", Err: err}
	}
	return &sspiContext{spn: "HTTP/" + host, cred: cred, kerberosOnly: cfg.KerberosOnly}, nil
}

func (s *sspiContext) identity() string { return "" }

func (s *sspiContext) step(in []byte) ([]byte, error) {
	if s.ctx == nil {
		ctx, out, err := negotiate.NewClientContextWithFlags(s.cred, s.spn, sspiFlags)
		if err != nil {
			return nil, &Error{Msg: "starting the Negotiate sign-on for " + s.spn + ": " + safetext.Excerpt(err.Error(), 200),
				Hint: "the proxy team must register the service principal " + s.spn + " in the domain", Err: err}
		}
		s.ctx = ctx
		return s.checked(out)
	}
	if s.done || in == nil {
		return nil, &Error{Msg: "the proxy refused your Windows login",
			Hint: "the proxy does not accept your domain login: ask the proxy team to check its Kerberos or NTLM setup"}
	}
	done, out, err := s.ctx.Update(in)
	if err != nil {
		return nil, &Error{Msg: "Negotiate sign-on for " + s.spn + ": " + safetext.Excerpt(err.Error(), 200),
			Hint: "the proxy's answer did not continue the sign-on: ask the proxy team to check its Negotiate setup", Err: err}
	}
	s.done = done
	if len(out) == 0 {
		return nil, &Error{Msg: "Negotiate sign-on for " + s.spn + ": the sign-on completed but the proxy still refused it",
			Hint: "ask the proxy team whether your account may use the proxy"}
	}
	return s.checked(out)
}

// checked refuses a token that would answer with NTLM where only
// Kerberos may be (Config.KerberosOnly); nothing of it has been sent.
func (s *sspiContext) checked(out []byte) ([]byte, error) {
	if s.kerberosOnly && isNTLM(out) {
		return nil, &Error{Msg: "the proxy a PAC script chose can be signed on to only with NTLM (no Kerberos ticket for " + s.spn + "): trustlaunch answers a proxy a script chose with Kerberos only",
			Hint: "ask the proxy team to register the service principal " + s.spn + ", or name the proxy yourself with trustlaunch open --outbound-proxy http://HOST:PORT"}
	}
	return out, nil
}

func (s *sspiContext) close() {
	if s.ctx != nil {
		s.ctx.Release()
	}
	s.cred.Release()
}
