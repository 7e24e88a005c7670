package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// busyHasher refuses every password check, as a Hasher whose queue is full
// does.
type busyHasher struct{}

func (busyHasher) Hash(context.Context, string) (string, error) { return "", passwords.ErrBusy }
func (busyHasher) Verify(context.Context, string, string) (bool, bool, error) {
	return false, false, passwords.ErrBusy
}
func (busyHasher) VerifyDummy(context.Context, string) error { return passwords.ErrBusy }

// TestSignupWhenHashingIsBusy: a signup the hasher's full queue refuses is
// a 503 with Retry-After in the REST endpoints' shape, and creates nobody.
func TestSignupWhenHashingIsBusy(t *testing.T) {
	a := newAPIWithHasher(t, testenv.SQLiteURL(t), nil, busyHasher{})
	w := a.do(jsonReq(http.MethodPost, "/users/signup/", `{"email":"new@example.com","password":"`+goodPW+`","password2":"`+goodPW+`"}`))
	m := checkJSON(t, w, http.StatusServiceUnavailable)
	if w.Header().Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	if _, ok := m["detail"].(string); !ok || len(m) != 1 {
		t.Fatalf("body %s, want {\"detail\": \"…\"}", w.Body)
	}
	if n := a.users(t); n != 0 {
		t.Fatalf("%d users after a refused signup", n)
	}
}
