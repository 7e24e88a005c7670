// Package revocation defines the event the auth server publishes on Redis
// whenever tokens stop being valid, and that resource servers subscribe to so
// they can evict cached introspection answers at once. It also fixes how a
// token is hashed, so that both sides name a token the same way without
// either side ever putting the token itself on the wire or in a cache key.
package revocation

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// ChannelSuffix is the pub/sub channel name; Channel prepends REDIS_PREFIX.
const ChannelSuffix = "portcullis:revocations"

// Channel returns the channel for a deployment's REDIS_PREFIX (may be empty).
func Channel(prefix string) string { return prefix + ChannelSuffix }

// Kind says what an Event revokes.
type Kind string

// The kinds of revocation. A resource server evicts:
//   - KindTokens: the entries whose token hash is in TokenHashes (an explicit
//     revoke, a rotated-away access token, or every token of a replayed family);
//   - KindSubject: every entry whose introspected sub equals Subject (password
//     change, deactivated user);
//   - KindClient: every entry whose client_id equals ClientID (a client
//     deleted or changed).
const (
	KindTokens  Kind = "tokens"
	KindSubject Kind = "subject"
	KindClient  Kind = "client"
)

// Version is the event format version; consumers ignore higher versions'
// unknown fields and treat an unknown Kind as "clear everything".
const Version = 1

// Reason says why tokens were revoked. It is informational: consumers log
// and count it, and evict by Kind whatever the reason. The reasons are:
//
//   - "revoke": a client revoked a token (RFC 7009);
//   - "rotation": a refresh token was used, and the family's previous
//     access token and refresh token ended with it;
//   - "replay": a rotated-away refresh token was presented again, and its
//     whole family ended (RFC 9700 §4.14);
//   - "code_replay": an authorization code was presented again, and the
//     tokens issued from it ended (RFC 6749 §4.1.2);
//   - "password_change": the user changed their password; every token of
//     theirs but the one used to change it ended;
//   - "password_reset": an admin set the user's password;
//   - "deactivated": an admin deactivated the user;
//   - "application_revoked": the user revoked an application's access;
//   - "client_deleted": the client was deleted;
//   - "client_changed": the client's id, type, secret, grant types, redirect
//     URIs or scopes changed;
//   - "client_updated": only the client's name or consent setting changed:
//     its tokens stand (a KindClient event with no epoch bump), and every
//     cache of the client reloads it.
//
// Reasons lists the same set; a test keeps this comment and it equal.
type Reason string

// The reasons an Event may carry; see Reason.
const (
	ReasonRevoke             Reason = "revoke"
	ReasonRotation           Reason = "rotation"
	ReasonReplay             Reason = "replay"
	ReasonCodeReplay         Reason = "code_replay"
	ReasonPasswordChange     Reason = "password_change"
	ReasonPasswordReset      Reason = "password_reset"
	ReasonDeactivated        Reason = "deactivated"
	ReasonApplicationRevoked Reason = "application_revoked"
	ReasonClientDeleted      Reason = "client_deleted"
	ReasonClientChanged      Reason = "client_changed"
	ReasonClientUpdated      Reason = "client_updated"
)

// Reasons returns every Reason, in the order the Reason comment lists them.
func Reasons() []Reason {
	return []Reason{ReasonRevoke, ReasonRotation, ReasonReplay, ReasonCodeReplay, ReasonPasswordChange,
		ReasonPasswordReset, ReasonDeactivated, ReasonApplicationRevoked, ReasonClientDeleted, ReasonClientChanged, ReasonClientUpdated}
}

// Event is one revocation; Reason says why (see Reason).
type Event struct {
	V           int      `json:"v"`
	Kind        Kind     `json:"kind"`
	TokenHashes []string `json:"token_hashes,omitempty"` // each HashString of a token
	Subject     string   `json:"sub,omitempty"`
	ClientID    string   `json:"client_id,omitempty"`
	Reason      Reason   `json:"reason,omitempty"`
	At          int64    `json:"at"`
	// Origin names the publishing process (opaque, optional), so that a
	// publisher that has already applied its own revocation can recognise
	// the echo with OriginTag, without decoding it. Consumers ignore it.
	Origin string `json:"origin,omitempty"`
}

// OriginTag is how an event published with this Origin shows it in its
// encoded form. origin must need no JSON escaping (use letters and digits):
// then the tag cannot occur inside any other field's value, where a quote
// is always escaped.
func OriginTag(origin string) string { return `"origin":"` + origin + `"` }

// ErrMalformed is returned by Decode for a payload that is not a valid event.
var ErrMalformed = errors.New("revocation: malformed event")

// Hash is SHA-256 of a token: the only name a token has at rest.
func Hash(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// hashEncoding is the text form of a Hash: base64url without padding (RFC
// 4648 §5), strict, 43 characters. The auth server names its Redis keys in
// the same form, so an event's hashes need no conversion anywhere.
var hashEncoding = base64.RawURLEncoding.Strict()

// HashLen is the length of a hash's text form.
const HashLen = 43

// HashString is Hash in its text form, the form used in TokenHashes.
func HashString(token string) string { return EncodeHash(Hash(token)) }

// EncodeHash is the text form of h.
func EncodeHash(h [32]byte) string { return hashEncoding.EncodeToString(h[:]) }

// ParseHash reads a hash's text form; ok is false for anything but the
// 43 characters EncodeHash writes.
func ParseHash(s string) (h [32]byte, ok bool) {
	if len(s) != HashLen {
		return h, false
	}
	n, err := hashEncoding.Decode(h[:], []byte(s))
	return h, err == nil && n == len(h)
}

// Encode marshals e, filling in V.
func Encode(e Event) ([]byte, error) {
	e.V = Version
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("revocation: encode: %w", err)
	}
	return b, nil
}

// Decode parses a payload. It returns ErrMalformed for bad JSON, a missing
// kind, or a tokens event whose hashes are not in ParseHash's form. The
// events Encode writes are read without reflection (decodeFast), anything
// else by encoding/json, with the same result either way.
func Decode(b []byte) (Event, error) { return DecodeString(string(b)) }

// DecodeString is Decode of a payload a Redis client already holds as a
// string, without copying it again.
func DecodeString(s string) (Event, error) {
	e, ok := decodeFast(s)
	if !ok {
		e, ok = decodeJSON([]byte(s))
	}
	return checked(e, ok)
}

// checked returns a decoded event, or ErrMalformed when it did not decode
// (ok false), has no kind, or names a token hash that is not one.
func checked(e Event, ok bool) (Event, error) {
	if !ok || e.Kind == "" {
		return Event{}, ErrMalformed
	}
	if e.Kind == KindTokens {
		for _, h := range e.TokenHashes {
			if _, ok := ParseHash(h); !ok {
				return Event{}, ErrMalformed
			}
		}
	}
	return e, nil
}
