package demo

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTicketIsSingleUse: the demo's portal serves the descriptor once per
// ticket, as the admin guide asks of real portals, and answers a replayed
// or unknown ticket 410 Gone; the report counts both.
func TestTicketIsSingleUse(t *testing.T) {
	w, client := startWorld(t)
	get := func(u string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get(w.LaunchURL); code != http.StatusOK || !strings.Contains(body, `"version":1`) {
		t.Fatalf("first fetch: %d %q, want 200 and the descriptor", code, body)
	}
	if code, _ := get(w.LaunchURL); code != http.StatusGone {
		t.Errorf("the same link again: %d, want 410", code)
	}
	other := w.NewLaunchURL()
	if other == w.LaunchURL {
		t.Fatal("NewLaunchURL gave the same ticket")
	}
	if code, _ := get(other); code != http.StatusOK {
		t.Errorf("a new link: %d, want 200", code)
	}
	if code, _ := get(strings.Split(w.LaunchURL, "?")[0] + "?ticket=made-up"); code != http.StatusGone {
		t.Errorf("an unknown ticket: %d, want 410", code)
	}
	r := w.Report()
	if r.Served != 2 || r.TicketsRefused != 2 || r.Signed || r.TokensAccepted != 0 {
		t.Errorf("report %+v, want 2 served, 2 refused, unsigned, no tunnel", r)
	}
}

// startWorld starts the demo's world for one test, with an HTTPS client
// that trusts its portal; both end with the test.
func startWorld(t *testing.T) (*World, *http.Client) {
	t.Helper()
	w, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: w.OriginCA, MinVersion: tls.VersionTLS12}},
	}
	t.Cleanup(client.CloseIdleConnections)
	return w, client
}
