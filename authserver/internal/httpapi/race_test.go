package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// raceSignups sends n signups for one email (in several letter cases) at
// once over real connections, and checks that exactly one wins and every
// loser gets DRF's unique error, never a 5xx.
func raceSignups(t *testing.T, dbURL string, n int) {
	a := newAPI(t, dbURL, nil)
	srv := httptest.NewServer(a.engine)
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).MaxConnsPerHost = 0
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = n

	emails := []string{"racer@example.com", "Racer@example.com", "RACER@EXAMPLE.COM", "racer@Example.Com"}
	type result struct {
		status int
		body   string
		err    error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			form := url.Values{"email": {emails[i%len(emails)]}, "password": {goodPW}, "password2": {goodPW}}
			req, err := http.NewRequestWithContext(testenv.Context(t), http.MethodPost, srv.URL+"/users/signup/", strings.NewReader(form.Encode()))
			if err != nil {
				results[i].err = err
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			<-start
			resp, err := client.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			results[i] = result{status: resp.StatusCode, body: string(b)}
		}()
	}
	close(start)
	wg.Wait()

	wins := 0
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("request %d: %v", i, r.err)
		case r.status == http.StatusCreated:
			wins++
		case r.status == http.StatusBadRequest && r.body == `{"email":["This field must be unique."]}`:
		default:
			t.Errorf("request %d: %d %s; want 201 or 400 unique", i, r.status, r.body)
		}
	}
	if wins != 1 {
		t.Errorf("%d signups succeeded, want exactly 1", wins)
	}
	var rows int
	if err := a.db.Get(&rows, a.db.Rebind("SELECT COUNT(*) FROM users WHERE email_key = ?"), "racer@example.com"); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Fatalf("%d user rows for the raced email, want 1", rows)
	}
}

func TestSignupRacePostgres(t *testing.T) {
	for round := 0; round < 3; round++ {
		// Each round on a fresh schema, so each race starts from no user.
		t.Run(fmt.Sprint("round", round), func(t *testing.T) { raceSignups(t, testenv.PostgresURL(t), 20) })
	}
}

// The embedded default (make run) must hold up too.
func TestSignupRaceSQLite(t *testing.T) {
	raceSignups(t, testenv.SQLiteURL(t), 20)
}
