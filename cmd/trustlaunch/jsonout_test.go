package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// topKeys returns the keys of the JSON object in data, in order.
func topKeys(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %v %v\n%s", tok, err, data)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestJSONShapes pins the top-level shape of every --json document
// (docs/admin.md "Output for scripts"): the shared head, then the
// command's own fields, in order. A change here is a change of an
// interface that scripts parse: add fields, never rename or remove them
// without a new version.
func TestJSONShapes(t *testing.T) {
	dir := testtmp.Dir(t)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	t.Setenv("APPDATA", filepath.Join(dir, "config"))
	t.Setenv("LOCALAPPDATA", filepath.Join(dir, "state"))
	noAdmin := noAdminDir(t)
	lists := []string{"--admin-whitelist", filepath.Join(noAdmin, "whitelist.txt"), "--admin-policy", filepath.Join(noAdmin, "policy.toml")}
	wl := filepath.Join(dir, "wl.txt")
	pr := filepath.Join(dir, "profiles.toml")
	pol := filepath.Join(dir, "policy.toml")
	for name, content := range map[string]string{
		wl:  "portal.example.com\n",
		pr:  "[profile.p]\ncommand = [\"c3270\", \"{host}:{port}\"]\n",
		pol: "[[proxies]]\naddress = \"proxy.example.com:8443\"\n",
	} {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const desc = `{"version":1,"session":"Payroll","profile":"c3270","proxy":{"address":"proxy.example.com:8443","transport":"connect"},"destination":{"host":"mainframe.example.com","port":23},"token":"tok-secret-51"}`
	head := []string{"schema", "version", "ok", "problems"}
	tests := []struct {
		args   []string
		stdin  string
		schema string
		keys   []string
	}{
		{[]string{"whitelist", "check", "--json", wl}, "", "trustlaunch.whitelist.check", []string{"file", "mode", "entries"}},
		{append([]string{"whitelist", "paths", "--json"}, lists...), "", "trustlaunch.whitelist.paths", []string{"admin_list", "user_list", "admin_policy", "group_policy"}},
		{append([]string{"whitelist", "show", "--json"}, lists...), "", "trustlaunch.whitelist.show", []string{"mode", "admin_list", "user_list", "admin_policy", "policy", "group_policy"}},
		{append([]string{"whitelist", "explain", "--json"}, append(lists, "https://portal.example.com/t?ticket=1")...), "", "trustlaunch.whitelist.explain", []string{"result", "step", "origin", "trace"}},
		{[]string{"policy", "check", "--json", pol}, "", "trustlaunch.policy.check", []string{"file", "policy"}},
		{[]string{"profiles", "check", "--json", pr}, "", "trustlaunch.profiles.check", []string{"file", "profiles"}},
		{[]string{"profiles", "list", "--json", "--admin-profiles", filepath.Join(noAdmin, "profiles.toml"), "--user-profiles", pr}, "", "trustlaunch.profiles.list", []string{"files", "profiles"}},
		{[]string{"descriptor", "verify", "--json", "--admin-policy", pol}, desc, "trustlaunch.descriptor.verify", []string{"policy", "policy_state", "signed", "descriptor"}},
		{[]string{"register", "--check", "--json"}, "", "trustlaunch.register.check", []string{"system", "findings"}},
		{[]string{"doctor", "--json", "--admin-whitelist", filepath.Join(noAdmin, "whitelist.txt"), "--admin-policy", filepath.Join(noAdmin, "policy.toml"),
			"--admin-profiles", filepath.Join(noAdmin, "profiles.toml"), "--ca-bundle", filepath.Join(noAdmin, "ca.pem"), "--timeout", "5s", "https://127.0.0.1:1/t?ticket=1"},
			"", "trustlaunch.doctor", []string{"build", "origin", "checks"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:2], " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			s := &stdio{stdin: strings.NewReader(tt.stdin), stdout: &out, stderr: &errOut, getenv: os.Getenv}
			run(context.Background(), tt.args, s)
			keys := topKeys(t, out.Bytes())
			if want := append(slices.Clone(head), tt.keys...); !slices.Equal(keys, want) {
				t.Errorf("keys %q, want %q", keys, want)
			}
			var doc struct {
				Schema   string
				Version  int
				Problems []json.RawMessage
			}
			if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Schema != tt.schema || doc.Version != 1 || doc.Problems == nil {
				t.Errorf("head %+v, want schema %s, version 1, problems []", doc, tt.schema)
			}
			if strings.Contains(out.String(), "tok-secret") || strings.Contains(out.String(), "ticket=") {
				t.Errorf("a secret reached the document:\n%s", out.String())
			}
		})
	}
}
