package lifecycle

import (
	"context"
	"slices"
	"testing"
)

func TestPagesRevokeWithTheirReasons(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		do   func(*Service) error
		want []string
	}{
		{"admin revokes a user's tokens", func(s *Service) error { return s.UserRevoked(ctx, 7) }, []string{"user revoke keep="}},
		{"admin revokes a client's tokens", func(s *Service) error { return s.ClientRevoked(ctx, "app") }, []string{"client app revoke"}},
		{"password changed in the browser keeps nothing", func(s *Service) error { return s.PasswordChangedInBrowser(ctx, 7) }, []string{"user password_change keep="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fakeTokens{}
			if err := tc.do(New(ft, &fakeCache{})); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ft.calls, tc.want) {
				t.Fatalf("calls %q, want %q", ft.calls, tc.want)
			}
		})
	}
}
