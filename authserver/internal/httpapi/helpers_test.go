package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/httpapi"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

const goodPW = "correct-Horse-battery-9"

// logBuf is a concurrency-safe log sink, so tests can check what was logged.
type logBuf = servicetest.Buffer

type api struct {
	engine *httpapi.Engine
	db     *database.DB
	store  *accounts.Store
	logs   *logBuf
}

// pinger is a fake readiness check.
type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

func newAPI(t testing.TB, dbURL string, ready map[string]httpapi.Pinger) *api {
	t.Helper()
	h, err := passwords.NewHasher(testenv.CheapArgon)
	if err != nil {
		t.Fatal(err)
	}
	return newAPIWithHasher(t, dbURL, ready, h)
}

// newAPIWithHasher is newAPI with the given password hasher.
func newAPIWithHasher(t testing.TB, dbURL string, ready map[string]httpapi.Pinger, h accounts.Hasher) *api {
	t.Helper()
	db, err := database.Open(testenv.Context(t), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(testenv.Context(t)); err != nil {
		t.Fatal(err)
	}
	st := accounts.NewStore(db)
	logs := &logBuf{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if ready == nil {
		ready = map[string]httpapi.Pinger{"database": pinger{}, "redis": pinger{}}
	}
	e := httpapi.New(httpapi.Deps{Accounts: accounts.NewService(st, h, passwords.Validate, log), Ready: ready, Log: log})
	return &api{engine: e, db: db, store: st, logs: logs}
}

func sqliteAPI(t testing.TB) *api { return newAPI(t, testenv.SQLiteURL(t), nil) }

// do serves one request in process.
func (a *api) do(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	a.engine.ServeHTTP(w, req)
	return w
}

func (a *api) users(t testing.TB) int {
	t.Helper()
	var n int
	if err := a.db.Get(&n, "SELECT COUNT(*) FROM users"); err != nil {
		t.Fatal(err)
	}
	return n
}

func jsonReq(method, path, body string) *http.Request {
	r := httptest.NewRequest(method, path, bytes.NewBufferString(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func formReq(path string, v url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewBufferString(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func multipartReq(t testing.TB, path string, fields [][2]string) *http.Request {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, path, &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}

// chunked hides a body's length, so the server sees Transfer-Encoding:
// chunked semantics (ContentLength -1).
func chunked(r *http.Request) *http.Request {
	r.ContentLength = -1
	r.Body = io.NopCloser(struct{ io.Reader }{r.Body})
	return r
}

var errFail = errors.New("connection refused")
