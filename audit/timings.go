package audit

import "time"

// Timings are how long each phase of a launch took, as the launch's step
// runner measured them (docs/admin.md "Launch records"); zero for a phase
// the launch did not reach. The proxy's three are the first tunnel's, the
// one dialed before the emulator starts.
type Timings struct {
	Decision     time.Duration // the trust decision, the prompt and recording an Always answer included
	Prompt       time.Duration // waiting for the user's answer at the trust prompt
	Fetch        time.Duration // the descriptor: fetched over HTTPS, decoded, its signature verified
	Policy       time.Duration // the admin policy's check of the descriptor
	Proxy        time.Duration // the connector set up and the first tunnel open, token accepted
	ProxyTCP     time.Duration // DNS and TCP to the proxy, or the outbound proxy's CONNECT to it
	ProxyTLS     time.Duration // the TLS handshake with the proxy
	ProxyRequest time.Duration // the request carrying the token (CONNECT, or the WebSocket upgrade) to the proxy's answer
	Emulator     time.Duration // the profile, the local end and the emulator's preparation, up to its start
	Session      time.Duration // the emulator running: from its start to its exit
}

// timingsLine is the JSON form of Timings, in whole microseconds: a phase
// under a microsecond, or not reached, is left out.
type timingsLine struct {
	Decision     int64 `json:"decision,omitempty"`
	Prompt       int64 `json:"prompt,omitempty"`
	Fetch        int64 `json:"fetch,omitempty"`
	Policy       int64 `json:"policy,omitempty"`
	Proxy        int64 `json:"proxy,omitempty"`
	ProxyTCP     int64 `json:"proxy_tcp,omitempty"`
	ProxyTLS     int64 `json:"proxy_tls,omitempty"`
	ProxyRequest int64 `json:"proxy_request,omitempty"`
	Emulator     int64 `json:"emulator,omitempty"`
	Session      int64 `json:"session,omitempty"`
}

// line returns the JSON form, nil when no phase was timed (a detection, a
// malformed link).
func (t Timings) line() *timingsLine {
	us := func(d time.Duration) int64 { return max(d.Microseconds(), 0) }
	l := timingsLine{us(t.Decision), us(t.Prompt), us(t.Fetch), us(t.Policy), us(t.Proxy),
		us(t.ProxyTCP), us(t.ProxyTLS), us(t.ProxyRequest), us(t.Emulator), us(t.Session)}
	if l == (timingsLine{}) {
		return nil
	}
	return &l
}

// timings converts a line read back; a negative value (an edit by hand)
// counts as not timed.
func (l *timingsLine) timings() Timings {
	if l == nil {
		return Timings{}
	}
	d := func(us int64) time.Duration { return time.Duration(max(us, 0)) * time.Microsecond }
	return Timings{d(l.Decision), d(l.Prompt), d(l.Fetch), d(l.Policy), d(l.Proxy),
		d(l.ProxyTCP), d(l.ProxyTLS), d(l.ProxyRequest), d(l.Emulator), d(l.Session)}
}

// Phases returns the timings in launch order with the names the JSON and
// `trustlaunch log --timings` give them.
func (t Timings) Phases() []PhaseTime {
	return []PhaseTime{
		{"decision", t.Decision}, {"prompt", t.Prompt}, {"fetch", t.Fetch}, {"policy", t.Policy},
		{"proxy", t.Proxy}, {"proxy_tcp", t.ProxyTCP}, {"proxy_tls", t.ProxyTLS}, {"proxy_request", t.ProxyRequest},
		{"emulator", t.Emulator}, {"session", t.Session},
	}
}

// PhaseTime is one phase's name and time.
type PhaseTime struct {
	Name string
	Took time.Duration
}
