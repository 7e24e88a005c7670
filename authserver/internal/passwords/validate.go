package passwords

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The messages Validate returns, worded as Django's validators word them.
const (
	msgTooSimilar = "The password is too similar to the email address."
	msgTooShort   = "This password is too short. It must contain at least 8 characters."
	msgTooCommon  = "This password is too common."
	msgNumeric    = "This password is entirely numeric."
	msgTooLong    = "This password is too long. It must contain at most 4096 bytes."
)

// Django's defaults: MinimumLengthValidator(min_length=8) and
// UserAttributeSimilarityValidator(max_similarity=0.7).
const (
	minLength     = 8
	maxSimilarity = 0.7
)

// Validate applies Django's four default validators, in the order of Django's
// project template (UserAttributeSimilarity, MinimumLength, CommonPassword,
// Numeric), and returns their messages; an empty slice means the password is
// acceptable. email is the account's email, or "" to skip the similarity
// check, as Django skips it when no user is given (the tutorial's serializers
// call validate_password without a user).
//
// A password over MaxPasswordBytes gets only the message "This password is
// too long. It must contain at most 4096 bytes.", which Django does not have.
//
// Lengths count code points and the text is folded with Python's rules where
// Go's differ, so results match Django 3.2's on the vectors in testdata. One
// known difference: Python lowercases a word-final capital sigma to 'ς', Go
// to 'σ'. Validate is safe for concurrent use.
func Validate(password, email string) []string {
	if len(password) > MaxPasswordBytes {
		return []string{msgTooLong}
	}
	msgs := []string{}
	lower := pyLower(password)
	if email != "" && tooSimilar(lower, pyLower(email)) {
		msgs = append(msgs, msgTooSimilar)
	}
	if utf8.RuneCountInString(password) < minLength {
		msgs = append(msgs, msgTooShort)
	}
	if IsCommon(password) {
		msgs = append(msgs, msgTooCommon)
	}
	if pyIsDigit(password) {
		msgs = append(msgs, msgNumeric)
	}
	return msgs
}

// tooSimilar is UserAttributeSimilarityValidator for one attribute: password
// and value are already lowercased. The value is compared whole and split at
// runs of non-word characters (Python's re.split(r'\W+')), empty parts
// included.
func tooSimilar(password, value string) bool {
	pw := []rune(password)
	for _, part := range append(splitNonWord(value), value) {
		p := []rune(part)
		if exceedsMaximumLengthRatio(len(pw), len(p)) {
			continue
		}
		if quickRatio(pw, p) >= maxSimilarity {
			return true
		}
	}
	return false
}

// exceedsMaximumLengthRatio is Django's shortcut: a value much shorter than
// the password can never reach maxSimilarity, so it is skipped.
func exceedsMaximumLengthRatio(pwdLen, valueLen int) bool {
	bound := maxSimilarity / 2 * float64(pwdLen)
	return pwdLen >= 10*valueLen && float64(valueLen) < bound
}

// quickRatio is difflib.SequenceMatcher(a=a, b=b).quick_ratio(): twice the
// size of the multiset intersection of a and b over their total length, and
// 1.0 when both are empty. Django's validator uses quick_ratio, not ratio.
func quickRatio(a, b []rune) float64 {
	avail := make(map[rune]int, len(b))
	for _, r := range b {
		avail[r]++
	}
	matches := 0
	for _, r := range a {
		if avail[r] > 0 {
			matches++
		}
		avail[r]--
	}
	length := len(a) + len(b)
	if length == 0 {
		return 1.0
	}
	return 2.0 * float64(matches) / float64(length)
}

// splitNonWord is Python's re.split(r'\W+', s) for str patterns: word
// characters are letters, numbers (categories L and N) and '_'.
func splitNonWord(s string) []string {
	parts := []string{}
	start, inSep := 0, false
	for i, r := range s {
		word := r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
		switch {
		case !word && !inSep:
			parts = append(parts, s[start:i])
			inSep = true
		case word && inSep:
			start, inSep = i, false
		}
	}
	if inSep {
		return append(parts, "")
	}
	return append(parts, s[start:])
}

// pyLower is Python's str.lower() except for the final-sigma rule: Go's
// strings.ToLower maps U+0130 to "i" where Python's full case mapping gives
// "i\u0307".
func pyLower(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "\u0130", "i\u0307"))
}

// pyStrip is Python's str.strip(): Go's unicode.IsSpace plus the ASCII
// separators U+001C..U+001F, which Python also counts as whitespace.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
	})
}

// pyIsDigit is Python's str.isdigit(): non-empty and every character has
// Unicode Numeric_Type Decimal (category Nd) or Digit (digitOnly).
func pyIsDigit(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsDigit(r) && !unicode.Is(digitOnly, r) {
			return false
		}
	}
	return true
}

// digitOnly lists the characters with Numeric_Type=Digit that are not in Nd
// (superscripts, circled digits, ...), taken from Python 3.11's unicodedata
// (Unicode 14.0).
var digitOnly = &unicode.RangeTable{
	R16: []unicode.Range16{
		{0xB2, 0xB3, 1}, {0xB9, 0xB9, 1}, {0x1369, 0x1371, 1}, {0x19DA, 0x19DA, 1},
		{0x2070, 0x2070, 1}, {0x2074, 0x2079, 1}, {0x2080, 0x2089, 1}, {0x2460, 0x2468, 1},
		{0x2474, 0x247C, 1}, {0x2488, 0x2490, 1}, {0x24EA, 0x24EA, 1}, {0x24F5, 0x24FD, 1},
		{0x24FF, 0x24FF, 1}, {0x2776, 0x277E, 1}, {0x2780, 0x2788, 1}, {0x278A, 0x2792, 1},
	},
	R32: []unicode.Range32{
		{0x10A40, 0x10A43, 1}, {0x10E60, 0x10E68, 1}, {0x11052, 0x1105A, 1}, {0x1F100, 0x1F10A, 1},
	},
	LatinOffset: 2,
}
