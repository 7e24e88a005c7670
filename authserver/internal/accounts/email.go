package accounts

import (
	"strings"
	"unicode/utf8"
)

// MaxEmailLength is RFC 5321's limit on a forward path, as Django uses it.
const MaxEmailLength = 254

// NormalizeEmail trims surrounding space and lower-cases the domain part,
// as Django's BaseUserManager.normalize_email does. The local part is kept.
func NormalizeEmail(email string) string {
	email = strings.TrimSpace(email)
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return email
	}
	return email[:at] + "@" + lower(email[at+1:])
}

// lower lower-cases s. Text that is not UTF-8 keeps its bytes (only ASCII
// letters are lowered) instead of having them replaced by U+FFFD, so that
// the lookup refuses it (database.ErrInvalidText) rather than search for
// text nobody sent.
func lower(s string) string {
	if utf8.ValidString(s) {
		return strings.ToLower(s)
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// EmailKey is the identity of an account: the email as the user lookup,
// the uniqueness check and the login throttle all see it (trimmed, then
// lower-cased whole, so "User@X.org" and "user@x.org" are one account).
// It is stored beside the email, and it is the only normalisation of an
// email into an identity: anything that counts or finds per account uses it.
func EmailKey(email string) string { return lower(NormalizeEmail(email)) }

// ValidEmail reports whether email is acceptable to Django's EmailValidator
// (dot-atom local part, a dotted domain of LDH labels or "localhost"), and
// at most MaxEmailLength bytes. Quoted local parts and IP literals are
// refused.
func ValidEmail(email string) bool {
	if email == "" || len(email) > MaxEmailLength {
		return false
	}
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 {
		return false
	}
	return validLocal(email[:at]) && validDomain(email[at+1:])
}

func validLocal(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, atom := range strings.Split(s, ".") {
		if atom == "" {
			return false
		}
		for i := 0; i < len(atom); i++ {
			c := atom[i]
			if isAlnum(c) || strings.IndexByte("!#$%&'*+/=?^_`{|}~-", c) >= 0 {
				continue
			}
			return false
		}
	}
	return true
}

func validDomain(s string) bool {
	if strings.EqualFold(s, "localhost") {
		return true
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for i, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for j := 0; j < len(l); j++ {
			if !isAlnum(l[j]) && l[j] != '-' {
				return false
			}
		}
		if i == len(labels)-1 && (len(l) < 2 || isAllDigits(l)) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
