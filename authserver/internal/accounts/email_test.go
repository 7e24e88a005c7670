package accounts_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"domain lower-cased, local kept", "John.Doe@EXAMPLE.COM", "John.Doe@example.com"},
		{"trimmed", "  a@B.org\t\n", "a@b.org"},
		{"already normal", "x@y.com", "x@y.com"},
		{"no at sign", " NoAt.Example.COM ", "NoAt.Example.COM"},
		{"last at splits", "A@B@C.COM", "A@B@c.com"},
		{"empty", "", ""},
		{"only space", "   ", ""},
		{"empty domain", "Abc@", "Abc@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := accounts.NormalizeEmail(tt.in); got != tt.want {
				t.Fatalf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidEmail(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	// A syntactically fine address of exactly n bytes.
	ofLen := func(n int) string {
		domain := strings.Repeat(long(60)+".", 4) + "com" // 247 bytes
		return long(n-len(domain)-1) + "@" + domain
	}
	tests := []struct {
		in   string
		want bool
	}{
		{"user@example.com", true},
		{"User.Name+tag@sub.example.co.uk", true},
		{"user2@email.com", true},
		{"o'brien@example.ie", true},
		{"a!#$%&'*+/=?^_`{|}~-b@example.com", true},
		{"x@localhost", true},
		{"x@LOCALHOST", true},
		{"x@a-b.example.com", true},
		{"x@123.example.com", true},
		{ofLen(254), true},

		{"", false},
		{"plainaddress", false},
		{"@example.com", false},
		{"user@", false},
		{"user@example", false},
		{"user@.com", false},
		{"user@example..com", false},
		{"user@-example.com", false},
		{"user@example-.com", false},
		{"user@example.c", false},
		{"user@example.123", false},
		{"user@1.2.3.4", false},
		{".user@example.com", false},
		{"user.@example.com", false},
		{"us..er@example.com", false},
		{"us er@example.com", false},
		{"user@exa mple.com", false},
		{" user@example.com", false},
		{"user@example.com ", false},
		{"user@example.com\n", false},
		{"a@b@example.com", false},
		{`"quoted"@example.com`, false},
		{"user@[127.0.0.1]", false},
		{"user@example.com.", false},
		{"üser@example.com", false},
		{"user@exam_ple.com", false},
		{long(65) + "@example.com", false},
		{"u@" + long(64) + ".com", false},
		{ofLen(255), false},
		{long(300) + "@example.com", false},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:20] + "..." + name[len(name)-10:]
		}
		t.Run(name, func(t *testing.T) {
			if got := accounts.ValidEmail(tt.in); got != tt.want {
				t.Fatalf("ValidEmail(%q) [%d bytes] = %v, want %v", tt.in, len(tt.in), got, tt.want)
			}
		})
	}
}

func FuzzValidEmail(f *testing.F) {
	for _, s := range []string{"user@example.com", "a@localhost", "", "@", "a@b", "a@b.c", "x@" + strings.Repeat("a.", 130) + "com", "ü@ü.de", "a@b.c\x00m", "A@B.COM"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok := accounts.ValidEmail(s) // must not panic
		n := accounts.NormalizeEmail(s)
		if accounts.NormalizeEmail(n) != n {
			t.Fatalf("NormalizeEmail not idempotent: %q -> %q -> %q", s, n, accounts.NormalizeEmail(n))
		}
		if !ok {
			return
		}
		if len(s) > accounts.MaxEmailLength {
			t.Fatalf("accepted %d bytes: %q", len(s), s)
		}
		if strings.Count(s, "@") != 1 {
			t.Fatalf("accepted an address without exactly one @: %q", s)
		}
		for i := 0; i < len(s); i++ {
			if s[i] <= ' ' || s[i] >= 0x7f {
				t.Fatalf("accepted a control, space or non-ASCII byte: %q", s)
			}
		}
		if !utf8.ValidString(s) {
			t.Fatalf("accepted invalid UTF-8: %q", s)
		}
		if !accounts.ValidEmail(n) {
			t.Fatalf("valid %q normalises to invalid %q", s, n)
		}
		if !accounts.ValidEmail(strings.ToUpper(s)) {
			t.Fatalf("valid %q but its upper-case form is not", s)
		}
	})
}
