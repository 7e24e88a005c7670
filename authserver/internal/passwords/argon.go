package passwords

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords/argon2"
)

// b64 is the PHC string format's base64: standard alphabet, no padding, and
// unused trailing bits must be zero so each value has one spelling.
var b64 = base64.RawStdEncoding.Strict()

// argonHash is an argon2 hash in PHC string form
// (https://github.com/P-H-C/phc-string-format), version 19 only.
type argonHash struct {
	variant string // "argon2id" or "argon2i"
	params  Params
	salt    []byte
	key     []byte
	django  bool // stored with Django's "argon2" prefix
}

// String encodes a in PHC form.
func (a argonHash) String() string {
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s", a.variant, argon2.Version,
		a.params.MemoryKiB, a.params.Time, a.params.Threads,
		b64.EncodeToString(a.salt), b64.EncodeToString(a.key))
}

func (a argonHash) derive(mem *argon2.Memory, password string) []byte {
	p := a.params
	if a.variant == "argon2i" {
		return argon2.Key(mem, []byte(password), a.salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	}
	return argon2.IDKey(mem, []byte(password), a.salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
}

func (a argonHash) verify(mem *argon2.Memory, password string) bool {
	return subtle.ConstantTimeCompare(a.derive(mem, password), a.key) == 1
}

func (a argonHash) current(p Params) bool {
	return !a.django && a.variant == "argon2id" && a.params == p
}

// parseArgon parses $argon2id$v=19$m=M,t=T,p=P$salt$key (or $argon2i$...).
func parseArgon(encoded string, django bool) (argonHash, error) {
	bad := func(why string) (argonHash, error) {
		return argonHash{}, fmt.Errorf("%w: argon2: %s", ErrMalformedHash, why)
	}
	f := strings.Split(encoded, "$")
	if len(f) != 6 || f[0] != "" {
		return bad("want 5 $-separated fields")
	}
	a := argonHash{variant: f[1], django: django}
	if a.variant != "argon2id" && a.variant != "argon2i" {
		return bad("unsupported variant")
	}
	if f[2] != "v=19" {
		return bad("unsupported version")
	}
	kv := strings.Split(f[3], ",")
	if len(kv) != 3 {
		return bad("want parameters m,t,p")
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		s, ok := strings.CutPrefix(kv[i], name)
		if !ok {
			return bad("want parameters m,t,p in that order")
		}
		n, ok := parseDecimal(s)
		if !ok {
			return bad("parameter " + name + " is not a decimal")
		}
		vals[i] = n
	}
	if vals[0] > maxArgonMemoryKiB || vals[1] > maxArgonTime || vals[2] > 255 {
		return bad("parameters out of bounds")
	}
	var ok bool
	if a.salt, ok = decodeCanonical(b64, f[4]); !ok {
		return bad("salt is not base64")
	}
	if a.key, ok = decodeCanonical(b64, f[5]); !ok {
		return bad("key is not base64")
	}
	a.params = Params{
		MemoryKiB: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2]),
		KeyLen: uint32(len(a.key)), SaltLen: uint32(len(a.salt)),
	}
	if err := a.params.Validate(); err != nil {
		return bad("parameters out of bounds")
	}
	return a, nil
}

// decodeCanonical decodes s and accepts it only if it is the one spelling of
// its value: encoding/base64 silently skips '\r' and '\n'.
func decodeCanonical(enc *base64.Encoding, s string) ([]byte, bool) {
	b, err := enc.DecodeString(s)
	if err != nil || enc.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}

// parseDecimal accepts only canonical decimals: ASCII digits, no sign, no
// leading zero, at most 10 digits (PHC §"Decimal Encoding").
func parseDecimal(s string) (uint64, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}
