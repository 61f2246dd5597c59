//go:build linux

package peers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// HerculesOptions configures StartHercules. The zero value is ready to use.
type HerculesOptions struct {
	// StartTimeout bounds start-up (default DefaultStartTimeout).
	StartTimeout time.Duration
}

// Hercules is a running Hercules 3.13 (Debian hercules) mainframe emulator
// with no operating system loaded. Its console port (CNSLPORT) speaks TN3270
// and shows each 3270 client the Hercules logo screen, which contains the
// word "Hercules": a real TN3270 host for end-to-end tests.
type Hercules struct {
	Addr string // "127.0.0.1:PORT" of the TN3270 console port
	Dir  string
	*Process
}

// herculesPortAttempts is how often StartHercules retries when the port it
// chose was taken between choosing and binding.
const herculesPortAttempts = 5

const herculesConf = `# hercules.cnf written by internal/peers: no IPL, four 3270 devices.
CPUSERIAL 000611
CPUMODEL  3090
MAINSIZE  16
XPNDSIZE  0
NUMCPU    1
ARCHMODE  ESA/390
PANRATE   SLOW
CNSLPORT  127.0.0.1:%d
0700.4    3270
`

var (
	herculesListening = regexp.MustCompile(`HHCTE003I Waiting for console connection on port (\d+)`)
	// Hercules does not exit when its port is taken: it logs HHCTE002W and
	// retries every ten seconds.
	herculesPortBusy = regexp.MustCompile(`HHCTE002W|HHCTE005E`)
)

// StartHercules starts Hercules in daemon mode (-d: log to stdout, no
// panel) with a configuration of its own, and returns once its console port
// accepts connections. Like Squid it has no port-0 mode: the port is found by
// binding :0 and closing, and a lost race is retried.
func StartHercules(t testing.TB, opts HerculesOptions) *Hercules {
	t.Helper()
	bin := RequireBinary(t, "hercules")
	if opts.StartTimeout == 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	h := &Hercules{Dir: t.TempDir()}
	deadline := time.Now().Add(opts.StartTimeout)
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("hercules: %v", err)
		}
		conf := filepath.Join(h.Dir, "hercules.cnf")
		writeFile(t, conf, fmt.Appendf(nil, herculesConf, port), 0o644)
		cmd := exec.Command(bin, "-f", conf, "-d")
		cmd.Dir = h.Dir
		p, err := startProcess(t, "hercules", h.Dir, cmd)
		if err != nil {
			t.Fatalf("%v", err)
		}
		line, err := p.waitLine(t.Context(), time.Until(deadline), func(line string) bool {
			return herculesListening.MatchString(line) || herculesPortBusy.MatchString(line)
		})
		p.doneWatching()
		if err == nil && herculesListening.MatchString(line) {
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			if err := p.waitDialable(t.Context(), time.Until(deadline), addr); err != nil {
				t.Fatalf("hercules did not start: %v\n%s", err, redactTokens(tail(p.Log())))
			}
			h.Addr = addr
			h.Process = p
			return h
		}
		p.Stop()
		if err == nil && attempt < herculesPortAttempts {
			t.Logf("hercules: port %d was taken before Hercules bound it; retrying", port)
			continue
		}
		if err == nil {
			err = errors.New("console port taken on every attempt")
		}
		t.Fatalf("hercules did not start: %v\n%s", err, redactTokens(tail(p.Log())))
	}
}

// S3270Script is the s3270 script that connects to hostPort, waits up to ten
// seconds for the host's first screen and prints it. The host goes in a
// Connect() action, not on the command line: given a host there, s3270 waits
// for an input field, and the Hercules logo screen has none.
func S3270Script(hostPort string) string {
	return fmt.Sprintf("Connect(%s)\nWait(10,Output)\nAscii()\nQuit()\n", hostPort)
}

// RunS3270 runs s3270 with S3270Script(hostPort) and returns the screen text
// (the "data: " lines of its output, prefixes removed). It fails the test if
// s3270 is not installed.
func RunS3270(t testing.TB, ctx context.Context, hostPort string) (string, error) {
	t.Helper()
	bin := RequireBinary(t, "s3270")
	cmd := exec.CommandContext(ctx, bin)
	cmd.Stdin = strings.NewReader(S3270Script(hostPort))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	screen := ParseS3270Screen(stdout.String())
	if err != nil {
		return screen, fmt.Errorf("s3270: %w\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if strings.Contains(stdout.String(), "\nerror\n") {
		return screen, fmt.Errorf("s3270 reported an error:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	return screen, nil
}

// ParseS3270Screen extracts the screen from s3270's output: the text of its
// "data: " lines, one screen row per line.
func ParseS3270Screen(out string) string {
	var b strings.Builder
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(line, "data: "); ok {
			b.WriteString(strings.TrimRight(rest, " \r\n") + "\n")
		}
	}
	return b.String()
}
