package tokens

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// Token text: prefix + family id + secret, all base64url without padding.
const (
	accessPrefix  = "pcat_"
	refreshPrefix = "pcrt_"
	famBytes      = 12 // 96 random bits: the family id, also the hash tag
	secretBytes   = 32 // 256 random bits
	famLen        = 16 // base64url length of famBytes
	secretLen     = 43 // base64url length of secretBytes
	tokenLen      = 5 + famLen + secretLen
	hashLen       = 43 // base64url length of a SHA-256
)

var b64 = base64.RawURLEncoding

// newFamily returns a fresh random family id.
func newFamily() (string, error) {
	var b [famBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("tokens: random: %w", err)
	}
	return b64.EncodeToString(b[:]), nil
}

// newToken returns a fresh token of family fam with the given type prefix.
func newToken(prefix, fam string) (string, error) {
	var b [secretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("tokens: random: %w", err)
	}
	return prefix + fam + b64.EncodeToString(b[:]), nil
}

// parseToken splits a token of the given type into its family id and the
// key form of its hash. ok is false for anything malformed, so callers can
// answer ErrNotFound without asking Redis. An imported token needs
// tokenKey.
func parseToken(token, prefix string) (fam, hash string, ok bool) {
	if len(token) != tokenLen || !strings.HasPrefix(token, prefix) {
		return "", "", false
	}
	for i := len(prefix); i < len(token); i++ {
		if !isB64(token[i]) {
			return "", "", false
		}
	}
	return token[len(prefix) : len(prefix)+famLen], keyHash(token), true
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// keyHash is revocation.Hash in base64url: the form used inside Redis keys
// (shorter than hex, which matters for memory per token).
func keyHash(token string) string {
	h := revocation.Hash(token)
	return b64.EncodeToString(h[:])
}

// hashForms is keyHash and revocation.HashHex of token, hashing it once.
func hashForms(token string) (key, hexForm string) {
	h := revocation.Hash(token)
	return b64.EncodeToString(h[:]), hex.EncodeToString(h[:])
}

// hexHash converts a key-form hash to the hex form of revocation.HashHex,
// used in events. It returns "" for a malformed input.
func hexHash(keyForm string) string {
	b, err := b64.DecodeString(keyForm)
	if err != nil || len(b) != 32 {
		return ""
	}
	return hex.EncodeToString(b)
}

// Key layout. F is the family id (the hash tag), H a key-form token hash.
//
//	<p>a{F}H   access record (string), TTL = access lifetime
//	<p>r{F}H   refresh record (string), TTL = refresh lifetime
//	<p>f{F}    family (hash: c client, a current access H, h its hex form
//	           and k the a that h was made from, r current refresh H,
//	           g grant body and s granted scope (see appendGrantBody), x the
//	           horizon of its index entries in Unix ms), only for families
//	           with a refresh token; TTL = family lifetime, never past x
//	<p>o{F}    tombstones: zset of rotated-away refresh H scored by rotation ms
//	<p>u:<id>  per-user index, <p>c:<id> per-client index: a registry of
//	           buckets (zset), and a set <p>u:<id>#<n> per bucket whose
//	           members are F for a family with a refresh token, F+H(access)
//	           otherwise; see index.go.
//
// The prefix must not contain '{' or '}', or the hash tags would move.
func (s *Store) keyAT(fam, h string) string { return s.prefix + "a{" + fam + "}" + h }
func (s *Store) keyRT(fam, h string) string { return s.prefix + "r{" + fam + "}" + h }
func (s *Store) keyFam(fam string) string   { return s.prefix + "f{" + fam + "}" }
func (s *Store) keyTomb(fam string) string  { return s.prefix + "o{" + fam + "}" }
func (s *Store) keyUser(id int64) string {
	return s.prefix + "u:" + strconv.FormatInt(id, 10)
}
func (s *Store) keyClient(id string) string { return s.prefix + "c:" + id }
