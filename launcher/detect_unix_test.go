//go:build unix

package launcher

import (
	"os"
	"testing"
	"time"
)

// TestDetectStateOthersCouldWrite: the rate-limit file is read under the
// rule of every file in the user's directories (platform.ReadUserFile). One
// that others can write says nothing, so a detection within the interval
// is sent, and the file is replaced by one of the user's own (0600).
func TestDetectStateOthersCouldWrite(t *testing.T) {
	s := newDetect(t, true, nil)
	if res := Detect(t.Context(), s.opts); !res.Sent {
		t.Fatalf("first Detect = %+v, want sent", res)
	}
	if err := os.Chmod(s.opts.StatePath, 0o606); err != nil {
		t.Fatal(err)
	}
	s.now.Add(int64(time.Second))
	if res := Detect(t.Context(), s.opts); !res.Sent || res.Err != nil {
		t.Fatalf("Detect with a state file others can write = %+v, want sent: the file limits nothing", res)
	}
	fi, err := os.Stat(s.opts.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v after Detect, want 0600", fi.Mode().Perm())
	}
}
