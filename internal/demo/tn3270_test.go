package demo

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestParseInbound reads the records a 3270 sends on an AID key.
func TestParseInbound(t *testing.T) {
	field := inputRow*screenCols + inputCol + 1
	fa := encodeAddr(field)
	cur := encodeAddr(field + 2)
	tests := []struct {
		name   string
		rec    []byte
		aid    byte
		fields map[int]string
		err    string
	}{
		{"enter with the field", append([]byte{aidEnter, cur[0], cur[1], orderSBA, fa[0], fa[1]}, toEBCDIC("hi")...), aidEnter, map[int]string{field: "hi"}, ""},
		{"enter, nothing typed", []byte{aidEnter, cur[0], cur[1]}, aidEnter, map[int]string{}, ""},
		{"14-bit addresses", []byte{aidEnter, 0x02, 0x9A, orderSBA, byte(field >> 8), byte(field), 0xC8}, aidEnter, map[int]string{field: "H"}, ""},
		{"clear is a short read", []byte{aidClear}, aidClear, map[int]string{}, ""},
		{"PA1 is a short read", []byte{aidPA1}, aidPA1, map[int]string{}, ""},
		{"PF3", []byte{aidPF3, cur[0], cur[1]}, aidPF3, map[int]string{}, ""},
		{"empty", nil, 0, nil, "empty record"},
		{"no cursor", []byte{aidEnter, 0x40}, aidEnter, nil, "no cursor address"},
		{"data without SBA", []byte{aidEnter, cur[0], cur[1], 0xC8}, aidEnter, nil, "without a buffer address"},
		{"cut SBA", []byte{aidEnter, cur[0], cur[1], orderSBA, 0x40}, aidEnter, nil, "without a buffer address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := parseInbound(tt.rec)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseInbound = %v, want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil || in.aid != tt.aid || len(in.fields) != len(tt.fields) {
				t.Fatalf("parseInbound = %+v, %v; want AID %#x and %d fields", in, err, tt.aid, len(tt.fields))
			}
			for a, want := range tt.fields {
				if got := fromEBCDIC(in.fields[a]); got != want {
					t.Errorf("field at %d = %q, want %q", a, got, want)
				}
			}
		})
	}
}

// TestAddrRoundTrip: every 24x80 address survives the 12-bit code.
func TestAddrRoundTrip(t *testing.T) {
	for a := 0; a < screenRows*screenCols; a++ {
		b := encodeAddr(a)
		if got := decodeAddr(b[0], b[1]); got != a {
			t.Fatalf("address %d encodes to %x and decodes to %d", a, b, got)
		}
	}
}

// FuzzTN3270Host feeds arbitrary client bytes to the demo host: it must
// neither panic nor hang, and everything it sends is telnet commands or
// records it built itself.
func FuzzTN3270Host(f *testing.F) {
	f.Add([]byte{tnIAC, tnWILL, optTermType, tnIAC, tnSB, optTermType, ttIS, 'I', 'B', 'M', '-', '3', '2', '7', '8', '-', '2', tnIAC, tnSE,
		tnIAC, tnWILL, optEOR, tnIAC, tnDO, optEOR, tnIAC, tnWILL, optBinary, tnIAC, tnDO, optBinary,
		aidEnter, 0x4B, 0x5B, orderSBA, 0x4B, 0x5B, 0xC8, 0x89, tnIAC, tnEOR, aidPF3, 0x40, 0x40, tnIAC, tnEOR})
	f.Add([]byte{tnIAC, tnWONT, optTermType})
	f.Add([]byte{tnIAC, tnDO, 40, tnIAC, tnWILL, 31, tnIAC, tnSB, 0xFF, 0xFF, tnIAC, tnSE})
	f.Fuzz(func(t *testing.T, in []byte) {
		client, host := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- serveTN3270(host); host.Close() }()
		go io.Copy(io.Discard, client) // the host's output
		client.SetDeadline(time.Now().Add(5 * time.Second))
		client.Write(in)
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the host did not end after the client closed")
		}
	})
}
