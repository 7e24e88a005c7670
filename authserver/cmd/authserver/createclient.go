package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
)

// createClient registers an OAuth application, as the tutorial's
// /o/applications/register/ form does. A generated secret is printed once and
// stored hashed; a secret given with --client-secret is stored with argon2id.
func createClient(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("createclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
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
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *name == "" || *grants == "" {
		fs.Usage()
		return usageError{fmt.Errorf("--name and --grant-types are required")}
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
