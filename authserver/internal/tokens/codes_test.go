package tokens

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

func testCode() grant.Code {
	return grant.Code{ClientID: "web-id", UserID: 7, Username: "user1@email.com", Scope: "read",
		RedirectURI: "https://app.example/cb", Challenge: strings.Repeat("a", 43), ChallengeMethod: "S256"}
}

func TestCodeSingleUseAndReplayRevokes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		next := e.subscribe(t)
		code, err := e.s.IssueCode(ctx, testCode())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(code, codePrefix) {
			t.Fatalf("code %q lacks its prefix", code)
		}
		for _, k := range e.keys(t) {
			if strings.Contains(k, code[len(codePrefix)+famLen:]) {
				t.Fatalf("key %q holds the code's secret", k)
			}
		}
		got, err := e.s.ConsumeCode(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		want := testCode()
		if got.ClientID != want.ClientID || got.RedirectURI != want.RedirectURI || got.Challenge != want.Challenge || got.UserID != 7 {
			t.Fatalf("ConsumeCode = %+v", got)
		}
		iss, err := e.s.IssueForCode(ctx, code, grant.Grant{ClientID: got.ClientID, UserID: got.UserID, Username: got.Username, Scope: got.Scope})
		if err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, iss.AccessToken, true)
		if _, err := e.s.ConsumeCode(ctx, code); !errors.Is(err, grant.ErrCodeReplayed) {
			t.Fatalf("second ConsumeCode = %v, want grant.ErrCodeReplayed", err)
		}
		wantLive(t, e, iss.AccessToken, false)
		wantRefreshLive(t, e, iss.RefreshToken, false)
		ev := next()
		if ev.Kind != revocation.KindTokens {
			t.Fatalf("event kind %q", ev.Kind)
		}
		sameHashes(t, ev.TokenHashes, iss.AccessToken, iss.RefreshToken)
		// A third presentation is still refused.
		if _, err := e.s.ConsumeCode(ctx, code); !errors.Is(err, grant.ErrCodeReplayed) {
			t.Fatalf("third ConsumeCode = %v", err)
		}
	})
}

func TestCodeReplayBeforeIssueStillRevokes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		code, _ := e.s.IssueCode(ctx, testCode())
		if _, err := e.s.ConsumeCode(ctx, code); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.ConsumeCode(ctx, code); !errors.Is(err, grant.ErrCodeReplayed) {
			t.Fatal(err)
		}
		iss, err := e.s.IssueForCode(ctx, code, userGrant(7))
		if !errors.Is(err, grant.ErrCodeReplayed) {
			t.Fatalf("IssueForCode after replay = %v", err)
		}
		_ = iss
		for _, k := range e.keys(t) {
			if strings.Contains(k, "a{") || strings.Contains(k, "r{") {
				t.Fatalf("token key %q survived a replay", k)
			}
		}
	})
}

func TestCodeExpiresAndMalformed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		code, _ := e.s.IssueCode(ctx, testCode())
		e.advance(CodeLifetime + time.Second)
		if _, err := e.s.ConsumeCode(ctx, code); !errors.Is(err, grant.ErrNotFound) {
			t.Fatalf("expired code: %v", err)
		}
		for _, bad := range []string{"", "pcac_", code[:len(code)-1], "pcat_" + code[5:], code[:len(code)-1] + "!"} {
			if _, err := e.s.ConsumeCode(ctx, bad); !errors.Is(err, grant.ErrNotFound) {
				t.Fatalf("ConsumeCode(%q) = %v", bad, err)
			}
		}
	})
}

func TestCodeConcurrentConsumeOneWinner(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		code, _ := e.s.IssueCode(ctx, testCode())
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.s.ConsumeCode(ctx, code); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d winners, want 1", wins)
		}
	})
}

func TestRevokeUserClient(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := mustIssue(t, e, grant.Grant{ClientID: "a", UserID: 9, Username: "u", Scope: "read"}, true)
		a2 := mustIssue(t, e, grant.Grant{ClientID: "a", UserID: 9, Username: "u", Scope: "read"}, false)
		b := mustIssue(t, e, grant.Grant{ClientID: "b", UserID: 9, Username: "u", Scope: "read"}, true)
		other := mustIssue(t, e, grant.Grant{ClientID: "a", UserID: 10, Username: "v", Scope: "read"}, true)
		next := e.subscribe(t)
		if err := e.s.RevokeUserClient(ctx, 9, "a", "user revoked"); err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, a.AccessToken, false)
		wantRefreshLive(t, e, a.RefreshToken, false)
		wantLive(t, e, a2.AccessToken, false)
		wantLive(t, e, b.AccessToken, true)
		wantLive(t, e, other.AccessToken, true)
		if got := next(); got.Kind != revocation.KindSubject || got.Subject != "9" {
			t.Fatalf("first event %+v, want the user's", got)
		}
		sameHashes(t, next().TokenHashes, a.AccessToken, a.RefreshToken, a2.AccessToken)
	})
}
