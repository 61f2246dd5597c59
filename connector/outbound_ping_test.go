package connector

import (
	"io"
	"testing"
	"time"
)

// TestWebSocketPings: an idle WebSocket tunnel sends a ping every
// WebSocketPing, and one that carries data sends none.
func TestWebSocketPings(t *testing.T) {
	dest := newDestination(t, echo)
	p := newProxy(t, TransportWebSocket, dest.addr, nil)
	cfg := config(p, TransportWebSocket, dest.addr)
	cfg.WebSocketPing = 200 * time.Millisecond
	c := mustNew(t, cfg)
	conn, err := c.Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ws := conn.(*tunnelConn).Conn.(*wsConn)

	// Busy: a round trip every 10 ms for 400 ms.
	buf := make([]byte, 1)
	for deadline := time.Now().Add(400 * time.Millisecond); time.Now().Before(deadline); {
		if _, err := conn.Write([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(conn, buf); err != nil {
			t.Fatal(err)
		}
		<-time.After(10 * time.Millisecond)
	}
	if n := ws.pings.Load(); n != 0 {
		t.Errorf("%d pings while data flowed, want 0", n)
	}
	// Idle for 5.5 intervals: 5 pings (at least 3 on a loaded machine).
	<-time.After(1100 * time.Millisecond)
	if n := ws.pings.Load(); n < 3 || n > 6 {
		t.Errorf("%d pings in 1.1 s idle at a 200 ms interval, want 5", n)
	}
	// The pongs came back and the tunnel still works.
	if _, err := conn.Write([]byte{'y'}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, buf); err != nil || buf[0] != 'y' {
		t.Fatalf("after the pings: %q, %v", buf, err)
	}
}
