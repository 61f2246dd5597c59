package pac

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// Defaults of Options.
const (
	DefaultTimeout      = 2 * time.Second  // the script's top level, and each query
	DefaultMemoryLimit  = 256 << 20        // what the evaluator may grow by
	DefaultMaxBytes     = 1 << 20          // the script's size; real ones are a few KiB
	DefaultFetchTimeout = 10 * time.Second // fetching the script
	maxRedirects        = 3
)

// killGrace is how long past its own budget the child has to answer
// before it is killed: the budget is enforced inside it first (an
// interrupt, a clear error), the kill is for a child that cannot answer.
const killGrace = time.Second

// startGrace is what the first answer, the script's load, may take on
// top of that: the child's own start (a few milliseconds on an idle
// machine, far more on a loaded one).
const startGrace = 5 * time.Second

// Options configures NewScript.
type Options struct {
	// URL is the script's address, http or https. Required.
	URL string
	// Command returns the evaluator child, a fresh *exec.Cmd each time:
	// this program run as "trustlaunch __pac" (ServeChild). Required.
	Command func() *exec.Cmd
	// Timeout bounds the script's top level and each FindProxyForURL
	// call; DefaultTimeout when zero.
	Timeout time.Duration
	// MemoryLimit is how much the evaluator may grow by;
	// DefaultMemoryLimit when zero.
	MemoryLimit int64
	// MaxBytes bounds the script; DefaultMaxBytes when zero.
	MaxBytes int64
	// FetchTimeout bounds fetching the script; DefaultFetchTimeout when
	// zero.
	FetchTimeout time.Duration
	// RootCAs verify an https script's server; nil: the system roots.
	RootCAs *x509.CertPool
	// Resolver resolves the script server's name; net.DefaultResolver
	// when nil.
	Resolver *net.Resolver
}

// Script is a PAC script evaluated in a child process: it is fetched
// (directly, never through a proxy: it is what chooses the proxy) on the
// first FindProxy, and one child evaluates it for the life of the
// Script, one query at a time. A script that fails to load, or a child
// that had to be killed, fails every later query with the same error:
// the caller's fallback (connector: DIRECT) then holds for the whole
// launch instead of paying the timeout on each connection. It is safe
// for concurrent use.
type Script struct {
	opts  Options
	shown string

	mu     sync.Mutex
	child  *child
	failed error // sticky: the script could not be fetched or loaded, or its child died
}

// NewScript checks opts and returns the Script; nothing is fetched yet.
func NewScript(opts Options) (*Script, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("the PAC script's URL must be http://HOST/PATH or https://HOST/PATH")
	}
	if opts.Command == nil {
		return nil, errors.New("no command for the PAC evaluator")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MemoryLimit <= 0 {
		opts.MemoryLimit = DefaultMemoryLimit
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = DefaultFetchTimeout
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	return &Script{opts: opts, shown: Shown(opts.URL)}, nil
}

// Shown is a script's URL as messages show it: scheme, host and path,
// without user information, query or fragment (where a script URL may
// carry a key), sanitized.
func Shown(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "a URL that does not parse"
	}
	return safetext.Sanitize((&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String())
}

// String names the script: "PAC http://wpad.corp/wpad.dat".
func (s *Script) String() string { return "PAC " + s.shown }

// FindProxy returns the script's FindProxyForURL("https://host:port/",
// host): the URL of a TLS connection, without path, as browsers give it
// for https.
func (s *Script) FindProxy(ctx context.Context, host, port string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return "", s.failed
	}
	if s.child == nil {
		c, err := s.start(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.failed = err
			}
			return "", err
		}
		s.child = c
	}
	u := "https://" + net.JoinHostPort(host, port) + "/"
	if port == "443" {
		u = "https://" + hostForURL(host) + "/"
	}
	ans, err := s.child.ask(ctx, childQuery{URL: u, Host: host})
	if err != nil {
		var ee *EvalError
		if !errors.As(err, &ee) || ee.bound {
			// The child is gone or was killed (a cancelled query kills
			// it too), or the script ran into a bound: it answers no
			// more.
			s.child.kill()
			s.child = nil
			if ctx.Err() == nil {
				// The script's own doing: every later query fails the
				// same way at once, without another child or another
				// wait. A cancelled query is the caller's doing, and
				// the next one starts a new child.
				s.failed = err
			}
		}
		return "", err
	}
	return ans, nil
}

func hostForURL(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// Close ends the evaluator child, if one runs.
func (s *Script) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.child != nil {
		s.child.kill()
		s.child = nil
	}
	if s.failed == nil {
		s.failed = errors.New("the PAC evaluator was closed")
	}
	return nil
}

// start fetches the script and starts a child that has loaded it.
func (s *Script) start(ctx context.Context) (*child, error) {
	body, err := s.fetch(ctx)
	if err != nil {
		return nil, err
	}
	c, err := startChild(ctx, s.opts)
	if err != nil {
		return nil, err
	}
	if err := c.load(ctx, string(body)); err != nil {
		c.kill()
		return nil, err
	}
	return c, nil
}

// fetch downloads the script: GET, directly, at most maxRedirects
// redirects, status 200, at most MaxBytes. Any content type is taken
// (servers send application/x-ns-proxy-autoconfig, text/plain, ...): the
// script is untrusted input in any case, and can change only the choice
// of the outbound proxy.
func (s *Script) fetch(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.FetchTimeout)
	defer cancel()
	client := &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil, // the script is what chooses the proxy
			DialContext:            (&net.Dialer{Resolver: s.opts.Resolver}).DialContext,
			TLSClientConfig:        &tls.Config{RootCAs: s.opts.RootCAs, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:    s.opts.FetchTimeout,
			DisableCompression:     true,
			MaxResponseHeaderBytes: 64 << 10,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			return nil
		},
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.opts.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: the URL does not parse", s.shown)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text has the URL, query and all
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("fetch %s: no answer within %v", s.shown, s.opts.FetchTimeout)
		}
		return nil, fmt.Errorf("fetch %s: %s", s.shown, safetext.Excerpt(err.Error(), 200))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: server answered %d %s", s.shown, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.opts.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %s", s.shown, safetext.Excerpt(err.Error(), 200))
	}
	if int64(len(body)) > s.opts.MaxBytes {
		return nil, fmt.Errorf("fetch %s: the script is larger than %d KiB", s.shown, s.opts.MaxBytes>>10)
	}
	return body, nil
}

// child is one running evaluator process.
type child struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	enc    *json.Encoder
	dec    *json.Decoder
	budget time.Duration
	memory int64
	exited chan struct{}
}

func startChild(ctx context.Context, o Options) (*child, error) {
	cmd := o.Command()
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the PAC evaluator: %w", err)
	}
	c := &child{cmd: cmd, in: in, enc: json.NewEncoder(in), dec: json.NewDecoder(bufio.NewReader(out)),
		budget: o.Timeout, memory: o.MemoryLimit, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.exited) }()
	// The child answers once its limits are set, or says why it could
	// not set them: no script reaches a child without them.
	if err := c.load(ctx, childConfig{Memory: o.MemoryLimit, BudgetMS: o.Timeout.Milliseconds()}); err != nil {
		c.kill()
		return nil, err
	}
	return c, nil
}

// load sends the configuration or the script and waits for the child to
// have taken it: its start, or its run of the script's top level.
func (c *child) load(ctx context.Context, msg any) error {
	r, err := c.exchange(ctx, msg, c.budget+killGrace+startGrace)
	if err != nil {
		return err
	}
	if r.Error != "" {
		return &EvalError{msg: safetext.Sanitize(r.Error), bound: r.Bound}
	}
	return nil
}

func (c *child) ask(ctx context.Context, q childQuery) (string, error) {
	r, err := c.exchange(ctx, q, c.budget+killGrace)
	if err != nil {
		return "", err
	}
	if r.Error != "" {
		return "", &EvalError{msg: safetext.Sanitize(r.Error), bound: r.Bound}
	}
	return r.Result, nil
}

// exchange sends msg and reads the one reply within limit: past that, or
// on ctx's end, the child is killed.
func (c *child) exchange(ctx context.Context, msg any, limit time.Duration) (childReply, error) {
	type result struct {
		r   childReply
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r childReply
		err := c.enc.Encode(msg)
		if err == nil {
			err = c.dec.Decode(&r)
		}
		done <- result{r, err}
	}()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case res := <-done:
		if res.err != nil {
			c.kill()
			return childReply{}, c.gone(res.err)
		}
		return res.r, nil
	case <-t.C:
		c.kill()
		<-done
		return childReply{}, fmt.Errorf("the PAC evaluator did not answer within %v and was stopped", limit)
	case <-ctx.Done():
		c.kill()
		<-done
		return childReply{}, ctx.Err()
	}
}

// gone words a child that stopped answering: it ended (its memory limit
// is the likely cause, the kernel's answer to an allocation past it).
func (c *child) gone(err error) error {
	<-c.exited
	state := c.cmd.ProcessState
	if state == nil {
		return fmt.Errorf("the PAC evaluator failed: %w", err)
	}
	return fmt.Errorf("the PAC evaluator ended without answering (%s): the script most likely went past its memory limit of %d MiB", state, c.memory>>20)
}

// kill ends the child and waits for it; it may be called more than once.
func (c *child) kill() {
	_ = c.in.Close()
	if c.cmd.Process != nil {
		_ = c.cmd.Process.Kill()
	}
	<-c.exited
}
