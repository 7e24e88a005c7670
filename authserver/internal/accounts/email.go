package accounts

import (
	"strings"
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
	return email[:at] + "@" + strings.ToLower(email[at+1:])
}

// emailKey is the case-insensitive uniqueness key stored beside the email.
func emailKey(normalized string) string { return strings.ToLower(normalized) }

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

// EmailKey returns the key an email is unique by: normalised, then
// lower-cased. Importers use it to find an existing user.
func EmailKey(email string) string { return emailKey(NormalizeEmail(email)) }
