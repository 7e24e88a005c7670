package middleware

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseAnswer(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantErr  bool  // the body is broken: unavailable
		reject   error // nil: active
		username string
		exp      int64
	}{
		{"DOT user token", `{"active": true, "scope": "read write introspection", "exp": 1795818059, "client_id": "rs-id", "username": "user1@email.com"}`, false, nil, "user1@email.com", 1795818059},
		{"DOT client token, no username", `{"active": true, "scope": "read", "exp": 1795818064, "client_id": "cc-id"}`, false, nil, "", 1795818064},
		{"float exp (Keycloak)", `{"active": true, "exp": 1795818064.0, "iat": 1.7e9}`, false, nil, "", 1795818064},
		{"no exp", `{"active": true}`, false, nil, "", 0},
		{"unknown fields (Hydra)", `{"active": true, "ext": {"a": [1]}, "obfuscated_subject": "x", "token_use": "access_token"}`, false, nil, "", 0},
		{"inactive", `{"active": false}`, false, errInactive, "", 0},
		{"active as string", `{"active": "true"}`, false, errInactive, "", 0},
		{"active as 1", `{"active": 1}`, false, errInactive, "", 0},
		{"active missing", `{"scope": "read"}`, false, errInactive, "", 0},
		{"active null", `{"active": null}`, false, errInactive, "", 0},
		{"exp as string", `{"active": true, "exp": "1795818064"}`, false, errBadClaims, "", 0},
		{"scope as array", `{"active": true, "scope": ["read"]}`, false, errBadClaims, "", 0},
		{"aud as number", `{"active": true, "aud": 3}`, false, errBadClaims, "", 0},
		{"aud array of numbers", `{"active": true, "aud": [3]}`, false, errBadClaims, "", 0},
		{"username null", `{"active": true, "username": null}`, false, nil, "", 0},
		{"array body", `[{"active": true}]`, true, nil, "", 0},
		{"null body", `null`, true, nil, "", 0},
		{"string body", `"active"`, true, nil, "", 0},
		{"truncated", `{"active": tr`, true, nil, "", 0},
		{"html", `<html>`, true, nil, "", 0},
		{"empty", ``, true, nil, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := parseAnswer([]byte(tc.body))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if a.reject != tc.reject {
				t.Fatalf("reject %v, want %v", a.reject, tc.reject)
			}
			if a.id.Username != tc.username {
				t.Errorf("username %q", a.id.Username)
			}
			if tc.exp != 0 && (!a.hasExp || a.id.ExpiresAt.Unix() != tc.exp) {
				t.Errorf("exp %v (has %v), want %d", a.id.ExpiresAt, a.hasExp, tc.exp)
			}
			if tc.exp == 0 && tc.reject == nil && a.hasExp {
				t.Errorf("hasExp without exp")
			}
		})
	}
}

func TestSplitScopeLenient(t *testing.T) {
	if got := splitScope("read  write read"); got.String() != "read write" {
		t.Errorf("got %q", got)
	}
	if got := splitScope("read write"); got.String() != "read write" {
		t.Errorf("got %q", got)
	}
}

func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{
		`{"active": true, "scope": "read write", "exp": 1795818059, "client_id": "rs-id", "username": "u"}`,
		`{"active": false}`, `{"active": true, "exp": 1e300}`, `{"active": true, "exp": -1e300}`,
		`{"active": true, "aud": ["a", "b"], "iat": 1.5}`, `{"active": true, "exp": 9223372036854775807}`,
		`[]`, `null`, `{"active":true,"active":false}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := parseAnswer(b)
		if err != nil {
			if a.reject != nil || a.id.Username != "" {
				t.Fatalf("error with a non-zero answer")
			}
			return
		}
		if a.reject == nil {
			if a.hasExp && (a.id.ExpiresAt.Before(time.Unix(0, 0)) || a.id.ExpiresAt.After(time.Unix(maxEpoch, 0))) {
				t.Fatalf("exp out of range: %v", a.id.ExpiresAt)
			}
			for _, s := range a.id.Scopes {
				if s == "" || strings.ContainsAny(s, " \t\n") {
					t.Fatalf("bad scope token %q", s)
				}
			}
		}
	})
}

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		tok  string
		err  error
	}{
		{"none", nil, "", nil},
		{"bearer", []string{"Bearer abc"}, "abc", nil},
		{"lower case", []string{"bearer abc"}, "abc", nil},
		{"padding", []string{"Bearer abc=="}, "abc==", nil},
		{"all b64token chars", []string{"Bearer aZ09-._~+/"}, "aZ09-._~+/", nil},
		{"basic", []string{"Basic abc"}, "", nil},
		{"bearerish scheme", []string{"Bearerish abc"}, "", nil},
		{"bare word", []string{"Bearer"}, "", errNoToken},
		{"only spaces", []string{"Bearer  "}, "", errNoToken},
		{"tab", []string{"Bearer\tabc"}, "", errBadToken},
		{"two tokens", []string{"Bearer a b"}, "", errBadToken},
		{"only padding", []string{"Bearer =="}, "", errBadToken},
		{"quote", []string{`Bearer "abc"`}, "", errBadToken},
		{"non-ASCII", []string{"Bearer abcé"}, "", errBadToken},
		{"two headers", []string{"Bearer a", "Bearer b"}, "", errManyHeaders},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := parseAuthorization(tc.in)
			if tok != tc.tok || !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("got %q, %v; want %q, %v", tok, err, tc.tok, tc.err)
			}
		})
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c==", "Bearer", "Bearer a b", "Basic x", "Bearer\t", "BEARER  x/y+z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := parseAuthorization([]string{h})
		if err != nil && tok != "" {
			t.Fatal("token with an error")
		}
		if tok != "" {
			if !isB64Token(tok) {
				t.Fatalf("accepted non-b64token %q", tok)
			}
			if !strings.HasSuffix(h, tok) || !strings.EqualFold(h[:6], "bearer") {
				t.Fatalf("token %q not taken from the end of a Bearer header %q", tok, h)
			}
		}
	})
}
