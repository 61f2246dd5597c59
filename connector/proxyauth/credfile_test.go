package proxyauth

import (
	"strings"
	"testing"
)

func TestParseCredentials(t *testing.T) {
	for _, tc := range []struct {
		name, in, user, pass, wantErr string
	}{
		{name: "plain", in: "alice:s3cret\n", user: "alice", pass: "s3cret"},
		{name: "no newline", in: "alice:s3cret", user: "alice", pass: "s3cret"},
		{name: "CRLF and BOM", in: "\ufeff# proxy\r\nalice:s3cret\r\n", user: "alice", pass: "s3cret"},
		{name: "colon in password", in: "CORP\\alice:a:b:c\n", user: "CORP\\alice", pass: "a:b:c"},
		{name: "comments and blanks first", in: "\n  \n# x:y\nbob:pw\nignored:line\n", user: "bob", pass: "pw"},
		{name: "empty", in: "", wantErr: "no USER:PASSWORD line"},
		{name: "no colon", in: "alice\n", wantErr: "line 1: want USER:PASSWORD"},
		{name: "empty user", in: ":pw\n", wantErr: "user name is empty"},
		{name: "empty password", in: "alice:\n", wantErr: "password is empty"},
		{name: "control", in: "alice:pw\x1b[2J\n", wantErr: "control character"},
		{name: "not UTF-8", in: "alice:\xff\n", wantErr: "not UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, p, err := ParseCredentials([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "alice") {
					t.Errorf("the error quotes the file: %v", err)
				}
				return
			}
			if err != nil || u != tc.user || p != tc.pass {
				t.Fatalf("= %q, %q, %v; want %q, %q", u, p, err, tc.user, tc.pass)
			}
		})
	}
}
