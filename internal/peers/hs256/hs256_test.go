package hs256

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_700_000_000, 0)
	claims := Claims{Host: "127.0.0.1", Port: 3270, Exp: now.Add(time.Minute).Unix()}
	tok := Sign(key, claims)

	got, err := Verify(key, tok, now)
	if err != nil || got != claims {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, claims)
	}
	parts := strings.Split(tok, ".")
	tests := []struct {
		name  string
		key   []byte
		token string
		now   time.Time
		want  error
	}{
		{"other key", []byte("another key of thirty-two bytes!"), tok, now, ErrSignature},
		{"expired", key, tok, now.Add(time.Minute), ErrExpired},
		{"tampered payload", key, parts[0] + "." + b64.EncodeToString([]byte(`{"host":"10.0.0.1","port":3270}`)) + "." + parts[2], now, ErrSignature},
		{"alg none", key, b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".", now, ErrMalformed},
		{"two parts", key, parts[0] + "." + parts[1], now, ErrMalformed},
		{"empty", key, "", now, ErrMalformed},
		{"bad signature encoding", key, parts[0] + "." + parts[1] + ".!!", now, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Verify(tt.key, tt.token, tt.now); !errors.Is(err, tt.want) {
				t.Fatalf("Verify err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestKeyFileFormat pins the key file format websockify's jwcrypto reads:
// base64url without padding or newline.
func TestKeyFileFormat(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = 0xfb // encodes to '-' and '_' in base64url
	}
	enc := string(EncodeKey(key))
	if strings.ContainsAny(enc, "=+/\n") {
		t.Fatalf("EncodeKey = %q: want base64url without padding or newline", enc)
	}
}
