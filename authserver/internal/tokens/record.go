package tokens

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
)

// A record is what a token key holds: a compact string, because memory per
// live token is budgeted (a few bytes less can put the value in a smaller
// allocation class). Layout:
//
//	<iat>|<life>|<gen>|<uid>|<client_id>:<len>:<username><scope>
//
// with iat in Unix seconds, life the token's lifetime in seconds (it
// expires at iat + life), and gen the generation the token was issued
// under (see epoch.go). A client id never holds ':' (clients.Validate), so
// it ends at the first one; the username is length-prefixed, so any byte is
// allowed in it. The lookup script reads gen, uid and client_id.
//
// A token of a family with a refresh token does not repeat what its family
// hash holds (the generation e, the grant body g and the scope s, see
// token.go); its record is a reference, about 40 bytes less per token:
//
//	<iat>|<life>|f<scope>
//
// with scope "" for the family's, else the narrower scope of a rotation.
// The lookup script expands it to the full form from the family hash, so
// only full records reach decodeRecord.
type record struct {
	grant.Grant
	Gen       int64
	IssuedAt  time.Time
	ExpiresAt time.Time
}

var (
	errBadRecord = errors.New("tokens: malformed record")
	errClientID  = errors.New("tokens: a client id must not contain ':'")
)

func encodeRecord(r record) string {
	b := make([]byte, 0, 40+len(r.ClientID)+len(r.Username)+len(r.Scope))
	b = appendTimes(b, r.IssuedAt, r.ExpiresAt)
	b = strconv.AppendInt(b, r.Gen, 10)
	b = append(b, '|')
	b = appendGrantBody(b, r.Grant)
	return string(append(b, r.Scope...))
}

// appendTimes appends a record's head: the two times, "<iat>|<life>|".
// The rotation script builds records as head + gen + "|" + grant body +
// scope, so these two functions are the whole format.
func appendTimes(b []byte, iat, exp time.Time) []byte {
	b = strconv.AppendInt(b, iat.Unix(), 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, exp.Unix()-iat.Unix(), 10)
	return append(b, '|')
}

// familyRecord is the record of a token of a family (see record).
func familyRecord(iat, exp time.Time) string {
	return string(append(appendTimes(nil, iat, exp), 'f'))
}

// appendGrantBody appends what follows the times, up to the scope:
// "<uid>|<client_id>:<len>:<username>".
func appendGrantBody(b []byte, g grant.Grant) []byte {
	b = strconv.AppendInt(b, g.UserID, 10)
	b = append(b, '|')
	b = append(b, g.ClientID...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(len(g.Username)), 10)
	b = append(b, ':')
	return append(b, g.Username...)
}

func decodeRecord(s string) (record, error) {
	var r record
	rest := s
	var ints [4]int64
	for i := range ints {
		f, tail, ok := strings.Cut(rest, "|")
		if !ok {
			return r, errBadRecord
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return r, errBadRecord
		}
		ints[i], rest = n, tail
	}
	client, rest, ok := strings.Cut(rest, ":")
	if !ok {
		return r, errBadRecord
	}
	f, rest, ok := strings.Cut(rest, ":")
	if !ok {
		return r, errBadRecord
	}
	n, err := strconv.Atoi(f)
	if err != nil || n < 0 || n > len(rest) {
		return r, errBadRecord
	}
	r.IssuedAt = time.Unix(ints[0], 0)
	r.ExpiresAt = time.Unix(ints[0]+ints[1], 0)
	r.Gen = ints[2]
	r.UserID = ints[3]
	r.ClientID, r.Username, r.Scope = client, rest[:n], rest[n:]
	return r, nil
}
