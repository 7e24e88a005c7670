package clients

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
)

// ListQuery selects clients for the application lists, ordered by name
// then id.
type ListQuery struct {
	// UserID keeps only the applications a user owns, when not 0.
	UserID int64
	// Search keeps clients whose name or client id contains it.
	Search string
	// Type keeps clients of this client type; Grant those allowed this
	// grant type (RFC 6749 name).
	Type, Grant string
	// Order is a key of ListOrders, with a leading '-' for descending;
	// "" and unknown keys mean by name. Ties are broken by id.
	Order string
	// Offset and Limit page the result (Limit 0 means 100, at most 500).
	Offset, Limit int
}

// ListOrders are the columns List can order by.
var ListOrders = map[string]string{"name": "LOWER(name)", "client_id": "client_id", "client_type": "client_type", "created_at": "created_at"}

// List returns the clients q selects and how many there are in all.
func (s *Store) List(ctx context.Context, q ListQuery) ([]Client, int, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 100
	}
	var where []string
	var args []any
	if q.UserID != 0 {
		where = append(where, "user_id = ?")
		args = append(args, q.UserID)
	}
	if q.Search != "" {
		r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
		p := "%" + r.Replace(strings.ToLower(q.Search)) + "%"
		where = append(where, `(LOWER(name) LIKE ? ESCAPE '\' OR LOWER(client_id) LIKE ? ESCAPE '\')`)
		args = append(args, p, p)
	}
	if q.Type != "" {
		where = append(where, "client_type = ?")
		args = append(args, q.Type)
	}
	if q.Grant != "" {
		// grant_types is space-separated RFC names: match a whole word.
		where = append(where, "(' ' || grant_types || ' ') LIKE ?")
		args = append(args, "% "+q.Grant+" %")
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	order, dir := q.Order, " ASC"
	if strings.HasPrefix(order, "-") {
		order, dir = order[1:], " DESC"
	}
	col, ok := ListOrders[order]
	if !ok {
		col, dir = ListOrders["name"], " ASC"
	}
	var total int
	if err := s.db.GetContext(ctx, &total, s.db.Rebind("SELECT COUNT(*) FROM clients"+cond), args...); err != nil {
		return nil, 0, fmt.Errorf("clients: list: %w", err)
	}
	var out []Client
	q2 := "SELECT " + clientColumns + " FROM clients" + cond + " ORDER BY " + col + dir + ", id" + dir + fmt.Sprintf(" LIMIT %d OFFSET %d", q.Limit, max(q.Offset, 0))
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q2), args...); err != nil {
		return nil, 0, fmt.Errorf("clients: list: %w", err)
	}
	return out, total, nil
}

// ByID returns the client with database id id. Errors: ErrNotFound.
func (s *Store) ByID(ctx context.Context, id int64) (Client, error) {
	var c Client
	err := s.db.GetContext(ctx, &c, s.db.Rebind("SELECT "+clientColumns+" FROM clients WHERE id = ?"), id)
	if database.IsNoRows(err) {
		return Client{}, ErrNotFound
	}
	if err != nil {
		return Client{}, fmt.Errorf("clients: get: %w", err)
	}
	return c, nil
}

// Update validates c and saves every field of the row c.ID (client id
// included; the owner is kept). Callers must Forget the old and new client
// ids in their Registry. Errors: validation errors, ErrClientIDTaken,
// ErrNotFound.
func (s *Store) Update(ctx context.Context, c *Client) error {
	if err := c.Validate(); err != nil {
		return err
	}
	c.UpdatedAt = time.Now().UTC()
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE clients SET client_id = ?, name = ?, secret_hash = ?, client_type = ?,
		grant_types = ?, redirect_uris = ?, scopes = ?, skip_authorization = ?, algorithm = ?, post_logout_redirect_uris = ?, updated_at = ? WHERE id = ?`),
		c.ClientID, c.Name, c.SecretHash, c.Type, c.GrantTypesRaw, c.RedirectURIsRaw, c.ScopesRaw, c.SkipAuthorization, c.Algorithm,
		c.PostLogoutRedirectURIsRaw, c.UpdatedAt, c.ID)
	if database.IsUniqueViolation(err) {
		return ErrClientIDTaken
	}
	if err != nil {
		return fmt.Errorf("clients: update: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Consent is a user's standing approval of an application's scopes.
type Consent struct {
	Client    Client
	Scope     string
	UpdatedAt time.Time
}

// ConsentedScope returns the scope userID has approved for client row
// clientPK, "" when none.
func (s *Store) ConsentedScope(ctx context.Context, userID, clientPK int64) (string, error) {
	var sc string
	err := s.db.GetContext(ctx, &sc, s.db.Rebind("SELECT scope FROM consents WHERE user_id = ? AND client_pk = ?"), userID, clientPK)
	if database.IsNoRows(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("clients: consent: %w", err)
	}
	return sc, nil
}

// GrantConsent records that userID approved scope for client row
// clientPK, adding to what was approved before.
func (s *Store) GrantConsent(ctx context.Context, userID, clientPK int64, scope string) error {
	old, err := s.ConsentedScope(ctx, userID, clientPK)
	if err != nil {
		return err
	}
	merged := strings.Fields(old)
	for _, sc := range strings.Fields(scope) {
		merged = appendUnique(merged, sc)
	}
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO consents (user_id, client_pk, scope, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, client_pk) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at`),
		userID, clientPK, strings.Join(merged, " "), time.Now().UTC())
	if err != nil {
		return fmt.Errorf("clients: grant consent: %w", err)
	}
	return nil
}

// RevokeConsent forgets userID's approval of client row clientPK.
func (s *Store) RevokeConsent(ctx context.Context, userID, clientPK int64) error {
	if _, err := s.db.ExecContext(ctx, s.db.Rebind("DELETE FROM consents WHERE user_id = ? AND client_pk = ?"), userID, clientPK); err != nil {
		return fmt.Errorf("clients: revoke consent: %w", err)
	}
	return nil
}

// Consents lists the applications userID has approved, by name.
func (s *Store) Consents(ctx context.Context, userID int64) ([]Consent, error) {
	rows, err := s.db.QueryxContext(ctx, s.db.Rebind("SELECT consents.client_pk, consents.scope, consents.updated_at FROM consents JOIN clients ON clients.id = consents.client_pk WHERE consents.user_id = ? ORDER BY clients.name"), userID)
	if err != nil {
		return nil, fmt.Errorf("clients: consents: %w", err)
	}
	type row struct {
		pk int64
		sc string
		at time.Time
	}
	var rs []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.pk, &r.sc, &r.at); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("clients: consents: %w", err)
		}
		rs = append(rs, r)
	}
	_ = rows.Close()
	out := make([]Consent, 0, len(rs))
	for _, r := range rs {
		c, err := s.ByID(ctx, r.pk)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Consent{Client: c, Scope: r.sc, UpdatedAt: r.at})
	}
	return out, nil
}
