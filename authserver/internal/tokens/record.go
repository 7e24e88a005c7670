package tokens

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// A record is what a token key holds: a compact string, because memory per
// live token is budgeted. Layout:
//
//	1|<iat>|<exp>|<gen>|<uid>|<len>:<client_id><len>:<username><scope>
//
// with times in Unix seconds and gen the generation the token was issued
// under (see epoch.go). Strings are length-prefixed, so any byte is
// allowed in them. The lookup script reads gen, uid and client_id.
type record struct {
	Grant
	Gen       int64
	IssuedAt  time.Time
	ExpiresAt time.Time
}

var errBadRecord = errors.New("tokens: malformed record")

func encodeRecord(r record) string {
	b := make([]byte, 0, 48+len(r.ClientID)+len(r.Username)+len(r.Scope))
	b = appendTimes(b, r.IssuedAt, r.ExpiresAt)
	b = strconv.AppendInt(b, r.Gen, 10)
	b = append(b, '|')
	b = appendGrantBody(b, r.Grant)
	return string(append(b, r.Scope...))
}

// appendTimes appends a record's head: the version and the two times,
// "1|<iat>|<exp>|". The rotation script builds records as
// head + gen + "|" + grant body + scope, so these two functions are the
// whole format.
func appendTimes(b []byte, iat, exp time.Time) []byte {
	b = append(b, "1|"...)
	b = strconv.AppendInt(b, iat.Unix(), 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, exp.Unix(), 10)
	return append(b, '|')
}

// appendGrantBody appends what follows the times, up to the scope:
// "<uid>|<len>:<client_id><len>:<username>".
func appendGrantBody(b []byte, g Grant) []byte {
	b = strconv.AppendInt(b, g.UserID, 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(len(g.ClientID)), 10)
	b = append(b, ':')
	b = append(b, g.ClientID...)
	b = strconv.AppendInt(b, int64(len(g.Username)), 10)
	b = append(b, ':')
	return append(b, g.Username...)
}

func decodeRecord(s string) (record, error) {
	var r record
	rest, ok := strings.CutPrefix(s, "1|")
	if !ok {
		return r, errBadRecord
	}
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
	var strs [2]string
	for i := range strs {
		f, tail, ok := strings.Cut(rest, ":")
		if !ok {
			return r, errBadRecord
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > len(tail) {
			return r, errBadRecord
		}
		strs[i], rest = tail[:n], tail[n:]
	}
	r.IssuedAt = time.Unix(ints[0], 0)
	r.ExpiresAt = time.Unix(ints[1], 0)
	r.Gen = ints[2]
	r.UserID = ints[3]
	r.ClientID, r.Username, r.Scope = strs[0], strs[1], rest
	return r, nil
}
