package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
)

// Errors of the admin queries.
var (
	ErrGroupNotFound = errors.New("accounts: group not found")
	ErrGroupTaken    = errors.New("accounts: group name already exists")
	ErrGroupName     = errors.New("accounts: group name must be 1-150 characters")
)

// UserQuery selects a page of users for the admin list. Pages are
// numbered, as in Django's admin: page n holds rows (n-1)×Limit to
// n×Limit-1 of the ordered result, so no two pages overlap.
type UserQuery struct {
	// Search keeps users whose email contains it (case-insensitive).
	Search string
	// IsStaff and IsActive filter when not nil.
	IsStaff, IsActive *bool
	// Order is a column of UserOrders, with a leading '-' for descending;
	// "" and unknown columns mean "email". Ties are broken by id.
	Order string
	// Page is the 1-based page number; below 1 means 1.
	Page int
	// Limit is the page size (1-500; 0 means 100).
	Limit int
}

// UserOrders are the columns the user list can be ordered by.
var UserOrders = map[string]string{"email": "email_key", "is_staff": "is_staff", "is_active": "is_active",
	"date_joined": "date_joined", "last_login": "last_login"}

// UserPage is one page of users and the size of the whole result.
type UserPage struct {
	Users []User
	Total int
}

// likeEscape makes s a LIKE pattern matching it literally anywhere.
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// orderBy is the ORDER BY clause of order (see UserQuery.Order).
func orderBy(order string) string {
	dir := " ASC"
	if strings.HasPrefix(order, "-") {
		order, dir = order[1:], " DESC"
	}
	col, ok := UserOrders[order]
	if !ok {
		col, dir = "email_key", " ASC"
	}
	if col == "last_login" {
		// NULLs (never logged in) sort as the oldest on both backends.
		return " ORDER BY last_login IS NOT NULL" + dir + ", last_login" + dir + ", id" + dir
	}
	return " ORDER BY " + col + dir + ", id" + dir
}

// ListUsers returns the page q asks for; a page past the last is empty.
// Errors: database errors only.
func (s *Store) ListUsers(ctx context.Context, q UserQuery) (UserPage, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 100
	}
	q.Page = max(q.Page, 1)
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
	sq := "SELECT " + userColumns + " FROM users" + cond + orderBy(q.Order) + fmt.Sprintf(" LIMIT %d OFFSET %d", q.Limit, (q.Page-1)*q.Limit)
	if err := s.db.SelectContext(ctx, &page.Users, s.db.Rebind(sq), args...); err != nil {
		return UserPage{}, fmt.Errorf("accounts: list users: %w", err)
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
		return User{}, WithMismatch(err, password, password2)
	}
	if u.IsStaff != staff || u.IsActive != active {
		if err := s.store.exec(ctx, "UPDATE users SET is_staff = ?, is_active = ? WHERE id = ?", staff, active, u.ID); err != nil {
			return User{}, err
		}
		u.IsStaff, u.IsActive = staff, active
	}
	return u, nil
}

// WithMismatch adds the mismatch of the two passwords to err's
// FieldErrors, so that a form reports it beside the other problems (the
// signup API, like the tutorial's serializer, reports it only once every
// field is valid).
func WithMismatch(err error, password, password2 string) error {
	var fe FieldErrors
	if errors.As(err, &fe) && password2 != "" && password != password2 && len(fe["password2"]) == 0 {
		fe.Add("password2", MsgMismatch)
	}
	return err
}

// ValidateAdminPassword checks a password an admin sets for u, as signup
// checks one, and that the confirmation matches. Errors: FieldErrors
// (password, password2).
func (s *Service) ValidateAdminPassword(u User, password, password2 string) error {
	fe := FieldErrors{}
	if password == "" {
		fe.Add("password", MsgRequired)
	} else {
		for _, m := range s.validate(password, u.Email) {
			fe.Add("password", m)
		}
	}
	if password != password2 {
		fe.Add("password2", MsgMismatch)
	}
	if len(fe) > 0 {
		return fe
	}
	return nil
}

// AdminSetPassword sets u's password without the old one, after
// ValidateAdminPassword. Errors: FieldErrors (password, password2).
func (s *Service) AdminSetPassword(ctx context.Context, u User, password, password2 string) error {
	if err := s.ValidateAdminPassword(u, password, password2); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("accounts: hash: %w", err)
	}
	return s.store.SetPassword(ctx, u.ID, hash)
}

// GroupSize counts a group's members.
func (s *Store) GroupSize(ctx context.Context, id int64) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, s.db.Rebind("SELECT COUNT(*) FROM user_groups WHERE group_id = ?"), id); err != nil {
		return 0, fmt.Errorf("accounts: group size: %w", err)
	}
	return n, nil
}

// AddToGroup puts the users ids in group groupID (those already in it
// stay), in one transaction, and returns the users newly added. Errors:
// ErrGroupNotFound.
func (s *Store) AddToGroup(ctx context.Context, groupID int64, ids []int64) ([]int64, error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("accounts: add to group: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.GetContext(ctx, &n, s.db.Rebind("SELECT COUNT(*) FROM groups WHERE id = ?"), groupID); err != nil {
		return nil, fmt.Errorf("accounts: add to group: %w", err)
	}
	if n == 0 {
		return nil, ErrGroupNotFound
	}
	var added []int64
	for _, id := range ids {
		res, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO user_groups (user_id, group_id) SELECT id, ? FROM users WHERE id = ?
			ON CONFLICT DO NOTHING`), groupID, id)
		if err != nil {
			return nil, fmt.Errorf("accounts: add to group: %w", err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			added = append(added, id)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("accounts: add to group: %w", err)
	}
	return added, nil
}
