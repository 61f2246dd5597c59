package squidacl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// Checker answers requests with a session token verifier, and logs each
// refusal and error.
type Checker struct {
	verifier *sessiontoken.Verifier
	log      *lineLog
}

// NewChecker returns a Checker that verifies with v and writes its log
// lines to log (the helper's stderr), each "TIME| PREFIX: ..." in one
// Write.
func NewChecker(v *sessiontoken.Verifier, log io.Writer, prefix string) *Checker {
	return &Checker{verifier: v, log: &lineLog{w: log, prefix: prefix}}
}

// Check answers one request: OK when its Proxy-Authorization carries a
// token that admits its source and destination, ERR with the reason when
// not, BH when the check could not be made.
func (c *Checker) Check(ctx context.Context, r Request) Result {
	token, err := sessiontoken.FromAuthorization(r.Authorization)
	var claims *sessiontoken.Claims
	if err == nil {
		var dst string
		if dst, err = sessiontoken.JoinDestination(r.DestHost, r.DestPort); err != nil {
			err = &sessiontoken.Refusal{Reason: sessiontoken.WrongDest, Msg: "the requested destination is not a host:port a token can name: " + err.Error()}
		} else {
			claims, err = c.verifier.Verify(ctx, token, sessiontoken.Request{Destination: dst, Source: r.Source})
		}
	}
	var rf *sessiontoken.Refusal
	switch {
	case err == nil:
		return Result{Code: OK, User: claims.Subject, Log: "jti=" + claims.ID}
	case errors.As(err, &rf):
		return c.Refuse(r, rf)
	default:
		c.log.printf("error: %s; src %s dst %s", safetext.Excerpt(err.Error(), 200), excerpt(r.Source), excerpt(hostPort(r)))
		return Result{Code: Broken, Message: "the token could not be checked: " + err.Error()}
	}
}

// Refuse logs a refused request, as Check does, and returns its ERR: for
// a request refused before the verifier sees it (an HTTP request with two
// tokens, a request line too long to read).
func (c *Checker) Refuse(r Request, rf *sessiontoken.Refusal) Result {
	c.log.refusal(r, rf)
	return Result{Code: Denied, Message: string(rf.Reason) + ": " + rf.Msg}
}

// Broken answers a request line that did not parse.
func (c *Checker) Broken(err error) Result {
	c.log.printf("error: %s", safetext.Excerpt(err.Error(), 300))
	return Result{Code: Broken, Message: err.Error()}
}

// lineLog writes whole lines, one Write each, from any goroutine.
type lineLog struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (l *lineLog) printf(format string, args ...any) {
	// Stamped as Squid stamps cache.log, where these lines go.
	line := time.Now().Format("2006/01/02 15:04:05| ") + l.prefix + ": " + safetext.Inert(fmt.Sprintf(format, args...)) + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, line)
}

// refusal logs a refused token: why, for whom and where to, with what
// the token's verified claims say, and never the token.
func (l *lineLog) refusal(r Request, rf *sessiontoken.Refusal) {
	var b strings.Builder
	fmt.Fprintf(&b, "refused (%s): %s; src %s dst %s", rf.Reason, rf.Msg, excerpt(r.Source), excerpt(hostPort(r)))
	if rf.KeyID != "" {
		fmt.Fprintf(&b, " kid %s", rf.KeyID)
	}
	if c := rf.Claims; c != nil {
		fmt.Fprintf(&b, " iss %s sub %s jti %s", safetext.QuoteExcerpt(c.Issuer, 80), safetext.QuoteExcerpt(c.Subject, 80), safetext.QuoteExcerpt(c.ID, 130))
	}
	if rf.Detail != "" {
		fmt.Fprintf(&b, " (%s)", rf.Detail)
	}
	l.printf("%s", b.String())
}

func hostPort(r Request) string {
	if r.DestHost == "" && r.DestPort == "" {
		return "" // not read: a line refused before it was parsed
	}
	if strings.Contains(r.DestHost, ":") && !strings.HasPrefix(r.DestHost, "[") {
		return "[" + r.DestHost + "]:" + r.DestPort
	}
	return r.DestHost + ":" + r.DestPort
}

func excerpt(s string) string {
	if s == "" {
		return "-"
	}
	return safetext.Excerpt(s, 80)
}
