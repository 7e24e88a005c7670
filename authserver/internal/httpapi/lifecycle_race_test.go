package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/httpapi"
	"github.com/portcullis-oauth/portcullis/authserver/internal/lifecycle"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/scope"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
	"github.com/redis/go-redis/v9"
)

// stack is the whole auth server in process, on real PostgreSQL and
// Redis, behind a real HTTP listener.
type stack struct {
	srv    *httptest.Server
	http   *http.Client
	db     *database.DB
	svc    *accounts.Service
	tokens *tokens.Store
	life   *lifecycle.Service
	rdb    *redis.Client
}

const (
	raceClient = "race-id"
	raceSecret = "race-secret"
)

func newStack(t testing.TB) *stack { return newStackGrace(t, 2*time.Second) }

// newStackGrace is newStack with REFRESH_REUSE_GRACE set to grace.
func newStackGrace(t testing.TB, grace time.Duration) *stack {
	t.Helper()
	ctx := testenv.Context(t)
	db, err := database.Open(ctx, testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rdb, prefix := testenv.Redis(t)
	t.Cleanup(func() { testenv.DeletePrefix(rdb, prefix) })
	h, err := passwords.NewHasher(testenv.CheapArgon)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	svc := accounts.NewService(accounts.NewStore(db), h, passwords.Validate, log)
	reg := clients.NewRegistry(clients.NewStore(db), h, time.Minute)
	store := tokens.New(testenv.TokenClient(t, rdb, tokens.Dial), prefix, tokens.Lifetimes{Access: time.Hour, Refresh: 24 * time.Hour})
	store.SetReuseGrace(grace)
	reg.CheckGenerations(store)
	if err := reg.Store().Create(ctx, &clients.Client{ClientID: raceClient, Name: "race", SecretHash: clients.HashGeneratedSecret(raceSecret),
		Type: clients.Confidential, GrantTypesRaw: "password refresh_token"}); err != nil {
		t.Fatal(err)
	}
	// Failed logins after a deactivation must not throttle the next round.
	lim := throttle.New(testenv.Compat(t, rdb), prefix, 1_000_000, time.Minute)
	all := scope.Set{"read", "write"}
	srv := oauth.NewServer(oauth.Config{Scopes: all, DefaultScopes: all}, oauth.Deps{
		Clients: reg, Users: svc, Finder: svc.Store(), Tokens: store, Throttle: lim, Log: log, Codes: store, Lookup: reg})
	life := lifecycle.New(store, reg)
	s := &stack{db: db, svc: svc, tokens: store, life: life, rdb: rdb}
	s.srv = httptest.NewServer(httpapi.New(httpapi.Deps{Accounts: svc, OAuth: srv, Lifecycle: life, Throttle: lim, Issuer: "http://x", Log: log}))
	t.Cleanup(s.srv.Close)
	s.http = s.srv.Client()
	s.http.Transport.(*http.Transport).MaxIdleConnsPerHost = 16
	return s
}

// tokenPair is a token response that came back 200.
type tokenPair struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
}

// post sends a form and decodes a 200; ok is false for any other status,
// and a 5xx is an error.
func (s *stack) post(ctx context.Context, path string, form url.Values, hdr ...string) (g tokenPair, ok bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return g, false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return g, false, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		return g, false, fmt.Errorf("%s: %d %s", path, resp.StatusCode, b)
	}
	if resp.StatusCode != http.StatusOK {
		return g, false, nil
	}
	return g, true, json.Unmarshal(b, &g)
}

func (s *stack) passwordGrant(ctx context.Context, email, password string) (tokenPair, bool, error) {
	req := url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}, "client_id": {raceClient}, "client_secret": {raceSecret}}
	return s.post(ctx, "/o/token/", req)
}

// raceGrants sends password grants for email from one tight loop and 8
// parallel loops while revoke runs (servicetest.Race). It returns every
// token issued, and how many grants that started after revoke returned
// got a token.
func (s *stack) raceGrants(t *testing.T, email, password string, revoke func() error) (issued []tokenPair, late int) {
	t.Helper()
	ctx := testenv.Context(t)
	return servicetest.Race(t, 9, 1, func(int) (tokenPair, bool, error) {
		return s.passwordGrant(ctx, email, password)
	}, func() {
		if err := revoke(); err != nil {
			t.Fatal(err)
		}
	})
}

// accepted counts the tokens of issued that still work: an access token
// that looks up (as introspection and the Bearer endpoints do), or a
// refresh token that rotates.
func (s *stack) accepted(t *testing.T, issued []tokenPair) int {
	t.Helper()
	ctx := testenv.Context(t)
	n := 0
	for _, g := range issued {
		_, err := s.tokens.LookupAccess(ctx, g.Access)
		switch {
		case err == nil:
			n++
		case !errors.Is(err, grant.ErrNotFound):
			t.Fatal(err)
		}
		if g.Refresh == "" {
			continue
		}
		_, err = s.tokens.Rotate(ctx, g.Refresh, raceClient, "")
		switch {
		case err == nil:
			n++
		case !errors.Is(err, grant.ErrNotFound) && !errors.Is(err, grant.ErrReplayed):
			t.Fatal(err)
		}
	}
	return n
}

// raceRounds runs rounds rounds of raceGrants against a fresh user, with
// revoke(user, password) as the revocation, and checks that no token is
// accepted afterwards and no grant started after it got a token.
func raceRounds(t *testing.T, rounds int, revoke func(s *stack, u accounts.User, password string) error) {
	t.Parallel() // each on its own schema and Redis prefix; they wait on I/O more than on the CPU
	s := newStack(t)
	ctx := testenv.Context(t)
	total := 0
	for round := range rounds {
		email := fmt.Sprintf("racer%d@example.com", round)
		u, err := s.svc.Signup(ctx, accounts.SignupInput{Email: accounts.Field{Value: email, Set: true},
			Password: accounts.Field{Value: goodPW, Set: true}, Password2: accounts.Field{Value: goodPW, Set: true}})
		if err != nil {
			t.Fatal(err)
		}
		issued, late := s.raceGrants(t, email, goodPW, func() error { return revoke(s, u, goodPW) })
		total += len(issued)
		if late > 0 {
			t.Errorf("round %d: %d grants started after the revocation returned got tokens", round, late)
		}
		if n := s.accepted(t, issued); n > 0 {
			t.Errorf("round %d: %d of %d tokens still accepted after the revocation", round, n, len(issued))
		}
	}
	t.Logf("%d rounds, %d tokens issued in the races, none accepted afterwards", rounds, total)
}

// TestRaceDeactivation: password grants race an admin's deactivation (the
// admin page's two steps: the row, then the lifecycle).
func TestRaceDeactivation(t *testing.T) {
	raceRounds(t, 100, func(s *stack, u accounts.User, _ string) error {
		ctx := context.Background()
		if err := s.svc.Store().UpdateUser(ctx, u.ID, u.Email, false, false); err != nil {
			return err
		}
		return s.life.UserDeactivated(ctx, u.ID)
	})
}

// TestRacePasswordReset: password grants with the old password race an
// admin's password reset; the user stays active.
func TestRacePasswordReset(t *testing.T) {
	raceRounds(t, 100, func(s *stack, u accounts.User, _ string) error {
		ctx := context.Background()
		if err := s.svc.AdminSetPassword(ctx, u, goodPW+"-reset", goodPW+"-reset"); err != nil {
			return err
		}
		return s.life.PasswordReset(ctx, u.ID)
	})
}

// TestRacePasswordChange: password grants with the old password race the
// user's own PUT /users/password/ over HTTP: every other token ends, the
// caller's stays.
func TestRacePasswordChange(t *testing.T) {
	var callers []tokenPair
	raceRounds(t, 100, func(s *stack, u accounts.User, password string) error {
		ctx := context.Background()
		caller, ok, err := s.passwordGrant(ctx, u.Email, password)
		if err != nil || !ok {
			return fmt.Errorf("the caller's token: ok=%v err=%v", ok, err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.srv.URL+"/users/password/",
			strings.NewReader(url.Values{"old_password": {password}, "password": {password + "-new"}, "password2": {password + "-new"}}.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+caller.Access)
		resp, err := s.http.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("PUT /users/password/: %d %s", resp.StatusCode, b)
		}
		if _, err := s.tokens.LookupAccess(ctx, caller.Access); err != nil {
			return fmt.Errorf("the caller's own token did not survive its password change: %w", err)
		}
		callers = append(callers, caller)
		return nil
	})
	if len(callers) != 100 {
		t.Fatalf("%d password changes", len(callers))
	}
}

func (s *stack) refresh(ctx context.Context, rt string) (tokenPair, bool, error) {
	return s.post(ctx, "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {raceClient}, "client_secret": {raceSecret}})
}

// TestRefreshRace: 500 rounds of 16 concurrent refreshes of one token over
// HTTP: exactly one wins each round, the others get 400 (never a 5xx),
// and the family lives on through the winner.
func TestRefreshRace(t *testing.T) {
	s := newStack(t)
	ctx := testenv.Context(t)
	if _, err := s.svc.Signup(ctx, accounts.SignupInput{Email: accounts.Field{Value: "refresher@example.com", Set: true},
		Password: accounts.Field{Value: goodPW, Set: true}, Password2: accounts.Field{Value: goodPW, Set: true}}); err != nil {
		t.Fatal(err)
	}
	g, ok, err := s.passwordGrant(ctx, "refresher@example.com", goodPW)
	if err != nil || !ok {
		t.Fatalf("password grant: ok=%v err=%v", ok, err)
	}
	const rounds, n = 500, 16
	rt := g.Refresh
	for round := range rounds {
		var wg sync.WaitGroup
		results := make([]tokenPair, n)
		wins := make([]bool, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				results[i], wins[i], errs[i] = s.refresh(ctx, rt)
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d: %v", round, errs[i])
			}
			if wins[i] {
				won++
				rt = results[i].Refresh
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d winners, want exactly 1", round, won)
		}
	}
	if _, err := s.tokens.LookupRefresh(ctx, rt); err != nil {
		t.Fatalf("the family did not survive its races: %v", err)
	}
}

// TestRefreshReplayAfterGrace: with REFRESH_REUSE_GRACE at 50ms, a
// rotated-away refresh token presented within the grace changes nothing;
// presented after it, it revokes the whole family.
func TestRefreshReplayAfterGrace(t *testing.T) {
	const grace = 50 * time.Millisecond
	s := newStackGrace(t, grace)
	ctx := testenv.Context(t)
	if _, err := s.svc.Signup(ctx, accounts.SignupInput{Email: accounts.Field{Value: "replayer@example.com", Set: true},
		Password: accounts.Field{Value: goodPW, Set: true}, Password2: accounts.Field{Value: goodPW, Set: true}}); err != nil {
		t.Fatal(err)
	}
	g, ok, err := s.passwordGrant(ctx, "replayer@example.com", goodPW)
	if err != nil || !ok {
		t.Fatalf("password grant: ok=%v err=%v", ok, err)
	}
	rotated := time.Now()
	next, ok, err := s.refresh(ctx, g.Refresh)
	if err != nil || !ok {
		t.Fatalf("refresh: ok=%v err=%v", ok, err)
	}
	if _, ok, err := s.refresh(ctx, g.Refresh); err != nil || ok {
		t.Fatalf("second use: ok=%v err=%v, want a 400", ok, err)
	}
	if time.Since(rotated) < grace {
		if _, err := s.tokens.LookupAccess(ctx, next.Access); err != nil {
			t.Fatalf("a second use within the grace revoked the family: %v", err)
		}
	}
	time.Sleep(time.Until(rotated.Add(grace + 10*time.Millisecond))) // let the grace run out: a time window, not a synchronisation
	if _, ok, err := s.refresh(ctx, g.Refresh); err != nil || ok {
		t.Fatalf("replay: ok=%v err=%v, want a 400", ok, err)
	}
	if _, err := s.tokens.LookupAccess(ctx, next.Access); !errors.Is(err, grant.ErrNotFound) {
		t.Fatalf("the family's access token after the replay: %v, want not found", err)
	}
	if _, ok, err := s.refresh(ctx, next.Refresh); err != nil || ok {
		t.Fatalf("the family's refresh token after the replay: ok=%v err=%v, want a 400", ok, err)
	}
}

// TestLoginRightAfterARevocation: a user whose tokens were just revoked
// (an admin's password reset) logs in with the new password at once,
// though the client record this replica cached predates the revocation:
// the grant checks the user again under a fresh generation.
func TestLoginRightAfterARevocation(t *testing.T) {
	s := newStack(t)
	ctx := testenv.Context(t)
	u, err := s.svc.Signup(ctx, accounts.SignupInput{Email: accounts.Field{Value: "again@example.com", Set: true},
		Password: accounts.Field{Value: goodPW, Set: true}, Password2: accounts.Field{Value: goodPW, Set: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.passwordGrant(ctx, u.Email, goodPW); err != nil || !ok { // caches the client
		t.Fatalf("first login: ok=%v err=%v", ok, err)
	}
	if err := s.svc.AdminSetPassword(ctx, u, goodPW+"-new", goodPW+"-new"); err != nil {
		t.Fatal(err)
	}
	if err := s.life.PasswordReset(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	g, ok, err := s.passwordGrant(ctx, u.Email, goodPW+"-new")
	if err != nil || !ok {
		t.Fatalf("login with the new password right after the reset: ok=%v err=%v", ok, err)
	}
	if _, err := s.tokens.LookupAccess(ctx, g.Access); err != nil {
		t.Fatalf("the new token: %v", err)
	}
}
