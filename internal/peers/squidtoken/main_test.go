package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers/hs256"
)

func TestServe(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_700_000_000, 0)
	valid := hs256.Sign(key, hs256.Claims{Host: "127.0.0.1", Port: 3270, Exp: now.Add(time.Minute).Unix()})
	expired := hs256.Sign(key, hs256.Claims{Host: "127.0.0.1", Port: 3270, Exp: now.Unix()})
	forged := hs256.Sign([]byte("another key of thirty-two bytes!"), hs256.Claims{Host: "127.0.0.1", Port: 3270})
	bearer := func(tok string) string { return url.PathEscape("Bearer " + tok) }

	// Requests as Squid sends them with concurrency>0: channel ID, then
	// %>ha{Proxy-Authorization} %DST %PORT %DATA, URL-escaped.
	in := strings.Join([]string{
		"0 " + bearer(valid) + " 127.0.0.1 3270 -",
		"1 - 127.0.0.1 3270 -",
		"2 " + bearer(expired) + " 127.0.0.1 3270 -",
		"3 " + bearer(forged) + " 127.0.0.1 3270 -",
		"4 " + bearer(valid) + " 127.0.0.1 3271 -",
		"5 " + bearer(valid) + " 10.0.0.1 3270 -",
		"6 " + url.PathEscape("Basic dXNlcjpwYXNz") + " 127.0.0.1 3270 -",
		"7 " + url.PathEscape("bearer "+valid) + " 127.0.0.1 3270 -",
		"8 too few",
		"",
	}, "\n")
	var out strings.Builder
	if err := serve(strings.NewReader(in), &out, key, true, func() time.Time { return now }); err != nil {
		t.Fatal(err)
	}
	want := []string{"0 OK", "1 ERR", "2 ERR", "3 ERR", "4 ERR", "5 ERR", "6 ERR", "7 OK", "8 BH"}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d answers, want %d:\n%s", len(got), len(want), out.String())
	}
	for i := range want {
		if got[i] != want[i] && !strings.HasPrefix(got[i], want[i]+" ") {
			t.Errorf("answer %d = %q, want %q...", i, got[i], want[i])
		}
		if strings.Contains(got[i], valid) {
			t.Errorf("answer %d contains the token", i)
		}
	}
}

func TestServeWithoutChannelIDs(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_700_000_000, 0)
	valid := hs256.Sign(key, hs256.Claims{Host: "localhost", Port: 23})
	var out strings.Builder
	in := url.PathEscape("Bearer "+valid) + " localhost 23 -\n- localhost 23 -\n"
	if err := serve(strings.NewReader(in), &out, key, false, func() time.Time { return now }); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasPrefix(got, "OK\nERR ") {
		t.Fatalf("answers = %q, want OK then ERR", got)
	}
}
