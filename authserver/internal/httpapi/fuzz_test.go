package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// FuzzSignupBody throws arbitrary bodies and content types at the signup
// endpoint, on PostgreSQL when TEST_DATABASE_URL is set: the answer is
// never a 5xx, and always a JSON object.
func FuzzSignupBody(f *testing.F) {
	seeds := []struct {
		ct   string
		body string
	}{
		{"application/json", `{"email":"f@example.com","password":"correct-Horse-battery-9","password2":"correct-Horse-battery-9"}`},
		{"application/json", `{"email":`},
		{"application/json", `{"email":null,"password":[],"password2":{}}`},
		{"application/json", `{"email":1e999,"password":-0,"password2":"\u0000"}`},
		{"application/json", "\xff\xfe{}"},
		{"application/json; charset=latin1", `{"email":"a@b.co"}`},
		{"application/x-www-form-urlencoded", "email=a%40b.co&password=x&password2=x"},
		{"application/x-www-form-urlencoded", "email=%zz;&&=="},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@b.co\r\n--X--\r\n"},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"email\"; filename=\"a\"\r\n\r\nzz\r\n--X--\r\n"},
		{"multipart/form-data", "--\r\n"},
		{"text/plain", "hello"},
		{"", ""},
		{";;;", "{}"},
		{"application/json; =", "{}"},
	}
	for _, s := range seeds {
		f.Add(s.ct, []byte(s.body))
	}
	// PostgreSQL when TEST_DATABASE_URL is set: it refuses text SQLite takes.
	// SQLite when TEST_DATABASE_URL is unset (a fuzz target has no
	// subtests to report the PostgreSQL run as skipped).
	dbURL := testenv.SQLiteURL(f)
	if os.Getenv("TEST_DATABASE_URL") != "" {
		dbURL = testenv.PostgresURL(f)
	}
	a := newAPI(f, dbURL, nil)
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		for _, path := range []string{"/users/signup/", "/users/signup"} {
			r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			r.Header["Content-Type"] = []string{ct}
			w := httptest.NewRecorder()
			a.engine.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("%s with Content-Type %q: %d %s", path, ct, w.Code, w.Body)
			}
			var m map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
				t.Fatalf("%s: body is not a JSON object: %q", path, w.Body)
			}
		}
	})
}
