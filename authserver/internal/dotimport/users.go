package dotimport

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
)

// users copies the user table. A user is matched by email, in any letter
// case (Portcullis's key); of several Django rows with one email only the
// first (lowest id) moves, so that no account takes over another's
// password or tokens. The password hash is copied as is (Portcullis
// verifies Django's formats and upgrades them at the next login; an
// unusable "!…" stays unusable), except over an argon2id hash Portcullis
// already made, which is newer than anything Django holds.
func (r *run) users(ctx context.Context) error {
	c := Count{Table: TableUsers}
	t := quote(r.sc.users)
	q := r.tx.Rebind
	claim, err := r.tx.PreparexContext(ctx, q("INSERT INTO dot_users (django_id, email_key, email) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"))
	if err != nil {
		return fmt.Errorf("dotimport: users: %w", err)
	}
	defer claim.Close()
	find, err := r.tx.PreparexContext(ctx, q("SELECT id, password, is_active, is_staff, is_superuser, date_joined, last_login FROM users WHERE email_key = ?"))
	if err != nil {
		return fmt.Errorf("dotimport: users: %w", err)
	}
	defer find.Close()
	insert, err := r.tx.PreparexContext(ctx, q(`INSERT INTO users (email, email_key, password, is_active, is_staff, is_superuser, date_joined, last_login)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`))
	if err != nil {
		return fmt.Errorf("dotimport: users: %w", err)
	}
	defer insert.Close()
	update, err := r.tx.PreparexContext(ctx, q("UPDATE users SET password = ?, is_active = ?, is_staff = ?, is_superuser = ?, date_joined = ?, last_login = ? WHERE id = ?"))
	if err != nil {
		return fmt.Errorf("dotimport: users: %w", err)
	}
	defer update.Close()
	mapped, err := r.tx.PreparexContext(ctx, q("UPDATE dot_users SET user_id = ? WHERE django_id = ?"))
	if err != nil {
		return fmt.Errorf("dotimport: users: %w", err)
	}
	defer mapped.Close()

	err = r.stream(ctx, TableUsers,
		"SELECT id, password, email, is_active, is_staff, is_superuser, date_joined, last_login FROM "+t+" ORDER BY id",
		"SELECT COUNT(*) FROM "+t,
		func(rows *sqlx.Rows) error {
			c.Read++
			var (
				id                      int64
				password, email         sql.NullString
				active, staff, superusr bool
				joined, last            djTime
			)
			if err := rows.Scan(&id, &password, &email, &active, &staff, &superusr, &joined, &last); err != nil {
				return fmt.Errorf("dotimport: users: row: %w", err)
			}
			norm := accounts.NormalizeEmail(email.String)
			if norm == "" || !strings.Contains(norm, "@") {
				c.Skipped++
				r.warn(TableUsers, id, "no email: Portcullis signs users in by email")
				return nil
			}
			if n, err := affected(claim.ExecContext(ctx, id, accounts.EmailKey(norm), norm)); err != nil {
				return fmt.Errorf("dotimport: users: %w", err)
			} else if n == 0 {
				c.Skipped++
				r.warn(TableUsers, id, "another Django user with a lower id has the same email (in some letter case)")
				return nil
			}
			if !joined.Valid {
				joined = djTime{Time: time.Now().UTC(), Valid: true}
			}
			var cur struct {
				ID          int64        `db:"id"`
				Password    string       `db:"password"`
				IsActive    bool         `db:"is_active"`
				IsStaff     bool         `db:"is_staff"`
				IsSuperuser bool         `db:"is_superuser"`
				DateJoined  time.Time    `db:"date_joined"`
				LastLogin   sql.NullTime `db:"last_login"`
			}
			err := find.GetContext(ctx, &cur, accounts.EmailKey(norm))
			switch {
			case isNoRows(err):
				if err := insert.QueryRowxContext(ctx, norm, accounts.EmailKey(norm), password.String, active, staff, superusr,
					joined.Time, last.null()).Scan(&cur.ID); err != nil {
					return fmt.Errorf("dotimport: users: create: %w", err)
				}
				c.Created++
			case err != nil:
				return fmt.Errorf("dotimport: users: %w", err)
			default:
				pw := password.String
				if strings.HasPrefix(cur.Password, "$argon2id$") {
					pw = cur.Password
				}
				lastLogin := last.null()
				if cur.LastLogin.Valid && (!lastLogin.Valid || cur.LastLogin.Time.After(lastLogin.Time)) {
					lastLogin = cur.LastLogin
				}
				if pw == cur.Password && active == cur.IsActive && staff == cur.IsStaff && superusr == cur.IsSuperuser &&
					joined.Time.Equal(cur.DateJoined) && lastLogin.Valid == cur.LastLogin.Valid && lastLogin.Time.Equal(cur.LastLogin.Time) {
					c.Unchanged++
					break
				}
				if _, err := update.ExecContext(ctx, pw, active, staff, superusr, joined.Time, lastLogin, cur.ID); err != nil {
					return fmt.Errorf("dotimport: users: update: %w", err)
				}
				c.Updated++
			}
			if _, err := mapped.ExecContext(ctx, cur.ID, id); err != nil {
				return fmt.Errorf("dotimport: users: %w", err)
			}
			return nil
		})
	if err != nil {
		return err
	}
	r.done(c)
	return nil
}

// groups copies auth_group, matched by name.
func (r *run) groups(ctx context.Context) error {
	c := Count{Table: TableGroups}
	q := r.tx.Rebind
	err := r.stream(ctx, TableGroups, "SELECT id, name FROM auth_group ORDER BY id", "SELECT COUNT(*) FROM auth_group",
		func(rows *sqlx.Rows) error {
			c.Read++
			var (
				id   int64
				name string
				gid  int64
			)
			if err := rows.Scan(&id, &name); err != nil {
				return fmt.Errorf("dotimport: groups: row: %w", err)
			}
			err := r.tx.GetContext(ctx, &gid, q("SELECT id FROM groups WHERE name = ?"), name)
			switch {
			case isNoRows(err):
				if err := r.tx.QueryRowxContext(ctx, q("INSERT INTO groups (name) VALUES (?) RETURNING id"), name).Scan(&gid); err != nil {
					return fmt.Errorf("dotimport: groups: create: %w", err)
				}
				c.Created++
			case err != nil:
				return fmt.Errorf("dotimport: groups: %w", err)
			default:
				c.Unchanged++
			}
			if _, err := r.tx.ExecContext(ctx, q("INSERT INTO dot_groups (django_id, group_id) VALUES (?, ?)"), id, gid); err != nil {
				return fmt.Errorf("dotimport: groups: %w", err)
			}
			return nil
		})
	if err != nil {
		return err
	}
	r.done(c)
	return nil
}

// memberships copies the user table's groups. A membership removed in
// Django is not removed here.
func (r *run) memberships(ctx context.Context) error {
	c := Count{Table: TableMemberships}
	q := r.tx.Rebind
	t := quote(r.sc.memberships)
	add, err := r.tx.PreparexContext(ctx, q(`INSERT INTO user_groups (user_id, group_id)
		SELECT u.user_id, g.group_id FROM dot_users u, dot_groups g
		WHERE u.django_id = ? AND g.django_id = ? AND u.user_id IS NOT NULL ON CONFLICT DO NOTHING`))
	if err != nil {
		return fmt.Errorf("dotimport: memberships: %w", err)
	}
	defer add.Close()
	known, err := r.tx.PreparexContext(ctx, q(`SELECT COUNT(*) FROM dot_users u, dot_groups g
		WHERE u.django_id = ? AND g.django_id = ? AND u.user_id IS NOT NULL`))
	if err != nil {
		return fmt.Errorf("dotimport: memberships: %w", err)
	}
	defer known.Close()
	err = r.stream(ctx, TableMemberships, "SELECT id, "+quote(r.sc.memberUser)+", group_id FROM "+t+" ORDER BY id", "SELECT COUNT(*) FROM "+t,
		func(rows *sqlx.Rows) error {
			c.Read++
			var id, uid, gid int64
			if err := rows.Scan(&id, &uid, &gid); err != nil {
				return fmt.Errorf("dotimport: memberships: row: %w", err)
			}
			n, err := affected(add.ExecContext(ctx, uid, gid))
			if err != nil {
				return fmt.Errorf("dotimport: memberships: %w", err)
			}
			if n == 1 {
				c.Created++
				return nil
			}
			var k int
			if err := known.GetContext(ctx, &k, uid, gid); err != nil {
				return fmt.Errorf("dotimport: memberships: %w", err)
			}
			if k == 0 {
				c.Skipped++
				r.warn(TableMemberships, id, "its user was not imported")
				return nil
			}
			c.Unchanged++
			return nil
		})
	if err != nil {
		return err
	}
	r.done(c)
	return nil
}
