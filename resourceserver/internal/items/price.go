package items

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
)

// Price limits: the model's DecimalField(max_digits=14, decimal_places=2).
const (
	maxDigits        = 14
	maxDecimalPlaces = 2
	maxWholeDigits   = maxDigits - maxDecimalPlaces
	maxPriceInput    = 1000 // DRF's MAX_STRING_LENGTH for decimals
)

// The messages DRF's DecimalField gives, word for word: they are the wire
// format, capitals and full stops included, so they are a type of their
// own rather than Go error strings.
var (
	errPriceInvalid   error = drfMessage("A valid number is required.")
	errPriceTooLong   error = drfMessage("String value too large.")
	errPriceDigits    error = drfMessage(fmt.Sprintf("Ensure that there are no more than %d digits in total.", maxDigits))
	errPriceDecimals  error = drfMessage(fmt.Sprintf("Ensure that there are no more than %d decimal places.", maxDecimalPlaces))
	errPriceWholePart error = drfMessage(fmt.Sprintf("Ensure that there are no more than %d digits before the decimal point.", maxWholeDigits))
)

// drfMessage is an error whose text is a client-facing DRF message.
type drfMessage string

func (m drfMessage) Error() string { return string(m) }

// Price is an exact decimal with two places, kept as its canonical string
// ("12.50", "-3.00", "0.05"). It never passes through float64. The zero
// value is not a valid price; use ParsePrice.
type Price struct{ s string }

// String returns the canonical form, always with two decimals.
func (p Price) String() string {
	if p.s == "" {
		return "0.00"
	}
	return p.s
}

// MarshalJSON writes the price as a JSON string, as DRF does.
func (p Price) MarshalJSON() ([]byte, error) { return []byte(`"` + p.String() + `"`), nil }

// UnmarshalJSON reads a JSON string or number with ParsePrice.
func (p *Price) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("items: price: %w", err)
		}
	}
	q, err := ParsePrice(s)
	if err != nil {
		return fmt.Errorf("items: price %q: %w", s, err)
	}
	*p = q
	return nil
}

// Value stores the canonical string; PostgreSQL casts it to NUMERIC(14,2)
// exactly, SQLite keeps the text.
func (p Price) Value() (driver.Value, error) { return p.String(), nil }

// Scan reads a NUMERIC (PostgreSQL sends text) or the SQLite text column.
func (p *Price) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("items: scan price: unsupported type %T", src)
	}
	q, err := ParsePrice(s)
	if err != nil {
		return fmt.Errorf("items: scan price %q: %w", s, err)
	}
	*p = q
	return nil
}

// ParsePrice parses a decimal the way DRF's DecimalField(max_digits=14,
// decimal_places=2) does: surrounding whitespace is trimmed; an optional
// sign, digits with an optional point, and an optional exponent are
// accepted; NaN and infinities are not. Digits are counted as Python's
// Decimal.as_tuple counts them, so "1.500" has three decimal places and is
// rejected, and leading zeros do not count. The error's text is DRF's
// message for the field.
func ParsePrice(in string) (Price, error) {
	if len(in) > maxPriceInput {
		return Price{}, errPriceTooLong
	}
	s := strings.TrimSpace(in)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	// Split mantissa and exponent.
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, ok := parseExp(s[i+1:])
		if !ok {
			return Price{}, errPriceInvalid
		}
		exp = e
	}
	intPart, fracPart := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intPart, fracPart = mant[:i], mant[i+1:]
	}
	if intPart == "" && fracPart == "" || !allDigits(intPart) || !allDigits(fracPart) {
		return Price{}, errPriceInvalid
	}
	// Coefficient digits without leading zeros (at least "0"), and the
	// exponent of its last digit, as Decimal.as_tuple gives them.
	coef := strings.TrimLeft(intPart+fracPart, "0")
	if coef == "" {
		coef = "0"
	}
	exp -= len(fracPart)

	var total, whole, places int
	switch {
	case exp >= 0:
		total = len(coef) + exp
		whole, places = total, 0
	case len(coef) > -exp:
		total = len(coef)
		places = -exp
		whole = total - places
	default:
		total = -exp
		whole, places = 0, total
	}
	if total > maxDigits {
		return Price{}, errPriceDigits
	}
	if places > maxDecimalPlaces {
		return Price{}, errPriceDecimals
	}
	if whole > maxWholeDigits {
		return Price{}, errPriceWholePart
	}
	// Scale to exactly two places: digits = coef * 10^(exp+2). Bounds above
	// keep exp+2 within [0, 14].
	digits := coef + strings.Repeat("0", exp+maxDecimalPlaces)
	digits = strings.TrimLeft(digits, "0")
	if len(digits) < maxDecimalPlaces+1 {
		digits = strings.Repeat("0", maxDecimalPlaces+1-len(digits)) + digits
	}
	out := digits[:len(digits)-maxDecimalPlaces] + "." + digits[len(digits)-maxDecimalPlaces:]
	if neg && strings.Trim(digits, "0") != "" {
		out = "-" + out
	}
	return Price{s: out}, nil
}

// parseExp reads an optionally signed decimal exponent. Exponents too large
// to matter are clamped, so "1e999999999999" is rejected as too many digits
// rather than overflowing.
func parseExp(s string) (int, bool) {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || !allDigits(s) {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
		if n > 10*maxPriceInput {
			n = 10 * maxPriceInput
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
