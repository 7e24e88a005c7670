package lifecycle

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// fakeTokens records what the Service asks of the token store.
type fakeTokens struct{ calls []string }

func (f *fakeTokens) LookupAccess(context.Context, string) (tokens.Access, error) {
	return tokens.Access{Grant: tokens.Grant{UserID: 7, ClientID: "c"}}, nil
}
func (f *fakeTokens) RevokeUser(_ context.Context, uid int64, keep string, r revocation.Reason) error {
	f.calls = append(f.calls, "user "+string(r)+" keep="+keep)
	return nil
}
func (f *fakeTokens) RevokeClient(_ context.Context, id string, r revocation.Reason) error {
	f.calls = append(f.calls, "client "+id+" "+string(r))
	return nil
}
func (f *fakeTokens) ClientUpdated(_ context.Context, id string) error {
	f.calls = append(f.calls, "client "+id+" updated")
	return nil
}
func (f *fakeTokens) RevokeUserClient(_ context.Context, uid int64, id string, r revocation.Reason) error {
	f.calls = append(f.calls, "user client "+id+" "+string(r))
	return nil
}

type fakeCache struct{ forgot []string }

func (f *fakeCache) Forget(id string) { f.forgot = append(f.forgot, id) }

func TestEachChangeRevokesWithItsReason(t *testing.T) {
	ctx := context.Background()
	base := clients.Client{ClientID: "app", Type: clients.Confidential, SecretHash: "h1", GrantTypesRaw: "password refresh_token",
		RedirectURIsRaw: "https://a/cb", ScopesRaw: "read", Name: "App"}
	changed := func(f func(*clients.Client)) clients.Client { c := base; f(&c); return c }
	for _, tc := range []struct {
		name string
		do   func(*Service) error
		want []string
	}{
		{"deactivate", func(s *Service) error { return s.UserDeactivated(ctx, 7) }, []string{"user deactivated keep="}},
		{"reset", func(s *Service) error { return s.PasswordReset(ctx, 7) }, []string{"user password_reset keep="}},
		{"change password keeps the caller's token", func(s *Service) error {
			b, err := s.Bearer(ctx, "pcat_caller")
			if err != nil {
				return err
			}
			return s.PasswordChanged(ctx, b)
		}, []string{"user password_change keep=pcat_caller"}},
		{"delete", func(s *Service) error { return s.ClientDeleted(ctx, "app") }, []string{"client app client_deleted"}},
		{"rename only", func(s *Service) error {
			return s.ClientChanged(ctx, base, changed(func(c *clients.Client) { c.Name = "New" }))
		}, []string{"client app updated"}},
		{"secret", func(s *Service) error {
			return s.ClientChanged(ctx, base, changed(func(c *clients.Client) { c.SecretHash = "h2" }))
		}, []string{"client app client_changed"}},
		{"lost a grant type", func(s *Service) error {
			return s.ClientChanged(ctx, base, changed(func(c *clients.Client) { c.GrantTypesRaw = "password" }))
		}, []string{"client app client_changed"}},
		{"same grant types reordered", func(s *Service) error {
			return s.ClientChanged(ctx, base, changed(func(c *clients.Client) { c.GrantTypesRaw = "refresh_token password" }))
		}, []string{"client app updated"}},
		{"redirect URIs", func(s *Service) error {
			return s.ClientChanged(ctx, base, changed(func(c *clients.Client) { c.RedirectURIsRaw = "https://b/cb" }))
		}, []string{"client app client_changed"}},
		{"new client id revokes the old one's", func(s *Service) error {
			return s.ClientChanged(ctx, base, changed(func(c *clients.Client) { c.ClientID = "app2" }))
		}, []string{"client app client_changed"}},
		{"application", func(s *Service) error { return s.ApplicationRevoked(ctx, 7, "app") }, []string{"user client app application_revoked"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft, fc := &fakeTokens{}, &fakeCache{}
			if err := tc.do(New(ft, fc)); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ft.calls, tc.want) {
				t.Fatalf("calls %q, want %q", ft.calls, tc.want)
			}
		})
	}
}

// TestWebAndHTTPAPIDoNotImportTokens: the HTML and REST handlers reach
// tokens only through this package (and oauth), never directly.
func TestWebAndHTTPAPIDoNotImportTokens(t *testing.T) {
	goBin := servicetest.RequireCommand(t, "go", "the go command on PATH")
	const mod = "github.com/portcullis-oauth/portcullis/authserver/internal/"
	out, err := exec.Command(goBin, "list", "-f", "{{.ImportPath}}: {{join .Imports \" \"}} {{join .TestImports \" \"}}", mod+"web", mod+"httpapi").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("go list: %s", out)
	}
	for _, l := range lines {
		pkg, imports, _ := strings.Cut(l, ": ")
		if slices.Contains(strings.Fields(imports), mod+"tokens") && !strings.HasSuffix(pkg, "_test") {
			t.Errorf("%s imports tokens", pkg)
		}
	}
}
