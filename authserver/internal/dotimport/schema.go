package dotimport

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
)

// ErrSchema matches every error about a Django database this package does
// not recognise; the message names the missing table or column.
var ErrSchema = errors.New("not a Django OAuth Toolkit database this import understands")

// The DOT tables (oauth2_provider's default, non-swapped models).
const (
	tableApp     = "oauth2_provider_application"
	tableAccess  = "oauth2_provider_accesstoken"
	tableRefresh = "oauth2_provider_refreshtoken"
	tableGroup   = "auth_group"
)

// The user tables this package knows: the tutorial's custom model (app
// "users", model CustomUser: email as the username) and Django's own.
var knownUserTables = []string{"users_customuser", "auth_user"}

// required lists the columns read from each table.
var required = map[string][]string{
	tableApp:     {"id", "client_id", "user_id", "redirect_uris", "client_type", "authorization_grant_type", "client_secret", "name", "skip_authorization"},
	tableAccess:  {"id", "user_id", "source_refresh_token_id", "token", "application_id", "expires", "scope", "created"},
	tableRefresh: {"id", "user_id", "token", "application_id", "access_token_id", "created", "revoked"},
	tableGroup:   {"id", "name"},
}

var userColumns = []string{"id", "password", "email", "is_active", "is_staff", "is_superuser", "date_joined", "last_login"}

// schema is what was found in the Django database.
type schema struct {
	users       string // the user table
	memberships string // its many-to-many table with auth_group
	memberUser  string // that table's column naming the user
	// Optional application columns (newer DOT versions).
	algorithm, postLogout bool
}

// inspect checks that every table and column the import reads exists,
// before anything is written. userTable forces the user table ("" = find
// it). Errors match ErrSchema and name what is missing.
func inspect(ctx context.Context, db *database.DB, userTable string) (schema, error) {
	tables, err := listTables(ctx, db)
	if err != nil {
		return schema{}, err
	}
	var sc schema
	switch {
	case userTable != "":
		if !tables[userTable] {
			return schema{}, fmt.Errorf("%w: user table %q (--user-table) is missing", ErrSchema, userTable)
		}
		sc.users = userTable
	default:
		var found []string
		for _, t := range knownUserTables {
			if tables[t] {
				found = append(found, t)
			}
		}
		switch len(found) {
		case 0:
			return schema{}, fmt.Errorf("%w: no user table: neither %s exists (name yours with --user-table)", ErrSchema, strings.Join(knownUserTables, " nor "))
		case 1:
			sc.users = found[0]
		default:
			return schema{}, fmt.Errorf("%w: both %s exist: choose one with --user-table", ErrSchema, strings.Join(found, " and "))
		}
	}
	for _, t := range []string{tableApp, tableAccess, tableRefresh, tableGroup} {
		if !tables[t] {
			return schema{}, fmt.Errorf("%w: table %q is missing", ErrSchema, t)
		}
	}
	check := func(table string, want []string) (map[string]bool, error) {
		cols, err := listColumns(ctx, db, table)
		if err != nil {
			return nil, err
		}
		for _, c := range want {
			if !cols[c] {
				return nil, fmt.Errorf("%w: table %q has no column %q", ErrSchema, table, c)
			}
		}
		return cols, nil
	}
	if _, err := check(sc.users, userColumns); err != nil {
		return schema{}, err
	}
	for _, t := range []string{tableAccess, tableRefresh, tableGroup} {
		if _, err := check(t, required[t]); err != nil {
			return schema{}, err
		}
	}
	appCols, err := check(tableApp, required[tableApp])
	if err != nil {
		return schema{}, err
	}
	sc.algorithm, sc.postLogout = appCols["algorithm"], appCols["post_logout_redirect_uris"]

	sc.memberships = sc.users + "_groups"
	if !tables[sc.memberships] {
		return schema{}, fmt.Errorf("%w: table %q (the user table's groups) is missing", ErrSchema, sc.memberships)
	}
	cols, err := check(sc.memberships, []string{"id", "group_id"})
	if err != nil {
		return schema{}, err
	}
	for c := range cols {
		if c != "id" && c != "group_id" && strings.HasSuffix(c, "_id") {
			sc.memberUser = c
		}
	}
	if sc.memberUser == "" {
		return schema{}, fmt.Errorf("%w: table %q has no column naming the user", ErrSchema, sc.memberships)
	}
	return sc, nil
}

func listTables(ctx context.Context, db *database.DB) (map[string]bool, error) {
	q := "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
	if db.Dialect == database.SQLite {
		q = "SELECT name FROM sqlite_master WHERE type = 'table'"
	}
	return names(ctx, db, q)
}

func listColumns(ctx context.Context, db *database.DB, table string) (map[string]bool, error) {
	q := "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1"
	if db.Dialect == database.SQLite {
		q = "SELECT name FROM pragma_table_info(?)"
	}
	return names(ctx, db, q, table)
}

func names(ctx context.Context, db *database.DB, q string, args ...any) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("dotimport: read the schema: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("dotimport: read the schema: %w", err)
		}
		out[n] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dotimport: read the schema: %w", err)
	}
	return out, nil
}
