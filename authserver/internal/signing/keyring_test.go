package signing_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/signing"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

func newKEK(t testing.TB, b byte) *signing.KEK {
	t.Helper()
	k, err := signing.ParseKEK(base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(rune(b)), 32))))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func verifyWith(t *testing.T, set jose.JSONWebKeySet, token string) error {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return err
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		return errors.New("kid " + kid + " not in JWKS")
	}
	_, err = jws.Verify(keys[0])
	return err
}

func TestParseKEK(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, tt := range []struct {
		name, in string
		ok       bool
	}{
		{"std", good, true},
		{"raw url", base64.RawURLEncoding.EncodeToString(make([]byte, 32)), true},
		{"newline", good + "\n", true},
		{"short", base64.StdEncoding.EncodeToString(make([]byte, 16)), false},
		{"empty", "", false},
		{"not base64", "!!!!", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := signing.ParseKEK(tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("ParseKEK: %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, signing.ErrKEK) {
				t.Fatalf("error %v is not ErrKEK", err)
			}
		})
	}
}

func TestKeyring(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := testenv.DB(t, b.URL)
			testKeyring(t, db)
		})
	}
}

func testKeyring(t *testing.T, db *database.DB) {
	ctx := testenv.Context(t)
	clk := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	idTTL := time.Hour
	kr := signing.NewKeyring(db, newKEK(t, 'a'), idTTL)
	kr.SetClock(clk.Now, 0)

	if _, err := kr.Sign(ctx, signing.RS256, []byte(`{}`)); !errors.Is(err, signing.ErrNoKey) {
		t.Fatalf("Sign before Ensure: %v, want ErrNoKey", err)
	}
	if err := kr.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if err := kr.Ensure(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	ls, err := kr.List(ctx)
	if err != nil || len(ls) != 2 {
		t.Fatalf("List after Ensure = %d keys, %v; want one per algorithm", len(ls), err)
	}
	for _, l := range ls {
		if l.State != signing.Signing {
			t.Fatalf("key %s %s is %q, want signing", l.KID, l.Alg, l.State)
		}
	}
	if _, err := kr.Sign(ctx, "HS256", []byte(`{}`)); !errors.Is(err, signing.ErrAlgorithm) {
		t.Fatalf("Sign HS256: %v, want ErrAlgorithm", err)
	}

	old := map[string]string{}
	for _, alg := range signing.Algorithms {
		tok, err := kr.Sign(ctx, alg, []byte(`{"sub":"1"}`))
		if err != nil {
			t.Fatal(err)
		}
		old[alg] = tok
		set, _ := kr.JWKS(ctx)
		if err := verifyWith(t, set, tok); err != nil {
			t.Fatalf("%s token does not verify against JWKS: %v", alg, err)
		}
		if p, err := kr.Verify(ctx, tok); err != nil || string(p) != `{"sub":"1"}` {
			t.Fatalf("Verify = %q, %v", p, err)
		}
		hdr := strings.Split(tok, ".")[0]
		raw, _ := base64.RawURLEncoding.DecodeString(hdr)
		var h map[string]any
		_ = json.Unmarshal(raw, &h)
		if h["alg"] != alg || h["typ"] != "JWT" || h["kid"] == "" {
			t.Fatalf("header %v", h)
		}
	}

	// Rotate: the new keys are published at once but do not sign yet.
	newKeys, err := kr.Rotate(ctx, signing.Algorithms, 10*time.Minute)
	if err != nil || len(newKeys) != 2 {
		t.Fatalf("Rotate: %v", err)
	}
	set, _ := kr.JWKS(ctx)
	if len(set.Keys) != 4 {
		t.Fatalf("JWKS after rotate has %d keys, want 4", len(set.Keys))
	}
	for _, k := range set.Keys {
		if k.KeyID == "" || k.Use != "sig" || k.Algorithm == "" || !k.IsPublic() {
			t.Fatalf("JWKS key %+v: want a public key with kid, alg and use", k)
		}
	}
	for _, alg := range signing.Algorithms {
		tok, _ := kr.Sign(ctx, alg, []byte(`{}`))
		if kidOf(tok) != kidOf(old[alg]) {
			t.Fatalf("%s: the pending key signed before its time", alg)
		}
	}
	// Past signs_from: the new key signs, the old one verifies still.
	clk.Add(11 * time.Minute)
	for _, alg := range signing.Algorithms {
		tok, _ := kr.Sign(ctx, alg, []byte(`{}`))
		if kidOf(tok) == kidOf(old[alg]) {
			t.Fatalf("%s: the old key still signs after the new one's time", alg)
		}
		set, _ := kr.JWKS(ctx)
		if err := verifyWith(t, set, old[alg]); err != nil {
			t.Fatalf("%s: old token no longer verifies while superseded: %v", alg, err)
		}
	}
	ls, _ = kr.List(ctx)
	counts := map[signing.State]int{}
	for _, l := range ls {
		counts[l.State]++
	}
	if counts[signing.Signing] != 2 || counts[signing.Superseded] != 2 {
		t.Fatalf("states after the switch: %v", counts)
	}
	// Once the last id token of the old key has expired, it is retired.
	clk.Add(idTTL)
	set, _ = kr.JWKS(ctx)
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS after retirement has %d keys, want 2", len(set.Keys))
	}
	for _, alg := range signing.Algorithms {
		if err := verifyWith(t, set, old[alg]); err == nil {
			t.Fatalf("%s: a retired key's token still verifies against JWKS", alg)
		}
		if _, err := kr.Verify(ctx, old[alg]); !errors.Is(err, signing.ErrInvalidSignature) {
			t.Fatalf("Verify retired: %v, want ErrInvalidSignature", err)
		}
	}
	ls, _ = kr.List(ctx)
	counts = map[signing.State]int{}
	for _, l := range ls {
		counts[l.State]++
	}
	if counts[signing.Retired] != 2 || counts[signing.Signing] != 2 {
		t.Fatalf("states after retirement: %v", counts)
	}

	// Private keys are sealed: the stored text is not a key, and another
	// KEK cannot open it.
	var sealed []string
	if err := db.SelectContext(ctx, &sealed, "SELECT private_key FROM signing_keys"); err != nil {
		t.Fatal(err)
	}
	for _, s := range sealed {
		if strings.Contains(s, "PRIVATE") || strings.HasPrefix(s, "MII") {
			t.Fatalf("private key stored in the clear: %.20s…", s)
		}
	}
	other := signing.NewKeyring(db, newKEK(t, 'b'), idTTL)
	other.SetClock(clk.Now, 0)
	if _, err := other.Sign(ctx, signing.RS256, []byte(`{}`)); !errors.Is(err, signing.ErrSealed) {
		t.Fatalf("Sign under another KEK: %v, want ErrSealed", err)
	}
}

func kidOf(tok string) string {
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return ""
	}
	return jws.Signatures[0].Header.KeyID
}
