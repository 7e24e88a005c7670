package clients

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SecretPrefix marks secrets the server generates, for secret scanners.
const SecretPrefix = "pcs_"

// hmacScheme is the stored form of a generated secret:
// "hmac-sha256$<b64 salt>$<b64 HMAC-SHA-256(key=salt, secret)>".
const hmacScheme = "hmac-sha256"

var b64 = base64.RawURLEncoding

// GenerateSecret returns a new secret with 256 random bits.
func GenerateSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("clients: crypto/rand failed: %v", err)) // never happens on Linux
	}
	return SecretPrefix + b64.EncodeToString(b[:])
}

// GenerateClientID returns a new random client id (128 bits).
func GenerateClientID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("clients: crypto/rand failed: %v", err))
	}
	return b64.EncodeToString(b[:])
}

// HashGeneratedSecret stores a server-generated secret with a fast salted
// HMAC: 256 random bits cannot be brute-forced, so no KDF is needed.
func HashGeneratedSecret(secret string) string {
	var salt [16]byte
	if _, err := rand.Read(salt[:]); err != nil {
		panic(fmt.Sprintf("clients: crypto/rand failed: %v", err))
	}
	return hmacScheme + "$" + b64.EncodeToString(salt[:]) + "$" + b64.EncodeToString(mac(salt[:], secret))
}

func mac(key []byte, secret string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(secret))
	return h.Sum(nil)
}

var errMalformedSecretHash = errors.New("clients: malformed secret hash")

// verifyHMAC checks secret against an hmac-sha256 stored form, in constant
// time.
func verifyHMAC(stored, secret string) (bool, error) {
	scheme, rest, ok1 := strings.Cut(stored, "$")
	salt64, want64, ok2 := strings.Cut(rest, "$")
	if !ok1 || !ok2 || scheme != hmacScheme {
		return false, errMalformedSecretHash
	}
	// Decoded into arrays: this runs on every token request of a client
	// with a generated secret.
	var saltBuf [64]byte
	var wantBuf [sha256.Size + 3]byte
	salt, err1 := b64.AppendDecode(saltBuf[:0], []byte(salt64))
	want, err2 := b64.AppendDecode(wantBuf[:0], []byte(want64))
	if err1 != nil || err2 != nil || len(want) != sha256.Size {
		return false, errMalformedSecretHash
	}
	return subtle.ConstantTimeCompare(mac(salt, secret), want) == 1, nil
}

func isHMAC(stored string) bool { return strings.HasPrefix(stored, hmacScheme+"$") }
