package connector

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// redacted is what a Token shows in place of its value, everywhere, and
// what a scrubbed text shows in place of a secret.
const redacted = redact.Redacted

// Token is the session token presented to the proxy. It prints as
// "[redacted]" under every fmt verb (%v %+v %#v %s %q %x ...) and through
// String, GoString, MarshalJSON, MarshalText and slog, so a Config or a
// descriptor can be logged or dumped without leaking it
// (docs/design.md "Connector": the token never appears in argv, logs or
// error messages).
//
// The value is held by a closure: fmt, reflection-based printers and
// encoders show a func as an address at most, so even a struct that holds a
// Token in an unexported field, printed with a mismatched verb (where fmt
// skips the Formatter), shows no secret.
type Token struct {
	get func() string
}

// NewToken returns a Token holding s.
func NewToken(s string) Token {
	if s == "" {
		return Token{}
	}
	return Token{get: func() string { return s }}
}

// IsZero reports whether the token is empty.
func (t Token) IsZero() bool { return t.get == nil }

// reveal returns the secret. Only the transports call it, to write the
// token to a connection that has passed every TLS check.
func (t Token) reveal() string {
	if t.get == nil {
		return ""
	}
	return t.get()
}

// AddTo adds the token to secrets, the registry of what a run must never
// show (redact.Set), without showing it to the caller. Every text the
// connector builds from the network passes through that registry's
// Scrub; a launch adds the token as soon as the descriptor is decoded, so
// that its own messages are scrubbed of it too.
func (t Token) AddTo(secrets *redact.Set) { secrets.Add(t.reveal()) }

// String returns "[redacted]".
func (t Token) String() string { return redacted }

// GoString returns "[redacted]", for %#v.
func (t Token) GoString() string { return redacted }

// Format writes "[redacted]" whatever the verb, flags, width or precision.
func (t Token) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON returns the JSON string "[redacted]".
func (t Token) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "[redacted]".
func (t Token) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// UnmarshalText sets the token from text, so that a descriptor struct can
// decode a JSON string straight into a Token field.
func (t *Token) UnmarshalText(text []byte) error {
	if t == nil {
		return errors.New("connector: UnmarshalText on nil *Token")
	}
	*t = NewToken(string(text))
	return nil
}

// LogValue makes log/slog print "[redacted]".
func (t Token) LogValue() slog.Value { return slog.StringValue(redacted) }

// MaxTokenBytes is the longest session token trustlaunch carries, a bound
// on what a descriptor or a token file can make it send in one HTTP
// header or request line. The descriptor, the connector and the CLI's
// token input share it, and it is the proxy's bound too
// (sessiontoken.MaxBytes): a token the client sends is one the check reads.
const MaxTokenBytes = sessiontoken.MaxBytes

// CheckToken checks that a token can travel in an HTTP header and a URL
// query without changing the request: 1 to MaxTokenBytes bytes of visible
// ASCII (RFC 9110 field-value; RFC 6750's b64token is a subset). It is the
// one token rule: the descriptor and New apply it, each adding its own
// name for the token to the error, which never shows the token.
func CheckToken(s string) error {
	if s == "" {
		return errors.New("missing")
	}
	if len(s) > MaxTokenBytes {
		return fmt.Errorf("%d bytes long, more than %d (16 KiB)", len(s), MaxTokenBytes)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("has a character other than visible ASCII at byte %d", i)
		}
	}
	return nil
}

// validToken is CheckToken for a Config's token.
func validToken(t Token) error {
	if err := CheckToken(t.reveal()); err != nil {
		return fmt.Errorf("token: %w", err)
	}
	return nil
}
