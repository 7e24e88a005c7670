package oauth

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// Credentials are the client credentials a request carried (RFC 6749
// §2.3.1): HTTP Basic, or client_id and client_secret in the form body.
type Credentials struct {
	ClientID   string
	Secret     string
	SecretSent bool
	// Basic is true when they came in an Authorization: Basic header.
	Basic bool
}

// Present reports whether the request named a client at all.
func (c Credentials) Present() bool { return c.ClientID != "" }

// ParseCredentials reads client credentials from the Authorization header
// value and the form. In Basic, the id and secret are form-url-decoded
// (RFC 6749 §2.3.1), so "cc%2Did" is "cc-id" and "+" is a space. A request
// that uses both methods, repeats a parameter, or sends a Basic header that
// does not decode gets invalid_request (or invalid_client for a bad Basic).
// A Bearer header is not client authentication and is ignored here.
func ParseCredentials(authorization string, form url.Values) (Credentials, *Error) {
	if err := single(form, "client_id", "client_secret"); err != nil {
		return Credentials{}, err
	}
	scheme, rest, _ := strings.Cut(authorization, " ")
	if strings.EqualFold(scheme, "Basic") {
		if form.Has("client_secret") {
			return Credentials{}, ErrInvalidRequest("Use only one client authentication method.")
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return Credentials{}, ErrInvalidClient()
		}
		id, secret, ok := strings.Cut(string(raw), ":")
		if !ok {
			return Credentials{}, ErrInvalidClient()
		}
		id, err1 := url.QueryUnescape(id)
		secret, err2 := url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || id == "" {
			return Credentials{}, ErrInvalidClient()
		}
		if fid := form.Get("client_id"); fid != "" && fid != id {
			return Credentials{}, ErrInvalidRequest("client_id does not match the authenticated client.")
		}
		return Credentials{ClientID: id, Secret: secret, SecretSent: true, Basic: true}, nil
	}
	if form.Get("client_id") == "" && form.Has("client_secret") {
		return Credentials{}, ErrInvalidClient()
	}
	return Credentials{
		ClientID:   form.Get("client_id"),
		Secret:     form.Get("client_secret"),
		SecretSent: form.Has("client_secret"),
	}, nil
}

// single refuses a parameter given more than once (RFC 6749 §3.1, §3.2).
func single(form url.Values, names ...string) *Error {
	for _, n := range names {
		if len(form[n]) > 1 {
			return ErrInvalidRequest("Parameter " + n + " is repeated.")
		}
	}
	return nil
}
