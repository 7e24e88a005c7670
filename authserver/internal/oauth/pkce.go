package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE (RFC 7636). Only S256 is accepted: "plain" protects nothing against
// an attacker who can read the authorization request.
const (
	PKCEMethodS256 = "S256"
	// s256Len is the length of base64url(SHA-256(x)) without padding.
	s256Len = 43
)

// validVerifier reports whether v is a code_verifier of RFC 7636 §4.1:
// 43 to 128 characters from [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !unreserved(v[i]) {
			return false
		}
	}
	return true
}

// validS256Challenge reports whether c can be an S256 code_challenge.
func validS256Challenge(c string) bool {
	if len(c) != s256Len {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil
}

func unreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// S256Challenge is BASE64URL(SHA256(verifier)) (RFC 7636 §4.2).
func S256Challenge(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// verifyPKCE checks verifier against an S256 challenge in constant time.
func verifyPKCE(challenge, method, verifier string) bool {
	if method != PKCEMethodS256 || !validVerifier(verifier) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(S256Challenge(verifier)), []byte(challenge)) == 1
}
