package revocation

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := Event{Kind: KindTokens, TokenHashes: []string{HashHex("pat_x")}, Reason: "revoke", At: 42}
	b, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	in.V = Version
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("got %+v want %+v", out, in)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tt := range []struct{ name, in string }{
		{"not json", "nope"},
		{"no kind", `{"v":1}`},
		{"short hash", `{"v":1,"kind":"tokens","token_hashes":["ab"]}`},
		{"non hex", `{"v":1,"kind":"tokens","token_hashes":["zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode([]byte(tt.in)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestHashHexIsSHA256(t *testing.T) {
	// SHA-256("abc"), from FIPS 180-2 appendix B.1.
	if got := HashHex("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashHex = %s", got)
	}
}

func TestChannel(t *testing.T) {
	if got := Channel("t1:"); got != "t1:portcullis:revocations" {
		t.Fatal(got)
	}
}

func TestOriginTag(t *testing.T) {
	b, err := Encode(Event{Kind: KindTokens, TokenHashes: []string{HashHex("x")}, Origin: "a1b2c3"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), OriginTag("a1b2c3")) {
		t.Fatalf("%s does not carry %s", b, OriginTag("a1b2c3"))
	}
	// The tag cannot be forged inside another field: quotes are escaped.
	b, err = Encode(Event{Kind: KindClient, ClientID: `x","origin":"a1b2c3"`, Reason: `"origin":"a1b2c3"`})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), OriginTag("a1b2c3")) {
		t.Fatalf("%s: the tag appeared without an Origin", b)
	}
}
