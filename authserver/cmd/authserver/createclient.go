package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
)

// createClient registers an OAuth application, as the tutorial's
// /o/applications/register/ form does. A generated secret is printed once and
// stored hashed; a secret given with --client-secret is stored with argon2id.
func createClient(ctx context.Context, load func() (config, error), args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("createclient", flag.ContinueOnError)
	name := fs.String("name", "", "the application's name (required)")
	id := fs.String("client-id", "", "the client id (generated when empty)")
	secret := fs.String("client-secret", "", "the client secret (generated and printed once when empty)")
	typ := fs.String("client-type", clients.Confidential, "confidential or public")
	grants := fs.String("grant-types", "", "comma-separated grant types: authorization_code, password, client_credentials, refresh_token (required)")
	redirects := fs.String("redirect-uris", "", "space-separated redirect URIs, matched exactly")
	scopes := fs.String("scopes", "", "space- or comma-separated scopes the client may ask for (empty: all)")
	skip := fs.Bool("skip-authorization", false, "skip the consent page")
	postLogout := fs.String("post-logout-redirect-uris", "", "space-separated URIs where OpenID Connect logout may return, matched exactly")
	alg := fs.String("algorithm", "RS256", "id token signing algorithm: RS256 or ES256")
	if err := parseFlags(fs, "register an OAuth application, as the tutorial's /o/applications/register/ form does", args, stdout, stderr); err != nil {
		return err
	}
	probe := clients.Client{ClientID: "probe", Type: clients.Confidential, GrantTypesRaw: *grants}
	if err := probe.Validate(); *grants != "" && errors.Is(err, clients.ErrInvalidGrant) {
		return badUsage(stderr, "createclient", fmt.Errorf("--grant-types: %w", err))
	}
	var missing []string
	for _, f := range []struct{ flag, value string }{{"--name", *name}, {"--grant-types", *grants}} {
		if f.value == "" {
			missing = append(missing, f.flag)
		}
	}
	if len(missing) > 0 {
		return badUsage(stderr, "createclient", fmt.Errorf("missing %s (see createclient -h)", strings.Join(missing, " and ")))
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	cfg.LogLevel = 8
	a, err := openApp(ctx, cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer a.db.Close()

	c := clients.Client{
		ClientID: *id, Name: *name, Type: *typ, GrantTypesRaw: *grants,
		RedirectURIsRaw: *redirects, ScopesRaw: *scopes, SkipAuthorization: *skip,
		PostLogoutRedirectURIsRaw: *postLogout, Algorithm: *alg,
		UserID: sql.NullInt64{},
	}
	if c.ClientID == "" {
		c.ClientID = clients.GenerateClientID()
	}
	generated := false
	if c.Type == clients.Confidential {
		if *secret == "" {
			*secret, generated = clients.GenerateSecret(), true
		}
		if c.SecretHash, err = a.clients.HashSecret(*secret, generated); err != nil {
			return err
		}
	} else if *secret != "" {
		return fmt.Errorf("a public client has no secret: drop --client-secret")
	}
	if err := a.clients.Store().Create(ctx, &c); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Created client %q\nclient_id: %s\nclient_type: %s\ngrant_types: %s\n", c.Name, c.ClientID, c.Type, c.GrantTypesRaw)
	if generated {
		fmt.Fprintf(stdout, "client_secret: %s\n(shown once; only its hash is stored)\n", *secret)
	}
	return nil
}
