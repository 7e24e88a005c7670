package clients

import (
	"errors"
	"strings"
	"testing"
)

func TestGeneratedSecretHMACRoundTrip(t *testing.T) {
	s := GenerateSecret()
	if !strings.HasPrefix(s, SecretPrefix) {
		t.Fatalf("secret %q lacks the %q prefix", s, SecretPrefix)
	}
	raw, err := b64.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil || len(raw) != 32 {
		t.Fatalf("secret does not carry 256 bits: %d bytes, %v", len(raw), err)
	}
	if GenerateSecret() == s {
		t.Fatal("two generated secrets are equal")
	}

	h1, h2 := HashGeneratedSecret(s), HashGeneratedSecret(s)
	if h1 == h2 {
		t.Fatal("the stored form is not salted: two hashes of one secret are equal")
	}
	for _, h := range []string{h1, h2} {
		if strings.Contains(h, s) || strings.Contains(h, strings.TrimPrefix(s, SecretPrefix)) {
			t.Fatalf("stored form %q contains the secret", h)
		}
		if !isHMAC(h) {
			t.Fatalf("stored form %q not recognised as HMAC", h)
		}
	}

	// The last byte differs: same length, so only the constant-time
	// comparison can tell them apart.
	last := s[:len(s)-1] + string(rune('A'+(s[len(s)-1]-'A'+1)%26))
	tests := []struct {
		name, stored, secret string
		ok                   bool
		err                  error
	}{
		{"right", h1, s, true, nil},
		{"right, other salt", h2, s, true, nil},
		{"last character differs", h1, last, false, nil},
		{"prefix of the secret", h1, s[:len(s)-1], false, nil},
		{"secret plus a byte", h1, s + "A", false, nil},
		{"empty", h1, "", false, nil},
		{"wrong scheme", "hmac-sha1$" + strings.SplitN(h1, "$", 2)[1], s, false, errMalformedSecretHash},
		{"missing part", strings.Join(strings.Split(h1, "$")[:2], "$"), s, false, errMalformedSecretHash},
		{"extra part", h1 + "$x", s, false, errMalformedSecretHash},
		{"bad base64", "hmac-sha256$!!!$" + strings.Split(h1, "$")[2], s, false, errMalformedSecretHash},
		{"short mac", "hmac-sha256$" + strings.Split(h1, "$")[1] + "$" + b64.EncodeToString([]byte("short")), s, false, errMalformedSecretHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := verifyHMAC(tt.stored, tt.secret)
			if ok != tt.ok || !errors.Is(err, tt.err) {
				t.Fatalf("verifyHMAC = %v, %v; want %v, %v", ok, err, tt.ok, tt.err)
			}
		})
	}
}

func TestGenerateClientID(t *testing.T) {
	a, b := GenerateClientID(), GenerateClientID()
	if a == b {
		t.Fatal("two generated client ids are equal")
	}
	c := Client{ClientID: a, Type: Confidential, GrantTypesRaw: "password"}
	if err := c.Validate(); err != nil {
		t.Fatalf("a generated client id does not validate: %v", err)
	}
}
