package pac

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// maxCallStack bounds the script's call depth: PAC scripts call a few
// helper functions deep, and a recursion that never ends must fail as a
// RangeError long before Go's own stack limit.
const maxCallStack = 1000

// dnsTimeout bounds each lookup of dnsResolve, isResolvable and isInNet,
// inside the evaluation's own budget.
const dnsTimeout = 2 * time.Second

// Engine runs one PAC script with goja: the ECMAScript built-ins and the
// PAC functions of Netscape's specification as browsers implement them
// (isPlainHostName, dnsDomainIs, localHostOrDomainIs, isResolvable,
// isInNet, dnsResolve, convert_addr, myIpAddress, dnsDomainLevels,
// shExpMatch, weekdayRange, dateRange, timeRange, alert), and nothing
// else: no file, network (beyond the DNS lookups the PAC functions make)
// or process access. It is not safe for concurrent use. Its budget bounds
// time only: memory is bounded by the process it runs in (ServeChild).
type Engine struct {
	vm       *goja.Runtime
	find     goja.Callable
	budget   time.Duration
	resolver *net.Resolver
	now      func() time.Time
}

// EvalError is a script that failed: it did not compile, threw, ran past
// its budget, or returned something other than a string.
type EvalError struct {
	msg string
	// bound: the script ran into a bound (time, memory, call depth),
	// which it will most likely do again for the next query too.
	bound bool
}

func (e *EvalError) Error() string { return e.msg }

// NewEngine compiles and runs script (its top level, within budget) and
// finds FindProxyForURL in it.
func NewEngine(script string, budget time.Duration) (*Engine, error) {
	e, err := newEngine(budget)
	if err != nil {
		return nil, err
	}
	return e, e.load(script)
}

// newEngine is an Engine with the PAC functions defined and no script
// yet, so that its process can watch it before the script runs.
func newEngine(budget time.Duration) (*Engine, error) {
	e := &Engine{vm: goja.New(), budget: budget, resolver: net.DefaultResolver, now: time.Now}
	e.vm.SetMaxCallStackSize(maxCallStack)
	if err := e.define(); err != nil {
		return nil, err
	}
	return e, nil
}

// load runs the script's top level within the budget and finds
// FindProxyForURL.
func (e *Engine) load(script string) error {
	if _, err := e.run(func() (goja.Value, error) { return e.vm.RunScript("proxy.pac", script) }); err != nil {
		return err
	}
	fn, ok := goja.AssertFunction(e.vm.Get("FindProxyForURL"))
	if !ok {
		return &EvalError{msg: "the script defines no function FindProxyForURL"}
	}
	e.find = fn
	return nil
}

// Find calls FindProxyForURL(url, host) within the budget and returns its
// answer, a proxy list ("PROXY a:3128; DIRECT").
func (e *Engine) Find(url, host string) (string, error) {
	v, err := e.run(func() (goja.Value, error) {
		return e.find(goja.Undefined(), e.vm.ToValue(url), e.vm.ToValue(host))
	})
	if err != nil {
		return "", err
	}
	s, ok := v.Export().(string)
	if !ok {
		return "", &EvalError{msg: "FindProxyForURL returned " + describe(v) + ", not a string"}
	}
	return s, nil
}

// run calls f with the budget armed: at its end the VM is interrupted,
// which stops a loop or a recursion at its next instruction.
func (e *Engine) run(f func() (goja.Value, error)) (goja.Value, error) {
	t := time.AfterFunc(e.budget, func() { e.vm.Interrupt(errBudget) })
	v, err := f()
	t.Stop()
	e.vm.ClearInterrupt()
	if err == nil {
		return v, nil
	}
	var ie *goja.InterruptedError
	var so *goja.StackOverflowError
	var ex *goja.Exception
	var ce *goja.CompilerSyntaxError
	switch {
	case errors.As(err, &ie) && ie.Value() == errMemory:
		return nil, &EvalError{msg: "the script went past its memory limit", bound: true}
	case errors.As(err, &ie):
		return nil, &EvalError{msg: fmt.Sprintf("the script ran longer than %v", e.budget), bound: true}
	case errors.As(err, &so):
		return nil, &EvalError{msg: "the script recursed too deep (more than " + strconv.Itoa(maxCallStack) + " calls)", bound: true}
	case errors.As(err, &ex):
		return nil, &EvalError{msg: "the script threw " + excerpt(ex.Value().String())}
	case errors.As(err, &ce):
		return nil, &EvalError{msg: "the script does not compile: " + excerpt(ce.Error())}
	}
	return nil, &EvalError{msg: "the script failed: " + excerpt(err.Error())}
}

var (
	errBudget = errors.New("budget")
	errMemory = errors.New("memory")
)

// interruptForMemory stops the running script: its process's memory
// watch saw it go past the limit.
func (e *Engine) interruptForMemory() { e.vm.Interrupt(errMemory) }

// excerpt bounds text from the script in a message; the caller sanitizes.
func excerpt(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func describe(v goja.Value) string {
	if v == nil || goja.IsUndefined(v) {
		return "undefined"
	}
	if goja.IsNull(v) {
		return "null"
	}
	return "a value of type " + v.ExportType().String()
}

// define sets the PAC functions as globals.
func (e *Engine) define() error {
	str := func(c goja.FunctionCall, i int) string { return c.Argument(i).String() }
	fns := map[string]func(goja.FunctionCall) goja.Value{
		"isPlainHostName": func(c goja.FunctionCall) goja.Value {
			return e.vm.ToValue(!strings.Contains(str(c, 0), "."))
		},
		"dnsDomainIs": func(c goja.FunctionCall) goja.Value {
			return e.vm.ToValue(strings.HasSuffix(strings.ToLower(str(c, 0)), strings.ToLower(str(c, 1))))
		},
		"localHostOrDomainIs": func(c goja.FunctionCall) goja.Value {
			h, d := strings.ToLower(str(c, 0)), strings.ToLower(str(c, 1))
			return e.vm.ToValue(h == d || (!strings.Contains(h, ".") && strings.HasPrefix(d, h+".")))
		},
		"isResolvable": func(c goja.FunctionCall) goja.Value {
			_, ok := e.resolve(str(c, 0))
			return e.vm.ToValue(ok)
		},
		"dnsResolve": func(c goja.FunctionCall) goja.Value {
			a, ok := e.resolve(str(c, 0))
			if !ok {
				return goja.Null()
			}
			return e.vm.ToValue(a.String())
		},
		"isInNet": func(c goja.FunctionCall) goja.Value {
			a, ok := e.resolve(str(c, 0))
			if !ok {
				return e.vm.ToValue(false)
			}
			pat, err1 := netip.ParseAddr(str(c, 1))
			mask, err2 := netip.ParseAddr(str(c, 2))
			if err1 != nil || err2 != nil || !pat.Is4() || !mask.Is4() {
				return e.vm.ToValue(false)
			}
			m := binary.BigEndian.Uint32(mask.AsSlice())
			return e.vm.ToValue(binary.BigEndian.Uint32(a.AsSlice())&m == binary.BigEndian.Uint32(pat.AsSlice())&m)
		},
		"convert_addr": func(c goja.FunctionCall) goja.Value {
			a, err := netip.ParseAddr(str(c, 0))
			if err != nil || !a.Is4() {
				return e.vm.ToValue(0)
			}
			return e.vm.ToValue(binary.BigEndian.Uint32(a.AsSlice()))
		},
		"myIpAddress": func(goja.FunctionCall) goja.Value { return e.vm.ToValue(myIPAddress()) },
		"dnsDomainLevels": func(c goja.FunctionCall) goja.Value {
			return e.vm.ToValue(strings.Count(str(c, 0), "."))
		},
		"shExpMatch": func(c goja.FunctionCall) goja.Value {
			return e.vm.ToValue(shExpMatch(str(c, 0), str(c, 1)))
		},
		"weekdayRange": func(c goja.FunctionCall) goja.Value { return e.vm.ToValue(e.weekdayRange(args(c))) },
		"dateRange":    func(c goja.FunctionCall) goja.Value { return e.vm.ToValue(e.dateRange(args(c))) },
		"timeRange":    func(c goja.FunctionCall) goja.Value { return e.vm.ToValue(e.timeRange(args(c))) },
		"alert":        func(goja.FunctionCall) goja.Value { return goja.Undefined() },
	}
	for name, f := range fns {
		if err := e.vm.Set(name, f); err != nil {
			return err
		}
	}
	return nil
}

func args(c goja.FunctionCall) []string {
	out := make([]string, len(c.Arguments))
	for i, a := range c.Arguments {
		out[i] = a.String()
	}
	return out
}

// resolve returns host's first IPv4 address (PAC's functions are IPv4
// ones), within dnsTimeout.
func (e *Engine) resolve(host string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), a.Unmap().Is4()
	}
	ctx, cancel := context.WithTimeout(context.Background(), dnsTimeout)
	defer cancel()
	addrs, err := e.resolver.LookupNetIP(ctx, "ip4", host)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, false
	}
	return addrs[0].Unmap(), true
}

// myIPAddress is the address of the interface this machine would reach
// the internet from, as browsers answer myIpAddress(): the local end of
// a UDP socket "connected" (no packet is sent) to a public address;
// 127.0.0.1 when there is no route.
func myIPAddress() string {
	c, err := net.Dial("udp4", "198.51.100.1:53")
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
		return a.IP.String()
	}
	return "127.0.0.1"
}

// shExpMatch matches s against a shell expression where "*" is any run
// of characters and "?" any one character (browsers' subset: no
// brackets), without backtracking blow-up.
func shExpMatch(s, pat string) bool {
	// Classic two-pointer glob: the last "*" is the only one retried.
	si, pi, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(pat) && (pat[pi] == '?' || pat[pi] == s[si]):
			si++
			pi++
		case pi < len(pat) && pat[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			mark++
			si, pi = mark, star+1
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi] == '*' {
		pi++
	}
	return pi == len(pat)
}

var (
	weekdays = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
	months   = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
)

// clock returns the time the range functions compare with, and the
// arguments without a final "GMT" (which asks for UTC).
func (e *Engine) clock(a []string) (time.Time, []string) {
	now := e.now()
	if n := len(a); n > 0 && strings.EqualFold(a[n-1], "GMT") {
		return now.UTC(), a[:n-1]
	}
	return now.Local(), a
}

func index(list []string, s string) int {
	for i, v := range list {
		if strings.EqualFold(v, s) {
			return i
		}
	}
	return -1
}

// inRange reports lo <= v <= hi, wrapping when hi < lo (FRI..MON).
func inRange(v, lo, hi int) bool {
	if lo <= hi {
		return lo <= v && v <= hi
	}
	return v >= lo || v <= hi
}

func (e *Engine) weekdayRange(a []string) bool {
	now, a := e.clock(a)
	if len(a) == 0 || len(a) > 2 {
		return false
	}
	lo := index(weekdays, a[0])
	hi := lo
	if len(a) == 2 {
		hi = index(weekdays, a[1])
	}
	if lo < 0 || hi < 0 {
		return false
	}
	return inRange(int(now.Weekday()), lo, hi)
}

// dateRange supports the forms of the specification: day, month, year,
// or one or two of (day month year), (month year), (day month), each
// alone or as a range.
func (e *Engine) dateRange(a []string) bool {
	now, a := e.clock(a)
	type part struct{ kind, v int } // kind 0 day, 1 month, 2 year
	var ps []part
	for _, s := range a {
		if m := index(months, s); m >= 0 {
			ps = append(ps, part{1, m})
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return false
		}
		if n > 31 {
			ps = append(ps, part{2, n})
		} else {
			ps = append(ps, part{0, n})
		}
	}
	val := func(kind int) int {
		switch kind {
		case 0:
			return now.Day()
		case 1:
			return int(now.Month()) - 1
		}
		return now.Year()
	}
	key := func(p []part) (int, int) { // a comparable number of now and of p, over the kinds p names
		var k, kn int
		for _, q := range p {
			w := []int{1, 100, 10000}[2-q.kind]
			k += q.v * w
			kn += val(q.kind) * w
		}
		return k, kn
	}
	switch len(ps) {
	case 1:
		return val(ps[0].kind) == ps[0].v
	case 2, 4, 6:
		h := len(ps) / 2
		for i := 0; i < h; i++ {
			if ps[i].kind != ps[h+i].kind {
				return false
			}
		}
		lo, n := key(ps[:h])
		hi, _ := key(ps[h:])
		return inRange(n, lo, hi)
	}
	return false
}

// timeRange supports hour, hour-hour, h1 m1 h2 m2 and h1 m1 s1 h2 m2 s2.
func (e *Engine) timeRange(a []string) bool {
	now, a := e.clock(a)
	n := make([]int, len(a))
	for i, s := range a {
		v, err := strconv.Atoi(s)
		if err != nil {
			return false
		}
		n[i] = v
	}
	sec := now.Hour()*3600 + now.Minute()*60 + now.Second()
	switch len(n) {
	case 1:
		return now.Hour() == n[0]
	case 2:
		return inRange(now.Hour(), n[0], n[1]-1) || (n[0] == n[1] && now.Hour() == n[0])
	case 4:
		return inRange(sec, n[0]*3600+n[1]*60, n[2]*3600+n[3]*60+59)
	case 6:
		return inRange(sec, n[0]*3600+n[1]*60+n[2], n[3]*3600+n[4]*60+n[5])
	}
	return false
}
