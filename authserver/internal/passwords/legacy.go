package passwords

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords/argon2"
)

// Bounds on the cost of legacy hashes; Django 5.2 uses 1,000,000 PBKDF2
// iterations and bcrypt cost 12.
const (
	maxPBKDF2Iterations = 10_000_000
	maxBcryptCost       = 16
)

// bcryptHash is a bcrypt hash, optionally Django's bcrypt_sha256 variant that
// feeds bcrypt the hex SHA-256 of the password so long passwords are not
// truncated at 72 bytes.
type bcryptHash struct {
	hash   []byte
	sha256 bool
}

func (b bcryptHash) verify(_ *argon2.Memory, password string) bool {
	in := []byte(password)
	if b.sha256 {
		sum := sha256.Sum256(in)
		in = []byte(hex.EncodeToString(sum[:]))
	}
	// CompareHashAndPassword compares in constant time.
	return bcrypt.CompareHashAndPassword(b.hash, in) == nil
}

func (bcryptHash) current(Params) bool { return false }

// parseBcrypt accepts $2a$, $2b$ and $2y$ hashes (crypt(3) form, 60 bytes).
func parseBcrypt(encoded string, sha bool) (bcryptHash, error) {
	bad := func(why string) (bcryptHash, error) {
		return bcryptHash{}, fmt.Errorf("%w: bcrypt: %s", ErrMalformedHash, why)
	}
	if len(encoded) != 60 {
		return bad("want 60 bytes")
	}
	switch encoded[:4] {
	case "$2a$", "$2b$", "$2y$":
	default:
		return bad("unsupported version")
	}
	cost, ok := parseDecimal(strings.TrimPrefix(encoded[4:6], "0"))
	if !ok || encoded[6] != '$' || cost < uint64(bcrypt.MinCost) || cost > maxBcryptCost {
		return bad("cost out of bounds")
	}
	// Salt and checksum use bcrypt's own base64 alphabet.
	for _, c := range encoded[7:] {
		if !strings.ContainsRune("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", c) {
			return bad("bad character")
		}
	}
	if _, err := bcrypt.Cost([]byte(encoded)); err != nil {
		return bad("rejected by bcrypt")
	}
	return bcryptHash{hash: []byte(encoded), sha256: sha}, nil
}

// pbkdf2Hash is Django's pbkdf2_sha256$<iterations>$<salt>$<base64 key>.
type pbkdf2Hash struct {
	iterations int
	salt       string
	key        []byte
}

func (p pbkdf2Hash) verify(_ *argon2.Memory, password string) bool {
	got, err := pbkdf2.Key(sha256.New, password, []byte(p.salt), p.iterations, len(p.key))
	return err == nil && subtle.ConstantTimeCompare(got, p.key) == 1
}

func (pbkdf2Hash) current(Params) bool { return false }

func parsePBKDF2(encoded string) (pbkdf2Hash, error) {
	bad := func(why string) (pbkdf2Hash, error) {
		return pbkdf2Hash{}, fmt.Errorf("%w: pbkdf2_sha256: %s", ErrMalformedHash, why)
	}
	f := strings.Split(encoded, "$")
	if len(f) != 4 {
		return bad("want 4 $-separated fields")
	}
	n, ok := parseDecimal(f[1])
	if !ok || n < 1 || n > maxPBKDF2Iterations {
		return bad("iterations out of bounds")
	}
	if f[2] == "" {
		return bad("empty salt")
	}
	key, ok := decodeCanonical(base64.StdEncoding.Strict(), f[3])
	if !ok {
		return bad("key is not base64")
	}
	if len(key) != sha256.Size {
		return bad("key is not 32 bytes")
	}
	return pbkdf2Hash{iterations: int(n), salt: f[2], key: key}, nil
}
