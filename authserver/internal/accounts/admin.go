package accounts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
)

// Errors of the admin queries.
var (
	ErrGroupNotFound = errors.New("accounts: group not found")
	ErrGroupTaken    = errors.New("accounts: group name already exists")
	ErrGroupName     = errors.New("accounts: group name must be 1-150 characters")
)

// UserQuery selects a page of users for the admin list, ordered by email
// (case-insensitively, the unique email_key). Pagination is by keyset on
// email_key, so every page costs an index range scan however deep it is.
type UserQuery struct {
	// Search keeps users whose email contains it (case-insensitive).
	Search string
	// IsStaff and IsActive filter when not nil.
	IsStaff, IsActive *bool
	// After gives the page after this email_key; Before the page before
	// it; Last the last page. With none of them, the first page.
	After, Before string
	Last          bool
	// Limit is the page size (1-500; 0 means 100).
	Limit int
}

// UserPage is one page of users. HasPrev and HasNext say whether there are
// rows before its first and after its last row.
type UserPage struct {
	Users            []User
	Total            int
	HasPrev, HasNext bool
}

// likeEscape makes s a LIKE pattern matching it literally anywhere.
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// ListUsers returns the page q asks for. Errors: database errors only.
func (s *Store) ListUsers(ctx context.Context, q UserQuery) (UserPage, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 100
	}
	var where []string
	var args []any
	if q.Search != "" {
		where = append(where, `email_key LIKE ? ESCAPE '\'`)
		args = append(args, likeEscape(strings.ToLower(strings.TrimSpace(q.Search))))
	}
	if q.IsStaff != nil {
		where = append(where, "is_staff = ?")
		args = append(args, *q.IsStaff)
	}
	if q.IsActive != nil {
		where = append(where, "is_active = ?")
		args = append(args, *q.IsActive)
	}
	var page UserPage
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	if err := s.db.GetContext(ctx, &page.Total, s.db.Rebind("SELECT COUNT(*) FROM users"+cond), args...); err != nil {
		return UserPage{}, fmt.Errorf("accounts: list users: %w", err)
	}
	backward := q.Last || q.Before != "" && q.After == ""
	switch {
	case q.After != "":
		where = append(where, "email_key > ?")
		args = append(args, q.After)
	case q.Before != "":
		where = append(where, "email_key < ?")
		args = append(args, q.Before)
	}
	cond = ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	order := " ORDER BY email_key"
	if backward {
		order += " DESC"
	}
	sq := "SELECT " + userColumns + " FROM users" + cond + order + fmt.Sprintf(" LIMIT %d", q.Limit+1)
	if err := s.db.SelectContext(ctx, &page.Users, s.db.Rebind(sq), args...); err != nil {
		return UserPage{}, fmt.Errorf("accounts: list users: %w", err)
	}
	more := len(page.Users) > q.Limit
	if more {
		page.Users = page.Users[:q.Limit]
	}
	if backward {
		slices.Reverse(page.Users)
		page.HasPrev, page.HasNext = more, q.Before != ""
	} else {
		page.HasPrev, page.HasNext = q.After != "", more
	}
	return page, nil
}

// UpdateUser sets a user's email and flags. Errors: ErrNotFound,
// ErrEmailTaken.
func (s *Store) UpdateUser(ctx context.Context, id int64, email string, staff, active bool) error {
	email = NormalizeEmail(email)
	err := s.exec(ctx, "UPDATE users SET email = ?, email_key = ?, is_staff = ?, is_active = ? WHERE id = ?",
		email, EmailKey(email), staff, active, id)
	if database.IsUniqueViolation(err) {
		return ErrEmailTaken
	}
	return err
}

// Group is a named set of users (Django's auth.Group, without permissions).
type Group struct {
	ID   int64  `db:"id"`
	Name string `db:"name"`
}

func checkGroupName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 150 {
		return "", ErrGroupName
	}
	return name, nil
}

// Groups lists every group by name.
func (s *Store) Groups(ctx context.Context) ([]Group, error) {
	var gs []Group
	if err := s.db.SelectContext(ctx, &gs, "SELECT id, name FROM groups ORDER BY name"); err != nil {
		return nil, fmt.Errorf("accounts: groups: %w", err)
	}
	return gs, nil
}

// GroupByID returns one group. Errors: ErrGroupNotFound.
func (s *Store) GroupByID(ctx context.Context, id int64) (Group, error) {
	var g Group
	err := s.db.GetContext(ctx, &g, s.db.Rebind("SELECT id, name FROM groups WHERE id = ?"), id)
	if database.IsNoRows(err) {
		return Group{}, ErrGroupNotFound
	}
	if err != nil {
		return Group{}, fmt.Errorf("accounts: group: %w", err)
	}
	return g, nil
}

// CreateGroup adds a group. Errors: ErrGroupName, ErrGroupTaken.
func (s *Store) CreateGroup(ctx context.Context, name string) (Group, error) {
	name, err := checkGroupName(name)
	if err != nil {
		return Group{}, err
	}
	g := Group{Name: name}
	err = s.db.GetContext(ctx, &g.ID, s.db.Rebind("INSERT INTO groups (name) VALUES (?) RETURNING id"), name)
	if database.IsUniqueViolation(err) {
		return Group{}, ErrGroupTaken
	}
	if err != nil {
		return Group{}, fmt.Errorf("accounts: create group: %w", err)
	}
	return g, nil
}

// RenameGroup renames a group. Errors: ErrGroupName, ErrGroupTaken,
// ErrGroupNotFound.
func (s *Store) RenameGroup(ctx context.Context, id int64, name string) error {
	name, err := checkGroupName(name)
	if err != nil {
		return err
	}
	err = s.exec(ctx, "UPDATE groups SET name = ? WHERE id = ?", name, id)
	switch {
	case database.IsUniqueViolation(err):
		return ErrGroupTaken
	case errors.Is(err, ErrNotFound):
		return ErrGroupNotFound
	}
	return err
}

// DeleteGroup removes a group and its memberships. Errors: ErrGroupNotFound.
func (s *Store) DeleteGroup(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, s.db.Rebind("DELETE FROM user_groups WHERE group_id = ?"), id); err != nil {
		return fmt.Errorf("accounts: delete group: %w", err)
	}
	if err := s.exec(ctx, "DELETE FROM groups WHERE id = ?", id); errors.Is(err, ErrNotFound) {
		return ErrGroupNotFound
	} else if err != nil {
		return err
	}
	return nil
}

// UserGroupIDs lists the ids of a user's groups.
func (s *Store) UserGroupIDs(ctx context.Context, userID int64) ([]int64, error) {
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, s.db.Rebind("SELECT group_id FROM user_groups WHERE user_id = ? ORDER BY group_id"), userID); err != nil {
		return nil, fmt.Errorf("accounts: user groups: %w", err)
	}
	return ids, nil
}

// SetUserGroups replaces a user's groups, in one transaction. Unknown group
// ids give ErrGroupNotFound and change nothing.
func (s *Store) SetUserGroups(ctx context.Context, userID int64, groupIDs []int64) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("accounts: set groups: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, s.db.Rebind("DELETE FROM user_groups WHERE user_id = ?"), userID); err != nil {
		return fmt.Errorf("accounts: set groups: %w", err)
	}
	for _, g := range groupIDs {
		var n int
		if err := tx.GetContext(ctx, &n, s.db.Rebind("SELECT COUNT(*) FROM groups WHERE id = ?"), g); err != nil {
			return fmt.Errorf("accounts: set groups: %w", err)
		}
		if n == 0 {
			return ErrGroupNotFound
		}
		if _, err := tx.ExecContext(ctx, s.db.Rebind("INSERT INTO user_groups (user_id, group_id) VALUES (?, ?) ON CONFLICT DO NOTHING"), userID, g); err != nil {
			return fmt.Errorf("accounts: set groups: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("accounts: set groups: %w", err)
	}
	return nil
}

// AdminCreate is the admin's add form: a user with the given flags (never
// a superuser), validated as signup is. Errors: FieldErrors with the keys
// email, password, password2.
func (s *Service) AdminCreate(ctx context.Context, email, password, password2 string, staff, active bool) (User, error) {
	f := func(v string) Field { return Field{Value: v, Set: true} }
	u, err := s.create(ctx, f(email), f(password), f(password2), false)
	if err != nil {
		return User{}, err
	}
	if u.IsStaff != staff || u.IsActive != active {
		if err := s.store.exec(ctx, "UPDATE users SET is_staff = ?, is_active = ? WHERE id = ?", staff, active, u.ID); err != nil {
			return User{}, err
		}
		u.IsStaff, u.IsActive = staff, active
	}
	return u, nil
}

// AdminSetPassword sets u's password without the old one, after the same
// validation as signup. Errors: FieldErrors (password, password2).
func (s *Service) AdminSetPassword(ctx context.Context, u User, password, password2 string) error {
	fe := FieldErrors{}
	if password == "" {
		fe.Add("password", MsgRequired)
	} else {
		for _, m := range s.validate(password, u.Email) {
			fe.Add("password", m)
		}
	}
	if len(fe) > 0 {
		return fe
	}
	if password != password2 {
		return FieldErrors{"password2": {MsgMismatch}}
	}
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return fmt.Errorf("accounts: hash: %w", err)
	}
	return s.store.SetPassword(ctx, u.ID, hash)
}
