package oauth

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// fakeClients is an in-memory client registry; secrets are compared as is.
type fakeClients map[string]clients.Client

func (f fakeClients) Get(_ context.Context, id string) (clients.Client, error) {
	c, ok := f[id]
	if !ok {
		return clients.Client{}, clients.ErrNotFound
	}
	return c, nil
}

func (f fakeClients) Authenticate(ctx context.Context, id, secret string, sent bool) (clients.Client, error) {
	c, err := f.Get(ctx, id)
	if err != nil || c.IsPublic() && sent || !c.IsPublic() && c.SecretHash != secret {
		return clients.Client{}, clients.ErrInvalidClient
	}
	return c, nil
}

type fakeUsers map[int64]accounts.User

func (f fakeUsers) ByID(_ context.Context, id int64) (accounts.User, error) {
	u, ok := f[id]
	if !ok {
		return accounts.User{}, accounts.ErrNotFound
	}
	return u, nil
}

const (
	webCB = "https://app.example/cb"
	spaCB = "http://127.0.0.1:9/cb?x=1"
)

type codeEnv struct {
	s     *Server
	store *tokens.Store
	users fakeUsers
}

func newCodeEnv(t testing.TB, rdb redis.UniversalClient, prefix string) *codeEnv {
	cl := fakeClients{
		"web": {ClientID: "web", SecretHash: "web-secret", Type: clients.Confidential, GrantTypesRaw: "authorization_code", RedirectURIsRaw: webCB + " https://app.example/other"},
		"spa": {ClientID: "spa", Type: clients.Public, GrantTypesRaw: "authorization_code", RedirectURIsRaw: spaCB},
		"pw":  {ClientID: "pw", SecretHash: "pw-secret", Type: clients.Confidential, GrantTypesRaw: "password", RedirectURIsRaw: webCB},
		"ro":  {ClientID: "ro", Type: clients.Public, GrantTypesRaw: "authorization_code", RedirectURIsRaw: spaCB, ScopesRaw: "read"},
	}
	store := tokens.New(testenv.TokenClient(t, rdb, tokens.Dial), prefix, tokens.Lifetimes{Access: 3600e9, Refresh: 7200e9})
	users := fakeUsers{7: {ID: 7, Email: "user1@email.com", IsActive: true}, 8: {ID: 8, Email: "gone@email.com"}}
	s := NewServer(Config{Scopes: scope.Set{"read", "write", "introspection"}, DefaultScopes: scope.Set{"read", "write", "introspection"}}, Deps{
		Clients: cl, Finder: users, Tokens: store, Codes: store, Lookup: cl, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	return &codeEnv{s: s, store: store, users: users}
}

func forEachRedis(t *testing.T, f func(t *testing.T, e *codeEnv)) {
	t.Run("miniredis", func(t *testing.T) {
		mr := miniredis.RunT(t)
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { _ = rdb.Close() })
		f(t, newCodeEnv(t, rdb, testenv.Prefix()))
	})
	t.Run("redis", func(t *testing.T) {
		rdb, prefix := testenv.Redis(t)
		f(t, newCodeEnv(t, rdb, prefix))
	})
}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 appendix B
const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

func TestS256Challenge(t *testing.T) {
	if got := S256Challenge(verifier); got != challenge {
		t.Fatalf("S256Challenge = %q, want the RFC 7636 appendix B value", got)
	}
	if !verifyPKCE(challenge, "S256", verifier) || verifyPKCE(challenge, "plain", verifier) || verifyPKCE(challenge, "S256", verifier[:42]) {
		t.Fatal("verifyPKCE wrong")
	}
}

func TestParseAuthorize(t *testing.T) {
	forEachRedis(t, func(t *testing.T, e *codeEnv) {
		base := url.Values{"response_type": {"code"}, "client_id": {"spa"}, "state": {"s t&ate"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		with := func(mod func(v url.Values)) url.Values {
			v := url.Values{}
			for k, vs := range base {
				v[k] = append([]string(nil), vs...)
			}
			mod(v)
			return v
		}
		tests := []struct {
			name     string
			q        url.Values
			code     string // "" = valid
			page     bool   // error shown on a page, not redirected
			redirect string
			scope    string
		}{
			{name: "public with PKCE, single redirect omitted", q: base, redirect: spaCB, scope: "read write introspection"},
			{name: "confidential without PKCE", q: url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {webCB}, "scope": {"read"}}, redirect: webCB, scope: "read"},
			{name: "unknown client", q: with(func(v url.Values) { v.Set("client_id", "nope") }), code: CodeInvalidClient, page: true},
			{name: "missing client", q: with(func(v url.Values) { v.Del("client_id") }), code: CodeInvalidRequest, page: true},
			{name: "repeated client", q: with(func(v url.Values) { v.Add("client_id", "web") }), code: CodeInvalidRequest, page: true},
			{name: "foreign redirect", q: with(func(v url.Values) { v.Set("redirect_uri", "https://evil.example/cb") }), code: CodeInvalidRequest, page: true},
			{name: "redirect prefix match refused", q: with(func(v url.Values) { v.Set("redirect_uri", spaCB+"&y=2") }), code: CodeInvalidRequest, page: true},
			{name: "several registered, none named", q: url.Values{"response_type": {"code"}, "client_id": {"web"}}, code: CodeInvalidRequest, page: true},
			{name: "plain refused", q: with(func(v url.Values) { v.Set("code_challenge_method", "plain") }), code: CodeInvalidRequest, redirect: spaCB},
			{name: "method missing means plain: refused", q: with(func(v url.Values) { v.Del("code_challenge_method") }), code: CodeInvalidRequest, redirect: spaCB},
			{name: "public without PKCE", q: with(func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }), code: CodeInvalidRequest, redirect: spaCB},
			{name: "malformed challenge", q: with(func(v url.Values) { v.Set("code_challenge", "short") }), code: CodeInvalidRequest, redirect: spaCB},
			{name: "token response type", q: with(func(v url.Values) { v.Set("response_type", "token") }), code: CodeUnsupportedResponseType, page: true},
			{name: "unknown scope", q: with(func(v url.Values) { v.Set("scope", "read admin") }), code: CodeInvalidScope, redirect: spaCB},
			{name: "scope beyond client's", q: with(func(v url.Values) { v.Set("client_id", "ro"); v.Set("scope", "write") }), code: CodeInvalidScope, redirect: spaCB},
			{name: "client without the grant", q: url.Values{"response_type": {"code"}, "client_id": {"pw"}}, code: CodeUnauthorizedClient, redirect: webCB},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a, aerr := e.s.ParseAuthorize(context.Background(), tt.q)
				if tt.code == "" {
					if aerr != nil {
						t.Fatalf("ParseAuthorize: %v", aerr)
					}
					if a.RedirectURI != tt.redirect || a.Scope.String() != tt.scope || a.State != tt.q.Get("state") {
						t.Fatalf("got %+v", a)
					}
					return
				}
				if aerr == nil || aerr.Code != tt.code {
					t.Fatalf("error = %v, want %s", aerr, tt.code)
				}
				loc := aerr.Location()
				if tt.page != (loc == "") {
					t.Fatalf("Location = %q, page=%v", loc, tt.page)
				}
				if !tt.page {
					u, err := url.Parse(loc)
					if err != nil || !strings.HasPrefix(loc, tt.redirect) || u.Query().Get("error") != tt.code || u.Query().Get("state") != tt.q.Get("state") {
						t.Fatalf("Location = %q", loc)
					}
				}
			})
		}
	})
}

// authorize runs ParseAuthorize + Approve and returns the code.
func (e *codeEnv) authorize(t *testing.T, q url.Values, uid int64) string {
	t.Helper()
	a, aerr := e.s.ParseAuthorize(context.Background(), q)
	if aerr != nil {
		t.Fatal(aerr)
	}
	loc, aerr := e.s.Approve(context.Background(), a, uid, e.users[uid].Email)
	if aerr != nil {
		t.Fatal(aerr)
	}
	u, _ := url.Parse(loc)
	if u.Query().Get("state") != q.Get("state") {
		t.Fatalf("state not passed back: %q", loc)
	}
	if q.Get("client_id") == "spa" && u.Query().Get("x") != "1" {
		t.Fatalf("registered query lost: %q", loc)
	}
	return u.Query().Get("code")
}

func (e *codeEnv) token(form url.Values, cr Credentials) (string, string, *Error) {
	resp, err := e.s.Token(context.Background(), TokenRequest{Form: form, Credentials: cr})
	return resp.AccessToken, resp.RefreshToken, err
}

func TestAuthorizationCodeGrant(t *testing.T) {
	forEachRedis(t, func(t *testing.T, e *codeEnv) {
		ctx := context.Background()
		spaQ := url.Values{"response_type": {"code"}, "client_id": {"spa"}, "state": {"xyz"}, "scope": {"read"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		spa := Credentials{ClientID: "spa"}
		exch := func(code string, mod func(url.Values)) url.Values {
			v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}}
			if mod != nil {
				mod(v)
			}
			return v
		}

		t.Run("happy path, then replay revokes", func(t *testing.T) {
			code := e.authorize(t, spaQ, 7)
			at, rt, oerr := e.token(exch(code, nil), spa)
			if oerr != nil {
				t.Fatal(oerr)
			}
			if rt == "" {
				t.Fatal("no refresh token")
			}
			acc, err := e.store.LookupAccess(ctx, at)
			if err != nil || acc.UserID != 7 || acc.Scope != "read" || acc.ClientID != "spa" {
				t.Fatalf("access = %+v, %v", acc, err)
			}
			if _, _, oerr := e.token(exch(code, nil), spa); oerr == nil || oerr.Code != CodeInvalidGrant {
				t.Fatalf("replay = %v, want invalid_grant", oerr)
			}
			if _, err := e.store.LookupAccess(ctx, at); err == nil {
				t.Fatal("access token from a replayed code is still live")
			}
			if _, err := e.store.LookupRefresh(ctx, rt); err == nil {
				t.Fatal("refresh token from a replayed code is still live")
			}
		})

		bad := []struct {
			name string
			q    url.Values
			uid  int64
			cr   Credentials
			mod  func(url.Values)
			code string
		}{
			{name: "missing verifier", q: spaQ, uid: 7, cr: spa, mod: func(v url.Values) { v.Del("code_verifier") }, code: CodeInvalidGrant},
			{name: "wrong verifier", q: spaQ, uid: 7, cr: spa, mod: func(v url.Values) { v.Set("code_verifier", strings.Repeat("x", 43)) }, code: CodeInvalidGrant},
			{name: "challenge as verifier", q: spaQ, uid: 7, cr: spa, mod: func(v url.Values) { v.Set("code_verifier", challenge) }, code: CodeInvalidGrant},
			{name: "other redirect_uri", q: spaQ, uid: 7, cr: spa, mod: func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:9/cb") }, code: CodeInvalidGrant},
			{name: "other client", q: spaQ, uid: 7, cr: Credentials{ClientID: "web", Secret: "web-secret", SecretSent: true}, code: CodeInvalidGrant},
			{name: "unknown code", q: spaQ, uid: 7, cr: spa, mod: func(v url.Values) { v.Set("code", "pcac_nope") }, code: CodeInvalidGrant},
			{name: "missing code", q: spaQ, uid: 7, cr: spa, mod: func(v url.Values) { v.Del("code") }, code: CodeInvalidRequest},
			{name: "inactive user", q: spaQ, uid: 8, cr: spa, code: CodeInvalidGrant},
			{name: "client without the grant", q: spaQ, uid: 7, cr: Credentials{ClientID: "pw", Secret: "pw-secret", SecretSent: true}, code: CodeUnauthorizedClient},
			{name: "confidential: redirect_uri named, not repeated", q: url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {webCB}},
				uid: 7, cr: Credentials{ClientID: "web", Secret: "web-secret", SecretSent: true}, mod: func(v url.Values) { v.Del("code_verifier") }, code: CodeInvalidGrant},
			{name: "confidential: verifier without challenge", q: url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {webCB}},
				uid: 7, cr: Credentials{ClientID: "web", Secret: "web-secret", SecretSent: true}, mod: func(v url.Values) { v.Set("redirect_uri", webCB) }, code: CodeInvalidGrant},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				code := e.authorize(t, tt.q, tt.uid)
				if _, _, oerr := e.token(exch(code, tt.mod), tt.cr); oerr == nil || oerr.Code != tt.code {
					t.Fatalf("error = %v, want %s", oerr, tt.code)
				}
			})
		}

		t.Run("confidential without PKCE", func(t *testing.T) {
			code := e.authorize(t, url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {webCB}}, 7)
			at, _, oerr := e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webCB}},
				Credentials{ClientID: "web", Secret: "web-secret", SecretSent: true})
			if oerr != nil || at == "" {
				t.Fatalf("exchange: %v", oerr)
			}
		})
	})
}

func TestMetadataAdvertisesCodeFlow(t *testing.T) {
	s := NewServer(Config{Scopes: scope.Set{"read"}}, Deps{})
	m := s.Metadata("https://as.example")
	if m.AuthorizationEndpoint != "https://as.example/o/authorize/" || len(m.ResponseTypesSupported) != 1 || m.ResponseTypesSupported[0] != "code" ||
		len(m.CodeChallengeMethodsSupported) != 1 || m.CodeChallengeMethodsSupported[0] != "S256" || m.GrantTypesSupported[0] != "authorization_code" {
		t.Fatalf("metadata = %+v", m)
	}
}
