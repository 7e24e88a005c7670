package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
)

// Object types.
const (
	User        = "user"
	Group       = "group"
	Application = "application"
)

// Actions.
const (
	Add    = "add"
	Change = "change"
	Delete = "delete"
	// Revoke is an admin ending an object's tokens without changing it
	// (the "revoke all" button); other revocations are part of a change or
	// a delete and say so in its message.
	Revoke = "revoke"
)

// ObjectTypes and Actions list the values, in display order.
var (
	ObjectTypes = []string{User, Group, Application}
	Actions     = []string{Add, Change, Delete, Revoke}
)

// ErrInvalid is an entry without its object type, action, object id or
// actor.
var ErrInvalid = errors.New("audit: incomplete entry")

// Entry is one change. Fields name what changed, never its value.
type Entry struct {
	ID         int64         `db:"id"`
	At         time.Time     `db:"action_time"`
	ActorID    sql.NullInt64 `db:"actor_id"`
	ActorEmail string        `db:"actor_email"`
	ObjectType string        `db:"object_type"`
	ObjectID   string        `db:"object_id"`
	ObjectRepr string        `db:"object_repr"`
	Action     string        `db:"action"`
	FieldsRaw  string        `db:"fields"`
	Message    string        `db:"message"`
}

// Fields returns the names of the changed fields.
func (e Entry) Fields() []string { return strings.Fields(e.FieldsRaw) }

// Log reads and writes the history. Safe for concurrent use.
type Log struct {
	db  *database.DB
	now func() time.Time
}

// New returns the Log over db (migrated).
func New(db *database.DB) *Log { return &Log{db: db, now: time.Now} }

const columns = "id, action_time, actor_id, actor_email, object_type, object_id, object_repr, action, fields, message"

// Record writes e, stamped now; fields are the changed fields' names.
// Errors: ErrInvalid, database errors.
func (l *Log) Record(ctx context.Context, e Entry, fields ...string) error {
	if e.ObjectType == "" || e.ObjectID == "" || e.Action == "" || e.ActorEmail == "" {
		return ErrInvalid
	}
	e.FieldsRaw = strings.Join(fields, " ")
	_, err := l.db.ExecContext(ctx, l.db.Rebind(`INSERT INTO admin_log (action_time, actor_id, actor_email, object_type, object_id, object_repr, action, fields, message)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), l.now().UTC(), e.ActorID, e.ActorEmail, e.ObjectType, e.ObjectID, e.ObjectRepr, e.Action, e.FieldsRaw, e.Message)
	if err != nil {
		return fmt.Errorf("audit: record: %w", err)
	}
	return nil
}

// Query selects entries, newest first. Empty fields do not filter.
type Query struct {
	ObjectType, ObjectID, Action string
	ActorID                      int64
	// Page is 1-based; Limit is the page size (1-500; 0 means 100).
	Page, Limit int
}

// List returns the page q asks for and how many entries match in all.
// Errors: database errors only.
func (l *Log) List(ctx context.Context, q Query) ([]Entry, int, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 100
	}
	q.Page = max(q.Page, 1)
	var where []string
	var args []any
	for _, f := range []struct {
		col string
		v   string
	}{{"object_type", q.ObjectType}, {"object_id", q.ObjectID}, {"action", q.Action}} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	if q.ActorID != 0 {
		where = append(where, "actor_id = ?")
		args = append(args, q.ActorID)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := l.db.GetContext(ctx, &total, l.db.Rebind("SELECT COUNT(*) FROM admin_log"+cond), args...); err != nil {
		return nil, 0, fmt.Errorf("audit: list: %w", err)
	}
	var out []Entry
	sq := "SELECT " + columns + " FROM admin_log" + cond + fmt.Sprintf(" ORDER BY action_time DESC, id DESC LIMIT %d OFFSET %d", q.Limit, (q.Page-1)*q.Limit)
	if err := l.db.SelectContext(ctx, &out, l.db.Rebind(sq), args...); err != nil {
		return nil, 0, fmt.Errorf("audit: list: %w", err)
	}
	return out, total, nil
}
