package dotimport

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
)

// applications copies DOT's applications, matched by client id. A grant
// type Portcullis does not offer (implicit, openid-hybrid), a redirect or
// post-logout redirect URI it refuses, or the HS256 algorithm keeps the
// application out, with a warning. A column this DOT has not (algorithm
// before DOT 1.5, post_logout_redirect_uris before DOT 2) leaves the value
// Portcullis holds as it is.
func (r *run) applications(ctx context.Context) error {
	c := Count{Table: TableApps}
	q := r.tx.Rebind
	cols := "a.id, a.client_id, a.user_id, a.redirect_uris, a.client_type, a.authorization_grant_type, a.client_secret, a.name, a.skip_authorization"
	if r.sc.algorithm {
		cols += ", a.algorithm"
	} else {
		cols += ", ''"
	}
	if r.sc.postLogout {
		cols += ", a.post_logout_redirect_uris"
	} else {
		cols += ", ''"
	}
	err := r.stream(ctx, TableApps, "SELECT "+cols+" FROM "+tableApp+" a ORDER BY a.id", "SELECT COUNT(*) FROM "+tableApp,
		func(rows *sqlx.Rows) error {
			c.Read++
			var (
				id                                   int64
				owner                                sql.NullInt64
				clientID, redirects, typ, grant, sec string
				name                                 sql.NullString
				skip                                 bool
				algorithm, postLogout                sql.NullString
			)
			if err := rows.Scan(&id, &clientID, &owner, &redirects, &typ, &grant, &sec, &name, &skip, &algorithm, &postLogout); err != nil {
				return fmt.Errorf("dotimport: applications: row: %w", err)
			}
			for _, v := range []string{clientID, redirects, typ, sec, name.String, algorithm.String, postLogout.String} {
				if !database.ValidText(v) {
					c.Skipped++
					r.warn(TableApps, id, "a field is not valid UTF-8 text")
					return nil
				}
			}
			g, err := clients.NormalizeGrant(grant)
			if err != nil {
				c.Skipped++
				r.warn(TableApps, id, fmt.Sprintf("grant type %q is not offered by Portcullis", grant))
				return nil
			}
			if strings.EqualFold(strings.TrimSpace(algorithm.String), hs256) {
				c.Skipped++
				r.warn(TableApps, id, hs256Refused)
				return nil
			}
			app := clients.Client{
				ClientID: clientID, Name: name.String, Type: typ, GrantTypesRaw: g, RedirectURIsRaw: redirects,
				SkipAuthorization: skip, Algorithm: algorithm.String, PostLogoutRedirectURIsRaw: postLogout.String,
			}
			if owner.Valid {
				var uid int64
				err := r.tx.GetContext(ctx, &uid, q("SELECT user_id FROM dot_users WHERE django_id = ? AND user_id IS NOT NULL"), owner.Int64)
				switch {
				case err == nil:
					app.UserID = sql.NullInt64{Int64: uid, Valid: true}
				case isNoRows(err):
					r.warn(TableApps, id, "its owner was not imported: the application moves without an owner")
				default:
					return fmt.Errorf("dotimport: applications: %w", err)
				}
			}
			if err := app.Validate(); err != nil {
				c.Skipped++
				r.warn(TableApps, id, err.Error())
				return nil
			}
			var cur clients.Client
			err = r.tx.GetContext(ctx, &cur, q(`SELECT id, client_id, name, secret_hash, client_type, grant_types, redirect_uris, scopes,
				skip_authorization, algorithm, post_logout_redirect_uris, user_id, created_at, updated_at FROM clients WHERE client_id = ?`), clientID)
			found := err == nil
			if err != nil && !isNoRows(err) {
				return fmt.Errorf("dotimport: applications: %w", err)
			}
			if found && !r.sc.algorithm {
				app.Algorithm = cur.Algorithm
			}
			if found && !r.sc.postLogout {
				app.PostLogoutRedirectURIsRaw = cur.PostLogoutRedirectURIsRaw
			}
			if app.SecretHash, err = r.secretHash(app, cur, found, sec); err != nil {
				return fmt.Errorf("dotimport: applications: %w", err)
			}
			now := time.Now().UTC()
			switch {
			case !found:
				if _, err := r.tx.ExecContext(ctx, q(`INSERT INTO clients (client_id, name, secret_hash, client_type, grant_types, redirect_uris,
					scopes, skip_authorization, algorithm, post_logout_redirect_uris, user_id, created_at, updated_at)
					VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?)`),
					app.ClientID, app.Name, app.SecretHash, app.Type, app.GrantTypesRaw, app.RedirectURIsRaw, app.SkipAuthorization,
					app.Algorithm, app.PostLogoutRedirectURIsRaw, app.UserID, now, now); err != nil {
					return fmt.Errorf("dotimport: applications: create: %w", err)
				}
				c.Created++
			case cur.Name == app.Name && cur.SecretHash == app.SecretHash && cur.Type == app.Type && cur.GrantTypesRaw == app.GrantTypesRaw &&
				cur.RedirectURIsRaw == app.RedirectURIsRaw && cur.SkipAuthorization == app.SkipAuthorization &&
				cur.Algorithm == app.Algorithm && cur.PostLogoutRedirectURIsRaw == app.PostLogoutRedirectURIsRaw && cur.UserID == app.UserID:
				c.Unchanged++
			default:
				if _, err := r.tx.ExecContext(ctx, q(`UPDATE clients SET name = ?, secret_hash = ?, client_type = ?, grant_types = ?, redirect_uris = ?,
					skip_authorization = ?, algorithm = ?, post_logout_redirect_uris = ?, user_id = ?, updated_at = ? WHERE id = ?`),
					app.Name, app.SecretHash, app.Type, app.GrantTypesRaw, app.RedirectURIsRaw, app.SkipAuthorization,
					app.Algorithm, app.PostLogoutRedirectURIsRaw, app.UserID, now, cur.ID); err != nil {
					return fmt.Errorf("dotimport: applications: update: %w", err)
				}
				c.Updated++
			}
			if _, err := r.tx.ExecContext(ctx, q("INSERT INTO dot_apps (django_id, client_id) VALUES (?, ?)"), id, clientID); err != nil {
				return fmt.Errorf("dotimport: applications: %w", err)
			}
			return nil
		})
	if err != nil {
		return err
	}
	r.done(c)
	return nil
}

// hs256 is DOT's algorithm that signs id tokens with the client secret.
// Portcullis signs every id token with its own keys (RS256 or ES256,
// published in the JWKS), so it refuses it: a relying party that checks
// HS256 signatures would reject every id token it got after the move.
const hs256 = "HS256"

const hs256Refused = "algorithm HS256 (id tokens signed with the client secret) is not offered by Portcullis, " +
	"which signs with its own keys: set the application's algorithm to RS256 (or none) in Django, and run the import again"

// secretHash is the stored form of a DOT client secret. A secret DOT
// hashed with a Django hasher (DOT 2 and later) is kept and verified like a
// password. A plaintext one (DOT 1.x) is hashed here: with the fast HMAC
// when it has the shape of DOT's generated secrets (128 random
// characters), else with argon2id, as a secret a person chose. An existing
// hash that already verifies the secret is kept, so a re-run changes
// nothing. A public client has no secret.
func (r *run) secretHash(app, cur clients.Client, found bool, secret string) (string, error) {
	if app.IsPublic() || secret == "" {
		return "", nil
	}
	if _, _, err := r.Hashes.Verify(context.Background(), secret, ""); !errors.Is(err, passwords.ErrMalformedHash) {
		return secret, nil // a Django hash
	}
	if found && cur.SecretHash != "" && r.Secrets.VerifySecret(cur, secret) {
		return cur.SecretHash, nil
	}
	return r.Secrets.HashSecret(secret, generatedShape(secret))
}

// generatedShape reports whether a secret looks like DOT's generator's:
// 128 characters of [A-Za-z0-9] (oauthlib's generate_client_id
// alphabet), about 760 random bits, which a fast keyed hash protects.
func generatedShape(s string) bool {
	if len(s) != 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
