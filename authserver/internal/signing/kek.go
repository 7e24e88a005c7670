package signing

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrKEK is a KEY_ENCRYPTION_KEY that is not 32 bytes of base64.
var ErrKEK = errors.New("signing: KEY_ENCRYPTION_KEY must be 32 random bytes in base64 (e.g. `head -c32 /dev/urandom | base64`)")

// ErrSealed is a private key that does not open under the configured key
// (a different KEY_ENCRYPTION_KEY, or a tampered row).
var ErrSealed = errors.New("signing: a private key does not decrypt under KEY_ENCRYPTION_KEY")

// KEK is the key-encryption key: it seals private keys at rest with
// AES-256-GCM, bound to their kid and algorithm as additional data so that
// a sealed key cannot be moved to another row. Safe for concurrent use.
type KEK struct{ aead cipher.AEAD }

// ParseKEK reads a key-encryption key: 32 bytes in standard or URL-safe
// base64, padded or not. Errors: ErrKEK.
func ParseKEK(s string) (*KEK, error) {
	s = strings.TrimSpace(s)
	var raw []byte
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			raw = b
			break
		}
	}
	if len(raw) != 32 {
		return nil, ErrKEK
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("signing: kek: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("signing: kek: %w", err)
	}
	return &KEK{aead: aead}, nil
}

// seal encrypts plain under a fresh random nonce; the result is
// base64(nonce || ciphertext).
func (k *KEK) seal(plain []byte, aad string) (string, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("signing: seal: %w", err)
	}
	return base64.StdEncoding.EncodeToString(k.aead.Seal(nonce, nonce, plain, []byte(aad))), nil
}

// open reverses seal. Errors: ErrSealed.
func (k *KEK) open(sealed, aad string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(b) < k.aead.NonceSize() {
		return nil, ErrSealed
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, b[:n], b[n:], []byte(aad))
	if err != nil {
		return nil, ErrSealed
	}
	return plain, nil
}
