package tokens

import (
	"context"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// Benchmarks run against real Redis only (TEST_REDIS_URL).

func benchStore(b *testing.B) *Store {
	b.Helper()
	rdb, prefix := testenv.Redis(b)
	b.Cleanup(func() { testenv.DeletePrefix(rdb, prefix) })
	return New(tokenClient(b, rdb), prefix, testLife)
}

func BenchmarkIssue(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Issue(ctx, userGrant(1), true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssueClientCredentials is the client_credentials issue: an
// access token alone, no user.
func BenchmarkIssueClientCredentials(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	g := grant.Grant{ClientID: "JmQzLrW8sT2uV4xY6zA1bC", Scope: "read write"}
	for b.Loop() {
		if _, err := s.Issue(ctx, g, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssueClientCredentialsParallel is that issue from 16 callers
// at once, as under HTTP load: the figure is bound by CPU (of this process
// and of Redis), not by the round trip.
func BenchmarkIssueClientCredentialsParallel(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	g := grant.Grant{ClientID: "JmQzLrW8sT2uV4xY6zA1bC", Scope: "read write"}
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Issue(ctx, g, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkLookupAccess(b *testing.B) { benchLookup(b, benchStore(b)) }

// BenchmarkLookupAccessCached is a lookup answered by the access-token
// cache (as serve runs it: subscribed to the revocation channel).
func BenchmarkLookupAccessCached(b *testing.B) {
	s := benchStore(b)
	watch(b, s)
	benchLookup(b, s)
}

func benchLookup(b *testing.B, s *Store) {
	ctx := context.Background()
	iss, err := s.Issue(ctx, userGrant(1), false)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.LookupAccess(ctx, iss.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookupAccessParallel(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	iss, err := s.Issue(ctx, userGrant(1), false)
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.LookupAccess(ctx, iss.AccessToken); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRotate(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	iss, err := s.Issue(ctx, userGrant(1), true)
	if err != nil {
		b.Fatal(err)
	}
	rt := iss.RefreshToken
	for b.Loop() {
		out, err := s.Rotate(ctx, rt, "rs-id", "")
		if err != nil {
			b.Fatal(err)
		}
		rt = out.RefreshToken
	}
}
