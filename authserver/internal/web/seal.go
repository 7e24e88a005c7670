package web

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"
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

// stashSealed keeps v for the session sid under name (Sessions.Stash),
// sealed for purpose, so that Redis alone cannot read it. Errors:
// sessions.ErrUnavailable.
func (h *Handler) stashSealed(ctx context.Context, sid, name, purpose, v string, ttl time.Duration) error {
	return h.d.Sessions.Stash(ctx, sid, name, h.seal(sid, purpose, v), ttl)
}

// takeSealed returns and removes what stashSealed kept under name; ok is
// false when nothing is there or it was not sealed for this session and
// purpose (it is removed all the same). Errors: sessions.ErrUnavailable.
func (h *Handler) takeSealed(ctx context.Context, sid, name, purpose string) (v string, ok bool, err error) {
	sealed, found, err := h.d.Sessions.Take(ctx, sid, name)
	if err != nil || !found {
		return "", false, err
	}
	v, err = h.open(sid, purpose, sealed)
	if err != nil {
		return "", false, nil
	}
	return v, true, nil
}
