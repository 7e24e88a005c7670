package items

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/portcullis-oauth/portcullis/resourceserver/internal/database"
)

// SQLStore keeps items and the local copies of their owners in PostgreSQL
// or SQLite, with the same queries on both. Safe for concurrent use.
type SQLStore struct {
	db *database.DB
}

// NewSQLStore returns a store over a migrated database.
func NewSQLStore(db *database.DB) *SQLStore { return &SQLStore{db: db} }

const selectItem = `SELECT i.id, i.name, i.description, i.price, u.sub, u.email
FROM items i JOIN users u ON u.sub = i.user_sub`

// EnsureOwner creates the local user the first time a sub is seen, and
// keeps its email in step with the auth server's afterwards.
func (s *SQLStore) EnsureOwner(ctx context.Context, o Owner) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO users (sub, email) VALUES (?, ?)
ON CONFLICT (sub) DO UPDATE SET email = excluded.email WHERE users.email <> excluded.email`), o.Sub, o.Email)
	if err != nil {
		return fmt.Errorf("items: ensure owner: %w", err)
	}
	return nil
}

// Create inserts an item owned by ownerSub (which EnsureOwner has seen).
// Every field of f must be set. It returns ErrNameTaken when the name is in
// use, including when a concurrent create wins the race.
func (s *SQLStore) Create(ctx context.Context, ownerSub string, f Fields) (Item, error) {
	if f.Name == nil || f.Description == nil || f.Price == nil {
		return Item{}, errors.New("items: create: missing field")
	}
	var id int64
	err := s.db.QueryRowxContext(ctx, s.db.Rebind(`INSERT INTO items (name, description, price, user_sub)
VALUES (?, ?, ?, ?) RETURNING id`), *f.Name, *f.Description, *f.Price, ownerSub).Scan(&id)
	if err != nil {
		if database.IsUniqueViolation(err) {
			return Item{}, ErrNameTaken
		}
		return Item{}, fmt.Errorf("items: create: %w", err)
	}
	return s.Get(ctx, id)
}

// Get returns one item, or ErrNotFound.
func (s *SQLStore) Get(ctx context.Context, id int64) (Item, error) {
	row := s.db.QueryRowxContext(ctx, s.db.Rebind(selectItem+` WHERE i.id = ?`), id)
	it, err := scanItem(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, ErrNotFound
	}
	if err != nil {
		return Item{}, fmt.Errorf("items: get: %w", err)
	}
	return it, nil
}

// List returns up to limit items in id order, skipping the first offset.
func (s *SQLStore) List(ctx context.Context, limit, offset int) ([]Item, error) {
	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(selectItem+` ORDER BY i.id LIMIT ? OFFSET ?`), limit, offset)
	if err != nil {
		return nil, fmt.Errorf("items: list: %w", err)
	}
	defer rows.Close()
	out := []Item{}
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("items: list: %w", err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("items: list: %w", err)
	}
	return out, nil
}

// Update sets the fields of f that are not nil and returns the new item.
// It returns ErrNotFound or ErrNameTaken. An empty f only reads the item.
func (s *SQLStore) Update(ctx context.Context, id int64, f Fields) (Item, error) {
	var sets []string
	var args []any
	if f.Name != nil {
		sets, args = append(sets, "name = ?"), append(args, *f.Name)
	}
	if f.Description != nil {
		sets, args = append(sets, "description = ?"), append(args, *f.Description)
	}
	if f.Price != nil {
		sets, args = append(sets, "price = ?"), append(args, *f.Price)
	}
	if len(sets) == 0 {
		return s.Get(ctx, id)
	}
	args = append(args, id)
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE items SET `+strings.Join(sets, ", ")+` WHERE id = ?`), args...)
	if err != nil {
		if database.IsUniqueViolation(err) {
			return Item{}, ErrNameTaken
		}
		return Item{}, fmt.Errorf("items: update: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return Item{}, ErrNotFound
	}
	return s.Get(ctx, id)
}

// Delete removes an item, or returns ErrNotFound.
func (s *SQLStore) Delete(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM items WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("items: delete: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("items: delete: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanItem(r scanner) (Item, error) {
	var it Item
	err := r.Scan(&it.ID, &it.Name, &it.Description, &it.Price, &it.User.Sub, &it.User.Email)
	return it, err
}
