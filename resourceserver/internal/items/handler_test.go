package items

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/middleware"
	"github.com/portcullis-oauth/portcullis/middleware/ginauth"
	"github.com/portcullis-oauth/portcullis/middleware/introspecttest"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// Tokens the fake introspection server knows.
const (
	tokAlice    = "alice-rw"
	tokAliceRO  = "alice-read-only"
	tokBob      = "bob-rw"
	tokClient   = "cc-rw" // client_credentials: no user
	tokDOTStyle = "carol-no-sub"
)

type api struct {
	t   *testing.T
	url string
}

// newAPI starts the item routes behind the real middleware, with a fake
// introspection server, on a fresh database of backend b.
func newAPI(t *testing.T, b testenv.Backend) *api {
	t.Helper()
	fake := introspecttest.NewServer()
	t.Cleanup(fake.Close)
	fake.RequireClientCredentials("rs-id", "rs-secret")
	exp := time.Now().Add(time.Hour).Unix()
	fake.Register(tokAlice, wire.Introspection{Scope: "read write", Exp: exp, ClientID: "rs-id", Username: "alice@example.com", Sub: "1"})
	fake.Register(tokAliceRO, wire.Introspection{Scope: "read", Exp: exp, ClientID: "rs-id", Username: "alice@example.com", Sub: "1"})
	fake.Register(tokBob, wire.Introspection{Scope: "read write", Exp: exp, ClientID: "rs-id", Username: "bob@example.com", Sub: "2"})
	fake.Register(tokClient, wire.Introspection{Scope: "read write", Exp: exp, ClientID: "cc-id"})
	fake.Register(tokDOTStyle, wire.Introspection{Scope: "read write", Exp: exp, ClientID: "rs-id", Username: "carol@example.com"})

	v, err := middleware.New(fake.URL, middleware.WithClientCredentials("rs-id", "rs-secret"))
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	NewHandler(NewSQLStore(b.Open(t)), slog.New(slog.DiscardHandler)).
		Register(r, ginauth.New(v), ginauth.RequireScopes(v, "read"), ginauth.RequireScopes(v, "write"))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &api{t: t, url: srv.URL}
}

type resp struct {
	status int
	body   string
	header http.Header
}

func (a *api) do(method, path, token, contentType, body string) resp {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, string(b), res.Header}
}

func (a *api) json(method, path, token, body string) resp {
	a.t.Helper()
	return a.do(method, path, token, "application/json", body)
}

// create makes an item as token and returns its id.
func (a *api) create(token, name string) int64 {
	a.t.Helper()
	r := a.json("POST", "/items/", token, fmt.Sprintf(`{"name":%q,"description":"d","price":"1.00"}`, name))
	if r.status != http.StatusCreated {
		a.t.Fatalf("create %q: %d %s", name, r.status, r.body)
	}
	var it struct{ ID int64 }
	if err := json.Unmarshal([]byte(r.body), &it); err != nil {
		a.t.Fatal(err)
	}
	return it.ID
}

func expect(t *testing.T, r resp, status int, body string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	if body != "" && r.body != body {
		t.Fatalf("body\n got %s\nwant %s", r.body, body)
	}
}

func TestItemsHTTP(t *testing.T) {
	t.Parallel()
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for _, c := range httpCases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, newAPI(t, b))
				})
			}
		})
	}
}

var httpCases = []struct {
	name string
	run  func(t *testing.T, a *api)
}{
	{"no token is 401 with a challenge", func(t *testing.T, a *api) {
		r := a.json("GET", "/items/", "", "")
		expect(t, r, 401, "")
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
		}
	}},
	{"unknown token is 401 invalid_token", func(t *testing.T, a *api) {
		r := a.json("GET", "/items/", "nope", "")
		expect(t, r, 401, "")
		if !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
			t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
		}
	}},
	{"create returns the item with its owner and an exact price", func(t *testing.T, a *api) {
		r := a.json("POST", "/items/", tokAlice, `{"name":" Lamp ","description":"bright","price":12.5,"user":{"id":99,"email":"x@y"},"id":7}`)
		expect(t, r, 201, `{"id":1,"name":"Lamp","description":"bright","price":"12.50","user":{"id":1,"email":"alice@example.com"}}`)
		r = a.json("POST", "/items", tokAlice, `{"name":"Big","description":"d","price":999999999999.99}`)
		expect(t, r, 201, `{"id":2,"name":"Big","description":"d","price":"999999999999.99","user":{"id":1,"email":"alice@example.com"}}`)
		expect(t, a.json("GET", "/items/2/", tokAliceRO, ""), 200, r.body)
	}},
	{"create from a form body", func(t *testing.T, a *api) {
		r := a.do("POST", "/items/", tokBob, "application/x-www-form-urlencoded", "name=Chair&description=wood&price=3.5")
		expect(t, r, 201, `{"id":1,"name":"Chair","description":"wood","price":"3.50","user":{"id":2,"email":"bob@example.com"}}`)
	}},
	{"a token without sub keys its user by username", func(t *testing.T, a *api) {
		r := a.json("POST", "/items/", tokDOTStyle, `{"name":"c","description":"d","price":"1"}`)
		expect(t, r, 201, `{"id":1,"name":"c","description":"d","price":"1.00","user":{"id":"carol@example.com","email":"carol@example.com"}}`)
	}},
	{"validation errors in DRF shape", func(t *testing.T, a *api) {
		a.create(tokAlice, "taken")
		tests := []struct {
			name, body, want string
		}{
			{"all missing", `{}`, `{"description":["This field is required."],"name":["This field is required."],"price":["This field is required."]}`},
			{"empty body", ``, `{"description":["This field is required."],"name":["This field is required."],"price":["This field is required."]}`},
			{"name too long", `{"name":"` + strings.Repeat("x", 51) + `","description":"d","price":"1"}`, `{"name":["Ensure this field has no more than 50 characters."]}`},
			{"description too long", `{"name":"n","description":"` + strings.Repeat("é", 251) + `","price":"1"}`, `{"description":["Ensure this field has no more than 250 characters."]}`},
			{"blank name", `{"name":"   ","description":"d","price":"1"}`, `{"name":["This field may not be blank."]}`},
			{"null name", `{"name":null,"description":"d","price":"1"}`, `{"name":["This field may not be null."]}`},
			{"name not a string", `{"name":{"a":1},"description":"d","price":"1"}`, `{"name":["Not a valid string."]}`},
			{"null character", `{"name":"a\u0000b","description":"d","price":"1"}`, `{"name":["Null characters are not allowed."]}`},
			{"three decimals", `{"name":"n","description":"d","price":"1.005"}`, `{"price":["Ensure that there are no more than 2 decimal places."]}`},
			{"thirteen integer digits", `{"name":"n","description":"d","price":1234567890123}`, `{"price":["Ensure that there are no more than 12 digits before the decimal point."]}`},
			{"price not a number", `{"name":"n","description":"d","price":"abc"}`, `{"price":["A valid number is required."]}`},
			{"price a bool", `{"name":"n","description":"d","price":true}`, `{"price":["A valid number is required."]}`},
			{"duplicate name", `{"name":"taken","description":"d","price":"1"}`, `{"name":["item with this name already exists."]}`},
			{"not an object", `[1,2]`, `{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				expect(t, a.json("POST", "/items/", tokAlice, tt.body), 400, tt.want)
			})
		}
	}},
	{"malformed JSON is a parse error", func(t *testing.T, a *api) {
		r := a.json("POST", "/items/", tokAlice, `{"name":`)
		expect(t, r, 400, "")
		var d struct{ Detail string }
		if err := json.Unmarshal([]byte(r.body), &d); err != nil || !strings.HasPrefix(d.Detail, "JSON parse error - ") {
			t.Fatalf("body %s", r.body)
		}
	}},
	{"unsupported media type is 415", func(t *testing.T, a *api) {
		expect(t, a.do("POST", "/items/", tokAlice, "text/plain", "name=x"), 415, `{"detail":"Unsupported media type \"text/plain\" in request."}`)
	}},
	{"body over 1 MiB is 413", func(t *testing.T, a *api) {
		big := `{"name":"n","description":"` + strings.Repeat("x", MaxBody) + `","price":"1"}`
		expect(t, a.json("POST", "/items/", tokAlice, big), 413, "")
	}},
	{"read-only token cannot write", func(t *testing.T, a *api) {
		id := a.create(tokAlice, "mine")
		r := a.json("POST", "/items/", tokAliceRO, `{"name":"n","description":"d","price":"1"}`)
		expect(t, r, 403, "")
		if !strings.Contains(r.header.Get("WWW-Authenticate"), "insufficient_scope") {
			t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
		}
		expect(t, a.json("DELETE", fmt.Sprintf("/items/%d/", id), tokAliceRO, ""), 403, "")
		expect(t, a.json("GET", fmt.Sprintf("/items/%d/", id), tokAliceRO, ""), 200, "")
	}},
	{"client_credentials token reads but cannot create or change", func(t *testing.T, a *api) {
		id := a.create(tokAlice, "mine")
		expect(t, a.json("GET", "/items/", tokClient, ""), 200, "")
		forbidden := `{"detail":"You do not have permission to perform this action."}`
		expect(t, a.json("POST", "/items/", tokClient, `{"name":"n","description":"d","price":"1"}`), 403, forbidden)
		expect(t, a.json("PATCH", fmt.Sprintf("/items/%d/", id), tokClient, `{"price":"2"}`), 403, forbidden)
		expect(t, a.json("DELETE", fmt.Sprintf("/items/%d/", id), tokClient, ""), 403, forbidden)
	}},
	{"only the owner may change or delete", func(t *testing.T, a *api) {
		id := a.create(tokAlice, "mine")
		p := fmt.Sprintf("/items/%d/", id)
		forbidden := `{"detail":"You do not have permission to perform this action."}`
		expect(t, a.json("PUT", p, tokBob, `{"name":"stolen","description":"d","price":"1"}`), 403, forbidden)
		expect(t, a.json("PATCH", p, tokBob, `{"price":"0"}`), 403, forbidden)
		expect(t, a.json("DELETE", p, tokBob, ""), 403, forbidden)
		// Bob may read it, and it is unchanged.
		expect(t, a.json("GET", p, tokBob, ""), 200, fmt.Sprintf(`{"id":%d,"name":"mine","description":"d","price":"1.00","user":{"id":1,"email":"alice@example.com"}}`, id))
	}},
	{"owner updates with PUT and PATCH", func(t *testing.T, a *api) {
		id := a.create(tokAlice, "mine")
		a.create(tokAlice, "other")
		p := fmt.Sprintf("/items/%d", id) // no trailing slash, no redirect
		expect(t, a.json("PATCH", p, tokAlice, `{"price":"7.1"}`), 200, fmt.Sprintf(`{"id":%d,"name":"mine","description":"d","price":"7.10","user":{"id":1,"email":"alice@example.com"}}`, id))
		expect(t, a.json("PUT", p, tokAlice, `{"price":"7.1"}`), 400, `{"description":["This field is required."],"name":["This field is required."]}`)
		expect(t, a.json("PATCH", p, tokAlice, `{"name":"other"}`), 400, `{"name":["item with this name already exists."]}`)
		expect(t, a.json("PUT", p+"/", tokAlice, `{"name":"new","description":"e","price":"0.5"}`), 200, fmt.Sprintf(`{"id":%d,"name":"new","description":"e","price":"0.50","user":{"id":1,"email":"alice@example.com"}}`, id))
	}},
	{"owner deletes, then it is 404", func(t *testing.T, a *api) {
		id := a.create(tokAlice, "mine")
		p := fmt.Sprintf("/items/%d/", id)
		expect(t, a.json("DELETE", p, tokAlice, ""), 204, "")
		expect(t, a.json("GET", p, tokAlice, ""), 404, `{"detail":"Not found."}`)
		expect(t, a.json("DELETE", p, tokAlice, ""), 404, `{"detail":"Not found."}`)
	}},
	{"unknown or malformed ids are 404", func(t *testing.T, a *api) {
		for _, p := range []string{"/items/999/", "/items/abc/", "/items/0/", "/items/-1/", "/items/01/", "/items/99999999999999999999/"} {
			expect(t, a.json("GET", p, tokAlice, ""), 404, `{"detail":"Not found."}`)
		}
		expect(t, a.json("PATCH", "/items/999/", tokAlice, `{"price":"1"}`), 404, `{"detail":"Not found."}`)
	}},
	{"list is a JSON array with limit and offset", func(t *testing.T, a *api) {
		expect(t, a.json("GET", "/items/", tokAlice, ""), 200, `[]`)
		for i := range 3 {
			a.create(tokAlice, fmt.Sprintf("n%d", i))
		}
		r := a.json("GET", "/items", tokBob, "")
		expect(t, r, 200, "")
		var all []Item
		if err := json.Unmarshal([]byte(r.body), &all); err != nil || len(all) != 3 {
			t.Fatalf("list %s (%v)", r.body, err)
		}
		r = a.json("GET", "/items/?limit=1&offset=1", tokBob, "")
		expect(t, r, 200, `[{"id":2,"name":"n1","description":"d","price":"1.00","user":{"id":1,"email":"alice@example.com"}}]`)
		expect(t, a.json("GET", "/items/?limit=x", tokBob, ""), 400, `{"limit":["A valid integer is required."]}`)
		expect(t, a.json("GET", "/items/?offset=-1", tokBob, ""), 400, `{"offset":["Ensure this value is greater than or equal to 0."]}`)
	}},
	{"a unique-name race is 400, never 500", func(t *testing.T, a *api) {
		const n = 8
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := range n {
			wg.Go(func() {
				req, _ := http.NewRequest("POST", a.url+"/items/", bytes.NewReader([]byte(`{"name":"race","description":"d","price":"1"}`)))
				req.Header.Set("Authorization", "Bearer "+tokAlice)
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				res.Body.Close()
				codes[i] = res.StatusCode
			})
		}
		wg.Wait()
		created := 0
		for _, c := range codes {
			switch c {
			case 201:
				created++
			case 400:
			default:
				t.Fatalf("status %d in %v", c, codes)
			}
		}
		if created != 1 {
			t.Fatalf("%d created, want 1 (%v)", created, codes)
		}
	}},
}
