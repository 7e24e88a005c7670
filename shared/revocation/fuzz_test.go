package revocation

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzDecode checks the reflection-free decoder against encoding/json: any
// payload decodeFast accepts, encoding/json accepts with the same Event, and
// Decode's answer is the reference's (encoding/json, then the kind and hash
// checks) for every input. The seed corpus is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, e := range []Event{
		{Kind: KindTokens, TokenHashes: []string{HashString("a"), HashString("b")}, Reason: ReasonRotation, At: 1700000000, Origin: "0123456789abcdef"},
		{Kind: KindSubject, Subject: "user@example.com", Reason: ReasonPasswordChange, At: 1},
		{Kind: KindClient, ClientID: "web-app", Reason: ReasonClientDeleted},
	} {
		b, err := Encode(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if fast, ok := decodeFast(string(b)); ok {
			ref, rok := decodeJSON(b)
			if !rok || !reflect.DeepEqual(fast, ref) {
				t.Fatalf("%q: decodeFast %#v, encoding/json %#v (ok %v)", b, fast, ref, rok)
			}
		}
		got, err := Decode(b)
		want, werr := referenceDecode(b)
		if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: Decode %#v, %v; reference %#v, %v", b, got, err, want, werr)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("%q: error %v is not ErrMalformed", b, err)
		}
	})
}

// referenceDecode is Decode as it was with encoding/json alone.
func referenceDecode(b []byte) (Event, error) { return checked(decodeJSON(b)) }
