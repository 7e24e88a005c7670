package device

import (
	"crypto/rand"
	"math/big"
	"strings"
)

// UserCodeAlphabet has no vowels (no words can form) and no look-alikes
// such as 0/O or 1/I (RFC 8628 §6.1).
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// userCodeLen characters give 20^8 ≈ 2^34.6 codes; guessing is throttled
// per session and per address on top of that (RFC 8628 §5.1).
const userCodeLen = 8

// newUserCode returns a random user code, shown as XXXX-XXXX.
func newUserCode() (string, error) {
	b := make([]byte, userCodeLen)
	n := big.NewInt(int64(len(UserCodeAlphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, n)
		if err != nil {
			return "", err
		}
		b[i] = UserCodeAlphabet[v.Int64()]
	}
	return string(b[:4]) + "-" + string(b[4:]), nil
}

// NormalizeUserCode reads what a person typed: case, spaces and dashes do
// not matter. ok is false when it cannot be a user code.
func NormalizeUserCode(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ':
			continue
		case strings.ContainsRune(UserCodeAlphabet, r):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != userCodeLen {
		return "", false
	}
	return b.String(), true
}

// Display formats a normalized user code as XXXX-XXXX.
func Display(code string) string {
	if len(code) != userCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}
