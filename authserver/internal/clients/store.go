package clients

import (
	"context"
	"fmt"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
)

// Store reads and writes clients. Safe for concurrent use.
type Store struct{ db *database.DB }

// NewStore returns a Store over db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

const clientColumns = `id, client_id, name, secret_hash, client_type, grant_types, redirect_uris, scopes,
	skip_authorization, algorithm, post_logout_redirect_uris, user_id, created_at, updated_at`

// Create validates and inserts c, setting its ID and timestamps. It
// returns ErrClientIDTaken for a duplicate client id, or a validation error.
func (s *Store) Create(ctx context.Context, c *Client) error {
	if err := c.Validate(); err != nil {
		return err
	}
	now := time.Now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	q := s.db.Rebind(`INSERT INTO clients (client_id, name, secret_hash, client_type, grant_types, redirect_uris,
		scopes, skip_authorization, algorithm, post_logout_redirect_uris, user_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
	err := s.db.GetContext(ctx, &c.ID, q, c.ClientID, c.Name, c.SecretHash, c.Type, c.GrantTypesRaw, c.RedirectURIsRaw,
		c.ScopesRaw, c.SkipAuthorization, c.Algorithm, c.PostLogoutRedirectURIsRaw, c.UserID, c.CreatedAt, c.UpdatedAt)
	if database.IsUniqueViolation(err) {
		return ErrClientIDTaken
	}
	if err != nil {
		return fmt.Errorf("clients: create: %w", err)
	}
	return nil
}

// ByClientID returns the client with that client_id, or ErrNotFound.
func (s *Store) ByClientID(ctx context.Context, clientID string) (Client, error) {
	var c Client
	err := s.db.GetContext(ctx, &c, s.db.Rebind("SELECT "+clientColumns+" FROM clients WHERE client_id = ?"), clientID)
	if database.IsNoRows(err) {
		return Client{}, ErrNotFound
	}
	if err != nil {
		return Client{}, fmt.Errorf("clients: get: %w", err)
	}
	return c, nil
}

// Delete removes a client. ErrNotFound if it did not exist.
func (s *Store) Delete(ctx context.Context, clientID string) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind("DELETE FROM clients WHERE client_id = ?"), clientID)
	if err != nil {
		return fmt.Errorf("clients: delete: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
