package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/audit"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

func TestLog(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := testenv.DB(t, b.URL)
			st := accounts.NewStore(db)
			admin := accounts.User{Email: "admin@example.com", Password: "!", IsActive: true, IsStaff: true, DateJoined: time.Now()}
			if err := st.Create(ctx, &admin); err != nil {
				t.Fatal(err)
			}
			l := audit.New(db)
			actor := audit.Entry{ActorID: sql.NullInt64{Int64: admin.ID, Valid: true}, ActorEmail: admin.Email}
			rec := func(typ, id, action string, fields ...string) {
				t.Helper()
				e := actor
				e.ObjectType, e.ObjectID, e.ObjectRepr, e.Action = typ, id, typ+" "+id, action
				if err := l.Record(ctx, e, fields...); err != nil {
					t.Fatal(err)
				}
			}
			rec(audit.User, "7", audit.Add)
			rec(audit.User, "7", audit.Change, "email", "password")
			rec(audit.Application, "3", audit.Delete)
			rec(audit.User, "8", audit.Revoke)
			all, total, err := l.List(ctx, audit.Query{})
			if err != nil || total != 4 || len(all) != 4 {
				t.Fatalf("list: %d %d %v", total, len(all), err)
			}
			if all[0].ObjectID != "8" || all[3].Action != audit.Add {
				t.Fatalf("not newest first: %+v", all)
			}
			mine, total, _ := l.List(ctx, audit.Query{ObjectType: audit.User, ObjectID: "7"})
			if total != 2 || mine[0].Action != audit.Change || len(mine[0].Fields()) != 2 || mine[0].Fields()[1] != "password" {
				t.Fatalf("per object: %+v", mine)
			}
			if _, total, _ := l.List(ctx, audit.Query{Action: audit.Delete}); total != 1 {
				t.Fatalf("by action: %d", total)
			}
			if _, total, _ := l.List(ctx, audit.Query{ActorID: admin.ID, Limit: 1, Page: 2}); total != 4 {
				t.Fatalf("by actor: %d", total)
			}
			if page, _, _ := l.List(ctx, audit.Query{Limit: 3, Page: 2}); len(page) != 1 || page[0].Action != audit.Add {
				t.Fatalf("page 2: %+v", page)
			}
			if err := l.Record(ctx, audit.Entry{ObjectType: audit.User}); !errors.Is(err, audit.ErrInvalid) {
				t.Fatalf("incomplete: %v", err)
			}
			// The actor may be deleted; the entry keeps the email.
			if _, err := db.ExecContext(ctx, db.Rebind("DELETE FROM users WHERE id = ?"), admin.ID); err != nil {
				t.Fatal(err)
			}
			all, _, _ = l.List(ctx, audit.Query{})
			if all[0].ActorID.Valid || all[0].ActorEmail != admin.Email {
				t.Fatalf("after the actor was deleted: %+v", all[0])
			}
		})
	}
}
