package accounts

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
)

// User is one account. Password is the encoded hash, never a password.
type User struct {
	ID          int64        `db:"id"`
	Email       string       `db:"email"`
	EmailKey    string       `db:"email_key"`
	Password    string       `db:"password"`
	IsActive    bool         `db:"is_active"`
	IsStaff     bool         `db:"is_staff"`
	IsSuperuser bool         `db:"is_superuser"`
	DateJoined  time.Time    `db:"date_joined"`
	LastLogin   sql.NullTime `db:"last_login"`
}

// Store reads and writes users. Safe for concurrent use.
type Store struct{ db *database.DB }

// NewStore returns a Store over db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

const userColumns = "id, email, email_key, password, is_active, is_staff, is_superuser, date_joined, last_login"

// Create inserts u (its Email already normalised) and sets u.ID. It
// returns ErrEmailTaken when the email exists, in any letter case.
func (s *Store) Create(ctx context.Context, u *User) error {
	u.EmailKey = EmailKey(u.Email)
	if u.DateJoined.IsZero() {
		u.DateJoined = time.Now().UTC()
	}
	q := s.db.Rebind(`INSERT INTO users (email, email_key, password, is_active, is_staff, is_superuser, date_joined)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`)
	err := s.db.GetContext(ctx, &u.ID, q, u.Email, u.EmailKey, u.Password, u.IsActive, u.IsStaff, u.IsSuperuser, u.DateJoined)
	if database.IsUniqueViolation(err) {
		return ErrEmailTaken
	}
	if err != nil {
		return fmt.Errorf("accounts: create: %w", err)
	}
	return nil
}

// ByEmail finds a user by email, case-insensitively. ErrNotFound if none.
func (s *Store) ByEmail(ctx context.Context, email string) (User, error) {
	return s.one(ctx, "email_key = ?", EmailKey(email))
}

// ByID finds a user by id. ErrNotFound if none.
func (s *Store) ByID(ctx context.Context, id int64) (User, error) {
	return s.one(ctx, "id = ?", id)
}

func (s *Store) one(ctx context.Context, where string, arg any) (User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, s.db.Rebind("SELECT "+userColumns+" FROM users WHERE "+where), arg)
	if database.IsNoRows(err) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("accounts: get: %w", err)
	}
	return u, nil
}

// EmailTaken reports whether email is registered, in any letter case.
func (s *Store) EmailTaken(ctx context.Context, email string) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, s.db.Rebind("SELECT COUNT(*) FROM users WHERE email_key = ?"), EmailKey(email))
	if err != nil {
		return false, fmt.Errorf("accounts: email taken: %w", err)
	}
	return n > 0, nil
}

// SetPassword replaces a user's password hash. ErrNotFound if no such user.
func (s *Store) SetPassword(ctx context.Context, id int64, hash string) error {
	return s.exec(ctx, "UPDATE users SET password = ? WHERE id = ?", hash, id)
}

// RecordLogin sets last_login, and the password hash when rehash is not ""
// (an upgrade to current parameters).
func (s *Store) RecordLogin(ctx context.Context, id int64, at time.Time, rehash string) error {
	if rehash != "" {
		return s.exec(ctx, "UPDATE users SET last_login = ?, password = ? WHERE id = ?", at, rehash, id)
	}
	return s.exec(ctx, "UPDATE users SET last_login = ? WHERE id = ?", at, id)
}

// SetActive sets is_active. ErrNotFound if no such user.
func (s *Store) SetActive(ctx context.Context, id int64, active bool) error {
	return s.exec(ctx, "UPDATE users SET is_active = ? WHERE id = ?", active, id)
}

func (s *Store) exec(ctx context.Context, q string, args ...any) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(q), args...)
	if err != nil {
		return fmt.Errorf("accounts: update: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("accounts: update: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
