package revocation

import "encoding/json"

// decodeFast parses the events Encode writes, without reflection: one JSON
// object whose members are the Event's fields by their exact names, string
// values of printable ASCII without escapes, integers without exponent or
// fraction, and JSON whitespace anywhere JSON allows it. Every field shares
// one copy of the payload. For anything else (an escape, a non-ASCII byte,
// null, an unknown or differently-cased key, a nested value) ok is false and
// the caller falls back to encoding/json, so the two never disagree about an
// input decodeFast accepts: FuzzDecode checks exactly that.
func decodeFast(s string) (e Event, ok bool) {
	p := scanner{s: s}
	if !p.byte('{') {
		return Event{}, false
	}
	if p.byte('}') {
		return e, p.end()
	}
	for {
		key, ok := p.str()
		if !ok || !p.byte(':') {
			return Event{}, false
		}
		switch key {
		case "v":
			n, ok := p.int()
			if !ok {
				return Event{}, false
			}
			e.V = int(n)
		case "at":
			n, ok := p.int()
			if !ok {
				return Event{}, false
			}
			e.At = n
		case "kind":
			v, ok := p.str()
			if !ok {
				return Event{}, false
			}
			e.Kind = Kind(v)
		case "sub":
			if e.Subject, ok = p.str(); !ok {
				return Event{}, false
			}
		case "client_id":
			if e.ClientID, ok = p.str(); !ok {
				return Event{}, false
			}
		case "reason":
			v, ok := p.str()
			if !ok {
				return Event{}, false
			}
			e.Reason = Reason(v)
		case "origin":
			if e.Origin, ok = p.str(); !ok {
				return Event{}, false
			}
		case "token_hashes":
			if e.TokenHashes, ok = p.strings(); !ok {
				return Event{}, false
			}
		default:
			return Event{}, false
		}
		if p.byte(',') {
			continue
		}
		if p.byte('}') {
			return e, p.end()
		}
		return Event{}, false
	}
}

// scanner reads s from i on.
type scanner struct {
	s string
	i int
}

// space skips JSON whitespace (RFC 8259 §2).
func (p *scanner) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// byte consumes c after optional whitespace.
func (p *scanner) byte(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (p *scanner) end() bool {
	p.space()
	return p.i == len(p.s)
}

// str reads a string of printable ASCII other than '"' and '\\'.
func (p *scanner) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for ; p.i < len(p.s); p.i++ {
		c := p.s[p.i]
		if c == '"' {
			v := p.s[start:p.i]
			p.i++
			return v, true
		}
		if c < 0x20 || c > 0x7e || c == '\\' {
			return "", false
		}
	}
	return "", false
}

// int reads an integer of at most 18 digits (no overflow of int64 or, for
// the values Encode writes, of int), in JSON's canonical form: no leading
// zero, no plus sign.
func (p *scanner) int() (int64, bool) {
	p.space()
	neg := p.i < len(p.s) && p.s[p.i] == '-'
	if neg {
		p.i++
	}
	start := p.i
	var n int64
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		n = n*10 + int64(p.s[p.i]-'0')
		p.i++
	}
	digits := p.i - start
	if digits == 0 || digits > 18 || (digits > 1 && p.s[start] == '0') {
		return 0, false
	}
	if p.i < len(p.s) && (p.s[p.i] == '.' || p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// strings reads an array of strings; [] gives an empty, non-nil slice, as
// encoding/json does.
func (p *scanner) strings() ([]string, bool) {
	if !p.byte('[') {
		return nil, false
	}
	out := make([]string, 0, 4)
	if p.byte(']') {
		return out, true
	}
	for {
		v, ok := p.str()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		if p.byte(',') {
			continue
		}
		if p.byte(']') {
			return out, true
		}
		return nil, false
	}
}

// decodeJSON is the general path: encoding/json, for every payload
// decodeFast declines.
func decodeJSON(b []byte) (Event, bool) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, false
	}
	return e, true
}
