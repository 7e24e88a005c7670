package oauth

import (
	"encoding/base64"
	"net/url"
	"testing"
)

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		name    string
		authz   string
		form    url.Values
		want    Credentials
		errCode string
	}{
		{name: "basic", authz: basic("rs-id", "rs-secret"), want: Credentials{ClientID: "rs-id", Secret: "rs-secret", SecretSent: true, Basic: true}},
		{name: "basic is form-url-decoded", authz: basic("cc-id", "cc%2Dsecret"), want: Credentials{ClientID: "cc-id", Secret: "cc-secret", SecretSent: true, Basic: true}},
		{name: "basic plus is a space", authz: basic("a", "b+c"), want: Credentials{ClientID: "a", Secret: "b c", SecretSent: true, Basic: true}},
		{name: "basic scheme case-insensitive", authz: "basic " + base64.StdEncoding.EncodeToString([]byte("a:b")), want: Credentials{ClientID: "a", Secret: "b", SecretSent: true, Basic: true}},
		{name: "secret may hold a colon", authz: basic("a", "b:c"), want: Credentials{ClientID: "a", Secret: "b:c", SecretSent: true, Basic: true}},
		{name: "body", form: url.Values{"client_id": {"a"}, "client_secret": {"b"}}, want: Credentials{ClientID: "a", Secret: "b", SecretSent: true}},
		{name: "public client id only", form: url.Values{"client_id": {"pub"}}, want: Credentials{ClientID: "pub"}},
		{name: "nothing", want: Credentials{}},
		{name: "bearer is not client auth", authz: "Bearer xyz", want: Credentials{}},
		{name: "bad base64", authz: "Basic %%%", errCode: CodeInvalidClient},
		{name: "no colon", authz: "Basic " + base64.StdEncoding.EncodeToString([]byte("abc")), errCode: CodeInvalidClient},
		{name: "empty id", authz: basic("", "x"), errCode: CodeInvalidClient},
		{name: "bad escape", authz: basic("a%zz", "x"), errCode: CodeInvalidClient},
		{name: "two methods", authz: basic("a", "b"), form: url.Values{"client_secret": {"b"}}, errCode: CodeInvalidRequest},
		{name: "ids disagree", authz: basic("a", "b"), form: url.Values{"client_id": {"c"}}, errCode: CodeInvalidRequest},
		{name: "secret without id", form: url.Values{"client_secret": {"b"}}, errCode: CodeInvalidClient},
		{name: "repeated client_id", form: url.Values{"client_id": {"a", "b"}}, errCode: CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredentials(tt.authz, tt.form)
			if tt.errCode != "" {
				if err == nil || err.Code != tt.errCode {
					t.Fatalf("err = %v, want %s", err, tt.errCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseCredentials(f *testing.F) {
	f.Add(basic("rs-id", "rs-secret"), "client_id=a&client_secret=b")
	f.Add("Basic Og==", "")
	f.Add("Bearer x", "client_id=a&client_id=b")
	f.Add("basic "+base64.StdEncoding.EncodeToString([]byte("%41:%2")), "token=x")
	f.Fuzz(func(t *testing.T, authz, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		c, oerr := ParseCredentials(authz, form)
		if oerr != nil {
			if oerr.Status != 400 && oerr.Status != 401 {
				t.Fatalf("status %d for %q", oerr.Status, authz)
			}
			return
		}
		if c.Basic && !c.SecretSent {
			t.Fatal("basic credentials without a secret")
		}
		if c.Secret != "" && c.ClientID == "" {
			t.Fatal("a secret without a client id")
		}
	})
}
