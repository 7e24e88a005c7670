package wire

import (
	"encoding/json"
	"testing"
)

func TestInactiveEncodesToExactlyActiveFalse(t *testing.T) {
	b, err := json.Marshal(Inactive)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"active":false}`; got != want {
		t.Fatalf("Inactive = %s, want %s", got, want)
	}
}

func TestIntrospectionKeyOrderMatchesDOT(t *testing.T) {
	b, err := json.Marshal(Introspection{Active: true, Scope: "read", Exp: 10, ClientID: "rs-id", Username: "a@b.c", TokenType: TokenType, Iat: 5, Sub: "7"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"active":true,"scope":"read","exp":10,"client_id":"rs-id","username":"a@b.c","token_type":"Bearer","iat":5,"sub":"7"}`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
}

func TestTokenResponseOmitsMissingRefreshToken(t *testing.T) {
	b, _ := json.Marshal(TokenResponse{AccessToken: "a", ExpiresIn: 1, TokenType: TokenType, Scope: "read"})
	want := `{"access_token":"a","expires_in":1,"token_type":"Bearer","scope":"read"}`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
}

func TestReadinessShape(t *testing.T) {
	r := NewReadiness()
	b, _ := json.Marshal(r)
	if got, want := string(b), `{"status":"ok","checks":{},"warnings":[]}`; got != want || r.HTTPStatus() != 200 {
		t.Fatalf("empty: %s (%d), want %s", got, r.HTTPStatus(), want)
	}
	r.Set("database", CheckOK)
	r.Set("introspection", CheckUnknown)
	r.Warn("introspection: the auth server did not answer")
	if r.HTTPStatus() != 200 {
		t.Fatalf("unknown made it unready")
	}
	r.Set("redis", CheckUnavailable)
	r.Set("database", CheckOK)
	b, _ = json.Marshal(r)
	want := `{"status":"unavailable","checks":{"database":"ok","introspection":"unknown","redis":"unavailable"},"warnings":["introspection: the auth server did not answer"]}`
	if string(b) != want || r.HTTPStatus() != 503 {
		t.Fatalf("got %s (%d)\nwant %s", b, r.HTTPStatus(), want)
	}
}
