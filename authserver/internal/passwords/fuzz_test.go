package passwords

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary stored hashes to the parser. It must never panic,
// must wrap every refusal in ErrMalformedHash, and whatever argon2 or pbkdf2
// hash it accepts must have exactly one spelling (re-encoding gives the input)
// and costs within bounds. It never runs a KDF, so it stays fast.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQxNmJ5dGVzIQ$jAWJpfBdRZYDH18USwfFqf1xn0CTWI8ve5+QrObVPEA",
		"$argon2i$v=19$m=256,t=2,p=2$c29tZXNhbHQxNmJ5dGVzIQ$49swGgUmAtuVQX2MxXSOrramaiMmLWMBR6Jz1mjJWqA",
		"argon2$argon2id$v=19$m=1024,t=1,p=2$VnJHVVl1STlaYlF3TDRlSm9sTjhFeg$fxm/Y+EPxMnNwz9zbdcUaw",
		"$argon2id$v=19$m=064,t=1,p=1$c29tZXNhbHQxNmJ5dGVzIQ$jAWJpfBdRZYDH18USwfFqf1xn0CTWI8ve5+QrObVPEA",
		"$2b$04$pfJowSWwgcPIDcleXfRSEObzPdC7eUS5oxcRGDPv7WO6Irhfd/SCa",
		"$2y$04$DmWam7W8AucN7yz85fl2m.vbvguX9w9SFDS8zgJHtxIHUWw8T7VVm",
		"bcrypt_sha256$$2b$04$2zI8uN/LroceZznPywa.A.eNZG5ifYMKfXrJw8TNhmj50MSfZbK8W",
		"pbkdf2_sha256$260000$somesalt$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo=",
		"pbkdf2_sha256$0260000$somesalt$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo=",
		"$argon2id$v=19$m=4294967295,t=4294967295,p=255$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"$$$$$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		v, err := parse(encoded)
		if err != nil {
			if v != nil || !strings.HasPrefix(err.Error(), ErrMalformedHash.Error()) {
				t.Fatalf("parse(%q) = %v, %v", encoded, v, err)
			}
			return
		}
		switch h := v.(type) {
		case argonHash:
			if err := h.params.Validate(); err != nil {
				t.Fatalf("parse(%q) accepted out-of-bounds params: %v", encoded, err)
			}
			want := encoded
			if h.django {
				want = strings.TrimPrefix(encoded, "argon2")
			}
			if got := h.String(); got != want {
				t.Fatalf("parse(%q) re-encodes as %q", encoded, got)
			}
		case pbkdf2Hash:
			if got := fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", h.iterations, h.salt, base64.StdEncoding.EncodeToString(h.key)); got != encoded {
				t.Fatalf("parse(%q) re-encodes as %q", encoded, got)
			}
			if h.iterations < 1 || h.iterations > maxPBKDF2Iterations || len(h.key) != 32 {
				t.Fatalf("parse(%q) accepted %d iterations, %d-byte key", encoded, h.iterations, len(h.key))
			}
		case bcryptHash:
			if len(h.hash) != 60 {
				t.Fatalf("parse(%q) accepted a %d-byte bcrypt hash", encoded, len(h.hash))
			}
		default:
			t.Fatalf("parse(%q) returned %T", encoded, v)
		}
	})
}

// FuzzValidate checks that Validate never panics, returns only known messages
// in Django's order, and always calls a password too similar to itself used
// as the email.
func FuzzValidate(f *testing.F) {
	for _, s := range [][2]string{
		{"someuser123", "someuser@x.com"},
		{"", "@x.com"},
		{"Password  ", ""},
		{"²³¹²³¹²³¹", ""},
		{"\u0130stanbul", "\u0130@x"},
		{"\xff\xfe", "\xff@x"},
	} {
		f.Add(s[0], s[1])
	}
	order := []string{msgTooSimilar, msgTooShort, msgTooCommon, msgNumeric}
	f.Fuzz(func(t *testing.T, password, email string) {
		got := Validate(password, email)
		if len(password) > MaxPasswordBytes {
			if !slices.Equal(got, []string{msgTooLong}) {
				t.Fatalf("Validate(over cap) = %q", got)
			}
			return
		}
		last := -1
		for _, m := range got {
			i := slices.Index(order, m)
			if i <= last {
				t.Fatalf("Validate(%q, %q) = %q: unknown, repeated or out of order", password, email, got)
			}
			last = i
		}
		if email == "" && slices.Contains(got, msgTooSimilar) {
			t.Fatalf("Validate(%q, \"\") checked similarity", password)
		}
		if password != "" && !slices.Contains(Validate(password, password), msgTooSimilar) {
			t.Fatalf("Validate(%q, itself) is not too similar", password)
		}
	})
}
