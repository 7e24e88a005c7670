package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/httpapi"
)

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "wire", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkJSON(t *testing.T, w *httptest.ResponseRecorder, status int) map[string]any {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, w.Body)
	}
	return m
}

func TestSignupAcceptsJSONFormAndMultipart(t *testing.T) {
	fields := [][2]string{{"email", ""}, {"password", goodPW}, {"password2", goodPW}}
	with := func(email string) [][2]string {
		f := append([][2]string(nil), fields...)
		f[0][1] = email
		return f
	}
	form := func(email string) url.Values {
		v := url.Values{}
		for _, f := range with(email) {
			v.Set(f[0], f[1])
		}
		return v
	}
	jsonBody := func(email string) string {
		b, _ := json.Marshal(map[string]string{"email": email, "password": goodPW, "password2": goodPW})
		return string(b)
	}
	tests := []struct {
		name  string
		email string
		req   func(path, email string) *http.Request
	}{
		{"json", "json@example.com", func(p, e string) *http.Request { return jsonReq(http.MethodPost, p, jsonBody(e)) }},
		{"json with charset", "charset@example.com", func(p, e string) *http.Request {
			r := jsonReq(http.MethodPost, p, jsonBody(e))
			r.Header.Set("Content-Type", "application/json; charset=utf-8")
			return r
		}},
		{"form", "form@example.com", func(p, e string) *http.Request { return formReq(p, form(e)) }},
		{"multipart", "multi@example.com", func(p, e string) *http.Request { return multipartReq(t, p, with(e)) }},
		{"json, domain case normalised", "Mixed.Case@EXAMPLE.org", func(p, e string) *http.Request { return jsonReq(http.MethodPost, p, jsonBody(e)) }},
	}
	a := sqliteAPI(t)
	for _, tt := range tests {
		for _, path := range []string{"/users/signup/", "/users/signup"} {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				email := strings.Replace(tt.email, "@", "+"+map[bool]string{true: "slash", false: "noslash"}[strings.HasSuffix(path, "/")]+"@", 1)
				w := a.do(tt.req(path, email))
				checkJSON(t, w, http.StatusCreated)
				at := strings.LastIndex(email, "@")
				want := email[:at] + strings.ToLower(email[at:])
				wantBody, _ := json.Marshal(map[string]string{"email": want})
				if w.Body.String() != string(wantBody) {
					t.Fatalf("body %s, want %s", w.Body, wantBody)
				}
				if loc := w.Header().Get("Location"); loc != "" {
					t.Fatalf("unexpected Location %q", loc)
				}
				u, err := a.store.ByEmail(testenv.Context(t), want)
				if err != nil || !u.IsActive || u.IsStaff {
					t.Fatalf("stored user %+v, %v", u, err)
				}
			})
		}
	}
	if !strings.Contains(a.logs.String(), `"path":"/users/signup/"`) {
		t.Error("no access log line for the signups")
	}
	if strings.Contains(a.logs.String(), goodPW) {
		t.Error("a password reached the logs")
	}
}

// TestSignupWire replays dot-1.7.md §4 and compares bodies byte for byte.
func TestSignupWire(t *testing.T) {
	a := sqliteAPI(t)
	steps := []struct {
		name, body, golden string
		status             int
	}{
		{"created", `{"email":"user2@email.com","password":"` + goodPW + `","password2":"` + goodPW + `"}`, "signup_201.json", 201},
		{"unique", `{"email":"user2@email.com","password":"` + goodPW + `","password2":"` + goodPW + `"}`, "signup_400_unique.json", 400},
		{"unique, other case", `{"email":"USER2@email.com","password":"` + goodPW + `","password2":"` + goodPW + `"}`, "signup_400_unique.json", 400},
		{"mismatch", `{"email":"user3@email.com","password":"` + goodPW + `","password2":"other-Thing-42"}`, "signup_400_mismatch.json", 400},
		{"weak", `{"email":"user3@email.com","password":"1234567","password2":"1234567"}`, "signup_400_weak.json", 400},
		{"invalid and missing", `{"email":"user3"}`, "signup_400_invalid.json", 400},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			w := a.do(jsonReq(http.MethodPost, "/users/signup/", s.body))
			checkJSON(t, w, s.status)
			if want := golden(t, s.golden); w.Body.String() != want {
				t.Fatalf("body\n%s\nwant\n%s", w.Body, want)
			}
		})
	}
	t.Run("form body gets the same errors", func(t *testing.T) {
		w := a.do(formReq("/users/signup/", url.Values{"email": {"user3"}}))
		checkJSON(t, w, 400)
		if want := golden(t, "signup_400_invalid.json"); w.Body.String() != want {
			t.Fatalf("body %s, want %s", w.Body, want)
		}
	})
	if n := a.users(t); n != 1 {
		t.Fatalf("%d users, want 1", n)
	}
}

func TestSignupMethodNotAllowed(t *testing.T) {
	a := sqliteAPI(t)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		for _, p := range []string{"/users/signup/", "/users/signup"} {
			t.Run(m+" "+p, func(t *testing.T) {
				w := a.do(httptest.NewRequest(m, p, nil))
				checkJSON(t, w, http.StatusMethodNotAllowed)
				want := `{"detail":"Method \"` + m + `\" not allowed."}`
				if m == http.MethodGet {
					want = golden(t, "signup_405_get.json")
				}
				if w.Body.String() != want {
					t.Fatalf("body %s, want %s", w.Body, want)
				}
				// RFC 9110 §15.5.6: a 405 MUST carry Allow.
				if allow := w.Header().Get("Allow"); !strings.Contains(allow, "POST") {
					t.Fatalf("Allow = %q, want it to list POST", allow)
				}
			})
		}
	}
}

func TestSignupBadInput(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com"
	tests := []struct {
		name, ct, body string
		status         int
		want           string // exact body, or "" to check only the key below
		detailPrefix   string // checked when want is ""
	}{
		{"malformed JSON", "application/json", `{"email":`, 400, "", "JSON parse error"},
		{"JSON with trailing data", "application/json", `{"email":"a@b.com"} {}`, 400, "", "JSON parse error"},
		{"JSON array", "application/json", `[1,2]`, 400, "", ""},
		{"JSON string", "application/json", `"hello"`, 400, "", ""},
		{"empty JSON body", "application/json", ``, 400, "", "JSON parse error"},
		{"JSON null body", "application/json", `null`, 400,
			`{"email":["This field is required."],"password":["This field is required."],"password2":["This field is required."]}`, ""},
		{"JSON bool field", "application/json", `{"email":"a@example.com","password":true,"password2":"x"}`, 400,
			`{"password":["Not a valid string."]}`, ""},
		{"JSON null field", "application/json", `{"email":null,"password":"` + goodPW + `","password2":"` + goodPW + `"}`, 400,
			`{"email":["This field may not be null."]}`, ""},
		{"JSON object field", "application/json", `{"email":{"$gt":""},"password":"` + goodPW + `","password2":"` + goodPW + `"}`, 400,
			`{"email":["Not a valid string."]}`, ""},
		{"JSON number email", "application/json", `{"email":12,"password":"` + goodPW + `","password2":"` + goodPW + `"}`, 400,
			`{"email":["Enter a valid email address."]}`, ""},
		{"text/plain", "text/plain", "email=a@b.com", 400, `{"detail":"Unsupported media type \"text/plain\" in request."}`, ""},
		{"application/xml", "application/xml", "<x/>", 400, "", "Unsupported media type"},
		{"malformed content type", "application/json; =", "{}", 400, "", "Unsupported media type"},
		{"multipart without boundary", "multipart/form-data", "--x\r\n", 400, "", ""},
		{"missing fields, form", "application/x-www-form-urlencoded", "", 400,
			`{"email":["This field is required."],"password":["This field is required."],"password2":["This field is required."]}`, ""},
		{"blank fields, form", "application/x-www-form-urlencoded", "email=&password=&password2=", 400,
			`{"email":["This field may not be blank."],"password":["This field may not be blank."],"password2":["This field may not be blank."]}`, ""},
		{"not an email", "application/x-www-form-urlencoded", "email=nope&password=" + goodPW + "&password2=" + goodPW, 400,
			`{"email":["Enter a valid email address."]}`, ""},
		{"email over 254", "application/x-www-form-urlencoded", "email=" + long + "&password=" + goodPW + "&password2=" + goodPW, 400,
			`{"email":["Ensure this field has no more than 254 characters."]}`, ""},
		{"no content type: nothing is parsed, as in DRF", "", "email=a@example.com&password=x&password2=x", 400,
			`{"email":["This field is required."],"password":["This field is required."],"password2":["This field is required."]}`, ""},
		{"broken form escape", "application/x-www-form-urlencoded", "email=%zz", 400, "", ""},
	}
	a := sqliteAPI(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/users/signup/", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.ct)
			w := a.do(r)
			m := checkJSON(t, w, tt.status)
			if tt.want != "" {
				if w.Body.String() != tt.want {
					t.Fatalf("body %s, want %s", w.Body, tt.want)
				}
				return
			}
			if len(m) == 0 {
				t.Fatalf("empty error body")
			}
			if tt.detailPrefix != "" {
				d, _ := m["detail"].(string)
				if !strings.HasPrefix(d, tt.detailPrefix) {
					t.Fatalf("detail %q, want prefix %q", d, tt.detailPrefix)
				}
			}
		})
	}
	if n := a.users(t); n != 0 {
		t.Fatalf("bad input created %d users", n)
	}
}

func bigJSON(n int) string {
	return `{"email":"` + strings.Repeat("a", n) + `@example.com","password":"` + goodPW + `","password2":"` + goodPW + `"}`
}

func TestSignupBodyLimit(t *testing.T) {
	over := httpapi.MaxBodyBytes + 1
	validThenPadding := `{"email":"pad@example.com","password":"` + goodPW + `","password2":"` + goodPW + `"}` + strings.Repeat(" ", over)
	formPadding := "email=padform@example.com&password=" + goodPW + "&password2=" + goodPW + "&x=" + strings.Repeat("x", over)
	tests := []struct {
		name string
		req  func() *http.Request
		want int
	}{
		{"JSON with Content-Length", func() *http.Request { return jsonReq(http.MethodPost, "/users/signup/", bigJSON(over)) }, 413},
		{"JSON chunked", func() *http.Request { return chunked(jsonReq(http.MethodPost, "/users/signup/", bigJSON(over))) }, 413},
		{"valid JSON object then padding, chunked", func() *http.Request {
			return chunked(jsonReq(http.MethodPost, "/users/signup/", validThenPadding))
		}, 413},
		{"valid JSON object then padding, with Content-Length", func() *http.Request {
			return jsonReq(http.MethodPost, "/users/signup/", validThenPadding)
		}, 413},
		{"form chunked", func() *http.Request {
			return chunked(formReq("/users/signup/", url.Values{"email": {strings.Repeat("a", over)}}))
		}, 413},
		{"form, valid fields then padding, chunked", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/users/signup/", strings.NewReader(formPadding))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return chunked(r)
		}, 413},
		{"multipart chunked", func() *http.Request {
			return chunked(multipartReq(t, "/users/signup/", [][2]string{{"email", strings.Repeat("a", over)}}))
		}, 413},
		{"multipart with Content-Length", func() *http.Request {
			return multipartReq(t, "/users/signup/", [][2]string{{"email", strings.Repeat("a", over)}})
		}, 413},
		{"just under the limit is parsed", func() *http.Request {
			return chunked(jsonReq(http.MethodPost, "/users/signup/", bigJSON(httpapi.MaxBodyBytes-200)))
		}, 400},
	}
	a := sqliteAPI(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := a.do(tt.req())
			m := checkJSON(t, w, tt.want)
			if tt.want == 413 && m["detail"] != "Request body too large." {
				t.Fatalf("413 body %s", w.Body)
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Fatal("security headers missing on the error")
			}
		})
	}
	if n := a.users(t); n != 0 {
		t.Fatalf("oversized bodies created %d users", n)
	}
}

// Over a real connection, with real chunked transfer encoding.
func TestSignupBodyLimitOverTheWire(t *testing.T) {
	a := sqliteAPI(t)
	srv := httptest.NewServer(a.engine)
	defer srv.Close()
	for _, tt := range []struct {
		name    string
		length  bool
		payload string
	}{
		{"Content-Length", true, bigJSON(2 << 20)},
		{"chunked", false, bigJSON(2 << 20)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.payload)
			if !tt.length {
				body = struct{ io.Reader }{body}
			}
			req, err := http.NewRequestWithContext(testenv.Context(t), http.MethodPost, srv.URL+"/users/signup/", body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			defer resp.Body.Close()
			if !tt.length && len(resp.Request.TransferEncoding) == 0 && resp.Request.ContentLength > 0 {
				t.Fatal("the request was not sent chunked")
			}
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d, want 413: %s", resp.StatusCode, b)
			}
		})
	}
}

func TestNoRedirects(t *testing.T) {
	a := sqliteAPI(t)
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodPost, "/users/signup", 400},
		{http.MethodPost, "/users/signup/", 400},
		{http.MethodPost, "/users//signup/", 404},
		{http.MethodPost, "/USERS/SIGNUP/", 404},
		{http.MethodGet, "/healthz/", 200},
		{http.MethodGet, "/nowhere", 404},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader("email=x"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := a.do(r)
			checkJSON(t, w, tt.want)
			if w.Header().Get("Location") != "" {
				t.Fatalf("redirect to %q", w.Header().Get("Location"))
			}
		})
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	a := sqliteAPI(t)
	reqs := map[string]func() *http.Request{
		"201": func() *http.Request {
			return formReq("/users/signup/", url.Values{"email": {"h@example.com"}, "password": {goodPW}, "password2": {goodPW}})
		},
		"400":     func() *http.Request { return formReq("/users/signup/", url.Values{}) },
		"404":     func() *http.Request { return httptest.NewRequest(http.MethodGet, "/missing", nil) },
		"405":     func() *http.Request { return httptest.NewRequest(http.MethodGet, "/users/signup/", nil) },
		"413":     func() *http.Request { return jsonReq(http.MethodPost, "/users/signup/", bigJSON(2<<20)) },
		"healthz": func() *http.Request { return httptest.NewRequest(http.MethodGet, "/healthz", nil) },
		"readyz":  func() *http.Request { return httptest.NewRequest(http.MethodGet, "/readyz", nil) },
	}
	want := map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
	for name, r := range reqs {
		t.Run(name, func(t *testing.T) {
			w := a.do(r())
			for h, v := range want {
				if got := w.Header().Get(h); got != v {
					t.Errorf("%s = %q, want %q", h, got, v)
				}
			}
			if w.Header().Get("X-Request-ID") == "" {
				t.Error("no X-Request-ID")
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	a := sqliteAPI(t)
	tests := []struct {
		name, in string
		echoed   bool
	}{
		{"sane", "abc-123_X.y", true},
		{"absent", "", false},
		{"header injection", "abc\r\nSet-Cookie: x=1", false},
		{"too long", strings.Repeat("a", 65), false},
		{"spaces", "a b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			if tt.in != "" {
				r.Header["X-Request-Id"] = []string{tt.in}
			}
			got := a.do(r).Header().Get("X-Request-ID")
			if tt.echoed != (got == tt.in) || got == "" {
				t.Fatalf("X-Request-ID %q for %q", got, tt.in)
			}
		})
	}
}

func TestSignupDatabaseDownIs503(t *testing.T) {
	a := sqliteAPI(t)
	_ = a.db.Close()
	w := a.do(formReq("/users/signup/", url.Values{"email": {"down@example.com"}, "password": {goodPW}, "password2": {goodPW}}))
	checkJSON(t, w, http.StatusServiceUnavailable)
	if w.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if strings.Contains(w.Body.String(), "sql") || strings.Contains(w.Body.String(), "closed") {
		t.Errorf("503 body leaks the cause: %s", w.Body)
	}
	if strings.Contains(a.logs.String(), goodPW) {
		t.Error("a password reached the logs")
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Run("healthz", func(t *testing.T) {
		w := sqliteAPI(t).do(httptest.NewRequest(http.MethodGet, "/healthz", nil))
		checkJSON(t, w, 200)
		if w.Body.String() != `{"status":"ok"}` {
			t.Fatalf("body %s", w.Body)
		}
	})
	tests := []struct {
		name   string
		ready  map[string]httpapi.Pinger
		status int
		body   string
	}{
		{"all up", map[string]httpapi.Pinger{"database": pinger{}, "redis": pinger{}}, 200,
			`{"status":"ok","checks":{"database":"ok","redis":"ok"},"warnings":[]}`},
		{"database down", map[string]httpapi.Pinger{"database": pinger{errFail}, "redis": pinger{}}, 503,
			`{"status":"unavailable","checks":{"database":"unavailable","redis":"ok"},"warnings":[]}`},
		{"redis down", map[string]httpapi.Pinger{"database": pinger{}, "redis": pinger{errFail}}, 503,
			`{"status":"unavailable","checks":{"database":"ok","redis":"unavailable"},"warnings":[]}`},
		{"nothing to check", map[string]httpapi.Pinger{}, 200, `{"status":"ok","checks":{},"warnings":[]}`},
		{"redis with a warning", map[string]httpapi.Pinger{"database": pinger{}, "redis": warnPinger{warnings: []string{"redis: no persistence"}}}, 200,
			`{"status":"ok","checks":{"database":"ok","redis":"ok"},"warnings":["redis: no persistence"]}`},
		{"redis refusing with a warning", map[string]httpapi.Pinger{"database": pinger{}, "redis": warnPinger{pinger{errFail}, []string{"redis: evicts"}}}, 503,
			`{"status":"unavailable","checks":{"database":"ok","redis":"unavailable"},"warnings":["redis: evicts"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newAPI(t, "sqlite:"+filepath.Join(t.TempDir(), "r.db"), tt.ready).do(httptest.NewRequest(http.MethodGet, "/readyz", nil))
			checkJSON(t, w, tt.status)
			if w.Body.String() != tt.body {
				t.Fatalf("body %s, want %s", w.Body, tt.body)
			}
		})
	}
	t.Run("real database closed", func(t *testing.T) {
		var a *api
		ready := map[string]httpapi.Pinger{}
		a = newAPI(t, "sqlite:"+filepath.Join(t.TempDir(), "r.db"), ready)
		ready["database"] = pingFunc(a.db.PingContext)
		if w := a.do(httptest.NewRequest(http.MethodGet, "/readyz", nil)); w.Code != 200 {
			t.Fatalf("open database: %d %s", w.Code, w.Body)
		}
		_ = a.db.Close()
		w := a.do(httptest.NewRequest(http.MethodGet, "/readyz", nil))
		checkJSON(t, w, 503)
		if strings.Contains(w.Body.String(), "closed") {
			t.Fatalf("readyz leaks the error: %s", w.Body)
		}
	})
}

type pingFunc func(ctx context.Context) error

type warnPinger struct {
	pinger
	warnings []string
}

func (w warnPinger) Warnings() []string { return w.warnings }

var _ httpapi.Warner = warnPinger{}

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }

func TestSignupResponseIsCompactJSON(t *testing.T) {
	a := sqliteAPI(t)
	w := a.do(jsonReq(http.MethodPost, "/users/signup/", `{"email":"c@example.com","password":"`+goodPW+`","password2":"`+goodPW+`"}`))
	if !bytes.Equal(w.Body.Bytes(), []byte(`{"email":"c@example.com"}`)) {
		t.Fatalf("body %q", w.Body)
	}
}
