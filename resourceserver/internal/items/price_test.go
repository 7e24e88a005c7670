package items

import (
	"encoding/json"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

func TestParsePrice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, err string
	}{
		{"two decimals", "12.50", "12.50", ""},
		{"one decimal padded", "12.5", "12.50", ""},
		{"integer", "7", "7.00", ""},
		{"trimmed", "  3.1 ", "3.10", ""},
		{"leading point", ".5", "0.50", ""},
		{"trailing point", "5.", "5.00", ""},
		{"plus sign", "+1.25", "1.25", ""},
		{"negative", "-1.25", "-1.25", ""},
		{"negative zero is zero", "-0.00", "0.00", ""},
		{"leading zeros do not count", "000000000000012.34", "12.34", ""},
		{"largest", "999999999999.99", "999999999999.99", ""},
		{"smallest step", "0.01", "0.01", ""},
		{"exponent", "1.5e2", "150.00", ""},
		{"negative exponent", "125E-2", "1.25", ""},
		{"not float-rounded", "0.10", "0.10", ""},
		{"large but exact", "123456789012.34", "123456789012.34", ""},
		{"three decimals", "1.005", "", "Ensure that there are no more than 2 decimal places."},
		{"trailing zero counts as a place", "1.500", "", "Ensure that there are no more than 2 decimal places."},
		{"thirteen whole digits", "1234567890123", "", "Ensure that there are no more than 12 digits before the decimal point."},
		{"fifteen digits", "1234567890123.45", "", "Ensure that there are no more than 14 digits in total."},
		{"exponent too big", "1e12", "", "Ensure that there are no more than 12 digits before the decimal point."},
		{"huge exponent", "1e999999999999999999", "", "Ensure that there are no more than 14 digits in total."},
		{"tiny exponent", "1e-999999999999999999", "", "Ensure that there are no more than 14 digits in total."},
		{"empty", "", "", "A valid number is required."},
		{"only sign", "-", "", "A valid number is required."},
		{"only point", ".", "", "A valid number is required."},
		{"letters", "abc", "", "A valid number is required."},
		{"nan", "NaN", "", "A valid number is required."},
		{"infinity", "Infinity", "", "A valid number is required."},
		{"two points", "1.2.3", "", "A valid number is required."},
		{"comma", "1,50", "", "A valid number is required."},
		{"double sign", "--1", "", "A valid number is required."},
		{"bare exponent", "1e", "", "A valid number is required."},
		{"too long", strings.Repeat("0", 1001), "", "String value too large."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrice(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("ParsePrice(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("ParsePrice(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestPriceJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"string", `"12.5"`, `"12.50"`, false},
		{"number kept exact", `0.30`, `"0.30"`, false},
		{"number beyond float precision", `999999999999.99`, `"999999999999.99"`, false},
		{"bad", `"x"`, ``, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Price
			err := json.Unmarshal([]byte(tt.in), &p)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error for %s", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, _ := json.Marshal(p)
			if string(out) != tt.want {
				t.Fatalf("got %s, want %s", out, tt.want)
			}
		})
	}
}

var canonical = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,11})\.[0-9]{2}$`)

// FuzzParsePrice checks, for any input, that a parse either fails with one
// of DRF's messages or yields a canonical price of the same exact value that
// parses back to itself. The seeds live in testdata/fuzz as well.
func FuzzParsePrice(f *testing.F) {
	for _, s := range []string{"12.50", "12.5", "-0", ".5", "5.", "1e2", "1.5E-1", "999999999999.99",
		"1.005", "1234567890123", "abc", "", " 7 ", "+1", "0e99999", "1e-2", "00000.10", "-.01"} {
		f.Add(s)
	}
	msgs := map[string]bool{
		errPriceInvalid.Error(): true, errPriceTooLong.Error(): true, errPriceDigits.Error(): true,
		errPriceDecimals.Error(): true, errPriceWholePart.Error(): true,
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParsePrice(in)
		if err != nil {
			if !msgs[err.Error()] {
				t.Fatalf("ParsePrice(%q): unexpected error text %q", in, err)
			}
			return
		}
		s := p.String()
		if !canonical.MatchString(s) || s == "-0.00" {
			t.Fatalf("ParsePrice(%q) = %q: not canonical", in, s)
		}
		again, err := ParsePrice(s)
		if err != nil || again != p {
			t.Fatalf("round trip of %q: %q, %v", s, again, err)
		}
		want, ok := new(big.Rat).SetString(strings.TrimSpace(in))
		if !ok {
			t.Fatalf("ParsePrice accepted %q, which is not a number", in)
		}
		got, _ := new(big.Rat).SetString(s)
		if want.Cmp(got) != 0 {
			t.Fatalf("ParsePrice(%q) = %q: value changed", in, s)
		}
	})
}
