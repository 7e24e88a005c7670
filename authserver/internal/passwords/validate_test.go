package passwords

import (
	"slices"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		password string
		email    string
		want     []string
	}{
		{"strong", "Tr0ub4dor&3x", "jane.doe@example.org", []string{}},
		{"tutorial password", "testpass123", "admin@example.com", []string{}},
		{"short", "Zq8!vLk", "", []string{msgTooShort}},
		{"empty", "", "", []string{msgTooShort}},
		{"length counts characters not bytes", "ééééééé", "", []string{msgTooShort}},
		{"eight characters is enough", "zq8!vLk#", "", []string{}},
		{"common", "password", "", []string{msgTooCommon}},
		{"common any case, trimmed", "  PassWord \t", "", []string{msgTooCommon}},
		{"common trailing spaces", "Password  ", "", []string{msgTooCommon}},
		{"numeric", "98127364501", "", []string{msgNumeric}},
		{"arabic-indic digits are numeric", "٠١٢٣٤٥٦٧٨٩", "", []string{msgNumeric}},
		{"superscript digits are numeric", "²³¹²³¹²³¹", "", []string{msgNumeric}},
		{"fractions are not digits", "½½½½½½½½", "", []string{}},
		{"short common numeric", "1234567", "", []string{msgTooShort, msgTooCommon, msgNumeric}},
		// Django fires here when validate_password gets the user object.
		{"similar to email local part", "someuser123", "someuser@x.com", []string{msgTooSimilar}},
		{"similarity skipped without email", "someuser123", "", []string{}},
		{"similar to whole email", "jane.doe@example.org", "jane.doe@example.org", []string{msgTooSimilar}},
		{"similar, case-insensitive", "SomeUser!!", "someuser@x.com", []string{msgTooSimilar}},
		{"anagram counts as similar (quick_ratio)", "resuemos99", "someuser@x.com", []string{msgTooSimilar}},
		{"similar and common", "qwertyuiop", "qwerty@x.com", []string{msgTooSimilar, msgTooCommon}},
		{"all four", "1", "1@x.com", []string{msgTooSimilar, msgTooShort, msgTooCommon, msgNumeric}},
		{"empty part of email matches empty password", "", "@x.com", []string{msgTooSimilar, msgTooShort}},
		{"too long", strings.Repeat("1", MaxPasswordBytes+1), "1@x.com", []string{msgTooLong}},
		{"at the cap", strings.Repeat("ab", MaxPasswordBytes/2), "", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Validate(tt.password, tt.email)
			if got == nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Validate(%q, %q) = %q, want %q", tt.password, tt.email, got, tt.want)
			}
		})
	}
}

// TestValidateMatchesDjango replays answers from Django's own validate_password.
func TestValidateMatchesDjango(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Validate {
		t.Run(c.Password+"|"+c.Email, func(t *testing.T) {
			want := c.Messages
			if want == nil {
				want = []string{}
			}
			if got := Validate(c.Password, c.Email); !slices.Equal(got, want) {
				t.Fatalf("Validate(%q, %q) = %q, Django %s says %q", c.Password, c.Email, got, v.DjangoVersion, want)
			}
		})
	}
}

func TestQuickRatio(t *testing.T) {
	// Expected values from Python 3.11 difflib.SequenceMatcher(a=a, b=b).quick_ratio().
	tests := []struct {
		a, b string
		want float64
	}{
		{"", "", 1.0},
		{"a", "", 0.0},
		{"abc", "abc", 1.0},
		{"someuser123", "someuser", 0.8421052631578947},
		{"abcd", "dcba", 1.0},
		{"aab", "abb", 0.6666666666666666},
		{"password", "x.com", 0.15384615384615385},
		{"müller", "müllerpass", 0.75},
	}
	for _, tt := range tests {
		t.Run(tt.a+"|"+tt.b, func(t *testing.T) {
			if got := quickRatio([]rune(tt.a), []rune(tt.b)); got != tt.want {
				t.Fatalf("quickRatio(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestSplitNonWord(t *testing.T) {
	// Expected values from Python 3.11 re.split(r'\W+', s).
	tests := []struct {
		s    string
		want []string
	}{
		{"someuser@x.com", []string{"someuser", "x", "com"}},
		{"@x.com", []string{"", "x", "com"}},
		{"a..b", []string{"a", "b"}},
		{"x.", []string{"x", ""}},
		{"", []string{""}},
		{"__a__", []string{"__a__"}},
		{"jane.doe@example.org", []string{"jane", "doe", "example", "org"}},
		{"ü-é", []string{"ü", "é"}},
		{"a—b", []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			if got := splitNonWord(tt.s); !slices.Equal(got, tt.want) {
				t.Fatalf("splitNonWord(%q) = %q, want %q", tt.s, got, tt.want)
			}
		})
	}
}

func TestCommonList(t *testing.T) {
	set, err := commonSet()
	if err != nil {
		t.Fatal(err)
	}
	// Django's set of stripped lines from the same file has 19,727 entries.
	if len(set) != 19727 {
		t.Fatalf("common list has %d entries, want 19727", len(set))
	}
	tests := []struct {
		password string
		want     bool
	}{
		{"password", true},
		{"PASSWORD", true},
		{" password\n", true},
		{"\x1cpassword\x1f", true}, // Python's strip() removes U+001C..U+001F
		{"pass word", false},
		{"sandy123", true},
		{"Tr0ub4dor&3x", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.password, func(t *testing.T) {
			if got := IsCommon(tt.password); got != tt.want {
				t.Fatalf("IsCommon(%q) = %v, want %v", tt.password, got, tt.want)
			}
		})
	}
}

func TestLoadCommonRejectsGarbage(t *testing.T) {
	if _, err := loadCommon([]byte("not gzip")); err == nil {
		t.Fatal("loadCommon accepted bytes that are not gzip")
	}
}

func TestPyLower(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ABC", "abc"},
		{"École", "école"},
		{"\u0130stanbul", "i\u0307stanbul"}, // Python's full case mapping
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := pyLower(tt.in); got != tt.want {
				t.Fatalf("pyLower(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
