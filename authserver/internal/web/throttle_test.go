package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
)

// spelling returns the i-th letter-case variant of email (local part and
// domain both), all of which name one account.
func spelling(email string, i int) string {
	b := []byte(email)
	for j := range b {
		if i>>(j%8)&1 == 1 && b[j] >= 'a' && b[j] <= 'z' {
			b[j] -= 'a' - 'A'
		}
	}
	return string(b)
}

// passwordClient registers a confidential client for the password grant.
func (s *site) passwordClient(t testing.TB) {
	t.Helper()
	cl := clients.Client{ClientID: "pw-id", Name: "pw", Type: clients.Confidential, GrantTypesRaw: "password",
		SecretHash: clients.HashGeneratedSecret("pw-secret"), UserID: sql.NullInt64{Int64: s.staff.ID, Valid: true}}
	if err := s.reg.Store().Create(context.Background(), &cl); err != nil {
		t.Fatal(err)
	}
}

// tokenGuess is one password grant from address ip: its status.
func (s *site) tokenGuess(t *testing.T, ip, username, password string) int {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}}
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/o/token/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", ip)
	req.SetBasicAuth("pw-id", "pw-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestThrottleCountsTheLookupIdentity is issue 12's defect 1: six addresses
// sending ten guesses each, every one under another spelling of the email,
// get at most the limit of guesses evaluated, on the token endpoint and on
// the login page alike, and the owner's account counter is the one used up.
func TestThrottleCountsTheLookupIdentity(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		s.passwordClient(t)
		owners := map[string]string{"token": s.user.Email, "login": s.staff.Email}
		guessers := map[string]func(ip string, n int) (evaluated, throttled bool){
			"token": func(ip string, n int) (bool, bool) {
				st := s.tokenGuess(t, ip, spelling(owners["token"], n), fmt.Sprintf("wrong-%d", n))
				return st == http.StatusBadRequest, st == http.StatusTooManyRequests
			},
			"login": func(ip string, n int) (bool, bool) {
				b := s.browser(t)
				b.xff = ip
				p := b.loginWith(spelling(owners["login"], n), fmt.Sprintf("wrong-%d", n))
				return p.status == http.StatusOK, p.status == http.StatusTooManyRequests
			},
		}
		for i, name := range []string{"token", "login"} {
			guess := guessers[name]
			evaluated := 0
			for ipn := range 6 {
				ip := fmt.Sprintf("198.51.%d.%d", 100+i, ipn+1)
				for g := range 10 {
					ev, thr := guess(ip, ipn*10+g)
					if !ev && !thr {
						t.Fatalf("%s: guess %d from %s was neither evaluated nor throttled", name, g, ip)
					}
					if ev {
						evaluated++
					}
				}
			}
			if evaluated > throttleLimit {
				t.Fatalf("%s: %d guesses evaluated against a limit of %d", name, evaluated, throttleLimit)
			}
			// The account's own counter is used up: the owner's right
			// password from a fresh address, in the stored spelling,
			// is refused too (no device cookie yet).
			if st := s.tokenGuess(t, fmt.Sprintf("203.0.113.%d", i+1), owners[name], pw); st != http.StatusTooManyRequests {
				t.Fatalf("%s: the owner's counter did not move: %d", name, st)
			}
		}
	})
}
