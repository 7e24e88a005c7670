package oidc_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/portcullis-oauth/portcullis/authserver/internal/oidc"
	"github.com/portcullis-oauth/portcullis/authserver/internal/signing"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

func TestStore(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	ctx := testenv.Context(t)
	s := oidc.NewStore(testenv.Compat(t, rdb), prefix, time.Minute, time.Hour)
	a := oidc.Authentication{UserID: 7, Email: "a@example.com", AuthTime: time.Unix(1700000000, 0).UTC(), Nonce: "n-1"}
	if err := s.RememberCode(ctx, "pcac_code", a); err != nil {
		t.Fatal(err)
	}
	// Only the code's hash is a key.
	keys, err := testenv.Keys(ctx, rdb, prefix+"*")
	if err != nil || len(keys) != 1 || strings.Contains(keys[0], "pcac_code") {
		t.Fatalf("keys %v, %v", keys, err)
	}
	if ttl := rdb.PTTL(ctx, keys[0]).Val(); ttl <= time.Minute || ttl > 2*time.Minute {
		t.Fatalf("code record TTL %v", ttl)
	}
	got, err := s.TakeCode(ctx, "pcac_code")
	if err != nil || got != a {
		t.Fatalf("TakeCode = %+v, %v; want %+v", got, err, a)
	}
	if _, err := s.TakeCode(ctx, "pcac_code"); !errors.Is(err, oidc.ErrNotFound) {
		t.Fatalf("second TakeCode: %v, want ErrNotFound (single use)", err)
	}
	if err := s.RememberFamily(ctx, "fam1", a); err != nil {
		t.Fatal(err)
	}
	fa, err := s.Family(ctx, "fam1")
	if err != nil || fa.Nonce != "" || fa.UserID != 7 || !fa.AuthTime.Equal(a.AuthTime) {
		t.Fatalf("Family = %+v, %v: want the authentication without its nonce", fa, err)
	}
	if _, err := s.Family(ctx, "other"); !errors.Is(err, oidc.ErrNotFound) {
		t.Fatalf("unknown family: %v", err)
	}
}

func keyring(t *testing.T) *signing.Keyring {
	t.Helper()
	kek, err := signing.ParseKEK(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	kr := signing.NewKeyring(testenv.DB(t, testenv.SQLiteURL(t)), kek, time.Hour)
	if err := kr.Ensure(testenv.Context(t)); err != nil {
		t.Fatal(err)
	}
	return kr
}

func payload(t *testing.T, tok string) map[string]any {
	t.Helper()
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestIDToken(t *testing.T) {
	ctx := testenv.Context(t)
	kr := keyring(t)
	iss := oidc.NewIssuer("https://id.example", 10*time.Minute, kr)
	auth := oidc.Authentication{UserID: 42, Email: "u@example.com", AuthTime: time.Now().Add(-time.Minute).Truncate(time.Second), Nonce: "abc"}
	tests := []struct {
		name      string
		alg       string
		scope     []string
		wantEmail bool
	}{
		{"openid only", signing.RS256, []string{"openid"}, false},
		{"with email", signing.RS256, []string{"openid", "email"}, true},
		{"ES256", signing.ES256, []string{"openid"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := iss.IDToken(ctx, oidc.Token{ClientID: "rp", Alg: tt.alg, Auth: auth, AccessToken: "pcat_x", Scope: tt.scope})
			if err != nil {
				t.Fatal(err)
			}
			c := payload(t, tok)
			h := sha256.Sum256([]byte("pcat_x"))
			want := map[string]any{"iss": "https://id.example", "sub": "42", "aud": "rp", "azp": "rp", "nonce": "abc",
				"auth_time": float64(auth.AuthTime.Unix()), "at_hash": base64.RawURLEncoding.EncodeToString(h[:16])}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("claim %s = %v, want %v", k, c[k], v)
				}
			}
			exp, iat := c["exp"].(float64), c["iat"].(float64)
			if exp-iat != 600 || time.Since(time.Unix(int64(iat), 0)) > time.Minute {
				t.Errorf("iat %v exp %v", iat, exp)
			}
			if _, has := c["email"]; has != tt.wantEmail {
				t.Errorf("email present = %v, want %v (%v)", has, tt.wantEmail, c)
			}
			if tt.wantEmail && (c["email"] != "u@example.com" || c["email_verified"] != false) {
				t.Errorf("email claims %v", c)
			}
			jws, _ := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
			if a := jws.Signatures[0].Header.Algorithm; a != tt.alg {
				t.Errorf("alg %s, want %s", a, tt.alg)
			}
			sub, err := iss.HintSubject(ctx, tok, "rp")
			if err != nil || sub != "42" {
				t.Errorf("HintSubject = %q, %v", sub, err)
			}
		})
	}
}

func TestHintSubjectRefusals(t *testing.T) {
	ctx := testenv.Context(t)
	kr := keyring(t)
	iss := oidc.NewIssuer("https://id.example", time.Minute, kr)
	other := oidc.NewIssuer("https://other.example", time.Minute, kr)
	foreign := oidc.NewIssuer("https://id.example", time.Minute, keyring(t)) // same issuer name, other keys
	auth := oidc.Authentication{UserID: 1, AuthTime: time.Now()}
	mk := func(i *oidc.Issuer, client string) string {
		tok, err := i.IDToken(ctx, oidc.Token{ClientID: client, Alg: signing.RS256, Auth: auth})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := mk(iss, "rp")
	parts := strings.Split(good, ".")
	tests := []struct{ name, hint, client string }{
		{"another client's", good, "rp2"},
		{"another issuer's", mk(other, "rp"), "rp"},
		{"signed by keys not ours", mk(foreign, "rp"), "rp"},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://id.example","sub":"2","aud":"rp"}`)) + "." + parts[2], "rp"},
		{"not a JWS", "garbage", "rp"},
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".", "rp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := iss.HintSubject(ctx, tt.hint, tt.client); !errors.Is(err, oidc.ErrHint) {
				t.Fatalf("HintSubject: %v, want ErrHint", err)
			}
		})
	}
	if sub, aud, err := iss.HintAudience(ctx, good); err != nil || sub != "1" || aud != "rp" {
		t.Fatalf("HintAudience = %q %q %v", sub, aud, err)
	}
}
