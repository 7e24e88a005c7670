package accounts_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// insertUsers adds n users u000000@example.com... in one statement; every
// 10th is staff, every 7th inactive.
func insertUsers(t *testing.T, db *database.DB, n int) {
	t.Helper()
	var q string
	if db.Dialect == database.Postgres {
		q = fmt.Sprintf(`INSERT INTO users (email, email_key, password, is_active, is_staff, is_superuser, date_joined)
			SELECT 'u' || lpad(i::text, 6, '0') || '@example.com', 'u' || lpad(i::text, 6, '0') || '@example.com', '!',
			       i %% 7 <> 0, i %% 10 = 0, false, now() FROM generate_series(0, %d) AS i`, n-1)
	} else {
		q = fmt.Sprintf(`WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < %d)
			INSERT INTO users (email, email_key, password, is_active, is_staff, is_superuser, date_joined)
			SELECT 'u' || printf('%%06d', i) || '@example.com', 'u' || printf('%%06d', i) || '@example.com', '!',
			       i %% 7 <> 0, i %% 10 = 0, 0, datetime('now') FROM seq`, n-1)
	}
	if _, err := db.ExecContext(testenv.Context(t), q); err != nil {
		t.Fatalf("bulk insert: %v", err)
	}
}

func emailOf(i int) string { return fmt.Sprintf("u%06d@example.com", i) }

func TestListUsersPagination100k(t *testing.T) {
	const n = 100_000
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.URL)
			insertUsers(t, f.db, n)
			ctx := testenv.Context(t)
			first, err := f.store.ListUsers(ctx, accounts.UserQuery{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if first.Total != n || len(first.Users) != 100 || first.Users[0].Email != emailOf(0) {
				t.Fatalf("first page: total %d, %d users, first %q", first.Total, len(first.Users), first.Users[0].Email)
			}
			second, err := f.store.ListUsers(ctx, accounts.UserQuery{Limit: 100, Page: 2})
			if err != nil || second.Users[0].Email != emailOf(100) {
				t.Fatalf("second page: %v %v", second.Users[0].Email, err)
			}
			// The last page is the rows after the page before it, never a
			// window that overlaps it (the keyset "last" did).
			const size = 30
			lastNo := (n + size - 1) / size
			last, err := f.store.ListUsers(ctx, accounts.UserQuery{Limit: size, Page: lastNo})
			if err != nil {
				t.Fatal(err)
			}
			if len(last.Users) != n-(lastNo-1)*size || last.Users[0].Email != emailOf((lastNo-1)*size) || last.Users[len(last.Users)-1].Email != emailOf(n-1) {
				t.Fatalf("last page: %d users, %q..%q", len(last.Users), last.Users[0].Email, last.Users[len(last.Users)-1].Email)
			}
			if past, err := f.store.ListUsers(ctx, accounts.UserQuery{Limit: size, Page: lastNo + 1}); err != nil || len(past.Users) != 0 || past.Total != n {
				t.Fatalf("past the last page: %d users, total %d, %v", len(past.Users), past.Total, err)
			}
			desc, err := f.store.ListUsers(ctx, accounts.UserQuery{Limit: 3, Order: "-email"})
			if err != nil || desc.Users[0].Email != emailOf(n-1) || desc.Users[2].Email != emailOf(n-3) {
				t.Fatalf("descending: %v %v", desc.Users, err)
			}
			byStaff, err := f.store.ListUsers(ctx, accounts.UserQuery{Limit: 2, Order: "-is_staff"})
			if err != nil || !byStaff.Users[0].IsStaff || byStaff.Users[0].Email != emailOf(n-10) {
				t.Fatalf("ordered by staff: %v %v", byStaff.Users, err)
			}
			if odd, err := f.store.ListUsers(ctx, accounts.UserQuery{Limit: 1, Order: "password; DROP TABLE users"}); err != nil || odd.Users[0].Email != emailOf(0) {
				t.Fatalf("an unknown order must fall back to email: %v", err)
			}
			staff, yes, no := true, true, false
			_ = yes
			fs, err := f.store.ListUsers(ctx, accounts.UserQuery{Limit: 5, IsStaff: &staff, IsActive: &no})
			if err != nil {
				t.Fatal(err)
			}
			// staff: i%10==0, inactive: i%7==0 -> i%70==0
			if fs.Total != (n+69)/70 || fs.Users[1].Email != emailOf(70) {
				t.Fatalf("filtered: total %d, second %q", fs.Total, fs.Users[1].Email)
			}
			s, err := f.store.ListUsers(ctx, accounts.UserQuery{Search: "U09999"})
			if err != nil || s.Total != 10 || s.Users[0].Email != emailOf(99990) {
				t.Fatalf("search: %+v %v", s.Total, err)
			}
			odd, err := f.store.ListUsers(ctx, accounts.UserQuery{Search: "%_"})
			if err != nil || odd.Total != 0 {
				t.Fatalf("LIKE metacharacters must match literally: %d %v", odd.Total, err)
			}
		})
	}
}

func TestGroupsAndAdminUsers(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.URL)
			ctx := testenv.Context(t)
			g1, err := f.store.CreateGroup(ctx, " editors ")
			if err != nil || g1.Name != "editors" {
				t.Fatalf("create: %+v %v", g1, err)
			}
			if _, err := f.store.CreateGroup(ctx, "editors"); !errors.Is(err, accounts.ErrGroupTaken) {
				t.Fatalf("duplicate: %v", err)
			}
			if _, err := f.store.CreateGroup(ctx, "  "); !errors.Is(err, accounts.ErrGroupName) {
				t.Fatalf("blank: %v", err)
			}
			g2, _ := f.store.CreateGroup(ctx, "readers")
			if err := f.store.RenameGroup(ctx, g2.ID, "editors"); !errors.Is(err, accounts.ErrGroupTaken) {
				t.Fatalf("rename onto another: %v", err)
			}
			if err := f.store.RenameGroup(ctx, 999, "x"); !errors.Is(err, accounts.ErrGroupNotFound) {
				t.Fatalf("rename unknown: %v", err)
			}
			u, err := f.svc.AdminCreate(ctx, "Staff@Example.com", "correct-Horse-9", "correct-Horse-9", true, false)
			if err != nil || !u.IsStaff || u.IsActive || u.IsSuperuser {
				t.Fatalf("AdminCreate: %+v %v", u, err)
			}
			if _, err := f.svc.AdminCreate(ctx, "x@example.com", "correct-Horse-9", "other-Horse-9", false, true); err == nil {
				t.Fatal("mismatched passwords accepted")
			}
			// Two different weak passwords: the form reports the mismatch
			// beside the weakness (issue 15, defect 5).
			var fe accounts.FieldErrors
			_, err = f.svc.AdminCreate(ctx, "y@example.com", "abc", "abd", false, true)
			if !errors.As(err, &fe) || len(fe["password"]) == 0 || len(fe["password2"]) != 1 || fe["password2"][0] != accounts.MsgMismatch {
				t.Fatalf("weak and mismatched: %v", fe)
			}
			if err := f.svc.AdminSetPassword(ctx, u, "abc", "abd"); !errors.As(err, &fe) || len(fe["password"]) == 0 || len(fe["password2"]) != 1 {
				t.Fatalf("admin set password, weak and mismatched: %v", err)
			}
			if err := f.store.SetUserGroups(ctx, u.ID, []int64{g1.ID, g2.ID}); err != nil {
				t.Fatal(err)
			}
			if err := f.store.SetUserGroups(ctx, u.ID, []int64{g1.ID, 999}); !errors.Is(err, accounts.ErrGroupNotFound) {
				t.Fatalf("unknown group: %v", err)
			}
			ids, _ := f.store.UserGroupIDs(ctx, u.ID)
			if len(ids) != 2 {
				t.Fatalf("a failed SetUserGroups changed the groups: %v", ids)
			}
			other0, _ := f.svc.AdminCreate(ctx, "bulk@example.com", "correct-Horse-9", "correct-Horse-9", false, true)
			added, err := f.store.AddToGroup(ctx, g2.ID, []int64{u.ID, other0.ID, 99999})
			if err != nil || len(added) != 1 || added[0] != other0.ID {
				t.Fatalf("add to group: %v %v (u was in it already; 99999 is no user)", added, err)
			}
			if _, err := f.store.AddToGroup(ctx, 99999, []int64{u.ID}); !errors.Is(err, accounts.ErrGroupNotFound) {
				t.Fatalf("add to an unknown group: %v", err)
			}
			if n, _ := f.store.GroupSize(ctx, g2.ID); n != 2 {
				t.Fatalf("group size %d", n)
			}
			if err := f.store.DeleteGroup(ctx, g2.ID); err != nil {
				t.Fatal(err)
			}
			ids, _ = f.store.UserGroupIDs(ctx, u.ID)
			if len(ids) != 1 || ids[0] != g1.ID {
				t.Fatalf("groups after delete: %v", ids)
			}
			if err := f.store.UpdateUser(ctx, u.ID, "new@example.com", false, true); err != nil {
				t.Fatal(err)
			}
			other, _ := f.svc.AdminCreate(ctx, "other@example.com", "correct-Horse-9", "correct-Horse-9", false, true)
			if err := f.store.UpdateUser(ctx, other.ID, "NEW@example.com", false, true); !errors.Is(err, accounts.ErrEmailTaken) {
				t.Fatalf("email taken: %v", err)
			}
			if err := f.svc.AdminSetPassword(ctx, other, "short", "short"); err == nil {
				t.Fatal("weak password accepted")
			}
			if err := f.svc.AdminSetPassword(ctx, other, "brand-New-pass-7", "brand-New-pass-7"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Authenticate(ctx, "other@example.com", "brand-New-pass-7"); err != nil {
				t.Fatalf("new password does not work: %v", err)
			}
		})
	}
}
