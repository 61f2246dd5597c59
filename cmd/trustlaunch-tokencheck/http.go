//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/pflag"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/internal/squidacl"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

const httpUsage = `Serve the token check over HTTP, for nginx auth_request and other
forward-auth proxies (see "trustlaunch-tokencheck --help" and docs/proxy.md).

Usage:
  trustlaunch-tokencheck http --listen ADDR --keys FILE --issuer ISS [--issuer ISS ...] --audience NAME
      [--replay-capacity N | --redis URL [--redis-password-file FILE] [--redis-ca FILE]] [--check]

Each request is one check, with what the front proxy sets:

  the token     the token= parameter of X-Original-URI (nginx: $request_uri)
                or X-Forwarded-Uri, or a Bearer Authorization or
                Proxy-Authorization header
  X-Real-IP     the client's address (nginx: $remote_addr)
  X-Trustlaunch-Destination
                host:port, the target of the WebSocket proxy behind it

Answers: 200 with X-Trustlaunch-User (the token's sub) when the token
admits the request; 401 when it is refused; 403 when it cannot be checked
(a header missing, the single-use store unreachable). Listen on loopback
or a private address only: whoever reaches the endpoint chooses what the
headers say.
`

// Headers the front proxy sets on the check's request, and the one the
// check answers with.
const (
	headerOriginalURI  = "X-Original-URI"  // nginx: proxy_set_header X-Original-URI $request_uri
	headerForwardedURI = "X-Forwarded-Uri" // Traefik's and Caddy's forward auth
	headerSource       = "X-Real-IP"
	headerDestination  = "X-Trustlaunch-Destination"
	headerUser         = "X-Trustlaunch-User"
)

// maxHeaderBytes admits a token of sessiontoken.MaxBytes in the URI
// header and another in an Authorization header, with room for the rest.
const maxHeaderBytes = 3 * sessiontoken.MaxBytes

func runHTTP(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("http", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	listen := fs.String("listen", "", "`ADDR` to listen on, HOST:PORT: loopback or a private address the front proxy reaches (required)")
	flags := addCheckFlags(fs)
	fs.Usage = func() { fmt.Fprintf(stdout, "%s\nFlags:\n%s", httpUsage, fs.FlagUsages()) }
	err := flags.parse(fs, args)
	if err == nil && *listen == "" {
		err = errors.New("--listen is required")
	}
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: http: %s\n%s: hint: run \"%s http --help\"\n", name, safetext.Inert(err.Error()), name, name)
		return exitUsage
	}
	v, code := openVerifier(ctx, flags, stdout, stderr)
	if v == nil {
		return code
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: --listen: %s\n", name, safetext.Inert(err.Error()))
		return exitFailure
	}
	fmt.Fprintf(stderr, "%s%s: %s serving HTTP on %s: %s\n", time.Now().Format("2006/01/02 15:04:05| "), name, versionString(), ln.Addr(), v.summary)
	warnUnreachable(ctx, v, stderr)
	srv := &http.Server{
		Handler:           newAuthHandler(squidacl.NewChecker(v.Verifier, stderr, name)),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
		// net/http's own log (a bad request line) never sees a token:
		// it does not quote requests.
	}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "%s: error: %s\n", name, safetext.Inert(err.Error()))
		return exitFailure
	}
	return exitOK
}

// authHandler answers forward-auth requests with the Squid helper's
// check: the same verifier, the same log lines.
type authHandler struct {
	checker *squidacl.Checker
}

func newAuthHandler(c *squidacl.Checker) http.Handler { return &authHandler{checker: c} }

func (h *authHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res := h.check(r)
	// No caching anywhere: each request is one use of a token.
	w.Header().Set("Cache-Control", "no-store")
	switch res.Code {
	case squidacl.OK:
		w.Header().Set(headerUser, safetext.Excerpt(res.User, 256))
		w.WriteHeader(http.StatusOK)
	case squidacl.Denied:
		// nginx's auth_request passes 401 and 403 to the client and
		// turns any other status into a 500 with an error log line
		// that quotes the request line, token included: so refusals are
		// 401 and checks that could not be made 403, never 5xx.
		http.Error(w, "session token refused", http.StatusUnauthorized)
	default:
		http.Error(w, "session token not checked", http.StatusForbidden)
	}
}

// check reads the request as the front proxy sent it and checks it.
func (h *authHandler) check(r *http.Request) squidacl.Result {
	req := squidacl.Request{Source: r.Header.Get(headerSource)}
	dst := r.Header.Get(headerDestination)
	if req.Source == "" || dst == "" {
		return h.checker.Broken(fmt.Errorf("the front proxy sent no %s or no %s header: set both on the check's request (docs/proxy.md)", headerSource, headerDestination))
	}
	host, port, err := net.SplitHostPort(dst)
	if err != nil {
		return h.checker.Broken(fmt.Errorf("the front proxy's %s is not host:port: %s", headerDestination, safetext.QuoteExcerpt(dst, 80)))
	}
	req.DestHost, req.DestPort = host, port
	token, rf := tokenOf(r)
	if rf != nil {
		return h.checker.Refuse(req, rf)
	}
	if token != "" {
		req.Authorization = "Bearer " + token
	}
	return h.checker.Check(r.Context(), req)
}

// tokenOf finds the one token of a request: the token= parameter of the
// original URI (the WebSocket transport's), or a Bearer credential. Two
// different tokens are refused: the request is not one client's.
func tokenOf(r *http.Request) (string, *sessiontoken.Refusal) {
	var found []string
	for _, h := range []string{headerOriginalURI, headerForwardedURI} {
		for _, uri := range r.Header.Values(h) {
			u, err := url.ParseRequestURI(uri)
			if err != nil {
				return "", &sessiontoken.Refusal{Reason: sessiontoken.Malformed, Msg: "the original URI does not parse"}
			}
			q, err := url.ParseQuery(u.RawQuery)
			if err != nil {
				return "", &sessiontoken.Refusal{Reason: sessiontoken.Malformed, Msg: "the original URI's query does not parse"}
			}
			found = append(found, q["token"]...)
		}
	}
	for _, h := range []string{"Authorization", "Proxy-Authorization"} {
		for _, v := range r.Header.Values(h) {
			tok, err := sessiontoken.FromAuthorization(v)
			if err != nil {
				var rf *sessiontoken.Refusal
				if errors.As(err, &rf) {
					return "", rf
				}
				return "", &sessiontoken.Refusal{Reason: sessiontoken.Malformed, Msg: "the " + h + " header is not a Bearer token"}
			}
			found = append(found, tok)
		}
	}
	if len(found) == 0 {
		return "", nil
	}
	for _, t := range found[1:] {
		if t != found[0] {
			return "", &sessiontoken.Refusal{Reason: sessiontoken.Malformed, Msg: "the request carries more than one token"}
		}
	}
	return found[0], nil
}
