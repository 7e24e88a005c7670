package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// seal encrypts v (AES-256-GCM) under a key derived from the handler's key
// and the session id, which Redis never holds (it keys sessions by the
// id's hash): what a page stashes in Redis for the next one, such as a new
// client secret between the POST and the page it redirects to, cannot be
// read from Redis alone.
func (h *Handler) seal(sid, purpose, v string) string {
	g := h.sealer(sid, purpose)
	nonce := make([]byte, g.NonceSize())
	_, _ = rand.Read(nonce) // never fails on Linux (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(g.Seal(nonce, nonce, []byte(v), []byte(purpose)))
}

// open reverses seal. Errors: a value not sealed for this session and
// purpose.
func (h *Handler) open(sid, purpose, sealed string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	g := h.sealer(sid, purpose)
	if err != nil || len(b) < g.NonceSize() {
		return "", errors.New("web: open: malformed")
	}
	v, err := g.Open(nil, b[:g.NonceSize()], b[g.NonceSize():], []byte(purpose))
	if err != nil {
		return "", errors.New("web: open: not sealed for this session")
	}
	return string(v), nil
}

func (h *Handler) sealer(sid, purpose string) cipher.AEAD {
	m := hmac.New(sha256.New, h.d.Key)
	m.Write([]byte("seal\x00" + purpose + "\x00" + sid))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		panic(err) // a 32-byte key: cannot happen
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return g
}
