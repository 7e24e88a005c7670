package main

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

var testKEK = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

func TestKeysCommand(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			env := envFor(b.URL, "KEY_ENCRYPTION_KEY", testKEK, "ID_TOKEN_LIFETIME", "1h")
			r := runCLI(t, env, nil, "keys", "list")
			if r.code != 0 || strings.Count(r.stdout, "\n") != 1 {
				t.Fatalf("keys list on an empty table: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			r = runCLI(t, env, nil, "keys", "rotate", "--sign-after", "10m")
			if r.code != 0 {
				t.Fatalf("keys rotate: exit %d\n%s", r.code, r.stderr)
			}
			// The first rotation creates a signing key per algorithm, then
			// the new ones, published but not yet signing.
			r = runCLI(t, env, nil, "keys", "list")
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if r.code != 0 || len(lines) != 5 || !strings.HasPrefix(lines[0], "KID") {
				t.Fatalf("keys list: exit %d\n%s", r.code, r.stdout)
			}
			count := func(alg, state string) int {
				n := 0
				for _, l := range lines[1:] {
					f := strings.Fields(l)
					if f[1] == alg && strings.Join(f[3:], " ") != "" && strings.HasPrefix(strings.Join(f[3:], " "), state) {
						n++
					}
				}
				return n
			}
			for _, alg := range []string{"RS256", "ES256"} {
				if count(alg, "signing") != 1 || count(alg, "published") != 1 {
					t.Fatalf("%s: want one signing and one published key:\n%s", alg, r.stdout)
				}
			}
			r = runCLI(t, env, nil, "keys", "rotate", "--alg", "ES256", "--sign-after", "0s")
			if r.code != 0 || !strings.Contains(r.stdout, "ES256") || strings.Contains(r.stdout, "RS256") {
				t.Fatalf("keys rotate --alg ES256: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestKeysUsage(t *testing.T) {
	url := testenv.SQLiteURL(t)
	withKEK := envFor(url, "KEY_ENCRYPTION_KEY", testKEK)
	tests := []struct {
		name           string
		env            func(string) string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"help", withKEK, []string{"keys", "-h"}, 0, "rotate", ""},
		{"long help", withKEK, []string{"keys", "--help"}, 0, "KEY_ENCRYPTION_KEY", ""},
		{"rotate help", withKEK, []string{"keys", "rotate", "-h"}, 0, "sign-after", ""},
		{"no subcommand", withKEK, []string{"keys"}, 2, "", "missing subcommand"},
		{"unknown subcommand", withKEK, []string{"keys", "burn"}, 2, "", "unknown subcommand"},
		{"bad alg", withKEK, []string{"keys", "rotate", "--alg", "HS256"}, 2, "", ""},
		{"no KEK", envFor(url), []string{"keys", "list"}, 1, "", "KEY_ENCRYPTION_KEY is not set"},
		{"bad KEK", envFor(url, "KEY_ENCRYPTION_KEY", "short"), []string{"keys", "list"}, 2, "", "KEY_ENCRYPTION_KEY"},
		{"bad id token lifetime", envFor(url, "ID_TOKEN_LIFETIME", "soon"), []string{"migrate"}, 2, "", "ID_TOKEN_LIFETIME"},
		{"listed in help", envFor(url), []string{"help"}, 0, "keys", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.env, nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout %s\nstderr %s", r.code, tt.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestServeRefusesAnotherKEK: keys sealed under one key-encryption key
// stop a server started with another, naming the setting.
func TestServeRefusesAnotherKEK(t *testing.T) {
	url := testenv.SQLiteURL(t)
	if r := runCLI(t, envFor(url, "KEY_ENCRYPTION_KEY", testKEK), nil, "keys", "rotate"); r.code != 0 {
		t.Fatalf("keys rotate: %d %s", r.code, r.stderr)
	}
	addr, _ := freeAddr(t)
	// The embedded Redis reads its settings from the process environment.
	t.Setenv("EMBEDDED_REDIS_ADDR", addr)
	t.Setenv("EMBEDDED_REDIS_SNAPSHOT", "off")
	other := base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))
	r := runCLI(t, envFor(url, "KEY_ENCRYPTION_KEY", other, "PORT", "0"), nil, "serve")
	if r.code != 1 || !strings.Contains(r.stderr, "KEY_ENCRYPTION_KEY") {
		t.Fatalf("serve under another KEK: exit %d\n%s", r.code, r.stderr)
	}
}
