// Package scope parses and compares OAuth scope strings (RFC 6749 §3.3):
// space-delimited, case-sensitive tokens whose order is kept for echoing.
package scope

import (
	"errors"
	"strings"
)

// ErrInvalid is returned by Parse for an empty token (two spaces in a row, or
// a leading or trailing space) or a character outside RFC 6749's NQCHAR set.
var ErrInvalid = errors.New("scope: invalid scope string")

// Set is an ordered list of distinct scope tokens. The zero value is empty.
type Set []string

// Parse splits s on single spaces, as DOT does: "read  write" is invalid.
// Duplicates are dropped, keeping the first. An empty s yields an empty Set.
func Parse(s string) (Set, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, " ")
	out := make(Set, 0, len(parts))
	for _, p := range parts {
		if p == "" || !validToken(p) {
			return nil, ErrInvalid
		}
		if !out.Has(p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// validToken reports whether p uses only NQCHAR (%x21 / %x23-5B / %x5D-7E).
func validToken(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}

// String joins the set with single spaces, in order.
func (s Set) String() string { return strings.Join(s, " ") }

// Has reports whether tok is in the set.
func (s Set) Has(tok string) bool {
	for _, v := range s {
		if v == tok {
			return true
		}
	}
	return false
}

// HasAll reports whether every token of want is in s.
func (s Set) HasAll(want Set) bool {
	for _, w := range want {
		if !s.Has(w) {
			return false
		}
	}
	return true
}

// Missing returns the tokens of want that s lacks, in want's order.
func (s Set) Missing(want Set) Set {
	var out Set
	for _, w := range want {
		if !s.Has(w) {
			out = append(out, w)
		}
	}
	return out
}
