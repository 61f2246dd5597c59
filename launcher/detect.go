package launcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"runtime"
	"time"

	"github.com/trustlaunch/trustlaunch/audit"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// Steps of a detection (trustlaunch://detect), as DetectResult.Step and the
// audit log name them, besides the whitelist.Step that refused the origin.
const (
	StepDetectPath      = "detect-path"       // the detect URL's path is not DetectPath
	StepDetectRateLimit = "detect-rate-limit" // a detection for the host was sent less than DetectInterval ago, or the state file failed
	StepDetectPost      = "detect-post"       // the POST to the detect URL
)

// DetectPath is the one path a detection POST goes to, on a listed
// origin, with whatever query the portal gives it (its one-time id): a
// well-known URI (RFC 8615), which the origin's operator reserves and
// controls. Any page can fire a detect link to a listed server; were the
// path free, it could aim the POST at another endpoint of that server
// (/admin/delete?id=1), a request the server would see coming from a
// trusted client.
const DetectPath = "/.well-known/trustlaunch/detect"

// DetectInterval is the least time between two detection POSTs to one host,
// on any port: a page that fires detect links in a loop gets one answer per
// interval, however many trustlaunch processes it starts. The limit is per
// host, not per origin: a whitelist entry without a port admits every port of
// its host, and each port is an origin of its own, so a limit per origin
// would let a page reach up to maxDetectStateHosts ports of one host per
// interval.
const DetectInterval = 10 * time.Second

// detectStateName is the rate-limit file in platform.UserStateDir.
const detectStateName = "detect.json"

// Bounds of the rate-limit file: it holds one time per host seen in the
// last DetectInterval, so a few entries; a larger file is not ours.
const (
	maxDetectStateBytes = 64 << 10
	maxDetectStateHosts = 256
)

// detectAnswerExcerpt is how much of an error answer to a detection the
// error shows; the rest of any answer is read up to 4 KiB and dropped.
const detectAnswerExcerpt = 160

// DefaultDetectStatePath returns the rate-limit file of detections,
// detect.json in platform.UserStateDir (for example
// ~/.local/state/trustlaunch/detect.json).
func DefaultDetectStatePath() (string, error) {
	dir, err := platform.UserStateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, detectStateName), nil
}

// DetectOptions configure one detection.
type DetectOptions struct {
	URL   string           // the detect URL, from link.Parse (link.ActionDetect)
	Admin whitelist.Source // the admin list, from whitelist.LoadAdmin
	User  whitelist.Source // the user list, from whitelist.LoadUser
	// Fetch holds the roots, admin CA bundle, timeout, User-Agent and
	// resolver of the request, the same as the descriptor fetch's; URL and
	// Origin are filled in by Detect from its decision.
	Fetch descriptor.FetchOptions
	// Version is this trustlaunch's version, sent as "version"; "devel"
	// when empty.
	Version string
	// StatePath is the rate-limit file; DefaultDetectStatePath() when
	// empty.
	StatePath string
	Audit     *audit.Log       // nil: no audit record (tests only)
	Now       func() time.Time // the clock of the rate limit; time.Now when nil
	// Secrets is the run's registry of secrets (Options.Secrets): the
	// detect URL's query (the portal's one-time id) and the outbound
	// proxy's credentials are added to it, and the error and the audit
	// record scrubbed with it. Nil: a registry of the detection's own.
	Secrets *redact.Set
}

// DetectResult is the outcome of a detection.
type DetectResult struct {
	// Outcome is how the detection ended, as its audit record says.
	Outcome  audit.Outcome
	Decision whitelist.Decision
	// Step is the whitelist.Step that refused the origin,
	// StepDetectPath, StepDetectRateLimit, or StepDetectPost.
	Step string
	Sent bool  // the portal answered the POST with 2xx
	Err  error // why the detection failed (a *DetectError, or the state file's error); nil when refused or sent
}

// outcome classifies how the detection ended (audit.Outcome).
func (r *DetectResult) outcome(ctx context.Context) audit.Outcome {
	switch {
	case ctx.Err() != nil:
		return audit.Interrupted
	case r.Sent:
		return audit.Detected
	case r.Err != nil:
		return audit.Failed
	case r.Step == StepDetectRateLimit:
		return audit.RateLimited
	}
	return audit.RefusedWhitelist
}

// Refused reports whether nothing was sent because of policy: the origin
// is not listed (or not https), the path is not DetectPath, or the rate
// limit.
func (r *DetectResult) Refused() bool { return r.Err == nil && !r.Sent }

// Message returns the one line to show for a refused or failed detection,
// naming the step; "" when the POST was sent. It never quotes the detect
// URL's query, which holds the portal's one-time id.
func (r *DetectResult) Message() string {
	if r.Err != nil {
		return r.Err.Error()
	}
	if r.Sent {
		return ""
	}
	d := r.Decision
	switch whitelist.Step(r.Step) {
	case whitelist.StepNotHTTPS:
		return "detect: the detect URL does not begin with https://, so its server cannot be verified; nothing was sent"
	case whitelist.StepInvalidOrigin:
		return "detect: the detect URL's server is not acceptable: " + whitelist.OriginReason(d.Err) + "; nothing was sent"
	case whitelist.StepAdminFileUnsafe:
		return "detect: the administrator's whitelist cannot be used (" + d.Err.Error() + "); nothing was sent"
	case whitelist.StepAdminOnlyRefused:
		return "detect: " + d.Origin.String() + " is not in the administrator's whitelist (" + whitelist.Keyword + "); nothing was sent"
	case whitelist.StepWouldPrompt:
		return "detect: " + d.Origin.String() + " is in neither the administrator's whitelist nor yours; nothing was sent"
	}
	switch r.Step {
	case StepDetectPath:
		return "detect: the detect URL's path must be " + DetectPath + " (trustlaunch answers a detection at that endpoint of a listed server only); nothing was sent"
	case StepDetectRateLimit:
		return fmt.Sprintf("detect: a detection answer went to %s, on this or another port, less than %v ago; nothing was sent", d.Origin.Host(), DetectInterval)
	}
	return "detect: refused at " + r.Step + "; nothing was sent"
}

// DetectError is a detection POST that failed. URL is the detect URL
// without its query and fragment; Err is the cause, of the types a
// descriptor.FetchError has (a *descriptor.StatusError, *descriptor.RedirectError, a TLS or network error, a
// timeout).
type DetectError struct {
	URL string
	Err error

	secrets *redact.Set
}

// Error returns "detect: post to URL: cause", one line.
func (e *DetectError) Error() string {
	return e.secrets.Scrub("detect: post to " + e.URL + ": " + safetext.Inert(e.Err.Error()))
}

// Unwrap returns Err.
func (e *DetectError) Unwrap() error { return e.Err }

// Hint returns advice that fits the cause, or "".
func (e *DetectError) Hint() string {
	var st *descriptor.StatusError
	var re *descriptor.RedirectError
	switch {
	case errors.As(e.Err, &st):
		return "the portal did not take trustlaunch's detection answer; tell the portal's administrator"
	case errors.As(e.Err, &re):
		return "trustlaunch answers a detection only at the server of the detect link, following redirects on that server only: tell the portal's administrator"
	}
	return (&descriptor.FetchError{Step: descriptor.StepFetch, Err: e.Err}).Hint()
}

// detectReport is the body of the POST (docs/portal.md "The server"): what a
// portal needs to say "installed" or "update needed", and nothing else about
// this machine.
type detectReport struct {
	Version  string `json:"version"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	Decision string `json:"decision"`
}

// Detect answers a portal's installation check, trustlaunch://detect?url=.
// It runs the launch's trust decision without a prompt; only when the
// admin list or the user list admits the detect URL's origin, and the
// URL's path is DetectPath, does it POST {"version","os","arch","decision"}
// as JSON to exactly that URL, on the decided origin, with the client, TLS
// rules, timeout and redirect rule of the descriptor fetch (a redirect off
// the origin is refused before anything is sent there). For any other
// origin it opens no connection at all, so that an arbitrary page learns
// nothing about this machine: not whether trustlaunch is installed, not
// which servers the user trusts.
//
// At most one POST per host per DetectInterval, counted from the attempt,
// is sent, however many processes try (a locked state file under the
// user's state directory).
//
// The result is recorded in the audit log, with action "detect": decision
// "detected", "refused-whitelist" (the lists, or not the detection's
// path), "rate-limited", "failed" or "interrupted" (audit.Outcome).
func Detect(ctx context.Context, opts DetectOptions) *DetectResult {
	start := time.Now()
	res := &DetectResult{}
	secrets := opts.Secrets
	if secrets == nil {
		secrets = &redact.Set{}
	}
	secrets.AddQuery(opts.URL)
	rec := audit.Record{Action: audit.ActionDetect, DescriptorURL: opts.URL}
	defer func() {
		rec.Duration = time.Since(start)
		res.Outcome = res.outcome(ctx)
		rec.Step, rec.Decision = res.Step, res.Outcome
		if msg := res.Message(); msg != "" {
			rec.Error = msg
		}
		if opts.Audit != nil {
			_ = opts.Audit.AppendAfter(ctx, rec.Scrubbed(secrets)) // the answer was given or refused either way
		}
	}()

	// 1. The decision, with no prompter: a detection never asks.
	d := whitelist.Decide(ctx, whitelist.Input{LaunchURL: opts.URL, Admin: opts.Admin, User: opts.User})
	res.Decision, res.Step = d, string(d.Step)
	rec.Whitelist = string(d.Step)
	if !d.Origin.IsZero() {
		rec.Origin = d.Origin.String()
	}
	if !d.Proceed {
		return res
	}

	// 2. The path: the one endpoint a detection answers at.
	if !isDetectPath(opts.URL) {
		res.Step = StepDetectPath
		return res
	}

	// 3. The rate limit, claimed before the POST so that a failing one
	// counts too.
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	statePath := opts.StatePath
	if statePath == "" {
		p, err := DefaultDetectStatePath()
		if err != nil {
			res.Step, res.Err = StepDetectRateLimit, fmt.Errorf("detect: rate-limit state: %w", err)
			return res
		}
		statePath = p
	}
	ok, err := claimDetect(ctx, statePath, d.Origin.Host(), now())
	if err != nil {
		// Fail closed: without the state, the limit cannot be kept.
		res.Step, res.Err = StepDetectRateLimit, fmt.Errorf("detect: rate-limit state: %w", err)
		return res
	}
	if !ok {
		res.Step = StepDetectRateLimit
		return res
	}

	// 4. The POST.
	res.Step = StepDetectPost
	version := opts.Version
	if version == "" {
		version = "devel"
	}
	body, err := json.Marshal(detectReport{Version: version, OS: runtime.GOOS, Arch: runtime.GOARCH, Decision: string(d.Step)})
	if err != nil {
		res.Err = err // not reached: four strings
		return res
	}
	fo := opts.Fetch
	fo.URL, fo.Origin, fo.Secrets = opts.URL, d.Origin, secrets
	if err := postDetect(ctx, fo, body); err != nil {
		res.Err = err
		return res
	}
	res.Sent = true
	return res
}

// postDetect sends body to fo.URL as the descriptor fetch would send its
// GET (descriptor.Post), and accepts any 2xx answer. Errors are
// *DetectError.
func postDetect(ctx context.Context, fo descriptor.FetchOptions, body []byte) error {
	if fo.Secrets == nil {
		fo.Secrets = &redact.Set{}
	}
	if err := descriptor.Post(ctx, fo, body, detectAnswerExcerpt); err != nil {
		return &DetectError{URL: descriptor.RedactURL(fo.URL), Err: err, secrets: fo.Secrets}
	}
	return nil
}

// isDetectPath reports whether the path of the detect URL raw is exactly
// DetectPath, as written: no other spelling of it (an escape, a dot
// segment, a trailing slash), which a server might resolve elsewhere.
func isDetectPath(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Path == DetectPath && (u.RawPath == "" || u.RawPath == DetectPath)
}

// detectState is the rate-limit file: when a detection POST to each host
// was last attempted, in Unix milliseconds. It holds no URL, path or id.
type detectState struct {
	Last map[string]int64 `json:"last"`
}

// claimDetect reports whether a POST to host may go out at now, and if so
// records it, under the lock and with the atomic write of the user list
// (platform.Lock, platform.WriteFileAtomic), so that concurrent detections
// send one POST. A file that does not parse is replaced: it holds only
// times, and a torn or foreign file must not stop detection for good.
func claimDetect(ctx context.Context, path, host string, now time.Time) (bool, error) {
	if err := platform.MkdirPrivate(filepath.Dir(path)); err != nil {
		return false, err
	}
	lock, err := platform.Lock(ctx, path)
	if err != nil {
		return false, err
	}
	defer lock.Unlock()

	st := detectState{Last: map[string]int64{}}
	// Read under the rule of every file in the user's directories
	// (platform.ReadUserFile). A file that fails it limits nothing: it is
	// replaced below, which MkdirPrivate's directory lets only this user do.
	data, err := platform.ReadUserFile(path, maxDetectStateBytes)
	var unsafe *platform.UnsafeFileError
	var refused *platform.RefusedFileError
	switch {
	case errors.As(err, &unsafe), errors.As(err, &refused):
	case err == nil:
		var old detectState
		if json.Unmarshal(data, &old) == nil {
			for o, ms := range old.Last {
				// Keep only what still limits: within the interval, and
				// not from a clock that has since gone back.
				if age := now.Sub(time.UnixMilli(ms)); age >= 0 && age < DetectInterval {
					st.Last[o] = ms
				}
			}
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return false, err
	}
	if _, limited := st.Last[host]; limited {
		return false, nil
	}
	if len(st.Last) >= maxDetectStateHosts {
		// More hosts within 10 s than any portal use makes: a page
		// cycling through hosts. Refuse rather than grow the file.
		return false, nil
	}
	st.Last[host] = now.UnixMilli()
	out, err := json.Marshal(st)
	if err != nil {
		return false, err
	}
	if err := platform.WriteFileAtomic(path, out, 0o600); err != nil {
		return false, err
	}
	return true, nil
}
