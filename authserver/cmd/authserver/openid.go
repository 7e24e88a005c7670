package main

import (
	"context"
	"fmt"
	"log/slog"

	redis "github.com/redis/rueidis/rueidiscompat"

	"github.com/portcullis-oauth/portcullis/authserver/internal/httpapi"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oidc"
	"github.com/portcullis-oauth/portcullis/authserver/internal/signing"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
)

// openIDParts are the OpenID Provider's pieces; nil when
// KEY_ENCRYPTION_KEY is unset.
type openIDParts struct {
	keys   *signing.Keyring
	authns *oidc.Store
	ids    *oidc.Issuer
}

// openID builds the OpenID Provider when a key-encryption key is
// configured, making a signing key per algorithm on the first start.
func openID(ctx context.Context, cfg config, a *app, rdb redis.Cmdable, log *slog.Logger) (*openIDParts, error) {
	if cfg.KEK == nil {
		log.Warn("KEY_ENCRYPTION_KEY is not set: OpenID Connect is off (no openid scope, no id tokens, no discovery)")
		return nil, nil
	}
	keys := signing.NewKeyring(a.db, cfg.KEK, cfg.IDTokenTTL)
	if err := keys.Ensure(ctx); err != nil {
		return nil, err
	}
	// Open the published keys now: a KEY_ENCRYPTION_KEY that does not match
	// the database stops the start instead of failing every id token.
	if _, err := keys.JWKS(ctx); err != nil {
		return nil, fmt.Errorf("OpenID Connect signing keys (check KEY_ENCRYPTION_KEY): %w", err)
	}
	return &openIDParts{
		keys:   keys,
		authns: oidc.NewStore(rdb, cfg.RedisPrefix, tokens.CodeLifetime, cfg.RefreshTTL),
		ids:    oidc.NewIssuer(cfg.OIDCIssuer, cfg.IDTokenTTL, keys),
	}, nil
}

// protocol gives the protocol server its OpenID parts (none when off).
func (p *openIDParts) protocol(d *oauth.Deps) {
	if p != nil {
		d.Authentications, d.IDTokens = p.authns, p.ids
	}
}

// routes gives the HTTP API its OpenID parts (none when off).
func (p *openIDParts) routes(cfg config, d *httpapi.Deps) {
	d.OIDCIssuer = cfg.OIDCIssuer
	if p != nil {
		d.JWKS = p.keys
	}
}

// keyring is the signing keys (nil when OpenID Connect is off).
func (p *openIDParts) keyring() *signing.Keyring {
	if p == nil {
		return nil
	}
	return p.keys
}
