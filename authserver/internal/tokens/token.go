package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
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
	hashLen       = revocation.HashLen // length of a keyHash
)

var b64 = base64.RawURLEncoding

// newFamily returns a fresh random family id in the given shard: its first
// character is the shard (see shardOf), the rest is random.
func newFamily(shard byte) (string, error) {
	var b [famBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("tokens: random: %w", err)
	}
	fam := []byte(b64.EncodeToString(b[:]))
	fam[0] = shard
	return string(fam), nil
}

// b64Alphabet is base64url's alphabet: a shard is one of its characters.
const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// shards is how many shards there are: one per base64url character.
const shards = len(b64Alphabet)

// shardOf is the shard of g's families: from its user, or from its client
// when it has no user. Every family of one user is in one shard, which is
// the Redis Cluster hash tag of its keys, so that the user's epoch is in
// the same slot as the user's tokens (see epoch.go). A client's epoch is
// written into every shard.
func shardOf(g grant.Grant) byte {
	id := "c" + g.ClientID
	if g.UserID != 0 {
		id = "u" + strconv.FormatInt(g.UserID, 10)
	}
	h := sha256.Sum256([]byte(id))
	return b64Alphabet[int(h[0])%shards]
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
// answer ErrNotFound without asking Redis.
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

// keyHash is revocation.HashString: the one form of a token's hash, in
// Redis keys, in the family hash and in revocation events alike (base64url,
// shorter than hex, which matters for memory per token).
func keyHash(token string) string { return revocation.HashString(token) }

// Key layout. F is the family id, S its first character (the shard, and
// the hash tag), R the rest of F, H a key-form token hash.
//
//	<p>a{S}H   access record (string), TTL = access lifetime
//	<p>r{S}H   refresh record (string), TTL = refresh lifetime; H alone
//	           names a token (it hashes the family id too), so neither
//	           key repeats R: memory per token is budgeted; a token of a
//	           family with a refresh token holds a reference to its family
//	           hash (see record)
//	<p>f{S}R   family (hash: c client, u user id, e the generation it was
//	           issued under (see epoch.go), a current access H, r current
//	           refresh H, g grant body and s
//	           granted scope (see appendGrantBody), x the horizon of its
//	           index entries in Unix ms), only for families with a refresh
//	           token; TTL = family lifetime, never past x
//	<p>o{S}R   tombstones: zset of rotated-away refresh H scored by rotation ms
//	<p>e{S}uID, <p>e{S}cID, <p>e{S}pUID:CID  the epochs of a user, of a
//	           client and of a user's grant to a client (epoch.go)
//	<p>u:<id>  per-user index, <p>c:<id> per-client index: a registry of
//	           buckets (zset), and a hash <p>u:<id>:<n> per bucket whose
//	           fields are F for a family with a refresh token, S+H for an
//	           access token alone; see index.go.
//
// The prefix must not contain '{' or '}', or the hash tags would move.
// keyAT and keyRT use only fam's shard (fam[:1]).
func (s *Store) keyAT(fam, h string) string { return s.prefix + "a{" + fam[:1] + "}" + h }
func (s *Store) keyRT(fam, h string) string { return s.prefix + "r{" + fam[:1] + "}" + h }
func (s *Store) keyFam(fam string) string   { return s.prefix + "f{" + fam[:1] + "}" + fam[1:] }
func (s *Store) keyTomb(fam string) string  { return s.prefix + "o{" + fam[:1] + "}" + fam[1:] }
func (s *Store) keyUser(id int64) string {
	return s.prefix + "u:" + strconv.FormatInt(id, 10)
}
func (s *Store) keyClient(id string) string { return s.prefix + "c:" + id }
